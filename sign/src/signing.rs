//! Signing packages: with a local key, or with an external signer (HSM,
//! cloud KMS, `openssl pkeyutl`) through [`tbs`] and [`attach`]; and any
//! hpk file with any [`Signer`] through [`sign_file`].
//!
//! A package's signatures cover its signed statement: the package signing
//! context followed by the manifest digest
//! ([`hpk_format::signed_statement`]). The statement has the same length
//! (47 bytes) whatever the number and size of payloads, and adding a
//! signature never changes it: only the
//! signature block is rewritten, and the chunk indexes and payload area are
//! copied unchanged.
//!
//! Signature records are kept in canonical order (by key id), with one
//! record per key, so that signing is idempotent (a key that signs again
//! changes nothing) and order-independent (A then B gives the same bytes as
//! B then A).
//!
//! The output is written atomically (a temporary file in the output's
//! folder, fsync, rename), so the output may be the input: signing in
//! place is safe, and a failure leaves the previous file intact and no
//! temporary file behind.

use crate::error::SignError;
use crate::keys::{PublicKey, SecretKey};
use crate::signer::Signer;
use hpk_format::{
    ALG_ED25519, Canonical, Catalog, ContainerError, DecodeError, FileType, Head, KeyId, Layout,
    Limits, Manifest, RoleName, Section, SignatureRecord, TrustRoot, TrustedKey,
    canonicalize_signatures, decode, encode_head, read_head,
};
use hpk_verify::AtomicFile;
use hpk_verify::TrustedRoot;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Size of the blocks the index and payload area are copied in when a
/// progress callback is given (8 MiB).
pub const COPY_BLOCK: u64 = 8 * 1024 * 1024;

/// Options of the signing functions.
#[derive(Default)]
pub struct SignOptions<'a> {
    /// Limits the input must respect when it is read. The number of
    /// signature records written never exceeds `max_signatures`, nor the
    /// default limit that every reader accepts.
    pub limits: Limits,
    /// Called with the bytes of the chunk indexes and payload area copied
    /// so far and their total, after each 8 MiB block.
    pub progress: Option<&'a mut dyn FnMut(u64, u64)>,
}

impl fmt::Debug for SignOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignOptions")
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What signing did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignOutcome {
    /// The signature was added and the output written.
    Added {
        /// The key that signed.
        key_id: KeyId,
        /// Signature records in the output.
        signatures: usize,
    },
    /// The file already held a valid signature of this key, so no record
    /// was added. An output other than the input was written as a copy;
    /// the input itself was not rewritten.
    AlreadySigned {
        /// The key that signed.
        key_id: KeyId,
        /// Signature records in the output.
        signatures: usize,
    },
}

impl SignOutcome {
    /// The key that signed.
    pub fn key_id(&self) -> KeyId {
        match self {
            SignOutcome::Added { key_id, .. } | SignOutcome::AlreadySigned { key_id, .. } => {
                *key_id
            }
        }
    }

    /// Signature records in the output.
    pub fn signatures(&self) -> usize {
        match self {
            SignOutcome::Added { signatures, .. }
            | SignOutcome::AlreadySigned { signatures, .. } => *signatures,
        }
    }
}

/// A public key as a trust root lists it.
pub(crate) fn trusted_key(key: &PublicKey) -> TrustedKey {
    TrustedKey {
        algorithm: ALG_ED25519,
        public_key: *key.as_bytes(),
    }
}

/// A file whose head has been read and checked, positioned after its body.
pub(crate) struct Opened {
    path: PathBuf,
    file_type: FileType,
    reader: BufReader<File>,
    pub(crate) head: Head,
    layout: Layout,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SignError + '_ {
    move |source| SignError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn container_err(path: &Path, file_type: FileType, source: ContainerError) -> SignError {
    match source {
        ContainerError::Io(source) => SignError::Io {
            path: path.to_path_buf(),
            source,
        },
        source => SignError::Container {
            path: path.to_path_buf(),
            file_type,
            source,
        },
    }
}

/// Reads the head of `path`, a file of `file_type`, and checks that the
/// file is exactly as long as its header says.
fn open_container(path: &Path, file_type: FileType, limits: &Limits) -> Result<Opened, SignError> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    let mut reader = BufReader::new(file);
    let head =
        read_head(&mut reader, file_type, limits).map_err(|e| container_err(path, file_type, e))?;
    let layout = head
        .layout()
        .map_err(|e| container_err(path, file_type, e))?;
    if len < layout.end {
        let section = if len < layout.payload {
            Section::ChunkIndex
        } else {
            Section::PayloadArea
        };
        return Err(container_err(
            path,
            file_type,
            ContainerError::Truncated { section },
        ));
    }
    if len > layout.end {
        return Err(container_err(
            path,
            file_type,
            ContainerError::TrailingBytes,
        ));
    }
    Ok(Opened {
        path: path.to_path_buf(),
        file_type,
        reader,
        head,
        layout,
    })
}

fn body_err(path: &Path, file_type: FileType) -> impl FnOnce(DecodeError) -> SignError + '_ {
    move |source| SignError::Body {
        path: path.to_path_buf(),
        file_type,
        source,
    }
}

/// Opens a package and decodes its manifest, which must agree with the
/// header's section lengths. The manifest is decoded before it is
/// authenticated: the signer vouches for it by signing.
pub(crate) fn open_package(path: &Path, limits: &Limits) -> Result<(Opened, Manifest), SignError> {
    let opened = open_container(path, FileType::Package, limits)?;
    let manifest: Manifest =
        decode(&opened.head.body, limits).map_err(body_err(path, FileType::Package))?;
    let header = &opened.head.header;
    if manifest.index_section_len() != Some(header.index_len)
        || manifest.payload_section_len() != Some(header.payload_len)
    {
        return Err(SignError::Inconsistent {
            path: path.to_path_buf(),
            reason: format!(
                "the header declares {} bytes of chunk indexes and {} payload bytes, \
                 the manifest implies {:?} and {:?}",
                header.index_len,
                header.payload_len,
                manifest.index_section_len(),
                manifest.payload_section_len()
            ),
        });
    }
    Ok((opened, manifest))
}

/// Opens a trust root or catalog file and decodes its body (without checking its
/// signatures).
pub(crate) fn open_metadata<T: Canonical>(
    path: &Path,
    file_type: FileType,
    limits: &Limits,
) -> Result<(Opened, T), SignError> {
    let opened = open_container(path, file_type, limits)?;
    let value: T = decode(&opened.head.body, limits).map_err(body_err(path, file_type))?;
    Ok((opened, value))
}

/// Whether two paths name the same existing file.
/// Whether `key_id` is a key of the trust root's `role` (false if the
/// root has no such role).
pub(crate) fn in_role(root: &TrustedRoot, role: RoleName, key_id: &KeyId) -> bool {
    root.root()
        .roles
        .get(role)
        .is_some_and(|r| r.keys.contains(key_id))
}

fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(a), fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (fs::canonicalize(a), fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// The permission bits for the output, as `cp` chooses them: those of an
/// existing output, else those of the input.
fn output_mode(input: &Path, out: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(out)
            .or_else(|_| fs::metadata(input))
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644)
    }
    #[cfg(not(unix))]
    {
        let _ = (input, out);
        0o644
    }
}

/// Checks `signature` by `public_key` over the opened file's message, adds
/// it to the records and writes the result to `out`.
pub(crate) fn add_record(
    opened: Opened,
    public_key: &PublicKey,
    signature: [u8; 64],
    out: &Path,
    options: &mut SignOptions<'_>,
) -> Result<SignOutcome, SignError> {
    let message = opened.head.signed_statement();
    let key_id = public_key.key_id();
    public_key
        .verify_strict(&message, &signature)
        .map_err(|_| SignError::SignatureMismatch {
            path: opened.path.clone(),
            file_type: opened.file_type,
            key_id,
        })?;

    // One record per key: a valid record of this key is kept as it is
    // (Ed25519 is deterministic, so it is normally the same bytes); records
    // of this key that do not verify are replaced.
    let is_ours = |r: &SignatureRecord| r.algorithm == ALG_ED25519 && r.key_id == key_id;
    let existing = opened
        .head
        .signatures
        .iter()
        .find(|r| is_ours(r) && public_key.verify_strict(&message, &r.signature).is_ok())
        .copied();
    let mut records: Vec<SignatureRecord> = opened
        .head
        .signatures
        .iter()
        .filter(|r| !is_ours(r))
        .copied()
        .collect();
    records.push(existing.unwrap_or(SignatureRecord {
        algorithm: ALG_ED25519,
        key_id,
        signature,
    }));
    canonicalize_signatures(&mut records);

    // Never more records than every reader accepts.
    let max = options
        .limits
        .max_signatures
        .min(Limits::default().max_signatures);
    if records.len() > usize::from(max) {
        return Err(SignError::TooManySignatures {
            path: out.to_path_buf(),
            count: records.len(),
            max,
        });
    }
    let signatures = records.len();
    let outcome = if existing.is_some() {
        SignOutcome::AlreadySigned { key_id, signatures }
    } else {
        SignOutcome::Added { key_id, signatures }
    };
    if records == opened.head.signatures && same_file(&opened.path, out) {
        return Ok(outcome);
    }
    rewrite(opened, &records, out, options)?;
    Ok(outcome)
}

/// Writes the opened file to `out` with a new signature block: the new
/// head, then the chunk indexes and payload area copied from the input.
fn rewrite(
    opened: Opened,
    records: &[SignatureRecord],
    out: &Path,
    options: &mut SignOptions<'_>,
) -> Result<(), SignError> {
    let Opened {
        path,
        file_type,
        reader,
        head,
        layout,
    } = opened;
    let new_head = encode_head(
        file_type,
        records,
        &head.body,
        head.header.index_len,
        head.header.payload_len,
    )
    .map_err(|source| SignError::Encode {
        path: out.to_path_buf(),
        source,
    })?;

    let mut input = reader.into_inner();
    input
        .seek(SeekFrom::Start(layout.index))
        .map_err(io_err(&path))?;
    let total = layout.end.saturating_sub(layout.index);

    let mut output =
        AtomicFile::create_with_mode(out, output_mode(&path, out)).map_err(io_err(out))?;
    let file = output.file().map_err(io_err(out))?;
    file.write_all(&new_head).map_err(io_err(out))?;
    let copied = match options.progress.as_mut() {
        None => io::copy(&mut Read::by_ref(&mut input).take(total), file).map_err(io_err(out))?,
        Some(progress) => {
            let mut done = 0u64;
            while done < total {
                let block = COPY_BLOCK.min(total - done);
                let n = io::copy(&mut Read::by_ref(&mut input).take(block), file)
                    .map_err(io_err(out))?;
                if n == 0 {
                    break;
                }
                done = done.saturating_add(n);
                progress(done, total);
            }
            done
        }
    };
    if copied != total {
        // The input shrank while it was being copied.
        return Err(container_err(
            &path,
            file_type,
            ContainerError::Truncated {
                section: Section::PayloadArea,
            },
        ));
    }
    output.commit().map_err(io_err(out))
}

/// The statement a signer must sign for `package`: the package signing
/// context followed by the manifest digest (47 bytes, whatever the size of
/// the package).
///
/// Only the head is read, and the file's length is checked against its
/// header, so a truncated file is reported here. The manifest must decode
/// and agree with the header, so that an external signer is never asked to
/// sign a damaged package.
pub fn tbs(package: &Path, limits: &Limits) -> Result<Vec<u8>, SignError> {
    let (opened, _) = open_package(package, limits)?;
    Ok(opened.head.signed_statement())
}

/// Adds a signature made by `public_key` over [`tbs`]`(package)` to the
/// package and writes the result to `out` (which may be `package`).
///
/// The signature must verify strictly. The records are put in canonical
/// order; a key that already signed validly is not added twice (its
/// record is kept), and when `out` is `package` and the records are
/// unchanged the file is not rewritten at all.
pub fn add_signature(
    package: &Path,
    public_key: &PublicKey,
    signature: [u8; 64],
    out: &Path,
    options: &mut SignOptions<'_>,
) -> Result<SignOutcome, SignError> {
    let (opened, _) = open_package(package, &options.limits)?;
    add_record(opened, public_key, signature, out, options)
}

/// Checks that `signature` is 64 raw bytes.
pub(crate) fn raw_signature(signature: &[u8]) -> Result<[u8; 64], SignError> {
    signature
        .try_into()
        .map_err(|_| SignError::SignatureLength {
            len: signature.len(),
        })
}

/// Attaches a detached signature from an external signer: `signature`
/// must be the 64 raw bytes of an Ed25519 signature by `public_key` over
/// the output of [`tbs`]. Then as [`add_signature`].
pub fn attach(
    package: &Path,
    public_key: &PublicKey,
    signature: &[u8],
    out: &Path,
    options: &mut SignOptions<'_>,
) -> Result<SignOutcome, SignError> {
    let signature = raw_signature(signature)?;
    add_signature(package, public_key, signature, out, options)
}

/// Signs `package` with `key` and writes the result to `out` (which may be
/// `package`).
///
/// With `root`, refuses a key that is not in the role the package's kind
/// needs in that trust root (so that a package is never shipped with a
/// signature devices will not count).
pub fn sign_package(
    package: &Path,
    key: &SecretKey,
    out: &Path,
    root: Option<&TrustedRoot>,
    options: &mut SignOptions<'_>,
) -> Result<SignOutcome, SignError> {
    sign_file(package, FileType::Package, key, out, root, options)
}

/// Signs the hpk file `path` (of type `file_type`) with `signer` and
/// writes the result to `out` (which may be `path`).
///
/// Before the signer is asked, the file is read and checked, and with
/// `root` the signer's key must be one that counts: for a package, a key
/// of the role its kind needs; for a catalog, a catalog key; for a trust
/// root, a root key of `root` or of the trust root being signed (a
/// rotation is signed by both). The signature returned is verified
/// strictly against the signer's public key before the record is added;
/// on any error the output is not written.
pub fn sign_file(
    path: &Path,
    file_type: FileType,
    signer: &dyn Signer,
    out: &Path,
    root: Option<&TrustedRoot>,
    options: &mut SignOptions<'_>,
) -> Result<SignOutcome, SignError> {
    let public_key = signer.public_key();
    let key_id = public_key.key_id();
    let not_in = |role: RoleName, kind: &'static str| SignError::NotInRole {
        path: path.to_path_buf(),
        key_id,
        role,
        kind,
    };
    let opened = match file_type {
        FileType::Package => {
            let (opened, manifest) = open_package(path, &options.limits)?;
            if let Some(root) = root {
                let role = manifest.kind.signing_role();
                if !in_role(root, role, &key_id) {
                    return Err(not_in(role, manifest.kind.name()));
                }
            }
            opened
        }
        FileType::TrustRoot => {
            let (opened, own) = open_metadata::<TrustRoot>(path, file_type, &options.limits)?;
            if let Some(root) = root
                && !in_role(root, RoleName::Root, &key_id)
                && !own.roles.root.keys.contains(&key_id)
            {
                return Err(not_in(RoleName::Root, "trust root"));
            }
            opened
        }
        FileType::Catalog => {
            let (opened, _) = open_metadata::<Catalog>(path, file_type, &options.limits)?;
            if let Some(root) = root
                && !in_role(root, RoleName::Catalog, &key_id)
            {
                return Err(not_in(RoleName::Catalog, "catalog"));
            }
            opened
        }
    };
    let statement = opened.head.signed_statement();
    let signature = checked_signature(signer, &public_key, &statement, path, file_type)?;
    add_record(opened, &public_key, signature, out, options)
}

/// Has `signer` sign `statement` (of the hpk file at `path`, of type
/// `file_type`) and checks the signature strictly against `public_key`,
/// the signer's key: a signer that fails, or signs with another key or
/// algorithm, is an error and nothing is kept.
pub(crate) fn checked_signature(
    signer: &dyn Signer,
    public_key: &PublicKey,
    statement: &[u8],
    path: &Path,
    file_type: FileType,
) -> Result<[u8; 64], SignError> {
    let signature = signer
        .sign_statement(statement)
        .map_err(|source| SignError::Signer {
            path: path.to_path_buf(),
            source,
        })?;
    if public_key.verify_strict(statement, &signature).is_err() {
        return Err(SignError::SignerMismatch {
            path: path.to_path_buf(),
            file_type,
            key_id: public_key.key_id(),
        });
    }
    Ok(signature)
}
