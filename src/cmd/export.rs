//! `vsimport export`: records back from the server into a long-layout CSV
//! (`Date,Team,KPI,Sub-tile,Value,Amount,Forecast`), which the long mapping template reads.

use std::process::ExitCode;

use tokio::task::JoinSet;

use crate::api::{KpiDetail, KpiMeta, Named, Record};
use crate::cli::ExportArgs as Args;
use crate::error::Error;
use crate::suggest::did_you_mean;

pub(crate) async fn run(args: Args) -> Result<ExitCode, Error> {
    let to = args.to.unwrap_or_else(|| chrono::Local::now().date_naive());
    if to < args.from {
        return Err(Error::Usage {
            message: format!("--from {} is after --to {to}", args.from),
            help: None,
        });
    }
    if let Some(p) = &args.output {
        Error::check_output(p, args.force)?;
    }
    let client = super::connect(&args.connect)?;
    let metas = client.list_kpis().await?;
    let chosen: Vec<uuid::Uuid> = if args.kpi.is_empty() {
        metas.iter().map(|m| m.id).collect()
    } else {
        args.kpi
            .iter()
            .map(|k| find_kpi(k, &metas).map(|m| m.id))
            .collect::<Result<_, _>>()?
    };
    let mut set = JoinSet::new();
    for (i, id) in chosen.iter().copied().enumerate() {
        let client = client.clone();
        let team = args.team.clone();
        let from = args.from;
        let all_kpis = args.kpi.is_empty();
        set.spawn(async move {
            let kpi = client.kpi(id).await?;
            let team_id = match &team {
                Some(t) => match find_team(t, &kpi) {
                    Ok(t) => Some(t.id),
                    // Without --kpi, --team only filters: skip KPIs the team does not record.
                    Err(_) if all_kpis => return Ok((i, kpi, Vec::new())),
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let records = client.records(&kpi, team_id, from, to).await?;
            Ok::<_, Error>((i, kpi, records))
        });
    }
    let mut results: Vec<Option<(KpiDetail, Vec<Record>)>> = vec![None; chosen.len()];
    while let Some(joined) = set.join_next().await {
        let (i, kpi, records) = joined.map_err(|e| Error::Usage {
            message: format!("an export task failed: {e}"),
            help: None,
        })??;
        results[i] = Some((kpi, records));
    }
    let results: Vec<(KpiDetail, Vec<Record>)> = results.into_iter().flatten().collect();
    let (records, values) = write_csv(args.output.as_deref(), &results)?;
    crate::report::note(&format!(
        "exported {} ({}) of {}, {} to {to}{}",
        crate::report::count(records as u64, "record", "records"),
        crate::report::count(values as u64, "value", "values"),
        crate::report::count(results.len() as u64, "KPI", "KPIs"),
        args.from,
        args.output
            .as_ref()
            .map(|p| format!(", to {}", p.display()))
            .unwrap_or_default()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Writes the records as CSV to `path` (whole or not at all) or standard output.
fn write_csv(
    path: Option<&std::path::Path>,
    results: &[(KpiDetail, Vec<Record>)],
) -> Result<(usize, usize), Error> {
    match path {
        Some(p) => {
            let mut counts = (0, 0);
            crate::persist::write_atomic_with(p, |w| {
                counts = write_records(w, results)?;
                Ok(())
            })?;
            Ok(counts)
        }
        None => {
            let mut out = std::io::stdout().lock();
            write_records(&mut out, results).map_err(|e| Error::io("<stdout>", e))
        }
    }
}

fn write_records(
    sink: &mut dyn std::io::Write,
    results: &[(KpiDetail, Vec<Record>)],
) -> std::io::Result<(usize, usize)> {
    let mut w = csv::Writer::from_writer(sink);
    w.write_record([
        "Date", "Team", "KPI", "Sub-tile", "Value", "Amount", "Forecast",
    ])?;
    let (mut n_records, mut n_values) = (0, 0);
    for (kpi, records) in results {
        let mut records: Vec<&Record> = records.iter().collect();
        records.sort_by_key(|r| (r.date, r.team_id, r.sub_tile_id));
        for r in records {
            n_records += 1;
            let date = r.date.map(|d| d.to_string()).unwrap_or_default();
            let team = r
                .team_id
                .map(|t| kpi.team(t).map(|n| n.name.clone()).unwrap_or(t.to_string()))
                .unwrap_or_default();
            let sub = r
                .sub_tile_id
                .map(|s| {
                    kpi.sub_tile(s)
                        .map(|n| n.name.clone())
                        .unwrap_or(s.to_string())
                })
                .unwrap_or_default();
            for v in &r.values {
                n_values += 1;
                let value_name = kpi
                    .value(v.kpi_value_id)
                    .map(|n| n.name.clone())
                    .unwrap_or(v.kpi_value_id.to_string());
                let amount = v.value.to_string();
                // Names come from the server: neutralised like every CSV cell vsimport writes.
                let n = crate::report::files::neutralise;
                w.write_record([
                    date.as_str(),
                    &n(&team),
                    &n(&kpi.name),
                    &n(&sub),
                    &n(&value_name),
                    &amount,
                    if v.forecast { "true" } else { "" },
                ])?;
            }
        }
    }
    w.flush()?;
    Ok((n_records, n_values))
}

/// Finds a thing by UUID or by name (exact, then case-insensitive), with a suggestion when
/// nothing matches. `what` names the kind ("KPI", "team") for the message.
fn find_named<'a, T>(
    what: &str,
    wanted: &str,
    items: &'a [T],
    id: impl Fn(&T) -> uuid::Uuid,
    name: impl Fn(&T) -> &str,
) -> Result<&'a T, Error> {
    let wanted_t = wanted.trim();
    if let Ok(u) = uuid::Uuid::parse_str(wanted_t)
        && let Some(x) = items.iter().find(|x| id(x) == u)
    {
        return Ok(x);
    }
    if let Some(x) = items.iter().find(|x| name(x) == wanted_t) {
        return Ok(x);
    }
    let ci: Vec<&T> = items
        .iter()
        .filter(|x| name(x).to_lowercase() == wanted_t.to_lowercase())
        .collect();
    if let [one] = ci.as_slice() {
        return Ok(one);
    }
    let help = match did_you_mean(wanted_t, items.iter().map(&name)) {
        Some(s) => format!("did you mean {s:?}?"),
        None => format!(
            "known: {}",
            items
                .iter()
                .map(&name)
                .take(12)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(Error::Usage {
        message: format!("no {what} named {wanted_t:?}"),
        help: Some(help),
    })
}

fn find_kpi<'a>(wanted: &str, kpis: &'a [KpiMeta]) -> Result<&'a KpiMeta, Error> {
    find_named("KPI", wanted, kpis, |k| k.id, |k| &k.name)
}

fn find_team<'a>(wanted: &str, kpi: &'a KpiDetail) -> Result<&'a Named, Error> {
    find_named(
        &format!("recording team of KPI {:?}", kpi.name),
        wanted,
        &kpi.recording_teams,
        |t| t.id,
        |t| &t.name,
    )
}
