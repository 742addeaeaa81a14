//! Raw connection flags, the environment and the config file resolved once into a
//! [`ClientConfig`]. No other module reads the environment or the config file.
//!
//! Precedence, highest first: command-line flag, environment variable, config file, default.
//! The password comes from `--password-stdin`, else `VS_PASSWORD`, else the config file's
//! `password_command`; it is never accepted as a flag (it would show in `ps` and shell history).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::api::{ApiVersion, ClientConfig};
use crate::error::Error;
use crate::secret::Secret;

/// Connection flags shared by every command that talks to a server.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// API base URL, e.g. https://api-acme.valuestreamer.de/api [env: VS_URL]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Tenant name: short for --url https://api-<TENANT>.valuestreamer.de/api
    #[arg(long, value_name = "TENANT", conflicts_with = "url")]
    pub tenant: Option<String>,
    /// API user [env: VS_USER]
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Read the password from the first line of standard input (else VS_PASSWORD, else the
    /// config file's password_command)
    #[arg(long)]
    pub password_stdin: bool,
    /// Config file (TOML) [env: VSIMPORT_CONFIG] [default: <config dir>/vsimport/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// API edition: 2 (media type application/vs.v2.0+json) or 3 (adds forecasts)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(2..=3))]
    pub api_version: Option<u8>,
    /// Permit plain http:// to a host that is not loopback (the password then travels unencrypted)
    #[arg(long)]
    pub allow_http: bool,
    /// Seconds before a request is abandoned [default: 30]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

/// The config file. Unknown keys are an error, so a typo does not silently do nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub url: Option<String>,
    pub tenant: Option<String>,
    pub user: Option<String>,
    /// A shell command whose standard output is the password (e.g. `pass show vs/api`).
    pub password_command: Option<String>,
    pub api_version: Option<u8>,
    pub allow_http: Option<bool>,
    pub timeout_secs: Option<u64>,
}

/// Where the environment comes from; a trait so tests can give a fixed one.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

/// The default config file: `$XDG_CONFIG_HOME/vsimport/config.toml`, else
/// `~/.config/vsimport/config.toml` (`%APPDATA%\vsimport\config.toml` on Windows).
pub fn default_config_path(env: &dyn Env) -> Option<PathBuf> {
    let base = if cfg!(windows) {
        env.var("APPDATA").map(PathBuf::from)
    } else {
        env.var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| env.var("HOME").map(|h| Path::new(&h).join(".config")))
    };
    base.map(|b| b.join("vsimport").join("config.toml"))
}

fn settings_error(message: impl Into<String>, help: impl Into<String>) -> Error {
    Error::Settings {
        message: message.into(),
        help: Some(help.into()),
    }
}

/// Reads the config file: an explicit one must exist; the default one may be absent.
pub fn load_config(args: &ConnectArgs, env: &dyn Env) -> Result<ConfigFile, Error> {
    let (path, explicit) = match args
        .config
        .clone()
        .or_else(|| env.var("VSIMPORT_CONFIG").map(PathBuf::from))
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
    toml::from_str(&text).map_err(|e| {
        settings_error(
            format!(
                "{}: not a valid config file: {}",
                path.display(),
                e.message()
            ),
            "keys: url, tenant, user, password_command, api_version, allow_http, timeout_secs",
        )
    })
}

/// Resolves flags + environment + config file into a client configuration.
pub fn resolve(
    args: &ConnectArgs,
    env: &dyn Env,
    stdin: &mut dyn Read,
) -> Result<ClientConfig, Error> {
    let file = load_config(args, env)?;
    let tenant_url = |t: &str| format!("https://api-{}.valuestreamer.de/api", t.trim());
    let url = args
        .url
        .clone()
        .or_else(|| args.tenant.as_deref().map(tenant_url))
        .or_else(|| env.var("VS_URL"))
        .or_else(|| file.url.clone())
        .or_else(|| file.tenant.as_deref().map(tenant_url))
        .ok_or_else(|| {
            settings_error(
                "no server given",
                "pass --url https://api-<tenant>.valuestreamer.de/api (or --tenant, VS_URL, or url in the config file)",
            )
        })?;
    let user = args
        .user
        .clone()
        .or_else(|| env.var("VS_USER"))
        .or_else(|| file.user.clone())
        .ok_or_else(|| {
            settings_error(
                "no API user given",
                "set VS_USER (or --user, or user in the config file)",
            )
        })?;
    let password = if args.password_stdin {
        read_password_line(stdin)?
    } else if let Some(p) = env.var("VS_PASSWORD") {
        Secret::new(p)
    } else if let Some(cmd) = &file.password_command {
        run_password_command(cmd)?
    } else {
        return Err(settings_error(
            "no password given",
            "set VS_PASSWORD, pipe it in with --password-stdin, or set password_command in the config file",
        ));
    };
    let version_n = args.api_version.or(file.api_version).unwrap_or(2);
    let version = ApiVersion::from_number(version_n).ok_or_else(|| {
        settings_error(
            format!("api_version {version_n} is not supported"),
            "use 2 or 3",
        )
    })?;
    let mut cfg = ClientConfig::new(url, user, password);
    cfg.version = version;
    cfg.allow_http = args.allow_http || file.allow_http.unwrap_or(false);
    cfg.timeout = Duration::from_secs(args.timeout.or(file.timeout_secs).unwrap_or(30).max(1));
    Ok(cfg)
}

fn read_password_line(stdin: &mut dyn Read) -> Result<Secret, Error> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    // Read only the first line, so the rest of stdin stays for other uses.
    loop {
        match stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => buf.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(settings_error(
                    format!("cannot read the password from standard input: {e}"),
                    "pipe the password in, e.g. `pass show vs | vsimport ... --password-stdin`",
                ));
            }
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let s = String::from_utf8(buf).map_err(|_| {
        settings_error(
            "the password on standard input is not UTF-8",
            "pipe the password in as UTF-8 text",
        )
    })?;
    if s.is_empty() {
        return Err(settings_error(
            "--password-stdin was given but standard input held no password",
            "pipe the password in, e.g. `pass show vs | vsimport ... --password-stdin`",
        ));
    }
    Ok(Secret::new(s))
}

fn run_password_command(cmd: &str) -> Result<Secret, Error> {
    let mut command = if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.arg("/C").arg(cmd);
        c
    } else {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(cmd);
        c
    };
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            settings_error(
                format!("cannot run password_command: {e}"),
                "check password_command in the config file",
            )
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(settings_error(
            format!(
                "password_command failed ({}): {}",
                out.status,
                err.trim().chars().take(300).collect::<String>()
            ),
            "run the command by hand to see what is wrong",
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| {
        settings_error(
            "password_command printed something that is not UTF-8",
            "the command must print the password as text",
        )
    })?;
    let pw = text.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        return Err(settings_error(
            "password_command printed no password",
            "the command must print the password on its first line",
        ));
    }
    Ok(Secret::new(pw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, String>);
    impl Env for MapEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
    }

    fn env(pairs: &[(&'static str, &str)]) -> MapEnv {
        let mut m: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        m.insert("HOME", "/nonexistent-home".into());
        MapEnv(m)
    }

    #[test]
    fn flags_beat_env() {
        let args = ConnectArgs {
            url: Some("http://127.0.0.1:1/api".into()),
            ..Default::default()
        };
        let e = env(&[
            ("VS_URL", "https://other/api"),
            ("VS_USER", "u"),
            ("VS_PASSWORD", "p"),
        ]);
        let cfg = resolve(&args, &e, &mut std::io::empty()).unwrap();
        assert_eq!(cfg.base_url, "http://127.0.0.1:1/api");
        assert_eq!(cfg.user, "u");
        assert_eq!(cfg.password.expose(), "p");
    }

    #[test]
    fn password_from_stdin_first_line() {
        let args = ConnectArgs {
            tenant: Some("acme".into()),
            user: Some("u".into()),
            password_stdin: true,
            ..Default::default()
        };
        let cfg = resolve(&args, &env(&[]), &mut &b"s3cret\r\nrest"[..]).unwrap();
        assert_eq!(cfg.password.expose(), "s3cret");
        assert_eq!(cfg.base_url, "https://api-acme.valuestreamer.de/api");
    }

    #[test]
    fn config_file_and_password_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "url = \"http://127.0.0.1:9/api\"\nuser = \"cfg\"\npassword_command = \"echo from-cmd\"\napi_version = 3\n",
        )
        .unwrap();
        let args = ConnectArgs {
            config: Some(path),
            ..Default::default()
        };
        let cfg = resolve(&args, &env(&[]), &mut std::io::empty()).unwrap();
        assert_eq!(cfg.user, "cfg");
        assert_eq!(cfg.password.expose(), "from-cmd");
        assert_eq!(cfg.version, ApiVersion::V3);
    }

    #[test]
    fn unknown_config_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "pasword = \"x\"\n").unwrap();
        let args = ConnectArgs {
            config: Some(path),
            ..Default::default()
        };
        let e = resolve(&args, &env(&[]), &mut std::io::empty()).unwrap_err();
        assert!(e.to_string().contains("not a valid config file"), "{e}");
    }

    #[test]
    fn missing_password_says_how() {
        let args = ConnectArgs {
            url: Some("http://127.0.0.1:1/api".into()),
            user: Some("u".into()),
            ..Default::default()
        };
        let e = resolve(&args, &env(&[]), &mut std::io::empty()).unwrap_err();
        assert!(e.to_string().contains("no password"));
    }
}
