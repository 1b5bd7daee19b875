#![no_main]
//! Fuzz target `catalog`: see `hpk_fuzz::targets::catalog`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::catalog(data));
