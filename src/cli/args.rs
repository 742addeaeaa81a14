//! Flag groups shared by several commands.

use std::path::PathBuf;

/// Connection and request flags, shared by every command that talks to a server. Each can
/// also come from the environment or the config file (flags win).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct ConnectArgs {
    /// API base URL, e.g. https://api-acme.valuestreamer.de/api [env: VS_URL]
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// Tenant name: short for --url https://api-<TENANT>.valuestreamer.de/api
    #[arg(long, value_name = "TENANT", conflicts_with = "url")]
    pub(crate) tenant: Option<String>,
    /// API user [env: VS_USER]
    #[arg(long, value_name = "USER")]
    pub(crate) user: Option<String>,
    /// Read the password from the first line of standard input (else VS_PASSWORD, else the
    /// config file's password_command)
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Config file (TOML) [env: VSIMPORT_CONFIG] [default: <config dir>/vsimport/config.toml]
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// API edition: 2 (media type application/vs.v2.0+json) or 3 (adds forecasts) [default: 2]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(2..=3))]
    pub(crate) api_version: Option<u8>,
    /// Permit plain http:// to a host that is not loopback (the password then travels unencrypted)
    #[arg(long)]
    pub(crate) allow_http: bool,
    /// Seconds before a request is abandoned [default: 30]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: Option<u64>,
    /// Requests in flight at most, for every request of the command; lowered automatically
    /// while the server throttles (429/503) [default: 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=512))]
    pub(crate) concurrency: Option<u32>,
    /// Requests per second at most, for every request of the command (0.001 to 100000)
    #[arg(long, value_name = "N", value_parser = rate)]
    pub(crate) max_rps: Option<f64>,
    /// Attempts per request, the first included (connection errors, timeouts, 408, 429, 500,
    /// 502, 503, 504 are retried; other errors are not) [default: 10]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub(crate) max_attempts: Option<u32>,
    /// First backoff before a retry, in milliseconds (doubles per attempt, full jitter)
    /// [default: 200]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub(crate) retry_base_ms: Option<u64>,
    /// Longest wait before a retry, in seconds; a longer Retry-After is capped too [default: 20]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) retry_cap: Option<u64>,
    /// The Accept header of every request, e.g. application/json or application/vs.v2.0+json
    /// [default: */*]
    #[arg(long, value_name = "MEDIA")]
    pub(crate) accept: Option<String>,
    /// The field of a KPI's details that lists its sub-tiles, where the server does not call
    /// it subTiles
    #[arg(long, value_name = "NAME")]
    pub(crate) sub_tiles_field: Option<String>,
}

/// A request rate from 0.001 to 100,000 per second.
fn rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.001..=100_000.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "{s:?} is not a rate from 0.001 to 100000 requests per second"
        )),
    }
}

/// How to read the input file, where the mapping's `[source]` (or detection) would decide.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Input")]
pub(crate) struct SourceArgs {
    /// Sheet name or 1-based number [default: the first visible sheet]
    #[arg(long, value_name = "NAME|N")]
    pub(crate) sheet: Option<String>,
    /// 1-based row (CSV: line) holding the column names [default: detected]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub(crate) header_row: Option<u64>,
    /// CSV delimiter: , ; tab | or any single character [default: detected]
    #[arg(long, value_name = "CHAR")]
    pub(crate) delimiter: Option<String>,
    /// CSV encoding as a WHATWG label, e.g. utf-8, windows-1252, utf-16le [default: detected]
    #[arg(long, value_name = "LABEL")]
    pub(crate) encoding: Option<String>,
    /// Raise (or lower) a limit on what the file may hold, over the mapping's [source]:
    /// max_input_bytes, max_record_bytes, max_cells, max_zip_entries, max_unpacked_bytes,
    /// max_zip_ratio, max_shared_strings (e.g. --limit max_record_bytes=64MiB; repeatable)
    #[arg(long = "limit", value_name = "NAME=N", value_parser = crate::read::parse_limit_flag)]
    pub(crate) limits: Vec<(String, u64)>,
}

/// Where journals and undo data live.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct StateArgs {
    /// Where journals and undo data are kept [default: $VS_STATE_DIR, else state_dir in the
    /// config file, else $XDG_STATE_HOME/vsimport, else ~/.local/state/vsimport]
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_have_a_range() {
        assert!(rate("1e-300").is_err());
        assert!(rate("NaN").is_err());
        assert!(rate("inf").is_err());
        assert_eq!(rate("2.5"), Ok(2.5));
    }
}
