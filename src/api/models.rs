//! Typed models of the ValueStreamer KPI exchange API (see `docs/API-NOTES.md`).
//!
//! Every model is tolerant: unknown fields are ignored and optional fields may be missing,
//! because the vendor documents only part of the schema. Fields the public material does not
//! name are marked *assumed* and have a documented default.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One entry of `GET /exchange/kpi`: at least an id and a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KpiMeta {
    pub(crate) id: Uuid,
    #[serde(default)]
    pub(crate) name: String,
}

/// A named thing with a UUID: a team, a value slot, a sub-tile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Named {
    pub(crate) id: Uuid,
    #[serde(default)]
    pub(crate) name: String,
    /// Value slots only, assumed: a type the server may give (`type`, `valueType`, `kind`),
    /// e.g. `TARGET`.
    #[serde(
        default,
        alias = "type",
        alias = "valueType",
        alias = "value_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) kind: Option<String>,
    /// Value slots only, assumed: whether the server says the slot holds a target.
    #[serde(
        default,
        alias = "isTarget",
        alias = "is_target",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) target: Option<bool>,
}

impl Named {
    /// Whether the server's own description marks this value slot as a target (`None`: it
    /// says nothing).
    pub(crate) fn marked_target(&self) -> Option<bool> {
        if let Some(t) = self.target {
            return Some(t);
        }
        let k = self.kind.as_deref()?.to_lowercase();
        Some(k.contains("target") || k.contains("plan") || k.contains("soll"))
    }
}

/// The recording interval of a KPI (`kpiValueTimeReference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Interval {
    Day,
    Week,
    Month,
}

/// An interval as the server may spell it (`DAY`, `Week`, `MONTHLY`, …); anything else is no
/// interval (the KPI then needs one in the mapping), never a guess.
fn lenient_interval<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Interval>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(|v| v.as_str())
        .and_then(Interval::parse))
}

impl Interval {
    /// `DAY`, `WEEK`, `MONTH` in any case, also `DAILY`, `WEEKLY`, `MONTHLY`.
    pub(crate) fn parse(s: &str) -> Option<Interval> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DAY" | "DAILY" => Some(Interval::Day),
            "WEEK" | "WEEKLY" => Some(Interval::Week),
            "MONTH" | "MONTHLY" => Some(Interval::Month),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "DAY",
            Interval::Week => "WEEK",
            Interval::Month => "MONTH",
        }
    }

    /// The date a record of this interval is filed under: the day itself, the Monday of its
    /// ISO week, or the first of its month.
    pub(crate) fn snap(self, date: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => date,
            Interval::Week => {
                date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()))
            }
            Interval::Month => date.with_day(1).unwrap_or(date),
        }
    }

    /// The last day (inclusive) a single `GET /exchange/kpi-data` may reach from `from`.
    ///
    /// API.md: DAY at most 31 days; WEEK at most 6 months; MONTH at most 24 months in v3 and
    /// 6 months in v2. We read "at most 31 days" as 31 calendar days counting both ends, and
    /// "at most N months" as ending the day before the same date N months later, and take the
    /// stricter v2 limit for MONTH whatever the version (a few more requests, and no 400 from
    /// a server that reads v3 as v2). A server stricter still answers 400, and the window is
    /// halved (docs/API-NOTES.md).
    pub(crate) fn window_end(self, from: NaiveDate) -> NaiveDate {
        let months = match self {
            Interval::Day => return from + chrono::Duration::days(30),
            Interval::Week | Interval::Month => 6,
        };
        from.checked_add_months(Months::new(months))
            .map(|d| d - chrono::Duration::days(1))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Splits `from..=to` into windows that each respect the range limit.
    pub(crate) fn windows(self, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut start = from;
        while start <= to {
            let end = self.window_end(start).min(to);
            out.push((start, end));
            match end.succ_opt() {
                Some(next) => start = next,
                None => break,
            }
        }
        out
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /exchange/kpi/{id}`: one KPI's details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KpiDetail {
    pub(crate) id: Uuid,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) kpi_value_is_integer: bool,
    /// `None` when the detail does not give it (or spells it in a way not known): the
    /// mapping's `interval` then decides, else DAY with a warning (docs/API-NOTES.md).
    #[serde(
        default,
        deserialize_with = "lenient_interval",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) kpi_value_time_reference: Option<Interval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_value_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_value_scope: Option<String>,
    /// Assumed field name; `Time` means minutes since midnight.
    #[serde(
        default,
        alias = "unitName",
        alias = "kpiUnit",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) unit: Option<String>,
    #[serde(default)]
    pub(crate) kpi_values: Vec<Named>,
    #[serde(default)]
    pub(crate) recording_teams: Vec<Named>,
    /// Assumed field name (also read as `subKpis`, `subTileList`; another name can be set
    /// with `sub_tiles_field` in the config file).
    #[serde(
        default,
        alias = "subKpis",
        alias = "subTileList",
        alias = "sub_tiles",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) sub_tiles: Vec<Named>,
    /// Every field not read above, kept as the server sent it (a saved catalog keeps them).
    #[serde(flatten, default)]
    pub(crate) other: serde_json::Map<String, serde_json::Value>,
}

impl KpiDetail {
    /// Whether the KPI's unit is `Time` (minutes since midnight, 0..=1439).
    pub(crate) fn is_time(&self) -> bool {
        self.unit
            .as_deref()
            .is_some_and(|u| u.trim().eq_ignore_ascii_case("time"))
    }

    /// The interval the detail gives, DAY when it gives none (for the emulator and `kpis`;
    /// an import takes the mapping's and warns: [`crate::catalog::CatalogIndex`]).
    pub(crate) fn interval(&self) -> Interval {
        self.kpi_value_time_reference.unwrap_or(Interval::Day)
    }

    /// Whether value slot `slot` holds a target, as far as the catalog alone tells: the
    /// server's own mark, else the slot's name ([`is_target_name`]).
    pub(crate) fn is_target_slot(&self, slot: &Named) -> bool {
        slot.marked_target()
            .unwrap_or_else(|| is_target_name(&slot.name))
    }

    /// Fields of the detail that are not read but look like a list of sub-tiles (a list of
    /// objects with an `id` and a `name`), when the KPI has no sub-tiles under a known name.
    pub(crate) fn unread_lists(&self) -> Vec<&str> {
        if !self.sub_tiles.is_empty() {
            return Vec::new();
        }
        self.other
            .iter()
            .filter(|(_, v)| {
                v.as_array().is_some_and(|a| {
                    !a.is_empty()
                        && a.iter()
                            .all(|x| x.get("id").is_some() && x.get("name").is_some())
                })
            })
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// The value slots that hold targets.
    pub(crate) fn target_values(&self) -> impl Iterator<Item = &Named> {
        self.kpi_values.iter().filter(|v| self.is_target_slot(v))
    }

    pub(crate) fn value(&self, id: Uuid) -> Option<&Named> {
        self.kpi_values.iter().find(|v| v.id == id)
    }

    pub(crate) fn team(&self, id: Uuid) -> Option<&Named> {
        self.recording_teams.iter().find(|t| t.id == id)
    }

    pub(crate) fn sub_tile(&self, id: Uuid) -> Option<&Named> {
        self.sub_tiles.iter().find(|t| t.id == id)
    }
}

/// Whether a value slot's name says it holds a target rather than an actual.
///
/// Assumed: the API names its slots (e.g. "Actual", "Target"), and the public material shows
/// no type field, so a slot whose name contains "target", "goal", "plan", "soll", "ziel" or
/// "vorgabe" counts as a target ("Planned" too, and the mapping can say otherwise).
pub(crate) fn is_target_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    ["target", "goal", "plan", "soll", "ziel", "vorgabe"]
        .iter()
        .any(|w| lower.contains(w))
}

/// One value of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordValue {
    pub(crate) kpi_value_id: Uuid,
    pub(crate) value: serde_json::Number,
    /// API v3 only: the value is a forecast.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) forecast: bool,
}

/// The body of `PUT /exchange/kpi-data/...`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecordBody {
    /// Shared with the planned record it is sent for (not a copy of its values).
    #[serde(default)]
    pub(crate) values: std::sync::Arc<[RecordValue]>,
}

/// A record as `GET /exchange/kpi-data` returns it: the PUT body plus its key. The key fields
/// are optional because the public material does not show their names (assumed camelCase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) team_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kpi_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub_tile_id: Option<Uuid>,
    #[serde(default)]
    pub(crate) values: Vec<RecordValue>,
}

/// What identifies a record: date + team + KPI (+ sub-tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct RecordKey {
    pub(crate) date: NaiveDate,
    pub(crate) team: Uuid,
    pub(crate) kpi: Uuid,
    pub(crate) sub_tile: Option<Uuid>,
}

impl RecordKey {
    /// The path below the base URL: `exchange/kpi-data/{date}/{team}/{kpi}[/{sub-tile}]`.
    pub(crate) fn path(&self) -> String {
        use chrono::Datelike as _;
        use std::fmt::Write as _;
        let mut p = String::with_capacity(140);
        let _ = write!(
            p,
            "exchange/kpi-data/{:04}-{:02}-{:02}/{}/{}",
            self.date.year(),
            self.date.month(),
            self.date.day(),
            self.team,
            self.kpi
        );
        if let Some(s) = self.sub_tile {
            p.push('/');
            p.push_str(&s.to_string());
        }
        p
    }
}

/// The API edition, which picks the vendor media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) enum ApiVersion {
    #[default]
    V2,
    V3,
}

impl ApiVersion {
    pub(crate) fn media_type(self) -> &'static str {
        match self {
            ApiVersion::V2 => "application/vs.v2.0+json",
            ApiVersion::V3 => "application/vs.v3.0+json",
        }
    }

    pub(crate) fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(ApiVersion::V2),
            3 => Some(ApiVersion::V3),
            _ => None,
        }
    }

    /// Recognises a media type (parameters such as `; charset=utf-8` are ignored).
    pub(crate) fn from_media_type(s: &str) -> Option<Self> {
        let essence = s.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case(ApiVersion::V2.media_type()) {
            Some(ApiVersion::V2)
        } else if essence.eq_ignore_ascii_case(ApiVersion::V3.media_type()) {
            Some(ApiVersion::V3)
        } else {
            None
        }
    }
}

/// A catalog: what the emulator loads and what `vsimport kpis --save` writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Catalog {
    #[serde(default)]
    pub(crate) teams: Vec<Named>,
    #[serde(default)]
    pub(crate) kpis: Vec<KpiDetail>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn snapping() {
        assert_eq!(Interval::Week.snap(d("2025-01-19")), d("2025-01-13"));
        assert_eq!(Interval::Week.snap(d("2025-01-13")), d("2025-01-13"));
        assert_eq!(Interval::Month.snap(d("2025-02-28")), d("2025-02-01"));
        assert_eq!(Interval::Day.snap(d("2025-02-28")), d("2025-02-28"));
    }

    #[test]
    fn day_windows_are_31_days() {
        let w = Interval::Day.windows(d("2025-01-01"), d("2025-03-05"));
        assert_eq!(
            w,
            vec![
                (d("2025-01-01"), d("2025-01-31")),
                (d("2025-02-01"), d("2025-03-03")),
                (d("2025-03-04"), d("2025-03-05")),
            ]
        );
    }

    #[test]
    fn month_windows_take_the_stricter_reading() {
        let w = Interval::Month.windows(d("2024-01-01"), d("2025-12-01"));
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], (d("2024-01-01"), d("2024-06-30")));
    }

    #[test]
    fn intervals_in_any_spelling() {
        assert_eq!(Interval::parse("Week"), Some(Interval::Week));
        assert_eq!(Interval::parse("MONTHLY"), Some(Interval::Month));
        assert_eq!(Interval::parse("quarter"), None);
        let k: KpiDetail = serde_json::from_str(
            r#"{"id":"79cf2f74-0e9c-45b5-bc4d-f437079dde7c","kpiValueTimeReference":"QUARTER"}"#,
        )
        .unwrap();
        assert_eq!(k.kpi_value_time_reference, None);
    }

    #[test]
    fn empty_range_has_no_windows() {
        assert!(
            Interval::Week
                .windows(d("2025-02-01"), d("2025-01-01"))
                .is_empty()
        );
    }

    #[test]
    fn tolerant_detail() {
        let json = r#"{"id":"79cf2f74-0e9c-45b5-bc4d-f437079dde7c","name":"OEE",
            "somethingNew":{"x":1},"kpiValues":[{"id":"fd2c7750-79e1-4514-89a2-e9c103db4d6b","name":"Actual","extra":2}]}"#;
        let k: KpiDetail = serde_json::from_str(json).unwrap();
        assert_eq!(k.kpi_value_time_reference, None);
        assert_eq!(k.interval(), Interval::Day);
        assert!(!k.kpi_value_is_integer);
        assert!(k.recording_teams.is_empty());
        assert_eq!(k.kpi_values[0].name, "Actual");
    }

    #[test]
    fn media_types() {
        assert_eq!(
            ApiVersion::from_media_type("application/vs.v3.0+json; charset=utf-8"),
            Some(ApiVersion::V3)
        );
        assert_eq!(ApiVersion::from_media_type("application/json"), None);
    }

    #[test]
    fn target_names() {
        assert!(is_target_name("Target"));
        assert!(is_target_name("Soll"));
        assert!(is_target_name("Zielwert"));
        assert!(is_target_name("Plan"));
        assert!(is_target_name("Vorgabe"));
        assert!(is_target_name("Sollwert"));
        assert!(is_target_name("Goal"));
        assert!(!is_target_name("Actual"));
        assert!(!is_target_name("Ist"));
    }
}
