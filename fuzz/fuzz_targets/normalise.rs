//! The date, time and number normalisers: any text under each setting, with what must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        vsimport::fuzzing::normalise(text);
    }
});
