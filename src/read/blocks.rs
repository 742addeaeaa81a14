//! A CSV text cut into blocks at record boundaries, so that blocks can be parsed on several
//! threads while the input is read once, front to back (a file, a pipe or standard input).
//!
//! The input is decoded to UTF-8 on the way (windows-1252, UTF-16, … through encoding_rs;
//! UTF-8 passes as it is). A block ends just after a line feed that is outside quotes, as the
//! csv crate reads quotes: a `"` opens a quoted field only at the start of a field, `""` inside
//! is a quote, and a line break inside quotes is data. Each block knows the byte offset (in the
//! decoded text) and the line its first byte is on, so every row keeps its exact location.
//!
//! Why by hand: the csv crate reads one stream on one thread and cannot start in the middle of
//! a text; finding a safe place to cut needs the quote state, which this scan keeps (one
//! `memchr` for `"` per block; the state machine only runs on blocks that hold a quote). Two
//! threads check the 41 MB benchmark export in 275 ms against 401 ms on one
//! (`benches/ab.py`, docs/PERFORMANCE.md). [`fields_in`] then finds a parsed record's
//! fields in its block's text.

use std::io::Read;
use std::sync::{Arc, Mutex};

use encoding_rs::{Decoder, Encoding, UTF_8};
use memchr::{memchr, memchr2, memrchr};

/// Bytes read from the input at a time.
const CHUNK: usize = 256 * 1024;

use super::limits::DEFAULT_MAX_RECORD_BYTES;

/// A record longer than the limit: carried inside the `io::Error` of [`Blocks::next_block`].
#[derive(Debug)]
pub(crate) struct RecordTooLong {
    pub(crate) limit: usize,
    /// The line the record starts on.
    pub(crate) line: u64,
}

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the record starting on line {} is longer than {} bytes",
            self.line,
            super::limits::thousands(self.limit as u64)
        )
    }
}

impl std::error::Error for RecordTooLong {}

/// Block buffers given back once parsed, to be filled again: a fresh 4 MiB buffer per block
/// costs a thousand page faults (measured: 45,900 against 37,200 for a 41 MB export).
#[derive(Clone, Default)]
pub(crate) struct Spare(Arc<Mutex<Vec<Vec<u8>>>>);

impl Spare {
    /// A buffer to fill (empty).
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .map(|mut b| {
                b.clear();
                b
            })
            .unwrap_or_default()
    }

    /// Gives a parsed block's buffer back.
    pub(crate) fn give(&self, buf: Vec<u8>) {
        if let Ok(mut v) = self.0.lock()
            && v.len() < 8
        {
            v.push(buf);
        }
    }
}

/// One block of decoded text.
pub(crate) struct Block {
    pub(crate) text: Vec<u8>,
    /// Offset of `text[0]` in the decoded text.
    pub(crate) byte: u64,
    /// 1-based line of `text[0]`.
    pub(crate) line: u64,
}

pub(crate) struct Blocks {
    input: Box<dyn Read + Send>,
    /// `None` for UTF-8: the bytes pass as they are.
    decoder: Option<Decoder>,
    /// Decoded bytes not yet handed out; `pending[0]` is at a record boundary.
    pending: Vec<u8>,
    byte: u64,
    line: u64,
    eof: bool,
    delimiter: u8,
    /// Blocks are cut once this many bytes are pending.
    size: usize,
    raw: Vec<u8>,
    pub(crate) spare: Spare,
    /// [`DEFAULT_MAX_RECORD_BYTES`] unless set.
    max_record: usize,
    /// How far `pending` was scanned for record boundaries (each byte is scanned once, however
    /// many reads a long record takes).
    scan: Scan,
}

/// Where the scan of the pending text got to.
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    /// Scanned up to here; it resumes here.
    pos: usize,
    /// Inside quotes at `pos`.
    inside: bool,
    /// The last record boundary found so far.
    last_cut: Option<usize>,
}

impl Blocks {
    /// `input` starts after any byte-order mark of UTF-8 (`byte` is where the text starts);
    /// other encodings are decoded, their byte-order mark removed.
    pub(crate) fn new(
        input: Box<dyn Read + Send>,
        encoding: &'static Encoding,
        byte: u64,
        delimiter: u8,
        size: usize,
    ) -> Blocks {
        let decoder = (encoding != UTF_8).then(|| encoding.new_decoder_with_bom_removal());
        Blocks {
            input,
            decoder,
            pending: Vec::new(),
            byte,
            line: 1,
            eof: false,
            delimiter,
            size: size.max(1),
            raw: vec![0u8; CHUNK],
            spare: Spare::default(),
            max_record: DEFAULT_MAX_RECORD_BYTES,
            scan: Scan::default(),
        }
    }

    /// Refuses records longer than `bytes`.
    pub(crate) fn with_max_record(mut self, bytes: usize) -> Blocks {
        self.max_record = bytes.max(1);
        self
    }

    /// Reads one chunk and decodes it onto `pending`.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.decoder.is_none() {
            // UTF-8: straight into the pending text, no copy.
            let before = self.pending.len();
            (&mut self.input)
                .take(CHUNK as u64)
                .read_to_end(&mut self.pending)?;
            if self.pending.len() == before {
                self.eof = true;
            }
            return Ok(());
        }
        let n = loop {
            match self.input.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        let src = &self.raw[..n];
        match &mut self.decoder {
            None => self.pending.extend_from_slice(src),
            Some(d) => {
                let room = d
                    .max_utf8_buffer_length(src.len())
                    .unwrap_or(src.len() * 3 + 16);
                let at = self.pending.len();
                self.pending.resize(at + room, 0);
                let (_, _, written, _) = d.decode_to_utf8(src, &mut self.pending[at..], self.eof);
                self.pending.truncate(at + written);
            }
        }
        Ok(())
    }

    /// The next block with at least `min_lines` line breaks (or the rest of the input).
    pub(crate) fn next_block(&mut self, min_lines: usize) -> std::io::Result<Option<Block>> {
        loop {
            if self.scan.pos < self.pending.len() {
                let (cut, pos, inside) = scan(
                    &self.pending,
                    self.scan.pos,
                    self.scan.inside,
                    self.delimiter,
                );
                if cut.is_some() {
                    self.scan.last_cut = cut;
                }
                self.scan.pos = pos;
                self.scan.inside = inside;
            }
            // One record longer than the limit: refused before more of it is held.
            let since = self.pending.len() - self.scan.last_cut.unwrap_or(0);
            if !self.eof && since > self.max_record {
                let line = self.line
                    + self
                        .scan
                        .last_cut
                        .map_or(0, |c| lines_in(&self.pending[..c]));
                return Err(std::io::Error::other(RecordTooLong {
                    limit: self.max_record,
                    line,
                }));
            }
            if !self.eof && (self.pending.len() < self.size || !has_lines(&self.pending, min_lines))
            {
                self.fill()?;
                continue;
            }
            let cut = if self.eof {
                Some(self.pending.len())
            } else {
                self.scan.last_cut
            };
            match cut {
                Some(0) if self.eof => return Ok(None),
                Some(cut) if cut > 0 => {
                    // The tail moves to a spare buffer; the block keeps the big one.
                    let mut rest = self.spare.take();
                    rest.extend_from_slice(&self.pending[cut..]);
                    let mut text = std::mem::replace(&mut self.pending, rest);
                    text.truncate(cut);
                    // The tail was scanned already and holds no boundary.
                    self.scan = Scan {
                        pos: self.scan.pos.saturating_sub(cut).min(self.pending.len()),
                        inside: self.scan.inside && !self.pending.is_empty(),
                        last_cut: None,
                    };
                    let block = Block {
                        byte: self.byte,
                        line: self.line,
                        text,
                    };
                    self.byte += block.text.len() as u64;
                    self.line += lines_in(&block.text);
                    return Ok(Some(block));
                }
                // No boundary yet (one record longer than a block): read more.
                _ => self.fill()?,
            }
        }
    }
}

/// Line breaks as editors count them: `\n`, `\r\n`, and a `\r` alone.
fn lines_in(text: &[u8]) -> u64 {
    let lf = memchr::memchr_iter(b'\n', text).count();
    let lone_cr = match memchr(b'\r', text) {
        None => 0,
        Some(_) => memchr::memchr_iter(b'\r', text)
            .filter(|&i| text.get(i + 1) != Some(&b'\n'))
            .count(),
    };
    (lf + lone_cr) as u64
}

/// Whether `text` has at least `n` line feeds.
fn has_lines(text: &[u8], n: usize) -> bool {
    n == 0 || memchr::memchr_iter(b'\n', text).take(n).count() == n
}

/// The end of the last whole record in `text` (just after a line feed outside quotes), if
/// any; `text` starts at a record boundary.
/// The fields of `rec` as slices of the block's `text` (valid UTF-8, checked once per
/// block), when the record stands in the text at `start` as its fields joined by the
/// delimiter — every field compared byte for byte, so a quoted field (whose value differs
/// from its text) or a misplaced start gives `false`, and the caller checks the record's
/// bytes itself. This takes the UTF-8 check off every record: std's per-record check was
/// 9.6 % of a dry run's cycles on the plant export (non-ASCII team and KPI names, `perf`),
/// and simdutf8 checks a 1 MiB block in well under a millisecond.
pub(crate) fn fields_in<'t>(
    text: &'t str,
    start: usize,
    rec: &csv::ByteRecord,
    delimiter: u8,
    out: &mut Vec<&'t str>,
) -> bool {
    out.clear();
    let bytes = text.as_bytes();
    let mut at = start;
    for (i, field) in rec.iter().enumerate() {
        if i > 0 {
            if bytes.get(at) != Some(&delimiter) {
                return false;
            }
            at += 1;
        }
        let end = at + field.len();
        match text.get(at..end) {
            Some(s) if s.as_bytes() == field => out.push(s),
            _ => return false,
        }
        at = end;
    }
    true
}

#[cfg(test)]
fn last_boundary(text: &[u8], delimiter: u8) -> Option<usize> {
    scan(text, 0, false, delimiter).0
}

/// Scans `text[from..]` (in quotes at `from` when `inside`) for line feeds outside quotes:
/// the last record boundary in that part (just after its line feed), where to resume, and
/// whether that is inside quotes. `text` starts at a record boundary. A quote that is the last
/// byte inside quotes may be half of an escaped `""`: the scan resumes at it.
fn scan(text: &[u8], from: usize, inside: bool, delimiter: u8) -> (Option<usize>, usize, bool) {
    let rest = &text[from..];
    if !inside && memchr(b'"', rest).is_none() {
        return (
            memrchr(b'\n', rest).map(|i| from + i + 1),
            text.len(),
            false,
        );
    }
    let mut inside = inside;
    let mut cut = None;
    let mut i = from;
    while let Some(off) = memchr2(b'"', b'\n', &text[i..]) {
        let p = i + off;
        if text[p] == b'\n' {
            if !inside {
                cut = Some(p + 1);
            }
            i = p + 1;
        } else if inside {
            match text.get(p + 1) {
                // An escaped quote.
                Some(b'"') => i = p + 2,
                Some(_) => {
                    inside = false;
                    i = p + 1;
                }
                None => return (cut, p, true),
            }
        } else {
            let opens = match p.checked_sub(1).map(|q| text[q]) {
                None | Some(b'\n' | b'\r') => true,
                Some(b) => b == delimiter,
            };
            inside = opens;
            i = p + 1;
        }
    }
    (cut, text.len(), inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &str, size: usize) -> Vec<(String, u64, u64)> {
        let mut b = Blocks::new(
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            UTF_8,
            0,
            b',',
            size,
        );
        let mut out = Vec::new();
        while let Some(block) = b.next_block(0).unwrap() {
            out.push((
                String::from_utf8(block.text).unwrap(),
                block.byte,
                block.line,
            ));
        }
        out
    }

    #[test]
    fn cuts_at_line_ends_outside_quotes() {
        let text = "a,b\n1,\"x\ny\"\n2,3\n4,5";
        let b = blocks(text, 1);
        assert_eq!(
            b.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
            vec!["a,b\n1,\"x\ny\"\n2,3\n", "4,5"]
        );
        assert_eq!((b[1].1, b[1].2), (16, 5));
        // A text of many chunks, with quoted line breaks: the blocks put together are the
        // text, each ends at a record's end, and each knows its offset and line.
        let mut text = String::from("Date,Note\n");
        for i in 0..60_000 {
            if i % 7 == 0 {
                text.push_str(&format!("2025-01-01,\"a \"\"quoted\"\"\nnote {i}\"\r\n"));
            } else {
                text.push_str(&format!("2025-01-01,plain {i}\n"));
            }
        }
        let b = blocks(&text, 1 << 16);
        assert!(b.len() > 3, "{} blocks", b.len());
        let joined: String = b.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(joined, text);
        for (t, byte, line) in &b {
            let start = *byte as usize;
            assert_eq!(*line, lines_in(&text.as_bytes()[..start]) + 1);
            assert!(t.ends_with('\n') || start + t.len() == text.len());
            assert_eq!(t.matches('"').count() % 2, 0, "cut inside quotes at {byte}");
        }
    }

    #[test]
    fn quotes_mid_field_are_literal_and_escapes_stay_inside() {
        assert_eq!(last_boundary(b"12\" pipe,3\n4", b','), Some(11));
        assert_eq!(last_boundary(b"\"a\"\"\nb\",1\nx", b','), Some(10));
        assert_eq!(last_boundary(b"\"open\nstill open", b','), None);
        assert_eq!(last_boundary(b"x;\"a\nb\";1\r\nz", b';'), Some(11));
    }

    #[test]
    fn lines_count_like_editors() {
        assert_eq!(lines_in(b"a\r\nb\rc\n"), 3);
        assert_eq!(lines_in(b"abc"), 0);
    }

    #[test]
    fn decodes_windows_1252_on_the_way() {
        let mut b = Blocks::new(
            Box::new(std::io::Cursor::new(b"S\xfcd,1\n".to_vec())),
            encoding_rs::WINDOWS_1252,
            0,
            b',',
            1 << 20,
        );
        let block = b.next_block(0).unwrap().unwrap();
        assert_eq!(std::str::from_utf8(&block.text).unwrap(), "Süd,1\n");
    }

    #[test]
    fn a_record_longer_than_the_limit_is_refused_early() {
        let run = |text: String| {
            let mut b = Blocks::new(
                Box::new(std::io::Cursor::new(text.into_bytes())),
                UTF_8,
                0,
                b',',
                1 << 10,
            )
            .with_max_record(64 << 10);
            let mut n = 0;
            loop {
                match b.next_block(2) {
                    Ok(Some(_)) => n += 1,
                    Ok(None) => return Ok(n),
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        // A quote never closed, over many lines.
        let open = format!("a,b\n1,\"{}", "x\n".repeat(400_000));
        assert!(run(open).unwrap_err().contains("line 2"));
        // One field of a megabyte, no quotes.
        let field = format!("a,b\n1,{}\n2,3\n", "9".repeat(1 << 20));
        assert!(run(field).unwrap_err().contains("longer than 65,536 bytes"));
        // Delimiters only.
        assert!(run(",".repeat(1 << 20)).is_err());
        // Long but under the limit, and many records: read whole.
        let fine = format!("a,b\n1,{}\n", "9".repeat(60 << 10)).repeat(20);
        assert!(run(fine).unwrap() > 1);
    }
}
