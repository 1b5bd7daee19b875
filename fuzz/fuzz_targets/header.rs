#![no_main]
//! Fuzz target `header`: see `hpk_fuzz::targets::header`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::header(data));
