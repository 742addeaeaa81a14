//! Plan stage: the dedupe stage's [`Records`] in, a [`Plan`] out — the records to write, read
//! through [`Planned`] one [`PlannedRecord`] at a time (API key, the values to send, the rows
//! they came from), and what the records show that no single row did (KPIs with target slots
//! whose records carry no target), added to the [`Findings`].

use std::sync::Arc;

use crate::api::{RecordKey, RecordValue};
use crate::catalog::{CatalogIndex, TargetsFrom, Unit};
use crate::dedupe::Records;
use crate::diag::{Diagnostic, Severity};
use crate::findings::Findings;
use crate::record::{Origin, source_rows};

/// The records to write.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Shared with [`Planned`], which makes each record from them when asked.
    pub(crate) records: Arc<Records>,
    /// Records of KPIs with target slots that carry no target value (the server may reset
    /// their targets unless they are read and sent back).
    pub(crate) without_targets: u64,
}

/// A record ready to send.
#[derive(Debug, Clone)]
pub(crate) struct PlannedRecord {
    pub(crate) key: RecordKey,
    /// Shared with the request body that sends them.
    pub(crate) values: std::sync::Arc<[RecordValue]>,
    /// Catalog indices (for names in reports).
    pub(crate) kpi: u32,
    pub(crate) team: u32,
    /// Source rows, ascending.
    pub(crate) rows: Vec<u64>,
}

/// A short hash of a record's planned values: a journal entry counts only for the same values.
/// (SipHash with fixed keys: should another Rust release hash differently, an interrupted
/// import sends its acknowledged records once more, which a PUT allows.) A number, made again
/// when needed; written as [`hash_text`].
pub(crate) fn values_hash(values: &[RecordValue]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for v in values.iter() {
        v.kpi_value_id.as_bytes().hash(&mut h);
        v.value.as_i64().hash(&mut h);
        v.value.as_f64().map(f64::to_bits).hash(&mut h);
        v.forecast.hash(&mut h);
    }
    h.finish()
}

/// A values hash as the journal writes it.
pub(crate) fn hash_text(h: u64) -> String {
    format!("{h:016x}")
}

/// A JSON number for a planned value: whole numbers as integers (`177`, not `177.0`).
pub(crate) fn number(v: f64) -> Option<serde_json::Number> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Some(serde_json::Number::from(v as i64))
    } else {
        serde_json::Number::from_f64(v)
    }
}

impl Plan {
    /// Plans `records`, adding what the plan shows to `findings`.
    pub(crate) fn new(
        records: Records,
        index: &CatalogIndex,
        origin: &Origin,
        findings: &mut Findings,
    ) -> Plan {
        let seen = per_kpi(&records, index);
        let without_targets = warn_missing_targets(&seen, index, origin, findings);
        warn_catalog_gaps(&seen, index, origin, findings);
        Plan {
            records: Arc::new(records),
            without_targets,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records.len() == 0
    }

    /// The records as the API takes them, in plan order.
    pub(crate) fn planned(&self, index: &Arc<CatalogIndex>) -> Planned {
        Planned {
            records: self.records.clone(),
            index: index.clone(),
        }
    }
}

/// The planned records, each made from the plan's entries when asked rather than all held:
/// at 1M records, holding them took 220 MB beside the 98 MB of entries they are made from
/// (making one again costs a key lookup and an allocation, ~0.1 µs, against ~30 µs to send
/// it). Cheap to clone: the sender's tasks hold one.
#[derive(Clone)]
pub(crate) struct Planned {
    records: Arc<Records>,
    index: Arc<CatalogIndex>,
}

impl Planned {
    /// No records (nothing was planned, or records were not asked for).
    pub(crate) fn none(index: &Arc<CatalogIndex>) -> Planned {
        Planned {
            records: Arc::new(Records::default()),
            index: index.clone(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    fn entries(&self, i: usize) -> &[crate::record::Entry] {
        &self.records.entries[self.records.range(i)]
    }

    /// Record `i`'s first entry (its KPI, team, date and sub-tile are every entry's).
    pub(crate) fn head(&self, i: usize) -> crate::record::Entry {
        self.records.head(i)
    }

    /// The value record `i` sends for the KPI value `slot` (the first, if forecast and
    /// actual both), without making the record.
    pub(crate) fn value(&self, i: usize, slot: uuid::Uuid) -> Option<f64> {
        let es = self.entries(i);
        let kpi = self.index.kpi(es[0].kpi);
        es.iter()
            .filter(|e| {
                kpi.kpi_values
                    .get(e.slot as usize)
                    .is_some_and(|v| v.id == slot)
            })
            .find_map(|e| number(e.value)?.as_f64())
    }

    /// Record `i`'s catalog KPI index.
    pub(crate) fn kpi(&self, i: usize) -> u32 {
        self.records.head(i).kpi
    }

    /// Record `i`'s API key.
    pub(crate) fn key(&self, i: usize) -> RecordKey {
        let e = self.records.head(i);
        self.index.record_key(e.kpi, e.team, e.date, e.sub_tile)
    }

    /// Record `i`'s values as the API takes them.
    pub(crate) fn values(&self, i: usize) -> Arc<[RecordValue]> {
        let es = self.entries(i);
        let kpi = self.index.kpi(es[0].kpi);
        es.iter()
            .filter_map(|x| {
                Some(RecordValue {
                    kpi_value_id: kpi.kpi_values.get(x.slot as usize)?.id,
                    value: number(x.value)?,
                    forecast: x.forecast,
                })
            })
            .collect()
    }

    /// Record `i`, made.
    pub(crate) fn get(&self, i: usize) -> PlannedRecord {
        let es = self.entries(i);
        PlannedRecord {
            key: self.key(i),
            values: self.values(i),
            kpi: es[0].kpi,
            team: es[0].team,
            rows: source_rows(es),
        }
    }

    /// Every record, in plan order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = PlannedRecord> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// What one pass over the records finds for a KPI (indexed by the catalog's number).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Seen {
    /// Records without a target: how many, and the first one's row (in record order).
    missing_targets: Option<(usize, u64)>,
    /// The least row of any of its records.
    least_row: Option<u64>,
}

/// Per KPI, what its records show, in one pass over them (chunks on all cores, combined in
/// order): the missing targets' and the catalog gaps' warnings used to take a pass each,
/// one of them on one thread (8-10 ms each of a 2M-value dry run).
fn per_kpi(records: &Records, index: &CatalogIndex) -> Vec<Seen> {
    use rayon::prelude::*;
    // Per KPI, its target slots as bits (slots past 127 are not checked).
    let targets: Vec<u128> = index.targets.iter().map(|(bits, _)| *bits).collect();
    let entries = &records.entries;
    // Indexed by the catalog's KPI number: one array step per record (a map's look-up per
    // record was about 50 instructions, where every record of a wide export lacks targets).
    let empty = || vec![Seen::default(); targets.len()];
    let count = |chunk: std::ops::Range<usize>| {
        let mut m = empty();
        for r in records.ranges(chunk) {
            let es = &entries[r];
            let (kpi, row) = (es[0].kpi as usize, es[0].row());
            let Some(seen) = m.get_mut(kpi) else {
                continue;
            };
            seen.least_row = Some(seen.least_row.map_or(row, |r| r.min(row)));
            let targets = targets[kpi];
            if targets == 0 {
                continue;
            }
            let has_target = es
                .iter()
                .any(|e| !e.forecast && e.slot < 128 && targets & (1u128 << e.slot) != 0);
            if !has_target {
                seen.missing_targets.get_or_insert((0, row)).0 += 1;
            }
        }
        m
    };
    records
        .chunks(1 << 16)
        .into_par_iter()
        .map(count)
        .reduce(empty, |mut left, right| {
            for (l, r) in left.iter_mut().zip(right) {
                l.missing_targets = match (l.missing_targets, r.missing_targets) {
                    (Some((n, row)), Some((m, _))) => Some((n + m, row)),
                    (l, r) => l.or(r),
                };
                l.least_row = match (l.least_row, r.least_row) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            left
        })
}

/// A warning per KPI that is planned and whose unit or interval neither the catalog nor the
/// mapping gives, naming the mapping key that settles it.
fn warn_catalog_gaps(
    seen: &[Seen],
    index: &CatalogIndex,
    origin: &Origin,
    findings: &mut Findings,
) {
    let first_row = seen.iter().enumerate().filter_map(|(k, s)| {
        let k = k as u32;
        let unsure = index.unit(k) == Unit::Unknown || !index.intervals[k as usize].1;
        Some((k, s.least_row.filter(|_| unsure)?))
    });
    for (kpi, row) in first_row {
        let name = &index.kpi(kpi).name;
        if index.unit(kpi) == Unit::Unknown {
            findings.diags.push(Diagnostic {
                code: "vsimport::catalog::unit_unknown",
                severity: Severity::Warning,
                location: origin.location(row, None, None),
                message: format!(
                    "the catalog gives no unit for KPI {name:?}: its values are sent as the file has them"
                ),
                help: Some(format!(
                    "if it takes times of day or percentages, say so in the mapping: [kpi.{name:?}] unit = \"time\", \"percent-points\" (85), \"percent-fraction\" (0.85) or \"number\""
                )),
                context: None,
            });
        }
        if !index.intervals[kpi as usize].1 {
            findings.diags.push(Diagnostic {
                code: "vsimport::catalog::interval_unknown",
                severity: Severity::Warning,
                location: origin.location(row, None, None),
                message: format!(
                    "the catalog gives no recording interval for KPI {name:?}: its records are filed under the file's dates, as for a daily KPI"
                ),
                help: Some(format!(
                    "if it is recorded weekly (on Mondays) or monthly (on the 1st), say so in the mapping: [kpi.{name:?}] interval = \"WEEK\" or \"MONTH\""
                )),
                context: None,
            });
        }
    }
}

/// The names of a KPI's target slots and where that comes from, for messages.
pub(crate) fn target_slots(index: &CatalogIndex, kpi: u32) -> (Vec<String>, TargetsFrom) {
    let k = index.kpi(kpi);
    let names = (0..k.kpi_values.len())
        .filter(|i| index.is_target(kpi, *i))
        .map(|i| k.kpi_values[i].name.clone())
        .collect();
    (names, index.targets[kpi as usize].1)
}

/// A warning per KPI whose records carry none of its target slots (the server may then set
/// the targets to 0 or a historical value); how many records that is.
fn warn_missing_targets(
    seen: &[Seen],
    index: &CatalogIndex,
    origin: &Origin,
    findings: &mut Findings,
) -> u64 {
    let per_kpi = seen.iter().map(|s| s.missing_targets);
    let mut total = 0;
    for (kpi, (n, row)) in per_kpi
        .into_iter()
        .enumerate()
        .filter_map(|(k, c)| Some((k as u32, c?)))
    {
        total += n as u64;
        let k = index.kpi(kpi);
        let (slots, from) = target_slots(index, kpi);
        findings.diags.push(Diagnostic {
            code: "vsimport::plan::targets_missing",
            severity: Severity::Warning,
            location: origin.location(row, None, None),
            message: format!(
                "{} of KPI {:?} {} no target value (target slot {}, {}): the server may set their targets to 0 or a historical target",
                crate::report::count(n as u64, "record", "records"),
                k.name,
                crate::report::plural(n as u64, "carries", "carry"),
                slots
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                from.why()
            ),
            help: Some(
                "map the target column; an import keeps the server's targets for these records (it reads them and sends them back) unless --no-keep-targets"
                    .into(),
            ),
            context: None,
        });
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_integers() {
        assert_eq!(number(177.0).unwrap().to_string(), "177");
        assert_eq!(number(87.5).unwrap().to_string(), "87.5");
        assert!(number(f64::NAN).is_none());
    }
}
