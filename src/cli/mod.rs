//! The command line as clap parses it: the raw flags of every command. Nothing here is
//! resolved; [`crate::settings`] turns these (with the environment, the config file and the
//! mapping's `[source]`) into the settings the stages use, once.

// The doc comments of the flags are clap's help text, shown as written (`[source]`,
// `<TENANT>`, bare URLs): rustdoc's reading of them as links and HTML does not apply.
#[allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]
mod args;
mod examples;
pub(crate) use examples::command;
pub(crate) mod reference;
pub(crate) mod template;
#[allow(rustdoc::broken_intra_doc_links)]
pub(crate) mod watch;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

pub(crate) use args::{ConnectArgs, SourceArgs, StateArgs};

use crate::dedupe::OnConflict;

pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  everything was done
  1  done, but some rows were rejected or some records were not written (see the report)
  2  nothing could be done: usage, file, mapping, catalog or server error
  3  nothing to do: the file holds no records to write
  4  another import to the same server is running (--wait-lock waits for it), or
     another watch holds the folder
130  interrupted (Ctrl-C) before anything was written";

/// `0.1.0 (commit 4c03d52, built 2026-12-01)`: the version, the commit it was built from and
/// the build date (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("VSIMPORT_COMMIT"),
    ", built ",
    env!("VSIMPORT_BUILD_DATE"),
    ")"
);

/// Load KPI spreadsheets exported from BI tools (CSV, Excel) into ValueStreamer.
#[derive(Debug, Parser)]
#[command(name = "vsimport", version = VERSION, about, after_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    /// More detail on stderr (-v: debug, -vv: trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub(crate) verbose: u8,
    /// Only errors on stderr: no progress, notes or warnings (rejected rows still are)
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub(crate) quiet: bool,
    /// Colours in diagnostics: auto (a terminal without NO_COLOR), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = Color::Auto,
        help_heading = "Global options"
    )]
    pub(crate) color: Color,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Import a file: check every cell against the catalog, then write the new and changed
    /// records; --dry-run --diff shows what would change
    Import(ImportArgs),
    /// Revert an import: restore the values it overwrote, delete the records it created
    Undo(UndoArgs),
    /// Mapping files: `mapping init FILE` suggests one
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// Show what vsimport sees in a file: format, encoding, delimiter, sheet, header, columns, rows
    Inspect(InspectArgs),
    /// List the tenant's KPIs with interval, unit, value names and recording teams
    Kpis(KpisArgs),
    /// Read records back from the server into CSV
    Export(ExportArgs),
    /// Past imports from the state directory: id, time, file, server, written/failed, undone;
    /// `runs prune --older-than 90d` removes old ones
    Runs(RunsArgs),
    /// Write a workbook to fill (teams, KPIs and dates filled in, drop-down lists) and the
    /// mapping that imports it
    Template(template::TemplateArgs),
    /// Watch a folder: import each file dropped into ROOT/inbox, unattended (--once: what is
    /// there now)
    Watch(watch::WatchArgs),
    /// Try vsimport end to end on the bundled emulator (no server or credentials needed)
    Demo(DemoArgs),
    /// Run the bundled emulator of the ValueStreamer KPI API (for tests and trying things out)
    Emulator(EmulatorArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on standard output
    Completions(CompletionsArgs),
    /// Say what a diagnostic code means and how to fix the cells it points at
    Explain(ExplainArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The code, as a run shows it (`vsimport::date::ambiguous`, or `date::ambiguous`)
    pub(crate) code: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// Parses the arguments; `Err` carries clap's own output and exit code.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let matches = examples::command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

impl Cli {
    /// Parses a command line given as a list.
    pub(crate) fn try_parse_from_args(args: &[OsString]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(args.iter().cloned())
    }
}

/// Whether an import reads the server's current values before writing (`--compare`).
/// (Plain comments on the variants: doc comments would switch clap's help to its long
/// layout.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CompareMode {
    // Compare; when the server's records cannot be read, write without comparing if that
    // loses nothing (no targets to keep), with a warning
    #[default]
    Auto,
    // Compare, or stop when the server's records cannot be read
    Always,
    // Do not read the server's values: every record is sent, no targets are kept, and the
    // import cannot be undone
    Never,
}

/// What `--format` prints on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Text for people
    Text,
    /// The report document (report.json), for scripts
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every row planned (and every record written); 1 some rows rejected or records not written (see the report); 2 nothing could be done; 3 nothing to do; 4 another import to the same server is running; 130 interrupted before writing.\n\nWriting, the journal, resuming and undo: docs/UPLOAD.md."
)]
pub(crate) struct ImportArgs {
    /// The exported file (CSV, xlsx, xlsm, xlsb, xls, ods); - reads standard input
    pub(crate) file: PathBuf,
    /// Mapping file (TOML); without it the columns are matched to the catalog automatically,
    /// and the import stops with a suggested mapping when unsure
    #[arg(short, long, value_name = "FILE")]
    pub(crate) mapping: Option<PathBuf>,
    /// Show what would be written, and every problem; write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Use a saved catalog (`vsimport kpis --save FILE`) instead of asking the server
    #[arg(long, value_name = "FILE")]
    pub(crate) catalog: Option<PathBuf>,
    /// Also write report.json and rejected.csv (imports: failed.csv) into DIR
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
    /// Output on standard output
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Two different values for the same record and value slot: reject the rows (error),
    /// or keep the earliest (first) or latest (last) row's value
    #[arg(long, value_enum, default_value_t = OnConflict::Error)]
    pub(crate) on_conflict: OnConflict,
    /// Show every note (snapped dates, merged duplicates), not only their counts, and every
    /// changed record of --diff
    #[arg(long)]
    pub(crate) notes: bool,
    /// List every planned record (key, values, source rows) in the JSON report
    #[arg(long)]
    pub(crate) records: bool,
    /// Also write NAME.checked.xlsx: the file's rows with each cell that has a problem marked
    /// and a note saying how to fix it (into the report directories, else the current one)
    #[arg(long)]
    pub(crate) annotate: bool,
    /// Threads for checking large CSV files (1: one thread) [default: the machine's cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: Option<u16>,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

/// How records are written (and compared with the server first).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Writing")]
pub(crate) struct WriteArgs {
    /// With --dry-run: read the server's current values and show which records are new,
    /// changed (old -> new) or unchanged
    #[arg(long)]
    pub(crate) diff: bool,
    /// Read the server's current values before writing, to skip unchanged records, keep
    /// targets and make undo possible: always; never (every record sent, no targets kept, no
    /// undo); auto: compare, and write without comparing only when the values cannot be read
    /// and no target would be lost [default: auto, or compare in the config file]
    #[arg(long, value_enum, value_name = "WHEN", hide_possible_values = true)]
    pub(crate) compare: Option<CompareMode>,
    /// Send unchanged records too (by default only new and changed records are sent)
    #[arg(long)]
    pub(crate) no_skip_unchanged: bool,
    /// Do not send the server's current target values back for records whose file has no
    /// targets (the server may then reset those targets)
    #[arg(long)]
    pub(crate) no_keep_targets: bool,
    /// Ignore the journal of an earlier, interrupted run of this import and send everything
    #[arg(long)]
    pub(crate) restart: bool,
    /// When another import to the same server is running, wait up to SECS for it to end
    /// (0: stop at once, exit code 4) [default: 0]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub(crate) wait_lock: Option<u64>,
    /// Write nothing when any row was rejected (by default the valid records are written and
    /// the rejected rows go to rejected.csv)
    #[arg(long)]
    pub(crate) no_partial: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 undone (or nothing to do); 1 some records could not be restored; 2 nothing could be done."
)]
pub(crate) struct UndoArgs {
    /// The import's id, as the import printed it (`undo: vsimport undo ID`; `vsimport runs`
    /// lists them)
    #[arg(required_unless_present = "last")]
    pub(crate) id: Option<String>,
    /// Undo the newest import that wrote something
    #[arg(long, conflicts_with = "id")]
    pub(crate) last: bool,
    /// Show what would be restored and deleted; change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also restore records that were changed after the import, and undo again an import
    /// that was already undone
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct RunsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<RunsCommand>,
    /// How many runs to show, newest first (0: all)
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) limit: usize,
    /// Output on standard output: text, or json (as `import --format json`)
    #[arg(long, value_enum, default_value_t = Format::Text, hide_possible_values = true)]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Config file (TOML), for its state_dir [env: VSIMPORT_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RunsCommand {
    /// Remove run directories (reports and undo data: those imports can no longer be undone)
    /// and journals (which finish interrupted imports) older than AGE
    Prune(PruneArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct PruneArgs {
    /// Age such as 90d, 12w, 6months, 1y
    #[arg(long, value_name = "AGE", value_parser = age_arg)]
    pub(crate) older_than: std::time::Duration,
    /// List what would be removed; remove nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) state: StateArgs,
    /// Config file (TOML), for its state_dir [env: VSIMPORT_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// `--older-than`: a humantime duration (`90d`, `12w`, `1y`), at least a day.
fn age_arg(s: &str) -> Result<std::time::Duration, String> {
    let d =
        humantime::parse_duration(s.trim()).map_err(|e| format!("{e}; use e.g. 90d, 12w or 1y"))?;
    if d < std::time::Duration::from_secs(86_400) {
        return Err("shorter than a day; use e.g. 90d, 12w or 1y".into());
    }
    Ok(d)
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum MappingCommand {
    /// Write a mapping for FILE: columns matched to roles and the catalog's KPIs and values
    /// (exact, case-insensitive, then fuzzy with the score in a comment)
    #[command(
        override_usage = "vsimport mapping init [OPTIONS] <FILE>\n       vsimport mapping init --layout <long|semi-wide|wide> [-o FILE]"
    )]
    Init(MappingInitArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct MappingInitArgs {
    /// The exported file; - reads standard input
    #[arg(required_unless_present = "layout")]
    pub(crate) file: Option<PathBuf>,
    /// Instead of a suggestion for a file, the template of a layout with every option
    /// explained: long (a row per value), semi-wide (a row per record), wide (a column per KPI)
    #[arg(
        long,
        value_enum,
        conflicts_with = "file",
        hide_possible_values = true,
        value_name = "LAYOUT"
    )]
    pub(crate) layout: Option<crate::map::templates::Layout>,
    /// Write the mapping to FILE instead of standard output (an existing file is kept unless
    /// --force)
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Replace the -o file if it exists
    #[arg(long)]
    pub(crate) force: bool,
    /// Use a saved catalog instead of asking the server
    #[arg(long, value_name = "FILE")]
    pub(crate) catalog: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The exported file (CSV, xlsx, xlsm, xlsb, xls, ods); - reads standard input
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// How many data rows to show
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub(crate) rows: usize,
    /// Output on standard output: text, or json (as `import --format json`)
    #[arg(long, value_enum, default_value_t = Format::Text, hide_possible_values = true)]
    pub(crate) format: Format,
    /// Short for --format json
    #[arg(long, hide = true)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct KpisArgs {
    /// Output on standard output: a table (text), or json (the emulator's catalog format)
    #[arg(long, value_enum, default_value_t = Format::Text, hide_possible_values = true)]
    pub(crate) format: Format,
    /// Short for --format json
    #[arg(long, hide = true)]
    pub(crate) json: bool,
    /// Also write the catalog to FILE (usable offline and by `vsimport emulator --catalog`)
    #[arg(long, value_name = "FILE")]
    pub(crate) save: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// KPI name or id (repeatable) [default: every KPI]
    #[arg(long, value_name = "NAME|ID")]
    pub(crate) kpi: Vec<String>,
    /// Only this recording team (name or id)
    #[arg(long, value_name = "NAME|ID")]
    pub(crate) team: Option<String>,
    /// First date (yyyy-mm-dd or dd.mm.yyyy)
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub(crate) from: NaiveDate,
    /// Last date (yyyy-mm-dd or dd.mm.yyyy) [default: today]
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub(crate) to: Option<NaiveDate>,
    /// Write to FILE instead of standard output (an existing file is kept unless --force)
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Replace the -o file if it exists
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Where the sample files (built into vsimport), reports, journals and undo data go
    /// [default: a new directory in the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EmulatorArgs {
    /// Catalog file: {"teams": [...], "kpis": [<KPI details as GET /exchange/kpi/{id} returns them>]}
    #[arg(long, value_name = "FILE")]
    pub(crate) catalog: PathBuf,
    /// Address to listen on; port 0 picks a free port (the URL is printed on stdout)
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub(crate) listen: SocketAddr,
    /// The API user
    #[arg(long, default_value = "demo")]
    pub(crate) user: String,
    /// The API user's password [default: $VS_EMULATOR_PASSWORD, else demo]
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// A user that authenticates but lacks the API permission (answered 403), as USER:PASSWORD
    #[arg(long, value_name = "USER:PASSWORD")]
    pub(crate) forbidden_user: Option<String>,
    /// Reject WEEK records not dated on a Monday and MONTH records not on the 1st (400);
    /// with false they are moved onto the Monday / the 1st
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub(crate) strict_dates: bool,
    /// Status for DELETE of a record that does not exist
    #[arg(long, default_value_t = 404, value_name = "404|204", value_parser = delete_status)]
    pub(crate) delete_missing: u16,
    /// Delay every answer by N milliseconds
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub(crate) latency_ms: u64,
    /// Answer this fraction of requests with 503 (0.0 to 1.0)
    #[arg(long, default_value_t = 0.0, value_name = "F", value_parser = fraction)]
    pub(crate) fail_rate: f64,
    /// Answer 429 above N requests per second
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) throttle_rps: Option<u32>,
    /// Answer this fraction of requests with 429 (with Retry-After, see --retry-after-secs)
    #[arg(long, default_value_t = 0.0, value_name = "F", value_parser = fraction)]
    pub(crate) throttle_rate: f64,
    /// The Retry-After of 429 answers, in seconds (any whole number, for clients' caps)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) retry_after_secs: u64,
    /// Send 429 without a Retry-After header
    #[arg(long)]
    pub(crate) no_retry_after: bool,
    /// Answer every GET with 200 and a body that never ends (for clients' size limits)
    #[arg(long)]
    pub(crate) endless_body: bool,
    /// Refuse every PUT (400) with a body echoing the request's Authorization header
    #[arg(long)]
    pub(crate) echo_auth: bool,
    /// Drop the connection after applying this fraction of writes (the client sees no answer)
    #[arg(long, default_value_t = 0.0, value_name = "F", value_parser = fraction)]
    pub(crate) reset_rate: f64,
    /// Seed for the injected faults
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Load records from FILE on start (if it exists) and save them there on shutdown
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// Append one JSON line per request to FILE
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// Play a server variant, several of the switches below at once: documented, loose-json,
    /// sparse-catalog, resetting, lenient-v2 or strict-ranges (docs/EMULATOR.md)
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "NAME",
        hide_possible_values = true,
        help_heading = "Server variants"
    )]
    pub(crate) profile: crate::emulator::quirks::Profile,
    /// Answer GETs in another shape: wrapped lists, nested ids, datetime dates, null values,
    /// numeric strings, extra fields
    #[arg(long, help_heading = "Server variants")]
    pub(crate) loose_answers: bool,
    /// Produce application/json only: an Accept header without it gets 406
    #[arg(long, help_heading = "Server variants")]
    pub(crate) json_only: bool,
    /// Serve KPI details without `unit`
    #[arg(long, help_heading = "Server variants")]
    pub(crate) no_unit: bool,
    /// Serve KPI details without `kpiValueTimeReference`
    #[arg(long, help_heading = "Server variants")]
    pub(crate) no_interval: bool,
    /// Serve sub-tiles under this field instead of `subTiles`
    #[arg(long, value_name = "NAME", help_heading = "Server variants")]
    pub(crate) sub_tiles_field: Option<String>,
    /// A PUT without the target values sets them to 0 on update too (not only on create)
    #[arg(long, help_heading = "Server variants")]
    pub(crate) reset_targets: bool,
    /// v2 bodies: ignore `forecast` (the value lands in the actual) instead of answering 400
    #[arg(long, help_heading = "Server variants")]
    pub(crate) ignore_unknown_fields: bool,
    /// Date records in GET answers as the UTC instant of their midnight in UTC+1
    /// (2025-03-03 as 2025-03-02 at 23:00 UTC)
    #[arg(long, help_heading = "Server variants")]
    pub(crate) utc_dates: bool,
    /// GET list answers without the key fields (date, team, KPI, sub-tile): each record's
    /// values only
    #[arg(long, help_heading = "Server variants")]
    pub(crate) keyless_lists: bool,
    /// Longest GET range for DAY KPIs, in days [default: 31]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3660), help_heading = "Server variants")]
    pub(crate) range_days: Option<u32>,
    /// Longest GET range for WEEK KPIs and (v2) MONTH KPIs, in months [default: 6]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=120), help_heading = "Server variants")]
    pub(crate) range_months: Option<u32>,
    /// Longest GET range for MONTH KPIs with v3, in months [default: 24]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=120), help_heading = "Server variants")]
    pub(crate) range_months_v3: Option<u32>,
}

/// A date flag: `2025-01-31` or `31.01.2025`.
fn date_arg(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%d.%m.%Y"))
        .map_err(|_| format!("{s:?} is not a date: write 2025-01-31 (or 31.01.2025)"))
}

/// 404 or 204.
fn delete_status(s: &str) -> Result<u16, String> {
    match s.trim() {
        "404" => Ok(404),
        "204" => Ok(204),
        _ => Err(format!("{s:?} is not 404 or 204")),
    }
}

/// A number from 0.0 to 1.0.
pub(crate) fn fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("{s:?} is not a fraction from 0.0 to 1.0")),
    }
}
