//! Compare: the plan's records ([`Planned`]) in, a [`Comparison`] out — what the server holds
//! for each (read in windowed GETs), and whether each record is new, changed (old -> new) or
//! unchanged. The upload writes only new and changed records, and undo data comes from here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use crate::api::{ApiError, Client, KpiDetail, RecordKey, RecordValue};
use crate::catalog::CatalogIndex;
use crate::plan::Planned;

/// The planned records next to the server's current ones.
pub(crate) struct Comparison {
    /// The server's values of planned records, kept once compared: those of changed records
    /// (their values before, for undo, and their targets, to keep) and of unchanged ones when
    /// they are sent again, by plan index (sorted). An unchanged record's are let go as its
    /// window is compared: held all at once, a second import of 1M records peaked at 0.87 GB;
    /// and by plan index rather than in a map by key, 1M changed records take 96 MB, not 330.
    before: Vec<(u32, Box<[RecordValue]>)>,
    /// The server's records in the windows read that the file does not touch (for
    /// report.html's charts).
    pub(crate) others: Current,
    /// Per planned record, in plan order (a byte each).
    kinds: Vec<Change>,
    /// The changed records, by plan index, in plan order (which of their values differ is
    /// worked out again when asked: held, they took 256 MB at 1M changed records).
    changed: Vec<u32>,
    /// Per percent KPI (and KPI without a unit): the server's non-zero values, as magnitudes,
    /// for [`Comparison::scale_gaps`].
    server_values: HashMap<u32, Vec<f64>>,
    /// Why the server's values were not read (`--compare never`, or an answer that could
    /// not be read); `None`: they were. Every record is then [`Change::Unknown`].
    pub(crate) skipped: Option<String>,
}

/// Records read one by one (answers without key fields) at most this many requests at a time
/// in the making; the client's limit decides how many are in flight.
const PER_RECORD_AT_ONCE: usize = 1024;

/// A KPI's window of dates and its planned records (plan indices, by date).
struct Window {
    kpi: u32,
    from: NaiveDate,
    to: NaiveDate,
    records: std::ops::Range<usize>,
}

impl Comparison {
    /// Reads the server's records for `records`, one window of a KPI at a time, and compares
    /// each window's records as its answer comes; `keep_unchanged`: the server's values of
    /// unchanged records are kept too (they will be sent again).
    /// When the server's answers do not carry the key fields (the public schema does not show
    /// them), the records of that window are read one by one instead.
    pub(crate) async fn read(
        client: &Client,
        index: &CatalogIndex,
        records: &Planned,
        keep_unchanged: bool,
    ) -> Result<Comparison, ApiError> {
        use crate::catalog::Unit;
        let n = records.len();
        let mut cmp = Comparison {
            before: Vec::new(),
            others: Current::new(),
            kinds: vec![Change::New; n],
            changed: Vec::new(),
            server_values: HashMap::new(),
            skipped: None,
        };
        // Per KPI, its records by date (4 bytes a record).
        let mut by_kpi: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for i in 0..n {
            by_kpi.entry(records.kpi(i)).or_default().push(i as u32);
        }
        let date = |i: u32| records.head(i as usize).date;
        let mut windows: Vec<Window> = Vec::new();
        for (kpi, list) in &mut by_kpi {
            list.sort_by_key(|i| date(*i));
            let (Some(first), Some(last)) = (list.first(), list.last()) else {
                continue;
            };
            for (from, to) in index.interval(*kpi).windows(date(*first), date(*last)) {
                let lo = list.partition_point(|i| date(*i) < from);
                let hi = list.partition_point(|i| date(*i) <= to);
                if lo < hi {
                    windows.push(Window {
                        kpi: *kpi,
                        from,
                        to,
                        records: lo..hi,
                    });
                }
            }
        }
        let scaled = |kpi: u32| matches!(index.unit(kpi), Unit::Percent(_) | Unit::Unknown);
        let mut set = tokio::task::JoinSet::new();
        for (w, window) in windows.iter().enumerate() {
            let client = client.clone();
            let (kpi, from, to) = (index.kpi(window.kpi).id, window.from, window.to);
            set.spawn(async move { (w, client.records_window(kpi, None, from, to).await) });
        }
        let mut unkeyed: Vec<usize> = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (w, res) = joined.map_err(task_failed)?;
            let window = &windows[w];
            let has_sub_tiles = !index.kpi(window.kpi).sub_tiles.is_empty();
            let recs = res?;
            if recs.iter().any(|r| {
                r.date.is_none()
                    || r.team_id.is_none()
                    || (has_sub_tiles && r.sub_tile_id.is_none())
            }) {
                unkeyed.push(w);
                continue;
            }
            let kpi_id = index.kpi(window.kpi).id;
            let mut held: Current = HashMap::with_capacity(recs.len());
            for r in recs {
                if let (Some(date), Some(team)) = (r.date, r.team_id) {
                    let key = RecordKey {
                        date,
                        team,
                        kpi: kpi_id,
                        sub_tile: r.sub_tile_id,
                    };
                    if scaled(window.kpi) {
                        cmp.note_server_values(window.kpi, &r.values);
                    }
                    held.insert(key, r.values);
                }
            }
            for &i in &by_kpi[&window.kpi][window.records.clone()] {
                let key = records.key(i as usize);
                if let Some(cur) = held.remove(&key) {
                    cmp.compared(records, i as usize, cur, keep_unchanged);
                }
            }
            // The server's records the file does not touch (or not in this window).
            cmp.others.extend(held);
        }
        // A record the server filed in another window than its date's (kept above as one the
        // file does not touch) is its record all the same.
        if !cmp.others.is_empty() {
            for i in 0..n {
                if cmp.kinds[i] != Change::New {
                    continue;
                }
                let key = records.key(i);
                if let Some(cur) = cmp.others.remove(&key) {
                    cmp.compared(records, i, cur, keep_unchanged);
                }
            }
        }
        // Answers without key fields: one GET per planned record in those windows, at most
        // PER_RECORD_AT_ONCE spawned at a time (the client's limit paces them; spawned all at
        // once, each waiting request held its task: a few hundred bytes a record).
        let mut pending = unkeyed.iter().flat_map(|&w| {
            let window = &windows[w];
            by_kpi[&window.kpi][window.records.clone()].iter().copied()
        });
        let mut set = tokio::task::JoinSet::new();
        loop {
            while set.len() < PER_RECORD_AT_ONCE {
                let Some(i) = pending.next() else { break };
                // Found already among another window's records: compared once only.
                if cmp.kinds[i as usize] != Change::New {
                    continue;
                }
                let client = client.clone();
                let key = records.key(i as usize);
                set.spawn(async move { (i, client.record(&key).await) });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let (i, res) = joined.map_err(task_failed)?;
            if let Some(r) = res? {
                let kpi = records.kpi(i as usize);
                if scaled(kpi) {
                    cmp.note_server_values(kpi, &r.values);
                }
                cmp.compared(records, i as usize, r.values, keep_unchanged);
            }
        }
        cmp.changed.sort_unstable();
        cmp.before.sort_unstable_by_key(|(i, _)| *i);
        Ok(cmp)
    }

    /// Compares planned record `i` with the server's `cur`, keeping what is needed later.
    fn compared(
        &mut self,
        records: &Planned,
        i: usize,
        cur: Vec<RecordValue>,
        keep_unchanged: bool,
    ) {
        let kind = change(&records.values(i), &cur);
        self.kinds[i] = kind;
        if kind == Change::Changed {
            self.changed.push(i as u32);
        }
        if kind == Change::Changed || keep_unchanged {
            self.before.push((i as u32, cur.into_boxed_slice()));
        }
    }

    /// The server's values of planned record `i`, when they were kept (see
    /// [`Comparison::before`]).
    pub(crate) fn before(&self, i: usize) -> Option<&[RecordValue]> {
        let at = self
            .before
            .binary_search_by_key(&(i as u32), |(j, _)| *j)
            .ok()?;
        Some(&self.before[at].1)
    }

    fn note_server_values(&mut self, kpi: u32, values: &[RecordValue]) {
        self.server_values.entry(kpi).or_default().extend(
            values
                .iter()
                .filter_map(|v| v.value.as_f64())
                .filter(|v| *v != 0.0)
                .map(f64::abs),
        );
    }

    /// No comparison: the server's values were not read, for the reason given.
    pub(crate) fn skipped(records: usize, why: String) -> Comparison {
        Comparison {
            before: Vec::new(),
            others: Current::new(),
            kinds: vec![Change::Unknown; records],
            changed: Vec::new(),
            server_values: HashMap::new(),
            skipped: Some(why),
        }
    }

    pub(crate) fn count(&self, c: Change) -> u64 {
        self.kinds.iter().filter(|x| **x == c).count() as u64
    }

    /// How many records were compared (or not: [`Change::Unknown`]).
    pub(crate) fn len(&self) -> usize {
        self.kinds.len()
    }

    /// How planned record `i` compares.
    pub(crate) fn change(&self, i: usize) -> Change {
        self.kinds.get(i).copied().unwrap_or(Change::Unknown)
    }

    /// The changed records (plan index) with the values that differ, in plan order.
    pub(crate) fn changed<'a>(
        &'a self,
        index: &'a CatalogIndex,
        records: &'a Planned,
    ) -> impl Iterator<Item = (usize, Vec<ValueChange>)> + 'a {
        self.changed.iter().map(move |&i| {
            let i = i as usize;
            let cur = self.before(i);
            (
                i,
                classify(index.kpi(records.kpi(i)), &records.values(i), cur).1,
            )
        })
    }
}

fn task_failed(e: tokio::task::JoinError) -> ApiError {
    ApiError::Config {
        message: format!("a request task failed: {e}"),
        help: None,
    }
}

/// A percent KPI whose file values and server values are about 100 times apart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScaleGap {
    pub(crate) kpi: u32,
    /// The first source row of the KPI's records.
    pub(crate) row: u64,
    /// Median of the file's non-zero values, and of the server's.
    pub(crate) file: f64,
    pub(crate) server: f64,
}

impl Comparison {
    /// Percent KPIs (and KPIs without a unit) whose file values are 30 or more times larger
    /// or smaller than what the server holds for them: `85` against `0.85` is one file or
    /// the other on the wrong scale.
    pub(crate) fn scale_gaps(&self, records: &Planned, index: &CatalogIndex) -> Vec<ScaleGap> {
        use crate::catalog::Unit;
        let mut file: BTreeMap<u32, (Vec<f64>, u64)> = BTreeMap::new();
        for i in 0..records.len() {
            if !matches!(index.unit(records.kpi(i)), Unit::Percent(_) | Unit::Unknown) {
                continue;
            }
            let r = records.get(i);
            let e = file.entry(r.kpi).or_insert((Vec::new(), u64::MAX));
            e.1 = e.1.min(r.rows.first().copied().unwrap_or(u64::MAX));
            e.0.extend(
                r.values
                    .iter()
                    .filter_map(|v| v.value.as_f64())
                    .filter(|v| *v != 0.0)
                    .map(f64::abs),
            );
        }
        let mut gaps = Vec::new();
        for (kpi, (mut mine, row)) in file {
            let Some(theirs) = self.server_values.get(&kpi) else {
                continue;
            };
            let (Some(f), Some(s)) = (median(&mut mine), median(&mut theirs.clone())) else {
                continue;
            };
            let ratio = f / s;
            if !(1.0 / 30.0..=30.0).contains(&ratio) {
                gaps.push(ScaleGap {
                    kpi,
                    row,
                    file: f,
                    server: s,
                });
            }
        }
        gaps
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    Some(*m)
}

/// What the server holds now, by record key.
pub(crate) type Current = HashMap<RecordKey, Vec<RecordValue>>;

/// Reads the server's current records for `keys` (an undo's), all held: per KPI, one
/// `GET /exchange/kpi-data` per window of the interval's range limit that holds a planned
/// date (as many at once as the client's limit allows).
/// When the server's answers do not carry the key fields (the public schema does not show
/// them), the records of that window are read one by one instead.
/// The keys are `key(0..n)` (made when asked, not held).
pub(crate) async fn read_current(
    client: &Client,
    index: &CatalogIndex,
    n: usize,
    key: &(dyn Fn(usize) -> RecordKey + Sync),
) -> Result<Current, ApiError> {
    let mut by_kpi: BTreeMap<Uuid, Vec<NaiveDate>> = BTreeMap::new();
    for k in (0..n).map(key) {
        by_kpi.entry(k.kpi).or_default().push(k.date);
    }
    let kpis: HashMap<Uuid, &KpiDetail> = index.catalog.kpis.iter().map(|k| (k.id, k)).collect();
    let mut windows: Vec<(Uuid, NaiveDate, NaiveDate)> = Vec::new();
    for (kpi, dates) in &mut by_kpi {
        dates.sort_unstable();
        dates.dedup();
        let (Some(first), Some(last), Some(detail)) = (dates.first(), dates.last(), kpis.get(kpi))
        else {
            continue;
        };
        let interval = index
            .kpi_index(detail.id)
            .map_or_else(|| detail.interval(), |k| index.interval(k));
        for (from, to) in interval.windows(*first, *last) {
            let i = dates.partition_point(|d| *d < from);
            if dates.get(i).is_some_and(|d| *d <= to) {
                windows.push((*kpi, from, to));
            }
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for (kpi, from, to) in windows.iter().copied() {
        let client = client.clone();
        set.spawn(async move {
            (
                kpi,
                from,
                to,
                client.records_window(kpi, None, from, to).await,
            )
        });
    }
    let mut current = Current::new();
    let mut unkeyed: Vec<(Uuid, NaiveDate, NaiveDate)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (kpi, from, to, res) = joined.map_err(task_failed)?;
        let has_sub_tiles = kpis.get(&kpi).is_some_and(|k| !k.sub_tiles.is_empty());
        let recs = res?;
        if recs.iter().any(|r| {
            r.date.is_none() || r.team_id.is_none() || (has_sub_tiles && r.sub_tile_id.is_none())
        }) {
            unkeyed.push((kpi, from, to));
            continue;
        }
        for r in recs {
            if let (Some(date), Some(team)) = (r.date, r.team_id) {
                let key = RecordKey {
                    date,
                    team,
                    kpi,
                    sub_tile: r.sub_tile_id,
                };
                current.insert(key, r.values);
            }
        }
    }
    // Answers without key fields: one GET per planned record in those windows.
    let wanted: Vec<RecordKey> = if unkeyed.is_empty() {
        Vec::new()
    } else {
        (0..n)
            .map(key)
            .filter(|k| {
                unkeyed
                    .iter()
                    .any(|(kpi, from, to)| k.kpi == *kpi && k.date >= *from && k.date <= *to)
            })
            .collect()
    };
    let mut set = tokio::task::JoinSet::new();
    for key in wanted {
        let client = client.clone();
        set.spawn(async move { (key, client.record(&key).await) });
    }
    while let Some(joined) = set.join_next().await {
        let (key, res) = joined.map_err(task_failed)?;
        if let Some(r) = res? {
            current.insert(key, r.values);
        }
    }
    Ok(current)
}

/// How a planned record compares with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    New,
    Changed,
    Unchanged,
    /// Not compared: the server's values were not read.
    Unknown,
}

/// One value that differs from the server's.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ValueChange {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) forecast: bool,
    pub(crate) old: Option<serde_json::Number>,
    pub(crate) new: serde_json::Number,
}

fn same(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// Whether every value of `part` is in `whole` with the same number.
pub(crate) fn holds(whole: &[RecordValue], part: &[RecordValue]) -> bool {
    part.iter().all(|p| {
        whole.iter().any(|w| {
            w.kpi_value_id == p.kpi_value_id && w.forecast == p.forecast && same(&w.value, &p.value)
        })
    })
}

/// Whether the server's record `cur` holds every planned value (what [`classify`] says,
/// without making the list of differences).
fn change(planned: &[RecordValue], cur: &[RecordValue]) -> Change {
    let differs = planned.iter().any(|v| {
        !cur.iter()
            .find(|c| c.kpi_value_id == v.kpi_value_id && c.forecast == v.forecast)
            .is_some_and(|c| same(&c.value, &v.value))
    });
    if differs {
        Change::Changed
    } else {
        Change::Unchanged
    }
}

/// Compares a planned record with the server's record (if any).
pub(crate) fn classify(
    kpi: &KpiDetail,
    planned: &[RecordValue],
    current: Option<&[RecordValue]>,
) -> (Change, Vec<ValueChange>) {
    let Some(cur) = current else {
        return (Change::New, Vec::new());
    };
    let mut changes = Vec::new();
    for v in planned {
        let old = cur
            .iter()
            .find(|c| c.kpi_value_id == v.kpi_value_id && c.forecast == v.forecast)
            .map(|c| &c.value);
        if old.is_some_and(|o| same(o, &v.value)) {
            continue;
        }
        changes.push(ValueChange {
            name: kpi
                .value(v.kpi_value_id)
                .map_or_else(|| v.kpi_value_id.to_string(), |n| n.name.clone()),
            forecast: v.forecast,
            old: old.cloned(),
            new: v.value.clone(),
        });
    }
    if changes.is_empty() {
        (Change::Unchanged, changes)
    } else {
        (Change::Changed, changes)
    }
}

/// The body to send: the planned values plus, with `keep_targets`, the server's current
/// values of the target slots the file does not carry (so the server does not reset them).
/// Returns the values and how many were kept from the server.
pub(crate) fn body_values(
    index: &CatalogIndex,
    k: u32,
    planned: &Arc<[RecordValue]>,
    current: Option<&[RecordValue]>,
    keep_targets: bool,
) -> (Arc<[RecordValue]>, usize) {
    let mut values = Vec::new();
    let mut kept = 0;
    if keep_targets && let Some(cur) = current {
        for c in cur {
            let is_target = !c.forecast
                && index
                    .kpi(k)
                    .kpi_values
                    .iter()
                    .position(|v| v.id == c.kpi_value_id)
                    .is_some_and(|slot| index.is_target(k, slot));
            if is_target
                && !planned
                    .iter()
                    .any(|p| p.kpi_value_id == c.kpi_value_id && !p.forecast)
            {
                values.push(c.clone());
                kept += 1;
            }
        }
    }
    if kept == 0 {
        // The planned values as they are: shared, not copied (80 MB at 1M records).
        return (planned.clone(), 0);
    }
    (planned.iter().cloned().chain(values).collect(), kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Named;
    fn kpi() -> KpiDetail {
        serde_json::from_value(serde_json::json!({
            "id": "00000000-0000-0000-0000-0000000000a1", "name": "OEE",
            "kpiValueTimeReference": "DAY",
            "kpiValues": [{"id": "00000000-0000-0000-0000-0000000000b1", "name": "Actual"},
                          {"id": "00000000-0000-0000-0000-0000000000b2", "name": "Target"}],
            "recordingTeams": []
        }))
        .unwrap()
    }

    fn v(slot: &Named, n: serde_json::Number) -> RecordValue {
        RecordValue {
            kpi_value_id: slot.id,
            value: n,
            forecast: false,
        }
    }

    #[test]
    fn classify_and_keep_targets() {
        let k = kpi();
        let (actual, target) = (&k.kpi_values[0], &k.kpi_values[1]);
        let planned = vec![v(actual, 85.into())];
        assert_eq!(classify(&k, &planned, None).0, Change::New);
        let cur = [
            v(actual, crate::plan::number(85.0).unwrap()),
            v(target, 90.into()),
        ];
        assert_eq!(classify(&k, &planned, Some(&cur[..])).0, Change::Unchanged);
        let cur2 = [v(actual, 80.into()), v(target, 90.into())];
        let (c, changes) = classify(&k, &planned, Some(&cur2[..]));
        assert_eq!(c, Change::Changed);
        assert_eq!(changes[0].old.as_ref().unwrap().to_string(), "80");
        let index = CatalogIndex::new(crate::api::Catalog {
            teams: Vec::new(),
            kpis: vec![k.clone()],
        });
        let planned: Arc<[RecordValue]> = planned.into();
        let (body, kept) = body_values(&index, 0, &planned, Some(&cur2[..]), true);
        assert_eq!((body.len(), kept), (2, 1));
        assert_eq!(body[1], v(target, 90.into()));
        let (same, kept) = body_values(&index, 0, &planned, Some(&cur2[..]), false);
        assert_eq!(kept, 0);
        // Nothing kept: the planned values themselves, not a copy.
        assert!(Arc::ptr_eq(&same, &planned));
        // A file that carries the target keeps its own.
        let both: Arc<[RecordValue]> = vec![v(actual, 85.into()), v(target, 95.into())].into();
        assert_eq!(body_values(&index, 0, &both, Some(&cur2[..]), true).1, 0);
    }
}
