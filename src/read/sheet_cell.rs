//! One workbook cell as vsimport reads it: calamine's values ([`DataRef`], from a streamed
//! or a loaded sheet) as [`Cell`]s: Excel serials as dates, times and durations, ISO text
//! (ODS) as the same, error values (also saved as text) as errors.

use calamine::DataRef;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::Cell;

fn error_static(e: &calamine::CellErrorType) -> &'static str {
    use calamine::CellErrorType as E;
    match e {
        E::Div0 => "#DIV/0!",
        E::NA => "#N/A",
        E::Name => "#NAME?",
        E::Null => "#NULL!",
        E::Num => "#NUM!",
        E::Ref => "#REF!",
        E::Value => "#VALUE!",
        E::GettingData => "#DATA!",
    }
}

/// The spreadsheet error value spelled exactly by `s`, if any.
pub(crate) fn error_literal(s: &str) -> Option<&'static str> {
    const ERRORS: [&str; 8] = [
        "#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#DATA!",
    ];
    ERRORS.iter().copied().find(|e| *e == s)
}

/// `PT14H43M20S`, `P1DT2H`, `-PT5M` (ODS durations) as a time delta.
fn parse_iso_duration(s: &str) -> Option<TimeDelta> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('P')?;
    let (days_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, t),
        None => (s, ""),
    };
    let mut ms: f64 = 0.0;
    let mut num = String::new();
    for c in days_part.chars() {
        match c {
            'D' => {
                ms += num.parse::<f64>().ok()? * 86_400_000.0;
                num.clear();
            }
            c if c.is_ascii_digit() || c == '.' => num.push(c),
            _ => return None,
        }
    }
    if !num.is_empty() {
        return None;
    }
    for c in time_part.chars() {
        let unit = match c {
            'H' => 3_600_000.0,
            'M' => 60_000.0,
            'S' => 1_000.0,
            c if c.is_ascii_digit() || c == '.' || c == ',' => {
                num.push(if c == ',' { '.' } else { c });
                continue;
            }
            _ => return None,
        };
        ms += num.parse::<f64>().ok()? * unit;
        num.clear();
    }
    if !num.is_empty() {
        return None;
    }
    let d = TimeDelta::milliseconds(ms.round() as i64);
    Some(if neg { -d } else { d })
}

fn parse_iso(s: &str) -> Option<Cell<'static>> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(Cell::Date(d));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(if dt.time() == NaiveTime::MIN {
                Cell::Date(dt.date())
            } else {
                Cell::DateTime(dt)
            });
        }
    }
    for f in ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"] {
        if let Ok(t) = NaiveTime::parse_from_str(s, f) {
            return Some(Cell::Time(t));
        }
    }
    None
}

/// One calamine value as a cell.
pub(crate) fn convert<'a>(d: &'a DataRef<'_>) -> Cell<'a> {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Float(f) => Cell::Float(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => {
            if dt.is_duration() {
                return dt
                    .as_duration()
                    .map(Cell::Duration)
                    .unwrap_or(Cell::Float(dt.as_f64()));
            }
            let v = dt.as_f64();
            match dt.as_datetime() {
                // A time-only cell is a fraction of a day (its date part is Excel's day 0).
                Some(ndt) if (0.0..1.0).contains(&v) => Cell::Time(ndt.time()),
                Some(ndt) if ndt.time() == NaiveTime::MIN => Cell::Date(ndt.date()),
                Some(ndt) => Cell::DateTime(ndt),
                None => Cell::Float(v),
            }
        }
        DataRef::DateTimeIso(s) => parse_iso(s).unwrap_or(Cell::Text(s)),
        DataRef::DurationIso(s) => parse_iso_duration(s)
            .map(Cell::Duration)
            .unwrap_or(Cell::Text(s)),
        DataRef::Error(e) => Cell::Error(error_static(e)),
    }
}

/// A text cell: empty text is an empty cell, and error values saved as text (ODS writes
/// them so) are errors all the same.
fn text(s: &str) -> Cell<'_> {
    if s.is_empty() {
        return Cell::Empty;
    }
    match error_literal(s) {
        Some(e) => Cell::Error(e),
        None => Cell::Text(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(
            parse_iso_duration("PT14H43M00S"),
            Some(TimeDelta::minutes(14 * 60 + 43))
        );
        assert_eq!(parse_iso_duration("P1DT2H"), Some(TimeDelta::hours(26)));
        assert_eq!(parse_iso_duration("-PT5M"), Some(TimeDelta::minutes(-5)));
        assert_eq!(
            parse_iso_duration("PT1.5S"),
            Some(TimeDelta::milliseconds(1500))
        );
        assert_eq!(parse_iso_duration("14:43"), None);
    }

    #[test]
    fn iso_dates_and_times() {
        assert_eq!(
            parse_iso("2025-03-01"),
            Some(Cell::Date(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()))
        );
        assert_eq!(
            parse_iso("2025-03-01T00:00:00"),
            Some(Cell::Date(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()))
        );
        assert!(matches!(
            parse_iso("2025-03-01T08:15:00"),
            Some(Cell::DateTime(_))
        ));
        assert!(matches!(parse_iso("08:15:00"), Some(Cell::Time(_))));
        assert_eq!(parse_iso("soon"), None);
    }

    #[test]
    fn excel_serials() {
        use DataRef as Data;
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        let date = Data::DateTime(ExcelDateTime::new(
            45658.0,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(
            convert(&date),
            Cell::Date(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())
        );
        let time = Data::DateTime(ExcelDateTime::new(
            0.6131944444,
            ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(convert(&time).display(), "14:43:00");
        let dur = Data::DateTime(ExcelDateTime::new(
            1.25,
            ExcelDateTimeType::TimeDelta,
            false,
        ));
        assert_eq!(convert(&dur), Cell::Duration(TimeDelta::hours(30)));
        let d1904 = Data::DateTime(ExcelDateTime::new(
            44196.0,
            ExcelDateTimeType::DateTime,
            true,
        ));
        assert_eq!(
            convert(&d1904),
            Cell::Date(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())
        );
    }
}
