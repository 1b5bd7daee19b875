//! `hpk-sign`: what release engineers use.
//!
//! Key generation and key files, package building from a description
//! (with the chunked payload writer), signing with a local key or an
//! external signer, and authoring of trust roots and catalogs.
#![forbid(unsafe_code)]

pub mod build;
pub mod catalog;
mod delta;
mod delta_from;
mod delta_streams;
pub mod description;
mod error;
pub mod keys;
pub mod metadata;
mod payload_writer;
mod pipeline;
pub mod pkcs11_uri;
pub mod root;
pub mod signer;
pub mod signing;
mod time;
pub mod tree;

// Written atomically with hpk-verify's writer, which device profiles use too.
pub use build::{
    BuildError, BuildOptions, BuildProgress, BuiltPackage, build_package, source_date_epoch,
};
pub use delta_from::{DeltaFrom, DeltaFromError};
pub use description::{
    BaselineRef, DescriptionError, Globs, KindDescription, MAX_DESCRIPTION_LEN, PackageDescription,
    PayloadSource, TreeSource, UnknownToken, Unsupported,
};
pub use error::SignError;
pub use hpk_verify::{AtomicFile, TEMP_SUFFIX, remove_temp_files, write_atomically};
pub use keys::{KeyError, KeyId, PublicKey, SecretKey};
pub use payload_writer::{ChunkingOptions, WrittenPayload, write_payload};
pub use pkcs11_uri::{Pin, Pkcs11Uri, UriError, UriPin};
pub use root::{RoleKeys, RoleSpec, RootEditError, RotationError, SaveOutcome};
pub use signer::{CommandSigner, Pkcs11Signer, STATEMENT_FILE_ENV, Signer, SignerError};
pub use signing::{SignOptions, SignOutcome, add_signature, attach, sign_file, sign_package, tbs};
pub use tree::{Entries, Skipped};
