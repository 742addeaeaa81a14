//! `vsimport runs`: past imports from the state directory; `runs prune --older-than AGE`.

use std::process::ExitCode;

use crate::cli::{Format, RunsArgs, RunsCommand};
use crate::error::Error;
use crate::report;
use crate::settings::{self, ProcessEnv};
use crate::upload::runs;

pub(crate) fn run(args: RunsArgs) -> Result<ExitCode, Error> {
    if let Some(RunsCommand::Prune(p)) = &args.command {
        let state = settings::state_dir(
            p.state.state_dir.as_deref(),
            p.config.as_deref(),
            &ProcessEnv,
        )?;
        let pruned = runs::prune(&state, p.older_than, p.dry_run)?;
        report::out(&report::runs::pruned(&pruned, p.dry_run));
        return Ok(ExitCode::SUCCESS);
    }
    let state = settings::state_dir(
        args.state.state_dir.as_deref(),
        args.config.as_deref(),
        &ProcessEnv,
    )?;
    let mut all = runs::list(&state)?;
    let hidden = if args.limit > 0 && all.len() > args.limit {
        let n = all.len() - args.limit;
        all.truncate(args.limit);
        n
    } else {
        0
    };
    let text = match args.format {
        Format::Json => {
            let doc = serde_json::json!({ "version": 1, "state_dir": state, "runs": all, "more": hidden });
            let mut s = serde_json::to_string_pretty(&doc).map_err(|e| Error::io("<stdout>", e))?;
            s.push('\n');
            s
        }
        Format::Text => report::runs::table(&all, hidden, &state),
    };
    report::out(&text);
    Ok(ExitCode::SUCCESS)
}
