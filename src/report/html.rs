//! The HTML report (`report.html` beside `report.json`): one self-contained page for people
//! who open it from a share or a mail. Rendered from `templates/report.html` with minijinja,
//! every piece of file content escaped by the engine (HTML autoescape); no network, fonts,
//! images or external scripts; readable without JavaScript (a little script only filters the
//! problems and sorts the changes).
//!
//! In: the [`Report`] document and, for a comparison with the server, the planned records with
//! their [`Comparison`]. Out: the page as a string.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::document::Report;
use super::{count, thousands};
use crate::catalog::CatalogIndex;
use crate::plan::PlannedRecord;
use crate::upload::compare::{Change, Comparison};

const TEMPLATE: &str = include_str!("../../templates/report.html");
const UNDO_TEMPLATE: &str = include_str!("../../templates/undo.html");

/// Rows shown per group of problems (all of them are in report.json and rejected.csv).
pub(crate) const GROUP_ROWS: usize = 200;
/// Changes listed, the largest first.
pub(crate) const CHANGES_SHOWN: usize = 500;
/// Points per chart; beyond it, every n-th record is drawn.
const CHART_POINTS: usize = 1500;
const CHART_W: f64 = 640.0;
const CHART_H: f64 = 170.0;
const PAD_L: f64 = 56.0;
const PAD_B: f64 = 22.0;
const PAD_T: f64 = 8.0;

/// What the comparison adds to the page.
pub(crate) struct Compared<'a> {
    pub(crate) planned: &'a [PlannedRecord],
    pub(crate) comparison: &'a Comparison,
    pub(crate) index: &'a CatalogIndex,
}

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

/// The value a chart and the change list show for a KPI: its first slot that is not a target.
fn main_slot(index: &CatalogIndex, kpi: u32) -> Option<(uuid::Uuid, String)> {
    let k = index.kpi(kpi);
    (0..k.kpi_values.len())
        .find(|i| !index.is_target(kpi, *i))
        .or((!k.kpi_values.is_empty()).then_some(0))
        .map(|i| (k.kpi_values[i].id, k.kpi_values[i].name.clone()))
}

fn number(n: &serde_json::Number) -> Option<f64> {
    n.as_f64().filter(|v| v.is_finite())
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

fn shown(v: f64) -> String {
    crate::plan::number(v).map_or_else(|| v.to_string(), |n| n.to_string())
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

/// Changed values, the largest (by factor, then difference) first.
fn changes(c: &Compared<'_>) -> (Vec<ChangeRow>, u64) {
    let mut all: Vec<ChangeRow> = Vec::new();
    for (r, (change, values)) in c.planned.iter().zip(&c.comparison.changes) {
        if *change != Change::Changed {
            continue;
        }
        for v in values {
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
            all.push(ChangeRow {
                kpi: c.index.kpi(r.kpi).name.clone(),
                team: c.index.team(r.team).name.clone(),
                date: r.key.date.to_string(),
                value: v.name.clone(),
                old: shown(old),
                new: shown(new),
                factor,
                size: size(old, new),
                rows: r
                    .rows
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let total = all.len() as u64;
    all.sort_by(|a, b| b.size.total_cmp(&a.size));
    all.truncate(CHANGES_SHOWN);
    (all, total)
}

#[derive(Serialize)]
struct Point {
    x: f64,
    y: f64,
    kind: &'static str,
    label: String,
}

#[derive(Serialize)]
struct Segment {
    x: f64,
    y1: f64,
    y2: f64,
}

#[derive(Serialize)]
struct Tick {
    at: f64,
    label: String,
}

#[derive(Serialize)]
struct Chart {
    kpi: String,
    value: String,
    width: f64,
    height: f64,
    plot_left: f64,
    plot_bottom: f64,
    points: Vec<Point>,
    segments: Vec<Segment>,
    y_ticks: Vec<Tick>,
    x_ticks: Vec<Tick>,
    new: u64,
    changed: u64,
    unchanged: u64,
    server_only: u64,
    drawn: usize,
    records: usize,
}

/// One chart per KPI: the file's values over the period (new, changed with old -> new,
/// unchanged) and the server's values in the same windows that the file does not touch.
fn charts(c: &Compared<'_>) -> Vec<Chart> {
    struct Acc {
        slot: uuid::Uuid,
        value: String,
        // (date, new, old, change, team)
        recs: Vec<(chrono::NaiveDate, f64, Option<f64>, Change, u32)>,
    }
    let mut per: BTreeMap<u32, Acc> = BTreeMap::new();
    for (r, (change, _)) in c.planned.iter().zip(&c.comparison.changes) {
        let Some((slot, value)) = main_slot(c.index, r.kpi) else {
            continue;
        };
        let acc = per.entry(r.kpi).or_insert_with(|| Acc {
            slot,
            value,
            recs: Vec::new(),
        });
        let Some(new) = r
            .values
            .iter()
            .find(|v| v.kpi_value_id == acc.slot)
            .and_then(|v| number(&v.value))
        else {
            continue;
        };
        let old = c
            .comparison
            .current
            .get(&r.key)
            .and_then(|vs| vs.iter().find(|v| v.kpi_value_id == acc.slot))
            .and_then(|v| number(&v.value));
        acc.recs.push((r.key.date, new, old, *change, r.team));
    }
    // The server's records read in the same windows and not in the file, by KPI (one pass).
    // Only the file's records the server holds are set aside: a set of every planned key
    // took 120 MB at 1M records.
    let current = &c.comparison.current;
    let held: std::collections::HashSet<&crate::api::RecordKey> = if current.is_empty() {
        Default::default()
    } else {
        c.planned
            .iter()
            .map(|r| &r.key)
            .filter(|k| current.contains_key(k))
            .collect()
    };
    let mut others: std::collections::HashMap<uuid::Uuid, Vec<_>> =
        std::collections::HashMap::new();
    for (k, vs) in current {
        if !held.contains(k) {
            others.entry(k.kpi).or_default().push((k.date, vs));
        }
    }
    let mut out = Vec::new();
    for (kpi, acc) in per {
        if acc.recs.is_empty() {
            continue;
        }
        let kpi_id = c.index.kpi(kpi).id;
        let mut server: Vec<(chrono::NaiveDate, f64)> = others
            .get(&kpi_id)
            .into_iter()
            .flatten()
            .filter_map(|(date, vs)| {
                vs.iter()
                    .find(|v| v.kpi_value_id == acc.slot)
                    .and_then(|v| number(&v.value))
                    .map(|v| (*date, v))
            })
            .collect();
        // In a fixed order (the map's is not), so the page is the same for the same data.
        server.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let dates = acc
            .recs
            .iter()
            .map(|r| r.0)
            .chain(server.iter().map(|s| s.0));
        let (Some(d0), Some(d1)) = (dates.clone().min(), dates.max()) else {
            continue;
        };
        let ys = acc
            .recs
            .iter()
            .flat_map(|r| std::iter::once(r.1).chain(r.2))
            .chain(server.iter().map(|s| s.1));
        let (mut y0, mut y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        if y0 == y1 {
            y0 -= 1.0;
            y1 += 1.0;
        }
        let span_days = (d1 - d0).num_days().max(1) as f64;
        let plot_w = CHART_W - PAD_L - 8.0;
        let plot_h = CHART_H - PAD_T - PAD_B;
        let x = |d: chrono::NaiveDate| PAD_L + (d - d0).num_days() as f64 / span_days * plot_w;
        let y = |v: f64| PAD_T + (1.0 - (v - y0) / (y1 - y0)) * plot_h;
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let total = acc.recs.len() + server.len();
        let step = total.div_ceil(CHART_POINTS).max(1);
        let mut chart = Chart {
            kpi: c.index.kpi(kpi).name.clone(),
            value: acc.value.clone(),
            width: CHART_W,
            height: CHART_H,
            plot_left: PAD_L,
            plot_bottom: CHART_H - PAD_B,
            points: Vec::new(),
            segments: Vec::new(),
            y_ticks: (0..=3)
                .map(|i| {
                    let v = y0 + (y1 - y0) * f64::from(i) / 3.0;
                    Tick {
                        at: round(y(v)),
                        label: shown((v * 100.0).round() / 100.0),
                    }
                })
                .collect(),
            x_ticks: vec![
                Tick {
                    at: round(x(d0)),
                    label: d0.to_string(),
                },
                Tick {
                    at: round(x(d1)),
                    label: d1.to_string(),
                },
            ],
            new: 0,
            changed: 0,
            unchanged: 0,
            server_only: server.len() as u64,
            drawn: 0,
            records: total,
        };
        for (i, (d, v)) in server.iter().enumerate() {
            if i % step == 0 {
                chart.points.push(Point {
                    x: round(x(*d)),
                    y: round(y(*v)),
                    kind: "server",
                    label: format!("{d}: {} on the server", shown(*v)),
                });
            }
        }
        for (i, (d, new, old, change, team)) in acc.recs.iter().enumerate() {
            let team = &c.index.team(*team).name;
            let kind = match change {
                Change::New => {
                    chart.new += 1;
                    "new"
                }
                Change::Changed => {
                    chart.changed += 1;
                    "changed"
                }
                Change::Unchanged => {
                    chart.unchanged += 1;
                    "unchanged"
                }
                Change::Unknown => "new",
            };
            // Changes are always drawn; the rest thinned to the point budget.
            if kind != "changed" && i % step != 0 {
                continue;
            }
            if let (Some(o), "changed") = (old, kind) {
                chart.segments.push(Segment {
                    x: round(x(*d)),
                    y1: round(y(*o)),
                    y2: round(y(*new)),
                });
            }
            let label = match (kind, old) {
                ("changed", Some(o)) => format!("{d} {team}: {} -> {}", shown(*o), shown(*new)),
                _ => format!("{d} {team}: {} ({kind})", shown(*new)),
            };
            chart.points.push(Point {
                x: round(x(*d)),
                y: round(y(*new)),
                kind,
                label,
            });
        }
        chart.drawn = chart.points.len();
        out.push(chart);
    }
    out
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

    #[test]
    fn a_hundredfold_change_sorts_above_a_large_small_one() {
        assert!(size(0.85, 85.0) > size(1000.0, 1900.0));
        assert!(size(10.0, 12.0) > size(10.0, 11.0));
        assert!(size(0.0, 5.0) > size(4.0, 5.0));
    }
}
