//! Where vsimport keeps what must outlive a run: journals (for resuming) and run directories
//! (undo data and reports), and the content hashes that name them.

use std::path::Path;

use aws_lc_rs::digest;

use crate::error::Error;

/// Creates `dir` (and its parents), naming it in the error. Directories vsimport creates are
/// its user's only (0700 on Unix): journals, undo data and reports hold a plant's figures.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), Error> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| Error::io(dir.display(), e))
}

/// Opens a state file for writing without following a symbolic link planted in its place,
/// created 0600 on Unix: `append` adds to it, else it is created or truncated.
pub(crate) fn open_private(path: &Path, append: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    if append {
        o.append(true);
    } else {
        o.write(true).create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    o.open(path)
}

/// SHA-256 of some bytes, as hex, shortened to `len` characters.
pub(crate) fn sha256_hex(bytes: &[u8], len: usize) -> String {
    let mut h = hex::encode(digest::digest(&digest::SHA256, bytes).as_ref());
    h.truncate(len);
    h
}

/// A new run id: `YYYYMMDD-HHMMSS-xxxx` (UTC time and four random hex digits).
pub(crate) fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!("{}-{:04x}", now.format("%Y%m%d-%H%M%S"), fastrand::u16(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc", 64),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn run_ids_look_alike_and_differ() {
        let ids: Vec<String> = (0..64).map(|_| new_run_id()).collect();
        for a in &ids {
            assert_eq!(a.len(), "20261128-001500-abcd".len());
            assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        }
        // Ids made in the same second differ in their random part.
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert!(unique.len() > 60, "{} of 64 distinct", unique.len());
    }
}
