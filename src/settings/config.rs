//! The config file: `--config FILE`, `VSIMPORT_CONFIG`, or the default
//! `<config dir>/vsimport/config.toml`. Unknown keys are an error, so a typo does not silently
//! do nothing.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::env::Env;
use super::settings_error;
use crate::error::Error;

/// The config file. Unknown keys are an error, so a typo does not silently do nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    pub(crate) url: Option<String>,
    pub(crate) tenant: Option<String>,
    pub(crate) user: Option<String>,
    /// A shell command whose standard output is the password (e.g. `pass show vs/api`).
    pub(crate) password_command: Option<String>,
    pub(crate) api_version: Option<u8>,
    pub(crate) allow_http: Option<bool>,
    pub(crate) timeout_secs: Option<u64>,
    /// Requests in flight at most (`--concurrency`).
    pub(crate) concurrency: Option<u32>,
    /// Requests per second at most (`--max-rps`).
    pub(crate) max_rps: Option<f64>,
    /// Attempts per request (`--max-attempts`).
    pub(crate) max_attempts: Option<u32>,
    /// First backoff in milliseconds (`--retry-base-ms`).
    pub(crate) retry_base_ms: Option<u64>,
    /// Longest wait before a retry, in seconds (`--retry-cap`).
    pub(crate) retry_cap_secs: Option<u64>,
    /// Where journals and undo data are kept (`--state-dir`).
    pub(crate) state_dir: Option<PathBuf>,
    /// The Accept header (`--accept`).
    pub(crate) accept: Option<String>,
    /// The field of a KPI's details that lists its sub-tiles (`--sub-tiles-field`).
    pub(crate) sub_tiles_field: Option<String>,
    /// Whether an import reads the server's values first (`--compare`).
    pub(crate) compare: Option<crate::cli::CompareMode>,
}

/// The keys a config file may have, for the error message.
pub(crate) const KEYS: &str = "url, tenant, user, password_command, api_version, allow_http, timeout_secs, concurrency, max_rps, max_attempts, retry_base_ms, retry_cap_secs, state_dir, accept, sub_tiles_field, compare";

/// The default config file: `$XDG_CONFIG_HOME/vsimport/config.toml`, else
/// `~/.config/vsimport/config.toml` (`%APPDATA%\vsimport\config.toml` on Windows).
pub(crate) fn default_config_path(env: &dyn Env) -> Option<PathBuf> {
    let base = if cfg!(windows) {
        env.path("APPDATA")
    } else {
        env.path("XDG_CONFIG_HOME")
            .or_else(|| env.path("HOME").map(|h| h.join(".config")))
    };
    base.map(|b| b.join("vsimport").join("config.toml"))
}

/// Reads the config file: an explicit one must exist; the default one may be absent.
pub(crate) fn load_config(
    explicit_path: Option<&Path>,
    env: &dyn Env,
) -> Result<ConfigFile, Error> {
    let (path, explicit) = match explicit_path
        .map(Path::to_path_buf)
        .or_else(|| env.path("VSIMPORT_CONFIG"))
    {
        Some(p) => (p, true),
        None => match default_config_path(env) {
            Some(p) => (p, false),
            None => return Ok(ConfigFile::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ConfigFile::default());
        }
        Err(e) => {
            return Err(settings_error(
                format!("{}: cannot read the config file: {e}", path.display()),
                "check --config / VSIMPORT_CONFIG",
            ));
        }
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        settings_error(
            format!(
                "{}: not a valid config file: {}",
                path.display(),
                e.message()
            ),
            format!("keys: {KEYS}"),
        )
    })?;
    if file.password_command.is_some() {
        check_private(&path)?;
    }
    Ok(file)
}

/// A file that says how to get the password (`password_command`) must be its owner's alone:
/// anyone who can read it learns how to get the password, and anyone who can change it runs
/// a command of their choosing with the user's rights. Refused otherwise, with the command that
/// fixes it (Unix; other systems have no such mode bits).
pub(crate) fn check_private(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(settings_error(
                    format!(
                        "{}: holds a password_command and can be read or changed by others (mode {mode:o})",
                        path.display()
                    ),
                    format!("make it yours alone: chmod 600 {}", path.display()),
                ));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
