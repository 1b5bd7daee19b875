//! The zstd frames a zstd chunk may hold (SPEC.md, "zstd chunks", Z1–Z7),
//! checked in one pass over the frame header and the block headers, before
//! any byte is decompressed. Decoding itself (Z7: the size each compressed
//! block decodes to, the checksum, the decoded length) is left to the
//! decoder, which checks it block by block.

/// The zstd frame magic number, little-endian (RFC 8878, 3.1.1).
pub(crate) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The largest block of any frame: 128 KiB (RFC 8878, 3.1.1.2.4).
const MAX_BLOCK_SIZE: u64 = 128 * 1024;

/// Frame_Header_Descriptor bits (RFC 8878, 3.1.1.1.1).
const SINGLE_SEGMENT: u8 = 0x20;
const UNUSED_BIT: u8 = 0x10;
const RESERVED_BIT: u8 = 0x08;
const CHECKSUM_FLAG: u8 = 0x04;
const DICTIONARY_ID_FLAG: u8 = 0x03;

/// Length of a block header and of a content checksum.
const BLOCK_HEADER_LEN: usize = 3;
const CHECKSUM_LEN: usize = 4;

/// What the walk learned about a frame that follows the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameShape {
    /// Length of the magic number and frame header: where the first block
    /// header starts.
    pub header_len: usize,
    /// Its Frame_Content_Size: what it decodes to.
    pub content_size: u64,
}

/// The Frame_Content_Size a frame must declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContentSize {
    /// Exactly this (a zstd chunk: the chunk's length, Z3).
    Exactly(u64),
    /// Within these bounds (a stream of a delta chunk, D1–D2).
    Within {
        /// The smallest size allowed.
        min: u64,
        /// The largest size allowed.
        max: u64,
    },
}

/// Checks that `stored` is exactly one zstd frame that follows Z1–Z6 for a
/// chunk of `chunk_len` bytes. Reads headers only: the cost is a few
/// operations per block, whatever the chunk decodes to.
pub(crate) fn check_frame(stored: &[u8], chunk_len: u64) -> Result<FrameShape, &'static str> {
    check_frame_of(stored, ContentSize::Exactly(chunk_len))
}

/// [`check_frame`] with the rule on Frame_Content_Size given: Z1–Z6 with
/// Z3 replaced by `size`.
pub(crate) fn check_frame_of(stored: &[u8], size: ContentSize) -> Result<FrameShape, &'static str> {
    // Z1: a zstd frame (not a skippable frame, nor a legacy format).
    if stored.get(..4) != Some(&ZSTD_MAGIC[..]) {
        return Err("zstd chunk does not start with a zstd frame (Z1)");
    }
    let fhd = *stored
        .get(4)
        .ok_or("zstd frame ends inside its header (Z1)")?;
    // Z2: the Frame_Header_Descriptor.
    if fhd & RESERVED_BIT != 0 {
        return Err("zstd frame header sets its Reserved_bit (Z2)");
    }
    if fhd & UNUSED_BIT != 0 {
        return Err("zstd frame header sets its Unused_bit (Z2)");
    }
    if fhd & DICTIONARY_ID_FLAG != 0 {
        return Err("zstd frame header has a Dictionary_ID field (Z2)");
    }
    if fhd & SINGLE_SEGMENT == 0 {
        return Err("zstd frame is not single-segment (Z2)");
    }
    // Z3: Frame_Content_Size, always present in a single-segment frame.
    let fcs_len: usize = match fhd >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let header_len = 5usize.saturating_add(fcs_len);
    let fcs_bytes = stored
        .get(5..header_len)
        .ok_or("zstd frame ends inside its header (Z1)")?;
    let mut le = [0u8; 8];
    if let Some(dst) = le.get_mut(..fcs_len) {
        dst.copy_from_slice(fcs_bytes);
    }
    let mut content_size = u64::from_le_bytes(le);
    if fcs_len == 2 {
        content_size = content_size.saturating_add(256);
    }
    let chunk_len = content_size;
    match size {
        ContentSize::Exactly(len) if content_size != len => {
            return Err("zstd Frame_Content_Size differs from the chunk's length (Z3)");
        }
        ContentSize::Within { min, max } if content_size < min || content_size > max => {
            return Err("zstd Frame_Content_Size is outside what D1-D2 allow for this stream");
        }
        _ => {}
    }
    // Z4, Z5: the blocks. Window_Size is Frame_Content_Size.
    let block_max = chunk_len.min(MAX_BLOCK_SIZE);
    let mut pos = header_len;
    // What Raw and RLE blocks decode to: never more than the chunk.
    let mut known_output: u64 = 0;
    loop {
        let h = stored
            .get(pos..pos.saturating_add(BLOCK_HEADER_LEN))
            .ok_or("zstd frame ends inside a block header (Z1)")?;
        let header = u32::from_le_bytes([
            h.first().copied().unwrap_or(0),
            h.get(1).copied().unwrap_or(0),
            h.get(2).copied().unwrap_or(0),
            0,
        ]);
        let last = header & 1 == 1;
        let size = u64::from(header >> 3);
        let content_len = match (header >> 1) & 3 {
            // Raw_Block: Block_Size bytes, decoding to themselves.
            0 => {
                if size > block_max {
                    return Err("zstd Raw block larger than Block_Maximum_Size (Z4)");
                }
                known_output = known_output.saturating_add(size);
                size
            }
            // RLE_Block: one byte, decoding to Block_Size bytes.
            1 => {
                if size > block_max {
                    return Err("zstd RLE block larger than Block_Maximum_Size (Z4)");
                }
                known_output = known_output.saturating_add(size);
                1
            }
            // Compressed_Block: Block_Size bytes, strictly fewer than
            // Block_Maximum_Size.
            2 => {
                if size >= block_max {
                    return Err("zstd Compressed block not smaller than Block_Maximum_Size (Z4)");
                }
                size
            }
            _ => return Err("zstd block of the Reserved type (Z4)"),
        };
        if known_output > chunk_len {
            return Err("zstd blocks decode to more than the chunk's length (Z7)");
        }
        pos = pos
            .saturating_add(BLOCK_HEADER_LEN)
            .saturating_add(usize::try_from(content_len).unwrap_or(usize::MAX));
        if pos > stored.len() {
            return Err("zstd frame ends inside a block (Z1)");
        }
        if last {
            break;
        }
    }
    // Z5, Z1: the checksum if the header says so, then nothing.
    if fhd & CHECKSUM_FLAG != 0 {
        pos = pos.saturating_add(CHECKSUM_LEN);
        if pos > stored.len() {
            return Err("zstd frame ends inside its Content_Checksum (Z1)");
        }
    }
    if pos != stored.len() {
        return Err("bytes follow the zstd frame in the chunk (Z1)");
    }
    Ok(FrameShape {
        header_len,
        content_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A single-segment frame of `blocks` (type, size, content) with a
    /// 4-byte Frame_Content_Size of `fcs`.
    fn frame(fhd_extra: u8, fcs: u32, blocks: &[(u32, u32, &[u8])], tail: &[u8]) -> Vec<u8> {
        let mut out = ZSTD_MAGIC.to_vec();
        out.push(0x80 | SINGLE_SEGMENT | fhd_extra);
        out.extend_from_slice(&fcs.to_le_bytes());
        for (i, (ty, size, content)) in blocks.iter().enumerate() {
            let last = u32::from(i + 1 == blocks.len());
            let h = (size << 3) | (ty << 1) | last;
            out.extend_from_slice(&h.to_le_bytes()[..3]);
            out.extend_from_slice(content);
        }
        out.extend_from_slice(tail);
        out
    }

    #[test]
    fn a_frame_that_follows_the_rules_passes() {
        let f = frame(0, 4096, &[(1, 4096, b"A")], &[]);
        assert_eq!(
            check_frame(&f, 4096),
            Ok(FrameShape {
                header_len: 9,
                content_size: 4096
            })
        );
        let f = frame(CHECKSUM_FLAG, 4096, &[(1, 4096, b"A")], &[1, 2, 3, 4]);
        assert!(check_frame(&f, 4096).is_ok());
    }

    #[test]
    fn each_rule_is_enforced() {
        let ok = frame(0, 4096, &[(1, 4096, b"A")], &[]);
        let mut skippable = vec![0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0];
        skippable.extend_from_slice(&ok);
        assert!(check_frame(&skippable, 4096).is_err());
        for bit in [RESERVED_BIT, UNUSED_BIT, 1, 2, 3] {
            assert!(check_frame(&frame(bit, 4096, &[(1, 4096, b"A")], &[]), 4096).is_err());
        }
        let mut multi = ok.clone();
        multi[4] &= !SINGLE_SEGMENT;
        assert!(check_frame(&multi, 4096).is_err());
        assert!(check_frame(&ok, 4095).is_err());
        assert!(check_frame(&frame(0, 200_000, &[(1, 131_073, b"A")], &[]), 200_000).is_err());
        assert!(check_frame(&frame(0, 200_000, &[(1, 131_072, b"A")], &[]), 200_000).is_ok());
        assert!(check_frame(&frame(0, 100, &[(0, 101, &[0; 101])], &[]), 100).is_err());
        let big = vec![0u8; 131_072];
        assert!(check_frame(&frame(0, 200_000, &[(2, 131_072, &big)], &[]), 200_000).is_err());
        assert!(check_frame(&frame(0, 4096, &[(3, 1, b"A")], &[]), 4096).is_err());
        assert!(check_frame(&frame(0, 4096, &[(1, 4096, b"A")], &[0]), 4096).is_err());
        assert!(check_frame(&frame(CHECKSUM_FLAG, 4096, &[(1, 4096, b"A")], &[1]), 4096).is_err());
        assert!(
            check_frame(
                &frame(0, 4096, &[(1, 2048, b"A"), (1, 4096, b"A")], &[]),
                4096
            )
            .is_err()
        );
        for n in 0..ok.len() {
            assert!(check_frame(&ok[..n], 4096).is_err());
        }
    }
}
