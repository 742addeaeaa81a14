//! `vsimport kpis`: the tenant's catalog as a table, as JSON, or saved as a catalog file.

use std::process::ExitCode;

use crate::api::{Catalog, KpiDetail};
use crate::cli::KpisArgs as Args;
use crate::error::Error;
use crate::report;

pub(crate) async fn run(args: Args) -> Result<ExitCode, Error> {
    let client = super::connect(&args.connect)?;
    let catalog = report::progress::waiting(
        &report::text::waiting_for_catalog(client.base_url()),
        false,
        client.catalog(),
    )
    .await?;
    if let Some(path) = &args.save {
        write_json_file(path, &catalog)?;
        report::note(&format!(
            "saved {} and {} to {}",
            report::count(catalog.kpis.len() as u64, "KPI", "KPIs"),
            report::count(catalog.teams.len() as u64, "team", "teams"),
            path.display()
        ));
    }
    let text = if args.json || args.format == crate::cli::Format::Json {
        let mut s = serde_json::to_string_pretty(&catalog).map_err(|e| Error::io("<stdout>", e))?;
        s.push('\n');
        s
    } else {
        table(&catalog)
    };
    report::out(&text);
    Ok(ExitCode::SUCCESS)
}

/// Writes JSON whole or not at all.
fn write_json_file(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| Error::io(path.display(), e))?;
    Ok(crate::persist::write_atomic(path, &json)?)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn names(v: &[crate::api::Named]) -> String {
    v.iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(k: &KpiDetail) -> [String; 7] {
    [
        k.name.clone(),
        k.kpi_value_time_reference
            .map_or_else(|| "?".to_string(), |i| i.to_string()),
        k.unit.clone().unwrap_or_default(),
        yes_no(k.kpi_value_is_integer).to_string(),
        names(&k.kpi_values),
        names(&k.sub_tiles),
        names(&k.recording_teams),
    ]
}

/// A plain-text table, columns padded by character count (team names carry umlauts).
pub(crate) fn table(catalog: &Catalog) -> String {
    let header = [
        "KPI",
        "Interval",
        "Unit",
        "Integer",
        "Values",
        "Sub-tiles",
        "Recording teams",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = catalog.kpis.iter().map(row).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(c);
            if i + 1 < r.len() {
                line.extend(std::iter::repeat_n(' ', w - c.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{}, {}\n",
        report::count(catalog.kpis.len() as u64, "KPI", "KPIs"),
        report::count(catalog.teams.len() as u64, "team", "teams")
    ));
    out
}
