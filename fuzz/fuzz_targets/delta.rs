#![no_main]
//! Fuzz target `delta`: see `hpk_fuzz::targets::delta`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::delta(data));
