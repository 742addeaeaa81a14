//! Quote-free CSV blocks, split without a parser.
//!
//! Input: a block's text (`&str`: UTF-8, checked once per block, starting at a record
//! boundary) that [`is_plain`] accepts — no `"` anywhere, every `\r` the first half of a
//! CRLF, an ASCII delimiter. Output: each record's fields as slices of that text, with the
//! record's 1-based line in the block and its byte offset, handed to a callback
//! ([`for_each_record`]).
//!
//! In such a text a record is a line and its fields are the line cut at each delimiter:
//! nothing is quoted, escaped or continued over a line, so the csv crate's parser has nothing
//! to decide. It still copies every field into its own buffer, one state-machine step per
//! byte, and the rows are then found again in the text to be handed on without a second
//! UTF-8 check ([`super::blocks::fields_in`]). Why by hand: the csv crate has no way to hand
//! out fields borrowed from its input. Measured on the first 100k rows of the plant export
//! (`valgrind --tool=cachegrind`, `--threads 1`, instructions, which do not vary from run to
//! run): parsing, the record bookkeeping and finding the fields again took about 1,900
//! instructions a row, this split about 650 (`memchr2` included); the whole dry run went from
//! 671 to 562 million instructions, and the median wall time of the 1M-row file from 0.71 to
//! 0.58 s (nine alternating runs).
//!
//! A block with any quote goes through the parser as before, and a property test checks that
//! both give the same rows, lines, offsets and counts for any quote-free text.

use memchr::{memchr, memchr2_iter};

use super::ReadError;

/// Whether `text` can be split by [`for_each_record`] exactly as the csv crate reads it.
pub(crate) fn is_plain(text: &[u8], delimiter: u8) -> bool {
    if !delimiter.is_ascii() || matches!(delimiter, b'"' | b'\r' | b'\n') {
        return false;
    }
    if memchr(b'"', text).is_some() {
        return false;
    }
    memchr::memchr_iter(b'\r', text).all(|i| text.get(i + 1) == Some(&b'\n'))
}

/// Calls `f(line, offset, fields, count)` for every record of a plain `text` (see
/// [`is_plain`]): `line` counts from 1 at the text's start, `offset` is the record's first
/// byte, `fields` its first `keep` fields and `count` how many it has (a line of millions of
/// delimiters is counted, not kept). Empty lines are skipped, as the csv crate skips them.
/// Stops at the first `Ok(false)` or error. One pass finds every delimiter and line feed
/// (`memchr2`); a field is the text between two.
pub(crate) fn for_each_record<'t>(
    text: &'t str,
    delimiter: u8,
    (file, keep): (&str, usize),
    fields: &mut Vec<&'t str>,
    mut f: impl FnMut(u64, usize, &[&'t str], usize) -> Result<bool, ReadError>,
) -> Result<(), ReadError> {
    let bytes = text.as_bytes();
    // Both are ASCII, so every cut is at a character boundary of the UTF-8 text; `get`
    // says so again rather than trusting it.
    let cut = |a: usize, b: usize| {
        text.get(a..b).ok_or_else(|| {
            ReadError::new(
                file,
                "io",
                format!("a field at byte {a} of a block does not start on a character"),
                "read the file with --encoding, or report this as a bug",
            )
        })
    };
    let (mut line, mut start, mut field, mut count) = (1u64, 0usize, 0usize, 0usize);
    fields.clear();
    for i in memchr2_iter(delimiter, b'\n', bytes).chain(std::iter::once(bytes.len())) {
        if bytes.get(i).is_some_and(|b| *b == delimiter) {
            if count < keep {
                fields.push(cut(field, i)?);
            }
            count += 1;
            field = i + 1;
            continue;
        }
        // A line ends at `i` (or the text does).
        let end = if i > field && bytes.get(i - 1) == Some(&b'\r') {
            i - 1
        } else {
            i
        };
        if count > 0 || end > start {
            if count < keep {
                fields.push(cut(field, end)?);
            }
            if !f(line, start, fields, count + 1)? {
                return Ok(());
            }
            fields.clear();
            count = 0;
        }
        line += 1;
        start = i + 1;
        field = start;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<(u64, usize, Vec<String>)> {
        let mut out = Vec::new();
        let mut fields = Vec::new();
        for_each_record(text, b';', ("t.csv", 3), &mut fields, |line, at, f, n| {
            assert_eq!(f.len(), n.min(3));
            let mut cells: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            if n > f.len() {
                cells.push(format!("({n} in all)"));
            }
            out.push((line, at, cells));
            Ok(true)
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_are_records_and_blank_lines_are_skipped() {
        let text = "a;b\r\n\r\n;Ö\n\n x \nlast;\n;;;;\r\n";
        assert!(is_plain(text.as_bytes(), b';'));
        assert_eq!(
            records(text),
            vec![
                (1, 0, vec!["a".into(), "b".into()]),
                (3, 7, vec![String::new(), "Ö".into()]),
                (5, 12, vec![" x ".into()]),
                (6, 16, vec!["last".into(), String::new()]),
                // A line with more fields than are kept: the first ones and the count.
                (
                    7,
                    22,
                    vec![
                        String::new(),
                        String::new(),
                        String::new(),
                        "(5 in all)".into()
                    ]
                ),
            ]
        );
    }

    #[test]
    fn quotes_lone_carriage_returns_and_odd_delimiters_are_not_plain() {
        assert!(!is_plain(b"a,\"b\"\n", b','));
        assert!(!is_plain(b"a,b\rc\n", b','));
        assert!(!is_plain(b"a,b\r", b','));
        assert!(!is_plain(b"a,b\n", b'"'));
        assert!(!is_plain(b"a,b\n", 0xa7));
        assert!(is_plain(b"a,b\r\nc\n", b','));
    }
}
