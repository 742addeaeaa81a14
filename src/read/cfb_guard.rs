//! A check of an xls file's compound-file container (the `cfb` crate) before calamine reads
//! it: calamine 0.38 follows a sector chain that loops until memory runs out (a 14 KB xls
//! asked for 2 GB; found by the read_workbook fuzz target), where the `cfb` crate refuses a
//! sector pointed to twice. Every stream is read once through it, bounded by the file's size.
//! The workbook stream's DIMENSIONS records are checked against `max_cells` too: calamine
//! reserves room for every declared cell of every sheet when it opens the file (a fuzzed xls
//! declaring 920 GB of cells aborted it), as it trusts an xlsx's shared-strings count.

use std::io::{Cursor, Read};

/// What is wrong with an xls file's container.
#[derive(Debug, PartialEq)]
pub(crate) enum Problem {
    /// The container is damaged (the reason).
    Damaged(String),
    /// A sheet declares this many cells, more than `max_cells`.
    TooManyCells(u64),
}

/// `Err` when the container is damaged or declares more cells than `max_cells`; `Ok` for
/// anything that is not a compound file.
pub(crate) fn check(bytes: &[u8], max_cells: u64) -> Result<(), Problem> {
    const MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if !bytes.starts_with(&MAGIC) {
        return Ok(());
    }
    let damaged = |e: std::io::Error| Problem::Damaged(e.to_string());
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(damaged)?;
    let streams: Vec<std::path::PathBuf> = file
        .walk()
        .filter(|e| e.is_stream())
        .map(|e| e.path().to_path_buf())
        .collect();
    // A stream's chain cannot hold more than the file; a longer one loops.
    let bound = (bytes.len() as u64).saturating_mul(2) + 4096;
    for path in streams {
        let mut stream = file.open_stream(&path).map_err(damaged)?.take(bound);
        let workbook = matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("Workbook" | "Book")
        );
        if workbook {
            let mut data = Vec::new();
            stream.read_to_end(&mut data).map_err(damaged)?;
            if let Some(cells) = declared_cells(&data).filter(|c| *c > max_cells) {
                return Err(Problem::TooManyCells(cells));
            }
            continue;
        }
        let read = std::io::copy(&mut stream, &mut std::io::sink()).map_err(damaged)?;
        if read >= bound {
            return Err(Problem::Damaged(format!(
                "its stream {} is longer than the file",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The most cells any DIMENSIONS record (0x0200) of a BIFF workbook stream declares, counted
/// as calamine 0.38 counts them (`parse_dimensions`, with its wrapping arithmetic).
fn declared_cells(mut data: &[u8]) -> Option<u64> {
    let u16_at = |d: &[u8], i: usize| u32::from(u16::from_le_bytes([d[i], d[i + 1]]));
    let u32_at = |d: &[u8], i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    let mut most: Option<u64> = None;
    while data.len() >= 4 {
        let typ = u16::from_le_bytes([data[0], data[1]]);
        let len = usize::from(u16::from_le_bytes([data[2], data[3]]));
        let Some(body) = data.get(4..4 + len) else {
            break;
        };
        if typ == 0x0200 {
            let fields = match len {
                10 => Some((
                    u16_at(body, 0),
                    u16_at(body, 2),
                    u16_at(body, 4),
                    u16_at(body, 6),
                )),
                14 | 16 => Some((
                    u32_at(body, 0),
                    u32_at(body, 4),
                    u16_at(body, 8),
                    u16_at(body, 10),
                )),
                _ => None,
            };
            if let Some((rf, rl, mut cf, cl)) = fields {
                if 0xFF < cf || cl < cf {
                    cf = 0;
                }
                let (start, end) = if rl >= 1 && cl >= 1 {
                    ((rf, cf), (rl - 1, cl - 1))
                } else {
                    ((rf, cf), (rf, cf))
                };
                let rows = u64::from(end.0.wrapping_sub(start.0).wrapping_add(1));
                let cols = u64::from(end.1.wrapping_sub(start.1).wrapping_add(1));
                let cells = rows.saturating_mul(cols);
                most = Some(most.map_or(cells, |m| m.max(cells)));
            }
        }
        data = &data[4 + len..];
    }
    most
}

#[cfg(test)]
mod tests {
    #[test]
    fn dimensions_are_counted_as_calamine_counts_them() {
        let record = |body: &[u8]| {
            let mut r = vec![0x00, 0x02, body.len() as u8, 0];
            r.extend_from_slice(body);
            r
        };
        // BIFF8: rows 0..100, columns 0..5.
        let mut d = record(&[0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(super::declared_cells(&d), Some(500));
        // Last row before the first: wraps to four billion rows, as calamine reserves them.
        d.extend(record(&[200, 0, 0, 0, 100, 0, 0, 0, 0, 0, 5, 0, 0, 0]));
        assert!(super::declared_cells(&d).is_some_and(|c| c > 1 << 34));
    }

    #[test]
    fn a_real_xls_passes_and_a_looping_one_is_refused() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let good = std::fs::read(root.join("tests/data/export_basic.xls")).unwrap();
        assert_eq!(super::check(&good, 50_000_000), Ok(()));
        assert!(matches!(
            super::check(&good, 3),
            Err(super::Problem::TooManyCells(_))
        ));
        let looping = std::fs::read(root.join("tests/data/hostile/calamine_cfb_loop.xls")).unwrap();
        assert!(matches!(
            super::check(&looping, 50_000_000),
            Err(super::Problem::Damaged(_))
        ));
        assert_eq!(super::check(b"Datum;Team\n", 1), Ok(()));
    }
}
