//! `vsimport inspect FILE`: what the read stage sees in a file — the first thing to run on a
//! new export.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::cli::InspectArgs as Args;
use crate::diag::column_letters;
use crate::error::Error;
use crate::read::{Cell, Input, Source, SourceOptions};

struct Shown {
    number: u64,
    cells: Vec<(String, &'static str)>,
}

/// A cell as `inspect` shows it: escaped and cut ([`crate::diag::shown_cell`]).
fn cell_text(c: &Cell<'_>) -> (String, &'static str) {
    (crate::diag::shown_cell(&c.display()), c.kind())
}

pub(crate) async fn run(args: Args) -> Result<ExitCode, Error> {
    let opts = crate::settings::source_options(&args.source, SourceOptions::default())?;
    let mut src = Source::open(&Input::from_arg(&args.file), &opts)?;
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
    let text = if args.json || args.format == crate::cli::Format::Json {
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
    crate::report::out(&text);
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
        .map(|c| crate::diag::shown_cell(c).chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    for (i, name) in det.columns.iter().enumerate() {
        let name = crate::diag::shown_cell(name);
        let shown = if name.is_empty() { "(no name)" } else { &name };
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
                let name = crate::diag::shown_cell(&det.columns[i]);
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
