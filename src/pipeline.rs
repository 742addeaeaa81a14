//! The import, stage by stage, for every caller (`import`, `demo`, benchmarks, folder watch):
//!
//! ```text
//! Input ──read──▶ Row ──map──▶ ColumnPlan ──validate──▶ Entry ──dedupe──▶ Records ──plan──▶ Plan
//!                                 (normalise: Cell → date, number, minutes)
//! Plan ──compare──▶ Comparison ──upload──▶ Written ──report──▶ text, report.json, rejected.csv, failed.csv
//! ```
//!
//! [`check`] runs read → plan (a dry run); [`run`] adds the comparison with the server and the
//! writing, and writes the report files. The stages are modules of their own; this only
//! passes one stage's output to the next.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, Catalog, Client};
use crate::catalog::CatalogIndex;
use crate::cli::CompareMode;
use crate::error::Error;
use crate::findings::Findings;
use crate::map::Mapping;
use crate::plan::{Plan, Planned};
use crate::read::{Detected, Format, Source};
use crate::record::Origin;
use crate::report::document::{self, Report};
use crate::report::{self, progress};
use crate::settings::Import;
use crate::upload::compare::Comparison;
use crate::upload::write::{self, Imported, Written};
use crate::validate::{SpentBuffers, Validator};

/// What reading, mapping, validating, deduping and planning a file gave.
pub(crate) struct Checked {
    /// The input, still open: rows rejected after the read are read back from it.
    pub(crate) source: Source,
    pub(crate) detected: Detected,
    /// The mapping file as shown; `None` when the columns were matched automatically.
    pub(crate) mapping: Option<String>,
    /// Columns matched to the catalog without a mapping file: (column, what it is).
    pub(crate) matched: Vec<(String, String)>,
    pub(crate) layout: &'static str,
    pub(crate) plan: Plan,
    pub(crate) findings: Findings,
}

impl Checked {
    /// What the report document says about the input, for a run in `mode`.
    fn context(&self, mode: &'static str) -> document::Context<'_> {
        document::Context {
            file: self.detected.file.clone(),
            sha256: self.source.sha256(),
            sheet: self.detected.sheet.clone(),
            mapping: self.mapping.clone(),
            layout: self.layout,
            mode,
            columns: &self.detected.columns,
            first_column: self.detected.first_column,
        }
    }
}

/// The catalog: a saved one, or the server's.
pub(crate) async fn catalog(s: &Import, client: Option<&Client>) -> Result<Catalog, Error> {
    match (&s.catalog, client) {
        (Some(p), _) => Ok(crate::catalog::load_file(p)?),
        (None, Some(c)) => Ok(crate::report::progress::waiting(
            &crate::report::text::waiting_for_catalog(c.base_url()),
            s.ui.quiet,
            c.catalog(),
        )
        .await?),
        (None, None) => Err(Error::Usage {
            message: "no catalog: give --catalog FILE or a server".into(),
            help: None,
        }),
    }
}

/// The catalog as lookup tables, with what the mapping declares per KPI (`[kpi."NAME"]`).
pub(crate) fn index(s: &Import, catalog: Catalog) -> Result<CatalogIndex, Error> {
    let mut index = CatalogIndex::new(catalog);
    if let Some(f) = &s.sub_tiles_field {
        index.sub_tiles_from(f).map_err(|p| Error::Usage {
            message: p.message,
            help: p.help,
        })?;
    }
    if let Some((m, shown)) = &s.mapping {
        index.declare(&m.kpi).map_err(|p| Error::Mapping {
            path: shown.clone(),
            message: p.message,
            help: p.help,
        })?;
    }
    Ok(index)
}

/// Reads the input once and takes it through map, validate, dedupe and plan; `stop` ends the
/// reading early (Ctrl-C).
pub(crate) fn check(
    s: &Import,
    index: &CatalogIndex,
    stop: &CancellationToken,
) -> Result<Checked, Error> {
    let mut source = Source::open(&s.input, &s.source)?;
    let detected = source.detected().clone();
    let (mapping, shown, matched) = match &s.mapping {
        Some((m, shown)) => (m.clone(), Some(shown.clone()), Vec::new()),
        None => suggested(&detected, index)?,
    };
    let shown_mapping = shown
        .clone()
        .unwrap_or_else(|| "the suggested mapping".to_string());
    let columns = mapping.resolve(&shown_mapping, &detected.file, &detected.columns)?;
    let layout = columns.layout.name();
    let origin = Origin {
        file: source.file_name().clone(),
        sheet: source.sheet_name().cloned(),
        first_column: detected.first_column,
        columns: detected.columns.clone(),
        delimiter: detected.delimiter,
    };
    let mut validator = Validator::new(
        index,
        std::sync::Arc::new(columns),
        origin.clone(),
        &mapping,
    )
    .map_err(|p| Error::Mapping {
        path: shown_mapping.clone(),
        message: p.message,
        help: p.help,
    })?;

    // CSV from a regular file: a bar over its bytes; otherwise a row count.
    let what = format!("checking {}", detected.file);
    let bar = match (detected.format, source.size()) {
        (Format::Csv, Some(len)) => progress::bytes(len, &what, s.ui.quiet),
        _ => progress::counter(&what, "rows", s.ui.quiet),
    };
    // One thread (and every workbook) folds every row into one validator; several threads
    // fold each block of a CSV text into a validator of its own, appended in file order.
    let one = s.threads <= 1 || detected.format != Format::Csv;
    // Room for the values up front, about one per 16 bytes of text (a guess; untouched room
    // costs no memory), so the vectors are not copied as they grow.
    let room = match (detected.format, source.size()) {
        (Format::Csv, Some(len)) if one => (len / 16).min(50_000_000) as usize,
        (Format::Csv, _) if !one => crate::read::CSV_BLOCK_BYTES / 16,
        _ => 0,
    };
    if !one && let Some(len) = source.size() {
        validator.reserve((len / 16).min(50_000_000) as usize);
    }
    let template = validator.fork();
    let spent = SpentBuffers::default();
    let fork = || spent.fork(&template, room);
    // One part (one thread, a workbook) is the result as it is; several are appended, in
    // file order, as each is next.
    let mut only = None;
    let mut join = |part| {
        if one {
            only = Some(part);
        } else {
            spent.append(&mut validator, part);
        }
    };
    let started = std::time::Instant::now();
    source.fold_rows(
        s.threads,
        fork,
        |v, row| v.row(row),
        &mut join,
        &|n| bar.inc(n),
        &|| stop.is_cancelled(),
    )?;
    bar.finish_and_clear();
    tracing::debug!(ms = started.elapsed().as_millis(), "read and checked");
    if stop.is_cancelled() {
        return Err(Error::Interrupted {
            when: "while the file was checked",
        });
    }
    let validator = only.unwrap_or(validator);
    let mut validated = validator.finish();
    for d in source.take_problems() {
        validated.findings.diags.push(d);
    }
    let mut findings = validated.findings;
    tracing::debug!(ms = started.elapsed().as_millis(), "checks finished");
    let records = crate::dedupe::merge(
        validated.entries,
        s.on_conflict,
        index,
        &validated.origin,
        &mut findings,
    );
    tracing::debug!(ms = started.elapsed().as_millis(), "deduplicated");
    let plan = Plan::new(records, index, &origin, &mut findings);
    tracing::debug!(ms = started.elapsed().as_millis(), "planned");
    Ok(Checked {
        source,
        detected,
        mapping: shown,
        matched,
        layout,
        plan,
        findings,
    })
}

/// A mapping, its name as shown (`None`: suggested), and the columns matched to the catalog.
type Chosen = (Mapping, Option<String>, Vec<(String, String)>);

/// The mapping suggested from the file's columns, when every match is sure; else an error
/// showing the suggestion.
fn suggested(detected: &Detected, index: &CatalogIndex) -> Result<Chosen, Error> {
    // The file is read once, after this: the suggestion goes by the header alone.
    let suggestion = crate::map::init::suggest(
        detected,
        &crate::map::init::Sample::default(),
        &index.catalog,
    );
    let file = &detected.file;
    if !suggestion.confident {
        let toml = suggestion.to_toml(file);
        return Err(Error::Mapping {
            path: file.clone(),
            message: format!(
                "no --mapping given, and the columns could not all be matched with confidence. Suggested mapping:\n\n{toml}"
            ),
            help: Some(format!(
                "save it (vsimport mapping init {file} -o mapping.toml), check the lines marked unsure or TODO, and pass --mapping mapping.toml"
            )),
        });
    }
    let matched = suggestion
        .matches
        .iter()
        .map(|m| (m.column.clone(), m.what.clone()))
        .collect();
    Ok((suggestion.mapping, None, matched))
}

/// What a run of `import` produced.
pub(crate) struct Outcome {
    pub(crate) checked: Checked,
    pub(crate) report: Report,
    pub(crate) planned: Planned,
    pub(crate) comparison: Option<Comparison>,
    pub(crate) written: Option<Written>,
    /// `--no-partial` held the writing back.
    pub(crate) held_back: bool,
    /// Directories the report files were written to.
    pub(crate) report_dirs: Vec<PathBuf>,
    /// `--annotate`: the checked workbooks written.
    pub(crate) checked_files: Vec<PathBuf>,
}

/// How a run ended, as an exit code (see `vsimport --help`).
pub(crate) fn exit_code(o: &Outcome) -> u8 {
    let rejected = o.checked.findings.stats.rows_rejected > 0;
    let unwritten = o
        .written
        .as_ref()
        .is_some_and(|w| w.failed + w.not_sent > 0);
    if o.checked.plan.is_empty() && !rejected {
        3
    } else if rejected || unwritten || o.held_back {
        1
    } else {
        0
    }
}

/// `import`: check, compare with the server (`--diff` and every import), write, and write
/// the report files.
pub(crate) async fn run(
    s: &Import,
    client: Option<&Client>,
    stop: &CancellationToken,
) -> Result<Outcome, Error> {
    let interrupted = |when| {
        move |e: Error| match e {
            Error::Api(crate::api::ApiError::Stopped) => Error::Interrupted { when },
            e => e,
        }
    };
    // One import per server at a time, from before its first request.
    let _lock = match (&s.write, client) {
        (Some(w), Some(c)) => Some(
            crate::upload::lock::RunLock::acquire(
                &w.state_dir,
                c.base_url().as_str(),
                &s.input.shown(),
                w.wait_lock,
                stop,
            )
            .await?,
        ),
        _ => None,
    };
    let index = std::sync::Arc::new(index(
        s,
        catalog(s, client)
            .await
            .map_err(interrupted("while the catalog was read"))?,
    )?);
    let mut checked = check(s, &index, stop)?;
    let needs_records = s.records || s.compare.is_some();
    let planned = if needs_records {
        checked.plan.planned(&index)
    } else {
        Planned::none(&index)
    };

    let mut comparison = None;
    if let Some(mode) = s.compare
        && !checked.plan.is_empty()
    {
        let Some(client) = client else {
            return Err(Error::Usage {
                message: "--diff needs the server".into(),
                help: Some("give --url (or VS_URL) and the credentials".into()),
            });
        };
        let c = compare(
            s,
            mode,
            client,
            &index,
            &planned,
            checked.plan.without_targets,
        )
        .await
        .map_err(interrupted("while the server's values were read"))?;
        for gap in c.scale_gaps(&planned, &index) {
            checked
                .findings
                .diags
                .push(scale_warning(&gap, &index, &checked));
        }
        comparison = Some(c);
    }
    let cx = checked.context(if s.write.is_some() {
        "import"
    } else {
        "dry-run"
    });
    let mut doc = document::report(&checked.plan, &checked.findings, &index, &cx);
    if s.records {
        doc.records = Some(document::planned_records(&planned, &index));
    }
    if let Some(c) = &comparison {
        doc.compared(&planned, c, &index, s.notes);
    }

    if stop.is_cancelled() {
        return Err(Error::Interrupted {
            when: "before writing",
        });
    }
    let mut written = None;
    let rejected = checked.findings.stats.rows_rejected;
    let held_back = s.write.is_some() && rejected > 0 && s.no_partial;
    if let (Some(opts), Some(client), Some(c), false) = (&s.write, client, &comparison, held_back) {
        let sha256 = checked.source.sha256().unwrap_or_default();
        let quiet = s.ui.quiet;
        let w = write::write(
            client,
            &index,
            &planned,
            c,
            Imported {
                file: &checked.detected.file,
                sha256: &sha256,
            },
            opts,
            |n| progress::bar(n, "writing", quiet),
        )
        .await?;
        doc.written(&w);
        written = Some(w);
    }

    // Files: the run directory of an import always gets the report; --report DIR too.
    let mut report_dirs: Vec<PathBuf> = Vec::new();
    if let Some(w) = &written {
        report_dirs.push(w.run_dir.clone());
    }
    if let Some(dir) = &s.report_dir {
        report_dirs.push(dir.clone());
    }
    let outcome = Outcome {
        checked,
        report: doc,
        planned,
        comparison,
        written,
        held_back,
        report_dirs,
        checked_files: Vec::new(),
    };
    write_reports(&outcome, &index)?;
    tracing::debug!("reported");
    let mut outcome = outcome;
    if s.annotate {
        outcome.checked_files = write_checked(s, &outcome)?;
    }
    Ok(outcome)
}

/// `--annotate`: the input read again and written as `NAME.checked.xlsx` into every report
/// directory (the current one when there is none). Standard input cannot be read again: no
/// workbook then.
fn write_checked(s: &Import, o: &Outcome) -> Result<Vec<PathBuf>, Error> {
    let crate::read::Input::Path(path) = &s.input else {
        return Ok(Vec::new());
    };
    if o.checked.findings.stats.rows_read > report::checked::MAX_ROWS {
        return Ok(Vec::new());
    }
    let (d, rows) = crate::read::all_rows(&s.input, &s.source, report::checked::MAX_ROWS)?;
    let input = report::checked::Rows {
        file: d.file.clone(),
        sheet: d.sheet.clone().unwrap_or_else(|| "Data".to_string()),
        header_row: d.header_row,
        first_column: d.first_column,
        columns: d.columns.clone(),
        rows,
    };
    let bytes = report::checked::write(&input, &o.checked.findings).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("the checked workbook could not be made: {e}"),
        help: None,
    })?;
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    let name = format!("{stem}.checked.xlsx");
    let dirs = if o.report_dirs.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        o.report_dirs.clone()
    };
    let mut written = Vec::new();
    for dir in dirs {
        let target = dir.join(&name);
        crate::persist::write_atomic(&target, &bytes)?;
        written.push(target);
    }
    Ok(written)
}

/// Reads the server's current values for the planned records, as `mode` says: `never` does
/// not read them; `auto` writes without them when they cannot be read and nothing is lost
/// by it (a dry run, or no record whose targets would have been kept).
async fn compare(
    s: &Import,
    mode: CompareMode,
    client: &Client,
    index: &CatalogIndex,
    planned: &Planned,
    without_targets: u64,
) -> Result<Comparison, Error> {
    if mode == CompareMode::Never {
        return Ok(Comparison::skipped(
            planned.len(),
            "--compare never".to_string(),
        ));
    }
    let spinner = progress::spinner("reading the server's current values", s.ui.quiet);
    let keep_unchanged = s.write.as_ref().is_some_and(|w| !w.skip_unchanged);
    let read = Comparison::read(client, index, planned, keep_unchanged).await;
    spinner.finish_and_clear();
    let e = match read {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    // Only an answer that could not be read, or a read endpoint that is not there, is a
    // reason to go on: anything else (credentials, network, throttling) stops the writes too.
    let unreadable = matches!(&e, ApiError::Decode { .. })
        || matches!(e.status(), Some(400 | 404 | 405 | 422 | 501));
    let keeps_targets = s.write.as_ref().is_some_and(|w| w.keep_targets) && without_targets > 0;
    if mode == CompareMode::Auto && unreadable && !keeps_targets {
        return Ok(Comparison::skipped(
            planned.len(),
            format!("the server's records could not be read: {}", e.short()),
        ));
    }
    let help = if !unreadable {
        return Err(e.into());
    } else if keeps_targets {
        format!(
            "--compare never writes without reading them: no unchanged record is skipped, the import cannot be undone, and the server may reset the targets of {} (--no-keep-targets accepts that)",
            report::count(without_targets, "record", "records")
        )
    } else {
        "--compare never writes without reading them: no unchanged record is skipped, and the import cannot be undone".to_string()
    };
    Err(e.with_help(help).into())
}

/// The warning for a percent KPI whose file and server values are about 100 times apart.
fn scale_warning(
    gap: &crate::upload::compare::ScaleGap,
    index: &CatalogIndex,
    checked: &Checked,
) -> crate::diag::Diagnostic {
    let name = &index.kpi(gap.kpi).name;
    let shown = |v: f64| crate::plan::number(v).map_or_else(|| v.to_string(), |n| n.to_string());
    crate::diag::Diagnostic {
        code: "vsimport::number::scale_mismatch",
        severity: crate::diag::Severity::Warning,
        location: crate::diag::Location {
            file: checked.source.file_name().clone(),
            sheet: checked.source.sheet_name().cloned(),
            row: gap.row,
            column: None,
            byte: None,
        },
        message: format!(
            "KPI {name:?}: the file's values are around {}, the server's around {} — about {}x apart, as if one of them were a percentage on the other scale",
            shown(gap.file),
            shown(gap.server),
            shown((gap.file / gap.server).max(gap.server / gap.file).round())
        ),
        help: Some(format!(
            "check the scale: declare it in the mapping with [kpi.{name:?}] unit = \"percent-points\" (85) or \"percent-fraction\" (0.85); a dry run with --diff shows each change"
        )),
        context: None,
    }
}

/// Writes report.json, report.html, rejected.csv and (when records were not written)
/// failed.csv into every report directory; rows rejected after the read are read back from the input once.
fn write_reports(o: &Outcome, index: &CatalogIndex) -> Result<(), Error> {
    if o.report_dirs.is_empty() {
        return Ok(());
    }
    let findings = &o.checked.findings;
    let late = findings.rejected.late();
    let fetched = if late.is_empty() {
        Default::default()
    } else {
        o.checked.source.fetch(&late)?
    };
    let delimiter = o
        .checked
        .detected
        .delimiter
        .map(|c| c as u8)
        .unwrap_or(b',');
    let unwritten = o
        .written
        .as_ref()
        .map(|w| document::unwritten(&o.planned, w))
        .unwrap_or_default();
    let compared = o
        .comparison
        .as_ref()
        .filter(|c| c.skipped.is_none() && c.len() == o.planned.len())
        .map(|c| report::html::Compared {
            planned: &o.planned,
            comparison: c,
            index,
        });
    let html = report::html::render(&o.report, compared.as_ref()).map_err(|e| Error::Io {
        path: "report.html".into(),
        message: format!("the page could not be made: {e}"),
        help: None,
    })?;
    for dir in &o.report_dirs {
        report::files::write_report(dir, &o.report)?;
        report::files::write_html(dir, &html)?;
        report::files::write_rejected(
            dir,
            &o.checked.detected.columns,
            delimiter,
            &findings.rejected,
            &fetched,
        )?;
        if o.written.is_some() {
            if unwritten.is_empty() {
                // No stale list from an earlier run in the same directory.
                for f in ["failed.csv", "failed.mapping.toml"] {
                    let _ = std::fs::remove_file(dir.join(f));
                }
            } else {
                report::files::write_failed(dir, &unwritten, index)?;
            }
        }
    }
    Ok(())
}

/// A dry run of `file` with a mapping file and a saved catalog, as a library call (for
/// benchmarks and embedding): the report document, or the error as the terminal shows it.
pub fn dry_run(
    file: &Path,
    mapping: &Path,
    catalog_file: &Path,
    on_conflict: crate::dedupe::OnConflict,
) -> Result<Report, String> {
    dry_run_report(file, mapping, catalog_file, on_conflict).map_err(|e| report::render(&e, false))
}

fn dry_run_report(
    file: &Path,
    mapping: &Path,
    catalog_file: &Path,
    on_conflict: crate::dedupe::OnConflict,
) -> Result<Report, Error> {
    let m = Mapping::load(mapping)?;
    let source = m.source_options();
    let s = Import {
        input: crate::read::Input::Path(file.to_path_buf()),
        mapping: Some((m, mapping.display().to_string())),
        source,
        compare: None,
        sub_tiles_field: None,
        catalog: Some(catalog_file.to_path_buf()),
        report_dir: None,
        format: crate::cli::Format::Json,
        on_conflict,
        notes: false,
        records: false,
        threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        no_partial: false,
        annotate: false,
        write: None,
        client: None,
        ui: crate::settings::Ui {
            quiet: true,
            ..Default::default()
        },
    };
    let index = index(&s, crate::catalog::load_file(catalog_file)?)?;
    let checked = check(&s, &index, &CancellationToken::new())?;
    let cx = checked.context("dry-run");
    Ok(document::report(
        &checked.plan,
        &checked.findings,
        &index,
        &cx,
    ))
}
