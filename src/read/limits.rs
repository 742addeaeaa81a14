//! The limits on what one input may hold, each with a generous default for real exports.
//!
//! Input: the mapping's `[source]` keys and `--limit NAME=N` flags (flags win). Output:
//! [`Limits`], asked by the readers for the value in force. A breach is one diagnostic naming
//! the limit, the value found and how to raise it ([`raise_hint`]).

/// The longest record (one row, quoted line breaks included) read before the input is refused:
/// a field of 100 MB, a quote that is never closed, or a line of nothing but delimiters would
/// otherwise be held whole in memory, and 2 MiB of delimiters already parse into two million
/// fields (16 MB of field bounds in the csv crate, twice that while they grow; measured: a
/// 5 MB line of commas took 210 MB). `[source] max_record_bytes` raises it.
pub(crate) const DEFAULT_MAX_RECORD_BYTES: usize = 2 << 20;

/// One limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    InputBytes,
    RecordBytes,
    Cells,
    ZipEntries,
    UnpackedBytes,
    ZipRatio,
    SharedStrings,
}

/// Every limit: its key (in `[source]` and `--limit`), what it bounds, and its default as
/// shown. The order is the documentation's.
pub(crate) const LIMITS: [(Limit, &str, &str, &str); 7] = [
    (
        Limit::InputBytes,
        "max_input_bytes",
        "the size of the input file (a workbook is read into memory whole; a CSV is streamed)",
        "512 MiB for a workbook, 16 GiB for CSV",
    ),
    (
        Limit::RecordBytes,
        "max_record_bytes",
        "one CSV row, quoted line breaks included: a quote never closed, a field of megabytes, a line of delimiters",
        "2 MiB",
    ),
    (
        Limit::Cells,
        "max_cells",
        "the cells of one worksheet, as declared and as read",
        "50,000,000",
    ),
    (
        Limit::ZipEntries,
        "max_zip_entries",
        "the entries of a workbook's zip container (xlsx, xlsm, xlsb, ods)",
        "10,000",
    ),
    (
        Limit::UnpackedBytes,
        "max_unpacked_bytes",
        "what a workbook unpacks to (one part, or all together), checked before unpacking",
        "1 GiB",
    ),
    (
        Limit::ZipRatio,
        "max_zip_ratio",
        "how many times its packed size a part above 16 MB unpacks to",
        "250",
    ),
    (
        Limit::SharedStrings,
        "max_shared_strings",
        "the shared strings a workbook declares (never more than its shared-strings part can hold)",
        "20,000,000",
    ),
];

/// The limits set over the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    set: [Option<u64>; LIMITS.len()],
}

fn index(l: Limit) -> usize {
    LIMITS.iter().position(|(x, ..)| *x == l).unwrap_or(0)
}

impl Limits {
    /// The limit in force; `workbook` picks the input-size default.
    pub(crate) fn get(&self, l: Limit, workbook: bool) -> u64 {
        if let Some(v) = self.set[index(l)] {
            return v;
        }
        match l {
            Limit::InputBytes if workbook => 512 << 20,
            Limit::InputBytes => 16 << 30,
            Limit::RecordBytes => DEFAULT_MAX_RECORD_BYTES as u64,
            Limit::Cells => 50_000_000,
            Limit::ZipEntries => 10_000,
            Limit::UnpackedBytes => 1 << 30,
            Limit::ZipRatio => 250,
            Limit::SharedStrings => 20_000_000,
        }
    }

    /// Sets the limit named `key`; an unknown name or 0 is refused with what to write.
    pub(crate) fn set(&mut self, key: &str, value: u64) -> Result<(), String> {
        let Some(i) = LIMITS.iter().position(|(_, k, ..)| *k == key) else {
            return Err(format!(
                "{key:?} is not a limit; the limits are: {}",
                names()
            ));
        };
        if value == 0 {
            return Err(format!(
                "{key} = 0 would refuse every file: leave it out for the default ({})",
                LIMITS[i].3
            ));
        }
        self.set[i] = Some(value);
        Ok(())
    }
}

/// Reading past [`Limit::InputBytes`] (from [`Capped`]).
#[derive(Debug)]
pub(crate) struct InputTooBig {
    pub(crate) limit: u64,
}

impl std::fmt::Display for InputTooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the input is larger than {} bytes", self.limit)
    }
}

impl std::error::Error for InputTooBig {}

/// A reader that fails with [`InputTooBig`] once more than its limit was read (for input
/// whose size is not known up front: a pipe, standard input).
pub(crate) struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Capped<R> {
    /// `inner`, of which `already` bytes were read before.
    pub(crate) fn new(inner: R, limit: u64, already: u64) -> Capped<R> {
        Capped {
            inner,
            left: limit.saturating_sub(already),
            limit,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(InputTooBig { limit: self.limit }));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// 1234567 as `1,234,567`.
pub(crate) fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The limits' names, for messages.
pub(crate) fn names() -> String {
    LIMITS
        .iter()
        .map(|(_, k, ..)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How to raise limit `key`, for a diagnostic's help.
pub(crate) fn raise_hint(key: &str) -> String {
    format!("raise the limit with --limit {key}=N, or {key} = N in the mapping's [source]")
}

/// `--limit NAME=N` (N may be written 64MiB, 2GB, 1_000_000).
pub(crate) fn parse_flag(s: &str) -> Result<(String, u64), String> {
    let (key, value) = s.split_once('=').ok_or_else(|| {
        format!(
            "write NAME=N, e.g. max_record_bytes=64MiB; the limits are: {}",
            names()
        )
    })?;
    let key = key.trim();
    if !LIMITS.iter().any(|(_, k, ..)| *k == key) {
        return Err(format!(
            "{key:?} is not a limit; the limits are: {}",
            names()
        ));
    }
    let n = parse_amount(value.trim())
        .ok_or_else(|| format!("{value:?} is not a whole number (e.g. 1000000, 64MiB, 2GB)"))?;
    if n == 0 {
        return Err(format!("{key}=0 would refuse every file"));
    }
    Ok((key.to_string(), n))
}

/// `1_000_000`, `64MiB`, `2GB`, `512k`: a whole number with an optional unit.
fn parse_amount(s: &str) -> Option<u64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_with_units_and_refuse_what_is_not_a_limit() {
        assert_eq!(
            parse_flag("max_record_bytes=64MiB"),
            Ok(("max_record_bytes".into(), 64 << 20))
        );
        assert_eq!(
            parse_flag("max_cells=1_000_000"),
            Ok(("max_cells".into(), 1_000_000))
        );
        assert!(parse_flag("max_cells").is_err());
        assert!(parse_flag("max_bananas=3").is_err());
        assert!(parse_flag("max_cells=0").is_err());
        assert!(parse_flag("max_cells=-1").is_err());
        assert!(parse_flag("max_cells=99999999999TB").is_err());
        assert!(parse_flag("max_cells=1.5").is_err());
    }

    #[test]
    fn a_capped_reader_fails_past_its_limit() {
        use std::io::Read;
        let mut ok = Vec::new();
        Capped::new(&b"abcdef"[..], 10, 4)
            .read_to_end(&mut ok)
            .unwrap();
        assert_eq!(ok, b"abcdef");
        let mut r = Capped::new(&b"abcdefgh"[..], 10, 4);
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.get_ref().is_some_and(|x| x.is::<InputTooBig>()));
    }

    #[test]
    fn set_values_win_and_defaults_hold_otherwise() {
        let mut a = Limits::default();
        assert_eq!(a.get(Limit::InputBytes, true), 512 << 20);
        assert_eq!(a.get(Limit::InputBytes, false), 16 << 30);
        a.set("max_cells", 7).unwrap();
        assert_eq!(a.get(Limit::Cells, true), 7);
        assert_eq!(a.get(Limit::ZipRatio, true), 250);
        assert!(a.set("max_cells", 0).is_err());
        assert!(a.set("nope", 1).is_err());
    }
}
