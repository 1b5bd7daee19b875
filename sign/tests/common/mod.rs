//! Shared helpers of the `hpk-sign` integration tests: data to put in
//! payloads, independent SHA-256, a sample manifest, folder listings.
//!
//! The workspace test kit (`hpk-tests`) depends on `hpk-sign`, so these
//! tests cannot use it: this file keeps the one small byte generator they
//! share.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    Channel, Manifest, PackageKind, PackageName, PayloadDescriptor, PayloadName, Targets, Token,
};
use sha2::{Digest as _, Sha256};

/// 2026-01-01T00:00:00Z: the time fixtures are created at.
pub const T0: u64 = 1_767_225_600;
/// One day in seconds.
pub const DAY: u64 = 86_400;

/// SHA-256 computed with `sha2` directly, not through `hpk_format::Digest`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// `n` pseudo-random (incompressible) bytes from `seed` (splitmix64).
pub fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// `n` bytes that compress somewhat but not entirely: one in three is
/// random, the others cycle through a few letters.
pub fn mixed_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut out = random_bytes(seed, n);
    for (i, b) in out.iter_mut().enumerate() {
        if i % 3 != 0 {
            *b = b'a' + (i % 7) as u8;
        }
    }
    out
}

/// `n` highly compressible bytes (text-like, repeating with variation).
pub fn compressible_bytes(n: usize) -> Vec<u8> {
    let line = b"hpk payload line: the quick brown fox jumps over the lazy dog 0123456789\n";
    let mut out = Vec::with_capacity(n);
    let mut i = 0u32;
    while out.len() < n {
        out.extend_from_slice(line);
        out.extend_from_slice(format!("{i:08}\n").as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

/// A token, panicking on invalid input.
pub fn tok(s: &str) -> Token {
    Token::new(s).unwrap()
}

/// A payload name, panicking on invalid input.
pub fn pname(s: &str) -> PayloadName {
    PayloadName::new(s).unwrap()
}

/// A manifest of `kind` with these payloads: windows, x64, enterprise,
/// general channel, created at [`T0`], expiring 90 days later.
pub fn manifest(kind: PackageKind, payloads: Vec<PayloadDescriptor>) -> Manifest {
    Manifest {
        name: PackageName::new("contoso-os").unwrap(),
        version: "10.0.26100.1".parse().unwrap(),
        restart_required: !matches!(kind, PackageKind::Hotpatch(_)),
        kind,
        security_version: 10,
        created: T0,
        expires: Some(T0 + 90 * DAY),
        targets: Targets {
            os: tok("windows"),
            architectures: vec![tok("x64")],
            editions: vec![tok("enterprise")],
            channel: Channel::General,
            capabilities: Vec::new(),
        },
        payloads,
        links: Vec::new(),
        folders: Vec::new(),
        extensions: Vec::new(),
    }
}

/// The names of the entries of `dir` (not recursive), sorted.
pub fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
