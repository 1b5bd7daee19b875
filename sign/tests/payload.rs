//! Chunked payloads: `write_payload`, then `parse_chunk_index` and
//! `PayloadReader`, checked against independent computations (SHA-256 via
//! `sha2`, zstd via the `zstd` crate, chunk counts by arithmetic).
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use hpk_format::{
    CHUNK_ENTRY_LEN, ChunkEncoding, Compression, Limits, MIN_CHUNK_SIZE, PackageKind, PayloadError,
    PayloadReader, WriteError, parse_chunk_index,
};
use hpk_sign::{ChunkingOptions, WrittenPayload, write_payload};
use proptest::prelude::*;
use std::io::{self, Read, Write};

const CS: usize = MIN_CHUNK_SIZE as usize;

fn options(compression: Compression, threads: usize) -> ChunkingOptions {
    ChunkingOptions {
        chunk_size: MIN_CHUNK_SIZE,
        compression,
        level: 3,
        threads,
    }
}

/// Writes `data` as a payload; returns what was written and the stored bytes.
fn write(data: &[u8], opts: &ChunkingOptions) -> (WrittenPayload, Vec<u8>) {
    let mut stored = Vec::new();
    let mut last = 0u64;
    let mut calls = 0u64;
    let written = write_payload(
        pname("dir/payload.bin"),
        data,
        &mut stored,
        opts,
        &Limits::default(),
        &mut |done| {
            assert!(done > last, "progress must grow: {last} then {done}");
            last = done;
            calls += 1;
        },
    )
    .unwrap();
    assert_eq!(last, data.len() as u64, "progress must end at the size");
    assert_eq!(calls, written.descriptor.chunk_count);
    (written, stored)
}

/// Reads a payload back through the public reader.
fn read_back(w: &WrittenPayload, stored: &[u8]) -> Result<Vec<u8>, PayloadError> {
    let entries = parse_chunk_index(&w.index, &w.descriptor)?;
    let mut out = Vec::new();
    let mut reader = PayloadReader::new(&w.descriptor, &entries, stored)?;
    while let Some(chunk) = reader.next_chunk()? {
        out.extend_from_slice(chunk);
    }
    Ok(out)
}

/// Checks everything about a written payload that can be computed
/// independently of the writer.
fn check_written(data: &[u8], opts: &ChunkingOptions, w: &WrittenPayload, stored: &[u8]) {
    let d = &w.descriptor;
    let cs = opts.chunk_size as usize;
    let chunks = data.len().div_ceil(cs);
    assert_eq!(d.name.as_str(), "dir/payload.bin");
    assert_eq!(d.compression, opts.compression);
    assert_eq!(d.size, data.len() as u64);
    assert_eq!(d.chunk_size, opts.chunk_size);
    assert_eq!(d.chunk_count, chunks as u64);
    assert_eq!(d.stored_size, stored.len() as u64);
    assert_eq!(d.content_digest.0, sha256(data));
    assert_eq!(d.index_digest.0, sha256(&w.index));
    assert_eq!(w.index.len(), chunks * 40);

    // Walk the index by hand, following the byte layout.
    let mut at = 0usize;
    for (i, (entry, content)) in w.index.chunks(40).zip(data.chunks(cs)).enumerate() {
        let stored_len = u32::from_le_bytes(entry[..4].try_into().unwrap()) as usize;
        assert_eq!(entry[5..8], [0, 0, 0], "reserved bytes of entry {i}");
        let bytes = &stored[at..at + stored_len];
        assert_eq!(entry[8..40], sha256(bytes), "digest of chunk {i}");
        match entry[4] {
            0 => assert_eq!(bytes, content, "raw chunk {i}"),
            1 => {
                assert_eq!(opts.compression, Compression::Zstd);
                assert!(stored_len < content.len(), "zstd chunk {i} not smaller");
                assert_eq!(zstd::stream::decode_all(bytes).unwrap(), content);
            }
            e => panic!("chunk {i}: encoding {e}"),
        }
        at += stored_len;
    }
    assert_eq!(at, stored.len());
    if opts.compression == Compression::None {
        assert_eq!(stored, data);
    }

    assert_eq!(read_back(w, stored).unwrap(), data);
}

fn round_trip(data: &[u8], compression: Compression) -> (WrittenPayload, Vec<u8>) {
    let opts = options(compression, 1);
    let (w1, s1) = write(data, &opts);
    check_written(data, &opts, &w1, &s1);
    // Determinism: the thread count changes nothing.
    for threads in [4, 0] {
        let (w, s) = write(data, &options(compression, threads));
        assert_eq!(w, w1, "descriptor/index with {threads} threads");
        assert!(s == s1, "stored bytes with {threads} threads differ");
    }
    (w1, s1)
}

#[test]
fn edge_sizes_round_trip() {
    for size in [
        0,
        1,
        CS - 1,
        CS,
        CS + 1,
        3 * CS - 1,
        3 * CS,
        3 * CS + 1,
        7 * CS + 123,
    ] {
        for (data, label) in [
            (random_bytes(size as u64, size), "random"),
            (compressible_bytes(size), "text"),
        ] {
            for compression in [Compression::None, Compression::Zstd] {
                eprintln!("{size} bytes, {label}, {compression:?}");
                round_trip(&data, compression);
            }
        }
    }
}

#[test]
fn empty_payload_has_no_chunks() {
    let (w, stored) = round_trip(&[], Compression::Zstd);
    assert_eq!(w.descriptor.chunk_count, 0);
    assert_eq!(w.descriptor.stored_size, 0);
    assert!(w.index.is_empty() && stored.is_empty());
    // The spec gives both digests of an empty payload.
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(w.descriptor.content_digest.to_hex(), empty);
    assert_eq!(w.descriptor.index_digest.to_hex(), empty);
}

#[test]
fn random_data_is_stored_raw_and_text_is_compressed() {
    let random = random_bytes(7, 5 * CS);
    let (w, stored) = round_trip(&random, Compression::Zstd);
    let entries = parse_chunk_index(&w.index, &w.descriptor).unwrap();
    assert!(entries.iter().all(|e| e.encoding == ChunkEncoding::Raw));
    assert_eq!(stored, random);

    let text = compressible_bytes(5 * CS + 10);
    let (w, stored) = round_trip(&text, Compression::Zstd);
    let entries = parse_chunk_index(&w.index, &w.descriptor).unwrap();
    assert_eq!(entries.len(), 6);
    assert!(
        entries[..5]
            .iter()
            .all(|e| e.encoding == ChunkEncoding::Zstd)
    );
    // 10 bytes cannot shrink: a zstd frame alone needs more.
    assert_eq!(entries[5].encoding, ChunkEncoding::Raw);
    assert!((stored.len() as u64) < w.descriptor.size / 2);
}

#[test]
fn thousands_of_chunks_round_trip() {
    let n = 3000;
    // Mixed content: some chunks compress, some do not.
    let mut data = Vec::with_capacity(n * CS + 17);
    for i in 0..n {
        if i % 3 == 0 {
            data.extend_from_slice(&random_bytes(i as u64, CS));
        } else {
            data.extend_from_slice(&compressible_bytes(CS));
        }
    }
    data.extend_from_slice(b"seventeen bytes!!");
    let opts = options(Compression::Zstd, 1);
    let (w1, s1) = write(&data, &opts);
    check_written(&data, &opts, &w1, &s1);
    assert_eq!(w1.descriptor.chunk_count, n as u64 + 1);
    let (w4, s4) = write(&data, &options(Compression::Zstd, 4));
    assert_eq!(w4, w1);
    assert!(s4 == s1);
}

#[test]
fn larger_chunk_sizes_and_levels() {
    let data = compressible_bytes(100_000);
    for (chunk_size, level) in [(8192, 1), (65_536, 19), (1 << 20, 3)] {
        let opts = ChunkingOptions {
            chunk_size,
            compression: Compression::Zstd,
            level,
            threads: 2,
        };
        let (w, stored) = write(&data, &opts);
        check_written(&data, &opts, &w, &stored);
    }
}

/// An input that hands out at most a few bytes per read.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.1 += 1;
        if self.1.is_multiple_of(5) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.0.len()).min(self.1 % 7 + 1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn short_and_interrupted_reads_change_nothing() {
    let data = compressible_bytes(2 * CS + 100);
    let opts = options(Compression::Zstd, 2);
    let (w, stored) = write(&data, &opts);
    let mut stored2 = Vec::new();
    let w2 = write_payload(
        pname("dir/payload.bin"),
        Trickle(&data, 0),
        &mut stored2,
        &opts,
        &Limits::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(w2, w);
    assert_eq!(stored2, stored);
}

#[test]
fn bad_options_are_refused() {
    let lim = Limits::default();
    for opts in [
        ChunkingOptions {
            chunk_size: MIN_CHUNK_SIZE - 1,
            ..options(Compression::Zstd, 1)
        },
        ChunkingOptions {
            chunk_size: hpk_format::MAX_CHUNK_SIZE + 1,
            ..options(Compression::Zstd, 1)
        },
        ChunkingOptions {
            level: 0,
            ..options(Compression::Zstd, 1)
        },
        ChunkingOptions {
            level: 20,
            ..options(Compression::Zstd, 1)
        },
    ] {
        let r = write_payload(
            pname("x"),
            &b"abc"[..],
            &mut Vec::new(),
            &opts,
            &lim,
            &mut |_| {},
        );
        let e = r.unwrap_err();
        assert!(matches!(e, WriteError::Invalid { .. }), "{opts:?}: {e:?}");
        assert_eq!(e.class(), hpk_format::ErrorClass::Malformed);
    }
    // A chunk size over the local limit, though under the format's maximum.
    let small = Limits {
        max_chunk_size: 8192,
        ..Limits::default()
    };
    let r = write_payload(
        pname("x"),
        &b"abc"[..],
        &mut Vec::new(),
        &ChunkingOptions {
            chunk_size: 16384,
            ..options(Compression::None, 1)
        },
        &small,
        &mut |_| {},
    );
    assert!(matches!(r, Err(WriteError::Invalid { .. })));
}

#[test]
fn writer_limits_are_enforced() {
    let data = random_bytes(3, 3 * CS);
    for (limits, what) in [
        (
            Limits {
                max_total_size: 3 * CS as u64 - 1,
                ..Limits::default()
            },
            "payload size",
        ),
        (
            Limits {
                max_chunks: 2,
                ..Limits::default()
            },
            "chunk count",
        ),
    ] {
        for threads in [1, 4] {
            let r = write_payload(
                pname("x"),
                &data[..],
                &mut Vec::new(),
                &options(Compression::Zstd, threads),
                &limits,
                &mut |_| {},
            );
            match r {
                Err(WriteError::Limit(l)) => assert_eq!(l.what, what),
                other => panic!("{what}: {other:?}"),
            }
        }
    }
    // Exactly at the limits is fine.
    let at = Limits {
        max_total_size: 3 * CS as u64,
        max_chunks: 3,
        ..Limits::default()
    };
    let w = write_payload(
        pname("x"),
        &data[..],
        &mut Vec::new(),
        &options(Compression::None, 2),
        &at,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(w.descriptor.chunk_count, 3);
}

/// An input that fails after some bytes.
struct FailingInput(usize);

impl Read for FailingInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(b'a');
        self.0 -= n;
        Ok(n)
    }
}

/// An output that fails after some bytes.
struct FailingOutput(usize);

impl Write for FailingOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(self.0);
        self.0 -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_errors_are_reported_without_hanging() {
    for threads in [1, 4] {
        let r = write_payload(
            pname("x"),
            FailingInput(10 * CS + 5),
            &mut Vec::new(),
            &options(Compression::Zstd, threads),
            &Limits::default(),
            &mut |_| {},
        );
        let e = r.unwrap_err();
        assert!(matches!(e, WriteError::Io(_)), "{e:?}");
        assert_eq!(e.class(), hpk_format::ErrorClass::Io);

        let data = random_bytes(4, 50 * CS);
        let r = write_payload(
            pname("x"),
            &data[..],
            &mut FailingOutput(3 * CS + 1),
            &options(Compression::None, threads),
            &Limits::default(),
            &mut |_| {},
        );
        assert!(matches!(r, Err(WriteError::Io(_))), "{r:?}");
    }
}

#[test]
fn reader_hands_out_chunk_by_chunk_and_returns_the_input() {
    let data = compressible_bytes(3 * CS + 9);
    let (w, stored) = write(&data, &options(Compression::Zstd, 1));
    let entries = parse_chunk_index(&w.index, &w.descriptor).unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(w.index.len(), 4 * CHUNK_ENTRY_LEN);
    // Trailing data after the payload is left in the stream.
    let mut input = stored.clone();
    input.extend_from_slice(b"NEXT");
    let mut sizes = Vec::new();
    let mut out = Vec::new();
    let reader = PayloadReader::new(&w.descriptor, &entries, &input[..]).unwrap();
    let mut rest = reader
        .for_each_chunk(|c| {
            sizes.push(c.len());
            out.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
    assert_eq!(sizes, [CS, CS, CS, 9]);
    assert_eq!(out, data);
    let mut tail = Vec::new();
    rest.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, b"NEXT");

    // A sink error stops the read.
    let reader = PayloadReader::new(&w.descriptor, &entries, &stored[..]).unwrap();
    let r = reader.for_each_chunk(|_| Err(io::Error::other("sink")));
    assert!(matches!(r, Err(PayloadError::Io(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_payloads_round_trip(
        size in prop_oneof![0usize..=3 * CS + 2, (0usize..=5).prop_map(|k| k * CS)],
        seed in any::<u64>(),
        pattern in 0u8..3,
        zstd in any::<bool>(),
        threads in 1usize..=3,
    ) {
        let data = match pattern {
            0 => random_bytes(seed, size),
            1 => compressible_bytes(size),
            _ => {
                // Runs of one byte, broken by random bytes.
                let mut d = random_bytes(seed, size);
                for (i, b) in d.iter_mut().enumerate() {
                    if (i / 512) % 2 == 0 {
                        *b = 0;
                    }
                }
                d
            }
        };
        let compression = if zstd { Compression::Zstd } else { Compression::None };
        let opts = options(compression, threads);
        let (w, stored) = write(&data, &opts);
        check_written(&data, &opts, &w, &stored);
        let (w1, s1) = write(&data, &options(compression, 1));
        prop_assert_eq!(w1, w);
        prop_assert!(s1 == stored);
    }
}

/// A whole package: payloads written, manifest encoded, container laid out;
/// then read back both from memory and as a stream.
#[test]
fn a_whole_package_reads_back() {
    use hpk_format::{
        ContainerView, FileType, Manifest, decode, encode, encode_head, expect_end, read_head,
    };
    let contents = [
        ("a/first.bin", compressible_bytes(3 * CS + 7)),
        ("a/second.bin", random_bytes(11, 2 * CS)),
        ("b.txt", Vec::new()),
        ("c", compressible_bytes(100)),
    ];
    let mut manifest = manifest(PackageKind::Standard, Vec::new());
    let mut index_section = Vec::new();
    let mut payload_area = Vec::new();
    for (i, (name, data)) in contents.iter().enumerate() {
        let compression = if i % 2 == 0 {
            Compression::Zstd
        } else {
            Compression::None
        };
        let w = write_payload(
            pname(name),
            &data[..],
            &mut payload_area,
            &options(compression, 2),
            &Limits::default(),
            &mut |_| {},
        )
        .unwrap();
        index_section.extend_from_slice(&w.index);
        manifest.payloads.push(w.descriptor);
    }
    let body = encode(&manifest, &Limits::default()).unwrap();
    assert_eq!(
        manifest.index_section_len(),
        Some(index_section.len() as u64)
    );
    assert_eq!(
        manifest.payload_section_len(),
        Some(payload_area.len() as u64)
    );
    let mut file = encode_head(
        FileType::Package,
        &[],
        &body,
        index_section.len() as u64,
        payload_area.len() as u64,
    )
    .unwrap();
    file.extend_from_slice(&index_section);
    file.extend_from_slice(&payload_area);

    // In memory.
    let view = ContainerView::parse(&file, FileType::Package, &Limits::default()).unwrap();
    let m: Manifest = decode(view.body, &Limits::default()).unwrap();
    assert_eq!(m, manifest);
    let (mut index_at, mut stored_at) = (0usize, 0usize);
    for (desc, (_, data)) in m.payloads.iter().zip(&contents) {
        let index_len = desc.index_len().unwrap() as usize;
        let stored_len = desc.stored_size as usize;
        let entries = parse_chunk_index(&view.index[index_at..index_at + index_len], desc).unwrap();
        let stored = &view.payload[stored_at..stored_at + stored_len];
        let mut out = Vec::new();
        PayloadReader::new(desc, &entries, stored)
            .unwrap()
            .for_each_chunk(|c| {
                out.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
        assert_eq!(&out, data, "{}", desc.name);
        index_at += index_len;
        stored_at += stored_len;
    }
    assert_eq!(
        (index_at, stored_at),
        (view.index.len(), view.payload.len())
    );

    // As a stream: head, all indexes, then each payload in turn.
    let mut input = &file[..];
    let head = read_head(&mut input, FileType::Package, &Limits::default()).unwrap();
    let m: Manifest = decode(&head.body, &Limits::default()).unwrap();
    let mut indexes = Vec::new();
    for desc in &m.payloads {
        let mut index = vec![0u8; desc.index_len().unwrap() as usize];
        input.read_exact(&mut index).unwrap();
        indexes.push(parse_chunk_index(&index, desc).unwrap());
    }
    for ((desc, entries), (_, data)) in m.payloads.iter().zip(&indexes).zip(&contents) {
        let mut out = Vec::new();
        input = PayloadReader::new(desc, entries, input)
            .unwrap()
            .for_each_chunk(|c| {
                out.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
        assert_eq!(&out, data);
    }
    expect_end(&mut input).unwrap();
}

/// Every zstd chunk the writer makes is one single-segment frame whose
/// Frame_Content_Size is the chunk's length, with no dictionary id, no
/// checksum and no reserved or unused bit (SPEC.md Z1–Z3), at the extreme
/// levels and chunk sizes, including a short last chunk; and it reads back.
#[test]
fn the_writer_makes_single_segment_frames_at_every_level_and_chunk_size() {
    let data = {
        let mut d = compressible_bytes(3 * 1024 * 1024 + 1000);
        d.extend(random_bytes(7, 300_000));
        d
    };
    for (chunk_size, level) in [
        (MIN_CHUNK_SIZE, 1),
        (MIN_CHUNK_SIZE, 19),
        (1 << 20, 1),
        (1 << 20, 3),
        (1 << 20, 19),
        (16 << 20, 1),
        (16 << 20, 3),
    ] {
        let opts = ChunkingOptions {
            chunk_size,
            compression: Compression::Zstd,
            level,
            threads: 2,
        };
        let (w, stored) = write(&data, &opts);
        let entries = parse_chunk_index(&w.index, &w.descriptor).unwrap();
        let mut at = 0usize;
        let mut frames = 0;
        for (i, e) in entries.iter().enumerate() {
            let chunk = &stored[at..at + e.stored_len as usize];
            at += e.stored_len as usize;
            if e.encoding != ChunkEncoding::Zstd {
                continue;
            }
            frames += 1;
            let what = format!("chunk {i} of {chunk_size}-byte chunks at level {level}");
            assert_eq!(chunk[..4], [0x28, 0xB5, 0x2F, 0xFD], "{what}");
            let fhd = chunk[4];
            assert_eq!(fhd & 0x3F, 0x20, "{what}: descriptor {fhd:#04x}");
            let fcs = zstd::zstd_safe::get_frame_content_size(chunk).unwrap();
            assert_eq!(
                fcs,
                w.descriptor.chunk_len(i as u64).map(u64::from),
                "{what}"
            );
        }
        assert!(frames >= 1, "{chunk_size} at level {level}");
        assert_eq!(read_back(&w, &stored).unwrap(), data);
    }
}
