//! The errors of signing a file (a package, a trust root or a catalog),
//! and of the external signers that may sign it.

use crate::pkcs11_uri::UriError;
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
        source: SignerError,
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

/// Why an external signer could not be set up or did not sign.
///
/// Grouped: configuration (`Uri` to `PinFile`), the token's contents
/// (`TokenNotFound` to `NotEd25519`), the signer failing (`Module`,
/// `Device`, `CommandSpawn`, `CommandFailed`) and the signer misbehaving
/// (`CommandOutput`, `SignatureLength`). No variant holds a PIN.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignerError {
    /// The `pkcs11:` URI is refused.
    Uri(UriError),
    /// No PKCS#11 module was given.
    NoModule,
    /// The URI's `module-path` and the module given otherwise differ.
    ModuleConflict {
        /// From the URI.
        uri: PathBuf,
        /// Given otherwise (`--pkcs11-module`).
        given: PathBuf,
    },
    /// No PIN was given and the token has no protected authentication
    /// path (PIN pad).
    NoPin,
    /// The URI holds a PIN (`pin-value`/`pin-source`) and one was given
    /// otherwise too.
    PinConflict,
    /// The PIN file could not be read.
    PinFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The PKCS#11 module could not be loaded.
    Module {
        /// The module.
        path: PathBuf,
        /// What the loader said.
        detail: String,
    },
    /// No token matches the URI.
    TokenNotFound {
        /// The labels of the tokens present.
        available: Vec<String>,
    },
    /// Several tokens match the URI.
    AmbiguousToken {
        /// How many.
        count: usize,
    },
    /// The token does not offer CKM_EDDSA for signing.
    MechanismUnsupported {
        /// The token's label.
        token: String,
    },
    /// The token refused the PIN.
    WrongPin {
        /// The token's label.
        token: String,
    },
    /// The token's user PIN is locked after too many failures.
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// No private key in the token matches the URI.
    ObjectNotFound {
        /// The token's label.
        token: String,
        /// The key as the URI names it.
        key: String,
    },
    /// Several private keys match the URI.
    AmbiguousObject {
        /// The token's label.
        token: String,
        /// The key as the URI names it.
        key: String,
        /// How many.
        count: usize,
    },
    /// The private key has no public key object beside it (same `CKA_ID`
    /// or label) to read the public key from.
    PublicKeyNotFound {
        /// The key as the URI names it.
        key: String,
    },
    /// The key is not an Ed25519 key.
    NotEd25519 {
        /// The key as the URI names it.
        key: String,
        /// What was found.
        reason: String,
    },
    /// A PKCS#11 call failed.
    Device {
        /// What was being done.
        operation: &'static str,
        /// The PKCS#11 error.
        detail: String,
    },
    /// The signer command could not be started or fed.
    CommandSpawn {
        /// The command.
        command: String,
        /// Why.
        source: io::Error,
    },
    /// The signer command exited unsuccessfully.
    CommandFailed {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// The start of its standard error.
        stderr: String,
    },
    /// The signer command did not print exactly 64 bytes.
    CommandOutput {
        /// The command.
        command: String,
        /// How many bytes it printed; 65 stands for "more than 64" (the
        /// command is stopped at the 65th byte).
        len: usize,
    },
    /// The token returned a signature that is not 64 bytes.
    SignatureLength {
        /// Its length.
        len: usize,
    },
}

impl SignerError {
    /// The layer of this error: `Signature` for a signer that returned
    /// something other than a signature, `Io` otherwise.
    pub fn class(&self) -> ErrorClass {
        match self {
            SignerError::CommandOutput { .. } | SignerError::SignatureLength { .. } => {
                ErrorClass::Signature
            }
            _ => ErrorClass::Io,
        }
    }

    /// Whether the error is in what the caller gave (URI, module, PIN,
    /// key selection) rather than in the signer's operation.
    pub fn is_configuration(&self) -> bool {
        !matches!(
            self,
            SignerError::Device { .. }
                | SignerError::CommandSpawn { .. }
                | SignerError::CommandFailed { .. }
                | SignerError::CommandOutput { .. }
                | SignerError::SignatureLength { .. }
                | SignerError::PinFile { .. }
        )
    }
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignerError::Uri(e) => e.fmt(f),
            SignerError::NoModule => write!(
                f,
                "no PKCS#11 module: give --pkcs11-module FILE or module-path= in the URI"
            ),
            SignerError::ModuleConflict { uri, given } => write!(
                f,
                "the URI's module-path={} and --pkcs11-module {} differ; give one",
                uri.display(),
                given.display()
            ),
            SignerError::NoPin => write!(
                f,
                "no PIN for the token: give --pin-file FILE, set HPK_PKCS11_PIN, or add \
                 pin-source=FILE to the URI"
            ),
            SignerError::PinConflict => write!(
                f,
                "the URI holds a PIN (pin-value/pin-source) and --pin-file gives another; give one"
            ),
            SignerError::PinFile { path, source } => {
                write!(f, "{}: cannot read the PIN: {source}", path.display())
            }
            SignerError::Module { path, detail } => write!(
                f,
                "{}: cannot load the PKCS#11 module: {detail}",
                path.display()
            ),
            SignerError::TokenNotFound { available } => {
                if available.is_empty() {
                    write!(f, "no token matches the URI: the module shows no token")
                } else {
                    write!(
                        f,
                        "no token matches the URI; tokens present: {}",
                        available.join(", ")
                    )
                }
            }
            SignerError::AmbiguousToken { count } => write!(
                f,
                "{count} tokens match the URI: name one with token= (or serial=, slot-id=)"
            ),
            SignerError::MechanismUnsupported { token } => write!(
                f,
                "token `{token}` does not offer CKM_EDDSA signing (pure Ed25519)"
            ),
            SignerError::WrongPin { token } => write!(f, "token `{token}` refused the PIN"),
            SignerError::PinLocked { token } => {
                write!(f, "token `{token}`: the user PIN is locked")
            }
            SignerError::ObjectNotFound { token, key } => {
                write!(f, "token `{token}` holds no private key {key}")
            }
            SignerError::AmbiguousObject { token, key, count } => write!(
                f,
                "token `{token}` holds {count} private keys matching {key}: give both object= and id="
            ),
            SignerError::PublicKeyNotFound { key } => write!(
                f,
                "no public key object beside private key {key} (same id or label) to read \
                 the public key from"
            ),
            SignerError::NotEd25519 { key, reason } => {
                write!(f, "key {key} is not an Ed25519 key: {reason}")
            }
            SignerError::Device { operation, detail } => {
                write!(f, "PKCS#11 error while {operation}: {detail}")
            }
            SignerError::CommandSpawn { command, source } => {
                write!(f, "signer command `{command}` could not run: {source}")
            }
            SignerError::CommandFailed {
                command,
                status,
                stderr,
            } => {
                write!(f, "signer command `{command}` failed ({status})")?;
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
            SignerError::CommandOutput { command, len } => {
                let printed = if *len > 64 {
                    "more than 64 bytes".to_owned()
                } else {
                    format!("{len} bytes")
                };
                write!(
                    f,
                    "signer command `{command}` printed {printed}; it must print exactly the \
                     64 raw bytes of an Ed25519 signature (decode base64 or hex output in the \
                     command)"
                )
            }
            SignerError::SignatureLength { len } => write!(
                f,
                "the token returned a {len}-byte signature; an Ed25519 signature is 64 bytes"
            ),
        }
    }
}

impl std::error::Error for SignerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignerError::Uri(e) => Some(e),
            SignerError::PinFile { source, .. } | SignerError::CommandSpawn { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

impl From<UriError> for SignerError {
    fn from(e: UriError) -> Self {
        SignerError::Uri(e)
    }
}
