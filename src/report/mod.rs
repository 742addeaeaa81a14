//! Everything the user reads about problems and plans is made here: fatal errors, grouped
//! diagnostics, the plan summary, `report.json` and `rejected.csv`.

pub mod diagnostics;
pub mod files;
pub mod plan;
pub mod progress;

use std::io::IsTerminal;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// Colours only on a terminal without `NO_COLOR`.
pub fn theme() -> GraphicalTheme {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    }
}

/// Renders a diagnostic at a fixed width, so output is stable in logs and tests.
pub fn render(diag: &dyn Diagnostic) -> String {
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme()).with_width(100);
    if handler.render_report(&mut out, diag).is_err() {
        out = format!("error: {diag}\n");
    }
    out
}

/// Prints a fatal error to stderr.
pub fn print_error(diag: &dyn Diagnostic) {
    eprint!("{}", render(diag));
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
