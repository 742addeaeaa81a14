//! `vsimport watch ROOT`: a folder as an import inbox that runs unattended. In: the resolved
//! [`Watch`] settings. Out: one [`FileResult`](outcome::FileResult) per file (logged, and the worst file's exit
//! code for `--once`).
//!
//! ```text
//! inbox/ ──settled──▶ processing/ ──import (the pipeline)──▶ done/DATE/  (+ NAME.report.json, …)
//!                          │  ▲                          └──▶ failed/DATE/
//!                          └──┘ waits (server down, credentials): tried again later
//! ```
//!
//! The loop: take the lock of ROOT ([`instance`]), resume what an earlier watch left in
//! processing/, then look at the inbox on every change event (the `notify` crate) and at
//! least every rescan interval (network shares drop events), take each settled file
//! ([`scan`]), oldest first, one at a time ([`file`](mod@file)), and keep the log, the status file and
//! the heartbeat ([`ops`]). SIGINT/SIGTERM: the file in hand is checkpointed (its journal
//! kept), and the watch exits 0.

pub(crate) mod file;
pub(crate) mod folders;
pub(crate) mod instance;
pub(crate) mod ledger;
pub(crate) mod ops;
pub(crate) mod outcome;
pub(crate) mod scan;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::api::Client;
use crate::error::Error;
use crate::settings::watch::Watch;
use folders::Folders;
use outcome::{Ending, Event};

/// How often the lock's heartbeat is renewed.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// The first wait before a waiting file is tried again; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(300);

/// A file waiting in processing/ to be tried again.
struct Waiting {
    file: file::InHand,
    next: Instant,
    wait: Duration,
}

/// Runs the watch until stopped (or, with `--once`, until the inbox is empty); returns the
/// exit code.
pub(crate) async fn run(w: &Watch, client: &Client, stop: &CancellationToken) -> Result<u8, Error> {
    let folders = Folders::new(&w.root);
    folders.create()?;
    let lock = instance::Instance::acquire(&folders.lock_file(), &w.root, w.stale_lock)?;
    let _beating = lock
        .keep_beating(HEARTBEAT)
        .map_err(|e| Error::io(folders.lock_file().display(), e))?;
    let log = ops::Log::new(folders.log_file(), w.log_format, w.ui.quiet);
    log.event(&Event::Started {
        root: w.root.clone(),
        host: lock.holder().host.clone(),
        pid: lock.holder().pid,
        took_over: lock.took_over.clone(),
        once: w.once,
    });
    let mut status = ops::Status {
        host: lock.holder().host.clone(),
        pid: lock.holder().pid,
        started: lock.holder().started,
        updated: chrono::Utc::now(),
        last_scan: None,
        in_hand: None,
        done: 0,
        failed: 0,
        duplicates: 0,
        waiting: 0,
        last_error: None,
        last_file: None,
    };
    let mut ledger = ledger::Ledger::open(&folders.private)?;
    let cx = file::Context {
        watch: w,
        folders: &folders,
        client,
        stop,
    };
    // Change events wake the loop; without them it looks every rescan interval.
    let wake = Arc::new(tokio::sync::Notify::new());
    let _watcher = events(&folders.inbox, wake.clone(), &log);
    let mut settler = scan::Settler::default();
    let mut waiting: HashMap<PathBuf, Waiting> = HashMap::new();
    let mut worst = 0u8;
    let mut last_prune: Option<chrono::NaiveDate> = None;
    // What an earlier watch left in processing/ first.
    let mut queue: Vec<file::InHand> = file::in_processing(&folders);
    loop {
        if stop.is_cancelled() {
            break;
        }
        let today = chrono::Local::now().date_naive();
        if w.keep_days > 0 && last_prune != Some(today) {
            let n = ops::prune_done(&folders.done, w.keep_days, today);
            if n > 0 {
                log.event(&Event::Pruned { folders: n });
            }
            last_prune = Some(today);
        }
        // Waiting files whose time has come (with --once: none; they wait for the next run).
        if !w.once {
            let now = Instant::now();
            let due: Vec<PathBuf> = waiting
                .iter()
                .filter(|(_, x)| x.next <= now)
                .map(|(p, _)| p.clone())
                .collect();
            for p in due {
                if let Some(x) = waiting.get(&p) {
                    queue.push(x.file.clone());
                }
            }
        }
        let scanned = settler.scan(&folders.inbox, w.settle);
        status.last_scan = Some(chrono::Utc::now());
        for c in &scanned.ready {
            settler.forget(&c.path);
            if let Some(f) = file::take(&folders, c)? {
                queue.push(f);
            }
        }
        for f in std::mem::take(&mut queue) {
            if stop.is_cancelled() {
                break;
            }
            status.in_hand = Some(f.arrived_as.clone());
            status.save(&folders.status_file());
            let r = file::import(&cx, &mut ledger, &f).await?;
            status.in_hand = None;
            worst = outcome::worse(worst, r.ending.exit_code());
            match &r.ending {
                Ending::Waiting { why } => {
                    let prev = waiting.remove(&f.path);
                    let wait = prev
                        .map_or(RETRY_FIRST, |x| (x.wait * 2).min(RETRY_MAX))
                        .min(RETRY_MAX);
                    status.last_error = Some(format!("{}: {why}", r.file));
                    log.event(&Event::File(r.clone()));
                    if !w.once {
                        log.event(&Event::RetryLater {
                            file: r.file.clone(),
                            retry_in: wait,
                        });
                    }
                    waiting.insert(
                        f.path.clone(),
                        Waiting {
                            file: f.clone(),
                            next: Instant::now() + wait,
                            wait,
                        },
                    );
                }
                ending => {
                    waiting.remove(&f.path);
                    match ending {
                        Ending::Done { .. } => status.done += 1,
                        Ending::Duplicate { .. } => status.duplicates += 1,
                        Ending::Failed { why, .. } => {
                            status.failed += 1;
                            status.last_error = Some(format!("{}: {why}", r.file));
                        }
                        _ => {}
                    }
                    log.event(&Event::File(r.clone()));
                    if !matches!(ending, Ending::Checkpointed)
                        && let Some(cmd) = &w.on_file_done
                        && let Err(message) = ops::on_file_done(cmd, &w.root, &r)
                    {
                        log.event(&Event::HookFailed {
                            file: r.file.clone(),
                            message,
                        });
                    }
                }
            }
            status.waiting = waiting.len() as u64;
            status.last_file = Some(r);
            status.save(&folders.status_file());
        }
        status.save(&folders.status_file());
        if w.once && scanned.ready.is_empty() && scanned.settling.is_empty() {
            break;
        }
        // Sleep until a change, a settling file's next look, a waiting file's turn, the
        // heartbeat, or the rescan interval.
        let mut nap = w.rescan.min(HEARTBEAT);
        if !scanned.settling.is_empty() {
            nap = nap.min(
                w.settle
                    .clamp(Duration::from_millis(100), Duration::from_secs(1)),
            );
        }
        if !w.once
            && let Some(next) = waiting.values().map(|x| x.next).min()
        {
            nap = nap.min(next.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            _ = wake.notified() => {
                // Events come in bursts (a copy is many writes): let them pass.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            _ = tokio::time::sleep(nap) => {}
            _ = stop.cancelled() => {}
        }
    }
    log.event(&Event::Stopped {
        done: status.done + status.duplicates,
        failed: status.failed,
        waiting: waiting.len() as u64,
    });
    status.save(&folders.status_file());
    Ok(if stop.is_cancelled() { 0 } else { worst })
}

/// Change events of the inbox (and its subfolders) wake `wake`; `None` when the platform
/// gives none (logged once; the rescans still find every file).
fn events(
    inbox: &std::path::Path,
    wake: Arc<tokio::sync::Notify>,
    log: &ops::Log,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let made = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok() {
            wake.notify_one();
        }
    });
    let mut watcher = match made {
        Ok(w) => w,
        Err(e) => {
            log.event(&Event::NoEvents {
                message: e.to_string(),
            });
            return None;
        }
    };
    if let Err(e) = watcher.watch(inbox, notify::RecursiveMode::Recursive) {
        log.event(&Event::NoEvents {
            message: e.to_string(),
        });
        return None;
    }
    Some(watcher)
}

/// What `--check` finds: the settings (already resolved), the mappings, the server and the
/// credentials (the catalog is read), and what would be imported now. Moves nothing.
pub(crate) async fn check(w: &Watch, client: &Client) -> crate::report::watch::Check {
    let folders = Folders::new(&w.root);
    let mut c = crate::report::watch::Check::default();
    c.checks.push((
        "settings".into(),
        Ok(format!(
            "{} (settle {} s, rescan {} s, on_rejected {})",
            crate::settings::watch::settings_file(&w.root).display(),
            w.settle.as_secs(),
            w.rescan.as_secs(),
            w.on_rejected.name()
        )),
    ));
    let mut mappings: Vec<(String, Option<PathBuf>)> = vec![("inbox/".into(), w.mapping.clone())];
    if let Ok(entries) = std::fs::read_dir(&folders.inbox) {
        let mut subs: Vec<String> = entries
            .flatten()
            .filter(|e| std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| folders::ignored(n).is_none())
            .collect();
        subs.sort();
        for s in subs {
            mappings.push((
                format!("inbox/{s}/"),
                file::mapping_path(w, &folders, Some(&s)),
            ));
        }
    }
    for (dir, m) in mappings {
        let r = match &m {
            None => Ok("no mapping: columns matched to the catalog".to_string()),
            Some(p) => crate::map::Mapping::load(p)
                .map(|_| p.display().to_string())
                .map_err(|e| e.to_string()),
        };
        c.checks.push((format!("mapping for {dir}"), r));
    }
    c.checks.push((
        "server and credentials".into(),
        match client.catalog().await {
            Ok(cat) => Ok(format!(
                "{}: {} KPIs, {} teams",
                client.base_url(),
                cat.kpis.len(),
                cat.teams.len()
            )),
            Err(e) => Err(e.to_string()),
        },
    ));
    let ledger = ledger::Ledger::open(&folders.private);
    for f in file::in_processing(&folders) {
        c.resumed.push(file::relative(&folders, &f.path));
    }
    let scanned = scan::Settler::default().scan(&folders.inbox, w.settle);
    for f in scanned.ready {
        let shown = file::relative(&folders, &f.path);
        let dup = ledger.as_ref().ok().and_then(|l| {
            ledger::hash_file(&f.path)
                .ok()
                .and_then(|h| l.get(&h).map(|e| e.name.clone()))
        });
        match dup {
            Some(of) => c.duplicates.push((shown, of)),
            None => c.now.push(shown),
        }
    }
    for f in scanned.settling {
        c.settling.push(file::relative(&folders, &f.path));
    }
    for (p, why) in scanned.ignored {
        c.ignored.push((file::relative(&folders, &p), why));
    }
    c
}
