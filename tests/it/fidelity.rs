//! Against servers that answer a little differently: each point the public material leaves
//! open, played by an emulator profile (or flag), and an import that either ends with exactly
//! the expected server state or refuses before writing anything, with its message pinned.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::harness::*;

/// An emulator playing a variant, a working directory with the export and its mapping, and
/// the emulator's state file (the server's records, read after it stops).
struct Case {
    dir: tempfile::TempDir,
    emu: Emulator,
    state: PathBuf,
    catalog: Value,
}

impl Case {
    fn new(variant: &[&str]) -> Case {
        Case::with_catalog(catalog(), variant)
    }

    fn with_catalog(catalog: Value, variant: &[&str]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let cat = dir.path().join("catalog.json");
        std::fs::write(&cat, catalog.to_string()).unwrap();
        let state = dir.path().join("server.json");
        let mut args = vec!["--state", state.to_str().unwrap()];
        args.extend_from_slice(variant);
        let emu = Emulator::start_with_catalog(&cat, &args);
        Case {
            dir,
            emu,
            state,
            catalog,
        }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// `vsimport import export.csv -m mapping.toml` against the emulator, in the working
    /// directory (relative paths: messages wrap the same wherever it is).
    fn import(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "import",
            "export.csv",
            "-m",
            "mapping.toml",
            "--url",
            &self.emu.url,
            "--state-dir",
            "states",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = vs(args);
        c.current_dir(self.dir.path());
        run(c)
    }

    /// Requests of a method so far.
    fn requests(&self, method: &str) -> usize {
        self.emu
            .log()
            .iter()
            .filter(|l| l["method"] == method)
            .count()
    }

    /// Stops the emulator and gives every record it holds, one line each:
    /// `date team KPI[ › sub-tile]: Slot=value, Slot (forecast)=value`.
    fn server(self) -> Vec<String> {
        let Case {
            emu,
            state,
            catalog,
            dir,
        } = self;
        emu.stop();
        let text = std::fs::read_to_string(&state).unwrap();
        drop(dir);
        let records: Value = serde_json::from_str(&text).unwrap();
        let name = |list: &Value, id: &Value| -> String {
            list.as_array()
                .into_iter()
                .flatten()
                .find(|x| x["id"] == *id)
                .map_or_else(
                    || id.to_string(),
                    |x| x["name"].as_str().unwrap().to_string(),
                )
        };
        let mut lines: Vec<String> = records["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let kpi = catalog["kpis"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|k| k["id"] == r["kpiId"])
                    .unwrap();
                let mut head = format!(
                    "{} {} {}",
                    r["date"].as_str().unwrap(),
                    name(&catalog["teams"], &r["teamId"]),
                    kpi["name"].as_str().unwrap()
                );
                if !r["subTileId"].is_null() {
                    head.push_str(&format!(" › {}", name(&kpi["subTiles"], &r["subTileId"])));
                }
                let values: Vec<String> = r["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        format!(
                            "{}{}={}",
                            name(&kpi["kpiValues"], &v["kpiValueId"]),
                            if v["forecast"] == true {
                                " (forecast)"
                            } else {
                                ""
                            },
                            v["value"]
                        )
                    })
                    .collect();
                format!("{head}: {}", values.join(", "))
            })
            .collect();
        lines.sort();
        lines
    }
}

const SEMI: &str = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Target\" = \"Target\"\n";

fn pinned(name: &str, r: &Run) {
    snapshots().bind(|| insta::assert_snapshot!(name, shown(r)));
}

/// Finding 1 and 2: answers in another shape (wrapped, nested ids, datetime dates, null and
/// string values) are read, so the comparison works; only application/json is produced, and
/// the default Accept header gets it.
#[test]
fn loose_answers_are_read_and_plain_json_is_accepted() {
    let c = Case::new(&["--profile", "loose-json"]);
    c.write("mapping.toml", SEMI);
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,OEE,85.5,90\n2025-03-04,Montage Süd,OEE,86,\n2025-03-03,Montage Nord,Output,120,130\n",
    );
    let first = c.import(&[]);
    assert_eq!(first.code, 0, "{}", first.all());
    // Read back through the loose answers: nothing changed, nothing sent.
    let again = c.import(&[]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(
        again.stdout.contains("Nothing to send") && again.stdout.contains("3 records unchanged"),
        "{}",
        again.stdout
    );
    // One value changed: exactly that record is sent, the server's target of the record
    // without one is kept.
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,OEE,85.5,90\n2025-03-04,Montage Süd,OEE,87,\n2025-03-03,Montage Nord,Output,120,130\n",
    );
    let changed = c.import(&[]);
    assert_eq!(changed.code, 0, "{}", changed.all());
    assert!(
        changed.stdout.contains("1 new, 1 changed, 2 unchanged")
            || changed.stdout.contains("0 new, 1 changed, 2 unchanged"),
        "{}",
        changed.stdout
    );
    // A media type the server does not produce: 406, and the help names the header to try.
    let vendor = c.import(&["--accept", "application/vs.v2.0+json"]);
    assert_eq!(vendor.code, 2);
    pinned("fidelity_accept_406", &vendor);
    assert_eq!(
        c.server(),
        vec![
            "2025-03-03 Montage Nord Output: Actual=120, Target=130",
            "2025-03-03 Montage Süd OEE: Actual=85.5, Target=90",
            "2025-03-04 Montage Süd OEE: Actual=87, Target=0",
        ]
    );
}

/// Finding 1: when the current records cannot be read (dates as UTC instants: which day?),
/// an import that would lose targets stops before writing and offers --compare never; with
/// it, everything is written, said plainly, and undo is refused.
#[test]
fn unreadable_answers_stop_before_writing_or_write_without_comparing() {
    let c = Case::new(&["--utc-dates"]);
    c.write("mapping.toml", SEMI);
    // Seed the server: one record with a target.
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,OEE,80,90\n",
    );
    let seed = c.import(&["--compare", "never"]);
    assert_eq!(seed.code, 0, "{}", seed.all());
    pinned("fidelity_compare_never", &seed);
    // Actuals only: reading the targets back is needed, and cannot be done.
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,OEE,85,\n",
    );
    let puts = c.requests("PUT");
    let stopped = c.import(&[]);
    assert_eq!(stopped.code, 2);
    assert_eq!(c.requests("PUT"), puts, "nothing may be written");
    pinned("fidelity_unreadable_answers", &stopped);
    // With the targets in the file nothing is lost: auto writes without comparing, and says so.
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,OEE,85,92\n",
    );
    let degraded = c.import(&[]);
    assert_eq!(degraded.code, 0, "{}", degraded.all());
    assert!(
        degraded
            .stdout
            .contains("Not compared with the server (the server's records could not be read"),
        "{}",
        degraded.stdout
    );
    assert!(degraded.stdout.contains("undo: not possible"));
    let run_id = degraded
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("report: "))
        .and_then(|p| p.split('/').rev().nth(1))
        .unwrap()
        .to_string();
    let undo = c.run(&[
        "undo",
        &run_id,
        "--url",
        &c.emu.url,
        "--state-dir",
        "states",
    ]);
    assert_eq!(undo.code, 2);
    assert!(
        undo.err()
            .contains("written without reading the server's values first"),
        "{}",
        undo.stderr
    );
    assert_eq!(
        c.server(),
        vec!["2025-03-03 Montage Süd OEE: Actual=85, Target=92"]
    );
}

/// Finding 3: a mapping with a forecast column under API v2 is refused before anything is
/// sent (a v2 server that ignores the flag would write the forecast over the actual); with
/// v3 the forecast is its own value.
#[test]
fn forecasts_need_api_v3() {
    let c = Case::new(&["--profile", "lenient-v2"]);
    c.write(
        "mapping.toml",
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n\"Forecast\" = { value = \"Actual\", forecast = true }\n",
    );
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Forecast\n2025-03-03,Montage Nord,Output,120,140\n",
    );
    let v2 = c.import(&[]);
    assert_eq!(v2.code, 2);
    assert_eq!(c.emu.log().len(), 0, "nothing may be sent");
    pinned("fidelity_forecast_v2", &v2);
    let v3 = c.import(&["--api-version", "3"]);
    assert_eq!(v3.code, 0, "{}", v3.all());
    assert_eq!(
        c.server(),
        vec!["2025-03-03 Montage Nord Output: Actual=120, Actual (forecast)=140, Target=0"]
    );
}

/// Finding 4: time text that could mean two things is refused at its cell; the mapping's
/// time_format settles it; a catalog without units is told by the mapping which KPI takes
/// times.
#[test]
fn times_are_never_guessed() {
    let c = Case::new(&["--profile", "sparse-catalog"]);
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,Shift start,06:04,06:00\n2025-03-04,Montage Süd,Shift start,8.5,06:00\n2025-03-05,Montage Süd,Shift start,0.5,06:00\n2025-03-06,Montage Süd,Shift start,\"8,5\",06:00\n2025-03-07,Montage Süd,Shift start,8.30,06:00\n",
    );
    // No unit in the catalog, none declared: a clock time is no number, and the help says
    // how to declare the unit.
    c.write("mapping.toml", SEMI);
    let undeclared = c.import(&["--dry-run"]);
    assert_eq!(undeclared.code, 1);
    pinned("fidelity_time_unit_unknown", &undeclared);
    // Declared: the clock time is read, the rest refused at their cells.
    let declared = format!("{SEMI}\n[kpi.\"Shift start\"]\nunit = \"time\"\n");
    c.write("mapping.toml", &declared);
    let r = c.import(&[]);
    assert_eq!(r.code, 1);
    pinned("fidelity_time_refused", &r);
    // 8.30 as a declared pattern: 08:30.
    c.write(
        "mapping.toml",
        &format!("[source]\ntime_format = \"%H.%M\"\n{declared}"),
    );
    let r = c.import(&[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert_eq!(
        c.server(),
        vec![
            "2025-03-03 Montage Süd Shift start: Actual=364, Target=360",
            "2025-03-07 Montage Süd Shift start: Actual=510, Target=360",
        ]
    );
}

/// Finding 5: one scale per percent KPI. `85 %` beside `0.85` refuses the bare cell, naming
/// both; a declared fraction scale converts `85 %` to 0.85; a file about 100 times off the
/// server's values gets a warning with both figures.
#[test]
fn percent_scales_are_never_mixed() {
    let c = Case::new(&["--profile", "documented"]);
    c.write("mapping.toml", SEMI);
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Süd,OEE,85 %,90\n2025-03-04,Montage Süd,OEE,0.85,90\n2025-03-05,Montage Süd,OEE,0,90\n",
    );
    let mixed = c.import(&[]);
    assert_eq!(mixed.code, 1);
    pinned("fidelity_percent_mixed", &mixed);
    // The server now holds points (85, 90); a file in fractions is warned about.
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-10,Montage Süd,OEE,0.82,0.9\n2025-03-03,Montage Süd,OEE,0.85,0.9\n",
    );
    let off = c.import(&["--dry-run", "--diff"]);
    assert_eq!(off.code, 0, "{}", off.all());
    pinned("fidelity_percent_scale_gap", &off);
    // Declared as fractions, a signed cell is converted.
    c.write(
        "mapping.toml",
        &format!("{SEMI}\n[kpi.\"Scrap rate\"]\nunit = \"percent-fraction\"\n"),
    );
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual,Target\n2025-03-03,Montage Nord,Scrap rate,\"2,5 %\",3%\n",
    );
    let r = c.import(&[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        c.server(),
        vec![
            "2025-03-03 Montage Nord Scrap rate: Actual=0.025, Target=0.03",
            "2025-03-03 Montage Süd OEE: Actual=85, Target=90",
            "2025-03-05 Montage Süd OEE: Actual=0, Target=90",
        ]
    );
}

/// A catalog whose target slots are named Plan, marked by the server, or neither.
fn target_catalog() -> Value {
    let team = json!({"id": "00000000-0000-0000-0000-0000000000a1", "name": "Montage Süd"});
    let kpi = |n: u8, name: &str, target: Value| {
        json!({
            "id": format!("00000000-0000-0000-0000-00000000000{n}"),
            "name": name,
            "kpiValueTimeReference": "DAY",
            "unit": "pcs",
            "kpiValues": [
                {"id": format!("00000000-0000-0000-0000-0000000000b{n}"), "name": "Ist"},
                target
            ],
            "recordingTeams": [team]
        })
    };
    json!({
        "teams": [team],
        "kpis": [
            kpi(1, "Output", json!({"id": "00000000-0000-0000-0000-0000000000c1", "name": "Plan"})),
            kpi(2, "Energy", json!({"id": "00000000-0000-0000-0000-0000000000c2", "name": "Budget", "type": "TARGET"})),
            kpi(3, "Yield", json!({"id": "00000000-0000-0000-0000-0000000000c3", "name": "Benchmark"})),
        ]
    })
}

/// Finding 6: target slots from the catalog's marks, from names (Plan), or from the mapping;
/// a server that resets targets left out of a PUT keeps them because they are sent back.
#[test]
fn targets_from_catalog_names_and_mapping_are_kept() {
    let mut cat = target_catalog();
    // The emulator resets what it knows to be targets: tell it about Benchmark too.
    cat["kpis"][2]["kpiValues"][1]["type"] = json!("TARGET");
    let c = Case::with_catalog(cat, &["--profile", "resetting"]);
    // The mapping the client uses knows Benchmark only from the [kpi] declaration: give the
    // client the catalog without that mark.
    let client_catalog = target_catalog();
    c.write("client_catalog.json", &client_catalog.to_string());
    let mapping = |values: &str| {
        format!(
            "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n{values}\n[kpi.\"Yield\"]\ntargets = [\"Benchmark\"]\n"
        )
    };
    // Seed: every KPI with its target (the file names each KPI's target column alike).
    c.write(
        "mapping.toml",
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\nvalue_name = \"Slot\"\nvalue = \"Amount\"\n",
    );
    c.write(
        "export.csv",
        "Date,Team,KPI,Slot,Amount\n2025-03-03,Montage Süd,Output,Ist,100\n2025-03-03,Montage Süd,Output,Plan,110\n2025-03-03,Montage Süd,Energy,Ist,500\n2025-03-03,Montage Süd,Energy,Budget,450\n2025-03-03,Montage Süd,Yield,Ist,97\n2025-03-03,Montage Süd,Yield,Benchmark,99\n",
    );
    let seed = c.import(&[]);
    assert_eq!(seed.code, 0, "{}", seed.all());
    // Actuals only: the plan names the target slots and why; the server's are sent back.
    c.write("mapping.toml", &mapping("\"Ist\" = \"Ist\""));
    c.write(
        "export.csv",
        "Date,Team,KPI,Ist\n2025-03-03,Montage Süd,Output,101\n2025-03-03,Montage Süd,Energy,501\n2025-03-03,Montage Süd,Yield,98\n",
    );
    let dry = c.import(&["--dry-run", "--catalog", "client_catalog.json"]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    pinned("fidelity_target_slots", &dry);
    let kept = c.import(&[]);
    assert_eq!(kept.code, 0, "{}", kept.all());
    assert!(
        kept.stdout.contains("kept 3 target values the server had"),
        "{}",
        kept.stdout
    );
    // Without keeping them, this server resets them: the warning said so, and it happens.
    c.write(
        "export.csv",
        "Date,Team,KPI,Ist\n2025-03-04,Montage Süd,Output,102\n",
    );
    let seeded_day = c.import(&[]);
    assert_eq!(seeded_day.code, 0, "{}", seeded_day.all());
    c.write(
        "export.csv",
        "Date,Team,KPI,Ist\n2025-03-03,Montage Süd,Output,103\n",
    );
    let reset = c.import(&["--no-keep-targets"]);
    assert_eq!(reset.code, 0, "{}", reset.all());
    assert_eq!(
        c.server(),
        vec![
            "2025-03-03 Montage Süd Energy: Ist=501, Budget=450",
            "2025-03-03 Montage Süd Output: Ist=103, Plan=0",
            "2025-03-03 Montage Süd Yield: Ist=98, Benchmark=99",
            "2025-03-04 Montage Süd Output: Ist=102, Plan=0",
        ]
    );
}

/// Finding 7: a catalog without the recording interval gets a warning per KPI naming the
/// mapping key; declared WEEK, dates move to the Monday.
#[test]
fn a_missing_interval_is_declared_in_the_mapping() {
    let c = Case::new(&["--profile", "sparse-catalog"]);
    c.write(
        "export.csv",
        "Date,Team,KPI,Actual\n2025-01-08,Montage Süd,Near misses,3\n2025-01-15,Montage Süd,Near misses,1\n",
    );
    let mapping = "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Actual\" = \"Actual\"\n";
    c.write("mapping.toml", mapping);
    let undeclared = c.import(&["--dry-run"]);
    assert_eq!(undeclared.code, 0, "{}", undeclared.all());
    pinned("fidelity_interval_unknown", &undeclared);
    c.write(
        "mapping.toml",
        &format!("{mapping}\n[kpi.\"Near misses\"]\ninterval = \"WEEK\"\n"),
    );
    let r = c.import(&[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        c.server(),
        vec![
            "2025-01-06 Montage Süd Near misses: Actual=3",
            "2025-01-13 Montage Süd Near misses: Actual=1",
        ]
    );
}

/// Finding 8: a server with shorter range limits than documented answers 400; the range is
/// read again in halves, and the comparison works.
#[test]
fn shorter_range_limits_are_met_with_smaller_windows() {
    let c = Case::new(&["--profile", "strict-ranges"]);
    c.write("mapping.toml", SEMI);
    let mut csv = String::from("Date,Team,KPI,Actual,Target\n");
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    for i in (0..60).step_by(3) {
        let d = start + chrono::Days::new(i);
        csv.push_str(&format!("{d},Montage Süd,OEE,{},90\n", 80 + i % 10));
    }
    c.write("export.csv", &csv);
    let first = c.import(&[]);
    assert_eq!(first.code, 0, "{}", first.all());
    let again = c.import(&[]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(
        again.stdout.contains("20 records unchanged"),
        "{}",
        again.stdout
    );
    let ranges: Vec<u64> = c
        .emu
        .log()
        .iter()
        .filter(|l| l["method"] == "GET" && l["path"] == "/api/exchange/kpi-data")
        .map(|l| l["status"].as_u64().unwrap())
        .collect();
    assert!(ranges.contains(&400) && ranges.contains(&200), "{ranges:?}");
    assert_eq!(c.server().len(), 20);
}

/// Finding 9: sub-tiles under a field name the client does not know: rows of that KPI are
/// refused (a record without a sub-tile would otherwise go to the KPI itself) until
/// --sub-tiles-field names the field.
#[test]
fn sub_tiles_under_another_name_are_not_guessed() {
    let c = Case::new(&["--profile", "sparse-catalog"]);
    c.write(
        "mapping.toml",
        "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\nsub_tile = \"Cause\"\n[values]\n\"Minutes\" = \"Actual\"\n\n[kpi.\"Downtime by cause\"]\nunit = \"number\"\ninterval = \"DAY\"\n",
    );
    c.write(
        "export.csv",
        "Date,Team,KPI,Cause,Minutes\n2025-03-03,Montage Süd,Downtime by cause,Mechanical,30\n2025-03-03,Montage Süd,Downtime by cause,,15\n",
    );
    let unknown = c.import(&[]);
    assert_eq!(unknown.code, 1);
    assert_eq!(c.requests("PUT"), 0, "nothing may be written");
    pinned("fidelity_sub_tiles_unread", &unknown);
    let told = c.import(&["--sub-tiles-field", "children"]);
    assert_eq!(told.code, 1, "{}", told.all());
    assert!(
        told.err()
            .contains("export.csv:3:4: sub-tile: the cell is empty"),
        "{}",
        told.stderr
    );
    assert_eq!(
        c.server(),
        vec!["2025-03-03 Montage Süd Downtime by cause › Mechanical: Actual=30"]
    );
}
