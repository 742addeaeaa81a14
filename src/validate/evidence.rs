//! What one cell cannot decide, decided for the whole file: `a/b/yyyy` dates read day first
//! or month first, and `1,234` read with a decimal comma or point, from the cells that do
//! tell — or reported at each cell that stays undecided, never guessed.

use chrono::NaiveDate;

use super::Validator;
use crate::catalog::{Scale, Unit};
use crate::diag::{Diagnostic, Problem, Severity};
use crate::map::Layout;
use crate::normalize::{DayOrder, Decimal};
use crate::record::Entry;

/// A row whose date is `a/b/year` with both parts at most 12.
pub(super) struct PendingDate {
    pub(crate) entries: std::ops::Range<usize>,
    pub(crate) a: u32,
    pub(crate) b: u32,
    pub(crate) year: i32,
    pub(crate) row: u64,
    pub(crate) byte: Option<u64>,
    pub(crate) col: Option<usize>,
    pub(crate) text: String,
}

/// An entry whose number could have a thousands or a decimal separator.
pub(super) struct PendingNumber {
    pub(crate) entry: usize,
    pub(crate) comma: f64,
    pub(crate) byte: Option<u64>,
    pub(crate) col: usize,
    pub(crate) text: String,
}

/// Which way a day/month text leans, when it does.
pub(super) fn slash_evidence(text: &str) -> Option<DayOrder> {
    // Runs for every new date text: most are not slash dates, and need no look (a plain
    // loop: memchr's set-up costs more than a ten-byte date).
    if !text.as_bytes().contains(&b'/') {
        return None;
    }
    let s = text.trim();
    let parts: Vec<&str> = s.split(['/', ' ', 'T']).collect();
    if parts.len() < 3 {
        return None;
    }
    let a: u32 = parts[0].parse().ok()?;
    let b: u32 = parts[1].parse().ok()?;
    if a > 12 && b <= 12 {
        Some(DayOrder::DayFirst)
    } else if b > 12 && a <= 12 {
        Some(DayOrder::MonthFirst)
    } else {
        None
    }
}

/// Which decimal separator a number text shows, when it shows one (one pass over the bytes:
/// this runs for every number cell).
pub(super) fn decimal_evidence(text: &str) -> Option<Decimal> {
    let (mut commas, mut points, mut last_comma, mut last_point) = (0, 0, 0, 0);
    let mut end = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        match b {
            b',' => {
                commas += 1;
                last_comma = i;
            }
            b'.' => {
                points += 1;
                last_point = i;
            }
            b'0'..=b'9' => end = i + 1,
            _ => {}
        }
    }
    match (commas, points) {
        (0, 0) => None,
        (c, p) if c > 0 && p > 0 => Some(if last_comma > last_point {
            Decimal::Comma
        } else {
            Decimal::Point
        }),
        (1, 0) => (end.saturating_sub(last_comma + 1) != 3).then_some(Decimal::Comma),
        (0, 1) => (end.saturating_sub(last_point + 1) != 3).then_some(Decimal::Point),
        _ => None,
    }
}

impl Validator<'_> {
    pub(super) fn settle_dates(&mut self) {
        if self.pending_dates.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_dates);
        let order = match (&self.day_first_seen, &self.month_first_seen) {
            (Some((r, t)), None) => Some((DayOrder::DayFirst, *r, t.clone())),
            (None, Some((r, t))) => Some((DayOrder::MonthFirst, *r, t.clone())),
            _ => None,
        };
        let both = self.day_first_seen.is_some() && self.month_first_seen.is_some();
        if let Some((o, r, t)) = &order {
            let first = &pending[0];
            self.findings.diags.push(Diagnostic {
                code: "vsimport::date::order_detected",
                severity: Severity::Info,
                location: self.origin.location(first.row, first.byte, first.col),
                message: format!(
                    "dates like {:?} are read {} because row {r} has {t:?}",
                    first.text,
                    if *o == DayOrder::DayFirst {
                        "day first (dd/mm/yyyy)"
                    } else {
                        "month first (mm/dd/yyyy)"
                    },
                ),
                help: Some("set dayfirst in [source] to say so explicitly".into()),
                context: None,
            });
        }
        for p in pending {
            let date = match &order {
                Some((DayOrder::DayFirst, ..)) => NaiveDate::from_ymd_opt(p.year, p.b, p.a),
                Some((DayOrder::MonthFirst, ..)) => NaiveDate::from_ymd_opt(p.year, p.a, p.b),
                None => None,
            };
            match date {
                Some(d) => {
                    for e in &mut self.entries[p.entries.clone()] {
                        e.date = d;
                    }
                }
                None => {
                    let loc = self.origin.location(p.row, p.byte, p.col);
                    let problem = if both {
                        Problem {
                            code: "vsimport::date::inconsistent",
                            message: format!(
                                "{:?} could be either way, and the file has dates both ways ({:?} in row {}, {:?} in row {})",
                                p.text,
                                self.day_first_seen.as_ref().map(|x| x.1.as_str()).unwrap_or(""),
                                self.day_first_seen.as_ref().map(|x| x.0).unwrap_or(0),
                                self.month_first_seen.as_ref().map(|x| x.1.as_str()).unwrap_or(""),
                                self.month_first_seen.as_ref().map(|x| x.0).unwrap_or(0),
                            ),
                            help: Some("fix the export so all dates use one order, or set date_format in [source]".into()),
                        }
                    } else {
                        Problem {
                            code: "vsimport::date::ambiguous",
                            message: format!(
                                "{:?} is the {} of {} or the {} of {}: no date in the file tells which",
                                p.text,
                                ordinal(p.a),
                                month(p.b),
                                ordinal(p.b),
                                month(p.a)
                            ),
                            help: Some("set dayfirst = true (31/12/2025) or dayfirst = false (12/31/2025) in the mapping's [source] section".into()),
                        }
                    };
                    self.findings.reject_late(p.row, loc, problem);
                }
            }
        }
    }

    pub(super) fn settle_numbers(&mut self) {
        if self.pending_numbers.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_numbers);
        let (decimal, why) = match (&self.comma_seen, &self.point_seen) {
            (Some((r, t)), None) => (Decimal::Comma, format!("row {r} has {t:?}")),
            (None, Some((r, t))) => (Decimal::Point, format!("row {r} has {t:?}")),
            _ => {
                let hint = if self.origin.delimiter == Some(';') {
                    Decimal::Comma
                } else {
                    Decimal::Point
                };
                let first = &pending[0];
                let location = self.origin.location(
                    self.entries[first.entry].row(),
                    first.byte,
                    Some(first.col),
                );
                self.findings.diags.push(Diagnostic {
                    code: "vsimport::number::ambiguous",
                    severity: Severity::Warning,
                    location,
                    message: format!(
                        "numbers like {:?} could have a thousands or a decimal separator; read with a decimal {} ({})",
                        first.text,
                        if hint == Decimal::Comma { "comma, as semicolon-separated files use" } else { "point" },
                        if self.comma_seen.is_some() { "the file has both kinds" } else { "no number in the file tells" }
                    ),
                    help: Some("set decimal = \",\" or decimal = \".\" in the mapping's [source] section".into()),
                    context: None,
                });
                (hint, String::new())
            }
        };
        if !why.is_empty() && decimal == Decimal::Comma {
            let first = &pending[0];
            let location =
                self.origin
                    .location(self.entries[first.entry].row(), first.byte, Some(first.col));
            self.findings.diags.push(Diagnostic {
                code: "vsimport::number::decimal_detected",
                severity: Severity::Info,
                location,
                message: format!(
                    "numbers like {:?} are read with a decimal comma because {why}",
                    first.text
                ),
                help: Some("set decimal in [source] to say so explicitly".into()),
                context: None,
            });
        }
        for p in pending {
            let e = self.entries[p.entry];
            let v = if decimal == Decimal::Comma {
                p.comma
            } else {
                e.value
            };
            if let Err(problem) = check_integer(self.index.kpi(e.kpi), v) {
                let loc = self.origin.location(e.row(), p.byte, Some(p.col));
                self.findings.reject_late(e.row(), loc, problem);
            }
            self.entries[p.entry].value = v;
        }
    }
}

impl Validator<'_> {
    /// A KPI with cells written with a percent sign (`85 %`) and cells without (`90`,
    /// `0.85`): a bare number is taken as written only when it is of the size of the KPI's
    /// signed values (a tenth of the smallest to ten times the largest) and its other reading
    /// is not (`0.85` read as a fraction is 85 %; `85` read as a fraction would be 8500 %).
    /// Any other bare number could be on either scale — a workbook cell formatted as a
    /// percentage arrives as its fraction — and its row is refused, naming the first signed
    /// cell. Time KPIs and KPIs whose unit is not a percentage are left alone (a sign there
    /// is warned about).
    pub(super) fn settle_percents(&mut self) {
        if self.first_percent.iter().all(Option::is_none) {
            return;
        }
        let index = self.index;
        let checked = |k: u32| matches!(index.unit(k), Unit::Percent(_) | Unit::Unknown);
        // Per KPI: the smallest and largest non-zero signed value, as sent.
        let mut band: Vec<Option<(f64, f64)>> = vec![None; index.catalog.kpis.len()];
        for e in &self.entries {
            if e.percent_sign && e.value != 0.0 && checked(e.kpi) {
                let v = e.value.abs();
                let b = band[e.kpi as usize].get_or_insert((v, v));
                *b = (b.0.min(v), b.1.max(v));
            }
        }
        let mut refused: Vec<(u64, Option<usize>, Problem)> = Vec::new();
        let mut last: Option<(u64, u32)> = None;
        for e in &self.entries {
            if e.percent_sign || e.value == 0.0 || last == Some((e.row(), e.kpi)) {
                continue;
            }
            let Some((lo, hi)) = band[e.kpi as usize] else {
                continue;
            };
            let within = |x: f64| (lo / 10.0..=hi * 10.0).contains(&x.abs());
            // The other reading: a fraction where the KPI takes points, points where it
            // takes fractions.
            let fraction = index.unit(e.kpi) == Unit::Percent(Some(Scale::Fraction));
            let other = if fraction {
                e.value / 100.0
            } else {
                e.value * 100.0
            };
            if within(e.value) && !within(other) {
                continue;
            }
            let Some((row, col, text)) = self
                .first_percent
                .get(e.kpi as usize)
                .and_then(Option::as_ref)
            else {
                continue;
            };
            last = Some((e.row(), e.kpi));
            let name = &index.kpi(e.kpi).name;
            let (as_points, as_fraction) = (shown(e.value), shown(e.value * 100.0));
            refused.push((
                e.row(),
                self.entry_column(e),
                Problem {
                    code: "vsimport::number::mixed_percent",
                    message: format!(
                        "KPI {name:?} mixes scales: {} has no percent sign, but row {row} ({}) has {text:?}; {} could mean {as_points} % or {as_fraction} %",
                        shown(e.value),
                        self.column_name(Some(*col)),
                        shown(e.value),
                    ),
                    help: Some(format!(
                        "write every value of {name:?} with its % sign, or every one without (a workbook cell formatted as a percentage arrives as its fraction: 0.85 for 85 %)"
                    )),
                },
            ));
        }
        for (row, col, problem) in refused {
            let location = self.origin.location(row, None, col);
            self.findings.reject_late(row, location, problem);
        }
    }

    /// The column an entry's value came from.
    fn entry_column(&self, e: &Entry) -> Option<usize> {
        match &self.plan.as_ref()?.layout {
            Layout::Long { amount, .. } => Some(*amount),
            Layout::SemiWide { values } => values
                .iter()
                .find(|(_, t)| {
                    t.forecast == e.forecast && self.index.find_value(e.kpi, &t.name) == Ok(e.slot)
                })
                .map(|(c, _)| *c),
            Layout::Wide { .. } => self
                .wide_kpis
                .iter()
                .find(|(_, k, slot, forecast)| {
                    *k == e.kpi && *slot == e.slot && *forecast == e.forecast
                })
                .map(|(c, ..)| *c),
        }
    }
}

#[inline]
pub(super) fn check_integer(kpi: &crate::api::KpiDetail, v: f64) -> Result<(), Problem> {
    if kpi.kpi_value_is_integer && has_fraction(v) {
        return not_integer(kpi, v);
    }
    Ok(())
}

/// `v.fract() != 0.0` without its library call (no rounding instruction in the baseline
/// x86-64 set): below 2^52 a double has a fraction exactly when a round trip through an
/// integer changes it; from there on every finite double is whole (and, as for `fract`, an
/// infinity or NaN is not).
fn has_fraction(v: f64) -> bool {
    if v.abs() < 4_503_599_627_370_496.0 {
        (v as i64) as f64 != v
    } else {
        !v.is_finite()
    }
}

/// The problem of a fraction where a KPI takes whole numbers (kept out of the check, which
/// runs for every value).
#[cold]
fn not_integer(kpi: &crate::api::KpiDetail, v: f64) -> Result<(), Problem> {
    Err(Problem {
        code: "vsimport::number::not_integer",
        message: format!("KPI {:?} takes whole numbers only, not {v}", kpi.name),
        help: Some("round the value in the export, or check the decimal separator".into()),
    })
}

/// A value as the report shows it.
fn shown(v: f64) -> String {
    crate::plan::number(v).map_or_else(|| v.to_string(), |n| n.to_string())
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn month(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get(m.saturating_sub(1) as usize)
    .copied()
    .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn evidence() {
        assert_eq!(slash_evidence("25/12/2025"), Some(DayOrder::DayFirst));
        assert_eq!(slash_evidence("12/25/2025"), Some(DayOrder::MonthFirst));
        assert_eq!(slash_evidence("03/04/2025"), None);
        assert_eq!(decimal_evidence("85,5"), Some(Decimal::Comma));
        assert_eq!(decimal_evidence("1.234,5"), Some(Decimal::Comma));
        assert_eq!(decimal_evidence("85.5"), Some(Decimal::Point));
        assert_eq!(decimal_evidence("1,234"), None);
        assert_eq!(decimal_evidence("1,234,567"), None);
        assert_eq!(decimal_evidence("12"), None);
    }

    #[test]
    fn a_fraction_is_what_fract_says_it_is() {
        let edges = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1e-300,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            -4_503_599_627_370_495.5,
            9.3e18,
            -9.3e18,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for v in edges {
            assert_eq!(has_fraction(v), v.fract() != 0.0, "{v}");
        }
        proptest::proptest!(|(bits in proptest::prelude::any::<u64>())| {
            let v = f64::from_bits(bits);
            proptest::prop_assert_eq!(has_fraction(v), v.fract() != 0.0, "{}", v);
        });
    }

    #[test]
    fn words() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(month(3), "March");
    }
}
