//! Entry points for the fuzz targets in `fuzz/` (docs/FUZZING.md): each feeds arbitrary input
//! to one stage the way the binary does and checks what must hold whatever the input. Not a
//! stable API.

use std::io::Write;

use crate::normalize::{self, DateOptions, DateParse, Decimal, NumParse, TimeFormat};
use crate::read::{Input, Source, SourceOptions};

/// Reads `bytes` as a file named `fuzz.EXT` (the same open, sniff and read as `inspect`):
/// every row is visited; errors are fine, panics are not.
pub fn read(bytes: &[u8], ext: &str) {
    // A panic inside the workbook reader library is caught and reported as the file's error
    // (as the binary does); the fuzzer's own hook, which aborts on any panic, still sees the
    // rest.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let fuzzer = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().contains("/calamine-"))
            {
                fuzzer(info);
            }
        }));
    });
    let dir = std::env::temp_dir().join(format!("vsimport-fuzz-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join(format!("fuzz.{ext}"));
    let Ok(mut f) = std::fs::File::create(&path) else {
        return;
    };
    if f.write_all(bytes).is_err() {
        return;
    }
    drop(f);
    let Ok(mut src) = Source::open(&Input::Path(path), &SourceOptions::default()) else {
        return;
    };
    let width = src.detected().columns.len();
    let _ = src.for_each_row(|row| {
        for i in 0..width + 1 {
            let _ = row.cell(i).display();
        }
        true
    });
}

/// Parses `text` as a mapping file.
pub fn mapping(text: &str) {
    let _ = crate::map::Mapping::parse("fuzz.mapping.toml", text);
}

/// Normalises `text` as a date, a time and a number under each setting, checking the
/// results: a date in the years a record may have reads back from its ISO form (years outside
/// are refused by the validate stage, not here), minutes within a day, finite numbers.
pub fn normalise(text: &str) {
    for order in [
        None,
        Some(normalize::DayOrder::DayFirst),
        Some(normalize::DayOrder::MonthFirst),
    ] {
        let opts = DateOptions {
            order,
            ..DateOptions::default()
        };
        if let Ok(DateParse::Date { date, .. }) = normalize::parse_date_text(text, &opts) {
            use chrono::Datelike;
            if opts.years.contains(&date.year()) {
                let iso = date.format("%Y-%m-%d").to_string();
                let again = normalize::parse_date_text(&iso, &DateOptions::default());
                assert!(
                    matches!(again, Ok(DateParse::Date { date: d, .. }) if d == date),
                    "{text:?} -> {date} -> {again:?}"
                );
            }
        }
    }
    for format in [
        TimeFormat::Clock,
        TimeFormat::Minutes,
        TimeFormat::Pattern("%H.%M".into()),
    ] {
        if let Ok(m) = normalize::parse_time_text(text, &format) {
            assert!(m.minutes < 24 * 60, "{text:?} -> {} minutes", m.minutes);
        }
    }
    for decimal in [None, Some(Decimal::Point), Some(Decimal::Comma)] {
        match normalize::parse_number_text(text, decimal) {
            Ok(NumParse::Number(n)) => assert!(n.is_finite(), "{text:?} -> {n}"),
            Ok(NumParse::Ambiguous { point, comma }) => {
                assert!(point.is_finite() && comma.is_finite(), "{text:?}")
            }
            Err(_) => {}
        }
    }
}
