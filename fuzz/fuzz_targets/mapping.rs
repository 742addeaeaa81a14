//! The mapping parser and its checks: any text as a mapping file.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        vsimport::fuzzing::mapping(text);
    }
});
