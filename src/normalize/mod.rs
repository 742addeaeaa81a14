//! Normalise stage: one cell in, a date, a number or minutes since midnight out — or the
//! reason it is none of those. Pure functions, no catalog: the validate stage decides which
//! parser a cell needs and checks the result against the KPI.
//!
//! Where a cell alone cannot decide (is `03/04/2025` the 3rd of April or March 4th? is `1,234`
//! one thousand two hundred and thirty-four or one point two three four?), the parser says so
//! ([`DateParse::Slash`], [`NumParse::Ambiguous`]) and the caller decides for the whole file
//! from the cells that are not ambiguous, or from the mapping's `dayfirst` / `decimal`.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

use crate::read::Cell;

/// `text` without surrounding white space and a leading `'` (Excel's text marker), without
/// the cost of a Unicode-aware trim when both ends are plain ASCII.
pub fn clean(text: &str) -> &str {
    let b = text.as_bytes();
    let plain = b
        .first()
        .is_some_and(|c| c.is_ascii_graphic() && *c != b'\'')
        && b.last().is_some_and(u8::is_ascii_graphic);
    if plain {
        text
    } else {
        text.trim().trim_start_matches('\'')
    }
}

/// Days between 1899-12-30 (Excel's serial 0, with its 1900 leap-year bug) and 1970-01-01.
const EXCEL_EPOCH_OFFSET: i64 = 25_569;

/// What a date cell turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DateParse {
    /// A date; `had_time` when a non-midnight time part was dropped.
    Date { date: NaiveDate, had_time: bool },
    /// `a/b/yyyy` with both `a` and `b` at most 12: day-first or month-first is undecided.
    Slash { a: u32, b: u32, year: i32 },
}

/// Which way `a/b/yyyy` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOrder {
    DayFirst,
    MonthFirst,
}

/// Date parsing settings (from the mapping's `[source]`).
#[derive(Debug, Clone, Default)]
pub struct DateOptions {
    /// A chrono/strftime format that wins over detection, e.g. `%d.%m.%Y`.
    pub format: Option<String>,
    /// `dayfirst = true|false` in the mapping.
    pub order: Option<DayOrder>,
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
pub fn excel_serial(serial: f64) -> Option<NaiveDate> {
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
pub fn parse_date_text(text: &str, opts: &DateOptions) -> Result<DateParse, String> {
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
pub fn parse_date(cell: &Cell<'_>, opts: &DateOptions) -> Result<DateParse, String> {
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

/// How a number's decimal separator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decimal {
    Point,
    Comma,
}

/// What a number cell turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumParse {
    Number(f64),
    /// `1,234` or `1.234`: a thousands separator or a decimal one.
    Ambiguous {
        point: f64,
        comma: f64,
    },
}

/// Plain numbers without allocating: an optional `-`, digits, and at most one separator that
/// cannot be a thousands separator (not followed by exactly three digits), or that the
/// setting names as the decimal one.
fn fast_number(b: &[u8], decimal: Option<Decimal>) -> Option<f64> {
    if b.is_empty() || b.len() > 40 {
        return None;
    }
    let (neg, body) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let sep = body.iter().position(|c| !c.is_ascii_digit());
    let (int, frac) = match sep {
        None => (body, &body[..0]),
        Some(i) => {
            let c = body[i];
            let frac = &body[i + 1..];
            if !frac.iter().all(u8::is_ascii_digit) || i == 0 {
                return None;
            }
            let ok = match (c, decimal) {
                (b'.', Some(Decimal::Point)) | (b',', Some(Decimal::Comma)) => true,
                (b'.' | b',', None) => frac.len() != 3,
                _ => false,
            };
            if !ok {
                return None;
            }
            (&body[..i], frac)
        }
    };
    if int.is_empty() {
        return None;
    }
    // Up to 15 digits in all: int * 10^n + frac is an exact integer, and one division by the
    // exact 10^n is correctly rounded — the same double `str::parse` gives, for less work.
    if int.len() + frac.len() <= 15 {
        let mut whole: u64 = 0;
        for &c in int.iter().chain(frac) {
            whole = whole * 10 + u64::from(c - b'0');
        }
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        let v = whole as f64 / POW10[frac.len()];
        return Some(if neg { -v } else { v });
    }
    let mut buf = [0u8; 48];
    let mut n = 0;
    if neg {
        buf[0] = b'-';
        n = 1;
    }
    buf[n..n + int.len()].copy_from_slice(int);
    n += int.len();
    if !frac.is_empty() {
        buf[n] = b'.';
        n += 1;
        buf[n..n + frac.len()].copy_from_slice(frac);
        n += frac.len();
    }
    std::str::from_utf8(&buf[..n]).ok()?.parse::<f64>().ok()
}

/// Parses a number written as text: whitespace and a trailing `%` are dropped, thousands
/// separators (`.` `,` `'` space) removed; with `decimal` unknown, the text decides where it
/// can (`1.234,5`, `85,5`, `1,234.5`) and says when it cannot (`1,234`).
pub fn parse_number_text(text: &str, decimal: Option<Decimal>) -> Result<NumParse, String> {
    if let Some(v) = fast_number(clean(text).as_bytes(), decimal) {
        return Ok(NumParse::Number(v));
    }
    let mut s: String = text
        .trim()
        .trim_start_matches('\'')
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}'))
        .collect();
    if s.ends_with('%') {
        s.pop();
    }
    if s.is_empty() {
        return Err("the number is empty".into());
    }
    let bad = || format!("{:?} is not a number", text.trim());
    // Plain digits with an optional sign and point: the common case.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "nan" | "inf" | "-inf" | "+inf" | "infinity" | "-infinity"
    ) {
        return Err(format!("{:?} is not a finite number", text.trim()));
    }
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, s.strip_prefix('+').unwrap_or(&s)),
    };
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'\''))
    {
        // Scientific notation, e.g. 1.5E+03.
        if let Ok(v) = s.parse::<f64>()
            && v.is_finite()
            && (s.contains('e') || s.contains('E'))
        {
            return Ok(NumParse::Number(v));
        }
        return Err(bad());
    }
    let body = body.replace('\'', "");
    let commas = body.matches(',').count();
    let points = body.matches('.').count();
    let read = |dec: Decimal| -> Option<f64> {
        let (thousands, dec_char) = match dec {
            Decimal::Point => (',', '.'),
            Decimal::Comma => ('.', ','),
        };
        if body.matches(dec_char).count() > 1 {
            return None;
        }
        // Thousands groups must be 3 digits.
        let int_part = body.split(dec_char).next().unwrap_or("");
        let groups: Vec<&str> = int_part.split(thousands).collect();
        if groups.len() > 1
            && (groups[0].is_empty()
                || groups[0].len() > 3
                || groups[1..].iter().any(|g| g.len() != 3))
        {
            return None;
        }
        let plain: String = body
            .chars()
            .filter(|c| *c != thousands)
            .map(|c| if c == dec_char { '.' } else { c })
            .collect();
        plain.parse::<f64>().ok().map(|v| sign * v)
    };
    if let Some(d) = decimal {
        return read(d).map(NumParse::Number).ok_or_else(|| {
            format!(
                "{:?} is not a number with a decimal {}",
                text.trim(),
                if d == Decimal::Comma {
                    "comma"
                } else {
                    "point"
                }
            )
        });
    }
    match (commas, points) {
        (0, 0) => read(Decimal::Point).map(NumParse::Number).ok_or_else(bad),
        // One separator followed by exactly three digits: 1,234 / 1.234.
        (1, 0) | (0, 1)
            if body.rsplit([',', '.']).next().is_some_and(|t| t.len() == 3)
                && !body.starts_with(['.', ','])
                && !body.starts_with("0") =>
        {
            match (read(Decimal::Point), read(Decimal::Comma)) {
                (Some(point), Some(comma)) => Ok(NumParse::Ambiguous { point, comma }),
                (Some(v), None) | (None, Some(v)) => Ok(NumParse::Number(v)),
                (None, None) => Err(bad()),
            }
        }
        (_, 0) => read(Decimal::Comma)
            .or_else(|| read(Decimal::Point))
            .map(NumParse::Number)
            .ok_or_else(bad),
        (0, _) => read(Decimal::Point)
            .or_else(|| read(Decimal::Comma))
            .map(NumParse::Number)
            .ok_or_else(bad),
        _ => {
            // Both: the last one is the decimal separator.
            let dec = if body.rfind(',') > body.rfind('.') {
                Decimal::Comma
            } else {
                Decimal::Point
            };
            read(dec).map(NumParse::Number).ok_or_else(bad)
        }
    }
}

/// A number cell.
pub fn parse_number(cell: &Cell<'_>, decimal: Option<Decimal>) -> Result<NumParse, String> {
    match cell {
        Cell::Int(i) => Ok(NumParse::Number(*i as f64)),
        Cell::Float(f) if f.is_finite() => Ok(NumParse::Number(*f)),
        Cell::Float(_) => Err("the number is not finite".into()),
        Cell::Bool(_) => Err("a true/false cell is not a number".into()),
        Cell::Text(t) => parse_number_text(t, decimal),
        Cell::Empty => Err("the number is empty".into()),
        Cell::Error(e) => Err(format!("the cell holds the error {e}")),
        Cell::Invalid(_) => Err("the cell's bytes are not text in the file's encoding".into()),
        other => Err(format!("a {} is not a number", other.kind())),
    }
}

/// Minutes since midnight and whether seconds were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minutes {
    pub minutes: u32,
    pub dropped_seconds: bool,
}

fn minutes_of(t: NaiveTime) -> Minutes {
    Minutes {
        minutes: t.hour() * 60 + t.minute(),
        dropped_seconds: t.second() != 0,
    }
}

/// A time-of-day text: `14:43`, `14:43:20`, `2:43 PM`, `14.43`, or plain minutes `883`.
pub fn parse_time_text(text: &str) -> Result<Minutes, String> {
    let s = text.trim().trim_start_matches('\'');
    let lower = s.to_ascii_lowercase();
    let (clock, pm) = if let Some(x) = lower.strip_suffix("pm") {
        (x.trim().trim_end_matches('.'), Some(true))
    } else if let Some(x) = lower.strip_suffix("am") {
        (x.trim().trim_end_matches('.'), Some(false))
    } else {
        (lower.as_str(), None)
    };
    let bad =
        || format!("{s:?} is not a time of day (expected 14:43, 2:43 PM or minutes 0 to 1439)");
    if !clock.contains([':', '.']) {
        let m: u32 = clock.parse().map_err(|_| bad())?;
        if pm.is_some() {
            // "2 PM"
            let h = m;
            if !(1..=12).contains(&h) {
                return Err(bad());
            }
            let h = (h % 12) + if pm == Some(true) { 12 } else { 0 };
            return Ok(Minutes {
                minutes: h * 60,
                dropped_seconds: false,
            });
        }
        if m > 1439 {
            return Err(format!(
                "{m} minutes is past the end of the day (0 to 1439)"
            ));
        }
        return Ok(Minutes {
            minutes: m,
            dropped_seconds: false,
        });
    }
    let parts: Vec<&str> = clock.split([':', '.']).collect();
    let num = |p: &str| -> Result<u32, String> {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse().map_err(|_| bad())
    };
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        _ => return Err(bad()),
    };
    let h = match pm {
        Some(is_pm) => {
            if !(1..=12).contains(&h) {
                return Err(bad());
            }
            (h % 12) + if is_pm { 12 } else { 0 }
        }
        None => h,
    };
    if h > 23 || m > 59 || sec > 59 {
        return Err(bad());
    }
    Ok(Minutes {
        minutes: h * 60 + m,
        dropped_seconds: sec != 0,
    })
}

/// A time-of-day cell for a `Time` KPI.
pub fn parse_time(cell: &Cell<'_>) -> Result<Minutes, String> {
    let from_fraction = |f: f64| {
        let secs = (f * 86_400.0).round() as u32;
        Minutes {
            minutes: secs / 60,
            dropped_seconds: !secs.is_multiple_of(60),
        }
    };
    match cell {
        Cell::Time(t) => Ok(minutes_of(*t)),
        Cell::DateTime(dt) => Ok(minutes_of(dt.time())),
        Cell::Duration(d) if *d >= TimeDelta::zero() && *d < TimeDelta::days(1) => {
            let secs = d.num_seconds() as u32;
            Ok(Minutes {
                minutes: secs / 60,
                dropped_seconds: !secs.is_multiple_of(60),
            })
        }
        Cell::Duration(_) => Err("a duration of a day or more is not a time of day".into()),
        Cell::Float(f) if (0.0..1.0).contains(f) && f.fract() != 0.0 => Ok(from_fraction(*f)),
        Cell::Float(f) if f.fract() == 0.0 && (0.0..=1439.0).contains(f) => Ok(Minutes {
            minutes: *f as u32,
            dropped_seconds: false,
        }),
        Cell::Int(i) if (0..=1439).contains(i) => Ok(Minutes {
            minutes: *i as u32,
            dropped_seconds: false,
        }),
        Cell::Int(_) | Cell::Float(_) => Err(format!(
            "{} is neither minutes since midnight (0 to 1439) nor a fraction of a day",
            cell.display()
        )),
        Cell::Text(t) => parse_time_text(t),
        Cell::Empty => Err("the time is empty".into()),
        Cell::Error(e) => Err(format!("the cell holds the error {e}")),
        Cell::Invalid(_) => Err("the cell's bytes are not text in the file's encoding".into()),
        other => Err(format!("a {} is not a time of day", other.kind())),
    }
}

/// Used by tests and reports: a date's weekday name.
pub fn weekday(d: NaiveDate) -> chrono::Weekday {
    d.weekday()
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

    fn num(s: &str) -> NumParse {
        parse_number_text(s, None).unwrap()
    }

    #[test]
    fn numbers() {
        let cases = [
            ("85", 85.0),
            ("85.5", 85.5),
            ("85,5", 85.5),
            ("-3", -3.0),
            ("+3", 3.0),
            ("1.234,5", 1234.5),
            ("1,234.5", 1234.5),
            ("1.234.567", 1234567.0),
            ("1,234,567", 1234567.0),
            ("1'234'567.5", 1234567.5),
            ("1 234,5", 1234.5),
            ("1\u{a0}234", 1234.0),
            ("85%", 85.0),
            ("85,5 %", 85.5),
            ("0,123", 0.123),
            ("1.5E+03", 1500.0),
            ("'42", 42.0),
            (" 7 ", 7.0),
        ];
        for (text, want) in cases {
            assert_eq!(num(text), NumParse::Number(want), "{text}");
        }
        assert_eq!(
            num("1,234"),
            NumParse::Ambiguous {
                point: 1234.0,
                comma: 1.234
            }
        );
        assert_eq!(
            num("1.234"),
            NumParse::Ambiguous {
                point: 1.234,
                comma: 1234.0
            }
        );
        assert_eq!(
            parse_number_text("1.234", Some(Decimal::Comma)).unwrap(),
            NumParse::Number(1234.0)
        );
        assert_eq!(
            parse_number_text("1,5", Some(Decimal::Point)).ok(),
            None,
            "1,5 with a decimal point is no number"
        );
    }

    #[test]
    fn fast_numbers_equal_std_parse() {
        for s in [
            "0.1",
            "0.3",
            "85.5",
            "123456789.123456",
            "1.7976931348623157",
            "99999999999999.9",
            "7",
            "-0.001",
            "3.14159265358979",
        ] {
            let want: f64 = s.parse().unwrap();
            assert_eq!(
                parse_number_text(s, Some(Decimal::Point)).unwrap(),
                NumParse::Number(want),
                "{s}"
            );
        }
    }

    #[test]
    fn not_numbers() {
        for s in [
            "",
            "abc",
            "NaN",
            "inf",
            "1,2,3,4.5.6",
            "12-3",
            "--1",
            "1.2.3,4,5",
        ] {
            assert!(parse_number_text(s, None).is_err(), "{s}");
        }
        assert!(parse_number(&Cell::Bool(true), None).is_err());
        assert!(parse_number(&Cell::Error("#DIV/0!"), None).is_err());
    }

    #[test]
    fn times() {
        let cases = [
            ("14:43", 883, false),
            ("08:00", 480, false),
            ("14:43:20", 883, true),
            ("2:43 PM", 883, false),
            ("2:43 pm", 883, false),
            ("12:05 AM", 5, false),
            ("12:05 PM", 725, false),
            ("14.43", 883, false),
            ("883", 883, false),
            ("0", 0, false),
        ];
        for (text, minutes, dropped) in cases {
            assert_eq!(
                parse_time_text(text).unwrap(),
                Minutes {
                    minutes,
                    dropped_seconds: dropped
                },
                "{text}"
            );
        }
        for s in ["24:00", "1440", "14:60", "13:00 PM", "noon", "-5"] {
            assert!(parse_time_text(s).is_err(), "{s}");
        }
    }

    #[test]
    fn time_cells() {
        let t = NaiveTime::from_hms_opt(14, 43, 0).unwrap();
        assert_eq!(parse_time(&Cell::Time(t)).unwrap().minutes, 883);
        assert_eq!(parse_time(&Cell::Float(0.6131944444)).unwrap().minutes, 883);
        assert_eq!(parse_time(&Cell::Float(883.0)).unwrap().minutes, 883);
        assert_eq!(
            parse_time(&Cell::Duration(TimeDelta::minutes(480)))
                .unwrap()
                .minutes,
            480
        );
        assert!(parse_time(&Cell::Duration(TimeDelta::hours(30))).is_err());
        assert!(parse_time(&Cell::Int(2000)).is_err());
    }
}
