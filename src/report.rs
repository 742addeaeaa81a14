//! Everything the user reads on the terminal about problems goes through here.

use std::io::IsTerminal;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// Renders a diagnostic: colours only on a terminal without `NO_COLOR`, fixed width so output
/// is stable in logs and tests.
pub fn render(diag: &dyn Diagnostic) -> String {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    if handler.render_report(&mut out, diag).is_err() {
        out = format!("error: {diag}\n");
    }
    out
}

/// Prints a fatal error to stderr.
pub fn print_error(diag: &dyn Diagnostic) {
    eprint!("{}", render(diag));
}
