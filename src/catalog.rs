//! The tenant's catalog as lookup tables: names (or ids) of KPIs, teams, value slots and
//! sub-tiles to indices, with "did you mean" for names that match nothing. Validate, dedupe,
//! plan, upload and report all speak of KPIs and teams by these indices.

use std::path::Path;

use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::api::{Catalog, Interval, KpiDetail, Named, RecordKey};
use crate::diag::Problem;
use crate::map::{DeclaredUnit, KpiDeclared};
use crate::suggest::did_you_mean;

/// A catalog file could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}: {message}")]
#[diagnostic(code(vsimport::catalog::invalid))]
pub(crate) struct CatalogError {
    pub(crate) path: String,
    pub(crate) message: String,
    #[help]
    pub(crate) help: Option<String>,
}

/// A catalog file's text (`vsimport kpis --save`, the emulator's `--catalog`).
pub(crate) fn read_file(path: &Path) -> Result<String, CatalogError> {
    std::fs::read_to_string(path).map_err(|e| CatalogError {
        path: path.display().to_string(),
        message: format!("cannot read the catalog file: {e}"),
        help: Some("pass --catalog with a JSON file such as samples/catalog.json".into()),
    })
}

/// The value slots of `k` that `pred` picks, as bits (slots past 127 are not tracked).
fn slot_bits(k: &KpiDetail, pred: impl Fn(&Named) -> bool) -> u128 {
    k.kpi_values
        .iter()
        .enumerate()
        .filter(|(i, v)| *i < 128 && pred(v))
        .fold(0u128, |m, (i, _)| m | (1u128 << i))
}

/// Reads a catalog file.
pub(crate) fn load_file(path: &Path) -> Result<Catalog, CatalogError> {
    let text = read_file(path)?;
    let shown = path.display().to_string();
    // Straight into the catalog: going through a JSON value first (as `parse_file` must, to
    // keep each KPI's JSON) took 12.5 of the 21.7 M instructions a one-row dry run of a 50-KPI
    // catalog spends before reading. A file that is not a catalog goes the long way, so its
    // message is the one `parse_file` gives.
    match serde_json::from_str::<Catalog>(&text) {
        Ok(catalog) => {
            check(&catalog).map_err(|(message, help)| CatalogError {
                path: shown,
                message,
                help: help.map(str::to_string),
            })?;
            Ok(catalog)
        }
        Err(_) => Ok(parse_file(&shown, &text)?.0),
    }
}

/// Each KPI needs an id of its own and at least one value slot: the message and help if not.
fn check(catalog: &Catalog) -> Result<(), (String, Option<&'static str>)> {
    let mut seen = std::collections::HashSet::new();
    for kpi in &catalog.kpis {
        if !seen.insert(kpi.id) {
            return Err((format!("KPI id {} appears twice", kpi.id), None));
        }
        if kpi.kpi_values.is_empty() {
            return Err((
                format!("KPI {:?} has no kpiValues", kpi.name),
                Some("every KPI needs at least one value slot, e.g. Actual"),
            ));
        }
    }
    Ok(())
}

/// Parses a catalog file `{"teams": [...], "kpis": [...]}`: the catalog, and each KPI's JSON
/// exactly as the file has it. Each KPI needs an id of its own and at least one value slot.
pub(crate) fn parse_file(
    shown: &str,
    text: &str,
) -> Result<(Catalog, Vec<serde_json::Value>), CatalogError> {
    let err = |message: String, help: Option<&str>| CatalogError {
        path: shown.to_string(),
        message,
        help: help.map(str::to_string),
    };
    const SHAPE: &str = r#"a catalog is {"teams": [{"id", "name"}], "kpis": [<KPI detail objects as GET /exchange/kpi/{id} returns them>]}"#;
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        err(
            format!(
                "not valid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
            Some(SHAPE),
        )
    })?;
    let catalog = <Catalog as serde::Deserialize>::deserialize(&value)
        .map_err(|e| err(format!("not a catalog: {e}"), Some(SHAPE)))?;
    let raw_kpis = match value.get_mut("kpis").map(serde_json::Value::take) {
        Some(serde_json::Value::Array(kpis)) => kpis,
        _ => Vec::new(),
    };
    check(&catalog).map_err(|(message, help)| err(message, help))?;
    Ok((catalog, raw_kpis))
}

/// What a KPI's values are, as the catalog or the mapping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Minutes since midnight (the catalog's unit `Time`, or `unit = "time"`).
    Time,
    /// A percentage; the scale declared (`percent-points`: 85, `percent-fraction`: 0.85), or
    /// `None`: the file's cells decide, one scale per KPI.
    Percent(Option<Scale>),
    /// Any other unit: numbers as they are.
    Number,
    /// The catalog gives no unit and the mapping declares none: numbers as they are, with a
    /// warning naming the mapping key that settles it.
    Unknown,
}

impl Unit {
    /// The unit as reports name it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Unit::Time => "time",
            Unit::Percent(Some(Scale::Points)) => "percent-points",
            Unit::Percent(Some(Scale::Fraction)) => "percent-fraction",
            Unit::Percent(None) => "percent",
            Unit::Number => "number",
            Unit::Unknown => "unknown",
        }
    }
}

/// The scale of a percent KPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    /// 85 means 85 %.
    Points,
    /// 0.85 means 85 %.
    Fraction,
}

/// Where a KPI's target slots come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TargetsFrom {
    /// The mapping's `targets`.
    Mapping,
    /// The catalog marks the slots.
    Catalog,
    /// The slots' names (Target, Plan, Soll, …).
    Names,
}

impl TargetsFrom {
    /// Why these slots are taken as targets, for messages.
    pub(crate) fn why(self) -> &'static str {
        match self {
            TargetsFrom::Mapping => "declared in the mapping",
            TargetsFrom::Catalog => "marked by the catalog",
            TargetsFrom::Names => "found by name",
        }
    }
}

/// Indices into the catalog, with what the mapping declares applied.
pub(crate) struct CatalogIndex {
    pub(crate) catalog: Catalog,
    /// Every team: the catalog's list plus any recording team it lacks.
    pub(crate) teams: Vec<Named>,
    kpi_names: FxHashMap<String, u32>,
    team_names: FxHashMap<String, u32>,
    /// `recording[kpi * teams + team]`.
    recording: Vec<bool>,
    /// Per KPI: what its values are.
    pub(crate) units: Vec<Unit>,
    /// Per KPI: its interval (the mapping's, the catalog's, or DAY), and whether either gave it.
    pub(crate) intervals: Vec<(Interval, bool)>,
    /// Per KPI: its target slots as bits (slots past 127 are not tracked), and where they come
    /// from.
    pub(crate) targets: Vec<(u128, TargetsFrom)>,
    /// Per KPI: its records are dated on a Monday or the 1st (WEEK and MONTH intervals).
    pub(crate) snaps: Vec<bool>,
    /// Per KPI without known sub-tiles: a field of its details that looks like a list of
    /// sub-tiles under a name not read (`sub_tiles_field` reads it).
    pub(crate) unread_sub_tiles: Vec<Option<String>>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A name from a cell as a message quotes it: at most [`crate::diag::SHOWN_CHARS`]
/// characters (its control characters are escaped by the `{:?}` that quotes it).
fn shown(name: &str) -> std::borrow::Cow<'_, str> {
    let name = name.trim();
    match name.char_indices().nth(crate::diag::SHOWN_CHARS) {
        None => std::borrow::Cow::Borrowed(name),
        Some((at, _)) => std::borrow::Cow::Owned(format!(
            "{}… ({} more characters)",
            &name[..at],
            name[at..].chars().count()
        )),
    }
}

fn suggestion<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<String> {
    did_you_mean(name, candidates.clone())
        .map(|s| format!("did you mean {s:?}?"))
        .or_else(|| {
            let all: Vec<&str> = candidates.into_iter().take(10).collect();
            (!all.is_empty()).then(|| format!("known: {}", all.join(", ")))
        })
}

impl CatalogIndex {
    /// The catalog as it is: units, intervals and target slots as the catalog gives them.
    pub(crate) fn new(catalog: Catalog) -> CatalogIndex {
        let mut teams: Vec<Named> = catalog.teams.clone();
        for k in &catalog.kpis {
            for t in &k.recording_teams {
                if !teams.iter().any(|x| x.id == t.id) {
                    teams.push(t.clone());
                }
            }
        }
        let mut kpi_names = FxHashMap::default();
        for (i, k) in catalog.kpis.iter().enumerate() {
            kpi_names.entry(k.name.clone()).or_insert(i as u32);
            kpi_names.entry(key(&k.name)).or_insert(i as u32);
            kpi_names.entry(k.id.to_string()).or_insert(i as u32);
        }
        let mut team_names = FxHashMap::default();
        for (i, t) in teams.iter().enumerate() {
            team_names.entry(t.name.clone()).or_insert(i as u32);
            team_names.entry(key(&t.name)).or_insert(i as u32);
            team_names.entry(t.id.to_string()).or_insert(i as u32);
        }
        let mut recording = vec![false; catalog.kpis.len() * teams.len()];
        for (ki, k) in catalog.kpis.iter().enumerate() {
            for t in &k.recording_teams {
                if let Some(ti) = teams.iter().position(|x| x.id == t.id) {
                    recording[ki * teams.len() + ti] = true;
                }
            }
        }
        let units = catalog
            .kpis
            .iter()
            .map(|k| match k.unit.as_deref().map(str::trim) {
                None | Some("") => Unit::Unknown,
                Some(u) if u.eq_ignore_ascii_case("time") => Unit::Time,
                Some("%") => Unit::Percent(None),
                Some(_) => Unit::Number,
            })
            .collect();
        let intervals = catalog
            .kpis
            .iter()
            .map(|k| (k.interval(), k.kpi_value_time_reference.is_some()))
            .collect();
        let targets = catalog
            .kpis
            .iter()
            .map(|k| {
                if k.kpi_values.iter().any(|v| v.marked_target().is_some()) {
                    (
                        slot_bits(k, |v| v.marked_target() == Some(true)),
                        TargetsFrom::Catalog,
                    )
                } else {
                    (
                        slot_bits(k, |v| crate::api::is_target_name(&v.name)),
                        TargetsFrom::Names,
                    )
                }
            })
            .collect();
        let unread_sub_tiles = catalog
            .kpis
            .iter()
            .map(|k| k.unread_lists().first().map(|s| s.to_string()))
            .collect();
        let mut index = CatalogIndex {
            snaps: Vec::new(),
            unread_sub_tiles,
            catalog,
            teams,
            kpi_names,
            team_names,
            recording,
            units,
            intervals,
            targets,
        };
        index.snaps = index
            .intervals
            .iter()
            .map(|(i, _)| *i != Interval::Day)
            .collect();
        index
    }

    /// Applies what the mapping declares per KPI (by name or id); a declaration naming no
    /// KPI, or a target slot the KPI lacks, is a problem.
    pub(crate) fn declare(
        &mut self,
        declared: &std::collections::BTreeMap<String, KpiDeclared>,
    ) -> Result<(), Problem> {
        for (name, d) in declared {
            let Some(i) = Self::lookup(&self.kpi_names, name) else {
                return Err(Problem {
                    code: "vsimport::mapping::unknown_kpi",
                    message: format!("[kpi.{name:?}] names no KPI of the catalog"),
                    help: suggestion(name, self.catalog.kpis.iter().map(|k| k.name.as_str())),
                });
            };
            let i = i as usize;
            let k = &self.catalog.kpis[i];
            if let Some(u) = d.unit {
                self.units[i] = match u {
                    DeclaredUnit::Time => Unit::Time,
                    DeclaredUnit::PercentPoints => Unit::Percent(Some(Scale::Points)),
                    DeclaredUnit::PercentFraction => Unit::Percent(Some(Scale::Fraction)),
                    DeclaredUnit::Number => Unit::Number,
                };
            }
            if let Some(interval) = d.interval {
                self.intervals[i] = (interval, true);
                self.snaps[i] = interval != Interval::Day;
            }
            if let Some(names) = &d.targets {
                for n in names {
                    if Self::find_in(&k.kpi_values, n).is_none() {
                        return Err(Problem {
                            code: "vsimport::mapping::unknown_value",
                            message: format!(
                                "[kpi.{name:?}] targets names {n:?}, which is not a value of KPI {:?}",
                                k.name
                            ),
                            help: suggestion(n, k.kpi_values.iter().map(|v| v.name.as_str())),
                        });
                    }
                }
                let named = |v: &Named| {
                    names
                        .iter()
                        .any(|n| Self::find_in(std::slice::from_ref(v), n).is_some())
                };
                self.targets[i] = (slot_bits(k, named), TargetsFrom::Mapping);
            }
        }
        Ok(())
    }

    /// Reads every KPI's sub-tiles from the field `field` of its details (`sub_tiles_field`),
    /// and trusts that setting: no other field is taken for a list of sub-tiles any more.
    pub(crate) fn sub_tiles_from(&mut self, field: &str) -> Result<(), Problem> {
        for k in &mut self.catalog.kpis {
            if !k.sub_tiles.is_empty() {
                continue;
            }
            if let Some(v) = k.other.remove(field) {
                k.sub_tiles = serde_json::from_value(v).map_err(|e| Problem {
                    code: "vsimport::catalog::invalid",
                    message: format!(
                        "the field {field:?} of KPI {:?} is not a list of sub-tiles ({e})",
                        k.name
                    ),
                    help: Some(
                        "sub_tiles_field names the field that lists {\"id\", \"name\"} objects"
                            .into(),
                    ),
                })?;
            }
        }
        self.unread_sub_tiles.iter_mut().for_each(|u| *u = None);
        Ok(())
    }

    /// The index of the KPI with this id.
    pub(crate) fn kpi_index(&self, id: Uuid) -> Option<u32> {
        self.kpi_names.get(&id.to_string()).copied()
    }

    /// The KPI's interval (the mapping's, the catalog's, or DAY).
    pub(crate) fn interval(&self, kpi: u32) -> Interval {
        self.intervals[kpi as usize].0
    }

    /// The KPI's unit (the mapping's or the catalog's).
    pub(crate) fn unit(&self, kpi: u32) -> Unit {
        self.units[kpi as usize]
    }

    /// Whether value slot `slot` of the KPI holds a target.
    pub(crate) fn is_target(&self, kpi: u32, slot: usize) -> bool {
        slot < 128 && self.targets[kpi as usize].0 & (1u128 << slot) != 0
    }

    pub(crate) fn kpi(&self, i: u32) -> &KpiDetail {
        &self.catalog.kpis[i as usize]
    }

    pub(crate) fn team(&self, i: u32) -> &Named {
        &self.teams[i as usize]
    }

    pub(crate) fn lookup(map: &FxHashMap<String, u32>, name: &str) -> Option<u32> {
        map.get(name)
            .or_else(|| map.get(&key(name)))
            .or_else(|| {
                Uuid::parse_str(name.trim())
                    .ok()
                    .and_then(|u| map.get(&u.to_string()))
            })
            .copied()
    }

    pub(crate) fn find_kpi(&self, name: &str) -> Result<u32, Problem> {
        Self::lookup(&self.kpi_names, name).ok_or_else(|| Problem {
            code: "vsimport::catalog::unknown_kpi",
            message: format!("no KPI named {:?} in the catalog", shown(name)),
            help: suggestion(name, self.catalog.kpis.iter().map(|k| k.name.as_str())),
        })
    }

    pub(crate) fn find_team(&self, name: &str) -> Result<u32, Problem> {
        Self::lookup(&self.team_names, name).ok_or_else(|| Problem {
            code: "vsimport::catalog::unknown_team",
            message: format!("no team named {:?} in the catalog", shown(name)),
            help: suggestion(name, self.teams.iter().map(|t| t.name.as_str())),
        })
    }

    /// Checks that `team` records `kpi`.
    #[inline]
    pub(crate) fn check_recording(&self, kpi: u32, team: u32) -> Result<(), Problem> {
        if self
            .recording
            .get(kpi as usize * self.teams.len() + team as usize)
            .copied()
            .unwrap_or(false)
        {
            return Ok(());
        }
        self.not_recording(kpi, team)
    }

    /// The problem of a team that does not record the KPI (kept out of the check, which runs
    /// for every KPI of every row).
    #[cold]
    fn not_recording(&self, kpi: u32, team: u32) -> Result<(), Problem> {
        let k = self.kpi(kpi);
        Err(Problem {
            code: "vsimport::catalog::not_recording_team",
            message: format!(
                "team {:?} is not a recording team of KPI {:?}",
                self.team(team).name,
                k.name
            ),
            help: Some(format!(
                "the recording teams of {:?} are: {}",
                k.name,
                k.recording_teams
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })
    }

    fn find_in(list: &[Named], name: &str) -> Option<usize> {
        let n = name.trim();
        list.iter()
            .position(|v| v.name == n)
            .or_else(|| {
                let l = n.to_lowercase();
                list.iter().position(|v| v.name.to_lowercase() == l)
            })
            .or_else(|| {
                Uuid::parse_str(n)
                    .ok()
                    .and_then(|u| list.iter().position(|v| v.id == u))
            })
    }

    pub(crate) fn find_value(&self, kpi: u32, name: &str) -> Result<u16, Problem> {
        let k = self.kpi(kpi);
        Self::find_in(&k.kpi_values, name)
            .map(|i| i as u16)
            .ok_or_else(|| Problem {
                code: "vsimport::catalog::unknown_value",
                message: format!("KPI {:?} has no value named {:?}", k.name, shown(name)),
                help: suggestion(name, k.kpi_values.iter().map(|v| v.name.as_str())),
            })
    }

    pub(crate) fn find_sub_tile(&self, kpi: u32, name: &str) -> Result<u16, Problem> {
        let k = self.kpi(kpi);
        if k.sub_tiles.is_empty() {
            return Err(Problem {
                code: "vsimport::catalog::unknown_sub_tile",
                message: format!(
                    "KPI {:?} has no sub-tiles, but the row names {:?}",
                    k.name,
                    name.trim()
                ),
                help: Some("leave the sub-tile empty for this KPI".into()),
            });
        }
        Self::find_in(&k.sub_tiles, name)
            .map(|i| i as u16)
            .ok_or_else(|| Problem {
                code: "vsimport::catalog::unknown_sub_tile",
                message: format!("KPI {:?} has no sub-tile named {:?}", k.name, shown(name)),
                help: suggestion(name, k.sub_tiles.iter().map(|v| v.name.as_str())),
            })
    }

    /// The API key of a planned record.
    pub(crate) fn record_key(
        &self,
        kpi: u32,
        team: u32,
        date: chrono::NaiveDate,
        sub_tile: u16,
    ) -> RecordKey {
        let k = self.kpi(kpi);
        RecordKey {
            date,
            team: self.team(team).id,
            kpi: k.id,
            sub_tile: (sub_tile != crate::record::NO_SUB_TILE)
                .then(|| k.sub_tiles[sub_tile as usize].id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Catalog, CatalogError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.json");
        std::fs::write(&path, text).unwrap();
        load_file(&path)
    }

    /// The direct read gives the catalog the JSON-value read gives, and a file that is not a
    /// catalog the same message.
    #[test]
    fn the_direct_read_agrees_with_the_value_read() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/catalog.json"),
        )
        .unwrap();
        let direct = load(&text).unwrap();
        let (by_value, raw) = parse_file("c.json", &text).unwrap();
        assert_eq!(direct, by_value);
        assert_eq!(raw.len(), direct.kpis.len());
        assert_eq!(raw[0]["name"], serde_json::json!(direct.kpis[0].name));
        for bad in [
            "{\"kpis\": [}",
            r#"{"kpis": [{"name": "no id"}]}"#,
            r#"{"teams": [], "kpis": [{"id": "00000002-0000-4000-8000-000000000000", "name": "A", "kpiValues": []}]}"#,
        ] {
            let direct = load(bad).unwrap_err();
            let by_value = parse_file("x", bad).unwrap_err();
            assert_eq!(direct.message, by_value.message, "{bad}");
            assert_eq!(direct.help, by_value.help, "{bad}");
        }
    }

    #[test]
    fn a_kpi_twice_is_refused() {
        let kpi = r#"{"id": "00000002-0000-4000-8000-000000000000", "name": "A", "kpiValues": [{"id": "00000003-0000-4000-8000-000000000000", "name": "Actual"}]}"#;
        let e = load(&format!(r#"{{"teams": [], "kpis": [{kpi}, {kpi}]}}"#)).unwrap_err();
        assert!(e.message.contains("appears twice"), "{}", e.message);
    }
}
