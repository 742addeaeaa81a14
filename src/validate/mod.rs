//! Validate stage: the read stage's [`Row`]s, through the mapping's [`ColumnPlan`], become
//! [`Entry`]s — one per value, in file order — or rejected rows with a diagnostic at each bad
//! cell ([`Validated`]: the entries and the [`Findings`]).
//!
//! A row is taken whole or not at all: one invalid cell rejects it. Dates, numbers and times
//! are parsed by [`crate::normalize`]; names are looked up in the catalog ([`CatalogIndex`]).
//! What one cell cannot decide (slash dates, `1,234`) is decided for the file in
//! [`Validator::finish`] from the cells that can, or reported — never guessed; then dates are
//! moved onto their KPI's record date (WEEK: Monday, MONTH: the 1st). Values of the same
//! record are merged by the next stage, [`crate::dedupe`].
//!
//! A validator can be forked for another thread's part of the file and the parts appended
//! in file order ([`Validator::fork`], [`Validator::append`]): the result is what one
//! validator reading every row in order would have found.

mod evidence;
mod lookup;
mod row;

use std::sync::Arc;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;

use crate::api::Interval;
use crate::catalog::CatalogIndex;
use crate::diag::{Diagnostic, Problem, Severity};
use crate::findings::Findings;
use crate::map::{Aliases, ColumnPlan, Field, Layout, Mapping};
use crate::normalize::{DateOptions, Decimal, TimeFormat};
use crate::read::Row;
use crate::record::{Entry, Origin};
use evidence::{PendingDate, PendingNumber};
use lookup::KnownNames;

/// A value cell's slot, or why it has none: the problem is boxed (it is rare), so that the
/// common case moves 24 bytes through the row's list, not 88.
type Slot = Result<u16, Box<Problem>>;

/// Validates rows one at a time; [`Validator::finish`] settles the file-level decisions.
pub(crate) struct Validator<'a> {
    pub(crate) index: &'a CatalogIndex,
    /// Taken out while a row is validated (so no reference count is touched per row).
    plan: Option<Arc<ColumnPlan>>,
    origin: Origin,
    dates: DateOptions,
    decimal: Option<Decimal>,
    time_format: TimeFormat,
    /// Value-cell texts that mean "no value" (lowercased), and how many cells held one, with
    /// the first (row, column, text).
    empty_values: Arc<Vec<String>>,
    empty_hits: (u64, Option<(u64, usize, String)>),
    /// The mapping's `[aliases]`, folded for look-ups.
    aliases: Arc<Aliases>,
    /// The first row `skip_rows_where` skipped: (row, column, text).
    first_skipped: Option<(u64, usize, String)>,
    /// Per KPI (by index, grown as needed): the first value cell with a percent sign (row,
    /// column, text), for [`Validator::finish`] to check that no KPI mixes scales.
    first_percent: Vec<Option<(u64, usize, String)>>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) findings: Findings,
    pending_dates: Vec<PendingDate>,
    pending_numbers: Vec<PendingNumber>,
    day_first_seen: Option<(u64, String)>,
    month_first_seen: Option<(u64, String)>,
    comma_seen: Option<(u64, String)>,
    point_seen: Option<(u64, String)>,
    kpi_cache: FxHashMap<String, Result<u32, Problem>>,
    team_cache: FxHashMap<String, Result<u32, Problem>>,
    /// Semi-wide: (KPI, index into the layout's value columns) -> slot.
    slot_cache: FxHashMap<(u32, usize), Result<u16, Problem>>,
    /// Long: KPI -> value name -> slot.
    long_slots: FxHashMap<u32, FxHashMap<String, Result<u16, Problem>>>,
    /// A per-row buffer, kept to spare allocations: (KPI, slot or why none, forecast, column)
    /// per value cell of the row.
    wanted: Vec<(u32, Slot, bool, usize)>,
    /// Per KPI (by index): the row it was last checked in (a count of rows) and the sub-tile
    /// found then. A wide row checks fifty KPIs: a list searched per value cost a fifth of
    /// the row's time.
    checked_kpis: Vec<(u32, u16)>,
    /// Rows begun, the stamp in `checked_kpis` (never 0).
    row_stamp: u32,
    sub_cache: FxHashMap<u32, FxHashMap<String, Result<u16, Problem>>>,
    /// Wide layout: each column's KPI, resolved once.
    wide_kpis: Vec<(usize, u32, u16, bool)>,
    /// The team and KPI names seen and what they resolved to: exports repeat them.
    memo: [KnownNames; 2],
    /// Constants resolved once.
    const_kpi: Option<u32>,
    const_team: Option<u32>,
    /// Whether any entry belongs to a WEEK or MONTH KPI (else dates need no snapping).
    snap_needed: bool,
    /// The last date cell's text that parsed to a plain date, and that date.
    last_date: (String, NaiveDate),
}

impl<'a> Validator<'a> {
    /// Checks the mapping's constants and wide-layout KPIs against the catalog once.
    pub(crate) fn new(
        index: &'a CatalogIndex,
        plan: Arc<ColumnPlan>,
        origin: Origin,
        mapping: &Mapping,
    ) -> Result<Validator<'a>, Problem> {
        let aliases = &mapping.aliases;
        // Every alias must stand for a name the catalog has.
        for (alias, name) in &aliases.team {
            index.find_team(name).map_err(|p| Problem {
                message: format!("[aliases] team {alias:?}: {}", p.message),
                ..p
            })?;
        }
        for (alias, name) in &aliases.kpi {
            index.find_kpi(name).map_err(|p| Problem {
                message: format!("[aliases] kpi {alias:?}: {}", p.message),
                ..p
            })?;
        }
        let const_kpi = match &plan.kpi {
            Some(Field::Const(k)) => Some(index.find_kpi(k)?),
            _ => None,
        };
        let const_team = match &plan.team {
            Field::Const(t) => Some(index.find_team(t)?),
            _ => None,
        };
        let mut wide_kpis = Vec::new();
        if let Layout::Wide { kpis } = &plan.layout {
            for (col, kpi, target) in kpis {
                let k = index.find_kpi(kpi)?;
                let slot = index.find_value(k, &target.name)?;
                wide_kpis.push((*col, k, slot, target.forecast));
            }
        }
        Ok(Validator {
            plan: Some(plan),
            origin,
            dates: mapping.date_options(),
            decimal: mapping.decimal(),
            time_format: mapping.time_format(),
            empty_values: Arc::new(mapping.empty_values()),
            aliases: Arc::new(aliases.folded()),
            wide_kpis,
            const_kpi,
            const_team,
            ..Validator::blank(index)
        })
    }

    /// A validator with no settings and nothing seen.
    fn blank(index: &'a CatalogIndex) -> Validator<'a> {
        Validator {
            index,
            plan: None,
            origin: Origin::default(),
            dates: DateOptions::default(),
            decimal: None,
            time_format: TimeFormat::default(),
            empty_values: Arc::new(Vec::new()),
            empty_hits: (0, None),
            first_skipped: None,
            aliases: Arc::new(Aliases::default()),
            first_percent: Vec::new(),
            entries: Vec::new(),
            findings: Findings::default(),
            pending_dates: Vec::new(),
            pending_numbers: Vec::new(),
            day_first_seen: None,
            month_first_seen: None,
            comma_seen: None,
            point_seen: None,
            kpi_cache: FxHashMap::default(),
            team_cache: FxHashMap::default(),
            slot_cache: FxHashMap::default(),
            long_slots: FxHashMap::default(),
            wanted: Vec::new(),
            checked_kpis: Vec::new(),
            row_stamp: 0,
            sub_cache: FxHashMap::default(),
            wide_kpis: Vec::new(),
            memo: Default::default(),
            const_kpi: None,
            const_team: None,
            snap_needed: false,
            last_date: (String::new(), NaiveDate::MIN),
        }
    }

    /// A validator with the same settings and nothing seen yet (for another thread).
    pub(crate) fn fork(&self) -> Validator<'a> {
        Validator {
            plan: self.plan.clone(),
            origin: self.origin.clone(),
            dates: self.dates.clone(),
            decimal: self.decimal,
            time_format: self.time_format.clone(),
            empty_values: self.empty_values.clone(),
            aliases: self.aliases.clone(),
            wide_kpis: self.wide_kpis.clone(),
            const_kpi: self.const_kpi,
            const_team: self.const_team,
            ..Validator::blank(self.index)
        }
    }

    /// Appends what a fork saw on the rows after this one's: the result is what one validator
    /// reading all the rows in order would have. Gives back the fork's entry buffer, emptied,
    /// for another fork ([`Validator::reuse`]).
    pub(crate) fn append(&mut self, mut other: Validator<'a>) -> Vec<Entry> {
        let base = self.entries.len();
        self.entries.extend_from_slice(&other.entries);
        let mut spent = std::mem::take(&mut other.entries);
        spent.clear();
        for mut p in other.pending_dates {
            p.entries = p.entries.start + base..p.entries.end + base;
            self.pending_dates.push(p);
        }
        for mut p in other.pending_numbers {
            p.entry += base;
            self.pending_numbers.push(p);
        }
        self.findings.append(other.findings);
        self.snap_needed |= other.snap_needed;
        self.empty_hits.0 += other.empty_hits.0;
        if self.first_skipped.is_none() {
            self.first_skipped = other.first_skipped;
        }
        if self.empty_hits.1.is_none() {
            self.empty_hits.1 = other.empty_hits.1;
        }
        if self.first_percent.len() < other.first_percent.len() {
            self.first_percent.resize(other.first_percent.len(), None);
        }
        for (mine, theirs) in self.first_percent.iter_mut().zip(other.first_percent) {
            if mine.is_none() {
                *mine = theirs;
            }
        }
        for (mine, theirs) in [
            (&mut self.day_first_seen, other.day_first_seen),
            (&mut self.month_first_seen, other.month_first_seen),
            (&mut self.comma_seen, other.comma_seen),
            (&mut self.point_seen, other.point_seen),
        ] {
            if mine.is_none() {
                *mine = theirs;
            }
        }
        spent
    }

    /// Takes `buffer` (empty) to hold its entries: a buffer a fork filled before, whose pages
    /// are in memory already. A block's entries are copied into the whole file's once its
    /// turn comes, so each fork's buffer is spent after its block; a new one each time made
    /// the kernel map fresh pages for every block: 6,000 of the 50-column wide export's
    /// 37,000 page faults (docs/PERFORMANCE.md, "Buffers used again").
    pub(crate) fn reuse(&mut self, buffer: Vec<Entry>) {
        debug_assert!(buffer.is_empty());
        if buffer.capacity() > self.entries.capacity() {
            self.entries = buffer;
        }
    }

    /// Makes room for `n` more values.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    fn context(&self, row: &Row<'_>, col: Option<usize>) -> Option<crate::diag::Context> {
        let sep = match self.origin.delimiter {
            Some(d) => d.to_string(),
            None => " │ ".to_string(),
        };
        let mut text = String::new();
        let mut span = None;
        let n = row.len().max(self.origin.columns.len());
        for i in 0..n {
            if i > 0 {
                text.push_str(&sep);
            }
            let start = text.len();
            let shown = crate::diag::shown_cell(&row.cell(i).display());
            let shown = if self.origin.delimiter.is_some() && shown.contains(sep.as_str()) {
                format!("\"{shown}\"")
            } else {
                shown
            };
            text.push_str(&shown);
            if Some(i) == col {
                span = Some((start, (text.len() - start).max(1)));
            }
            if text.len() > 400 {
                break;
            }
        }
        Some(crate::diag::Context {
            text,
            span: span.unwrap_or((0, 0)),
            rendered: self.origin.delimiter.is_none(),
        })
    }

    pub(super) fn diag(
        &mut self,
        row: &Row<'_>,
        col: Option<usize>,
        severity: Severity,
        p: &Problem,
    ) {
        let location = self.origin.location(row.number, row.byte, col);
        let context = if self.findings.diags.wants_context(p.code, location.column) {
            self.context(row, col)
        } else {
            None
        };
        self.findings.diags.push(Diagnostic {
            code: p.code,
            severity,
            location,
            message: p.message.clone(),
            help: p.help.clone(),
            context,
        });
    }

    /// Settles what single cells could not (slash dates, ambiguous numbers), moves dates onto
    /// their record date and drops the entries of rejected rows.
    pub(crate) fn finish(mut self) -> Validated {
        self.settle_dates();
        self.settle_numbers();
        self.settle_percents();
        self.note_empty_values();
        self.note_skipped();
        self.snap_dates();
        self.drop_rejected();
        Validated {
            entries: self.entries,
            findings: self.findings,
            origin: self.origin,
        }
    }

    fn snap_dates(&mut self) {
        if !self.snap_needed {
            return;
        }
        let mut noted: Option<(u64, u32)> = None;
        let mut snapped = Vec::new();
        for e in &mut self.entries {
            let interval = self.index.interval(e.kpi);
            if interval == Interval::Day {
                continue;
            }
            let s = interval.snap(e.date);
            if s != e.date {
                if noted != Some((e.row(), e.kpi)) {
                    snapped.push((e.row(), e.kpi, e.date, s, interval));
                    noted = Some((e.row(), e.kpi));
                }
                e.date = s;
            }
        }
        for (row, kpi, from, to, interval) in snapped {
            let name = self.index.kpi(kpi).name.clone();
            let column = match self.plan.as_ref().map(|p| &p.date) {
                Some(Field::Column(c)) => Some(*c),
                _ => None,
            };
            let location = self.origin.location(row, None, column);
            self.findings.diags.push(Diagnostic {
                code: "vsimport::date::snapped",
                severity: Severity::Info,
                location,
                message: format!(
                    "KPI {name:?} is recorded {}: {from} is filed under {to}",
                    if interval == Interval::Week {
                        "weekly (on Mondays)"
                    } else {
                        "monthly (on the 1st)"
                    }
                ),
                help: None,
                context: None,
            });
        }
    }

    /// One note for the rows `skip_rows_where` skipped.
    fn note_skipped(&mut self) {
        let Some((row, col, text)) = self.first_skipped.clone() else {
            return;
        };
        let n = self.findings.stats.rows_skipped;
        let location = self.origin.location(row, None, Some(col));
        self.findings.diags.push(Diagnostic {
            code: "vsimport::row::skipped",
            severity: Severity::Info,
            location,
            message: format!(
                "{} skipped by skip_rows_where, the first with {text:?}",
                crate::report::count(n, "row", "rows")
            ),
            help: None,
            context: None,
        });
    }

    /// One note for the value cells read as "no value" (`-`, `n/a`, `#N/A`, …).
    fn note_empty_values(&mut self) {
        let (n, Some((row, col, text))) = self.empty_hits.clone() else {
            return;
        };
        let location = self.origin.location(row, None, Some(col));
        self.findings.diags.push(Diagnostic {
            code: "vsimport::row::empty_value",
            severity: Severity::Info,
            location,
            message: format!(
                "{} read as no value, the first {text:?}",
                crate::report::count(n, "value cell", "value cells")
            ),
            help: Some(
                "[source] empty_values lists the texts that mean no value (default: - – — n/a #N/A k.A.); the other values of those rows are used".into(),
            ),
            context: None,
        });
    }

    fn drop_rejected(&mut self) {
        if self.findings.rejected.is_empty() {
            return;
        }
        let rejected = &self.findings.rejected;
        self.entries.retain(|e| !rejected.contains(e.row()));
    }
}

/// The entry buffers of blocks appended already, for the next blocks' forks
/// ([`Validator::reuse`]).
#[derive(Default)]
pub(crate) struct SpentBuffers(std::sync::Mutex<Vec<Vec<Entry>>>);

impl SpentBuffers {
    /// A fork of `template` holding a spent buffer, or else room for `room` values.
    pub(crate) fn fork<'a>(&self, template: &Validator<'a>, room: usize) -> Validator<'a> {
        let mut v = template.fork();
        match self.0.lock().ok().and_then(|mut s| s.pop()) {
            Some(buffer) => v.reuse(buffer),
            None => v.reserve(room),
        }
        v
    }

    /// Appends `part` to `whole` ([`Validator::append`]) and keeps its buffer.
    pub(crate) fn append<'a>(&self, whole: &mut Validator<'a>, part: Validator<'a>) {
        let buffer = whole.append(part);
        if let Ok(mut s) = self.0.lock() {
            s.push(buffer);
        }
    }
}

/// The result of validating a file: its entries in file order, and what was found.
pub(crate) struct Validated {
    pub(crate) entries: Vec<Entry>,
    pub(crate) findings: Findings,
    /// Where the rows came from (for the next stages' locations).
    pub(crate) origin: Origin,
}
