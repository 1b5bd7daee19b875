//! Reading a payload chunk by chunk: every chunk's stored bytes are hashed
//! and matched against the authenticated chunk index before the
//! decompressor sees them, and decompression is capped at the chunk's
//! declared size.

use crate::base_read::BaseRead;
use crate::chunk_index::{ChunkEncoding, ChunkEntry};
use crate::delta::{DeltaBuffers, DeltaFault, decode_delta_chunk};
use crate::digest::Digest;
use crate::error::PayloadError;
use crate::manifest::{Compression, PayloadDescriptor};
use crate::zstd_frame::check_frame;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};
use zstd::zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer, ResetDirective};

/// Checks a chunk's stored bytes against its index entry.
pub fn check_chunk(
    desc: &PayloadDescriptor,
    chunk: u64,
    entry: &ChunkEntry,
    stored: &[u8],
) -> Result<(), PayloadError> {
    if stored.len() as u64 != u64::from(entry.stored_len) || Digest::of(stored) != entry.digest {
        return Err(PayloadError::ChunkDigest {
            payload: desc.name.to_string(),
            chunk,
        });
    }
    Ok(())
}

/// Decodes checked chunks, reusing one zstd context (and, for delta
/// chunks, the buffers of their streams).
pub struct ChunkDecoder {
    zstd: DCtx<'static>,
    delta: DeltaBuffers,
}

/// Checks `stored` against `entry` (digest first), then returns the
/// chunk's declared length.
fn checked_len(
    desc: &PayloadDescriptor,
    chunk: u64,
    entry: &ChunkEntry,
    stored: &[u8],
) -> Result<usize, PayloadError> {
    check_chunk(desc, chunk, entry, stored)?;
    let len = desc
        .chunk_len(chunk)
        .ok_or_else(|| past_the_end(desc, chunk))?;
    Ok(len as usize)
}

impl ChunkDecoder {
    /// A new decoder.
    pub fn new() -> Result<ChunkDecoder, PayloadError> {
        let mut zstd = DCtx::try_create()
            .ok_or_else(|| io::Error::other("cannot create a zstd decompression context"))
            .map_err(PayloadError::Io)?;
        // Decode straight into the caller's buffer, block by block.
        zstd.set_parameter(DParameter::StableOutBuffer(true))
            .map_err(|e| PayloadError::Io(io::Error::other(zstd::zstd_safe::get_error_name(e))))?;
        Ok(ChunkDecoder {
            zstd,
            delta: DeltaBuffers::default(),
        })
    }

    /// Checks `stored` against `entry`, then decodes it into `out`
    /// (replacing its content). `out` never grows past the chunk's declared
    /// length, and anything but exactly that length is an error. A zstd
    /// chunk must follow SPEC.md Z1–Z7 (one single-segment frame of the
    /// chunk's length, no dictionary, bounded blocks, a checksum that
    /// matches if present): its headers are checked before it is decoded.
    pub fn decode(
        &mut self,
        desc: &PayloadDescriptor,
        chunk: u64,
        entry: &ChunkEntry,
        stored: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), PayloadError> {
        self.decode_with_base(desc, chunk, entry, stored, out, None)
    }

    /// [`ChunkDecoder::decode`] for a payload that may be a delta: a delta
    /// chunk (D1–D5) is rebuilt from `base`, which the caller has checked
    /// against the payload's base digest and size. A delta chunk with no
    /// base is an error.
    pub fn decode_with_base(
        &mut self,
        desc: &PayloadDescriptor,
        chunk: u64,
        entry: &ChunkEntry,
        stored: &[u8],
        out: &mut Vec<u8>,
        base: Option<&dyn BaseRead>,
    ) -> Result<(), PayloadError> {
        let chunk_len = checked_len(desc, chunk, entry, stored)?;
        out.clear();
        out.resize(chunk_len, 0);
        self.decode_checked(desc, chunk, entry, stored, out, base)
    }

    /// Like [`ChunkDecoder::decode`], but into `out`, a buffer of exactly
    /// the chunk's declared length (see [`PayloadDescriptor::chunk_len`]),
    /// so that a caller can decode many chunks into one buffer without
    /// copying them. A buffer of another length is an error (after the
    /// digest check).
    pub fn decode_to_slice(
        &mut self,
        desc: &PayloadDescriptor,
        chunk: u64,
        entry: &ChunkEntry,
        stored: &[u8],
        out: &mut [u8],
    ) -> Result<(), PayloadError> {
        self.decode_to_slice_with_base(desc, chunk, entry, stored, out, None)
    }

    /// [`ChunkDecoder::decode_to_slice`] with the payload's base, as in
    /// [`ChunkDecoder::decode_with_base`].
    pub fn decode_to_slice_with_base(
        &mut self,
        desc: &PayloadDescriptor,
        chunk: u64,
        entry: &ChunkEntry,
        stored: &[u8],
        out: &mut [u8],
        base: Option<&dyn BaseRead>,
    ) -> Result<(), PayloadError> {
        let chunk_len = checked_len(desc, chunk, entry, stored)?;
        if out.len() != chunk_len {
            return Err(PayloadError::ChunkSize {
                payload: desc.name.to_string(),
                chunk,
                reason: format!(
                    "output buffer of {} bytes for a chunk of {chunk_len} bytes",
                    out.len()
                ),
            });
        }
        self.decode_checked(desc, chunk, entry, stored, out, base)
    }

    /// Decodes a chunk whose digest matched into `out`, which is exactly
    /// the chunk's declared length (see `checked_len`).
    fn decode_checked(
        &mut self,
        desc: &PayloadDescriptor,
        chunk: u64,
        entry: &ChunkEntry,
        stored: &[u8],
        out: &mut [u8],
        base: Option<&dyn BaseRead>,
    ) -> Result<(), PayloadError> {
        let chunk_len = out.len();
        let size_error = |reason: String| PayloadError::ChunkSize {
            payload: desc.name.to_string(),
            chunk,
            reason,
        };
        let written = match entry.encoding {
            ChunkEncoding::Raw => {
                if let Some(dst) = out.get_mut(..stored.len()) {
                    dst.copy_from_slice(stored);
                }
                stored.len()
            }
            ChunkEncoding::Zstd => {
                let shape = check_frame(stored, chunk_len as u64).map_err(|r| {
                    size_error(format!("zstd chunk of {chunk_len} bytes refused: {r}"))
                })?;
                self.decode_frame(stored, shape.header_len, out)
                    .map_err(|e| {
                        size_error(format!(
                            "zstd chunk of {chunk_len} bytes does not decode (Z7): {e}"
                        ))
                    })?
            }
            ChunkEncoding::Delta => {
                self.decode_delta(desc, chunk, stored, out, base)?;
                chunk_len
            }
        };
        if written != chunk_len {
            return Err(size_error(format!(
                "decodes to {written} bytes, declared {chunk_len}"
            )));
        }
        Ok(())
    }
}

impl ChunkDecoder {
    /// Decodes a delta chunk (D1–D4) into `out` from `base`, checked by
    /// the caller (D5).
    fn decode_delta(
        &mut self,
        desc: &PayloadDescriptor,
        chunk: u64,
        stored: &[u8],
        out: &mut [u8],
        base: Option<&dyn BaseRead>,
    ) -> Result<(), PayloadError> {
        let chunk_len = out.len();
        let Compression::Delta(delta_base) = desc.compression else {
            return Err(PayloadError::ChunkSize {
                payload: desc.name.to_string(),
                chunk,
                reason: "delta chunk in a payload that is not a delta".into(),
            });
        };
        let Some(base) = base else {
            return Err(PayloadError::MissingBase {
                payload: desc.name.to_string(),
                base: delta_base.digest,
                reason: "no base was given".into(),
            });
        };
        let mut buffers = std::mem::take(&mut self.delta);
        let result = decode_delta_chunk(
            stored,
            base,
            delta_base.size,
            out,
            &mut buffers,
            &mut |frame, header_len, into| self.decode_frame(frame, header_len, into),
        );
        self.delta = buffers;
        result.map_err(|fault| match fault {
            DeltaFault::Rule(reason) => PayloadError::ChunkSize {
                payload: desc.name.to_string(),
                chunk,
                reason: format!("delta chunk of {chunk_len} bytes refused: {reason}"),
            },
            DeltaFault::Base(e) => PayloadError::MissingBase {
                payload: desc.name.to_string(),
                base: delta_base.digest,
                reason: format!("reading the base failed: {e}"),
            },
        })
    }

    /// Decodes a frame that passed `check_frame` into `out`, returning the
    /// number of bytes written. The frame header goes in first, alone, so
    /// that zstd decodes block by block (checking that no block decodes to
    /// more than Block_Maximum_Size, Z7) rather than in one shot, which does
    /// not check it. Output goes straight into `out`, never past its end.
    fn decode_frame(
        &mut self,
        stored: &[u8],
        header_len: usize,
        out: &mut [u8],
    ) -> Result<usize, &'static str> {
        let name = zstd::zstd_safe::get_error_name;
        self.zstd.reset(ResetDirective::SessionOnly).map_err(name)?;
        let (head, blocks) = stored
            .split_at_checked(header_len)
            .ok_or("frame shorter than its header")?;
        let mut output = OutBuffer::around(out);
        let mut input = InBuffer::around(head);
        self.zstd
            .decompress_stream(&mut output, &mut input)
            .map_err(name)?;
        if input.pos() != head.len() || output.pos() != 0 {
            return Err("frame header not consumed");
        }
        let mut input = InBuffer::around(blocks);
        // Every block is in `blocks` and `out` holds the whole content, so
        // each call makes progress; a frame has at most one block per
        // three bytes, plus its checksum.
        let mut calls = (blocks.len() / 3).saturating_add(2);
        loop {
            let before = (input.pos(), output.pos());
            let hint = self
                .zstd
                .decompress_stream(&mut output, &mut input)
                .map_err(name)?;
            if hint == 0 {
                break;
            }
            calls = calls.saturating_sub(1);
            if (input.pos(), output.pos()) == before || calls == 0 {
                return Err("frame ends early");
            }
        }
        if input.pos() != blocks.len() {
            return Err("bytes follow the frame");
        }
        Ok(output.pos())
    }
}

/// The error for a chunk number past the payload's last chunk.
fn past_the_end(desc: &PayloadDescriptor, chunk: u64) -> PayloadError {
    PayloadError::ChunkSize {
        payload: desc.name.to_string(),
        chunk,
        reason: "chunk is past the end of the payload".into(),
    }
}

/// Reads one payload's stored bytes from a stream and hands out its
/// content chunk by chunk, each one checked before it is decoded, and the
/// whole content checked against its SHA-256 at the end.
pub struct PayloadReader<'d, R> {
    desc: &'d PayloadDescriptor,
    entries: &'d [ChunkEntry],
    input: R,
    next: u64,
    stored: Vec<u8>,
    out: Vec<u8>,
    decoder: ChunkDecoder,
    content: Sha256,
}

impl<'d, R: Read> PayloadReader<'d, R> {
    /// A reader over `input`, positioned at the payload's first stored byte.
    /// `entries` must come from [`crate::parse_chunk_index`] for `desc`.
    pub fn new(
        desc: &'d PayloadDescriptor,
        entries: &'d [ChunkEntry],
        input: R,
    ) -> Result<Self, PayloadError> {
        Ok(PayloadReader {
            desc,
            entries,
            input,
            next: 0,
            stored: Vec::new(),
            out: Vec::new(),
            decoder: ChunkDecoder::new()?,
            content: Sha256::new(),
        })
    }

    /// The next chunk of content, or `None` after the last one, once the
    /// content SHA-256 has matched.
    pub fn next_chunk(&mut self) -> Result<Option<&[u8]>, PayloadError> {
        let i = self.next;
        let Some(entry) = self.entries.get(i as usize) else {
            let digest = Digest(std::mem::take(&mut self.content).finalize().into());
            if digest != self.desc.content_digest {
                return Err(PayloadError::ContentDigest {
                    payload: self.desc.name.to_string(),
                });
            }
            return Ok(None);
        };
        self.stored.resize(entry.stored_len as usize, 0);
        self.input
            .read_exact(&mut self.stored)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => PayloadError::Truncated {
                    payload: self.desc.name.to_string(),
                    chunk: i,
                },
                _ => PayloadError::Io(e),
            })?;
        self.decoder
            .decode(self.desc, i, entry, &self.stored, &mut self.out)?;
        self.content.update(&self.out);
        self.next = i.saturating_add(1);
        Ok(Some(&self.out))
    }

    /// Reads the whole payload, passing each checked chunk to `sink`.
    pub fn for_each_chunk(
        mut self,
        mut sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<R, PayloadError> {
        while let Some(chunk) = self.next_chunk()? {
            sink(chunk).map_err(PayloadError::Io)?;
        }
        Ok(self.input)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    /// A single-segment frame of `ml` + 4 + `tail` bytes 'A': one
    /// Compressed block of 10 bytes (4 RLE literals, then one match of
    /// length `ml` at offset 1), then, if `tail` > 0, an RLE block of
    /// `tail` bytes. Its header is 9 bytes long.
    fn long_match_frame(ml: u32, tail: u32) -> Vec<u8> {
        let total = ml + 4 + tail;
        let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0xA0];
        f.extend_from_slice(&total.to_le_bytes());
        let bits = (1u32 << 18) | (ml - 65539);
        let mut content = vec![0x21, b'A', 1, 0b0101_0100, 4, 2, 52];
        content.extend_from_slice(&bits.to_le_bytes()[..3]);
        let header = (10u32 << 3) | (2 << 1) | u32::from(tail == 0);
        f.extend_from_slice(&header.to_le_bytes()[..3]);
        f.extend(content);
        if tail > 0 {
            let header = (tail << 3) | (1 << 1) | 1;
            f.extend_from_slice(&header.to_le_bytes()[..3]);
            f.push(b'A');
        }
        f
    }

    #[test]
    fn a_block_decoding_past_block_maximum_size_is_refused_though_one_shot_zstd_takes_it() {
        let mut out = vec![0u8; 131_078];
        // One block of 131078 bytes: more than 128 KiB (Z7).
        let over = long_match_frame(131_074, 0);
        assert_eq!(check_frame(&over, 131_078).map(|s| s.header_len), Ok(9));
        let mut one_shot = zstd::bulk::Decompressor::new().unwrap();
        assert_eq!(
            one_shot.decompress_to_buffer(&over, &mut out[..]).unwrap(),
            131_078
        );
        let mut decoder = ChunkDecoder::new().unwrap();
        assert!(decoder.decode_frame(&over, 9, &mut out).is_err());
        // A block of exactly 128 KiB, then 6 bytes: accepted.
        let at_max = long_match_frame(131_068, 6);
        out.fill(0);
        assert_eq!(decoder.decode_frame(&at_max, 9, &mut out), Ok(131_078));
        assert!(out.iter().all(|&b| b == b'A'));
    }
}
