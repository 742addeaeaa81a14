//! The report document of a run (`report.json`, `--format json`; schema in docs/REPORT.md):
//! what was read, planned, compared and written, per KPI and per team, and every diagnostic
//! kept. The text for people is made from it in [`super::text`].

use chrono::NaiveDate;
use serde::Serialize;

use crate::api::RecordKey;
use crate::catalog::CatalogIndex;
use crate::diag::Diagnostic;
use crate::findings::Findings;
use crate::plan::{Plan, Planned, PlannedRecord};
use crate::upload::compare::{Change, Comparison, ValueChange};
use crate::upload::engine::Outcome;
use crate::upload::write::Written;

#[derive(Debug, Serialize)]
pub(crate) struct KpiPlan {
    pub(crate) kpi: String,
    pub(crate) interval: String,
    /// What its values are: `time`, `percent-points`, `percent-fraction`, `percent` (scale
    /// as written), `number`, or `unknown` (the catalog gives no unit).
    pub(crate) unit: &'static str,
    /// The value slots taken as targets, and why (`mapping`, `catalog` or `names`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) targets_from: Option<crate::catalog::TargetsFrom>,
    pub(crate) records: u64,
    pub(crate) values: u64,
    pub(crate) teams: u64,
    pub(crate) first_date: NaiveDate,
    pub(crate) last_date: NaiveDate,
}

#[derive(Debug, Serialize)]
pub(crate) struct TeamPlan {
    pub(crate) team: String,
    pub(crate) records: u64,
    pub(crate) values: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_without_values: u64,
    /// Rows skipped by the mapping's `skip_rows_where`.
    pub rows_skipped: u64,
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
    /// An import: acknowledged in an earlier, interrupted run of the same import (from the
    /// journal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_already_written: Option<u64>,
    /// An import: given up on after the server refused them or did not answer (failed.csv).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_failed: Option<u64>,
    /// An import: never sent because the run stopped first (running it again sends them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_not_sent: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
}

/// A planned record with names, for `--records`.
#[derive(Debug, Serialize)]
pub(crate) struct RecordOut {
    #[serde(flatten)]
    pub(crate) key: RecordKey,
    pub(crate) kpi_name: String,
    pub(crate) team_name: String,
    pub(crate) values: Vec<ValueOut>,
    pub(crate) rows: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ValueOut {
    pub(crate) name: String,
    pub(crate) value: f64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) forecast: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub(crate) version: u32,
    pub(crate) file: String,
    /// SHA-256 of the input's bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sheet: Option<String>,
    pub(crate) mapping: Option<String>,
    pub(crate) layout: String,
    pub(crate) mode: &'static str,
    pub summary: Summary,
    pub(crate) by_kpi: Vec<KpiPlan>,
    pub(crate) by_team: Vec<TeamPlan>,
    /// Diagnostics kept (at most 1000 of each kind and column); `diagnostic_counts` has all.
    pub(crate) diagnostics: Vec<DiagnosticOut>,
    pub(crate) diagnostic_counts: Vec<DiagnosticCount>,
    /// Every planned record with the rows it came from (only with `--records`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) records: Option<Vec<RecordOut>>,
    /// Records that differ from the server (`--diff` and imports; the first 1000, all with
    /// `--records`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) changes: Option<Vec<ChangeOut>>,
    /// How the writing went (imports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) upload: Option<UploadOut>,
    /// Why the server's values were not read before writing (`--compare never`, or an answer
    /// that could not be read): nothing was skipped as unchanged, no targets were kept, and
    /// the import cannot be undone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) not_compared: Option<String>,
}

/// A planned record that differs from the server's.
#[derive(Debug, Serialize)]
pub(crate) struct ChangeOut {
    #[serde(flatten)]
    pub(crate) key: RecordKey,
    pub(crate) kpi_name: String,
    pub(crate) team_name: String,
    pub(crate) change: Change,
    pub(crate) values: Vec<ValueChange>,
    pub(crate) rows: Vec<u64>,
}

/// The writing part of an import.
#[derive(Debug, Serialize)]
pub(crate) struct UploadOut {
    /// The import's id: `vsimport undo ID` reverts it.
    pub(crate) run: String,
    pub(crate) run_dir: String,
    pub(crate) journal: String,
    pub(crate) url: String,
    /// This run finished an interrupted run of the same import.
    pub(crate) resumed: bool,
    pub(crate) seconds: f64,
    pub(crate) requests: u64,
    pub(crate) requests_per_second: f64,
    pub(crate) throttled: u64,
    pub(crate) concurrency: usize,
    pub(crate) min_concurrency: usize,
    /// Target values read from the server and sent back (`--keep-targets`).
    pub(crate) targets_kept: u64,
    /// CPU seconds vsimport spent while writing (Linux only): against `seconds`, how busy the
    /// client was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_seconds: Option<f64>,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stopped: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DiagnosticCount {
    pub(crate) code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<u32>,
    pub(crate) count: usize,
}

/// A diagnostic as report.json has it: flat location fields.
#[derive(Debug, Serialize)]
pub(crate) struct DiagnosticOut {
    pub(crate) code: &'static str,
    pub(crate) severity: crate::diag::Severity,
    pub(crate) file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sheet: Option<String>,
    pub(crate) row: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) column_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cell: Option<String>,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) help: Option<String>,
}

pub(crate) fn diagnostic_out(
    d: &Diagnostic,
    columns: &[String],
    first_column: u32,
) -> DiagnosticOut {
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

fn summary(f: &Findings, plan: &Plan) -> Summary {
    let stats = &f.stats;
    Summary {
        rows_read: stats.rows_read,
        rows_rejected: stats.rows_rejected,
        rows_without_values: stats.rows_without_values,
        rows_skipped: stats.rows_skipped,
        records_planned: plan.records.len() as u64,
        values_planned: plan.records.entries.len() as u64,
        duplicates_merged: stats.duplicates_merged,
        conflicts: stats.conflicts,
        errors: f.diags.count(crate::diag::Severity::Error) as u64,
        warnings: f.diags.count(crate::diag::Severity::Warning) as u64,
        records_new: None,
        records_changed: None,
        records_unchanged: None,
        records_written: None,
        records_already_written: None,
        records_failed: None,
        records_not_sent: None,
        retries: None,
    }
}

pub(crate) struct Context<'a> {
    pub(crate) file: String,
    pub(crate) sha256: Option<String>,
    pub(crate) sheet: Option<String>,
    pub(crate) mapping: Option<String>,
    pub(crate) layout: &'a str,
    pub(crate) mode: &'static str,
    pub(crate) columns: &'a [String],
    pub(crate) first_column: u32,
}

/// The document of a dry run: what was read and planned, and every diagnostic kept.
pub(crate) fn report(
    plan: &Plan,
    findings: &Findings,
    index: &CatalogIndex,
    cx: &Context<'_>,
) -> Report {
    // Counted in the plan's pass over the records.
    let (kpis, teams) = (&plan.tally.kpis, &plan.tally.teams);
    let by_kpi = kpis
        .iter()
        .enumerate()
        .filter_map(|(k, x)| x.as_ref().map(|x| (k, x)))
        .map(|(k, t)| {
            let kpi = index.kpi(k as u32);
            let (targets, from) = crate::plan::target_slots(index, k as u32);
            KpiPlan {
                kpi: kpi.name.clone(),
                interval: index.interval(k as u32).to_string(),
                unit: index.unit(k as u32).name(),
                targets_from: (!targets.is_empty()).then_some(from),
                targets,
                records: t.records,
                values: t.values,
                teams: t.teams.iter().filter(|t| **t).count() as u64,
                first_date: t.first,
                last_date: t.last,
            }
        })
        .collect();
    let mut by_team: Vec<TeamPlan> = teams
        .iter()
        .enumerate()
        .filter(|(_, (records, _))| *records > 0)
        .map(|(t, &(records, values))| TeamPlan {
            team: index.team(t as u32).name.clone(),
            records,
            values,
        })
        .collect();
    by_team.sort_by(|a, b| a.team.cmp(&b.team));
    Report {
        version: 1,
        file: cx.file.clone(),
        sha256: cx.sha256.clone(),
        sheet: cx.sheet.clone(),
        mapping: cx.mapping.clone(),
        layout: cx.layout.to_string(),
        mode: cx.mode,
        summary: summary(findings, plan),
        by_kpi,
        by_team,
        diagnostics: findings
            .diags
            .list
            .iter()
            .map(|d| diagnostic_out(d, cx.columns, cx.first_column))
            .collect(),
        diagnostic_counts: findings
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
        not_compared: None,
    }
}

/// The planned records with names, for `--records`.
pub(crate) fn planned_records(records: &Planned, index: &CatalogIndex) -> Vec<RecordOut> {
    records
        .iter()
        .map(|r| {
            let kpi = index.kpi(r.kpi);
            RecordOut {
                key: r.key,
                kpi_name: kpi.name.clone(),
                team_name: index.team(r.team).name.clone(),
                values: r
                    .values
                    .iter()
                    .map(|x| ValueOut {
                        name: kpi
                            .value(x.kpi_value_id)
                            .map_or_else(|| x.kpi_value_id.to_string(), |n| n.name.clone()),
                        value: x.value.as_f64().unwrap_or(f64::NAN),
                        forecast: x.forecast,
                    })
                    .collect(),
                rows: r.rows,
            }
        })
        .collect()
}

impl Report {
    /// Adds the comparison with the server (`--diff`, and every import).
    pub(crate) fn compared(
        &mut self,
        records: &Planned,
        cmp: &Comparison,
        index: &CatalogIndex,
        all: bool,
    ) {
        if let Some(why) = &cmp.skipped {
            self.not_compared = Some(why.clone());
            return;
        }
        self.summary.records_new = Some(cmp.count(Change::New));
        self.summary.records_changed = Some(cmp.count(Change::Changed));
        self.summary.records_unchanged = Some(cmp.count(Change::Unchanged));
        let limit = if all { usize::MAX } else { 1000 };
        self.changes = Some(
            cmp.changed(index, records)
                .take(limit)
                .map(|(i, values)| {
                    let r = records.get(i);
                    ChangeOut {
                        key: r.key,
                        kpi_name: index.kpi(r.kpi).name.clone(),
                        team_name: index.team(r.team).name.clone(),
                        change: Change::Changed,
                        values,
                        rows: r.rows,
                    }
                })
                .collect(),
        );
    }

    /// Adds what the writing did (imports).
    pub(crate) fn written(&mut self, w: &Written) {
        self.mode = "import";
        let s = &mut self.summary;
        s.records_written = Some(w.written);
        s.records_already_written = Some(w.already);
        s.records_failed = Some(w.failed);
        s.records_not_sent = Some(w.not_sent);
        s.retries = Some(w.sent.tally.retries);
        // Unchanged = not sent because the server already held these values.
        s.records_unchanged = Some(w.unchanged);
        let secs = w.sent.elapsed.as_secs_f64();
        self.upload = Some(UploadOut {
            run: w.run.clone(),
            run_dir: w.run_dir.display().to_string(),
            journal: w.journal.display().to_string(),
            url: w.url.clone(),
            resumed: w.resumed.is_some(),
            seconds: (secs * 1000.0).round() / 1000.0,
            requests: w.sent.tally.requests,
            requests_per_second: if secs > 0.0 {
                (w.sent.tally.requests as f64 / secs).round()
            } else {
                0.0
            },
            throttled: w.sent.tally.throttled,
            concurrency: w.concurrency,
            min_concurrency: w.sent.min_concurrency,
            targets_kept: w.targets_kept,
            cpu_seconds: w.sent.cpu.map(|c| c.as_secs_f64()),
            stopped: w.sent.stopped.clone(),
        });
    }
}

/// A record that was not written (failed or not sent), for failed.csv.
pub(crate) struct Unwritten {
    pub(crate) record: PlannedRecord,
    pub(crate) status: Option<u16>,
    pub(crate) message: String,
}

/// The records of `w` that were not written.
pub(crate) fn unwritten(records: &Planned, w: &Written) -> Vec<Unwritten> {
    w.unwritten()
        .filter_map(|(i, o)| {
            let (status, message) = match o {
                Outcome::Done { .. } => return None,
                Outcome::Failed {
                    status,
                    message,
                    attempts,
                } => (
                    status,
                    if attempts > 1 {
                        format!("{message} (after {attempts} attempts)")
                    } else {
                        message
                    },
                ),
                Outcome::NotSent { reason } => (None, format!("not sent: {reason}")),
            };
            Some(Unwritten {
                record: records.get(i),
                status,
                message,
            })
        })
        .collect()
}
