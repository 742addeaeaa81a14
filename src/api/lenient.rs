//! Reading the server's records whatever shape the answer has, within reason. The public
//! material does not show the answers of `GET /exchange/kpi-data` (docs/API-NOTES.md), so a
//! record is read from any of the plausible shapes:
//!
//! - the list bare, or under `data`, `records`, `items`, `content` or `values`;
//! - the key fields under several names (`teamId`, `team_id`, `team`, …), each a UUID string
//!   or an object with an `id`;
//! - dates as `2025-03-03` or with a time part (`2025-03-03T00:00:00`, `…Z`, `… 00:00:00`);
//! - values as numbers or numeric strings; a `null` value is no value;
//! - unknown fields ignored.
//!
//! What cannot be read is an error naming the field, never a guess.

use chrono::NaiveDate;
use serde_json::{Map, Number, Value};
use uuid::Uuid;

use super::{Record, RecordValue};

const DATE: &[&str] = &["date", "recordDate", "record_date", "day", "kpiDate"];
const TEAM: &[&str] = &["teamId", "team_id", "team"];
const KPI: &[&str] = &["kpiId", "kpi_id", "kpi"];
const SUB_TILE: &[&str] = &[
    "subTileId",
    "sub_tile_id",
    "subTile",
    "subKpiId",
    "subKpi",
    "subTile_id",
];
const VALUES: &[&str] = &["values", "kpiValues", "kpi_values"];
const VALUE_ID: &[&str] = &["kpiValueId", "kpi_value_id", "kpiValue", "valueId", "id"];
const WRAPPERS: &[&str] = &["data", "records", "items", "content", "values"];

fn field<'a>(o: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| o.get(*n))
        .filter(|v| !v.is_null())
}

/// A UUID as a string or as an object's `id`.
fn id(v: &Value) -> Option<Uuid> {
    match v {
        Value::String(s) => Uuid::parse_str(s.trim()).ok(),
        Value::Object(o) => o.get("id").and_then(id),
        _ => None,
    }
}

/// A date as `yyyy-mm-dd`, alone or with a midnight time part after it (`T00:00:00`,
/// `T00:00:00.000Z`, ` 00:00+01:00`). Any other time of day is not read: `2025-03-02T23:00Z`
/// may be the 3rd in the server's zone, and a wrong day would compare the wrong records.
pub(crate) fn date(v: &Value) -> Option<NaiveDate> {
    let s = v.as_str()?.trim();
    let day = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(day);
    }
    let time = rest.strip_prefix(['T', 't', ' '])?;
    // The clock up to a zone: digits, ':' and '.' only, all of them zeros.
    let clock_end = time
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(time.len());
    let (clock, zone) = time.split_at(clock_end);
    let midnight = clock.len() >= 5 && clock.bytes().all(|b| matches!(b, b'0' | b':' | b'.'));
    let zone_ok = zone.is_empty()
        || zone.eq_ignore_ascii_case("z")
        || ((zone.starts_with('+') || zone.starts_with('-'))
            && zone[1..].bytes().all(|b| b.is_ascii_digit() || b == b':'));
    (midnight && zone_ok).then_some(day)
}

/// A number, or a string holding one.
fn number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                return Some(Number::from(i));
            }
            s.parse::<f64>().ok().and_then(Number::from_f64)
        }
        _ => None,
    }
}

fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// One record; `sub_tile_field` is a configured name for the sub-tile field.
pub(crate) fn record(v: &Value, sub_tile_field: Option<&str>) -> Result<Record, String> {
    let Value::Object(o) = v else {
        return Err(format!("a record is not an object: {}", short(v)));
    };
    let key = |names: &[&str], what: &str, parse: fn(&Value) -> Option<Uuid>| match field(o, names)
    {
        None => Ok(None),
        Some(x) => parse(x)
            .map(Some)
            .ok_or_else(|| format!("the {what} of a record is not a UUID: {}", short(x))),
    };
    let date = match field(o, DATE) {
        None => None,
        Some(d) => Some(date(d).ok_or_else(|| {
            format!(
                "a record's date is not a day (yyyy-mm-dd, or that at midnight): {}",
                short(d)
            )
        })?),
    };
    let sub_tile = match sub_tile_field
        .and_then(|f| o.get(f))
        .filter(|v| !v.is_null())
    {
        Some(x) => {
            Some(id(x).ok_or_else(|| format!("a record's sub-tile is not a UUID: {}", short(x)))?)
        }
        None => key(SUB_TILE, "sub-tile", id)?,
    };
    let mut values = Vec::new();
    match field(o, VALUES) {
        None => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(vo) = item else {
                    return Err(format!(
                        "a record's value is not an object: {}",
                        short(item)
                    ));
                };
                let Some(slot) = field(vo, VALUE_ID).and_then(id) else {
                    return Err(format!(
                        "a record's value has no kpiValueId: {}",
                        short(item)
                    ));
                };
                // A null value is no value.
                let Some(raw) = field(vo, &["value", "amount"]) else {
                    continue;
                };
                let value = number(raw)
                    .ok_or_else(|| format!("a record's value is not a number: {}", short(raw)))?;
                values.push(RecordValue {
                    kpi_value_id: slot,
                    value,
                    forecast: flag(vo.get("forecast")),
                });
            }
        }
        Some(other) => {
            return Err(format!(
                "a record's values are not a list: {}",
                short(other)
            ));
        }
    }
    Ok(Record {
        date,
        team_id: key(TEAM, "team", id)?,
        kpi_id: key(KPI, "KPI", id)?,
        sub_tile_id: sub_tile,
        values,
    })
}

/// The records of a list answer.
pub(crate) fn records(v: &Value, sub_tile_field: Option<&str>) -> Result<Vec<Record>, String> {
    let list = match v {
        Value::Array(a) => a,
        Value::Null => return Ok(Vec::new()),
        Value::Object(o) => match WRAPPERS.iter().find_map(|w| o.get(*w)) {
            Some(Value::Array(a)) => a,
            Some(Value::Null) => return Ok(Vec::new()),
            _ => {
                return Err(format!(
                    "the answer is an object without a list of records (looked for {}): {}",
                    WRAPPERS.join(", "),
                    short(v)
                ));
            }
        },
        other => {
            return Err(format!(
                "the answer is not a list of records: {}",
                short(other)
            ));
        }
    };
    list.iter().map(|r| record(r, sub_tile_field)).collect()
}

/// A value shown in a message: at most 80 characters of its JSON.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = "00000000-0000-0000-0000-0000000000a1";
    const K: &str = "00000000-0000-0000-0000-000000000001";
    const V: &str = "00000000-0000-0000-0000-0000000000b1";

    #[test]
    fn documented_and_loose_shapes_read_the_same() {
        let plain = json!([{"date": "2025-03-03", "teamId": T, "kpiId": K,
            "values": [{"kpiValueId": V, "value": 85}]}]);
        let loose = json!({"data": [{"date": "2025-03-03T00:00:00Z", "team": {"id": T, "name": "x"},
            "kpi": {"id": K}, "comment": null, "extra": [1, 2],
            "values": [{"kpiValue": {"id": V}, "value": "85"}, {"kpiValueId": V, "value": null}]}]});
        let a = records(&plain, None).unwrap();
        let b = records(&loose, None).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].date, NaiveDate::from_ymd_opt(2025, 3, 3));
        assert_eq!(a[0].values.len(), 1);
    }

    #[test]
    fn dates_with_a_time_of_day_are_not_read() {
        let d = |s: &str| date(&json!(s));
        let day = NaiveDate::from_ymd_opt(2025, 3, 3);
        for ok in [
            "2025-03-03",
            "2025-03-03T00:00:00",
            "2025-03-03T00:00:00Z",
            "2025-03-03T00:00:00.000+01:00",
            "2025-03-03 00:00",
        ] {
            assert_eq!(d(ok), day, "{ok}");
        }
        for bad in [
            "2025-03-02T23:00:00Z",
            "2025-03-03T12:00",
            "2025-03-03X",
            "2025-03-03T00:00:00 CET",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let bad = json!([{"date": "03.03.2025", "values": []}]);
        assert!(records(&bad, None).unwrap_err().contains("date"));
        let bad = json!([{"teamId": 7}]);
        assert!(records(&bad, None).unwrap_err().contains("team"));
        let bad = json!({"error": "nope"});
        assert!(records(&bad, None).unwrap_err().contains("without a list"));
    }

    #[test]
    fn a_configured_sub_tile_field() {
        let r = json!({"subKpi2": {"id": T}, "values": []});
        assert_eq!(
            record(&r, Some("subKpi2")).unwrap().sub_tile_id,
            Uuid::parse_str(T).ok()
        );
    }
}
