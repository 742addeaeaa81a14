//! Times of day for `Time` KPIs: a cell in, minutes since midnight out (or the reason it is
//! none).

use chrono::{NaiveTime, TimeDelta, Timelike};

use crate::read::Cell;

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

/// A time-of-day text: `14:43`, `14:43:20`, `2:43 PM`, `14.43`, or plain minutes `883`.
pub(crate) fn parse_time_text(text: &str) -> Result<Minutes, String> {
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
pub(crate) fn parse_time(cell: &Cell<'_>) -> Result<Minutes, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
