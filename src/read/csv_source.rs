//! CSV: encoding and delimiter sniffed from the first 64 KiB, the header found in the first
//! rows, then the text in blocks cut at record boundaries ([`super::blocks`]), each parsed
//! with one reused `ByteRecord` per row, so that blocks can be checked on several threads and
//! memory stays bounded whatever the file's size.

use std::collections::{HashMap, VecDeque};
use std::io::{Cursor, Read};

use encoding_rs::{Encoding, UTF_8};

use super::admit::{Admit, MAX_COLUMNS, Split, too_wide};
use super::blocks::{Block, Blocks, fields_in};
use super::header::{self, Candidate};
use super::input::Again;
use super::lines::{Lines, Watch};
use super::sniff;
use super::{Detected, Format, ReadError, ReadStats, Row, RowData, SourceOptions};
use crate::diag::Diagnostic;

/// Blocks are cut once this much text is read: large enough that the per-block work (a
/// fresh parser, a validator fork) is noise, small enough that two threads share an export
/// evenly and few buffers are in flight. Measured on the 41 MB benchmark export (1M rows,
/// alternating runs, median wall time against the previous two-pass split): 1 MiB 0.89,
/// 2 MiB 0.92, 4 MiB 0.98. Then 1 MiB against 256 KiB (medians of 11-15 alternating dry
/// runs): the 50-column wide export 0.110 -> 0.104 s with peak memory 103 -> 89 MB (a block
/// of it is 170,000 values, 5.4 MB of entries in each validator fork's buffer), the 5-KPI
/// wide 0.081 -> 0.074, random order 0.271 -> 0.242, grouped 0.172 -> 0.169, the plant,
/// cp1252 and long files the same; 128 KiB was no faster than 256 KiB.
pub(crate) const BLOCK: usize = 1 << 18;

/// The record limit: `[source] max_record_bytes`, else the default.
fn max_record(opts: &SourceOptions) -> usize {
    usize::try_from(opts.limits.get(super::Limit::RecordBytes, false)).unwrap_or(usize::MAX)
}

pub(crate) struct CsvSource {
    /// The first block, whose first rows were read to find the header.
    first: Option<Part>,
    /// The rest of the text.
    blocks: Option<Blocks>,
    header_len: usize,
    delimiter: u8,
    encoding: &'static Encoding,
    /// Where the text starts in the file (after a UTF-8 byte-order mark).
    start: u64,
    /// The longest record read (`[source] max_record_bytes`).
    max_record: usize,
}

/// A block's text, shared by its parser and the rows made from it.
struct Shared(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// One block's parser.
pub(crate) struct Part {
    reader: csv::Reader<Watch<Cursor<Shared>>>,
    /// The block's text, also read by `reader`: a record whose fields are the text's own
    /// bytes is handed on as slices of it ([`super::blocks::fields_in`]).
    text: std::sync::Arc<Vec<u8>>,
    delimiter: u8,
    /// Records read while looking for the header, after it, with their (line, byte).
    pending: VecDeque<(csv::ByteRecord, u64, u64)>,
    lines: Lines,
    /// Added to csv positions and lines: where the block starts.
    byte_shift: u64,
    line_shift: u64,
    /// Nothing read from the block yet (the header is looked for in the first block's top
    /// rows): it may be split by hand when it has no quotes.
    fresh: bool,
    /// Whether a quote-free block is split by hand (off in tests that compare the two ways).
    plain: bool,
}

impl Part {
    fn new(block: Block, delimiter: u8) -> Part {
        let lines = Lines::default();
        let text = std::sync::Arc::new(block.text);
        let watch = Watch::new(Cursor::new(Shared(text.clone())), delimiter, lines.clone());
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(64 * 1024)
            .from_reader(watch);
        Part {
            reader,
            text,
            delimiter,
            pending: VecDeque::new(),
            lines,
            byte_shift: block.byte,
            line_shift: block.line - 1,
            fresh: true,
            plain: true,
        }
    }

    /// The next record and its true (line, byte), or `None` at the block's end.
    fn next(&mut self, rec: &mut csv::ByteRecord) -> Result<Option<(u64, u64)>, csv::Error> {
        self.fresh = false;
        next_record(
            &mut self.reader,
            &mut self.pending,
            &self.lines,
            (self.byte_shift, self.line_shift),
            rec,
        )
    }

    /// The block's buffer, to be filled again.
    pub(crate) fn into_buffer(self) -> Vec<u8> {
        let Part { reader, text, .. } = self;
        drop(text);
        let shared = reader.into_inner().into_inner().into_inner().0;
        // The parser held the only other handle: unwrapping does not copy.
        std::sync::Arc::try_unwrap(shared).unwrap_or_else(|a| a.to_vec())
    }

    /// Hands every row of the block to `f` (until it returns false): a quote-free block is
    /// split by hand ([`super::plain`]), any other parsed.
    pub(crate) fn for_each_row(
        &mut self,
        width: usize,
        header_len: usize,
        file: &std::sync::Arc<str>,
        problems: &mut Vec<Diagnostic>,
        f: &mut dyn FnMut(&Row<'_>) -> bool,
    ) -> Result<ReadStats, ReadError> {
        let mut admit = Admit::new(width, header_len, file, problems);
        let text = simdutf8::basic::from_utf8(&self.text).ok();
        let mut fields: Vec<&str> = Vec::new();
        if self.fresh
            && self.plain
            && let Some(t) = text
            && super::plain::is_plain(t.as_bytes(), self.delimiter)
        {
            let shifts = (self.line_shift, self.byte_shift);
            super::plain::for_each_record(
                t,
                self.delimiter,
                (file, MAX_COLUMNS + 1),
                &mut fields,
                |line, at, fields, count| {
                    let (line, byte) = (line + shifts.0, at as u64 + shifts.1);
                    if !admit.admit(&Split(fields, count), line, byte)? {
                        return Ok(true);
                    }
                    Ok(f(&Row {
                        number: line,
                        byte: Some(byte),
                        data: RowData::Fields(fields),
                    }))
                },
            )?;
            return Ok(admit.stats);
        }
        let mut buf = csv::ByteRecord::new();
        let read_err = |e: csv::Error| {
            ReadError::new(
                file,
                "io",
                format!("cannot read the file: {}", crate::os::plain(&e.to_string())),
                "check that the file is complete and not being written",
            )
        };
        while let Some((line, byte)) = next_record(
            &mut self.reader,
            &mut self.pending,
            &self.lines,
            (self.byte_shift, self.line_shift),
            &mut buf,
        )
        .map_err(read_err)?
        {
            if !admit.admit(&buf, line, byte)? {
                continue;
            }
            let start = usize::try_from(byte.saturating_sub(self.byte_shift)).unwrap_or(usize::MAX);
            let byte = Some(byte);
            if let Some(t) = text
                && fields_in(t, start, &buf, self.delimiter, &mut fields)
            {
                let go_on = f(&Row {
                    number: line,
                    byte,
                    data: RowData::Fields(&fields),
                });
                if !go_on {
                    break;
                }
                continue;
            }
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
        Ok(admit.stats)
    }
}

/// The next record of a block's parser and its true (line, byte), or `None` at the end.
fn next_record(
    reader: &mut csv::Reader<Watch<Cursor<Shared>>>,
    pending: &mut VecDeque<(csv::ByteRecord, u64, u64)>,
    lines: &Lines,
    (byte_shift, line_shift): (u64, u64),
    rec: &mut csv::ByteRecord,
) -> Result<Option<(u64, u64)>, csv::Error> {
    if let Some((r, line, byte)) = pending.pop_front() {
        *rec = r;
        return Ok(Some((line, byte)));
    }
    if !reader.read_byte_record(rec)? {
        return Ok(None);
    }
    let (line, byte) = match rec.position() {
        Some(p) => lines.fix(p.line(), p.byte()),
        None => (0, 0),
    };
    Ok(Some((line + line_shift, byte + byte_shift)))
}

impl CsvSource {
    /// Sniffs `prefix` (the first bytes; `rest` continues it) and reads up to the header.
    pub(crate) fn open(
        shown: &str,
        prefix: Vec<u8>,
        rest: Box<dyn Read + Send>,
        opts: &SourceOptions,
    ) -> Result<(CsvSource, Detected), ReadError> {
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
        // UTF-8 is read as it is, after its byte-order mark (offsets are the file's); other
        // encodings are decoded, the decoder removing theirs (offsets are the decoded text's).
        let (input, start): (Box<dyn Read + Send>, u64) = if enc.encoding == UTF_8 {
            let bom = enc.bom;
            (
                Box::new(Cursor::new(prefix).chain(rest).skip_bytes(bom)),
                bom as u64,
            )
        } else {
            (Box::new(Cursor::new(prefix).chain(rest)), 0)
        };
        let mut blocks = Blocks::new(input, enc.encoding, start, delimiter, BLOCK)
            .with_max_record(max_record(opts));
        let wanted_line = opts.header_row;
        let min_lines = wanted_line.map_or(header::SEARCH_ROWS, |l| l as usize) + 1;
        let io = |e: std::io::Error| sniff::io_error(shown, e);
        let first = blocks.next_block(min_lines).map_err(io)?.ok_or_else(|| {
            ReadError::new(
                shown,
                "empty",
                "the file holds no data",
                "export the report again",
            )
        })?;
        let mut part = Part::new(first, delimiter);

        // Read the top of the file to find the header.
        let mut top: Vec<(csv::ByteRecord, u64, u64)> = Vec::new();
        let read_err = |e: csv::Error| {
            ReadError::new(
                shown,
                "io",
                format!("cannot read the file: {}", crate::os::plain(&e.to_string())),
                "check that the file is readable and not being written",
            )
        };
        loop {
            let enough = match wanted_line {
                Some(l) => top.last().is_some_and(|r| r.1 >= l),
                None => top.len() >= header::SEARCH_ROWS,
            };
            if enough {
                break;
            }
            let mut rec = csv::ByteRecord::new();
            match part.next(&mut rec).map_err(read_err)? {
                Some((line, _)) if rec.len() > MAX_COLUMNS => {
                    return Err(too_wide(shown, line, rec.len(), Some(delimiter)));
                }
                Some((line, byte)) => top.push((rec, line, byte)),
                None => break,
            }
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
        part.pending = top.into_iter().skip(index + 1).collect();
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
                first: Some(part),
                blocks: Some(blocks),
                header_len,
                delimiter,
                encoding: enc.encoding,
                start,
                max_record: max_record(opts),
            },
            detected,
        ))
    }

    pub(crate) fn header_len(&self) -> usize {
        self.header_len
    }

    /// Where parsed parts give their buffers back.
    pub(crate) fn spare(&self) -> Option<super::blocks::Spare> {
        self.blocks.as_ref().map(|b| b.spare.clone())
    }

    /// The parts of the text still to read, in order: the first block, then one per block
    /// as the input is read.
    pub(crate) fn parts(&mut self) -> impl Iterator<Item = Result<Part, std::io::Error>> + Send {
        let delimiter = self.delimiter;
        let first = self.first.take().map(Ok);
        let mut blocks = self.blocks.take();
        first.into_iter().chain(std::iter::from_fn(move || {
            let b = blocks.as_mut()?;
            match b.next_block(0) {
                Ok(Some(block)) => Some(Ok(Part::new(block, delimiter))),
                Ok(None) => {
                    blocks = None;
                    None
                }
                Err(e) => {
                    blocks = None;
                    Some(Err(e))
                }
            }
        }))
    }

    /// The cells of the records that start on lines `rows`, read again from the input's
    /// start (up to the last of them).
    pub(crate) fn fetch(
        &self,
        again: &Again,
        rows: &[u64],
    ) -> std::io::Result<HashMap<u64, Vec<String>>> {
        let mut out = HashMap::new();
        let Some(&last) = rows.iter().max() else {
            return Ok(out);
        };
        let wanted: std::collections::HashSet<u64> = rows.iter().copied().collect();
        let input = again.reader()?;
        let input: Box<dyn Read + Send> = if self.encoding == UTF_8 {
            Box::new(input.skip_bytes(self.start as usize))
        } else {
            input
        };
        let mut blocks = Blocks::new(input, self.encoding, self.start, self.delimiter, BLOCK)
            .with_max_record(self.max_record);
        let mut rec = csv::ByteRecord::new();
        while let Some(block) = blocks.next_block(0)? {
            if block.line > last {
                break;
            }
            let mut part = Part::new(block, self.delimiter);
            while let Some((line, _)) = part.next(&mut rec).map_err(std::io::Error::other)? {
                if wanted.contains(&line) {
                    out.insert(
                        line,
                        rec.iter()
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .collect(),
                    );
                }
            }
        }
        Ok(out)
    }
}

/// Skipping the first bytes of a reader.
trait SkipBytes: Read + Sized {
    fn skip_bytes(self, n: usize) -> Skip<Self> {
        Skip { inner: self, n }
    }
}

impl<R: Read> SkipBytes for R {}

struct Skip<R> {
    inner: R,
    n: usize,
}

impl<R: Read> Read for Skip<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.n > 0 {
            let mut sink = [0u8; 16];
            let want = self.n.min(sink.len());
            let got = self.inner.read(&mut sink[..want])?;
            if got == 0 {
                return Ok(0);
            }
            self.n -= got;
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::super::plain;
    use super::*;

    /// Each row's cells and whether they came as slices of the block's text.
    fn rows(text: &[u8], byte: u64) -> Vec<(u64, Vec<String>, bool)> {
        read(text, byte, true)
            .0
            .into_iter()
            .map(|(line, _, cells, fields)| (line, cells, fields))
            .collect()
    }

    /// Each row (line, byte, cells, slices of the text?), the counts and the ragged rows'
    /// lines, of a block at line 3 and `byte` of a file whose header has two columns; `plain`:
    /// whether a quote-free block may be split by hand.
    #[allow(clippy::type_complexity)]
    fn read(
        text: &[u8],
        byte: u64,
        plain: bool,
    ) -> (
        Vec<(u64, u64, Vec<String>, bool)>,
        (u64, u64, u64),
        Vec<u64>,
    ) {
        let block = Block {
            text: text.to_vec(),
            byte,
            line: 1,
        };
        let mut part = Part::new(block, b',');
        part.plain = plain;
        let mut out = Vec::new();
        let file: std::sync::Arc<str> = "t.csv".into();
        let mut problems = Vec::new();
        let stats = part
            .for_each_row(2, 2, &file, &mut problems, &mut |row| {
                let cells = row.cells().map(|c| c.display()).collect();
                let fields = matches!(row.data, RowData::Fields(_));
                out.push((row.number, row.byte.unwrap_or(0), cells, fields));
                true
            })
            .unwrap();
        let counts = (stats.rows, stats.empty_rows, stats.ragged_rows);
        (
            out,
            counts,
            problems.iter().map(|p| p.location.row).collect(),
        )
    }

    #[test]
    fn plain_records_are_slices_of_the_text_and_the_others_are_read_as_before() {
        let text = "Süd,1\r\n\r\n\"x,y\",2\nÖ,\"q\"\"\"\n, 3\nWerk Ötigheim,4".as_bytes();
        let want = vec![
            (1, vec!["Süd".to_string(), "1".into()], true),
            (3, vec!["x,y".into(), "2".into()], false),
            (4, vec!["Ö".into(), "q\"".into()], false),
            (5, vec![String::new(), " 3".into()], true),
            (6, vec!["Werk Ötigheim".into(), "4".into()], true),
        ];
        // The same wherever the block sits in the file.
        assert_eq!(rows(text, 0), want);
        assert_eq!(rows(text, 1_000_000), want);
        // A block that is not UTF-8 throughout: every record is checked on its own.
        let mut bad = text.to_vec();
        bad.extend_from_slice(b"\n\xff,5\n");
        let got = rows(&bad, 0);
        assert!(got.iter().all(|r| !r.2), "{got:?}");
        assert_eq!(
            got[..5].iter().map(|r| &r.1).collect::<Vec<_>>(),
            want.iter().map(|r| &r.1).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_line_wider_than_a_sheet_is_refused_alike_both_ways_with_its_field_count() {
        let mut text = b"a,1\n".to_vec();
        text.extend(std::iter::repeat_n(b',', 20_000));
        text.extend_from_slice(b"\nb,2\n");
        for plain in [true, false] {
            let mut part = Part::new(
                Block {
                    text: text.clone(),
                    byte: 0,
                    line: 1,
                },
                b',',
            );
            part.plain = plain;
            let file: std::sync::Arc<str> = "t.csv".into();
            let err = part
                .for_each_row(2, 2, &file, &mut Vec::new(), &mut |_| true)
                .err()
                .map(|e| e.message);
            assert_eq!(
                err.as_deref(),
                Some(
                    "line 2 has 20,001 fields, more than the limit of 16,384 columns (a spreadsheet's width)"
                ),
                "split by hand: {plain}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever the text (quotes, delimiters, CR and LF, non-ASCII, blank lines), the rows
        /// handed on are the csv crate's records of the same text, cell for cell.
        #[test]
        fn rows_are_the_csv_crates_records(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["a", "Ö", "–", ",", "\"", "\"\"", "\r", "\n", "\r\n", " ", "1"]),
                0..80,
            ),
            byte in 0u64..3,
        ) {
            let text = pieces.concat();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut want = Vec::new();
            for rec in reader.byte_records() {
                let rec = rec.unwrap();
                if rec.as_slice().iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let cells: Vec<String> =
                    rec.iter().map(|f| String::from_utf8(f.to_vec()).unwrap()).collect();
                want.push(cells);
            }
            let got: Vec<Vec<String>> = rows(text.as_bytes(), byte).into_iter().map(|r| r.1).collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// A text without quotes is split by hand into the parser's rows: the same cells,
        /// lines, offsets, counts and ragged rows, for any mix of delimiters, CRLF and LF,
        /// blank and whitespace-only lines, non-ASCII text and a last line with or without
        /// its line feed.
        #[test]
        fn a_quote_free_block_split_by_hand_is_read_as_the_parser_reads_it(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["a", "Ö", "–", ",", "\r\n", "\n", "\n\n", " ", "1", ",,"]),
                0..80,
            ),
            byte in 0u64..3,
        ) {
            let text = pieces.concat();
            proptest::prop_assume!(plain::is_plain(text.as_bytes(), b','));
            let by_hand = read(text.as_bytes(), byte, true);
            let parsed = read(text.as_bytes(), byte, false);
            proptest::prop_assert!(by_hand.0.iter().all(|r| r.3));
            proptest::prop_assert_eq!(by_hand, parsed);
        }
    }
}
