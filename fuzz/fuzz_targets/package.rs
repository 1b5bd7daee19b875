#![no_main]
//! Fuzz target `package`: see `hpk_fuzz::targets::package`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::package(data));
