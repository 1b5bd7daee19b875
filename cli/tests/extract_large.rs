//! `hpk extract` of payloads large enough to be written with direct
//! writes where the file system allows them (from 4 MiB): the files are
//! byte for byte the payloads, whatever their length's alignment, stored
//! raw or compressed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, copy_world, hpk_in};
use std::fs;

const TOML: &str = r#"name = "large-files"
kind = "standard"
version = "1.0.0"
security_version = 1
created = 2026-01-01T00:00:00Z

[targets]
os = "windows"
architectures = ["x64"]

[[payloads]]
name = "raw/odd.bin"
file = "payload/odd.bin"
compression = "none"

[[payloads]]
name = "zstd/text.bin"
file = "payload/text.bin"

[[payloads]]
name = "zstd/aligned.bin"
file = "payload/aligned.bin"
"#;

#[test]
fn large_payloads_are_extracted_byte_for_byte() {
    let dir = copy_world("extract-large");
    let d = dir.as_path();
    // Not a multiple of 4 KiB; compressible text; an exact multiple.
    let odd = hpk_tests::noise(5_000_003, 41);
    let text: Vec<u8> = (0..)
        .flat_map(|i: u64| format!("entry {i}: {}\n", i * 31 % 977).into_bytes())
        .take(6_300_001)
        .collect();
    let aligned = hpk_tests::noise(4 << 20, 42);
    fs::write(d.join("payload/odd.bin"), &odd).unwrap();
    fs::write(d.join("payload/text.bin"), &text).unwrap();
    fs::write(d.join("payload/aligned.bin"), &aligned).unwrap();
    fs::write(d.join("large.toml"), TOML).unwrap();
    hpk_in(
        d,
        &[
            "pack",
            "large.toml",
            "--out",
            "large.hpk",
            "--key",
            "keys/release.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        d,
        &[
            "extract",
            "large.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
            "--out",
            "out",
        ],
    )
    .ok();
    for (name, bytes) in [
        ("raw/odd.bin", &odd),
        ("zstd/text.bin", &text),
        ("zstd/aligned.bin", &aligned),
    ] {
        let got = fs::read(d.join("out").join(name)).unwrap();
        assert!(
            got == *bytes,
            "{name}: {} bytes, not the payload",
            got.len()
        );
    }
}
