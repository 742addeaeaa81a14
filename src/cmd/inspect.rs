//! `vsimport inspect FILE`: what the read stage sees in a file — the first thing to run on a
//! new export.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::diag::column_letters;
use crate::error::Error;
use crate::read::{Cell, SheetChoice, Source, SourceOptions};

#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Input")]
pub struct SourceArgs {
    /// Sheet name or 1-based number [default: the first visible sheet]
    #[arg(long, value_name = "NAME|N")]
    pub sheet: Option<String>,
    /// 1-based row (CSV: line) holding the column names [default: detected]
    #[arg(long, value_name = "N")]
    pub header_row: Option<u64>,
    /// CSV delimiter: , ; tab | or any single character [default: detected]
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// CSV encoding as a WHATWG label, e.g. utf-8, windows-1252, utf-16le [default: detected]
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,
}

/// Parses a delimiter given as text.
pub fn parse_delimiter(s: &str) -> Result<u8, Error> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(Error::Usage {
            message: format!("delimiter {s:?} is not a single character"),
            help: Some("use one of , ; tab |".into()),
        }),
    }
}

/// Looks up a WHATWG encoding label.
pub fn parse_encoding(s: &str) -> Result<&'static encoding_rs::Encoding, Error> {
    encoding_rs::Encoding::for_label(s.trim().as_bytes()).ok_or_else(|| Error::Usage {
        message: format!("{s:?} is not an encoding label"),
        help: Some("use a WHATWG label such as utf-8, windows-1252, iso-8859-15, utf-16le".into()),
    })
}

impl SourceArgs {
    pub fn options(&self) -> Result<SourceOptions, Error> {
        Ok(SourceOptions {
            sheet: self.sheet.as_deref().map(SheetChoice::parse),
            header_row: self.header_row,
            delimiter: self.delimiter.as_deref().map(parse_delimiter).transpose()?,
            encoding: self.encoding.as_deref().map(parse_encoding).transpose()?,
            ..SourceOptions::default()
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The exported file (CSV, xlsx, xlsm, xlsb, xls, ods)
    pub file: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    /// How many data rows to show
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub rows: usize,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

struct Shown {
    number: u64,
    cells: Vec<(String, &'static str)>,
}

fn cell_text(c: &Cell<'_>) -> (String, &'static str) {
    (c.display(), c.kind())
}

pub async fn run(args: Args) -> Result<ExitCode, Error> {
    let opts = args.source.options()?;
    let mut src = Source::open(&args.file, &opts)?;
    let width = src.detected().columns.len();
    let mut first: Vec<Shown> = Vec::new();
    let stats = src.for_each_row(|row| {
        if first.len() < args.rows {
            first.push(Shown {
                number: row.number,
                cells: (0..width).map(|i| cell_text(&row.cell(i))).collect(),
            });
        }
        true
    })?;
    let det = src.detected().clone();
    let problems = src.take_problems();
    let text = if args.json {
        let value = serde_json::json!({
            "detected": det,
            "rows": stats.rows,
            "empty_rows": stats.empty_rows,
            "ragged_rows": stats.ragged_rows,
            "problems": problems,
            "first_rows": first.iter().map(|r| serde_json::json!({
                "row": r.number,
                "cells": r.cells.iter().enumerate().map(|(i, (v, k))| serde_json::json!({
                    "column": column_letters(det.first_column + i as u32),
                    "name": det.columns[i],
                    "type": k,
                    "value": v,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&value).map_err(|e| Error::io("<stdout>", e))?;
        s.push('\n');
        s
    } else {
        render(&det, &stats, &problems, &first)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(ExitCode::SUCCESS)
}

use crate::report::thousands;

fn render(
    det: &crate::read::Detected,
    stats: &crate::read::ReadStats,
    problems: &[crate::diag::Diagnostic],
    first: &[Shown],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "File       {}", det.file);
    let _ = writeln!(s, "Format     {}", det.format.name());
    for note in &det.notes {
        let (what, how) = note.split_once(": ").unwrap_or(("note", note));
        let mut label = what.to_string();
        if let Some(c) = label.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        let _ = writeln!(s, "{label:<10} {how}");
    }
    let _ = writeln!(s, "Columns    {}", det.columns.len());
    let name_w = det
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    for (i, name) in det.columns.iter().enumerate() {
        let shown = if name.is_empty() { "(no name)" } else { name };
        let _ = writeln!(
            s,
            "  {:>3}  {shown}",
            column_letters(det.first_column + i as u32)
        );
    }
    let _ = write!(s, "Rows       {} data rows", thousands(stats.rows));
    if stats.empty_rows > 0 {
        let _ = write!(s, " ({} empty rows skipped)", thousands(stats.empty_rows));
    }
    let _ = writeln!(s);
    if !problems.is_empty() || stats.ragged_rows > 0 {
        let _ = writeln!(
            s,
            "Problems   {}",
            thousands(stats.ragged_rows.max(problems.len() as u64))
        );
        for p in problems.iter().take(10) {
            let _ = writeln!(s, "  {p}");
        }
        if problems.len() > 10 {
            let _ = writeln!(
                s,
                "  … and {} more",
                thousands(stats.ragged_rows.max(problems.len() as u64) - 10)
            );
        }
    }
    if !first.is_empty() {
        let _ = writeln!(s, "First {} rows", first.len());
        for r in first {
            let _ = writeln!(s, "  row {}", r.number);
            for (i, (v, k)) in r.cells.iter().enumerate() {
                let name = &det.columns[i];
                let _ = writeln!(
                    s,
                    "    {:>3}  {name:<name_w$}  {k:<8}  {v}",
                    column_letters(det.first_column + i as u32)
                );
            }
        }
    }
    s
}
