//! The folders under ROOT, which files in the inbox are for the watch, and names that never
//! collide.
//!
//! ```text
//! ROOT/
//!   vsimport.toml            settings (no password)
//!   inbox/                   files are dropped here; inbox/NAME/ (with mapping.toml) for a
//!   inbox/NAME/              second kind of export
//!   processing/[NAME/]       the file in hand (moved here by an atomic rename)
//!   done/YYYY-MM-DD/         imported files, each with NAME.report.json, NAME.rejected.csv, ...
//!   failed/YYYY-MM-DD/       files that could not be imported, with their reports
//!   vsimport.log             one line per file and outcome (rotated by size)
//!   .vsimport-status.json    for monitoring
//!   .vsimport-watch.lock     one watch per ROOT
//!   .vsimport/               content hashes of imported files; journals and undo data
//! ```

use std::path::{Path, PathBuf};

use crate::error::Error;

/// The folders of one watched ROOT.
#[derive(Debug, Clone)]
pub(crate) struct Folders {
    pub(crate) root: PathBuf,
    pub(crate) inbox: PathBuf,
    pub(crate) processing: PathBuf,
    pub(crate) done: PathBuf,
    pub(crate) failed: PathBuf,
    /// `.vsimport/`: what the watch keeps for itself.
    pub(crate) private: PathBuf,
}

/// Where a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Done,
    Failed,
}

impl Folders {
    pub(crate) fn new(root: &Path) -> Folders {
        Folders {
            root: root.to_path_buf(),
            inbox: root.join("inbox"),
            processing: root.join("processing"),
            done: root.join("done"),
            failed: root.join("failed"),
            private: root.join(".vsimport"),
        }
    }

    /// Creates the folders that are missing.
    pub(crate) fn create(&self) -> Result<(), Error> {
        for d in [
            &self.root,
            &self.inbox,
            &self.processing,
            &self.done,
            &self.failed,
        ] {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
        }
        crate::upload::state::ensure_dir(&self.private)
    }

    /// `done/DATE/[SUB/]` or `failed/DATE/[SUB/]`, created.
    pub(crate) fn dated(
        &self,
        end: End,
        date: chrono::NaiveDate,
        sub: Option<&str>,
    ) -> Result<PathBuf, Error> {
        let base = match end {
            End::Done => &self.done,
            End::Failed => &self.failed,
        };
        let mut dir = base.join(date.format("%Y-%m-%d").to_string());
        if let Some(s) = sub {
            dir.push(s);
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        Ok(dir)
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.root.join("vsimport.log")
    }

    pub(crate) fn status_file(&self) -> PathBuf {
        self.root.join(".vsimport-status.json")
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        self.root.join(".vsimport-watch.lock")
    }
}

/// Why a name in the inbox is not for the watch, or `None` when it is: Excel's lock files,
/// hidden files, and the names downloads and exports have while still being written.
pub(crate) fn ignored(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    if name.starts_with("~$") {
        Some("an Excel lock file")
    } else if name.starts_with('.') {
        Some("a hidden file")
    } else if [
        ".tmp",
        ".part",
        ".crdownload",
        ".partial",
        ".download",
        ".swp",
    ]
    .iter()
    .any(|s| lower.ends_with(s))
    {
        Some("a file still being written (temporary name)")
    } else if name.eq_ignore_ascii_case("mapping.toml")
        || name.eq_ignore_ascii_case("vsimport.toml")
    {
        Some("settings, not an export")
    } else {
        None
    }
}

/// `dir/name`, or `dir/stem-2.ext`, `dir/stem-3.ext`, ... when taken; `also` names the
/// companion suffixes (`.report.json`, ...) that must be free too.
pub(crate) fn unique(dir: &Path, name: &str, also: &[&str]) -> PathBuf {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let free = |candidate: &str| {
        !dir.join(candidate).exists()
            && also
                .iter()
                .all(|s| !dir.join(format!("{candidate}{s}")).exists())
    };
    if free(name) {
        return dir.join(name);
    }
    let mut n = 2u64;
    loop {
        let candidate = format!("{stem}-{n}{ext}");
        if free(&candidate) {
            return dir.join(candidate);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_temp_and_hidden_files_are_ignored() {
        for n in [
            "~$book.xlsx",
            ".hidden.csv",
            "x.tmp",
            "x.part",
            "a.CSV.crdownload",
            "x.partial",
            "mapping.toml",
        ] {
            assert!(ignored(n).is_some(), "{n}");
        }
        for n in ["export.csv", "Bericht März.xlsx", "x.tmp.csv"] {
            assert_eq!(ignored(n), None, "{n}");
        }
    }

    #[test]
    fn names_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(unique(d, "export.csv", &[]), d.join("export.csv"));
        std::fs::write(d.join("export.csv"), "").unwrap();
        assert_eq!(unique(d, "export.csv", &[]), d.join("export-2.csv"));
        std::fs::write(d.join("export-2.csv.report.json"), "").unwrap();
        assert_eq!(
            unique(d, "export.csv", &[".report.json"]),
            d.join("export-3.csv")
        );
        assert_eq!(unique(d, "noext", &[]), d.join("noext"));
    }
}
