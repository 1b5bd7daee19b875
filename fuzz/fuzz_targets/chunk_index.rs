#![no_main]
//! Fuzz target `chunk_index`: see `hpk_fuzz::targets::chunk_index`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hpk_fuzz::targets::chunk_index(data));
