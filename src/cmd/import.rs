//! `vsimport import FILE`: read, map, normalise, validate and dedupe a file against the
//! tenant's catalog, and show the plan (`--dry-run`) with every problem pointing at its cell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::api::Catalog;
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
    after_help = "Exit codes: 0 every row planned; 1 some rows rejected; 2 nothing could be done."
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
    /// Write report.json and rejected.csv into DIR
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
    pub source: SourceArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Reads a catalog file (`kpis --save` / emulator format).
pub fn load_catalog(path: &Path) -> Result<Catalog, Error> {
    let tenant = crate::emulator::store::Tenant::load(path)?;
    Ok(tenant.catalog)
}

async fn catalog(args: &Args) -> Result<Catalog, Error> {
    match &args.catalog {
        Some(p) => load_catalog(p),
        None => {
            let client = super::connect(&args.connect)?;
            Ok(client.catalog(16).await?)
        }
    }
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
    let tail = if threads > 1 {
        src.split(Path::new(&det.file))
    } else {
        None
    };
    match tail {
        // A large CSV file: its second half on another thread.
        Some(mut tail) => {
            let mut second = validator.fork();
            second.reserve(validator_room(&det.file) / 2);
            let (head, tail_result) = std::thread::scope(|scope| {
                let t = scope.spawn(|| {
                    let r = tail.for_each_row(|row| {
                        second.row(row);
                        true
                    });
                    (r, tail.take_problems())
                });
                let head = src.for_each_row(|row| {
                    validator.row(row);
                    true
                });
                (head, t.join())
            });
            head?;
            let Ok((tail_read, tail_problems)) = tail_result else {
                return Err(Error::Usage {
                    message: "the thread reading the second half of the file failed".into(),
                    help: Some("run again; report this as a bug if it repeats".into()),
                });
            };
            tail_read?;
            validator.append(second);
            for d in tail_problems {
                validator.diags.push(d);
            }
        }
        None => {
            src.for_each_row(|row| {
                validator.row(row);
                true
            })?;
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
    let args = Args {
        file: file.to_path_buf(),
        mapping: Some(mapping.to_path_buf()),
        dry_run: true,
        catalog: Some(catalog_file.to_path_buf()),
        report: None,
        format: Format::Json,
        on_conflict,
        notes: false,
        records: false,
        threads: None,
        source: SourceArgs::default(),
        connect: ConnectArgs::default(),
    };
    let (mut planned, mut src) = prepare(&args, load_catalog(catalog_file)?)?;
    let detected = planned.detected.clone();
    let mapping_path = planned.mapping_path.clone();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (validated, layout) = plan(&mut planned, &mut src, on_conflict, threads)?;
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

pub async fn run(args: Args, verbose: bool) -> Result<ExitCode, Error> {
    if !args.dry_run {
        return Err(Error::Usage {
            message: "writing records is not available in this version: only --dry-run is".into(),
            help: Some("run with --dry-run to see the plan and every problem".into()),
        });
    }
    let catalog = catalog(&args).await?;
    let (mut planned, mut src) = prepare(&args, catalog)?;
    let source_opts = planned.source_opts.clone();
    let detected = planned.detected.clone();
    let mapping_path = planned.mapping_path.clone();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (validated, layout) = plan(&mut planned, &mut src, args.on_conflict, threads)?;
    let doc = document(&validated, &detected, mapping_path, layout, args.records);
    if let Some(dir) = &args.report {
        report::files::write_report(dir, &doc)?;
        let n = report::files::write_rejected(dir, &args.file, &source_opts, &validated.rejected)?;
        if args.format == Format::Text {
            eprintln!(
                "report: {} and {} ({} rejected rows)",
                dir.join("report.json").display(),
                dir.join("rejected.csv").display(),
                n
            );
        }
    }
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&doc).map_err(|e| Error::io("<stdout>", e))?;
            println!("{json}");
        }
        Format::Text => {
            let utf8 = detected.encoding.as_deref() == Some("UTF-8");
            eprint!(
                "{}",
                report::diagnostics::render(
                    &validated.diags,
                    &detected.columns,
                    detected.first_column,
                    detected.delimiter,
                    utf8,
                    args.notes || verbose,
                )
            );
            print!("{}", report::plan::text(&doc));
        }
    }
    Ok(if validated.stats.rows_rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
