//! One watch per ROOT: an exclusive OS lock on `ROOT/.vsimport-watch.lock`, and in the file
//! who holds it (host, pid, start) with a heartbeat, so that a watch on another machine,
//! whose OS lock a network share may not pass on, sees it too. A lock whose heartbeat is older
//! than the stale time is taken over (its holder died without releasing it).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Who holds the lock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) started: chrono::DateTime<chrono::Utc>,
    pub(crate) heartbeat: chrono::DateTime<chrono::Utc>,
}

impl Holder {
    fn shown(&self) -> String {
        let ago = (chrono::Utc::now() - self.heartbeat).num_seconds().max(0);
        format!(
            "host {}, pid {}, since {}, last heartbeat {ago} s ago",
            self.host,
            self.pid,
            self.started.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Held while the watch runs; the OS lock ends with the process, however it ends.
#[derive(Debug)]
pub(crate) struct Instance {
    file: File,
    holder: Holder,
    /// The holder this one took over from (its heartbeat was stale), for the log.
    pub(crate) took_over: Option<String>,
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    o.open(path)
}

impl Instance {
    /// Takes the lock of `root` at `path`, or says who holds it.
    pub(crate) fn acquire(path: &Path, root: &Path, stale: Duration) -> Result<Instance, Error> {
        let io = |e: std::io::Error| Error::io(path.display(), e);
        let mut file = open(path).map_err(io)?;
        let locked = |holder: String| Error::WatchLocked {
            root: root.display().to_string(),
            holder,
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let shown = serde_json::from_str::<Holder>(&text)
                    .map(|h| h.shown())
                    .unwrap_or_default();
                return Err(locked(shown));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let host = crate::os::hostname();
        let before = serde_json::from_str::<Holder>(&text).ok();
        let mut took_over = None;
        if let Some(h) = &before {
            let age = (chrono::Utc::now() - h.heartbeat)
                .to_std()
                .unwrap_or(Duration::ZERO);
            // Another machine's watch with a fresh heartbeat: its OS lock did not reach here.
            if h.host != host && age < stale {
                return Err(locked(h.shown()));
            }
            if h.host != host || h.pid != std::process::id() {
                took_over = Some(h.shown());
            }
        }
        let now = chrono::Utc::now();
        let mut me = Instance {
            file,
            holder: Holder {
                host,
                pid: std::process::id(),
                started: now,
                heartbeat: now,
            },
            took_over,
        };
        me.beat().map_err(io)?;
        Ok(me)
    }

    /// Renews the heartbeat.
    pub(crate) fn beat(&mut self) -> std::io::Result<()> {
        write_holder(&mut self.file, &mut self.holder)
    }

    /// Renews the heartbeat every `every` on a task of its own (a file's import may take
    /// longer than the stale time); the task ends when the returned guard is dropped.
    pub(crate) fn keep_beating(&self, every: Duration) -> std::io::Result<Beating> {
        let mut file = self.file.try_clone()?;
        let mut holder = self.holder.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let _ = write_holder(&mut file, &mut holder);
            }
        });
        Ok(Beating(task))
    }

    pub(crate) fn holder(&self) -> &Holder {
        &self.holder
    }
}

/// Stamps the heartbeat and writes the holder over the lock file's text.
fn write_holder(file: &mut File, holder: &mut Holder) -> std::io::Result<()> {
    holder.heartbeat = chrono::Utc::now();
    let text = serde_json::to_string(holder).unwrap_or_default();
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

/// The heartbeat task; stopped when dropped.
#[derive(Debug)]
pub(crate) struct Beating(tokio::task::JoinHandle<()>);

impl Drop for Beating {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Drop for Instance {
    /// A watch that ends normally leaves the lock file empty: the next one starts without
    /// taking anything over. (A killed one leaves its text, which the next one reports.)
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_watch_is_refused_and_another_hosts_stale_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.lock");
        let first = Instance::acquire(&path, dir.path(), Duration::from_secs(60)).unwrap();
        let e = Instance::acquire(&path, dir.path(), Duration::from_secs(60)).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(e.to_string().contains("pid"), "{e}");
        drop(first);
        // Released normally: nothing to take over.
        let again = Instance::acquire(&path, dir.path(), Duration::from_secs(60)).unwrap();
        assert!(again.took_over.is_none());
        drop(again);
        // Another machine's lock, fresh: refused even though the OS lock is free.
        let other = Holder {
            host: "other-host".into(),
            pid: 1,
            started: chrono::Utc::now(),
            heartbeat: chrono::Utc::now(),
        };
        std::fs::write(&path, serde_json::to_string(&other).unwrap()).unwrap();
        let e = Instance::acquire(&path, dir.path(), Duration::from_secs(60)).unwrap_err();
        assert!(e.to_string().contains("other-host"), "{e}");
        // The same, its heartbeat ten minutes old: taken over.
        let stale = Holder {
            heartbeat: chrono::Utc::now() - chrono::Duration::minutes(10),
            ..other
        };
        std::fs::write(&path, serde_json::to_string(&stale).unwrap()).unwrap();
        let me = Instance::acquire(&path, dir.path(), Duration::from_secs(60)).unwrap();
        assert!(
            me.took_over
                .as_deref()
                .is_some_and(|t| t.contains("other-host"))
        );
    }

    #[tokio::test]
    async fn the_heartbeat_goes_on_while_a_file_is_imported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.lock");
        let me = Instance::acquire(&path, dir.path(), Duration::from_secs(60)).unwrap();
        let started = me.holder().heartbeat;
        let beating = me.keep_beating(Duration::from_millis(20)).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let h: Holder = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(h.heartbeat > started, "{h:?}");
        drop(beating);
    }
}
