//! Past runs as the user reads them (`vsimport runs`, `runs prune`).

use std::fmt::Write as _;

use crate::upload::runs::{PastRun, Pruned};

use super::{count, thousands};

fn opt(n: Option<u64>) -> String {
    n.map_or_else(|| "?".into(), thousands)
}

/// The file's name only (the JSON output has the path as given).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A table of runs, newest first; `hidden` more were left out by `--limit`.
pub(crate) fn table(runs: &[PastRun], hidden: usize, state: &std::path::Path) -> String {
    let mut s = String::new();
    if runs.is_empty() {
        let _ = writeln!(s, "No imports in {} yet.", state.display());
        return s;
    }
    let file_w = runs
        .iter()
        .map(|r| {
            r.file
                .as_deref()
                .map_or(1, |f| file_name(f).chars().count())
        })
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "{:<20}  {:<19}  {:<file_w$}  {:>8}  {:>7}  {:<6}  server",
        "run", "started (UTC)", "file", "written", "failed", "undone"
    );
    for r in runs {
        let started = r.at.format("%Y-%m-%d %H:%M:%S").to_string();
        let failed = match (r.failed, r.not_sent) {
            (Some(f), Some(n)) if n > 0 => format!("{}+{}", thousands(f), thousands(n)),
            (f, _) => opt(f),
        };
        let undone = if r.undone {
            "yes"
        } else if r.undo_records == Some(0) || r.undo_records.is_none() {
            "-"
        } else {
            "no"
        };
        let _ = writeln!(
            s,
            "{:<20}  {:<19}  {:<file_w$}  {:>8}  {:>7}  {:<6}  {}",
            r.id,
            started,
            r.file.as_deref().map_or("?", file_name),
            opt(r.written),
            failed,
            undone,
            r.server.as_deref().unwrap_or("?"),
        );
    }
    if hidden > 0 {
        let _ = writeln!(
            s,
            "… and {} (--limit 0 shows all)",
            count(hidden as u64, "older run", "older runs")
        );
    }
    let _ = writeln!(
        s,
        "failed: failed+not sent; undone -: nothing to undo. Undo one: vsimport undo ID (or --last)"
    );
    s
}

/// What `runs prune` removed, or would remove.
pub(crate) fn pruned(p: &Pruned, dry_run: bool) -> String {
    let verb = if dry_run { "would remove" } else { "removed" };
    let before = p
        .cutoff
        .map(|c| format!(" (started before {} UTC)", c.format("%Y-%m-%d %H:%M")))
        .unwrap_or_default();
    let mut s = format!(
        "{verb} {} and {}{before}\n",
        count(p.runs.len() as u64, "run", "runs"),
        count(p.journals as u64, "journal", "journals"),
    );
    for id in &p.runs {
        let _ = writeln!(s, "  {id}");
    }
    s
}
