//! Everything the user reads about a run, as text: the plan, the comparison with the
//! server, what an import wrote, what undo will do and did, and the notices in between. Made
//! from the report document and the stages' results; printed only by `cmd`.

use std::fmt::Write as _;
use std::path::Path;

use super::document::Report;
use super::{count, plural, thousands as t};
use crate::upload::write::Written;

/// The plan as text: what will be written, per KPI and per team.
pub(crate) fn plan(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {}{} ({} layout{})",
        r.file,
        r.sheet
            .as_ref()
            .map(|x| format!(" › {x}"))
            .unwrap_or_default(),
        r.layout,
        if r.mode == "dry-run" {
            ", dry run: nothing is written"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "  rows: {} read, {} rejected{}{}",
        t(s.rows_read),
        t(s.rows_rejected),
        if s.rows_without_values > 0 {
            format!(", {} without values", t(s.rows_without_values))
        } else {
            String::new()
        },
        if s.rows_skipped > 0 {
            format!(", {} skipped (skip_rows_where)", t(s.rows_skipped))
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "  records: {} planned with {}; {} merged; {}",
        t(s.records_planned),
        count(s.values_planned, "value", "values"),
        count(s.duplicates_merged, "duplicate value", "duplicate values"),
        count(s.conflicts, "conflict", "conflicts")
    );
    if !r.by_kpi.is_empty() {
        let w = r
            .by_kpi
            .iter()
            .map(|k| k.kpi.chars().count())
            .max()
            .unwrap_or(3)
            .max(3);
        let _ = writeln!(out, "  by KPI:");
        for k in &r.by_kpi {
            let pad = w - k.kpi.chars().count();
            let _ = writeln!(
                out,
                "    {}{}  {:<5}  {:>9} {}  {:>9} {}  {} … {}  {}",
                k.kpi,
                " ".repeat(pad),
                k.interval,
                t(k.records),
                plural(k.records, "record ", "records"),
                t(k.values),
                plural(k.values, "value ", "values"),
                k.first_date,
                k.last_date,
                count(k.teams, "team", "teams")
            );
        }
        let mut groups: Vec<(String, &'static str, Vec<&str>)> = Vec::new();
        for k in &r.by_kpi {
            let Some(from) = k.targets_from else { continue };
            let slots = k.targets.join(", ");
            match groups
                .iter_mut()
                .find(|g| g.0 == slots && g.1 == from.why())
            {
                Some(g) => g.2.push(&k.kpi),
                None => groups.push((slots, from.why(), vec![&k.kpi])),
            }
        }
        if !groups.is_empty() {
            let shown: Vec<String> = groups
                .iter()
                .map(|(slots, why, kpis)| {
                    let more = kpis.len().saturating_sub(4);
                    let mut names = kpis[..kpis.len().min(4)].join(", ");
                    if more > 0 {
                        names.push_str(&format!(" and {more} more"));
                    }
                    format!("{slots} ({why}) in {names}")
                })
                .collect();
            let _ = writeln!(out, "  target slots: {}", shown.join("; "));
        }
        let w = r
            .by_team
            .iter()
            .map(|k| k.team.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(out, "  by team:");
        for k in &r.by_team {
            let pad = w - k.team.chars().count();
            let line = format!(
                "    {}{}  {:>9} {}  {:>9} {}",
                k.team,
                " ".repeat(pad),
                t(k.records),
                plural(k.records, "record ", "records"),
                t(k.values),
                plural(k.values, "value ", "values")
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    out
}

/// The server's values were not read: what that means for the writing.
pub(crate) fn not_compared(why: &str, import: bool) -> String {
    if import {
        format!(
            "Not compared with the server ({why}): every record is sent, target values the file leaves out are not kept (the server may reset them), and this import cannot be undone\n"
        )
    } else {
        format!("Not compared with the server ({why})\n")
    }
}

/// The comparison with the server as text: counts, then the changed records (old -> new).
pub(crate) fn diff(r: &Report, all: bool) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Compared with the server: {} new, {} changed, {} unchanged",
        t(s.records_new.unwrap_or(0)),
        t(s.records_changed.unwrap_or(0)),
        t(s.records_unchanged.unwrap_or(0)),
    );
    let Some(changes) = &r.changes else {
        return out;
    };
    let shown = if all {
        changes.len()
    } else {
        changes.len().min(10)
    };
    for c in &changes[..shown] {
        let vals: Vec<String> = c
            .values
            .iter()
            .map(|v| {
                format!(
                    "{}{} {} -> {}",
                    v.name,
                    if v.forecast { " (forecast)" } else { "" },
                    v.old
                        .as_ref()
                        .map_or_else(|| "(none)".to_string(), |o| o.to_string()),
                    v.new
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "    {}  {}  {}: {}",
            c.key.date,
            c.team_name,
            c.kpi_name,
            vals.join(", ")
        );
    }
    let total = s.records_changed.unwrap_or(0) as usize;
    if total > shown {
        let _ = writeln!(
            out,
            "    … and {} more{}",
            count((total - shown) as u64, "changed record", "changed records"),
            if all {
                ""
            } else {
                " (--notes lists them all; --format json has them)"
            }
        );
    }
    out
}

/// What an import wrote, with where the reports are and how to undo it.
pub(crate) fn written(w: &Written, r: &Report) -> String {
    let mut out = String::new();
    let secs = w.sent.elapsed.as_secs_f64();
    let earlier = if w.already > 0 {
        format!(
            ", {} by the interrupted run this one finished",
            count(w.already, "written", "written")
        )
    } else {
        String::new()
    };
    if w.sent.outcomes.is_empty() {
        let _ = writeln!(
            out,
            "Nothing to send to {}: {} unchanged on the server{earlier}",
            w.url,
            count(w.unchanged, "record", "records"),
        );
    } else {
        let rate = r.upload.as_ref().map_or(0.0, |u| u.requests_per_second);
        let _ = writeln!(
            out,
            "Written to {}: {}{earlier}; {} unchanged (not sent); {} failed{}; {}; {:.1} s, {} requests/s",
            w.url,
            count(w.written, "record", "records"),
            t(w.unchanged),
            t(w.failed),
            if w.not_sent > 0 {
                format!("; {} not sent", t(w.not_sent))
            } else {
                String::new()
            },
            count(w.sent.tally.retries, "retried request", "retried requests"),
            secs,
            t(rate as u64),
        );
    }
    if w.targets_kept > 0 {
        let _ = writeln!(
            out,
            "  kept {} the server had (the file has no targets for those records)",
            count(w.targets_kept, "target value", "target values")
        );
    }
    if let Some(why) = &w.sent.stopped {
        let _ = writeln!(
            out,
            "  stopped early: {why}; run the same command again to send the rest"
        );
    }
    if w.failed + w.not_sent > 0 {
        let _ = writeln!(
            out,
            "  records not written: {} (re-import it with its failed.mapping.toml)",
            w.run_dir.join("failed.csv").display()
        );
    }
    if (w.written > 0 || w.resumed.is_some()) && !w.undoable {
        let _ = writeln!(
            out,
            "  undo: not possible (the server's values were not read before writing)"
        );
    } else if w.written > 0 || w.resumed.is_some() {
        let _ = writeln!(
            out,
            "  undo: vsimport undo {}{}",
            w.run,
            if w.resumed.is_some() {
                " (covers the interrupted run too)"
            } else {
                ""
            },
        );
    }
    let _ = writeln!(
        out,
        "  report: {} (and report.json)",
        w.run_dir.join("report.html").display()
    );
    out
}

/// What the spinner says while the catalog is awaited.
pub(crate) fn waiting_for_catalog(base: &url::Url) -> String {
    format!(
        "waiting for {}: reading the KPI catalog",
        base.host_str().map_or_else(
            || base.to_string(),
            |h| match base.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            }
        )
    )
}

/// Which import `undo --last` took.
pub(crate) fn undo_last(id: &str, file: Option<&str>) -> String {
    format!(
        "undo --last: import {id}{}",
        file.map(|f| format!(" of {f}")).unwrap_or_default()
    )
}

/// An interrupted run of the same import is being finished.
pub(crate) fn resuming(run: &str, started: &str, acked: usize) -> String {
    format!(
        "finishing the interrupted run {run} of this import (started {started}, {} written): records the server already holds are not sent again (--restart starts afresh)",
        count(acked as u64, "record", "records")
    )
}

/// A journal whose first line was not a journal header was replaced.
pub(crate) fn discarded_journal(journal: &Path) -> String {
    format!(
        "{}: not a journal vsimport can read (its first line is damaged); started a new one — records the server already holds unchanged are still not sent again",
        journal.display()
    )
}

/// Incomplete journal lines were ignored.
pub(crate) fn torn_journal(journal: &Path, torn: usize) -> String {
    format!(
        "{}: {} ignored (the last run was cut off while writing it)",
        journal.display(),
        count(
            torn as u64,
            "incomplete journal line",
            "incomplete journal lines"
        )
    )
}

/// The first Ctrl-C.
pub(crate) const STOPPING: &str = "\nstopping: waiting for the requests in flight (a second Ctrl-C or SIGTERM quits at once); run the same command again to finish";

/// An import with nothing to write.
pub(crate) fn nothing_planned(rejected: u64) -> String {
    if rejected > 0 {
        format!(
            "Nothing written: {} rejected, and no record is left to write\n",
            count(rejected, "row was", "rows were")
        )
    } else {
        "Nothing written: the file has no values to write\n".to_string()
    }
}

/// `--no-partial` held the import back.
pub(crate) fn held_back(rejected: u64) -> String {
    format!(
        "nothing written: {} rejected and --no-partial is set",
        count(rejected, "row was", "rows were")
    )
}

/// Where the report files went.
pub(crate) fn report_files(dir: &Path, unwritten: bool) -> String {
    format!(
        "report: {} (report.html to open, report.json, rejected.csv{})",
        dir.display(),
        if unwritten { ", failed.csv" } else { "" }
    )
}

/// The columns were matched to the catalog without a mapping file.
pub(crate) fn auto_mapping(matches: &[(String, String)]) -> String {
    format!(
        "no --mapping given: columns matched to the catalog ({}); `vsimport mapping init` saves this mapping",
        matches
            .iter()
            .map(|(column, what)| format!("{column:?} = {what}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// What undoing an import will do (or would, with `--dry-run`).
pub(crate) fn undo_plan(p: &crate::upload::undo::UndoPlan, dry_run: bool) -> String {
    let f = &p.file;
    let verb = if dry_run { "would" } else { "will" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Undo of import {} ({}, {}) at {}: {verb} restore {} and delete {} it created",
        f.run,
        f.file,
        f.created,
        f.url,
        count(p.to_restore, "record", "records"),
        count(p.to_delete, "record", "records"),
    );
    if p.gone > 0 {
        let _ = writeln!(
            out,
            "  {} the import created {} gone already",
            count(p.gone, "record", "records"),
            plural(p.gone, "is", "are")
        );
    }
    if p.skipped > 0 {
        let _ = writeln!(
            out,
            "  {} changed after the import and {} left alone (--force restores them anyway), e.g.:",
            count(p.skipped, "record was", "records were"),
            plural(p.skipped, "is", "are")
        );
        for k in &p.skipped_examples {
            let _ = writeln!(out, "    {k}");
        }
    }
    if p.added_slots > 0 {
        let _ = writeln!(
            out,
            "  {} the import added to existing records {}: the API cannot remove a single value",
            count(p.added_slots, "value", "values"),
            plural(p.added_slots, "stays", "stay")
        );
    }
    if dry_run {
        out.push_str("dry run: nothing changed\n");
    }
    out
}

/// The records an undo could not restore or delete, and why.
pub(crate) fn undo_problems(u: &crate::upload::undo::Undone) -> String {
    let mut out = String::new();
    for (key, why) in &u.problems {
        let _ = writeln!(out, "could not undo {key}: {why}");
    }
    out
}

/// What an undo did.
pub(crate) fn undone(u: &crate::upload::undo::Undone) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Undone: {} restored, {} deleted, {} failed ({:.1} s)",
        count(u.restored, "record", "records"),
        t(u.deleted),
        t(u.failed),
        u.seconds
    );
    out
}

/// The import was undone before.
pub(crate) fn already_undone(id: &str, marker: &Path) -> String {
    format!(
        "import {id} was already undone ({}); --force undoes it again",
        marker.display()
    )
}

/// `vsimport template` wrote its files.
pub(crate) fn template_written(workbook: &Path, mapping: &Path, rows: u64) -> String {
    format!(
        "wrote {} ({} to fill) and {}\nfill the value cells, then: vsimport import {} --mapping {} --dry-run\n",
        workbook.display(),
        super::count(rows, "row", "rows"),
        mapping.display(),
        workbook.display(),
        mapping.display()
    )
}

/// `--annotate` wrote a checked workbook.
pub(crate) fn checked_workbook(path: &Path) -> String {
    format!(
        "checked workbook: {} (the marked cells have notes; fix them and import it again with the same mapping)",
        path.display()
    )
}

/// Where the undo's page is.
pub(crate) fn undo_page(path: &Path) -> String {
    format!("report: {}", path.display())
}

/// `--annotate` on a file too big for a checked workbook (or read from standard input).
pub(crate) fn no_checked_workbook(rows: u64) -> String {
    format!(
        "--annotate: no checked workbook for {} (it is made for files of up to {} rows read from a file); rejected.csv lists the rows with problems (in the run directory, or with --report DIR)",
        count(rows, "row", "rows"),
        super::thousands(crate::report::checked::MAX_ROWS)
    )
}
