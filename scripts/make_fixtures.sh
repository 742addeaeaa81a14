#!/usr/bin/env bash
# Regenerates tests/data/: workbooks from examples/make_fixtures.rs (rust_xlsxwriter), xls and
# ods copies saved by LibreOffice, and the text fixtures. Needs cargo, python3 and (for the
# xls/ods copies and the encrypted workbook) LibreOffice: apt-get install libreoffice-calc-nogui.
# The generated files are committed; tests do not run this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --example make_fixtures
python3 scripts/make_text_fixtures.py

# The 1904 date system: rust_xlsxwriter writes only 1900 workbooks; flip the flag.
python3 - <<'PY'
import zipfile, shutil
src = "tests/data/dates_1904.xlsx"
tmp = src + ".tmp"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename == "xl/workbook.xml":
            text = data.decode()
            assert "<workbookPr" in text
            text = text.replace("<workbookPr", '<workbookPr date1904="1"', 1)
            data = text.encode()
        zout.writestr(item, data)
shutil.move(tmp, src)
PY

# A truncated workbook: the first 2000 bytes of a real one.
head -c 2000 tests/data/export_basic.xlsx > tests/data/truncated.xlsx

if command -v soffice >/dev/null; then
  out=$(mktemp -d)
  soffice --headless --convert-to xls --outdir "$out" tests/data/export_basic.xlsx >/dev/null
  soffice --headless --convert-to ods --outdir "$out" tests/data/export_basic.xlsx >/dev/null
  cp "$out/export_basic.xls" "$out/export_basic.ods" tests/data/
  rm -rf "$out"
else
  echo "LibreOffice not found: xls, ods and encrypted fixtures not regenerated" >&2
fi
# A password-protected workbook, encrypted as Excel does (Agile encryption), by msoffcrypto-tool.
if python3 -c "import msoffcrypto" 2>/dev/null || pip install --quiet msoffcrypto-tool; then
  python3 -m msoffcrypto -e -p geheim tests/data/multi_sheet.xlsx tests/data/encrypted.xlsx \
    || msoffcrypto-tool -e -p geheim tests/data/multi_sheet.xlsx tests/data/encrypted.xlsx
fi
ls -l tests/data
