//! Delta and unchanged payloads (SPEC.md, "Delta chunks", D1–D5): valid
//! ones with the device files they need (`base` lines, files in
//! `bases/`), bases that are missing or differ (D5, `policy:missing-base`),
//! descriptors and chunk indexes that break a rule, and delta chunks that
//! break exactly one rule of D1–D4 each.
//!
//! The five streams of every delta chunk (ops, s1, s2, s3, ins) are
//! written by hand here, with this file's own varints and sparse form
//! ([`put_varint`], [`sparse`]), and this file's own decoder ([`rebuild`])
//! rebuilds the content of every valid chunk and names the rule each
//! failing one breaks, checking D1–D4 in the order SPEC.md gives them.
//! Each stream is then compressed as the reference writer compresses a
//! chunk (zstd level 19 in one call, through `hpk_sign::write_payload`):
//! a real zstd frame, checked here to be single-segment, without
//! dictionary id or checksum, declaring the stream's length
//! ([`zstd_frame`]). In the failing vectors every index and chunk digest
//! matches, and `content_digest` is that of the content the ops were
//! meant to make (the nearest valid chunk's), so that only the rule named
//! fails. A few rules are implied by others and cannot be broken alone
//! (a len over the chunk also overfills it, D3); their descriptions name
//! the other rule too.

use super::{Case, Check, Gen, noise};
use crate::build::{self, Chunk, RawPayload};
use hpk_format::{
    Compression, DELTA_HEADER_LEN, DeltaBase, Digest, Limits, MIN_CHUNK_SIZE, Manifest,
    PackageKind, PayloadName, max_delta_ops, max_delta_ops_stream_len,
};
use hpk_sign::{ChunkingOptions, write_payload};
use hpk_tests::{PackageSpec, zstd_block, zstd_frame_header};

/// Op kinds (D2).
const COPY: u8 = 0;
const ADD: u8 = 1;
const INSERT: u8 = 2;

/// Modes (D1): dense or sparse add bytes.
const DENSE: u8 = 0;
const SPARSE: u8 = 1;

/// The streams of a delta chunk, in their order (D1).
const OPS: usize = 0;
const S1: usize = 1;
const S2: usize = 2;
const S3: usize = 3;
const INS: usize = 4;

/// The length of a delta chunk's header: the mode and five u32 (D1).
const HEADER: usize = 21;

/// The chunk size of every payload here.
const CHUNK: u32 = 4096;

/// The name of the payload of every single-payload vector here.
const NAME: &str = "data.bin";

/// One op (D2); an insert's seek is not stored.
#[derive(Clone, Copy)]
struct Op {
    kind: u8,
    len: u32,
    seek: i64,
}

fn op(kind: u8, len: u32, seek: i64) -> Op {
    Op { kind, len, seek }
}

/// The most ops of a chunk of `c` bytes (D2): ⌊c / 16⌋ + 1.
fn max_ops(c: u32) -> usize {
    let n = c as usize / 16 + 1;
    assert_eq!(n as u64, max_delta_ops(c), "D2 op count bound");
    n
}

/// `bound_ops` of a chunk of `c` bytes (D1): 10 + 15 × (⌊c / 16⌋ + 1).
fn bound_ops(c: u32) -> usize {
    let n = 10 + 15 * max_ops(c);
    assert_eq!(n as u64, max_delta_ops_stream_len(c), "D1 bound_ops");
    n
}

/// Appends `value` as a varint (D2): big-endian base 128, minimal, bit 7
/// set on every byte but the last.
fn put_varint(out: &mut Vec<u8>, value: u64) {
    let mut groups = vec![(value & 0x7f) as u8];
    let mut rest = value >> 7;
    while rest > 0 {
        groups.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.extend(groups.iter().rev());
}

/// The varint of `value` (D2).
fn varint(value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, value);
    out
}

/// A seek as it is stored (D2): 0, −1, 1, −2, … as 0, 1, 2, 3, ….
fn zigzag(seek: i64) -> u64 {
    ((seek << 1) ^ (seek >> 63)) as u64
}

/// The ops stream of `ops` (D2): count, kinds, lens, then the seeks of
/// the copy and add ops.
fn ops_stream(ops: &[Op]) -> Vec<u8> {
    let mut out = varint(ops.len() as u64);
    out.extend(ops.iter().map(|o| o.kind));
    for o in ops {
        put_varint(&mut out, u64::from(o.len));
    }
    for o in ops.iter().filter(|o| o.kind != INSERT) {
        put_varint(&mut out, zigzag(o.seek));
    }
    out
}

/// The sparse form of the add bytes `adds` (D2, mode 1): for each nonzero
/// byte at `q`, the gap `q - pos` in s1, and the byte in s3 if the gap is
/// 0 and `pos > 0` (it continues a run), else in s2; then `pos = q + 1`.
fn sparse(adds: &[u8]) -> [Vec<u8>; 3] {
    let (mut s1, mut s2, mut s3) = (Vec::new(), Vec::new(), Vec::new());
    let mut pos = 0usize;
    for (q, &byte) in adds.iter().enumerate() {
        if byte == 0 {
            continue;
        }
        let gap = q - pos;
        put_varint(&mut s1, gap as u64);
        if gap == 0 && pos > 0 {
            s3.push(byte);
        } else {
            s2.push(byte);
        }
        pos = q + 1;
    }
    [s1, s2, s3]
}

/// The mode and the five streams of a delta chunk, uncompressed; an
/// empty stream is an absent one.
#[derive(Clone)]
struct Streams {
    mode: u8,
    s: [Vec<u8>; 5],
}

/// `ops` with their add bytes `adds` and insert bytes `inserts`, the add
/// bytes dense (mode 0).
fn dense(ops: &[Op], adds: &[u8], inserts: &[u8]) -> Streams {
    Streams {
        mode: DENSE,
        s: [
            ops_stream(ops),
            adds.to_vec(),
            Vec::new(),
            Vec::new(),
            inserts.to_vec(),
        ],
    }
}

/// `ops` with their add bytes `adds` and insert bytes `inserts`, the add
/// bytes sparse (mode 1).
fn sparse_streams(ops: &[Op], adds: &[u8], inserts: &[u8]) -> Streams {
    let [s1, s2, s3] = sparse(adds);
    Streams {
        mode: SPARSE,
        s: [ops_stream(ops), s1, s2, s3, inserts.to_vec()],
    }
}

/// Reads one varint of `stream` at `*at` (D2), refusing one that is not
/// minimal, is over 10 bytes or over 2^64 − 1, or runs past the end.
fn read_varint(stream: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    let mut value: u128 = 0;
    let mut n = 0;
    loop {
        let byte = *stream.get(*at + n).ok_or("D2 varint past the end")?;
        if n == 0 && byte == 0x80 {
            return Err("D2 varint not minimal");
        }
        value = (value << 7) | u128::from(byte & 0x7f);
        n += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if n == 10 {
            return Err("D2 varint over 10 bytes");
        }
    }
    let value = u64::try_from(value).map_err(|_| "D2 varint over 2^64 - 1")?;
    *at += n;
    Ok(value)
}

/// The generator's own decoder: the chunk of `c` bytes that `s` rebuilds
/// from `base`, or the first rule of D1–D4 it breaks. (The rules on the
/// stored bytes around the streams, D1's header and frames, are checked
/// where those are made.)
fn rebuild(s: &Streams, base: &[u8], c: u32) -> Result<Vec<u8>, &'static str> {
    // D1: the mode; the ops stream is there, within its bound.
    if s.mode > SPARSE {
        return Err("D1 mode");
    }
    let ops = &s.s[OPS];
    if ops.is_empty() {
        return Err("D1 ops absent");
    }
    if ops.len() > bound_ops(c) {
        return Err("D1 ops over bound");
    }
    // D2: the ops stream.
    let mut at = 0;
    let count = read_varint(ops, &mut at)?;
    if count == 0 || count > max_ops(c) as u64 {
        return Err("D2 op count");
    }
    let count = count as usize;
    let kinds = ops
        .get(at..at + count)
        .ok_or("D2 ops end in kinds")?
        .to_vec();
    at += count;
    let mut list = Vec::new();
    for kind in kinds {
        if kind > INSERT {
            return Err("D2 op kind");
        }
        let len = read_varint(ops, &mut at)?;
        if len == 0 || len > u64::from(c) {
            return Err("D2 op len");
        }
        list.push(op(kind, len as u32, 0));
    }
    for o in list.iter_mut().filter(|o| o.kind != INSERT) {
        // Two's complement: the bits of u as an i64.
        let u = read_varint(ops, &mut at)?;
        o.seek = ((u >> 1) as i64) ^ -((u & 1) as i64);
    }
    if at != ops.len() {
        return Err("D2 bytes after the last seek");
    }
    // D3: the ops write the chunk exactly.
    let total: u64 = list.iter().map(|o| u64::from(o.len)).sum();
    if total != u64::from(c) {
        return Err("D3 output length");
    }
    let sum = |kind: u8| -> usize {
        list.iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.len as usize)
            .sum()
    };
    let (a, i) = (sum(ADD), sum(INSERT));
    // D2: which streams are there, and their sizes.
    if s.s[INS].len() != i {
        return Err(if s.s[INS].is_empty() {
            "D2 ins absent"
        } else if i == 0 {
            "D2 ins present"
        } else {
            "D2 ins size"
        });
    }
    if a == 0 && s.mode != DENSE {
        return Err("D2 mode 1 without add bytes");
    }
    let adds = if s.mode == DENSE {
        if s.s[S1].len() != a {
            return Err("D2 mode 0 s1 size");
        }
        if !s.s[S2].is_empty() || !s.s[S3].is_empty() {
            return Err("D2 mode 0 s2 or s3 present");
        }
        s.s[S1].clone()
    } else {
        let (s1, s2, s3) = (&s.s[S1], &s.s[S2], &s.s[S3]);
        if s1.is_empty() {
            return Err("D2 mode 1 s1 absent");
        }
        if s1.len() > a {
            return Err("D2 mode 1 s1 over A");
        }
        if s2.len() + s3.len() > a {
            return Err("D2 mode 1 s2 and s3 over A");
        }
        let mut d = vec![0u8; a];
        let (mut at, mut next2, mut next3, mut pos) = (0, 0, 0, 0u128);
        while at < s1.len() {
            let gap = read_varint(s1, &mut at)?;
            let q = pos + u128::from(gap);
            if q >= a as u128 {
                return Err("D2 gap past the add bytes");
            }
            let (stream, next, name) = if gap == 0 && pos > 0 {
                (s3, &mut next3, "s3")
            } else {
                (s2, &mut next2, "s2")
            };
            let byte = *stream.get(*next).ok_or(if name == "s2" {
                "D2 s2 runs out"
            } else {
                "D2 s3 runs out"
            })?;
            if byte == 0 {
                return Err(if name == "s2" {
                    "D2 zero byte in s2"
                } else {
                    "D2 zero byte in s3"
                });
            }
            *next += 1;
            d[q as usize] = byte;
            pos = q + 1;
        }
        if next2 != s2.len() || next3 != s3.len() {
            return Err("D2 s2 or s3 bytes left");
        }
        d
    };
    // D4: the base reads, from a cursor that starts at 0.
    let (mut adds, mut inserts) = (adds.as_slice(), s.s[INS].as_slice());
    let mut cursor: i128 = 0;
    let mut out = Vec::new();
    for o in &list {
        let len = o.len as usize;
        if o.kind == INSERT {
            let (literals, rest) = inserts.split_at(len);
            out.extend_from_slice(literals);
            inserts = rest;
            continue;
        }
        let p = cursor + i128::from(o.seek);
        if p < 0 || p + len as i128 > base.len() as i128 {
            return Err("D4 base read");
        }
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
    assert!(adds.is_empty() && inserts.is_empty() && out.len() == c as usize);
    Ok(out)
}

/// The content `s` rebuilds from `base`, which must follow D1–D4.
fn content(s: &Streams, base: &[u8], c: u32) -> Vec<u8> {
    rebuild(s, base, c).unwrap_or_else(|rule| panic!("a valid delta chunk breaks {rule}"))
}

/// Asserts that `s` breaks `rule` first, by this file's decoder.
fn breaks(s: &Streams, base: &[u8], c: u32, rule: &str) {
    assert_eq!(rebuild(s, base, c).err(), Some(rule), "the rule broken");
}

/// `bytes` compressed as the reference writer compresses a chunk: zstd at
/// level 19 in one call, with a window of at least `bytes.len()` (or, for
/// bytes zstd does not make shorter, the frame of one Raw block that zstd
/// makes of them). The frame is checked to follow Z2 (single-segment, no
/// dictionary id, no reserved or unused bit), to have no checksum, and to
/// declare `bytes.len()` as its Frame_Content_Size.
fn zstd_frame(bytes: &[u8]) -> Vec<u8> {
    let chunk_size = u32::try_from(bytes.len())
        .expect("small")
        .next_power_of_two()
        .max(MIN_CHUNK_SIZE);
    let mut stored = Vec::new();
    let written = write_payload(
        PayloadName::new("stream").expect("name"),
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
        stored = raw_frame(bytes);
    }
    assert_eq!(stored[..4], [0x28, 0xB5, 0x2F, 0xFD], "zstd magic");
    let fhd = stored[4];
    assert_eq!(fhd & 0x20, 0x20, "Single_Segment_flag (Z2)");
    assert_eq!(
        fhd & 0x1F,
        0,
        "Unused_bit, Reserved_bit, Content_Checksum_flag, Dictionary_ID_flag"
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

/// A single-segment frame of one Raw block holding `bytes`.
fn raw_frame(bytes: &[u8]) -> Vec<u8> {
    let len = u32::try_from(bytes.len()).expect("small");
    assert!(len <= 128 * 1024, "one block");
    let mut out = zstd_frame_header(u64::from(len), 0);
    out.extend(zstd_block(0, len, true, bytes));
    out
}

/// The stored bytes of a delta chunk of `mode` and `frames` (D1): the
/// header, then the frames.
fn assemble(mode: u8, frames: &[Vec<u8>; 5]) -> Vec<u8> {
    let mut out = vec![mode];
    for f in frames {
        out.extend_from_slice(&u32::try_from(f.len()).expect("small").to_le_bytes());
    }
    assert_eq!(out.len(), HEADER);
    assert_eq!(HEADER, DELTA_HEADER_LEN);
    for f in frames {
        out.extend_from_slice(f);
    }
    out
}

/// The frames of `s`: each stream there compressed by [`zstd_frame`].
fn frames(s: &Streams) -> [Vec<u8>; 5] {
    s.s.clone().map(|stream| {
        if stream.is_empty() {
            Vec::new()
        } else {
            zstd_frame(&stream)
        }
    })
}

/// The stored bytes of `s`.
fn stored(s: &Streams) -> Vec<u8> {
    assemble(s.mode, &frames(s))
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

/// `len` difference bytes as relocated code makes them: zero but for
/// runs of 1 to 3 nonzero bytes every 40 bytes (none in `[600, 1000)`, a
/// zero stretch whose gap needs a 2-byte varint), plus a run of 2 at the
/// start, one across bytes 1499 and 1500, and one at the last byte.
fn relocations(len: usize) -> Vec<u8> {
    let mut d = vec![0u8; len];
    for (k, start) in (40..len).step_by(40).enumerate() {
        if (600..1000).contains(&start) {
            continue;
        }
        for j in 0..k % 3 + 1 {
            if let Some(b) = d.get_mut(start + j) {
                *b = ((k * 37 + j * 11) % 255 + 1) as u8;
            }
        }
    }
    d[0] = 0x05;
    d[1] = 0x01;
    d[1499] = 0x7f;
    d[1500] = 0x80;
    d[len - 1] = 0xff;
    d
}

/// The first `n` (D2 maximum) ops of a 4096-byte chunk, with the longest
/// ops stream the 6144-byte base allows: 30 ops of 128 bytes (2-byte len
/// varints), 29 of 2 bytes and 198 of 1; every eighth an insert, the
/// others alternately copy and add; every seek jumps between
/// `[0, 3028)` and `[3100, 6127)`, so that each is a 2-byte varint.
fn most_ops() -> Vec<Op> {
    let n = max_ops(CHUNK);
    let mut ops = Vec::new();
    let (mut twos, mut cursor, mut far) = (29, 0i64, true);
    for i in 0..n {
        let kind = if i % 8 == 7 {
            INSERT
        } else if i % 2 == 1 {
            ADD
        } else {
            COPY
        };
        let len = if i % 8 == 0 && i < 240 {
            128
        } else if twos > 0 {
            twos -= 1;
            2
        } else {
            1
        };
        let mut seek = 0;
        if kind != INSERT {
            let p = if far {
                3100 + (i as i64 * 29) % 2900
            } else {
                (i as i64 * 13) % 2900
            };
            far = !far;
            seek = p - cursor;
            assert!((128..16384).contains(&zigzag(seek)), "a 2-byte seek");
            cursor = p + i64::from(len);
        }
        ops.push(op(kind, len, seek));
    }
    assert_eq!(ops.iter().map(|o| o.len).sum::<u32>(), CHUNK);
    ops
}

/// The add and insert lengths of `ops`.
fn totals(ops: &[Op]) -> (usize, usize) {
    let sum = |kind: u8| {
        ops.iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.len as usize)
            .sum()
    };
    (sum(ADD), sum(INSERT))
}

pub fn add(g: &mut Gen) {
    // The base of most vectors: 6144 incompressible bytes.
    let base = noise(6144, 0xD1);
    let base_digest = g.base_file(&base);

    // Copy, insert, add (with a negative seek), copy; mode 0.
    let ops = [
        op(COPY, 2000, 1000),
        op(INSERT, 96, 0),
        op(ADD, 1500, -2900),
        op(COPY, 500, 4000),
    ];
    let (adds, inserts) = (diffs(1500, 50, 7), text(96));
    let good = dense(&ops, &adds, &inserts);
    let content_good = content(&good, &base, CHUNK);
    let good_stored = stored(&good);
    let copy_add_insert = payload(
        NAME,
        delta_of(&base),
        &content_good,
        &[Chunk::delta(&good_stored)],
    );
    valid(
        g,
        "valid-delta-copy-add-insert",
        &format!(
            "A Delta payload of one 4096-byte chunk rebuilt from its 6144-byte base by a delta chunk of four ops: copy base[1000..3000), insert 96 bytes, add 1500 difference bytes to base[100..1600) (seek -2900 from the cursor at 3000), copy base[5600..6100). Mode 0: the ops stream ({} bytes), s1 (the 1500 add bytes, zero but every 50th) and ins (the 96 insert bytes), each a zstd frame; s2 and s3 absent (D1-D4).",
            good.s[OPS].len()
        ),
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

    // Mode 1: the add bytes of relocated code, sparse.
    let sparse_ops = [
        op(ADD, 1500, 200),
        op(COPY, 96, 2300),
        op(INSERT, 40, 0),
        op(ADD, 2460, -3900),
    ];
    let (sparse_adds, sparse_inserts) = (relocations(3960), text(40));
    let sparse_good = sparse_streams(&sparse_ops, &sparse_adds, &sparse_inserts);
    let sparse_content = content(&sparse_good, &base, CHUNK);
    let nonzero = sparse_adds.iter().filter(|&&b| b != 0).count();
    let [gaps, starts, continuations] = [S1, S2, S3].map(|i| sparse_good.s[i].len());
    assert!(starts > 0 && continuations > 0 && gaps > nonzero);
    let p = payload(
        NAME,
        delta_of(&base),
        &sparse_content,
        &[Chunk::delta(&stored(&sparse_good))],
    );
    valid(
        g,
        "valid-delta-sparse",
        &format!(
            "A 4096-byte delta chunk in mode 1: add 1500 difference bytes to base[200..1700), copy base[4000..4096) (seek 2300), insert 40 bytes, add 2460 difference bytes to base[196..2656) (seek -3900). Of the 3960 difference bytes, {nonzero} are nonzero, in runs of 1 to 3 (one at byte 0, one across the two add ops at bytes 1499-1500, one at the last byte, none in [600, 1000)): s1 holds their {nonzero} gaps ({gaps} bytes, one a 2-byte varint), s2 the {starts} bytes that start a run and s3 the {continuations} that continue one (D1-D4)."
        ),
        &[&p],
        &[(NAME, base_digest)],
    );

    // Delta, zstd and raw chunks in one Delta payload.
    let ops0 = [op(COPY, 1024, 512), op(ADD, 3072, 0)];
    let s0 = dense(&ops0, &diffs(3072, 64, 0), &[]);
    let chunk0 = content(&s0, &base, CHUNK);
    let chunk1 = text(4096);
    let chunk2 = noise(1000, 0xD2);
    let mixed = [chunk0.as_slice(), &chunk1, &chunk2].concat();
    let p = payload(
        NAME,
        delta_of(&base),
        &mixed,
        &[
            Chunk::delta(&stored(&s0)),
            Chunk::zstd(&zstd_frame(&chunk1)),
            Chunk::raw(&chunk2),
        ],
    );
    valid(
        g,
        "valid-delta-mixed-chunks",
        "A Delta payload of 9192 bytes in three chunks: chunk 0 a delta chunk in mode 0 (copy base[512..1536), add to base[1536..4608)), chunk 1 a zstd chunk, chunk 2 (1000 bytes) raw; only the delta chunk reads the base.",
        &[&p],
        &[(NAME, base_digest)],
    );

    // The cursor starts at 0 at each chunk.
    let c0 = dense(&[op(COPY, 4096, 2048)], &[], &[]);
    let c1 = dense(&[op(COPY, 4096, 0)], &[], &[]);
    let cursor = [content(&c0, &base, CHUNK), content(&c1, &base, CHUNK)].concat();
    let p = payload(
        NAME,
        delta_of(&base),
        &cursor,
        &[Chunk::delta(&stored(&c0)), Chunk::delta(&stored(&c1))],
    );
    valid(
        g,
        "valid-delta-cursor-per-chunk",
        "A Delta payload of two delta chunks, each only an ops stream: chunk 0 copies base[2048..6144), up to the base's end; chunk 1 copies with seek 0 from a cursor that starts again at 0, base[0..4096) (D4).",
        &[&p],
        &[(NAME, base_digest)],
    );

    // The most ops D2 allows, with the longest ops stream this base allows.
    let ops = most_ops();
    let (a, i) = totals(&ops);
    let most = dense(&ops, &diffs(a, 3, 1), &text(i));
    let p = payload(
        NAME,
        delta_of(&base),
        &content(&most, &base, CHUNK),
        &[Chunk::delta(&stored(&most))],
    );
    valid(
        g,
        "valid-delta-most-ops",
        &format!(
            "A 4096-byte delta chunk of 257 ops, the most D2 allows (4096/16 + 1): every eighth an insert (32 inserts, {i} bytes), the others alternately copy and add ({a} add bytes, mode 0); 30 ops of 128 bytes, 29 of 2 and 198 of 1, and every seek jumps between the two halves of the base. Its ops stream is {} bytes (the 2-byte count, 257 kinds, every len of 128 and every seek a 2-byte varint), below bound_ops = 3865 (D1), which leaves room for 4-byte lens and 10-byte seeks that no valid ops stream of a 4096-byte chunk has.",
            most.s[OPS].len()
        ),
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
        &[Chunk::delta(&good_stored)],
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
    // A last chunk of 100 bytes stored as a delta chunk longer than that:
    // one insert of the 100 bytes, its two streams each a frame of one Raw
    // block. Chunk 0 is a zstd chunk, so that the payload's stored size
    // stays below its size.
    let literals = noise(100, 0xD7);
    let insert = dense(&[op(INSERT, 100, 0)], &[], &literals);
    let last = content(&insert, &base, 100);
    let framed = insert.s.clone().map(|s| {
        if s.is_empty() {
            Vec::new()
        } else {
            raw_frame(&s)
        }
    });
    let f = assemble(DENSE, &framed);
    assert!(f.len() >= 100);
    let first = text(4096);
    let two = [first.as_slice(), &last].concat();
    let p = payload(
        NAME,
        delta_of(&base),
        &two,
        &[Chunk::zstd(&zstd_frame(&first)), Chunk::delta(&f)],
    );
    assert!(p.descriptor.stored_size < p.descriptor.size);
    g.add(
        Case::package(
            "malformed-delta-chunk-not-smaller",
            &format!(
                "A Delta payload of 4196 bytes whose last chunk, of 100 bytes, is a delta chunk of {} bytes (valid: the 21-byte header, a {}-byte ops frame of one insert of 100 bytes and a {}-byte ins frame, each one Raw block); chunk 0 is a zstd chunk: a delta chunk is 1 to chunk_len - 1 bytes (P3).",
                f.len(),
                framed[OPS].len(),
                framed[INS].len()
            ),
            package(g, &[&p]),
        )
        .expect("malformed")
        .check(Check::Full)
        .base(NAME, base_digest),
    );

    let valid_chunks = Valid {
        good: &good,
        good_content: &content_good,
        sparse: &sparse_good,
        sparse_content: &sparse_content,
    };
    delta_rules(g, &base, base_digest, &valid_chunks);
}

/// The valid chunks the failing ones are made from, with their content.
struct Valid<'a> {
    /// The chunk of valid-delta-copy-add-insert (mode 0).
    good: &'a Streams,
    good_content: &'a [u8],
    /// The chunk of valid-delta-sparse (mode 1).
    sparse: &'a Streams,
    sparse_content: &'a [u8],
}

/// An ops stream of one copy of 4096 bytes whose seek is stored as
/// `seek`, the bytes given.
fn copy_with_seek_bytes(seek: &[u8]) -> Streams {
    let mut ops = vec![0x01, COPY];
    ops.extend(varint(4096));
    ops.extend_from_slice(seek);
    Streams {
        mode: DENSE,
        s: [ops, Vec::new(), Vec::new(), Vec::new(), Vec::new()],
    }
}

/// Adds the integrity vectors of [`delta_rules`].
struct Rules<'a> {
    g: &'a mut Gen,
    base: &'a [u8],
    digest: Digest,
}

impl Rules<'_> {
    /// A Delta payload of one 4096-byte chunk stored as `stored`, whose
    /// content_digest is that of `content`: `integrity` at extract depth,
    /// with the base on the device.
    fn add(&mut self, name: &str, description: &str, stored: Vec<u8>, content: &[u8]) {
        assert!(stored.len() < 4096, "{name}: the chunk is not smaller");
        let p = payload(NAME, delta_of(self.base), content, &[Chunk::delta(&stored)]);
        let file = package(self.g, &[&p]);
        self.g.add(
            Case::package(name, description, file)
                .expect("integrity")
                .check(Check::Extract)
                .base(NAME, self.digest),
        );
    }

    /// [`Rules::add`] of the chunk of `s`, which this file's decoder finds
    /// breaks `rule` first.
    fn rule(&mut self, name: &str, description: &str, s: &Streams, rule: &str, content: &[u8]) {
        breaks(s, self.base, CHUNK, rule);
        self.add(name, description, stored(s), content);
    }
}

/// One integrity vector per rule of D1–D4, and the damaged delta of P7:
/// a Delta payload of one 4096-byte chunk against `base`.
fn delta_rules(g: &mut Gen, base: &[u8], base_digest: Digest, v: &Valid<'_>) {
    let first = &base[..4096];
    let mut r = Rules {
        g,
        base,
        digest: base_digest,
    };
    let copy = |ops: &[Op]| dense(ops, &[], &[]);
    let good_frames = frames(v.good);

    // D1: the header and the frames.
    let good = assemble(v.good.mode, &good_frames);
    r.add(
        "integrity-delta-header-short",
        "A delta chunk of 20 bytes, the first 20 of the chunk of valid-delta-copy-add-insert: shorter than the 21-byte header, mode u8 and five u32 stream lengths (D1).",
        good[..20].to_vec(),
        v.good_content,
    );
    let mut mode = good.clone();
    mode[0] = 2;
    r.add(
        "integrity-delta-unknown-mode",
        "The chunk of valid-delta-copy-add-insert with mode 2: mode is 0 (dense) or 1 (sparse) (D1).",
        mode,
        v.good_content,
    );
    let mut past = good.clone();
    let len_ins = u32::try_from(good_frames[INS].len()).expect("small") + 1;
    past[17..21].copy_from_slice(&len_ins.to_le_bytes());
    r.add(
        "integrity-delta-lengths-past-end",
        &format!(
            "The chunk of valid-delta-copy-add-insert with len_ins {len_ins}, one more than its ins frame: 21 plus the five stream lengths is one more than stored_len, the stored bytes end inside the last frame (D1)."
        ),
        past,
        v.good_content,
    );
    let mut trailing = good.clone();
    trailing.push(0);
    r.add(
        "integrity-delta-trailing-byte",
        "The chunk of valid-delta-copy-add-insert followed by one zero byte: 21 plus the five stream lengths is one less than stored_len; nothing follows frame_ins (D1).",
        trailing,
        v.good_content,
    );
    let mut no_ops = good_frames.clone();
    no_ops[OPS].clear();
    let mut absent = v.good.clone();
    absent.s[OPS].clear();
    breaks(&absent, base, CHUNK, "D1 ops absent");
    r.add(
        "integrity-delta-ops-absent",
        "The chunk of valid-delta-copy-add-insert without its ops frame (len_ops 0), its s1 and ins frames unchanged: frame_ops MUST be there (D1).",
        assemble(DENSE, &no_ops),
        v.good_content,
    );
    let bound = bound_ops(CHUNK);
    let mut long = copy(&[op(COPY, 4096, 0)]);
    long.s[OPS].resize(bound + 1, 0);
    r.rule(
        "integrity-delta-ops-over-bound",
        &format!(
            "A delta chunk whose ops frame declares (and decodes to) {} bytes, over bound_ops = 10 + 15 x 257 = {bound} for a 4096-byte chunk: refused from the Frame_Content_Size before decompression (D1). The stream is one copy of base[0..4096) ({} bytes) followed by zero bytes, which D2 would also refuse (no valid ops stream of a 4096-byte chunk reaches the bound).",
            bound + 1,
            ops_stream(&[op(COPY, 4096, 0)]).len()
        ),
        &long,
        "D1 ops over bound",
        first,
    );
    let small = ops_stream(&[op(COPY, 4096, 0)]);
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0x80, 0x00];
    f.extend_from_slice(&(small.len() as u32).to_le_bytes());
    f.extend(zstd_block(0, small.len() as u32, true, &small));
    r.add(
        "integrity-delta-frame-not-single-segment",
        "A delta chunk whose ops frame (a Raw block of an ops stream copying base[0..4096)) has a Window_Descriptor (Window_Size 1024) instead of the Single_Segment_flag (D1, Z2).",
        assemble(DENSE, &[f, Vec::new(), Vec::new(), Vec::new(), Vec::new()]),
        first,
    );
    // Mode 1 with the add bytes of valid-delta-copy-add-insert, which are
    // isolated nonzero bytes: s3 is empty, so absent.
    let isolated = {
        let mut s = v.good.clone();
        let [s1, s2, s3] = sparse(&s.s[S1]);
        assert!(s3.is_empty());
        s.mode = SPARSE;
        s.s[S1] = s1;
        s.s[S2] = s2;
        s
    };
    assert_eq!(content(&isolated, base, CHUNK), v.good_content);
    let mut empty = frames(&isolated);
    empty[S3] = zstd_frame_header(0, 0);
    empty[S3].extend(zstd_block(0, 0, true, &[]));
    r.add(
        "integrity-delta-empty-frame",
        &format!(
            "The ops and add bytes of valid-delta-copy-add-insert in mode 1 (s1 the {n} gaps, s2 the {n} nonzero add bytes, none of which continues a run), with a frame for s3 whose Frame_Content_Size is 0 (one empty Raw block): an empty stream has no frame, a frame there has 1 <= L_X (D1).",
            n = isolated.s[S2].len()
        ),
        assemble(SPARSE, &empty),
        v.good_content,
    );
    let framed = frames(v.good);
    let mut short = framed.clone();
    let ins = &v.good.s[INS];
    short[INS] = zstd_frame_header(ins.len() as u64, 0);
    short[INS].extend(zstd_block(
        0,
        ins.len() as u32 - 1,
        true,
        &ins[..ins.len() - 1],
    ));
    r.add(
        "integrity-delta-frame-decodes-short",
        "The chunk of valid-delta-copy-add-insert whose ins frame declares the 96 insert bytes (Frame_Content_Size 96) but holds one Raw block of the first 95: a frame decodes to exactly L_X bytes (D1, Z7).",
        assemble(DENSE, &short),
        v.good_content,
    );

    // D2: varints.
    let s = copy_with_seek_bytes(&[0x80, 0x00]);
    r.rule(
        "integrity-delta-varint-not-minimal",
        "A delta chunk of one copy of 4096 bytes whose seek 0 is the varint 80 00, not minimal (its first byte is 0x80; 0 is the byte 00) (D2).",
        &s,
        "D2 varint not minimal",
        first,
    );
    let mut eleven = vec![0x81];
    eleven.extend([0x80; 9]);
    eleven.push(0x00);
    r.rule(
        "integrity-delta-varint-too-long",
        "A delta chunk of one copy of 4096 bytes whose seek is the 11-byte varint 81 80 80 80 80 80 80 80 80 80 00: longer than 10 bytes (D2). (Its value, 2^70, is also over 2^64 - 1: a minimal varint of 11 bytes always is.)",
        &copy_with_seek_bytes(&eleven),
        "D2 varint over 10 bytes",
        first,
    );
    let mut over = vec![0x82];
    over.extend([0x80; 8]);
    over.push(0x00);
    r.rule(
        "integrity-delta-varint-too-large",
        "A delta chunk of one copy of 4096 bytes whose seek is the 10-byte varint 82 80 80 80 80 80 80 80 80 00: 2^64, over 2^64 - 1 (D2).",
        &copy_with_seek_bytes(&over),
        "D2 varint over 2^64 - 1",
        first,
    );
    // D2: the ops stream.
    let s = Streams {
        mode: DENSE,
        s: [vec![0x00], Vec::new(), Vec::new(), Vec::new(), Vec::new()],
    };
    r.rule(
        "integrity-delta-no-ops",
        "A delta chunk whose ops stream is the one byte 00, op_count 0: 1 <= op_count (D2); so the ops also write nothing of the 4096-byte chunk (D3). content_digest is that of base[0..4096).",
        &s,
        "D2 op count",
        first,
    );
    // 254 copies of 16 bytes and 4 of 8: 258 ops, writing 4096 bytes.
    let mut many: Vec<Op> = (0..254).map(|_| op(COPY, 16, 0)).collect();
    many.extend((0..4).map(|_| op(COPY, 8, 0)));
    assert_eq!(many.len(), max_ops(CHUNK) + 1);
    r.rule(
        "integrity-delta-too-many-ops",
        "A delta chunk of 258 copies (254 of 16 bytes and 4 of 8) that rebuild base[0..4096): a 4096-byte chunk has at most 4096/16 + 1 = 257 ops (D2).",
        &copy(&many),
        "D2 op count",
        first,
    );
    r.rule(
        "integrity-delta-unknown-op-kind",
        "A delta chunk whose one op has kind 3 (len 4096, then a seek 0, as every op not an insert has): kind is 0 copy, 1 add or 2 insert (D2).",
        &copy(&[op(3, 4096, 0)]),
        "D2 op kind",
        first,
    );
    r.rule(
        "integrity-delta-op-zero-length",
        "A delta chunk of two copies, the first of len 0, the second of 4096 bytes (both seek 0): every op has len at least 1 (D2).",
        &copy(&[op(COPY, 0, 0), op(COPY, 4096, 0)]),
        "D2 op len",
        first,
    );
    r.rule(
        "integrity-delta-op-too-long",
        "A delta chunk whose one op copies 4097 bytes into a 4096-byte chunk: len is at most the chunk's length (D2); so the ops also write past the chunk (D3).",
        &copy(&[op(COPY, 4097, 0)]),
        "D2 op len",
        first,
    );
    let mut s = copy(&[op(COPY, 4096, 0)]);
    s.s[OPS].push(0x00);
    r.rule(
        "integrity-delta-ops-trailing-byte",
        "A delta chunk whose ops stream (one copy of base[0..4096)) is followed by one zero byte, the stream 01 00 a0 00 00 00: the stream ends exactly after the last seek (D2).",
        &s,
        "D2 bytes after the last seek",
        first,
    );
    // D2: which streams are there.
    let literals = text(96);
    let meant = [&first[..4000], &literals].concat();
    let insert = dense(&[op(COPY, 4000, 0), op(INSERT, 96, 0)], &[], &literals);
    assert_eq!(content(&insert, base, CHUNK), meant);
    let mut s = copy(&[op(COPY, 4096, 0)]);
    s.s[INS] = text(10);
    r.rule(
        "integrity-delta-ins-unneeded",
        "A delta chunk of one copy of base[0..4096) with an ins frame of 10 bytes: the frame of ins is there only if the ops insert bytes (D2).",
        &s,
        "D2 ins present",
        first,
    );
    let mut s = insert.clone();
    s.s[INS].clear();
    r.rule(
        "integrity-delta-ins-absent",
        "A delta chunk that copies base[0..4000) then inserts 96 bytes, without an ins frame: the frame of ins is there if the ops insert bytes (D2).",
        &s,
        "D2 ins absent",
        &meant,
    );
    let mut s = insert.clone();
    s.s[INS].pop();
    r.rule(
        "integrity-delta-ins-wrong-size",
        "A delta chunk that copies base[0..4000) then inserts 96 bytes, whose ins frame holds (and declares) 95: L_ins is the total length of the inserts, checked from the Frame_Content_Size before decompression (D2).",
        &s,
        "D2 ins size",
        &meant,
    );
    let mut s = v.good.clone();
    s.s[S2] = vec![0x01];
    r.rule(
        "integrity-delta-dense-with-s2",
        "The chunk of valid-delta-copy-add-insert (mode 0) with an s2 frame of one byte 01: in mode 0, frame_s2 and frame_s3 MUST NOT be there (D2).",
        &s,
        "D2 mode 0 s2 or s3 present",
        v.good_content,
    );
    let mut s = v.good.clone();
    s.s[S1].pop();
    r.rule(
        "integrity-delta-dense-wrong-size",
        "The chunk of valid-delta-copy-add-insert (mode 0) whose s1 frame holds (and declares) the first 1499 of its 1500 add bytes: in mode 0, L_s1 is the total length of the adds (D2).",
        &s,
        "D2 mode 0 s1 size",
        v.good_content,
    );
    // D2: mode 1.
    r.rule(
        "integrity-delta-sparse-without-adds",
        "A delta chunk in mode 1 of one copy of base[0..4096), only an ops stream: without add ops, mode is 0 (D2). (Mode 1 also needs an s1 frame of 1 <= L_s1 <= 0 bytes, which cannot be.)",
        &Streams {
            mode: SPARSE,
            ..copy(&[op(COPY, 4096, 0)])
        },
        "D2 mode 1 without add bytes",
        first,
    );
    let zero_adds = Streams {
        mode: SPARSE,
        ..copy(&[op(COPY, 2000, 0), op(ADD, 2096, 0)])
    };
    r.rule(
        "integrity-delta-sparse-s1-absent",
        "A delta chunk in mode 1 that copies base[0..2000) and adds 2096 difference bytes to base[2000..4096), with no s1, s2 or s3 frame (as if the difference bytes were all zero): in mode 1, frame_s1 MUST be there (D2). content_digest is that of base[0..4096).",
        &zero_adds,
        "D2 mode 1 s1 absent",
        first,
    );
    // 96 nonzero add bytes in one run: s1 96 gaps of 0, s2 one byte, s3 95.
    let run: Vec<u8> = (0..96).map(|i| (i * 5 % 255 + 1) as u8).collect();
    let dense_run = sparse_streams(&[op(COPY, 4000, 0), op(ADD, 96, 0)], &run, &[]);
    let run_content = content(&dense_run, base, CHUNK);
    let mut s = dense_run.clone();
    s.s[S3].push(0x2a);
    r.rule(
        "integrity-delta-sparse-too-many-bytes",
        "A delta chunk in mode 1 that copies base[0..4000) and adds 96 nonzero difference bytes to base[4000..4096): s1 96 gaps of 0, s2 the first byte, s3 the other 95 and one more byte 2a, so L_s2 + L_s3 = 97, over A = 96, checked from the frame headers before decompression (D2). (s3 also has that byte left when s1 ends; any L_s2 + L_s3 over A does.)",
        &s,
        "D2 mode 1 s2 and s3 over A",
        &run_content,
    );
    let sparse_desc = "The chunk of valid-delta-sparse (mode 1)";
    // The last gap, one more: the last nonzero byte lands on D[3960].
    let mut at = 0;
    let mut gaps = Vec::new();
    while at < v.sparse.s[S1].len() {
        gaps.push(read_varint(&v.sparse.s[S1], &mut at).expect("gap"));
    }
    let last = gaps.len() - 1;
    gaps[last] += 1;
    let mut s = v.sparse.clone();
    s.s[S1] = gaps.iter().flat_map(|&g| varint(g)).collect();
    r.rule(
        "integrity-delta-sparse-gap-past-end",
        &format!(
            "{sparse_desc} with its last gap in s1 one more ({}): the last nonzero byte would be D[3960], past the 3960 add bytes (q < A, D2).",
            gaps[last]
        ),
        &s,
        "D2 gap past the add bytes",
        v.sparse_content,
    );
    let mut s = v.sparse.clone();
    s.s[S2].pop();
    r.rule(
        "integrity-delta-sparse-s2-runs-out",
        &format!(
            "{sparse_desc} without the last byte of s2 (the last add byte, which starts a run): the last gap of s1 takes a byte of s2, which has run out (D2)."
        ),
        &s,
        "D2 s2 runs out",
        v.sparse_content,
    );
    let mut s = v.sparse.clone();
    s.s[S3].pop();
    r.rule(
        "integrity-delta-sparse-s3-runs-out",
        &format!(
            "{sparse_desc} without the last byte of s3: the last gap of 0 that continues a run takes a byte of s3, which has run out (D2)."
        ),
        &s,
        "D2 s3 runs out",
        v.sparse_content,
    );
    let d = relocations(3960);
    assert_eq!((v.sparse.s[S2][1], v.sparse.s[S3][0]), (d[40], d[1]));
    let mut s = v.sparse.clone();
    s.s[S2][1] = 0;
    r.rule(
        "integrity-delta-sparse-zero-in-s2",
        &format!(
            "{sparse_desc} with the second byte of s2 (difference byte D[40]) set to 00: the bytes of s2 and s3 are nonzero (D2)."
        ),
        &s,
        "D2 zero byte in s2",
        v.sparse_content,
    );
    let mut s = v.sparse.clone();
    s.s[S3][0] = 0;
    r.rule(
        "integrity-delta-sparse-zero-in-s3",
        &format!(
            "{sparse_desc} with the first byte of s3 (difference byte D[1]) set to 00: the bytes of s2 and s3 are nonzero (D2)."
        ),
        &s,
        "D2 zero byte in s3",
        v.sparse_content,
    );
    let mut s = v.sparse.clone();
    s.s[S2].push(0x2a);
    r.rule(
        "integrity-delta-sparse-bytes-left",
        &format!(
            "{sparse_desc} with one more byte, 2a, at the end of s2: when s1 ends, s2 and s3 MUST have been read to their ends (D2)."
        ),
        &s,
        "D2 s2 or s3 bytes left",
        v.sparse_content,
    );
    // D3: output length.
    r.rule(
        "integrity-delta-output-short",
        "A delta chunk whose one op copies 4095 bytes into a 4096-byte chunk: the ops write one byte less than the chunk (D3).",
        &copy(&[op(COPY, 4095, 0)]),
        "D3 output length",
        first,
    );
    r.rule(
        "integrity-delta-output-long",
        "A delta chunk of two copies, base[0..4000) and base[4000..4097), into a 4096-byte chunk: the ops write one byte more than the chunk (D3).",
        &copy(&[op(COPY, 4000, 0), op(COPY, 97, 0)]),
        "D3 output length",
        first,
    );
    // D4: base reads.
    r.rule(
        "integrity-delta-read-before-base",
        "A delta chunk whose ops copy base[0..100) then 3996 bytes with seek -101: from position -1, before the base's start (D4).",
        &copy(&[op(COPY, 100, 0), op(COPY, 3996, -101)]),
        "D4 base read",
        &[&first[..100], &first[..3996]].concat(),
    );
    r.rule(
        "integrity-delta-read-past-base",
        "A delta chunk whose one op copies 4096 bytes with seek 2049: base[2049..6145), one byte past the end of the 6144-byte base (D4).",
        &copy(&[op(COPY, 4096, 2049)]),
        "D4 base read",
        &base[2048..],
    );
    // P7: a valid delta that rebuilds other content.
    let mut damaged = v.good.clone();
    damaged.s[S1][0] ^= 0x01;
    let other = content(&damaged, base, CHUNK);
    assert_eq!(
        other
            .iter()
            .zip(v.good_content)
            .filter(|(a, b)| a != b)
            .count(),
        1
    );
    r.add(
        "integrity-delta-content-mismatch",
        "The chunk of valid-delta-copy-add-insert with its first add byte (the first byte of s1) changed from 00 to 01: every rule of D1-D4 holds, but the rebuilt chunk differs in one byte from the content that content_digest names (P7).",
        stored(&damaged),
        v.good_content,
    );
}
