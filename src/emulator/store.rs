//! The emulator's tenant: the catalog it was started with and an in-memory record store, with
//! every rule API.md documents. Pure logic, no HTTP: the server turns a [`Reject`] into a
//! status and a JSON error body.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Number;
use uuid::Uuid;

use crate::api::{ApiVersion, Catalog, Interval, KpiDetail, Record, RecordBody, RecordValue};
pub(crate) use crate::catalog::CatalogError;

/// A refused request: HTTP status and the message for the error body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reject {
    pub(crate) status: u16,
    pub(crate) message: String,
}

pub(crate) fn reject(status: u16, message: impl Into<String>) -> Reject {
    Reject {
        status,
        message: message.into(),
    }
}

/// The store's key: KPI first so that one KPI's date range is one B-tree range.
type Key = (Uuid, NaiveDate, Uuid, Option<Uuid>);

/// Values of one record, by value slot and forecast flag.
type Values = BTreeMap<(Uuid, bool), Number>;

/// How the store treats what API.md leaves open.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// Reject WEEK records not on a Monday and MONTH records not on the 1st (else: move them).
    pub(crate) strict_dates: bool,
    /// Status for DELETE of a record that does not exist (404 or 204).
    pub(crate) delete_missing_status: u16,
    /// A PUT without the target values sets them to 0 on update too (else: on create only).
    pub(crate) reset_targets: bool,
    /// v2 bodies: `forecast` is ignored (the value lands in the actual) and a slot sent twice
    /// takes the last value (else: both are 400).
    pub(crate) ignore_unknown_fields: bool,
}

/// The catalog as served: parsed details plus each KPI's JSON exactly as in the file.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub(crate) catalog: Catalog,
    raw: HashMap<Uuid, serde_json::Value>,
}

impl Tenant {
    /// Reads a catalog file `{"teams": [...], "kpis": [...]}`.
    pub(crate) fn load(path: &Path) -> Result<Tenant, CatalogError> {
        let shown = path.display().to_string();
        let text = crate::catalog::read_file(path)?;
        Tenant::parse(&shown, &text)
    }

    pub(crate) fn parse(shown: &str, text: &str) -> Result<Tenant, CatalogError> {
        let (catalog, raw_kpis) = crate::catalog::parse_file(shown, text)?;
        let raw = catalog.kpis.iter().map(|k| k.id).zip(raw_kpis).collect();
        Ok(Tenant { catalog, raw })
    }

    /// `GET /exchange/kpi`.
    pub(crate) fn list(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.catalog
                .kpis
                .iter()
                .map(|k| serde_json::json!({"id": k.id, "name": k.name}))
                .collect(),
        )
    }

    /// `GET /exchange/kpi/{id}`: the object exactly as the catalog file has it.
    pub(crate) fn detail_json(&self, id: Uuid) -> Option<&serde_json::Value> {
        self.raw.get(&id)
    }

    pub(crate) fn kpi(&self, id: Uuid) -> Option<&KpiDetail> {
        self.catalog.kpis.iter().find(|k| k.id == id)
    }

    fn known_team(&self, id: Uuid) -> bool {
        self.catalog.teams.iter().any(|t| t.id == id)
            || self
                .catalog
                .kpis
                .iter()
                .any(|k| k.recording_teams.iter().any(|t| t.id == id))
    }
}

/// The parsed path of a single-record request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PathKey {
    pub(crate) date: NaiveDate,
    pub(crate) team: Uuid,
    pub(crate) kpi: Uuid,
    pub(crate) sub_tile: Option<Uuid>,
}

pub(crate) fn parse_uuid(what: &str, s: &str) -> Result<Uuid, Reject> {
    Uuid::parse_str(s).map_err(|_| reject(400, format!("{what} {s:?} is not a UUID")))
}

pub(crate) fn parse_date(what: &str, s: &str) -> Result<NaiveDate, Reject> {
    let ok_shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !ok_shape {
        return Err(reject(
            400,
            format!("{what} {s:?} is not a date in the form yyyy-MM-dd"),
        ));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| reject(400, format!("{what} {s:?} is not a valid date")))
}

/// The records, and the rules they live by.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) tenant: Tenant,
    pub(crate) rules: Rules,
    records: BTreeMap<Key, Values>,
}

/// The state file: every record.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct StateFile {
    pub(crate) records: Vec<Record>,
}

/// What a PUT did.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Written {
    Created,
    Updated,
}

impl Store {
    pub(crate) fn new(tenant: Tenant, rules: Rules) -> Store {
        Store {
            tenant,
            rules,
            records: BTreeMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Checks a record path against the catalog and the date rules, and gives the key the
    /// record is stored under (a non-strict store moves WEEK/MONTH dates onto their record date).
    pub(crate) fn resolve(&self, segs: &[&str]) -> Result<(PathKey, &KpiDetail), Reject> {
        let [date, team, kpi, rest @ ..] = segs else {
            return Err(reject(404, "no such endpoint"));
        };
        if rest.len() > 1 {
            return Err(reject(404, "no such endpoint"));
        }
        let date = parse_date("date", date)?;
        let team = parse_uuid("team id", team)?;
        let kpi_id = parse_uuid("KPI id", kpi)?;
        let sub_tile = match rest.first() {
            Some(s) => Some(parse_uuid("sub-tile id", s)?),
            None => None,
        };
        let kpi = self
            .tenant
            .kpi(kpi_id)
            .ok_or_else(|| reject(404, format!("no KPI with id {kpi_id}")))?;
        if !self.tenant.known_team(team) {
            return Err(reject(404, format!("no team with id {team}")));
        }
        if kpi.team(team).is_none() {
            return Err(reject(
                400,
                format!("team {team} is not a recording team of KPI {:?}", kpi.name),
            ));
        }
        match sub_tile {
            Some(s) if kpi.sub_tile(s).is_none() => {
                return Err(reject(
                    404,
                    format!("KPI {:?} has no sub-tile with id {s}", kpi.name),
                ));
            }
            None if !kpi.sub_tiles.is_empty() => {
                return Err(reject(
                    400,
                    format!(
                        "KPI {:?} has sub-tiles: the path must end in a sub-tile id",
                        kpi.name
                    ),
                ));
            }
            _ => {}
        }
        let date = self.check_date(kpi, date)?;
        Ok((
            PathKey {
                date,
                team,
                kpi: kpi_id,
                sub_tile,
            },
            kpi,
        ))
    }

    fn check_date(&self, kpi: &KpiDetail, date: NaiveDate) -> Result<NaiveDate, Reject> {
        let interval = kpi.interval();
        let snapped = interval.snap(date);
        if snapped == date {
            return Ok(date);
        }
        if !self.rules.strict_dates {
            return Ok(snapped);
        }
        let msg = match interval {
            Interval::Week => format!(
                "KPI {:?} is recorded weekly: records are dated on the Monday of their week, and {date} is a {} (use {snapped})",
                kpi.name,
                date.weekday()
            ),
            _ => format!(
                "KPI {:?} is recorded monthly: records are dated on the 1st of their month (use {snapped}, not {date})",
                kpi.name
            ),
        };
        Err(reject(400, msg))
    }

    /// Validates a PUT body against the KPI.
    pub(crate) fn check_body(
        &self,
        kpi: &KpiDetail,
        body: &RecordBody,
        version: ApiVersion,
    ) -> Result<(), Reject> {
        let ignoring = self.rules.ignore_unknown_fields && version == ApiVersion::V2;
        if body.values.is_empty() {
            return Err(reject(400, "values must not be empty"));
        }
        let mut seen = std::collections::HashSet::new();
        for v in body.values.iter() {
            let Some(slot) = kpi.value(v.kpi_value_id) else {
                return Err(reject(
                    400,
                    format!(
                        "kpiValueId {} is not a value of KPI {:?}",
                        v.kpi_value_id, kpi.name
                    ),
                ));
            };
            if v.forecast && version == ApiVersion::V2 && !ignoring {
                return Err(reject(
                    400,
                    "forecast values need API v3 (Content-Type application/vs.v3.0+json)",
                ));
            }
            if !seen.insert((v.kpi_value_id, v.forecast)) && !ignoring {
                return Err(reject(
                    400,
                    format!("value {:?} appears twice in one record", slot.name),
                ));
            }
            let Some(x) = v.value.as_f64().filter(|x| x.is_finite()) else {
                return Err(reject(
                    400,
                    format!("value {:?} is not a number", slot.name),
                ));
            };
            let whole = x.fract() == 0.0;
            if kpi.is_time() && (!whole || !(0.0..=1439.0).contains(&x)) {
                return Err(reject(
                    400,
                    format!(
                        "KPI {:?} has unit Time: {:?} must be whole minutes since midnight, 0 to 1439, not {x}",
                        kpi.name, slot.name
                    ),
                ));
            }
            if kpi.kpi_value_is_integer && !whole {
                return Err(reject(
                    400,
                    format!(
                        "KPI {:?} takes whole numbers only: {:?} is {x}",
                        kpi.name, slot.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Create or update. On create (and with `reset_targets` on update too), target slots
    /// the body does not carry are set to 0 (the server's documented default); else they keep
    /// what they had. A v2 body's forecast flag is dropped with `ignore_unknown_fields`.
    pub(crate) fn put(
        &mut self,
        key: PathKey,
        kpi: &KpiDetail,
        body: &RecordBody,
        version: ApiVersion,
    ) -> Written {
        let k = (key.kpi, key.date, key.team, key.sub_tile);
        let created = !self.records.contains_key(&k);
        let ignoring = self.rules.ignore_unknown_fields && version == ApiVersion::V2;
        let entry = self.records.entry(k).or_default();
        if created || self.rules.reset_targets {
            for t in kpi.target_values() {
                entry.insert((t.id, false), Number::from(0));
            }
        }
        for v in body.values.iter() {
            let forecast = v.forecast && !ignoring;
            entry.insert((v.kpi_value_id, forecast), v.value.clone());
        }
        if created {
            Written::Created
        } else {
            Written::Updated
        }
    }

    pub(crate) fn get(&self, key: PathKey) -> Option<Record> {
        let k = (key.kpi, key.date, key.team, key.sub_tile);
        self.records.get(&k).map(|v| self.to_record(&k, v))
    }

    pub(crate) fn delete(&mut self, key: PathKey) -> bool {
        self.records
            .remove(&(key.kpi, key.date, key.team, key.sub_tile))
            .is_some()
    }

    /// Records of one KPI in `from..=to` (optionally one team), newest first.
    pub(crate) fn range(
        &self,
        kpi: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        team: Option<Uuid>,
    ) -> Vec<Record> {
        let lo = (kpi, from, Uuid::nil(), None);
        let hi = (kpi, to, Uuid::max(), Some(Uuid::max()));
        let mut out: Vec<Record> = self
            .records
            .range(lo..=hi)
            .filter(|(k, _)| team.is_none_or(|t| k.2 == t))
            .map(|(k, v)| self.to_record(k, v))
            .collect();
        out.reverse();
        out
    }

    fn to_record(&self, k: &Key, values: &Values) -> Record {
        let order = |id: &Uuid| {
            self.tenant
                .kpi(k.0)
                .and_then(|kpi| kpi.kpi_values.iter().position(|v| v.id == *id))
                .unwrap_or(usize::MAX)
        };
        let mut vals: Vec<RecordValue> = values
            .iter()
            .map(|((id, forecast), n)| RecordValue {
                kpi_value_id: *id,
                value: n.clone(),
                forecast: *forecast,
            })
            .collect();
        vals.sort_by_key(|v| (order(&v.kpi_value_id), v.forecast));
        Record {
            date: Some(k.1),
            team_id: Some(k.2),
            kpi_id: Some(k.0),
            sub_tile_id: k.3,
            values: vals,
        }
    }

    pub(crate) fn snapshot(&self) -> StateFile {
        StateFile {
            records: self
                .records
                .iter()
                .map(|(k, v)| self.to_record(k, v))
                .collect(),
        }
    }

    /// Loads a state file's records (keys it cannot place are skipped and counted).
    pub(crate) fn restore(&mut self, state: StateFile) -> usize {
        let mut skipped = 0;
        for r in state.records {
            let (Some(date), Some(team), Some(kpi)) = (r.date, r.team_id, r.kpi_id) else {
                skipped += 1;
                continue;
            };
            let values = r
                .values
                .into_iter()
                .map(|v| ((v.kpi_value_id, v.forecast), v.value))
                .collect();
            self.records
                .insert((kpi, date, team, r.sub_tile_id), values);
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"{
      "teams": [{"id": "00000000-0000-0000-0000-0000000000a1", "name": "Montage Süd"},
                {"id": "00000000-0000-0000-0000-0000000000a2", "name": "Lager"}],
      "kpis": [
        {"id": "00000000-0000-0000-0000-000000000001", "name": "Scrap", "kpiValueIsInteger": true,
         "kpiValueTimeReference": "WEEK", "unit": "pcs", "futureField": 1,
         "kpiValues": [{"id": "00000000-0000-0000-0000-0000000000b1", "name": "Actual"},
                       {"id": "00000000-0000-0000-0000-0000000000b2", "name": "Target"}],
         "recordingTeams": [{"id": "00000000-0000-0000-0000-0000000000a1", "name": "Montage Süd"}]},
        {"id": "00000000-0000-0000-0000-000000000002", "name": "Start", "kpiValueTimeReference": "DAY",
         "unit": "Time", "kpiValueIsInteger": true,
         "kpiValues": [{"id": "00000000-0000-0000-0000-0000000000c1", "name": "Actual"}],
         "recordingTeams": [{"id": "00000000-0000-0000-0000-0000000000a1", "name": "Montage Süd"}]}
      ]}"#;

    fn store(strict: bool) -> Store {
        store_with(Rules {
            strict_dates: strict,
            delete_missing_status: 404,
            reset_targets: false,
            ignore_unknown_fields: false,
        })
    }

    fn store_with(rules: Rules) -> Store {
        Store::new(Tenant::parse("cat.json", CATALOG).unwrap(), rules)
    }

    const A1: &str = "00000000-0000-0000-0000-0000000000a1";
    const K1: &str = "00000000-0000-0000-0000-000000000001";

    fn body(json: &str) -> RecordBody {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn detail_is_served_verbatim() {
        let s = store(true);
        let id = Uuid::parse_str(K1).unwrap();
        assert_eq!(s.tenant.detail_json(id).unwrap()["futureField"], 1);
    }

    #[test]
    fn strict_dates_reject_non_mondays() {
        let s = store(true);
        let e = s.resolve(&["2025-01-15", A1, K1]).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("use 2025-01-13"), "{}", e.message);
        let lenient = store(false);
        let (k, _) = lenient.resolve(&["2025-01-15", A1, K1]).unwrap();
        assert_eq!(k.date.to_string(), "2025-01-13");
    }

    #[test]
    fn path_errors() {
        let s = store(true);
        assert_eq!(s.resolve(&["2025-1-13", A1, K1]).unwrap_err().status, 400);
        assert_eq!(s.resolve(&["2025-01-13", "x", K1]).unwrap_err().status, 400);
        let unknown_kpi = "00000000-0000-0000-0000-000000000009";
        assert_eq!(
            s.resolve(&["2025-01-13", A1, unknown_kpi])
                .unwrap_err()
                .status,
            404
        );
        let not_recording = "00000000-0000-0000-0000-0000000000a2";
        assert_eq!(
            s.resolve(&["2025-01-13", not_recording, K1])
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn targets_default_to_zero_on_create_only() {
        let mut s = store(true);
        let (key, kpi) = s.resolve(&["2025-01-13", A1, K1]).unwrap();
        let kpi = kpi.clone();
        let b =
            body(r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000b1","value":3}]}"#);
        s.check_body(&kpi, &b, ApiVersion::V2).unwrap();
        assert_eq!(s.put(key, &kpi, &b, ApiVersion::V2), Written::Created);
        let r = s.get(key).unwrap();
        assert_eq!(r.values.len(), 2);
        assert_eq!(r.values[1].value, Number::from(0));
        let t =
            body(r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000b2","value":9}]}"#);
        s.put(key, &kpi, &t, ApiVersion::V2);
        assert_eq!(s.put(key, &kpi, &b, ApiVersion::V2), Written::Updated);
        assert_eq!(s.get(key).unwrap().values[1].value, Number::from(9));
    }

    #[test]
    fn quirks_reset_targets_and_drop_forecasts() {
        let mut s = store_with(Rules {
            strict_dates: true,
            delete_missing_status: 404,
            reset_targets: true,
            ignore_unknown_fields: true,
        });
        let (key, kpi) = s.resolve(&["2025-01-13", A1, K1]).unwrap();
        let kpi = kpi.clone();
        let both = body(
            r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000b1","value":3},
                          {"kpiValueId":"00000000-0000-0000-0000-0000000000b2","value":9}]}"#,
        );
        s.put(key, &kpi, &both, ApiVersion::V2);
        let actual =
            body(r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000b1","value":4}]}"#);
        s.put(key, &kpi, &actual, ApiVersion::V2);
        assert_eq!(s.get(key).unwrap().values[1].value, Number::from(0));
        // A v2 forecast beside the actual: accepted, and the forecast overwrites the actual.
        let fc = body(
            r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000b1","value":5},
                          {"kpiValueId":"00000000-0000-0000-0000-0000000000b1","value":7,"forecast":true}]}"#,
        );
        s.check_body(&kpi, &fc, ApiVersion::V2).unwrap();
        s.put(key, &kpi, &fc, ApiVersion::V2);
        let r = s.get(key).unwrap();
        assert_eq!(r.values[0].value, Number::from(7));
        assert!(r.values.iter().all(|v| !v.forecast));
    }

    #[test]
    fn body_rules() {
        let s = store(true);
        let kpi = s.tenant.kpi(Uuid::parse_str(K1).unwrap()).unwrap();
        let frac = body(
            r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000b1","value":3.5}]}"#,
        );
        assert!(
            s.check_body(kpi, &frac, ApiVersion::V2)
                .unwrap_err()
                .message
                .contains("whole")
        );
        let foreign =
            body(r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000c1","value":3}]}"#);
        assert_eq!(
            s.check_body(kpi, &foreign, ApiVersion::V2)
                .unwrap_err()
                .status,
            400
        );
        let fc = body(
            r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000b1","value":3,"forecast":true}]}"#,
        );
        assert!(s.check_body(kpi, &fc, ApiVersion::V2).is_err());
        assert!(s.check_body(kpi, &fc, ApiVersion::V3).is_ok());
        let time = s
            .tenant
            .kpi(Uuid::parse_str("00000000-0000-0000-0000-000000000002").unwrap())
            .unwrap();
        let late = body(
            r#"{"values":[{"kpiValueId":"00000000-0000-0000-0000-0000000000c1","value":1440}]}"#,
        );
        assert!(s.check_body(time, &late, ApiVersion::V2).is_err());
    }

    #[test]
    fn bad_catalogs_say_where() {
        let e = Tenant::parse("c.json", "{\"kpis\": [}").unwrap_err();
        assert!(e.message.contains("line 1"), "{}", e.message);
        let e = Tenant::parse("c.json", r#"{"kpis": [{"name": "no id"}]}"#).unwrap_err();
        assert!(e.message.contains("not a catalog"), "{}", e.message);
    }
}
