//! Payloads: chunk indexes that break a rule, chunks and indexes that do
//! not match their digests, zstd frames that are bombs or not one frame,
//! content that does not match its digest.

use super::{Case, Check, Gen};
use crate::build::{self, Chunk, RawPayload};
use hpk_format::{Compression, Digest, PackageKind};
use hpk_tests::{PackageSpec, zstd_rle_bomb, zstd_rle_frame};

/// A standard package holding exactly `p`, signed by the release key.
fn package_of(g: &Gen, p: &RawPayload) -> Vec<u8> {
    let mut m = PackageSpec::new("hand-made-chunks", PackageKind::Standard)
        .manifest
        .clone();
    m.payloads = vec![p.descriptor.clone()];
    build::package(&[&g.keys.release], &build::wire(&m), &p.index, &p.stored)
}

/// One 4096-byte chunk of content `A…A`, stored as `chunk`.
fn one_chunk(chunk: Chunk, compression: Compression) -> RawPayload {
    build::raw_payload(
        "data.bin",
        compression,
        4096,
        4096,
        &[chunk],
        Digest::of(&[b'A'; 4096]),
    )
}

pub fn add(g: &mut Gen) {
    let b = g.baseline.clone();
    let good = g.baseline_file();

    let mut file = good.clone();
    let last = file.len() - 1;
    file[last] ^= 0x01;
    g.add(
        Case::package(
            "integrity-chunk-digest-mismatch",
            "The last stored byte of the reference baseline is changed: its chunk no longer matches its digest in the index.",
            file,
        )
        .expect("integrity")
        .check(Check::Full),
    );
    let mut file = good.clone();
    file[b.index_offset(1) + 8] ^= 0x01;
    g.add(
        Case::package(
            "integrity-index-digest-mismatch",
            "A byte of the first chunk-index entry's digest is changed: the index no longer matches index_digest.",
            file,
        )
        .expect("integrity")
        .check(Check::Full),
    );

    // A valid hand-made package first, to show the helpers are right.
    let frame = zstd_rle_frame(b'A', &[4096]);
    let p = one_chunk(Chunk::zstd(&frame), Compression::Zstd);
    g.add(
        Case::package(
            "valid-hand-made-rle-frame",
            "A payload of 4096 bytes 'A' stored as one hand-written zstd frame of one RLE block (10 bytes).",
            package_of(g, &p),
        )
        .no_device()
        .payloads(&hpk_format::Manifest {
            payloads: vec![p.descriptor.clone()],
            ..PackageSpec::new("x", PackageKind::Standard).manifest
        }),
    );

    let p = one_chunk(Chunk::zstd(&zstd_rle_bomb(b'A', 8)), Compression::Zstd);
    assert!(p.stored.len() < 64);
    g.add(
        Case::package(
            "integrity-zstd-bomb",
            "A 4096-byte chunk stored as a 38-byte zstd frame that expands to 1 MiB (eight 128 KiB RLE blocks): decompression must stop at 4096 bytes.",
            package_of(g, &p),
        )
        .expect("integrity")
        .check(Check::Extract),
    );
    let mut two = zstd_rle_frame(b'A', &[2048]);
    two.extend(zstd_rle_frame(b'A', &[2048]));
    let p = one_chunk(Chunk::zstd(&two), Compression::Zstd);
    g.add(
        Case::package(
            "integrity-zstd-two-frames",
            "A chunk holding two zstd frames of 2048 bytes each: a zstd chunk is exactly one frame.",
            package_of(g, &p),
        )
        .expect("integrity")
        .check(Check::Extract),
    );
    let p = one_chunk(
        Chunk::zstd(&zstd_rle_frame(b'A', &[2048])),
        Compression::Zstd,
    );
    g.add(
        Case::package(
            "integrity-zstd-short-output",
            "A 4096-byte chunk whose zstd frame decodes to 2048 bytes only.",
            package_of(g, &p),
        )
        .expect("integrity")
        .check(Check::Extract),
    );
    let mut skippable = vec![0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 0, 0, 0, 0];
    skippable.extend(zstd_rle_frame(b'A', &[4096]));
    let p = one_chunk(Chunk::zstd(&skippable), Compression::Zstd);
    g.add(
        Case::package(
            "integrity-zstd-skippable-frame",
            "A chunk starting with a zstd skippable frame before the real frame: not one standard frame.",
            package_of(g, &p),
        )
        .expect("integrity")
        .check(Check::Extract),
    );
    let mut damaged = zstd_rle_frame(b'A', &[4096]);
    damaged[6] = 0xff;
    damaged[7] = 0xff;
    damaged[8] = 0xff;
    let p = one_chunk(Chunk::zstd(&damaged), Compression::Zstd);
    g.add(
        Case::package(
            "integrity-zstd-damaged-frame",
            "A chunk whose zstd block header is damaged (reserved block type 3).",
            package_of(g, &p),
        )
        .expect("integrity")
        .check(Check::Extract),
    );
    let mut p = one_chunk(Chunk::zstd(&frame), Compression::Zstd);
    p.descriptor.content_digest = Digest::of(&[b'B'; 4096]);
    g.add(
        Case::package(
            "integrity-content-digest-mismatch",
            "Every chunk matches the index, but the content (4096 bytes 'A') does not match content_digest (of 4096 bytes 'B').",
            package_of(g, &p),
        )
        .expect("integrity")
        .check(Check::Extract),
    );
    let data = [b'A'; 4096];
    let p = build::raw_payload(
        "data.bin",
        Compression::Zstd,
        4096,
        4096,
        &[Chunk::raw(&data[..4000])],
        Digest::of(&data),
    );
    g.add(
        Case::package(
            "malformed-index-raw-chunk-length-mismatch",
            "A raw chunk of 4000 bytes where the chunk is 4096 bytes long: a raw chunk holds exactly its length.",
            package_of(g, &p),
        )
        .expect("malformed")
        .check(Check::Full),
    );
    let mut c = Chunk::raw(&data);
    c.reserved = [0, 1, 0];
    let p = one_chunk(c, Compression::None);
    g.add(
        Case::package(
            "malformed-index-reserved-bytes",
            "A chunk-index entry whose reserved byte 6 is 1.",
            package_of(g, &p),
        )
        .expect("malformed")
        .check(Check::Full),
    );
    let mut c = Chunk::raw(&data);
    c.encoding = 2;
    let p = one_chunk(c, Compression::None);
    g.add(
        Case::package(
            "malformed-index-unknown-encoding",
            "A chunk-index entry with encoding 2.",
            package_of(g, &p),
        )
        .expect("malformed")
        .check(Check::Full),
    );
    // Compression None needs stored_size = size: pad the area so that only
    // the encoding is wrong.
    let mut p = one_chunk(Chunk::zstd(&frame), Compression::None);
    p.descriptor.stored_size = 4096;
    p.stored.resize(4096, 0);
    g.add(
        Case::package(
            "malformed-index-zstd-in-uncompressed-payload",
            "A zstd chunk in a payload whose compression is None.",
            package_of(g, &p),
        )
        .expect("malformed")
        .check(Check::Full),
    );
    let mut fat = frame.clone();
    fat.resize(4096, 0);
    let p = one_chunk(Chunk::zstd(&fat), Compression::Zstd);
    g.add(
        Case::package(
            "malformed-index-zstd-not-smaller",
            "A zstd chunk of 4096 stored bytes for a 4096-byte chunk: a zstd chunk must be strictly smaller.",
            package_of(g, &p),
        )
        .expect("malformed")
        .check(Check::Full),
    );
    let mut p = build::raw_payload(
        "data.bin",
        Compression::Zstd,
        8192,
        4096,
        &[Chunk::zstd(&frame), Chunk::zstd(&frame)],
        Digest::of(&[b'A'; 8192]),
    );
    p.descriptor.stored_size = 30;
    p.stored.resize(30, 0);
    g.add(
        Case::package(
            "malformed-index-stored-sum-mismatch",
            "Two zstd chunks of 10 bytes each in a payload declaring 30 stored bytes (the area holds 30).",
            package_of(g, &p),
        )
        .expect("malformed")
        .check(Check::Full),
    );
}
