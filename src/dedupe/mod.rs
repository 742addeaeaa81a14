//! Dedupe stage: the validate stage's [`Entry`]s in, [`Records`] out — entries sorted by
//! record (date + team + KPI + sub-tile) and grouped, each slot once. The same value twice is
//! merged; two different values for the same slot are a conflict, settled by `--on-conflict`
//! (`error`: both rows rejected; `first`/`last`: the earlier/later row wins). Every collapsed
//! row is reported in the [`Findings`].

use std::ops::Range;

use rayon::iter::{IndexedParallelIterator, ParallelIterator};
use rayon::slice::{ParallelSlice, ParallelSliceMut};
use rustc_hash::FxHashSet;

use crate::catalog::CatalogIndex;
use crate::diag::{Diagnostic, Location, Problem, Severity};
use crate::findings::Findings;
use crate::record::{Entry, Origin};

mod radix;
use radix::{SortKeys, Sorted, radix_sort};

/// What to do with two different values for the same record and slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Reject every row involved.
    #[default]
    Error,
    /// Keep the value of the earliest row.
    First,
    /// Keep the value of the latest row.
    Last,
}

/// Entries grouped into records.
#[derive(Debug, Default)]
pub(crate) struct Records {
    /// Sorted by record (date, KPI, team, sub-tile), then slot; each slot once.
    pub(crate) entries: Vec<Entry>,
    /// Where each record's entries end in `entries` (each starts where the one before ends):
    /// 8 bytes a record, half of a `Range`, written into the sort keys' room when the entries
    /// were sorted (docs/PERFORMANCE.md, "Record ends"). Empty when `one_each`.
    ends: Vec<u64>,
    /// Every record is one entry (one value slot in the whole file, as in most wide exports):
    /// record `i` is entry `i`, and no ends are kept.
    one_each: bool,
}

impl Records {
    pub(crate) fn len(&self) -> usize {
        if self.one_each {
            self.entries.len()
        } else {
            self.ends.len()
        }
    }

    /// Record `i`'s entries' place in `entries`.
    pub(crate) fn range(&self, i: usize) -> Range<usize> {
        if self.one_each {
            return i..i + 1;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        start..self.ends[i] as usize
    }

    /// Record `i`'s first entry (its KPI, team, date and sub-tile are every entry's).
    pub(crate) fn head(&self, i: usize) -> Entry {
        self.entries[self.range(i).start]
    }

    /// The ranges of the records numbered `which`, in order.
    pub(crate) fn ranges(&self, which: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
        let one_each = self.one_each;
        let mut start = if which.start == 0 || one_each {
            0
        } else {
            self.ends[which.start - 1] as usize
        };
        let ends: &[u64] = if one_each {
            &[]
        } else {
            &self.ends[which.clone()]
        };
        let mut ends = ends.iter();
        which.map(move |i| {
            if one_each {
                return i..i + 1;
            }
            let end = ends.next().map_or(start, |&e| e as usize);
            let r = start..end;
            start = end;
            r
        })
    }

    /// Calls `f` with the entries of each record numbered `which`, in order (one entry each,
    /// without making ranges, when every record is one entry).
    #[inline]
    pub(crate) fn each_in(&self, which: Range<usize>, mut f: impl FnMut(&[Entry])) {
        if self.one_each {
            for e in self.entries.get(which).unwrap_or_default() {
                f(std::slice::from_ref(e));
            }
        } else {
            for r in self.ranges(which) {
                f(self.entries.get(r).unwrap_or_default());
            }
        }
    }

    /// The records cut into runs of at most `size` (record numbers), for work on all cores.
    pub(crate) fn chunks(&self, size: usize) -> Vec<Range<usize>> {
        let n = self.len();
        (0..n)
            .step_by(size.max(1))
            .map(|s| s..(s + size.max(1)).min(n))
            .collect()
    }
}

/// What merging found, before it goes into the findings.
struct Merged {
    entries: Vec<Entry>,
    /// Where each record ends ([`Records::ends`]).
    records: Vec<u64>,
    /// Every record is one entry ([`Records::one_each`]).
    one_each: bool,
    /// Rows rejected for conflicts: (row, where, why).
    rejected: Vec<(u64, Location, Problem)>,
    /// The other rows of those conflicts: (row, why), told by the first row's diagnostic.
    rejected_also: Vec<(u64, String)>,
    diags: Vec<Diagnostic>,
    merged: u64,
    conflicts: u64,
}

fn slot_key(e: &Entry) -> (chrono::NaiveDate, u32, u32, u16, u16, bool) {
    (e.date, e.kpi, e.team, e.sub_tile, e.slot, e.forecast)
}

/// (date, KPI, team, sub-tile, slot, forecast) in one integer, ordered like the tuple (a KPI
/// has far fewer than 32,768 value slots).
fn pack(e: &Entry) -> u128 {
    use chrono::Datelike;
    // Days from 0001-01-01, shifted to stay positive for any date chrono knows.
    let day = (i64::from(e.date.num_days_from_ce()) + (1 << 30)) as u128;
    (day << 96)
        | (u128::from(e.kpi) << 64)
        | (u128::from(e.team) << 32)
        | (u128::from(e.sub_tile) << 16)
        | (u128::from(e.slot & 0x7fff) << 1)
        | u128::from(e.forecast)
}

fn describe(index: &CatalogIndex, e: &Entry) -> String {
    let k = index.kpi(e.kpi);
    let slot = k
        .kpi_values
        .get(e.slot as usize)
        .map(|v| v.name.as_str())
        .unwrap_or("?");
    format!(
        "KPI {:?}, team {:?}, {}, value {slot:?}{}",
        k.name,
        index.team(e.team).name,
        e.date,
        if e.forecast { " (forecast)" } else { "" }
    )
}

/// Sorts `entries` into records and merges duplicates; conflicts and merges are added to
/// `findings`.
pub(crate) fn merge(
    entries: Vec<Entry>,
    policy: OnConflict,
    index: &CatalogIndex,
    origin: &Origin,
    findings: &mut Findings,
) -> Records {
    let m = merged(entries, policy, index, origin);
    for (row, location, p) in m.rejected {
        findings.reject_late(row, location, p);
    }
    for (row, reason) in m.rejected_also {
        findings.reject_quietly(row, &reason);
    }
    for d in m.diags {
        findings.diags.push(d);
    }
    findings.stats.duplicates_merged = m.merged;
    findings.stats.conflicts = m.conflicts;
    Records {
        entries: m.entries,
        ends: m.records,
        one_each: m.one_each,
    }
}

/// Inputs at least this long are scanned on two threads.
const PAR_MIN: usize = 200_000;

impl Merged {
    /// Entries in record order with each slot once: kept as they are.
    fn clean(entries: Vec<Entry>, records: Vec<u64>) -> Merged {
        Merged {
            entries,
            records,
            one_each: false,
            rejected: Vec::new(),
            rejected_also: Vec::new(),
            diags: Vec::new(),
            merged: 0,
            conflicts: 0,
        }
    }

    /// Entries in record order, each a record of its own ([`Records::one_each`]).
    fn each(entries: Vec<Entry>) -> Merged {
        Merged {
            one_each: true,
            ..Merged::clean(entries, Vec::new())
        }
    }
}

fn merged(
    mut entries: Vec<Entry>,
    policy: OnConflict,
    index: &CatalogIndex,
    origin: &Origin,
) -> Merged {
    // Exports are usually in date order with each record once: one pass checks that and
    // finds the records; then the entries are the plan as they are.
    if let Some(records) = clean_records_par(&entries) {
        return Merged::clean(entries, records);
    }
    // Otherwise sort: in place by radix when the key fits 64 bits, else on a 128-bit packed
    // integer per entry (two words to compare, not six fields).
    let mut sorted = None;
    if !entries.is_sorted_by(|a, b| (slot_key(a), a.row) <= (slot_key(b), b.row)) {
        match radix_sort(&mut entries) {
            Some(Sorted::Keys(keys)) => sorted = Some(keys),
            // One slot, no keys kept, each slot once: every entry is a record of its own.
            Some(Sorted::Unkeyed { repeat: false }) => return Merged::each(entries),
            // A slot twice: merged below, entry by entry.
            Some(Sorted::Unkeyed { repeat: true }) => {}
            None => {
                let mut keyed: Vec<(u128, Entry)> =
                    entries.drain(..).map(|e| (pack(&e), e)).collect();
                keyed.par_sort_unstable_by_key(|(k, e)| (*k, e.row, e.seq));
                entries.extend(keyed.into_iter().map(|(_, e)| e));
            }
        }
    }
    // Sorted with each slot once (the usual case): nothing to merge, and the pass below, one
    // thread's 20-25 ms of 1M entries, is replaced by a look at neighbouring keys on two.
    if let Some(s) = &sorted
        && !s
            .keys
            .par_windows(2)
            .with_min_len(PAR_MIN)
            .any(|w| w[0] == w[1])
    {
        // One slot and one forecast state in the whole file, each slot once: every entry is
        // a record of its own, which needs no ends (their pass and 8 bytes an entry).
        if s.record_shift == 0 {
            return Merged::each(entries);
        }
        let records = sorted.map(ends_from_keys).unwrap_or_default();
        return Merged::clean(entries, records);
    }
    let location = |row: u64| Location {
        file: origin.file.clone(),
        sheet: origin.sheet.clone(),
        row,
        column: None,
        byte: None,
    };
    let mut out = Merged::clean(Vec::new(), Vec::new());
    let mut conflict_rows: FxHashSet<u64> = FxHashSet::default();
    // The kept entries are compacted into the front of `entries` (at most one per group, so
    // the write place `kept` never passes the group being read): one copy of the entries in
    // memory, not two.
    let mut kept = 0;
    let mut i = 0;
    while i < entries.len() {
        let mut j = i + 1;
        match &sorted {
            Some(s) => {
                while j < entries.len() && s.keys[j] == s.keys[i] {
                    j += 1;
                }
            }
            None => {
                while j < entries.len() && slot_key(&entries[j]) == slot_key(&entries[i]) {
                    j += 1;
                }
            }
        }
        let group = &entries[i..j];
        let mut keep = None;
        if group.len() == 1 {
            keep = Some(group[0]);
        } else if group.iter().all(|e| e.value == group[0].value) {
            keep = Some(group[0]);
            out.merged += (group.len() - 1) as u64;
            for e in &group[1..] {
                out.diags.push(Diagnostic {
                    code: "vsimport::dedupe::merged",
                    severity: Severity::Info,
                    location: location(e.row()),
                    message: format!(
                        "the same value as row {} for {}: merged",
                        group[0].row,
                        describe(index, e)
                    ),
                    help: None,
                    context: None,
                });
            }
        } else {
            out.conflicts += 1;
            let values = group
                .iter()
                .map(|e| format!("{} in row {}", e.value, e.row))
                .collect::<Vec<_>>()
                .join(", ");
            match policy {
                OnConflict::Error => {
                    // One conflict, one message (at its first row); the other rows are
                    // rejected with it and listed in rejected.csv.
                    let first = group[0];
                    let message = format!(
                        "different values for the same record: {} has {values}",
                        describe(index, &first)
                    );
                    for e in group {
                        conflict_rows.insert(e.row());
                    }
                    for e in &group[1..] {
                        if e.row != first.row {
                            out.rejected_also.push((e.row(), message.clone()));
                        }
                    }
                    out.rejected.push((
                        first.row(),
                        location(first.row()),
                        Problem {
                            code: "vsimport::dedupe::conflict",
                            message,
                            help: Some(
                                "fix the rows, or pass --on-conflict first|last to keep one".into(),
                            ),
                        },
                    ));
                }
                OnConflict::First | OnConflict::Last => {
                    let winner = if policy == OnConflict::First {
                        group[0]
                    } else {
                        group[group.len() - 1]
                    };
                    keep = Some(winner);
                    let keep = winner;
                    out.merged += (group.len() - 1) as u64;
                    for e in group.iter().filter(|e| e.row != keep.row) {
                        out.diags.push(Diagnostic {
                            code: "vsimport::dedupe::conflict_settled",
                            severity: Severity::Warning,
                            location: location(e.row()),
                            message: format!(
                                "{} has {values}: row {} wins (--on-conflict {})",
                                describe(index, e),
                                keep.row,
                                if policy == OnConflict::First {
                                    "first"
                                } else {
                                    "last"
                                }
                            ),
                            help: None,
                            context: None,
                        });
                    }
                }
            }
        }
        if let Some(e) = keep {
            entries[kept] = e;
            kept += 1;
        }
        i = j;
    }
    entries.truncate(kept);
    out.entries = entries;
    if !conflict_rows.is_empty() {
        // A row is taken whole or not at all: its other values go too, and so do notes of
        // merges that involved it.
        out.entries.retain(|e| !conflict_rows.contains(&e.row()));
        out.diags
            .retain(|d| !conflict_rows.contains(&d.location.row));
        out.merged = out.diags.len() as u64;
    }
    // The record ends go into the keys' room (as many keys as entries, so room for every
    // record): both at once were 16 MB more at the peak of a dry run of 2M values, and fresh
    // room is fresh pages for the kernel to map.
    let room = sorted.map(|s| s.keys).unwrap_or_default();
    out.records = record_ends(&out.entries, room);
    out
}

/// [`clean_records`] on the two halves at once (large inputs), joined at the seam.
fn clean_records_par(entries: &[Entry]) -> Option<Vec<u64>> {
    if entries.len() < PAR_MIN {
        return clean_records(entries);
    }
    let mid = entries.len() / 2;
    let (a, b) = rayon::join(
        || clean_records(&entries[..mid]),
        || clean_records(&entries[mid..]),
    );
    let (mut records, tail) = (a?, b?);
    let (x, y) = (&entries[mid - 1], &entries[mid]);
    let (kx, ky) = (slot_key(x), slot_key(y));
    let same_record = (kx.0, kx.1, kx.2, kx.3) == (ky.0, ky.1, ky.2, ky.3);
    if kx >= ky {
        return None;
    }
    let mut tail = tail.into_iter().map(|end| end + mid as u64);
    if same_record && let (Some(last), Some(first)) = (records.last_mut(), tail.next()) {
        *last = first;
    }
    records.extend(tail);
    Some(records)
}

/// The record ends of entries already in order with no slot twice, or `None`.
fn clean_records(entries: &[Entry]) -> Option<Vec<u64>> {
    let mut records = Vec::new();
    for i in 1..entries.len() {
        let (a, b) = (&entries[i - 1], &entries[i]);
        let (ka, kb) = (slot_key(a), slot_key(b));
        if (ka.0, ka.1, ka.2, ka.3) != (kb.0, kb.1, kb.2, kb.3) {
            if ka > kb {
                return None;
            }
            records.push(i as u64);
        } else if ka >= kb {
            return None;
        }
    }
    if !entries.is_empty() {
        records.push(entries.len() as u64);
    }
    Some(records)
}

/// Where each record of sorted entries ends, written into `room` (its contents do not
/// matter): counted first, so that the list is made once at its size, then written; large
/// inputs as two halves (cut at a record's start) on two threads (joining two lists instead
/// held 8 MB more at the peak of the plant's 1M records).
fn record_ends(entries: &[Entry], mut room: Vec<u64>) -> Vec<u64> {
    let count = |part: &[Entry]| {
        usize::from(!part.is_empty())
            + part
                .windows(2)
                .filter(|w| w[0].record() != w[1].record())
                .count()
    };
    if entries.len() < PAR_MIN {
        room.clear();
        room.resize(count(entries), 0);
        fill_ends(entries, 0, &mut room);
        room.shrink_to_fit();
        return room;
    }
    let mut mid = entries.len() / 2;
    while mid < entries.len() && entries[mid].record() == entries[mid - 1].record() {
        mid += 1;
    }
    let (low, high) = entries.split_at(mid);
    let (n_low, n_high) = rayon::join(|| count(low), || count(high));
    room.clear();
    room.resize(n_low + n_high, 0);
    let (out_low, out_high) = room.split_at_mut(n_low);
    rayon::join(
        || fill_ends(low, 0, out_low),
        || fill_ends(high, mid, out_high),
    );
    // Records of several values each leave room unused: handed back for the rest of the run.
    room.shrink_to_fit();
    room
}

/// Where each record of sorted entries ends, from their sort keys alone (a quarter of the
/// bytes the entries are), written over the keys: the i-th end goes where the i-th key was,
/// which the pass has always read by then. Large inputs as two halves (cut at a record's
/// start) on two threads, the upper half's ends then moved down beside the lower's.
fn ends_from_keys(sorted: SortKeys) -> Vec<u64> {
    let SortKeys {
        mut keys,
        record_shift,
    } = sorted;
    let record = |k: u64| k.checked_shr(record_shift).unwrap_or(0);
    let ends = |keys: &mut [u64], offset: usize| {
        let n = keys.len();
        let mut written = 0;
        for k in 1..=n {
            if k == n || record(keys[k]) != record(keys[k - 1]) {
                keys[written] = (k + offset) as u64;
                written += 1;
            }
        }
        written
    };
    let n = keys.len();
    let mut mid = n / 2;
    while mid > 0 && mid < n && record(keys[mid]) == record(keys[mid - 1]) {
        mid += 1;
    }
    let count = if n < PAR_MIN || mid == 0 || mid >= n {
        ends(&mut keys, 0)
    } else {
        let (low, high) = keys.split_at_mut(mid);
        let (n_low, n_high) = rayon::join(|| ends(low, 0), || ends(high, mid));
        keys.copy_within(mid..mid + n_high, n_low);
        n_low + n_high
    };
    keys.truncate(count);
    // Records of several values each leave room unused: handed back for the rest of the run.
    keys.shrink_to_fit();
    keys
}

/// Writes where each record of `entries` (which start at `offset`) ends into `out`.
fn fill_ends(entries: &[Entry], offset: usize, out: &mut [u64]) {
    let mut slots = out.iter_mut();
    for k in 1..=entries.len() {
        if (k == entries.len() || entries[k].record() != entries[k - 1].record())
            && let Some(slot) = slots.next()
        {
            *slot = (k + offset) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` records in key order, record `i` with `1 + i % 3` slots.
    fn ordered(n: usize) -> Vec<Entry> {
        let base = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let mut out = Vec::new();
        for i in 0..n {
            for slot in 0..(1 + i % 3) as u16 {
                out.push(Entry {
                    kpi: (i % 7) as u32,
                    date: base + chrono::Days::new((i / 7) as u64),
                    team: 0,
                    sub_tile: crate::record::NO_SUB_TILE,
                    slot,
                    forecast: false,
                    percent_sign: false,
                    value: 1.0,
                    row: i as u32,
                    seq: 0,
                });
            }
        }
        out
    }

    #[test]
    fn the_radix_order_is_the_comparison_order() {
        let mut rng = fastrand::Rng::with_seed(7);
        let base = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
        for (n, days, kpis, teams) in [
            (5000, 3, 2, 2),
            (50_000, 40_000, 300, 70),
            (9000, 1, 1, 1),
            // Long enough for the first pass on two threads.
            (300_000, 20_000, 40, 30),
        ] {
            let entries: Vec<Entry> = (0..n)
                .map(|i| Entry {
                    kpi: rng.u32(0..kpis),
                    date: base + chrono::Days::new(rng.u64(0..days)),
                    team: rng.u32(0..teams),
                    sub_tile: if rng.bool() {
                        crate::record::NO_SUB_TILE
                    } else {
                        rng.u16(0..4)
                    },
                    slot: rng.u16(0..3),
                    forecast: rng.bool(),
                    percent_sign: false,
                    value: f64::from(rng.u8(..)),
                    row: (i / 2) as u32,
                    seq: (i % 2) as u16,
                })
                .collect();
            let mut expected = entries.clone();
            expected.sort_by_key(|e| (pack(e), e.row));
            let mut got = entries.clone();
            assert!(radix_sort(&mut got).is_some(), "fits in 64 bits");
            assert!(got == expected, "{n} entries");
            // Already in date order, or in reverse date order (each date's entries in any
            // order): sorted date by date, to the same order.
            let mut by_date = entries.clone();
            by_date.sort_by_key(|e| e.date);
            let mut got = by_date.clone();
            assert!(radix_sort(&mut got).is_some());
            assert!(got == expected, "{n} entries in date order");
            by_date.reverse();
            assert!(radix_sort(&mut by_date).is_some());
            assert!(by_date == expected, "{n} entries in reverse date order");
        }
        // Out of row order, ties still come in row order.
        let mut e = ordered(5000);
        e.reverse();
        let mut expected = e.clone();
        expected.sort_by_key(|e| (pack(e), e.row));
        assert!(radix_sort(&mut e).is_some());
        assert!(e == expected);
    }

    /// The records of sorted entries, found one entry after another.
    fn one_pass(entries: &[Entry]) -> Vec<Range<usize>> {
        let mut records = Vec::new();
        let mut start = 0;
        for k in 1..=entries.len() {
            if k == entries.len() || entries[k].record() != entries[start].record() {
                records.push(start..k);
                start = k;
            }
        }
        records
    }

    #[test]
    fn record_ends_found_in_two_halves_are_those_found_in_one_pass() {
        // The records by the plainest reading: a new one wherever the record changes.
        // Small and large; large sizes whose middle falls at a record's start and inside
        // records; into no room, and into room longer than the records with other contents.
        for n in [0, 1, 7, 110_000, 110_001, 110_002, 150_001] {
            let e = ordered(n);
            for room in [Vec::new(), vec![u64::MAX; e.len()]] {
                let records = Records {
                    ends: record_ends(&e, room),
                    entries: e.clone(),
                    one_each: false,
                };
                let ranges: Vec<_> = records.ranges(0..records.len()).collect();
                assert_eq!(ranges, one_pass(&e), "{n} records");
                // Record by record, and from a record inside the list.
                let each: Vec<_> = (0..records.len()).map(|i| records.range(i)).collect();
                assert_eq!(each, ranges);
                if records.len() > 5 {
                    let from: Vec<_> = records.ranges(3..records.len()).collect();
                    assert_eq!(from, ranges[3..]);
                }
            }
        }
        // One record in all: the cut moves to the end.
        let base = ordered(1)[0];
        let one: Vec<Entry> = (0..200_000u32)
            .map(|i| Entry {
                slot: (i % 7) as u16,
                row: i,
                ..base
            })
            .collect();
        assert_eq!(record_ends(&one, vec![7; 3]), vec![200_000]);
    }

    #[test]
    fn the_two_halves_join_like_one_pass() {
        // Sizes whose middle falls at a record's start and inside records.
        for n in [110_000, 110_001, 110_002, 150_001] {
            let e = ordered(n);
            assert!(e.len() >= 200_000);
            let one = clean_records(&e).unwrap();
            assert_eq!(one.len(), n);
            assert_eq!(clean_records_par(&e).unwrap(), one, "n = {n}");
        }
        // Out of order right at the seam.
        let mut e = ordered(110_000);
        let mid = e.len() / 2;
        e.swap(mid - 1, mid);
        assert!(clean_records(&e).is_none());
        assert!(clean_records_par(&e).is_none());
    }

    /// What `merged` must give, by a map: per slot its first row (the last one's for a
    /// conflict under `Last`), or (error) every row of a conflicting slot dropped whole.
    fn reference(entries: &[Entry], policy: OnConflict) -> Vec<Entry> {
        let mut by_slot: std::collections::BTreeMap<_, Vec<Entry>> = Default::default();
        for e in entries {
            by_slot.entry(slot_key(e)).or_default().push(*e);
        }
        let mut bad_rows = FxHashSet::default();
        let mut out = Vec::new();
        for group in by_slot.values_mut() {
            group.sort_by_key(|e| e.row);
            let conflict = group.iter().any(|e| e.value != group[0].value);
            if conflict && policy == OnConflict::Error {
                bad_rows.extend(group.iter().map(|e| e.row));
            } else if conflict && policy == OnConflict::Last {
                out.push(group[group.len() - 1]);
            } else {
                out.push(group[0]);
            }
        }
        out.retain(|e| !bad_rows.contains(&e.row));
        out
    }

    /// The sample plant's catalog, for describing merged entries.
    fn sample_index() -> CatalogIndex {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/catalog.json"))
                .unwrap();
        CatalogIndex::new(serde_json::from_str(&text).unwrap())
    }

    /// Sorted entries with each slot once skip the merging pass: one repeat among many (on
    /// either side of the middle, where the look at neighbours is split between threads)
    /// must still be found.
    #[test]
    fn one_repeat_among_many_is_still_merged() {
        let index = sample_index();
        let base = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        let n = PAR_MIN + 1000;
        let mut rng = fastrand::Rng::with_seed(5);
        // Every (date, KPI, team, slot) once, in random order: records of two slots.
        let mut entries: Vec<Entry> = (0..n)
            .map(|i| Entry {
                kpi: (i % 4) as u32,
                date: base + chrono::Days::new((i / 32) as u64),
                team: ((i / 8) % 4) as u32,
                sub_tile: crate::record::NO_SUB_TILE,
                slot: ((i / 4) % 2) as u16,
                forecast: false,
                percent_sign: false,
                value: 1.0,
                row: 0,
                seq: 0,
            })
            .collect();
        rng.shuffle(&mut entries);
        for (i, e) in entries.iter_mut().enumerate() {
            e.row = i as u32 + 2;
        }
        let clean = merged(
            entries.clone(),
            OnConflict::Error,
            &index,
            &Origin::default(),
        );
        assert_eq!((clean.entries.len(), clean.merged), (n, 0));
        assert_eq!(clean.records, record_ends(&clean.entries, Vec::new()));
        assert_eq!(clean.records.len(), n.div_ceil(2));
        for at in [0, n / 2 - 1, n / 2, n - 1] {
            for value in [1.0, 2.0] {
                let mut more = entries.clone();
                let mut again = entries[at];
                again.row = n as u32 + 10;
                again.value = value;
                more.insert(rng.usize(0..=n), again);
                let m = merged(more.clone(), OnConflict::Error, &index, &Origin::default());
                let got: Vec<(u32, f64)> = m.entries.iter().map(|e| (e.row, e.value)).collect();
                let want: Vec<(u32, f64)> = reference(&more, OnConflict::Error)
                    .iter()
                    .map(|e| (e.row, e.value))
                    .collect();
                assert_eq!(got, want, "repeat of entry {at}, value {value}");
                assert_eq!(
                    (m.merged, m.conflicts),
                    if value == 1.0 { (1, 0) } else { (0, 1) },
                    "repeat of entry {at}, value {value}"
                );
            }
        }
    }

    /// A file of one value slot whose slots are each there once keeps no record ends: record
    /// `i` is entry `i`. Two slots, or a slot twice, keep them.
    #[test]
    fn one_slot_records_are_their_entries() {
        let index = sample_index();
        let base = chrono::NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
        let mut rng = fastrand::Rng::with_seed(21);
        let make = |n: usize, slots: u16| -> Vec<Entry> {
            (0..n)
                .map(|i| Entry {
                    kpi: (i % 5) as u32,
                    date: base + chrono::Days::new((i / (15 * slots as usize)) as u64),
                    team: ((i / 5) % 3) as u32,
                    sub_tile: crate::record::NO_SUB_TILE,
                    slot: (i / 15) as u16 % slots,
                    forecast: false,
                    percent_sign: false,
                    value: i as f64,
                    row: i as u32 + 2,
                    seq: 0,
                })
                .collect()
        };
        // In random order, and in date order (each date's entries shuffled: sorted date by
        // date, with no keys kept for one slot).
        for (slots, repeat, by_date) in [
            (1, false, false),
            (2, false, false),
            (1, true, false),
            (1, false, true),
            (2, false, true),
            (1, true, true),
        ] {
            let mut entries = make(19_980, slots);
            if repeat {
                let mut again = entries[777];
                again.row = 90_000;
                entries.push(again);
            }
            rng.shuffle(&mut entries);
            if by_date {
                entries.sort_by_key(|e| e.date);
            }
            let mut findings = Findings::default();
            let records = merge(
                entries.clone(),
                OnConflict::Error,
                &index,
                &Origin::default(),
                &mut findings,
            );
            let want = reference(&entries, OnConflict::Error);
            let got: Vec<(u32, u16, u32)> = records
                .entries
                .iter()
                .map(|e| (e.row, e.slot, e.kpi))
                .collect();
            let expected: Vec<(u32, u16, u32)> =
                want.iter().map(|e| (e.row, e.slot, e.kpi)).collect();
            assert_eq!(got, expected, "{slots} slots, repeat {repeat}");
            assert_eq!(records.one_each, slots == 1 && !repeat, "{slots} slots");
            let ranges: Vec<_> = records.ranges(0..records.len()).collect();
            assert_eq!(ranges, one_pass(&records.entries), "{slots} slots");
            assert_eq!(records.len(), 19_980 / slots as usize, "{slots} slots");
            let tail: Vec<_> = records.ranges(5..9).collect();
            assert_eq!(tail, ranges[5..9].to_vec());
            assert_eq!(records.range(7), ranges[7]);
            assert_eq!(findings.stats.duplicates_merged, u64::from(repeat));
        }
    }

    #[test]
    fn merging_in_place_keeps_what_a_map_would() {
        let index = sample_index();
        let mut rng = fastrand::Rng::with_seed(11);
        let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        // Small (comparison sort) and large (radix sort); few slots, so many repeats.
        for n in [300, 20_000] {
            let entries: Vec<Entry> = (0..n)
                .map(|i| Entry {
                    kpi: rng.u32(0..3),
                    date: base + chrono::Days::new(rng.u64(0..(n as u64 / 20))),
                    team: rng.u32(0..3),
                    sub_tile: crate::record::NO_SUB_TILE,
                    slot: rng.u16(0..2),
                    forecast: false,
                    percent_sign: false,
                    value: f64::from(rng.u8(0..2)),
                    row: i as u32,
                    seq: 0,
                })
                .collect();
            for policy in [OnConflict::Error, OnConflict::First, OnConflict::Last] {
                let m = merged(entries.clone(), policy, &index, &Origin::default());
                let got: Vec<(u32, f64)> = m.entries.iter().map(|e| (e.row, e.value)).collect();
                let want: Vec<(u32, f64)> = reference(&entries, policy)
                    .iter()
                    .map(|e| (e.row, e.value))
                    .collect();
                assert!(
                    !want.is_empty() && want.len() < n,
                    "{n}: a test with repeats"
                );
                assert_eq!(got, want, "{n} entries, {policy:?}");
                // The records found while merging are the runs of one record.
                assert_eq!(
                    m.records,
                    record_ends(&m.entries, Vec::new()),
                    "{n}, {policy:?}"
                );
                assert!(
                    m.records.windows(2).any(|w| w[1] - w[0] > 1),
                    "records of two slots"
                );
            }
        }
    }
}
