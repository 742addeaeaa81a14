//! Looking at the first bytes of a file: its format, a text file's encoding and delimiter.

use std::io::Read;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

use super::ReadError;

/// What kind of file it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Xlsm,
    Xlsb,
    Xls,
    Ods,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Xlsx => "Excel workbook (xlsx)",
            Format::Xlsm => "Excel macro workbook (xlsm)",
            Format::Xlsb => "Excel binary workbook (xlsb)",
            Format::Xls => "Excel 97-2003 workbook (xls)",
            Format::Ods => "OpenDocument spreadsheet (ods)",
        }
    }
}

/// How many bytes the sniffers look at.
pub(crate) const PREFIX: usize = 64 * 1024;

/// Decides the format from the first bytes, then the extension `e` (lower case; empty for
/// standard input, where a zip archive's entries tell xlsx, xlsb and ods apart later).
pub(crate) fn format(shown: &str, head: &[u8], e: &str) -> Result<Format, ReadError> {
    let head = &head[..head.len().min(8)];
    if head.is_empty() {
        return Err(ReadError::new(
            shown,
            "empty",
            "the file is empty",
            "export the report again; the file has no bytes at all",
        ));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(match e {
            "xlsm" => Format::Xlsm,
            "xlsb" => Format::Xlsb,
            "ods" => Format::Ods,
            _ => Format::Xlsx,
        });
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        if matches!(e, "xlsx" | "xlsm" | "xlsb") {
            return Err(ReadError::new(
                shown,
                "encrypted",
                "the workbook is password-protected (encrypted)",
                "open it in Excel and save a copy without a password (File › Info › Protect Workbook › Encrypt with Password: clear it)",
            ));
        }
        return Ok(Format::Xls);
    }
    let binary_magic: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"GIF8", "a GIF image"),
    ];
    for (magic, what) in binary_magic {
        if head.starts_with(magic) {
            return Err(not_a_spreadsheet(shown, &format!("it is {what}")));
        }
    }
    if matches!(e, "xlsx" | "xlsm" | "xlsb" | "ods") {
        return Err(ReadError::new(
            shown,
            "corrupt",
            format!("the file is named .{e} but is not a workbook (it is not a zip archive)"),
            "export the report again, or rename it if it really is CSV text",
        ));
    }
    Ok(Format::Csv)
}

fn not_a_spreadsheet(shown: &str, why: &str) -> ReadError {
    ReadError::new(
        shown,
        "not_a_spreadsheet",
        format!("not a spreadsheet: {why}"),
        "vsimport reads CSV (any delimiter) and Excel/OpenDocument workbooks (xlsx, xlsm, xlsb, xls, ods)",
    )
}

/// The kind of an OOXML/ODF zip archive from its entries (for input without a name).
pub(crate) fn zip_kind(bytes: &[u8]) -> Format {
    let Ok(zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Format::Xlsx;
    };
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("xl/workbook.bin") {
        Format::Xlsb
    } else if has("content.xml") && has("mimetype") {
        Format::Ods
    } else {
        Format::Xlsx
    }
}

/// A read error as the user reads it; a record over the limit names the limit and its key.
pub(crate) fn io_error(shown: &str, e: std::io::Error) -> ReadError {
    if let Some(r) = e
        .get_ref()
        .and_then(|x| x.downcast_ref::<super::blocks::RecordTooLong>())
    {
        return ReadError::new(
            shown,
            "limit",
            format!(
                "{}: more than the limit for one row (a quote that is never closed, a field of megabytes, or a line without line breaks)",
                r
            ),
            format!(
                "check the file (a quote opened and not closed takes everything after it into one field); if a row really is that long, {}",
                super::limits::raise_hint("max_record_bytes")
            ),
        );
    }
    if let Some(t) = e
        .get_ref()
        .and_then(|x| x.downcast_ref::<super::limits::InputTooBig>())
    {
        return input_too_big(shown, None, t.limit);
    }
    ReadError::new(
        shown,
        "io",
        format!("cannot read the file: {}", crate::os::plain(&e.to_string())),
        "check that the file is readable and not being written",
    )
}

/// The input is larger than `max_input_bytes` (`size`: how large, when known).
pub(crate) fn input_too_big(shown: &str, size: Option<u64>, max: u64) -> ReadError {
    let found = match size {
        Some(s) => format!(
            "the file has {} bytes, more than the limit of {}",
            super::limits::thousands(s),
            super::limits::thousands(max)
        ),
        None => format!(
            "the input holds more than the limit of {} bytes",
            super::limits::thousands(max)
        ),
    };
    ReadError::new(
        shown,
        "limit",
        found,
        format!(
            "split the export; if the file is genuine, {}",
            super::limits::raise_hint("max_input_bytes")
        ),
    )
}

/// A workbook the reader library gave up on with a panic.
pub(crate) fn reader_failed(shown: &str, panic: &(dyn std::any::Any + Send)) -> ReadError {
    let why = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no reason given");
    ReadError::new(
        shown,
        "corrupt",
        format!(
            "the workbook cannot be read: the reader failed on it ({})",
            crate::diag::shorten(why, 200)
        ),
        "the file is damaged, or not what its name says: export or save it again; open and re-save it in Excel or LibreOffice if the problem stays",
    )
}

/// Reads until `buf` is full or the end of the input.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A text file's encoding and how it was decided.
pub(crate) struct EncodingChoice {
    pub(crate) encoding: &'static Encoding,
    /// Length of the byte-order mark at the start (skipped).
    pub(crate) bom: usize,
    pub(crate) note: String,
}

/// BOM first; then UTF-16 without BOM (NUL in every other byte); then UTF-8 if the prefix is
/// valid UTF-8; else Windows-1252 (what Excel on Western European Windows writes).
pub(crate) fn encoding(
    prefix: &[u8],
    forced: Option<&'static Encoding>,
) -> Result<EncodingChoice, &'static str> {
    if let Some((enc, bom)) = Encoding::for_bom(prefix) {
        let note = match forced {
            Some(f) if f != enc => format!(
                "{} (byte-order mark; it wins over the configured {})",
                enc.name(),
                f.name()
            ),
            _ => format!("{} (byte-order mark)", enc.name()),
        };
        return Ok(EncodingChoice {
            encoding: enc,
            bom,
            note,
        });
    }
    if let Some(enc) = forced {
        return Ok(EncodingChoice {
            encoding: enc,
            bom: 0,
            note: format!("{} (configured)", enc.name()),
        });
    }
    let sample = &prefix[..prefix.len().min(4096)];
    if sample.len() >= 4 {
        let even_nul = sample.iter().step_by(2).filter(|b| **b == 0).count();
        let odd_nul = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|b| **b == 0)
            .count();
        let half = sample.len() / 2;
        if odd_nul * 10 > half * 7 && even_nul * 10 < half {
            return Ok(EncodingChoice {
                encoding: UTF_16LE,
                bom: 0,
                note: "UTF-16LE (detected: no byte-order mark, NUL in every other byte)".into(),
            });
        }
        if even_nul * 10 > half * 7 && odd_nul * 10 < half {
            return Ok(EncodingChoice {
                encoding: UTF_16BE,
                bom: 0,
                note: "UTF-16BE (detected: no byte-order mark, NUL in every other byte)".into(),
            });
        }
    }
    if prefix.contains(&0) {
        return Err("it holds NUL bytes, so it is not a text file");
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => Ok(EncodingChoice {
            encoding: UTF_8,
            bom: 0,
            note: "UTF-8 (detected)".into(),
        }),
        // A character cut at the end of the prefix is still UTF-8.
        Err(e) if e.error_len().is_none() => Ok(EncodingChoice {
            encoding: UTF_8,
            bom: 0,
            note: "UTF-8 (detected)".into(),
        }),
        Err(e) => Ok(EncodingChoice {
            encoding: WINDOWS_1252,
            bom: 0,
            note: format!(
                "windows-1252 (detected: byte {} is not UTF-8)",
                e.valid_up_to()
            ),
        }),
    }
}

/// Picks the delimiter that splits the most lines into the same number of fields.
/// Candidates: `,` `;` tab `|`. Quoted text is skipped. Ties go to the earlier candidate.
pub(crate) fn delimiter(text: &str) -> (u8, String) {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let lines: Vec<&str> = text.lines().take(50).collect();
    // Drop a possibly cut last line when the prefix was full.
    let lines = if lines.len() > 1 && !text.ends_with('\n') {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let mut best: Option<(usize, usize, u8)> = None;
    for &c in &CANDIDATES {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, c)).collect();
        let mut freq: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for &n in counts.iter().filter(|n| **n > 0) {
            *freq.entry(n).or_default() += 1;
        }
        let Some((&mode, &agree)) = freq.iter().max_by_key(|(n, a)| (**a, **n)) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((a, m, _)) => agree > a || (agree == a && mode > m),
        };
        if better {
            best = Some((agree, mode, c));
        }
    }
    match best {
        Some((agree, mode, c)) => (
            c,
            format!(
                "{} (detected: {agree} of the first {} lines have {} fields)",
                show_delimiter(c),
                lines.len(),
                mode + 1
            ),
        ),
        None => (
            b',',
            "',' (default: no candidate delimiter found, the file has one column)".into(),
        ),
    }
}

/// Parses a delimiter given as text: `,` `;` `tab` `|` or any single ASCII character.
pub(crate) fn parse_delimiter(s: &str) -> Option<u8> {
    match s {
        "tab" | "\\t" | "\t" => Some(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Some(s.as_bytes()[0]),
        _ => None,
    }
}

pub(crate) fn show_delimiter(c: u8) -> String {
    match c {
        b'\t' => "tab".into(),
        c => format!("'{}'", c as char),
    }
}

fn count_outside_quotes(line: &str, c: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == c && !quoted {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(delimiter("a,b,c\n1,2,3\n").0, b',');
        assert_eq!(
            delimiter("Datum;Team;OEE\n01.01.2025;Süd;85,5\n02.01.2025;Süd;84,1\n").0,
            b';'
        );
        assert_eq!(delimiter("a\tb\n1,5\t2\n").0, b'\t');
        assert_eq!(delimiter("a|b|c\n\"x|y\"|2|3\n").0, b'|');
        assert_eq!(
            delimiter("Report title\n\nDate,Team\n2025-01-01,A\n").0,
            b','
        );
        assert_eq!(delimiter("single\ncolumn\n").0, b',');
    }

    #[test]
    fn encodings() {
        assert_eq!(encoding(b"\xEF\xBB\xBFa,b", None).unwrap().encoding, UTF_8);
        assert_eq!(encoding(b"\xEF\xBB\xBFa,b", None).unwrap().bom, 3);
        assert_eq!(
            encoding(b"\xFF\xFEa\0,\0", None).unwrap().encoding,
            UTF_16LE
        );
        assert_eq!(encoding(b"a\0,\0b\0\n\0", None).unwrap().encoding, UTF_16LE);
        assert_eq!(encoding("Süd".as_bytes(), None).unwrap().encoding, UTF_8);
        assert_eq!(encoding(b"S\xFCd", None).unwrap().encoding, WINDOWS_1252);
        // A multi-byte character cut by the prefix is fine.
        assert_eq!(encoding(b"S\xC3", None).unwrap().encoding, UTF_8);
        assert!(encoding(b"\x00\x01\x02\x03\x00\x00\x00\x00\x05", None).is_err());
        let forced = encoding(b"abc", Some(WINDOWS_1252)).unwrap();
        assert_eq!(forced.encoding, WINDOWS_1252);
    }
}
