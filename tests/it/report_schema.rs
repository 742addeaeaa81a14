//! report.json follows docs/report.schema.json: documents of every kind (a dry run with its
//! records and diagnostics, one with --diff, an import, a fatal error, the --report file and a
//! watched folder's report) are validated against the schema, which allows no field it does
//! not describe.

use std::path::Path;

use serde_json::Value;

use crate::harness::*;

fn schema() -> (boon::Schemas, boon::SchemaIndex) {
    let text = std::fs::read_to_string(root().join("docs/report.schema.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("file:///report.schema.json", json)
        .unwrap();
    let index = compiler
        .compile("file:///report.schema.json", &mut schemas)
        .unwrap_or_else(|e| panic!("{e:#}"));
    (schemas, index)
}

fn check(what: &str, doc: &Value) {
    let (schemas, index) = schema();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("{what} does not follow docs/report.schema.json: {e:#}\n{doc:#}");
    }
}

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.all()))
}

#[test]
fn every_kind_of_report_follows_the_schema() {
    let samples = root().join("samples");
    let s = |name: &str| samples.join(name).to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();

    // A dry run with problems, records and a report directory.
    let report_dir = dir.path().join("report");
    let r = catalog_dry_run(
        &samples.join("typical_mistakes.csv"),
        "typical_mistakes.mapping.toml",
        &[
            "--format",
            "json",
            "--records",
            "--report",
            report_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let doc = json(&r);
    assert!(doc["diagnostics"].as_array().is_some_and(|d| !d.is_empty()));
    check("a dry run with problems", &doc);
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    check("--report DIR's report.json", &file);

    // A workbook (sheet, cells), a dry run with --diff, and an import.
    let em = Emulator::start(&[]);
    let state = dir.path().join("state");
    let with_server = |extra: &[&str]| {
        let mut args = vec![
            "import".to_string(),
            s("produktion_de.xlsx"),
            "-m".into(),
            s("produktion_de.mapping.toml"),
            "--url".into(),
            em.url.clone(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = vs(&args);
        c.env("VS_STATE_DIR", &state);
        run(c)
    };
    let diff = with_server(&["--dry-run", "--diff", "--records"]);
    assert_eq!(diff.code, 0, "{}", diff.all());
    let doc = json(&diff);
    assert!(doc["changes"].is_array() || doc["summary"]["records_new"].is_number());
    check("a dry run with --diff", &doc);
    let import = with_server(&[]);
    assert_eq!(import.code, 0, "{}", import.all());
    let doc = json(&import);
    assert!(doc["upload"]["run"].is_string());
    check("an import", &doc);
    em.stop();

    // A fatal error.
    let r = catalog_dry_run(
        Path::new("no-such-file.csv"),
        "typical_mistakes.mapping.toml",
        &["--format", "json"],
    );
    assert_eq!(r.code, 2, "{}", r.all());
    check("a fatal error", &json(&r));
}

/// The schema is strict: a field it does not describe, or a wrong type, fails.
#[test]
fn the_schema_refuses_what_it_does_not_describe() {
    let (schemas, index) = schema();
    let r = catalog_dry_run(
        &root().join("samples/oee_semi_wide_de.csv"),
        "oee_semi_wide_de.mapping.toml",
        &["--format", "json", "--records"],
    );
    let good = json(&r);
    assert!(schemas.validate(&good, index).is_ok());
    let mut extra = good.clone();
    extra["summary"]["rows_guessed"] = 1.into();
    assert!(schemas.validate(&extra, index).is_err());
    let mut wrong = good.clone();
    wrong["mode"] = "maybe".into();
    assert!(schemas.validate(&wrong, index).is_err());
    let mut record = good.clone();
    record["records"][0]["guessed"] = true.into();
    assert!(schemas.validate(&record, index).is_err());
    let mut team = good.clone();
    team["records"][0]["team"] = "Montage Süd".into();
    assert!(schemas.validate(&team, index).is_err());
}
