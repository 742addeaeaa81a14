//! `vsimport template`: a workbook to fill, and the mapping that reads it. In: the catalog and
//! a [`Spec`] (KPIs, teams, period, layout). Out: a [`Template`]: the workbook's bytes and the
//! mapping's text.
//!
//! The workbook has the layout's columns, a row per KPI, team (and sub-tile) and date at the
//! KPI's interval (every day, Mondays, the 1st of each month) with the keys filled in, drop-down
//! lists of the chosen teams and KPIs (from a hidden sheet "Lists"), a number format per unit
//! (Time KPIs `hh:mm`, integers `0`), and a header that is frozen and protected; the value cells
//! stay editable. Every text is written as a string, never as a formula.

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{
    DataValidation, ExcelDateTime, Format, Formula, ProtectionOptions, Workbook, Worksheet,
};

use crate::api::Interval;
use crate::catalog::{CatalogIndex, Unit};
use crate::map::templates::Layout;

/// Rows at most (a worksheet holds 1,048,576).
pub(crate) const MAX_ROWS: usize = 1_000_000;

/// What to make.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) kpis: Vec<u32>,
    pub(crate) teams: Vec<u32>,
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) layout: Layout,
    /// The sheet name (the mapping's `[source] sheet`).
    pub(crate) sheet: String,
}

/// A workbook to fill and the mapping that reads it.
pub(crate) struct Template {
    pub(crate) workbook: Vec<u8>,
    pub(crate) mapping: String,
    pub(crate) rows: usize,
}

/// Why a template cannot be made.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) message: String,
    pub(crate) help: String,
}

/// The dates of `interval` from `from` to `to`: every day, each Monday, each 1st.
pub(crate) fn dates(interval: Interval, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = interval.snap(from);
    if d < from {
        d = match interval {
            Interval::Day => from,
            Interval::Week => d + chrono::Duration::days(7),
            Interval::Month => d.checked_add_months(chrono::Months::new(1)).unwrap_or(d),
        };
    }
    while d <= to {
        out.push(d);
        let next = match interval {
            Interval::Day => d.succ_opt(),
            Interval::Week => d.checked_add_days(chrono::Days::new(7)),
            Interval::Month => d.checked_add_months(chrono::Months::new(1)),
        };
        match next {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

/// One row of the sheet before it is written: the keys.
struct Row {
    date: NaiveDate,
    team: u32,
    kpi: u32,
    sub_tile: Option<String>,
    /// Long layout: the slot this row is for.
    slot: Option<String>,
}

fn excel_date(d: NaiveDate) -> Option<ExcelDateTime> {
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).ok()?,
        u8::try_from(d.month()).ok()?,
        u8::try_from(d.day()).ok()?,
    )
    .ok()
}

/// A column header and what the mapping says of it.
struct Column {
    header: String,
    /// Wide layout: (KPI, slot) of the column; semi-wide: the slot.
    kpi: Option<u32>,
    slot: Option<String>,
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Makes the template.
pub(crate) fn make(index: &CatalogIndex, spec: &Spec) -> Result<Template, Refused> {
    let refuse = |message: String, help: &str| Refused {
        message,
        help: help.to_string(),
    };
    if spec.from > spec.to {
        return Err(refuse(
            format!("--from {} is after --to {}", spec.from, spec.to),
            "give the first day of the period with --from and the last with --to",
        ));
    }
    let intervals: Vec<Interval> = spec.kpis.iter().map(|k| index.interval(*k)).collect();
    if spec.layout == Layout::Wide && intervals.windows(2).any(|w| w[0] != w[1]) {
        return Err(refuse(
            "the wide layout has one row per date for every KPI, and these KPIs have different intervals".into(),
            "use --layout semi-wide (one row per KPI and date), or one wide template per interval",
        ));
    }
    let with_sub_tiles = spec
        .kpis
        .iter()
        .any(|k| !index.kpi(*k).sub_tiles.is_empty());
    // Value slots: semi-wide one column per slot name; wide one per KPI and slot.
    let slots = |k: u32| -> Vec<String> {
        index
            .kpi(k)
            .kpi_values
            .iter()
            .map(|v| v.name.clone())
            .collect()
    };
    let mut value_columns: Vec<Column> = Vec::new();
    match spec.layout {
        Layout::SemiWide => {
            for k in &spec.kpis {
                for s in slots(*k) {
                    if !value_columns.iter().any(|c| c.slot.as_deref() == Some(&s)) {
                        value_columns.push(Column {
                            header: s.clone(),
                            kpi: None,
                            slot: Some(s),
                        });
                    }
                }
            }
        }
        Layout::Wide => {
            for k in &spec.kpis {
                let name = &index.kpi(*k).name;
                for (i, s) in slots(*k).into_iter().enumerate() {
                    value_columns.push(Column {
                        header: if i == 0 {
                            name.clone()
                        } else {
                            format!("{name} {s}")
                        },
                        kpi: Some(*k),
                        slot: Some(s),
                    });
                }
            }
        }
        Layout::Long => value_columns.push(Column {
            header: "Value".into(),
            kpi: None,
            slot: None,
        }),
    }
    // The rows.
    let mut rows: Vec<Row> = Vec::new();
    let too_many = || {
        refuse(
            format!("the template would have more than {MAX_ROWS} rows"),
            "choose a shorter period, fewer KPIs or fewer teams",
        )
    };
    match spec.layout {
        Layout::Wide => {
            let interval = intervals.first().copied().unwrap_or(Interval::Day);
            for t in &spec.teams {
                for d in dates(interval, spec.from, spec.to) {
                    rows.push(Row {
                        date: d,
                        team: *t,
                        kpi: spec.kpis[0],
                        sub_tile: None,
                        slot: None,
                    });
                    if rows.len() > MAX_ROWS {
                        return Err(too_many());
                    }
                }
            }
        }
        Layout::SemiWide | Layout::Long => {
            for k in &spec.kpis {
                let detail = index.kpi(*k);
                let subs: Vec<Option<String>> = if detail.sub_tiles.is_empty() {
                    vec![None]
                } else {
                    detail
                        .sub_tiles
                        .iter()
                        .map(|s| Some(s.name.clone()))
                        .collect()
                };
                let per_slot: Vec<Option<String>> = if spec.layout == Layout::Long {
                    slots(*k).into_iter().map(Some).collect()
                } else {
                    vec![None]
                };
                // Only the teams that record the KPI get its rows.
                for t in spec
                    .teams
                    .iter()
                    .filter(|t| index.check_recording(*k, **t).is_ok())
                {
                    for sub in &subs {
                        for d in dates(index.interval(*k), spec.from, spec.to) {
                            for slot in &per_slot {
                                rows.push(Row {
                                    date: d,
                                    team: *t,
                                    kpi: *k,
                                    sub_tile: sub.clone(),
                                    slot: slot.clone(),
                                });
                                if rows.len() > MAX_ROWS {
                                    return Err(too_many());
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if rows.is_empty() {
        return Err(refuse(
            "no row to fill: none of the teams records these KPIs in the period".into(),
            "check --team against `vsimport kpis` (its recording teams), and --from/--to",
        ));
    }
    if spec.layout == Layout::Wide && with_sub_tiles {
        return Err(refuse(
            "the wide layout has no column for sub-tiles, and a chosen KPI has them".into(),
            "use --layout semi-wide or long",
        ));
    }
    let workbook = write(index, spec, &rows, &value_columns, with_sub_tiles).map_err(|e| {
        refuse(
            format!("the workbook could not be made: {e}"),
            "report this",
        )
    })?;
    Ok(Template {
        workbook,
        mapping: mapping(spec, &value_columns, with_sub_tiles, index),
        rows: rows.len(),
    })
}

/// The mapping that reads the template.
fn mapping(spec: &Spec, values: &[Column], with_sub_tiles: bool, index: &CatalogIndex) -> String {
    let mut m = String::new();
    m.push_str("# vsimport mapping for a workbook made by `vsimport template`: fill the value\n");
    m.push_str("# cells, keep the header, and import it with this mapping.\n\n");
    m.push_str(&format!(
        "[source]\nsheet = {}\nheader_row = 1\n\n[columns]\ndate = \"Date\"\nteam = \"Team\"\n",
        toml_str(&spec.sheet)
    ));
    if with_sub_tiles {
        m.push_str("sub_tile = \"Sub-tile\"\n");
    }
    match spec.layout {
        Layout::Long => {
            m.push_str("kpi = \"KPI\"\nvalue_name = \"Value name\"\nvalue = \"Value\"\n");
        }
        Layout::SemiWide => {
            m.push_str("kpi = \"KPI\"\n\n[values]\n");
            for c in values {
                if let Some(s) = &c.slot {
                    m.push_str(&format!("{} = {}\n", toml_str(&c.header), toml_str(s)));
                }
            }
        }
        Layout::Wide => {
            m.push_str("\n[kpis]\n");
            for c in values {
                if let (Some(k), Some(s)) = (c.kpi, &c.slot) {
                    m.push_str(&format!(
                        "{} = {{ kpi = {}, value = {} }}\n",
                        toml_str(&c.header),
                        toml_str(&index.kpi(k).name),
                        toml_str(s)
                    ));
                }
            }
        }
    }
    m
}

/// The number format of a KPI's value cells.
fn number_format(index: &CatalogIndex, kpi: u32) -> Format {
    let unlocked = Format::new().set_unlocked();
    match index.unit(kpi) {
        Unit::Time => unlocked.set_num_format("hh:mm"),
        _ if index.kpi(kpi).kpi_value_is_integer => unlocked.set_num_format("0"),
        _ => unlocked.set_num_format("General"),
    }
}

fn xl(e: rust_xlsxwriter::XlsxError) -> String {
    e.to_string()
}

/// Writes the workbook.
fn write(
    index: &CatalogIndex,
    spec: &Spec,
    rows: &[Row],
    values: &[Column],
    with_sub_tiles: bool,
) -> Result<Vec<u8>, String> {
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color("#E8ECF2")
        .set_locked();
    let date_format = Format::new().set_num_format("yyyy-mm-dd").set_unlocked();
    let text = Format::new().set_unlocked();
    let not_applicable = Format::new().set_background_color("#D9D9D9").set_locked();
    // Columns: Date, Team, [Sub-tile], [KPI], [Value name], values...
    let mut heads: Vec<String> = vec!["Date".into(), "Team".into()];
    if with_sub_tiles {
        heads.push("Sub-tile".into());
    }
    if spec.layout != Layout::Wide {
        heads.push("KPI".into());
    }
    if spec.layout == Layout::Long {
        heads.push("Value name".into());
    }
    let first_value = heads.len() as u16;
    heads.extend(values.iter().map(|c| c.header.clone()));
    let col = |name: &str| heads.iter().position(|h| h == name).map(|i| i as u16);

    let sheet: &mut Worksheet = book.add_worksheet();
    sheet.set_name(&spec.sheet).map_err(xl)?;
    for (i, h) in heads.iter().enumerate() {
        sheet
            .write_string_with_format(0, i as u16, h, &header)
            .map_err(xl)?;
        let width = if i == 0 {
            12.0
        } else {
            (h.chars().count() as f64 + 4.0).max(12.0)
        };
        sheet.set_column_width(i as u16, width).map_err(xl)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        if let Some(d) = excel_date(r.date) {
            sheet
                .write_datetime_with_format(row, 0, &d, &date_format)
                .map_err(xl)?;
        }
        sheet
            .write_string_with_format(row, 1, &index.team(r.team).name, &text)
            .map_err(xl)?;
        if let (Some(c), Some(s)) = (col("Sub-tile"), &r.sub_tile) {
            sheet
                .write_string_with_format(row, c, s, &text)
                .map_err(xl)?;
        }
        if let Some(c) = col("KPI") {
            sheet
                .write_string_with_format(row, c, &index.kpi(r.kpi).name, &text)
                .map_err(xl)?;
        }
        if let (Some(c), Some(s)) = (col("Value name"), &r.slot) {
            sheet
                .write_string_with_format(row, c, s, &text)
                .map_err(xl)?;
        }
        // The value cells: empty, formatted for the KPI, editable; grey and locked where
        // the KPI has no such slot or the team does not record it.
        for (j, c) in values.iter().enumerate() {
            let kpi = c.kpi.unwrap_or(r.kpi);
            let applies = index.check_recording(kpi, r.team).is_ok()
                && c.slot
                    .as_ref()
                    .is_none_or(|s| index.kpi(kpi).kpi_values.iter().any(|v| &v.name == s));
            let format = if applies {
                number_format(index, kpi)
            } else {
                not_applicable.clone()
            };
            sheet
                .write_blank(row, first_value + j as u16, &format)
                .map_err(xl)?;
        }
    }
    let last = rows.len().max(1) as u32;
    sheet.set_freeze_panes(1, 0).map_err(xl)?;
    sheet
        .autofilter(0, 0, last, heads.len() as u16 - 1)
        .map_err(xl)?;
    // Drop-down lists from a hidden sheet (a list written inline is limited to 255 characters).
    let team_names: Vec<String> = spec
        .teams
        .iter()
        .map(|t| index.team(*t).name.clone())
        .collect();
    let kpi_names: Vec<String> = spec
        .kpis
        .iter()
        .map(|k| index.kpi(*k).name.clone())
        .collect();
    let lists = [
        ("Teams", team_names, col("Team")),
        ("KPIs", kpi_names, col("KPI")),
    ];
    let mut validations = Vec::new();
    for (i, (title, names, target)) in lists.iter().enumerate() {
        let Some(target) = target else { continue };
        let letter = (b'A' + i as u8) as char;
        let formula = format!("=Lists!${letter}$2:${letter}${}", names.len() + 1);
        let v = DataValidation::new()
            .allow_list_formula(Formula::new(formula))
            .set_error_title(format!("Not one of the {}", title.to_lowercase()))
            .map_err(xl)?
            .set_error_message("Choose a name from the list; names are those of the catalog.")
            .map_err(xl)?;
        validations.push((*target, v));
    }
    for (c, v) in &validations {
        sheet.add_data_validation(1, *c, last, *c, v).map_err(xl)?;
    }
    let options = ProtectionOptions {
        format_columns: true,
        format_rows: true,
        insert_rows: true,
        delete_rows: true,
        sort: true,
        use_autofilter: true,
        ..ProtectionOptions::default()
    };
    sheet.protect_with_options(&options);
    let list_sheet = book.add_worksheet();
    list_sheet.set_name("Lists").map_err(xl)?;
    for (i, (title, names, _)) in lists.iter().enumerate() {
        list_sheet.write_string(0, i as u16, *title).map_err(xl)?;
        for (j, n) in names.iter().enumerate() {
            list_sheet
                .write_string((j + 1) as u32, i as u16, n)
                .map_err(xl)?;
        }
    }
    list_sheet.set_hidden(true);
    book.save_to_buffer().map_err(xl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn dates_follow_the_interval() {
        assert_eq!(
            dates(Interval::Day, d("2025-01-30"), d("2025-02-01")).len(),
            3
        );
        assert_eq!(
            dates(Interval::Week, d("2025-01-01"), d("2025-01-31")),
            vec![
                d("2025-01-06"),
                d("2025-01-13"),
                d("2025-01-20"),
                d("2025-01-27")
            ]
        );
        assert_eq!(
            dates(Interval::Month, d("2025-01-15"), d("2025-04-01")),
            vec![d("2025-02-01"), d("2025-03-01"), d("2025-04-01")]
        );
    }
}
