//! # vsimport
//!
//! Loads KPI spreadsheets exported from BI tools (CSV, Excel) into ValueStreamer through its
//! KPI REST API. The pipeline is staged; each stage is a module whose documentation names the
//! type it takes and the type it hands on ([`pipeline`] composes them):
//!
//! 1. [`read`] — an [`read::Input`] (file, pipe, standard input) becomes located, typed
//!    [`read::Row`]s; the input is read once and hashed on the way.
//! 2. [`map`] — a checked [`map::Mapping`] and the file's header give a [`map::ColumnPlan`].
//! 3. [`normalize`] — one [`read::Cell`] becomes a date, a number or minutes since midnight.
//! 4. [`validate`] — rows become [`record::Entry`]s (one value each) or rejected rows, with
//!    every problem as a diagnostic in the [`findings::Findings`].
//! 5. [`dedupe`] — entries become [`dedupe::Records`]: sorted, grouped, each slot once.
//! 6. [`plan`] — records become a [`plan::Plan`] of [`plan::PlannedRecord`]s, ready to send.
//! 7. [`upload`] — compared with the server, then written: concurrent PUTs with limits,
//!    retries, a journal and undo data.
//! 8. [`report`] — everything the user reads: diagnostics pointing at the cell, the plan, the
//!    diff, the summary, report.json, rejected.csv, failed.csv.
//!
//! Around it: [`api`] (the typed client: one limit and one retry policy for every request),
//! [`emulator`] (a stand-in for the service, for tests, benchmarks and the demo),
//! [`catalog`] (the tenant's KPIs and teams as lookup tables), [`cli`] (the raw flags) and
//! [`settings`] (flags, environment, config file and the mapping's `[source]` resolved once).
//! Only `read` opens input files, only `api` touches the network, only `report` writes to
//! the terminal, and only `settings` reads the environment.
// The crate's documentation is read with its private items (`cargo doc
// --document-private-items`): the stages it links to are private modules.
#![allow(rustdoc::private_intra_doc_links)]

mod api;
mod catalog;
mod cli;
mod cmd;
mod dedupe;
mod diag;
mod emulator;
mod error;
mod findings;
#[doc(hidden)]
pub mod fuzzing;
mod map;
mod normalize;
mod os;
mod pages;
mod persist;
mod pipeline;
mod plan;
mod read;
mod record;
mod report;
mod settings;
mod suggest;
mod template;
mod upload;
mod validate;
mod watch;

pub use dedupe::OnConflict;

/// Every program built on this library (the binary, its tests and benchmarks) allocates
/// through [`pages::Pages`]: large blocks in 2 MiB pages.
#[global_allocator]
static ALLOCATOR: pages::Pages = pages::Pages;

/// The CLI reference: `man/vsimport.1` and `docs/CLI.md` as generated from the command line
/// (for the test that keeps them current).
#[doc(hidden)]
pub fn cli_reference() -> (Vec<u8>, String) {
    cli::reference::generate()
}
pub use pipeline::dry_run;
pub use read::{Cell, Input, Row, Source, SourceOptions};
pub use report::document::{Report, Summary};

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
    quiet_reader_panics();
    let env = settings::ProcessEnv;
    let ui = settings::Ui::resolve(cli.verbose, cli.quiet, cli.color, &env);
    init_tracing(cli.verbose, cli.quiet, settings::log_filter(&env));
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
    // A script that asked for JSON gets the error as JSON on stdout too.
    let json = matches!(&cli.command, cli::Command::Import(a) if a.format == cli::Format::Json);
    let code = match runtime.block_on(cmd::dispatch(cli.command, ui)) {
        Ok(code) => code,
        Err(e) => {
            report::err(&report::render(&e, ui.color));
            if json {
                report::out(&report::error_document(&e, e.exit_code()));
            }
            ExitCode::from(e.exit_code())
        }
    };
    if let Some(kb) = os::peak_rss_kb() {
        tracing::debug!(peak_rss_kb = kb, "resources");
    }
    code
}

/// A panic inside the workbook reader library is caught and reported as the file's error
/// (`read::Source::open`); its default message (a backtrace hint) would only confuse.
fn quiet_reader_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_reader = info
            .location()
            .is_some_and(|l| l.file().contains("/calamine-"));
        if !in_reader {
            default(info);
        }
    }));
}

fn init_tracing(verbose: u8, quiet: bool, filter: Option<String>) {
    use std::str::FromStr;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;

    let targets = match filter {
        Some(s) if !s.trim().is_empty() => Targets::from_str(&s).unwrap_or_default(),
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
