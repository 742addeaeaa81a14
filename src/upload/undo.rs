//! Undo data: before an import writes, the previous values of every record it will send are
//! saved in its run directory (`STATE/runs/ID/undo.json`). `vsimport undo ID` puts them back
//! and deletes the records the import created.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::{RecordKey, RecordValue};
use crate::error::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndoFile {
    pub version: u32,
    pub run: String,
    /// When the import started (RFC 3339).
    pub created: String,
    /// The API base the import wrote to.
    pub url: String,
    pub file: String,
    pub records: Vec<UndoRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndoRecord {
    #[serde(flatten)]
    pub key: RecordKey,
    /// The server's values before the import; `None` when the import created the record.
    pub before: Option<Vec<RecordValue>>,
    /// The values the import sent.
    pub after: Vec<RecordValue>,
}

/// `STATE/runs/ID`.
pub fn run_dir(state: &Path, id: &str) -> PathBuf {
    state.join("runs").join(id)
}

fn check_id(id: &str) -> Result<(), Error> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::Usage {
            message: format!("{id:?} is not an import id"),
            help: Some(
                "an import prints its id, e.g. `undo: vsimport undo 20261128-101500-3fa2`".into(),
            ),
        });
    }
    Ok(())
}

pub fn save(dir: &Path, undo: &UndoFile) -> Result<PathBuf, Error> {
    super::state::ensure_dir(dir)?;
    let path = dir.join("undo.json");
    let json = serde_json::to_vec(undo).map_err(|e| Error::io(path.display(), e))?;
    super::state::write_atomic(&path, &json)?;
    Ok(path)
}

pub fn load(state: &Path, id: &str) -> Result<UndoFile, Error> {
    check_id(id)?;
    let path = run_dir(state, id).join("undo.json");
    let text = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Usage {
                message: format!("no import with id {id} in {}", state.display()),
                help: Some(format!(
                    "the ids are the directory names under {}; pass --state-dir if the import used another",
                    state.join("runs").display()
                )),
            }
        } else {
            Error::io(path.display(), e)
        }
    })?;
    serde_json::from_slice(&text)
        .map_err(|e| Error::io(path.display(), format!("not undo data: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_leave_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), "../etc").is_err());
        let e = load(dir.path(), "20261128-000000-abcd").unwrap_err();
        assert!(e.to_string().contains("no import with id"));
    }
}
