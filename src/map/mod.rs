//! Map stage: a mapping file (TOML) says which columns hold the date, team, KPI, value slot
//! and amount; [`Mapping::resolve`] checks it against the file's header and gives a
//! [`ColumnPlan`] that the validate stage applies to every row.
//!
//! Three layouts (templates in `templates/`):
//! - **long**: one row per value — `kpi`, `value_name` and `value` columns;
//! - **semi-wide**: one row per record — a `kpi` column and `[values]` naming a column per slot;
//! - **wide**: one column per KPI — `[kpis]` naming the KPI and slot of each column.
//!
//! Anywhere a column is named, `{ value = "…" }` gives a constant instead (for columns the file
//! lacks, e.g. the team of a one-team export).

pub mod init;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::normalize::{DateOptions, DayOrder, Decimal};
use crate::read::{SheetChoice, SourceOptions};
use crate::suggest::did_you_mean;

/// A column name, or a constant.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FieldSpec {
    Column(String),
    Const { value: String },
}

/// A value slot by name (or id), optionally a forecast (API v3).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ValueSpec {
    Name(String),
    Full {
        value: String,
        #[serde(default)]
        forecast: bool,
    },
}

impl ValueSpec {
    pub fn target(&self) -> ValueTarget {
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
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KpiSpec {
    pub kpi: String,
    #[serde(default = "actual")]
    pub value: String,
    #[serde(default)]
    pub forecast: bool,
}

fn actual() -> String {
    "Actual".into()
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// Sheet name, or 1-based number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// A WHATWG encoding label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// `","` or `"."`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<String>,
    /// chrono/strftime, e.g. `"%d.%m.%Y"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dayfirst: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cells: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsSection {
    pub date: FieldSpec,
    pub team: FieldSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_tile: Option<FieldSpec>,
    /// Long layout: the column naming the value slot ("Actual", "Target", …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_name: Option<FieldSpec>,
    /// Long layout: the column with the amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The mapping file as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub source: SourceSection,
    pub columns: ColumnsSection,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, ValueSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kpis: BTreeMap<String, KpiSpec>,
}

/// A resolved field: a column index (header-relative) or a constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Column(usize),
    Const(String),
}

/// A value slot to fill.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueTarget {
    pub name: String,
    pub forecast: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
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
    pub fn name(&self) -> &'static str {
        match self {
            Layout::Long { .. } => "long",
            Layout::SemiWide { .. } => "semi-wide",
            Layout::Wide { .. } => "wide",
        }
    }
}

/// The mapping applied to one file's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    pub date: Field,
    pub team: Field,
    /// `None` only in the wide layout (each column names its KPI).
    pub kpi: Option<Field>,
    pub sub_tile: Option<Field>,
    pub layout: Layout,
}

fn mapping_error(path: &str, message: impl Into<String>, help: impl Into<String>) -> Error {
    Error::Mapping {
        path: path.to_string(),
        message: message.into(),
        help: Some(help.into()),
    }
}

impl Mapping {
    pub fn load(path: &Path) -> Result<Mapping, Error> {
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

    pub fn parse(shown: &str, text: &str) -> Result<Mapping, Error> {
        let m: Mapping = toml::from_str(text).map_err(|e| {
            mapping_error(
                shown,
                format!("not a valid mapping: {}", e.to_string().trim()),
                "see the commented templates in templates/ (long, semi-wide, wide)",
            )
        })?;
        let layouts = [
            m.columns.value.is_some(),
            !m.values.is_empty(),
            !m.kpis.is_empty(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if layouts != 1 {
            return Err(mapping_error(
                shown,
                "the mapping must use exactly one layout",
                "long: [columns] value (+ value_name); semi-wide: a [values] table; wide: a [kpis] table",
            ));
        }
        if m.kpis.is_empty() && m.columns.kpi.is_none() {
            return Err(mapping_error(
                shown,
                "[columns] kpi is missing",
                "name the KPI column (kpi = \"KPI\"), or give a constant (kpi = { value = \"OEE\" })",
            ));
        }
        if m.columns.value.is_some() && m.columns.value_name.is_none() {
            return Err(mapping_error(
                shown,
                "[columns] value_name is missing (the long layout needs the value slot per row)",
                "name the column that says Actual/Target (value_name = \"Value\"), or a constant (value_name = { value = \"Actual\" })",
            ));
        }
        Ok(m)
    }

    /// Every column the mapping names (for finding the header row).
    pub fn column_names(&self) -> Vec<String> {
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

    /// Read settings from `[source]`, with the mapping's column names to find the header.
    pub fn source_options(&self, shown: &str) -> Result<SourceOptions, Error> {
        let s = &self.source;
        let sheet = match &s.sheet {
            None => None,
            Some(toml::Value::String(n)) => Some(SheetChoice::parse(n)),
            Some(toml::Value::Integer(i)) if *i > 0 => Some(SheetChoice::Index(*i as usize)),
            Some(other) => {
                return Err(mapping_error(
                    shown,
                    format!("[source] sheet = {other} is neither a name nor a number from 1"),
                    "sheet = \"Daten\" or sheet = 2",
                ));
            }
        };
        let delimiter = match &s.delimiter {
            Some(d) => Some(crate::cmd::inspect::parse_delimiter(d).map_err(|_| {
                mapping_error(
                    shown,
                    format!("[source] delimiter {d:?} is not one character"),
                    "use \",\", \";\", \"tab\" or \"|\"",
                )
            })?),
            None => None,
        };
        let encoding = match &s.encoding {
            Some(e) => Some(crate::cmd::inspect::parse_encoding(e).map_err(|_| {
                mapping_error(
                    shown,
                    format!("[source] encoding {e:?} is not an encoding label"),
                    "use a WHATWG label: utf-8, windows-1252, iso-8859-15, utf-16le, …",
                )
            })?),
            None => None,
        };
        Ok(SourceOptions {
            sheet,
            header_row: s.header_row,
            delimiter,
            encoding,
            expected_columns: self.column_names(),
            max_cells: s.max_cells,
        })
    }

    pub fn date_options(&self) -> DateOptions {
        DateOptions {
            format: self.source.date_format.clone(),
            order: self.source.dayfirst.map(|d| {
                if d {
                    DayOrder::DayFirst
                } else {
                    DayOrder::MonthFirst
                }
            }),
        }
    }

    pub fn decimal(&self, shown: &str) -> Result<Option<Decimal>, Error> {
        match self.source.decimal.as_deref().map(str::trim) {
            None => Ok(None),
            Some(",") => Ok(Some(Decimal::Comma)),
            Some(".") => Ok(Some(Decimal::Point)),
            Some(other) => Err(mapping_error(
                shown,
                format!("[source] decimal = {other:?}: use \",\" or \".\""),
                "decimal = \",\" for German-style 85,5",
            )),
        }
    }

    /// Applies the mapping to a file's header.
    pub fn resolve(
        &self,
        shown: &str,
        file: &str,
        columns: &[String],
    ) -> Result<ColumnPlan, Error> {
        let find = |key: &str, name: &str| -> Result<usize, Error> {
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
        let field = |key: &str, f: &FieldSpec| -> Result<Field, Error> {
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
pub fn find_column(columns: &[String], name: &str) -> Option<usize> {
    columns.iter().position(|c| c == name).or_else(|| {
        let want = name.trim().to_lowercase();
        columns.iter().position(|c| c.trim().to_lowercase() == want)
    })
}

/// Where a mapping file would be looked for next to an input.
pub fn default_path(input: &Path) -> PathBuf {
    input.with_extension("mapping.toml")
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
