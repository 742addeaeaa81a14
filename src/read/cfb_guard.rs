//! A check of an xls file's compound-file container (the `cfb` crate) before calamine reads
//! it: calamine 0.38 follows a sector chain that loops until memory runs out (a 14 KB xls
//! asked for 2 GB; found by the read_workbook fuzz target), where the `cfb` crate refuses a
//! sector pointed to twice. Every stream is read once through it, bounded by the file's size.

use std::io::{Cursor, Read};

/// `Err(why)` when the container is damaged; `Ok` for anything that is not a compound file.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if !bytes.starts_with(&MAGIC) {
        return Ok(());
    }
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let streams: Vec<std::path::PathBuf> = file
        .walk()
        .filter(|e| e.is_stream())
        .map(|e| e.path().to_path_buf())
        .collect();
    // A stream's chain cannot hold more than the file; a longer one loops.
    let bound = (bytes.len() as u64).saturating_mul(2) + 4096;
    for path in streams {
        let stream = file.open_stream(&path).map_err(|e| e.to_string())?;
        let read = std::io::copy(&mut stream.take(bound), &mut std::io::sink())
            .map_err(|e| e.to_string())?;
        if read >= bound {
            return Err(format!(
                "its stream {} is longer than the file",
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_real_xls_passes_and_a_looping_one_is_refused() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let good = std::fs::read(root.join("tests/data/export_basic.xls")).unwrap();
        assert_eq!(super::check(&good), Ok(()));
        let looping = std::fs::read(root.join("tests/data/hostile/calamine_cfb_loop.xls")).unwrap();
        assert!(super::check(&looping).is_err());
        assert_eq!(super::check(b"Datum;Team\n"), Ok(()));
    }
}
