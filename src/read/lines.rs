//! True row numbers for CSV records: the line an editor shows.
//!
//! The csv crate reports a record's position as where its parser stood when the record
//! began: before any blank lines it then skipped, and — in CRLF files — on the `\n` of the
//! previous line's CRLF, one line too early. A title, a blank line and then the header would
//! make the header "row 1". This pass-through reader watches the bytes on their way to the
//! parser — it never changes them — and notes where each line outside a quoted field starts
//! with content; [`Lines::fix`] maps a reported position to the first such line start at or
//! after it. Lines are counted as editors do: `\n`, `\r\n` and a lone `\r` each end one.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Line starts seen but not yet claimed by a record: (byte offset, 1-based line).
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<VecDeque<(u64, u64)>>>);

impl Lines {
    /// The true (line, byte) of a record csv reports at (`line`, `byte`).
    pub fn fix(&self, line: u64, byte: u64) -> (u64, u64) {
        let Ok(mut q) = self.0.lock() else {
            return (line, byte);
        };
        while let Some(&(b, l)) = q.front() {
            q.pop_front();
            if b >= byte {
                return (l, b);
            }
        }
        (line, byte)
    }

    fn extend(&self, starts: &mut Vec<(u64, u64)>) {
        if starts.is_empty() {
            return;
        }
        if let Ok(mut q) = self.0.lock() {
            q.extend(starts.drain(..));
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

pub struct Watch<R> {
    inner: R,
    lines: Lines,
    delimiter: u8,
    quote: Quote,
    /// Outside quotes, at the start of a line (nothing but terminators since the last one).
    line_start: bool,
    /// The previous byte was `\r` (a `\n` now completes a CRLF: no new line).
    after_cr: bool,
    /// The last byte seen outside quotes (does a quote open a field?).
    last: Option<u8>,
    /// 1-based line of the next byte.
    line: u64,
    /// Offset of the next byte.
    offset: u64,
    starts: Vec<(u64, u64)>,
}

impl<R: Read> Watch<R> {
    pub fn new(inner: R, delimiter: u8, lines: Lines) -> Self {
        Watch {
            inner,
            lines,
            delimiter,
            quote: Quote::Outside,
            line_start: true,
            after_cr: false,
            last: None,
            line: 1,
            offset: 0,
            starts: Vec::new(),
        }
    }

    /// Counts a line terminator byte.
    fn terminator(&mut self, b: u8) {
        if b == b'\r' || !self.after_cr {
            self.line += 1;
        }
        self.after_cr = b == b'\r';
    }

    fn observe(&mut self, buf: &[u8]) {
        let mut i = 0;
        while i < buf.len() {
            match self.quote {
                Quote::Inside => match memchr::memchr3(b'"', b'\n', b'\r', &buf[i..]) {
                    Some(k) => {
                        let b = buf[i + k];
                        if k > 0 {
                            self.after_cr = false;
                        }
                        if b == b'"' {
                            self.after_cr = false;
                            self.quote = Quote::MaybeEnd;
                        } else {
                            self.terminator(b);
                        }
                        i += k + 1;
                    }
                    None => {
                        self.after_cr = false;
                        i = buf.len();
                    }
                },
                Quote::MaybeEnd => {
                    if buf[i] == b'"' {
                        self.quote = Quote::Inside;
                        i += 1;
                    } else {
                        // The closing quote; this byte is read outside quotes.
                        self.quote = Quote::Outside;
                        self.last = Some(b'"');
                    }
                }
                Quote::Outside => {
                    let b = buf[i];
                    if b == b'\n' || b == b'\r' {
                        self.terminator(b);
                        self.line_start = true;
                        self.last = Some(b);
                        i += 1;
                        continue;
                    }
                    self.after_cr = false;
                    if self.line_start {
                        self.starts.push((self.offset + i as u64, self.line));
                        self.line_start = false;
                    }
                    if b == b'"' {
                        let opens = matches!(self.last, None | Some(b'\n' | b'\r'))
                            || self.last == Some(self.delimiter);
                        if opens {
                            self.quote = Quote::Inside;
                        }
                        self.last = Some(b);
                        i += 1;
                        continue;
                    }
                    // Jump over plain bytes to the one just before the next byte that
                    // matters (it decides whether a quote opens a field).
                    match memchr::memchr3(b'"', b'\n', b'\r', &buf[i + 1..]) {
                        Some(k) => i += k,
                        None => i = buf.len() - 1,
                    }
                    self.last = Some(buf[i]);
                    i += 1;
                }
            }
        }
        self.offset += buf.len() as u64;
        self.lines.extend(&mut self.starts);
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
