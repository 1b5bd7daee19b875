#![no_main]
//! Fuzz target `extract`: see `hpk_fuzz::targets::extract`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::extract(data));
