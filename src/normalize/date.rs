//! Dates: a cell in, a date out (or the reason it is none). Typed Excel dates, Excel serial
//! numbers, and text in the shapes exports use (ISO, German `dd.mm.yyyy`, `a/b/yyyy`, ISO
//! weeks, month names). `a/b/yyyy` with both parts at most 12 is left undecided
//! ([`DateParse::Slash`]) for the caller to settle for the whole file.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::clean;
use crate::read::Cell;

/// Days between 1899-12-30 (Excel's serial 0, with its 1900 leap-year bug) and 1970-01-01.
const EXCEL_EPOCH_OFFSET: i64 = 25_569;

/// What a date cell turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DateParse {
    /// A date; `had_time` when a non-midnight time part was dropped.
    Date { date: NaiveDate, had_time: bool },
    /// `a/b/yyyy` with both `a` and `b` at most 12: day-first or month-first is undecided.
    Slash { a: u32, b: u32, year: i32 },
}

/// Which way `a/b/yyyy` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayOrder {
    DayFirst,
    MonthFirst,
}

/// Date parsing settings (from the mapping's `[source]`).
#[derive(Debug, Clone)]
pub(crate) struct DateOptions {
    /// A chrono/strftime format that wins over detection, e.g. `%d.%m.%Y`.
    pub(crate) format: Option<String>,
    /// The years a record may be dated in (`[source] years`).
    pub(crate) years: std::ops::RangeInclusive<i32>,
    /// `dayfirst = true|false` in the mapping.
    pub(crate) order: Option<DayOrder>,
}

/// The years a KPI record may be dated in unless `[source] years` says otherwise: a year such
/// as 0000 or 9999 is a placeholder or a typo in an export (and snapping 0000-01-01 to its
/// week would leave the calendar).
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

impl Default for DateOptions {
    fn default() -> Self {
        DateOptions {
            format: None,
            years: YEARS,
            order: None,
        }
    }
}

const MONTHS: [(&str, u32); 34] = [
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mrz", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("mai", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
];

fn month_name(s: &str) -> Option<u32> {
    let l = s.trim().trim_end_matches('.').to_lowercase();
    if l == "dec" || l == "dez" || l == "dezember" {
        return Some(12);
    }
    MONTHS.iter().find(|(n, _)| *n == l).map(|(_, m)| *m)
}

/// An Excel serial day number as a date (1900 system).
pub(crate) fn excel_serial(serial: f64) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    // Serials before 1900-03-01 carry Excel's phantom 1900-02-29.
    let days = if days < 61 { days + 1 } else { days };
    NaiveDate::from_ymd_opt(1970, 1, 1)?
        .checked_add_signed(TimeDelta::days(days - EXCEL_EPOCH_OFFSET))
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn year4(s: &str) -> Option<i32> {
    if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) {
        // Two-digit years: 00-69 are 20xx, 70-99 are 19xx (as Excel reads them).
        let y: i32 = s.parse().ok()?;
        Some(if y < 70 { 2000 + y } else { 1900 + y })
    } else {
        None
    }
}

fn small(s: &str) -> Option<u32> {
    if (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn date_only(d: NaiveDate) -> DateParse {
    DateParse::Date {
        date: d,
        had_time: false,
    }
}

/// Splits a trailing time part off `2025-01-06 08:15` / `06.01.2025 08:15:00` /
/// `2025-01-06T08:15:00Z`; returns the date text and whether a non-zero time was there.
fn split_time(s: &str) -> (&str, bool) {
    let cut = s.find(['T', ' ']).filter(|&i| {
        let rest = &s[i + 1..];
        rest.contains(':')
    });
    match cut {
        Some(i) => {
            let t = s[i + 1..].trim_end_matches('Z');
            let t = t.split(['+', 'Z']).next().unwrap_or(t);
            let zero = t
                .split([':', '.'])
                .all(|p| p.trim().bytes().all(|b| b == b'0'));
            (&s[..i], !zero)
        }
        None => (s, false),
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `yyyy-mm-dd` and `dd.mm.yyyy`, the two shapes nearly every export uses, without
/// allocating.
fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 {
        return None;
    }
    if b[4] == b'-' && b[7] == b'-' {
        return ymd(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..])?);
    }
    if b[2] == b'.' && b[5] == b'.' {
        return ymd(digits(&b[6..])? as i32, digits(&b[3..5])?, digits(&b[..2])?);
    }
    None
}

/// Parses a date written as text. `Err` says what was expected.
pub(crate) fn parse_date_text(text: &str, opts: &DateOptions) -> Result<DateParse, String> {
    let s = clean(text);
    if s.is_empty() {
        return Err("the date is empty".into());
    }
    if let Some(f) = &opts.format {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(date_only(d));
        }
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(DateParse::Date {
                date: dt.date(),
                had_time: dt.time() != NaiveTime::MIN,
            });
        }
        return Err(format!("{s:?} does not match date_format {f:?}"));
    }
    if let Some(d) = fast_date(s.as_bytes()) {
        return Ok(date_only(d));
    }
    let (d, had_time) = split_time(s);
    let with_time = |p: DateParse| match p {
        DateParse::Date { date, .. } => DateParse::Date { date, had_time },
        other => other,
    };
    let bad = || format!("{s:?} is not a date vsimport knows");
    // ISO week: 2025-W03 or 2025-W03-1.
    if let Some((y, w)) = d.split_once("-W").or_else(|| d.split_once("-w")) {
        let y: i32 = y.parse().map_err(|_| bad())?;
        let (w, wd) = match w.split_once('-') {
            Some((w, wd)) => (w, wd.parse::<u32>().map_err(|_| bad())?),
            None => (w, 1),
        };
        let w: u32 = w.parse().map_err(|_| bad())?;
        let weekday = chrono::Weekday::try_from((wd.clamp(1, 7) - 1) as u8).map_err(|_| bad())?;
        return NaiveDate::from_isoywd_opt(y, w, weekday)
            .map(date_only)
            .ok_or_else(|| format!("{s:?}: week {w} does not exist in {y}"));
    }
    // Month names: "Mar 2025", "März 2025", "March 2025", "2025 Mar".
    let words: Vec<&str> = d.split([' ', '-']).filter(|p| !p.is_empty()).collect();
    if words.len() == 2
        && let Some((m, y)) = match (month_name(words[0]), month_name(words[1])) {
            (Some(m), None) => year4(words[1]).map(|y| (m, y)),
            (None, Some(m)) => year4(words[0]).map(|y| (m, y)),
            _ => None,
        }
    {
        return ymd(y, m, 1).map(date_only).ok_or_else(bad);
    }
    let digits_only = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    // yyyymmdd
    if d.len() == 8 && digits_only(d) {
        let (y, m, day) = (&d[..4], &d[4..6], &d[6..]);
        return ymd(
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            day.parse().map_err(|_| bad())?,
        )
        .map(date_only)
        .ok_or_else(|| format!("{s:?} is not a real date"));
    }
    for sep in ['-', '.', '/'] {
        let parts: Vec<&str> = d.split(sep).collect();
        if parts.len() < 2 || !parts.iter().all(|p| digits_only(p)) {
            continue;
        }
        let real = |o: Option<NaiveDate>| {
            o.map(|x| with_time(date_only(x)))
                .ok_or_else(|| format!("{s:?} is not a real date"))
        };
        match (parts.as_slice(), sep) {
            // 2025-01-06, 2025/01/06, 2025.01.06
            ([y, m, day], _) if y.len() == 4 => {
                return real(ymd(
                    y.parse().map_err(|_| bad())?,
                    small(m).ok_or_else(bad)?,
                    small(day).ok_or_else(bad)?,
                ));
            }
            // 2025-03, 2025/03: a month
            ([y, m], '-' | '/') if y.len() == 4 => {
                return real(ymd(
                    y.parse().map_err(|_| bad())?,
                    small(m).ok_or_else(bad)?,
                    1,
                ));
            }
            // 03.2025, 03/2025: a month
            ([m, y], '.' | '/') if y.len() == 4 => {
                return real(ymd(
                    y.parse().map_err(|_| bad())?,
                    small(m).ok_or_else(bad)?,
                    1,
                ));
            }
            // 06.01.2025 and 06-01-2025 are day first (German and ISO-ish Europe).
            ([day, m, y], '.' | '-') => {
                let y = year4(y).ok_or_else(bad)?;
                return real(ymd(
                    y,
                    small(m).ok_or_else(bad)?,
                    small(day).ok_or_else(bad)?,
                ));
            }
            // a/b/yyyy: decide by values, the mapping, or not at all.
            ([a, b, y], '/') => {
                let y = year4(y).ok_or_else(bad)?;
                let (a, b) = (small(a).ok_or_else(bad)?, small(b).ok_or_else(bad)?);
                let order = match opts.order {
                    Some(o) => Some(o),
                    None if a > 12 => Some(DayOrder::DayFirst),
                    None if b > 12 => Some(DayOrder::MonthFirst),
                    None => None,
                };
                return match order {
                    Some(DayOrder::DayFirst) => real(ymd(y, b, a)),
                    Some(DayOrder::MonthFirst) => real(ymd(y, a, b)),
                    None => Ok(DateParse::Slash { a, b, year: y }),
                };
            }
            _ => {}
        }
    }
    Err(bad())
}

/// A date cell: typed Excel dates, serial numbers, or text.
pub(crate) fn parse_date(cell: &Cell<'_>, opts: &DateOptions) -> Result<DateParse, String> {
    match cell {
        Cell::Date(d) => Ok(date_only(*d)),
        Cell::DateTime(dt) => Ok(DateParse::Date {
            date: dt.date(),
            had_time: dt.time() != NaiveTime::MIN,
        }),
        Cell::Int(i) => {
            let s = i.to_string();
            if s.len() == 8 {
                return parse_date_text(&s, opts);
            }
            excel_serial(*i as f64)
                .map(date_only)
                .ok_or_else(|| format!("{i} is not a date (nor an Excel serial date)"))
        }
        Cell::Float(f) => excel_serial(*f)
            .map(|d| DateParse::Date {
                date: d,
                had_time: f.fract() != 0.0,
            })
            .ok_or_else(|| format!("{f} is not a date (nor an Excel serial date)")),
        Cell::Text(t) => parse_date_text(t, opts),
        Cell::Empty => Err("the date is empty".into()),
        Cell::Error(e) => Err(format!("the cell holds the error {e}")),
        Cell::Invalid(_) => Err("the cell's bytes are not text in the file's encoding".into()),
        other => Err(format!("a {} is not a date", other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn date(s: &str) -> DateParse {
        parse_date_text(s, &DateOptions::default()).unwrap()
    }

    #[test]
    fn date_texts() {
        let cases = [
            ("2025-01-06", "2025-01-06"),
            ("2025/01/06", "2025-01-06"),
            ("06.01.2025", "2025-01-06"),
            ("6.1.2025", "2025-01-06"),
            ("06.01.25", "2025-01-06"),
            ("06-01-2025", "2025-01-06"),
            ("25/12/2025", "2025-12-25"),
            ("12/25/2025", "2025-12-25"),
            ("20250106", "2025-01-06"),
            ("2025-W03", "2025-01-13"),
            ("2025-W03-3", "2025-01-15"),
            ("2025-03", "2025-03-01"),
            ("03/2025", "2025-03-01"),
            ("03.2025", "2025-03-01"),
            ("Mar 2025", "2025-03-01"),
            ("März 2025", "2025-03-01"),
            ("march 2025", "2025-03-01"),
            ("Dez 2024", "2024-12-01"),
            ("'2025-01-06", "2025-01-06"),
        ];
        for (text, want) in cases {
            assert_eq!(
                date(text),
                DateParse::Date {
                    date: d(want),
                    had_time: false
                },
                "{text}"
            );
        }
    }

    #[test]
    fn datetimes_drop_the_time_and_say_so() {
        assert_eq!(
            date("2025-01-06 08:15"),
            DateParse::Date {
                date: d("2025-01-06"),
                had_time: true
            }
        );
        assert_eq!(
            date("2025-01-06T00:00:00Z"),
            DateParse::Date {
                date: d("2025-01-06"),
                had_time: false
            }
        );
        assert_eq!(
            date("06.01.2025 14:43:20"),
            DateParse::Date {
                date: d("2025-01-06"),
                had_time: true
            }
        );
    }

    #[test]
    fn slash_dates_are_ambiguous_unless_told() {
        assert_eq!(
            date("03/04/2025"),
            DateParse::Slash {
                a: 3,
                b: 4,
                year: 2025
            }
        );
        let dayfirst = DateOptions {
            order: Some(DayOrder::DayFirst),
            ..Default::default()
        };
        assert_eq!(
            parse_date_text("03/04/2025", &dayfirst).unwrap(),
            DateParse::Date {
                date: d("2025-04-03"),
                had_time: false
            }
        );
        let fmt = DateOptions {
            format: Some("%m/%d/%Y".into()),
            ..Default::default()
        };
        assert_eq!(
            parse_date_text("03/04/2025", &fmt).unwrap(),
            DateParse::Date {
                date: d("2025-03-04"),
                had_time: false
            }
        );
        assert!(parse_date_text("2025-03-04", &fmt).is_err());
    }

    #[test]
    fn bad_dates() {
        for s in [
            "",
            "soon",
            "31.02.2025",
            "2025-13-01",
            "2025-W54",
            "13/13/2025",
            "1.2",
        ] {
            assert!(parse_date_text(s, &DateOptions::default()).is_err(), "{s}");
        }
    }

    #[test]
    fn excel_serials() {
        assert_eq!(excel_serial(45658.0), Some(d("2025-01-01")));
        assert_eq!(excel_serial(59.0), Some(d("1900-02-28")));
        assert_eq!(excel_serial(61.0), Some(d("1900-03-01")));
        assert_eq!(excel_serial(0.5), None);
        assert_eq!(
            parse_date(&Cell::Float(45658.75), &DateOptions::default()).unwrap(),
            DateParse::Date {
                date: d("2025-01-01"),
                had_time: true
            }
        );
    }

    /// Every day from 1900 to 2100, written in each accepted form, reads back as itself
    /// (exhaustive: 73,414 days; Excel serials from 1900-03-01, after Excel's phantom leap
    /// day).
    #[test]
    fn every_date_round_trips_in_every_form() {
        let dayfirst = DateOptions {
            order: Some(DayOrder::DayFirst),
            ..Default::default()
        };
        let monthfirst = DateOptions {
            order: Some(DayOrder::MonthFirst),
            ..Default::default()
        };
        let plain = DateOptions::default();
        let epoch = d("1899-12-30");
        let got = |r: Result<DateParse, String>| match r {
            Ok(DateParse::Date { date, .. }) => Some(date),
            _ => None,
        };
        let mut day = d("1900-01-01");
        let last = d("2100-12-31");
        while day <= last {
            for (written, opts) in [
                (day.format("%Y-%m-%d").to_string(), &plain),
                (day.format("%d.%m.%Y").to_string(), &plain),
                (day.format("%-d.%-m.%Y").to_string(), &plain),
                (day.format("%d/%m/%Y").to_string(), &dayfirst),
                (day.format("%m/%d/%Y").to_string(), &monthfirst),
            ] {
                assert_eq!(got(parse_date_text(&written, opts)), Some(day), "{written}");
            }
            assert_eq!(got(parse_date(&Cell::Date(day), &plain)), Some(day));
            if day >= d("1900-03-01") {
                let serial = (day - epoch).num_days() as f64;
                assert_eq!(excel_serial(serial), Some(day), "serial {serial}");
            }
            day = day.succ_opt().unwrap();
        }
    }
}
