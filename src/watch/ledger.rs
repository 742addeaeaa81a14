//! The content of every file the watch imported: `ROOT/.vsimport/imported.jsonl`, one line
//! per file (SHA-256 of its bytes, its name, where it went, when). A file whose content is
//! already there is not sent again, whatever its name.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One imported file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) sha256: String,
    pub(crate) name: String,
    /// Where it went under ROOT (done/DATE/NAME).
    pub(crate) done: String,
    pub(crate) at: chrono::DateTime<chrono::Utc>,
}

/// The imported contents, by hash.
#[derive(Debug)]
pub(crate) struct Ledger {
    path: PathBuf,
    by_hash: HashMap<String, Entry>,
    /// The file ends in a line cut off by a crash: the next line starts on a line of its own.
    torn: bool,
}

impl Ledger {
    /// Reads the ledger; lines that cannot be read (a line cut off by a crash) are skipped.
    pub(crate) fn open(dir: &Path) -> Result<Ledger, Error> {
        let path = dir.join("imported.jsonl");
        let mut by_hash = HashMap::new();
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(path.display(), e)),
        };
        for line in text.split(|b| *b == b'\n') {
            if let Ok(e) = serde_json::from_slice::<Entry>(line) {
                by_hash.insert(e.sha256.clone(), e);
            }
        }
        let torn = text.last().is_some_and(|b| *b != b'\n');
        Ok(Ledger {
            path,
            by_hash,
            torn,
        })
    }

    pub(crate) fn get(&self, sha256: &str) -> Option<&Entry> {
        self.by_hash.get(sha256)
    }

    /// Adds a file, on disk first.
    pub(crate) fn add(&mut self, e: Entry) -> Result<(), Error> {
        let io = |err: std::io::Error| Error::io(self.path.display(), err);
        let mut o = std::fs::OpenOptions::new();
        o.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let mut f = o.open(&self.path).map_err(io)?;
        let mut line = if self.torn {
            "\n".to_string()
        } else {
            String::new()
        };
        line.push_str(&serde_json::to_string(&e).unwrap_or_default());
        line.push('\n');
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)?;
        self.torn = false;
        self.by_hash.insert(e.sha256.clone(), e);
        Ok(())
    }
}

/// SHA-256 of a file's bytes, as hex.
pub(crate) fn hash_file(path: &Path) -> Result<String, Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path.display(), e))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_added_is_found_after_a_reopen_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "abc").unwrap();
        let h = hash_file(&f).unwrap();
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut l = Ledger::open(dir.path()).unwrap();
        assert!(l.get(&h).is_none());
        l.add(Entry {
            sha256: h.clone(),
            name: "a.csv".into(),
            done: "done/2026-12-01/a.csv".into(),
            at: chrono::Utc::now(),
        })
        .unwrap();
        let mut raw = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("imported.jsonl"))
            .unwrap();
        raw.write_all(b"{\"sha256\":\"cut").unwrap();
        let mut again = Ledger::open(dir.path()).unwrap();
        assert_eq!(again.get(&h).unwrap().name, "a.csv");
        // The next line after a torn one is read back too.
        again
            .add(Entry {
                sha256: "b".into(),
                name: "b.csv".into(),
                done: "done/2026-12-01/b.csv".into(),
                at: chrono::Utc::now(),
            })
            .unwrap();
        assert!(Ledger::open(dir.path()).unwrap().get("b").is_some());
    }
}
