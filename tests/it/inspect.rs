//! The read stage through `vsimport inspect --json`: exact cells and locations for every
//! fixture in tests/data/, and one clear error for every file that cannot be read.

use serde_json::Value;

use crate::harness::*;

fn data(name: &str) -> String {
    root()
        .join("tests")
        .join("data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn inspect(name: &str, extra: &[&str]) -> Value {
    let file = data(name);
    let mut args = vec!["inspect", file.as_str(), "--json", "--rows", "20"];
    args.extend_from_slice(extra);
    let r = run(vs(&args));
    assert_eq!(r.code, 0, "{name}: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

/// (row, [(type, value)...]) of the first rows.
fn rows(v: &Value) -> Vec<(u64, Vec<(String, String)>)> {
    v["first_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        (
                            c["type"].as_str().unwrap().to_string(),
                            c["value"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn cells(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(t, v)| (t.to_string(), v.to_string()))
        .collect()
}

fn columns(v: &Value) -> Vec<String> {
    v["detected"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn inspect_fails(name: &str, extra: &[&str]) -> Run {
    let file = data(name);
    let mut args = vec!["inspect", file.as_str()];
    args.extend_from_slice(extra);
    let r = run(vs(&args));
    assert_eq!(r.code, 2, "{name} should fail: {}", r.all());
    assert!(
        r.stderr.contains(&file),
        "{name}: the message must name the file: {}",
        r.stderr
    );
    assert!(!r.all().contains("panicked"));
    r
}

#[test]
fn german_excel_csv() {
    let v = inspect("german_locale.csv", &[]);
    let d = &v["detected"];
    assert_eq!(d["format"], "csv");
    assert_eq!(d["encoding"], "windows-1252");
    assert_eq!(d["delimiter"], ";");
    // A title line and a blank line (CRLF) above the header: the header is line 3.
    assert_eq!(d["header_row"], 3);
    assert_eq!(columns(&v), ["Datum", "Team", "OEE %", "Ausschuss"]);
    assert_eq!(v["rows"], 3);
    assert_eq!(v["empty_rows"], 1);
    assert_eq!(
        rows(&v),
        vec![
            (
                4,
                cells(&[
                    ("text", "06.01.2025"),
                    ("text", "Montage Süd"),
                    ("text", "85,5"),
                    ("text", "12")
                ])
            ),
            (
                5,
                cells(&[
                    ("text", "07.01.2025"),
                    ("text", "Montage Süd"),
                    ("text", "1.234,5"),
                    ("text", "3")
                ])
            ),
            (
                7,
                cells(&[
                    ("text", "08.01.2025"),
                    ("text", "Qualitätssicherung"),
                    ("text", "90"),
                    ("text", "0")
                ])
            ),
        ]
    );
}

#[test]
fn utf8_bom_and_quotes() {
    let v = inspect("utf8_bom.csv", &[]);
    assert_eq!(v["detected"]["encoding"], "UTF-8");
    assert_eq!(v["detected"]["delimiter"], ",");
    assert_eq!(
        columns(&v)[0],
        "Date",
        "the BOM is not part of the first name"
    );
    let r = rows(&v);
    assert_eq!(r[0].1[2], ("text".into(), "late, then fine".into()));
    assert_eq!(r[1].1[2], ("text".into(), "said \"ok\"".into()));
    assert_eq!(r[2].1[2], ("text".into(), "two\nlines".into()));
    // The quoted line break spans lines 4-5, so the next record is on line 6.
    assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 3, 4, 6]);
    assert_eq!(r[3].1[2], ("empty".into(), "".into()));
}

#[test]
fn utf16_with_bom() {
    let v = inspect("utf16le_bom.csv", &[]);
    assert_eq!(v["detected"]["encoding"], "UTF-16LE");
    assert_eq!(v["detected"]["delimiter"], "\t");
    assert_eq!(
        rows(&v)[1],
        (
            3,
            cells(&[
                ("text", "07.01.2025"),
                ("text", "Wärmebehandlung"),
                ("text", "80")
            ])
        )
    );
    let v = inspect("utf16be_bom.csv", &[]);
    assert_eq!(v["detected"]["encoding"], "UTF-16BE");
    assert_eq!(
        rows(&v)[0],
        (
            2,
            cells(&[("text", "06.01.2025"), ("text", "Süd"), ("text", "1")])
        )
    );
}

#[test]
fn pipe_delimiter_and_trailing_empties() {
    let v = inspect("pipe_trailing.csv", &[]);
    assert_eq!(v["detected"]["delimiter"], "|");
    assert_eq!(columns(&v), ["Date", "Team", "Amount"]);
    assert_eq!(v["rows"], 2);
    assert!(
        v["problems"].as_array().unwrap().is_empty(),
        "{}",
        v["problems"]
    );
}

#[test]
fn ragged_rows_are_reported_not_fatal() {
    let v = inspect("ragged.csv", &[]);
    assert_eq!(v["rows"], 4);
    assert_eq!(v["ragged_rows"], 2);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0]["code"], "vsimport::read::ragged_row");
    assert_eq!(problems[0]["severity"], "warning");
    assert_eq!(problems[0]["location"]["row"], 3);
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("2 fields, the header has 3")
    );
    assert_eq!(problems[1]["location"]["row"], 4);
    // A trailing empty field is not a problem (row 5).
    assert_eq!(rows(&v)[1].1[2], ("empty".into(), "".into()));
}

#[test]
fn bad_bytes_after_the_sniffed_prefix_stay_visible() {
    let v = inspect("late_bad_bytes.csv", &[]);
    assert_eq!(v["detected"]["encoding"], "UTF-8");
    assert_eq!(v["rows"], 4001);
    // The last row's team is not UTF-8: it reads as an invalid cell, not lost, not a panic.
    let r = run(vs(&[
        "inspect",
        &data("late_bad_bytes.csv"),
        "--rows",
        "5000",
        "--json",
    ]));
    let all: Value = serde_json::from_str(&r.stdout).unwrap();
    let last = rows(&all).pop().unwrap();
    assert_eq!(last.0, 4002);
    assert_eq!(last.1[1].0, "invalid");
    // Told the encoding, it reads the row as text.
    let r = run(vs(&[
        "inspect",
        &data("late_bad_bytes.csv"),
        "--rows",
        "5000",
        "--json",
        "--encoding",
        "windows-1252",
    ]));
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        rows(&v).pop().unwrap().1[1],
        ("text".into(), "Läger".into())
    );
}

#[test]
fn overrides_for_header_delimiter_and_encoding() {
    let v = inspect(
        "german_locale.csv",
        &["--header-row", "1", "--delimiter", ";"],
    );
    assert_eq!(v["detected"]["header_row"], 1);
    assert_eq!(columns(&v), ["OEE Bericht Werk 3"]);
    let notes = v["detected"]["notes"].to_string();
    assert!(notes.contains("delimiter: ';' (configured)"), "{notes}");
    assert!(notes.contains("header: row 1 (configured)"), "{notes}");
}

#[test]
fn xlsx_typed_cells_merges_formulas_and_errors() {
    let v = inspect("export_basic.xlsx", &[]);
    let d = &v["detected"];
    assert_eq!(d["format"], "xlsx");
    assert_eq!(d["sheet"], "Daten", "the hidden first sheet is passed over");
    assert_eq!(d["header_row"], 3, "the merged title row is not the header");
    assert_eq!(
        columns(&v),
        [
            "Datum",
            "Team",
            "OEE %",
            "Schichtbeginn",
            "Stillstand",
            "Ausschuss",
            "Kennzahl",
            "Kennzahl"
        ]
    );
    assert_eq!(v["rows"], 3);
    assert_eq!(v["empty_rows"], 1);
    assert_eq!(
        rows(&v),
        vec![
            (
                4,
                cells(&[
                    ("date", "2025-01-06"),
                    ("text", "Montage Süd"),
                    ("number", "85.5"),
                    ("time", "06:00:00"),
                    ("duration", "30:00:00"),
                    ("number", "5"),
                    ("text", "OEE"),
                    ("bool", "true"),
                ])
            ),
            (
                5,
                cells(&[
                    ("datetime", "2025-01-07 14:43:20"),
                    ("text", "Montage Süd"),
                    ("number", "0.30000000000000004"),
                    ("time", "14:43:00"),
                    ("empty", ""),
                    ("error", "#DIV/0!"),
                    ("number", "123456789012"),
                    ("empty", ""),
                ])
            ),
            (
                7,
                cells(&[
                    ("empty", ""),
                    ("text", "Lager"),
                    ("number", "70"),
                    ("empty", ""),
                    ("empty", ""),
                    ("empty", ""),
                    ("empty", ""),
                    ("empty", ""),
                ])
            ),
        ]
    );
}

#[test]
fn xls_saved_by_libreoffice_reads_the_same() {
    let xlsx = inspect("export_basic.xlsx", &[]);
    let xls = inspect("export_basic.xls", &[]);
    assert_eq!(xls["detected"]["format"], "xls");
    assert_eq!(xls["rows"], xlsx["rows"]);
    let (xlsx, xls) = (rows(&xlsx), rows(&xls));
    // Both sides hold the same rows, and there are rows to compare.
    assert!(xlsx.len() >= 3, "{xlsx:?}");
    assert_eq!(xls, xlsx);
}

#[test]
fn ods_saved_by_libreoffice() {
    let v = inspect("export_basic.ods", &[]);
    assert_eq!(v["detected"]["format"], "ods");
    assert_eq!(v["detected"]["header_row"], 3);
    let r = rows(&v);
    assert_eq!(r[0].1[0], ("date".into(), "2025-01-06".into()));
    assert_eq!(r[0].1[2], ("number".into(), "85.5".into()));
    // ODS stores times of day as durations.
    assert_eq!(r[0].1[3], ("duration".into(), "6:00:00".into()));
    assert_eq!(r[1].1[5], ("error".into(), "#DIV/0!".into()));
}

#[test]
fn dates_in_the_1904_system() {
    let v = inspect("dates_1904.xlsx", &[]);
    assert_eq!(rows(&v)[0].1[0], ("date".into(), "2025-01-01".into()));
}

#[test]
fn sheets_by_name_and_number() {
    let v = inspect("multi_sheet.xlsx", &[]);
    assert_eq!(v["detected"]["sheet"], "Januar");
    let v = inspect("multi_sheet.xlsx", &["--sheet", "märz"]);
    assert_eq!(v["detected"]["sheet"], "März");
    assert_eq!(rows(&v)[0].1[1], ("number".into(), "3".into()));
    let v = inspect("multi_sheet.xlsx", &["--sheet", "2"]);
    assert_eq!(v["detected"]["sheet"], "Februar");
    let r = inspect_fails("multi_sheet.xlsx", &["--sheet", "Februr"]);
    assert!(
        r.err().contains("there is no sheet named \"Februr\""),
        "{}",
        r.stderr
    );
    assert!(
        r.err().contains("did you mean \"Februar\"?"),
        "{}",
        r.stderr
    );
    assert!(
        r.err().contains("vsimport::read::sheet_missing"),
        "{}",
        r.stderr
    );
    let r = inspect_fails("multi_sheet.xlsx", &["--sheet", "9"]);
    assert!(
        r.err().contains("no sheet number 9: the workbook has 3"),
        "{}",
        r.stderr
    );
}

#[test]
fn files_that_cannot_be_read_say_why() {
    let cases: &[(&str, &str, &str)] = &[
        ("empty.csv", "vsimport::read::empty", "the file is empty"),
        ("blank_lines.csv", "vsimport::read::empty", "holds no data"),
        (
            "image.csv",
            "vsimport::read::not_a_spreadsheet",
            "it is a PNG image",
        ),
        (
            "binary.csv",
            "vsimport::read::not_a_spreadsheet",
            "NUL bytes",
        ),
        (
            "not_a_zip.xlsx",
            "vsimport::read::corrupt",
            "is not a workbook",
        ),
        (
            "truncated.xlsx",
            "vsimport::read::corrupt",
            "the workbook cannot be read",
        ),
        (
            "encrypted.xlsx",
            "vsimport::read::encrypted",
            "password-protected",
        ),
        (
            "no_header.csv",
            "vsimport::read::no_header",
            "no header row found",
        ),
        (
            "no_header.xlsx",
            "vsimport::read::no_header",
            "no header row found",
        ),
        (
            "does_not_exist.csv",
            "vsimport::read::io",
            "cannot open the file",
        ),
    ];
    for (name, code, phrase) in cases {
        let r = inspect_fails(name, &[]);
        assert!(r.err().contains(code), "{name}: {}", r.stderr);
        assert!(r.err().contains(phrase), "{name}: {}", r.stderr);
        assert!(
            r.err().contains("help:"),
            "{name}: every read error says what to do: {}",
            r.stderr
        );
    }
    let r = inspect_fails("no_header.xlsx", &[]);
    assert!(
        r.err().contains("no_header.xlsx › Sheet1"),
        "the sheet is named: {}",
        r.stderr
    );
}

#[test]
fn text_output_is_readable() {
    let r = run(vs(&["inspect", &data("german_locale.csv")]));
    assert_eq!(r.code, 0);
    for line in [
        "Format     CSV",
        "Encoding   windows-1252 (detected: byte 73 is not UTF-8)",
        "Header     row 3 (detected: first row of 4 column names; rows above it skipped as titles or notes)",
        "Rows       3 data rows (1 empty rows skipped)",
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "missing {line:?} in\n{}",
            r.stdout
        );
    }
}
