//! `vsimport watch ROOT`: resolve the settings, then run the [watch](crate::watch) (or its
//! `--check`), stopped by SIGINT/SIGTERM.

use std::process::ExitCode;

use crate::api::Client;
use crate::cli::watch::WatchArgs;
use crate::error::Error;
use crate::report;
use crate::settings::{self, ProcessEnv, Ui};

pub(crate) async fn run(args: WatchArgs, ui: Ui) -> Result<ExitCode, Error> {
    let mut w = settings::watch::watch(&args, ui, &ProcessEnv, &mut std::io::stdin().lock())?;
    let stop = super::interrupts();
    w.client.stop = Some(stop.clone());
    let client = Client::new(&w.client)?;
    if w.check {
        let c = crate::watch::check(&w, &client).await;
        report::out(&report::watch::check(&c));
        return Ok(ExitCode::from(if c.ok() { 0 } else { 2 }));
    }
    let code = crate::watch::run(&w, &client, &stop).await?;
    Ok(ExitCode::from(code))
}
