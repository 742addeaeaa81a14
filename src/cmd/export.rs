//! `vsimport export`: records back from the server into a long-layout CSV
//! (`Date,Team,KPI,Sub-tile,Value,Amount,Forecast`), which the long mapping template reads.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{KpiDetail, Record};
use crate::error::Error;
use crate::settings::ConnectArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// KPI name or id (repeatable) [default: every KPI]
    #[arg(long, value_name = "NAME|ID")]
    pub kpi: Vec<String>,
    /// Only this recording team (name or id)
    #[arg(long, value_name = "NAME|ID")]
    pub team: Option<String>,
    /// First date (yyyy-mm-dd)
    #[arg(long, value_name = "DATE")]
    pub from: NaiveDate,
    /// Last date (yyyy-mm-dd) [default: today]
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// KPIs read at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

pub async fn run(args: Args) -> Result<ExitCode, Error> {
    let to = args.to.unwrap_or_else(|| chrono::Local::now().date_naive());
    if to < args.from {
        return Err(Error::Usage {
            message: format!("--from {} is after --to {to}", args.from),
            help: None,
        });
    }
    let client = super::connect(&args.connect)?;
    let metas = client.list_kpis().await?;
    let chosen: Vec<uuid::Uuid> = if args.kpi.is_empty() {
        metas.iter().map(|m| m.id).collect()
    } else {
        args.kpi
            .iter()
            .map(|k| super::find_kpi(k, &metas).map(|m| m.id))
            .collect::<Result<_, _>>()?
    };
    let sem = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, id) in chosen.iter().copied().enumerate() {
        let client = client.clone();
        let sem = sem.clone();
        let team = args.team.clone();
        let from = args.from;
        let all_kpis = args.kpi.is_empty();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let kpi = client.kpi(id).await?;
            let team_id = match &team {
                Some(t) => match super::find_team(t, &kpi) {
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
    eprintln!(
        "exported {records} records ({values} values) of {} KPIs, {} to {to}{}",
        results.len(),
        args.from,
        args.output
            .as_ref()
            .map(|p| format!(", to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_csv(
    path: Option<&std::path::Path>,
    results: &[(KpiDetail, Vec<Record>)],
) -> Result<(usize, usize), Error> {
    let shown = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdout>".into());
    let io = |e: &dyn std::fmt::Display| Error::io(&shown, e);
    let tmp = path.map(|p| p.with_extension("tmp~"));
    let sink: Box<dyn std::io::Write> = match &tmp {
        Some(t) => Box::new(std::fs::File::create(t).map_err(|e| io(&e))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::Writer::from_writer(sink);
    w.write_record([
        "Date", "Team", "KPI", "Sub-tile", "Value", "Amount", "Forecast",
    ])
    .map_err(|e| io(&e))?;
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
                w.write_record([
                    date.as_str(),
                    &team,
                    &kpi.name,
                    &sub,
                    &value_name,
                    &amount,
                    if v.forecast { "true" } else { "" },
                ])
                .map_err(|e| io(&e))?;
            }
        }
    }
    w.flush().map_err(|e| io(&e))?;
    drop(w);
    if let (Some(t), Some(p)) = (tmp, path) {
        std::fs::rename(&t, p).map_err(|e| io(&e))?;
    }
    Ok((n_records, n_values))
}
