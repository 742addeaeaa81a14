//! Files written whole or not at all: the bytes go to a new temporary file in the target's
//! directory, which is renamed over the target once complete (tempfile's `persist`). A reader
//! never sees half a file, a crash leaves the old file (or none), and two runs writing the
//! same target never share a temporary name.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that could not be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}: {message}", path.display())]
#[diagnostic(code(vsimport::io))]
pub(crate) struct WriteError {
    pub(crate) path: PathBuf,
    pub(crate) message: String,
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically from what `fill` writes (buffered).
pub(crate) fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let io = |e: &dyn std::fmt::Display| WriteError {
        path: path.to_path_buf(),
        message: crate::os::plain(&e.to_string()),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".vsimport-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io(&e))?;
    let mut w = std::io::BufWriter::new(tmp);
    fill(&mut w).map_err(|e| io(&e))?;
    let tmp = w.into_inner().map_err(|e| io(e.error()))?;
    tmp.persist(path).map_err(|e| io(&e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_atomic(&p, b"old").unwrap();
        let r = write_atomic_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
    }
}
