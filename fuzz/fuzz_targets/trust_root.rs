#![no_main]
//! Fuzz target `trust_root`: see `hpk_fuzz::targets::trust_root`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::trust_root(data));
