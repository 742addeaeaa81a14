//! The report directory: `report.json` and `rejected.csv` (the rows that were not planned,
//! with the reasons, ready to fix and import again).

use std::path::Path;

use crate::error::Error;
use crate::read::{Source, SourceOptions};

/// Writes `dir/report.json`.
pub fn write_report(dir: &Path, report: &super::plan::Report) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let path = dir.join("report.json");
    let json = serde_json::to_vec_pretty(report).map_err(|e| Error::io(path.display(), e))?;
    let tmp = dir.join("report.json.tmp~");
    std::fs::write(&tmp, json)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| Error::io(path.display(), e))
}

/// A cell that Excel would run as a formula (`= + - @`, tab, CR) gets a leading `'`.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes `dir/rejected.csv`: the header, then every rejected row as it was in the file,
/// plus `vsimport_row` and `vsimport_problems`. UTF-8 with a byte-order mark (so Excel and a
/// re-import both read it right) and the input's delimiter (comma for workbooks). The file is
/// read again for this, so the rows are exactly what the file holds.
pub fn write_rejected(
    dir: &Path,
    input: &Path,
    opts: &SourceOptions,
    rejected: &std::collections::BTreeMap<u64, Vec<String>>,
) -> Result<u64, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let path = dir.join("rejected.csv");
    let mut src = Source::open(input, opts)?;
    let columns = src.detected().columns.clone();
    let delimiter = src.detected().delimiter.map(|c| c as u8).unwrap_or(b',');
    let io = |e: &dyn std::fmt::Display| Error::io(path.display(), e);
    let mut file = std::fs::File::create(&path).map_err(|e| io(&e))?;
    std::io::Write::write_all(&mut file, "\u{feff}".as_bytes()).map_err(|e| io(&e))?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(std::io::BufWriter::new(file));
    let mut header: Vec<String> = columns.clone();
    header.push("vsimport_row".into());
    header.push("vsimport_problems".into());
    w.write_record(header.iter().map(|h| neutralise(h).into_owned()))
        .map_err(|e| io(&e))?;
    let mut written = 0u64;
    let mut failed: Option<csv::Error> = None;
    src.for_each_row(|row| {
        let Some(reasons) = rejected.get(&row.number) else {
            return true;
        };
        let mut rec: Vec<String> = (0..columns.len().max(row.len()))
            .map(|i| neutralise(&row.cell(i).display()).into_owned())
            .collect();
        rec.truncate(columns.len());
        while rec.len() < columns.len() {
            rec.push(String::new());
        }
        rec.push(row.number.to_string());
        rec.push(neutralise(&reasons.join("; ")).into_owned());
        if let Err(e) = w.write_record(&rec) {
            failed = Some(e);
            return false;
        }
        written += 1;
        true
    })?;
    if let Some(e) = failed {
        return Err(io(&e));
    }
    w.flush().map_err(|e| io(&e))?;
    Ok(written)
}

/// A record that was not written, for `failed.csv`.
pub struct FailedRecord<'a> {
    pub key: crate::api::RecordKey,
    pub kpi: &'a crate::api::KpiDetail,
    pub team: &'a str,
    pub values: &'a [crate::api::RecordValue],
    pub status: Option<u16>,
    pub message: String,
    pub rows: &'a [u64],
}

/// Writes `dir/failed.csv` (one row per record that was not written: key, names, one column
/// per value, status, message and source rows) and `dir/failed.mapping.toml`, with which
/// `vsimport import failed.csv --mapping failed.mapping.toml` sends them again.
pub fn write_failed(dir: &Path, failed: &[FailedRecord<'_>]) -> Result<u64, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let path = dir.join("failed.csv");
    let io = |e: &dyn std::fmt::Display| Error::io(path.display(), e);
    // One column per value name (and forecast), in order of first appearance.
    let mut slots: Vec<(String, bool)> = Vec::new();
    for f in failed {
        for v in f.values {
            let name = f
                .kpi
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
    let file = std::fs::File::create(&path).map_err(|e| io(&e))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
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
    w.write_record(&header).map_err(|e| io(&e))?;
    for f in failed {
        let sub = f.key.sub_tile.and_then(|s| f.kpi.sub_tile(s));
        let mut rec: Vec<String> = vec![
            f.key.date.format("%Y-%m-%d").to_string(),
            neutralise(f.team).into_owned(),
            f.key.team.to_string(),
            neutralise(&f.kpi.name).into_owned(),
            f.key.kpi.to_string(),
            sub.map(|s| neutralise(&s.name).into_owned())
                .unwrap_or_default(),
            f.key.sub_tile.map(|s| s.to_string()).unwrap_or_default(),
        ];
        for (name, forecast) in &slots {
            let cell = f.values.iter().find(|v| {
                v.forecast == *forecast
                    && f.kpi.value(v.kpi_value_id).is_some_and(|n| n.name == *name)
            });
            rec.push(cell.map(|v| v.value.to_string()).unwrap_or_default());
        }
        rec.push(f.status.map(|s| s.to_string()).unwrap_or_default());
        rec.push(neutralise(&f.message).into_owned());
        rec.push(
            f.rows
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        );
        w.write_record(&rec).map_err(|e| io(&e))?;
    }
    w.flush().map_err(|e| io(&e))?;
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
    let mpath = dir.join("failed.mapping.toml");
    std::fs::write(&mpath, toml).map_err(|e| Error::io(mpath.display(), e))?;
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
        assert_eq!(neutralise("-5"), "'-5");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("Montage Süd"), "Montage Süd");
    }
}
