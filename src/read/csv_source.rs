//! CSV: encoding and delimiter sniffed from the first 64 KiB, then one reused `ByteRecord`
//! per row, so memory stays constant whatever the file's size.

use std::collections::VecDeque;
use std::io::{Cursor, Read};

use encoding_rs::UTF_8;
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::header::{self, Candidate};
use super::lines::{Lines, Watch};
use super::sniff::{self, PREFIX};
use super::{Detected, Format, ReadError, ReadStats, Row, RowData, SourceOptions};
use crate::diag::{Diagnostic, Location, Severity};

/// How many problems of one kind are kept (all are counted).
const KEEP_PROBLEMS: usize = 1000;

pub struct CsvSource {
    reader: csv::Reader<Box<dyn Read + Send>>,
    /// Records read while looking for the header, after it, with their (line, byte).
    pending: VecDeque<(csv::ByteRecord, u64, u64)>,
    lines: Lines,
    header_len: usize,
    /// Added to csv positions: the byte-order mark the reader did not see (UTF-8 only), or
    /// where a tail part starts.
    byte_shift: u64,
    /// Added to line numbers (a tail part starts further down the file).
    line_shift: u64,
    /// Stop before the first record starting at or after this byte (a head part).
    stop_at: Option<u64>,
    delimiter: u8,
}

/// The record's true (line, byte in the text csv reads).
fn position(rec: &csv::ByteRecord, lines: &Lines) -> (u64, u64) {
    match rec.position() {
        Some(p) => lines.fix(p.line(), p.byte()),
        None => (0, 0),
    }
}

impl CsvSource {
    pub fn open(
        shown: &str,
        mut file: std::fs::File,
        opts: &SourceOptions,
    ) -> Result<(CsvSource, Detected), ReadError> {
        let mut prefix = vec![0u8; PREFIX];
        let n = sniff::read_up_to(&mut file, &mut prefix).map_err(|e| sniff::io_error(shown, e))?;
        prefix.truncate(n);
        let enc = sniff::encoding(&prefix, opts.encoding).map_err(|why| {
            ReadError::new(
                shown,
                "not_a_spreadsheet",
                format!("not a spreadsheet: {why}"),
                "vsimport reads CSV (any delimiter) and Excel/OpenDocument workbooks (xlsx, xlsm, xlsb, xls, ods)",
            )
        })?;
        let body = &prefix[enc.bom..];
        let sample: String = if enc.encoding == UTF_8 {
            String::from_utf8_lossy(body).into_owned()
        } else {
            enc.encoding
                .decode_without_bom_handling(body)
                .0
                .into_owned()
        };
        if sample.trim().is_empty() {
            return Err(ReadError::new(
                shown,
                "empty",
                "the file holds no data (only blank lines or spaces)",
                "export the report again",
            ));
        }
        let mut notes = vec![format!("encoding: {}", enc.note)];
        let delimiter = match opts.delimiter {
            Some(d) => {
                notes.push(format!(
                    "delimiter: {} (configured)",
                    sniff::show_delimiter(d)
                ));
                d
            }
            None => {
                let (d, note) = sniff::delimiter(&sample);
                notes.push(format!("delimiter: {note}"));
                d
            }
        };
        let (input, byte_shift): (Box<dyn Read + Send>, u64) = if enc.encoding == UTF_8 {
            let rest = Cursor::new(prefix[enc.bom..].to_vec()).chain(file);
            (Box::new(rest), enc.bom as u64)
        } else {
            let decoder = DecodeReaderBytesBuilder::new()
                .encoding(Some(enc.encoding))
                .bom_override(true)
                .build(Cursor::new(prefix).chain(file));
            (Box::new(decoder), 0)
        };
        let lines = Lines::default();
        let input: Box<dyn Read + Send> = Box::new(Watch::new(input, delimiter, lines.clone()));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(64 * 1024)
            .from_reader(input);

        // Read the top of the file to find the header.
        let mut top: Vec<(csv::ByteRecord, u64, u64)> = Vec::new();
        let read_err = |e: csv::Error| {
            ReadError::new(
                shown,
                "io",
                format!("cannot read the file: {e}"),
                "check that the file is readable and not being written",
            )
        };
        let wanted_line = opts.header_row;
        loop {
            let enough = match wanted_line {
                Some(l) => top.last().is_some_and(|r| r.1 >= l),
                None => top.len() >= header::SEARCH_ROWS,
            };
            if enough {
                break;
            }
            let mut rec = csv::ByteRecord::new();
            if !reader.read_byte_record(&mut rec).map_err(read_err)? {
                break;
            }
            let (line, byte) = position(&rec, &lines);
            top.push((rec, line, byte));
        }
        let candidates: Vec<Candidate> = top
            .iter()
            .map(|(r, line, _)| {
                let cells: Vec<String> = r
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().to_string())
                    .collect();
                let label = cells.iter().map(|c| !header::looks_like_data(c)).collect();
                Candidate {
                    number: *line,
                    cells,
                    label,
                }
            })
            .collect();
        let (index, note) = header::pick(&candidates, wanted_line, &opts.expected_columns)
            .map_err(|(message, help)| ReadError::new(shown, "no_header", message, help))?;
        notes.push(format!("header: {note}"));
        let header = &candidates[index];
        let columns = header::names(header);
        let header_len = top[index].0.len();
        let header_row = header.number;
        let pending: VecDeque<(csv::ByteRecord, u64, u64)> =
            top.into_iter().skip(index + 1).collect();
        let detected = Detected {
            file: shown.to_string(),
            format: Format::Csv,
            encoding: Some(enc.encoding.name().to_string()),
            delimiter: Some(delimiter as char),
            sheet: None,
            sheets: Vec::new(),
            header_row,
            columns,
            first_column: 1,
            notes,
        };
        Ok((
            CsvSource {
                reader,
                pending,
                lines,
                header_len,
                byte_shift,
                line_shift: 0,
                stop_at: None,
                delimiter,
            },
            detected,
        ))
    }

    /// Splits off the second half of a large UTF-8 file for another thread: this part then
    /// stops where the returned one starts. Only where a split cannot land inside a quoted
    /// field: no `"` before the split point. The split is on a line start; the tail knows its
    /// first line's number, so locations stay exact.
    /// Splits the rest of the file into `parts` pieces at line starts near equal byte
    /// offsets: this source keeps the first piece, the others are returned in order. Only for
    /// UTF-8 files without a quote before the last cut (a quoted field could hold a line
    /// break, and a cut inside it would split a record); `None` otherwise.
    pub fn split_parts(
        &mut self,
        path: &std::path::Path,
        utf8: bool,
        parts: usize,
    ) -> Option<Vec<CsvSource>> {
        if !utf8 || self.stop_at.is_some() || parts < 2 {
            return None;
        }
        // Scan up to the last cut in chunks (no second copy of the file): no quote, and count
        // lines as the watcher does (\n, and \r not followed by \n).
        let len = std::fs::metadata(path).ok()?.len();
        let mut f = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(path).ok()?);
        let targets: Vec<u64> = (1..parts as u64).map(|i| len * i / parts as u64).collect();
        let mut cuts: Vec<(u64, u64)> = Vec::new(); // (byte, lines before)
        let mut buf = vec![0u8; 256 * 1024];
        let (mut at, mut lines_before, mut cr_pending) = (0u64, 0u64, false);
        while cuts.len() < targets.len() {
            let n = Read::read(&mut f, &mut buf).ok()?;
            if n == 0 {
                return None;
            }
            let chunk = &buf[..n];
            if memchr::memchr(b'"', chunk).is_some() {
                return None;
            }
            let mut from = 0usize;
            loop {
                // Past the next target, the cut is just after the first \n.
                let target = targets.get(cuts.len()).copied();
                let cut = target.and_then(|t| {
                    let start = (t.saturating_sub(at) as usize).max(from);
                    (at + n as u64 > t)
                        .then(|| memchr::memchr(b'\n', chunk.get(start..)?).map(|i| start + i + 1))
                        .flatten()
                });
                let counted = &chunk[from..cut.unwrap_or(n)];
                if cr_pending && !counted.is_empty() && counted.first() != Some(&b'\n') {
                    lines_before += 1;
                }
                lines_before += memchr::memchr_iter(b'\n', counted).count() as u64;
                lines_before += memchr::memchr_iter(b'\r', counted)
                    .filter(|&i| i + 1 < counted.len() && counted[i + 1] != b'\n')
                    .count() as u64;
                if !counted.is_empty() {
                    cr_pending = counted.last() == Some(&b'\r');
                }
                match cut {
                    Some(c) => {
                        if cr_pending {
                            return None;
                        }
                        cuts.push((at + c as u64, lines_before));
                        from = c;
                        if cuts.len() == targets.len() {
                            break;
                        }
                    }
                    None => break,
                }
            }
            at += n as u64;
        }
        if cuts.last().is_none_or(|(c, _)| *c >= len) || cuts.windows(2).any(|w| w[0].0 >= w[1].0) {
            return None;
        }
        let mut out = Vec::with_capacity(cuts.len());
        for (i, &(nl, lines_before)) in cuts.iter().enumerate() {
            let mut file = std::fs::File::open(path).ok()?;
            std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(nl)).ok()?;
            let lines = Lines::default();
            let input: Box<dyn Read + Send> = Box::new(Watch::new(
                std::io::BufReader::with_capacity(64 * 1024, file),
                self.delimiter,
                lines.clone(),
            ));
            let reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(self.delimiter)
                .buffer_capacity(64 * 1024)
                .from_reader(input);
            out.push(CsvSource {
                reader,
                pending: VecDeque::new(),
                lines,
                header_len: self.header_len,
                byte_shift: nl,
                line_shift: lines_before,
                stop_at: cuts.get(i + 1).map(|c| c.0),
                delimiter: self.delimiter,
            });
        }
        self.stop_at = Some(cuts[0].0);
        Some(out)
    }

    pub fn for_each_row(
        &mut self,
        width: usize,
        file: &std::sync::Arc<str>,
        problems: &mut Vec<Diagnostic>,
        f: &mut dyn FnMut(&Row<'_>) -> bool,
    ) -> Result<ReadStats, ReadError> {
        let mut stats = ReadStats::default();
        let mut kept_ragged = 0usize;
        let mut buf = csv::ByteRecord::new();
        loop {
            let (line, byte) = match self.pending.pop_front() {
                Some((r, line, byte)) => {
                    buf = r;
                    (line, byte)
                }
                None => {
                    let more = self.reader.read_byte_record(&mut buf).map_err(|e| {
                        ReadError::new(
                            file,
                            "io",
                            format!("cannot read past row {}: {e}", stats.rows),
                            "check that the file is complete and not being written",
                        )
                    })?;
                    if !more {
                        break;
                    }
                    position(&buf, &self.lines)
                }
            };
            let (line, byte) = (line + self.line_shift, byte + self.byte_shift);
            if self.stop_at.is_some_and(|s| byte >= s) {
                break;
            }
            if buf.as_slice().iter().all(u8::is_ascii_whitespace) {
                stats.empty_rows += 1;
                continue;
            }
            let byte = Some(byte);
            if buf.len() != self.header_len {
                let extra_values = buf.iter().skip(width).any(|f| !f.trim_ascii().is_empty());
                if buf.len() < self.header_len || extra_values {
                    stats.ragged_rows += 1;
                    if kept_ragged < KEEP_PROBLEMS {
                        kept_ragged += 1;
                        problems.push(ragged(
                            file,
                            line,
                            byte,
                            buf.len(),
                            self.header_len,
                            extra_values,
                        ));
                    }
                }
            }
            stats.rows += 1;
            // One UTF-8 check for the whole record (its fields then need none); the buffer
            // moves into a StringRecord and back, without a copy.
            let (go_on, back) = match csv::StringRecord::from_byte_record(buf) {
                Ok(text) => {
                    let go_on = f(&Row {
                        number: line,
                        byte,
                        data: RowData::Csv(&text),
                    });
                    (go_on, text.into_byte_record())
                }
                Err(e) => {
                    let bytes = e.into_byte_record();
                    let go_on = f(&Row {
                        number: line,
                        byte,
                        data: RowData::CsvBytes(&bytes),
                    });
                    (go_on, bytes)
                }
            };
            buf = back;
            if !go_on {
                break;
            }
        }
        Ok(stats)
    }
}

fn ragged(
    file: &std::sync::Arc<str>,
    line: u64,
    byte: Option<u64>,
    len: usize,
    header_len: usize,
    extra_values: bool,
) -> Diagnostic {
    let (message, help) = if len < header_len {
        (
            format!(
                "this row has {len} fields, the header has {header_len}: the missing cells are read as empty"
            ),
            "a delimiter may be missing, or a quote left open on an earlier line",
        )
    } else {
        debug_assert!(extra_values);
        (
            format!(
                "this row has {len} fields, the header has {header_len}: values past the last named column are ignored"
            ),
            "a value may contain an unquoted delimiter (e.g. a decimal comma in a comma-separated file)",
        )
    };
    Diagnostic {
        code: "vsimport::read::ragged_row",
        severity: Severity::Warning,
        location: Location {
            file: file.clone(),
            sheet: None,
            row: line,
            column: None,
            byte,
        },
        message,
        help: Some(help.to_string()),
        context: None,
    }
}
