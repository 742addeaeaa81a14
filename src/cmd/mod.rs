//! One module per subcommand, each the same shape: `run(args, ui)` resolves the settings,
//! calls the library, and has [`crate::report`] say what happened. Wiring only.

pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod explain;
pub(crate) mod export;
pub(crate) mod import;
pub(crate) mod inspect;
pub(crate) mod kpis;
pub(crate) mod mapping;
pub(crate) mod runs;
pub(crate) mod template;
pub(crate) mod undo;
pub(crate) mod watch;

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
        Command::Runs(a) => runs::run(a),
        Command::Demo(a) => demo::run(a, ui).await,
        Command::Completions(a) => completions::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Watch(a) => watch::run(a, ui).await,
        Command::Template(a) => template::run(a).await,
    }
}

/// A client from the connection flags, the environment and the config file.
pub(crate) fn connect(args: &ConnectArgs) -> Result<Client, Error> {
    let cfg = settings::client(args, &ProcessEnv, &mut std::io::stdin().lock())?;
    Ok(Client::new(&cfg)?)
}

/// The catalog: a saved one (`--catalog FILE`), else the server's (with a spinner).
pub(crate) async fn catalog(
    saved: Option<&std::path::Path>,
    args: &ConnectArgs,
) -> Result<crate::api::Catalog, Error> {
    if let Some(p) = saved {
        return Ok(crate::catalog::load_file(p)?);
    }
    let client = connect(args)?;
    Ok(crate::report::progress::waiting(
        &crate::report::text::waiting_for_catalog(client.base_url()),
        false,
        client.catalog(),
    )
    .await?)
}

/// The process's stop: cancelled by the first Ctrl-C or SIGTERM (checking stops, waits end,
/// nothing more is sent, what is in flight finishes); the second quits at once. The handler
/// runs on a thread of its own, so it is heard while the file is being checked too.
pub(crate) fn interrupts() -> CancellationToken {
    static STOP: std::sync::OnceLock<CancellationToken> = std::sync::OnceLock::new();
    STOP.get_or_init(|| {
        let stop = CancellationToken::new();
        let seen = std::sync::atomic::AtomicBool::new(false);
        let token = stop.clone();
        let installed = ctrlc::set_handler(move || {
            if seen.swap(true, std::sync::atomic::Ordering::SeqCst) {
                std::process::exit(130);
            }
            crate::report::note(crate::report::text::STOPPING);
            token.cancel();
        });
        if let Err(e) = installed {
            tracing::debug!("no Ctrl-C handler: {e}");
        }
        stop
    })
    .clone()
}
