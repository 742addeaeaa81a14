//! `vsimport demo`: the main job end to end on the bundled emulator, no server needed.
//!
//! Starts the emulator on a free loopback port with the sample catalog, reads the catalog
//! back through the real API client over HTTP, and prints it.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::{Client, ClientConfig};
use crate::emulator::{self, Options, store::Tenant};
use crate::error::Error;
use crate::secret::Secret;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog for the emulator
    #[arg(long, default_value = "samples/catalog.json", value_name = "FILE")]
    pub catalog: PathBuf,
}

pub async fn run(args: Args) -> Result<ExitCode, Error> {
    let tenant = Tenant::load(&args.catalog)?;
    let password = Secret::new("demo");
    let opts = Options {
        user: "demo".into(),
        password: password.clone(),
        ..Options::default()
    };
    let running = emulator::start(tenant, opts).await?;
    let url = running.base_url();
    eprintln!("demo: emulator listening on {url} (user demo)");
    let client = Client::new(&ClientConfig::new(url.as_str(), "demo", password))?;
    let result = client.catalog(16).await;
    running.shutdown().await?;
    let catalog = result?;
    print!("{}", super::kpis::table(&catalog));
    eprintln!(
        "demo: read {} KPIs through the API client; against a real tenant: \
         VS_USER=... VS_PASSWORD=... vsimport kpis --tenant <name>",
        catalog.kpis.len()
    );
    Ok(ExitCode::SUCCESS)
}
