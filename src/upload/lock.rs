//! One import per (server, state directory) at a time: an exclusive OS lock on
//! `STATE/locks/<hash of the URL>.lock`, taken before the import's first request and held
//! until it ends ([`RunLock`]). A second import to the same server waits up to `--wait-lock`
//! seconds, then stops with [`Error::Locked`] naming who holds the lock. The lock is the OS's
//! (released when the process ends, however it ends); the file's text only says who holds it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::error::Error;

/// Held while an import runs; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

/// `STATE/locks/<first 24 hex digits of SHA-256(url)>.lock`.
pub(crate) fn lock_path(state: &Path, url: &str) -> PathBuf {
    state.join("locks").join(format!(
        "{}.lock",
        super::state::sha256_hex(url.as_bytes(), 24)
    ))
}

/// Opens the lock file without following a symbolic link planted in its place.
fn open(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    o.open(path)
}

impl RunLock {
    /// Takes the lock for `url` in `state`, waiting up to `wait` (0: not at all) while
    /// another import holds it; `stop` ends the wait as an interruption.
    pub(crate) async fn acquire(
        state: &Path,
        url: &str,
        file: &str,
        wait: Duration,
        stop: &CancellationToken,
    ) -> Result<RunLock, Error> {
        let path = lock_path(state, url);
        if let Some(dir) = path.parent() {
            super::state::ensure_dir(dir)?;
        }
        let f = open(&path).map_err(|e| Error::io(path.display(), e))?;
        let deadline = Instant::now() + wait;
        loop {
            match f.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        let holder = std::fs::read_to_string(&path).unwrap_or_default();
                        return Err(Error::Locked {
                            url: url.to_string(),
                            holder: holder.trim().chars().take(300).collect(),
                            waited: wait.as_secs(),
                        });
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                        _ = stop.cancelled() => {
                            return Err(Error::Interrupted { when: "while waiting for another import to end" });
                        }
                    }
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io(path.display(), e));
                }
            }
        }
        // Who holds it, for the message a second import shows.
        let mut f = f;
        let who = format!(
            "pid {} since {} importing {file}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        let _ = f.set_len(0);
        let _ = f.write_all(who.as_bytes());
        Ok(RunLock { _file: f })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_is_refused_then_gets_it_when_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        let url = "http://127.0.0.1:1/api/";
        let first = RunLock::acquire(dir.path(), url, "a.csv", Duration::ZERO, &stop)
            .await
            .unwrap();
        let e = RunLock::acquire(dir.path(), url, "b.csv", Duration::ZERO, &stop)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("another import"), "{e}");
        // Another server is another lock.
        RunLock::acquire(
            dir.path(),
            "http://127.0.0.1:2/api/",
            "c.csv",
            Duration::ZERO,
            &stop,
        )
        .await
        .unwrap();
        drop(first);
        RunLock::acquire(dir.path(), url, "b.csv", Duration::ZERO, &stop)
            .await
            .unwrap();
    }
}
