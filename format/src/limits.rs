//! Resource limits checked before any allocation or decompression.
//!
//! A package declares its own sizes in signed data; these local limits cap
//! what a reader is willing to process. [`Limits::default`] is the profile
//! every implementation must accept at least (see `spec/SPEC.md`, "Limits").

/// Smallest chunk size a writer may choose, in bytes (4 KiB).
pub const MIN_CHUNK_SIZE: u32 = 4 * 1024;
/// Largest chunk size any reader must accept, in bytes (16 MiB).
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// Chunk size writers use unless told otherwise, in bytes (1 MiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 1024 * 1024;
/// Hard upper bound on a metadata body (manifest, trust root, catalog): 64 MiB.
///
/// No [`Limits`] value can raise the body limit above this; it is also the
/// size limit handed to the decoder.
pub const MAX_BODY_LEN: u64 = 64 * 1024 * 1024;

/// Local resource limits for reading packages, trust roots and catalogs.
///
/// Every field is an inclusive upper bound. A value above the format's hard
/// maximum (for example [`MAX_BODY_LEN`]) is clamped to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest metadata body (manifest, trust root, catalog) in bytes.
    /// Default: 32 MiB, room for the manifest of 100,000 payloads whose
    /// names average up to about 230 bytes.
    pub max_body_len: u64,
    /// Most signature records in one file. Default: 32.
    pub max_signatures: u16,
    /// Most payloads in one package. Default: 131,072 (2^17), so that an
    /// OS update of 100,000 files fits.
    pub max_payloads: u32,
    /// Largest chunk size a package may declare, in bytes. Default: 16 MiB.
    pub max_chunk_size: u32,
    /// Most chunks over all payloads of one package. Default: 1,048,576
    /// (so the chunk indexes stay under 40 MiB).
    pub max_chunks: u64,
    /// Largest uncompressed size over all payloads, in bytes. Default: 64 GiB.
    pub max_total_size: u64,
    /// Most entries in a list inside metadata (targets, modules,
    /// revocations, extensions, keys, catalog entries). Default: 4096.
    pub max_list_len: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_len: 32 * 1024 * 1024,
            max_signatures: 32,
            max_payloads: 1 << 17,
            max_chunk_size: MAX_CHUNK_SIZE,
            max_chunks: 1 << 20,
            max_total_size: 64 << 30,
            max_list_len: 4096,
        }
    }
}

impl Limits {
    /// The body limit actually in force: `max_body_len` clamped to
    /// [`MAX_BODY_LEN`].
    pub fn body_len(&self) -> u64 {
        self.max_body_len.min(MAX_BODY_LEN)
    }

    /// The largest trust-root or catalog file a reader accepts within
    /// these limits: the header, the most signature records and the
    /// largest body (such files have no index section and no payload
    /// area). A client that fetches one reads at most this many bytes,
    /// and one more to see that nothing follows.
    pub fn max_document_len(&self) -> u64 {
        (crate::header::HEADER_LEN as u64)
            .saturating_add(
                u64::from(self.max_signatures)
                    .saturating_mul(crate::signature::SIGNATURE_RECORD_LEN as u64),
            )
            .saturating_add(self.body_len())
    }

    /// The chunk-size limit actually in force: `max_chunk_size` clamped to
    /// [`MAX_CHUNK_SIZE`].
    pub fn chunk_size(&self) -> u32 {
        self.max_chunk_size.min(MAX_CHUNK_SIZE)
    }
}
