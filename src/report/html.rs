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
use crate::plan::Planned;
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
    pub(crate) planned: &'a Planned,
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
    let order = |a: &(f64, u32, u16), b: &(f64, u32, u16)| {
        b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2)))
    };
    if all.len() > CHANGES_SHOWN {
        all.select_nth_unstable_by(CHANGES_SHOWN, order);
        all.truncate(CHANGES_SHOWN);
    }
    all.sort_unstable_by(order);
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
///
/// Two passes over the planned records, each made again from the plan's entries: the first
/// finds each KPI's date and value ranges, the second draws (holding every record's point
/// until drawing took 160 MB at 2M records, at the end of an import).
fn charts(c: &Compared<'_>) -> Vec<Chart> {
    struct Acc {
        slot: uuid::Uuid,
        value: String,
        records: usize,
        changed: usize,
        dates: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
        ys: (f64, f64),
    }
    // The main value of planned record `i` (of KPI `kpi`), and the server's, if kept.
    let values = |i: usize, slot: uuid::Uuid| {
        let new = c.planned.value(i, slot)?;
        let old = c
            .comparison
            .before(i)
            .and_then(|vs| vs.iter().find(|v| v.kpi_value_id == slot))
            .and_then(|v| number(&v.value));
        Some((new, old))
    };
    let mut slots: BTreeMap<u32, Option<(uuid::Uuid, String)>> = BTreeMap::new();
    let mut per: BTreeMap<u32, Acc> = BTreeMap::new();
    for i in 0..c.planned.len() {
        let kpi = c.planned.kpi(i);
        let Some((slot, value)) = slots
            .entry(kpi)
            .or_insert_with(|| main_slot(c.index, kpi))
            .clone()
        else {
            continue;
        };
        let acc = per.entry(kpi).or_insert_with(|| Acc {
            slot,
            value,
            records: 0,
            changed: 0,
            dates: None,
            ys: (f64::MAX, f64::MIN),
        });
        let Some((new, old)) = values(i, slot) else {
            continue;
        };
        let date = c.planned.head(i).date;
        acc.records += 1;
        acc.changed += usize::from(c.comparison.change(i) == Change::Changed);
        acc.dates = Some(
            acc.dates
                .map_or((date, date), |(a, b)| (a.min(date), b.max(date))),
        );
        for v in std::iter::once(new).chain(old) {
            acc.ys = (acc.ys.0.min(v), acc.ys.1.max(v));
        }
    }
    // The server's records read in the same windows and not in the file, by KPI.
    let mut others: std::collections::HashMap<uuid::Uuid, Vec<_>> =
        std::collections::HashMap::new();
    for (k, vs) in &c.comparison.others {
        others.entry(k.kpi).or_default().push((k.date, vs));
    }
    // Per KPI: the chart with the server's points, the scales, the thinning step, and how
    // many of its records were drawn over.
    struct Drawing {
        chart: Chart,
        slot: uuid::Uuid,
        d0: chrono::NaiveDate,
        span_days: f64,
        y0: f64,
        y1: f64,
        step: usize,
        seen: usize,
        changed_step: usize,
        changed_seen: usize,
    }
    let plot_w = CHART_W - PAD_L - 8.0;
    let plot_h = CHART_H - PAD_T - PAD_B;
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let at_x = |d: &Drawing, day: chrono::NaiveDate| {
        PAD_L + (day - d.d0).num_days() as f64 / d.span_days * plot_w
    };
    let at_y = |d: &Drawing, v: f64| PAD_T + (1.0 - (v - d.y0) / (d.y1 - d.y0)) * plot_h;
    let mut drawings: BTreeMap<u32, Drawing> = BTreeMap::new();
    for (kpi, acc) in per {
        let Some((f0, f1)) = acc.dates else {
            continue;
        };
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
        let d0 = server.iter().map(|s| s.0).fold(f0, Ord::min);
        let d1 = server.iter().map(|s| s.0).fold(f1, Ord::max);
        let (mut y0, mut y1) = server
            .iter()
            .fold(acc.ys, |(a, b), s| (a.min(s.1), b.max(s.1)));
        if y0 == y1 {
            y0 -= 1.0;
            y1 += 1.0;
        }
        let total = acc.records + server.len();
        let mut d = Drawing {
            chart: Chart {
                kpi: c.index.kpi(kpi).name.clone(),
                value: acc.value.clone(),
                width: CHART_W,
                height: CHART_H,
                plot_left: PAD_L,
                plot_bottom: CHART_H - PAD_B,
                points: Vec::new(),
                segments: Vec::new(),
                y_ticks: Vec::new(),
                x_ticks: Vec::new(),
                new: 0,
                changed: 0,
                unchanged: 0,
                server_only: server.len() as u64,
                drawn: 0,
                records: total,
            },
            slot: acc.slot,
            d0,
            span_days: (d1 - d0).num_days().max(1) as f64,
            y0,
            y1,
            step: total.div_ceil(CHART_POINTS).max(1),
            seen: 0,
            changed_step: acc.changed.div_ceil(CHART_POINTS).max(1),
            changed_seen: 0,
        };
        d.chart.y_ticks = (0..=3)
            .map(|i| {
                let v = y0 + (y1 - y0) * f64::from(i) / 3.0;
                Tick {
                    at: round(at_y(&d, v)),
                    label: shown((v * 100.0).round() / 100.0),
                }
            })
            .collect();
        d.chart.x_ticks = vec![
            Tick {
                at: round(at_x(&d, d0)),
                label: d0.to_string(),
            },
            Tick {
                at: round(at_x(&d, d1)),
                label: d1.to_string(),
            },
        ];
        for (i, (day, v)) in server.iter().enumerate() {
            if i % d.step == 0 {
                let point = Point {
                    x: round(at_x(&d, *day)),
                    y: round(at_y(&d, *v)),
                    kind: "server",
                    label: format!("{day}: {} on the server", shown(*v)),
                };
                d.chart.points.push(point);
            }
        }
        drawings.insert(kpi, d);
    }
    for i in 0..c.planned.len() {
        let Some(d) = drawings.get_mut(&c.planned.kpi(i)) else {
            continue;
        };
        let Some((new, old)) = values(i, d.slot) else {
            continue;
        };
        let head = c.planned.head(i);
        let (day, team) = (head.date, &c.index.team(head.team).name);
        let seen = d.seen;
        d.seen += 1;
        let kind = match c.comparison.change(i) {
            Change::New => {
                d.chart.new += 1;
                "new"
            }
            Change::Changed => {
                d.chart.changed += 1;
                "changed"
            }
            Change::Unchanged => {
                d.chart.unchanged += 1;
                "unchanged"
            }
            Change::Unknown => "new",
        };
        // Changes are drawn up to a budget of their own (every one, unless there are more
        // than that); the rest thinned to the point budget.
        let drawn = if kind == "changed" {
            d.changed_seen += 1;
            (d.changed_seen - 1) % d.changed_step == 0
        } else {
            seen % d.step == 0
        };
        if !drawn {
            continue;
        }
        if let (Some(o), "changed") = (old, kind) {
            let segment = Segment {
                x: round(at_x(d, day)),
                y1: round(at_y(d, o)),
                y2: round(at_y(d, new)),
            };
            d.chart.segments.push(segment);
        }
        let label = match (kind, old) {
            ("changed", Some(o)) => format!("{day} {team}: {} -> {}", shown(o), shown(new)),
            _ => format!("{day} {team}: {} ({kind})", shown(new)),
        };
        let point = Point {
            x: round(at_x(d, day)),
            y: round(at_y(d, new)),
            kind,
            label,
        };
        d.chart.points.push(point);
    }
    drawings
        .into_values()
        .map(|mut d| {
            d.chart.drawn = d.chart.points.len();
            d.chart
        })
        .collect()
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
