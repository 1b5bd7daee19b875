//! `hpk-sign`: what release engineers use.
//!
//! Key generation and key files, package building from a description,
//! signing with a local key or an external signer, and authoring of trust
//! roots and catalogs.
#![forbid(unsafe_code)]

pub mod keys;

pub use keys::{KeyError, KeyId, PublicKey, SecretKey};
