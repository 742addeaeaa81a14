//! The samples in samples/: realistic exports of the fictitious plant in samples/catalog.json,
//! each with its mapping. Made by the code here (regenerate with
//! `cargo test --test it regenerate_samples -- --ignored`); every one is run through a dry run
//! against the catalog with its output pinned, and the clean ones are imported into the
//! emulator and read back.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::harness::*;

/// A CSV sample: its name, its bytes.
type Made = (&'static str, Vec<u8>);

const SOUTH: &str = "Montage Süd";
const NORTH: &str = "Montage Nord";

fn day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(u64::from(d - 1))
}

/// A Power BI "Export data" CSV: UTF-8 with a byte order mark, every field quoted, US dates
/// (`1/13/2025`), one row per value (long layout).
fn powerbi() -> Made {
    let mut rng = fastrand::Rng::with_seed(1);
    let mut s = String::from("\u{feff}\"Date\",\"Team\",\"KPI\",\"Measure\",\"Value\"\r\n");
    // Weekdays only.
    for d in (6..=17).filter(|d| {
        use chrono::Datelike;
        day(*d).weekday().number_from_monday() <= 5
    }) {
        let date = day(d).format("%-m/%-d/%Y");
        for team in [SOUTH, NORTH, "Presswerk"] {
            let rows = [
                ("Output", "Actual", rng.u32(1100..1300).to_string()),
                ("Output", "Target", "1250".into()),
                ("Scrap", "Actual", rng.u32(0..20).to_string()),
                ("Scrap", "Target", "10".into()),
                ("Line stop time", "Actual", rng.u32(0..45).to_string()),
                ("Line stop time", "Target", "30".into()),
            ];
            for (kpi, measure, value) in rows {
                s.push_str(&format!(
                    "\"{date}\",\"{team}\",\"{kpi}\",\"{measure}\",\"{value}\"\r\n"
                ));
            }
        }
    }
    ("powerbi_daily_long.csv", s.into_bytes())
}

/// A monthly sheet, one column per KPI (wide layout), months written `Jan 2025`.
fn monthly() -> Made {
    let mut rng = fastrand::Rng::with_seed(2);
    let catalog: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample_catalog()).unwrap()).unwrap();
    let teams: Vec<String> = catalog["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let mut s =
        String::from("Month,Team,5S audit score,5S target,Improvement ideas,Ideas target\n");
    for month in ["Jan", "Feb", "Mar", "Apr", "May", "Jun"] {
        for team in &teams {
            let team = if team.contains(',') || team.contains('&') {
                format!("\"{team}\"")
            } else {
                team.clone()
            };
            s.push_str(&format!(
                "{month} 2025,{team},{},80,{},4\n",
                rng.u32(60..98),
                rng.u32(0..9)
            ));
        }
    }
    ("monthly_wide.csv", s.into_bytes())
}

/// Weekly KPIs recorded on whatever weekday someone got to it: each date is moved to the
/// Monday of its week (a note says so).
fn weekly() -> Made {
    let mut rng = fastrand::Rng::with_seed(3);
    let mut s = String::from("Recorded on,Team,KPI,Value\n");
    for week in 0..8u32 {
        for team in ["Werkzeugbau", "Presswerk", "Spritzguss"] {
            let monday = day(6 + 7 * week);
            let d = monday + chrono::Days::new(rng.u64(0..5));
            s.push_str(&format!(
                "{},{team},Near misses,{}\n",
                d.format("%Y-%m-%d"),
                rng.u32(0..4)
            ));
            let d = monday + chrono::Days::new(rng.u64(0..5));
            s.push_str(&format!(
                "{},{team},Tool changes,{}\n",
                d.format("%Y-%m-%d"),
                rng.u32(2..14)
            ));
        }
    }
    ("weekly_random_weekdays.csv", s.into_bytes())
}

/// A hand-kept sheet with the mistakes people make, each refused (or noted) at its cell.
fn mistakes() -> Made {
    let rows = [
        "2025-01-06,Montage Süd,OEE,84.5,90",
        "2025-01-06,Montage Süd,Output,1220,1250",
        "2025-01-06,Montage Sud,OEE,81.0,90",
        "2025-01-06,Montage Nord,Scrap rte,2.1,1.5",
        "31.02.2025,Montage Nord,OEE,79.5,90",
        "2025-01-07,Montage Nord,Output,1180.5,1250",
        "2025-01-07,Montage Nord,OEE,approx. 80,90",
        "2025-01-07,Montage Nord,Shift start,8.5,06:00",
        "2025-01-07,Montage Süd,On-time delivery,97,98",
        "2205-01-07,Montage Süd,OEE,83.0,90",
        "2025-01-08,Montage Süd,Output,12%,1250",
        "2025-01-08,Montage Süd,OEE,86.0,90",
        "2025-01-08,Montage Süd,OEE,88.0,90",
        "2025-01-08,Montage Nord,OEE,85.5,90",
        "2025-01-08,Montage Nord,Output,1240,1250",
    ];
    let mut s = String::from("Date,Team,KPI,Actual,Target\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    ("typical_mistakes.csv", s.into_bytes())
}

/// A German Excel export: three title rows and a blank one above the header, real date cells,
/// some amounts stored as text with a decimal comma, and a totals row at the bottom.
fn german_workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let props = rust_xlsxwriter::DocProperties::new()
        .set_creation_datetime(&ExcelDateTime::from_ymd(2025, 1, 13).unwrap());
    wb.set_properties(&props);
    let ws = wb.add_worksheet();
    ws.set_name("Tagesbericht").unwrap();
    let bold = Format::new().set_bold();
    let date_format = Format::new().set_num_format("dd.mm.yyyy");
    ws.write_string_with_format(0, 0, "Produktionskennzahlen Werk 3", &bold)
        .unwrap();
    ws.write_string(1, 0, "Zeitraum: 06.01.2025 – 10.01.2025")
        .unwrap();
    ws.write_string(2, 0, "Erstellt am 13.01.2025 (MES-Export)")
        .unwrap();
    for (c, h) in ["Datum", "Bereich", "Kennzahl", "Istwert", "Sollwert"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(4, c as u16, *h, &bold).unwrap();
    }
    let mut rng = fastrand::Rng::with_seed(4);
    let mut r = 5;
    let mut rework = 0;
    for d in 6..=10 {
        for team in ["Lackiererei", "Schweißerei", "Spritzguss"] {
            let date = ExcelDateTime::from_ymd(2025, 1, d as u8).unwrap();
            let oee = f64::from(rng.u32(780..905)) / 10.0;
            let scrap = f64::from(rng.u32(8..35)) / 10.0;
            let n = rng.u32(0..12);
            rework += n;
            // OEE as the MES writes it: text with a decimal comma.
            let rows: [(&str, Option<String>, Option<f64>, f64); 3] = [
                (
                    "OEE",
                    Some(format!("{oee:.1}").replace('.', ",")),
                    None,
                    85.0,
                ),
                ("Scrap rate", None, Some(scrap), 2.0),
                ("Rework", None, Some(f64::from(n)), 0.0),
            ];
            for (kpi, text, number, target) in rows {
                ws.write_datetime_with_format(r, 0, &date, &date_format)
                    .unwrap();
                ws.write_string(r, 1, team).unwrap();
                ws.write_string(r, 2, kpi).unwrap();
                match (text, number) {
                    (Some(t), _) => ws.write_string(r, 3, t).unwrap(),
                    (None, Some(n)) => ws.write_number(r, 3, n).unwrap(),
                    (None, None) => unreachable!(),
                };
                if kpi != "Rework" {
                    ws.write_number(r, 4, target).unwrap();
                }
                r += 1;
            }
        }
    }
    ws.write_string_with_format(r, 0, "Summe", &bold).unwrap();
    ws.write_string(r, 2, "Rework").unwrap();
    ws.write_number(r, 3, f64::from(rework)).unwrap();
    ws.set_column_width(0, 12).unwrap();
    ws.set_column_width(1, 16).unwrap();
    ws.set_column_width(2, 14).unwrap();
    wb.save_to_buffer().unwrap()
}

fn made() -> Vec<Made> {
    vec![
        powerbi(),
        monthly(),
        weekly(),
        mistakes(),
        ("produktion_de.xlsx", german_workbook()),
    ]
}

#[test]
#[ignore = "writes samples/"]
fn regenerate_samples() {
    for (name, bytes) in made() {
        std::fs::write(root().join("samples").join(name), bytes).unwrap();
    }
}

#[test]
fn every_made_sample_is_as_committed() {
    for (name, bytes) in made() {
        let committed = std::fs::read(root().join("samples").join(name)).unwrap();
        if name.ends_with(".csv") {
            assert!(
                committed == bytes,
                "samples/{name} differs from what tests/it/samples.rs makes"
            );
        } else {
            assert!(!committed.is_empty(), "samples/{name}");
        }
    }
}

/// Every sample with its mapping, and the exit code its dry run has (1: rows rejected).
const SAMPLES: [(&str, &str, i32); 8] = [
    ("oee_semi_wide_de.csv", "oee_semi_wide_de.mapping.toml", 0),
    (
        "weekly_safety_wide.csv",
        "weekly_safety_wide.mapping.toml",
        0,
    ),
    ("shift_times.xlsx", "shift_times.mapping.toml", 0),
    (
        "powerbi_daily_long.csv",
        "powerbi_daily_long.mapping.toml",
        0,
    ),
    ("produktion_de.xlsx", "produktion_de.mapping.toml", 0),
    ("monthly_wide.csv", "monthly_wide.mapping.toml", 0),
    (
        "weekly_random_weekdays.csv",
        "weekly_random_weekdays.mapping.toml",
        0,
    ),
    ("typical_mistakes.csv", "typical_mistakes.mapping.toml", 1),
];

#[test]
fn every_sample_reads_as_its_mapping_says() {
    let dir = root().join("samples");
    for (file, mapping, code) in SAMPLES {
        let r = in_dir(
            &dir,
            &[
                "import",
                file,
                "-m",
                mapping,
                "--catalog",
                "catalog.json",
                "--dry-run",
            ],
        );
        assert_eq!(r.code, code, "{file}: {}", r.all());
        let name = file.split('.').next().unwrap_or(file);
        snapshots().bind(|| insta::assert_snapshot!(format!("sample_{name}"), shown(&r)));
    }
}

#[test]
fn the_clean_samples_import_and_a_second_run_sends_nothing() {
    let em = Emulator::start(&[]);
    let dir = root().join("samples");
    for (file, mapping, code) in SAMPLES.iter().filter(|s| s.2 == 0) {
        let state = tempfile::tempdir().unwrap();
        let go = || {
            let mut c = vs(&["import", file, "-m", mapping, "--url", &em.url, "-q"]);
            c.current_dir(&dir).env("VS_STATE_DIR", state.path());
            run(c)
        };
        let puts = || em.log().iter().filter(|e| e["method"] == "PUT").count();
        let before = puts();
        let first = go();
        assert_eq!(first.code, *code, "{file}: {}", first.all());
        let written = puts();
        assert!(written > before, "{file}: written");
        let again = go();
        assert_eq!(again.code, 0, "{file}, already there: {}", again.all());
        assert_eq!(puts(), written, "{file}: the second run sends nothing");
    }
    em.stop();
}

/// `mapping init` on a sample suggests a mapping that reads every row (shift_times.xlsx needs
/// `time_format`, which nothing in a file can tell; the mistakes sample has its mistakes).
#[test]
fn mapping_init_suggests_a_mapping_that_reads_each_sample() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = sample_catalog();
    for (file, _, _) in SAMPLES
        .iter()
        .filter(|s| !["shift_times.xlsx", "typical_mistakes.csv"].contains(&s.0))
    {
        let path = root().join("samples").join(file);
        let mapping = dir.path().join(format!("{file}.mapping.toml"));
        let (p, m, c) = (
            path.to_str().unwrap(),
            mapping.to_str().unwrap(),
            catalog.to_str().unwrap(),
        );
        let init = run(vs(&["mapping", "init", p, "--catalog", c, "-o", m]));
        assert_eq!(init.code, 0, "{file}: {}", init.all());
        let dry = run(vs(&["import", p, "-m", m, "--catalog", c, "--dry-run"]));
        assert_eq!(dry.code, 0, "{file}: {}", dry.all());
        assert!(dry.stdout.contains(" 0 rejected"), "{file}: {}", dry.stdout);
    }
}
