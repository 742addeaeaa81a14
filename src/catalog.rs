//! The tenant's catalog as lookup tables: names (or ids) of KPIs, teams, value slots and
//! sub-tiles to indices, with "did you mean" for names that match nothing. Validate, dedupe,
//! plan, upload and report all speak of KPIs and teams by these indices.

use std::path::Path;

use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::api::{Catalog, KpiDetail, Named, RecordKey};
use crate::diag::Problem;
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

/// Reads a catalog file.
pub(crate) fn load_file(path: &Path) -> Result<Catalog, CatalogError> {
    let text = read_file(path)?;
    Ok(parse_file(&path.display().to_string(), &text)?.0)
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
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        err(
            format!(
                "not valid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
            Some(SHAPE),
        )
    })?;
    let catalog: Catalog = serde_json::from_value(value.clone())
        .map_err(|e| err(format!("not a catalog: {e}"), Some(SHAPE)))?;
    let raw_kpis = value
        .get("kpis")
        .and_then(|k| k.as_array())
        .cloned()
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for kpi in &catalog.kpis {
        if !seen.insert(kpi.id) {
            return Err(err(format!("KPI id {} appears twice", kpi.id), None));
        }
        if kpi.kpi_values.is_empty() {
            return Err(err(
                format!("KPI {:?} has no kpiValues", kpi.name),
                Some("every KPI needs at least one value slot, e.g. Actual"),
            ));
        }
    }
    Ok((catalog, raw_kpis))
}

/// Indices into the catalog.
pub(crate) struct CatalogIndex {
    pub(crate) catalog: Catalog,
    /// Every team: the catalog's list plus any recording team it lacks.
    pub(crate) teams: Vec<Named>,
    kpi_names: FxHashMap<String, u32>,
    team_names: FxHashMap<String, u32>,
    /// `recording[kpi * teams + team]`.
    recording: Vec<bool>,
    /// Per KPI: its unit is `Time`.
    pub(crate) time: Vec<bool>,
    /// Per KPI: its unit is `%`.
    pub(crate) percent: Vec<bool>,
    /// Per KPI: its records are dated on a Monday or the 1st (WEEK and MONTH intervals).
    pub(crate) snaps: Vec<bool>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
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
        let time = catalog.kpis.iter().map(|k| k.is_time()).collect();
        let percent = catalog
            .kpis
            .iter()
            .map(|k| k.unit.as_deref().map(str::trim) == Some("%"))
            .collect();
        let snaps = catalog
            .kpis
            .iter()
            .map(|k| k.kpi_value_time_reference != crate::api::Interval::Day)
            .collect();
        CatalogIndex {
            snaps,
            catalog,
            teams,
            kpi_names,
            team_names,
            recording,
            time,
            percent,
        }
    }

    pub(crate) fn kpi(&self, i: u32) -> &KpiDetail {
        &self.catalog.kpis[i as usize]
    }

    pub(crate) fn team(&self, i: u32) -> &Named {
        &self.teams[i as usize]
    }

    fn lookup(map: &FxHashMap<String, u32>, name: &str) -> Option<u32> {
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
            message: format!("no KPI named {:?} in the catalog", name.trim()),
            help: suggestion(name, self.catalog.kpis.iter().map(|k| k.name.as_str())),
        })
    }

    pub(crate) fn find_team(&self, name: &str) -> Result<u32, Problem> {
        Self::lookup(&self.team_names, name).ok_or_else(|| Problem {
            code: "vsimport::catalog::unknown_team",
            message: format!("no team named {:?} in the catalog", name.trim()),
            help: suggestion(name, self.teams.iter().map(|t| t.name.as_str())),
        })
    }

    /// Checks that `team` records `kpi`.
    pub(crate) fn check_recording(&self, kpi: u32, team: u32) -> Result<(), Problem> {
        if self
            .recording
            .get(kpi as usize * self.teams.len() + team as usize)
            .copied()
            .unwrap_or(false)
        {
            return Ok(());
        }
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
                message: format!("KPI {:?} has no value named {:?}", k.name, name.trim()),
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
                message: format!("KPI {:?} has no sub-tile named {:?}", k.name, name.trim()),
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
