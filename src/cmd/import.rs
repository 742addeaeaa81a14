//! `vsimport import FILE`: resolve the settings, run the [pipeline] (a dry
//! run, or compare and write), and show what happened.

use std::process::ExitCode;

use crate::api::Client;
use crate::cli::{Format, ImportArgs};
use crate::error::Error;
use crate::pipeline::{self, Outcome};
use crate::report::{self, text};
use crate::settings::{self, Import, ProcessEnv, Ui};

pub(crate) async fn run(args: ImportArgs, ui: Ui) -> Result<ExitCode, Error> {
    let s = settings::import(&args, ui, &ProcessEnv, &mut std::io::stdin().lock())?;
    run_with(s).await
}

/// `import` with resolved settings.
pub(crate) async fn run_with(mut s: Import) -> Result<ExitCode, Error> {
    let outcome = execute(&mut s).await?;
    show(&s, &outcome)?;
    Ok(ExitCode::from(pipeline::exit_code(&outcome)))
}

/// The pipeline with resolved settings, stopped by Ctrl-C or SIGTERM; nothing shown.
pub(crate) async fn execute(s: &mut Import) -> Result<Outcome, Error> {
    let stop = super::interrupts();
    if let Some(c) = s.client.as_mut() {
        c.stop = Some(stop.clone());
    }
    let client = s.client.as_ref().map(Client::new).transpose()?;
    pipeline::run(s, client.as_ref(), &stop).await
}

/// What the user reads: the diagnostics, the plan, the comparison, what was written, and
/// where the reports are — or the report document, with `--format json`.
fn show(s: &Import, o: &Outcome) -> Result<(), Error> {
    let c = &o.checked;
    if let Some(w) = &o.written {
        if let Some(r) = &w.resumed {
            report::note(&text::resuming(&w.run, &r.started, r.acked));
        }
        if w.journal_discarded {
            report::note(&text::discarded_journal(&w.journal));
        }
        if w.torn > 0 {
            report::note(&text::torn_journal(&w.journal, w.torn));
        }
    }
    if o.held_back {
        report::note(&text::held_back(c.findings.stats.rows_rejected));
    }
    match s.format {
        Format::Json => {
            let mut json =
                serde_json::to_string_pretty(&o.report).map_err(|e| Error::io("<stdout>", e))?;
            json.push('\n');
            report::out(&json);
        }
        Format::Text => {
            if !c.matched.is_empty() && !s.ui.quiet {
                report::note(&text::auto_mapping(&c.matched));
            }
            let verbose = s.notes || s.ui.verbose > 0;
            // Errors (why rows were rejected) are shown even with --quiet.
            let diags = report::diagnostics::render(
                &c.findings.diags,
                &c.detected.columns,
                c.detected.first_column,
                report::diagnostics::Shown {
                    notes: verbose,
                    errors_only: s.ui.quiet,
                    color: s.ui.color,
                },
            );
            report::err(&diags);
            let mut out = text::plan(&o.report);
            match (&o.comparison, &o.report.not_compared) {
                (Some(_), Some(why)) => {
                    out.push_str(&text::not_compared(why, s.write.is_some()));
                }
                (Some(_), None) => out.push_str(&text::diff(&o.report, verbose)),
                _ => {}
            }
            if let Some(w) = &o.written {
                out.push_str(&text::written(w, &o.report));
            } else if s.write.is_some() && c.plan.is_empty() {
                out.push_str(&text::nothing_planned(c.findings.stats.rows_rejected));
            }
            report::out(&out);
            for f in &o.checked_files {
                report::note(&text::checked_workbook(f));
            }
            if s.annotate && o.checked_files.is_empty() {
                report::note(&text::no_checked_workbook(c.findings.stats.rows_read));
            }
            if let Some(dir) = &s.report_dir {
                let unwritten = o
                    .written
                    .as_ref()
                    .is_some_and(|w| w.failed + w.not_sent > 0);
                report::note(&text::report_files(dir, unwritten));
            }
        }
    }
    Ok(())
}
