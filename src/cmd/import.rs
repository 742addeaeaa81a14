//! `vsimport import FILE`: read, map, normalise, validate and dedupe a file against the
//! tenant's catalog and show the plan with every problem pointing at its cell; then (without
//! `--dry-run`) compare with the server and write through the upload stage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::ProgressBar;

use crate::api::{Catalog, Client};
use crate::dedupe::OnConflict;
use crate::diag::Diagnostic;
use crate::error::Error;
use crate::map::Mapping;
use crate::read::Source;
use crate::report;
use crate::settings::ConnectArgs;
use crate::validate::{CatalogIndex, Origin, Validated, Validator};

use super::inspect::SourceArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every row planned (and every record written); 1 some rows rejected or records failed (see the report); 2 nothing could be done.\n\nWriting, the journal, resuming and undo: docs/UPLOAD.md."
)]
pub struct Args {
    /// The exported file (CSV, xlsx, xlsm, xlsb, xls, ods)
    pub file: PathBuf,
    /// Mapping file (TOML); without it the columns are matched to the catalog automatically,
    /// and the import stops with a suggested mapping when unsure
    #[arg(short, long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Show what would be written, and every problem; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Use a saved catalog (`vsimport kpis --save FILE`) instead of asking the server
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Write report.json and rejected.csv (imports: failed.csv) into DIR
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Output: text for people, json (the report document) for scripts
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Two different values for the same record and value slot: reject the rows (error),
    /// or keep the earliest (first) or latest (last) row's value
    #[arg(long, value_enum, default_value_t = OnConflict::Error)]
    pub on_conflict: OnConflict,
    /// Show every note (snapped dates, merged duplicates), not only their counts
    #[arg(long)]
    pub notes: bool,
    /// List every planned record (key, values, source rows) in the JSON report
    #[arg(long)]
    pub records: bool,
    /// Threads for checking large CSV files (1: one thread) [default: the machine's cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub upload: UploadArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How records are written (and compared with the server first).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Writing")]
pub struct UploadArgs {
    /// With --dry-run: read the server's current values and show which records are new,
    /// changed (old -> new) or unchanged
    #[arg(long)]
    pub diff: bool,
    /// Requests in flight at most; lowered automatically while the server throttles (429/503)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub concurrency: u32,
    /// Requests per second at most
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,
    /// Attempts per record, the first included (connection errors, timeouts, 408, 429, 500,
    /// 502, 503, 504 are retried; other errors are not)
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// First backoff before a retry, in milliseconds (doubles per attempt, full jitter)
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub retry_base_ms: u64,
    /// Longest wait before a retry, in seconds (a longer Retry-After is capped too)
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub retry_cap: u64,
    /// Send unchanged records too (by default only new and changed records are sent)
    #[arg(long)]
    pub no_skip_unchanged: bool,
    /// Do not resend the server's current target values for records whose file has no
    /// targets (the server may then reset those targets)
    #[arg(long)]
    pub no_keep_targets: bool,
    /// Ignore the journal of an earlier, interrupted run of this import and send everything
    #[arg(long)]
    pub restart: bool,
    /// Write nothing when any row was rejected (by default the valid records are written and
    /// the rejected rows go to rejected.csv)
    #[arg(long)]
    pub no_partial: bool,
    /// Where journals and undo data are kept [default: $VS_STATE_DIR, else
    /// $XDG_STATE_HOME/vsimport, else ~/.local/state/vsimport]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl Default for UploadArgs {
    fn default() -> Self {
        UploadArgs {
            diff: false,
            concurrency: 8,
            max_rps: None,
            max_attempts: 6,
            retry_base_ms: 200,
            retry_cap: 20,
            no_skip_unchanged: false,
            no_keep_targets: false,
            restart: false,
            no_partial: false,
            state_dir: None,
        }
    }
}

impl UploadArgs {
    pub fn limits(&self) -> crate::upload::engine::Limits {
        crate::upload::engine::Limits {
            concurrency: self.concurrency as usize,
            max_rps: self.max_rps,
            retry: crate::api::RetryPolicy {
                max_attempts: self.max_attempts,
                base: std::time::Duration::from_millis(self.retry_base_ms.max(1)),
                cap: std::time::Duration::from_secs(self.retry_cap.max(1)),
            },
        }
    }
}

impl Args {
    /// The defaults of the command line for `file` (for `demo` and embedding).
    pub fn new(file: &Path, mapping: Option<&Path>) -> Args {
        Args {
            file: file.to_path_buf(),
            mapping: mapping.map(Path::to_path_buf),
            dry_run: false,
            catalog: None,
            report: None,
            format: Format::Text,
            on_conflict: OnConflict::Error,
            notes: false,
            records: false,
            threads: None,
            upload: UploadArgs::default(),
            source: SourceArgs::default(),
            connect: ConnectArgs::default(),
        }
    }
}

/// Reads a catalog file (`kpis --save` / emulator format).
pub fn load_catalog(path: &Path) -> Result<Catalog, Error> {
    let tenant = crate::emulator::store::Tenant::load(path)?;
    Ok(tenant.catalog)
}

/// Everything a dry run found.
pub struct Planned {
    pub index: CatalogIndex,
    pub mapping: Mapping,
    pub mapping_path: Option<String>,
    pub source_opts: crate::read::SourceOptions,
    pub detected: crate::read::Detected,
    pub read_problems: Vec<Diagnostic>,
}

/// Opens the file, settles the mapping (given or suggested) and the read options.
fn prepare(args: &Args, catalog: Catalog) -> Result<(Planned, Source), Error> {
    let shown_file = args.file.display().to_string();
    let cli_opts = args.source.options()?;
    let (mapping, mapping_path) = match &args.mapping {
        Some(p) => (Mapping::load(p)?, Some(p.display().to_string())),
        None => {
            // Read the header once to suggest a mapping.
            let src = Source::open(&args.file, &cli_opts)?;
            let suggestion = crate::map::init::suggest(&src.detected().columns, &catalog);
            if !suggestion.confident {
                let toml = suggestion.to_toml(&shown_file);
                return Err(Error::Mapping {
                    path: shown_file.clone(),
                    message: format!(
                        "no --mapping given, and the columns could not all be matched with confidence. Suggested mapping:\n\n{toml}"
                    ),
                    help: Some(format!(
                        "save it (vsimport mapping init {shown_file} -o mapping.toml), check the lines marked unsure or TODO, and pass --mapping mapping.toml"
                    )),
                });
            }
            eprintln!(
                "no --mapping given: columns matched to the catalog ({}); `vsimport mapping init` saves this mapping",
                suggestion
                    .matches
                    .iter()
                    .map(|m| format!("{:?} = {}", m.column, m.what))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (suggestion.mapping, None)
        }
    };
    let shown_mapping = mapping_path
        .clone()
        .unwrap_or_else(|| "the suggested mapping".into());
    let mut opts = mapping.source_options(&shown_mapping)?;
    // Flags win over the mapping's [source].
    if cli_opts.sheet.is_some() {
        opts.sheet = cli_opts.sheet;
    }
    if cli_opts.header_row.is_some() {
        opts.header_row = cli_opts.header_row;
    }
    if cli_opts.delimiter.is_some() {
        opts.delimiter = cli_opts.delimiter;
    }
    if cli_opts.encoding.is_some() {
        opts.encoding = cli_opts.encoding;
    }
    let mut src = Source::open(&args.file, &opts)?;
    let detected = src.detected().clone();
    for note in &detected.notes {
        tracing::info!("{}: {note}", detected.file);
    }
    let read_problems = src.take_problems();
    Ok((
        Planned {
            index: CatalogIndex::new(catalog),
            mapping,
            mapping_path,
            source_opts: opts,
            detected,
            read_problems,
        },
        src,
    ))
}

/// Pieces a large CSV file is cut into for the threads that check it (more pieces: a thread
/// that is held up delays the end less; fewer: less copying when the pieces are joined).
const PIECES: usize = 6;

/// Reads every row of `src` into `v`, counting on `progress`.
fn read_rows(
    src: &mut Source,
    v: &mut Validator<'_>,
    progress: &ProgressBar,
) -> Result<crate::read::ReadStats, crate::read::ReadError> {
    // Every 4096 rows: the bytes read since (CSV), or the rows (workbooks).
    let mut n = 0u32;
    let mut last_byte: Option<u64> = None;
    src.for_each_row(|row| {
        v.row(row);
        n = n.wrapping_add(1);
        if n.is_multiple_of(4096) {
            match (row.byte, last_byte) {
                (Some(b), Some(l)) => progress.inc(b.saturating_sub(l)),
                (Some(_), None) => {}
                (None, _) => progress.inc(4096),
            }
            last_byte = row.byte;
        }
        true
    })
}

/// A guess at how many values a CSV file holds, from its size.
fn validator_room(file: &str) -> usize {
    std::fs::metadata(file)
        .map(|m| (m.len() / 16).min(50_000_000) as usize)
        .unwrap_or(0)
}

/// Runs read → map → normalise → validate → dedupe; gives the result and the layout's name.
pub fn plan<'a>(
    planned: &'a mut Planned,
    src: &mut Source,
    on_conflict: OnConflict,
    threads: usize,
    progress: &ProgressBar,
) -> Result<(Validated<'a>, &'static str), Error> {
    let shown_mapping = planned
        .mapping_path
        .clone()
        .unwrap_or_else(|| "the suggested mapping".into());
    let det = &planned.detected;
    let columns = planned
        .mapping
        .resolve(&shown_mapping, &det.file, &det.columns)?;
    let layout = columns.layout.name();
    let origin = Origin {
        file: src.file_name().clone(),
        sheet: src.sheet_name().cloned(),
        first_column: det.first_column,
        columns: det.columns.clone(),
        delimiter: det.delimiter,
    };
    let decimal = planned.mapping.decimal(&shown_mapping)?;
    let dates = planned.mapping.date_options();
    let mut validator = Validator::new(
        &planned.index,
        std::sync::Arc::new(columns),
        origin,
        dates,
        decimal,
    )
    .map_err(|p| Error::Mapping {
        path: shown_mapping.clone(),
        message: p.message,
        help: p.help,
    })?;
    // Room for the values up front (a guess from the file's size; untouched room costs no
    // memory), so the vector is not copied as it grows.
    if det.format == crate::read::Format::Csv {
        validator.reserve(validator_room(&det.file));
    }
    let rest = if threads > 1 {
        src.split(Path::new(&det.file), PIECES)
    } else {
        None
    };
    match rest {
        // A large CSV file: in pieces, taken in turn by `threads` threads, so that a thread
        // that is held up does not hold up the rest.
        Some(rest) => {
            let room = validator_room(&det.file) / (rest.len() + 1);
            let pieces: Vec<std::sync::Mutex<Option<(Source, Validator<'_>)>>> = rest
                .into_iter()
                .map(|s| {
                    let mut v = validator.fork();
                    v.reserve(room);
                    std::sync::Mutex::new(Some((s, v)))
                })
                .collect();
            type Done<'v> = (
                Result<crate::read::ReadStats, crate::read::ReadError>,
                Vec<crate::diag::Diagnostic>,
                Validator<'v>,
            );
            let done: Vec<std::sync::Mutex<Option<Done<'_>>>> =
                pieces.iter().map(|_| std::sync::Mutex::new(None)).collect();
            let next = std::sync::atomic::AtomicUsize::new(0);
            let workers = threads.min(pieces.len() + 1);
            let running = std::sync::atomic::AtomicUsize::new(workers);
            // Takes pieces until none is left.
            let work = || {
                use std::sync::atomic::Ordering::SeqCst;
                loop {
                    let i = next.fetch_add(1, SeqCst);
                    let Some(slot) = pieces.get(i) else { break };
                    let Some((mut source, mut v)) = slot.lock().ok().and_then(|mut p| p.take())
                    else {
                        break;
                    };
                    let r = read_rows(&mut source, &mut v, progress);
                    if let Ok(mut d) = done[i].lock() {
                        *d = Some((r, source.take_problems(), v));
                    }
                }
                running.fetch_sub(1, SeqCst);
            };
            let head = std::thread::scope(|scope| {
                for _ in 1..workers {
                    scope.spawn(work);
                }
                let head = read_rows(src, &mut validator, progress);
                work();
                // The pieces' values will be appended here: touch that memory while the
                // other threads still read.
                let n = validator.entries.len() * pieces.len();
                validator.prefault(n, || running.load(std::sync::atomic::Ordering::SeqCst) == 0);
                head
            });
            head?;
            for d in done {
                let Some((read, problems, v)) = d.into_inner().ok().flatten() else {
                    return Err(Error::Usage {
                        message: "a thread reading part of the file failed".into(),
                        help: Some(
                            "run again with --threads 1; report this as a bug if it repeats".into(),
                        ),
                    });
                };
                read?;
                validator.append(v);
                for p in problems {
                    validator.diags.push(p);
                }
            }
        }
        None => {
            read_rows(src, &mut validator, progress)?;
        }
    }
    for d in src
        .take_problems()
        .into_iter()
        .chain(planned.read_problems.drain(..))
    {
        validator.diags.push(d);
    }
    Ok((validator.finish(on_conflict), layout))
}

/// A dry run of `file` with a mapping file and a saved catalog, as a library call (for
/// benchmarks and embedding): the report document.
pub fn dry_run(
    file: &Path,
    mapping: &Path,
    catalog_file: &Path,
    on_conflict: OnConflict,
) -> Result<report::plan::Report, Error> {
    let mut args = Args::new(file, Some(mapping));
    args.dry_run = true;
    args.catalog = Some(catalog_file.to_path_buf());
    args.format = Format::Json;
    args.on_conflict = on_conflict;
    let (mut planned, mut src) = prepare(&args, load_catalog(catalog_file)?)?;
    let detected = planned.detected.clone();
    let mapping_path = planned.mapping_path.clone();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (validated, layout) = plan(
        &mut planned,
        &mut src,
        on_conflict,
        threads,
        &ProgressBar::hidden(),
    )?;
    Ok(document(&validated, &detected, mapping_path, layout, false))
}

/// The report document of a dry run.
fn document(
    validated: &Validated<'_>,
    detected: &crate::read::Detected,
    mapping: Option<String>,
    layout: &str,
    with_records: bool,
) -> report::plan::Report {
    let cx = report::plan::Context {
        file: detected.file.clone(),
        sheet: detected.sheet.clone(),
        mapping,
        layout,
        mode: "dry-run",
        columns: &detected.columns,
        first_column: detected.first_column,
    };
    let mut doc = report::plan::report(validated, &cx);
    if with_records {
        doc.records = Some(report::plan::planned_records(validated));
    }
    doc
}

/// How a command shows itself on the terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    pub verbose: bool,
    pub quiet: bool,
}

pub async fn run(args: Args, ui: Ui) -> Result<ExitCode, Error> {
    let needs_server = args.catalog.is_none() || !args.dry_run || args.upload.diff;
    let client = if needs_server {
        Some(super::connect(&args.connect)?)
    } else {
        None
    };
    run_with(&args, client, ui).await.map(|o| o.code)
}

/// What a run of `import` produced (for `demo` and embedding).
pub struct Outcome {
    pub code: ExitCode,
    pub report: report::plan::Report,
}

/// `import` with a ready client (`None` only for a dry run against a saved catalog).
pub async fn run_with(args: &Args, client: Option<Client>, ui: Ui) -> Result<Outcome, Error> {
    let catalog = match (&args.catalog, &client) {
        (Some(p), _) => load_catalog(p)?,
        (None, Some(c)) => c.catalog(32).await?,
        (None, None) => {
            return Err(Error::Usage {
                message: "no catalog: give --catalog FILE or a server".into(),
                help: None,
            });
        }
    };
    let (mut planned, mut src) = prepare(args, catalog)?;
    let source_opts = planned.source_opts.clone();
    let detected = planned.detected.clone();
    let mapping_path = planned.mapping_path.clone();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // CSV: a bar over the file's bytes (rows carry their offsets); workbooks: a row count.
    let what = format!("checking {}", args.file.display());
    let reading = match (detected.format, std::fs::metadata(&args.file)) {
        (crate::read::Format::Csv, Ok(m)) => report::progress::bytes(m.len(), &what, ui.quiet),
        _ => report::progress::counter(&what, "rows", ui.quiet),
    };
    let (validated, layout) = plan(&mut planned, &mut src, args.on_conflict, threads, &reading)?;
    reading.finish_and_clear();
    let mut doc = document(&validated, &detected, mapping_path, layout, args.records);
    let rows_rejected = validated.stats.rows_rejected > 0;

    // Compare with the server: for --diff, and before every import.
    let mut compared: Option<Compared> = None;
    if args.upload.diff || !args.dry_run {
        let Some(client) = &client else {
            return Err(Error::Usage {
                message: "--diff needs the server".into(),
                help: Some("give --url (or VS_URL) and the credentials".into()),
            });
        };
        let c = compare(client, &validated, &args.upload, ui).await?;
        c.fill(&mut doc, &validated, args.records);
        compared = Some(c);
    }

    let mut written: Option<Written> = None;
    if !args.dry_run
        && let (Some(client), Some(c)) = (&client, &compared)
    {
        if rows_rejected && args.upload.no_partial {
            eprintln!(
                "nothing written: {} rows were rejected and --no-partial is set",
                validated.stats.rows_rejected
            );
        } else {
            let w = upload(args, client, &validated, c, ui).await?;
            w.fill(&mut doc);
            written = Some(w);
        }
    }

    // Files: the run directory of an import always gets the report; --report DIR too.
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(w) = &written {
        dirs.push(w.run_dir.clone());
    }
    if let Some(dir) = &args.report {
        dirs.push(dir.clone());
    }
    for dir in &dirs {
        report::files::write_report(dir, &doc)?;
        report::files::write_rejected(dir, &args.file, &source_opts, &validated.rejected)?;
        if let (Some(w), Some(c)) = (&written, &compared) {
            if w.failed > 0 {
                write_failed(dir, &validated, &c.items, w)?;
            } else {
                // No stale list from an earlier run in the same directory.
                for f in ["failed.csv", "failed.mapping.toml"] {
                    let _ = std::fs::remove_file(dir.join(f));
                }
            }
        }
    }
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&doc).map_err(|e| Error::io("<stdout>", e))?;
            println!("{json}");
        }
        Format::Text => {
            let utf8 = detected.encoding.as_deref() == Some("UTF-8");
            if !ui.quiet {
                eprint!(
                    "{}",
                    report::diagnostics::render(
                        &validated.diags,
                        &detected.columns,
                        detected.first_column,
                        detected.delimiter,
                        utf8,
                        args.notes || ui.verbose,
                    )
                );
            }
            print!("{}", report::plan::text(&doc));
            if compared.is_some() {
                print!(
                    "{}",
                    report::plan::diff_text(&doc, args.notes || ui.verbose)
                );
            }
            if let Some(w) = &written {
                print!("{}", w.text(&doc));
            }
            if let Some(dir) = &args.report {
                eprintln!(
                    "report: {} (report.json, rejected.csv{})",
                    dir.display(),
                    if written.as_ref().is_some_and(|w| w.failed > 0) {
                        ", failed.csv"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    let failed = written.as_ref().is_some_and(|w| w.failed > 0);
    let code = if rows_rejected || failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    Ok(Outcome { code, report: doc })
}

/// The planned records next to the server's current ones.
struct Compared {
    items: Vec<crate::upload::Item>,
    current: crate::upload::Current,
    changes: Vec<(crate::upload::Change, Vec<crate::upload::ValueChange>)>,
}

async fn compare(
    client: &Client,
    v: &Validated<'_>,
    up: &UploadArgs,
    ui: Ui,
) -> Result<Compared, Error> {
    let items = crate::upload::items(v);
    let keys: Vec<crate::api::RecordKey> = items.iter().map(|i| i.key).collect();
    let spinner = report::progress::spinner("reading the server's current values", ui.quiet);
    let (current, _requests) =
        crate::upload::read_current(client, v.index, &keys, (up.concurrency as usize).max(4))
            .await?;
    spinner.finish_and_clear();
    let changes = items
        .iter()
        .map(|it| crate::upload::classify(v.index.kpi(it.kpi), &it.values, current.get(&it.key)))
        .collect();
    Ok(Compared {
        items,
        current,
        changes,
    })
}

impl Compared {
    fn count(&self, c: crate::upload::Change) -> u64 {
        self.changes.iter().filter(|(x, _)| *x == c).count() as u64
    }

    fn fill(&self, doc: &mut report::plan::Report, v: &Validated<'_>, all: bool) {
        use crate::upload::Change;
        doc.summary.records_new = Some(self.count(Change::New));
        doc.summary.records_changed = Some(self.count(Change::Changed));
        doc.summary.records_unchanged = Some(self.count(Change::Unchanged));
        let limit = if all { usize::MAX } else { 1000 };
        doc.changes = Some(
            self.items
                .iter()
                .zip(&self.changes)
                .filter(|(_, (c, _))| *c == Change::Changed)
                .take(limit)
                .map(|(it, (c, vals))| report::plan::ChangeOut {
                    key: it.key,
                    kpi_name: v.index.kpi(it.kpi).name.clone(),
                    team_name: v.index.team(it.team).name.clone(),
                    change: *c,
                    values: vals.clone(),
                    rows: it.rows.clone(),
                })
                .collect(),
        );
    }
}

/// What the writing did.
struct Written {
    run: String,
    run_dir: PathBuf,
    journal: PathBuf,
    url: String,
    resumed: bool,
    /// Per item: `None` not sent (unchanged or already written), else the task's outcome.
    outcome: Vec<Option<crate::upload::engine::Outcome>>,
    already: u64,
    unchanged: u64,
    written: u64,
    failed: u64,
    targets_kept: u64,
    sent: crate::upload::engine::Sent,
    concurrency: usize,
}

async fn upload(
    args: &Args,
    client: &Client,
    v: &Validated<'_>,
    c: &Compared,
    ui: Ui,
) -> Result<Written, Error> {
    use crate::upload::engine::{self, Op, Task};
    use crate::upload::journal::{Header, Journal};
    use crate::upload::{Change, state, undo};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let up = &args.upload;
    let state_dir = state::state_dir(up.state_dir.as_deref())?;
    let url = client.base_url().to_string();
    let header = Header {
        journal: 1,
        file: args.file.display().to_string(),
        sha256: state::file_sha256(&args.file)?,
        url: url.clone(),
        started: chrono::Utc::now().to_rfc3339(),
        run: state::new_run_id(),
    };
    let new_run = header.run.clone();
    let journal = Journal::open(&state_dir, header, up.restart)?;
    let run = journal.header.run.clone();
    let resumed = run != new_run;
    if resumed {
        eprintln!(
            "an earlier run of this import ({run}, started {}) wrote {} records; they are not sent again (--restart sends everything)",
            journal.header.started,
            journal.acked.len()
        );
    }
    if journal.torn > 0 {
        tracing::warn!(
            "{}: {} incomplete journal line(s) ignored (the last run was cut off while writing)",
            journal.path.display(),
            journal.torn
        );
    }
    let run_dir = undo::run_dir(&state_dir, &run);

    // Decide what to send.
    let mut outcome: Vec<Option<engine::Outcome>> = vec![None; c.items.len()];
    let mut tasks: Vec<Task> = Vec::new();
    let mut task_item: Vec<usize> = Vec::new();
    let mut acks: Vec<(String, String)> = Vec::new();
    let (mut already, mut unchanged, mut targets_kept) = (0u64, 0u64, 0u64);
    let mut undo_records: Vec<undo::UndoRecord> = Vec::new();
    for (i, it) in c.items.iter().enumerate() {
        let path = it.key.path();
        let hash = it.values_hash();
        if c.changes[i].0 == Change::Unchanged && !up.no_skip_unchanged {
            unchanged += 1;
            continue;
        }
        if journal.is_acked(&path, &hash) {
            already += 1;
            continue;
        }
        let cur = c.current.get(&it.key);
        let (values, kept) =
            crate::upload::body_values(v.index.kpi(it.kpi), &it.values, cur, !up.no_keep_targets);
        targets_kept += kept as u64;
        undo_records.push(undo::UndoRecord {
            key: it.key,
            before: cur.cloned(),
            after: values.clone(),
        });
        tasks.push(Task {
            key: it.key,
            op: Op::Put(crate::api::RecordBody { values }),
        });
        task_item.push(i);
        acks.push((path, hash));
    }

    // Undo data before the first write; a resumed run adds what the first run lacked.
    let mut undo_file = match undo::load(&state_dir, &run) {
        Ok(u) if resumed => u,
        _ => undo::UndoFile {
            version: 1,
            run: run.clone(),
            created: journal.header.started.clone(),
            url: url.clone(),
            file: args.file.display().to_string(),
            records: Vec::new(),
        },
    };
    let known: std::collections::HashSet<crate::api::RecordKey> =
        undo_file.records.iter().map(|r| r.key).collect();
    undo_file
        .records
        .extend(undo_records.into_iter().filter(|r| !known.contains(&r.key)));
    undo::save(&run_dir, &undo_file)?;

    // Send.
    let cancel = Arc::new(AtomicBool::new(false));
    let watcher = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\nstopping: waiting for the requests in flight (Ctrl-C again quits at once); run the same command again to finish"
                );
                cancel.store(true, Ordering::SeqCst);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };
    let journal = Arc::new(journal);
    let on_done: Box<engine::OnDone> = {
        let journal = journal.clone();
        let acks = Arc::new(acks);
        Box::new(move |t, status| {
            let (key, values) = &acks[t];
            journal.ack(key, values, status).map_err(|e| e.to_string())
        })
    };
    // The journal reaches the file every 10 ms while records are written.
    let flusher = {
        let journal = journal.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
            loop {
                tick.tick().await;
                if let Err(e) = journal.flush() {
                    tracing::warn!("{e}");
                }
            }
        })
    };
    let bar = report::progress::bar(tasks.len() as u64, "writing", ui.quiet);
    let limits = up.limits();
    let sent = engine::run(
        client.clone(),
        Arc::new(tasks),
        limits,
        bar.clone(),
        cancel,
        on_done,
    )
    .await;
    bar.finish_and_clear();
    watcher.abort();
    flusher.abort();
    journal.sync()?;
    let mut written = 0;
    let mut failed = 0;
    for (t, o) in sent.outcomes.iter().enumerate() {
        if o.is_done() {
            written += 1;
        } else {
            failed += 1;
        }
        outcome[task_item[t]] = Some(o.clone());
    }
    Ok(Written {
        run,
        run_dir,
        journal: journal.path.clone(),
        url,
        resumed,
        outcome,
        already,
        unchanged,
        written,
        failed,
        targets_kept,
        sent,
        concurrency: limits.concurrency,
    })
}

impl Written {
    fn fill(&self, doc: &mut report::plan::Report) {
        doc.mode = "import";
        let s = &mut doc.summary;
        s.records_written = Some(self.written);
        s.records_already_written = Some(self.already);
        s.records_failed = Some(self.failed);
        s.retries = Some(self.sent.retries);
        // Unchanged = not sent because the server already held these values.
        s.records_unchanged = Some(self.unchanged);
        let secs = self.sent.elapsed.as_secs_f64();
        doc.upload = Some(report::plan::UploadOut {
            run: self.run.clone(),
            run_dir: self.run_dir.display().to_string(),
            journal: self.journal.display().to_string(),
            url: self.url.clone(),
            seconds: (secs * 1000.0).round() / 1000.0,
            requests: self.sent.requests,
            requests_per_second: if secs > 0.0 {
                (self.sent.requests as f64 / secs).round()
            } else {
                0.0
            },
            throttled: self.sent.throttled,
            concurrency: self.concurrency,
            min_concurrency: self.sent.min_concurrency,
            targets_kept: self.targets_kept,
            cpu_seconds: self.sent.cpu.map(|c| c.as_secs_f64()),
            stopped: self.sent.stopped.clone(),
        });
    }

    fn text(&self, doc: &report::plan::Report) -> String {
        use crate::report::thousands as t;
        let mut out = String::new();
        let secs = self.sent.elapsed.as_secs_f64();
        if self.sent.outcomes.is_empty() {
            out.push_str(&format!(
                "Nothing to send to {}: {} records unchanged on the server{}\n",
                self.url,
                t(self.unchanged),
                if self.already > 0 {
                    format!(", {} written by an earlier run", t(self.already))
                } else {
                    String::new()
                }
            ));
        } else {
            out.push_str(&format!(
                "Written to {}: {} records{}; {} unchanged (not sent); {} failed; {} retried requests; {:.1} s, {} requests/s\n",
                self.url,
                t(self.written),
                if self.already > 0 {
                    format!(" (+{} written by an earlier run)", t(self.already))
                } else {
                    String::new()
                },
                t(self.unchanged),
                t(self.failed),
                t(self.sent.retries),
                secs,
                doc.upload.as_ref().map_or(0.0, |u| u.requests_per_second),
            ));
        }
        if self.targets_kept > 0 {
            out.push_str(&format!(
                "  kept {} target values the server had (the file has no targets for those records)\n",
                t(self.targets_kept)
            ));
        }
        if let Some(why) = &self.sent.stopped {
            out.push_str(&format!(
                "  stopped early: {why}; run the same command again to send the rest\n"
            ));
        }
        if self.failed > 0 {
            out.push_str(&format!(
                "  failed records: {} (re-import with its failed.mapping.toml)\n",
                self.run_dir.join("failed.csv").display()
            ));
        }
        out.push_str(&format!(
            "  undo: vsimport undo {}{}\n  report: {}\n",
            self.run,
            if self.resumed {
                " (covers the earlier run too)"
            } else {
                ""
            },
            self.run_dir.join("report.json").display()
        ));
        out
    }
}

fn write_failed(
    dir: &Path,
    v: &Validated<'_>,
    items: &[crate::upload::Item],
    w: &Written,
) -> Result<u64, Error> {
    use crate::upload::engine::Outcome as O;
    let failed: Vec<report::files::FailedRecord<'_>> = items
        .iter()
        .zip(&w.outcome)
        .filter_map(|(it, o)| {
            let (status, message) = match o.as_ref()? {
                O::Done { .. } => return None,
                O::Failed {
                    status,
                    message,
                    attempts,
                } => (
                    *status,
                    if *attempts > 1 {
                        format!("{message} (after {attempts} attempts)")
                    } else {
                        message.clone()
                    },
                ),
                O::NotSent { reason } => (None, format!("not sent: {reason}")),
            };
            Some(report::files::FailedRecord {
                key: it.key,
                kpi: v.index.kpi(it.kpi),
                team: &v.index.team(it.team).name,
                values: &it.values,
                status,
                message,
                rows: &it.rows,
            })
        })
        .collect();
    report::files::write_failed(dir, &failed)
}
