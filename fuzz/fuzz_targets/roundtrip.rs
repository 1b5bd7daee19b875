#![no_main]
//! Fuzz target `roundtrip`: see `hpk_fuzz::targets::roundtrip`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::roundtrip(data));
