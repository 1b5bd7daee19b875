//! Payloads: chunk indexes that break a rule, chunks and indexes that do
//! not match their digests, zstd frames that are bombs or not one frame,
//! content that does not match its digest.

use super::{Case, Check, Gen};
use crate::build::{self, Chunk, RawPayload};
use hpk_format::{Compression, Digest, PackageKind};
use hpk_tests::{
    PackageSpec, xxh64, zstd_block, zstd_frame_header, zstd_rle_blocks, zstd_rle_bomb,
    zstd_rle_frame,
};

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
            "A payload of 4096 bytes 'A' stored as one hand-written zstd frame of one RLE block (11 bytes: single-segment, a 2-byte Frame_Content_Size).",
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
    let p = one_chunk(
        Chunk::zstd(&zstd_rle_frame(b'A', &[2048])),
        Compression::Zstd,
    );
    g.add(
        Case::package(
            "integrity-zstd-short-output",
            "A 4096-byte chunk whose zstd frame declares and decodes to 2048 bytes only (Z3).",
            package_of(g, &p),
        )
        .expect("integrity")
        .check(Check::Extract),
    );
    zstd_rules(g);
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
    c.encoding = 3;
    let p = one_chunk(c, Compression::None);
    g.add(
        Case::package(
            "malformed-index-unknown-encoding",
            "A chunk-index entry with encoding 3 (0 raw, 1 zstd and 2 delta are the assigned ones).",
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

/// A payload of `content` in one chunk stored as the zstd `frame`.
fn zstd_payload(content: &[u8], frame: &[u8]) -> RawPayload {
    let size = content.len() as u64;
    let chunk_size = u32::try_from(content.len())
        .expect("small chunk")
        .next_power_of_two()
        .max(4096);
    build::raw_payload(
        "data.bin",
        Compression::Zstd,
        size,
        chunk_size,
        &[Chunk::zstd(frame)],
        Digest::of(content),
    )
}

/// Adds a valid case (`expect` None) or an invalid one of one payload.
fn zstd_case(g: &mut Gen, name: &str, description: &str, p: &RawPayload, expect: Option<&str>) {
    let case = Case::package(name, description, package_of(g, p));
    let case = match expect {
        None => case.no_device().payloads(&hpk_format::Manifest {
            payloads: vec![p.descriptor.clone()],
            ..PackageSpec::new("x", PackageKind::Standard).manifest
        }),
        Some(class) => case.expect(class).check(Check::Extract),
    };
    g.add(case);
}

/// A Compressed_Block (RFC 8878, 3.1.1.3) whose literals section holds
/// `n` raw literals `byte` and whose sequences section is empty: Block_Size
/// is `n` + 4 (for `n` of 4096 or more), and it decodes to `n` bytes.
fn raw_literals_block(byte: u8, n: u32, last: bool) -> Vec<u8> {
    assert!((4096..1 << 20).contains(&n));
    // Raw_Literals_Block, Size_Format 11: 20-bit Regenerated_Size.
    let mut content = vec![
        (0b1100 | ((n & 0xF) << 4)) as u8,
        (n >> 4) as u8,
        (n >> 12) as u8,
    ];
    content.extend(std::iter::repeat_n(byte, n as usize));
    content.push(0); // Number_of_Sequences = 0
    zstd_block(2, n + 4, last, &content)
}

/// A Compressed_Block (RFC 8878, 3.1.1.3) of 4 RLE literals `byte` and
/// one sequence (literals length 4, offset 1, match length `ml` from
/// 65539 to 131074, every symbol in RLE_Mode): it decodes to `ml` + 4
/// bytes `byte`, whatever Block_Maximum_Size is.
fn long_match_block(byte: u8, ml: u32, last: bool) -> Vec<u8> {
    assert!((65539..=131_074).contains(&ml));
    // Literals: RLE_Literals_Block, Size_Format 00, Regenerated_Size 4.
    let mut content = vec![0x01 | (4 << 3), byte];
    // One sequence; Literals_Lengths, Offsets and Match_Lengths in
    // RLE_Mode; their symbols: literals length code 4, offset code 2
    // (Offset_Value 4 + 2 bits, offset 1), match length code 52
    // (65539 + 16 bits).
    content.extend_from_slice(&[1, 0b0101_0100, 4, 2, 52]);
    // The bitstream, read backwards from the marker bit: the offset's 2
    // bits (0), then the match length's 16 bits.
    let bits: u32 = (1 << 18) | (ml - 65539);
    content.extend_from_slice(&bits.to_le_bytes()[..3]);
    zstd_block(2, content.len() as u32, last, &content)
}

/// One valid and one invalid vector for each rule of a zstd chunk
/// (SPEC.md Z1–Z7).
fn zstd_rules(g: &mut Gen) {
    let a4096 = [b'A'; 4096];
    let good = zstd_rle_frame(b'A', &[4096]);

    // Z1: exactly one zstd frame.
    let mut two = good.clone();
    two.extend(zstd_frame_header(0, 0));
    two.extend(zstd_block(0, 0, true, &[]));
    zstd_case(
        g,
        "integrity-zstd-two-frames",
        "A chunk holding a zstd frame of its 4096 bytes followed by a second, empty, frame: a zstd chunk is exactly one frame (Z1).",
        &zstd_payload(&a4096, &two),
        Some("integrity"),
    );
    let mut skippable = vec![0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 0, 0, 0, 0];
    skippable.extend(&good);
    zstd_case(
        g,
        "integrity-zstd-skippable-frame",
        "A chunk starting with a zstd skippable frame before a frame of its 4096 bytes: not one zstd frame (Z1).",
        &zstd_payload(&a4096, &skippable),
        Some("integrity"),
    );
    let mut trailing = good.clone();
    trailing.push(0);
    zstd_case(
        g,
        "integrity-zstd-trailing-byte",
        "A chunk holding a zstd frame of its 4096 bytes followed by one zero byte (Z1).",
        &zstd_payload(&a4096, &trailing),
        Some("integrity"),
    );

    // Z2: the Frame_Header_Descriptor.
    for (name, flags, what) in [
        ("integrity-zstd-reserved-bit", 0x08, "Reserved_bit"),
        ("integrity-zstd-unused-bit", 0x10, "Unused_bit"),
    ] {
        let mut f = zstd_frame_header(4096, flags);
        f.extend(zstd_rle_blocks(b'A', &[4096]));
        zstd_case(
            g,
            name,
            &format!(
                "A frame of the chunk's 4096 bytes whose Frame_Header_Descriptor sets the {what} (Z2)."
            ),
            &zstd_payload(&a4096, &f),
            Some("integrity"),
        );
    }
    // Dictionary_ID_flag 1 and a one-byte Dictionary_ID of 0.
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0x61, 0x00];
    f.extend_from_slice(&(4096u16 - 256).to_le_bytes());
    f.extend(zstd_rle_blocks(b'A', &[4096]));
    zstd_case(
        g,
        "integrity-zstd-dictionary-id",
        "A frame of the chunk's 4096 bytes whose header has a Dictionary_ID field (of value 0) (Z2).",
        &zstd_payload(&a4096, &f),
        Some("integrity"),
    );
    // Not single-segment: a Window_Descriptor of exactly 4 KiB.
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0x40, 0x10];
    f.extend_from_slice(&(4096u16 - 256).to_le_bytes());
    f.extend(zstd_rle_blocks(b'A', &[4096]));
    zstd_case(
        g,
        "integrity-zstd-not-single-segment",
        "A frame of the chunk's 4096 bytes with a Window_Descriptor (Window_Size 4096) instead of the Single_Segment_flag (Z2).",
        &zstd_payload(&a4096, &f),
        Some("integrity"),
    );

    // Z3: Frame_Content_Size is the chunk's length, in any field size.
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    f.extend_from_slice(&4096u64.to_le_bytes());
    f.extend(zstd_rle_blocks(b'A', &[4096]));
    zstd_case(
        g,
        "valid-zstd-content-size-8-bytes",
        "A payload of 4096 bytes 'A' in one frame that declares its Frame_Content_Size in an 8-byte field (Z3).",
        &zstd_payload(&a4096, &f),
        None,
    );
    let content = [b'A'; 4096 + 100];
    let p = build::raw_payload(
        "data.bin",
        Compression::Zstd,
        content.len() as u64,
        4096,
        &[
            Chunk::raw(&content[..4096]),
            Chunk::zstd(&zstd_rle_frame(b'A', &[100])),
        ],
        Digest::of(&content),
    );
    zstd_case(
        g,
        "valid-zstd-content-size-1-byte",
        "A payload of 4196 bytes 'A' in 4096-byte chunks: a raw chunk, then a last chunk of 100 bytes in a frame whose Frame_Content_Size field is 1 byte (Z3).",
        &p,
        None,
    );

    // Z4: block types and sizes. Block_Maximum_Size is the chunk's length,
    // at most 128 KiB.
    let mut f = zstd_frame_header(4096, 0);
    f.extend(zstd_block(3, 4096, true, b"A"));
    zstd_case(
        g,
        "integrity-zstd-reserved-block-type",
        "A frame of the chunk's 4096 bytes whose only block has the Reserved type 3 (Z4).",
        &zstd_payload(&a4096, &f),
        Some("integrity"),
    );
    let mut f = zstd_frame_header(4096, 0);
    f.extend(zstd_rle_blocks(b'A', &[4097]));
    zstd_case(
        g,
        "integrity-zstd-block-larger-than-window",
        "A frame declaring the chunk's 4096 bytes (so Window_Size 4096) whose only block is an RLE block of 4097 bytes (Z4).",
        &zstd_payload(&a4096, &f),
        Some("integrity"),
    );
    let big = vec![b'A'; 200_000];
    for (name, first, expect) in [
        ("valid-zstd-rle-block-at-maximum", 131_072u32, None),
        (
            "integrity-zstd-rle-block-over-maximum",
            131_073,
            Some("integrity"),
        ),
    ] {
        let f = zstd_rle_frame(b'A', &[first, 200_000 - first]);
        zstd_case(
            g,
            name,
            &format!(
                "A chunk of 200000 bytes 'A' (Block_Maximum_Size 128 KiB) as an RLE block of {first} bytes and one of the rest (Z4)."
            ),
            &zstd_payload(&big, &f),
            expect,
        );
    }
    for (name, first, expect) in [
        ("valid-zstd-raw-block-at-maximum", 131_072u32, None),
        (
            "integrity-zstd-raw-block-over-maximum",
            131_073,
            Some("integrity"),
        ),
    ] {
        let mut f = zstd_frame_header(200_000, 0);
        f.extend(zstd_block(0, first, false, &big[..first as usize]));
        f.extend(zstd_rle_blocks(b'A', &[200_000 - first]));
        zstd_case(
            g,
            name,
            &format!(
                "A chunk of 200000 bytes 'A' (Block_Maximum_Size 128 KiB) as a Raw block of {first} bytes and an RLE block of the rest (Z4)."
            ),
            &zstd_payload(&big, &f),
            expect,
        );
    }
    for (name, literals, expect) in [
        (
            "valid-zstd-compressed-block-below-maximum",
            131_067u32,
            None,
        ),
        (
            "integrity-zstd-compressed-block-at-maximum",
            131_068,
            Some("integrity"),
        ),
    ] {
        let mut f = zstd_frame_header(200_000, 0);
        f.extend(raw_literals_block(b'A', literals, false));
        f.extend(zstd_rle_blocks(b'A', &[200_000 - literals]));
        zstd_case(
            g,
            name,
            &format!(
                "A chunk of 200000 bytes 'A' (Block_Maximum_Size 128 KiB) as a Compressed block of {} bytes ({literals} raw literals) and an RLE block of the rest: a Compressed block is smaller than Block_Maximum_Size (Z4).",
                literals + 4
            ),
            &zstd_payload(&big, &f),
            expect,
        );
    }

    // Z5: the Content_Checksum, if present, is verified.
    let checksum = (xxh64(&a4096) as u32).to_le_bytes();
    for (name, flip, expect) in [
        ("valid-zstd-checksum", 0u8, None),
        ("integrity-zstd-checksum-mismatch", 1, Some("integrity")),
    ] {
        let mut f = zstd_frame_header(4096, 0x04);
        f.extend(zstd_rle_blocks(b'A', &[4096]));
        f.extend_from_slice(&checksum);
        let last = f.len() - 1;
        f[last] ^= flip;
        zstd_case(
            g,
            name,
            &format!(
                "A frame of the chunk's 4096 bytes 'A' with a Content_Checksum{} (Z5).",
                if flip == 0 { "" } else { " one bit off" }
            ),
            &zstd_payload(&a4096, &f),
            expect,
        );
    }

    // Z6: empty Raw and RLE blocks are allowed.
    let mut f = zstd_frame_header(4096, 0);
    f.extend(zstd_block(0, 0, false, &[]));
    f.extend(zstd_block(1, 0, false, b"A"));
    f.extend(zstd_rle_blocks(b'A', &[4096]));
    zstd_case(
        g,
        "valid-zstd-empty-blocks",
        "A payload of 4096 bytes 'A' in one frame of an empty Raw block, an empty RLE block, then an RLE block of 4096 bytes (Z6).",
        &zstd_payload(&a4096, &f),
        None,
    );

    // Z7: the frame decodes to exactly its Frame_Content_Size.
    for (name, sizes, what) in [
        (
            "integrity-zstd-blocks-short-of-content-size",
            &[2048u32][..],
            "whose only block decodes to 2048 bytes",
        ),
        (
            "integrity-zstd-blocks-past-content-size",
            &[4096, 1][..],
            "whose blocks decode to 4097 bytes",
        ),
    ] {
        let mut f = zstd_frame_header(4096, 0);
        f.extend(zstd_rle_blocks(b'A', sizes));
        zstd_case(
            g,
            name,
            &format!("A frame declaring the chunk's 4096 bytes {what} (Z7)."),
            &zstd_payload(&a4096, &f),
            Some("integrity"),
        );
    }

    // Z7: no block decodes to more than Block_Maximum_Size.
    let content = vec![b'A'; 131_078];
    let mut f = zstd_frame_header(131_078, 0);
    f.extend(long_match_block(b'A', 131_068, false));
    f.extend(zstd_rle_blocks(b'A', &[6]));
    zstd_case(
        g,
        "valid-zstd-block-output-at-maximum",
        "A chunk of 131078 bytes 'A' as a Compressed block of 10 bytes that decodes to 131072 bytes (Block_Maximum_Size) and an RLE block of 6 (Z7).",
        &zstd_payload(&content, &f),
        None,
    );
    let mut f = zstd_frame_header(131_078, 0);
    f.extend(long_match_block(b'A', 131_074, true));
    zstd_case(
        g,
        "integrity-zstd-block-output-over-maximum",
        "A chunk of 131078 bytes 'A' as one Compressed block of 10 bytes that decodes to all 131078 bytes, more than Block_Maximum_Size (128 KiB) (Z7).",
        &zstd_payload(&content, &f),
        Some("integrity"),
    );
}
