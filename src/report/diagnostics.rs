//! Diagnostics for people: grouped by kind and column, the first few of each group rendered
//! by miette with the source line (CSV) or the rendered row (workbooks), the rest counted.

use std::fmt::Write as _;
use std::io::{Seek, SeekFrom};

use miette::{LabeledSpan, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diag::{Context, Diagnostic, Severity, column_letters};
use crate::validate::{CONTEXT_PER_GROUP, Diags};

/// One line of source with its real line number.
struct LineSource {
    name: String,
    text: String,
    /// 0-based line number of `text`.
    line: usize,
}

impl SourceCode for LineSource {
    fn read_span<'a>(
        &'a self,
        _span: &SourceSpan,
        _before: usize,
        _after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, miette::MietteError> {
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            self.text.as_bytes(),
            SourceSpan::from((0, self.text.len())),
            self.line,
            0,
            1,
        )))
    }
}

/// A diagnostic dressed for miette.
struct Shown<'a> {
    d: &'a Diagnostic,
    source: Option<LineSource>,
    span: Option<(usize, usize)>,
    label: String,
}

impl std::fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.d)
    }
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.d.location, self.d.message)
    }
}

impl std::error::Error for Shown<'_> {}

impl miette::Diagnostic for Shown<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.d.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (start, len) = self.span?;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(self.label.clone()),
            start,
            len,
        ))))
    }
}

/// The file's own line at `byte` (UTF-8 files), and the span of field `col` in it.
fn csv_line(
    file: &str,
    byte: u64,
    delimiter: u8,
    col: Option<usize>,
) -> Option<(String, Option<(usize, usize)>)> {
    let mut f = std::fs::File::open(file).ok()?;
    f.seek(SeekFrom::Start(byte)).ok()?;
    let mut buf = vec![0u8; 4096];
    let n = crate::read::sniff_read(&mut f, &mut buf).ok()?;
    buf.truncate(n);
    let end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
    let line = std::str::from_utf8(&buf[..end])
        .ok()?
        .trim_end_matches('\r')
        .to_string();
    let span = col.and_then(|c| field_span(&line, delimiter, c));
    Some((line, span))
}

/// Where field `col` is in a CSV line (quotes respected).
fn field_span(line: &str, delimiter: u8, col: usize) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut field = 0;
    let mut start = 0;
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            if field == col {
                return Some((start, (i - start).max(1)));
            }
            field += 1;
            start = i + 1;
        }
    }
    (field == col).then(|| (start, (bytes.len() - start).max(1)))
}

fn shown<'d>(
    d: &'d Diagnostic,
    delimiter: Option<char>,
    utf8: bool,
    columns: &[String],
    first_column: u32,
) -> Shown<'d> {
    let name = match &d.location.sheet {
        Some(sheet) => format!("{} › {sheet}", d.location.file),
        None => d.location.file.to_string(),
    };
    let line = d.location.row.saturating_sub(1) as usize;
    let column_name = d
        .location
        .column
        .and_then(|c| columns.get(c.checked_sub(first_column)? as usize))
        .filter(|n| !n.is_empty())
        .map(|n| format!("{n:?} "))
        .unwrap_or_default();
    let label = match d.location.column {
        Some(c) if d.location.sheet.is_some() => {
            format!("{column_name}{}{}", column_letters(c), d.location.row)
        }
        Some(c) => format!("{column_name}(column {c})"),
        None => "here".into(),
    };
    // CSV in UTF-8: the real line from the file.
    if let (Some(delim), true, Some(byte)) = (delimiter, utf8, d.location.byte)
        && let Some((text, span)) = csv_line(
            &d.location.file,
            byte,
            delim as u8,
            d.location.column.map(|c| c as usize - 1),
        )
    {
        return Shown {
            d,
            span: span.or(Some((0, text.len().max(1)))),
            source: Some(LineSource { name, text, line }),
            label,
        };
    }
    match &d.context {
        Some(Context { text, span, .. }) => Shown {
            d,
            source: Some(LineSource {
                name,
                text: text.clone(),
                line,
            }),
            span: (span.1 > 0).then_some(*span),
            label,
        },
        None => Shown {
            d,
            source: None,
            span: None,
            label,
        },
    }
}

/// Renders the diagnostics: errors, then warnings; infos only with `verbose` (else counted).
/// `delimiter`/`utf8` say whether CSV lines can be read back from the file.
pub fn render(
    diags: &Diags,
    columns: &[String],
    first_column: u32,
    delimiter: Option<char>,
    utf8: bool,
    verbose: bool,
) -> String {
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(super::theme()).with_width(100);
    let mut groups: Vec<(&(&'static str, Option<u32>), &usize)> = diags.groups.iter().collect();
    let first_of = |code: &str, col: Option<u32>| {
        diags
            .list
            .iter()
            .find(|d| d.code == code && d.location.column == col)
    };
    groups.sort_by_key(|((code, col), _)| {
        let f = first_of(code, *col);
        (
            f.map(|d| d.severity).unwrap_or(Severity::Info),
            f.map(|d| d.location.row).unwrap_or(0),
        )
    });
    let mut infos = Vec::new();
    for ((code, col), total) in groups {
        let Some(first) = first_of(code, *col) else {
            continue;
        };
        if first.severity == Severity::Info && !verbose {
            infos.push((first, *total));
            continue;
        }
        let members: Vec<&Diagnostic> = diags
            .list
            .iter()
            .filter(|d| d.code == *code && d.location.column == *col)
            .take(CONTEXT_PER_GROUP)
            .collect();
        for d in &members {
            let s = shown(d, delimiter, utf8, columns, first_column);
            let mut text = String::new();
            if handler.render_report(&mut text, &s).is_err() {
                text = format!("{d}\n");
            }
            out.push_str(&text);
        }
        if *total > members.len() {
            let column = col
                .map(|c| {
                    let name = columns
                        .get((c - first_column) as usize)
                        .map(|n| format!(" ({n:?})"))
                        .unwrap_or_default();
                    format!(" in column {}{name}", column_letters(c))
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  … and {} more like this{column} [{code}]\n",
                super::thousands((total - members.len()) as u64)
            );
        }
    }
    if !infos.is_empty() {
        let _ = writeln!(out, "Notes (-v shows each):");
        for (d, total) in infos {
            let _ = writeln!(
                out,
                "  {:>7} × {}  e.g. {}",
                super::thousands(total as u64),
                d.code,
                d
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_fields() {
        assert_eq!(field_span("a;bb;c", b';', 1), Some((2, 2)));
        assert_eq!(field_span("a;\"x;y\";c", b';', 2), Some((8, 1)));
        assert_eq!(field_span("a;bb;c", b';', 2), Some((5, 1)));
        assert_eq!(field_span("a;bb", b';', 5), None);
    }
}
