//! Everything the user reads is made here, and written to the terminal from here: fatal
//! errors ([`render`]), grouped diagnostics ([`diagnostics`]), the plan, the comparison and
//! what was written ([`text`]), past runs ([`runs`]), the demo's story ([`story`]), the report document
//! ([`document`]), the files beside it ([`files`]: report.json, rejected.csv, failed.csv; the
//! page [`html`]: report.html) and
//! progress bars ([`progress`]), and what the folder watch logs ([`watch`]).

pub(crate) mod charts;
pub(crate) mod checked;
pub(crate) mod diagnostics;
pub(crate) mod document;
pub(crate) mod explain;
pub(crate) mod files;
pub(crate) mod html;
pub(crate) mod progress;
pub(crate) mod runs;
pub(crate) mod story;
pub(crate) mod text;
pub(crate) mod watch;

use std::io::Write;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// The theme for diagnostics: colours only when the settings say the terminal wants them.
pub(crate) fn theme(color: bool) -> GraphicalTheme {
    if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    }
}

/// Renders a diagnostic at a fixed width, so output is stable in logs and tests.
pub(crate) fn render(diag: &dyn Diagnostic, color: bool) -> String {
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme(color)).with_width(100);
    if handler.render_report(&mut out, diag).is_err() {
        out = format!("error: {diag}\n");
    }
    out
}

/// A fatal error as a JSON document, for `--format json`:
/// `{"version": 1, "error": {"code", "message", "help", "exit_code"}}`.
pub(crate) fn error_document(diag: &dyn Diagnostic, exit_code: u8) -> String {
    let doc = serde_json::json!({
        "version": 1,
        "error": {
            "code": diag.code().map(|c| c.to_string()),
            "message": diag.to_string(),
            "help": diag.help().map(|h| h.to_string()),
            "exit_code": exit_code,
        }
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes to standard output (what the command produces). A closed pipe is not an error.
pub(crate) fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|_| o.flush());
}

/// Writes text to standard error as it is.
pub(crate) fn err(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
}

/// Writes a line to standard error (notices, warnings, errors).
pub(crate) fn note(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{text}");
}

/// `1234567` as `1,234,567` (indicatif's `HumanCount`).
pub(crate) fn thousands(n: u64) -> String {
    indicatif::HumanCount(n).to_string()
}

/// `one` for 1, else `many`.
pub(crate) fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1 record`, `1,234 records`.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), plural(n, one, many))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_naturally() {
        assert_eq!(count(1, "record", "records"), "1 record");
        assert_eq!(count(0, "record", "records"), "0 records");
        assert_eq!(count(1234567, "team", "teams"), "1,234,567 teams");
    }
}
