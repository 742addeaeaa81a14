//! Property tests (proptest) for the normalisers: values written the ways exports write them
//! read back as themselves. The exhaustive tests beside each normaliser cover every minute and
//! every day from 1900 to 2100 in their plain forms; these add numbers and the noise around
//! values (spaces, case, thousands separators).

use proptest::prelude::*;

use super::date::{DateOptions, DateParse, DayOrder, parse_date_text};
use super::number::{Decimal, NumParse, parse_number_text};
use super::time::{TimeFormat, parse_time_text};

fn number(text: &str, decimal: Option<Decimal>) -> Option<f64> {
    match parse_number_text(text, decimal) {
        Ok(NumParse::Number(n)) => Some(n),
        _ => None,
    }
}

/// `1234567` as `1.234.567` (or with another separator).
fn grouped(mut n: u64, sep: char) -> String {
    let mut groups = Vec::new();
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let mut out = groups.pop().unwrap_or(0).to_string();
    while let Some(g) = groups.pop() {
        out.push(sep);
        out.push_str(&format!("{g:03}"));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any double written as Rust writes it (shortest form that reads back) reads back exactly,
    /// with a decimal point and, told so, with a decimal comma.
    #[test]
    fn doubles_round_trip(n in -1e12f64..1e12) {
        let written = format!("{n}");
        prop_assert_eq!(number(&written, Some(Decimal::Point)), Some(n));
        prop_assert_eq!(number(&written.replace('.', ","), Some(Decimal::Comma)), Some(n));
        prop_assert_eq!(number(&format!("  {written} "), Some(Decimal::Point)), Some(n));
    }

    /// Amounts with thousands separators and two decimals, German and English style, read as
    /// the same number as the plain form.
    #[test]
    fn grouped_amounts_round_trip(whole in 0u64..1_000_000_000_000, cents in 0u32..100, negative: bool) {
        let sign = if negative { "-" } else { "" };
        let plain = format!("{sign}{whole}.{cents:02}");
        let expected = number(&plain, Some(Decimal::Point));
        prop_assert!(expected.is_some());
        let german = format!("{sign}{},{cents:02}", grouped(whole, '.'));
        let english = format!("{sign}{}.{cents:02}", grouped(whole, ','));
        prop_assert_eq!(number(&german, Some(Decimal::Comma)), expected);
        prop_assert_eq!(number(&english, Some(Decimal::Point)), expected);
    }

    /// A minute of the day in a clock form, with spaces around and AM/PM in any case, reads
    /// back as itself.
    #[test]
    fn clock_times_round_trip(m in 0u32..1440, pad_left in 0usize..3, pad_right in 0usize..3, upper: bool) {
        let (h, mm) = (m / 60, m % 60);
        let (h12, ampm) = match h {
            0 => (12, "am"),
            1..=11 => (h, "am"),
            12 => (12, "pm"),
            _ => (h - 12, "pm"),
        };
        let ampm = if upper { ampm.to_uppercase() } else { ampm.to_string() };
        let (l, r) = (" ".repeat(pad_left), " ".repeat(pad_right));
        for written in [format!("{l}{h:02}:{mm:02}{r}"), format!("{l}{h12}:{mm:02} {ampm}{r}")] {
            let got = parse_time_text(&written, &TimeFormat::Clock).map(|x| x.minutes);
            prop_assert_eq!(got, Ok(m), "{:?}", written);
        }
    }

    /// A day from 1900 to 2100 in each accepted form, with spaces around, reads back as itself.
    #[test]
    fn dates_round_trip(offset in 0i64..73_414, pad in 0usize..3) {
        let day = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::TimeDelta::days(offset);
        let dayfirst = DateOptions { order: Some(DayOrder::DayFirst), ..Default::default() };
        let monthfirst = DateOptions { order: Some(DayOrder::MonthFirst), ..Default::default() };
        let plain = DateOptions::default();
        let p = " ".repeat(pad);
        for (written, opts) in [
            (day.format("%Y-%m-%d").to_string(), &plain),
            (day.format("%Y/%m/%d").to_string(), &plain),
            (day.format("%d.%m.%Y").to_string(), &plain),
            (day.format("%-d.%-m.%Y").to_string(), &plain),
            (day.format("%d-%m-%Y").to_string(), &plain),
            (day.format("%Y%m%d").to_string(), &plain),
            (day.format("%d/%m/%Y").to_string(), &dayfirst),
            (day.format("%m/%d/%Y").to_string(), &monthfirst),
        ] {
            let text = format!("{p}{written}{p}");
            let got = match parse_date_text(&text, opts) {
                Ok(DateParse::Date { date, .. }) => Some(date),
                _ => None,
            };
            prop_assert_eq!(got, Some(day), "{:?}", text);
        }
    }
}
