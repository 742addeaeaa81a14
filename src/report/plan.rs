//! The plan of a run: records and values per KPI and per team, date ranges, counts; as text
//! and as the `report.json` document (schema in docs/REPORT.md).

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use crate::api::RecordKey;
use crate::diag::Diagnostic;
use crate::validate::{Stats, Validated};

#[derive(Debug, Serialize)]
pub struct KpiPlan {
    pub kpi: String,
    pub interval: String,
    pub records: u64,
    pub values: u64,
    pub teams: u64,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
}

#[derive(Debug, Serialize)]
pub struct TeamPlan {
    pub team: String,
    pub records: u64,
    pub values: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_without_values: u64,
    pub records_planned: u64,
    pub values_planned: u64,
    pub duplicates_merged: u64,
    pub conflicts: u64,
    pub errors: u64,
    pub warnings: u64,
    /// Compared with the server (`--diff`, and every import).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_new: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_changed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_unchanged: Option<u64>,
    /// An import: acknowledged by the server in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_written: Option<u64>,
    /// An import: acknowledged in an earlier run of the same import (from the journal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_already_written: Option<u64>,
    /// An import: given up on, or not sent because the run stopped (all in failed.csv).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_failed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
}

/// A planned record, for `--format json` consumers and the upload stage.
#[derive(Debug, Serialize)]
pub struct PlannedRecord {
    #[serde(flatten)]
    pub key: RecordKey,
    pub kpi_name: String,
    pub team_name: String,
    pub values: Vec<PlannedValue>,
    pub rows: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub struct PlannedValue {
    pub name: String,
    pub value: f64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forecast: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    pub mapping: Option<String>,
    pub layout: String,
    pub mode: &'static str,
    pub summary: Summary,
    pub by_kpi: Vec<KpiPlan>,
    pub by_team: Vec<TeamPlan>,
    /// Diagnostics kept (at most 1000 of each kind and column); `diagnostic_counts` has all.
    pub diagnostics: Vec<DiagnosticOut>,
    pub diagnostic_counts: Vec<DiagnosticCount>,
    /// Every planned record with the rows it came from (only with `--records`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<PlannedRecord>>,
    /// Records that differ from the server (`--diff` and imports; the first 1000, all with
    /// `--records`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<ChangeOut>>,
    /// How the writing went (imports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadOut>,
}

/// A planned record that differs from the server's.
#[derive(Debug, Serialize)]
pub struct ChangeOut {
    #[serde(flatten)]
    pub key: RecordKey,
    pub kpi_name: String,
    pub team_name: String,
    pub change: crate::upload::Change,
    pub values: Vec<crate::upload::ValueChange>,
    pub rows: Vec<u64>,
}

/// The writing part of an import.
#[derive(Debug, Serialize)]
pub struct UploadOut {
    /// The import's id: `vsimport undo ID` reverts it.
    pub run: String,
    pub run_dir: String,
    pub journal: String,
    pub url: String,
    pub seconds: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    pub throttled: u64,
    pub concurrency: usize,
    pub min_concurrency: usize,
    /// Target values read from the server and sent back (`--keep-targets`).
    pub targets_kept: u64,
    /// CPU seconds vsimport spent while writing (Linux only): against `seconds`, how busy the
    /// client was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DiagnosticCount {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    pub count: usize,
}

/// A diagnostic as report.json has it: flat location fields.
#[derive(Debug, Serialize)]
pub struct DiagnosticOut {
    pub code: &'static str,
    pub severity: crate::diag::Severity,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    pub row: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

pub fn diagnostic_out(d: &Diagnostic, columns: &[String], first_column: u32) -> DiagnosticOut {
    DiagnosticOut {
        code: d.code,
        severity: d.severity,
        file: d.location.file.to_string(),
        sheet: d.location.sheet.as_deref().map(str::to_string),
        row: d.location.row,
        column: d.location.column,
        column_name: d
            .location
            .column
            .and_then(|c| columns.get(c.checked_sub(first_column)? as usize))
            .cloned(),
        cell: d.location.sheet.as_ref().and_then(|_| {
            d.location
                .column
                .map(|c| format!("{}{}", crate::diag::column_letters(c), d.location.row))
        }),
        message: d.message.clone(),
        help: d.help.clone(),
    }
}

fn summary(stats: &Stats, v: &Validated<'_>) -> Summary {
    Summary {
        rows_read: stats.rows_read,
        rows_rejected: stats.rows_rejected,
        rows_without_values: stats.rows_without_values,
        records_planned: v.records.len() as u64,
        values_planned: v.entries.len() as u64,
        duplicates_merged: stats.duplicates_merged,
        conflicts: stats.conflicts,
        errors: v.diags.count(crate::diag::Severity::Error) as u64,
        warnings: v.diags.count(crate::diag::Severity::Warning) as u64,
        records_new: None,
        records_changed: None,
        records_unchanged: None,
        records_written: None,
        records_already_written: None,
        records_failed: None,
        retries: None,
    }
}

pub struct Context<'a> {
    pub file: String,
    pub sheet: Option<String>,
    pub mapping: Option<String>,
    pub layout: &'a str,
    pub mode: &'static str,
    pub columns: &'a [String],
    pub first_column: u32,
}

pub fn report(v: &Validated<'_>, cx: &Context<'_>) -> Report {
    // Indexed by the catalog's KPI and team numbers: one array step per record; counted in
    // chunks on all cores and combined.
    use rayon::prelude::*;
    let n_teams = v.index.teams.len();
    let n_kpis = v.index.catalog.kpis.len();
    type PerKpi = (u64, u64, Vec<bool>, NaiveDate, NaiveDate);
    type Counts = (Vec<Option<PerKpi>>, Vec<(u64, u64)>);
    let empty = || -> Counts { (vec![None; n_kpis], vec![(0, 0); n_teams]) };
    let count = |chunk: &[std::ops::Range<usize>]| {
        let (mut kpis, mut teams) = empty();
        for r in chunk {
            let e = v.entries[r.start];
            let n = r.len() as u64;
            let k = kpis[e.kpi as usize]
                .get_or_insert_with(|| (0, 0, vec![false; n_teams], e.date, e.date));
            k.0 += 1;
            k.1 += n;
            k.2[e.team as usize] = true;
            k.3 = k.3.min(e.date);
            k.4 = k.4.max(e.date);
            let t = &mut teams[e.team as usize];
            t.0 += 1;
            t.1 += n;
        }
        (kpis, teams)
    };
    let (kpis, teams) =
        v.records
            .par_chunks(1 << 16)
            .map(count)
            .reduce(empty, |(mut ka, mut ta), (kb, tb)| {
                for (a, b) in ka.iter_mut().zip(kb) {
                    match (a.as_mut(), b) {
                        (_, None) => {}
                        (None, Some(b)) => *a = Some(b),
                        (Some(a), Some(b)) => {
                            a.0 += b.0;
                            a.1 += b.1;
                            for (x, y) in a.2.iter_mut().zip(b.2) {
                                *x |= y;
                            }
                            a.3 = a.3.min(b.3);
                            a.4 = a.4.max(b.4);
                        }
                    }
                }
                for (a, b) in ta.iter_mut().zip(tb) {
                    a.0 += b.0;
                    a.1 += b.1;
                }
                (ka, ta)
            });
    let by_kpi = kpis
        .into_iter()
        .enumerate()
        .filter_map(|(k, x)| x.map(|x| (k, x)))
        .map(|(k, (records, values, teams, first, last))| {
            let kpi = v.index.kpi(k as u32);
            KpiPlan {
                kpi: kpi.name.clone(),
                interval: kpi.kpi_value_time_reference.to_string(),
                records,
                values,
                teams: teams.iter().filter(|t| **t).count() as u64,
                first_date: first,
                last_date: last,
            }
        })
        .collect();
    let mut by_team: Vec<TeamPlan> = teams
        .into_iter()
        .enumerate()
        .filter(|(_, (records, _))| *records > 0)
        .map(|(t, (records, values))| TeamPlan {
            team: v.index.team(t as u32).name.clone(),
            records,
            values,
        })
        .collect();
    by_team.sort_by(|a, b| a.team.cmp(&b.team));
    Report {
        version: 1,
        file: cx.file.clone(),
        sheet: cx.sheet.clone(),
        mapping: cx.mapping.clone(),
        layout: cx.layout.to_string(),
        mode: cx.mode,
        summary: summary(&v.stats, v),
        by_kpi,
        by_team,
        diagnostics: v
            .diags
            .list
            .iter()
            .map(|d| diagnostic_out(d, cx.columns, cx.first_column))
            .collect(),
        diagnostic_counts: v
            .diags
            .groups
            .iter()
            .map(|((code, column), count)| DiagnosticCount {
                code,
                column: *column,
                count: *count,
            })
            .collect(),
        records: None,
        changes: None,
        upload: None,
    }
}

/// The planned records with names, for `--records` (the upload stage's records, named).
pub fn planned_records(v: &Validated<'_>) -> Vec<PlannedRecord> {
    crate::upload::items(v)
        .into_iter()
        .map(|it| {
            let kpi = v.index.kpi(it.kpi);
            PlannedRecord {
                key: it.key,
                kpi_name: kpi.name.clone(),
                team_name: v.index.team(it.team).name.clone(),
                values: it
                    .values
                    .iter()
                    .map(|x| PlannedValue {
                        name: kpi
                            .value(x.kpi_value_id)
                            .map_or_else(|| x.kpi_value_id.to_string(), |n| n.name.clone()),
                        value: x.value.as_f64().unwrap_or(f64::NAN),
                        forecast: x.forecast,
                    })
                    .collect(),
                rows: it.rows,
            }
        })
        .collect()
}

/// The plan as text: what will be written, per KPI and per team.
pub fn text(r: &Report) -> String {
    use super::thousands as t;
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
        "  rows: {} read, {} rejected{}",
        t(s.rows_read),
        t(s.rows_rejected),
        if s.rows_without_values > 0 {
            format!(", {} without values", t(s.rows_without_values))
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "  records: {} planned with {} values; {} duplicate values merged; {} conflicts",
        t(s.records_planned),
        t(s.values_planned),
        t(s.duplicates_merged),
        t(s.conflicts)
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
                "    {}{}  {:<5}  {:>9} records  {:>9} values  {} … {}  {} teams",
                k.kpi,
                " ".repeat(pad),
                k.interval,
                t(k.records),
                t(k.values),
                k.first_date,
                k.last_date,
                k.teams
            );
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
            let _ = writeln!(
                out,
                "    {}{}  {:>9} records  {:>9} values",
                k.team,
                " ".repeat(pad),
                t(k.records),
                t(k.values)
            );
        }
    }
    out
}

/// The comparison with the server as text: counts, then the changed records (old -> new).
pub fn diff_text(r: &Report, all: bool) -> String {
    use super::thousands as t;
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
            "    … and {} more changed records{}",
            t((total - shown) as u64),
            if all {
                ""
            } else {
                " (--notes lists them all; --format json has them)"
            }
        );
    }
    out
}
