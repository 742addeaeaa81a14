//! `vsimport undo ID`: reverts an import. Records the import changed get their previous
//! values back (PUT); records it created are deleted (DELETE). Records that someone changed
//! after the import are left alone unless `--force`. `--dry-run` shows what would happen.
//!
//! The API cannot remove a single value from a record, so a value slot that the import added
//! to an existing record stays; undo says how many there are.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::api::RecordBody;
use crate::error::Error;
use crate::report::thousands as t;
use crate::settings::ConnectArgs;
use crate::upload::engine::{self, Op, Task};
use crate::upload::{state, undo};
use crate::validate::CatalogIndex;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 undone (or nothing to do); 1 some records could not be restored; 2 nothing could be done."
)]
pub struct Args {
    /// The import's id, as the import printed it (`undo: vsimport undo ID`)
    pub id: String,
    /// Show what would be restored and deleted; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also restore records that were changed after the import, and undo again an import
    /// that was already undone
    #[arg(long)]
    pub force: bool,
    /// Requests in flight at most
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub concurrency: u32,
    /// Where journals and undo data are kept (as for `import`)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Serialize)]
struct Undone {
    at: String,
    restored: u64,
    deleted: u64,
    skipped: u64,
    failed: u64,
}

pub async fn run(mut args: Args, quiet: bool) -> Result<ExitCode, Error> {
    let state_dir = state::state_dir(args.state_dir.as_deref())?;
    let file = undo::load(&state_dir, &args.id)?;
    let run_dir = undo::run_dir(&state_dir, &args.id);
    let marker = run_dir.join("undone.json");
    if marker.exists() && !args.force {
        eprintln!(
            "import {} was already undone ({}); --force undoes it again",
            args.id,
            marker.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // The import's server, unless one is named.
    if args.connect.url.is_none() && args.connect.tenant.is_none() {
        args.connect.url = Some(file.url.clone());
    }
    let client = super::connect(&args.connect)?;
    if client.base_url().as_str() != file.url {
        return Err(Error::Usage {
            message: format!(
                "import {} wrote to {}, not to {}",
                args.id,
                file.url,
                client.base_url()
            ),
            help: Some("leave out --url/--tenant: undo uses the import's server".into()),
        });
    }
    let index = CatalogIndex::new(client.catalog(32).await?);
    let keys: Vec<crate::api::RecordKey> = file.records.iter().map(|r| r.key).collect();
    let (current, _) =
        crate::upload::read_current(&client, &index, &keys, (args.concurrency as usize).max(4))
            .await?;

    let mut tasks: Vec<Task> = Vec::new();
    let (mut to_restore, mut to_delete, mut gone, mut skipped, mut added_slots) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut skipped_list: Vec<String> = Vec::new();
    for r in &file.records {
        let cur = current.get(&r.key);
        let ours = cur.is_some_and(|c| crate::upload::holds(c, &r.after));
        if !ours && !args.force {
            // Changed (or deleted) by someone else since the import.
            if r.before.is_none() && cur.is_none() {
                gone += 1;
            } else {
                skipped += 1;
                if skipped_list.len() < 10 {
                    skipped_list.push(r.key.path());
                }
            }
            continue;
        }
        match &r.before {
            None if cur.is_none() => gone += 1,
            None => {
                to_delete += 1;
                tasks.push(Task {
                    key: r.key,
                    op: Op::Delete,
                });
            }
            Some(before) => {
                added_slots += r
                    .after
                    .iter()
                    .filter(|a| {
                        !before
                            .iter()
                            .any(|b| b.kpi_value_id == a.kpi_value_id && b.forecast == a.forecast)
                    })
                    .count() as u64;
                to_restore += 1;
                tasks.push(Task {
                    key: r.key,
                    op: Op::Put(RecordBody {
                        values: before.clone(),
                    }),
                });
            }
        }
    }
    let verb = if args.dry_run { "would" } else { "will" };
    println!(
        "Undo of import {} ({}, {}) at {}: {verb} restore {} records and delete {} records it created",
        file.run,
        file.file,
        file.created,
        file.url,
        t(to_restore),
        t(to_delete)
    );
    if gone > 0 {
        println!("  {} records the import created are gone already", t(gone));
    }
    if skipped > 0 {
        println!(
            "  {} records were changed after the import and are left alone (--force restores them anyway), e.g.:",
            t(skipped)
        );
        for p in &skipped_list {
            println!("    {p}");
        }
    }
    if added_slots > 0 {
        println!(
            "  {} values the import added to existing records stay: the API cannot remove a single value",
            t(added_slots)
        );
    }
    if args.dry_run {
        println!("dry run: nothing changed");
        return Ok(ExitCode::SUCCESS);
    }
    let bar = crate::report::progress::bar(tasks.len() as u64, "undoing", quiet);
    let limits = engine::Limits {
        concurrency: args.concurrency as usize,
        max_rps: None,
        retry: crate::api::RetryPolicy::default(),
    };
    let sent = engine::run(
        client.clone(),
        Arc::new(tasks.clone()),
        limits,
        bar.clone(),
        Arc::new(AtomicBool::new(false)),
        Box::new(|_, _| Ok(())),
    )
    .await;
    bar.finish_and_clear();
    let (mut restored, mut deleted, mut failed) = (0u64, 0u64, 0u64);
    for (task, o) in tasks.iter().zip(&sent.outcomes) {
        match (o, &task.op) {
            (engine::Outcome::Done { .. }, Op::Put(_)) => restored += 1,
            (engine::Outcome::Done { .. }, Op::Delete) => deleted += 1,
            (engine::Outcome::Failed { message, .. }, _) => {
                failed += 1;
                eprintln!("could not undo {}: {message}", task.key.path());
            }
            (engine::Outcome::NotSent { reason }, _) => {
                failed += 1;
                eprintln!("not undone {}: {reason}", task.key.path());
            }
        }
    }
    println!(
        "Undone: {} records restored, {} deleted, {} failed ({:.1} s)",
        t(restored),
        t(deleted),
        t(failed),
        sent.elapsed.as_secs_f64()
    );
    let done = Undone {
        at: chrono::Utc::now().to_rfc3339(),
        restored,
        deleted,
        skipped,
        failed,
    };
    if failed == 0 {
        let json = serde_json::to_vec_pretty(&done).map_err(|e| Error::io(marker.display(), e))?;
        state::write_atomic(&marker, &json)?;
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}
