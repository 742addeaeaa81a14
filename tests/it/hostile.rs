//! Hostile workbooks: a clean diagnostic and exit 2, in bounded time and memory (the child's
//! own peak RSS, from wait4).

use std::io::{Cursor, Read, Write};

use std::time::{Duration, Instant};

use crate::harness::*;

/// Runs vsimport with `args` and `-v`: (exit code, stderr, wall time, peak RSS in bytes as
/// vsimport logs it at the end: VmHWM, which starts afresh at exec, where the child's
/// ru_maxrss would include the test process's own memory at the spawn).
fn measured(args: &[&str]) -> (i32, String, Duration, u64) {
    let started = Instant::now();
    let mut all = args.to_vec();
    all.push("-v");
    let r = run(vs(&all));
    let took = started.elapsed();
    let kb: u64 = r
        .stderr
        .lines()
        .find_map(|l| l.split("peak_rss_kb=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kb in: {}", r.stderr));
    let shown: String = r
        .stderr
        .lines()
        .filter(|l| !l.contains(" DEBUG "))
        .collect::<Vec<_>>()
        .join("\n");
    (r.code, shown, took, kb * 1024)
}

/// A real xlsx (one sheet, shared strings) with one part's bytes replaced.
fn xlsx_with(part: &str, bytes: &[u8]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    s.write_string(0, 0, "Date").unwrap();
    s.write_string(0, 1, "Team").unwrap();
    s.write_string(1, 1, "Montage Süd").unwrap();
    let original = book.save_to_buffer().unwrap();
    let mut zin = zip::ZipArchive::new(Cursor::new(original)).unwrap();
    let mut out = Cursor::new(Vec::new());
    {
        let mut zout = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9));
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            zout.start_file(name.as_str(), opts).unwrap();
            if name == part {
                zout.write_all(bytes).unwrap();
            } else {
                zout.write_all(&data).unwrap();
            }
        }
        zout.finish().unwrap();
    }
    out.into_inner()
}

#[test]
fn lying_and_exploding_workbooks_end_in_a_clean_error_fast_and_small() {
    let dir = tempfile::tempdir().unwrap();
    let lying = xlsx_with(
        "xl/sharedStrings.xml",
        br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4000000000" uniqueCount="4000000000"><si><t>Date</t></si></sst>"#,
    );
    // 64 MB of sheet XML (whitespace inside sheetData) packed into well under a megabyte.
    let mut sheet = br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#.to_vec();
    sheet.resize(sheet.len() + (64 << 20), b' ');
    sheet.extend_from_slice(b"</sheetData></worksheet>");
    let bomb = xlsx_with("xl/worksheets/sheet1.xml", &sheet);
    drop(sheet);
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let mapping = root().join("samples/oee_semi_wide_de.mapping.toml");
    let catalog = sample_catalog();
    let mut shown_all = String::new();
    for (name, bytes, key) in [
        ("lying_shared_strings.xlsx", &lying, "export it again"),
        ("bomb.xlsx", &bomb, "max_zip_ratio"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let p = path.to_str().unwrap();
        for args in [
            vec!["inspect", p],
            vec![
                "import",
                p,
                "-m",
                mapping.to_str().unwrap(),
                "--catalog",
                catalog.to_str().unwrap(),
                "--dry-run",
            ],
        ] {
            let (code, err, took, rss) = measured(&args);
            assert_eq!(code, 2, "{name} {args:?}: {err}");
            assert!(err.contains(key), "{name}: {err}");
            assert!(
                !err.contains("panicked") && !err.contains("memory allocation"),
                "{err}"
            );
            assert!(took < Duration::from_secs(5), "{name}: {took:?}");
            assert!(rss < 256 << 20, "{name}: peak RSS {} MB", rss >> 20);
        }
        let (_, err, _, _) = measured(&["inspect", p]);
        shown_all.push_str(&format!(
            "## {name}\n{}\n",
            err.replace(dir.path().to_str().unwrap(), "[DIR]")
        ));
    }
    snapshots().bind(|| insta::assert_snapshot!("hostile_workbooks", shown_all));
}

#[test]
fn long_cells_and_escape_sequences_are_shown_cut_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cells.csv");
    let big = "x".repeat(1_000_000);
    std::fs::write(
        &csv,
        format!(
            "Datum;Team;Kennzahl;Ist;Soll\n06.01.2025;\u{1b}[31mRED\u{1b}[0m;OEE;85,0;90\n06.01.2025;Montage Süd;{big};85,0;90\n"
        ),
    )
    .unwrap();
    let p = csv.to_str().unwrap();
    let inspect = run(vs(&["inspect", p]));
    assert_eq!(inspect.code, 0, "{}", inspect.all());
    let dry = run(vs(&[
        "import",
        p,
        "-m",
        root()
            .join("samples/oee_semi_wide_de.mapping.toml")
            .to_str()
            .unwrap(),
        "--catalog",
        sample_catalog().to_str().unwrap(),
        "--dry-run",
    ]));
    assert_eq!(dry.code, 1, "{}", dry.all());
    for (what, r) in [("inspect", &inspect), ("dry run", &dry)] {
        let all = r.all();
        assert!(!all.contains('\u{1b}'), "{what}: a raw escape sequence");
        assert!(all.len() < 20_000, "{what}: {} bytes", all.len());
        assert!(all.contains("more characters)"), "{what}: {all}");
    }
    let shown = format!(
        "## inspect\n{}\n## dry run\n{}",
        shown(&inspect),
        shown(&dry)
    )
    .replace(dir.path().to_str().unwrap(), "[DIR]");
    snapshots().bind(|| insta::assert_snapshot!("hostile_cells", shown));
}

#[test]
fn a_negative_value_in_rejected_csv_imports_again_as_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("neg.csv");
    std::fs::write(
        &csv,
        "Datum;Team;Kennzahl;Ist;Soll\n31.02.2025;Montage Süd;OEE;-5,0;90\n",
    )
    .unwrap();
    let mapping = root().join("samples/oee_semi_wide_de.mapping.toml");
    let catalog = sample_catalog();
    let dry = |file: &std::path::Path, report: &std::path::Path| {
        run(vs(&[
            "import",
            file.to_str().unwrap(),
            "-m",
            mapping.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
            "--dry-run",
            "--format",
            "json",
            "--report",
            report.to_str().unwrap(),
        ]))
    };
    let r = dry(&csv, &dir.path().join("r1"));
    assert_eq!(r.code, 1, "{}", r.all());
    let rejected = std::fs::read_to_string(dir.path().join("r1/rejected.csv")).unwrap();
    assert!(rejected.contains(";-5,0;"), "{rejected}");
    // Fixed and imported again: the value is the number it was.
    let fixed = dir.path().join("fixed.csv");
    std::fs::write(&fixed, rejected.replace("31.02.2025", "28.02.2025")).unwrap();
    let r = dry(&fixed, &dir.path().join("r2"));
    assert_eq!(r.code, 0, "{}", r.all());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["summary"]["records_planned"], 1, "{doc}");
}

#[test]
fn endless_quotes_huge_fields_and_delimiter_walls_end_in_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "unclosed.csv",
            format!(
                "Datum;Team;Kennzahl;Ist;Soll\n06.01.2025;\"{}",
                "x\n".repeat(10_000_000)
            ),
            "max_record_bytes",
        ),
        (
            "bigfield.csv",
            format!(
                "Datum;Team;Kennzahl;Ist;Soll\n06.01.2025;Montage Süd;OEE;{};90\n",
                "9".repeat(20_000_000)
            ),
            "max_record_bytes",
        ),
        ("commas.csv", ",".repeat(20_000_000), "max_record_bytes"),
        // Under the row limit, but five million columns.
        (
            "commas5.csv",
            format!("{}\na,b\n", ",".repeat(5_000_000)),
            "16384 columns",
        ),
    ];
    let mapping = root().join("samples/oee_semi_wide_de.mapping.toml");
    let catalog = sample_catalog();
    for (name, text, expect) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        for args in [
            vec!["inspect", p],
            vec![
                "import",
                p,
                "-m",
                mapping.to_str().unwrap(),
                "--catalog",
                catalog.to_str().unwrap(),
                "--dry-run",
            ],
        ] {
            let (code, err, took, rss) = measured(&args);
            assert_eq!(code, 2, "{name} {args:?}: {err}");
            assert!(err.contains(expect), "{name}: {err}");
            assert!(took < Duration::from_secs(5), "{name}: {took:?}");
            assert!(rss < 256 << 20, "{name}: peak RSS {} MB", rss >> 20);
        }
    }
}
