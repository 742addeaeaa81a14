//! `vsimport mapping init FILE`: suggest a mapping by matching a file's columns to the catalog.

use std::process::ExitCode;

use crate::cli::MappingCommand;
use crate::error::Error;
use crate::read::{Input, Source, SourceOptions};
use crate::report;

pub(crate) async fn run(cmd: MappingCommand) -> Result<ExitCode, Error> {
    let MappingCommand::Init(args) = cmd;
    let catalog = match &args.catalog {
        Some(p) => crate::catalog::load_file(p)?,
        None => super::connect(&args.connect)?.catalog().await?,
    };
    let opts = crate::settings::source_options(&args.source, SourceOptions::default())?;
    let input = Input::from_arg(&args.file);
    let src = Source::open(&input, &opts)?;
    let suggestion = crate::map::init::suggest(&src.detected().columns, &catalog);
    let text = suggestion.to_toml(&input.shown());
    match &args.output {
        Some(p) => {
            Error::check_output(p, args.force)?;
            crate::persist::write_atomic(p, text.as_bytes())?;
            report::note(&format!(
                "wrote {}{}",
                p.display(),
                if suggestion.confident {
                    ""
                } else {
                    ": check the lines marked unsure or TODO"
                }
            ));
        }
        None => report::out(&text),
    }
    Ok(ExitCode::SUCCESS)
}
