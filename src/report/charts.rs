//! The charts of report.html: one per KPI, the file's values over the period (new,
//! changed with old -> new, unchanged) and the server's values in the same windows that the
//! file does not touch, thinned to a budget of points.
//!
//! In: the planned records with their [`Comparison`] ([`Compared`]). Out: a [`Chart`] per
//! KPI, for the page's template.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::CatalogIndex;
use crate::plan::Planned;
use crate::upload::compare::{Change, Comparison};

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

/// The value a chart and the change list show for a KPI: its first slot that is not a target.
fn main_slot(index: &CatalogIndex, kpi: u32) -> Option<(uuid::Uuid, String)> {
    let k = index.kpi(kpi);
    (0..k.kpi_values.len())
        .find(|i| !index.is_target(kpi, *i))
        .or((!k.kpi_values.is_empty()).then_some(0))
        .map(|i| (k.kpi_values[i].id, k.kpi_values[i].name.clone()))
}

pub(super) fn number(n: &serde_json::Number) -> Option<f64> {
    n.as_f64().filter(|v| v.is_finite())
}

pub(super) fn shown(v: f64) -> String {
    crate::plan::number(v).map_or_else(|| v.to_string(), |n| n.to_string())
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
pub(super) struct Chart {
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
pub(super) fn charts(c: &Compared<'_>) -> Vec<Chart> {
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
