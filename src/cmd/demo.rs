//! `vsimport demo`: the main job end to end on the bundled emulator, no server needed.
//!
//! Starts the emulator on a free loopback port with the sample catalog, then for every
//! sample export: a dry run with a diff against the server, and the import itself (through
//! the real API client over HTTP, with journal and undo data). Prints where the reports are.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::api::{Client, ClientConfig};
use crate::emulator::{self, Options, store::Tenant};
use crate::error::Error;
use crate::secret::Secret;

use super::import::{self, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog for the emulator
    #[arg(long, default_value = "samples/catalog.json", value_name = "FILE")]
    pub catalog: PathBuf,
    /// Directory with the sample exports and their mappings (`NAME.mapping.toml`)
    #[arg(long, default_value = "samples", value_name = "DIR")]
    pub samples: PathBuf,
    /// Where the reports, journals and undo data go [default: a new directory in the
    /// system's temporary directory]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The sample exports, in the order the demo imports them.
const SAMPLES: [&str; 3] = [
    "oee_semi_wide_de.csv",
    "weekly_safety_wide.csv",
    "shift_times.xlsx",
];

pub async fn run(args: Args, quiet: bool) -> Result<ExitCode, Error> {
    let tenant = Tenant::load(&args.catalog)?;
    let out = match &args.out {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!(
            "vsimport-demo-{}",
            crate::upload::state::new_run_id()
        )),
    };
    crate::upload::state::ensure_dir(&out)?;
    let password = Secret::new("demo");
    let opts = Options {
        user: "demo".into(),
        password: password.clone(),
        ..Options::default()
    };
    let running = emulator::start(tenant, opts).await?;
    let url = running.base_url();
    eprintln!("demo: emulator listening on {url} (user demo), nothing leaves this machine");
    let client = Client::new(&ClientConfig::new(url.as_str(), "demo", password))?;
    let result = samples(&args.samples, &out, &client, quiet).await;
    let records = running.record_count();
    running.shutdown().await?;
    let mut code = result?;
    eprintln!(
        "demo: the emulator holds {records} records now; reports, undo data and journals are in {}",
        out.display()
    );
    eprintln!(
        "demo: against a real tenant: VS_USER=... VS_PASSWORD=... vsimport import FILE -m MAPPING --tenant <name> --dry-run --diff"
    );
    if code == ExitCode::from(1) {
        // Rejected rows in a sample are part of the demo, not a failure of it.
        code = ExitCode::SUCCESS;
    }
    Ok(code)
}

async fn samples(dir: &Path, out: &Path, client: &Client, quiet: bool) -> Result<ExitCode, Error> {
    let mut code = ExitCode::SUCCESS;
    let ui = Ui {
        verbose: false,
        quiet,
    };
    for name in SAMPLES {
        let file = dir.join(name);
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let mapping = dir.join(format!("{stem}.mapping.toml"));
        let mut args = import::Args::new(&file, Some(&mapping));
        args.upload.state_dir = Some(out.join("state"));
        args.upload.concurrency = 16;

        println!("\n=== {}: dry run with diff", file.display());
        args.dry_run = true;
        args.upload.diff = true;
        import::run_with(&args, Some(client.clone()), ui).await?;

        println!("\n=== {}: import", file.display());
        args.dry_run = false;
        args.upload.diff = false;
        args.report = Some(out.join(stem));
        let o = import::run_with(&args, Some(client.clone()), ui).await?;
        if o.code != ExitCode::SUCCESS {
            code = o.code;
        }
    }
    Ok(code)
}
