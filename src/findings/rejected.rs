//! The rejected rows of a run, in bounded memory.
//!
//! Input: rows rejected while validating (with their cells) and after it (reasons only, the
//! cells fetched from the input when rejected.csv is written). Output: every rejected row in
//! row order, its reasons merged, from [`Rejected::each`].
//!
//! Which rows were rejected is a bit set (a million rows in 125 KB). Their reasons and cells
//! are held in memory, one byte string per row, up to [`KEEP_BYTES`] per collection; past
//! that, the rows held are written, sorted, to an anonymous temporary file (a run) and memory
//! starts afresh. Reading merges the runs and what is in memory by row number. A file of five
//! million rejected rows thus keeps tens of megabytes, not gigabytes (measured: 2.9 GB peak
//! before).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use fixedbitset::FixedBitSet;

/// A rejected row.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RejectedRow {
    /// Why, one reason per bad cell.
    pub(crate) reasons: Vec<String>,
    /// The row's cells as text, when they were kept as the row was read.
    pub(crate) cells: Option<Vec<String>>,
}

impl RejectedRow {
    fn absorb(&mut self, other: RejectedRow) {
        self.reasons.extend(other.reasons);
        if self.cells.is_none() {
            self.cells = other.cells;
        }
    }
}

/// What one collection holds in memory before it writes a run.
pub(crate) const KEEP_BYTES: usize = 16 << 20;

/// Rejected rows: which, and (in memory or in runs on disk) why and what they held.
#[derive(Debug, Default)]
pub(crate) struct Rejected {
    rows: FixedBitSet,
    /// Rows rejected after the read, whose cells were not kept.
    late: FixedBitSet,
    /// Row number -> the row, encoded (see [`encode`]).
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    runs: Vec<File>,
    /// A run could not be written: the rows stay in memory (the run still ends; nothing is lost).
    no_spill: bool,
}

impl Rejected {
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_clear()
    }

    pub(crate) fn contains(&self, row: u64) -> bool {
        usize::try_from(row).is_ok_and(|r| self.rows.contains(r))
    }

    /// The rows rejected without their cells (read again from the input for rejected.csv).
    pub(crate) fn late(&self) -> Vec<u64> {
        self.late.ones().map(|r| r as u64).collect()
    }

    /// Marks `row` rejected (`with_cells`: its cells are kept); true when it was not before.
    fn mark(&mut self, row: u64, with_cells: bool) -> bool {
        let Ok(r) = usize::try_from(row) else {
            return false;
        };
        if r >= self.rows.len() {
            let len = (r + 1).max(self.rows.len() * 2).max(1024);
            self.rows.grow(len);
            self.late.grow(len);
        }
        let new = !self.rows.put(r);
        if with_cells {
            self.late.set(r, false);
        } else if new {
            self.late.insert(r);
        }
        new
    }

    /// Adds `r` to `row`'s reasons (and cells); true when the row was not rejected before.
    pub(crate) fn add(&mut self, row: u64, r: RejectedRow) -> bool {
        let new = self.mark(row, r.cells.is_some());
        self.hold(row, encode(&r));
        new
    }

    fn hold(&mut self, row: u64, bytes: Vec<u8>) {
        // The map's node and the vector's header, about.
        self.held_bytes += bytes.len() + 64;
        match self.held.entry(row) {
            std::collections::btree_map::Entry::Occupied(mut e) => {
                let mut both = decode(e.get()).unwrap_or_default();
                both.absorb(decode(&bytes).unwrap_or_default());
                *e.get_mut() = encode(&both);
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(bytes);
            }
        }
        if self.held_bytes > KEEP_BYTES {
            self.spill();
        }
    }

    /// Writes what is held to a new run.
    fn spill(&mut self) {
        if self.no_spill || self.held.is_empty() {
            return;
        }
        match write_run(&self.held) {
            Ok(f) => {
                self.runs.push(f);
                self.held.clear();
                self.held_bytes = 0;
            }
            Err(e) => {
                tracing::warn!(error = %e, "rejected rows stay in memory: no temporary file");
                self.no_spill = true;
            }
        }
    }

    /// Takes in `other` (the rows of another part of the file).
    pub(crate) fn append(&mut self, mut other: Rejected) {
        for r in other.rows.ones() {
            self.mark(r as u64, !other.late.contains(r));
        }
        self.runs.append(&mut other.runs);
        for (row, bytes) in std::mem::take(&mut other.held) {
            self.hold(row, bytes);
        }
    }

    /// Calls `f` with every rejected row in row order, the reasons of each merged; stops
    /// when `f` returns false.
    pub(crate) fn each(&self, mut f: impl FnMut(u64, RejectedRow) -> bool) -> std::io::Result<()> {
        let mut sources: Vec<Source<'_>> = Vec::with_capacity(self.runs.len() + 1);
        for run in &self.runs {
            let mut file = run.try_clone()?;
            file.seek(SeekFrom::Start(0))?;
            sources.push(Source::Run(BufReader::with_capacity(64 << 10, file)));
        }
        sources.push(Source::Held(self.held.iter()));
        // The next row of each source, smallest first.
        let mut heads = std::collections::BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some((row, bytes)) = s.next()? {
                heads.push(std::cmp::Reverse((row, i, bytes)));
            }
        }
        while let Some(std::cmp::Reverse((row, i, bytes))) = heads.pop() {
            let mut merged = decode(&bytes).ok_or_else(damaged)?;
            let mut refill = vec![i];
            while let Some(std::cmp::Reverse((r, j, b))) = heads.peek().cloned() {
                if r != row {
                    break;
                }
                heads.pop();
                merged.absorb(decode(&b).ok_or_else(damaged)?);
                refill.push(j);
            }
            for i in refill {
                if let Some((r, b)) = sources[i].next()? {
                    heads.push(std::cmp::Reverse((r, i, b)));
                }
            }
            if !f(row, merged) {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn damaged() -> std::io::Error {
    std::io::Error::other("a temporary file of rejected rows is damaged")
}

/// One sorted source of rejected rows.
enum Source<'a> {
    Run(BufReader<File>),
    Held(std::collections::btree_map::Iter<'a, u64, Vec<u8>>),
}

impl Source<'_> {
    fn next(&mut self) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        match self {
            Source::Held(it) => Ok(it.next().map(|(row, b)| (*row, b.clone()))),
            Source::Run(r) => {
                let mut head = [0u8; 12];
                match r.read_exact(&mut head) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let (row, len) = head.split_at(8);
                let row = u64::from_le_bytes(row.try_into().map_err(|_| damaged())?);
                let len = u32::from_le_bytes(len.try_into().map_err(|_| damaged())?);
                let mut bytes = vec![0u8; len as usize];
                r.read_exact(&mut bytes)?;
                Ok(Some((row, bytes)))
            }
        }
    }
}

/// A run: (row as u64, length as u32, the encoded row) after each other, in row order.
fn write_run(rows: &BTreeMap<u64, Vec<u8>>) -> std::io::Result<File> {
    let file = tempfile::tempfile()?;
    let mut w = BufWriter::with_capacity(256 << 10, file);
    for (row, bytes) in rows {
        let len = u32::try_from(bytes.len()).map_err(|_| damaged())?;
        w.write_all(&row.to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(bytes)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// A row as bytes: each string as its length (u32) and its UTF-8, the reasons first (their
/// count ahead), then the cells (their count plus one ahead; 0 for none). One allocation
/// per row instead of one per string, a third of the memory of the row as strings; the
/// csv crate would do as a format but costs a writer per row.
fn encode(r: &RejectedRow) -> Vec<u8> {
    let strings = r.reasons.iter().chain(r.cells.iter().flatten());
    let mut out = Vec::with_capacity(8 + strings.map(|s| s.len() + 4).sum::<usize>());
    let put = |s: &str, out: &mut Vec<u8>| {
        // A string over 4 GB cannot come from a row within the read limits; it is cut.
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&s.as_bytes()[..len as usize]);
    };
    out.extend_from_slice(&(r.reasons.len() as u32).to_le_bytes());
    for s in &r.reasons {
        put(s, &mut out);
    }
    let cells = r.cells.as_ref().map_or(0, |c| c.len() as u32 + 1);
    out.extend_from_slice(&cells.to_le_bytes());
    for s in r.cells.iter().flatten() {
        put(s, &mut out);
    }
    out
}

fn decode(mut b: &[u8]) -> Option<RejectedRow> {
    fn int(b: &mut &[u8]) -> Option<usize> {
        let (head, rest) = b.split_at_checked(4)?;
        *b = rest;
        Some(u32::from_le_bytes(head.try_into().ok()?) as usize)
    }
    fn text(b: &mut &[u8]) -> Option<String> {
        let n = int(b)?;
        let (head, rest) = b.split_at_checked(n)?;
        *b = rest;
        Some(String::from_utf8_lossy(head).into_owned())
    }
    let n = int(&mut b)?;
    let reasons = (0..n).map(|_| text(&mut b)).collect::<Option<Vec<_>>>()?;
    let cells = match int(&mut b)? {
        0 => None,
        k => Some((1..k).map(|_| text(&mut b)).collect::<Option<Vec<_>>>()?),
    };
    Some(RejectedRow { reasons, cells })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reason: &str, cells: Option<&[&str]>) -> RejectedRow {
        RejectedRow {
            reasons: vec![reason.to_string()],
            cells: cells.map(|c| c.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn all(r: &Rejected) -> Vec<(u64, RejectedRow)> {
        let mut out = Vec::new();
        r.each(|n, row| {
            out.push((n, row));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn runs_and_memory_merge_in_row_order_with_reasons_joined() {
        let mut a = Rejected::default();
        let big = "x".repeat(KEEP_BYTES / 3);
        assert!(a.add(5, row("five", Some(&["a", "b,\"c\"\n"]))));
        assert!(a.add(2, row(&big, Some(&[""]))));
        assert!(a.add(9, row(&big, None)));
        assert!(a.add(7, row(&big, None)));
        assert!(!a.runs.is_empty(), "past the limit the rows go to a run");
        assert!(!a.add(5, row("late", None)));
        let mut b = Rejected::default();
        b.add(11, row("eleven", None));
        b.add(2, row("two again", None));
        a.append(b);
        assert_eq!(a.rows.count_ones(..), 5);
        assert!(a.contains(11) && a.contains(2) && !a.contains(3));
        assert_eq!(a.late(), vec![7, 9, 11]);
        let got = all(&a);
        let rows: Vec<u64> = got.iter().map(|(n, _)| *n).collect();
        assert_eq!(rows, vec![2, 5, 7, 9, 11]);
        assert_eq!(got[1].1.reasons, vec!["five", "late"]);
        assert_eq!(
            got[1].1.cells,
            Some(vec!["a".to_string(), "b,\"c\"\n".to_string()])
        );
        assert_eq!(got[0].1.reasons, vec![big.clone(), "two again".to_string()]);
        assert_eq!(got[0].1.cells, Some(vec![String::new()]));
        assert_eq!(got[3].1.cells, None);
    }

    #[test]
    fn stops_when_asked() {
        let mut a = Rejected::default();
        for n in 0..10 {
            a.add(n, row("r", None));
        }
        let mut seen = 0;
        a.each(|_, _| {
            seen += 1;
            seen < 3
        })
        .unwrap();
        assert_eq!(seen, 3);
    }
}
