//! Inputs of the criterion benchmarks in `benches/`: realistic bytes, a
//! realistic manifest, packages built in memory with the workspace test
//! kit. Run them with `cargo bench -p hpk-bench`; see `bench/README.md`.
#![forbid(unsafe_code)]
// Benchmark fixtures: a failure to build one is a bug in the benchmark.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hpk_format::{
    ChunkEntry, Compression, DEFAULT_CHUNK_SIZE, Digest, FileType, Header, Limits, Manifest,
    PayloadDescriptor, PayloadName, Roles, encode, encode_head, parse_chunk_index,
};
use hpk_sign::{ChunkingOptions, write_payload};
use hpk_tests::{DAY, Keys, PackageSpec, Rng, T0, TestKey, TestPayload};
use hpk_verify::{Clock, Judged, Package, TrustedRoot, Verified, Verifier};

/// One MiB.
pub const MIB: usize = 1024 * 1024;

/// `len` bytes that look like what update packages carry: machine code
/// (this program's own executable, repeated) with a little noise, so that
/// zstd finds what it finds in real binaries.
pub fn binary_like(len: usize) -> Vec<u8> {
    let exe = std::env::current_exe()
        .and_then(std::fs::read)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(len);
    let mut rng = Rng::new(1);
    while out.len() < len {
        if exe.is_empty() {
            let x = rng.next_u64();
            out.push(if x.is_multiple_of(3) {
                (x >> 40) as u8
            } else {
                b'A' + (x % 7) as u8
            });
        } else {
            let take = (len - out.len()).min(exe.len());
            out.extend_from_slice(&exe[..take]);
        }
    }
    out
}

/// A payload written with the default options (1 MiB chunks, zstd level
/// 3): its descriptor, parsed chunk index and stored bytes.
pub fn written(data: &[u8]) -> (PayloadDescriptor, Vec<ChunkEntry>, Vec<u8>) {
    let mut stored = Vec::new();
    let w = write_payload(
        PayloadName::new("System32/payload.bin").expect("name"),
        data,
        &mut stored,
        &ChunkingOptions::default(),
        &Limits::default(),
        &mut |_| {},
    )
    .expect("write payload");
    let entries = parse_chunk_index(&w.index, &w.descriptor).expect("index");
    (w.descriptor, entries, stored)
}

/// `count` small files as a folder tree holds them: names spread over
/// 100 folders, 64 B to 16 KiB of text-like bytes each (sizes spread
/// evenly on a log scale), deterministic.
pub fn small_files(count: usize) -> Vec<(String, Vec<u8>)> {
    let text = b"Permission is hereby granted, free of charge, to any person obtaining a copy \
of this software and associated documentation files, to deal in the Software without \
restriction, including without limitation the rights to use, copy, modify, merge. ";
    let mut rng = Rng::new(7);
    (0..count)
        .map(|i| {
            let bits = 6 + (rng.next_u64() % 9) as u32;
            let len = (1usize << bits) + (rng.next_u64() % (1 << bits)) as usize;
            let start = (rng.next_u64() as usize) % text.len();
            let data = text
                .iter()
                .cycle()
                .skip(start)
                .take(len.min(16 << 10))
                .copied()
                .collect();
            (format!("usr/share/doc/d{:02}/f{i:05}.txt", i % 100), data)
        })
        .collect()
}

/// A manifest of a cumulative update with `payloads` payloads (names like
/// `System32/drivers/file0042.sys`), encoded.
pub fn manifest_bytes(payloads: usize) -> Vec<u8> {
    encode(&manifest(payloads), &Limits::default()).expect("encode manifest")
}

/// The manifest [`manifest_bytes`] encodes.
fn manifest(payloads: usize) -> Manifest {
    let mut spec = PackageSpec::baseline("bench-cumulative-update");
    let mut manifest: Manifest = spec.manifest.clone();
    for i in 0..payloads {
        let size = 200_000 + 7_919 * i as u64;
        let chunk = u64::from(DEFAULT_CHUNK_SIZE);
        manifest.payloads.push(PayloadDescriptor {
            name: PayloadName::new(&format!("System32/drivers/file{i:04}.sys")).expect("name"),
            executable: false,
            compression: Compression::Zstd,
            size,
            stored_size: size / 3,
            chunk_size: DEFAULT_CHUNK_SIZE,
            chunk_count: size.div_ceil(chunk),
            index_digest: Digest::of(&i.to_le_bytes()),
            content_digest: Digest::of(&(i + 1).to_le_bytes()),
        });
    }
    spec.manifest = manifest;
    spec.manifest
}

/// The head (header, signature records, body) of a package whose manifest
/// is [`manifest_bytes`]`(payloads)`, signed by `n` distinct keys, and a
/// verifier whose release role is exactly those keys with a threshold of
/// `n` (its trust root lists the five keys of the standard test roles too,
/// as a verifier would hold them). `Verifier::package` on the head checks
/// every signature and decodes the manifest, and reads nothing after it.
pub fn signed_head(payloads: usize, n: usize) -> (Vec<u8>, Verifier) {
    let manifest = manifest(payloads);
    let body = encode(&manifest, &Limits::default()).expect("encode manifest");
    let signers: Vec<TestKey> = (0..n as u8).map(|i| TestKey::from_seed(100 + i)).collect();
    let records: Vec<_> = signers
        .iter()
        .map(|k| k.record(FileType::Package, &body))
        .collect();
    let head = encode_head(
        FileType::Package,
        &records,
        &body,
        manifest.index_section_len().expect("index length"),
        manifest.payload_section_len().expect("payload length"),
    )
    .expect("encode head");
    let standard = Keys::standard();
    let mut listed: Vec<&TestKey> = signers.iter().collect();
    listed.extend([
        &standard.root,
        &standard.release,
        &standard.hotpatch,
        &standard.recovery,
        &standard.catalog,
    ]);
    let root = hpk_tests::trust_root(
        1,
        T0 + 365 * DAY,
        Roles {
            root: hpk_tests::role(1, &[&standard.root]),
            release: Some(hpk_tests::role(
                n as u32,
                &signers.iter().collect::<Vec<_>>(),
            )),
            hotpatch: Some(hpk_tests::role(1, &[&standard.hotpatch])),
            recovery: Some(hpk_tests::role(1, &[&standard.recovery])),
            catalog: Some(hpk_tests::role(1, &[&standard.catalog])),
        },
        &listed,
    );
    let clock = Clock::Trusted(T0 + DAY);
    let root = TrustedRoot::load(
        &hpk_tests::root_file(&root, &[&standard.root]),
        clock,
        &Limits::default(),
    )
    .expect("trust root");
    (head, Verifier::new(root).clock(clock))
}

/// A signed package held in memory with one payload of `len` bytes in
/// 1 MiB zstd chunks, and the trust root that verifies it.
pub struct MemoryPackage {
    /// The package file.
    pub file: Vec<u8>,
    /// Its trust root.
    pub root: TrustedRoot,
    /// Where the chunk indexes start.
    pub index_offset: usize,
    /// Its fixed header.
    pub header: Header,
    /// Its manifest, as verified.
    pub manifest: Verified<Manifest>,
    /// A verifier for its root, at a lower bound of 0 on the time (for no
    /// device, only an unknown critical extension is refused).
    verifier: Verifier,
}

impl MemoryPackage {
    /// Builds it.
    pub fn new(len: usize) -> MemoryPackage {
        let mut payload = TestPayload::new("disk/rootfs.img", binary_like(len));
        payload.options = ChunkingOptions::default();
        MemoryPackage::of(vec![payload])
    }

    /// A package of `count` small payloads (a folder tree of small files:
    /// 64 B to 16 KiB of text each, in one chunk each).
    pub fn small_files(count: usize) -> MemoryPackage {
        MemoryPackage::of(
            small_files(count)
                .into_iter()
                .map(|(name, data)| {
                    let mut payload = TestPayload::new(&name, data);
                    payload.options = ChunkingOptions::default();
                    payload
                })
                .collect(),
        )
    }

    fn of(payloads: Vec<TestPayload>) -> MemoryPackage {
        let keys = Keys::standard();
        let mut spec = PackageSpec::baseline("bench-in-memory");
        spec.payloads = payloads;
        let built = spec.build();
        let file = built.file(&[&keys.release]);
        let root = hpk_tests::standard_trusted_root(&keys);
        let index_offset = built.index_offset(1);
        let verifier = Verifier::new(root.clone()).clock(Clock::LowerBound(0));
        let package = verifier.package(file.as_slice()).expect("verified head");
        let header = *package.header();
        let manifest = package.manifest().clone();
        MemoryPackage {
            file,
            root,
            index_offset,
            header,
            manifest,
            verifier,
        }
    }

    /// The package, its head verified and judged for no device, ready for
    /// `verify` or `stream` (positioned at the chunk indexes).
    ///
    /// The head is verified again on each call (its signature and
    /// manifest, well under a millisecond): benchmarks call this in their
    /// untimed setup.
    pub fn open(&self) -> Package<&[u8], Judged> {
        let package = self.verifier.package(self.file.as_slice()).expect("head");
        package.judge_without_device().expect("judged")
    }

    /// Stored bytes of the payload area.
    pub fn stored_len(&self) -> u64 {
        self.header.payload_len
    }

    /// Content bytes.
    pub fn content_len(&self) -> u64 {
        self.manifest.payloads.iter().map(|p| p.size).sum()
    }
}
