//! Errors of verification, one enum per operation, each sorted into a
//! layer by [`ErrorClass`].

use crate::clock::TimeFault;
use crate::threshold::ThresholdNotMet;
use hpk_format::{ContainerError, DecodeError, ErrorClass, PayloadError, Section};
use std::fmt;
use std::io;

/// Why an authentic package does not apply. The list is closed and each
/// reason has a stable name (`spec/SPEC.md`, "Not-applicable reasons").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reason {
    /// This profile does not install this kind of package.
    KindNotAllowed,
    /// A critical extension this verifier does not know.
    UnknownCriticalExtension,
    /// Another OS family.
    WrongOs,
    /// The device's architecture is not targeted.
    WrongArchitecture,
    /// The device's edition is not targeted.
    WrongEdition,
    /// The device has not opted into the package's channel.
    WrongChannel,
    /// The device lacks a required capability.
    MissingCapability,
    /// Expired (at or before the time, or its lower bound).
    Expired,
    /// Created after the trusted current time.
    NotYetValid,
    /// Security version below the device's floor.
    BelowSecurityFloor,
    /// The device knows this package to be revoked.
    Revoked,
    /// A hotpatch for a baseline other than the installed one.
    WrongBaseline,
    /// A hotpatch whose sequence is not above the installed one.
    SequenceNotNewer,
}

impl Reason {
    /// Every reason, in the order the policy checks them.
    pub const ALL: [Reason; 13] = [
        Reason::KindNotAllowed,
        Reason::UnknownCriticalExtension,
        Reason::WrongOs,
        Reason::WrongArchitecture,
        Reason::WrongEdition,
        Reason::WrongChannel,
        Reason::MissingCapability,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::BelowSecurityFloor,
        Reason::Revoked,
        Reason::WrongBaseline,
        Reason::SequenceNotNewer,
    ];

    /// The stable name, e.g. `wrong-architecture`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::KindNotAllowed => "kind-not-allowed",
            Reason::UnknownCriticalExtension => "unknown-critical-extension",
            Reason::WrongOs => "wrong-os",
            Reason::WrongArchitecture => "wrong-architecture",
            Reason::WrongEdition => "wrong-edition",
            Reason::WrongChannel => "wrong-channel",
            Reason::MissingCapability => "missing-capability",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not-yet-valid",
            Reason::BelowSecurityFloor => "below-security-floor",
            Reason::Revoked => "revoked",
            Reason::WrongBaseline => "wrong-baseline",
            Reason::SequenceNotNewer => "sequence-not-newer",
        }
    }

    /// The reason with this stable name.
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authentic package that does not apply, with the reason and details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotApplicable {
    /// Why.
    pub reason: Reason,
    /// The specifics, for people.
    pub detail: String,
}

impl fmt::Display for NotApplicable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not applicable ({}): {}", self.reason, self.detail)
    }
}

impl std::error::Error for NotApplicable {}

/// The stable name of a policy failure of a trust root or a catalog
/// (`spec/SPEC.md`, "Error classes"), as JSON output and test vectors
/// name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DocumentReason {
    /// Expired at the time, or its lower bound (VT6, VC6).
    Expired,
    /// Created after the trusted current time (VT6, VC7).
    NotYetValid,
    /// A rotation to anything but exactly the next version (VR4).
    WrongVersion,
    /// A catalog older than the last one accepted (VC5).
    Rollback,
}

impl DocumentReason {
    /// Every reason.
    pub const ALL: [DocumentReason; 4] = [
        DocumentReason::Expired,
        DocumentReason::NotYetValid,
        DocumentReason::WrongVersion,
        DocumentReason::Rollback,
    ];

    /// The stable name, e.g. `wrong-version`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentReason::Expired => "expired",
            DocumentReason::NotYetValid => "not-yet-valid",
            DocumentReason::WrongVersion => "wrong-version",
            DocumentReason::Rollback => "rollback",
        }
    }
}

impl fmt::Display for DocumentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error verifying a signed document other than a package: a trust
/// root (and its rotation), [`RootError`], or a catalog,
/// [`CatalogError`]. The two share every failure but one, the order of
/// versions, which `K` holds ([`WrongVersion`], [`Rollback`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum DocumentError<K> {
    /// The container is malformed.
    Container(ContainerError),
    /// The body does not decode canonically.
    Decode(DecodeError),
    /// Not enough signatures from the role that signs this document.
    Signature(Box<ThresholdNotMet>),
    /// A critical extension this verifier does not know.
    UnknownCriticalExtension {
        /// The document's version.
        version: u64,
        /// The extension id.
        id: u32,
    },
    /// Expired at the time (or its lower bound): for a catalog, a frozen
    /// or replayed one.
    Expired {
        /// The document's version.
        version: u64,
        /// Its expiry.
        expires: u64,
        /// The time (or lower bound) it was judged at.
        at: u64,
    },
    /// Created after the trusted current time.
    NotYetValid {
        /// The document's version.
        version: u64,
        /// Its creation time.
        created: u64,
        /// The trusted current time.
        now: u64,
    },
    /// Its version does not follow the one before (VR4, VC5).
    Version(K),
}

/// An error verifying a trust root or its rotation.
pub type RootError = DocumentError<WrongVersion>;

/// An error verifying a catalog.
pub type CatalogError = DocumentError<Rollback>;

/// A rotation to anything but exactly the next version (VR4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongVersion {
    /// The version that was expected.
    pub expected: u64,
    /// The version found.
    pub found: u64,
}

/// A catalog older than the newest one accepted (VC5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollback {
    /// This catalog's version.
    pub version: u64,
    /// The newest version seen.
    pub last_seen: u64,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::WrongVersion {}
    impl Sealed for super::Rollback {}
}

/// What a kind of document says of itself in errors; implemented by
/// [`WrongVersion`] (trust roots) and [`Rollback`] (catalogs) only.
pub trait DocumentKind: sealed::Sealed + fmt::Display + fmt::Debug {
    /// The document's name in messages.
    const NAME: &'static str;
    /// What to do about an expired one.
    const WHEN_EXPIRED: &'static str;
    /// The stable name of its version failure.
    const REASON: DocumentReason;
}

impl DocumentKind for WrongVersion {
    const NAME: &'static str = "trust root";
    const WHEN_EXPIRED: &'static str = "rotate to a new root with `hpk root sign`";
    const REASON: DocumentReason = DocumentReason::WrongVersion;
}

impl DocumentKind for Rollback {
    const NAME: &'static str = "catalog";
    const WHEN_EXPIRED: &'static str = "fetch a fresh catalog";
    const REASON: DocumentReason = DocumentReason::Rollback;
}

impl fmt::Display for WrongVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trust root version {} cannot follow: expected version {} (versions are never skipped nor go back)",
            self.found, self.expected
        )
    }
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "catalog version {} is older than version {} already seen (rollback)",
            self.version, self.last_seen
        )
    }
}

impl<K: DocumentKind> DocumentError<K> {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            DocumentError::Container(e) => e.class(),
            DocumentError::Decode(e) => e.class(),
            DocumentError::Signature(_) => ErrorClass::Signature,
            DocumentError::UnknownCriticalExtension { .. } => ErrorClass::Unsupported,
            DocumentError::Expired { .. }
            | DocumentError::NotYetValid { .. }
            | DocumentError::Version(_) => ErrorClass::Policy,
        }
    }

    /// The stable name of a policy failure (class `policy`); `None` for
    /// the other classes.
    pub fn reason(&self) -> Option<DocumentReason> {
        match self {
            DocumentError::Expired { .. } => Some(DocumentReason::Expired),
            DocumentError::NotYetValid { .. } => Some(DocumentReason::NotYetValid),
            DocumentError::Version(_) => Some(K::REASON),
            _ => None,
        }
    }

    /// The time failure of document `version`.
    pub(crate) fn of_time(version: u64, fault: TimeFault) -> DocumentError<K> {
        match fault {
            TimeFault::Expired { expires, at } => DocumentError::Expired {
                version,
                expires,
                at,
            },
            TimeFault::NotYetValid { created, now } => DocumentError::NotYetValid {
                version,
                created,
                now,
            },
        }
    }
}

impl<K: DocumentKind> fmt::Display for DocumentError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = K::NAME;
        match self {
            DocumentError::Container(e) => write!(f, "{name}: {e}"),
            DocumentError::Decode(e) => write!(f, "{name}: {e}"),
            DocumentError::Signature(e) => e.fmt(f),
            DocumentError::Expired {
                version,
                expires,
                at,
            } => write!(
                f,
                "{name} version {version} expired at {expires} (time is {at} or later): {}",
                K::WHEN_EXPIRED
            ),
            DocumentError::NotYetValid {
                version,
                created,
                now,
            } => write!(
                f,
                "{name} version {version} was created at {created}, after the current time {now}: check the clock"
            ),
            DocumentError::UnknownCriticalExtension { version, id } => write!(
                f,
                "{name} version {version} has critical extension {id}, which this verifier does not support: upgrade hpk"
            ),
            DocumentError::Version(k) => fmt::Display::fmt(k, f),
        }
    }
}

impl<K: DocumentKind> std::error::Error for DocumentError<K> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DocumentError::Container(e) => Some(e),
            DocumentError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

/// An error verifying a package.
#[derive(Debug)]
#[non_exhaustive]
pub enum VerifyError {
    /// The container is malformed, truncated or over the limits.
    Container(ContainerError),
    /// The manifest does not decode canonically.
    Decode(DecodeError),
    /// Not enough valid signatures from the right role.
    Signature(Box<ThresholdNotMet>),
    /// The header's section lengths disagree with the signed manifest
    /// (VP8).
    Inconsistent {
        /// The section whose length disagrees.
        section: Section,
        /// The length the header declares.
        declared: u64,
        /// The length the manifest implies (`None`: too large to hold).
        implied: Option<u64>,
    },
    /// A chunk index or chunk does not match what the manifest commits to.
    Payload(PayloadError),
    /// Authentic, but not for this device.
    NotApplicable(NotApplicable),
}

impl VerifyError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            VerifyError::Container(e) => e.class(),
            VerifyError::Decode(e) => e.class(),
            VerifyError::Signature(_) => ErrorClass::Signature,
            VerifyError::Inconsistent { .. } => ErrorClass::Malformed,
            VerifyError::Payload(e) => e.class(),
            VerifyError::NotApplicable(_) => ErrorClass::Policy,
        }
    }

    /// The not-applicable reason of a policy failure; `None` for the
    /// other classes.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            VerifyError::NotApplicable(n) => Some(n.reason),
            _ => None,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Container(e) => e.fmt(f),
            VerifyError::Decode(e) => write!(f, "manifest: {e}"),
            VerifyError::Signature(e) => e.fmt(f),
            VerifyError::Inconsistent {
                section,
                declared,
                implied,
            } => write!(
                f,
                "malformed package: header declares {declared} bytes of {}, the manifest implies {implied:?}",
                section.as_str()
            ),
            VerifyError::Payload(e) => e.fmt(f),
            VerifyError::NotApplicable(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for VerifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VerifyError::Container(e) => Some(e),
            VerifyError::Decode(e) => Some(e),
            VerifyError::Payload(e) => Some(e),
            VerifyError::NotApplicable(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ContainerError> for VerifyError {
    fn from(e: ContainerError) -> Self {
        VerifyError::Container(e)
    }
}

impl From<PayloadError> for VerifyError {
    fn from(e: PayloadError) -> Self {
        VerifyError::Payload(e)
    }
}

impl From<NotApplicable> for VerifyError {
    fn from(e: NotApplicable) -> Self {
        VerifyError::NotApplicable(e)
    }
}

/// An error extracting a verified package into a folder.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExtractError {
    /// Verification of a chunk, index or content failed: nothing was
    /// committed under a final name.
    Verify(VerifyError),
    /// The target folder cannot be used (X1): its parent folder does not
    /// exist, or it is a file, a link or a folder that is not empty (also
    /// when that happened while extracting). Nothing was extracted.
    Target {
        /// The target folder.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// A path in the way inside the extraction.
    Unsafe {
        /// The path.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// Writing failed.
    Io {
        /// The path being written.
        path: std::path::PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl ExtractError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            ExtractError::Verify(e) => e.class(),
            ExtractError::Target { .. } | ExtractError::Unsafe { .. } | ExtractError::Io { .. } => {
                ErrorClass::Io
            }
        }
    }

    /// The not-applicable reason of a policy failure; `None` otherwise.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            ExtractError::Verify(e) => e.reason(),
            _ => None,
        }
    }
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Verify(e) => write!(f, "{e}; nothing was extracted"),
            ExtractError::Target { path, reason } => {
                write!(f, "cannot extract into {}: {reason}", path.display())
            }
            ExtractError::Unsafe { path, reason } => {
                write!(f, "refusing to write {}: {reason}", path.display())
            }
            ExtractError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for ExtractError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExtractError::Verify(e) => Some(e),
            ExtractError::Io { source, .. } => Some(source),
            ExtractError::Target { .. } | ExtractError::Unsafe { .. } => None,
        }
    }
}

impl From<VerifyError> for ExtractError {
    fn from(e: VerifyError) -> Self {
        ExtractError::Verify(e)
    }
}
