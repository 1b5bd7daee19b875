//! Delta and unchanged payloads (SPEC.md, "Delta chunks", D1–D5): valid
//! ones with the device files they need (`base` lines, files in
//! `bases/`), bases that are missing or differ (D5, `policy:missing-base`),
//! descriptors and chunk indexes that break a rule, and delta chunks that
//! break exactly one rule of D1–D4 each.
//!
//! The delta bodies are written by hand here, and the content of every
//! valid one is rebuilt by this file's own decoder ([`rebuild`]), which
//! checks D2–D4 as it goes. Each body is then compressed as the reference
//! writer compresses a chunk (zstd level 19 in one call, through
//! `hpk_sign::write_payload`): a real zstd frame, checked here to be
//! single-segment, without dictionary id, declaring the body's length
//! ([`zstd_frame`]). In the failing vectors every index and chunk digest
//! matches, and `content_digest` is that of the content the ops were
//! meant to make (the nearest valid body's), so that only the rule named
//! fails.

use super::{Case, Check, Gen, noise};
use crate::build::{self, Chunk, RawPayload};
use hpk_format::{
    Compression, DeltaBase, Digest, Limits, MIN_CHUNK_SIZE, Manifest, PackageKind, PayloadName,
    max_delta_body_len, max_delta_ops,
};
use hpk_sign::{ChunkingOptions, write_payload};
use hpk_tests::{PackageSpec, zstd_block, zstd_frame_header};

/// Op kinds (D2).
const COPY: u8 = 0;
const ADD: u8 = 1;
const INSERT: u8 = 2;

/// The chunk size of every payload here.
const CHUNK: u32 = 4096;

/// The name of the payload of every single-payload vector here.
const NAME: &str = "data.bin";

/// One op of a delta body (D2).
#[derive(Clone, Copy)]
struct Op {
    kind: u8,
    reserved: [u8; 3],
    len: u32,
    seek: i64,
}

fn op(kind: u8, len: u32, seek: i64) -> Op {
    Op {
        kind,
        reserved: [0; 3],
        len,
        seek,
    }
}

/// A delta body (D2): `op_count` (the number of `ops`), the ops, the add
/// bytes, the insert bytes.
fn body(ops: &[Op], adds: &[u8], inserts: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(ops.len())
        .expect("op count")
        .to_le_bytes()
        .to_vec();
    for o in ops {
        out.push(o.kind);
        out.extend_from_slice(&o.reserved);
        out.extend_from_slice(&o.len.to_le_bytes());
        out.extend_from_slice(&o.seek.to_le_bytes());
    }
    out.extend_from_slice(adds);
    out.extend_from_slice(inserts);
    out
}

/// The chunk of `chunk_len` bytes that `ops` (with their add and insert
/// bytes) rebuild from `base`, asserting every rule of D1–D4 on the way:
/// the generator's own decoder, for the valid vectors.
fn rebuild(ops: &[Op], adds: &[u8], inserts: &[u8], base: &[u8], chunk_len: u32) -> Vec<u8> {
    assert!(ops.len() as u64 <= max_delta_ops(chunk_len), "D2 op count");
    let encoded = body(ops, adds, inserts);
    assert!(
        encoded.len() as u64 <= max_delta_body_len(chunk_len),
        "D1 body length"
    );
    let (mut adds, mut inserts) = (adds, inserts);
    let mut cursor: i128 = 0;
    let mut out = Vec::new();
    for o in ops {
        assert!(o.kind <= INSERT, "D2 kind");
        assert_eq!(o.reserved, [0; 3], "D2 reserved bytes");
        assert!(o.len >= 1, "D2 len");
        let len = o.len as usize;
        if o.kind == INSERT {
            assert_eq!(o.seek, 0, "D2 insert seek");
            let (literals, rest) = inserts.split_at(len);
            out.extend_from_slice(literals);
            inserts = rest;
            continue;
        }
        let p = cursor + i128::from(o.seek);
        assert!(p >= 0 && p + len as i128 <= base.len() as i128, "D4");
        let run = &base[p as usize..p as usize + len];
        if o.kind == ADD {
            let (diff, rest) = adds.split_at(len);
            out.extend(run.iter().zip(diff).map(|(b, d)| b.wrapping_add(*d)));
            adds = rest;
        } else {
            out.extend_from_slice(run);
        }
        cursor = p + len as i128;
    }
    assert!(adds.is_empty() && inserts.is_empty(), "D2 trailing bytes");
    assert_eq!(out.len(), chunk_len as usize, "D3");
    out
}

/// `bytes` compressed as the reference writer compresses a chunk: zstd at
/// level 19 in one call, with a window of at least `bytes.len()` (or, for
/// a few bytes zstd cannot make shorter, one Raw block). The
/// frame is checked to follow Z2 (single-segment, no dictionary id, no
/// reserved or unused bit) and to declare `bytes.len()` as its
/// Frame_Content_Size.
fn zstd_frame(bytes: &[u8]) -> Vec<u8> {
    let chunk_size = u32::try_from(bytes.len())
        .expect("small")
        .next_power_of_two()
        .max(MIN_CHUNK_SIZE);
    let mut stored = Vec::new();
    let written = write_payload(
        PayloadName::new("body").expect("name"),
        bytes,
        &mut stored,
        &ChunkingOptions {
            chunk_size,
            compression: Compression::Zstd,
            level: 19,
            threads: 1,
        },
        &Limits::default(),
        &mut |_| {},
    )
    .expect("compress");
    assert_eq!(written.descriptor.chunk_count, 1);
    if written.index[4] == 0 {
        // Too short for zstd to gain (a body of a few ops): the frame zstd
        // makes of such input, one Raw block.
        assert!(
            bytes.len() < 64,
            "zstd did not make {} bytes smaller",
            bytes.len()
        );
        stored = zstd_frame_header(bytes.len() as u64, 0);
        stored.extend(zstd_block(0, bytes.len() as u32, true, bytes));
    }
    assert_eq!(stored[..4], [0x28, 0xB5, 0x2F, 0xFD], "zstd magic");
    let fhd = stored[4];
    assert_eq!(fhd & 0x20, 0x20, "Single_Segment_flag (Z2)");
    assert_eq!(
        fhd & 0x1B,
        0,
        "Unused_bit, Reserved_bit, Dictionary_ID_flag (Z2)"
    );
    let field = &stored[5..];
    let content_size = match fhd >> 6 {
        0 => u64::from(field[0]),
        1 => u64::from(u16::from_le_bytes([field[0], field[1]])) + 256,
        2 => u64::from(u32::from_le_bytes(field[..4].try_into().expect("4"))),
        _ => u64::from_le_bytes(field[..8].try_into().expect("8")),
    };
    assert_eq!(content_size, bytes.len() as u64, "Frame_Content_Size");
    stored
}

/// The compression of a delta payload against `base`.
fn delta_of(base: &[u8]) -> Compression {
    Compression::Delta(DeltaBase {
        digest: Digest::of(base),
        size: base.len() as u64,
    })
}

/// A payload of `content` in 4096-byte chunks, stored as `chunks`.
fn payload(name: &str, compression: Compression, content: &[u8], chunks: &[Chunk]) -> RawPayload {
    build::raw_payload(
        name,
        compression,
        content.len() as u64,
        CHUNK,
        chunks,
        Digest::of(content),
    )
}

/// The manifest of a standard package holding `payloads`, in this order.
fn manifest(payloads: &[&RawPayload]) -> Manifest {
    let mut m = PackageSpec::new("delta-chunks", PackageKind::Standard)
        .manifest
        .clone();
    m.payloads = payloads.iter().map(|p| p.descriptor.clone()).collect();
    m
}

/// A standard package holding `payloads` (in name order), signed by the
/// release key; its manifest encoded without checks.
fn package(g: &Gen, payloads: &[&RawPayload]) -> Vec<u8> {
    let m = manifest(payloads);
    let index: Vec<u8> = payloads.iter().flat_map(|p| p.index.clone()).collect();
    let stored: Vec<u8> = payloads.iter().flat_map(|p| p.stored.clone()).collect();
    build::package(&[&g.keys.release], &build::wire(&m), &index, &stored)
}

/// A valid vector of `payloads`, whose manifest must also pass the
/// checked encoder, with the device files `bases` (payload name, SHA-256).
fn valid(
    g: &mut Gen,
    name: &str,
    description: &str,
    payloads: &[&RawPayload],
    bases: &[(&str, Digest)],
) {
    let m = manifest(payloads);
    build::encode_valid(&m);
    let mut case = Case::package(name, description, package(g, payloads)).payloads(&m);
    for (payload, digest) in bases {
        case = case.base(payload, *digest);
    }
    g.add(case);
}

/// `len` bytes of text, for insert bytes and compressible chunks.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < len {
        out.extend_from_slice(format!("line {i:04}: an hpk delta test vector\n").as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// `len` difference bytes, zero but every `every`-th (at `at` into each
/// run of `every`), which counts up from 1.
fn diffs(len: usize, every: usize, at: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            if i % every == at {
                (i / every % 255 + 1) as u8
            } else {
                0
            }
        })
        .collect()
}

pub fn add(g: &mut Gen) {
    // The base of most vectors: 6144 incompressible bytes.
    let base = noise(6144, 0xD1);
    let base_digest = g.base_file(&base);

    // Copy, insert, add (with a negative seek), copy.
    let ops = [
        op(COPY, 2000, 1000),
        op(INSERT, 96, 0),
        op(ADD, 1500, -2900),
        op(COPY, 500, 4000),
    ];
    let (adds, inserts) = (diffs(1500, 50, 7), text(96));
    let content = rebuild(&ops, &adds, &inserts, &base, CHUNK);
    let good_body = body(&ops, &adds, &inserts);
    let frame = zstd_frame(&good_body);
    let copy_add_insert = payload(NAME, delta_of(&base), &content, &[Chunk::delta(&frame)]);
    valid(
        g,
        "valid-delta-copy-add-insert",
        "A Delta payload of one 4096-byte chunk rebuilt from its 6144-byte base by a delta chunk of four ops: copy base[1000..3000), insert 96 bytes, add 1500 difference bytes to base[100..1600) (seek -2900 from the cursor at 3000), copy base[5600..6100) (D1-D4).",
        &[&copy_add_insert],
        &[(NAME, base_digest)],
    );
    let delta_file = package(g, &[&copy_add_insert]);
    let readme = b"A payload stored whole, before a delta payload.\n".to_vec();
    let readme = payload("a.txt", Compression::None, &readme, &[Chunk::raw(&readme)]);
    valid(
        g,
        "valid-delta-after-full-payload",
        "A raw payload a.txt, which needs no base, then the Delta payload data.bin of valid-delta-copy-add-insert: bases go by payload name, and only data.bin has one.",
        &[&readme, &copy_add_insert],
        &[(NAME, base_digest)],
    );

    // Delta, zstd and raw chunks in one Delta payload.
    let ops0 = [op(COPY, 1024, 512), op(ADD, 3072, 0)];
    let adds0 = diffs(3072, 64, 0);
    let chunk0 = rebuild(&ops0, &adds0, &[], &base, CHUNK);
    let chunk1 = text(4096);
    let chunk2 = noise(1000, 0xD2);
    let content = [chunk0.as_slice(), &chunk1, &chunk2].concat();
    let p = payload(
        NAME,
        delta_of(&base),
        &content,
        &[
            Chunk::delta(&zstd_frame(&body(&ops0, &adds0, &[]))),
            Chunk::zstd(&zstd_frame(&chunk1)),
            Chunk::raw(&chunk2),
        ],
    );
    valid(
        g,
        "valid-delta-mixed-chunks",
        "A Delta payload of 9192 bytes in three chunks: chunk 0 a delta chunk (copy base[512..1536), add to base[1536..4608)), chunk 1 a zstd chunk, chunk 2 (1000 bytes) raw; only the delta chunk reads the base.",
        &[&p],
        &[(NAME, base_digest)],
    );

    // The cursor starts at 0 at each chunk.
    let ops0 = [op(COPY, 4096, 2048)];
    let ops1 = [op(COPY, 4096, 0)];
    let chunk0 = rebuild(&ops0, &[], &[], &base, CHUNK);
    let chunk1 = rebuild(&ops1, &[], &[], &base, CHUNK);
    let content = [chunk0.as_slice(), &chunk1].concat();
    let p = payload(
        NAME,
        delta_of(&base),
        &content,
        &[
            Chunk::delta(&zstd_frame(&body(&ops0, &[], &[]))),
            Chunk::delta(&zstd_frame(&body(&ops1, &[], &[]))),
        ],
    );
    valid(
        g,
        "valid-delta-cursor-per-chunk",
        "A Delta payload of two delta chunks: chunk 0 copies base[2048..6144), up to the base's end; chunk 1 copies with seek 0 from a cursor that starts again at 0, base[0..4096) (D4).",
        &[&p],
        &[(NAME, base_digest)],
    );

    // The most ops and the longest body D1 and D2 allow.
    let mut ops: Vec<Op> = (0..255).map(|_| op(ADD, 16, 0)).collect();
    ops.extend([op(INSERT, 8, 0), op(INSERT, 8, 0)]);
    let (adds, inserts) = (diffs(4080, 97, 3), text(16));
    let longest = body(&ops, &adds, &inserts);
    assert_eq!(ops.len() as u64, max_delta_ops(CHUNK));
    assert_eq!(longest.len() as u64, max_delta_body_len(CHUNK));
    let content = rebuild(&ops, &adds, &inserts, &base, CHUNK);
    let p = payload(
        NAME,
        delta_of(&base),
        &content,
        &[Chunk::delta(&zstd_frame(&longest))],
    );
    valid(
        g,
        "valid-delta-most-ops",
        "A 4096-byte delta chunk of 257 ops (255 adds of 16 bytes, 2 inserts of 8), the most D2 allows (4096/16 + 1); its body is 8212 bytes, the longest D1 allows.",
        &[&p],
        &[(NAME, base_digest)],
    );

    // Unchanged: the content is the device's file.
    let old = noise(5000, 0xD3);
    let old_digest = g.base_file(&old);
    let unchanged = build::raw_payload(
        "lib/old.bin",
        Compression::Unchanged,
        old.len() as u64,
        CHUNK,
        &[],
        old_digest,
    );
    let new = b"A file new in this release, beside an unchanged one.\n".to_vec();
    let new = payload("new.txt", Compression::None, &new, &[Chunk::raw(&new)]);
    valid(
        g,
        "valid-unchanged",
        "An Unchanged payload lib/old.bin of 5000 bytes (no chunk, no stored byte, empty index): its content is the device's file, beside a raw payload new.txt.",
        &[&unchanged, &new],
        &[("lib/old.bin", old_digest)],
    );
    let unchanged_file = package(g, &[&unchanged, &new]);

    // D5: bases missing or different.
    let policy = |name: &str, description: &str, file: &[u8]| {
        Case::package(name, description, file.to_vec())
            .expect("policy:missing-base")
            .check(Check::Extract)
    };
    g.add(policy(
        "policy-delta-missing-base",
        "The package of valid-delta-copy-add-insert on a device without its base: the Delta payload's base is missing (D5).",
        &delta_file,
    ));
    let other = g.base_file(&noise(6144, 0xD4));
    g.add(
        policy(
            "policy-delta-wrong-base",
            "The package of valid-delta-copy-add-insert on a device whose file data.bin has the base's size (6144 bytes) but other bytes: its SHA-256 is not the base's (D5).",
            &delta_file,
        )
        .base(NAME, other),
    );
    let short = g.base_file(&base[..6143]);
    g.add(
        policy(
            "policy-delta-base-wrong-size",
            "The package of valid-delta-copy-add-insert on a device whose file data.bin is the base without its last byte: 6143 bytes, not the base's 6144 (D5).",
            &delta_file,
        )
        .base(NAME, short),
    );
    g.add(policy(
        "policy-unchanged-missing-base",
        "The package of valid-unchanged on a device without the file lib/old.bin: the Unchanged payload's content is missing (D5).",
        &unchanged_file,
    ));
    let other = g.base_file(&noise(5000, 0xD5));
    g.add(
        policy(
            "policy-unchanged-wrong-base",
            "The package of valid-unchanged on a device whose file lib/old.bin has the payload's size (5000 bytes) but other bytes: its SHA-256 is not content_digest (D5).",
            &unchanged_file,
        )
        .base("lib/old.bin", other),
    );

    // Descriptors and chunk indexes.
    let data = noise(4096, 0xD6);
    let mut p = payload(NAME, delta_of(&base), &data, &[Chunk::raw(&data)]);
    let max = Limits::default().max_total_size;
    p.descriptor.compression = Compression::Delta(DeltaBase {
        digest: base_digest,
        size: max + 1,
    });
    g.add(
        Case::package(
            "limit-delta-base-size",
            "A Delta payload (one raw chunk) whose base size, DeltaBase.size, is 64 GiB + 1, over the default max_total_size of 64 GiB (DeltaBase; E5).",
            package(g, &[&p]),
        )
        .expect("limit"),
    );
    let data_digest = g.base_file(&data);
    let mut p = payload(NAME, Compression::None, &data, &[Chunk::raw(&data)]);
    p.descriptor.compression = Compression::Unchanged;
    g.add(
        Case::package(
            "malformed-unchanged-with-chunks",
            "An Unchanged payload that carries one raw chunk of its 4096 bytes (chunk_count 1, stored_size 4096, its index and stored bytes present and matching): an unchanged payload has no chunk, no stored byte and an empty index (E5). The device has the file.",
            package(g, &[&p]),
        )
        .expect("malformed")
        .base(NAME, data_digest),
    );
    let p = build::raw_payload(
        NAME,
        Compression::Zstd,
        4096,
        CHUNK,
        &[Chunk::delta(&frame)],
        copy_add_insert.descriptor.content_digest,
    );
    g.add(
        Case::package(
            "malformed-delta-chunk-in-zstd-payload",
            "The delta chunk of valid-delta-copy-add-insert (index encoding 2) in a payload whose compression is Zstd: a delta chunk is only in a Delta payload (P3).",
            package(g, &[&p]),
        )
        .expect("malformed")
        .check(Check::Full),
    );
    // Encoding 3 where 0, 1 and 2 are all allowed (the older
    // malformed-index-unknown-encoding has one in a payload stored whole).
    let mut c = Chunk::raw(&data);
    c.encoding = 3;
    let p = payload(NAME, delta_of(&base), &data, &[c]);
    g.add(
        Case::package(
            "malformed-delta-index-unknown-encoding",
            "A Delta payload (whose chunks may be raw, zstd or delta) of one raw chunk whose chunk-index entry has encoding 3: encoding is 0, 1 or 2 (P3).",
            package(g, &[&p]),
        )
        .expect("malformed")
        .check(Check::Full)
        .base(NAME, base_digest),
    );
    // A last chunk of 100 bytes stored as a 129-byte frame: a Raw block of
    // a 120-byte body inserting the 100 bytes (a frame zstd would not
    // make, since it is longer than the chunk). Chunk 0 is a zstd chunk,
    // so that the payload's stored size stays below its size.
    let literals = noise(100, 0xD7);
    let ops = [op(INSERT, 100, 0)];
    let insert_body = body(&ops, &[], &literals);
    let last = rebuild(&ops, &[], &literals, &base, 100);
    let mut f = zstd_frame_header(insert_body.len() as u64, 0);
    f.extend(zstd_block(0, insert_body.len() as u32, true, &insert_body));
    assert!(f.len() >= 100);
    let first = text(4096);
    let content = [first.as_slice(), &last].concat();
    let p = payload(
        NAME,
        delta_of(&base),
        &content,
        &[Chunk::zstd(&zstd_frame(&first)), Chunk::delta(&f)],
    );
    assert!(p.descriptor.stored_size < p.descriptor.size);
    g.add(
        Case::package(
            "malformed-delta-chunk-not-smaller",
            &format!(
                "A Delta payload of 4196 bytes whose last chunk, of 100 bytes, is a delta chunk of {} bytes (a valid frame of a 120-byte body inserting the 100 bytes); chunk 0 is a zstd chunk: a delta chunk is 1 to chunk_len - 1 bytes (P3).",
                f.len()
            ),
            package(g, &[&p]),
        )
        .expect("malformed")
        .check(Check::Full)
        .base(NAME, base_digest),
    );

    delta_rules(g, &base, base_digest, &good_body);
}

/// One integrity vector per rule of D1–D4, and the damaged delta of P7:
/// a Delta payload of one 4096-byte chunk against `base`.
fn delta_rules(g: &mut Gen, base: &[u8], base_digest: Digest, good_body: &[u8]) {
    let first = &base[..4096];
    let mut add = |name: &str, description: &str, stored: Vec<u8>, content: &[u8]| {
        assert!(stored.len() < 4096, "{name}: the chunk is not smaller");
        let p = payload(NAME, delta_of(base), content, &[Chunk::delta(&stored)]);
        let file = package(g, &[&p]);
        g.add(
            Case::package(name, description, file)
                .expect("integrity")
                .check(Check::Extract)
                .base(NAME, base_digest),
        );
    };
    let copy = |seek: i64| body(&[op(COPY, 4096, seek)], &[], &[]);

    // D4: base reads.
    add(
        "integrity-delta-read-before-base",
        "A delta chunk whose ops copy base[0..100) then 3996 bytes with seek -101: from position -1, before the base's start (D4).",
        zstd_frame(&body(&[op(COPY, 100, 0), op(COPY, 3996, -101)], &[], &[])),
        &[&first[..100], &first[..3996]].concat(),
    );
    add(
        "integrity-delta-read-past-base",
        "A delta chunk whose one op copies 4096 bytes with seek 2049: base[2049..6145), one byte past the end of the 6144-byte base (D4).",
        zstd_frame(&copy(2049)),
        &base[2048..],
    );
    // D3: output length.
    add(
        "integrity-delta-output-short",
        "A delta chunk whose one op copies 4095 bytes into a 4096-byte chunk: the ops write one byte less than the chunk (D3).",
        zstd_frame(&body(&[op(COPY, 4095, 0)], &[], &[])),
        first,
    );
    add(
        "integrity-delta-output-long",
        "A delta chunk whose one op copies 4097 bytes into a 4096-byte chunk: the ops write one byte more than the chunk (D3).",
        zstd_frame(&body(&[op(COPY, 4097, 0)], &[], &[])),
        first,
    );
    // D2: the body.
    add(
        "integrity-delta-unknown-op-kind",
        "A delta chunk whose one op has kind 3 (len 4096, seek 0): ops are 0 copy, 1 add or 2 insert (D2).",
        zstd_frame(&body(&[op(3, 4096, 0)], &[], &[])),
        first,
    );
    let mut reserved = op(COPY, 4096, 0);
    reserved.reserved = [0, 1, 0];
    add(
        "integrity-delta-op-reserved-byte",
        "A delta chunk whose one op (copy 4096 bytes) has its second reserved byte 1 (D2).",
        zstd_frame(&body(&[reserved], &[], &[])),
        first,
    );
    add(
        "integrity-delta-op-zero-length",
        "A delta chunk of two copies, the first of len 0, the second of 4096 bytes: every op has len at least 1 (D2).",
        zstd_frame(&body(&[op(COPY, 0, 0), op(COPY, 4096, 0)], &[], &[])),
        first,
    );
    let literals = text(96);
    let meant = [&first[..4000], &literals].concat();
    add(
        "integrity-delta-insert-with-seek",
        "A delta chunk that copies base[0..4000) then inserts 96 bytes with seek 1: an insert has seek 0 (D2).",
        zstd_frame(&body(
            &[op(COPY, 4000, 0), op(INSERT, 96, 1)],
            &[],
            &literals,
        )),
        &meant,
    );
    add(
        "integrity-delta-body-short",
        "A delta chunk that copies base[0..4000) then inserts 96 bytes, with only 95 insert bytes after the ops: the body ends inside its data (D2).",
        zstd_frame(&body(
            &[op(COPY, 4000, 0), op(INSERT, 96, 0)],
            &[],
            &literals[..95],
        )),
        &meant,
    );
    // 254 copies of 16 bytes and 4 of 8: 258 ops, writing 4096 bytes.
    let mut many: Vec<Op> = (0..254).map(|_| op(COPY, 16, 0)).collect();
    many.extend((0..4).map(|_| op(COPY, 8, 0)));
    assert_eq!(many.len() as u64, max_delta_ops(CHUNK) + 1);
    add(
        "integrity-delta-too-many-ops",
        "A delta chunk of 258 copies (254 of 16 bytes and 4 of 8) that rebuild base[0..4096): a 4096-byte chunk has at most 4096/16 + 1 = 257 ops (D2).",
        zstd_frame(&body(&many, &[], &[])),
        first,
    );
    let mut trailing = copy(0);
    trailing.push(0);
    add(
        "integrity-delta-trailing-body-byte",
        "A delta chunk whose body (one copy of base[0..4096)) is followed by one zero byte: nothing follows the add and insert bytes (D2).",
        zstd_frame(&trailing),
        first,
    );
    // D1: the frame.
    let bound = max_delta_body_len(CHUNK);
    let mut long = copy(0);
    long.resize(bound as usize + 1, 0);
    add(
        "integrity-delta-body-over-bound",
        &format!(
            "A delta chunk whose frame declares (and decodes to) a body of {} bytes, over the {bound} D1 allows a 4096-byte chunk: refused from the Frame_Content_Size before decompression (D1). The body is a copy of base[0..4096) followed by zero bytes.",
            bound + 1
        ),
        zstd_frame(&long),
        first,
    );
    let small = copy(0);
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0x80, 0x00];
    f.extend_from_slice(&(small.len() as u32).to_le_bytes());
    f.extend(zstd_block(0, small.len() as u32, true, &small));
    add(
        "integrity-delta-frame-not-single-segment",
        "A delta chunk whose frame (a Raw block of a body copying base[0..4096)) has a Window_Descriptor (Window_Size 1024) instead of the Single_Segment_flag (D1, Z2).",
        f,
        first,
    );
    // P7: a valid delta that rebuilds other content.
    // The first add byte: after the op count and the four ops.
    let mut damaged = good_body.to_vec();
    damaged[4 + 16 * 4] ^= 0x01;
    let meant = rebuild_body(good_body, base);
    assert_ne!(rebuild_body(&damaged, base), meant);
    add(
        "integrity-delta-content-mismatch",
        "The body of valid-delta-copy-add-insert with its first add byte changed: every op follows D1-D4, but the rebuilt chunk differs in one byte from the content that content_digest names (P7).",
        zstd_frame(&damaged),
        &meant,
    );
}

/// The 4096-byte chunk that the encoded delta body `encoded` (of valid
/// ops) rebuilds from `base`.
fn rebuild_body(encoded: &[u8], base: &[u8]) -> Vec<u8> {
    let n = u32::from_le_bytes(encoded[..4].try_into().expect("4")) as usize;
    let mut ops = Vec::new();
    for i in 0..n {
        let o = &encoded[4 + 16 * i..4 + 16 * (i + 1)];
        ops.push(Op {
            kind: o[0],
            reserved: [o[1], o[2], o[3]],
            len: u32::from_le_bytes(o[4..8].try_into().expect("4")),
            seek: i64::from_le_bytes(o[8..16].try_into().expect("8")),
        });
    }
    let data = &encoded[4 + 16 * n..];
    let add_len: usize = ops
        .iter()
        .filter(|o| o.kind == ADD)
        .map(|o| o.len as usize)
        .sum();
    rebuild(&ops, &data[..add_len], &data[add_len..], base, CHUNK)
}
