//! Criterion benchmarks of hpk's hot paths:
//!
//! - `chunk/hash_1MiB`: SHA-256 of a 1 MiB stored chunk (`check_chunk`);
//! - `chunk/decode_1MiB_zstd`: digest check and zstd decoding of a 1 MiB
//!   chunk (`ChunkDecoder::decode_to_slice`), and zstd alone for scale;
//! - `manifest/decode_100_payloads`: canonical decoding of a manifest
//!   with 100 payloads;
//! - `signatures/head_N`: `Verifier::package` on the head of a package
//!   whose 100-payload manifest is signed by 1 and 5 keys (threshold 1 and
//!   5): the body hashed, every Ed25519 signature checked, the manifest
//!   decoded (subtract `manifest/decode_100_payloads` for the signatures);
//! - `payload_area/*`: `verify(Depth::Stored)` and `stream` of a 64 MiB
//!   payload held in memory (every core, in order);
//! - `small_files/*`: the same for a package of 2,000 small files (64 B
//!   to 16 KiB: what a folder tree of documentation holds), where the
//!   cost is per payload rather than per byte; and `build_package` of
//!   the same files from a folder on disk (`dir =`), unsigned.
//!
//! `cargo bench -p hpk-bench` (add `-- --quick` for a fast pass).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hpk_bench::{
    MIB, MemoryPackage, binary_like, manifest_bytes, signed_head, small_files, written,
};
use hpk_format::{ChunkDecoder, ChunkEncoding, Limits, Manifest, check_chunk, decode};
use hpk_verify::{Depth, PayloadSink};
use std::hint::black_box;
use std::io;

fn chunk(c: &mut Criterion) {
    let data = binary_like(MIB);
    let (desc, entries, stored) = written(&data);
    let entry = entries[0];
    assert_eq!(
        entry.encoding,
        ChunkEncoding::Zstd,
        "1 MiB of code compresses"
    );
    let raw = binary_like(MIB);

    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("hash_1MiB", |b| {
        b.iter(|| hpk_format::Digest::of(black_box(&raw)))
    });
    g.throughput(Throughput::Bytes(stored.len() as u64));
    g.bench_function("check_chunk_stored", |b| {
        b.iter(|| check_chunk(&desc, 0, &entry, black_box(&stored)).unwrap())
    });
    g.throughput(Throughput::Bytes(MIB as u64));
    let mut decoder = ChunkDecoder::new().unwrap();
    let mut out = vec![0u8; MIB];
    g.bench_function("decode_1MiB_zstd", |b| {
        b.iter(|| {
            decoder
                .decode_to_slice(&desc, 0, &entry, black_box(&stored), &mut out)
                .unwrap()
        })
    });
    let mut zstd = zstd::bulk::Decompressor::new().unwrap();
    g.bench_function("zstd_only_1MiB", |b| {
        b.iter(|| {
            zstd.decompress_to_buffer(black_box(&stored[..]), &mut out[..])
                .unwrap()
        })
    });
    // A delta chunk as relocated code makes it: one add over the whole
    // chunk, its differences zero but for one byte in 150, read from a
    // base in memory.
    let base = binary_like(2 * MIB);
    let (delta_desc, delta_entry, delta_stored) = delta_chunk(&base);
    g.bench_function("decode_1MiB_delta", |b| {
        b.iter(|| {
            decoder
                .decode_to_slice_with_base(
                    &delta_desc,
                    0,
                    &delta_entry,
                    black_box(&delta_stored),
                    &mut out,
                    Some(&base),
                )
                .unwrap()
        })
    });
    g.finish();
}

/// One 1 MiB delta chunk against `base` (SPEC.md D1–D4): a single add
/// op from offset 4096, its differences stored sparsely (mode 1: the
/// zero runs in s1, the nonzero bytes in s2), each stream a zstd frame.
fn delta_chunk(
    base: &[u8],
) -> (
    hpk_format::PayloadDescriptor,
    hpk_format::ChunkEntry,
    Vec<u8>,
) {
    use hpk_format::{put_varint, zigzag};
    let mut ops = Vec::new();
    put_varint(&mut ops, 1);
    ops.push(hpk_format::DELTA_ADD);
    put_varint(&mut ops, MIB as u64);
    put_varint(&mut ops, zigzag(4096));
    let nonzero = (0..MIB).filter(|i| i % 150 == 7).count();
    let mut gaps = Vec::new();
    put_varint(&mut gaps, 7);
    for _ in 1..nonzero {
        put_varint(&mut gaps, 149);
    }
    let starts = vec![32u8; nonzero];
    let frames = [
        zstd::bulk::compress(&ops, 19).unwrap(),
        zstd::bulk::compress(&gaps, 19).unwrap(),
        zstd::bulk::compress(&starts, 19).unwrap(),
        Vec::new(),
        Vec::new(),
    ];
    let mut stored = vec![hpk_format::DELTA_MODE_SPARSE];
    for f in &frames {
        stored.extend_from_slice(&(f.len() as u32).to_le_bytes());
    }
    for f in &frames {
        stored.extend_from_slice(f);
    }
    let desc = hpk_format::PayloadDescriptor {
        name: hpk_format::PayloadName::new("lib.so").unwrap(),
        executable: false,
        compression: hpk_format::Compression::Delta(hpk_format::DeltaBase {
            digest: hpk_format::Digest::of(base),
            size: base.len() as u64,
        }),
        size: MIB as u64,
        stored_size: stored.len() as u64,
        chunk_size: MIB as u32,
        chunk_count: 1,
        index_digest: hpk_format::Digest::default(),
        content_digest: hpk_format::Digest::default(),
    };
    let entry = hpk_format::ChunkEntry {
        stored_len: stored.len() as u32,
        encoding: ChunkEncoding::Delta,
        digest: hpk_format::Digest::of(&stored),
    };
    (desc, entry, stored)
}

fn manifest(c: &mut Criterion) {
    let body = manifest_bytes(100);
    let limits = Limits::default();
    let mut g = c.benchmark_group("manifest");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("decode_100_payloads", |b| {
        b.iter(|| {
            let m: Manifest = decode(black_box(&body), &limits).unwrap();
            m
        })
    });
    g.finish();
}

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("signatures");
    for n in [1usize, 5] {
        let (head, verifier) = signed_head(100, n);
        g.bench_function(format!("head_{n}"), |b| {
            b.iter(|| {
                let package = verifier.package(black_box(&head[..])).unwrap();
                assert_eq!(package.manifest().signers().len(), n);
                package.manifest().digest()
            })
        });
    }
    g.finish();
}

/// Throws content away.
struct Discard;

impl PayloadSink for Discard {
    fn begin(&mut self, _: &hpk_format::PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        black_box(chunk);
        Ok(())
    }
    fn end(&mut self, _: &hpk_format::PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
}

fn payload_area(c: &mut Criterion) {
    let package = MemoryPackage::new(64 * MIB);
    let mut g = c.benchmark_group("payload_area");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(package.stored_len()));
    g.bench_function("verify_stored_64MiB", |b| {
        b.iter_batched(
            || package.open(),
            |p| p.verify(Depth::Stored).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.throughput(Throughput::Bytes(package.content_len()));
    g.bench_function("stream_64MiB", |b| {
        b.iter_batched(
            || package.open(),
            |p| p.stream(&mut Discard, &mut |_| {}).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn many_small_files(c: &mut Criterion) {
    const COUNT: usize = 2000;
    let package = MemoryPackage::small_files(COUNT);
    let mut g = c.benchmark_group("small_files");
    g.sample_size(20);
    g.throughput(Throughput::Elements(COUNT as u64));
    g.bench_function("verify_stored_2000", |b| {
        b.iter_batched(
            || package.open(),
            |p| p.verify(Depth::Stored).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("stream_2000", |b| {
        b.iter_batched(
            || package.open(),
            |p| p.stream(&mut Discard, &mut |_| {}).unwrap(),
            BatchSize::SmallInput,
        )
    });

    let dir = tempfile::tempdir().unwrap();
    for (name, data) in small_files(COUNT) {
        let path = dir.path().join("tree").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    let description = dir.path().join("tree.toml");
    std::fs::write(
        &description,
        "name = \"tree\"\nkind = \"baseline\"\nversion = \"1.0\"\nsecurity_version = 1\n\
         created = 1767225600\n\n[targets]\nos = \"linux\"\narchitectures = [\"x64\"]\n\n\
         [baseline]\nsecurity_floor = 1\n\n[[payloads]]\ndir = \"tree\"\n",
    )
    .unwrap();
    let desc = hpk_sign::PackageDescription::load(&description).unwrap();
    let out = dir.path().join("tree.hpk");
    g.bench_function("pack_2000", |b| {
        b.iter(|| {
            let mut options = hpk_sign::BuildOptions {
                overwrite: true,
                ..hpk_sign::BuildOptions::default()
            };
            hpk_sign::build_package(&desc, dir.path(), &out, &mut options).unwrap()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    chunk,
    manifest,
    signatures,
    payload_area,
    many_small_files
);
criterion_main!(benches);
