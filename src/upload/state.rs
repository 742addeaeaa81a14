//! Where vsimport keeps what must outlive a run: journals (for resuming) and run directories
//! (undo data and reports), and the content hashes that name them.

use std::io::Read;
use std::path::Path;

use aws_lc_rs::digest;

use crate::error::Error;

/// Creates `dir` (and its parents), naming it in the error.
pub fn ensure_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))
}

/// SHA-256 of a file's bytes, as hex.
pub fn file_sha256(path: &Path) -> Result<String, Error> {
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

/// SHA-256 of some bytes, as hex, shortened to `len` characters.
pub fn sha256_hex(bytes: &[u8], len: usize) -> String {
    let mut h = hex::encode(digest::digest(&digest::SHA256, bytes).as_ref());
    h.truncate(len);
    h
}

/// A new run id: `YYYYMMDD-HHMMSS-xxxx` (UTC time and four random hex digits).
pub fn new_run_id() -> String {
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
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(file_sha256(&p).unwrap(), sha256_hex(b"abc", 64));
    }

    #[test]
    fn run_ids_look_alike_and_differ() {
        let a = new_run_id();
        assert_eq!(a.len(), "20261128-001500-abcd".len());
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    }
}
