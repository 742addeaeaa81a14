//! `vsimport mapping init FILE`: suggest a mapping by matching a file's columns to the catalog.

use std::io::Write as _;
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
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p)
                .map_err(|e| {
                    Error::io(
                        p.display(),
                        format!("{e} (an existing mapping is not overwritten)"),
                    )
                })?;
            f.write_all(text.as_bytes())
                .map_err(|e| Error::io(p.display(), e))?;
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
