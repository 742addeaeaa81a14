//! The emulator's own reading of the GET range limits, written apart from the client's
//! window function ([`crate::api::Interval::windows`]) so that a different reading on either
//! side shows up in the tests.

use chrono::{Datelike, NaiveDate};

use super::store::{Reject, reject};
use crate::api::{ApiVersion, Interval, KpiDetail};

/// The longest ranges a `GET /exchange/kpi-data` may ask for. API.md: DAY 31 days; WEEK
/// 6 months; MONTH 6 months (v2) or 24 months (v3). Written apart from the client's window
/// function (`Interval::windows`), so that a different reading on either side shows up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangeLimits {
    /// Days a DAY KPI may be read at once, both ends counted.
    pub(crate) days: u32,
    /// Months a WEEK KPI may be read at once.
    pub(crate) week_months: u32,
    /// Months a MONTH KPI may be read at once with v2 and v3.
    pub(crate) month_months: (u32, u32),
}

impl Default for RangeLimits {
    fn default() -> Self {
        RangeLimits {
            days: 31,
            week_months: 6,
            month_months: (6, 24),
        }
    }
}

/// Checks a `GET /exchange/kpi-data` range against the interval's limit.
pub(crate) fn check_range(
    kpi: &KpiDetail,
    from: NaiveDate,
    to: NaiveDate,
    version: ApiVersion,
    limits: RangeLimits,
) -> Result<(), Reject> {
    if to < from {
        return Err(reject(400, format!("from {from} is after to {to}")));
    }
    let interval = kpi.interval();
    // Days counted with both ends; months as "before the same day N months later".
    let (fits, limit) = match interval {
        Interval::Day => {
            let days = to.signed_duration_since(from).num_days() + 1;
            (
                days <= i64::from(limits.days),
                format!("{} days", limits.days),
            )
        }
        Interval::Week | Interval::Month => {
            let months = match (interval, version) {
                (Interval::Week, _) => limits.week_months,
                (_, ApiVersion::V2) => limits.month_months.0,
                (_, ApiVersion::V3) => limits.month_months.1,
            };
            let whole = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
            let past = whole > months as i32 || (whole == months as i32 && to.day() >= from.day());
            (!past, format!("{months} months"))
        }
    };
    if !fits {
        return Err(reject(
            400,
            format!(
                "the range {from}..{to} is too long: {interval} KPIs can be read at most {limit} at a time"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::Tenant;
    use uuid::Uuid;

    const CATALOG: &str = r#"{
      "teams": [{"id": "00000000-0000-0000-0000-0000000000a1", "name": "Montage Süd"}],
      "kpis": [
        {"id": "00000000-0000-0000-0000-000000000001", "name": "Lead time",
         "kpiValueTimeReference": "WEEK",
         "kpiValues": [{"id": "00000000-0000-0000-0000-0000000000b1", "name": "Actual"}]},
        {"id": "00000000-0000-0000-0000-000000000002", "name": "Shift start",
         "kpiValues": [{"id": "00000000-0000-0000-0000-0000000000c1", "name": "Actual"}]}
      ]}"#;

    const K1: &str = "00000000-0000-0000-0000-000000000001";

    #[test]
    fn range_limits() {
        let tenant = Tenant::parse("cat.json", CATALOG).unwrap();
        let week = tenant.kpi(Uuid::parse_str(K1).unwrap()).unwrap();
        let d = |x: &str| NaiveDate::parse_from_str(x, "%Y-%m-%d").unwrap();
        let l = RangeLimits::default();
        assert!(check_range(week, d("2025-01-01"), d("2025-06-30"), ApiVersion::V2, l).is_ok());
        assert!(check_range(week, d("2025-01-01"), d("2025-07-01"), ApiVersion::V2, l).is_err());
        assert!(check_range(week, d("2025-01-31"), d("2025-07-30"), ApiVersion::V2, l).is_ok());
        assert!(check_range(week, d("2025-01-31"), d("2025-07-31"), ApiVersion::V2, l).is_err());
        let day = tenant
            .kpi(Uuid::parse_str("00000000-0000-0000-0000-000000000002").unwrap())
            .unwrap();
        assert!(check_range(day, d("2025-01-01"), d("2025-01-31"), ApiVersion::V2, l).is_ok());
        assert!(check_range(day, d("2025-01-01"), d("2025-02-01"), ApiVersion::V2, l).is_err());
        // The client's windows fit the emulator's limits.
        for (from, to) in Interval::Day.windows(d("2024-01-01"), d("2025-12-31")) {
            assert!(
                check_range(day, from, to, ApiVersion::V2, l).is_ok(),
                "{from}..{to}"
            );
        }
        for (from, to) in Interval::Week.windows(d("2024-01-31"), d("2025-12-31")) {
            assert!(
                check_range(week, from, to, ApiVersion::V2, l).is_ok(),
                "{from}..{to}"
            );
        }
    }
}
