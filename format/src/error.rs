//! Errors of the format layer, one enum per operation, each sorted into a
//! layer by [`ErrorClass`].

use crate::digest::Digest;
use std::fmt;
use std::io;

/// The layer an error belongs to. Test vectors name outcomes by these
/// classes (`spec/SPEC.md`, "Error classes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The bytes do not follow the format.
    Malformed,
    /// A format version, algorithm or critical extension this reader does not know.
    Unsupported,
    /// A declared size or count beyond the local [`crate::Limits`].
    Limit,
    /// Signatures missing, invalid, or below threshold.
    Signature,
    /// Authentic, but not acceptable here (targeting, rollback, expiry…).
    Policy,
    /// Bytes that do not match what the signed metadata commits to.
    Integrity,
    /// Reading or writing failed.
    Io,
}

impl ErrorClass {
    /// The class's name as used in test vectors: `malformed`, `unsupported`,
    /// `limit`, `signature`, `policy`, `integrity`, `io`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Malformed => "malformed",
            ErrorClass::Unsupported => "unsupported",
            ErrorClass::Limit => "limit",
            ErrorClass::Signature => "signature",
            ErrorClass::Policy => "policy",
            ErrorClass::Integrity => "integrity",
            ErrorClass::Io => "io",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A declared size or count that is over a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitExceeded {
    /// What was counted ("manifest length", "chunk count", …).
    pub what: &'static str,
    /// The declared value.
    pub value: u64,
    /// The limit in force.
    pub max: u64,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {}, over the limit of {}",
            self.what, self.value, self.max
        )
    }
}

/// A section of a container, in file order. Names where an input ended
/// early ([`ContainerError::Truncated`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// The fixed header.
    Header,
    /// The signature records.
    SignatureBlock,
    /// The metadata body (manifest, trust root or catalog).
    Body,
    /// The chunk indexes of a package's payloads.
    ChunkIndex,
    /// The stored chunks of a package's payloads.
    PayloadArea,
}

impl Section {
    /// The section's name in messages: `header`, `signature block`, `body`,
    /// `chunk-index section`, `payload area`.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::SignatureBlock => "signature block",
            Section::Body => "body",
            Section::ChunkIndex => "chunk-index section",
            Section::PayloadArea => "payload area",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error while reading the container: header, signature block, section
/// layout.
#[derive(Debug)]
#[non_exhaustive]
pub enum ContainerError {
    /// The first 8 bytes are not the hpk magic.
    BadMagic {
        /// A hint when the damage looks like a text-mode transfer.
        hint: Option<&'static str>,
    },
    /// A major version this reader does not implement.
    UnsupportedVersion {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// A file-type byte this reader does not know.
    UnknownFileType(u8),
    /// A valid file of another type (e.g. a trust root given as a package).
    WrongFileType {
        /// The type that was expected.
        expected: crate::FileType,
        /// The type found.
        found: crate::FileType,
    },
    /// A field that must be zero is not.
    ReservedNotZero {
        /// Which field.
        field: &'static str,
    },
    /// A structural rule is broken.
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// A declared size or count is over the limits.
    Limit(LimitExceeded),
    /// The input ended before the end of a section.
    Truncated {
        /// The section being read.
        section: Section,
    },
    /// Bytes follow the last section.
    TrailingBytes,
    /// Reading failed.
    Io(io::Error),
}

impl ContainerError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            ContainerError::UnsupportedVersion { .. } | ContainerError::UnknownFileType(_) => {
                ErrorClass::Unsupported
            }
            ContainerError::Limit(_) => ErrorClass::Limit,
            ContainerError::Io(_) => ErrorClass::Io,
            _ => ErrorClass::Malformed,
        }
    }
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContainerError::BadMagic { hint: None } => {
                f.write_str("not an hpk file (bad magic bytes)")
            }
            ContainerError::BadMagic { hint: Some(h) } => {
                write!(f, "not an hpk file (bad magic bytes): {h}")
            }
            ContainerError::UnsupportedVersion { major, minor } => write!(
                f,
                "format version {major}.{minor} is not supported (this reader implements major version {})",
                crate::FORMAT_MAJOR
            ),
            ContainerError::UnknownFileType(t) => write!(f, "unknown file type {t}"),
            ContainerError::WrongFileType { expected, found } => {
                write!(f, "expected a {expected}, found a {found}")
            }
            ContainerError::ReservedNotZero { field } => {
                write!(f, "reserved field {field} is not zero")
            }
            ContainerError::Malformed { reason } => write!(f, "malformed container: {reason}"),
            ContainerError::Limit(l) => l.fmt(f),
            ContainerError::Truncated { section } => {
                write!(f, "file is truncated: it ends inside the {section}")
            }
            ContainerError::TrailingBytes => f.write_str("unexpected bytes after the last section"),
            ContainerError::Io(e) => write!(f, "read failed: {e}"),
        }
    }
}

impl std::error::Error for ContainerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ContainerError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// An error while decoding a metadata body (manifest, trust root, catalog).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not a valid encoding of the structure.
    Malformed {
        /// The decoder's description.
        reason: String,
    },
    /// Bytes remain after the structure.
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// The bytes decode but do not re-encode to the same bytes.
    NonCanonical,
    /// A field has a value the format forbids.
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A count or size is over the limits.
    Limit(LimitExceeded),
}

impl DecodeError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            DecodeError::Limit(_) => ErrorClass::Limit,
            _ => ErrorClass::Malformed,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> DecodeError {
        DecodeError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Malformed { reason } => write!(f, "malformed encoding: {reason}"),
            DecodeError::TrailingBytes { extra } => {
                write!(f, "{extra} unexpected bytes after the encoded structure")
            }
            DecodeError::NonCanonical => f.write_str("encoding is not canonical"),
            DecodeError::Invalid { field, reason } => write!(f, "invalid {field}: {reason}"),
            DecodeError::Limit(l) => l.fmt(f),
        }
    }
}

impl std::error::Error for DecodeError {}

/// An error while reading a payload's chunks.
#[derive(Debug)]
#[non_exhaustive]
pub enum PayloadError {
    /// The chunk index does not fit the payload's descriptor.
    BadIndex {
        /// Payload name.
        payload: String,
        /// What is wrong.
        reason: String,
    },
    /// A chunk index does not match its digest in the manifest.
    IndexDigest {
        /// Payload name.
        payload: String,
    },
    /// A chunk's stored bytes do not match their digest in the index.
    ChunkDigest {
        /// Payload name.
        payload: String,
        /// Chunk number, from 0.
        chunk: u64,
    },
    /// A chunk does not decompress to exactly its declared size.
    ChunkSize {
        /// Payload name.
        payload: String,
        /// Chunk number, from 0.
        chunk: u64,
        /// What went wrong.
        reason: String,
    },
    /// The whole content does not match the manifest's content digest.
    ContentDigest {
        /// Payload name.
        payload: String,
    },
    /// The input ended inside the payload.
    Truncated {
        /// Payload name.
        payload: String,
        /// Chunk number, from 0.
        chunk: u64,
    },
    /// A declared size is over the limits.
    Limit(LimitExceeded),
    /// Reading or writing failed.
    Io(io::Error),
    /// The payload is a delta (or unchanged) and its base, the file the
    /// device must already have, is missing or is not the one named: the
    /// package does not apply to this device (SPEC.md D5).
    MissingBase {
        /// Payload name.
        payload: String,
        /// SHA-256 of the base the payload needs.
        base: Digest,
        /// What is missing or wrong.
        reason: String,
    },
}

impl PayloadError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            PayloadError::BadIndex { .. } | PayloadError::Truncated { .. } => ErrorClass::Malformed,
            PayloadError::Limit(_) => ErrorClass::Limit,
            PayloadError::Io(_) => ErrorClass::Io,
            PayloadError::MissingBase { .. } => ErrorClass::Policy,
            _ => ErrorClass::Integrity,
        }
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::BadIndex { payload, reason } => {
                write!(f, "payload {payload}: bad chunk index: {reason}")
            }
            PayloadError::IndexDigest { payload } => write!(
                f,
                "payload {payload}: chunk index does not match the signed manifest"
            ),
            PayloadError::ChunkDigest { payload, chunk } => write!(
                f,
                "payload {payload}: chunk {chunk} does not match its signed digest (tampered or damaged)"
            ),
            PayloadError::ChunkSize {
                payload,
                chunk,
                reason,
            } => write!(f, "payload {payload}: chunk {chunk}: {reason}"),
            PayloadError::ContentDigest { payload } => write!(
                f,
                "payload {payload}: content does not match its signed SHA-256"
            ),
            PayloadError::Truncated { payload, chunk } => {
                write!(f, "payload {payload}: input ends inside chunk {chunk}")
            }
            PayloadError::Limit(l) => l.fmt(f),
            PayloadError::Io(e) => write!(f, "I/O error: {e}"),
            PayloadError::MissingBase {
                payload,
                base,
                reason,
            } => write!(
                f,
                "payload {payload}: needs the base file the device already has (sha256 {base}): {reason}"
            ),
        }
    }
}

impl std::error::Error for PayloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PayloadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// An error while writing a payload or a package.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteError {
    /// An option or input is out of bounds.
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// A size or count is over the limits.
    Limit(LimitExceeded),
    /// The compressor failed.
    Compression(io::Error),
    /// Reading the input or writing the output failed.
    Io(io::Error),
}

impl WriteError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            WriteError::Invalid { .. } => ErrorClass::Malformed,
            WriteError::Limit(_) => ErrorClass::Limit,
            WriteError::Compression(_) | WriteError::Io(_) => ErrorClass::Io,
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Invalid { reason } => f.write_str(reason),
            WriteError::Limit(l) => l.fmt(f),
            WriteError::Compression(e) => write!(f, "compression failed: {e}"),
            WriteError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Compression(e) | WriteError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}
