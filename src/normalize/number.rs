//! Numbers: a cell in, a number out (or the reason it is none). Text with a decimal comma or
//! point, thousands separators and a trailing `%`; `1,234` alone is left undecided
//! ([`NumParse::Ambiguous`]) for the caller to settle for the whole file.

use super::clean;
use crate::read::Cell;

/// How a number's decimal separator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decimal {
    Point,
    Comma,
}

/// What a number cell turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumParse {
    Number(f64),
    /// `1,234` or `1.234`: a thousands separator or a decimal one.
    Ambiguous {
        point: f64,
        comma: f64,
    },
}

/// Plain numbers without allocating: an optional `-`, digits, and at most one separator that
/// cannot be a thousands separator (not followed by exactly three digits), or that the
/// setting names as the decimal one. With the number, its separator (`.` or `,`; 0: none).
#[inline(always)]
fn fast_number(b: &[u8], decimal: Option<Decimal>) -> Option<(f64, u8)> {
    if b.is_empty() || b.len() > 40 {
        return None;
    }
    let (neg, body) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    // One pass: the digits folded into an integer (exact up to 15 digits; wrapped past that,
    // where it is not used), and the one separator's place.
    let mut whole: u64 = 0;
    let mut sep: Option<usize> = None;
    for (i, &c) in body.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d < 10 {
            whole = whole.wrapping_mul(10).wrapping_add(u64::from(d));
        } else if sep.is_none() && i > 0 {
            sep = Some(i);
        } else {
            return None;
        }
    }
    let separator = sep.map_or(0, |i| body[i]);
    let (int, frac) = match sep {
        None => (body, &body[..0]),
        Some(i) => {
            let frac = &body[i + 1..];
            let ok = match (body[i], decimal) {
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
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        // Below 10^15 the integer is a positive i64, whose conversion is one instruction
        // (an unsigned one takes several).
        let v = (whole as i64) as f64 / POW10[frac.len()];
        return Some((if neg { -v } else { v }, separator));
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
    let v = std::str::from_utf8(&buf[..n]).ok()?.parse::<f64>().ok()?;
    Some((v, separator))
}

/// Parses a number written as text: whitespace and a trailing `%` are dropped, thousands
/// separators (`.` `,` `'` space) removed; with `decimal` unknown, the text decides where it
/// can (`1.234,5`, `85,5`, `1,234.5`) and says when it cannot (`1,234`).
///
/// The plain numbers of [`fast_number`] are read inline; the rest out of line, so the common
/// call saves and restores no more than the fast path needs (about 20 instructions a value
/// fewer on the 50-column wide export).
#[inline]
pub(crate) fn parse_number_text(text: &str, decimal: Option<Decimal>) -> Result<NumParse, String> {
    match fast_number(clean(text).as_bytes(), decimal) {
        Some((v, _)) => Ok(NumParse::Number(v)),
        None => parse_number_rest(text, decimal),
    }
}

/// [`parse_number_text`] past the fast path: the full reading, and numbers beyond a double.
#[inline(never)]
fn parse_number_rest(text: &str, decimal: Option<Decimal>) -> Result<NumParse, String> {
    let parsed = parse_number_slow(text, decimal)?;
    // A number beyond a double's range is refused, not rounded to infinity or to 0.
    let representable = |v: f64| {
        v.is_finite()
            && (v != 0.0
                || !text
                    .split(['e', 'E'])
                    .next()
                    .unwrap_or("")
                    .bytes()
                    .any(|b| (b'1'..=b'9').contains(&b)))
    };
    let ok = match parsed {
        NumParse::Number(v) => representable(v),
        NumParse::Ambiguous { point, comma } => representable(point) && representable(comma),
    };
    if ok {
        Ok(parsed)
    } else {
        Err(format!(
            "{:?} is beyond the numbers a value can hold (about 1e-308 to 1e308)",
            text.trim().chars().take(40).collect::<String>()
        ))
    }
}

/// [`parse_number_text`] past the fast path.
fn parse_number_slow(text: &str, decimal: Option<Decimal>) -> Result<NumParse, String> {
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
        // (An infinite one is refused by the caller as beyond a double.)
        if let Ok(v) = s.parse::<f64>()
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

/// A number cell, and the decimal separator its text was seen to have where the plain fast
/// path read it (`Some(0)`: none, `Some(b'.')` or `Some(b',')`; `None`: not known), which
/// spares the caller a look for either in every value.
#[inline]
pub(crate) fn parse_number_seen(
    cell: &Cell<'_>,
    decimal: Option<Decimal>,
) -> (Result<NumParse, String>, Option<u8>) {
    if let Cell::Text(t) = cell
        && let Some((v, separator)) = fast_number(clean(t).as_bytes(), decimal)
    {
        return (Ok(NumParse::Number(v)), Some(separator));
    }
    (parse_number(cell, decimal), None)
}

/// A number cell.
#[inline]
pub(crate) fn parse_number(cell: &Cell<'_>, decimal: Option<Decimal>) -> Result<NumParse, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn numbers_beyond_a_double_are_refused() {
        for t in [
            "1e-400",
            "-1E-999",
            "1e400",
            &"9".repeat(400),
            &format!("0.{}1", "0".repeat(400)),
        ] {
            assert!(parse_number_text(t, None).is_err(), "{t}");
        }
        for t in ["0", "0.0", "0e5", "-0", "1e-300", "1e300"] {
            assert!(parse_number_text(t, None).is_ok(), "{t}");
        }
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

    /// Any decimal setting: none, point or comma.
    fn decimals() -> impl proptest::strategy::Strategy<Value = Option<Decimal>> {
        proptest::prop_oneof![
            proptest::strategy::Just(None),
            proptest::strategy::Just(Some(Decimal::Point)),
            proptest::strategy::Just(Some(Decimal::Comma)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever text of digits, separators and a sign the fast path reads, it reads as the
        /// full reading does (texts shaped like numbers, and any mix).
        #[test]
        fn the_fast_path_reads_as_the_full_reading(
            text in proptest::prop_oneof![
                "-?[0-9]{1,9}([.,][0-9]{0,9})?",
                "-?[0-9]{1,4}[.,][0-9]{2,4}",
                "-?[0-9]{12,20}([.,][0-9]{0,6})?",
                "-?[0-9.,]{0,20}",
            ],
            decimal in decimals(),
        ) {
            if let Some((v, _)) = fast_number(text.as_bytes(), decimal) {
                proptest::prop_assert_eq!(parse_number_slow(&text, decimal), Ok(NumParse::Number(v)));
            }
        }

        /// The separator a number cell is said to have is the one its text has (and none
        /// when it has neither), and the number is the cell's number.
        #[test]
        fn the_separator_seen_is_the_texts(
            text in proptest::prop_oneof![
                " ?-?[0-9]{1,9}([.,][0-9]{0,9})? ?",
                "'?-?[0-9]{12,20}([.,][0-9]{0,6})?%?",
                "-?[0-9.,' ]{0,20}",
            ],
            decimal in decimals(),
        ) {
            let cell = Cell::Text(&text);
            let (parsed, separator) = parse_number_seen(&cell, decimal);
            proptest::prop_assert_eq!(&parsed, &parse_number(&cell, decimal));
            let (point, comma) = (text.contains('.'), text.contains(','));
            match separator {
                None => {}
                Some(0) => proptest::prop_assert!(!point && !comma),
                Some(b'.') => proptest::prop_assert!(point && !comma),
                Some(b',') => proptest::prop_assert!(comma && !point),
                Some(other) => proptest::prop_assert!(false, "separator {}", other),
            }
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
}
