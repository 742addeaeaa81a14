//! Diagnostics for people: grouped by kind and column, the first few of each group rendered
//! by miette with the row as the file has it (kept when the row was read, so the file is never
//! opened again), the rest counted.

use std::fmt::Write as _;

use miette::{LabeledSpan, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diag::{Context, Diagnostic, Severity, column_letters};
use crate::findings::{CONTEXT_PER_GROUP, Diags};

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

/// Which diagnostics to render, and how.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Shown {
    /// Every note (info), not only their counts.
    pub(crate) notes: bool,
    /// Errors only (`--quiet`): why rows were rejected, nothing else.
    pub(crate) errors_only: bool,
    pub(crate) color: bool,
}

/// A diagnostic dressed for miette.
struct Dressed<'a> {
    d: &'a Diagnostic,
    source: Option<LineSource>,
    span: Option<(usize, usize)>,
    label: String,
}

impl std::fmt::Debug for Dressed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.d)
    }
}

impl std::fmt::Display for Dressed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.d.location, self.d.message)
    }
}

impl std::error::Error for Dressed<'_> {}

impl miette::Diagnostic for Dressed<'_> {
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

fn dressed<'d>(d: &'d Diagnostic, columns: &[String], first_column: u32) -> Dressed<'d> {
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
    match &d.context {
        Some(Context { text, span, .. }) => Dressed {
            d,
            source: Some(LineSource {
                name,
                text: text.clone(),
                line,
            }),
            span: (span.1 > 0).then_some(*span),
            label,
        },
        None => Dressed {
            d,
            source: None,
            span: None,
            label,
        },
    }
}

/// Renders the diagnostics: errors, then warnings; notes only with `how.notes` (else
/// counted); errors alone with `how.errors_only`.
pub(crate) fn render(diags: &Diags, columns: &[String], first_column: u32, how: Shown) -> String {
    let verbose = how.notes;
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(super::theme(how.color)).with_width(100);
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
    // The first code shown, for the line saying where codes are explained.
    let mut first_shown: Option<&str> = None;
    for ((code, col), total) in groups {
        let Some(first) = first_of(code, *col) else {
            continue;
        };
        if how.errors_only && first.severity != Severity::Error {
            continue;
        }
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
        first_shown.get_or_insert(code);
        for d in &members {
            let s = dressed(d, columns, first_column);
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
    if let Some(hint) = first_shown.map(super::explain::hint) {
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        let _ = writeln!(out, "{hint}\n");
    }
    out
}
