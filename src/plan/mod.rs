//! Plan stage: the dedupe stage's [`Records`] in, a [`Plan`] out — the records to write, read
//! through [`Planned`] one [`PlannedRecord`] at a time (API key, the values to send, the rows
//! they came from), what the records show that no single row did (KPIs with target slots
//! whose records carry no target), added to the [`Findings`], and the counts per KPI and per
//! team that the report gives ([`Tally`]).

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
    /// Per KPI and per team, the records' counts (found in the plan's pass over them).
    pub(crate) tally: Tally,
}

/// The records per KPI and per team, indexed by the catalog's numbers.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Per KPI with records.
    pub(crate) kpis: Vec<Option<KpiTally>>,
    /// Per team: (records, values).
    pub(crate) teams: Vec<(u64, u64)>,
}

/// One KPI's records: how many, their values, which teams, and their first and last date.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KpiTally {
    pub(crate) records: u64,
    pub(crate) values: u64,
    /// Indexed by the catalog's team number.
    pub(crate) teams: Vec<bool>,
    pub(crate) first: chrono::NaiveDate,
    pub(crate) last: chrono::NaiveDate,
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
        let (seen, tally) = per_kpi(&records, index);
        let without_targets = warn_missing_targets(&seen, index, origin, findings);
        warn_catalog_gaps(&seen, index, origin, findings);
        Plan {
            records: Arc::new(records),
            without_targets,
            tally,
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

/// Per KPI, what its records show, and the report's counts per KPI and per team, in one pass
/// over them (chunks on all cores, combined in order): the missing targets' and the catalog
/// gaps' warnings used to take a pass each, one of them on one thread (8-10 ms each of a
/// 2M-value dry run), and the report's counts a third.
fn per_kpi(records: &Records, index: &CatalogIndex) -> (Vec<Seen>, Tally) {
    use rayon::prelude::*;
    // Per KPI, its target slots as bits (slots past 127 are not checked).
    let targets: Vec<u128> = index.targets.iter().map(|(bits, _)| *bits).collect();
    let n_teams = index.teams.len();
    // Indexed by the catalog's KPI and team numbers: one array step per record (a map's
    // look-up per record was about 50 instructions, where every record of a wide export
    // lacks targets).
    let empty = || {
        (
            vec![Seen::default(); targets.len()],
            Tally {
                kpis: vec![None; targets.len()],
                teams: vec![(0, 0); n_teams],
            },
        )
    };
    let count = |chunk: std::ops::Range<usize>| {
        let mut c = Counts::new(&targets, n_teams);
        records.each_in(chunk, |es| c.add(es));
        c.finish(empty())
    };
    records.chunks(1 << 16).into_par_iter().map(count).reduce(
        empty,
        |(mut left, mut lt), (right, rt)| {
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
            for (a, b) in lt.kpis.iter_mut().zip(rt.kpis) {
                match (a.as_mut(), b) {
                    (_, None) => {}
                    (None, Some(b)) => *a = Some(b),
                    (Some(a), Some(b)) => {
                        a.records += b.records;
                        a.values += b.values;
                        for (x, y) in a.teams.iter_mut().zip(b.teams) {
                            *x |= y;
                        }
                        a.first = a.first.min(b.first);
                        a.last = a.last.max(b.last);
                    }
                }
            }
            for (a, b) in lt.teams.iter_mut().zip(rt.teams) {
                a.0 += b.0;
                a.1 += b.1;
            }
            (left, lt)
        },
    )
}

/// One KPI's counts in a chunk ([`Counts`]).
#[derive(Clone, Copy)]
struct KpiCounts {
    records: u64,
    values: u64,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
    /// `u64::MAX`: none yet.
    least_row: u64,
    /// Targets the KPI has (bits of its slots; slots past 127 are not checked).
    targets: u128,
    /// Records without a target, and the first one's row.
    missing: (usize, u64),
}

/// One chunk's counts, indexed by the catalog's KPI and team numbers, made into [`Seen`]
/// and [`Tally`] once at the end: the step [`per_kpi`] takes for each of millions of
/// records touches one plain struct of its KPI and one of its team, no `Option` (an
/// `Option<KpiTally>` and a `Seen` per KPI cost about 135 instructions a record of the
/// 50-column wide export; this, about 70).
struct Counts {
    kpis: Vec<KpiCounts>,
    /// KPI * teams + team: whether the team has a record of the KPI.
    teams_of_kpi: Vec<bool>,
    /// Per team: (records, values).
    teams: Vec<(u64, u64)>,
    n_teams: usize,
}

impl Counts {
    fn new(targets: &[u128], n_teams: usize) -> Self {
        Counts {
            kpis: targets
                .iter()
                .map(|&targets| KpiCounts {
                    records: 0,
                    values: 0,
                    first: chrono::NaiveDate::MAX,
                    last: chrono::NaiveDate::MIN,
                    least_row: u64::MAX,
                    targets,
                    missing: (0, 0),
                })
                .collect(),
            teams_of_kpi: vec![false; targets.len() * n_teams],
            teams: vec![(0, 0); n_teams],
            n_teams,
        }
    }

    /// One record's entries (never empty; its KPI, team and date are every entry's).
    #[inline(always)]
    fn add(&mut self, es: &[crate::record::Entry]) {
        let Some(first) = es.first() else {
            return;
        };
        let (kpi, team, row) = (first.kpi as usize, first.team as usize, first.row());
        let Some(k) = self.kpis.get_mut(kpi) else {
            return;
        };
        let n = es.len() as u64;
        k.records += 1;
        k.values += n;
        k.first = k.first.min(first.date);
        k.last = k.last.max(first.date);
        k.least_row = k.least_row.min(row);
        let targets = k.targets;
        if targets != 0
            && !es
                .iter()
                .any(|e| !e.forecast && e.slot < 128 && targets & (1u128 << e.slot) != 0)
        {
            if k.missing.0 == 0 {
                k.missing.1 = row;
            }
            k.missing.0 += 1;
        }
        if let Some(t) = self.teams.get_mut(team) {
            t.0 += 1;
            t.1 += n;
            if let Some(seen) = self.teams_of_kpi.get_mut(kpi * self.n_teams + team) {
                *seen = true;
            }
        }
    }

    /// The counts as [`Seen`] and [`Tally`] (`empty`: both with nothing counted).
    fn finish(self, (mut seen, mut tally): (Vec<Seen>, Tally)) -> (Vec<Seen>, Tally) {
        for (kpi, c) in self.kpis.iter().enumerate() {
            if c.records == 0 {
                continue;
            }
            let (Some(s), Some(k)) = (seen.get_mut(kpi), tally.kpis.get_mut(kpi)) else {
                continue;
            };
            s.least_row = Some(c.least_row);
            s.missing_targets = Some(c.missing).filter(|m| m.0 > 0);
            let at = kpi * self.n_teams;
            *k = Some(KpiTally {
                records: c.records,
                values: c.values,
                teams: self.teams_of_kpi[at..at + self.n_teams].to_vec(),
                first: c.first,
                last: c.last,
            });
        }
        tally.teams = self.teams;
        (seen, tally)
    }
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

    /// The counts per KPI and per team found in the plan's pass (chunks on all cores,
    /// combined) are those of one plain pass over the records.
    #[test]
    fn the_tally_is_a_plain_count() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/catalog.json"))
                .unwrap();
        let index = CatalogIndex::new(serde_json::from_str(&text).unwrap());
        let base = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        // Over three chunks of records; KPIs and teams unevenly, one or two slots a record.
        let n = 200_000;
        let entries: Vec<crate::record::Entry> = (0..n)
            .flat_map(|i| {
                let kpi = [0, 0, 0, 1, 5][rng.usize(0..5)];
                let team = rng.u32(0..3) * 2;
                let date = base + chrono::Days::new(rng.u64(0..100_000));
                let slots = if rng.bool() { 1 } else { 2 };
                (0..slots).map(move |slot| crate::record::Entry {
                    kpi,
                    date,
                    team,
                    sub_tile: crate::record::NO_SUB_TILE,
                    slot,
                    forecast: false,
                    percent_sign: false,
                    value: 1.0,
                    row: i + 2,
                    seq: slot,
                })
            })
            .collect();
        let mut findings = Findings::default();
        let records = crate::dedupe::merge(
            entries,
            crate::dedupe::OnConflict::Last,
            &index,
            &Origin::default(),
            &mut findings,
        );
        assert!(records.len() > 2 * (1 << 16), "{}", records.len());
        let mut kpis: Vec<Option<KpiTally>> = vec![None; index.catalog.kpis.len()];
        let mut teams = vec![(0u64, 0u64); index.teams.len()];
        for r in records.ranges(0..records.len()) {
            let e = records.entries[r.start];
            let n = r.len() as u64;
            let k = kpis[e.kpi as usize].get_or_insert_with(|| KpiTally {
                records: 0,
                values: 0,
                teams: vec![false; index.teams.len()],
                first: e.date,
                last: e.date,
            });
            k.records += 1;
            k.values += n;
            k.teams[e.team as usize] = true;
            k.first = k.first.min(e.date);
            k.last = k.last.max(e.date);
            teams[e.team as usize].0 += 1;
            teams[e.team as usize].1 += n;
        }
        let plan = Plan::new(records, &index, &Origin::default(), &mut findings);
        assert_eq!(plan.tally.kpis, kpis);
        assert_eq!(plan.tally.teams, teams);
        assert!(kpis[0].as_ref().unwrap().values > kpis[0].as_ref().unwrap().records);
    }

    #[test]
    fn whole_numbers_are_integers() {
        assert_eq!(number(177.0).unwrap().to_string(), "177");
        assert_eq!(number(87.5).unwrap().to_string(), "87.5");
        assert!(number(f64::NAN).is_none());
    }
}
