//! `vsimport watch ROOT`: the flags of the folder watch.

use std::path::PathBuf;

use super::args::ConnectArgs;

/// What happens to a file with rejected rows (`--on-rejected`, `on_rejected` in
/// `ROOT/vsimport.toml`). (Plain comments on the variants: doc comments would switch clap's
/// help to its long layout.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OnRejected {
    // Write the valid records; the file goes to done/ with NAME.rejected.csv beside it
    #[default]
    ImportValid,
    // Write nothing; the file goes to failed/ with its reports, to be fixed and dropped in again
    Hold,
}

impl OnRejected {
    /// As written in flags and settings.
    pub(crate) fn name(self) -> &'static str {
        match self {
            OnRejected::ImportValid => "import-valid",
            OnRejected::Hold => "hold",
        }
    }
}

/// How the log lines look (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    // One line of text per event
    #[default]
    Text,
    // One JSON object per line
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Folders under ROOT (created if missing): inbox/ (drop files here; inbox/NAME/ with its own mapping.toml for a second kind of export), processing/, done/YYYY-MM-DD/, failed/YYYY-MM-DD/. Settings: ROOT/vsimport.toml (the config file's keys, and a [watch] table), under the flags. The password is never read from ROOT: VS_PASSWORD, --password-stdin or password_command.\n\nExit codes: 0 every file done; 1 some file had rejected rows or records not written; 2 some file failed, or nothing could be done; 4 another watch holds ROOT. Details: docs/WATCH.md."
)]
pub(crate) struct WatchArgs {
    /// The watched folder (inbox/, processing/, done/, failed/ beneath it)
    pub(crate) root: PathBuf,
    /// Process what is in the inbox now, then exit (for cron, systemd timers, Task Scheduler)
    #[arg(long)]
    pub(crate) once: bool,
    /// Check the settings, mappings, credentials and server, and list what would be imported
    /// now; move nothing
    #[arg(long, conflicts_with = "once")]
    pub(crate) check: bool,
    /// A file is taken when its size and time have not changed for SECS [default: 5]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub(crate) settle_secs: Option<u64>,
    /// Look at the inbox every SECS even without a change event (network shares drop them)
    /// [default: 30]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) rescan_secs: Option<u64>,
    /// A file with rejected rows: import-valid (write the valid records) or hold (write
    /// nothing, move it to failed/) [default: import-valid]
    #[arg(long, value_enum, value_name = "POLICY", hide_possible_values = true)]
    pub(crate) on_rejected: Option<OnRejected>,
    /// Mapping for files directly in inbox/ (inbox/NAME/mapping.toml serves inbox/NAME/)
    /// [default: [watch] mapping, else the columns are matched to the catalog]
    #[arg(short, long, value_name = "FILE")]
    pub(crate) mapping: Option<PathBuf>,
    /// Run CMD (through the shell) after each file, with the outcome in VSIMPORT_* variables
    #[arg(long, value_name = "CMD")]
    pub(crate) on_file_done: Option<String>,
    /// Remove done/ folders older than N days (0: keep all) [default: 0]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub(crate) keep_days: Option<u32>,
    /// Log lines on stderr and in ROOT/vsimport.log: text or json [default: text]
    #[arg(long, value_enum, value_name = "FORMAT", hide_possible_values = true)]
    pub(crate) log_format: Option<LogFormat>,
    /// A watch lock whose heartbeat is older than SECS is taken over (another machine's
    /// watch that died) [default: 120]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub(crate) stale_lock_secs: Option<u64>,
    /// Where journals and undo data are kept [default: $VS_STATE_DIR, else state_dir in
    /// ROOT/vsimport.toml (relative to ROOT), else ROOT/.vsimport/state]
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}
