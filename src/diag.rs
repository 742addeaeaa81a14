//! Row-level problems as values: every stage collects [`Diagnostic`]s instead of stopping,
//! and the report decides how to show them. Codes are stable and listed in `docs/DIAGNOSTICS.md`.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// The row (or file) cannot be used.
    Error,
    /// Used, but probably not what was meant.
    Warning,
    /// Something was changed on purpose (a date snapped to a Monday, ...).
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// Where a cell came from: file, sheet, row, column and (CSV) byte offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct Location {
    pub(crate) file: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sheet: Option<Arc<str>>,
    /// 1-based row (CSV: the line the record starts on; Excel: the sheet row).
    pub(crate) row: u64,
    /// 1-based column, when the problem is one cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<u32>,
    /// CSV: byte offset of the record's start in the (decoded) text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) byte: Option<u64>,
}

/// `A`, `B`, …, `Z`, `AA`, … for a 1-based column number.
pub(crate) fn column_letters(mut n: u32) -> String {
    let mut s = Vec::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        s.push(b'A' + r);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

impl fmt::Display for Location {
    /// `export.csv:12:3` for text files, `export.xlsx › Sheet1!C7` for workbooks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => {
                write!(f, "{} › {}!", self.file, sheet)?;
                match self.column {
                    Some(c) => write!(f, "{}{}", column_letters(c), self.row),
                    None => write!(f, "{}:{}", self.row, self.row),
                }
            }
            None => {
                write!(f, "{}:{}", self.file, self.row)?;
                if let Some(c) = self.column {
                    write!(f, ":{c}")?;
                }
                Ok(())
            }
        }
    }
}

/// One problem found in the input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Diagnostic {
    /// Stable code, e.g. `vsimport::read::ragged_row`.
    pub(crate) code: &'static str,
    pub(crate) severity: Severity,
    pub(crate) location: Location,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) help: Option<String>,
    /// The row as text with the cell's span, for rendering (kept for the first few of a kind).
    #[serde(skip)]
    pub(crate) context: Option<Context>,
}

/// Why a cell or row is refused, before it has a place: the validate stage adds the location.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

/// A row rendered as text, and where the cell is in it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Context {
    pub(crate) text: String,
    /// Byte offset and length of the cell in `text`.
    pub(crate) span: (usize, usize),
    /// True when `text` is a rendering of the row (workbooks), false when it stands for the
    /// file's own line (CSV).
    pub(crate) rendered: bool,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.severity, self.message)
    }
}

/// How much of a cell is shown in messages, `inspect` and reports.
pub(crate) const SHOWN_CHARS: usize = 200;

/// A cell's text as shown to people: control characters (a terminal's escape sequences among
/// them) written as escapes, and at most [`SHOWN_CHARS`] characters with a note of how many
/// more there were.
pub(crate) fn shown_cell(s: &str) -> String {
    shorten(s, SHOWN_CHARS)
}

/// `s` with control characters escaped and cut to `max` characters ("… (N more characters)").
pub(crate) fn shorten(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut chars = s.chars();
    for (taken, c) in chars.by_ref().enumerate() {
        if taken == max {
            let rest = 1 + chars.count();
            out.push_str(&format!("… ({rest} more characters)"));
            return out;
        }
        if c.is_control() && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(column_letters(1), "A");
        assert_eq!(column_letters(26), "Z");
        assert_eq!(column_letters(27), "AA");
        assert_eq!(column_letters(703), "AAA");
    }

    #[test]
    fn locations_render_like_editors_and_excel() {
        let csv = Location {
            file: "export.csv".into(),
            sheet: None,
            row: 12,
            column: Some(3),
            byte: Some(400),
        };
        assert_eq!(csv.to_string(), "export.csv:12:3");
        let xlsx = Location {
            file: "export.xlsx".into(),
            sheet: Some("Sheet1".into()),
            row: 7,
            column: Some(3),
            byte: None,
        };
        assert_eq!(xlsx.to_string(), "export.xlsx › Sheet1!C7");
    }
}
