//! True row numbers for CSV records: the line an editor shows.
//!
//! The csv crate reports a record's position as where its parser stood when the record
//! began: before any blank lines it then skipped, and — in CRLF files — on the `\n` of the
//! previous line's CRLF, one line too early. A title, a blank line and then the header would
//! make the header "row 1". This pass-through reader watches the bytes on their way to the
//! parser — it never changes them — and notes where each line outside a quoted field starts
//! with content; [`Lines::fix`] maps a reported position to the first such line start at or
//! after it. Lines are counted as editors do: `\n`, `\r\n` and a lone `\r` each end one.
//!
//! Why by hand: the csv crate has no option for true line numbers. The watcher costs about
//! 1.3 % of a dry run's cycles (`perf` on the 41 MB benchmark export).

use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A line start that csv will misreport: (first terminator byte of the run before it, offset
/// of its first content byte, its 1-based line). Only runs of more than one terminator (blank
/// lines, CRLF) or with a `\r` need one: after a single `\n`, csv's own position is right.
type Exception = (u64, u64, u64);

#[derive(Clone, Default)]
pub(crate) struct Lines {
    queue: Arc<Mutex<VecDeque<Exception>>>,
    /// Set once the first exception is noted: until then `fix` takes no lock.
    any: Arc<AtomicBool>,
}

impl Lines {
    /// The true (line, byte) of a record csv reports at (`line`, `byte`).
    pub(crate) fn fix(&self, line: u64, byte: u64) -> (u64, u64) {
        if !self.any.load(Ordering::Acquire) {
            return (line, byte);
        }
        let Ok(mut q) = self.queue.lock() else {
            return (line, byte);
        };
        while let Some(&(run, start, true_line)) = q.front() {
            if start < byte {
                q.pop_front();
            } else if run <= byte {
                q.pop_front();
                return (true_line, start);
            } else {
                break;
            }
        }
        (line, byte)
    }

    fn extend(&self, found: &mut Vec<Exception>) {
        if found.is_empty() {
            return;
        }
        if let Ok(mut q) = self.queue.lock() {
            q.extend(found.drain(..));
            self.any.store(true, Ordering::Release);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    Outside,
    Inside,
    /// Inside, just after a `"`: an escaped quote if another `"` follows, else the end.
    MaybeEnd,
}

pub(crate) struct Watch<R> {
    inner: R,
    lines: Lines,
    delimiter: u8,
    quote: Quote,
    /// Outside quotes, at the start of a line (nothing but terminators since the last content).
    line_start: bool,
    /// The run of terminators since the last content byte: where it began, how long, any `\r`.
    run_start: u64,
    run_len: u64,
    run_cr: bool,
    /// The previous byte was `\r` (a `\n` now completes a CRLF: no new line).
    after_cr: bool,
    /// The last byte seen outside quotes (does a quote open a field?).
    last: Option<u8>,
    /// 1-based line of the next byte.
    line: u64,
    /// Offset of the next byte.
    offset: u64,
    found: Vec<Exception>,
}

impl<R: Read> Watch<R> {
    pub(crate) fn new(inner: R, delimiter: u8, lines: Lines) -> Self {
        Watch {
            inner,
            lines,
            delimiter,
            quote: Quote::Outside,
            line_start: true,
            run_start: 0,
            run_len: 0,
            run_cr: false,
            after_cr: false,
            last: None,
            line: 1,
            offset: 0,
            found: Vec::new(),
        }
    }

    /// The reader it watched.
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// Counts a line terminator byte.
    fn terminator(&mut self, b: u8) {
        if b == b'\r' || !self.after_cr {
            self.line += 1;
        }
        self.after_cr = b == b'\r';
    }

    /// The first content byte of a line, at offset `at`: note it if csv will misreport it
    /// (the first record of the file after any run; later ones after blank lines or CRs).
    fn content(&mut self, at: u64) {
        let first = self.run_start == 0 && self.run_len > 0;
        if self.run_len > 1 || self.run_cr || first {
            self.found.push((self.run_start, at, self.line));
        }
        self.line_start = false;
    }

    /// A stretch of bytes with no quote and no line terminator, starting at offset `at`.
    fn plain(&mut self, at: u64, seg: &[u8]) {
        if self.quote == Quote::MaybeEnd {
            self.quote = Quote::Outside;
        }
        self.after_cr = false;
        if self.quote == Quote::Inside {
            return;
        }
        if self.line_start {
            self.content(at);
        }
        self.last = seg.last().copied();
    }

    /// A quote or a line terminator at offset `at`.
    fn special(&mut self, b: u8, at: u64) {
        match self.quote {
            Quote::Inside => {
                if b == b'"' {
                    self.after_cr = false;
                    self.quote = Quote::MaybeEnd;
                } else {
                    self.terminator(b);
                }
            }
            Quote::MaybeEnd if b == b'"' => {
                // An escaped quote.
                self.after_cr = false;
                self.quote = Quote::Inside;
            }
            Quote::MaybeEnd | Quote::Outside => {
                if self.quote == Quote::MaybeEnd {
                    // The field's closing quote was the previous byte.
                    self.quote = Quote::Outside;
                    self.last = Some(b'"');
                }
                if b == b'\n' || b == b'\r' {
                    self.terminator(b);
                    if !self.line_start {
                        // The first terminator after content begins a new run.
                        self.run_start = at;
                        self.run_len = 0;
                        self.run_cr = false;
                    }
                    self.run_len += 1;
                    self.run_cr |= b == b'\r';
                    self.line_start = true;
                } else {
                    self.after_cr = false;
                    if self.line_start {
                        self.content(at);
                    }
                    let opens = matches!(self.last, None | Some(b'\n' | b'\r'))
                        || self.last == Some(self.delimiter);
                    if opens {
                        self.quote = Quote::Inside;
                    }
                }
                self.last = Some(b);
            }
        }
    }

    fn observe(&mut self, buf: &[u8]) {
        let mut done = 0;
        for p in memchr::memchr3_iter(b'"', b'\n', b'\r', buf) {
            if p > done {
                self.plain(self.offset + done as u64, &buf[done..p]);
            }
            self.special(buf[p], self.offset + p as u64);
            done = p + 1;
        }
        if done < buf.len() {
            self.plain(self.offset + done as u64, &buf[done..]);
        }
        self.offset += buf.len() as u64;
        self.lines.extend(&mut self.found);
    }
}

impl<R: Read> Read for Watch<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `text` through the watcher and csv; returns each record's fixed (line, byte).
    fn positions(text: &str, chunk: usize) -> Vec<(u64, u64)> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let lines = Lines::default();
        let watch = Watch::new(Chunked(text.as_bytes(), chunk), b',', lines.clone());
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(watch);
        let mut out = Vec::new();
        let mut rec = csv::ByteRecord::new();
        while r.read_byte_record(&mut rec).unwrap() {
            let p = rec.position().unwrap();
            out.push(lines.fix(p.line(), p.byte()));
        }
        out
    }

    fn lines_of(text: &str, chunk: usize) -> Vec<u64> {
        positions(text, chunk).into_iter().map(|p| p.0).collect()
    }

    #[test]
    fn blank_lines_and_crlf() {
        for chunk in [1, 2, 3, 1000] {
            assert_eq!(
                lines_of("title\n\nA,B\n1,2\n", chunk),
                vec![1, 3, 4],
                "chunk {chunk}"
            );
            assert_eq!(
                lines_of("\n\nA,B\r\n\r\n1,2\r\n", chunk),
                vec![3, 5],
                "chunk {chunk}"
            );
            assert_eq!(
                lines_of("A,B\n1,2\n\n\n3,4\n", chunk),
                vec![1, 2, 5],
                "chunk {chunk}"
            );
            assert_eq!(
                lines_of("A,B\r\n1,2\r\n3,4\r\n", chunk),
                vec![1, 2, 3],
                "chunk {chunk}"
            );
            assert_eq!(
                lines_of("A,B\r1,2\r3,4", chunk),
                vec![1, 2, 3],
                "chunk {chunk}"
            );
            assert_eq!(
                positions("A,B\r\n1,2\r\n", chunk),
                vec![(1, 0), (2, 5)],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn newlines_inside_quotes_are_data() {
        for chunk in [1, 2, 1000] {
            // The quoted field spans lines 2-4; the next record starts on line 5.
            assert_eq!(
                lines_of("A,B\n1,\"x\n\ny\"\n2,3\n", chunk),
                vec![1, 2, 5],
                "chunk {chunk}"
            );
            assert_eq!(
                lines_of("A,B\r\n1,\"x\r\ny\"\r\n2,3\r\n", chunk),
                vec![1, 2, 4],
                "chunk {chunk}"
            );
            // Escaped quotes and a literal quote mid-field do not confuse it.
            assert_eq!(
                lines_of("A,B\n1,\"say \"\"hi\"\"\"\n12\" pipe,3\n\n4,5\n", chunk),
                vec![1, 2, 3, 5],
                "chunk {chunk}"
            );
        }
    }
}
