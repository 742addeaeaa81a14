//! The server variants the emulator can play: each point the public material leaves open
//! (API.md, "Left open") as a switch, and named profiles that set several at once. The
//! client must survive each one; the integration tests run an import against every profile.

use serde_json::{Value, json};

use super::ranges::RangeLimits;
use crate::api::{KpiDetail, Record};

/// Named sets of [`Quirks`] (`vsimport emulator --profile NAME`). (Plain comments on the
/// variants: doc comments would become per-value help, which turns clap's help into its
/// long layout.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Profile {
    // As API.md documents, with its assumptions as defaults.
    #[default]
    Documented,
    // GET answers in another shape (wrapped lists, nested ids, datetime dates, null values,
    // numeric strings, extra fields), and only `application/json` produced.
    LooseJson,
    // KPI details without `unit` and `kpiValueTimeReference`, sub-tiles under `children`.
    SparseCatalog,
    // A PUT that leaves the targets out sets them to 0, on update too.
    Resetting,
    // v2 bodies: unknown fields (`forecast`) are ignored instead of refused.
    LenientV2,
    // GET ranges shorter than documented: 14 days, 3 months.
    StrictRanges,
}

/// What the emulator does where the public material is silent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quirks {
    /// GET answers: lists under `content`, ids as `{"id"}` objects, dates with a time part,
    /// every slot listed (`null` when empty), non-integers as strings, extra fields.
    pub(crate) loose_answers: bool,
    /// Only `application/json` is produced: an `Accept` that excludes it gets 406.
    pub(crate) json_only: bool,
    /// KPI details are served without `unit` (the store still enforces Time minutes).
    pub(crate) no_unit: bool,
    /// KPI details are served without `kpiValueTimeReference` (the store still enforces it).
    pub(crate) no_interval: bool,
    /// Sub-tiles are served under this field instead of `subTiles`.
    pub(crate) sub_tiles_field: Option<String>,
    /// A PUT without the target values sets them to 0 on update as well as on create.
    pub(crate) reset_targets: bool,
    /// v2 bodies: `"forecast": true` is ignored (the value lands in the actual), and a slot
    /// sent twice takes the last value.
    pub(crate) ignore_unknown_fields: bool,
    /// GET answers date records as the UTC instant of their local midnight, as a server in
    /// UTC+1 that serialises dates as instants would: `2025-03-03` is `2025-03-02T23:00:00Z`.
    pub(crate) utc_dates: bool,
    /// GET list answers without the key fields (date, team, KPI, sub-tile): only each
    /// record's values, as the public schema shows a record.
    pub(crate) keyless_lists: bool,
    /// The longest GET ranges.
    pub(crate) range: RangeLimits,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks::of(Profile::Documented)
    }
}

impl Quirks {
    pub(crate) fn of(profile: Profile) -> Quirks {
        let mut q = Quirks {
            loose_answers: false,
            json_only: false,
            no_unit: false,
            no_interval: false,
            sub_tiles_field: None,
            reset_targets: false,
            ignore_unknown_fields: false,
            utc_dates: false,
            keyless_lists: false,
            range: RangeLimits::default(),
        };
        match profile {
            Profile::Documented => {}
            Profile::LooseJson => {
                q.loose_answers = true;
                q.json_only = true;
            }
            Profile::SparseCatalog => {
                q.no_unit = true;
                q.no_interval = true;
                q.sub_tiles_field = Some("children".into());
            }
            Profile::Resetting => q.reset_targets = true,
            Profile::LenientV2 => q.ignore_unknown_fields = true,
            Profile::StrictRanges => {
                q.range = RangeLimits {
                    days: 14,
                    week_months: 3,
                    month_months: (3, 3),
                }
            }
        }
        q
    }

    /// A KPI detail as this server serves it.
    pub(crate) fn detail(&self, raw: &Value) -> Value {
        let mut v = raw.clone();
        if let Value::Object(o) = &mut v {
            if self.no_unit {
                o.remove("unit");
            }
            if self.no_interval {
                o.remove("kpiValueTimeReference");
            }
            if let Some(field) = &self.sub_tiles_field
                && let Some(tiles) = o.remove("subTiles")
            {
                o.insert(field.clone(), tiles);
            }
        }
        v
    }

    /// Whether an `Accept` header allows the answer (`None`: no header, anything goes).
    pub(crate) fn accepts(&self, accept: Option<&str>) -> bool {
        let Some(accept) = accept else { return true };
        if !self.json_only {
            return true;
        }
        accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/json")
                || media == "*/*"
                || media.eq_ignore_ascii_case("application/*")
        })
    }
}

/// A record answer (one record, a list, or a wrapped list) as this server sends it.
pub(crate) fn answer(quirks: &Quirks, records: &[Record], kpi: &KpiDetail, one: bool) -> Value {
    let mut v = match (quirks.loose_answers, one) {
        (true, true) => records
            .first()
            .map_or(Value::Null, |r| loose_record(r, kpi)),
        (true, false) => loose_list(records, kpi),
        (false, true) => records
            .first()
            .and_then(|r| serde_json::to_value(r).ok())
            .unwrap_or(Value::Null),
        (false, false) => serde_json::to_value(records).unwrap_or(Value::Null),
    };
    if quirks.utc_dates {
        each_record(&mut v, &mut utc_date);
    }
    if quirks.keyless_lists && !one {
        each_record(&mut v, &mut |o| {
            for key in [
                "date",
                "teamId",
                "team",
                "kpiId",
                "kpi",
                "subTileId",
                "subTile",
            ] {
                o.remove(key);
            }
        });
    }
    v
}

/// Calls `f` on every record of an answer: the answer itself, the items of a list, or those
/// of a list wrapped under `content`.
fn each_record(v: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|i| each_record(i, f)),
        Value::Object(o) => {
            if let Some(Value::Array(items)) = o.get_mut("content") {
                items.iter_mut().for_each(|i| each_record(i, f));
            }
            f(o);
        }
        _ => {}
    }
}

/// A record's `date` as the UTC instant of its midnight in UTC+1.
fn utc_date(o: &mut serde_json::Map<String, Value>) {
    if let Some(Value::String(d)) = o.get_mut("date")
        && let Some(day) = d
            .get(..10)
            .and_then(|x| chrono::NaiveDate::parse_from_str(x, "%Y-%m-%d").ok())
        && let Some(before) = day.pred_opt()
    {
        *d = format!("{before}T23:00:00Z");
    }
}

/// A record in the loose shape: nested ids, a datetime date, every slot listed.
pub(crate) fn loose_record(r: &Record, kpi: &KpiDetail) -> Value {
    let values: Vec<Value> = kpi
        .kpi_values
        .iter()
        .flat_map(|slot| {
            let held: Vec<&crate::api::RecordValue> = r
                .values
                .iter()
                .filter(|v| v.kpi_value_id == slot.id)
                .collect();
            if held.is_empty() {
                return vec![json!({
                    "kpiValue": {"id": slot.id, "name": slot.name},
                    "value": null,
                    "forecast": false,
                })];
            }
            held.into_iter()
                .map(|v| {
                    let value = match v.value.as_i64() {
                        Some(i) => json!(i),
                        None => json!(v.value.to_string()),
                    };
                    json!({
                        "kpiValue": {"id": slot.id, "name": slot.name},
                        "value": value,
                        "forecast": v.forecast,
                    })
                })
                .collect()
        })
        .collect();
    json!({
        "date": r.date.map(|d| format!("{d}T00:00:00")),
        "team": r.team_id.map(|t| json!({"id": t})),
        "kpi": {"id": kpi.id, "name": kpi.name},
        "subTile": r.sub_tile_id.map(|s| json!({"id": s})),
        "comment": null,
        "modifiedAt": "2025-01-01T00:00:00Z",
        "values": values,
    })
}

/// A list answer in the loose shape.
pub(crate) fn loose_list(records: &[Record], kpi: &KpiDetail) -> Value {
    json!({
        "content": records.iter().map(|r| loose_record(r, kpi)).collect::<Vec<_>>(),
        "totalElements": records.len(),
        "page": 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_differ_from_the_documented_server() {
        let documented = Quirks::of(Profile::Documented);
        for p in [
            Profile::LooseJson,
            Profile::SparseCatalog,
            Profile::Resetting,
            Profile::LenientV2,
            Profile::StrictRanges,
        ] {
            assert_ne!(Quirks::of(p), documented, "{p:?}");
        }
    }

    #[test]
    fn json_only_negotiates() {
        let q = Quirks::of(Profile::LooseJson);
        assert!(q.accepts(None));
        assert!(q.accepts(Some("*/*")));
        assert!(q.accepts(Some("application/json; charset=utf-8")));
        assert!(q.accepts(Some("application/vs.v2.0+json, application/json;q=0.5")));
        assert!(!q.accepts(Some("application/vs.v2.0+json")));
        assert!(Quirks::default().accepts(Some("application/vs.v2.0+json")));
    }

    #[test]
    fn sparse_details_lose_their_fields() {
        let raw = json!({"id": "x", "unit": "Time", "kpiValueTimeReference": "WEEK",
            "subTiles": [{"id": "y", "name": "Line 1"}]});
        let v = Quirks::of(Profile::SparseCatalog).detail(&raw);
        assert_eq!(
            v,
            json!({"id": "x", "children": [{"id": "y", "name": "Line 1"}]})
        );
    }
}
