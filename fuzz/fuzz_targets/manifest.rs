#![no_main]
//! Fuzz target `manifest`: see `hpk_fuzz::targets::manifest`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::manifest(data));
