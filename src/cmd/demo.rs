//! `vsimport demo`: the main job end to end on the bundled emulator, no server needed.
//!
//! Starts the emulator on a free loopback port with the sample catalog, then for every
//! sample export: a dry run with a diff against the server, and the import itself (through
//! the real API client over HTTP, with journal and undo data). Prints where the reports are.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use secrecy::SecretString;

use crate::cli::{Cli, Command, DemoArgs};
use crate::emulator::{self, Options, store::Tenant};
use crate::error::Error;
use crate::report;
use crate::settings::{self, Env, Ui};

/// The sample exports, in the order the demo imports them.
const SAMPLES: [&str; 3] = [
    "oee_semi_wide_de.csv",
    "weekly_safety_wide.csv",
    "shift_times.xlsx",
];

/// The demo's environment: the emulator's credentials, nothing from the process.
struct DemoEnv;

impl Env for DemoEnv {
    fn var(&self, key: &str) -> Option<String> {
        match key {
            "VS_USER" | "VS_PASSWORD" => Some("demo".into()),
            _ => None,
        }
    }
}

pub(crate) async fn run(args: DemoArgs, ui: Ui) -> Result<ExitCode, Error> {
    let tenant = Tenant::load(&args.catalog)?;
    let out = match &args.out {
        Some(d) => d.clone(),
        None => settings::env::temp_dir().join(format!(
            "vsimport-demo-{}",
            crate::upload::state::new_run_id()
        )),
    };
    crate::upload::state::ensure_dir(&out)?;
    let opts = Options {
        user: "demo".into(),
        password: SecretString::from("demo"),
        ..Options::default()
    };
    let running = emulator::start(tenant, opts).await?;
    let url = running.base_url();
    report::note(&format!(
        "demo: emulator listening on {url} (user demo), nothing leaves this machine"
    ));
    let result = samples(&args.samples, &out, &url, ui).await;
    let records = running.record_count();
    running.shutdown().await?;
    let code = result?;
    report::note(&format!(
        "demo: the emulator held {} when it stopped; reports, undo data and journals are in {}",
        report::count(records as u64, "record", "records"),
        out.display()
    ));
    report::note(
        "demo: against a real tenant: VS_USER=... VS_PASSWORD=... vsimport import FILE -m MAPPING --tenant <name> --dry-run --diff",
    );
    Ok(code)
}

/// `vsimport import ARGS…` as the command line would give it, resolved against the demo's
/// environment.
fn import_settings(ui: Ui, args: &[OsString]) -> Result<settings::Import, Error> {
    let cli = Cli::try_parse_from_args(args).map_err(|e| Error::Usage {
        message: e.to_string(),
        help: None,
    })?;
    let Command::Import(a) = cli.command else {
        return Err(Error::Usage {
            message: "the demo runs imports only".into(),
            help: None,
        });
    };
    settings::import(&a, ui, &DemoEnv, &mut std::io::empty())
}

async fn samples(dir: &Path, out: &Path, url: &str, ui: Ui) -> Result<ExitCode, Error> {
    for name in SAMPLES {
        let file = dir.join(name);
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let mapping = dir.join(format!("{stem}.mapping.toml"));
        let base: Vec<OsString> = vec![
            "vsimport".into(),
            "import".into(),
            file.clone().into(),
            "--mapping".into(),
            mapping.into(),
            "--url".into(),
            url.into(),
            "--concurrency".into(),
            "16".into(),
            "--state-dir".into(),
            out.join("state").into(),
        ];

        report::out(&format!("\n=== {}: dry run with diff\n", file.display()));
        let mut dry = base.clone();
        dry.extend(["--dry-run".into(), "--diff".into()]);
        super::import::run_with(import_settings(ui, &dry)?).await?;

        report::out(&format!("\n=== {}: import\n", file.display()));
        let mut import = base;
        import.extend(["--report".into(), out.join(stem).into()]);
        // Rejected rows in a sample are part of the demo, not a failure of it.
        super::import::run_with(import_settings(ui, &import)?).await?;
    }
    Ok(ExitCode::SUCCESS)
}
