//! The command line: one `Args` struct per subcommand (in `cmd/`), dispatched here.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::error::Error;

const EXIT_CODES: &str = "\
Exit codes:
  0  everything was done
  1  done, but some rows or records were rejected or failed (see the report)
  2  nothing could be done: usage, file, catalog or server error";

/// Load KPI spreadsheets exported from BI tools (CSV, Excel) into ValueStreamer.
#[derive(Debug, Parser)]
#[command(name = "vsimport", version, about, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// More detail on stderr (-v: debug, -vv: trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a file: check every cell against the catalog, then write the new and changed
    /// records; --dry-run --diff shows what would change
    Import(cmd::import::Args),
    /// Revert an import: restore the values it overwrote, delete the records it created
    Undo(cmd::undo::Args),
    /// Mapping files: `mapping init FILE` suggests one
    #[command(subcommand)]
    Mapping(cmd::mapping::Command),
    /// Show what vsimport sees in a file: format, encoding, delimiter, sheet, header, columns, rows
    Inspect(cmd::inspect::Args),
    /// List the tenant's KPIs with interval, unit, value names and recording teams
    Kpis(cmd::kpis::Args),
    /// Read records back from the server into CSV
    Export(cmd::export::Args),
    /// Try vsimport end to end on the bundled emulator (no server or credentials needed)
    Demo(cmd::demo::Args),
    /// Run the bundled emulator of the ValueStreamer KPI API (for tests and trying things out)
    Emulator(cmd::emulator::Args),
}

/// Parses the arguments; `Err` carries clap's own output and exit code.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(args)
}

pub async fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Import(a) => {
            let ui = cmd::import::Ui {
                verbose: cli.verbose > 0,
                quiet: cli.quiet,
            };
            cmd::import::run(a, ui).await
        }
        Command::Undo(a) => cmd::undo::run(a, cli.quiet).await,
        Command::Mapping(c) => cmd::mapping::run(c).await,
        Command::Inspect(a) => cmd::inspect::run(a).await,
        Command::Kpis(a) => cmd::kpis::run(a).await,
        Command::Export(a) => cmd::export::run(a).await,
        Command::Emulator(a) => cmd::emulator::run(a).await,
        Command::Demo(a) => cmd::demo::run(a, cli.quiet).await,
    }
}
