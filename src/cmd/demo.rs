//! `vsimport demo`: the main job end to end on the bundled emulator, no server and no
//! checkout needed (the samples are built into the binary).
//!
//! One short story on one sample: the server holds last week's export; a dry run with diff
//! shows what this week's would change; the import writes it (through the real API client
//! over HTTP, with journal and undo data); the same file again sends nothing; and where the
//! reports are.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use secrecy::SecretString;

use crate::cli::{Cli, Command, DemoArgs};
use crate::emulator::{self, Options, store::Tenant};
use crate::error::Error;
use crate::report::{self, story, text};
use crate::settings::{self, Env, Ui};

/// The files the demo writes out and uses: (name, content).
const SAMPLES: [(&str, &[u8]); 4] = [
    ("catalog.json", include_bytes!("../../samples/catalog.json")),
    (
        "oee_semi_wide_de.csv",
        include_bytes!("../../samples/oee_semi_wide_de.csv"),
    ),
    (
        "oee_semi_wide_de.earlier.csv",
        include_bytes!("../../samples/oee_semi_wide_de.earlier.csv"),
    ),
    (
        "oee_semi_wide_de.mapping.toml",
        include_bytes!("../../samples/oee_semi_wide_de.mapping.toml"),
    ),
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
    let out = match &args.out {
        Some(d) => d.clone(),
        None => settings::env::temp_dir().join(format!(
            "vsimport-demo-{}",
            crate::upload::state::new_run_id()
        )),
    };
    let samples = out.join("samples");
    crate::upload::state::ensure_dir(&samples)?;
    for (name, bytes) in SAMPLES {
        crate::persist::write_atomic(&samples.join(name), bytes)?;
    }
    let tenant = Tenant::load(&samples.join("catalog.json"))?;
    let opts = Options {
        user: "demo".into(),
        password: SecretString::from("demo"),
        ..Options::default()
    };
    let running = emulator::start(tenant, opts).await?;
    let result = story(&Story {
        url: running.base_url(),
        samples,
        out,
        ui,
    })
    .await;
    running.shutdown().await?;
    result
}

struct Story {
    url: String,
    samples: PathBuf,
    out: PathBuf,
    ui: Ui,
}

impl Story {
    /// `vsimport import FILE -m MAPPING ARGS…` against the emulator, resolved as the command
    /// line would be.
    fn import(&self, file: &str, args: &[&str], ui: Ui) -> Result<settings::Import, Error> {
        let mut argv: Vec<OsString> = vec![
            "vsimport".into(),
            "import".into(),
            self.samples.join(file).into(),
            "--mapping".into(),
            self.samples.join("oee_semi_wide_de.mapping.toml").into(),
            "--url".into(),
            self.url.clone().into(),
            "--state-dir".into(),
            self.out.join("state").into(),
        ];
        argv.extend(args.iter().map(OsString::from));
        let cli = Cli::try_parse_from_args(&argv).map_err(|e| Error::Usage {
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
}

async fn story(st: &Story) -> Result<ExitCode, Error> {
    const FILE: &str = "oee_semi_wide_de.csv";
    const SHOWN: &str = "vsimport import oee_semi_wide_de.csv -m oee_semi_wide_de.mapping.toml";
    let quiet = Ui {
        quiet: true,
        ..st.ui
    };
    // Last week's export, already on the server.
    let mut seed = st.import("oee_semi_wide_de.earlier.csv", &[], quiet)?;
    let seeded = super::import::execute(&mut seed).await?;
    let seeded = seeded.written.map_or(0, |w| w.written);
    let mut out = story::intro(&st.url, FILE, seeded);

    out.push_str(&story::step(
        1,
        "What this week's export would change",
        &format!("{SHOWN} --dry-run --diff"),
    ));
    let mut dry = st.import(FILE, &["--dry-run", "--diff"], quiet)?;
    let o = super::import::execute(&mut dry).await?;
    out.push_str(&text::plan(&o.report));
    out.push_str(&text::diff(&o.report, false));

    out.push_str(&story::step(
        2,
        "The import: the new and changed records, with undo data",
        SHOWN,
    ));
    let report_dir = st.out.join("report");
    let shown_dir = report_dir.display().to_string();
    let mut import = st.import(FILE, &["--report", &shown_dir], quiet)?;
    let o = super::import::execute(&mut import).await?;
    let code = crate::pipeline::exit_code(&o);
    if let Some(w) = &o.written {
        out.push_str(first_line(&text::written(w, &o.report)));
    }

    out.push_str(&story::step(
        3,
        "The same file again: nothing is sent twice",
        SHOWN,
    ));
    let mut again = st.import(FILE, &[], quiet)?;
    let o = super::import::execute(&mut again).await?;
    if let Some(w) = &o.written {
        out.push_str(first_line(&text::written(w, &o.report)));
    }
    out.push_str(&story::end(&st.out, &report_dir, &st.samples));
    report::out(&out);
    Ok(ExitCode::from(code))
}

/// The summary line of what was written (the undo command is left out: the emulator stops
/// when the demo ends).
fn first_line(text: &str) -> &str {
    text.split_inclusive('\n').next().unwrap_or(text)
}
