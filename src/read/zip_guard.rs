//! Limits on a workbook's zip container, checked before calamine reads it: calamine trusts
//! what the container declares (a 1.7 KB xlsx whose shared-strings part declares a count of
//! billions makes it ask for 96 GB at once and abort the process), and inflates every part it
//! needs in full (a 5 MB xlsx can hold 2 GB of sheet XML).
//!
//! From the zip's central directory: the number of entries, each entry's uncompressed size and
//! compression ratio, and the total. From `xl/sharedStrings.xml` (only its first kilobytes are
//! inflated): the declared `count`/`uniqueCount`, which cannot exceed one string per five bytes
//! of the part (`<si/>`) nor the limit. The sizes are the ones the directory declares; a
//! crafted stream that inflates past its declared size is stopped by the zip crate as it
//! reads ("File is larger than its declared uncompressed size"), tried with a 1 MB part
//! declaring 1,000 bytes that inflates to 1 GB (tests/data/hostile).

use std::io::{Cursor, Read};

/// The limits (generous for real exports; each can be raised in the mapping's `[source]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZipLimits {
    pub(crate) max_entries: u64,
    pub(crate) max_entry_bytes: u64,
    pub(crate) max_total_bytes: u64,
    /// Uncompressed over compressed, for entries above [`RATIO_FROM_BYTES`].
    pub(crate) max_ratio: u64,
    pub(crate) max_shared_strings: u64,
}

impl From<&super::Limits> for ZipLimits {
    fn from(l: &super::Limits) -> Self {
        use super::Limit;
        ZipLimits {
            max_entries: l.get(Limit::ZipEntries, true),
            max_entry_bytes: l.get(Limit::UnpackedBytes, true),
            max_total_bytes: l.get(Limit::UnpackedBytes, true),
            max_ratio: l.get(Limit::ZipRatio, true),
            max_shared_strings: l.get(Limit::SharedStrings, true),
        }
    }
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits::from(&super::Limits::default())
    }
}

/// Entries smaller than this are not held to the ratio (tiny parts compress very well).
pub(crate) const RATIO_FROM_BYTES: u64 = 16 << 20;

/// A limit the container breaks: what, the value found, the limit, and the `[source]` key that
/// raises it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Breach {
    /// What was found against which limit, as a sentence's end ("the workbook declares ...").
    pub(crate) message: String,
    pub(crate) found: u64,
    pub(crate) limit: u64,
    pub(crate) key: &'static str,
    /// The limit is what the file itself allows (it contradicts itself): raising the setting
    /// would not help.
    pub(crate) self_contradicting: bool,
}

use super::limits::thousands as n;

/// The declared number of distinct strings of a shared-strings part, from its first bytes:
/// `uniqueCount` (each is one `<si>` entry), and whether it came from `count` instead (the
/// number of cells that use a string, which may well exceed the part's size).
fn declared_strings(head: &[u8]) -> Option<(u64, bool)> {
    let text = String::from_utf8_lossy(head);
    let number = |key: &str| {
        let i = text.find(key)?;
        let digits: String = text[i + key.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        // A number too long for u64 is as good as infinite.
        Some(digits.parse::<u64>().unwrap_or(u64::MAX))
    };
    number("uniqueCount=\"")
        .map(|n| (n, false))
        .or_else(|| number(" count=\"").map(|n| (n, true)))
}

/// Checks the container; `Ok(())` when it is not a zip (calamine then says what it is).
pub(crate) fn check(bytes: &[u8], limits: &ZipLimits) -> Result<(), Breach> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let entries = zip.len() as u64;
    if entries > limits.max_entries {
        return Err(Breach {
            message: format!(
                "the workbook's zip container has {} entries, more than the limit of {}",
                n(entries),
                n(limits.max_entries)
            ),
            found: entries,
            limit: limits.max_entries,
            key: "max_zip_entries",
            self_contradicting: false,
        });
    }
    let mut total = 0u64;
    let mut strings_part = None;
    for i in 0..zip.len() {
        let Ok(e) = zip.by_index_raw(i) else {
            continue;
        };
        let name = e.name().map(|n| n.to_string()).unwrap_or_default();
        let (size, packed) = (e.size(), e.compressed_size());
        if size > limits.max_entry_bytes {
            return Err(Breach {
                message: format!(
                    "its part {name} unpacks to {} bytes, more than the limit of {}",
                    n(size),
                    n(limits.max_entry_bytes)
                ),
                found: size,
                limit: limits.max_entry_bytes,
                key: "max_unpacked_bytes",
                self_contradicting: false,
            });
        }
        total = total.saturating_add(size);
        if size >= RATIO_FROM_BYTES {
            let ratio = size / packed.max(1);
            if ratio > limits.max_ratio {
                return Err(Breach {
                    message: format!(
                        "its part {name} unpacks to {} bytes from {} ({} times), more than the limit of {} times",
                        n(size),
                        n(packed),
                        n(ratio),
                        n(limits.max_ratio)
                    ),
                    found: ratio,
                    limit: limits.max_ratio,
                    key: "max_zip_ratio",
                    self_contradicting: false,
                });
            }
        }
        if name.eq_ignore_ascii_case("xl/sharedStrings.xml") {
            strings_part = Some((i, size));
        }
    }
    if total > limits.max_total_bytes {
        return Err(Breach {
            message: format!(
                "the workbook unpacks to {} bytes, more than the limit of {}",
                n(total),
                n(limits.max_total_bytes)
            ),
            found: total,
            limit: limits.max_total_bytes,
            key: "max_unpacked_bytes",
            self_contradicting: false,
        });
    }
    if let Some((i, size)) = strings_part
        && let Ok(part) = zip.by_index(i)
    {
        let mut head = Vec::with_capacity(4096);
        let _ = part.take(4096).read_to_end(&mut head);
        if let Some((declared, from_count)) = declared_strings(&head) {
            // At least five bytes per distinct string (`<si/>`).
            let possible = if from_count { u64::MAX } else { size / 5 + 16 };
            let limit = limits.max_shared_strings.min(possible);
            if declared > limit {
                return Err(Breach {
                    message: format!(
                        "the workbook declares {} shared strings, more than {} ({})",
                        self::n(declared),
                        self::n(limit),
                        if limit < limits.max_shared_strings {
                            "what its shared-strings part can hold"
                        } else {
                            "the limit"
                        }
                    ),
                    found: declared,
                    limit,
                    key: "max_shared_strings",
                    self_contradicting: limit < limits.max_shared_strings,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, data) in parts {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn a_lying_shared_strings_count_is_caught_from_the_first_bytes() {
        let sst = br#"<?xml version="1.0"?><sst xmlns="x" count="24000000000" uniqueCount="24000000000"><si><t>a</t></si></sst>"#;
        let z = zip_of(&[("xl/sharedStrings.xml", sst)]);
        let b = check(&z, &ZipLimits::default()).unwrap_err();
        assert_eq!(b.key, "max_shared_strings");
        assert_eq!(b.found, 24_000_000_000);
        let honest = br#"<sst count="1" uniqueCount="1"><si><t>a</t></si></sst>"#;
        assert!(
            check(
                &zip_of(&[("xl/sharedStrings.xml", honest)]),
                &ZipLimits::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn a_part_that_grows_too_much_is_refused_before_it_is_read() {
        let big = vec![b' '; 40 << 20];
        let z = zip_of(&[("xl/worksheets/sheet1.xml", &big)]);
        let b = check(&z, &ZipLimits::default()).unwrap_err();
        assert_eq!(b.key, "max_zip_ratio");
        assert!(z.len() < 200_000);
        let tight = ZipLimits {
            max_total_bytes: 1000,
            max_ratio: u64::MAX,
            ..ZipLimits::default()
        };
        assert_eq!(check(&z, &tight).unwrap_err().key, "max_unpacked_bytes");
        assert!(check(b"not a zip", &ZipLimits::default()).is_ok());
    }
}
