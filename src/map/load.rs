//! Reading a mapping file and checking it before any row is read: TOML syntax, unknown keys,
//! the layout, `[source]` values (sheet, delimiter, encoding, decimal, date_format) and a
//! column named twice. A mistake is one error pointing at its line in the mapping.

use std::collections::BTreeMap;
use std::ops::Range;

use miette::{NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

use super::{ColumnsSection, FieldSpec, KpiDeclared, KpiSpec, Mapping, SourceSection, ValueSpec};

/// A mapping file that cannot be used, with where in it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}: {message}")]
#[diagnostic(code(vsimport::mapping::invalid))]
#[allow(clippy::result_large_err)]
pub(crate) struct MappingError {
    pub(crate) path: String,
    pub(crate) message: String,
    #[help]
    pub(crate) help: Option<String>,
    #[source_code]
    pub(crate) src: Option<NamedSource<String>>,
    #[label("here")]
    pub(crate) span: Option<SourceSpan>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    source: RawSource,
    columns: Spanned<RawColumns>,
    #[serde(default)]
    values: BTreeMap<Spanned<String>, ValueSpec>,
    #[serde(default)]
    kpis: BTreeMap<Spanned<String>, KpiSpec>,
    #[serde(default)]
    kpi: BTreeMap<String, KpiDeclared>,
    #[serde(default)]
    aliases: super::Aliases,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    sheet: Option<Spanned<toml::Value>>,
    header_row: Option<Spanned<u64>>,
    delimiter: Option<Spanned<String>>,
    encoding: Option<Spanned<String>>,
    decimal: Option<Spanned<String>>,
    date_format: Option<Spanned<String>>,
    time_format: Option<Spanned<String>>,
    dayfirst: Option<bool>,
    years: Option<Spanned<[i32; 2]>>,
    max_cells: Option<Spanned<u64>>,
    max_input_bytes: Option<Spanned<u64>>,
    max_zip_entries: Option<Spanned<u64>>,
    max_unpacked_bytes: Option<Spanned<u64>>,
    max_zip_ratio: Option<Spanned<u64>>,
    max_shared_strings: Option<Spanned<u64>>,
    max_record_bytes: Option<Spanned<u64>>,
    empty_values: Option<Vec<String>>,
    #[serde(default)]
    skip_rows_where: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    date: Spanned<FieldSpec>,
    team: Spanned<FieldSpec>,
    kpi: Option<Spanned<FieldSpec>>,
    sub_tile: Option<Spanned<FieldSpec>>,
    value_name: Option<Spanned<FieldSpec>>,
    value: Option<Spanned<String>>,
}

const TEMPLATES: &str =
    "`vsimport mapping init FILE` writes one for a file; docs/MAPPING.md lists every key";

/// Parses and checks a mapping file's text; `shown` names it in errors.
#[allow(clippy::result_large_err)] // boxed by the caller
pub(crate) fn parse(shown: &str, text: &str) -> Result<Mapping, MappingError> {
    let err = |message: String, help: &str, span: Option<Range<usize>>| MappingError {
        path: shown.to_string(),
        message,
        help: Some(help.to_string()),
        src: span
            .as_ref()
            .map(|_| NamedSource::new(shown, text.to_string())),
        span: span.map(|r| SourceSpan::from((r.start, r.end.saturating_sub(r.start).max(1)))),
    };
    let raw: Raw = toml::from_str(text).map_err(|e| {
        err(
            format!("not a valid mapping: {}", e.message().trim()),
            TEMPLATES,
            e.span(),
        )
    })?;

    // [source]
    let s = &raw.source;
    if let Some(sheet) = &s.sheet {
        let ok = match sheet.get_ref() {
            toml::Value::String(n) => !n.trim().is_empty(),
            toml::Value::Integer(i) => *i > 0,
            _ => false,
        };
        if !ok {
            return Err(err(
                format!(
                    "[source] sheet = {} is neither a name nor a number from 1",
                    sheet.get_ref()
                ),
                "sheet = \"Daten\" or sheet = 2",
                Some(sheet.span()),
            ));
        }
    }
    if let Some(h) = &s.header_row
        && *h.get_ref() == 0
    {
        return Err(err(
            "[source] header_row = 0: rows count from 1".into(),
            "header_row = 1 is the first row",
            Some(h.span()),
        ));
    }
    if let Some(d) = &s.delimiter
        && crate::read::parse_delimiter(d.get_ref()).is_none()
    {
        return Err(err(
            format!("[source] delimiter {:?} is not one character", d.get_ref()),
            "use \",\", \";\", \"tab\" or \"|\"",
            Some(d.span()),
        ));
    }
    if let Some(e) = &s.encoding
        && encoding_rs::Encoding::for_label(e.get_ref().trim().as_bytes()).is_none()
    {
        return Err(err(
            format!(
                "[source] encoding {:?} is not an encoding label",
                e.get_ref()
            ),
            "use a WHATWG label: utf-8, windows-1252, iso-8859-15, utf-16le, …",
            Some(e.span()),
        ));
    }
    if let Some(d) = &s.decimal
        && !matches!(d.get_ref().trim(), "," | ".")
    {
        return Err(err(
            format!("[source] decimal = {:?}: use \",\" or \".\"", d.get_ref()),
            "decimal = \",\" for German-style 85,5",
            Some(d.span()),
        ));
    }
    if let Some(f) = &s.date_format
        && let Err(why) = check_date_format(f.get_ref())
    {
        return Err(err(
            format!("[source] date_format {:?} {why}", f.get_ref()),
            "a chrono format with day, month and year, e.g. \"%d.%m.%Y\" or \"%m/%d/%Y\"",
            Some(f.span()),
        ));
    }
    if let Some(y) = &s.years
        && let [from, to] = *y.get_ref()
        && !(1..=9999).contains(&from) | !(1..=9999).contains(&to) | (from > to)
    {
        return Err(err(
            format!("[source] years = [{from}, {to}] is not a range of years"),
            "give the first and last year a record may be dated in, e.g. years = [1900, 2100]",
            Some(y.span()),
        ));
    }
    if let Some(f) = &s.time_format
        && let Err(why) = crate::normalize::TimeFormat::parse(f.get_ref())
    {
        return Err(err(
            format!("[source] time_format {:?} {why}", f.get_ref()),
            "\"minutes\" (883 is 14:43), or a chrono format with hours and minutes, e.g. \"%H.%M\" for 8.30",
            Some(f.span()),
        ));
    }
    for (col, pattern) in &s.skip_rows_where {
        if let Err(why) = super::SkipRule::new(pattern.get_ref()) {
            return Err(err(
                format!("[source] skip_rows_where {col:?} is not a pattern: {why}"),
                "a regular expression, matched anywhere in the cell, any case: \"^(Summe|Gesamt|Total)\"",
                Some(pattern.span()),
            ));
        }
    }
    // The limits: each a whole number above 0.
    let mut limits = crate::read::Limits::default();
    for (key, v) in [
        ("max_input_bytes", &s.max_input_bytes),
        ("max_record_bytes", &s.max_record_bytes),
        ("max_cells", &s.max_cells),
        ("max_zip_entries", &s.max_zip_entries),
        ("max_unpacked_bytes", &s.max_unpacked_bytes),
        ("max_zip_ratio", &s.max_zip_ratio),
        ("max_shared_strings", &s.max_shared_strings),
    ] {
        if let Some(m) = v
            && let Err(why) = limits.set(key, *m.get_ref())
        {
            return Err(err(
                format!("[source] {why}"),
                "leave it out for the default, or set a number above 0",
                Some(m.span()),
            ));
        }
    }

    // The layout.
    let c = raw.columns.get_ref();
    let columns_span = raw.columns.span();
    let layouts = [
        c.value.is_some(),
        !raw.values.is_empty(),
        !raw.kpis.is_empty(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if layouts != 1 {
        return Err(err(
            "the mapping must use exactly one layout".into(),
            "long: [columns] value (+ value_name); semi-wide: a [values] table; wide: a [kpis] table",
            Some(columns_span.clone()),
        ));
    }
    if raw.kpis.is_empty() && c.kpi.is_none() {
        return Err(err(
            "[columns] kpi is missing".into(),
            "name the KPI column (kpi = \"KPI\"), or give a constant (kpi = { value = \"OEE\" })",
            Some(columns_span.clone()),
        ));
    }
    if c.value.is_some() && c.value_name.is_none() {
        return Err(err(
            "[columns] value_name is missing (the long layout needs the value slot per row)".into(),
            "name the column that says Actual/Target (value_name = \"Value\"), or a constant (value_name = { value = \"Actual\" })",
            Some(columns_span),
        ));
    }

    // A column named twice.
    let mut named: Vec<(String, &str, Range<usize>)> = Vec::new();
    let mut field = |key: &'static str, f: &Spanned<FieldSpec>| {
        if let FieldSpec::Column(n) = f.get_ref() {
            named.push((n.clone(), key, f.span()));
        }
    };
    field("[columns] date", &c.date);
    field("[columns] team", &c.team);
    for (key, f) in [
        ("[columns] kpi", &c.kpi),
        ("[columns] sub_tile", &c.sub_tile),
        ("[columns] value_name", &c.value_name),
    ] {
        if let Some(f) = f {
            field(key, f);
        }
    }
    if let Some(v) = &c.value {
        named.push((v.get_ref().clone(), "[columns] value", v.span()));
    }
    for k in raw.values.keys() {
        named.push((k.get_ref().clone(), "[values]", k.span()));
    }
    for k in raw.kpis.keys() {
        named.push((k.get_ref().clone(), "[kpis]", k.span()));
    }
    for (i, (name, key, span)) in named.iter().enumerate() {
        let norm = name.trim().to_lowercase();
        if let Some((_, first, _)) = named[..i]
            .iter()
            .find(|(n, _, _)| n.trim().to_lowercase() == norm)
        {
            return Err(err(
                format!("the column {name:?} is named twice: by {first} and by {key}"),
                "each column fills one role; use a constant ({ value = \"…\" }) where a column is not in the file",
                Some(span.clone()),
            ));
        }
    }

    let strip = |f: &Option<Spanned<FieldSpec>>| f.as_ref().map(|x| x.get_ref().clone());
    Ok(Mapping {
        source: SourceSection {
            sheet: s.sheet.as_ref().map(|x| x.get_ref().clone()),
            header_row: s.header_row.as_ref().map(|x| *x.get_ref()),
            delimiter: s.delimiter.as_ref().map(|x| x.get_ref().clone()),
            encoding: s.encoding.as_ref().map(|x| x.get_ref().clone()),
            decimal: s.decimal.as_ref().map(|x| x.get_ref().trim().to_string()),
            date_format: s.date_format.as_ref().map(|x| x.get_ref().clone()),
            time_format: s.time_format.as_ref().map(|x| x.get_ref().clone()),
            dayfirst: s.dayfirst,
            years: s.years.as_ref().map(|y| *y.get_ref()),
            limits,
            empty_values: s.empty_values.clone(),
            skip_rows_where: s
                .skip_rows_where
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
        },
        columns: ColumnsSection {
            date: c.date.get_ref().clone(),
            team: c.team.get_ref().clone(),
            kpi: strip(&c.kpi),
            sub_tile: strip(&c.sub_tile),
            value_name: strip(&c.value_name),
            value: c.value.as_ref().map(|x| x.get_ref().clone()),
        },
        values: raw
            .values
            .into_iter()
            .map(|(k, v)| (k.into_inner(), v))
            .collect(),
        kpis: raw
            .kpis
            .into_iter()
            .map(|(k, v)| (k.into_inner(), v))
            .collect(),
        kpi: raw.kpi,
        aliases: raw.aliases,
    })
}

/// Whether `format` reads a whole date: it must parse, and a date written with it must read
/// back as the same date.
fn check_date_format(format: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err("is not a valid format (an unknown %-specifier?)".into());
    }
    let probe = chrono::NaiveDate::from_ymd_opt(2025, 11, 23).ok_or("?")?;
    let mut text = String::new();
    // Formatting a date with a time field fails (rather than panicking through to_string).
    if std::fmt::Write::write_fmt(&mut text, format_args!("{}", probe.format(format))).is_err() {
        return Err("does not name a whole date (day, month and year)".into());
    }
    match chrono::NaiveDate::parse_from_str(&text, format) {
        Ok(d) if d == probe => Ok(()),
        Ok(_) => Err("does not read a date back as it wrote it".into()),
        Err(_) => Err("does not name a whole date (day, month and year)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(text: &str) -> MappingError {
        parse("m.toml", text).unwrap_err()
    }

    fn line_of(e: &MappingError, text: &str) -> usize {
        let at = e.span.expect("a span").offset();
        text[..at].matches('\n').count() + 1
    }

    const SEMI: &str = "[columns]\ndate = \"Datum\"\nteam = \"Team\"\nkpi = \"KPI\"\n[values]\n\"Ist\" = \"Actual\"\n";

    #[test]
    fn a_typo_in_date_format_fails_at_its_line() {
        let text = format!("[source]\ndate_format = \"%d.%m.%Q\"\n{SEMI}");
        let e = fails(&text);
        assert!(e.message.contains("date_format"), "{}", e.message);
        assert_eq!(line_of(&e, &text), 2);
        let text = format!("[source]\ndate_format = \"%H:%M\"\n{SEMI}");
        assert!(fails(&text).message.contains("whole date"));
        assert!(
            parse(
                "m.toml",
                &format!("[source]\ndate_format = \"%d.%m.%Y\"\n{SEMI}")
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_keys_fail_at_their_line_even_in_inline_tables() {
        let text = format!("{SEMI}\"Soll\" = {{ value = \"Target\", forcast = true }}\n");
        let e = fails(&text);
        assert!(e.message.contains("forcast"), "{}", e.message);
        assert_eq!(line_of(&e, &text), 7);
        let text = "[source]\ndelimter = \";\"\n".to_string() + SEMI;
        let e = fails(&text);
        assert!(e.message.contains("delimter"), "{}", e.message);
        assert_eq!(line_of(&e, &text), 2);
    }

    #[test]
    fn a_column_named_twice_fails_at_the_second() {
        let text = "[columns]\ndate = \"Datum\"\nteam = \"Datum\"\nkpi = \"KPI\"\n[values]\n\"Ist\" = \"Actual\"\n";
        let e = fails(text);
        assert!(e.message.contains("named twice"), "{}", e.message);
        assert_eq!(line_of(&e, text), 3);
    }
}
