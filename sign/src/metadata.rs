//! Signed metadata files (trust roots and catalogs): reading them for
//! editing, saving edits (which drops signatures that no longer cover the
//! body), and signing them with a local key or an external signer.

use crate::error::SignError;
use crate::keys::{PublicKey, SecretKey};
use crate::signing::{SignOptions, SignOutcome, add_record, open_metadata, raw_signature};
use hpk_format::{Canonical, FileType, Head, Limits, encode, encode_head};
use hpk_verify::AtomicFile;
use std::io::{self, Write};
use std::path::Path;

/// What [`save`] (or `save_root`, `save_catalog`) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaveOutcome {
    /// The file already held this exact root; it was left as it was, with
    /// its signatures.
    Unchanged {
        /// Its signature records.
        signatures: usize,
    },
    /// The root was written without signatures.
    Written {
        /// Signatures of the previous file that no longer cover the body
        /// and were dropped.
        dropped_signatures: usize,
    },
}

/// Reads a metadata file and decodes its body **without** checking its
/// signatures, for editing.
pub fn read_file<T: Canonical>(path: &Path, file_type: FileType) -> Result<(Head, T), SignError> {
    let (opened, value) = open_metadata(path, file_type, &Limits::default())?;
    Ok((opened.head, value))
}

/// The file bytes of `value` without signatures.
fn unsigned_bytes<T: Canonical>(
    path: &Path,
    file_type: FileType,
    value: &T,
) -> Result<Vec<u8>, SignError> {
    let body = encode(value, &Limits::default()).map_err(|source| SignError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    encode_head(file_type, &[], &body, 0, 0).map_err(|source| SignError::Encode {
        path: path.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SignError> {
    let io_err = |source: io::Error| SignError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = AtomicFile::create(path).map_err(io_err)?;
    file.file()
        .and_then(|f| f.write_all(bytes))
        .map_err(io_err)?;
    file.commit().map_err(io_err)
}

/// Writes `value` to `path` atomically, without signatures.
pub fn write_unsigned<T: Canonical>(
    path: &Path,
    file_type: FileType,
    value: &T,
) -> Result<(), SignError> {
    let bytes = unsigned_bytes(path, file_type, value)?;
    write_file(path, &bytes)
}

/// Writes an edited `value`: left untouched (signatures kept) when `path`
/// already holds exactly it, else written without signatures.
pub fn save<T: Canonical + PartialEq>(
    path: &Path,
    file_type: FileType,
    value: &T,
) -> Result<SaveOutcome, SignError> {
    let bytes = unsigned_bytes(path, file_type, value)?;
    let previous = read_file::<T>(path, file_type).ok();
    if let Some((head, existing)) = &previous
        && existing == value
    {
        return Ok(SaveOutcome::Unchanged {
            signatures: head.signatures.len(),
        });
    }
    write_file(path, &bytes)?;
    Ok(SaveOutcome::Written {
        dropped_signatures: previous.map_or(0, |(head, _)| head.signatures.len()),
    })
}

/// The statement a signer must sign for the file: its type's signing
/// context followed by SHA-256 of the body.
pub fn tbs<T: Canonical>(path: &Path, file_type: FileType) -> Result<Vec<u8>, SignError> {
    let (opened, _) = open_metadata::<T>(path, file_type, &Limits::default())?;
    Ok(opened.head.signed_statement())
}

/// Signs the file with `key` and writes the result to `out` (which may be
/// `path`), records in canonical order; signing twice changes nothing.
pub fn sign<T: Canonical>(
    path: &Path,
    file_type: FileType,
    key: &SecretKey,
    out: &Path,
) -> Result<SignOutcome, SignError> {
    crate::signing::sign_file(path, file_type, key, out, None, &mut SignOptions::default())
}

/// Attaches a raw 64-byte signature made elsewhere over [`tbs`]'s message,
/// after checking it against `public_key`.
pub fn attach<T: Canonical>(
    path: &Path,
    file_type: FileType,
    public_key: &PublicKey,
    signature: &[u8],
    out: &Path,
) -> Result<SignOutcome, SignError> {
    let signature = raw_signature(signature)?;
    let (opened, _) = open_metadata::<T>(path, file_type, &Limits::default())?;
    add_record(
        opened,
        public_key,
        signature,
        out,
        &mut SignOptions::default(),
    )
}
