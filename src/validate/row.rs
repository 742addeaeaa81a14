//! One row through the mapping: its date, team, KPI(s), sub-tile and values resolved and
//! checked, its entries planned — or the row rejected with a diagnostic at each bad cell.

use std::borrow::Cow;

use chrono::NaiveDate;

use super::Validator;
use super::evidence::{
    PendingDate, PendingNumber, check_integer, decimal_evidence, slash_evidence,
};
use super::lookup::{CellProblem, name_text};
use crate::catalog::{Scale, Unit};
use crate::diag::{Problem, Severity};
use crate::findings::RejectedRow;
use crate::map::{ColumnPlan, Field, Layout};
use crate::normalize::{
    self, DateParse, DayOrder, Decimal, NumParse, parse_date, parse_number_seen, parse_time,
};
use crate::read::{Cell, Row};
use crate::record::{Entry, NO_SUB_TILE};

fn date_in_range(p: &DateParse, years: &std::ops::RangeInclusive<i32>) -> bool {
    match p {
        DateParse::Date { date, .. } => years.contains(&chrono::Datelike::year(date)),
        DateParse::Slash { year, .. } => years.contains(year),
    }
}

/// An ambiguous number: (column, its reading with a decimal comma, its text), boxed: it is
/// rare, and every value carries the field.
type Ambiguity = Option<Box<(usize, f64, String)>>;

/// One value cell, read.
struct Value {
    value: f64,
    ambiguous: Ambiguity,
    /// The cell was written with a percent sign (`85%`).
    percent_sign: bool,
}

/// `v / 100`, rounded as the decimal text would be (`57.99` becomes `0.5799`, not
/// `0.5799000000000001`).
fn hundredth(v: f64) -> f64 {
    format!("{v}e-2").parse().unwrap_or(v / 100.0)
}

/// What to do about a cell whose bytes are not text in the encoding the file was read in.
const NOT_TEXT_HELP: &str = "the file is not all in the encoding it was read in (see `vsimport inspect FILE`): export it again as UTF-8, or pass --encoding with the right one (e.g. --encoding windows-1252)";

impl Validator<'_> {
    pub(crate) fn row(&mut self, row: &Row<'_>) {
        let Some(plan) = self.plan.take() else {
            return;
        };
        self.row_with(&plan, row);
        self.plan = Some(plan);
    }

    fn row_with(&mut self, plan: &ColumnPlan, row: &Row<'_>) {
        self.findings.stats.rows_read += 1;
        for (col, rule) in &plan.skip {
            if let Cell::Text(t) = row.cell(*col)
                && rule.0.is_match(t)
            {
                self.findings.stats.rows_skipped += 1;
                if self.first_skipped.is_none() {
                    self.first_skipped = Some((row.number, *col, t.to_string()));
                }
                return;
            }
        }
        let mut problems: Vec<CellProblem> = Vec::new();
        let first_entry = self.entries.len();

        // Date.
        let (date_cell, date_col, date_const) = self.cell(row, &plan.date);
        // Exports repeat a date on many rows in a row: the last plain date text is remembered.
        let repeated = match (&date_const, &date_cell) {
            (None, Cell::Text(t)) if *t == self.last_date.0 => Some(self.last_date.1),
            _ => None,
        };
        let parsed = match (&date_const, repeated) {
            (_, Some(d)) => Ok(DateParse::Date {
                date: d,
                had_time: false,
            }),
            (Some(c), None) => normalize::parse_date_text(c, &self.dates),
            (None, None) => parse_date(&date_cell, &self.dates),
        };
        if repeated.is_none()
            && date_const.is_none()
            && let (
                Cell::Text(t),
                Ok(DateParse::Date {
                    date: d,
                    had_time: false,
                }),
            ) = (&date_cell, &parsed)
        {
            self.last_date.0.clear();
            self.last_date.0.push_str(t);
            self.last_date.1 = *d;
        }
        let mut date = NaiveDate::MIN;
        let mut pending: Option<(u32, u32, i32, String)> = None;
        match parsed {
            Ok(p) if !date_in_range(&p, &self.dates.years) => {
                problems.push(CellProblem {
                    col: date_col,
                    problem: Problem {
                        code: "vsimport::date::out_of_range",
                        message: format!(
                            "{} is outside the years {}..{} a KPI record can have ({})",
                            date_cell.display(),
                            self.dates.years.start(),
                            self.dates.years.end(),
                            self.column_name(date_col)
                        ),
                        help: Some(
                            "a year like 0000 or 9999 is a placeholder or a typo in the export: fix the cell; [source] years = [FROM, TO] in the mapping allows other years".into(),
                        ),
                    },
                });
            }
            Ok(DateParse::Date { date: d, had_time }) => {
                date = d;
                if had_time {
                    let p = Problem {
                        code: "vsimport::date::time_dropped",
                        message: format!(
                            "{} has a time of day; only the date {d} is used",
                            date_cell.display()
                        ),
                        help: Some("records are per day: the time part is dropped".into()),
                    };
                    self.diag(row, date_col, Severity::Warning, &p);
                }
                // A repeated date text was looked at when it first came.
                if repeated.is_none()
                    && self.dates.order.is_none()
                    && self.dates.format.is_none()
                    && let Cell::Text(t) = date_cell
                {
                    match slash_evidence(t) {
                        Some(DayOrder::DayFirst) if self.day_first_seen.is_none() => {
                            self.day_first_seen = Some((row.number, t.to_string()))
                        }
                        Some(DayOrder::MonthFirst) if self.month_first_seen.is_none() => {
                            self.month_first_seen = Some((row.number, t.to_string()))
                        }
                        _ => {}
                    }
                }
            }
            Ok(DateParse::Slash { a, b, year }) => {
                pending = Some((a, b, year, date_cell.display()));
            }
            Err(e) => problems.push(CellProblem {
                col: date_col,
                problem: Problem {
                    code: "vsimport::date::invalid",
                    message: format!("{e} ({})", self.column_name(date_col)),
                    help: Some(
                        "write dates as 2025-01-31, 31.01.2025 or 31/01/2025, or set date_format in [source] (e.g. \"%d.%m.%Y\")"
                            .into(),
                    ),
                },
            }),
        }

        // Team.
        let team = match self.const_team {
            Some(t) => Some(t),
            None => self.named(row, &plan.team, "team", &mut problems, (0, Self::team_of)),
        };

        // KPI(s) and values: (KPI, slot, forecast, column).
        let mut wanted = std::mem::take(&mut self.wanted);
        wanted.clear();
        let row_kpi = match (&plan.kpi, self.const_kpi) {
            (_, Some(k)) => Some(k),
            (Some(f), None) => self.named(row, f, "KPI", &mut problems, (1, Self::kpi_of)),
            (None, None) => None,
        };
        match &plan.layout {
            Layout::Long { value_name, amount } => {
                if let Some(k) = row_kpi {
                    let (c, col, constant) = self.cell(row, value_name);
                    let name = match constant {
                        Some(v) => Ok(Cow::Owned(v)),
                        None => name_text(&c),
                    };
                    match name {
                        Ok(n) => match self.long_slot_of(k, &n) {
                            // An unknown value name is the name cell's problem (when there
                            // is an amount to file under it).
                            Err(p) if !row.cell_is_empty(*amount) => {
                                problems.push(CellProblem { col, problem: p });
                            }
                            slot => wanted.push((k, slot.map_err(Box::new), false, *amount)),
                        },
                        Err(e) => problems.push(self.name_problem(col, "value name", e)),
                    }
                }
            }
            Layout::SemiWide { values } => {
                if let Some(k) = row_kpi {
                    for (i, (col, target)) in values.iter().enumerate() {
                        if row.cell_is_empty(*col) {
                            continue;
                        }
                        let slot = self.slot_of(k, i, target).map_err(Box::new);
                        wanted.push((k, slot, target.forecast, *col));
                    }
                }
            }
            // A wide row's values are the same columns every row: read from the list as
            // they are, not copied into `wanted` first (a push and a take a value).
            Layout::Wide { .. } => {}
        }
        let wide = std::mem::take(&mut self.wide_kpis);
        let values = wanted.drain(..).chain(
            wide.iter()
                .map(|&(col, k, slot, forecast)| (k, Ok(slot), forecast, col)),
        );

        // Sub-tile, per KPI; each value's entry written as it is read (taken back below when
        // the row is rejected or names no team).
        let sub_field = &plan.sub_tile;
        let first_number = self.pending_numbers.len();
        let mut snap_needed = false;
        let mut checked_kpis = std::mem::take(&mut self.checked_kpis);
        self.row_stamp = self.row_stamp.wrapping_add(1);
        if self.row_stamp == 0 {
            checked_kpis.fill((0, 0));
            self.row_stamp = 1;
        }
        let stamp = self.row_stamp;
        for (k, slot, forecast, col) in values {
            let cell = row.cell(col);
            if cell.is_empty() {
                continue; // empty means "no value", not 0
            }
            if self.means_no_value(&cell) {
                self.empty_hits.0 += 1;
                if self.empty_hits.1.is_none() {
                    self.empty_hits.1 = Some((row.number, col, cell.display()));
                }
                continue;
            }
            let seen = checked_kpis.get(k as usize).copied();
            let sub = match seen {
                Some((at, s)) if at == stamp => s,
                _ => {
                    let kpi = self.index.kpi(k);
                    let has_tiles = !kpi.sub_tiles.is_empty();
                    let unread = self.index.unread_sub_tiles[k as usize].as_ref();
                    if let Some(field) = unread {
                        problems.push(CellProblem {
                            col: None,
                            problem: Problem {
                                code: "vsimport::catalog::sub_tiles_unread",
                                message: format!(
                                    "KPI {:?} has a list {field:?} in its details that may be its sub-tiles; without knowing, a record could be filed under the KPI instead of a sub-tile",
                                    kpi.name
                                ),
                                help: Some(format!(
                                    "if {field:?} lists the sub-tiles, set sub_tiles_field = {field:?} in the config file (or pass --sub-tiles-field {field})"
                                )),
                            },
                        });
                    }
                    let s = match &sub_field {
                        // The sub-tiles are not known: nothing more to say about the cell.
                        _ if unread.is_some() => NO_SUB_TILE,
                        None if has_tiles => {
                            problems.push(CellProblem {
                                col: None,
                                problem: Problem {
                                    code: "vsimport::catalog::sub_tile_missing",
                                    message: format!("KPI {:?} has sub-tiles, and the row names none", kpi.name),
                                    help: Some(format!(
                                        "map a sub_tile column (or constant); the sub-tiles are: {}",
                                        kpi.sub_tiles.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                                    )),
                                },
                            });
                            NO_SUB_TILE
                        }
                        None => NO_SUB_TILE,
                        Some(f) => {
                            let (c, scol, constant) = self.cell(row, f);
                            let text = match constant {
                                Some(v) => Ok(Cow::Owned(v)),
                                None => name_text(&c),
                            };
                            match text {
                                Ok(n) => match self.sub_tile_of(k, &n) {
                                    Ok(s) => s,
                                    Err(p) => {
                                        problems.push(CellProblem {
                                            col: scol,
                                            problem: p,
                                        });
                                        NO_SUB_TILE
                                    }
                                },
                                Err(_) if !has_tiles => NO_SUB_TILE,
                                Err(e) => {
                                    problems.push(self.name_problem(scol, "sub-tile", e));
                                    NO_SUB_TILE
                                }
                            }
                        }
                    };
                    let at = k as usize;
                    if checked_kpis.len() <= at {
                        checked_kpis.resize(at + 1, (0, 0));
                    }
                    checked_kpis[at] = (stamp, s);
                    if let Some(t) = team
                        && let Err(p) = self.index.check_recording(k, t)
                    {
                        let col = match &plan.team {
                            Field::Column(c) => Some(*c),
                            Field::Const(_) => None,
                        };
                        problems.push(CellProblem { col, problem: p });
                    }
                    s
                }
            };
            let slot = match slot {
                Ok(s) => s,
                Err(p) => {
                    problems.push(CellProblem {
                        col: Some(col),
                        problem: *p,
                    });
                    continue;
                }
            };
            match self.value(k, &cell, col, row) {
                Ok(Value {
                    value,
                    ambiguous,
                    percent_sign,
                }) => {
                    if let Some((col, comma, text)) = ambiguous.map(|a| *a) {
                        self.pending_numbers.push(PendingNumber {
                            entry: self.entries.len(),
                            comma,
                            byte: row.byte,
                            col,
                            text,
                        });
                    }
                    snap_needed |= self.index.snaps[k as usize];
                    let seq = self.entries.len() - first_entry;
                    self.entries.push(Entry {
                        kpi: k,
                        date,
                        team: team.unwrap_or(0),
                        sub_tile: sub,
                        slot,
                        forecast,
                        percent_sign,
                        value,
                        row: u32::try_from(row.number).unwrap_or(u32::MAX),
                        seq: u16::try_from(seq).unwrap_or(u16::MAX),
                    });
                }
                Err(p) => problems.push(CellProblem {
                    col: Some(col),
                    problem: p,
                }),
            }
        }

        self.wanted = wanted;
        self.wide_kpis = wide;
        self.checked_kpis = checked_kpis;
        if !problems.is_empty() || team.is_none() {
            self.entries.truncate(first_entry);
            self.pending_numbers.truncate(first_number);
            if !problems.is_empty() {
                self.reject(row, problems);
            }
            return;
        }
        if self.entries.len() == first_entry {
            self.findings.stats.rows_without_values += 1;
            let p = Problem {
                code: "vsimport::row::no_values",
                message: "the row has no values: nothing is planned from it".into(),
                help: Some("empty cells mean \"no value\"; write 0 where 0 is meant".into()),
            };
            self.diag(row, None, Severity::Warning, &p);
            return;
        }
        self.snap_needed |= snap_needed;
        if let Some((a, b, year, text)) = pending {
            self.pending_dates.push(PendingDate {
                entries: first_entry..self.entries.len(),
                a,
                b,
                year,
                row: row.number,
                byte: row.byte,
                col: date_col,
                text,
            });
        }
    }

    /// Parses and checks one value cell for KPI `k`: the number to send, whether it is
    /// ambiguous, and whether the cell carried a percent sign.
    fn value(
        &mut self,
        k: u32,
        cell: &Cell<'_>,
        col: usize,
        row: &Row<'_>,
    ) -> Result<Value, Problem> {
        let unit = self.index.unit(k);
        let kpi = self.index.kpi(k);
        if matches!(unit, Unit::Time) {
            let m = parse_time(cell, &self.time_format).map_err(|e| Problem {
                code: "vsimport::time::invalid",
                message: format!("KPI {:?} takes a time of day: {e}", kpi.name),
                help: Some(crate::normalize::TIME_HELP.into()),
            })?;
            if m.dropped_seconds {
                let p = Problem {
                    code: "vsimport::time::seconds_dropped",
                    message: format!(
                        "{} has seconds; Time KPIs take whole minutes",
                        cell.display()
                    ),
                    help: Some("the seconds are dropped".into()),
                };
                self.diag(row, Some(col), Severity::Warning, &p);
            }
            return Ok(Value {
                value: f64::from(m.minutes),
                ambiguous: None,
                percent_sign: false,
            });
        }
        let (parsed, separator) = parse_number_seen(cell, self.decimal);
        let parsed = parsed.map_err(|e| {
            let looks_like_time = parse_time(cell, &crate::normalize::TimeFormat::Clock).is_ok();
            Problem {
                code: "vsimport::number::invalid",
                message: format!("{e} (KPI {:?})", kpi.name),
                help: Some(match (self.decimal, unit, looks_like_time) {
                    (_, Unit::Unknown, true) => format!(
                        "the catalog gives no unit for {:?}; if it takes times of day, say so in the mapping: [kpi.{:?}] unit = \"time\"",
                        kpi.name, kpi.name
                    ),
                    (Some(_), ..) => "check the decimal setting in [source]".to_string(),
                    (None, ..) => {
                        "write numbers as 85.5 or 85,5; set decimal in [source] if the file mixes them"
                            .to_string()
                    }
                }),
            }
        })?;
        let mut percent_sign = false;
        if let Cell::Text(t) = cell {
            // Evidence is kept once of each kind: a text without the separator still unseen
            // can add nothing (a text of digits, the common case, shows neither). Where the
            // number's reading saw its one separator, the text needs no second look.
            let unseen = |seen: &Option<(u64, String)>, sep: u8| {
                seen.is_none()
                    && match separator {
                        Some(found) => found == sep,
                        None => t.as_bytes().contains(&sep),
                    }
            };
            if self.decimal.is_none()
                && (unseen(&self.comma_seen, b',') || unseen(&self.point_seen, b'.'))
            {
                match decimal_evidence(t) {
                    Some(Decimal::Comma) if self.comma_seen.is_none() => {
                        self.comma_seen = Some((row.number, t.to_string()))
                    }
                    Some(Decimal::Point) if self.point_seen.is_none() => {
                        self.point_seen = Some((row.number, t.to_string()))
                    }
                    _ => {}
                }
            }
            // Most values end in a digit: only a last byte of `%` or a space needs a look.
            percent_sign =
                t.as_bytes().last().is_some_and(|b| {
                    !b.is_ascii_digit() && (*b == b'%' || !b.is_ascii_alphanumeric())
                }) && t.trim_end().ends_with('%');
            if percent_sign && unit == Unit::Number {
                let p = Problem {
                    code: "vsimport::number::percent",
                    message: format!(
                        "{:?} has a percent sign, but KPI {:?} is measured in {}",
                        t.trim(),
                        kpi.name,
                        kpi.unit.as_deref().unwrap_or("no unit")
                    ),
                    help: Some(format!(
                        "the number is used without the sign; if the KPI is a percentage, declare it in the mapping: [kpi.{:?}] unit = \"percent-points\" (85) or \"percent-fraction\" (0.85)",
                        kpi.name
                    )),
                };
                self.diag(row, Some(col), Severity::Warning, &p);
            }
        }
        // A percent sign is a scale of its own: 85% is 0.85 where the KPI takes fractions.
        let fraction = percent_sign && unit == Unit::Percent(Some(Scale::Fraction));
        if percent_sign {
            let k = k as usize;
            if self.first_percent.len() <= k {
                self.first_percent.resize(k + 1, None);
            }
            if self.first_percent[k].is_none() {
                self.first_percent[k] = Some((row.number, col, cell.display()));
            }
        }
        match parsed {
            NumParse::Number(v) => {
                let v = if fraction { hundredth(v) } else { v };
                check_integer(kpi, v)?;
                Ok(Value {
                    value: v,
                    ambiguous: None,
                    percent_sign,
                })
            }
            NumParse::Ambiguous { point, comma } => {
                let (point, comma) = if fraction {
                    (hundredth(point), hundredth(comma))
                } else {
                    (point, comma)
                };
                Ok(Value {
                    value: point,
                    ambiguous: Some(Box::new((col, comma, cell.display()))),
                    percent_sign,
                })
            }
        }
    }

    /// Whether a value cell holds one of the texts that mean "no value".
    fn means_no_value(&self, cell: &Cell<'_>) -> bool {
        let text = match cell {
            // Plain numbers, the common case, are never one (and need no trimming).
            Cell::Text(t) if t.as_bytes().first().is_some_and(u8::is_ascii_digit) => {
                return false;
            }
            Cell::Text(t) => t.trim(),
            Cell::Error(e) => e,
            _ => return false,
        };
        if text.len() > 32 || text.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            return false;
        }
        let lower = text.to_lowercase();
        self.empty_values.contains(&lower)
    }

    /// Rejects the row, keeping its cells (for rejected.csv) and a diagnostic per problem.
    fn reject(&mut self, row: &Row<'_>, problems: Vec<CellProblem>) {
        let mut reasons = Vec::new();
        for mut p in problems {
            // Bytes that are not text: whatever the column wanted, the fix is the encoding.
            if p.col
                .is_some_and(|c| matches!(row.cell(c), Cell::Invalid(_)))
            {
                p.problem.code = "vsimport::cell::not_text";
                p.problem.help = Some(NOT_TEXT_HELP.into());
            }
            reasons.push(crate::diag::shorten(
                &p.problem.message,
                crate::findings::MESSAGE_CHARS,
            ));
            self.diag(row, p.col, Severity::Error, &p.problem);
        }
        let width = row.len().max(self.origin.columns.len());
        let cells = (0..width).map(|i| row.cell(i).display()).collect();
        let rejected = RejectedRow {
            reasons,
            cells: Some(cells),
        };
        if self.findings.rejected.add(row.number, rejected) {
            self.findings.stats.rows_rejected += 1;
        }
    }
}
