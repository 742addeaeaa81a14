//! The upload stage: turn the planned records into PUTs, compare them with what the server
//! holds (diff), keep the server's targets, send them concurrently with retries, journal what
//! was acknowledged, and save what is needed to undo the import.
//!
//! - [`engine`]: concurrent sending with adaptive limits and retries.
//! - [`journal`]: the append-only journal that makes a re-run resume.
//! - [`undo`]: the previous values of every record an import touches.
//! - [`state`]: where journals and run directories live; content hashes.

pub mod engine;
pub mod journal;
pub mod state;
pub mod undo;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::api::{ApiError, Client, KpiDetail, RecordKey, RecordValue, is_target_name};
use crate::validate::{CatalogIndex, Validated};

/// A record to write: its key, the values planned from the file, and where they came from.
#[derive(Debug, Clone)]
pub struct Item {
    pub key: RecordKey,
    pub values: Vec<RecordValue>,
    /// Catalog indexes (for names in reports).
    pub kpi: u32,
    pub team: u32,
    pub sub_tile: u16,
    /// Source rows, ascending.
    pub rows: Vec<u64>,
}

impl Item {
    /// A short hash of the planned values: a journal entry counts only for the same values.
    /// (SipHash with fixed keys: should another Rust release hash differently, an interrupted
    /// import sends its acknowledged records once more, which a PUT allows.)
    pub fn values_hash(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        for v in &self.values {
            v.kpi_value_id.as_bytes().hash(&mut h);
            v.value.as_i64().hash(&mut h);
            v.value.as_f64().map(f64::to_bits).hash(&mut h);
            v.forecast.hash(&mut h);
        }
        format!("{:016x}", h.finish())
    }
}

/// A JSON number for a planned value: whole numbers as integers (`177`, not `177.0`).
pub fn number(v: f64) -> Option<serde_json::Number> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Some(serde_json::Number::from(v as i64))
    } else {
        serde_json::Number::from_f64(v)
    }
}

/// The planned records of a dry run, in plan order.
pub fn items(v: &Validated<'_>) -> Vec<Item> {
    v.records
        .iter()
        .map(|r| {
            let es = &v.entries[r.clone()];
            let e = es[0];
            let kpi = v.index.kpi(e.kpi);
            let rows = crate::validate::source_rows(es);
            Item {
                key: v.index.record_key(e.kpi, e.team, e.date, e.sub_tile),
                values: es
                    .iter()
                    .filter_map(|x| {
                        Some(RecordValue {
                            kpi_value_id: kpi.kpi_values[x.slot as usize].id,
                            value: number(x.value)?,
                            forecast: x.forecast,
                        })
                    })
                    .collect(),
                kpi: e.kpi,
                team: e.team,
                sub_tile: e.sub_tile,
                rows,
            }
        })
        .collect()
}

/// What the server holds now, by record key.
pub type Current = HashMap<RecordKey, Vec<RecordValue>>;

/// Reads the server's current records for `keys`: per KPI, one `GET /exchange/kpi-data` per
/// window of the interval's range limit that holds a planned date, `concurrency` at a time.
/// When the server's answers do not carry the key fields (the public schema does not show
/// them), the records of that window are read one by one instead.
pub async fn read_current(
    client: &Client,
    index: &CatalogIndex,
    keys: &[RecordKey],
    concurrency: usize,
) -> Result<(Current, u64), ApiError> {
    let mut by_kpi: BTreeMap<Uuid, Vec<NaiveDate>> = BTreeMap::new();
    for k in keys {
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
        for (from, to) in detail
            .kpi_value_time_reference
            .windows(*first, *last, client.version())
        {
            let i = dates.partition_point(|d| *d < from);
            if dates.get(i).is_some_and(|d| *d <= to) {
                windows.push((*kpi, from, to));
            }
        }
    }
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (kpi, from, to) in windows.iter().copied() {
        let client = client.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (
                kpi,
                from,
                to,
                client.records_window(kpi, None, from, to).await,
            )
        });
    }
    let mut current = Current::new();
    let mut requests = windows.len() as u64;
    let mut unkeyed: Vec<(Uuid, NaiveDate, NaiveDate)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (kpi, from, to, res) = joined.map_err(|e| ApiError::Config {
            message: format!("a request task failed: {e}"),
            help: None,
        })?;
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
    let wanted: Vec<RecordKey> = keys
        .iter()
        .filter(|k| {
            unkeyed
                .iter()
                .any(|(kpi, from, to)| k.kpi == *kpi && k.date >= *from && k.date <= *to)
        })
        .copied()
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for key in wanted {
        let client = client.clone();
        let sem = sem.clone();
        requests += 1;
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (key, client.record(&key).await)
        });
    }
    while let Some(joined) = set.join_next().await {
        let (key, res) = joined.map_err(|e| ApiError::Config {
            message: format!("a request task failed: {e}"),
            help: None,
        })?;
        if let Some(r) = res? {
            current.insert(key, r.values);
        }
    }
    Ok((current, requests))
}

/// How a planned record compares with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Changed,
    Unchanged,
}

/// One value that differs from the server's.
#[derive(Debug, Clone, Serialize)]
pub struct ValueChange {
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forecast: bool,
    pub old: Option<serde_json::Number>,
    pub new: serde_json::Number,
}

fn same(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// Whether every value of `part` is in `whole` with the same number.
pub fn holds(whole: &[RecordValue], part: &[RecordValue]) -> bool {
    part.iter().all(|p| {
        whole.iter().any(|w| {
            w.kpi_value_id == p.kpi_value_id && w.forecast == p.forecast && same(&w.value, &p.value)
        })
    })
}

/// Compares a planned record with the server's record (if any).
pub fn classify(
    kpi: &KpiDetail,
    planned: &[RecordValue],
    current: Option<&Vec<RecordValue>>,
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
pub fn body_values(
    kpi: &KpiDetail,
    planned: &[RecordValue],
    current: Option<&Vec<RecordValue>>,
    keep_targets: bool,
) -> (Vec<RecordValue>, usize) {
    let mut values = planned.to_vec();
    let mut kept = 0;
    if keep_targets && let Some(cur) = current {
        for c in cur {
            let is_target = !c.forecast
                && kpi
                    .value(c.kpi_value_id)
                    .is_some_and(|n| is_target_name(&n.name));
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
    (values, kept)
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
    fn whole_numbers_are_integers() {
        assert_eq!(number(177.0).unwrap().to_string(), "177");
        assert_eq!(number(87.5).unwrap().to_string(), "87.5");
        assert!(number(f64::NAN).is_none());
    }

    #[test]
    fn classify_and_keep_targets() {
        let k = kpi();
        let (actual, target) = (&k.kpi_values[0], &k.kpi_values[1]);
        let planned = vec![v(actual, 85.into())];
        assert_eq!(classify(&k, &planned, None).0, Change::New);
        let cur = vec![v(actual, number(85.0).unwrap()), v(target, 90.into())];
        assert_eq!(classify(&k, &planned, Some(&cur)).0, Change::Unchanged);
        let cur2 = vec![v(actual, 80.into()), v(target, 90.into())];
        let (c, changes) = classify(&k, &planned, Some(&cur2));
        assert_eq!(c, Change::Changed);
        assert_eq!(changes[0].old.as_ref().unwrap().to_string(), "80");
        let (body, kept) = body_values(&k, &planned, Some(&cur2), true);
        assert_eq!((body.len(), kept), (2, 1));
        assert_eq!(body[1], v(target, 90.into()));
        assert_eq!(body_values(&k, &planned, Some(&cur2), false).1, 0);
        // A file that carries the target keeps its own.
        let both = vec![v(actual, 85.into()), v(target, 95.into())];
        assert_eq!(body_values(&k, &both, Some(&cur2), true).1, 0);
    }
}
