//! Inputs of the criterion benchmarks in `benches/`: realistic bytes, a
//! realistic manifest, packages built in memory with the workspace test
//! kit. Run them with `cargo bench -p hpk-bench`; see `bench/README.md`.
#![forbid(unsafe_code)]
// Benchmark fixtures: a failure to build one is a bug in the benchmark.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hpk_format::{
    ChunkEntry, Compression, DEFAULT_CHUNK_SIZE, Digest, FileType, Limits, Manifest,
    PayloadDescriptor, PayloadName, SignatureRecord, TrustedKey, encode, parse_chunk_index,
    signed_statement,
};
use hpk_sign::{ChunkingOptions, write_payload};
use hpk_tests::{Keys, PackageSpec, Rng, TestKey, TestPayload};
use hpk_verify::{TrustedRoot, VerifiedHead, VerifiedPackage, verify_head};

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

/// A manifest of a cumulative update with `payloads` payloads (names like
/// `System32/drivers/file0042.sys`), encoded.
pub fn manifest_bytes(payloads: usize) -> Vec<u8> {
    let mut spec = PackageSpec::baseline("bench-cumulative-update");
    let mut manifest: Manifest = spec.manifest.clone();
    for i in 0..payloads {
        let size = 200_000 + 7_919 * i as u64;
        let chunk = u64::from(DEFAULT_CHUNK_SIZE);
        manifest.payloads.push(PayloadDescriptor {
            name: PayloadName::new(&format!("System32/drivers/file{i:04}.sys")).expect("name"),
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
    encode(&spec.manifest, &Limits::default()).expect("encode manifest")
}

/// `n` signature records over a package body by `n` distinct keys, the
/// signed message and the keys as a trust root lists them (with the five
/// keys of the standard test roles too, as a verifier would hold them).
pub fn signed(body: &[u8], n: usize) -> (Vec<SignatureRecord>, Vec<u8>, Vec<TrustedKey>) {
    let signers: Vec<TestKey> = (0..n as u8).map(|i| TestKey::from_seed(100 + i)).collect();
    let records = signers
        .iter()
        .map(|k| k.record(FileType::Package, body))
        .collect();
    let standard = Keys::standard();
    let mut keys: Vec<TrustedKey> = signers.iter().map(TestKey::trusted).collect();
    keys.extend(
        [
            &standard.root,
            &standard.release,
            &standard.hotpatch,
            &standard.recovery,
            &standard.catalog,
        ]
        .iter()
        .map(|k| k.trusted()),
    );
    keys.sort_by_key(TrustedKey::key_id);
    (records, signed_statement(FileType::Package, body), keys)
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
    /// Its verified head.
    pub head: VerifiedHead,
}

impl MemoryPackage {
    /// Builds it.
    pub fn new(len: usize) -> MemoryPackage {
        let keys = Keys::standard();
        let mut payload = TestPayload::new("disk/rootfs.img", binary_like(len));
        payload.options = ChunkingOptions::default();
        let mut spec = PackageSpec::baseline("bench-in-memory");
        spec.payloads = vec![payload];
        let built = spec.build();
        let file = built.file(&[&keys.release]);
        let root = hpk_tests::standard_trusted_root(&keys);
        let index_offset = built.index_offset(1);
        let mut input = file.as_slice();
        let head =
            hpk_format::read_head(&mut input, FileType::Package, &Limits::default()).expect("head");
        let head = verify_head(&head, &root, &Limits::default()).expect("verified head");
        MemoryPackage {
            file,
            root,
            index_offset,
            head,
        }
    }

    /// The package, its head already verified, ready for
    /// `verify_payloads` or `stream`.
    pub fn open(&self) -> VerifiedPackage<&[u8]> {
        VerifiedPackage::from_verified(self.head.clone(), &self.file[self.index_offset..])
    }

    /// Stored bytes of the payload area.
    pub fn stored_len(&self) -> u64 {
        self.head.header.payload_len
    }

    /// Content bytes.
    pub fn content_len(&self) -> u64 {
        self.head.manifest.payloads.iter().map(|p| p.size).sum()
    }
}
