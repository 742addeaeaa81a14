//! Times of day for `Time` KPIs: a cell in, minutes since midnight out (or the reason it is
//! none). Never guessed: `8.5` could be 08:30 or 08:05, `0.5` noon or half a minute, `883`
//! minutes or a clock without its colon — such cells are refused with the setting that
//! settles them ([`TimeFormat`], the mapping's `time_format`).
//!
//! Read without a setting: `14:43`, `8:05`, `14:43:20`, `2:43 PM`, `12 AM`; typed workbook cells
//! (times, date-times, durations under a day) and a workbook number between 0 and 1 (a
//! fraction of a day, which is how a spreadsheet stores a time).

use chrono::{NaiveTime, TimeDelta, Timelike};

use crate::read::Cell;

/// How time cells are written, when the clock forms are not enough (`time_format`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    /// `14:43`, `2:43 PM`, typed cells, day fractions from workbooks.
    #[default]
    Clock,
    /// Whole numbers are minutes since midnight (`883` is 14:43); clock forms too.
    Minutes,
    /// A chrono pattern, e.g. `%H.%M` for `8.30`; clock forms too.
    Pattern(String),
}

impl TimeFormat {
    /// `minutes`, or a chrono pattern that reads a time of day back as it writes it.
    pub(crate) fn parse(s: &str) -> Result<TimeFormat, String> {
        if s.trim().eq_ignore_ascii_case("minutes") {
            return Ok(TimeFormat::Minutes);
        }
        use chrono::format::{Item, StrftimeItems};
        if StrftimeItems::new(s).any(|i| matches!(i, Item::Error)) {
            return Err("is not a valid format (an unknown %-specifier?)".into());
        }
        let probe = NaiveTime::from_hms_opt(8, 30, 0).ok_or("?")?;
        let mut text = String::new();
        if std::fmt::Write::write_fmt(&mut text, format_args!("{}", probe.format(s))).is_err() {
            return Err("does not name a time of day (hours and minutes)".into());
        }
        match NaiveTime::parse_from_str(&text, s) {
            Ok(t) if t == probe => Ok(TimeFormat::Pattern(s.to_string())),
            _ => Err("does not read a time of day back as it writes it (hours and minutes)".into()),
        }
    }
}

/// Minutes since midnight and whether seconds were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Minutes {
    pub(crate) minutes: u32,
    pub(crate) dropped_seconds: bool,
}

fn minutes_of(t: NaiveTime) -> Minutes {
    Minutes {
        minutes: t.hour() * 60 + t.minute(),
        dropped_seconds: t.second() != 0,
    }
}

/// What to write instead, for a cell that is not read as a time.
pub(crate) const TIME_HELP: &str = "write 08:30 (or 8:30 AM), or declare time_format in the mapping's [source] (\"%H.%M\" for 8.30, \"minutes\" for 510)";

/// `14:43`, `14:43:20`, `2:43 PM`, `2 PM`.
fn clock(text: &str) -> Option<Minutes> {
    plain_clock(text.trim().as_bytes()).or_else(|| clock_words(text))
}

/// `14:43`, `8:05` and `14:43:20`, the forms nearly every time cell has, read as
/// [`clock_words`] reads them but without its lower-cased copy and list of parts (a `Time`
/// value cost about 900 instructions, a number 140).
fn plain_clock(b: &[u8]) -> Option<Minutes> {
    let two = |p: &[u8]| match p {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    };
    let colon = b.iter().position(|&c| c == b':')?;
    let (h, rest) = (&b[..colon], &b[colon + 1..]);
    let h = match h {
        [d] if d.is_ascii_digit() => u32::from(d - b'0'),
        _ => two(h)?,
    };
    let (m, s) = match rest {
        [_, _] => (two(rest)?, 0),
        [m0, m1, b':', s0, s1] => (two(&[*m0, *m1])?, two(&[*s0, *s1])?),
        _ => return None,
    };
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(Minutes {
        minutes: h * 60 + m,
        dropped_seconds: s != 0,
    })
}

/// [`clock`] past the plain forms: AM/PM, spaces.
fn clock_words(text: &str) -> Option<Minutes> {
    let lower = text.trim().to_ascii_lowercase();
    let (body, pm) = if let Some(x) = lower.strip_suffix("pm") {
        (x.trim().trim_end_matches('.'), Some(true))
    } else if let Some(x) = lower.strip_suffix("am") {
        (x.trim().trim_end_matches('.'), Some(false))
    } else {
        (lower.as_str(), None)
    };
    let num = |p: &str, max_len: usize| -> Option<u32> {
        if p.is_empty() || p.len() > max_len || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let parts: Vec<&str> = body.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        // "2 PM": an hour alone, only with AM/PM.
        [h] if pm.is_some() => (num(h, 2)?, 0, 0),
        // Minutes and seconds always have two digits: "8:5" is not a time.
        [h, m] if m.len() == 2 => (num(h, 2)?, num(m, 2)?, 0),
        [h, m, s] if m.len() == 2 && s.len() == 2 => (num(h, 2)?, num(m, 2)?, num(s, 2)?),
        _ => return None,
    };
    let h = match pm {
        Some(is_pm) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            (h % 12) + if is_pm { 12 } else { 0 }
        }
        None => h,
    };
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(Minutes {
        minutes: h * 60 + m,
        dropped_seconds: s != 0,
    })
}

/// A time in a declared pattern; each number after the first must have its two digits
/// (`%H.%M` reads `8.30` but not `8.3`, which could be 08:03 or 08:30).
fn pattern(text: &str, fmt: &str) -> Option<Minutes> {
    let text = text.trim();
    let t = NaiveTime::parse_from_str(text, fmt).ok()?;
    let groups: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    if groups.iter().skip(1).any(|g| g.len() != 2) {
        return None;
    }
    Some(minutes_of(t))
}

/// Whole minutes since midnight, 0 to 1439.
fn whole_minutes(v: f64) -> Option<Minutes> {
    (v.fract() == 0.0 && (0.0..=1439.0).contains(&v)).then_some(Minutes {
        minutes: v as u32,
        dropped_seconds: false,
    })
}

/// A time-of-day text.
pub(crate) fn parse_time_text(text: &str, format: &TimeFormat) -> Result<Minutes, String> {
    let s = text.trim().trim_start_matches('\'');
    if let Some(m) = clock(s) {
        return Ok(m);
    }
    match format {
        TimeFormat::Pattern(f) => {
            if let Some(m) = pattern(s, f) {
                return Ok(m);
            }
            return Err(format!(
                "{s:?} is not a time of day in the form {f:?} or 14:43"
            ));
        }
        TimeFormat::Minutes => {
            if s.bytes().all(|b| b.is_ascii_digit())
                && let Some(m) = s.parse::<f64>().ok().and_then(whole_minutes)
            {
                return Ok(m);
            }
            return Err(format!(
                "{s:?} is neither minutes since midnight (0 to 1439) nor a time such as 14:43"
            ));
        }
        TimeFormat::Clock => {}
    }
    let number = s.replace(',', ".");
    if !number.is_empty() && number.parse::<f64>().is_ok() {
        return Err(format!(
            "{s:?} is a number, not a time of day: it could be hours (8.5 for 08:30), a clock without its colon (8.05) or minutes"
        ));
    }
    Err(format!("{s:?} is not a time of day"))
}

/// A time-of-day cell for a `Time` KPI.
pub(crate) fn parse_time(cell: &Cell<'_>, format: &TimeFormat) -> Result<Minutes, String> {
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
        // A workbook number: minutes when declared, else a fraction of a day (how a
        // spreadsheet stores a time); a whole number is neither without the setting.
        Cell::Int(i) if *format == TimeFormat::Minutes => whole_minutes(*i as f64)
            .ok_or_else(|| format!("{i} is not minutes since midnight (0 to 1439)")),
        // Not whole: minutes cannot be, so a number below 1 is the day fraction it is stored as.
        Cell::Float(f) if *format == TimeFormat::Minutes && f.fract() == 0.0 => whole_minutes(*f)
            .ok_or_else(|| format!("{f} is not minutes since midnight (0 to 1439)")),
        Cell::Float(f) if (0.0..1.0).contains(f) => Ok(from_fraction(*f)),
        Cell::Int(_) | Cell::Float(_) => Err(format!(
            "{} could be minutes since midnight or a clock time without its colon",
            cell.display()
        )),
        Cell::Text(t) => parse_time_text(t, format),
        Cell::Empty => Err("the time is empty".into()),
        Cell::Error(e) => Err(format!("the cell holds the error {e}")),
        Cell::Invalid(_) => Err("the cell's bytes are not text in the file's encoding".into()),
        other => Err(format!("a {} is not a time of day", other.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// What the plain reading reads, the full one reads the same way.
        #[test]
        fn a_plain_clock_reads_as_the_full_reading(
            text in proptest::prop_oneof!["[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?", "[0-9:]{0,9}"],
        ) {
            if let Some(m) = plain_clock(text.as_bytes()) {
                proptest::prop_assert_eq!(clock_words(&text), Some(m));
            }
        }
    }

    fn text(s: &str, f: &TimeFormat) -> Result<u32, String> {
        parse_time_text(s, f).map(|m| m.minutes)
    }

    #[test]
    fn clock_forms_read_without_a_setting() {
        let cases = [
            ("14:43", 883, false),
            ("08:00", 480, false),
            ("8:05", 485, false),
            ("14:43:20", 883, true),
            ("2:43 PM", 883, false),
            ("2:43 pm", 883, false),
            ("12:05 AM", 5, false),
            ("12:05 PM", 725, false),
            ("2 PM", 840, false),
        ];
        for (s, minutes, dropped) in cases {
            assert_eq!(
                parse_time_text(s, &TimeFormat::Clock).unwrap(),
                Minutes {
                    minutes,
                    dropped_seconds: dropped
                },
                "{s}"
            );
        }
    }

    #[test]
    fn what_could_mean_two_things_is_refused() {
        for s in [
            "8.5", "0.5", "8,5", "8.30", "14.43", "883", "0", "8:5", "24:00", "14:60", "13:00 PM",
            "noon", "-5",
        ] {
            let e = text(s, &TimeFormat::Clock).unwrap_err();
            assert!(!e.is_empty(), "{s}");
        }
        assert!(
            text("8.5", &TimeFormat::Clock)
                .unwrap_err()
                .contains("could be hours")
        );
        assert!(TIME_HELP.contains("time_format"));
    }

    #[test]
    fn declared_formats() {
        let dot = TimeFormat::parse("%H.%M").unwrap();
        assert_eq!(text("8.30", &dot), Ok(510));
        assert_eq!(text("14.43", &dot), Ok(883));
        assert!(text("8.3", &dot).is_err());
        assert!(text("8.5", &dot).is_err());
        assert_eq!(text("08:30", &dot), Ok(510));
        let minutes = TimeFormat::parse("minutes").unwrap();
        assert_eq!(text("883", &minutes), Ok(883));
        assert!(text("1440", &minutes).is_err());
        assert!(text("8.5", &minutes).is_err());
        assert!(TimeFormat::parse("%d.%m").is_err());
        assert!(TimeFormat::parse("%H:%Q").is_err());
    }

    #[test]
    fn time_cells() {
        let clock = TimeFormat::Clock;
        let t = NaiveTime::from_hms_opt(14, 43, 0).unwrap();
        assert_eq!(parse_time(&Cell::Time(t), &clock).unwrap().minutes, 883);
        assert_eq!(
            parse_time(&Cell::Float(0.6131944444), &clock)
                .unwrap()
                .minutes,
            883
        );
        assert_eq!(parse_time(&Cell::Float(0.5), &clock).unwrap().minutes, 720);
        assert!(parse_time(&Cell::Float(883.0), &clock).is_err());
        assert!(parse_time(&Cell::Int(883), &clock).is_err());
        let minutes = TimeFormat::Minutes;
        assert_eq!(parse_time(&Cell::Int(883), &minutes).unwrap().minutes, 883);
        assert_eq!(
            parse_time(&Cell::Float(883.0), &minutes).unwrap().minutes,
            883
        );
        // Not whole, so not minutes: the day fraction a workbook stores a time as.
        assert_eq!(
            parse_time(&Cell::Float(0.5), &minutes).unwrap().minutes,
            720
        );
        assert!(parse_time(&Cell::Float(1.5), &minutes).is_err());
        assert_eq!(
            parse_time(&Cell::Duration(TimeDelta::minutes(480)), &clock)
                .unwrap()
                .minutes,
            480
        );
        assert!(parse_time(&Cell::Duration(TimeDelta::hours(30)), &clock).is_err());
    }

    /// Every minute of the day, in every clock form and as a workbook's day fraction and time
    /// cell, reads back as itself (exhaustive: all 1,440).
    #[test]
    fn every_minute_round_trips_in_every_form() {
        let clock = TimeFormat::Clock;
        for m in 0..1440u32 {
            let (h, mm) = (m / 60, m % 60);
            let (h12, ampm) = match h {
                0 => (12, "AM"),
                1..=11 => (h, "AM"),
                12 => (12, "PM"),
                _ => (h - 12, "PM"),
            };
            for written in [
                format!("{h:02}:{mm:02}"),
                format!("{h}:{mm:02}"),
                format!("{h12}:{mm:02} {ampm}"),
                format!("{h12}:{mm:02} {}", ampm.to_lowercase()),
                format!("{h:02}:{mm:02}:00"),
            ] {
                assert_eq!(text(&written, &clock), Ok(m), "{written:?}");
            }
            let fraction = f64::from(m) / 1440.0;
            assert_eq!(
                parse_time(&Cell::Float(fraction), &clock).map(|x| x.minutes),
                Ok(m),
                "day fraction {fraction}"
            );
            let t = NaiveTime::from_hms_opt(h, mm, 0).unwrap();
            assert_eq!(parse_time(&Cell::Time(t), &clock).map(|x| x.minutes), Ok(m));
            assert_eq!(text(&m.to_string(), &TimeFormat::Minutes), Ok(m));
            let dotted = TimeFormat::parse("%H.%M").unwrap();
            assert_eq!(text(&format!("{h}.{mm:02}"), &dotted), Ok(m));
        }
    }
}
