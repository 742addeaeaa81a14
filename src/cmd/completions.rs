//! `vsimport completions SHELL`: the completion script, from the command line itself.

use std::process::ExitCode;

use crate::cli::CompletionsArgs;
use crate::error::Error;

pub(crate) fn run(args: &CompletionsArgs) -> Result<ExitCode, Error> {
    let mut cmd = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "vsimport", &mut script);
    crate::report::out(&String::from_utf8_lossy(&script));
    Ok(ExitCode::SUCCESS)
}
