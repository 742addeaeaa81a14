//! # vsimport
//!
//! Loads KPI spreadsheets exported from BI tools (CSV, Excel) into ValueStreamer through its
//! KPI REST API. The pipeline is staged; each stage takes one type in and hands one type on:
//!
//! 1. **read** — a CSV or Excel file becomes a stream of typed cells that know their file,
//!    sheet, row and column.
//! 2. **map** — a mapping (TOML) turns columns into record keys and values.
//! 3. **normalise / validate** — dates, times and numbers are parsed and checked against the
//!    tenant's catalog (fetched through [`api`]).
//! 4. **dedupe** — values for the same record key are merged; conflicts are reported.
//! 5. **upload** — concurrent PUTs with limits, retries and a journal.
//! 6. **report** — every problem as a diagnostic pointing at the cell, with a fix.
//!
//! Around it: [`api`] (the typed client), [`emulator`] (a faithful stand-in for the service,
//! for tests, benchmarks and the demo) and [`settings`] (flags, environment and config file
//! resolved once). Only `api`/`upload` touch the network and only `report`/`cmd` print.

pub mod api;
pub mod cli;
pub mod cmd;
pub mod dedupe;
pub mod diag;
pub mod emulator;
pub mod error;
pub mod fxhash;
pub mod map;
pub mod normalize;
pub mod read;
pub mod report;
pub mod rng;
pub mod secret;
pub mod settings;
pub mod suggest;
pub mod upload;
pub mod validate;

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs the command line and returns the process exit code (see `vsimport --help`).
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    // The emulator serves many connections and gets a thread per core. Every other command
    // is a client: one thread drives all its requests (CPU-heavy checking runs on its own
    // threads), which costs a third less CPU per request than a multi-thread scheduler
    // handing connections between threads.
    let mut builder = if matches!(cli.command, cli::Command::Emulator(_)) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(cli::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            report::print_error(&e);
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    use std::str::FromStr;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;

    let targets = match std::env::var("RUST_LOG") {
        Ok(s) if !s.trim().is_empty() => Targets::from_str(&s).unwrap_or_default(),
        _ => {
            let level = match (quiet, verbose) {
                (true, _) => LevelFilter::ERROR,
                (false, 0) => LevelFilter::WARN,
                (false, 1) => LevelFilter::DEBUG,
                (false, _) => LevelFilter::TRACE,
            };
            Targets::new()
                .with_target("vsimport", level)
                .with_default(LevelFilter::WARN.min(level))
        }
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(LevelFilter::TRACE)
        .finish()
        .with(targets);
    let _ = tracing::subscriber::set_global_default(subscriber);
}
