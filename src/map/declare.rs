//! What a mapping declares beyond its columns: per KPI (`[kpi."NAME"]`: unit, interval,
//! targets), other names for teams and KPIs (`[aliases]`), and rows to skip
//! (`[source] skip_rows_where`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::api::Interval;

/// What the mapping declares about one KPI (`[kpi."NAME"]`), where the catalog is silent or
/// wrong.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KpiDeclared {
    #[serde(default)]
    pub(crate) unit: Option<DeclaredUnit>,
    #[serde(default, deserialize_with = "declared_interval")]
    pub(crate) interval: Option<Interval>,
    /// The value slots that hold targets.
    #[serde(default)]
    pub(crate) targets: Option<Vec<String>>,
}

/// `unit = "…"` in the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DeclaredUnit {
    Time,
    PercentPoints,
    PercentFraction,
    Number,
}

fn declared_interval<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Interval>, D::Error> {
    let s = String::deserialize(d)?;
    Interval::parse(&s)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("interval {s:?}: use DAY, WEEK or MONTH")))
}

/// `[aliases]`: names the file uses for a team or a KPI, and the catalog's name (or id) they
/// stand for: `team = { "MN" = "Montage Nord" }`. Matched trimmed and in any case.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Aliases {
    #[serde(default)]
    pub(crate) team: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) kpi: BTreeMap<String, String>,
}

impl Aliases {
    /// The same with the file's names trimmed and lowercased, for look-ups.
    pub(crate) fn folded(&self) -> Aliases {
        let fold = |m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| (k.trim().to_lowercase(), v.clone()))
                .collect()
        };
        Aliases {
            team: fold(&self.team),
            kpi: fold(&self.kpi),
        }
    }
}

/// A `skip_rows_where` pattern, case-insensitive: a row whose cell in the column matches is
/// skipped (a totals or footer row).
#[derive(Debug, Clone)]
pub(crate) struct SkipRule(pub(crate) regex::Regex);

impl SkipRule {
    pub(crate) fn new(pattern: &str) -> Result<SkipRule, String> {
        regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .map(SkipRule)
            .map_err(|e| e.to_string())
    }
}

impl PartialEq for SkipRule {
    fn eq(&self, other: &SkipRule) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// What a value cell may hold to mean "no value", unless `[source] empty_values` says
/// otherwise: dashes and the usual "not available" marks, also a workbook's `#N/A`.
pub(crate) const EMPTY_VALUES: &[&str] = &["-", "–", "—", "n/a", "#n/a", "k.a.", "k. a."];
