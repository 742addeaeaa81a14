//! Suggesting a mapping for a file: its header matched against column roles (date, team,
//! KPI, …) and the tenant's catalog (KPI names for wide files, value names for semi-wide
//! ones) — exactly, ignoring case, then by edit distance with the score shown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::api::Catalog;
use crate::suggest::distance;

use super::init_source;
pub(crate) use super::init_source::{SAMPLE_ROWS, Sample};
use super::{ColumnsSection, FieldSpec, KpiSpec, Mapping, SourceSection, ValueSpec};

/// How sure a match is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Match {
    pub(crate) column: String,
    pub(crate) what: String,
    pub(crate) score: f64,
}

/// A suggested mapping, how it was found, and whether it is safe to use unattended.
#[derive(Debug, Clone)]
pub(crate) struct Suggestion {
    pub(crate) mapping: Mapping,
    pub(crate) matches: Vec<Match>,
    /// Things the suggestion could not settle (the mapping then needs editing).
    pub(crate) missing: Vec<String>,
    /// Every match exact or case-insensitive, nothing missing.
    pub(crate) confident: bool,
    /// The `[source]` block: what was detected in the file.
    pub(crate) source: String,
    /// Columns the suggestion does not read (said in the mapping, so none is left out unseen).
    pub(crate) unused: Vec<String>,
}

const DATE: &[&str] = &[
    "date", "datum", "day", "tag", "period", "periode", "zeitraum", "week", "woche", "kw", "month",
    "monat", "stichtag",
];
const TEAM: &[&str] = &[
    "team",
    "bereich",
    "abteilung",
    "department",
    "line",
    "linie",
    "area",
    "kostenstelle",
    "cost center",
    "team name",
];
const KPI: &[&str] = &[
    "kpi",
    "kennzahl",
    "metric",
    "measure",
    "indicator",
    "kpi name",
    "kennzahlname",
];
const VALUE_NAME: &[&str] = &[
    "value",
    "value name",
    "wertart",
    "werttyp",
    "type",
    "typ",
    "slot",
];
const AMOUNT: &[&str] = &[
    "amount", "betrag", "menge", "wert", "number", "zahl", "quantity", "result", "ergebnis",
];
const SUB_TILE: &[&str] = &[
    "sub-tile",
    "subtile",
    "sub tile",
    "unterkachel",
    "kachel",
    "cause",
    "ursache",
];
/// Slot synonyms: (header word, slot name in the catalog, forecast).
const SLOTS: &[(&str, &str, bool)] = &[
    ("ist", "Actual", false),
    ("istwert", "Actual", false),
    ("actual", "Actual", false),
    ("soll", "Target", false),
    ("sollwert", "Target", false),
    ("planwert", "Target", false),
    ("zielwert", "Target", false),
    ("vorgabe", "Target", false),
    ("target", "Target", false),
    ("goal", "Target", false),
    ("plan", "Target", false),
    ("ziel", "Target", false),
    ("forecast", "Actual", true),
    ("prognose", "Actual", true),
];

fn score(header: &str, candidate: &str) -> f64 {
    let h = header.trim();
    if h == candidate {
        return 1.0;
    }
    let (hl, cl) = (h.to_lowercase(), candidate.to_lowercase());
    if hl == cl {
        return 0.95;
    }
    let len = hl.chars().count().max(cl.chars().count()).max(1);
    let s = 1.0 - distance(&hl, &cl) as f64 / len as f64;
    if s >= 0.75 { s * 0.9 } else { 0.0 }
}

fn best(header: &str, words: &[&str]) -> f64 {
    words.iter().map(|w| score(header, w)).fold(0.0, f64::max)
}

/// The best score of `header` against `words`, and the place of the word that gave it (the
/// lists put the usual word first: "KPI" beats "Measure" for the KPI when both are there).
fn ranked(header: &str, words: &[&str]) -> (f64, usize) {
    words
        .iter()
        .enumerate()
        .map(|(rank, w)| (score(header, w), rank))
        .fold((0.0, usize::MAX), |a, b| if b.0 > a.0 { b } else { a })
}

/// A header one of whose words is a date word ("Week starting", "Datum (Tag)"): with dates
/// in its cells, the date column.
fn has_date_word(header: &str) -> bool {
    header
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| DATE.contains(&w.to_lowercase().as_str()))
}

/// Matches `columns` to roles and the catalog; `sample` (the first rows, see
/// [`init_source`]) finds a date column by its cells and what `[source]` should say.
pub(crate) fn suggest(
    detected: &crate::read::Detected,
    sample: &Sample,
    catalog: &Catalog,
) -> Suggestion {
    let columns = &detected.columns;
    let mut matches = Vec::new();
    let mut missing = Vec::new();
    let mut taken = vec![false; columns.len()];
    let role = |words: &[&str],
                what: &str,
                taken: &mut Vec<bool>,
                matches: &mut Vec<Match>|
     -> Option<(String, f64)> {
        // Best score; on a tie the more usual word, then the column further left.
        let (i, (s, _)) = columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !taken[*i])
            .map(|(i, c)| (i, ranked(c, words)))
            .filter(|(_, (s, _))| *s > 0.0)
            .min_by(|a, b| {
                b.1.0
                    .total_cmp(&a.1.0)
                    .then(a.1.1.cmp(&b.1.1))
                    .then(a.0.cmp(&b.0))
            })?;
        taken[i] = true;
        matches.push(Match {
            column: columns[i].clone(),
            what: what.into(),
            score: s,
        });
        Some((columns[i].clone(), s))
    };
    let mut date = role(DATE, "the date", &mut taken, &mut matches);
    if date.is_none() {
        // "Week starting", or any column whose cells are all dates.
        let found = (0..columns.len())
            .find(|&i| !taken[i] && has_date_word(&columns[i]) && sample.date_like(i))
            .map(|i| {
                (
                    i,
                    "the date (a date word in its name, dates in its cells)",
                    0.95,
                )
            })
            .or_else(|| {
                (0..columns.len())
                    .find(|&i| !taken[i] && sample.date_like(i))
                    .map(|i| (i, "the date (its cells are dates)", 0.9))
            });
        if let Some((i, what, s)) = found {
            taken[i] = true;
            matches.push(Match {
                column: columns[i].clone(),
                what: what.into(),
                score: s,
            });
            date = Some((columns[i].clone(), s));
        }
    }
    let team = role(TEAM, "the team", &mut taken, &mut matches);
    let kpi = role(KPI, "the KPI", &mut taken, &mut matches);
    let sub_tile = role(SUB_TILE, "the sub-tile", &mut taken, &mut matches);
    // Slot columns (semi-wide) and KPI columns (wide).
    let mut values: BTreeMap<String, ValueSpec> = BTreeMap::new();
    let mut kpis: BTreeMap<String, KpiSpec> = BTreeMap::new();
    let slot_names: Vec<&str> = {
        let mut v: Vec<&str> = catalog
            .kpis
            .iter()
            .flat_map(|k| k.kpi_values.iter().map(|x| x.name.as_str()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for (i, c) in columns.iter().enumerate() {
        if taken[i] {
            continue;
        }
        if kpi.is_some() {
            let synonym = SLOTS
                .iter()
                .map(|(w, slot, fc)| (score(c, w), *slot, *fc))
                .chain(slot_names.iter().map(|s| (score(c, s), *s, false)))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((s, slot, forecast)) = synonym
                && s > 0.0
            {
                taken[i] = true;
                matches.push(Match {
                    column: c.clone(),
                    what: format!(
                        "value {slot:?}{}",
                        if forecast { " (forecast)" } else { "" }
                    ),
                    score: s,
                });
                values.insert(
                    c.clone(),
                    if forecast {
                        ValueSpec::Full {
                            value: slot.into(),
                            forecast: true,
                        }
                    } else {
                        ValueSpec::Name(slot.into())
                    },
                );
            }
        } else {
            let k = catalog
                .kpis
                .iter()
                .map(|k| (score(c, &k.name), k.name.as_str()))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((s, name)) = k
                && s > 0.0
            {
                taken[i] = true;
                matches.push(Match {
                    column: c.clone(),
                    what: format!("KPI {name:?}"),
                    score: s,
                });
                kpis.insert(
                    c.clone(),
                    KpiSpec {
                        kpi: name.into(),
                        value: "Actual".into(),
                        forecast: false,
                    },
                );
            }
        }
    }
    // Long layout: a value-name column and an amount column.
    let (mut value_name, mut amount) = (None, None);
    if kpi.is_some() && values.is_empty() {
        // By the cells first: a column of value names (Actual, Target) is the value name, a
        // column of numbers the amount, whatever they are called ("Measure" and "Value" in a
        // Power BI export; "Value" and "Amount" in vsimport's own export).
        let slot_words: Vec<String> = slot_names
            .iter()
            .map(|s| s.to_lowercase())
            .chain(SLOTS.iter().map(|(w, _, _)| w.to_string()))
            .collect();
        let by_cells = |ok: &dyn Fn(usize) -> bool, words: &[&str], taken: &[bool]| {
            (0..columns.len())
                .filter(|&i| !taken[i] && ok(i))
                .min_by(|&a, &b| {
                    let (x, y) = (ranked(&columns[a], words), ranked(&columns[b], words));
                    y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(a.cmp(&b))
                })
        };
        if let Some(i) = by_cells(&|i| sample.names_like(i, &slot_words), VALUE_NAME, &taken) {
            taken[i] = true;
            matches.push(Match {
                column: columns[i].clone(),
                what: "the value name (its cells are value names)".into(),
                score: 0.95,
            });
            value_name = Some(columns[i].clone());
        } else {
            // By the name, among the columns that do not hold numbers (those are amounts).
            let mut not_names = taken.clone();
            for (i, t) in not_names.iter_mut().enumerate() {
                *t |= sample.numeric_like(i);
            }
            value_name =
                role(VALUE_NAME, "the value name", &mut not_names, &mut matches).map(|x| x.0);
            if let Some(i) = value_name
                .as_ref()
                .and_then(|v| columns.iter().position(|c| c == v))
            {
                taken[i] = true;
            }
        }
        let amount_words: Vec<&str> = AMOUNT.iter().chain(&["value"]).copied().collect();
        if let Some(i) = by_cells(&|i| sample.numeric_like(i), &amount_words, &taken) {
            taken[i] = true;
            let named = best(&columns[i], &amount_words) > 0.0;
            matches.push(Match {
                column: columns[i].clone(),
                what: if named {
                    "the amount".into()
                } else {
                    "the amount (its cells are numbers)".into()
                },
                score: if named {
                    best(&columns[i], &amount_words)
                } else {
                    0.9
                },
            });
            amount = Some(columns[i].clone());
        } else {
            amount = role(AMOUNT, "the amount", &mut taken, &mut matches).map(|x| x.0);
        }
        if amount.is_none() {
            missing.push("no column with the values (amounts)".to_string());
        }
        if value_name.is_none() && amount.is_some() {
            missing.push(
                "no column naming the value slot: every amount is taken as Actual".to_string(),
            );
        }
    }
    if date.is_none() {
        missing.push("no date column".into());
    }
    if team.is_none() {
        missing.push(
            "no team column: set team = { value = \"…\" } to the one team of this file".into(),
        );
    }
    if kpi.is_none() && kpis.is_empty() {
        missing.push("no KPI column, and no column is named like a KPI of the catalog".into());
    }
    let mapping = Mapping {
        source: SourceSection::default(),
        columns: ColumnsSection {
            date: FieldSpec::Column(date.map(|d| d.0).unwrap_or_else(|| "?".into())),
            team: match team {
                Some(t) => FieldSpec::Column(t.0),
                None => FieldSpec::Const { value: "?".into() },
            },
            kpi: kpi.map(|k| FieldSpec::Column(k.0)),
            sub_tile: sub_tile.map(|s| FieldSpec::Column(s.0)),
            value_name: match (&amount, value_name) {
                (Some(_), Some(v)) => Some(FieldSpec::Column(v)),
                (Some(_), None) => Some(FieldSpec::Const {
                    value: "Actual".into(),
                }),
                _ => None,
            },
            value: amount,
        },
        values,
        kpis,
        kpi: BTreeMap::new(),
        aliases: Default::default(),
    };
    let confident = missing.is_empty() && matches.iter().all(|m| m.score >= 0.95);
    let index = |name: &str| columns.iter().position(|c| c == name);
    let date_col = match &mapping.columns.date {
        FieldSpec::Column(c) => index(c),
        FieldSpec::Const { .. } => None,
    };
    let value_cols: Vec<usize> = (mapping.values.keys())
        .chain(mapping.kpis.keys())
        .chain(mapping.columns.value.iter())
        .filter_map(|c| index(c))
        .collect();
    let source = init_source::block(detected, sample, date_col, &value_cols);
    let unused = columns
        .iter()
        .zip(&taken)
        .filter(|(c, t)| !**t && !c.trim().is_empty())
        .map(|(c, _)| c.clone())
        .collect();
    Suggestion {
        mapping,
        matches,
        missing,
        confident,
        source,
        unused,
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn field(f: &FieldSpec) -> String {
    match f {
        FieldSpec::Column(c) => quote(c),
        FieldSpec::Const { value } => format!("{{ value = {} }}", quote(value)),
    }
}

impl Suggestion {
    fn note(&self, column: &str) -> String {
        match self.matches.iter().find(|m| m.column == column) {
            Some(m) if m.score >= 0.95 => String::new(),
            Some(m) => format!(
                "  # unsure: {:?} taken as {} (match score {:.2}); check it",
                m.column, m.what, m.score
            ),
            None => String::new(),
        }
    }

    /// The mapping as a commented TOML file.
    pub(crate) fn to_toml(&self, file: &str) -> String {
        let m = &self.mapping;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Mapping for {file}, suggested by `vsimport mapping init`."
        );
        let layout = if !m.kpis.is_empty() {
            "wide (one column per KPI)"
        } else if !m.values.is_empty() {
            "semi-wide (one row per record)"
        } else {
            "long (one row per value)"
        };
        let _ = writeln!(
            s,
            "# Layout: {layout}. Every option: `vsimport mapping init --layout {}`.",
            layout.split(' ').next().unwrap_or("long")
        );
        for miss in &self.missing {
            let _ = writeln!(s, "# TODO: {miss}");
        }
        if let Some(first) = self.unused.first().map(|c| quote(c)) {
            let names: Vec<String> = self.unused.iter().map(|c| quote(c)).collect();
            let how = match (m.kpis.is_empty(), m.values.is_empty()) {
                (false, _) => format!(" (a KPI column? under [kpis]: {first} = {{ kpi = \"…\" }})"),
                (_, false) => format!(" (a value column? under [values]: {first} = \"Target\")"),
                _ => String::new(),
            };
            let _ = writeln!(s, "# Not read: {}{how}", names.join(", "));
        }
        let _ = writeln!(s, "\n{}", self.source);
        let _ = writeln!(s, "[columns]");
        let c = &m.columns;
        let _ = writeln!(
            s,
            "date = {}{}",
            field(&c.date),
            self.note(&field_name(&c.date))
        );
        let _ = writeln!(
            s,
            "team = {}{}",
            field(&c.team),
            self.note(&field_name(&c.team))
        );
        if let Some(k) = &c.kpi {
            let _ = writeln!(s, "kpi = {}{}", field(k), self.note(&field_name(k)));
        }
        if let Some(k) = &c.sub_tile {
            let _ = writeln!(s, "sub_tile = {}{}", field(k), self.note(&field_name(k)));
        }
        if let Some(k) = &c.value_name {
            let _ = writeln!(s, "value_name = {}{}", field(k), self.note(&field_name(k)));
        }
        if let Some(k) = &c.value {
            let _ = writeln!(s, "value = {}{}", quote(k), self.note(k));
        }
        if !m.values.is_empty() {
            let _ = writeln!(s, "\n[values]");
            for (col, v) in &m.values {
                let rhs = match v {
                    ValueSpec::Name(n) => quote(n),
                    ValueSpec::Full { value, forecast } => {
                        format!("{{ value = {}, forecast = {forecast} }}", quote(value))
                    }
                };
                let _ = writeln!(s, "{} = {rhs}{}", quote(col), self.note(col));
            }
        }
        if !m.kpis.is_empty() {
            let _ = writeln!(s, "\n[kpis]");
            for (col, k) in &m.kpis {
                let _ = writeln!(
                    s,
                    "{} = {{ kpi = {}, value = {} }}{}",
                    quote(col),
                    quote(&k.kpi),
                    quote(&k.value),
                    self.note(col)
                );
            }
        }
        s
    }
}

fn field_name(f: &FieldSpec) -> String {
    match f {
        FieldSpec::Column(c) => c.clone(),
        FieldSpec::Const { value } => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/catalog.json"))
                .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn cols(names: &[&str]) -> crate::read::Detected {
        crate::read::Detected {
            file: "x.csv".into(),
            format: crate::read::Format::Csv,
            encoding: Some("UTF-8".into()),
            delimiter: Some(','),
            sheet: None,
            sheets: Vec::new(),
            header_row: 1,
            columns: names.iter().map(|s| s.to_string()).collect(),
            first_column: 1,
            notes: Vec::new(),
        }
    }

    #[test]
    fn semi_wide_german() {
        let s = suggest(
            &cols(&["Datum", "Team", "Kennzahl", "Ist", "Soll"]),
            &Sample::default(),
            &catalog(),
        );
        assert!(s.confident, "{:?}", s.missing);
        assert_eq!(
            s.mapping.values.get("Ist"),
            Some(&ValueSpec::Name("Actual".into()))
        );
        assert_eq!(
            s.mapping.values.get("Soll"),
            Some(&ValueSpec::Name("Target".into()))
        );
        let text = s.to_toml("x.csv");
        let back = Mapping::parse("x.toml", &text).unwrap();
        assert_eq!(back.columns, s.mapping.columns);
        assert_eq!(back.values, s.mapping.values);
        assert_eq!(back.source.header_row, Some(1));
        assert_eq!(back.source.delimiter.as_deref(), Some(","));
    }

    #[test]
    fn wide_by_kpi_names() {
        let s = suggest(
            &cols(&["Date", "Team", "OEE", "Scrap rate", "Output"]),
            &Sample::default(),
            &catalog(),
        );
        assert!(s.confident);
        assert_eq!(s.mapping.kpis.len(), 3);
        assert_eq!(s.mapping.kpis["Scrap rate"].kpi, "Scrap rate");
    }

    #[test]
    fn long_layout() {
        let s = suggest(
            &cols(&["Date", "Team", "KPI", "Value", "Amount"]),
            &Sample::default(),
            &catalog(),
        );
        assert!(s.confident, "{:?}", s.missing);
        assert_eq!(s.mapping.columns.value.as_deref(), Some("Amount"));
    }

    #[test]
    fn fuzzy_matches_are_flagged() {
        let s = suggest(
            &cols(&["Datm", "Team", "OEE", "Scrap rat"]),
            &Sample::default(),
            &catalog(),
        );
        assert!(!s.confident);
        let text = s.to_toml("x.csv");
        assert!(
            text.contains("# unsure: \"Datm\" taken as the date"),
            "{text}"
        );
        assert!(
            text.contains("# unsure: \"Scrap rat\" taken as KPI \"Scrap rate\""),
            "{text}"
        );
    }

    #[test]
    fn goal_is_a_target_and_columns_not_read_are_named() {
        let s = suggest(
            &cols(&["Day", "Line", "Metric", "Actual", "Goal", "Comment"]),
            &Sample::default(),
            &catalog(),
        );
        assert_eq!(
            s.mapping.values.get("Goal"),
            Some(&ValueSpec::Name("Target".into()))
        );
        assert_eq!(s.unused, vec!["Comment".to_string()]);
        let text = s.to_toml("x");
        assert!(
            text.contains("# Not read: \"Comment\" (a value column?"),
            "{text}"
        );
    }

    #[test]
    fn missing_team_is_a_todo() {
        let s = suggest(&cols(&["Date", "OEE"]), &Sample::default(), &catalog());
        assert!(!s.confident);
        assert!(s.to_toml("x").contains("# TODO: no team column"));
    }
}
