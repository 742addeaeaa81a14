//! The CSV reader: any bytes as `fuzz.csv` (encoding, delimiter and header detection, rows).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vsimport::fuzzing::read(data, "csv"));
