//! `hpk-format`: the bytes of an hpk package, trust root and catalog.
//!
//! This crate knows the container layout (a fixed header, fixed-size
//! signature records, a metadata body, chunk indexes and a payload area),
//! the metadata types and their canonical encoding, the chunked payload
//! reader, and the [`Limits`] that bound every length. It holds no keys,
//! no policy and no writer of payloads: `hpk-verify` decides what to trust,
//! and `hpk-sign` writes payloads and makes signatures.
//!
//! The normative description is `spec/SPEC.md`.
#![forbid(unsafe_code)]
// Input must never make this crate panic: no indexing that can go out of
// bounds, no arithmetic that can overflow (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod base_read;
mod catalog;
mod chunk_compressor;
mod chunk_index;
mod codec;
mod container;
mod delta;
mod digest;
mod error;
mod extension;
mod header;
mod limits;
mod manifest;
mod names;
mod payload_reader;
mod signature;
mod trust_root;
mod varint;
mod version;
mod well_known;
mod zstd_frame;

pub use base_read::{BaseRead, CachedBase};
pub use catalog::{Catalog, CatalogEntry, DeltaOf, MAX_LOCATION_LEN};
pub use chunk_compressor::{DEFAULT_ZSTD_LEVEL, chunk_compressor};
pub use chunk_index::{CHUNK_ENTRY_LEN, ChunkEncoding, ChunkEntry, parse_chunk_index};
pub use codec::{Canonical, decode, encode, encode_into, encoded_len};
pub use container::{
    ContainerView, Head, MAX_STATEMENT_LEN, encode_head, expect_end, read_head, read_partial,
    signed_statement, statement_for_digest,
};
pub use delta::{
    DELTA_ADD, DELTA_COPY, DELTA_HEADER_LEN, DELTA_INSERT, DELTA_MODE_DENSE, DELTA_MODE_SPARSE,
    DELTA_STREAMS, max_delta_ops, max_delta_ops_stream_len,
};
pub use digest::{Digest, KeyId};
pub use error::{
    ContainerError, DecodeError, ErrorClass, LimitExceeded, PayloadError, Section, WriteError,
};
pub use extension::{EXT_NOTE, EXT_PRIVATE_START, Extension, unknown_critical};
pub use header::{FORMAT_MAJOR, FORMAT_MINOR, FileType, HEADER_LEN, Header, Layout, MAGIC};
pub use limits::{DEFAULT_CHUNK_SIZE, Limits, MAX_BODY_LEN, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE};
pub use manifest::{
    BaselineInfo, Channel, Compression, DeltaBase, HotpatchInfo, Link, Manifest, PackageKind,
    PatchedModule, PayloadDescriptor, Targets,
};
pub use names::{
    MAX_PACKAGE_NAME_LEN, MAX_PAYLOAD_NAME_DEPTH, MAX_PAYLOAD_NAME_LEN, MAX_TOKEN_LEN, NameError,
    PackageName, PayloadName, Token,
};
pub use payload_reader::{ChunkDecoder, PayloadReader, check_chunk};
pub use signature::{ALG_ED25519, SIGNATURE_RECORD_LEN, SignatureRecord, canonicalize_signatures};
pub use trust_root::{Role, RoleName, Roles, TrustRoot, TrustedKey};
pub use varint::{MAX_VARINT_LEN, put_varint, read_varint, unzigzag, zigzag};
pub use version::{MAX_VERSION_PARTS, Version, VersionError};
pub use well_known::TokenCategory;
