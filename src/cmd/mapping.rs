//! `vsimport mapping init FILE`: suggest a mapping by matching a file's columns to the catalog.

use std::process::ExitCode;

use std::path::Path;

use crate::cli::{MappingCommand, MappingInitArgs};
use crate::error::Error;
use crate::read::{Input, Source, SourceOptions};
use crate::report;

pub(crate) async fn run(cmd: MappingCommand) -> Result<ExitCode, Error> {
    let MappingCommand::Init(args) = cmd;
    let (text, confident) = match (&args.layout, &args.file) {
        (Some(layout), _) => (crate::map::templates::template(*layout).to_string(), true),
        (None, Some(file)) => suggest(&args, file).await?,
        (None, None) => {
            return Err(Error::Usage {
                message: "mapping init needs a FILE, or --layout for a template".into(),
                help: None,
            });
        }
    };
    match &args.output {
        Some(p) => {
            Error::check_output(p, args.force)?;
            crate::persist::write_atomic(p, text.as_bytes())?;
            report::note(&format!(
                "wrote {}{}",
                p.display(),
                if confident {
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

/// The suggested mapping for `file` as TOML, and whether every match is sure.
async fn suggest(args: &MappingInitArgs, file: &Path) -> Result<(String, bool), Error> {
    let catalog = super::catalog(args.catalog.as_deref(), &args.connect).await?;
    let opts = crate::settings::source_options(&args.source, SourceOptions::default())?;
    let input = Input::from_arg(file);
    let mut src = Source::open(&input, &opts)?;
    let width = src.detected().columns.len();
    let mut sample = crate::map::init::Sample::default();
    let mut seen = 0;
    src.for_each_row(|row| {
        sample.add(row, width);
        seen += 1;
        seen < crate::map::init::SAMPLE_ROWS
    })?;
    let suggestion = crate::map::init::suggest(src.detected(), &sample, &catalog);
    Ok((suggestion.to_toml(&input.shown()), suggestion.confident))
}
