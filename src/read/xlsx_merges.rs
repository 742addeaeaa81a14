//! Merged regions of an xlsx sheet, found by a byte scan.
//!
//! An xlsx lists a sheet's merged regions in `<mergeCells>` after all of its cells, and
//! calamine finds them by parsing the whole sheet's XML a second time, which costs most of
//! what loading the cells costs. Here the sheet's XML is only inflated and searched for
//! `mergeCell ref="A1:B2"` with memchr's substring search. `None` means "could not tell";
//! the caller then asks calamine. The same pass counts how deep the XML nests: a sheet nested
//! thousands deep is not a spreadsheet (see [`MAX_DEPTH`]).

use std::io::Read;

use calamine::Dimensions;

fn value(a: &quick_xml::events::attributes::Attribute<'_>) -> Option<String> {
    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        .ok()
        .map(|v| v.into_owned())
}

/// The zip entry of the sheet named `sheet`: workbook.xml names it, the relationships say
/// where it is.
fn sheet_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    sheet: &str,
) -> Option<String> {
    let read = |zip: &mut zip::ZipArchive<R>, name: &str| -> Option<Vec<u8>> {
        let mut f = zip.by_name(name).ok()?;
        let mut v = Vec::new();
        f.read_to_end(&mut v).ok()?;
        Some(v)
    };
    let workbook = read(zip, "xl/workbook.xml")?;
    let rels = read(zip, "xl/_rels/workbook.xml.rels")?;
    let mut rid = None;
    let mut xml = quick_xml::Reader::from_reader(&workbook[..]);
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf).ok()? {
            quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e)
                if e.local_name().as_ref() == "sheet" =>
            {
                let mut name = None;
                let mut id = None;
                for a in e.attributes().flatten() {
                    let key = a.key;
                    if key.as_ref() == "name" {
                        name = value(&a);
                    } else if key.local_name().as_ref() == "id" && key.prefix().is_some() {
                        id = value(&a);
                    }
                }
                if name.as_deref() == Some(sheet) {
                    rid = id;
                    break;
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let rid = rid?;
    let mut xml = quick_xml::Reader::from_reader(&rels[..]);
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e)
                if e.local_name().as_ref() == "Relationship" =>
            {
                let mut id = None;
                let mut target = None;
                for a in e.attributes().flatten() {
                    match a.key.as_ref() {
                        "Id" => id = value(&a),
                        "Target" => target = value(&a),
                        _ => {}
                    }
                }
                if id.as_deref() == Some(rid.as_str()) {
                    let t = target?;
                    return Some(match t.strip_prefix('/') {
                        Some(abs) => abs.to_string(),
                        None => format!("xl/{t}"),
                    });
                }
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// `B3` as 0-based (row, column).
fn cell_ref(s: &str) -> Option<(u32, u32)> {
    let s = s.trim_start_matches('$');
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = s.split_at(split);
    let mut col: u32 = 0;
    for c in letters.trim_end_matches('$').chars() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        col = col
            .checked_mul(26)?
            .checked_add(u32::from(c.to_ascii_uppercase() as u8 - b'A' + 1))?;
    }
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col.checked_sub(1)?))
}

/// `A1:B2` (or a single cell) as a region.
fn region(s: &str) -> Option<Dimensions> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    Some(Dimensions {
        start: cell_ref(a)?,
        end: cell_ref(b)?,
    })
}

/// The deepest a worksheet's XML may nest (a real one nests fewer than ten elements:
/// worksheet, sheetData, row, c, is, r, t).
pub(crate) const MAX_DEPTH: i64 = 1000;

/// How `text` changes the nesting depth: opening tags less closing and self-closing ones,
/// counted without a parse. `/>` inside a cell's text makes it an underestimate, never an
/// overestimate: `<` cannot appear unescaped in text or attribute values.
///
/// Every pair of neighbouring bytes is looked at in one branch-free loop that the compiler
/// turns into vector compares on byte counters: a sheet's XML has a `<` every ten bytes or
/// so, and stopping at each (memchr) cost about 90 M instructions of a 100k-row sheet's 19 MB.
fn depth_change(text: &[u8]) -> i64 {
    let Some((&last, head)) = text.split_last() else {
        return 0;
    };
    let mut d = 0i64;
    // Only `</` weighs 2, and the pair after it starts with `/`: 0, or 1 (`/>`) followed by
    // a 0. Pairs weigh at most 1 on average, so 127 of them stay well under a byte's 255.
    const CHUNK: usize = 127;
    for (a, b) in head.chunks(CHUNK).zip(text[1..].chunks(CHUNK)) {
        let (mut opens, mut less) = (0u8, 0u8);
        for (&x, &y) in a.iter().zip(b) {
            let lt = u8::from(x == b'<');
            opens += lt;
            // `</` closes (-1 where `<` alone counted +1); `<?` and `<!` open nothing; `/>`
            // closes what it opened.
            less += (lt & u8::from(y == b'/')) * 2
                + (lt & u8::from((y == b'?') | (y == b'!')))
                + u8::from((x == b'/') & (y == b'>'));
        }
        d += i64::from(opens) - i64::from(less);
    }
    // A `<` as the last byte opens a tag whose next byte is not here.
    d + i64::from(last == b'<')
}

/// Finds every `mergeCell ref="…"` that starts before `limit` in `text`.
fn scan(text: &[u8], limit: usize, out: &mut Vec<Dimensions>) -> Option<()> {
    let finder = memchr::memmem::Finder::new(b"mergeCell ");
    for at in finder.find_iter(text) {
        if at >= limit {
            break;
        }
        let rest = &text[at..];
        let end = memchr::memchr(b'>', rest)?;
        let tag = std::str::from_utf8(&rest[..end]).ok()?;
        let r = tag.split("ref=\"").nth(1)?.split('"').next()?;
        out.push(region(r)?);
    }
    Some(())
}

/// What the scan of a sheet found.
#[derive(Debug, PartialEq)]
pub(crate) enum Scanned {
    /// The merged regions.
    Merges(Vec<Dimensions>),
    /// The file does not look as expected: the caller asks calamine.
    Unknown,
    /// The XML nests deeper than [`MAX_DEPTH`] (this deep, at least).
    TooDeep(i64),
}

/// The merged regions of `sheet` in the xlsx `bytes`, and whether its XML nests too deep.
pub(crate) fn scan_sheet(bytes: &[u8], sheet: &str) -> Scanned {
    match merged_regions(bytes, sheet) {
        Some(Ok(m)) => Scanned::Merges(m),
        Some(Err(depth)) => Scanned::TooDeep(depth),
        None => Scanned::Unknown,
    }
}

fn merged_regions(bytes: &[u8], sheet: &str) -> Option<Result<Vec<Dimensions>, i64>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let entry = sheet_entry(&mut zip, sheet)?;
    let mut f = zip.by_name(&entry).ok()?;
    let mut depth = 0i64;
    let mut from = 0usize;
    let mut out = Vec::new();
    // Chunks overlap by a margin so that a tag cut at a boundary is seen whole once.
    const CHUNK: usize = 256 * 1024;
    const MARGIN: usize = 1024;
    let mut buf = vec![0u8; CHUNK + MARGIN];
    let mut keep = 0;
    loop {
        let n = crate::read::sniff::read_up_to(&mut f, &mut buf[keep..keep + CHUNK]).ok()?;
        let len = keep + n;
        let last = n < CHUNK;
        // Tags starting in the last MARGIN bytes are left for the next round, which sees
        // them whole.
        let upto = if last { len } else { len - MARGIN.min(len) };
        scan(&buf[..len], upto, &mut out)?;
        // The depth is counted up to the last `<` (so that no `</`, `<?` or `/>` is cut);
        // the rest waits for the next round.
        let cut = if last {
            len
        } else {
            memchr::memrchr(b'<', &buf[from..len]).map_or(upto, |i| (from + i).max(upto))
        };
        depth += depth_change(&buf[from..cut]);
        if depth > MAX_DEPTH {
            return Some(Err(depth));
        }
        if last {
            break;
        }
        buf.copy_within(upto..len, 0);
        keep = len - upto;
        from = cut - upto;
    }
    out.sort();
    out.dedup();
    Some(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_opening_closing_and_empty_tags() {
        assert_eq!(depth_change(br#"<?xml v="1"?><a><b/><c r="1">x</c>"#), 1);
        // `/>` in text: under, never over.
        assert_eq!(depth_change(b"<a>x/>"), 0);
        assert_eq!(depth_change(b"<x><x><x>"), 3);
        assert_eq!(depth_change(b"</x></x>"), -2);
        assert_eq!(depth_change(b"<!-- c --><a>"), 1);
        // The heaviest texts, across the loop's chunks.
        assert_eq!(depth_change("</>".repeat(200).as_bytes()), -400);
        assert_eq!(depth_change("</".repeat(300).as_bytes()), -300);
        assert_eq!(depth_change("<a>".repeat(300).as_bytes()), 300);
    }

    proptest::proptest! {
        /// The pairwise count gives what looking at each `<` and each `/>` in turn gives.
        #[test]
        fn depth_is_counted_as_tag_by_tag(text in "[<>/?!a ]{0,400}") {
            let b = text.as_bytes();
            let mut want = 0i64;
            for (i, &c) in b.iter().enumerate() {
                match (c, b.get(i + 1)) {
                    (b'<', Some(b'/')) => want -= 1,
                    (b'<', Some(b'?' | b'!')) => {}
                    (b'<', _) => want += 1,
                    (b'/', Some(b'>')) => want -= 1,
                    _ => {}
                }
            }
            proptest::prop_assert_eq!(depth_change(b), want);
        }
    }

    #[test]
    fn refs() {
        assert_eq!(cell_ref("A1"), Some((0, 0)));
        assert_eq!(cell_ref("AB12"), Some((11, 27)));
        assert_eq!(cell_ref("$C$3"), Some((2, 2)));
        assert_eq!(
            region("A1:H1"),
            Some(Dimensions {
                start: (0, 0),
                end: (0, 7)
            })
        );
        assert_eq!(cell_ref("1A"), None);
    }

    #[test]
    fn finds_the_fixture_merges() {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/export_basic.xlsx");
        let bytes = std::fs::read(p).unwrap();
        let Scanned::Merges(m) = scan_sheet(&bytes, "Daten") else {
            panic!("no merges")
        };
        assert_eq!(m.len(), 3);
        assert!(m.contains(&Dimensions {
            start: (3, 1),
            end: (4, 1)
        }));
        assert_eq!(scan_sheet(&bytes, "Hinweise"), Scanned::Merges(vec![]));
    }
}
