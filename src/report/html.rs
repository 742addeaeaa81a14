//! The HTML report (`report.html` beside `report.json`): one self-contained page for people
//! who open it from a share or a mail. Rendered from `templates/report.html` with minijinja,
//! every piece of file content escaped by the engine (HTML autoescape); no network, fonts,
//! images or external scripts; readable without JavaScript (a little script only filters the
//! problems and sorts the changes).
//!
//! In: the [`Report`] document and, for a comparison with the server, the planned records with
//! their comparison ([`Compared`]; the charts are drawn in `charts.rs`). Out: the page as a
//! string.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

pub(crate) use super::charts::Compared;
use super::charts::{charts, number, shown};
use super::document::Report;
use super::{count, thousands};

const TEMPLATE: &str = include_str!("../../templates/report.html");
const UNDO_TEMPLATE: &str = include_str!("../../templates/undo.html");

/// Rows shown per group of problems (all of them are in report.json and rejected.csv).
pub(crate) const GROUP_ROWS: usize = 200;
/// Changes listed, the largest first.
pub(crate) const CHANGES_SHOWN: usize = 500;

/// The sentence at the top of the page.
pub(crate) fn headline(doc: &Report) -> String {
    let s = &doc.summary;
    let problems = if s.rows_rejected > 0 {
        format!(
            "; {} {} problems",
            count(s.rows_rejected, "row", "rows"),
            if s.rows_rejected == 1 { "has" } else { "have" }
        )
    } else {
        "; no row has a problem".to_string()
    };
    match (doc.mode, s.records_written) {
        ("import", Some(w)) => {
            let mut t = format!("Import: {} written", count(w, "record", "records"));
            if let Some(u) = s.records_unchanged.filter(|u| *u > 0) {
                t.push_str(&format!(", {} unchanged", thousands(u)));
            }
            let not = s.records_failed.unwrap_or(0) + s.records_not_sent.unwrap_or(0);
            if not > 0 {
                t.push_str(&format!(", {} not written", thousands(not)));
            }
            format!("{t}{problems}.")
        }
        _ => {
            let would = match (s.records_new, s.records_changed) {
                (Some(n), Some(c)) => n + c,
                _ => s.records_planned,
            };
            format!(
                "Dry run: {} would be written{problems}.",
                count(would, "record", "records")
            )
        }
    }
}

#[derive(Serialize)]
struct Group {
    code: String,
    /// What the code means and how to fix it (docs/DIAGNOSTICS.md), and that section's anchor.
    means: Option<String>,
    fix: Option<String>,
    anchor: String,
    severity: String,
    count: u64,
    rows: Vec<serde_json::Value>,
    more: u64,
}

/// Diagnostics grouped by code, errors first, each group capped at [`GROUP_ROWS`].
fn groups(doc: &Report) -> Vec<Group> {
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &doc.diagnostic_counts {
        *totals.entry(c.code).or_default() += c.count as u64;
    }
    let mut by: BTreeMap<&str, Group> = BTreeMap::new();
    for d in &doc.diagnostics {
        let g = by.entry(d.code).or_insert_with(|| {
            let (means, fix) = super::explain::means_and_fix(d.code).unzip();
            Group {
                code: d.code.to_string(),
                means,
                fix,
                anchor: super::explain::anchor(d.code),
                severity: format!("{:?}", d.severity).to_lowercase(),
                count: totals.get(d.code).copied().unwrap_or(0),
                rows: Vec::new(),
                more: 0,
            }
        });
        if g.rows.len() < GROUP_ROWS {
            let place = match (&d.sheet, &d.cell) {
                (Some(sheet), Some(cell)) => format!("{sheet}!{cell}"),
                _ => match &d.column_name {
                    Some(c) => format!("row {}, {c}", d.row),
                    None => format!("row {}", d.row),
                },
            };
            g.rows.push(json!({
                "place": place,
                "message": d.message,
                "help": d.help,
            }));
        }
    }
    let mut out: Vec<Group> = by
        .into_values()
        .map(|mut g| {
            g.count = g.count.max(g.rows.len() as u64);
            g.more = g.count - g.rows.len() as u64;
            g
        })
        .collect();
    let rank = |s: &str| match s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    };
    out.sort_by(|a, b| {
        rank(&a.severity)
            .cmp(&rank(&b.severity))
            .then(b.count.cmp(&a.count))
    });
    out
}

/// How far apart two values are, for sorting: the factor between them (a 100x error first),
/// then the absolute difference.
fn size(old: f64, new: f64) -> f64 {
    let (a, b) = (old.abs(), new.abs());
    let factor = if a > 0.0 && b > 0.0 {
        (a.max(b) / a.min(b)).min(1e12)
    } else if a == b {
        1.0
    } else {
        1e6
    };
    factor * 1e6 + (new - old).abs().min(1e6 - 1.0)
}

#[derive(Serialize)]
struct ChangeRow {
    kpi: String,
    team: String,
    date: String,
    value: String,
    old: String,
    new: String,
    factor: String,
    size: f64,
    rows: String,
}

/// Changed values, the largest (by factor, then difference) first: the first
/// [`CHANGES_SHOWN`] are chosen by size before any row is made (made for every change and
/// then cut, 1M changed records took 1 GB), and how many there are.
fn changes(c: &Compared<'_>) -> (Vec<ChangeRow>, u64) {
    // (size, record, value): the order of a stable sort by size, largest first.
    let mut all: Vec<(f64, u32, u16)> = Vec::new();
    for (i, values) in c.comparison.changed(c.index, c.planned) {
        for (k, v) in values.iter().enumerate() {
            if let (Some(old), Some(new)) = (v.old.as_ref().and_then(number), number(&v.new)) {
                all.push((size(old, new), i as u32, k as u16));
            }
        }
    }
    let total = all.len() as u64;
    largest_first(&mut all, CHANGES_SHOWN);
    let mut rows = Vec::with_capacity(all.len());
    for (size, i, k) in all {
        let r = c.planned.get(i as usize);
        let Some(cur) = c.comparison.before(i as usize) else {
            continue;
        };
        let (_, values) =
            crate::upload::compare::classify(c.index.kpi(r.kpi), &r.values, Some(cur));
        let Some(v) = values.get(k as usize) else {
            continue;
        };
        let (Some(old), Some(new)) = (v.old.as_ref().and_then(number), number(&v.new)) else {
            continue;
        };
        let factor = if old != 0.0 && new != 0.0 {
            let f = (old.abs().max(new.abs())) / (old.abs().min(new.abs()));
            if f >= 1.5 {
                format!("{}x", shown((f * 10.0).round() / 10.0))
            } else {
                String::new()
            }
        } else {
            String::new()
        };
        rows.push(ChangeRow {
            kpi: c.index.kpi(r.kpi).name.clone(),
            team: c.index.team(r.team).name.clone(),
            date: r.key.date.to_string(),
            value: v.name.clone(),
            old: shown(old),
            new: shown(new),
            factor,
            size,
            rows: r
                .rows
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    (rows, total)
}

/// Keeps the `n` largest of `all` (by size; equal sizes in their order), largest first: what
/// a stable sort by size and a cut would keep, without sorting them all.
fn largest_first(all: &mut Vec<(f64, u32, u16)>, n: usize) {
    let order = |a: &(f64, u32, u16), b: &(f64, u32, u16)| {
        b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2)))
    };
    if all.len() > n {
        all.select_nth_unstable_by(n, order);
        all.truncate(n);
    }
    all.sort_unstable_by(order);
}

/// The page.
pub(crate) fn render(doc: &Report, compared: Option<&Compared<'_>>) -> Result<String, String> {
    let s = &doc.summary;
    let mut figures: Vec<(String, String)> = vec![
        ("rows read".into(), thousands(s.rows_read)),
        ("rows rejected".into(), thousands(s.rows_rejected)),
        ("records planned".into(), thousands(s.records_planned)),
    ];
    for (name, v) in [
        ("new", s.records_new),
        ("changed", s.records_changed),
        ("unchanged", s.records_unchanged),
        ("written", s.records_written),
        ("already written", s.records_already_written),
        ("failed", s.records_failed),
        ("not sent", s.records_not_sent),
    ] {
        if let Some(v) = v {
            figures.push((name.into(), thousands(v)));
        }
    }
    figures.push(("duplicates merged".into(), thousands(s.duplicates_merged)));
    if let Some(u) = &doc.upload {
        figures.push(("targets kept".into(), thousands(u.targets_kept)));
    }
    let (changes, changes_total) = compared.map(changes).unwrap_or_default();
    let charts = compared.map(charts).unwrap_or_default();
    let mut settings: Vec<(String, String)> = vec![
        ("file".into(), doc.file.clone()),
        ("layout".into(), doc.layout.clone()),
        ("mode".into(), doc.mode.to_string()),
    ];
    if let Some(sheet) = &doc.sheet {
        settings.push(("sheet".into(), sheet.clone()));
    }
    settings.push((
        "mapping".into(),
        doc.mapping
            .clone()
            .unwrap_or_else(|| "matched to the catalog".into()),
    ));
    if let Some(h) = &doc.sha256 {
        settings.push(("SHA-256".into(), h.clone()));
    }
    let mut undo = None;
    let mut timing = None;
    if let Some(u) = &doc.upload {
        settings.push(("server".into(), u.url.clone()));
        settings.push(("concurrency".into(), u.concurrency.to_string()));
        timing = Some(format!(
            "{} requests in {:.1} s ({} per second), {} throttled{}",
            thousands(u.requests),
            u.seconds,
            thousands(u.requests_per_second.round() as u64),
            thousands(u.throttled),
            if u.resumed {
                "; this run finished an interrupted one"
            } else {
                ""
            }
        ));
        if s.records_written.unwrap_or(0) > 0 && doc.not_compared.is_none() {
            undo = Some(format!("vsimport undo {}", u.run));
        }
    }
    let ctx = json!({
        "title": format!("vsimport: {}", doc.file),
        "headline": headline(doc),
        "figures": figures,
        "groups": groups(doc),
        "group_rows": GROUP_ROWS,
        "changes": changes,
        "changes_total": changes_total,
        "changes_shown": CHANGES_SHOWN,
        "charts": charts,
        "compared": compared.is_some(),
        "not_compared": doc.not_compared,
        "by_kpi": doc.by_kpi,
        "by_team": doc.by_team,
        "settings": settings,
        "undo": undo,
        "timing": timing,
    });
    render_page("report.html", TEMPLATE, ctx)
}

/// Renders `template` with `ctx`, every value HTML-escaped.
fn render_page(name: &str, template: &str, ctx: serde_json::Value) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template(name, template)
        .map_err(|e| e.to_string())?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| e.to_string())
}

/// The page of an undo (`undo.html` in the import's run directory).
pub(crate) fn render_undo(
    run: &str,
    file: &str,
    url: &str,
    u: &crate::upload::undo::Undone,
) -> Result<String, String> {
    let not = u.failed + u.skipped;
    let headline = format!(
        "Undo of import {run}: {} restored, {} deleted{}.",
        count(u.restored, "record", "records"),
        thousands(u.deleted),
        if not > 0 {
            format!(", {} not undone", thousands(not))
        } else {
            String::new()
        }
    );
    let shown: Vec<&(String, String)> = u.problems.iter().take(GROUP_ROWS * 5).collect();
    let ctx = json!({
        "title": format!("vsimport undo {run}"),
        "headline": headline,
        "file": file,
        "url": url,
        "run": run,
        "figures": [
            ["restored", thousands(u.restored)],
            ["deleted", thousands(u.deleted)],
            ["skipped (changed since)", thousands(u.skipped)],
            ["failed", thousands(u.failed)],
        ],
        "problems": shown,
        "more": u.problems.len().saturating_sub(shown.len()),
        "skipped": u.skipped > 0,
    });
    render_page("undo.html", UNDO_TEMPLATE, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_largest_changes_are_those_a_stable_sort_keeps(
            sizes in proptest::collection::vec(0u8..8, 0..300),
            n in 0usize..50,
        ) {
            // Entries in plan order (record, value), sizes with many ties.
            let all: Vec<(f64, u32, u16)> = sizes
                .iter()
                .enumerate()
                .map(|(k, s)| (f64::from(*s), (k / 3) as u32, (k % 3) as u16))
                .collect();
            let mut sorted = all.clone();
            sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
            sorted.truncate(n);
            let mut chosen = all;
            largest_first(&mut chosen, n);
            proptest::prop_assert_eq!(chosen, sorted);
        }
    }

    #[test]
    fn a_hundredfold_change_sorts_above_a_large_small_one() {
        assert!(size(0.85, 85.0) > size(1000.0, 1900.0));
        assert!(size(10.0, 12.0) > size(10.0, 11.0));
        assert!(size(0.0, 5.0) > size(4.0, 5.0));
    }
}
