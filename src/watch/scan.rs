//! What is in the inbox: [`Candidate`] files (regular files, not ignored, in inbox/ or one
//! level down in inbox/NAME/), and which of them are settled — not written to for the settle
//! time — and so may be taken ([`Settler`]).
//!
//! A file is settled when its size and modification time have not changed across scans for
//! the settle time, or when at first sight its last change (on Unix the later of mtime and
//! ctime, which a copy preserving mtime still moves) is already that old; and it can be opened
//! for reading (on Windows a writer's lock prevents that).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::folders::ignored;

/// A file in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) path: PathBuf,
    /// The subfolder of inbox/ it is in (its own mapping.toml), if any.
    pub(crate) sub: Option<String>,
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) modified: SystemTime,
}

/// One look at the inbox.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Settled files, oldest first.
    pub(crate) ready: Vec<Candidate>,
    /// Files still changing (or not yet watched for the settle time).
    pub(crate) settling: Vec<Candidate>,
    /// Entries left alone, and why.
    pub(crate) ignored: Vec<(PathBuf, &'static str)>,
}

/// Remembers each file's size and time between scans.
#[derive(Debug, Default)]
pub(crate) struct Settler {
    seen: HashMap<PathBuf, (u64, SystemTime, Instant)>,
}

/// The time of a file's last change: the later of mtime and (on Unix) ctime.
fn last_change(meta: &std::fs::Metadata) -> SystemTime {
    let m = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let c = SystemTime::UNIX_EPOCH
            + Duration::new(
                u64::try_from(meta.ctime()).unwrap_or(0),
                u32::try_from(meta.ctime_nsec()).unwrap_or(0),
            );
        return m.max(c);
    }
    #[allow(unreachable_code)]
    m
}

/// The files of the inbox (and of its subfolders, one level), and what was left alone.
pub(crate) fn list(inbox: &Path) -> (Vec<Candidate>, Vec<(PathBuf, &'static str)>) {
    let mut files = Vec::new();
    let mut left = Vec::new();
    let mut visit = |dir: &Path, sub: Option<&str>, left: &mut Vec<(PathBuf, &'static str)>| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut subdirs = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if sub.is_none() && ignored(&name).is_none() {
                    subdirs.push((path, name));
                } else {
                    left.push((path, "a folder (one level of subfolders is watched)"));
                }
                continue;
            }
            if !meta.is_file() {
                left.push((path, "not a regular file (a link, a pipe or a device)"));
                continue;
            }
            if let Some(why) = ignored(&name) {
                left.push((path, why));
                continue;
            }
            files.push(Candidate {
                path,
                sub: sub.map(str::to_string),
                name,
                size: meta.len(),
                modified: last_change(&meta),
            });
        }
        subdirs
    };
    let subdirs = visit(inbox, None, &mut left);
    for (dir, name) in subdirs {
        visit(&dir, Some(&name), &mut left);
    }
    (files, left)
}

impl Settler {
    /// Looks at the inbox: which files are settled (oldest first), which still change.
    pub(crate) fn scan(&mut self, inbox: &Path, settle: Duration) -> Scan {
        let now = Instant::now();
        let wall = SystemTime::now();
        let (files, ignored) = list(inbox);
        let mut scan = Scan {
            ignored,
            ..Scan::default()
        };
        let mut seen = HashMap::with_capacity(files.len());
        for c in files {
            let since = match self.seen.get(&c.path) {
                Some((size, modified, since)) if *size == c.size && *modified == c.modified => {
                    *since
                }
                _ => now,
            };
            seen.insert(c.path.clone(), (c.size, c.modified, since));
            let old_enough = wall
                .duration_since(c.modified)
                .is_ok_and(|age| age >= settle);
            let unchanged = now.duration_since(since) >= settle;
            if (old_enough || unchanged) && std::fs::File::open(&c.path).is_ok() {
                scan.ready.push(c);
            } else {
                scan.settling.push(c);
            }
        }
        self.seen = seen;
        scan.ready
            .sort_by(|a, b| a.modified.cmp(&b.modified).then(a.path.cmp(&b.path)));
        scan
    }

    /// Forgets a file that was taken (a new file of the same name starts afresh).
    pub(crate) fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_keeps_changing_is_not_ready_and_an_old_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path();
        std::fs::create_dir(inbox.join("weekly")).unwrap();
        std::fs::write(inbox.join("weekly").join("w.csv"), "a").unwrap();
        std::fs::write(inbox.join("~$lock.xlsx"), "").unwrap();
        std::fs::write(inbox.join("x.part"), "").unwrap();
        std::fs::write(inbox.join("new.csv"), "a").unwrap();
        let mut s = Settler::default();
        let settle = Duration::from_millis(300);
        let first = s.scan(inbox, settle);
        assert!(first.ready.is_empty(), "{first:?}");
        assert_eq!(first.settling.len(), 2);
        assert_eq!(first.ignored.len(), 2);
        std::thread::sleep(Duration::from_millis(200));
        std::fs::write(inbox.join("new.csv"), "ab").unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let second = s.scan(inbox, settle);
        // w.csv has not changed for 350 ms; new.csv changed 150 ms ago.
        assert_eq!(second.ready.len(), 1, "{second:?}");
        assert_eq!(second.ready[0].sub.as_deref(), Some("weekly"));
        assert_eq!(second.settling[0].name, "new.csv");
        // With no settle time, everything that can be opened is ready at once.
        assert_eq!(
            Settler::default().scan(inbox, Duration::ZERO).ready.len(),
            2
        );
    }
}
