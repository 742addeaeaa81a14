//! `vsimport explain CODE`: a diagnostic code's section of docs/DIAGNOSTICS.md.

use std::process::ExitCode;

use crate::cli::ExplainArgs;
use crate::error::Error;
use crate::report::explain;

pub(crate) fn run(args: &ExplainArgs) -> Result<ExitCode, Error> {
    match explain::render(&args.code) {
        Some(text) => {
            crate::report::out(&text);
            Ok(ExitCode::SUCCESS)
        }
        None => Err(Error::Usage {
            message: format!("no diagnostic code {:?}", args.code),
            help: Some(match explain::nearest(&args.code) {
                Some(c) => format!("did you mean {c}? docs/DIAGNOSTICS.md lists every code"),
                None => "docs/DIAGNOSTICS.md lists every code".into(),
            }),
        }),
    }
}
