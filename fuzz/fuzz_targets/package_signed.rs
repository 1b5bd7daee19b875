#![no_main]
//! Fuzz target `package_signed`: see `hpk_fuzz::targets::package_signed`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::package_signed(data));
