//! The report directory: `report.json`, `rejected.csv` (the rows that were not planned, with
//! the reasons, ready to fix and import again) and `failed.csv` (the records that were not
//! written, ready to send again). Each file is written whole or not at all.

use std::collections::HashMap;
use std::path::Path;

use super::document::{Report, Unwritten};
use crate::catalog::CatalogIndex;
use crate::error::Error;
use crate::findings::Rejected;
use crate::persist::write_atomic_with;

/// Writes `dir/report.json`.
pub(crate) fn write_report(dir: &Path, report: &Report) -> Result<(), Error> {
    crate::upload::state::ensure_dir(dir)?;
    let path = dir.join("report.json");
    let json = serde_json::to_vec_pretty(report).map_err(|e| Error::io(path.display(), e))?;
    Ok(crate::persist::write_atomic(&path, &json)?)
}

/// A cell that a spreadsheet would run as a formula gets a leading `'`: one that starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return, also after leading spaces, line breaks or
/// zero-width characters. A plain number (`-5`, `+3.25`, `-1,5`) stays as it is, so that a
/// negative value in rejected.csv imports again as the number it is.
pub(crate) fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    let invisible = |c: char| {
        c.is_whitespace() && c != '\t' && c != '\r'
            || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
    };
    let lead = cell.trim_start_matches(invisible);
    let risky = lead.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !plain_number(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// `-5`, `+3.25`, `-1,5`: a sign, digits, at most one decimal point or comma, digits.
fn plain_number(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut parts = t.splitn(2, ['.', ',']);
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && frac.is_none_or(digits)
}

/// Writes `dir/report.html` (made by [`super::html`]).
pub(crate) fn write_html(dir: &Path, html: &str) -> Result<(), Error> {
    crate::upload::state::ensure_dir(dir)?;
    Ok(crate::persist::write_atomic(
        &dir.join("report.html"),
        html.as_bytes(),
    )?)
}

/// Writes `dir/rejected.csv`: the header, then every rejected row as the file has it, plus
/// `vsimport_row` and `vsimport_problems`. UTF-8 with a byte-order mark (so Excel and a
/// re-import both read it right) and the input's delimiter (comma for workbooks). A row's
/// cells are the ones kept when it was read, or (for rows rejected after the read) `fetched`.
pub(crate) fn write_rejected(
    dir: &Path,
    columns: &[String],
    delimiter: u8,
    rejected: &Rejected,
    fetched: &HashMap<u64, Vec<String>>,
) -> Result<u64, Error> {
    crate::upload::state::ensure_dir(dir)?;
    let path = dir.join("rejected.csv");
    let mut written = 0u64;
    write_atomic_with(&path, |sink| {
        sink.write_all("\u{feff}".as_bytes())?;
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(sink);
        let mut header: Vec<String> = columns.to_vec();
        header.push("vsimport_row".into());
        header.push("vsimport_problems".into());
        w.write_record(header.iter().map(|h| neutralise(h).into_owned()))?;
        let empty = Vec::new();
        let mut failed = None;
        rejected.each(|row, r| {
            let cells = r
                .cells
                .as_ref()
                .or_else(|| fetched.get(&row))
                .unwrap_or(&empty);
            let mut rec: Vec<String> = cells
                .iter()
                .take(columns.len())
                .map(|c| neutralise(c).into_owned())
                .collect();
            rec.resize(columns.len(), String::new());
            rec.push(row.to_string());
            rec.push(neutralise(&r.reasons.join("; ")).into_owned());
            if let Err(e) = w.write_record(&rec) {
                failed = Some(e);
                return false;
            }
            written += 1;
            true
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        w.flush()
    })?;
    Ok(written)
}

/// Writes `dir/failed.csv` (one row per record that was not written: key, names, one column
/// per value, status, message and source rows) and `dir/failed.mapping.toml`, with which
/// `vsimport import failed.csv --mapping failed.mapping.toml` sends them again.
pub(crate) fn write_failed(
    dir: &Path,
    failed: &[Unwritten],
    index: &CatalogIndex,
) -> Result<u64, Error> {
    crate::upload::state::ensure_dir(dir)?;
    let path = dir.join("failed.csv");
    // One column per value name (and forecast), in order of first appearance.
    let mut slots: Vec<(String, bool)> = Vec::new();
    for f in failed {
        let kpi = index.kpi(f.record.kpi);
        for v in f.record.values.iter() {
            let name = kpi
                .value(v.kpi_value_id)
                .map_or_else(|| v.kpi_value_id.to_string(), |n| n.name.clone());
            if !slots.iter().any(|(n, fc)| *n == name && *fc == v.forecast) {
                slots.push((name, v.forecast));
            }
        }
    }
    let column = |(name, forecast): &(String, bool)| {
        if *forecast {
            format!("{name} (forecast)")
        } else {
            name.clone()
        }
    };
    write_atomic_with(&path, |sink| {
        let mut w = csv::Writer::from_writer(sink);
        let mut header: Vec<String> = [
            "Date",
            "Team",
            "Team ID",
            "KPI",
            "KPI ID",
            "Sub-tile",
            "Sub-tile ID",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        header.extend(slots.iter().map(column));
        header.extend(["Status", "Message", "Source rows"].map(String::from));
        w.write_record(&header)?;
        for f in failed {
            let r = &f.record;
            let kpi = index.kpi(r.kpi);
            let sub = r.key.sub_tile.and_then(|s| kpi.sub_tile(s));
            let mut rec: Vec<String> = vec![
                r.key.date.format("%Y-%m-%d").to_string(),
                neutralise(&index.team(r.team).name).into_owned(),
                r.key.team.to_string(),
                neutralise(&kpi.name).into_owned(),
                r.key.kpi.to_string(),
                sub.map(|s| neutralise(&s.name).into_owned())
                    .unwrap_or_default(),
                r.key.sub_tile.map(|s| s.to_string()).unwrap_or_default(),
            ];
            for (name, forecast) in &slots {
                let cell = r.values.iter().find(|v| {
                    v.forecast == *forecast
                        && kpi.value(v.kpi_value_id).is_some_and(|n| n.name == *name)
                });
                rec.push(cell.map(|v| v.value.to_string()).unwrap_or_default());
            }
            rec.push(f.status.map(|s| s.to_string()).unwrap_or_default());
            rec.push(neutralise(&f.message).into_owned());
            rec.push(
                r.rows
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            w.write_record(&rec)?;
        }
        w.flush()
    })?;
    let mut toml = String::from(
        "# Sends the records in failed.csv again:\n\
         #   vsimport import failed.csv --mapping failed.mapping.toml\n\
         [source]\ndelimiter = \",\"\ndecimal = \".\"\n\n\
         [columns]\ndate = \"Date\"\nteam = \"Team ID\"\nkpi = \"KPI ID\"\nsub_tile = \"Sub-tile ID\"\n\n[values]\n",
    );
    for s in &slots {
        let col = column(s);
        if s.1 {
            toml.push_str(&format!(
                "{} = {{ value = {}, forecast = true }}\n",
                toml_str(&col),
                toml_str(&s.0)
            ));
        } else {
            toml.push_str(&format!("{} = {}\n", toml_str(&col), toml_str(&s.0)));
        }
    }
    crate::persist::write_atomic(&dir.join("failed.mapping.toml"), toml.as_bytes())?;
    Ok(failed.len() as u64)
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=1+1"), "'=1+1");
        assert_eq!(neutralise("+49 123"), "'+49 123");
        // Plain numbers stay numbers.
        assert_eq!(neutralise("-5"), "-5");
        assert_eq!(neutralise("-1,5"), "-1,5");
        assert_eq!(neutralise("+3.25"), "+3.25");
        assert_eq!(neutralise("-5-5"), "'-5-5");
        // Also behind spaces, line breaks and zero-width characters.
        assert_eq!(neutralise("  =1+1"), "'  =1+1");
        assert_eq!(neutralise("\n=HYPERLINK(\"x\")"), "'\n=HYPERLINK(\"x\")");
        assert_eq!(neutralise("\u{200B}@SUM(A1)"), "'\u{200B}@SUM(A1)");
        assert_eq!(neutralise("\u{FEFF}-2+3"), "'\u{FEFF}-2+3");
        assert_eq!(neutralise("\rx"), "'\rx");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("Montage Süd"), "Montage Süd");
    }
}
