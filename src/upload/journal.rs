//! The append-only journal of an import: one JSON line per record the server acknowledged,
//! written as soon as the answer arrives. It is keyed by the input file's content hash and
//! the target URL, so running the same import again (after a crash, a kill or a lost
//! network) skips what was acknowledged and sends the rest.
//!
//! Lines are collected in memory and written in whole lines every few milliseconds (and at
//! the end), one `write` per batch: a killed process loses at most the last few
//! milliseconds of acknowledgements (those records are sent again on resume, which a PUT
//! allows) and leaves at most one torn last line, which is ignored (and cut off) when the
//! journal is opened again.
//!
//! A run that wrote everything closes its journal with a `finished` line: the journal only
//! finishes interrupted runs, and the next import of the same file starts a run of its own.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The first line of a journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) journal: u32,
    /// The input file as it was named.
    pub(crate) file: String,
    /// SHA-256 of the input file.
    pub(crate) sha256: String,
    /// The API base the records were written to.
    pub(crate) url: String,
    /// When the first run of this import started (RFC 3339).
    pub(crate) started: String,
    /// The run whose undo data covers this import.
    pub(crate) run: String,
}

/// One line after the header, as read back: an acknowledged record, or the end of a run.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Line {
    Ack(Ack),
    Finished {
        #[allow(dead_code)]
        finished: String,
    },
}

/// One acknowledged record.
#[derive(Debug, Clone, Deserialize)]
struct Ack {
    /// The record's path below the API base (`exchange/kpi-data/…`).
    key: String,
    /// Hash of the values planned from the file for this record.
    values: String,
}

pub(crate) struct Journal {
    pub(crate) path: PathBuf,
    pub(crate) header: Header,
    /// Acknowledged records of earlier runs: key → values, each as a 64-bit hash of its text
    /// (the texts took 154 MB at 1M records). Two keys sharing a hash could make a record
    /// count as written by the earlier run; that only matters for a record the server already
    /// holds with the same values, which is not sent either way.
    pub(crate) acked: HashMap<u64, u64>,
    /// Lines that were not whole (at most the last one after a kill).
    pub(crate) torn: usize,
    /// An earlier journal was there but its first line was not a journal header: it was
    /// replaced (the comparison with the server still keeps unchanged records from being sent).
    pub(crate) discarded: bool,
    file: Mutex<File>,
    /// Whole lines not yet written.
    pending: Mutex<Vec<u8>>,
}

/// The journal file of an import of `sha256` into `url`.
pub(crate) fn journal_path(state: &Path, sha256: &str, url: &str) -> PathBuf {
    let key = super::state::sha256_hex(format!("{sha256}\n{url}").as_bytes(), 24);
    state.join("journals").join(format!("{key}.jsonl"))
}

impl Journal {
    /// Opens the journal for `header.sha256` + `header.url`, reading what earlier runs
    /// acknowledged (unless `restart`), or starts a new one with `header`.
    pub(crate) fn open(state: &Path, header: Header, restart: bool) -> Result<Journal, Error> {
        let path = journal_path(state, &header.sha256, &header.url);
        if let Some(dir) = path.parent() {
            super::state::ensure_dir(dir)?;
        }
        let mut discarded = false;
        if !restart && path.exists() {
            let (old_header, acked, torn, good_len, finished, len) =
                read(&path).map_err(|e| Error::io(path.display(), e))?;
            discarded = old_header.is_none() && len > 0;
            if let Some(old) = old_header.filter(|h| h.sha256 == header.sha256 && !finished) {
                if good_len < len {
                    // Cut a torn last line off so the next line starts clean.
                    let f = super::state::open_private(&path, true)
                        .map_err(|e| Error::io(path.display(), e))?;
                    f.set_len(good_len)
                        .map_err(|e| Error::io(path.display(), e))?;
                }
                let file = super::state::open_private(&path, true)
                    .map_err(|e| Error::io(path.display(), e))?;
                return Ok(Journal {
                    path,
                    header: old,
                    acked,
                    torn,
                    discarded: false,
                    file: Mutex::new(file),
                    pending: Mutex::new(Vec::new()),
                });
            }
        }
        let mut file =
            super::state::open_private(&path, false).map_err(|e| Error::io(path.display(), e))?;
        // A new run starts a new journal.
        let mut line = serde_json::to_vec(&header).map_err(|e| Error::io(path.display(), e))?;
        line.push(b'\n');
        file.write_all(&line)
            .map_err(|e| Error::io(path.display(), e))?;
        Ok(Journal {
            path,
            header,
            acked: HashMap::new(),
            torn: 0,
            discarded,
            file: Mutex::new(file),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// Whether an earlier run had this record acknowledged with these values.
    pub(crate) fn is_acked(&self, key: &str, values: &str) -> bool {
        self.acked
            .get(&text_hash(key))
            .is_some_and(|v| *v == text_hash(values))
    }

    /// Adds one acknowledged record; it reaches the file with the next [`Journal::flush`].
    pub(crate) fn ack(&self, key: &str, values: &str, status: u16) -> Result<(), Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            key: &'a str,
            values: &'a str,
            status: u16,
        }
        let line = Line {
            key,
            values,
            status,
        };
        let mut pending = self.pending.lock().map_err(|_| self.poisoned())?;
        serde_json::to_writer(&mut *pending, &line)
            .map_err(|e| Error::io(self.path.display(), e))?;
        pending.push(b'\n');
        Ok(())
    }

    /// Writes the collected lines (one write).
    pub(crate) fn flush(&self) -> Result<(), Error> {
        let lines = {
            let mut pending = self.pending.lock().map_err(|_| self.poisoned())?;
            if pending.is_empty() {
                return Ok(());
            }
            std::mem::take(&mut *pending)
        };
        let mut f = self.file.lock().map_err(|_| self.poisoned())?;
        f.write_all(&lines)
            .map_err(|e| Error::io(self.path.display(), e))
    }

    /// Closes the journal of a run that wrote everything: a later import of the same file is
    /// a new run.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        let line = serde_json::json!({
            "finished": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        });
        {
            let mut pending = self.pending.lock().map_err(|_| self.poisoned())?;
            serde_json::to_writer(&mut *pending, &line)
                .map_err(|e| Error::io(self.path.display(), e))?;
            pending.push(b'\n');
        }
        self.sync()
    }

    /// Writes what is left and flushes the journal to the disk (at the end of a run).
    pub(crate) fn sync(&self) -> Result<(), Error> {
        self.flush()?;
        match self.file.lock() {
            Ok(f) => f.sync_data().map_err(|e| Error::io(self.path.display(), e)),
            Err(_) => Ok(()),
        }
    }

    fn poisoned(&self) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            message: "the journal is unusable after a failed write".into(),
            help: None,
        }
    }
}

fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// What reading a journal found: header, acknowledged records, lines that did not parse, the
/// length up to the end of its last whole line, whether the run finished, and the length.
type Found = (Option<Header>, HashMap<u64, u64>, usize, u64, bool, u64);

/// Reads a journal line by line (not as one text: 1M acknowledgements are 100 MB). A
/// finished one is known from its last line, and its acknowledgements are not read.
fn read(path: &Path) -> std::io::Result<Found> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut r = std::io::BufReader::with_capacity(1 << 16, &mut file);
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    let header = line
        .strip_suffix(b"\n")
        .and_then(|l| serde_json::from_slice::<Header>(l).ok());
    drop(r);
    // The last whole line: a finished run's ends it.
    let tail = len.min(4096);
    file.seek(std::io::SeekFrom::Start(len - tail))?;
    let mut end = Vec::with_capacity(tail as usize);
    (&mut file).take(tail).read_to_end(&mut end)?;
    if let Some(body) = end.strip_suffix(b"\n") {
        let last = body.rsplit(|b| *b == b'\n').next().unwrap_or(body);
        if let Ok(Line::Finished { .. }) = serde_json::from_slice::<Line>(last) {
            return Ok((header, HashMap::new(), 0, len, true, len));
        }
    }
    file.seek(std::io::SeekFrom::Start(0))?;
    let (mut acked, mut torn, mut finished, mut good_len) = (HashMap::new(), 0, false, 0u64);
    let mut r = std::io::BufReader::with_capacity(1 << 16, file);
    let mut first = true;
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let Some(whole) = line.strip_suffix(b"\n") else {
            torn += 1;
            break;
        };
        good_len += n as u64;
        if std::mem::take(&mut first) || whole.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Line>(whole) {
            Ok(Line::Ack(a)) => {
                acked.insert(text_hash(&a.key), text_hash(&a.values));
            }
            Ok(Line::Finished { .. }) => finished = true,
            Err(_) => torn += 1,
        }
    }
    Ok((header, acked, torn, good_len, finished, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            journal: 1,
            file: "a.csv".into(),
            sha256: "abc".into(),
            url: "http://127.0.0.1:1/api/".into(),
            started: "2026-11-28T00:00:00Z".into(),
            run: "r1".into(),
        }
    }

    #[test]
    fn acks_survive_and_a_torn_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), header(), false).unwrap();
        for k in ["k1", "k2"] {
            j.ack(k, "v", 201).unwrap();
        }
        let path = j.path.clone();
        j.flush().unwrap();
        drop(j);
        // A kill in the middle of a write.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"key":"k3","val"#).unwrap();
        drop(f);
        let j = Journal::open(dir.path(), header(), false).unwrap();
        assert_eq!(j.acked.len(), 2);
        assert_eq!(j.torn, 1);
        assert!(j.is_acked("k1", "v"));
        assert!(!j.is_acked("k1", "other values"));
        j.ack("k3", "v", 200).unwrap();
        j.sync().unwrap();
        drop(j);
        let j = Journal::open(dir.path(), header(), false).unwrap();
        assert_eq!((j.acked.len(), j.torn), (3, 0));
        // --restart forgets.
        let j = Journal::open(dir.path(), header(), true).unwrap();
        assert!(j.acked.is_empty());
        j.ack("k1", "v", 200).unwrap();
        j.finish().unwrap();
        drop(j);
        // A finished run is not resumed: the next run starts afresh.
        let mut next = header();
        next.run = "r2".into();
        let j = Journal::open(dir.path(), next, false).unwrap();
        assert!(j.acked.is_empty());
        assert_eq!(j.header.run, "r2");
    }
}
