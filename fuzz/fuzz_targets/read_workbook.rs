//! The workbook reader: any bytes as an xlsx, ods or xls (the first byte picks which).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((pick, rest)) = data.split_first() else {
        return;
    };
    let ext = ["xlsx", "ods", "xls"][usize::from(*pick) % 3];
    vsimport::fuzzing::read(rest, ext);
});
