//! `vsimport undo ID`: reverts an import ([`crate::upload::undo`]). `--dry-run` shows what
//! would happen.

use std::process::ExitCode;

use crate::catalog::CatalogIndex;
use crate::cli::UndoArgs;
use crate::error::Error;
use crate::report::{self, progress, text};
use crate::settings::{self, ProcessEnv, Ui};
use crate::upload::undo::{self, UndoPlan};

pub(crate) async fn run(mut args: UndoArgs, ui: Ui) -> Result<ExitCode, Error> {
    let state_dir = settings::state_dir(
        args.state.state_dir.as_deref(),
        args.connect.config.as_deref(),
        &ProcessEnv,
    )?;
    let id = match (&args.id, args.last) {
        (Some(id), _) => id.clone(),
        (None, _) => {
            let last = crate::upload::runs::last_written(&state_dir)?;
            report::note(&text::undo_last(&last.id, last.file.as_deref()));
            last.id
        }
    };
    let file = undo::load(&state_dir, &id)?;
    let run_dir = undo::run_dir(&state_dir, &id);
    let marker = undo::undone_marker(&run_dir);
    if marker.exists() && !args.force {
        report::note(&text::already_undone(&id, &marker));
        return Ok(ExitCode::SUCCESS);
    }
    // The import's server, unless one is named.
    if args.connect.url.is_none() && args.connect.tenant.is_none() {
        args.connect.url = Some(file.url.clone());
    }
    let mut cfg = settings::client(&args.connect, &ProcessEnv, &mut std::io::stdin().lock())?;
    cfg.stop = Some(super::interrupts());
    let client = crate::api::Client::new(&cfg)?;
    if client.base_url().as_str() != file.url {
        return Err(Error::Usage {
            message: format!(
                "import {} wrote to {}, not to {}",
                id,
                file.url,
                client.base_url()
            ),
            help: Some("leave out --url/--tenant: undo uses the import's server".into()),
        });
    }
    let catalog = progress::waiting(
        &text::waiting_for_catalog(client.base_url()),
        ui.quiet,
        client.catalog(),
    )
    .await?;
    let index = CatalogIndex::new(catalog);
    let plan = UndoPlan::new(&client, &index, file, args.force).await?;
    report::out(&text::undo_plan(&plan, args.dry_run));
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let bar = progress::bar(plan.tasks.len() as u64, "undoing", ui.quiet);
    let done = undo::undo(&client, &plan, &run_dir, bar).await?;
    report::err(&text::undo_problems(&done));
    report::out(&text::undone(&done));
    // The page beside the import's report.
    let page =
        report::html::render_undo(&id, &plan.file.file, &plan.file.url, &done).map_err(|e| {
            Error::Io {
                path: "undo.html".into(),
                message: format!("the page could not be made: {e}"),
                help: None,
            }
        })?;
    let path = run_dir.join("undo.html");
    crate::persist::write_atomic(&path, page.as_bytes())?;
    report::note(&text::undo_page(&path));
    Ok(if done.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
