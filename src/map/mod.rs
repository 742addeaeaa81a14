//! Map stage: a [`Mapping`] (a TOML file, checked when it is loaded) and the file's header in,
//! a [`ColumnPlan`] out — which columns hold the date, team, KPI, value slot and amount, as
//! column indices the validate stage applies to every row ([`Mapping::resolve`]).
//!
//! Three layouts (`vsimport mapping init --layout LAYOUT` prints a template of each):
//! - **long**: one row per value — `kpi`, `value_name` and `value` columns;
//! - **semi-wide**: one row per record — a `kpi` column and `[values]` naming a column per slot;
//! - **wide**: one column per KPI — `[kpis]` naming the KPI and slot of each column.
//!
//! Anywhere a column is named, `{ value = "…" }` gives a constant instead (for columns the file
//! lacks, e.g. the team of a one-team export).

mod declare;
pub(crate) mod init;
mod init_source;
mod load;
pub(crate) mod templates;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::normalize::{DateOptions, DayOrder, Decimal};
use crate::read::{SheetChoice, SourceOptions};
use crate::suggest::did_you_mean;
pub(crate) use declare::{Aliases, DeclaredUnit, EMPTY_VALUES, KpiDeclared, SkipRule};
pub(crate) use load::MappingError;

/// A column name, or a constant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldSpec {
    Column(String),
    Const { value: String },
}

/// A value slot by name (or id), optionally a forecast (API v3).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ValueSpec {
    Name(String),
    Full { value: String, forecast: bool },
}

/// `"name"` or `{ value = "…" [, forecast = bool] }`, with unknown keys refused by name.
struct SpecVisitor {
    forecast_allowed: bool,
}

enum Spec {
    Name(String),
    Full { value: String, forecast: bool },
}

impl<'de> serde::de::Visitor<'de> for SpecVisitor {
    type Value = Spec;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.forecast_allowed {
            f.write_str("a name, or { value = \"…\", forecast = true }")
        } else {
            f.write_str("a column name, or { value = \"…\" } for a constant")
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Spec, E> {
        Ok(Spec::Name(v.to_string()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Spec, A::Error> {
        let fields: &[&str] = if self.forecast_allowed {
            &["value", "forecast"]
        } else {
            &["value"]
        };
        let (mut value, mut forecast) = (None, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "value" => value = Some(map.next_value::<String>()?),
                "forecast" if self.forecast_allowed => forecast = map.next_value()?,
                other => return Err(serde::de::Error::unknown_field(other, fields)),
            }
        }
        let value = value.ok_or_else(|| serde::de::Error::missing_field("value"))?;
        Ok(Spec::Full { value, forecast })
    }
}

impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(SpecVisitor {
            forecast_allowed: false,
        })? {
            Spec::Name(n) => Ok(FieldSpec::Column(n)),
            Spec::Full { value, .. } => Ok(FieldSpec::Const { value }),
        }
    }
}

impl<'de> Deserialize<'de> for ValueSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(SpecVisitor {
            forecast_allowed: true,
        })? {
            Spec::Name(n) => Ok(ValueSpec::Name(n)),
            Spec::Full { value, forecast } => Ok(ValueSpec::Full { value, forecast }),
        }
    }
}

impl ValueSpec {
    pub(crate) fn target(&self) -> ValueTarget {
        match self {
            ValueSpec::Name(n) => ValueTarget {
                name: n.clone(),
                forecast: false,
            },
            ValueSpec::Full { value, forecast } => ValueTarget {
                name: value.clone(),
                forecast: *forecast,
            },
        }
    }
}

/// A wide-layout column: which KPI and slot it fills.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KpiSpec {
    pub(crate) kpi: String,
    #[serde(default = "actual")]
    pub(crate) value: String,
    #[serde(default)]
    pub(crate) forecast: bool,
}

fn actual() -> String {
    "Actual".into()
}

/// The mapping's `[source]`: how to read the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SourceSection {
    /// Sheet name, or 1-based number.
    pub(crate) sheet: Option<toml::Value>,
    pub(crate) header_row: Option<u64>,
    pub(crate) delimiter: Option<String>,
    /// A WHATWG encoding label.
    pub(crate) encoding: Option<String>,
    /// `","` or `"."`.
    pub(crate) decimal: Option<String>,
    /// chrono/strftime, e.g. `"%d.%m.%Y"`.
    pub(crate) date_format: Option<String>,
    /// `minutes`, or a chrono pattern such as `%H.%M` (checked at load).
    pub(crate) time_format: Option<String>,
    pub(crate) dayfirst: Option<bool>,
    /// The first and last year a record may be dated in (`[source] years`; default 1900..2100).
    pub(crate) years: Option<[i32; 2]>,
    /// `[source] max_input_bytes`, `max_record_bytes`, `max_cells`, `max_zip_entries`, ...
    pub(crate) limits: crate::read::Limits,
    /// Value cells that mean "no value" (`[source] empty_values`).
    pub(crate) empty_values: Option<Vec<String>>,
    /// Column -> pattern: rows whose cell matches are skipped (`[source] skip_rows_where`;
    /// checked at load).
    pub(crate) skip_rows_where: BTreeMap<String, String>,
}

/// The mapping's `[columns]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnsSection {
    pub(crate) date: FieldSpec,
    pub(crate) team: FieldSpec,
    pub(crate) kpi: Option<FieldSpec>,
    pub(crate) sub_tile: Option<FieldSpec>,
    /// Long layout: the column naming the value slot ("Actual", "Target", …).
    pub(crate) value_name: Option<FieldSpec>,
    /// Long layout: the column with the amount.
    pub(crate) value: Option<String>,
}

/// A mapping file, checked ([`Mapping::load`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mapping {
    pub(crate) source: SourceSection,
    pub(crate) columns: ColumnsSection,
    pub(crate) values: BTreeMap<String, ValueSpec>,
    pub(crate) kpis: BTreeMap<String, KpiSpec>,
    /// What the mapping declares per KPI (`[kpi."NAME"]`: unit, interval, targets).
    pub(crate) kpi: BTreeMap<String, KpiDeclared>,
    /// Other names the file uses for teams and KPIs (`[aliases]`).
    pub(crate) aliases: Aliases,
}

/// A resolved field: a column index (header-relative) or a constant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Column(usize),
    Const(String),
}

/// A value slot to fill.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ValueTarget {
    pub(crate) name: String,
    pub(crate) forecast: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Layout {
    Long {
        value_name: Field,
        amount: usize,
    },
    SemiWide {
        values: Vec<(usize, ValueTarget)>,
    },
    Wide {
        kpis: Vec<(usize, String, ValueTarget)>,
    },
}

impl Layout {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Layout::Long { .. } => "long",
            Layout::SemiWide { .. } => "semi-wide",
            Layout::Wide { .. } => "wide",
        }
    }
}

/// The mapping applied to one file's columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnPlan {
    pub(crate) date: Field,
    pub(crate) team: Field,
    /// `None` only in the wide layout (each column names its KPI).
    pub(crate) kpi: Option<Field>,
    pub(crate) sub_tile: Option<Field>,
    pub(crate) layout: Layout,
    /// `skip_rows_where`: (column, pattern).
    pub(crate) skip: Vec<(usize, SkipRule)>,
}

fn mapping_error(
    path: &str,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Box<MappingError> {
    Box::new(MappingError {
        path: path.to_string(),
        message: message.into(),
        help: Some(help.into()),
        src: None,
        span: None,
    })
}

impl Mapping {
    /// Reads and checks a mapping file: any mistake is one error at its line, before a row
    /// is read.
    pub(crate) fn load(path: &Path) -> Result<Mapping, Box<MappingError>> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            mapping_error(
                &shown,
                format!("cannot read the mapping: {e}"),
                "check --mapping; `vsimport mapping init FILE` writes one",
            )
        })?;
        Mapping::parse(&shown, &text)
    }

    /// Parses and checks a mapping's text; `shown` names it in errors.
    pub(crate) fn parse(shown: &str, text: &str) -> Result<Mapping, Box<MappingError>> {
        load::parse(shown, text).map_err(Box::new)
    }

    /// Every column the mapping names (for finding the header row).
    pub(crate) fn column_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        let c = &self.columns;
        for f in [
            Some(&c.date),
            Some(&c.team),
            c.kpi.as_ref(),
            c.sub_tile.as_ref(),
            c.value_name.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if let FieldSpec::Column(n) = f {
                v.push(n.clone());
            }
        }
        v.extend(c.value.iter().cloned());
        v.extend(self.values.keys().cloned());
        v.extend(self.kpis.keys().cloned());
        v
    }

    /// How to read the file, from `[source]` (checked at load), with the mapping's column
    /// names to find the header.
    pub(crate) fn source_options(&self) -> SourceOptions {
        let s = &self.source;
        let sheet = match &s.sheet {
            Some(toml::Value::String(n)) => Some(SheetChoice::parse(n)),
            Some(toml::Value::Integer(i)) if *i > 0 => Some(SheetChoice::Index(*i as usize)),
            _ => None,
        };
        SourceOptions {
            sheet,
            header_row: s.header_row,
            delimiter: s
                .delimiter
                .as_deref()
                .and_then(crate::read::parse_delimiter),
            encoding: s
                .encoding
                .as_deref()
                .and_then(|e| encoding_rs::Encoding::for_label(e.trim().as_bytes())),
            expected_columns: self.column_names(),
            limits: s.limits,
            hash: false,
        }
    }

    pub(crate) fn date_options(&self) -> DateOptions {
        DateOptions {
            format: self.source.date_format.clone(),
            years: self
                .source
                .years
                .map_or(crate::normalize::YEARS, |[a, b]| a..=b),
            order: self.source.dayfirst.map(|d| {
                if d {
                    DayOrder::DayFirst
                } else {
                    DayOrder::MonthFirst
                }
            }),
        }
    }

    /// The columns whose values the mapping sends as forecasts.
    pub(crate) fn forecast_columns(&self) -> Vec<String> {
        let values = self
            .values
            .iter()
            .filter(|(_, v)| v.target().forecast)
            .map(|(c, _)| c.clone());
        let kpis = self
            .kpis
            .iter()
            .filter(|(_, k)| k.forecast)
            .map(|(c, _)| c.clone());
        values.chain(kpis).collect()
    }

    /// The texts a value cell may hold to mean "no value", lowercased.
    pub(crate) fn empty_values(&self) -> Vec<String> {
        match &self.source.empty_values {
            Some(v) => v.iter().map(|x| x.trim().to_lowercase()).collect(),
            None => EMPTY_VALUES.iter().map(|x| x.to_string()).collect(),
        }
    }

    /// How time cells are written (`[source] time_format`, checked at load).
    pub(crate) fn time_format(&self) -> crate::normalize::TimeFormat {
        self.source
            .time_format
            .as_deref()
            .and_then(|f| crate::normalize::TimeFormat::parse(f).ok())
            .unwrap_or_default()
    }

    /// The decimal separator `[source]` names, if any.
    pub(crate) fn decimal(&self) -> Option<Decimal> {
        match self.source.decimal.as_deref().map(str::trim) {
            Some(",") => Some(Decimal::Comma),
            Some(".") => Some(Decimal::Point),
            _ => None,
        }
    }

    /// Applies the mapping to a file's header.
    pub(crate) fn resolve(
        &self,
        shown: &str,
        file: &str,
        columns: &[String],
    ) -> Result<ColumnPlan, Box<MappingError>> {
        let find = |key: &str, name: &str| -> Result<usize, Box<MappingError>> {
            find_column(columns, name).ok_or_else(|| {
                let help = match did_you_mean(name, columns.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean {s:?}? The file's columns: {}", list(columns)),
                    None => format!("the file's columns: {}", list(columns)),
                };
                mapping_error(
                    shown,
                    format!("{key} names the column {name:?}, which {file} does not have"),
                    help,
                )
            })
        };
        let field = |key: &str, f: &FieldSpec| -> Result<Field, Box<MappingError>> {
            match f {
                FieldSpec::Column(n) => find(key, n).map(Field::Column),
                FieldSpec::Const { value } => Ok(Field::Const(value.clone())),
            }
        };
        let c = &self.columns;
        let layout = if let Some(amount) = &c.value {
            let value_name = match &c.value_name {
                Some(f) => field("[columns] value_name", f)?,
                None => Field::Const("Actual".into()),
            };
            Layout::Long {
                value_name,
                amount: find("[columns] value", amount)?,
            }
        } else if !self.values.is_empty() {
            let mut values = Vec::new();
            for (col, spec) in &self.values {
                values.push((find(&format!("[values] {col:?}"), col)?, spec.target()));
            }
            Layout::SemiWide { values }
        } else {
            let mut kpis = Vec::new();
            for (col, spec) in &self.kpis {
                kpis.push((
                    find(&format!("[kpis] {col:?}"), col)?,
                    spec.kpi.clone(),
                    ValueTarget {
                        name: spec.value.clone(),
                        forecast: spec.forecast,
                    },
                ));
            }
            Layout::Wide { kpis }
        };
        Ok(ColumnPlan {
            date: field("[columns] date", &c.date)?,
            team: field("[columns] team", &c.team)?,
            kpi: c
                .kpi
                .as_ref()
                .map(|k| field("[columns] kpi", k))
                .transpose()?,
            sub_tile: c
                .sub_tile
                .as_ref()
                .map(|k| field("[columns] sub_tile", k))
                .transpose()?,
            layout,
            skip: self
                .source
                .skip_rows_where
                .iter()
                .map(|(col, pattern)| {
                    let rule = SkipRule::new(pattern).map_err(|e| {
                        mapping_error(
                            shown,
                            format!("skip_rows_where: {e}"),
                            "a regular expression",
                        )
                    })?;
                    Ok((
                        find(&format!("[source] skip_rows_where {col:?}"), col)?,
                        rule,
                    ))
                })
                .collect::<Result<_, Box<MappingError>>>()?,
        })
    }
}

fn list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A header column by name: exact, then ignoring case and surrounding spaces.
pub(crate) fn find_column(columns: &[String], name: &str) -> Option<usize> {
    columns.iter().position(|c| c == name).or_else(|| {
        let want = name.trim().to_lowercase();
        columns.iter().position(|c| c.trim().to_lowercase() == want)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_three_layouts() {
        let long = Mapping::parse(
            "m.toml",
            "[columns]\ndate = \"Date\"\nteam = \"Team\"\nkpi = \"KPI\"\nvalue_name = \"Value\"\nvalue = \"Amount\"\n",
        )
        .unwrap();
        let plan = long
            .resolve(
                "m.toml",
                "x.csv",
                &cols(&["date", "Team", "KPI", "Value", "Amount"]),
            )
            .unwrap();
        assert_eq!(plan.date, Field::Column(0));
        assert_eq!(
            plan.layout,
            Layout::Long {
                value_name: Field::Column(3),
                amount: 4
            }
        );

        let semi = Mapping::parse(
            "m.toml",
            "[columns]\ndate = \"Datum\"\nteam = \"Team\"\nkpi = \"Kennzahl\"\n[values]\n\"Ist\" = \"Actual\"\n\"Soll\" = \"Target\"\n\"Prognose\" = { value = \"Actual\", forecast = true }\n",
        )
        .unwrap();
        let plan = semi
            .resolve(
                "m.toml",
                "x.csv",
                &cols(&["Datum", "Team", "Kennzahl", "Ist", "Soll", "Prognose"]),
            )
            .unwrap();
        let Layout::SemiWide { values } = plan.layout else {
            panic!()
        };
        assert_eq!(values.len(), 3);
        assert!(values.contains(&(
            5,
            ValueTarget {
                name: "Actual".into(),
                forecast: true
            }
        )));

        let wide = Mapping::parse(
            "m.toml",
            "[columns]\ndate = \"Date\"\nteam = { value = \"Montage Süd\" }\n[kpis]\n\"OEE %\" = { kpi = \"OEE\", value = \"Actual\" }\n\"Scrap\" = { kpi = \"Scrap rate\" }\n",
        )
        .unwrap();
        let plan = wide
            .resolve("m.toml", "x.csv", &cols(&["Date", "OEE %", "Scrap"]))
            .unwrap();
        assert_eq!(plan.team, Field::Const("Montage Süd".into()));
        assert!(plan.kpi.is_none());
    }

    #[test]
    fn mistakes_are_named() {
        let e =
            Mapping::parse("m.toml", "[columns]\ndate = \"Date\"\nteam = \"Team\"\n").unwrap_err();
        assert!(e.to_string().contains("exactly one layout"), "{e}");
        let e = Mapping::parse("m.toml", "[colums]\n").unwrap_err();
        assert!(e.to_string().contains("not a valid mapping"), "{e}");
        let m = Mapping::parse(
            "m.toml",
            "[columns]\ndate = \"Datum\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Ist\" = \"Actual\"\n",
        )
        .unwrap();
        let e = m
            .resolve("m.toml", "x.csv", &cols(&["Date", "Team", "KPI", "Ist"]))
            .unwrap_err();
        let text = format!("{e:?}");
        assert!(
            e.to_string()
                .contains("\"Datum\", which x.csv does not have"),
            "{e}"
        );
        assert!(text.contains("did you mean \\\"Date\\\"?"), "{text}");
    }
}
