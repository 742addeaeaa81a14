//! `vsimport template`: the workbook reads back through vsimport's own reader, and filled with
//! valid values it imports with zero diagnostics, in every layout.

use calamine::{Data, Reader};

use crate::harness::*;

/// A valid value for a KPI's cell: a time for Time KPIs, whole numbers for integer KPIs.
fn value_for(kpi: &str) -> (f64, Option<&'static str>) {
    match kpi {
        "Shift start" => (0.25, Some("hh:mm")),
        "OEE" | "Scrap rate" | "Attendance rate" => (85.5, None),
        "Inventory value" => (125_000.5, None),
        _ => (7.0, None),
    }
}

/// Per KPI of the sample catalog: its value slots and recording teams.
fn kpi_facts() -> std::collections::HashMap<String, (Vec<String>, Vec<String>)> {
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample_catalog()).unwrap()).unwrap();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["name"].as_str().map(str::to_string))
            .collect()
    };
    c["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap().to_string(),
                (names(&k["kpiValues"]), names(&k["recordingTeams"])),
            )
        })
        .collect()
}

/// Fills every value cell of the template's "Data" sheet that the KPI has (the others are
/// greyed out and locked in the template) and writes the result.
fn fill(template: &std::path::Path, out: &std::path::Path) -> usize {
    let facts = kpi_facts();
    let mut book = calamine::open_workbook_auto(template).unwrap();
    let range = book.worksheet_range("Data").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let kpi_col = header.iter().position(|h| h == "KPI");
    let first_value = header
        .iter()
        .position(|h| !["Date", "Team", "Sub-tile", "KPI", "Value name"].contains(&h.as_str()))
        .unwrap();
    let mut w = rust_xlsxwriter::Workbook::new();
    let sheet = w.add_worksheet();
    sheet.set_name("Data").unwrap();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let mut filled = 0;
    for (r, row) in range.rows().enumerate() {
        let r = r as u32;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            if r == 0 {
                sheet.write_string(0, c, &header[c as usize]).unwrap();
                continue;
            }
            match cell {
                Data::DateTime(d) => {
                    let nd = d.as_datetime().unwrap().date();
                    let x =
                        rust_xlsxwriter::ExcelDateTime::parse_from_str(&nd.to_string()).unwrap();
                    sheet.write_datetime_with_format(r, c, &x, &date).unwrap();
                }
                Data::String(s) => {
                    sheet.write_string(r, c, s).unwrap();
                }
                _ if c as usize >= first_value => {
                    // Wide: the column's KPI is its header (the first word group before a slot).
                    let kpi = match kpi_col {
                        Some(k) => row[k].to_string(),
                        None => header[c as usize].trim_end_matches(" Target").to_string(),
                    };
                    // Wide: a column's slot is Actual unless its header names one.
                    let slot = match kpi_col {
                        Some(_) => header[c as usize].clone(),
                        None if header[c as usize].ends_with(" Target") => "Target".into(),
                        None => "Actual".into(),
                    };
                    let team = row[1].to_string();
                    let (slots, teams) = &facts[&kpi];
                    let long = header.iter().any(|h| h == "Value name");
                    if (!long && !slots.contains(&slot)) || !teams.contains(&team) {
                        continue;
                    }
                    let (v, fmt) = value_for(&kpi);
                    match fmt {
                        Some(f) => {
                            let f = rust_xlsxwriter::Format::new().set_num_format(f);
                            sheet.write_number_with_format(r, c, v, &f).unwrap();
                        }
                        None => {
                            sheet.write_number(r, c, v).unwrap();
                        }
                    }
                    filled += 1;
                }
                _ => {}
            }
        }
    }
    w.save(out).unwrap();
    filled
}

#[test]
fn a_filled_template_imports_with_zero_diagnostics_in_every_layout() {
    let catalog = sample_catalog();
    let catalog = catalog.to_str().unwrap();
    for (layout, kpis, values) in [
        (
            "semi-wide",
            vec![
                "OEE",
                "Shift start",
                "Downtime by cause",
                "Near misses",
                "Inventory value",
            ],
            None,
        ),
        ("long", vec!["OEE", "Shift start", "Near misses"], None),
        ("wide", vec!["OEE", "Output", "Rework"], Some(5 * 59 * 6)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t.xlsx");
        let mut args = vec![
            "template",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-28",
            "--layout",
            layout,
        ];
        for k in &kpis {
            args.extend(["--kpi", k]);
        }
        args.extend(["--catalog", catalog, "-o", t.to_str().unwrap()]);
        let r = run(vs(&args));
        assert_eq!(r.code, 0, "{layout}: {}", r.all());
        let mapping = dir.path().join("t.mapping.toml");
        assert!(mapping.exists());
        // The project's own reader takes the template as it is.
        let i = run(vs(&["inspect", t.to_str().unwrap()]));
        assert_eq!(i.code, 0, "{layout}: {}", i.all());
        assert!(i.stdout.contains("Header     row 1"), "{}", i.stdout);
        let filled = dir.path().join("filled.xlsx");
        let cells = fill(&t, &filled);
        assert!(cells > 0);
        let r = run(vs(&[
            "import",
            filled.to_str().unwrap(),
            "-m",
            mapping.to_str().unwrap(),
            "--catalog",
            catalog,
            "--dry-run",
            "--format",
            "json",
        ]));
        assert_eq!(r.code, 0, "{layout}: {}", r.all());
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            doc["diagnostics"],
            serde_json::json!([]),
            "{layout}: {}",
            doc["diagnostics"]
        );
        assert_eq!(doc["summary"]["rows_rejected"], 0);
        if let Some(v) = values {
            assert_eq!(doc["summary"]["values_planned"], v, "{layout}");
        }
    }
}

#[test]
fn template_refusals_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.xlsx");
    let catalog = sample_catalog();
    let mut shown_all = String::new();
    for (what, extra) in [
        ("an unknown KPI", vec!["--kpi", "OEEE"]),
        (
            "mixed intervals in wide",
            vec!["--kpi", "OEE", "--kpi", "Near misses", "--layout", "wide"],
        ),
        ("not xlsx", vec!["--kpi", "OEE", "-o", "t.csv"]),
    ] {
        let mut args = vec!["template", "--from", "2025-01-01", "--to", "2025-01-31"];
        args.extend(extra.iter().copied());
        args.extend(["--catalog", catalog.to_str().unwrap()]);
        if !extra.contains(&"-o") {
            args.extend(["-o", t.to_str().unwrap()]);
        }
        let r = run(vs(&args));
        assert_eq!(r.code, 2, "{what}: {}", r.all());
        shown_all.push_str(&format!("## {what}\n{}\n", shown(&r)));
    }
    let shown_all = shown_all.replace(dir.path().to_str().unwrap(), "[DIR]");
    snapshots().bind(|| insta::assert_snapshot!("template_refusals", shown_all));
}
