//! `vsimport mapping init FILE`: suggest a mapping by matching a file's columns to the catalog.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::Error;
use crate::read::Source;
use crate::settings::ConnectArgs;

use super::inspect::SourceArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write a mapping for FILE: columns matched to roles and the catalog's KPIs and values
    /// (exact, case-insensitive, then fuzzy with the score in a comment)
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The exported file
    pub file: PathBuf,
    /// Write the mapping to FILE instead of standard output (an existing file is kept)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Use a saved catalog instead of asking the server
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub async fn run(cmd: Command) -> Result<ExitCode, Error> {
    let Command::Init(args) = cmd;
    let catalog = match &args.catalog {
        Some(p) => super::import::load_catalog(p)?,
        None => super::connect(&args.connect)?.catalog(16).await?,
    };
    let src = Source::open(&args.file, &args.source.options()?)?;
    let suggestion = crate::map::init::suggest(&src.detected().columns, &catalog);
    let text = suggestion.to_toml(&args.file.display().to_string());
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
            eprintln!(
                "wrote {}{}",
                p.display(),
                if suggestion.confident {
                    ""
                } else {
                    ": check the lines marked unsure or TODO"
                }
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
