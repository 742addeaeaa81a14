//! `vsimport template`: the flags of the input template.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::args::ConnectArgs;
use crate::map::templates::Layout;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Writes FILE.xlsx (one row per KPI, team and date at the KPI's interval, keys filled in, drop-down lists of teams and KPIs, a number format per unit, the header protected) and FILE.mapping.toml beside it. Fill the value cells, then: vsimport import FILE.xlsx --mapping FILE.mapping.toml --dry-run"
)]
pub(crate) struct TemplateArgs {
    /// KPI name or id (repeatable)
    #[arg(long, value_name = "NAME|ID", required = true)]
    pub(crate) kpi: Vec<String>,
    /// Team name or id (repeatable) [default: the teams that record the KPIs]
    #[arg(long, value_name = "NAME|ID")]
    pub(crate) team: Vec<String>,
    /// First date (yyyy-mm-dd or dd.mm.yyyy)
    #[arg(long, value_name = "DATE", value_parser = super::date_arg)]
    pub(crate) from: NaiveDate,
    /// Last date (yyyy-mm-dd or dd.mm.yyyy)
    #[arg(long, value_name = "DATE", value_parser = super::date_arg)]
    pub(crate) to: NaiveDate,
    /// The layout: long (one value per row), semi-wide (one record per row), wide (one
    /// column per KPI)
    #[arg(long, value_enum, default_value_t = Layout::SemiWide, hide_possible_values = true)]
    pub(crate) layout: Layout,
    /// The workbook to write (.xlsx); the mapping goes beside it as NAME.mapping.toml
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Replace FILE and its mapping when they exist
    #[arg(long)]
    pub(crate) force: bool,
    /// Use a saved catalog (`vsimport kpis --save FILE`) instead of asking the server
    #[arg(long, value_name = "FILE")]
    pub(crate) catalog: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}
