//! Names to catalog indices for the validator, remembered: exports repeat a handful of
//! teams, KPIs and value names row after row, so each distinct text is looked up once.

use std::borrow::Cow;

use super::Validator;
use crate::diag::Problem;
use crate::map::{Field, ValueTarget};
use crate::normalize;
use crate::read::{Cell, Row};

/// The names a column held and what they resolved to, in a table of 256 slots picked by a
/// hash of the name's first and last eight bytes: exports repeat a few dozen teams and KPIs
/// row after row, in any order, and a slot's one comparison is cheaper than a hash map's
/// look-up (a name found costs no copy; a slot taken by another name is simply replaced).
///
/// Hand-written: it replaced a look-through of the last eight names, which missed on most
/// rows of exports in random order (30 teams, 48 KPIs: 78 % of KPI look-ups, 73 % of team
/// look-ups), each miss then paying the `FxHashMap` look-up and a copy into the list. The
/// team and KPI look-ups of 100k such rows cost 66 million instructions of the dry run's 539;
/// with this table the run takes 509 (cachegrind, `--threads 1`), and grouped exports, which
/// the look-through served, 337 -> 333. A `FxHashMap<String, u32>` in front of the catalog's
/// own would hash the whole name and compare it again: this is that map, cut to one probe
/// and never grown.
#[derive(Debug, Clone)]
pub(super) struct KnownNames {
    names: Box<[(String, u32)]>,
}

impl Default for KnownNames {
    fn default() -> Self {
        KnownNames {
            names: vec![(String::new(), 0); 256].into_boxed_slice(),
        }
    }
}

impl KnownNames {
    /// The slot of `name`: its first and last eight bytes (fewer for a short name) and its
    /// length, mixed by a multiplication whose top byte picks the slot.
    fn slot(name: &[u8]) -> usize {
        let n = name.len();
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let (head, tail) = if n >= 8 {
            (word(&name[..8]), word(&name[n - 8..]))
        } else {
            (word(name), 0)
        };
        let h = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 56) as usize
    }

    fn get(&self, name: &str) -> Option<u32> {
        if name.is_empty() {
            return None;
        }
        let (n, id) = &self.names[Self::slot(name.as_bytes())];
        (n == name).then_some(*id)
    }

    fn put(&mut self, name: &str, id: u32) {
        let slot = &mut self.names[Self::slot(name.as_bytes())];
        slot.0.clear();
        slot.0.push_str(name);
        slot.1 = id;
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

    /// Looks the name in `field`'s cell up with `lookup` (remembering it in `memo` table 0
    /// or 1); a problem is noted when that fails.
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

#[cfg(test)]
mod tests {
    use super::KnownNames;

    /// A name is found with its own id or not at all, whatever other names took its slot;
    /// the name put last is always found.
    #[test]
    fn a_name_is_found_with_its_own_id_or_not_at_all() {
        let mut memo = KnownNames::default();
        let names: Vec<String> = (0..2000)
            .map(|i| match i % 4 {
                0 => format!("Team {i}"),
                1 => format!("Montage Süd {i} Halle"),
                2 => format!("{i}"),
                _ => format!("Linie {i} – Spritzguss Nord"),
            })
            .collect();
        for round in 0..2 {
            for (i, n) in names.iter().enumerate() {
                if let Some(id) = memo.get(n) {
                    assert_eq!(id as usize, i, "{n:?} found with another name's id");
                }
                memo.put(n, i as u32);
                assert_eq!(memo.get(n), Some(i as u32), "round {round}: {n:?}");
            }
        }
        assert_eq!(memo.get(""), None);
        // A few dozen names keep their slots: found without asking the catalog again.
        let mut memo = KnownNames::default();
        for (i, n) in names.iter().take(48).enumerate() {
            memo.put(n, i as u32);
        }
        let kept = names
            .iter()
            .take(48)
            .filter(|n| memo.get(n).is_some())
            .count();
        assert!(kept >= 40, "{kept} of 48 names kept");
    }
}
