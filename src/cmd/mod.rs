//! One module per subcommand, each the same shape: `run(args, ui)` resolves the settings,
//! calls the library, and has [`crate::report`] say what happened. Wiring only.

pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod export;
pub(crate) mod import;
pub(crate) mod inspect;
pub(crate) mod kpis;
pub(crate) mod mapping;
pub(crate) mod undo;

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::api::Client;
use crate::cli::{Command, ConnectArgs};
use crate::error::Error;
use crate::settings::{self, ProcessEnv, Ui};

/// Runs the parsed command line.
pub(crate) async fn dispatch(command: Command, ui: Ui) -> Result<ExitCode, Error> {
    match command {
        Command::Import(a) => import::run(a, ui).await,
        Command::Undo(a) => undo::run(a, ui).await,
        Command::Mapping(c) => mapping::run(c).await,
        Command::Inspect(a) => inspect::run(a).await,
        Command::Kpis(a) => kpis::run(a).await,
        Command::Export(a) => export::run(a).await,
        Command::Emulator(a) => emulator::run(a).await,
        Command::Demo(a) => demo::run(a, ui).await,
    }
}

/// A client from the connection flags, the environment and the config file.
pub(crate) fn connect(args: &ConnectArgs) -> Result<Client, Error> {
    let cfg = settings::client(args, &ProcessEnv, &mut std::io::stdin().lock())?;
    Ok(Client::new(&cfg)?)
}

/// Ctrl-C: the first stops the client (waits end, nothing more is sent, what is in flight
/// finishes); the second quits at once.
pub(crate) fn on_interrupt(stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            crate::report::note(crate::report::text::STOPPING);
            stop.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    })
}
