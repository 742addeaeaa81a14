//! `--annotate`: the checked workbook marks the cells with problems, reads back through the
//! project's own reader, and once its marked cells are fixed imports with zero diagnostics;
//! file content in it stays text (no formula).

use calamine::{Data, Reader};

use crate::harness::*;

fn replace_once(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let i = s.windows(from.len()).position(|w| w == from).unwrap();
    [&s[..i], to, &s[i + from.len()..]].concat()
}

/// Copies a workbook's sheets (in order) with some cells replaced by text.
fn rewrite(from: &std::path::Path, to: &std::path::Path, fixes: &[((u32, u32), &str)]) {
    let mut book = calamine::open_workbook_auto(from).unwrap();
    let mut out = rust_xlsxwriter::Workbook::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        let sheet = out.add_worksheet();
        sheet.set_name(&name).unwrap();
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (r, row) in range.rows().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r0 + r as u32, c0 + c as u32);
                if let Some((_, v)) = fixes
                    .iter()
                    .find(|(at, _)| *at == (r, c))
                    .filter(|_| name != "Problems")
                {
                    sheet.write_string(r, c as u16, *v).unwrap();
                    continue;
                }
                match cell {
                    Data::String(s) => {
                        sheet.write_string(r, c as u16, s).unwrap();
                    }
                    Data::Float(f) => {
                        sheet.write_number(r, c as u16, *f).unwrap();
                    }
                    Data::Int(i) => {
                        sheet.write_number(r, c as u16, *i as f64).unwrap();
                    }
                    _ => {}
                }
            }
        }
    }
    out.save(to).unwrap();
}

#[test]
fn the_checked_workbook_marks_the_cells_and_imports_once_they_are_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    let sample = std::fs::read(root().join("samples/oee_semi_wide_de.csv")).unwrap();
    let bad = replace_once(&sample, b"06.01.2025;", b"31.02.2025;");
    let bad = replace_once(&bad, b";1220;", b";12x0;");
    std::fs::write(&csv, bad).unwrap();
    let report = dir.path().join("report");
    let dry = |file: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["--format", "json"];
        args.extend(extra);
        catalog_dry_run(file, "oee_semi_wide_de.mapping.toml", &args)
    };
    let r = dry(&csv, &["--annotate", "--report", report.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.all());
    let checked = report.join("bad.checked.xlsx");
    let mut book = calamine::open_workbook_auto(&checked).unwrap();
    assert_eq!(book.sheet_names(), vec!["Problems", "Data"]);
    let problems = book.worksheet_range("Problems").unwrap();
    let cells: Vec<String> = problems.rows().skip(4).map(|r| r[0].to_string()).collect();
    assert_eq!(cells, vec!["A4", "D5"], "{problems:?}");
    let data = book.worksheet_range("Data").unwrap();
    assert_eq!(
        data.get_value((3, 0)),
        Some(&Data::String("31.02.2025".into()))
    );
    assert_eq!(data.get_value((4, 3)), Some(&Data::String("12x0".into())));
    assert_eq!(
        data.get_value((2, 0)),
        Some(&Data::String("Datum".into())),
        "the header stays on row 3"
    );
    // The project's own reader passes over the list to the data.
    let i = run(vs(&["inspect", checked.to_str().unwrap()]));
    assert!(i.stdout.contains("Sheet      \"Data\""), "{}", i.stdout);
    // Fix the two marked cells; the same mapping imports it with no problem at all.
    let fixed = dir.path().join("fixed.xlsx");
    rewrite(
        &checked,
        &fixed,
        &[((3, 0), "06.01.2025"), ((4, 3), "1220")],
    );
    let r = dry(&fixed, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        doc["diagnostics"],
        serde_json::json!([]),
        "{}",
        doc["diagnostics"]
    );
    assert_eq!(doc["summary"]["records_planned"], 72);
}

#[test]
fn formulas_and_markup_in_cells_stay_text_in_the_checked_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("hostile.csv");
    std::fs::write(
        &csv,
        "Datum;Team;Kennzahl;Ist;Soll\n\
         06.01.2025;<script>alert(1)</script>;OEE;85,0;90\n\
         06.01.2025;Montage Süd;=HYPERLINK(\"http://evil.example\",\"x\");85,0;90\n",
    )
    .unwrap();
    let r = catalog_dry_run(
        &csv,
        "oee_semi_wide_de.mapping.toml",
        &[
            "--annotate",
            "--report",
            dir.path().join("r").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let path = dir.path().join("r").join("hostile.checked.xlsx");
    let mut book = calamine::open_workbook_auto(&path).unwrap();
    for sheet in ["Problems", "Data"] {
        let formulas = book.worksheet_formula(sheet).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "{sheet}: a formula"
        );
    }
    let data = book.worksheet_range("Data").unwrap();
    assert_eq!(
        data.get_value((2, 2)),
        Some(&Data::String(
            "=HYPERLINK(\"http://evil.example\",\"x\")".into()
        ))
    );
}

#[test]
fn a_file_too_big_for_a_checked_workbook_says_so_and_writes_none() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    let mut text = String::from("Datum;Team;Kennzahl;Ist;Soll\n");
    for i in 0..100_001u32 {
        text.push_str(&format!("{:02}.01.2025;Team {i};OEE;85,0;90\n", 1 + i % 28));
    }
    std::fs::write(&csv, text).unwrap();
    let report = dir.path().join("r");
    let r = run(vs(&[
        "import",
        csv.to_str().unwrap(),
        "-m",
        root()
            .join("samples/oee_semi_wide_de.mapping.toml")
            .to_str()
            .unwrap(),
        "--catalog",
        sample_catalog().to_str().unwrap(),
        "--dry-run",
        "--quiet",
        "--annotate",
        "--report",
        report.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("--annotate: no checked workbook for 100,001 rows"),
        "{}",
        r.stderr.lines().last().unwrap_or_default()
    );
    assert!(!report.join("big.checked.xlsx").exists());
    assert!(report.join("rejected.csv").exists());
}
