#!/usr/bin/env python3
"""Writes the text (CSV) fixtures in tests/data/, each named for what it exercises."""
import pathlib

d = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"
d.mkdir(parents=True, exist_ok=True)

def w(name, data: bytes):
    (d / name).write_bytes(data)

# German Excel: cp1252, semicolons, decimal commas, a title and a blank line above the header,
# CRLF line ends, a row of empty fields, an umlaut in a team name.
w("german_locale.csv", (
    "OEE Bericht Werk 3;;;\r\n"
    "\r\n"
    "Datum;Team;OEE %;Ausschuss\r\n"
    "06.01.2025;Montage Süd;85,5;12\r\n"
    "07.01.2025;Montage Süd;1.234,5;3\r\n"
    ";;;\r\n"
    "08.01.2025;Qualitätssicherung;90;0\r\n"
).encode("cp1252"))

# UTF-8 with a byte-order mark, commas, quoted fields with commas, quotes and a line break.
w("utf8_bom.csv", "\ufeffDate,Team,Comment,Amount\n"
  "2025-01-06,Montage Süd,\"late, then fine\",12\n"
  "2025-01-07,Lager,\"said \"\"ok\"\"\",7\n"
  "2025-01-08,Lager,\"two\nlines\",9\n"
  "2025-01-09,Lager,,10\n".encode("utf-8"))

# Excel's "Unicode text": UTF-16LE with BOM, tab-delimited.
w("utf16le_bom.csv", ("Datum\tTeam\tWert\r\n"
  "06.01.2025\tMontage Süd\t85,5\r\n"
  "07.01.2025\tWärmebehandlung\t80\r\n").encode("utf-16"))

# UTF-16BE with BOM, semicolons.
w("utf16be_bom.csv", b"\xfe\xff" + ("Datum;Team;Wert\n"
  "06.01.2025;Süd;1\n").encode("utf-16-be"))

# Pipe-delimited, trailing empty columns in the header, trailing blank lines.
w("pipe_trailing.csv", b"Date|Team|Amount||\n2025-01-06|Lager|5||\n2025-01-07|Lager|6||\n\n\n")

# Rows with too few and too many fields.
w("ragged.csv", b"Date,Team,Amount\n"
  b"2025-01-06,Lager,5\n"
  b"2025-01-07,Lager\n"
  b"2025-01-08,Lager,5,5\n"
  b"2025-01-09,Lager,6,\n")

# Bytes that are not valid UTF-8 late in an otherwise UTF-8 file (after the 64 KiB sniff).
w("late_bad_bytes.csv", b"Date,Team,Amount\n" + b"2025-01-06,Lager,5\n" * 4000 + b"2025-01-07,L\xe4ger,6\n")

# Only numbers: no header can be found.
w("no_header.csv", b"1,2,3\n4,5,6\n")

# Empty, and only blank lines.
w("empty.csv", b"")
w("blank_lines.csv", b"\n\n  \n")

# Not a spreadsheet: a PNG image with a .csv name, and binary bytes.
w("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
w("binary.csv", bytes([0, 1, 2, 3, 0, 0, 0, 0, 250, 251, 0, 9]) * 20)

# An xlsx name on CSV text.
w("not_a_zip.xlsx", b"Date,Team\n2025-01-06,Lager\n")
print(f"wrote text fixtures in {d}")

# --- Dry-run fixtures (semi-wide unless said otherwise) ---
H = "Date,Team,KPI,Actual,Target\n"
# Slash dates that are all <= 12 in both places: ambiguous.
w("ambiguous_dates.csv", (H +
  "01/02/2025,Montage Süd,OEE,80,90\n"
  "02/02/2025,Montage Süd,OEE,81,90\n"
  "03/02/2025,Montage Süd,OEE,82,90\n").encode())
# The same, with one row that tells: 25/02/2025 is day first.
w("slash_dates_dayfirst_evidence.csv", (H +
  "01/02/2025,Montage Süd,OEE,80,90\n"
  "25/02/2025,Montage Süd,OEE,81,90\n").encode())
# Both orders in one file.
w("slash_dates_inconsistent.csv", (H +
  "01/02/2025,Montage Süd,OEE,80,90\n"
  "25/02/2025,Montage Süd,OEE,81,90\n"
  "02/26/2025,Montage Süd,OEE,82,90\n").encode())
# Time KPI from text: HH:MM, h:mm PM, seconds, minutes, and two bad ones.
w("time_text.csv", (H +
  "2025-01-06,Montage Süd,Shift start,14:43,06:00\n"
  "2025-01-07,Montage Süd,Shift start,2:43 PM,480\n"
  "2025-01-08,Montage Süd,Shift start,14:43:20,06:00\n"
  "2025-01-09,Montage Süd,Shift start,24:10,06:00\n"
  "2025-01-10,Montage Süd,Shift start,soon,06:00\n").encode())
# Weekly and monthly KPIs: dates snap; two rows landing on one record merge or conflict.
w("snapping.csv", (H +
  "2025-01-08,Qualitätssicherung,Customer complaints,2,1\n"
  "2025-01-10,Qualitätssicherung,Customer complaints,2,1\n"
  "2025-03-17,Qualitätssicherung,PPM,120.5,100\n"
  "2025-03-31,Qualitätssicherung,PPM,130.5,100\n").encode())
# Duplicates: the same record twice (merged) and a conflicting third row.
w("dup_keys.csv", (H +
  "2025-01-06,Montage Süd,OEE,80,90\n"
  "2025-01-06,Montage Süd,OEE,80,90\n"
  "2025-01-07,Montage Süd,OEE,70,90\n"
  "2025-01-07,Montage Süd,OEE,75,90\n"
  "2025-01-08,Montage Süd,OEE,60,\n"
  "2025-01-08,Montage Süd,OEE,,95\n").encode())
# Every catalog error, each with a suggestion.
w("catalog_errors.csv", (H +
  "2025-01-06,Montage Sud,OEE,80,90\n"
  "2025-01-06,Montage Süd,OEE rate,80,90\n"
  "2025-01-06,Wareneingang,OEE,80,90\n"
  "2025-01-06,Montage Süd,Downtime by cause,30,\n"
  "2025-01-06,Montage Süd,Output,12.5,10\n"
  "2025-01-06,Montage Süd,Rework,3,4\n").encode())
# Long layout: value names and sub-tiles.
w("long_subtiles.csv", ("Date,Team,KPI,Sub-tile,Value,Amount\n"
  "2025-01-06,Presswerk,Downtime by cause,Mechanical,Actual,30\n"
  "2025-01-06,Presswerk,Downtime by cause,Electrical,Actual,15\n"
  "2025-01-06,Presswerk,Downtime by cause,Hydraulic,Actual,5\n"
  "2025-01-06,Presswerk,OEE,,Actul,80\n"
  "2025-01-06,Presswerk,OEE,,Target,90\n").encode())
# German numbers: thousands, percent, an ambiguous 1.234, a formula-like cell in a bad row.
w("german_numbers.csv", ("Datum;Team;Kennzahl;Ist;Soll\r\n"
  "06.01.2025;Montage Süd;Output;1.234;1.250\r\n"
  "07.01.2025;Montage Süd;OEE;85,5 %;90\r\n"
  "08.01.2025;Montage Süd;Scrap;3 %;2\r\n"
  "09.01.2025;=HYPERLINK(\"x\");OEE;1;2\r\n").encode("cp1252"))
