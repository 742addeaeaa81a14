//! Validate stage: every row of the read stage, through the mapping, becomes values planned
//! for records — or a rejected row with a diagnostic for each bad cell.
//!
//! A row is taken whole or not at all: one invalid cell rejects it. Dates, numbers and times
//! are parsed by [`crate::normalize`]; names are looked up in the catalog ([`CatalogIndex`]).
//! What one cell cannot decide (slash dates, `1,234`) is decided for the file in
//! [`Validator::finish`] from the cells that can, or reported — never guessed. Then dates
//! are moved onto their KPI's record date (WEEK: Monday, MONTH: the 1st) and
//! [`crate::dedupe`] merges values of the same record.

pub mod catalog;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::api::Interval;
use crate::diag::{Diagnostic, Location, Severity};
use crate::fxhash::FxHashMap;
use crate::map::{ColumnPlan, Field, Layout, ValueTarget};
use crate::normalize::{
    self, DateOptions, DateParse, DayOrder, Decimal, NumParse, parse_date, parse_number, parse_time,
};
use crate::read::{Cell, Row};
pub use catalog::{CatalogIndex, NO_SUB_TILE, Problem};

/// The last few names a column held and what they resolved to: exports repeat a handful of
/// teams and KPIs row after row, and a look-through of eight short strings is cheaper than a
/// hash look-up.
#[derive(Debug, Default, Clone)]
struct Recent {
    names: [(String, u32); 8],
    next: usize,
}

impl Recent {
    fn get(&self, name: &str) -> Option<u32> {
        if name.is_empty() {
            return None;
        }
        self.names
            .iter()
            .find(|(n, _)| n.len() == name.len() && n == name)
            .map(|(_, id)| *id)
    }

    fn put(&mut self, name: &str, id: u32) {
        let slot = &mut self.names[self.next];
        slot.0.clear();
        slot.0.push_str(name);
        slot.1 = id;
        self.next = (self.next + 1) % self.names.len();
    }
}

/// One value planned for a record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub kpi: u32,
    pub date: NaiveDate,
    pub team: u32,
    pub sub_tile: u16,
    pub slot: u16,
    pub forecast: bool,
    pub value: f64,
    /// The row it came from (1-based file row; files past 4,294,967,295 rows keep that
    /// number for the rest). 32 bits keep an entry at 32 bytes, which the dedupe and plan
    /// passes over millions of entries feel.
    pub row: u32,
}

impl Entry {
    pub fn row(&self) -> u64 {
        u64::from(self.row)
    }
}

impl Entry {
    pub fn record(&self) -> (u32, NaiveDate, u32, u16) {
        (self.kpi, self.date, self.team, self.sub_tile)
    }
}

/// How many diagnostics of one kind (code and column) are kept; all are counted.
pub const KEEP_PER_GROUP: usize = 1000;
/// How many of a group get a rendered source excerpt.
pub const CONTEXT_PER_GROUP: usize = 3;

/// Diagnostics, grouped by code and column so that a wall of errors stays readable.
#[derive(Debug, Default)]
pub struct Diags {
    pub list: Vec<Diagnostic>,
    /// (code, column) -> how many there were.
    pub groups: BTreeMap<(&'static str, Option<u32>), usize>,
}

impl Diags {
    pub fn push(&mut self, d: Diagnostic) {
        let n = self.groups.entry((d.code, d.location.column)).or_default();
        *n += 1;
        if *n <= KEEP_PER_GROUP {
            self.list.push(d);
        }
    }

    fn wants_context(&self, code: &'static str, column: Option<u32>) -> bool {
        self.groups.get(&(code, column)).copied().unwrap_or(0) < CONTEXT_PER_GROUP
    }

    pub fn count(&self, severity: Severity) -> usize {
        // Counted over the groups (dropped ones included), by the severity of their first.
        self.groups
            .iter()
            .filter(|((code, col), _)| {
                self.list
                    .iter()
                    .find(|d| d.code == *code && d.location.column == *col)
                    .is_some_and(|d| d.severity == severity)
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// Counts of a validation run.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Stats {
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_without_values: u64,
    pub duplicates_merged: u64,
    pub conflicts: u64,
}

/// Where the rows come from, for locations.
#[derive(Clone, Default)]
pub struct Origin {
    pub file: Arc<str>,
    pub sheet: Option<Arc<str>>,
    pub first_column: u32,
    pub columns: Vec<String>,
    /// CSV delimiter (for rendering a row) and the file's hint for the decimal separator.
    pub delimiter: Option<char>,
}

struct PendingDate {
    entries: std::ops::Range<usize>,
    a: u32,
    b: u32,
    year: i32,
    row: u64,
    byte: Option<u64>,
    col: Option<usize>,
    text: String,
}

struct PendingNumber {
    entry: usize,
    comma: f64,
    byte: Option<u64>,
    col: usize,
    text: String,
}

/// An ambiguous number: (column, its reading with a decimal comma, its text).
type Ambiguity = Option<(usize, f64, String)>;

/// A value of the row being validated, ready to plan.
struct Resolved {
    kpi: u32,
    sub: u16,
    slot: u16,
    forecast: bool,
    value: f64,
    ambiguous: Ambiguity,
}

/// A name look-up of the validator (team or KPI).
type Lookup<'a> = fn(&mut Validator<'a>, &str) -> Result<u32, Problem>;

/// A problem with one cell of the row being validated.
struct CellProblem {
    col: Option<usize>,
    problem: Problem,
}

/// Validates rows one at a time; [`Validator::finish`] settles the file-level decisions.
pub struct Validator<'a> {
    pub index: &'a CatalogIndex,
    /// Taken out while a row is validated (so no reference count is touched per row).
    plan: Option<Arc<ColumnPlan>>,
    origin: Origin,
    dates: DateOptions,
    decimal: Option<Decimal>,
    pub entries: Vec<Entry>,
    pub diags: Diags,
    /// Rejected rows and why (the first reason of each bad cell).
    pub rejected: BTreeMap<u64, Vec<String>>,
    pub stats: Stats,
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
    /// Per-row buffers, kept to spare allocations: (KPI, slot, forecast, column).
    wanted: Vec<(u32, Result<u16, Problem>, bool, usize)>,
    resolved: Vec<Resolved>,
    checked_kpis: Vec<(u32, u16)>,
    sub_cache: FxHashMap<(u32, String), Result<u16, Problem>>,
    /// Wide layout: each column's KPI, resolved once.
    wide_kpis: Vec<(usize, u32, u16, bool)>,
    /// The last team and KPI name seen and what they resolved to: exports repeat them.
    memo: [Recent; 2],
    /// Constants resolved once.
    const_kpi: Option<u32>,
    const_team: Option<u32>,
    /// Whether any entry belongs to a WEEK or MONTH KPI (else dates need no snapping).
    snap_needed: bool,
    /// The last date cell's text that parsed to a plain date, and that date.
    last_date: (String, NaiveDate),
}

/// Text of a name cell (KPI, team, value slot, sub-tile), borrowed where it can be.
fn name_text<'r>(cell: &Cell<'r>) -> Result<std::borrow::Cow<'r, str>, String> {
    match cell {
        Cell::Text(s) => Ok(std::borrow::Cow::Borrowed(normalize::clean(s))),
        Cell::Int(_) | Cell::Float(_) | Cell::Bool(_) => {
            Ok(std::borrow::Cow::Owned(cell.display()))
        }
        Cell::Empty => Err("the cell is empty".into()),
        Cell::Error(e) => Err(format!("the cell holds the error {e}")),
        Cell::Invalid(_) => Err("the cell's bytes are not text in the file's encoding".into()),
        other => Err(format!("a {} is not a name", other.kind())),
    }
}

/// Which way a day/month text leans, when it does.
fn slash_evidence(text: &str) -> Option<DayOrder> {
    // Runs for every date cell: most are not slash dates, and need no look.
    memchr::memchr(b'/', text.as_bytes())?;
    let s = text.trim();
    let parts: Vec<&str> = s.split(['/', ' ', 'T']).collect();
    if parts.len() < 3 {
        return None;
    }
    let a: u32 = parts[0].parse().ok()?;
    let b: u32 = parts[1].parse().ok()?;
    if a > 12 && b <= 12 {
        Some(DayOrder::DayFirst)
    } else if b > 12 && a <= 12 {
        Some(DayOrder::MonthFirst)
    } else {
        None
    }
}

/// Which decimal separator a number text shows, when it shows one (one pass over the bytes:
/// this runs for every number cell).
fn decimal_evidence(text: &str) -> Option<Decimal> {
    let (mut commas, mut points, mut last_comma, mut last_point) = (0, 0, 0, 0);
    let mut end = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        match b {
            b',' => {
                commas += 1;
                last_comma = i;
            }
            b'.' => {
                points += 1;
                last_point = i;
            }
            b'0'..=b'9' => end = i + 1,
            _ => {}
        }
    }
    match (commas, points) {
        (0, 0) => None,
        (c, p) if c > 0 && p > 0 => Some(if last_comma > last_point {
            Decimal::Comma
        } else {
            Decimal::Point
        }),
        (1, 0) => (end.saturating_sub(last_comma + 1) != 3).then_some(Decimal::Comma),
        (0, 1) => (end.saturating_sub(last_point + 1) != 3).then_some(Decimal::Point),
        _ => None,
    }
}

impl<'a> Validator<'a> {
    /// Checks the mapping's constants and wide-layout KPIs against the catalog once.
    pub fn new(
        index: &'a CatalogIndex,
        plan: Arc<ColumnPlan>,
        origin: Origin,
        dates: DateOptions,
        decimal: Option<Decimal>,
    ) -> Result<Validator<'a>, Problem> {
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
            dates,
            decimal,
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
            entries: Vec::new(),
            diags: Diags::default(),
            rejected: BTreeMap::new(),
            stats: Stats::default(),
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
            resolved: Vec::new(),
            checked_kpis: Vec::new(),
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
    pub fn fork(&self) -> Validator<'a> {
        Validator {
            plan: self.plan.clone(),
            origin: self.origin.clone(),
            dates: self.dates.clone(),
            decimal: self.decimal,
            wide_kpis: self.wide_kpis.clone(),
            const_kpi: self.const_kpi,
            const_team: self.const_team,
            ..Validator::blank(self.index)
        }
    }

    /// Appends what a fork saw on the rows after this one's: the result is what one validator
    /// reading all the rows in order would have.
    pub fn append(&mut self, other: Validator<'a>) {
        let base = self.entries.len();
        self.entries.extend_from_slice(&other.entries);
        for mut p in other.pending_dates {
            p.entries = p.entries.start + base..p.entries.end + base;
            self.pending_dates.push(p);
        }
        for mut p in other.pending_numbers {
            p.entry += base;
            self.pending_numbers.push(p);
        }
        for d in other.diags.list {
            let n = self
                .diags
                .groups
                .get(&(d.code, d.location.column))
                .copied()
                .unwrap_or(0);
            if n < KEEP_PER_GROUP {
                self.diags.list.push(d);
            }
        }
        for (k, n) in other.diags.groups {
            *self.diags.groups.entry(k).or_default() += n;
        }
        self.rejected.extend(other.rejected);
        self.snap_needed |= other.snap_needed;
        self.stats.rows_read += other.stats.rows_read;
        self.stats.rows_rejected += other.stats.rows_rejected;
        self.stats.rows_without_values += other.stats.rows_without_values;
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
    }

    /// Touches the memory for up to `n` more values, a megabyte at a time until `stop` says
    /// so, so that appending another validator's values later copies into pages that exist
    /// (a thread that finished early does this while the other still reads).
    pub fn prefault(&mut self, n: usize, stop: impl Fn() -> bool) {
        let blank = std::mem::MaybeUninit::new(Entry {
            kpi: 0,
            date: NaiveDate::MIN,
            team: 0,
            sub_tile: 0,
            slot: 0,
            forecast: false,
            value: 0.0,
            row: 0,
        });
        let spare = self.entries.spare_capacity_mut();
        let n = n.min(spare.len());
        for chunk in spare[..n].chunks_mut(1 << 15) {
            if stop() {
                break;
            }
            chunk.fill(blank);
        }
    }

    /// Makes room for `n` more values.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    fn location(&self, row: u64, byte: Option<u64>, col: Option<usize>) -> Location {
        Location {
            file: self.origin.file.clone(),
            sheet: self.origin.sheet.clone(),
            row,
            column: col.map(|c| self.origin.first_column + c as u32),
            byte,
        }
    }

    /// A rendered row for the report: cells joined as in the file, and the span of `col`.
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
            let shown = row.cell(i).display();
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

    fn diag(&mut self, row: &Row<'_>, col: Option<usize>, severity: Severity, p: &Problem) {
        let location = self.location(row.number, row.byte, col);
        let context = if self.diags.wants_context(p.code, location.column) {
            self.context(row, col)
        } else {
            None
        };
        self.diags.push(Diagnostic {
            code: p.code,
            severity,
            location,
            message: p.message.clone(),
            help: p.help.clone(),
            context,
        });
    }

    fn cell<'r>(&self, row: &Row<'r>, f: &Field) -> (Cell<'r>, Option<usize>, Option<String>) {
        match f {
            Field::Column(i) => (row.cell(*i), Some(*i), None),
            Field::Const(v) => (Cell::Empty, None, Some(v.clone())),
        }
    }

    fn column_name(&self, col: Option<usize>) -> String {
        col.and_then(|c| self.origin.columns.get(c))
            .map(|n| format!("column {n:?}"))
            .unwrap_or_else(|| "the mapping's constant".into())
    }

    fn kpi_of(&mut self, name: &str) -> Result<u32, Problem> {
        if let Some(r) = self.kpi_cache.get(name) {
            return r.clone();
        }
        let r = self.index.find_kpi(name);
        self.kpi_cache.insert(name.to_string(), r.clone());
        r
    }

    fn team_of(&mut self, name: &str) -> Result<u32, Problem> {
        if let Some(r) = self.team_cache.get(name) {
            return r.clone();
        }
        let r = self.index.find_team(name);
        self.team_cache.insert(name.to_string(), r.clone());
        r
    }

    fn slot_of(&mut self, kpi: u32, index: usize, target: &ValueTarget) -> Result<u16, Problem> {
        if let Some(r) = self.slot_cache.get(&(kpi, index)) {
            return r.clone();
        }
        let r = self.index.find_value(kpi, &target.name);
        self.slot_cache.insert((kpi, index), r.clone());
        r
    }

    fn long_slot_of(&mut self, kpi: u32, name: &str) -> Result<u16, Problem> {
        if let Some(r) = self.long_slots.get(&kpi).and_then(|m| m.get(name)) {
            return r.clone();
        }
        let r = self.index.find_value(kpi, name);
        self.long_slots
            .entry(kpi)
            .or_default()
            .insert(name.to_string(), r.clone());
        r
    }

    fn sub_tile_of(&mut self, kpi: u32, name: &str) -> Result<u16, Problem> {
        let key = (kpi, name.to_string());
        if let Some(r) = self.sub_cache.get(&key) {
            return r.clone();
        }
        let r = self.index.find_sub_tile(kpi, name);
        self.sub_cache.insert(key, r.clone());
        r
    }

    /// Looks the name in `field`'s cell up with `lookup` (remembering the last one in
    /// `memo` slot 0 or 1); a problem is noted when that fails.
    fn named(
        &mut self,
        row: &Row<'_>,
        field: &Field,
        what: &str,
        problems: &mut Vec<CellProblem>,
        (memo, lookup): (usize, Lookup<'a>),
    ) -> Option<u32> {
        let (c, col, _) = self.cell(row, field);
        let text = name_text(&c);
        if let Ok(n) = &text
            && let Some(id) = self.memo[memo].get(n)
        {
            return Some(id);
        }
        match text {
            Ok(n) => match lookup(self, &n) {
                Ok(id) => {
                    self.memo[memo].put(&n, id);
                    Some(id)
                }
                Err(p) => {
                    problems.push(CellProblem { col, problem: p });
                    None
                }
            },
            Err(e) => {
                problems.push(self.name_problem(col, what, e));
                None
            }
        }
    }

    fn name_problem(&self, col: Option<usize>, what: &str, err: String) -> CellProblem {
        CellProblem {
            col,
            problem: Problem {
                code: "vsimport::row::missing_name",
                message: format!("{what}: {err} ({})", self.column_name(col)),
                help: Some(format!(
                    "every row needs a {what}; fill the cell or map a constant"
                )),
            },
        }
    }

    /// Validates one row: its values are planned, or the row is rejected with reasons.
    pub fn row(&mut self, row: &Row<'_>) {
        let Some(plan) = self.plan.take() else {
            return;
        };
        self.row_with(&plan, row);
        self.plan = Some(plan);
    }

    fn row_with(&mut self, plan: &ColumnPlan, row: &Row<'_>) {
        self.stats.rows_read += 1;
        let mut problems: Vec<CellProblem> = Vec::new();
        let first_entry = self.entries.len();

        // Date.
        let (date_cell, date_col, date_const) = self.cell(row, &plan.date);
        // Exports repeat a date on many rows in a row: the last plain date text is remembered.
        let repeated = match (&date_const, &date_cell) {
            (None, Cell::Text(t)) if *t == self.last_date.0 => Some(self.last_date.1),
            _ => None,
        };
        let parsed = match (&date_const, repeated) {
            (_, Some(d)) => Ok(DateParse::Date {
                date: d,
                had_time: false,
            }),
            (Some(c), None) => normalize::parse_date_text(c, &self.dates),
            (None, None) => parse_date(&date_cell, &self.dates),
        };
        if repeated.is_none()
            && date_const.is_none()
            && let (
                Cell::Text(t),
                Ok(DateParse::Date {
                    date: d,
                    had_time: false,
                }),
            ) = (&date_cell, &parsed)
        {
            self.last_date.0.clear();
            self.last_date.0.push_str(t);
            self.last_date.1 = *d;
        }
        let mut date = NaiveDate::MIN;
        let mut pending: Option<(u32, u32, i32, String)> = None;
        match parsed {
            Ok(DateParse::Date { date: d, had_time }) => {
                date = d;
                if had_time {
                    let p = Problem {
                        code: "vsimport::date::time_dropped",
                        message: format!(
                            "{} has a time of day; only the date {d} is used",
                            date_cell.display()
                        ),
                        help: Some("records are per day: the time part is dropped".into()),
                    };
                    self.diag(row, date_col, Severity::Warning, &p);
                }
                if self.dates.order.is_none()
                    && self.dates.format.is_none()
                    && let Cell::Text(t) = date_cell
                {
                    match slash_evidence(t) {
                        Some(DayOrder::DayFirst) if self.day_first_seen.is_none() => {
                            self.day_first_seen = Some((row.number, t.to_string()))
                        }
                        Some(DayOrder::MonthFirst) if self.month_first_seen.is_none() => {
                            self.month_first_seen = Some((row.number, t.to_string()))
                        }
                        _ => {}
                    }
                }
            }
            Ok(DateParse::Slash { a, b, year }) => {
                pending = Some((a, b, year, date_cell.display()));
            }
            Err(e) => problems.push(CellProblem {
                col: date_col,
                problem: Problem {
                    code: "vsimport::date::invalid",
                    message: format!("{e} ({})", self.column_name(date_col)),
                    help: Some(
                        "write dates as 2025-01-31, 31.01.2025 or 31/01/2025, or set date_format in [source] (e.g. \"%d.%m.%Y\")"
                            .into(),
                    ),
                },
            }),
        }

        // Team.
        let team = match self.const_team {
            Some(t) => Some(t),
            None => self.named(row, &plan.team, "team", &mut problems, (0, Self::team_of)),
        };

        // KPI(s) and values: (KPI, slot, forecast, column).
        let mut wanted = std::mem::take(&mut self.wanted);
        wanted.clear();
        let row_kpi = match (&plan.kpi, self.const_kpi) {
            (_, Some(k)) => Some(k),
            (Some(f), None) => self.named(row, f, "KPI", &mut problems, (1, Self::kpi_of)),
            (None, None) => None,
        };
        match &plan.layout {
            Layout::Long { value_name, amount } => {
                if let Some(k) = row_kpi {
                    let (c, col, constant) = self.cell(row, value_name);
                    let name = match constant {
                        Some(v) => Ok(std::borrow::Cow::Owned(v)),
                        None => name_text(&c),
                    };
                    match name {
                        Ok(n) => {
                            let slot = self.long_slot_of(k, &n);
                            wanted.push((k, slot, false, *amount));
                        }
                        Err(e) => problems.push(self.name_problem(col, "value name", e)),
                    }
                }
            }
            Layout::SemiWide { values } => {
                if let Some(k) = row_kpi {
                    for (i, (col, target)) in values.iter().enumerate() {
                        if row.cell_is_empty(*col) {
                            continue;
                        }
                        let slot = self.slot_of(k, i, target);
                        wanted.push((k, slot, target.forecast, *col));
                    }
                }
            }
            Layout::Wide { .. } => {
                for &(col, k, slot, forecast) in &self.wide_kpis {
                    wanted.push((k, Ok(slot), forecast, col));
                }
            }
        }

        // Sub-tile, per KPI.
        let sub_field = &plan.sub_tile;
        let mut resolved = std::mem::take(&mut self.resolved);
        resolved.clear();
        let mut checked_kpis = std::mem::take(&mut self.checked_kpis);
        checked_kpis.clear();
        for (k, slot, forecast, col) in wanted.drain(..) {
            let cell = row.cell(col);
            if cell.is_empty() {
                continue; // empty means "no value", not 0
            }
            let sub = match checked_kpis.iter().find(|(x, _)| *x == k) {
                Some((_, s)) => *s,
                None => {
                    let kpi = self.index.kpi(k);
                    let has_tiles = !kpi.sub_tiles.is_empty();
                    let s = match &sub_field {
                        None if has_tiles => {
                            problems.push(CellProblem {
                                col: None,
                                problem: Problem {
                                    code: "vsimport::catalog::sub_tile_missing",
                                    message: format!("KPI {:?} has sub-tiles, and the row names none", kpi.name),
                                    help: Some(format!(
                                        "map a sub_tile column (or constant); the sub-tiles are: {}",
                                        kpi.sub_tiles.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                                    )),
                                },
                            });
                            NO_SUB_TILE
                        }
                        None => NO_SUB_TILE,
                        Some(f) => {
                            let (c, scol, constant) = self.cell(row, f);
                            let text = match constant {
                                Some(v) => Ok(std::borrow::Cow::Owned(v)),
                                None => name_text(&c),
                            };
                            match text {
                                Ok(n) => match self.sub_tile_of(k, &n) {
                                    Ok(s) => s,
                                    Err(p) => {
                                        problems.push(CellProblem {
                                            col: scol,
                                            problem: p,
                                        });
                                        NO_SUB_TILE
                                    }
                                },
                                Err(_) if !has_tiles => NO_SUB_TILE,
                                Err(e) => {
                                    problems.push(self.name_problem(scol, "sub-tile", e));
                                    NO_SUB_TILE
                                }
                            }
                        }
                    };
                    checked_kpis.push((k, s));
                    if let Some(t) = team
                        && let Err(p) = self.index.check_recording(k, t)
                    {
                        let col = match &plan.team {
                            Field::Column(c) => Some(*c),
                            Field::Const(_) => None,
                        };
                        problems.push(CellProblem { col, problem: p });
                    }
                    s
                }
            };
            let slot = match slot {
                Ok(s) => s,
                Err(p) => {
                    problems.push(CellProblem {
                        col: Some(col),
                        problem: p,
                    });
                    continue;
                }
            };
            match self.value(k, &cell, col, row) {
                Ok((value, ambiguous)) => resolved.push(Resolved {
                    kpi: k,
                    sub,
                    slot,
                    forecast,
                    value,
                    ambiguous,
                }),
                Err(p) => problems.push(CellProblem {
                    col: Some(col),
                    problem: p,
                }),
            }
        }

        self.wanted = wanted;
        self.checked_kpis = checked_kpis;
        if !problems.is_empty() {
            self.resolved = resolved;
            self.reject(row, problems);
            return;
        }
        let Some(team) = team else {
            self.resolved = resolved;
            return;
        };
        if resolved.is_empty() {
            self.resolved = resolved;
            self.stats.rows_without_values += 1;
            let p = Problem {
                code: "vsimport::row::no_values",
                message: "the row has no values: nothing is planned from it".into(),
                help: Some("empty cells mean \"no value\"; write 0 where 0 is meant".into()),
            };
            self.diag(row, None, Severity::Warning, &p);
            return;
        }
        for Resolved {
            kpi: k,
            sub,
            slot,
            forecast,
            value,
            ambiguous,
        } in resolved.drain(..)
        {
            if let Some((col, comma, text)) = ambiguous {
                self.pending_numbers.push(PendingNumber {
                    entry: self.entries.len(),
                    comma,
                    byte: row.byte,
                    col,
                    text,
                });
            }
            self.snap_needed |= self.index.snaps[k as usize];
            self.entries.push(Entry {
                kpi: k,
                date,
                team,
                sub_tile: sub,
                slot,
                forecast,
                value,
                row: u32::try_from(row.number).unwrap_or(u32::MAX),
            });
        }
        self.resolved = resolved;
        if let Some((a, b, year, text)) = pending {
            self.pending_dates.push(PendingDate {
                entries: first_entry..self.entries.len(),
                a,
                b,
                year,
                row: row.number,
                byte: row.byte,
                col: date_col,
                text,
            });
        }
    }

    /// Parses and checks one value cell for KPI `k`. The second part is set when the number
    /// is ambiguous.
    fn value(
        &mut self,
        k: u32,
        cell: &Cell<'_>,
        col: usize,
        row: &Row<'_>,
    ) -> Result<(f64, Ambiguity), Problem> {
        let kpi = self.index.kpi(k);
        if self.index.time[k as usize] {
            let m = parse_time(cell).map_err(|e| Problem {
                code: "vsimport::time::invalid",
                message: format!("KPI {:?} has unit Time: {e}", kpi.name),
                help: Some(
                    "write times of day as 14:43 or 2:43 PM, or minutes since midnight (0 to 1439)"
                        .into(),
                ),
            })?;
            if m.dropped_seconds {
                let p = Problem {
                    code: "vsimport::time::seconds_dropped",
                    message: format!(
                        "{} has seconds; Time KPIs take whole minutes",
                        cell.display()
                    ),
                    help: Some("the seconds are dropped".into()),
                };
                self.diag(row, Some(col), Severity::Warning, &p);
            }
            return Ok((f64::from(m.minutes), None));
        }
        let parsed = parse_number(cell, self.decimal).map_err(|e| Problem {
            code: "vsimport::number::invalid",
            message: format!("{e} (KPI {:?})", kpi.name),
            help: Some(match self.decimal {
                Some(_) => "check the decimal setting in [source]".to_string(),
                None => {
                    "write numbers as 85.5 or 85,5; set decimal in [source] if the file mixes them"
                        .to_string()
                }
            }),
        })?;
        if let Cell::Text(t) = cell {
            if self.decimal.is_none() {
                match decimal_evidence(t) {
                    Some(Decimal::Comma) if self.comma_seen.is_none() => {
                        self.comma_seen = Some((row.number, t.to_string()))
                    }
                    Some(Decimal::Point) if self.point_seen.is_none() => {
                        self.point_seen = Some((row.number, t.to_string()))
                    }
                    _ => {}
                }
            }
            if !self.index.percent[k as usize] && t.trim_end().ends_with('%') {
                let p = Problem {
                    code: "vsimport::number::percent",
                    message: format!(
                        "{:?} has a percent sign, but KPI {:?} is measured in {}",
                        t.trim(),
                        kpi.name,
                        kpi.unit.as_deref().unwrap_or("no unit")
                    ),
                    help: Some("the number is used without the sign".into()),
                };
                self.diag(row, Some(col), Severity::Warning, &p);
            }
        }
        match parsed {
            NumParse::Number(v) => {
                check_integer(kpi, v)?;
                Ok((v, None))
            }
            NumParse::Ambiguous { point, comma } => Ok((point, Some((col, comma, cell.display())))),
        }
    }

    fn reject(&mut self, row: &Row<'_>, problems: Vec<CellProblem>) {
        self.stats.rows_rejected += 1;
        let mut reasons = Vec::new();
        for p in problems {
            reasons.push(p.problem.message.clone());
            self.diag(row, p.col, Severity::Error, &p.problem);
        }
        self.rejected.insert(row.number, reasons);
    }

    fn reject_late(&mut self, row: u64, location: Location, p: Problem) {
        if !self.rejected.contains_key(&row) {
            self.stats.rows_rejected += 1;
        }
        self.rejected
            .entry(row)
            .or_default()
            .push(p.message.clone());
        self.diags.push(Diagnostic {
            code: p.code,
            severity: Severity::Error,
            location,
            message: p.message,
            help: p.help,
            context: None,
        });
    }

    /// Settles what single cells could not (slash dates, ambiguous numbers), moves dates onto
    /// their record date, and merges values of the same record. `csv_delimiter` is the file's
    /// hint for the decimal separator when nothing else tells.
    pub fn finish(mut self, on_conflict: crate::dedupe::OnConflict) -> Validated<'a> {
        self.settle_dates();
        self.settle_numbers();
        self.snap_dates();
        self.drop_rejected();
        let outcome = crate::dedupe::merge(
            std::mem::take(&mut self.entries),
            on_conflict,
            self.index,
            &self.origin,
        );
        for (row, loc, p) in outcome.rejected {
            self.reject_late(row, loc, p);
        }
        for d in outcome.diags {
            self.diags.push(d);
        }
        self.stats.duplicates_merged = outcome.merged;
        self.stats.conflicts = outcome.conflicts;
        self.entries = outcome.entries;
        let records = outcome.records;
        self.warn_missing_targets(&records);
        Validated {
            index: self.index,
            entries: self.entries,
            records,
            diags: self.diags,
            rejected: self.rejected,
            stats: self.stats,
        }
    }

    fn settle_dates(&mut self) {
        if self.pending_dates.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_dates);
        let order = match (&self.day_first_seen, &self.month_first_seen) {
            (Some((r, t)), None) => Some((DayOrder::DayFirst, *r, t.clone())),
            (None, Some((r, t))) => Some((DayOrder::MonthFirst, *r, t.clone())),
            _ => None,
        };
        let both = self.day_first_seen.is_some() && self.month_first_seen.is_some();
        if let Some((o, r, t)) = &order {
            let first = &pending[0];
            self.diags.push(Diagnostic {
                code: "vsimport::date::order_detected",
                severity: Severity::Info,
                location: self.location(first.row, first.byte, first.col),
                message: format!(
                    "dates like {:?} are read {} because row {r} has {t:?}",
                    first.text,
                    if *o == DayOrder::DayFirst {
                        "day first (dd/mm/yyyy)"
                    } else {
                        "month first (mm/dd/yyyy)"
                    },
                ),
                help: Some("set dayfirst in [source] to say so explicitly".into()),
                context: None,
            });
        }
        for p in pending {
            let date = match &order {
                Some((DayOrder::DayFirst, ..)) => NaiveDate::from_ymd_opt(p.year, p.b, p.a),
                Some((DayOrder::MonthFirst, ..)) => NaiveDate::from_ymd_opt(p.year, p.a, p.b),
                None => None,
            };
            match date {
                Some(d) => {
                    for e in &mut self.entries[p.entries.clone()] {
                        e.date = d;
                    }
                }
                None => {
                    let loc = self.location(p.row, p.byte, p.col);
                    let problem = if both {
                        Problem {
                            code: "vsimport::date::inconsistent",
                            message: format!(
                                "{:?} could be either way, and the file has dates both ways ({:?} in row {}, {:?} in row {})",
                                p.text,
                                self.day_first_seen.as_ref().map(|x| x.1.as_str()).unwrap_or(""),
                                self.day_first_seen.as_ref().map(|x| x.0).unwrap_or(0),
                                self.month_first_seen.as_ref().map(|x| x.1.as_str()).unwrap_or(""),
                                self.month_first_seen.as_ref().map(|x| x.0).unwrap_or(0),
                            ),
                            help: Some("fix the export so all dates use one order, or set date_format in [source]".into()),
                        }
                    } else {
                        Problem {
                            code: "vsimport::date::ambiguous",
                            message: format!(
                                "{:?} is the {} of {} or the {} of {}: no date in the file tells which",
                                p.text,
                                ordinal(p.a),
                                month(p.b),
                                ordinal(p.b),
                                month(p.a)
                            ),
                            help: Some("set dayfirst = true (31/12/2025) or dayfirst = false (12/31/2025) in the mapping's [source] section".into()),
                        }
                    };
                    self.reject_late(p.row, loc, problem);
                }
            }
        }
    }

    fn settle_numbers(&mut self) {
        if self.pending_numbers.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_numbers);
        let (decimal, why) = match (&self.comma_seen, &self.point_seen) {
            (Some((r, t)), None) => (Decimal::Comma, format!("row {r} has {t:?}")),
            (None, Some((r, t))) => (Decimal::Point, format!("row {r} has {t:?}")),
            _ => {
                let hint = if self.origin.delimiter == Some(';') {
                    Decimal::Comma
                } else {
                    Decimal::Point
                };
                let first = &pending[0];
                let location =
                    self.location(self.entries[first.entry].row(), first.byte, Some(first.col));
                self.diags.push(Diagnostic {
                    code: "vsimport::number::ambiguous",
                    severity: Severity::Warning,
                    location,
                    message: format!(
                        "numbers like {:?} could have a thousands or a decimal separator; read with a decimal {} ({})",
                        first.text,
                        if hint == Decimal::Comma { "comma, as semicolon-separated files use" } else { "point" },
                        if self.comma_seen.is_some() { "the file has both kinds" } else { "no number in the file tells" }
                    ),
                    help: Some("set decimal = \",\" or decimal = \".\" in the mapping's [source] section".into()),
                    context: None,
                });
                (hint, String::new())
            }
        };
        if !why.is_empty() && decimal == Decimal::Comma {
            let first = &pending[0];
            let location =
                self.location(self.entries[first.entry].row(), first.byte, Some(first.col));
            self.diags.push(Diagnostic {
                code: "vsimport::number::decimal_detected",
                severity: Severity::Info,
                location,
                message: format!(
                    "numbers like {:?} are read with a decimal comma because {why}",
                    first.text
                ),
                help: Some("set decimal in [source] to say so explicitly".into()),
                context: None,
            });
        }
        for p in pending {
            let e = self.entries[p.entry];
            let v = if decimal == Decimal::Comma {
                p.comma
            } else {
                e.value
            };
            if let Err(problem) = check_integer(self.index.kpi(e.kpi), v) {
                let loc = self.location(e.row(), p.byte, Some(p.col));
                self.reject_late(e.row(), loc, problem);
            }
            self.entries[p.entry].value = v;
        }
    }

    fn snap_dates(&mut self) {
        if !self.snap_needed {
            return;
        }
        let intervals: Vec<Interval> = self
            .index
            .catalog
            .kpis
            .iter()
            .map(|k| k.kpi_value_time_reference)
            .collect();
        let mut noted: Option<(u64, u32)> = None;
        let mut snapped = Vec::new();
        for e in &mut self.entries {
            let interval = intervals[e.kpi as usize];
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
            let location = self.location(row, None, column);
            self.diags.push(Diagnostic {
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

    fn drop_rejected(&mut self) {
        if self.rejected.is_empty() {
            return;
        }
        let rejected = &self.rejected;
        self.entries.retain(|e| !rejected.contains_key(&e.row()));
    }

    fn warn_missing_targets(&mut self, records: &[std::ops::Range<usize>]) {
        let mut per_kpi: BTreeMap<u32, (usize, u64)> = BTreeMap::new();
        // Per KPI, its target slots as bits (slots past 127 are not checked).
        let targets: Vec<u128> = self
            .index
            .catalog
            .kpis
            .iter()
            .map(|kpi| {
                kpi.kpi_values
                    .iter()
                    .enumerate()
                    .filter(|(i, v)| *i < 128 && crate::api::is_target_name(&v.name))
                    .fold(0u128, |m, (i, _)| m | (1u128 << i))
            })
            .collect();
        // Per KPI: records without a target, and the first such record's row; the records
        // are counted in chunks on all cores, the chunks combined in order.
        use rayon::prelude::*;
        let entries = &self.entries;
        let count = |chunk: &[std::ops::Range<usize>]| {
            let mut m: BTreeMap<u32, (usize, u64)> = BTreeMap::new();
            for r in chunk {
                let es = &entries[r.clone()];
                let targets = targets[es[0].kpi as usize];
                if targets == 0 {
                    continue;
                }
                let has_target = es
                    .iter()
                    .any(|e| !e.forecast && e.slot < 128 && targets & (1u128 << e.slot) != 0);
                if !has_target {
                    m.entry(es[0].kpi).or_insert((0, es[0].row())).0 += 1;
                }
            }
            m
        };
        let counted =
            records
                .par_chunks(1 << 16)
                .map(count)
                .reduce(BTreeMap::new, |mut left, right| {
                    for (k, (n, row)) in right {
                        left.entry(k).or_insert((0, row)).0 += n;
                    }
                    left
                });
        per_kpi.extend(counted);
        for (kpi, (n, row)) in per_kpi {
            let k = self.index.kpi(kpi);
            let location = self.location(row, None, None);
            self.diags.push(Diagnostic {
                code: "vsimport::plan::targets_missing",
                severity: Severity::Warning,
                location,
                message: format!(
                    "{n} records of KPI {:?} carry no target value: the server may set their targets to 0 or a historical target",
                    k.name
                ),
                help: Some("map the target column, or keep the server's targets when importing (--keep-targets)".into()),
                context: None,
            });
        }
    }
}

fn check_integer(kpi: &crate::api::KpiDetail, v: f64) -> Result<(), Problem> {
    if kpi.kpi_value_is_integer && v.fract() != 0.0 {
        return Err(Problem {
            code: "vsimport::number::not_integer",
            message: format!("KPI {:?} takes whole numbers only, not {v}", kpi.name),
            help: Some("round the value in the export, or check the decimal separator".into()),
        });
    }
    Ok(())
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn month(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get(m.saturating_sub(1) as usize)
    .copied()
    .unwrap_or("?")
}

/// The source rows of a record's values, ascending, each once.
pub fn source_rows(values: &[Entry]) -> Vec<u64> {
    let mut rows: Vec<u64> = values.iter().map(Entry::row).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// The result of validating a file: the planned values grouped into records.
pub struct Validated<'a> {
    pub index: &'a CatalogIndex,
    /// Accepted values, sorted by record (date, KPI, team, sub-tile), then slot.
    pub entries: Vec<Entry>,
    /// Each record's range in `entries`.
    pub records: Vec<std::ops::Range<usize>>,
    pub diags: Diags,
    pub rejected: BTreeMap<u64, Vec<String>>,
    pub stats: Stats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence() {
        assert_eq!(slash_evidence("25/12/2025"), Some(DayOrder::DayFirst));
        assert_eq!(slash_evidence("12/25/2025"), Some(DayOrder::MonthFirst));
        assert_eq!(slash_evidence("03/04/2025"), None);
        assert_eq!(decimal_evidence("85,5"), Some(Decimal::Comma));
        assert_eq!(decimal_evidence("1.234,5"), Some(Decimal::Comma));
        assert_eq!(decimal_evidence("85.5"), Some(Decimal::Point));
        assert_eq!(decimal_evidence("1,234"), None);
        assert_eq!(decimal_evidence("1,234,567"), None);
        assert_eq!(decimal_evidence("12"), None);
    }

    #[test]
    fn words() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(month(3), "March");
    }
}
