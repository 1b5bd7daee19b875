//! Reading a payload chunk by chunk: every chunk's stored bytes are hashed
//! and matched against the authenticated chunk index before the
//! decompressor sees them, and decompression is capped at the chunk's
//! declared size.

use crate::chunk_index::{ChunkEncoding, ChunkEntry};
use crate::digest::Digest;
use crate::error::PayloadError;
use crate::manifest::PayloadDescriptor;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};

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

/// The zstd frame magic number, little-endian (RFC 8878, 3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// A zstd chunk must be exactly one standard frame: no skippable frame, no
/// second frame, no legacy format, nothing after the frame.
fn check_single_frame(stored: &[u8]) -> Result<(), &'static str> {
    if stored.get(..4) != Some(&ZSTD_MAGIC[..]) {
        return Err("zstd chunk does not start with a zstd frame");
    }
    match zstd::zstd_safe::find_frame_compressed_size(stored) {
        Ok(n) if n == stored.len() => Ok(()),
        Ok(_) => Err("zstd chunk holds more than one frame"),
        Err(_) => Err("zstd chunk holds a damaged frame"),
    }
}

/// Decodes checked chunks, reusing one zstd context.
pub struct ChunkDecoder {
    zstd: zstd::bulk::Decompressor<'static>,
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
        Ok(ChunkDecoder {
            zstd: zstd::bulk::Decompressor::new().map_err(PayloadError::Io)?,
        })
    }

    /// Checks `stored` against `entry`, then decodes it into `out`
    /// (replacing its content). `out` never grows past the chunk's declared
    /// length, and anything but exactly that length is an error.
    pub fn decode(
        &mut self,
        desc: &PayloadDescriptor,
        chunk: u64,
        entry: &ChunkEntry,
        stored: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), PayloadError> {
        let chunk_len = checked_len(desc, chunk, entry, stored)?;
        out.clear();
        out.resize(chunk_len, 0);
        self.decode_checked(desc, chunk, entry, stored, out)
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
        self.decode_checked(desc, chunk, entry, stored, out)
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
                check_single_frame(stored).map_err(|r| size_error(r.to_owned()))?;
                self.zstd.decompress_to_buffer(stored, out).map_err(|e| {
                    size_error(format!(
                        "zstd frame does not decode within its declared {chunk_len} bytes: {e}"
                    ))
                })?
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
