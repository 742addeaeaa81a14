//! Names to catalog indices for the validator, remembered: exports repeat a handful of
//! teams, KPIs and value names row after row, so each distinct text is looked up once.

use std::borrow::Cow;

use super::Validator;
use crate::diag::Problem;
use crate::map::{Field, ValueTarget};
use crate::normalize;
use crate::read::{Cell, Row};

/// The last few names a column held and what they resolved to: exports repeat a handful of
/// teams and KPIs row after row, and a look-through of eight short strings is cheaper than a
/// hash look-up.
#[derive(Debug, Default, Clone)]
pub(super) struct Recent {
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

/// A name look-up of the validator (team or KPI).
pub(super) type Lookup<'a> = fn(&mut Validator<'a>, &str) -> Result<u32, Problem>;

/// A problem with one cell of the row being validated.
pub(super) struct CellProblem {
    pub(crate) col: Option<usize>,
    pub(crate) problem: Problem,
}

/// Text of a name cell (KPI, team, value slot, sub-tile), borrowed where it can be; why not,
/// without allocating for the common cases (an empty sub-tile cell is one on most rows).
pub(super) fn name_text<'r>(cell: &Cell<'r>) -> Result<Cow<'r, str>, Cow<'static, str>> {
    match cell {
        Cell::Text(s) => Ok(Cow::Borrowed(normalize::clean(s))),
        Cell::Int(_) | Cell::Float(_) | Cell::Bool(_) => Ok(Cow::Owned(cell.display())),
        Cell::Empty => Err(Cow::Borrowed("the cell is empty")),
        Cell::Error(e) => Err(Cow::Owned(format!("the cell holds the error {e}"))),
        Cell::Invalid(_) => Err(Cow::Borrowed(
            "the cell's bytes are not text in the file's encoding",
        )),
        other => Err(Cow::Owned(format!("a {} is not a name", other.kind()))),
    }
}

impl<'a> Validator<'a> {
    pub(super) fn cell<'r>(
        &self,
        row: &Row<'r>,
        f: &Field,
    ) -> (Cell<'r>, Option<usize>, Option<String>) {
        match f {
            Field::Column(i) => (row.cell(*i), Some(*i), None),
            Field::Const(v) => (Cell::Empty, None, Some(v.clone())),
        }
    }

    pub(super) fn column_name(&self, col: Option<usize>) -> String {
        col.and_then(|c| self.origin.columns.get(c))
            .map(|n| format!("column {n:?}"))
            .unwrap_or_else(|| "the mapping's constant".into())
    }

    pub(super) fn kpi_of(&mut self, name: &str) -> Result<u32, Problem> {
        if let Some(r) = self.kpi_cache.get(name) {
            return r.clone();
        }
        let folded = name.trim().to_lowercase();
        let r = self
            .index
            .find_kpi(self.aliases.kpi.get(&folded).map_or(name, String::as_str));
        self.kpi_cache.insert(name.to_string(), r.clone());
        r
    }

    pub(super) fn team_of(&mut self, name: &str) -> Result<u32, Problem> {
        if let Some(r) = self.team_cache.get(name) {
            return r.clone();
        }
        let folded = name.trim().to_lowercase();
        let r = self
            .index
            .find_team(self.aliases.team.get(&folded).map_or(name, String::as_str));
        self.team_cache.insert(name.to_string(), r.clone());
        r
    }

    pub(super) fn slot_of(
        &mut self,
        kpi: u32,
        index: usize,
        target: &ValueTarget,
    ) -> Result<u16, Problem> {
        if let Some(r) = self.slot_cache.get(&(kpi, index)) {
            return r.clone();
        }
        let r = self.index.find_value(kpi, &target.name);
        self.slot_cache.insert((kpi, index), r.clone());
        r
    }

    pub(super) fn long_slot_of(&mut self, kpi: u32, name: &str) -> Result<u16, Problem> {
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

    pub(super) fn sub_tile_of(&mut self, kpi: u32, name: &str) -> Result<u16, Problem> {
        if let Some(r) = self.sub_cache.get(&kpi).and_then(|m| m.get(name)) {
            return r.clone();
        }
        let r = self.index.find_sub_tile(kpi, name);
        self.sub_cache
            .entry(kpi)
            .or_default()
            .insert(name.to_string(), r.clone());
        r
    }

    /// Looks the name in `field`'s cell up with `lookup` (remembering the last one in
    /// `memo` slot 0 or 1); a problem is noted when that fails.
    pub(super) fn named(
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

    pub(super) fn name_problem(
        &self,
        col: Option<usize>,
        what: &str,
        err: Cow<'static, str>,
    ) -> CellProblem {
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
}
