//! `vsimport template`: the catalog (saved or the server's), the names resolved, the
//! [template] made, and the workbook and its mapping written.

use std::process::ExitCode;

use crate::cli::template::TemplateArgs;
use crate::error::Error;
use crate::report;
use crate::template::{self, Spec};

pub(crate) async fn run(args: TemplateArgs) -> Result<ExitCode, Error> {
    let out = &args.output;
    let mapping_path = out.with_extension("mapping.toml");
    if out
        .extension()
        .is_none_or(|e| !e.eq_ignore_ascii_case("xlsx"))
    {
        return Err(Error::Usage {
            message: format!("-o {}: the template is a workbook", out.display()),
            help: Some("give a file name ending in .xlsx".into()),
        });
    }
    Error::check_output(out, args.force)?;
    Error::check_output(&mapping_path, args.force)?;
    let catalog = super::catalog(args.catalog.as_deref(), &args.connect).await?;
    let index = crate::catalog::CatalogIndex::new(catalog);
    let usage = |p: crate::diag::Problem| Error::Usage {
        message: p.message,
        help: p.help,
    };
    let kpis = args
        .kpi
        .iter()
        .map(|k| index.find_kpi(k).map_err(usage))
        .collect::<Result<Vec<u32>, Error>>()?;
    let mut teams = args
        .team
        .iter()
        .map(|t| index.find_team(t).map_err(usage))
        .collect::<Result<Vec<u32>, Error>>()?;
    if teams.is_empty() {
        // The teams that record the chosen KPIs, in the catalog's order.
        teams = (0..index.teams.len() as u32)
            .filter(|t| kpis.iter().any(|k| index.check_recording(*k, *t).is_ok()))
            .collect();
    }
    if teams.is_empty() {
        return Err(Error::Usage {
            message: "the catalog names no team that records these KPIs".into(),
            help: Some("name the teams with --team (repeatable)".into()),
        });
    }
    let spec = Spec {
        kpis,
        teams,
        from: args.from,
        to: args.to,
        layout: args.layout,
        sheet: "Data".into(),
    };
    let made = template::make(&index, &spec).map_err(|r| Error::Usage {
        message: r.message,
        help: Some(r.help),
    })?;
    crate::persist::write_atomic(out, &made.workbook)?;
    crate::persist::write_atomic(&mapping_path, made.mapping.as_bytes())?;
    report::out(&report::text::template_written(
        out,
        &mapping_path,
        made.rows as u64,
    ));
    Ok(ExitCode::SUCCESS)
}
