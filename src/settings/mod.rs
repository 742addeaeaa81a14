//! Raw flags ([`crate::cli`]), the environment, the config file and the mapping's `[source]`
//! resolved once into the typed settings the stages use. No other module reads the
//! environment ([`env`](mod@env)) or the config file ([`config`]).
//!
//! Precedence, highest first: command-line flag, environment variable, config file, mapping
//! (for how to read the input), default. The password comes from `--password-stdin`, else
//! `VS_PASSWORD`, else the config file's `password_command`; it is never accepted as a flag.

pub(crate) mod config;
pub(crate) mod env;
mod password;
pub(crate) mod watch;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use crate::api::{ApiVersion, ClientConfig, Limits, RetryPolicy};
use crate::cli::{Color, CompareMode, ConnectArgs, Format, ImportArgs, SourceArgs};
use crate::dedupe::OnConflict;
use crate::error::Error;
use crate::map::Mapping;
use crate::read::{Input, SheetChoice, SourceOptions};
use crate::upload::write::WriteOptions;
pub(crate) use env::{Env, ProcessEnv};

pub(crate) fn settings_error(message: impl Into<String>, help: impl Into<String>) -> Error {
    Error::Settings {
        message: message.into(),
        help: Some(help.into()),
    }
}

/// How the terminal output looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ui {
    pub(crate) verbose: u8,
    pub(crate) quiet: bool,
    /// Colours in diagnostics.
    pub(crate) color: bool,
}

impl Ui {
    /// From the global flags and the environment (`NO_COLOR`, `CLICOLOR_FORCE`, a terminal).
    pub(crate) fn resolve(verbose: u8, quiet: bool, color: Color, env: &dyn Env) -> Ui {
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                env.var("CLICOLOR_FORCE").is_some_and(|v| v != "0")
                    || (env.var("NO_COLOR").is_none() && std::io::stderr().is_terminal())
            }
        };
        Ui {
            verbose,
            quiet,
            color,
        }
    }
}

/// The log filter: `RUST_LOG` when set.
pub(crate) fn log_filter(env: &dyn Env) -> Option<String> {
    env.var("RUST_LOG")
}

/// Resolves the connection flags, the environment and the config file into a client
/// configuration: the server, the credentials, and the limits of every request.
pub(crate) fn client(
    args: &ConnectArgs,
    env: &dyn Env,
    stdin: &mut dyn Read,
) -> Result<ClientConfig, Error> {
    let file = config::load_config(args.config.as_deref(), env)?;
    client_with(args, file, env, stdin)
}

/// A tenant name: one DNS label (`api-<tenant>.valuestreamer.de` must stay that host).
fn is_tenant(t: &str) -> bool {
    let b = t.as_bytes();
    (1..=57).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// [`client`] with the config file already read.
fn client_with(
    args: &ConnectArgs,
    file: config::ConfigFile,
    env: &dyn Env,
    stdin: &mut dyn Read,
) -> Result<ClientConfig, Error> {
    let tenant_url = |t: &str| -> Result<String, Error> {
        let t = t.trim();
        if !is_tenant(t) {
            return Err(settings_error(
                format!(
                    "tenant {:?} is not a tenant name",
                    t.chars().take(80).collect::<String>()
                ),
                "a tenant is one DNS label: letters, digits and inner hyphens (acme for https://api-acme.valuestreamer.de/api); give another server with --url",
            ));
        }
        Ok(format!("https://api-{t}.valuestreamer.de/api"))
    };
    let url = match (&args.url, &args.tenant) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(t)) => Some(tenant_url(t)?),
        (None, None) => match (env.var("VS_URL"), &file.url, &file.tenant) {
            (Some(u), _, _) => Some(u),
            (None, Some(u), _) => Some(u.clone()),
            (None, None, Some(t)) => Some(tenant_url(t)?),
            (None, None, None) => None,
        },
    };
    let url = url
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
        password::read_password_line(stdin)?
    } else if let Some(p) = env.var("VS_PASSWORD") {
        SecretString::from(p)
    } else if let Some(cmd) = &file.password_command {
        password::run_password_command(cmd)?
    } else if let Some(typed) = env.ask_password(&format!("Password for {user} at {url}: ")) {
        password::typed(typed)?
    } else {
        return Err(settings_error(
            "no password given",
            "set VS_PASSWORD, pipe it in with --password-stdin, or set password_command in the config file",
        ));
    };
    let version = api_version(args.api_version.or(file.api_version))?;
    let in_range = |key: &str, v: f64, lo: f64, hi: f64| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(settings_error(
                format!("{key} = {v} in the config file is out of range"),
                format!("use a value from {lo} to {hi}"),
            ))
        }
    };
    let concurrency = args.concurrency.or(file.concurrency).unwrap_or(8);
    in_range("concurrency", f64::from(concurrency), 1.0, 512.0)?;
    let max_rps = args.max_rps.or(file.max_rps);
    if let Some(r) = max_rps {
        in_range("max_rps", r, 0.001, 100_000.0)?;
    }
    let max_attempts = args.max_attempts.or(file.max_attempts).unwrap_or(10);
    in_range("max_attempts", f64::from(max_attempts), 1.0, 50.0)?;
    let retry_base_ms = args.retry_base_ms.or(file.retry_base_ms).unwrap_or(200);
    in_range("retry_base_ms", retry_base_ms as f64, 1.0, 600_000.0)?;
    let retry_cap = args.retry_cap.or(file.retry_cap_secs).unwrap_or(20);
    in_range("retry_cap_secs", retry_cap as f64, 1.0, 3600.0)?;
    let timeout = args.timeout.or(file.timeout_secs).unwrap_or(30);
    in_range("timeout_secs", timeout as f64, 1.0, 3600.0)?;
    let mut cfg = ClientConfig::new(url, user, password);
    cfg.version = version;
    cfg.allow_http = args.allow_http || file.allow_http.unwrap_or(false);
    cfg.timeout = Duration::from_secs(timeout);
    cfg.limits = Limits {
        concurrency: concurrency as usize,
        max_rps,
    };
    cfg.retry = RetryPolicy {
        max_attempts,
        base: Duration::from_millis(retry_base_ms),
        cap: Duration::from_secs(retry_cap),
    };
    cfg.proxy = proxies(env);
    if let Some(a) = args.accept.clone().or(file.accept) {
        let a = a.trim().to_string();
        if a.is_empty() || reqwest::header::HeaderValue::from_str(&a).is_err() {
            return Err(settings_error(
                format!("accept {a:?} cannot be sent as a header"),
                "give a media type, e.g. application/json or */*",
            ));
        }
        cfg.accept = a;
    }
    if let Some(f) = args.sub_tiles_field.clone().or(file.sub_tiles_field) {
        let f = f.trim().to_string();
        if f.is_empty() {
            return Err(settings_error(
                "sub_tiles_field is empty",
                "give the field name of a KPI's details that lists its sub-tiles, e.g. subKpis",
            ));
        }
        cfg.sub_tiles_field = Some(f);
    }
    Ok(cfg)
}

/// `--api-version`, else the config file's `api_version`, else 2.
fn api_version(given: Option<u8>) -> Result<ApiVersion, Error> {
    let n = given.unwrap_or(2);
    ApiVersion::from_number(n)
        .ok_or_else(|| settings_error(format!("api_version {n} is not supported"), "use 2 or 3"))
}

/// Proxies from the environment (either case), for the client to use as they are.
fn proxies(env: &dyn Env) -> crate::api::Proxies {
    let var = |k: &str| env.var(k).or_else(|| env.var(&k.to_lowercase()));
    crate::api::Proxies {
        http: var("HTTP_PROXY"),
        https: var("HTTPS_PROXY"),
        all: var("ALL_PROXY"),
        no_proxy: var("NO_PROXY"),
    }
}

/// The state directory: `--state-dir`, else `VS_STATE_DIR`, else the config file's
/// `state_dir`, else `$XDG_STATE_HOME/vsimport`, else `~/.local/state/vsimport`
/// (`%LOCALAPPDATA%\vsimport` on Windows).
pub(crate) fn state_dir(
    flag: Option<&Path>,
    config: Option<&Path>,
    env: &dyn Env,
) -> Result<PathBuf, Error> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env.path("VS_STATE_DIR") {
        return Ok(p);
    }
    if let Some(p) = config::load_config(config, env)?.state_dir {
        return Ok(p);
    }
    if let Some(p) = env.path("XDG_STATE_HOME") {
        return Ok(p.join("vsimport"));
    }
    if cfg!(windows)
        && let Some(p) = env.path("LOCALAPPDATA")
    {
        return Ok(p.join("vsimport"));
    }
    if let Some(home) = env.path("HOME").filter(|h| h.is_dir()) {
        return Ok(home.join(".local").join("state").join("vsimport"));
    }
    Err(settings_error(
        "no directory for the import journal and undo data",
        "pass --state-dir DIR or set VS_STATE_DIR",
    ))
}

/// The emulator's password: `--password`, else `VS_EMULATOR_PASSWORD`, else `demo`.
pub(crate) fn emulator_password(flag: Option<&str>, env: &dyn Env) -> SecretString {
    SecretString::from(
        flag.map(str::to_string)
            .or_else(|| env.var("VS_EMULATOR_PASSWORD"))
            .unwrap_or_else(|| "demo".to_string()),
    )
}

/// The input flags as read options (over the mapping's `[source]`, when there is one).
pub(crate) fn source_options(
    args: &SourceArgs,
    over: SourceOptions,
) -> Result<SourceOptions, Error> {
    let mut opts = over;
    for (key, n) in &args.limits {
        opts.limits.set(key, *n).map_err(|message| Error::Usage {
            message: format!("--limit {message}"),
            help: None,
        })?;
    }
    if let Some(s) = &args.sheet {
        opts.sheet = Some(SheetChoice::parse(s));
    }
    if let Some(r) = args.header_row {
        opts.header_row = Some(r);
    }
    if let Some(d) = &args.delimiter {
        opts.delimiter = Some(crate::read::parse_delimiter(d).ok_or_else(|| Error::Usage {
            message: format!("--delimiter {d:?} is not a single character"),
            help: Some("use one of , ; tab |".into()),
        })?);
    }
    if let Some(e) = &args.encoding {
        opts.encoding = Some(
            encoding_rs::Encoding::for_label(e.trim().as_bytes()).ok_or_else(|| Error::Usage {
                message: format!("--encoding {e:?} is not an encoding label"),
                help: Some(
                    "use a WHATWG label such as utf-8, windows-1252, iso-8859-15, utf-16le".into(),
                ),
            })?,
        );
    }
    Ok(opts)
}

/// Everything `import` (and each file of `watch`) runs with.
#[derive(Debug)]
pub(crate) struct Import {
    pub(crate) input: Input,
    /// The mapping file, checked, and its name as shown; `None`: suggested from the columns.
    pub(crate) mapping: Option<(Mapping, String)>,
    /// How to read the input: flags over the mapping's `[source]`.
    pub(crate) source: SourceOptions,
    /// Compare with the server (`--diff`, and every import), and how; `None`: no comparison
    /// (a dry run without `--diff`).
    pub(crate) compare: Option<CompareMode>,
    /// A saved catalog instead of the server's.
    pub(crate) catalog: Option<PathBuf>,
    /// The field of a KPI's details that lists its sub-tiles (`--sub-tiles-field`).
    pub(crate) sub_tiles_field: Option<String>,
    /// `--report DIR`.
    pub(crate) report_dir: Option<PathBuf>,
    pub(crate) format: Format,
    pub(crate) on_conflict: OnConflict,
    /// Every note, and every changed record.
    pub(crate) notes: bool,
    /// Every planned record in the JSON report.
    pub(crate) records: bool,
    pub(crate) threads: usize,
    /// Write nothing when any row was rejected.
    pub(crate) no_partial: bool,
    /// `--annotate`: write NAME.checked.xlsx.
    pub(crate) annotate: bool,
    /// How to write (imports only).
    pub(crate) write: Option<WriteOptions>,
    /// The server (`None` only for a dry run against a saved catalog).
    pub(crate) client: Option<ClientConfig>,
    pub(crate) ui: Ui,
}

/// Resolves `import`'s flags.
pub(crate) fn import(
    args: &ImportArgs,
    ui: Ui,
    env: &dyn Env,
    stdin: &mut dyn Read,
) -> Result<Import, Error> {
    let input = Input::from_arg(&args.file);
    if input == Input::Stdin && args.connect.password_stdin {
        return Err(Error::Usage {
            message:
                "--password-stdin cannot be used when the file is read from standard input (-)"
                    .into(),
            help: Some("set VS_PASSWORD or password_command in the config file instead".into()),
        });
    }
    let mapping = match &args.mapping {
        Some(p) => Some((Mapping::load(p)?, p.display().to_string())),
        None => None,
    };
    let from_mapping = match &mapping {
        Some((m, _)) => m.source_options(),
        None => SourceOptions::default(),
    };
    let mut source = source_options(&args.source, from_mapping)?;
    let dry_run = args.dry_run;
    // The journal of an import is keyed by the input's content.
    source.hash = !dry_run;
    let config_file = config::load_config(args.connect.config.as_deref(), env)?;
    let mode = args
        .write
        .compare
        .or(config_file.compare)
        .unwrap_or_default();
    let file_version = config_file.api_version;
    let sub_tiles_field = args
        .connect
        .sub_tiles_field
        .clone()
        .or(config_file.sub_tiles_field.clone())
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty());
    if dry_run && args.write.diff && mode == CompareMode::Never {
        return Err(Error::Usage {
            message: "--diff compares with the server, and --compare never says not to".into(),
            help: Some("drop one of them".into()),
        });
    }
    let compare = (!dry_run || args.write.diff).then_some(mode);
    let needs_server = args.catalog.is_none() || compare.is_some();
    let client = if needs_server {
        Some(client_with(&args.connect, config_file, env, stdin)?)
    } else {
        None
    };
    let version = match &client {
        Some(c) => c.version,
        None => api_version(args.connect.api_version.or(file_version))?,
    };
    if let Some((m, shown)) = &mapping {
        let forecasts = m.forecast_columns();
        if !forecasts.is_empty() && version != ApiVersion::V3 {
            return Err(Error::Mapping {
                path: shown.clone(),
                message: format!(
                    "the mapping sends forecast values ({}), and the API version is 2: a v2 server that does not know the forecast flag would write them over the actual values",
                    forecasts
                        .iter()
                        .map(|c| format!("column {c:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                help: Some(
                    "forecasts need API v3: set api_version = 3 in the config file (or pass --api-version 3), or drop forecast = true from the mapping"
                        .into(),
                ),
            });
        }
    }
    let write = if dry_run {
        None
    } else {
        Some(WriteOptions {
            skip_unchanged: !args.write.no_skip_unchanged,
            keep_targets: !args.write.no_keep_targets,
            restart: args.write.restart,
            wait_lock: std::time::Duration::from_secs(args.write.wait_lock.unwrap_or(0)),
            state_dir: state_dir(
                args.state.state_dir.as_deref(),
                args.connect.config.as_deref(),
                env,
            )?,
        })
    };
    if let Some(d) = &args.report
        && d.exists()
        && !d.is_dir()
    {
        return Err(Error::Usage {
            message: format!(
                "--report {}: is a file; --report takes a directory",
                d.display()
            ),
            help: Some("give a directory (it is created if it does not exist)".into()),
        });
    }
    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    Ok(Import {
        input,
        mapping,
        source,
        compare,
        sub_tiles_field,
        catalog: args.catalog.clone(),
        report_dir: args.report.clone(),
        format: args.format,
        on_conflict: args.on_conflict,
        notes: args.notes,
        records: args.records,
        threads,
        no_partial: args.write.no_partial,
        annotate: args.annotate,
        write,
        client,
        ui,
    })
}

#[cfg(test)]
mod tests {
    use super::env::fixed::env;
    use super::*;
    use secrecy::ExposeSecret;

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
        let cfg = client(&args, &e, &mut std::io::empty()).unwrap();
        assert_eq!(cfg.base_url, "http://127.0.0.1:1/api");
        assert_eq!(cfg.user, "u");
        assert_eq!(cfg.password.expose_secret(), "p");
        assert_eq!(cfg.limits.concurrency, 8);
    }

    #[test]
    fn password_from_stdin_first_line() {
        let args = ConnectArgs {
            tenant: Some("acme".into()),
            user: Some("u".into()),
            password_stdin: true,
            ..Default::default()
        };
        let cfg = client(&args, &env(&[]), &mut &b"s3cret\r\nrest"[..]).unwrap();
        assert_eq!(cfg.password.expose_secret(), "s3cret");
        assert_eq!(cfg.base_url, "https://api-acme.valuestreamer.de/api");
    }

    #[test]
    fn config_file_limits_and_password_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "url = \"http://127.0.0.1:9/api\"\nuser = \"cfg\"\npassword_command = \"echo from-cmd\"\napi_version = 3\nconcurrency = 3\nmax_rps = 2.5\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Readable by others: refused, with the chmod that fixes it.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let args = ConnectArgs {
                config: Some(path.clone()),
                ..Default::default()
            };
            let e = client(&args, &env(&[]), &mut std::io::empty()).unwrap_err();
            assert!(
                e.to_string().contains("can be read or changed by others"),
                "{e}"
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut args = ConnectArgs {
            config: Some(path),
            ..Default::default()
        };
        let cfg = client(&args, &env(&[]), &mut std::io::empty()).unwrap();
        assert_eq!(cfg.user, "cfg");
        assert_eq!(cfg.password.expose_secret(), "from-cmd");
        assert_eq!(cfg.version, ApiVersion::V3);
        assert_eq!(cfg.limits.concurrency, 3);
        assert_eq!(cfg.limits.max_rps, Some(2.5));
        // A flag beats the file.
        args.concurrency = Some(5);
        let cfg = client(&args, &env(&[]), &mut std::io::empty()).unwrap();
        assert_eq!(cfg.limits.concurrency, 5);
    }

    #[test]
    fn config_values_out_of_range_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "url = \"http://127.0.0.1:9/api\"\nuser = \"u\"\nmax_rps = 1e-300\n",
        )
        .unwrap();
        let args = ConnectArgs {
            config: Some(path),
            ..Default::default()
        };
        let e = client(&args, &env(&[("VS_PASSWORD", "p")]), &mut std::io::empty()).unwrap_err();
        assert!(e.to_string().contains("max_rps"), "{e}");
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
        let e = client(&args, &env(&[]), &mut std::io::empty()).unwrap_err();
        assert!(e.to_string().contains("not a valid config file"), "{e}");
    }

    #[test]
    fn missing_password_says_how() {
        let args = ConnectArgs {
            url: Some("http://127.0.0.1:1/api".into()),
            user: Some("u".into()),
            ..Default::default()
        };
        let e = client(&args, &env(&[]), &mut std::io::empty()).unwrap_err();
        assert!(e.to_string().contains("no password"));
    }

    #[test]
    fn proxies_come_from_the_environment_in_either_case() {
        let e = env(&[
            ("https_proxy", "http://proxy:3128"),
            ("NO_PROXY", "intranet.example"),
        ]);
        let p = proxies(&e);
        assert_eq!(p.https.as_deref(), Some("http://proxy:3128"));
        assert_eq!(p.no_proxy.as_deref(), Some("intranet.example"));
        assert_eq!(p.http, None);
    }

    #[test]
    fn state_dir_precedence() {
        let e = env(&[("VS_STATE_DIR", "/from-env"), ("XDG_STATE_HOME", "/xdg")]);
        assert_eq!(
            state_dir(Some(Path::new("/flag")), None, &e).unwrap(),
            PathBuf::from("/flag")
        );
        assert_eq!(
            state_dir(None, None, &e).unwrap(),
            PathBuf::from("/from-env")
        );
        let e = env(&[("XDG_STATE_HOME", "/xdg")]);
        assert_eq!(
            state_dir(None, None, &e).unwrap(),
            PathBuf::from("/xdg/vsimport")
        );
    }
}
