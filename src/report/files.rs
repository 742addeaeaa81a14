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
