//! Low-level builders: the wire encoding without validation, signature
//! records, package files from hand-made sections, byte patches.

use hpk_format::{
    CHUNK_ENTRY_LEN, Compression, Digest, FileType, Limits, PayloadDescriptor, PayloadName,
    SignatureRecord, encode_head,
};
use hpk_tests::TestKey;
use serde::Serialize;

/// The canonical wire encoding of `value` (bincode, little-endian,
/// fixed-width integers) *without* the structure's own checks, so that
/// vectors can hold bodies an honest writer refuses to produce.
pub fn wire<T: Serialize>(value: &T) -> Vec<u8> {
    let config = bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding();
    bincode::serde::encode_to_vec(value, config).expect("wire encoding")
}

/// Checked encoding of a valid structure; also asserts that it equals the
/// unchecked one, so both paths of the generator write the same bytes.
pub fn encode_valid<T: hpk_format::Canonical>(value: &T) -> Vec<u8> {
    let bytes = hpk_format::encode(value, &Limits::default()).expect("valid structure");
    assert_eq!(bytes, wire(value), "checked and unchecked encodings differ");
    bytes
}

/// Records by `signers` over a body of `file_type`.
pub fn records(file_type: FileType, body: &[u8], signers: &[&TestKey]) -> Vec<SignatureRecord> {
    signers.iter().map(|k| k.record(file_type, body)).collect()
}

/// A package file from its sections and signature records.
pub fn package_with(
    records: &[SignatureRecord],
    body: &[u8],
    index: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut out = encode_head(
        FileType::Package,
        records,
        body,
        index.len() as u64,
        payload.len() as u64,
    )
    .expect("encode head");
    out.extend_from_slice(index);
    out.extend_from_slice(payload);
    out
}

/// A package file from its sections, signed by `signers`.
pub fn package(signers: &[&TestKey], body: &[u8], index: &[u8], payload: &[u8]) -> Vec<u8> {
    package_with(
        &records(FileType::Package, body, signers),
        body,
        index,
        payload,
    )
}

/// A trust-root or catalog file around `body`, signed by `signers`.
pub fn metadata(file_type: FileType, signers: &[&TestKey], body: &[u8]) -> Vec<u8> {
    encode_head(file_type, &records(file_type, body, signers), body, 0, 0).expect("encode head")
}

/// Replaces the one occurrence of `from` in `bytes` by `to` (same length).
pub fn replace_unique(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len(), "replacement changes the length");
    let hits: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "{:?} occurs {} times", from, hits.len());
    bytes[hits[0]..hits[0] + to.len()].copy_from_slice(to);
}

/// The offset of the first byte where `a` and `b` differ.
pub fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.len().min(b.len()))
}

/// Writes a little-endian u64 at `at`.
pub fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// Writes a little-endian u16 at `at`.
pub fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// One hand-made chunk: its index entry and its stored bytes.
#[derive(Clone)]
pub struct Chunk {
    /// Stored bytes.
    pub stored: Vec<u8>,
    /// Index `stored_len` (normally the stored length).
    pub stored_len: u32,
    /// Index encoding byte.
    pub encoding: u8,
    /// Index reserved bytes 5–7.
    pub reserved: [u8; 3],
    /// Index digest (normally SHA-256 of the stored bytes).
    pub digest: Digest,
}

impl Chunk {
    /// A raw chunk.
    pub fn raw(stored: &[u8]) -> Chunk {
        Chunk::new(0, stored)
    }

    /// A zstd chunk.
    pub fn zstd(stored: &[u8]) -> Chunk {
        Chunk::new(1, stored)
    }

    /// A delta chunk (SPEC.md D1): `stored` is a delta header and the
    /// zstd frames of its streams.
    pub fn delta(stored: &[u8]) -> Chunk {
        Chunk::new(2, stored)
    }

    fn new(encoding: u8, stored: &[u8]) -> Chunk {
        Chunk {
            stored: stored.to_vec(),
            stored_len: u32::try_from(stored.len()).expect("small chunk"),
            encoding,
            reserved: [0; 3],
            digest: Digest::of(stored),
        }
    }

    fn entry(&self) -> [u8; CHUNK_ENTRY_LEN] {
        let mut out = [0u8; CHUNK_ENTRY_LEN];
        out[..4].copy_from_slice(&self.stored_len.to_le_bytes());
        out[4] = self.encoding;
        out[5..8].copy_from_slice(&self.reserved);
        out[8..].copy_from_slice(&self.digest.0);
        out
    }
}

/// A payload made by hand: descriptor, chunk index and stored bytes.
#[derive(Clone)]
pub struct RawPayload {
    /// The descriptor (fill-in from the chunks; edit it to break rules).
    pub descriptor: PayloadDescriptor,
    /// The chunk index.
    pub index: Vec<u8>,
    /// The stored bytes.
    pub stored: Vec<u8>,
}

/// A payload of `size` content bytes cut into `chunk_size` chunks, stored
/// as `chunks`, whose content SHA-256 is `content`. The descriptor's
/// stored size, chunk count and index digest follow from `chunks`.
pub fn raw_payload(
    name: &str,
    compression: Compression,
    size: u64,
    chunk_size: u32,
    chunks: &[Chunk],
    content: Digest,
) -> RawPayload {
    let mut index = Vec::new();
    let mut stored = Vec::new();
    for c in chunks {
        index.extend_from_slice(&c.entry());
        stored.extend_from_slice(&c.stored);
    }
    RawPayload {
        descriptor: PayloadDescriptor {
            name: PayloadName::new(name).expect("payload name"),
            executable: false,
            compression,
            size,
            stored_size: stored.len() as u64,
            chunk_size,
            chunk_count: chunks.len() as u64,
            index_digest: Digest::of(&index),
            content_digest: content,
        },
        index,
        stored,
    }
}

/// `s` + L, the order of the Ed25519 group, as a 32-byte little-endian
/// scalar: the same signature with a non-canonical S.
pub fn add_group_order(s: &[u8]) -> [u8; 32] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L overflows 256 bits");
    out
}
