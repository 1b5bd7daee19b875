//! The chunk index of a payload: one fixed 40-byte entry per chunk.
//!
//! ```text
//! offset size field
//!  0     4    stored_len  u32 LE: length of the chunk's stored bytes
//!  4     1    encoding    0 raw, 1 zstd frame, 2 delta
//!  5     3    reserved    0
//!  8     32   digest      SHA-256 of the chunk's stored bytes
//! ```

use crate::digest::Digest;
use crate::error::PayloadError;
use crate::manifest::{Compression, PayloadDescriptor};

/// Length of one chunk-index entry.
pub const CHUNK_ENTRY_LEN: usize = 40;

/// How a chunk is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkEncoding {
    /// The chunk's bytes as they are.
    Raw = 0,
    /// One zstd frame that decompresses to the chunk's bytes.
    Zstd = 1,
    /// A header and up to five zstd frames of operations, which rebuild
    /// the chunk's bytes from the payload's base (SPEC.md D1–D4).
    Delta = 2,
}

/// One entry of a chunk index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkEntry {
    /// Length of the stored bytes.
    pub stored_len: u32,
    /// How the chunk is stored.
    pub encoding: ChunkEncoding,
    /// SHA-256 of the stored bytes.
    pub digest: Digest,
}

impl ChunkEntry {
    /// Encodes the entry.
    pub fn to_bytes(&self) -> [u8; CHUNK_ENTRY_LEN] {
        let mut out = [0u8; CHUNK_ENTRY_LEN];
        out[..4].copy_from_slice(&self.stored_len.to_le_bytes());
        out[4] = self.encoding as u8;
        out[8..].copy_from_slice(&self.digest.0);
        out
    }
}

/// Authenticates and parses the chunk index of one payload.
///
/// The index bytes are first hashed and compared with the descriptor's
/// `index_digest` (which the signed manifest carries); only then are they
/// parsed and checked against the descriptor: every raw chunk holds exactly
/// its uncompressed length, every zstd chunk is strictly smaller than it,
/// and the stored lengths add up to `stored_size`.
pub fn parse_chunk_index(
    bytes: &[u8],
    desc: &PayloadDescriptor,
) -> Result<Vec<ChunkEntry>, PayloadError> {
    let bad = |reason: String| PayloadError::BadIndex {
        payload: desc.name.to_string(),
        reason,
    };
    if Some(bytes.len() as u64) != desc.index_len() {
        return Err(bad(format!(
            "index is {} bytes, the manifest says {} chunks",
            bytes.len(),
            desc.chunk_count
        )));
    }
    if Digest::of(bytes) != desc.index_digest {
        return Err(PayloadError::IndexDigest {
            payload: desc.name.to_string(),
        });
    }
    let mut entries = Vec::with_capacity(bytes.len() / CHUNK_ENTRY_LEN);
    let mut stored_total = 0u64;
    for (i, raw) in bytes.chunks_exact(CHUNK_ENTRY_LEN).enumerate() {
        let i = i as u64;
        let Ok(&[l0, l1, l2, l3, encoding, r0, r1, r2, ref digest @ ..]) =
            <&[u8; CHUNK_ENTRY_LEN]>::try_from(raw)
        else {
            return Err(bad(format!("chunk {i}: short entry")));
        };
        let stored_len = u32::from_le_bytes([l0, l1, l2, l3]);
        if [r0, r1, r2] != [0, 0, 0] {
            return Err(bad(format!("chunk {i}: reserved bytes are not zero")));
        }
        let chunk_len = desc
            .chunk_len(i)
            .ok_or_else(|| bad(format!("chunk {i} is past the end")))?;
        let encoding = match encoding {
            0 => {
                if stored_len != chunk_len {
                    return Err(bad(format!(
                        "chunk {i}: raw chunk of {stored_len} bytes, expected {chunk_len}"
                    )));
                }
                ChunkEncoding::Raw
            }
            1 | 2 => {
                let (encoding, what) = if encoding == 1 {
                    (ChunkEncoding::Zstd, "zstd")
                } else {
                    (ChunkEncoding::Delta, "delta")
                };
                let allowed = match desc.compression {
                    Compression::Zstd => encoding == ChunkEncoding::Zstd,
                    Compression::Delta(_) => true,
                    Compression::None | Compression::Unchanged => false,
                };
                if !allowed {
                    return Err(bad(format!(
                        "chunk {i}: {what} chunk in a payload stored as {}",
                        desc.compression.name()
                    )));
                }
                if stored_len == 0 || stored_len >= chunk_len {
                    return Err(bad(format!(
                        "chunk {i}: {what} chunk must be 1 to {} bytes, is {stored_len}",
                        chunk_len.saturating_sub(1)
                    )));
                }
                encoding
            }
            other => return Err(bad(format!("chunk {i}: unknown encoding {other}"))),
        };
        let d = Digest(*digest);
        stored_total = stored_total.saturating_add(u64::from(stored_len));
        entries.push(ChunkEntry {
            stored_len,
            encoding,
            digest: d,
        });
    }
    if stored_total != desc.stored_size {
        return Err(bad(format!(
            "chunks hold {stored_total} bytes, the manifest says {}",
            desc.stored_size
        )));
    }
    Ok(entries)
}
