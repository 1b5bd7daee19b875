//! The error of signing a file: a package or a trust root.

use hpk_format::{ContainerError, DecodeError, ErrorClass, FileType, KeyId, RoleName, WriteError};
use std::fmt;
use std::io;
use std::path::PathBuf;

/// An error reading, signing or rewriting a signed file (a package or a
/// trust root).
///
/// Grouped by layer: malformed input (`Container`, `Body`,
/// `Inconsistent`), signatures (`NotInRole`, `SignatureMismatch`,
/// `SignatureLength`, `TooManySignatures`), invalid content to write
/// (`Invalid`, `Encode`) and the system (`Io`). Every variant names the
/// file concerned where there is one. Whatever the error, no partial output
/// file is left and an existing output file is untouched.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignError {
    /// The container is damaged: bad header, damaged signature block,
    /// truncated, trailing bytes, or over the limits.
    Container {
        /// The file.
        path: PathBuf,
        /// What it should hold.
        file_type: FileType,
        /// What is wrong.
        source: ContainerError,
    },
    /// The metadata body (manifest or trust root) does not decode.
    Body {
        /// The file.
        path: PathBuf,
        /// What it should hold.
        file_type: FileType,
        /// What is wrong.
        source: DecodeError,
    },
    /// The header's section lengths disagree with the manifest.
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// The signing key is not in the role the package's kind needs, in the
    /// trust root given to check it against.
    NotInRole {
        /// The package.
        path: PathBuf,
        /// The signing key.
        key_id: KeyId,
        /// The role the package needs.
        role: RoleName,
        /// The package's kind (`baseline`, `hotpatch`, …).
        kind: &'static str,
    },
    /// A signature does not verify under the given public key over the
    /// file's signed message.
    SignatureMismatch {
        /// The file.
        path: PathBuf,
        /// What it holds.
        file_type: FileType,
        /// The key the signature was checked against.
        key_id: KeyId,
    },
    /// An external signer (PKCS#11 token, signer command) could not be
    /// used or did not sign.
    Signer {
        /// The file being signed.
        path: PathBuf,
        /// What went wrong.
        source: crate::signer::SignerError,
    },
    /// An external signer returned a signature that does not verify under
    /// the public key it was given (or read) for: a wrong key, a wrong
    /// algorithm, or damaged output. Nothing was written.
    SignerMismatch {
        /// The file being signed.
        path: PathBuf,
        /// What it holds.
        file_type: FileType,
        /// The key the signature was checked against.
        key_id: KeyId,
    },
    /// A detached signature that is not 64 raw bytes.
    SignatureLength {
        /// Its length.
        len: usize,
    },
    /// Adding the signature would exceed the number of signature records
    /// readers accept.
    TooManySignatures {
        /// The file.
        path: PathBuf,
        /// The records there would be.
        count: usize,
        /// The most allowed ([`hpk_format::Limits::max_signatures`]).
        max: u16,
    },
    /// The content to write breaks the format's rules (e.g. a trust root
    /// whose threshold exceeds its keys).
    Invalid {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong.
        source: DecodeError,
    },
    /// The head could not be encoded.
    Encode {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong.
        source: WriteError,
    },
    /// A catalog location that cannot be used.
    Location {
        /// The package being added.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl SignError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            SignError::Container { source, .. } => source.class(),
            SignError::Body { source, .. } | SignError::Invalid { source, .. } => source.class(),
            SignError::Encode { source, .. } => source.class(),
            SignError::Inconsistent { .. } | SignError::Location { .. } => ErrorClass::Malformed,
            SignError::Signer { source, .. } => source.class(),
            SignError::NotInRole { .. }
            | SignError::SignatureMismatch { .. }
            | SignError::SignerMismatch { .. }
            | SignError::SignatureLength { .. } => ErrorClass::Signature,
            SignError::TooManySignatures { .. } => ErrorClass::Limit,
            SignError::Io { .. } => ErrorClass::Io,
        }
    }

    /// The file this error is about, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            SignError::Container { path, .. }
            | SignError::Body { path, .. }
            | SignError::Inconsistent { path, .. }
            | SignError::NotInRole { path, .. }
            | SignError::Signer { path, .. }
            | SignError::SignerMismatch { path, .. }
            | SignError::SignatureMismatch { path, .. }
            | SignError::TooManySignatures { path, .. }
            | SignError::Invalid { path, .. }
            | SignError::Encode { path, .. }
            | SignError::Location { path, .. }
            | SignError::Io { path, .. } => Some(path),
            SignError::SignatureLength { .. } => None,
        }
    }
}

/// What `hpk` command prints a file type's signed message.
fn tbs_command(file_type: FileType) -> &'static str {
    match file_type {
        FileType::Package => "hpk tbs",
        FileType::TrustRoot => "hpk root tbs",
        FileType::Catalog => "hpk catalog tbs",
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Container {
                path,
                file_type,
                source,
            } => match source {
                ContainerError::WrongFileType { .. }
                | ContainerError::BadMagic { hint: None }
                | ContainerError::UnsupportedVersion { .. }
                | ContainerError::UnknownFileType(_) => {
                    write!(f, "{}: {source}; give a {file_type} file", path.display())
                }
                ContainerError::Limit(_) => write!(
                    f,
                    "{}: {source}; raise the limits if this {file_type} is meant to be this large",
                    path.display()
                ),
                _ => write!(
                    f,
                    "{}: damaged {file_type}: {source}; rebuild it or fetch an intact copy",
                    path.display()
                ),
            },
            SignError::Body {
                path,
                file_type,
                source,
            } => {
                let what = match file_type {
                    FileType::Package => "manifest",
                    FileType::TrustRoot => "trust root body",
                    FileType::Catalog => "catalog body",
                };
                write!(
                    f,
                    "{}: damaged {what}: {source}; rebuild it or fetch an intact copy",
                    path.display()
                )
            }
            SignError::Inconsistent { path, reason } => write!(
                f,
                "{}: damaged package: {reason}; rebuild it",
                path.display()
            ),
            SignError::NotInRole {
                path,
                key_id,
                role,
                kind,
            } => {
                let what = match role {
                    RoleName::Root => "trust roots".to_owned(),
                    RoleName::Catalog => "catalogs".to_owned(),
                    _ => format!("{kind} packages"),
                };
                write!(
                    f,
                    "{}: key {}… is not in the trust root's {role} role, which signs {what}; \
                     sign with a {role} key or add this key with `hpk root add-key`",
                    path.display(),
                    key_id.short()
                )
            }
            SignError::Signer { path, source } => write!(f, "{}: {source}", path.display()),
            SignError::SignerMismatch {
                path,
                file_type,
                key_id,
            } => write!(
                f,
                "{}: the signer returned a signature that does not verify under key {}… over \
                 this {file_type}'s statement; it signs with another key or another algorithm \
                 than pure Ed25519 (the file is unchanged)",
                path.display(),
                key_id.short()
            ),
            SignError::SignatureMismatch {
                path,
                file_type,
                key_id,
            } => write!(
                f,
                "{}: signature does not match key {}… over this {file_type}'s message; \
                 was it made over `{}` output, with the matching secret key?",
                path.display(),
                key_id.short(),
                tbs_command(*file_type)
            ),
            SignError::SignatureLength { len } => write!(
                f,
                "signature is {len} bytes; an Ed25519 signature is exactly 64 raw bytes \
                 (convert base64, hex or DER output of the signer to raw bytes)"
            ),
            SignError::TooManySignatures { path, count, max } => write!(
                f,
                "{}: {count} signatures would exceed the {max} that readers accept; \
                 remove signatures that are no longer needed",
                path.display()
            ),
            SignError::Invalid { path, source } => {
                write!(f, "{}: cannot write: {source}", path.display())
            }
            SignError::Encode { path, source } => {
                write!(f, "{}: cannot write: {source}", path.display())
            }
            SignError::Location { path, reason } => {
                write!(f, "{}: bad catalog location: {reason}", path.display())
            }
            SignError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for SignError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignError::Container { source, .. } => Some(source),
            SignError::Body { source, .. } | SignError::Invalid { source, .. } => Some(source),
            SignError::Encode { source, .. } => Some(source),
            SignError::Io { source, .. } => Some(source),
            SignError::Signer { source, .. } => Some(source),
            SignError::Inconsistent { .. }
            | SignError::SignerMismatch { .. }
            | SignError::NotInRole { .. }
            | SignError::SignatureMismatch { .. }
            | SignError::SignatureLength { .. }
            | SignError::TooManySignatures { .. }
            | SignError::Location { .. } => None,
        }
    }
}
