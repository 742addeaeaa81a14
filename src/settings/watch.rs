//! `vsimport watch ROOT`: the flags, the environment and `ROOT/vsimport.toml` resolved once
//! into [`Watch`], and from it the [`Import`] settings of each file.
//!
//! `ROOT/vsimport.toml` holds the config file's keys (the server, the user, the
//! `password_command`, the request limits) and a `[watch]` table; when it is absent, the
//! usual config file serves. A `password` key is refused: the password never goes into a
//! file under ROOT.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::config::{self, ConfigFile};
use super::{Env, Import, Ui, settings_error};
use crate::api::ClientConfig;
use crate::cli::watch::{LogFormat, OnRejected, WatchArgs};
use crate::cli::{CompareMode, Format};
use crate::dedupe::OnConflict;
use crate::error::Error;
use crate::map::Mapping;
use crate::read::Input;
use crate::upload::write::WriteOptions;

/// The `[watch]` table of `ROOT/vsimport.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchTable {
    /// Mapping for files directly in inbox/, relative to ROOT.
    mapping: Option<PathBuf>,
    on_rejected: Option<OnRejected>,
    on_conflict: Option<OnConflict>,
    settle_secs: Option<u64>,
    rescan_secs: Option<u64>,
    on_file_done: Option<String>,
    keep_days: Option<u32>,
    log_format: Option<LogFormat>,
    stale_lock_secs: Option<u64>,
    /// Write NAME.checked.xlsx beside each file with rejected rows' cells marked.
    annotate: Option<bool>,
}

const WATCH_KEYS: &str = "mapping, on_rejected, on_conflict, settle_secs, rescan_secs, on_file_done, keep_days, log_format, stale_lock_secs, annotate";

/// Everything a watch runs with.
#[derive(Debug)]
pub(crate) struct Watch {
    pub(crate) root: PathBuf,
    pub(crate) once: bool,
    pub(crate) check: bool,
    pub(crate) settle: Duration,
    pub(crate) rescan: Duration,
    pub(crate) on_rejected: OnRejected,
    pub(crate) on_conflict: OnConflict,
    /// The mapping of files directly in inbox/; `None`: matched to the catalog.
    pub(crate) mapping: Option<PathBuf>,
    pub(crate) on_file_done: Option<String>,
    /// Remove done/ folders older than this many days (0: never).
    pub(crate) keep_days: u32,
    pub(crate) log_format: LogFormat,
    pub(crate) stale_lock: Duration,
    /// Write NAME.checked.xlsx beside each file.
    pub(crate) annotate: bool,
    pub(crate) state_dir: PathBuf,
    pub(crate) compare: CompareMode,
    pub(crate) threads: usize,
    pub(crate) client: ClientConfig,
    pub(crate) ui: Ui,
}

/// The settings file under ROOT.
pub(crate) fn settings_file(root: &Path) -> PathBuf {
    root.join("vsimport.toml")
}

/// Reads `ROOT/vsimport.toml` into the config file's keys and the `[watch]` table;
/// `None` when there is no such file.
fn read_root_file(root: &Path) -> Result<Option<(ConfigFile, WatchTable)>, Error> {
    let path = settings_file(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(settings_error(
                format!(
                    "{}: cannot read it: {}",
                    path.display(),
                    crate::os::plain(&e.to_string())
                ),
                "check the file's permissions",
            ));
        }
    };
    let invalid = |message: String, help: String| {
        settings_error(format!("{}: {message}", path.display()), help)
    };
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| {
        invalid(
            format!("not valid TOML: {}", e.message()),
            "fix the line it names".into(),
        )
    })?;
    if table.contains_key("password") {
        return Err(invalid(
            "holds a password; the password is never read from a file under the watched folder".into(),
            "remove it, and set VS_PASSWORD, pipe it in with --password-stdin, or set password_command".into(),
        ));
    }
    let watch = match table.remove("watch") {
        Some(toml::Value::Table(t)) => WatchTable::deserialize(t).map_err(|e| {
            invalid(
                format!("[watch]: {}", e.message()),
                format!("keys of [watch]: {WATCH_KEYS}"),
            )
        })?,
        Some(_) => {
            return Err(invalid(
                "watch must be a table ([watch])".into(),
                format!("keys of [watch]: {WATCH_KEYS}"),
            ));
        }
        None => WatchTable::default(),
    };
    let file = ConfigFile::deserialize(table).map_err(|e| {
        invalid(
            e.message().to_string(),
            format!("keys: {}, and a [watch] table", config::KEYS),
        )
    })?;
    if file.password_command.is_some() {
        config::check_private(&path)?;
    }
    Ok(Some((file, watch)))
}

/// Resolves `watch`'s flags, the environment and ROOT's settings file.
pub(crate) fn watch(
    args: &WatchArgs,
    ui: Ui,
    env: &dyn Env,
    stdin: &mut dyn Read,
) -> Result<Watch, Error> {
    let root = args.root.clone();
    if root.exists() && !root.is_dir() {
        return Err(Error::Usage {
            message: format!("{}: is a file; watch takes a folder", root.display()),
            help: Some("give the folder that holds (or will hold) inbox/".into()),
        });
    }
    let (file, table) = match read_root_file(&root)? {
        Some(both) => both,
        None => (
            config::load_config(args.connect.config.as_deref(), env)?,
            WatchTable::default(),
        ),
    };
    let secs = |key: &str, v: u64, lo: u64, hi: u64| {
        if (lo..=hi).contains(&v) {
            Ok(Duration::from_secs(v))
        } else {
            Err(settings_error(
                format!(
                    "{key} = {v} in {} is out of range",
                    settings_file(&root).display()
                ),
                format!("use a value from {lo} to {hi}"),
            ))
        }
    };
    let settle = secs(
        "settle_secs",
        args.settle_secs.or(table.settle_secs).unwrap_or(5),
        0,
        86_400,
    )?;
    let rescan = secs(
        "rescan_secs",
        args.rescan_secs.or(table.rescan_secs).unwrap_or(30),
        1,
        86_400,
    )?;
    let stale_lock = secs(
        "stale_lock_secs",
        args.stale_lock_secs
            .or(table.stale_lock_secs)
            .unwrap_or(120),
        10,
        86_400,
    )?;
    let keep_days = args.keep_days.or(table.keep_days).unwrap_or(0);
    if keep_days > 36_500 {
        return Err(settings_error(
            format!("keep_days = {keep_days} is out of range"),
            "use a value from 0 (keep all) to 36500",
        ));
    }
    // The mapping: the flag as given, the file's relative to ROOT.
    let mapping = args
        .mapping
        .clone()
        .or_else(|| table.mapping.as_ref().map(|m| root.join(m)));
    let state_dir = match (&args.state_dir, env.path("VS_STATE_DIR"), &file.state_dir) {
        (Some(p), _, _) => p.clone(),
        (None, Some(p), _) => p,
        (None, None, Some(p)) => root.join(p),
        (None, None, None) => root.join(".vsimport").join("state"),
    };
    let compare = file.compare.unwrap_or_default();
    let client = super::client_with(&args.connect, file, env, stdin)?;
    Ok(Watch {
        root,
        once: args.once,
        check: args.check,
        settle,
        rescan,
        on_rejected: args.on_rejected.or(table.on_rejected).unwrap_or_default(),
        on_conflict: table.on_conflict.unwrap_or_default(),
        mapping,
        on_file_done: args.on_file_done.clone().or(table.on_file_done),
        keep_days,
        log_format: args.log_format.or(table.log_format).unwrap_or_default(),
        stale_lock,
        annotate: table.annotate.unwrap_or(false),
        state_dir,
        compare,
        threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        client,
        ui,
    })
}

impl Watch {
    /// The import of one file: `mapping` as loaded (with its name as shown), the reports into
    /// `report_dir`, written unless `dry_run`.
    pub(crate) fn import_for(
        &self,
        file: &Path,
        mapping: Option<(Mapping, String)>,
        report_dir: &Path,
        dry_run: bool,
    ) -> Import {
        let mut source = mapping
            .as_ref()
            .map(|(m, _)| m.source_options())
            .unwrap_or_default();
        // The journal of an import is keyed by the input's content.
        source.hash = true;
        Import {
            input: Input::Path(file.to_path_buf()),
            mapping,
            source,
            compare: Some(self.compare),
            sub_tiles_field: self.client.sub_tiles_field.clone(),
            catalog: None,
            report_dir: Some(report_dir.to_path_buf()),
            format: Format::Json,
            on_conflict: self.on_conflict,
            notes: false,
            records: false,
            threads: self.threads,
            no_partial: self.on_rejected == OnRejected::Hold,
            annotate: self.annotate,
            write: (!dry_run).then(|| WriteOptions {
                skip_unchanged: true,
                keep_targets: true,
                restart: false,
                // A watch runs its files one after another; an `import` started by hand
                // against the same server is waited for, not failed on.
                wait_lock: Duration::from_secs(600),
                state_dir: self.state_dir.clone(),
            }),
            client: None,
            ui: Ui {
                quiet: true,
                ..self.ui
            },
        }
    }
}
