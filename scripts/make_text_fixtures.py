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
