//! Every way a payload can be refused while it is read: bad or tampered
//! chunk indexes, tampered chunks, truncation, decompression that does not
//! match the declared size, encodings that lie.
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use hpk_format::{
    ChunkDecoder, ChunkEncoding, ChunkEntry, Compression, Digest, ErrorClass, MIN_CHUNK_SIZE,
    PayloadDescriptor, PayloadError, PayloadReader, check_chunk, parse_chunk_index,
};

const CS: usize = MIN_CHUNK_SIZE as usize;

/// A payload's descriptor and chunk index.
struct Written {
    descriptor: PayloadDescriptor,
    index: Vec<u8>,
}

/// A valid payload `p/data` of 4 KiB chunks, written here rather than by
/// `hpk-sign`'s writer: with zstd, each chunk is one frame made by the
/// `zstd` crate (single-segment, with its content size) where that is
/// smaller than the chunk, else the chunk raw. Returns the descriptor and
/// index, and the stored bytes.
fn write(data: &[u8], compression: Compression) -> (Written, Vec<u8>) {
    let chunks: Vec<(Vec<u8>, u8)> = data
        .chunks(CS)
        .map(|chunk| {
            if compression == Compression::Zstd {
                let frame = zstd::bulk::compress(chunk, 3).unwrap();
                if frame.len() < chunk.len() {
                    return (frame, 1);
                }
            }
            (chunk.to_vec(), 0)
        })
        .collect();
    let chunks: Vec<(&[u8], u8)> = chunks.iter().map(|(b, e)| (&b[..], *e)).collect();
    let (mut descriptor, index, stored) = craft(data.len() as u64, compression, &chunks, data);
    descriptor.name = pname("p/data");
    (Written { descriptor, index }, stored)
}

/// Reads a payload, collecting every byte handed out until the first error.
fn read_all(
    desc: &PayloadDescriptor,
    index: &[u8],
    stored: &[u8],
) -> (Vec<u8>, Result<(), PayloadError>) {
    let entries = match parse_chunk_index(index, desc) {
        Ok(e) => e,
        Err(e) => return (Vec::new(), Err(e)),
    };
    let mut out = Vec::new();
    let mut reader = PayloadReader::new(desc, &entries, stored).unwrap();
    loop {
        match reader.next_chunk() {
            Ok(Some(chunk)) => out.extend_from_slice(chunk),
            Ok(None) => return (out, Ok(())),
            Err(e) => return (out, Err(e)),
        }
    }
}

/// A descriptor and index for hand-made chunks, with matching digests.
fn craft(
    size: u64,
    compression: Compression,
    chunks: &[(&[u8], u8)],
    content: &[u8],
) -> (PayloadDescriptor, Vec<u8>, Vec<u8>) {
    let mut index = Vec::new();
    let mut stored = Vec::new();
    for (bytes, encoding) in chunks {
        index.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        index.extend_from_slice(&[*encoding, 0, 0, 0]);
        index.extend_from_slice(&sha256(bytes));
        stored.extend_from_slice(bytes);
    }
    let desc = PayloadDescriptor {
        name: pname("crafted"),
        executable: false,
        compression,
        size,
        stored_size: stored.len() as u64,
        chunk_size: MIN_CHUNK_SIZE,
        chunk_count: size.div_ceil(CS as u64),
        index_digest: Digest(sha256(&index)),
        content_digest: Digest(sha256(content)),
    };
    (desc, index, stored)
}

macro_rules! assert_payload_err {
    ($result:expr, $pat:pat $(if $guard:expr)?, $class:expr) => {{
        match $result {
            Err(e) => {
                assert!(matches!(e, $pat $(if $guard)?), "unexpected error {e:?}");
                assert_eq!(e.class(), $class, "class of {e:?}");
                assert!(!e.to_string().is_empty());
            }
            Ok(_) => panic!("accepted"),
        }
    }};
}

#[test]
fn a_tampered_chunk_is_refused_and_none_of_it_is_handed_out() {
    let data = [compressible_bytes(2 * CS), random_bytes(9, 2 * CS + 100)].concat();
    for compression in [Compression::None, Compression::Zstd] {
        let (w, stored) = write(&data, compression);
        let entries = parse_chunk_index(&w.index, &w.descriptor).unwrap();
        let mut start = 0usize;
        for (k, e) in entries.iter().enumerate() {
            let len = e.stored_len as usize;
            for at in [start, start + len / 2, start + len - 1] {
                let mut bad = stored.clone();
                bad[at] ^= 0x01;
                let (out, r) = read_all(&w.descriptor, &w.index, &bad);
                assert_payload_err!(
                    r,
                    PayloadError::ChunkDigest { chunk, .. } if chunk == k as u64,
                    ErrorClass::Integrity
                );
                // Exactly the chunks before the tampered one were handed out.
                assert_eq!(out, data[..k * CS], "chunk {k}, byte {at}");
            }
            start += len;
        }
    }
}

#[test]
fn the_decoder_checks_before_it_decodes() {
    let data = compressible_bytes(CS);
    let (w, stored) = write(&data, Compression::Zstd);
    let entries = parse_chunk_index(&w.index, &w.descriptor).unwrap();
    assert_eq!(entries[0].encoding, ChunkEncoding::Zstd);
    let mut dec = ChunkDecoder::new().unwrap();
    let mut out = b"previous".to_vec();
    dec.decode(&w.descriptor, 0, &entries[0], &stored, &mut out)
        .unwrap();
    assert_eq!(out, data);

    let mut bad = stored.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    let mut out = b"previous".to_vec();
    assert_payload_err!(
        dec.decode(&w.descriptor, 0, &entries[0], &bad, &mut out),
        PayloadError::ChunkDigest { chunk: 0, .. },
        ErrorClass::Integrity
    );
    assert!(
        !out.windows(8).any(|x| data.windows(8).any(|y| x == y)),
        "decoded bytes leaked"
    );
    // Wrong length with a right prefix: refused as well.
    for stored in [
        &stored[..stored.len() - 1],
        &[stored.clone(), vec![0]].concat()[..],
    ] {
        assert_payload_err!(
            check_chunk(&w.descriptor, 0, &entries[0], stored),
            PayloadError::ChunkDigest { .. },
            ErrorClass::Integrity
        );
    }
}

#[test]
fn a_tampered_index_is_refused() {
    let data = compressible_bytes(3 * CS + 1);
    let (w, stored) = write(&data, Compression::Zstd);
    for at in [0, 4, 5, 8, 39, 40, w.index.len() - 1] {
        let mut bad = w.index.clone();
        bad[at] ^= 0x01;
        let (out, r) = read_all(&w.descriptor, &bad, &stored);
        assert_payload_err!(r, PayloadError::IndexDigest { .. }, ErrorClass::Integrity);
        assert!(out.is_empty());
    }
    // A descriptor whose index digest is wrong.
    let mut desc = w.descriptor.clone();
    desc.index_digest.0[31] ^= 1;
    assert_payload_err!(
        parse_chunk_index(&w.index, &desc),
        PayloadError::IndexDigest { .. },
        ErrorClass::Integrity
    );
    // An index of the wrong length.
    for index in [
        &w.index[..w.index.len() - 40],
        &w.index[..w.index.len() - 1],
        &[w.index.clone(), vec![0; 40]].concat()[..],
        &[],
    ] {
        assert_payload_err!(
            parse_chunk_index(index, &w.descriptor),
            PayloadError::BadIndex { .. },
            ErrorClass::Malformed
        );
    }
}

#[test]
fn reserved_index_bytes_and_unknown_encodings_are_refused() {
    let content = random_bytes(1, CS);
    for (at, value) in [(5usize, 1u8), (6, 0x80), (7, 0xff), (4, 2), (4, 0xff)] {
        let (mut desc, mut index, stored) =
            craft(CS as u64, Compression::Zstd, &[(&content, 0)], &content);
        index[at] = value;
        desc.index_digest = Digest(sha256(&index));
        let (_, r) = read_all(&desc, &index, &stored);
        assert_payload_err!(r, PayloadError::BadIndex { .. }, ErrorClass::Malformed);
    }
    let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(&content, 0)], &content);
    let (out, r) = read_all(&desc, &index, &stored);
    r.unwrap();
    assert_eq!(out, content);
}

#[test]
fn a_truncated_payload_is_refused() {
    let data = random_bytes(2, 3 * CS + 10);
    for compression in [Compression::None, Compression::Zstd] {
        let (w, stored) = write(&data, compression);
        for (keep, chunk) in [
            (0, 0u64),
            (1, 0),
            (CS, 1),
            (2 * CS + 5, 2),
            (stored.len() - 1, 3),
        ] {
            let (out, r) = read_all(&w.descriptor, &w.index, &stored[..keep]);
            assert_payload_err!(
                r,
                PayloadError::Truncated { chunk: c, .. } if c == chunk,
                ErrorClass::Malformed
            );
            assert_eq!(out, data[..chunk as usize * CS]);
        }
    }
}

#[test]
fn a_zstd_frame_larger_than_its_chunk_is_refused() {
    let content = compressible_bytes(2 * CS);
    // With and without the content size in the frame header.
    let frames = [
        zstd::bulk::compress(&content, 3).unwrap(),
        zstd::stream::encode_all(&content[..], 3).unwrap(),
    ];
    for frame in &frames {
        assert!(frame.len() < CS);
        assert_eq!(zstd::stream::decode_all(&frame[..]).unwrap(), content);
        // One 4 KiB chunk.
        let (desc, index, stored) =
            craft(CS as u64, Compression::Zstd, &[(frame, 1)], &content[..CS]);
        let (out, r) = read_all(&desc, &index, &stored);
        assert_payload_err!(
            r,
            PayloadError::ChunkSize { chunk: 0, .. },
            ErrorClass::Integrity
        );
        assert!(out.is_empty());
        // The short last chunk of a 5000-byte payload.
        let first = zstd::bulk::compress(&content[..CS], 3).unwrap();
        let (desc, index, stored) = craft(
            5000,
            Compression::Zstd,
            &[(&first, 1), (frame, 1)],
            &content[..5000],
        );
        let (out, r) = read_all(&desc, &index, &stored);
        assert_payload_err!(
            r,
            PayloadError::ChunkSize { chunk: 1, .. },
            ErrorClass::Integrity
        );
        assert_eq!(out, content[..CS]);
    }
    // A frame that decodes to less than the chunk.
    let half = &content[..CS / 2];
    for frame in [
        zstd::bulk::compress(half, 3).unwrap(),
        zstd::stream::encode_all(half, 3).unwrap(),
    ] {
        let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(&frame, 1)], half);
        let (out, r) = read_all(&desc, &index, &stored);
        assert_payload_err!(
            r,
            PayloadError::ChunkSize { chunk: 0, .. },
            ErrorClass::Integrity
        );
        assert!(out.is_empty());
    }
    // The honest frame of the same chunk reads.
    let frame = zstd::bulk::compress(&content[..CS], 3).unwrap();
    let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(&frame, 1)], &content[..CS]);
    let (out, r) = read_all(&desc, &index, &stored);
    r.unwrap();
    assert_eq!(out, content[..CS]);
}

#[test]
fn chunks_declared_with_the_wrong_encoding_are_refused() {
    let content = compressible_bytes(CS);
    let frame = zstd::bulk::compress(&content, 3).unwrap();
    assert!(frame.len() < CS);

    // A zstd frame declared raw: a raw chunk must be exactly the chunk size.
    let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(&frame, 0)], &content);
    let (out, r) = read_all(&desc, &index, &stored);
    assert_payload_err!(r, PayloadError::BadIndex { .. }, ErrorClass::Malformed);
    assert!(out.is_empty());

    // A zstd frame padded to the chunk size and declared raw: the frame's
    // bytes are the content, so the content digest fails at the end.
    let mut padded = frame.clone();
    padded.resize(CS, 0);
    let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(&padded, 0)], &content);
    let (_, r) = read_all(&desc, &index, &stored);
    assert_payload_err!(r, PayloadError::ContentDigest { .. }, ErrorClass::Integrity);

    // Raw bytes declared zstd: they are not a frame.
    let raw = &content[..CS - 100];
    let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(raw, 1)], &content);
    let (out, r) = read_all(&desc, &index, &stored);
    assert_payload_err!(
        r,
        PayloadError::ChunkSize { chunk: 0, .. },
        ErrorClass::Integrity
    );
    assert!(out.is_empty());

    // A zstd chunk in a payload that says it is not compressed.
    let (desc, index, stored) = craft(CS as u64, Compression::None, &[(&frame, 1)], &content);
    let (_, r) = read_all(&desc, &index, &stored);
    assert_payload_err!(r, PayloadError::BadIndex { .. }, ErrorClass::Malformed);

    // A zstd chunk that is not smaller than its content, or empty.
    for bytes in [&content[..], &[][..]] {
        let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(bytes, 1)], &content);
        let (_, r) = read_all(&desc, &index, &stored);
        assert_payload_err!(r, PayloadError::BadIndex { .. }, ErrorClass::Malformed);
    }
}

#[test]
fn a_zstd_chunk_must_be_exactly_one_frame() {
    let content = compressible_bytes(CS);
    let half = CS / 2;
    let a = zstd::bulk::compress(&content[..half], 3).unwrap();
    let b = zstd::bulk::compress(&content[half..], 3).unwrap();
    let whole = zstd::bulk::compress(&content, 3).unwrap();
    // A skippable frame (RFC 8878, 3.1.2): magic 0x184D2A50, length, data.
    let skippable = [&[0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0][..], b"xyz"].concat();
    for (label, frame) in [
        ("two frames", [a.clone(), b.clone()].concat()),
        (
            "skippable frame first",
            [skippable.clone(), whole.clone()].concat(),
        ),
        (
            "skippable frame after",
            [whole.clone(), skippable.clone()].concat(),
        ),
        ("a byte after the frame", [whole.clone(), vec![0]].concat()),
        ("a frame cut short", whole[..whole.len() - 1].to_vec()),
    ] {
        assert!(frame.len() < CS, "{label}");
        let (desc, index, stored) = craft(CS as u64, Compression::Zstd, &[(&frame, 1)], &content);
        let (out, r) = read_all(&desc, &index, &stored);
        match r {
            Err(e @ PayloadError::ChunkSize { chunk: 0, .. }) => {
                assert_eq!(e.class(), ErrorClass::Integrity)
            }
            other => panic!("{label}: {other:?}"),
        }
        assert!(out.is_empty(), "{label}");
    }
}

#[test]
fn stored_sizes_must_add_up() {
    let content = random_bytes(5, 2 * CS);
    let (mut desc, index, stored) = craft(
        2 * CS as u64,
        Compression::None,
        &[(&content[..CS], 0), (&content[CS..], 0)],
        &content,
    );
    desc.stored_size -= 1;
    let (_, r) = read_all(&desc, &index, &stored);
    assert_payload_err!(r, PayloadError::BadIndex { .. }, ErrorClass::Malformed);
}

#[test]
fn a_wrong_content_digest_is_found_at_the_end() {
    let data = compressible_bytes(2 * CS + 3);
    let (w, stored) = write(&data, Compression::Zstd);
    let mut desc = w.descriptor.clone();
    desc.content_digest.0[0] ^= 1;
    let (out, r) = read_all(&desc, &w.index, &stored);
    assert_payload_err!(r, PayloadError::ContentDigest { .. }, ErrorClass::Integrity);
    // Every chunk was individually authentic, so it was handed out.
    assert_eq!(out, data);
}

#[test]
fn errors_name_the_payload() {
    let data = random_bytes(6, CS);
    let (w, stored) = write(&data, Compression::None);
    let mut bad = stored.clone();
    bad[0] ^= 1;
    let (_, r) = read_all(&w.descriptor, &w.index, &bad);
    let e = r.unwrap_err();
    assert!(e.to_string().contains("p/data"), "{e}");
    assert!(matches!(e, PayloadError::ChunkDigest { ref payload, .. } if payload == "p/data"));
    // Entries from another descriptor do not decode this one.
    let entry = ChunkEntry {
        stored_len: CS as u32,
        encoding: ChunkEncoding::Raw,
        digest: Digest(sha256(&data)),
    };
    let mut dec = ChunkDecoder::new().unwrap();
    let mut out = Vec::new();
    assert_payload_err!(
        dec.decode(&w.descriptor, 1, &entry, &stored, &mut out),
        PayloadError::ChunkSize { chunk: 1, .. },
        ErrorClass::Integrity
    );
}
