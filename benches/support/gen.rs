//! Synthetic BI exports of any size, for benchmarks: long, semi-wide and wide layouts, CSV or
//! XLSX, English or German locale. KPI and team names come from samples/catalog.json's plant,
//! so the files also import against the sample catalog.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

pub const TEAMS: [&str; 6] = [
    "Montage Süd",
    "Montage Nord",
    "Lackiererei",
    "Presswerk",
    "Schweißerei",
    "Spritzguss",
];
/// DAY KPIs with Actual and Target that all six teams record.
pub const KPIS: [&str; 5] = ["OEE", "Output", "Scrap rate", "Scrap", "Line stop time"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    /// Date, Team, KPI, Value, Amount: one value per row.
    Long,
    /// Date, Team, KPI, Actual, Target: one record per row.
    SemiWide,
    /// Date, Team, then one column per KPI (actuals).
    Wide,
}

impl Layout {
    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "long" => Some(Layout::Long),
            "semi-wide" => Some(Layout::SemiWide),
            "wide" => Some(Layout::Wide),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Locale {
    En,
    De,
}

/// Row `i`'s date as (year, month, day): rows walk through days, one block per team x KPI,
/// so that no two rows share a record key.
fn key(i: u64, layout: Layout) -> (chrono::NaiveDate, &'static str, &'static str, u64) {
    let per_day: u64 = match layout {
        Layout::Long => (TEAMS.len() * KPIS.len() * 2) as u64,
        Layout::SemiWide => (TEAMS.len() * KPIS.len()) as u64,
        Layout::Wide => TEAMS.len() as u64,
    };
    let day = i / per_day;
    let within = i % per_day;
    let base = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let date = base + chrono::Duration::days(day as i64);
    let team = TEAMS[(within % TEAMS.len() as u64) as usize];
    let rest = within / TEAMS.len() as u64;
    let kpi = KPIS[(rest % KPIS.len() as u64) as usize];
    (date, team, kpi, rest / KPIS.len() as u64)
}

fn value(i: u64, kpi: &str) -> f64 {
    let x = (i.wrapping_mul(2_654_435_761) % 10_000) as f64;
    match kpi {
        "OEE" | "Scrap rate" => 50.0 + x / 250.0,
        _ => (x / 10.0).round(),
    }
}

fn number(v: f64, locale: Locale) -> String {
    let s = if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    };
    match locale {
        Locale::En => s,
        Locale::De => s.replace('.', ","),
    }
}

fn date(d: chrono::NaiveDate, locale: Locale) -> String {
    match locale {
        Locale::En => d.format("%Y-%m-%d").to_string(),
        Locale::De => d.format("%d.%m.%Y").to_string(),
    }
}

pub fn header(layout: Layout) -> Vec<&'static str> {
    match layout {
        Layout::Long => vec!["Date", "Team", "KPI", "Value", "Amount"],
        Layout::SemiWide => vec!["Date", "Team", "KPI", "Actual", "Target"],
        Layout::Wide => {
            let mut h = vec!["Date", "Team"];
            h.extend(KPIS);
            h
        }
    }
}

/// The cells of data row `i` as text.
pub fn row(i: u64, layout: Layout, locale: Locale) -> Vec<String> {
    let (d, team, kpi, slot) = key(i, layout);
    match layout {
        Layout::Long => vec![
            date(d, locale),
            team.into(),
            kpi.into(),
            if slot == 0 { "Actual" } else { "Target" }.into(),
            number(value(i, kpi), locale),
        ],
        Layout::SemiWide => vec![
            date(d, locale),
            team.into(),
            kpi.into(),
            number(value(i, kpi), locale),
            number(value(i + 7, kpi), locale),
        ],
        Layout::Wide => {
            let mut r = vec![date(d, locale), team.into()];
            r.extend(KPIS.iter().map(|k| number(value(i, k), locale)));
            r
        }
    }
}

pub fn write_csv(path: &Path, rows: u64, layout: Layout, locale: Locale) -> std::io::Result<()> {
    let sep = match locale {
        Locale::En => ",",
        Locale::De => ";",
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "{}", header(layout).join(sep))?;
    for i in 0..rows {
        writeln!(w, "{}", row(i, layout, locale).join(sep))?;
    }
    w.flush()
}

pub fn write_xlsx(
    path: &Path,
    rows: u64,
    layout: Layout,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in header(layout).iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for i in 0..rows {
        let r = (i + 1) as u32;
        let cells = row(i, layout, Locale::En);
        let (d, ..) = key(i, layout);
        let dt = ExcelDateTime::parse_from_str(&d.format("%Y-%m-%d").to_string())?;
        ws.write_datetime_with_format(r, 0, dt, &date_fmt)?;
        for (c, text) in cells.iter().enumerate().skip(1) {
            match text.parse::<f64>() {
                Ok(v) => ws.write_number(r, c as u16, v)?,
                Err(_) => ws.write_string(r, c as u16, text)?,
            };
        }
    }
    wb.save(path)
}

/// `target/bench-data/NAME`, made by `make` the first time it is asked for.
pub fn bench_file(name: &str, make: impl FnOnce(&Path)) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data");
    std::fs::create_dir_all(&dir).expect("create target/bench-data");
    let p = dir.join(name);
    if !p.exists() {
        make(&p);
    }
    p
}

/// A benchmark input, made on first use and then remembered for the process.
fn cached(
    cell: &'static std::sync::OnceLock<std::path::PathBuf>,
    name: &str,
    make: impl FnOnce(&Path),
) -> &'static std::path::PathBuf {
    cell.get_or_init(|| bench_file(name, make))
}

/// The benchmarks' CSV: 1,000,000 semi-wide rows (2,000,000 values).
pub fn csv_1m() -> &'static std::path::PathBuf {
    static F: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    cached(&F, "semi_wide_1m.csv", |p| {
        write_csv(p, 1_000_000, Layout::SemiWide, Locale::En).expect("write csv")
    })
}

/// The upload benchmarks' CSV: 10,000 semi-wide records.
pub fn csv_10k() -> &'static std::path::PathBuf {
    static F: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    cached(&F, "semi_wide_10k.csv", |p| {
        write_csv(p, 10_000, Layout::SemiWide, Locale::En).expect("write csv")
    })
}

/// The benchmarks' workbook: 100,000 semi-wide rows with real date cells.
pub fn xlsx_100k() -> &'static std::path::PathBuf {
    static F: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    cached(&F, "semi_wide_100k.xlsx", |p| {
        write_xlsx(p, 100_000, Layout::SemiWide).expect("write xlsx")
    })
}

/// The mapping of the semi-wide files above (Date, Team, KPI, Actual, Target).
pub fn semi_wide_mapping() -> &'static std::path::PathBuf {
    static F: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    cached(&F, "semi_wide.mapping.toml", |p| {
        std::fs::write(
            p,
            "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
        )
        .expect("write mapping")
    })
}

/// The order data rows are written in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Order {
    /// By date, each day's rows together (how most exports come).
    Grouped,
    Reverse,
    /// A fixed pseudo-random permutation (seed 42).
    Random,
}

/// The row numbers `0..rows` in `order`.
pub fn ordered(rows: u64, order: Order) -> Vec<u64> {
    let mut v: Vec<u64> = (0..rows).collect();
    match order {
        Order::Grouped => {}
        Order::Reverse => v.reverse(),
        Order::Random => fastrand::Rng::with_seed(42).shuffle(&mut v),
    }
    v
}

/// A CSV of `rows` rows in `order`; `cp1252` writes it as Windows-1252 (German exports).
pub fn write_csv_shaped(
    path: &Path,
    rows: u64,
    layout: Layout,
    locale: Locale,
    order: Order,
    cp1252: bool,
) -> std::io::Result<()> {
    let sep = match locale {
        Locale::En => ",",
        Locale::De => ";",
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut put = |line: String| -> std::io::Result<()> {
        if cp1252 {
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&line);
            w.write_all(&bytes)
        } else {
            w.write_all(line.as_bytes())
        }
    };
    put(format!("{}\n", header(layout).join(sep)))?;
    for i in ordered(rows, order) {
        put(format!("{}\n", row(i, layout, locale).join(sep)))?;
    }
    w.flush()
}

/// What a shape's vsimport run is compared with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Raw {
    /// The csv crate's read of the file.
    Csv,
    /// The csv crate's read of the file transcoded from cp1252 by encoding_rs (`;`).
    Cp1252,
    /// calamine's range read of the workbook's first sheet.
    Calamine,
}

/// A benchmark shape: its name, the file, its mapping, what its raw read is, and the catalog
/// it is checked against.
pub type Shape = (
    &'static str,
    std::path::PathBuf,
    std::path::PathBuf,
    Raw,
    std::path::PathBuf,
);

/// The benchmark shapes.
pub fn shapes() -> Vec<Shape> {
    let sample_catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/catalog.json");
    let semi = semi_wide_mapping().clone();
    let long = bench_file("long.mapping.toml", |p| {
        std::fs::write(
            p,
            "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\nvalue_name = \"Value\"\nvalue = \"Amount\"\n",
        )
        .expect("write mapping")
    });
    let semi_de = bench_file("semi_wide_de.mapping.toml", |p| {
        std::fs::write(
            p,
            "[source]\ndelimiter = \";\"\ndecimal = \",\"\n[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
        )
        .expect("write mapping")
    });
    let wide = bench_file("wide.mapping.toml", |p| {
        let mut m = String::from("[columns]\ndate = \"Date\"\nteam = \"Team\"\n[kpis]\n");
        for k in KPIS {
            m.push_str(&format!("{k:?} = {{ kpi = {k:?}, value = \"Actual\" }}\n"));
        }
        std::fs::write(p, m).expect("write mapping")
    });
    let shaped = |name: &str, rows, layout, locale, order, cp1252| {
        bench_file(name, |p| {
            write_csv_shaped(p, rows, layout, locale, order, cp1252).expect("write csv")
        })
    };
    vec![
        (
            "semi-wide 1M, grouped",
            csv_1m().clone(),
            semi.clone(),
            Raw::Csv,
            sample_catalog.clone(),
        ),
        (
            "semi-wide 1M, random order",
            shaped(
                "semi_wide_1m_random.csv",
                1_000_000,
                Layout::SemiWide,
                Locale::En,
                Order::Random,
                false,
            ),
            semi.clone(),
            Raw::Csv,
            sample_catalog.clone(),
        ),
        (
            "semi-wide 1M, reverse order",
            shaped(
                "semi_wide_1m_reverse.csv",
                1_000_000,
                Layout::SemiWide,
                Locale::En,
                Order::Reverse,
                false,
            ),
            semi.clone(),
            Raw::Csv,
            sample_catalog.clone(),
        ),
        (
            "German cp1252 `;` decimal comma 1M, random",
            shaped(
                "semi_wide_1m_de_cp1252.csv",
                1_000_000,
                Layout::SemiWide,
                Locale::De,
                Order::Random,
                true,
            ),
            semi_de,
            Raw::Cp1252,
            sample_catalog.clone(),
        ),
        (
            "long 2M",
            shaped(
                "long_2m.csv",
                2_000_000,
                Layout::Long,
                Locale::En,
                Order::Grouped,
                false,
            ),
            long,
            Raw::Csv,
            sample_catalog.clone(),
        ),
        (
            // Six rows a day: 200,000 rows span 91 years (more would leave 1900..2100).
            "wide 200k x 5 KPIs (1M values)",
            shaped(
                "wide_200k.csv",
                200_000,
                Layout::Wide,
                Locale::En,
                Order::Grouped,
                false,
            ),
            wide,
            Raw::Csv,
            sample_catalog.clone(),
        ),
        (
            "plant: 48 KPIs DAY/WEEK/MONTH, 30 teams, non-ASCII, sub-tiles, 1M random",
            bench_file("plant_1m_random.csv", |p| {
                let dir = p.parent().expect("bench-data");
                plant::write(dir, 1_000_000, Order::Random).expect("write plant")
            }),
            bench_file("plant.mapping.toml", |_| {}),
            Raw::Csv,
            bench_file("plant_catalog.json", |_| {}),
        ),
        (
            "wide 40k x 50 KPIs, 20 non-ASCII teams (2M cells, 1/7 empty)",
            bench_file("wide50_40k.csv", |p| {
                let dir = p.parent().expect("bench-data");
                plant::write_wide(dir, 40_000).expect("write wide")
            }),
            bench_file("wide50.mapping.toml", |_| {}),
            Raw::Csv,
            bench_file("wide50_catalog.json", |_| {}),
        ),
        (
            "xlsx 100k semi-wide (date cells)",
            xlsx_100k().clone(),
            semi.clone(),
            Raw::Calamine,
            sample_catalog.clone(),
        ),
        (
            "xlsx 1M semi-wide (date cells)",
            bench_file("semi_wide_1m.xlsx", |p| {
                write_xlsx(p, 1_000_000, Layout::SemiWide).expect("write xlsx")
            }),
            semi,
            Raw::Calamine,
            sample_catalog.clone(),
        ),
    ]
}

/// A plant of 48 KPIs and 30 teams with non-ASCII names: DAY, WEEK and MONTH KPIs, percent,
/// integer, Time, minute and currency KPIs, some with sub-tiles (a generated catalog, since
/// samples/catalog.json's plant is small).
pub mod plant {
    use std::io::Write;
    use std::path::Path;

    pub const KPIS: usize = 48;
    pub const TEAMS: usize = 30;
    const STEMS: [&str; 12] = [
        "Ausschussquote",
        "Stückzahl",
        "Schichtbeginn",
        "Stillstandszeit",
        "Verfügbarkeit",
        "Unfälle",
        "Lagerwert",
        "Störungen nach Ursache",
        "Nacharbeit",
        "Überstunden",
        "Qualitätsrate",
        "Rüstzeit",
    ];
    const PLACES: [&str; 4] = ["Fräsen", "Lötstation", "Montage", "Prüffeld"];
    const HALLS: [&str; 6] = [
        "Halle Süd",
        "Halle Nord",
        "Werk Ötigheim",
        "Lackierstraße",
        "Schweißerei",
        "Außenlager",
    ];
    const SUB_TILES: [&str; 4] = ["Mechanik", "Elektrik", "Materialmangel", "Umrüsten"];

    /// (interval, unit, integer, has sub-tiles) of stem `s`.
    fn kind(s: usize) -> (&'static str, &'static str, bool, bool) {
        match s {
            0 | 10 => ("DAY", "%", false, false),
            1 | 8 => ("DAY", "pcs", true, false),
            2 => ("DAY", "Time", true, false),
            3 | 11 => ("WEEK", "min", true, false),
            4 => ("MONTH", "%", false, false),
            5 => ("WEEK", "count", true, false),
            6 => ("MONTH", "EUR", false, false),
            7 => ("DAY", "min", true, true),
            _ => ("WEEK", "h", false, false),
        }
    }

    pub fn kpi_name(k: usize) -> String {
        format!("{} {}", STEMS[k % 12], PLACES[k / 12])
    }

    pub fn team_name(t: usize) -> String {
        format!("Linie {} – {}", t / 6 + 1, HALLS[t % 6])
    }

    fn id(kind: u32, n: usize) -> String {
        format!("{kind:08x}-0000-4000-8000-{n:012x}")
    }

    /// The catalog: `{"teams": [...], "kpis": [...]}` as samples/catalog.json has it.
    pub fn catalog() -> serde_json::Value {
        let teams: Vec<serde_json::Value> = (0..TEAMS)
            .map(|t| serde_json::json!({"id": id(1, t), "name": team_name(t)}))
            .collect();
        let kpis: Vec<serde_json::Value> = (0..KPIS)
            .map(|k| {
                let (interval, unit, integer, subs) = kind(k % 12);
                let mut v = serde_json::json!({
                    "id": id(2, k),
                    "name": kpi_name(k),
                    "kpiValueIsInteger": integer,
                    "kpiValueTimeReference": interval,
                    "unit": unit,
                    "kpiValues": [
                        {"id": id(3, 2 * k), "name": "Actual"},
                        {"id": id(3, 2 * k + 1), "name": "Target"}
                    ],
                    "recordingTeams": teams.clone(),
                });
                if subs {
                    v["subTiles"] = SUB_TILES
                        .iter()
                        .enumerate()
                        .map(|(i, s)| serde_json::json!({"id": id(4, 10 * k + i), "name": s}))
                        .collect();
                }
                v
            })
            .collect();
        serde_json::json!({"teams": teams, "kpis": kpis})
    }

    /// Row `i`: date, team, KPI, sub-tile, actual, target. Every row its own record: KPI
    /// `i % 48`, team `i / 48 % 30`, the period after that, as a day, a Monday or a 1st.
    fn row(i: u64) -> [String; 6] {
        let k = (i % KPIS as u64) as usize;
        let t = (i / KPIS as u64 % TEAMS as u64) as usize;
        let period = i / (KPIS * TEAMS) as u64;
        let (interval, unit, integer, subs) = kind(k % 12);
        let base = chrono::NaiveDate::from_ymd_opt(2000, 1, 3).expect("a Monday");
        let date = match interval {
            "DAY" => base + chrono::Days::new(period),
            "WEEK" => base + chrono::Days::new(7 * period),
            _ => {
                let first = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("date");
                first + chrono::Months::new(period as u32)
            }
        };
        let x = i.wrapping_mul(2_654_435_761) % 10_000;
        let amount = |x: u64| match unit {
            "Time" => format!("{:02}:{:02}", 5 + x % 4, x % 60),
            _ if integer => format!("{}", x % 500),
            "%" => format!("{:.1}", 50.0 + (x % 500) as f64 / 10.0),
            _ => format!("{:.2}", x as f64 / 7.0),
        };
        [
            date.format("%Y-%m-%d").to_string(),
            team_name(t),
            kpi_name(k),
            if subs {
                SUB_TILES[(period % 4) as usize].to_string()
            } else {
                String::new()
            },
            amount(x),
            amount((x * 7 + 3) % 10_000),
        ]
    }

    /// KPIs of the wide export: as many as its columns.
    pub const WIDE_KPIS: usize = 50;
    /// Teams of the wide export.
    pub const WIDE_TEAMS: usize = 20;

    fn wide_kpi(k: usize) -> (String, &'static str, bool) {
        let (unit, integer) = match k % 4 {
            0 => ("%", false),
            1 => ("pcs", true),
            2 => ("min", true),
            _ => ("EUR", false),
        };
        (format!("{} {:02}", STEMS[k % 12], k + 1), unit, integer)
    }

    /// A wide export as BI tools pivot one: a row per day and team, a column per KPI (50
    /// DAY KPIs of four units, 20 teams with non-ASCII names, a gap in every seventh cell),
    /// rows by date then team; with its catalog (`wide50_catalog.json`) and mapping
    /// (`wide50.mapping.toml`).
    pub fn write_wide(dir: &Path, rows: u64) -> std::io::Result<()> {
        let teams: Vec<serde_json::Value> = (0..WIDE_TEAMS)
            .map(|t| serde_json::json!({"id": id(1, t), "name": team_name(t)}))
            .collect();
        let kpis: Vec<serde_json::Value> = (0..WIDE_KPIS)
            .map(|k| {
                let (name, unit, integer) = wide_kpi(k);
                serde_json::json!({
                    "id": id(2, k),
                    "name": name,
                    "kpiValueIsInteger": integer,
                    "kpiValueTimeReference": "DAY",
                    "unit": unit,
                    "kpiValues": [
                        {"id": id(3, 2 * k), "name": "Actual"},
                        {"id": id(3, 2 * k + 1), "name": "Target"}
                    ],
                    "recordingTeams": teams.clone(),
                })
            })
            .collect();
        std::fs::write(
            dir.join("wide50_catalog.json"),
            serde_json::json!({"teams": teams, "kpis": kpis}).to_string(),
        )?;
        let mut mapping = String::from("[columns]\ndate = \"Date\"\nteam = \"Team\"\n[kpis]\n");
        for k in 0..WIDE_KPIS {
            let name = wide_kpi(k).0;
            mapping.push_str(&format!(
                "{name:?} = {{ kpi = {name:?}, value = \"Actual\" }}\n"
            ));
        }
        std::fs::write(dir.join("wide50.mapping.toml"), mapping)?;
        let mut w = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(dir.join("wide50_40k.csv"))?,
        );
        let names: Vec<String> = (0..WIDE_KPIS).map(|k| wide_kpi(k).0).collect();
        writeln!(w, "Date,Team,{}", names.join(","))?;
        let base = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).expect("date");
        for i in 0..rows {
            let date = base + chrono::Days::new(i / WIDE_TEAMS as u64);
            let t = (i % WIDE_TEAMS as u64) as usize;
            write!(w, "{},{}", date.format("%Y-%m-%d"), team_name(t))?;
            for k in 0..WIDE_KPIS {
                let x = (i * WIDE_KPIS as u64 + k as u64).wrapping_mul(2_654_435_761) % 10_000;
                let (_, unit, integer) = wide_kpi(k);
                if x.is_multiple_of(7) {
                    write!(w, ",")?;
                } else if integer {
                    write!(w, ",{}", x % 500)?;
                } else if unit == "%" {
                    write!(w, ",{:.1}", 50.0 + (x % 500) as f64 / 10.0)?;
                } else {
                    write!(w, ",{:.2}", x as f64 / 7.0)?;
                }
            }
            writeln!(w)?;
        }
        w.flush()
    }

    /// The plant's export: `rows` semi-wide rows in `order`, its catalog and its mapping.
    pub fn write(dir: &Path, rows: u64, order: super::Order) -> std::io::Result<()> {
        std::fs::write(dir.join("plant_catalog.json"), catalog().to_string())?;
        std::fs::write(
            dir.join("plant.mapping.toml"),
            "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\nsub_tile = \"Sub-tile\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n",
        )?;
        let mut w = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(dir.join("plant_1m_random.csv"))?,
        );
        writeln!(w, "Date,Team,KPI,Sub-tile,Actual,Target")?;
        for i in super::ordered(rows, order) {
            writeln!(w, "{}", row(i).join(","))?;
        }
        w.flush()
    }
}
