//! The hostile corpus in tests/data/hostile: how each file is made.
//!
//! Files that are small whatever they unpack to (zip containers) are committed; files whose
//! hostility is their plain size (a 20 MB quoted field, a 2 GB sparse file) are made on first
//! use into tests/data/hostile/generated/ (ignored by git). Regenerate the committed ones with
//! `cargo test --release --test it regenerate_hostile_corpus -- --ignored`.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

pub fn dir() -> PathBuf {
    crate::harness::root().join("tests/data/hostile")
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Daten" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
const STRINGS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5" uniqueCount="5"><si><t>Datum</t></si><si><t>Team</t></si><si><t>Kennzahl</t></si><si><t>Ist</t></si><si><t>Soll</t></si></sst>"#;
const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>"#;
const SHEET_TAIL: &str = "</sheetData></worksheet>";

/// A part: its name and its bytes, in pieces (so that a gigabyte is never held at once).
type Part<'a> = (&'a str, Box<dyn Iterator<Item = Vec<u8>> + 'a>);

fn text(s: &str) -> Box<dyn Iterator<Item = Vec<u8>> + '_> {
    Box::new(std::iter::once(s.as_bytes().to_vec()))
}

/// `head`, then `times` MiB of `fill`, then `tail`.
fn padded<'a>(
    head: String,
    fill: u8,
    times: usize,
    tail: &'a str,
) -> Box<dyn Iterator<Item = Vec<u8>> + 'a> {
    Box::new(
        std::iter::once(head.into_bytes())
            .chain(std::iter::repeat_n(vec![fill; 1 << 20], times))
            .chain(std::iter::once(tail.as_bytes().to_vec())),
    )
}

/// A zip of `parts` (deflated at the highest level, fixed timestamps: the same bytes every
/// time).
fn zip_of(parts: Vec<Part<'_>>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        for (name, pieces) in parts {
            let stored = name == "mimetype";
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(if stored {
                    zip::CompressionMethod::Stored
                } else {
                    zip::CompressionMethod::Deflated
                })
                .compression_level(if stored { None } else { Some(9) });
            z.start_file(name, opts).unwrap();
            for p in pieces {
                z.write_all(&p).unwrap();
            }
        }
        z.finish().unwrap();
    }
    out.rewind().unwrap();
    out.into_inner()
}

/// An xlsx with one sheet "Daten" whose header is the German sample's, `sheet` its XML and
/// `strings` its shared strings.
fn xlsx<'a>(
    sheet: Box<dyn Iterator<Item = Vec<u8>> + 'a>,
    strings: Box<dyn Iterator<Item = Vec<u8>> + 'a>,
) -> Vec<u8> {
    zip_of(vec![
        ("[Content_Types].xml", text(CONTENT_TYPES)),
        ("_rels/.rels", text(RELS)),
        ("xl/workbook.xml", text(WORKBOOK)),
        ("xl/_rels/workbook.xml.rels", text(WORKBOOK_RELS)),
        ("xl/sharedStrings.xml", strings),
        ("xl/worksheets/sheet1.xml", sheet),
    ])
}

fn sheet_with(rows: &str) -> Box<dyn Iterator<Item = Vec<u8>> + '_> {
    Box::new(std::iter::once(
        format!("{SHEET_HEAD}{rows}{SHEET_TAIL}").into_bytes(),
    ))
}

/// Sets the uncompressed size that the zip `bytes` declare for `entry` (local header and
/// central directory) to `size`.
fn declare_size(bytes: &mut [u8], entry: &str, size: u32) {
    let name = entry.as_bytes();
    let mut patched = 0;
    for at in 0..bytes.len().saturating_sub(46 + name.len()) {
        let sig = &bytes[at..at + 4];
        let (size_at, name_at) = match sig {
            b"PK\x03\x04" => (at + 22, at + 30),
            b"PK\x01\x02" => (at + 24, at + 46),
            _ => continue,
        };
        if &bytes[name_at..name_at + name.len()] == name {
            bytes[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "{entry}: local header and directory entry");
}

/// The committed files: name and bytes.
pub fn committed() -> Vec<(&'static str, Vec<u8>)> {
    let strings = || text(STRINGS);
    let mut files = Vec::new();
    // A 1.5 KB workbook whose shared strings claim four billion entries (calamine asked for
    // 96 GB at once and aborted).
    files.push((
        "lying_shared_strings.xlsx",
        xlsx(
            sheet_with(""),
            text(r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4000000000" uniqueCount="4000000000"><si><t>Datum</t></si></sst>"#),
        ),
    ));
    // 2 GB of sheet XML (whitespace between rows) in 2 MB.
    files.push((
        "zip_bomb.xlsx",
        xlsx(
            padded(SHEET_HEAD.to_string(), b' ', 2048, SHEET_TAIL),
            strings(),
        ),
    ));
    // An OpenDocument spreadsheet whose content.xml unpacks to 1 GB.
    files.push((
        "ods_bomb.ods",
        zip_of(vec![
            ("mimetype", text("application/vnd.oasis.opendocument.spreadsheet")),
            (
                "META-INF/manifest.xml",
                text(r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#),
            ),
            (
                "content.xml",
                padded(
                    r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Daten"><table:table-row><table:table-cell office:value-type="string"><text:p>Datum</text:p></table:table-cell></table:table-row>"#.to_string(),
                    b' ',
                    1024,
                    "</table:table></office:spreadsheet></office:body></office:document-content>",
                ),
            ),
        ]),
    ));
    // One row holding one cell of a billion characters (under the 1 GiB part limit: the
    // packing ratio refuses it).
    files.push((
        "one_gb_row.xlsx",
        xlsx(
            Box::new(
                std::iter::once(
                    format!(r#"{SHEET_HEAD}<row r="2"><c r="A2" t="inlineStr"><is><t>"#)
                        .into_bytes(),
                )
                .chain(std::iter::repeat_n(vec![b'x'; 1_000_000], 1000))
                .chain(std::iter::once(
                    format!("</t></is></c></row>{SHEET_TAIL}").into_bytes(),
                )),
            ),
            strings(),
        ),
    ));
    // A sheet that declares 1,000 bytes and inflates to 1 GiB.
    let mut lying = xlsx(
        padded(SHEET_HEAD.to_string(), b' ', 1024, SHEET_TAIL),
        strings(),
    );
    declare_size(&mut lying, "xl/worksheets/sheet1.xml", 1000);
    files.push(("lying_size_bomb.xlsx", lying));
    // Two million elements nested in the sheet.
    files.push((
        "nested_xml.xlsx",
        xlsx(
            Box::new(
                std::iter::once(SHEET_HEAD.as_bytes().to_vec())
                    .chain(std::iter::once(b"<x>".repeat(2_000_000)))
                    .chain(std::iter::once(b"</x>".repeat(2_000_000)))
                    .chain(std::iter::once(SHEET_TAIL.as_bytes().to_vec())),
            ),
            strings(),
        ),
    ));
    // A sheet that asks for /etc/passwd through an external entity.
    files.push((
        "xxe.xlsx",
        xlsx(
            text(&format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>{}<row r="2"><c r="A2" t="inlineStr"><is><t>&e;</t></is></c></row>{SHEET_TAIL}"#,
                SHEET_HEAD.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
            )),
            strings(),
        ),
    ));
    // Shared strings with nested entities (a billion "lol"s if expanded).
    let mut laughs = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [<!ENTITY lol0 "lol">"#,
    );
    for i in 1..10 {
        let p = i - 1;
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};\">"
        ));
    }
    laughs.push_str(r#"]><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5" uniqueCount="5"><si><t>&lol9;</t></si><si><t>Team</t></si><si><t>Kennzahl</t></si><si><t>Ist</t></si><si><t>Soll</t></si></sst>"#);
    files.push(("billion_laughs.xlsx", xlsx(sheet_with(""), text(&laughs))));
    // A sheet declaring every cell Excel has.
    files.push((
        "huge_dimension.xlsx",
        xlsx(
            text(
                &SHEET_HEAD
                    .replace(
                        "<sheetData>",
                        r#"<dimension ref="A1:XFD1048576"/><sheetData>"#,
                    )
                    .replace("</row>", &format!("</row>{SHEET_TAIL}")),
            ),
            strings(),
        ),
    ));
    // Sixty good rows, then row 30 again: stored out of order (past the rows searched for the
    // header, so the streamed read meets it after handing rows on).
    let row = |r: u32| {
        format!(
            r#"<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>06.01.2025</t></is></c><c r="B{r}" t="inlineStr"><is><t>Montage Süd</t></is></c><c r="C{r}" t="inlineStr"><is><t>OEE</t></is></c><c r="D{r}"><v>85</v></c><c r="E{r}"><v>90</v></c></row>"#
        )
    };
    let rows: String = (2..=61).chain([30]).map(row).collect();
    files.push(("rows_out_of_order.xlsx", xlsx(sheet_with(&rows), strings())));
    // A cell in column XFE, one past the last a sheet can have.
    files.push((
        "cell_past_last_column.xlsx",
        xlsx(
            sheet_with(r#"<row r="2"><c r="XFE2"><v>1</v></c></row>"#),
            strings(),
        ),
    ));
    // Not a zip at all, under a workbook's name.
    files.push((
        "not_a_zip.xlsx",
        b"Datum;Team\n06.01.2025;Montage\n".to_vec(),
    ));
    // A UTF-8 file (by its byte-order mark) with bytes that are not UTF-8 in every field.
    let mut bad = b"\xEF\xBB\xBFDatum;Team;Kennzahl;Ist;Soll\n".to_vec();
    for _ in 0..3 {
        bad.extend_from_slice(
            b"06.01.2025\xFF;Montage \xC3\x28S\xFCd;OEE\xE2\x82;85,0\xF0\x28\x8C\x28;90\x80\n",
        );
    }
    files.push(("invalid_utf8.csv", bad));
    // A picture under a CSV name.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    files.push(("picture.csv", png));
    files
}

/// The files made on first use (too big to commit as they are): name and how to write it.
/// How a generated file is written.
pub type Make = fn(&Path);

pub fn generated() -> Vec<(&'static str, Make)> {
    fn write(path: &Path, head: &[u8], fill: &[u8], times: usize, tail: &[u8]) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        f.write_all(head).unwrap();
        for _ in 0..times {
            f.write_all(fill).unwrap();
        }
        f.write_all(tail).unwrap();
        f.flush().unwrap();
    }
    const HEADER: &[u8] = b"Datum;Team;Kennzahl;Ist;Soll\n";
    vec![
        // One quoted field opened and never closed, 40 MB long.
        ("endless_quote.csv", |p| {
            write(
                p,
                b"Datum;Team;Kennzahl;Ist;Soll\n06.01.2025;\"",
                b"xxxxxxxxxxxxxxxxxxx\n",
                2_000_000,
                b"",
            )
        }),
        // One field of 100 MB.
        ("huge_field.csv", |p| {
            write(
                p,
                b"Datum;Team;Kennzahl;Ist;Soll\n06.01.2025;Montage S\xC3\xBCd;OEE;",
                &[b'9'; 1 << 20],
                100,
                b";90\n",
            )
        }),
        // 50 MB of commas, no line break.
        ("commas.csv", |p| write(p, b"", &[b','; 1 << 20], 50, b"")),
        // A data row of a million columns.
        ("million_columns.csv", |p| {
            write(p, HEADER, &[b';'; 1000], 1000, b"\n")
        }),
        // A first line of a million delimiters (where the header is looked for).
        ("wide_header.csv", |p| {
            write(p, b"", &[b','; 1_000_000], 1, b"\na,b\n")
        }),
        // Five thousand good rows, then one of a million fields.
        ("late_wide_row.csv", |p| {
            let good = "06.01.2025;Montage Süd;OEE;85,0;90\n".repeat(5000);
            let mut head = HEADER.to_vec();
            head.extend_from_slice(good.as_bytes());
            write(p, &head, &[b';'; 1000], 1000, b"\n")
        }),
        // 2 GB of nothing (sparse), as CSV and as a workbook.
        ("sparse.csv", |p| {
            std::fs::File::create(p).unwrap().set_len(2 << 30).unwrap()
        }),
        ("sparse.xlsx", |p| {
            std::fs::File::create(p).unwrap().set_len(2 << 30).unwrap()
        }),
        // 150,000 rows that are all rejected (past the memory kept for rejected rows).
        ("rejected_rows.csv", |p| {
            write(
                p,
                HEADER,
                "31.02.2025;Montage Süd;OEE;85,0;90\n".as_bytes(),
                150_000,
                b"",
            )
        }),
    ]
}

/// tests/data/hostile/generated/, made once per test process.
pub fn generated_dir() -> PathBuf {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        let d = dir().join("generated");
        std::fs::create_dir_all(&d).unwrap();
        for (name, make) in generated() {
            let p = d.join(name);
            if !p.exists() {
                let tmp = d.join(format!(".{name}.part"));
                make(&tmp);
                std::fs::rename(&tmp, &p).unwrap();
            }
        }
        d
    })
    .clone()
}

#[test]
#[ignore = "writes the committed corpus; run with --release"]
fn regenerate_hostile_corpus() {
    let files = committed();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, committed_names());
    for (name, bytes) in files {
        std::fs::write(dir().join(name), bytes).unwrap();
    }
}

#[test]
fn every_committed_file_is_there() {
    for (name, _) in [("README.md", ())]
        .into_iter()
        .chain(committed_names().into_iter().map(|n| (n, ())))
        .chain(found_by_fuzzing().into_iter().map(|n| (n, ())))
    {
        assert!(
            dir().join(name).is_file(),
            "tests/data/hostile/{name} is missing"
        );
    }
}

/// Inputs the fuzzers found (fuzz/, docs/FUZZING.md), kept as they were found.
pub fn found_by_fuzzing() -> Vec<&'static str> {
    // read_workbook: an xls whose sector chain points past its end; calamine 0.38 panics
    // ("slice index starts at 5632 but ends at 5505", cfb.rs:320).
    // read_workbook: an xls whose sector chain loops; calamine 0.38 appends sectors until
    // memory runs out (2 GB asked for by a 14 KB file).
    // read_workbook: an xls whose DIMENSIONS record declares 23 billion cells; calamine 0.38
    // reserves room for them all when it opens the file (920 GB).
    vec![
        "calamine_cfb_panic.xls",
        "calamine_cfb_loop.xls",
        "calamine_xls_dimensions.xls",
    ]
}

/// The names of the committed files (without making them).
pub fn committed_names() -> Vec<&'static str> {
    vec![
        "lying_shared_strings.xlsx",
        "zip_bomb.xlsx",
        "ods_bomb.ods",
        "one_gb_row.xlsx",
        "lying_size_bomb.xlsx",
        "nested_xml.xlsx",
        "xxe.xlsx",
        "billion_laughs.xlsx",
        "huge_dimension.xlsx",
        "rows_out_of_order.xlsx",
        "cell_past_last_column.xlsx",
        "not_a_zip.xlsx",
        "invalid_utf8.csv",
        "picture.csv",
    ]
}
