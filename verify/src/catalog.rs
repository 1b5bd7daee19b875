//! Catalogs as an agent receives them: verified against the catalog role,
//! fresh, never older than the last one seen; and the packages fetched for
//! their entries, held to the entry's exact size and manifest digest.

use crate::device::Clock;
use crate::error::{DocumentReason, ThresholdNotMet, VerifyError};
use crate::package::{VerifiedPackage, verify_head_with_digest};
use crate::policy::KNOWN_EXTENSIONS;
use crate::threshold::{SignerReport, require_threshold};
use crate::trust::{TrustedRoot, read_document};
use hpk_format::{
    Catalog, CatalogEntry, ContainerError, DecodeError, Digest, ErrorClass, FileType, Limits,
    RoleName, decode, read_head, statement_for_digest, unknown_critical,
};
use std::fmt;
use std::io::{self, Read};

/// A catalog whose signatures, freshness and version have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCatalog {
    catalog: Catalog,
    digest: Digest,
    role: Digest,
}

impl VerifiedCatalog {
    /// The catalog's content.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// SHA-256 of the catalog body.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The digest of the `catalog` role the catalog was verified under
    /// ([`TrustedRoot::catalog_role`]): what a device records with the
    /// catalog's version as its new floor (VC8).
    pub fn catalog_role(&self) -> Digest {
        self.role
    }
}

/// An error verifying a catalog.
#[derive(Debug)]
#[non_exhaustive]
pub enum CatalogError {
    /// The container is malformed.
    Container(ContainerError),
    /// The body does not decode canonically.
    Decode(DecodeError),
    /// Not enough signatures from the catalog role.
    Signature(Box<ThresholdNotMet>),
    /// Expired at the time (or its lower bound): a frozen or replayed catalog.
    Expired {
        /// Catalog version.
        version: u64,
        /// Its expiry.
        expires: u64,
        /// The time judged at.
        at: u64,
    },
    /// Created after the trusted current time.
    NotYetValid {
        /// Catalog version.
        version: u64,
        /// Its creation time.
        created: u64,
    },
    /// Older than the newest catalog the caller has accepted.
    Rollback {
        /// This catalog's version.
        version: u64,
        /// The newest version seen.
        last_seen: u64,
    },
    /// A critical extension this verifier does not know.
    UnknownCriticalExtension {
        /// Its id.
        id: u32,
    },
}

impl CatalogError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            CatalogError::Container(e) => e.class(),
            CatalogError::Decode(e) => e.class(),
            CatalogError::Signature(_) => ErrorClass::Signature,
            CatalogError::UnknownCriticalExtension { .. } => ErrorClass::Unsupported,
            _ => ErrorClass::Policy,
        }
    }

    /// The stable name of a policy failure (class `policy`); `None` for
    /// the other classes.
    pub fn reason(&self) -> Option<DocumentReason> {
        match self {
            CatalogError::Expired { .. } => Some(DocumentReason::Expired),
            CatalogError::NotYetValid { .. } => Some(DocumentReason::NotYetValid),
            CatalogError::Rollback { .. } => Some(DocumentReason::Rollback),
            _ => None,
        }
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Container(e) => write!(f, "catalog: {e}"),
            CatalogError::Decode(e) => write!(f, "catalog: {e}"),
            CatalogError::Signature(e) => e.fmt(f),
            CatalogError::Expired {
                version,
                expires,
                at,
            } => write!(
                f,
                "catalog version {version} expired at {expires} (time is {at} or later): fetch a fresh catalog"
            ),
            CatalogError::NotYetValid { version, created } => write!(
                f,
                "catalog version {version} was created at {created}, in the future: check the clock"
            ),
            CatalogError::Rollback { version, last_seen } => write!(
                f,
                "catalog version {version} is older than version {last_seen} already seen (rollback)"
            ),
            CatalogError::UnknownCriticalExtension { id } => {
                write!(f, "catalog has unknown critical extension {id}")
            }
        }
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CatalogError::Container(e) => Some(e),
            CatalogError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

/// Verifies a catalog: the catalog role's threshold over its body (before
/// decoding), then freshness at `clock` and `version ≥ last_seen`.
///
/// `last_seen` is the floor in force for this root: for a device, use
/// [`DeviceProfile::catalog_floor`](crate::DeviceProfile::catalog_floor),
/// which resets it when the root's catalog role has changed. The same as
/// [`verify_catalog_from`] over the bytes.
pub fn verify_catalog(
    bytes: &[u8],
    root: &TrustedRoot,
    clock: Clock,
    last_seen: u64,
    limits: &Limits,
) -> Result<VerifiedCatalog, CatalogError> {
    verify_catalog_from(bytes, root, clock, last_seen, limits)
}

/// Like [`verify_catalog`], reading the catalog from a stream through its
/// bound: the 40-byte header first, then exactly the signature block and
/// body it declares (within `limits`), then at most one more byte, which
/// must not exist (C16). Whatever follows in the stream, memory stays
/// bounded by the limits and nothing after that byte is read.
pub fn verify_catalog_from<R: Read>(
    input: R,
    root: &TrustedRoot,
    clock: Clock,
    last_seen: u64,
    limits: &Limits,
) -> Result<VerifiedCatalog, CatalogError> {
    let head = read_document(input, FileType::Catalog, limits).map_err(CatalogError::Container)?;
    let trust = root.root();
    let digest = Digest::of(&head.body);
    let report = SignerReport::check(
        &head.signatures,
        &statement_for_digest(FileType::Catalog, &digest),
        &trust.keys,
    );
    require_threshold(&report, RoleName::Catalog, &trust.roles.catalog, "catalog")
        .map_err(CatalogError::Signature)?;
    let catalog: Catalog = decode(&head.body, limits).map_err(CatalogError::Decode)?;
    if let Some(e) = unknown_critical(&catalog.extensions, KNOWN_EXTENSIONS) {
        return Err(CatalogError::UnknownCriticalExtension { id: e.id });
    }
    if catalog.version < last_seen {
        return Err(CatalogError::Rollback {
            version: catalog.version,
            last_seen,
        });
    }
    if clock.is_expired(catalog.expires) {
        return Err(CatalogError::Expired {
            version: catalog.version,
            expires: catalog.expires,
            at: clock.at_least(),
        });
    }
    if clock.is_not_yet_valid(catalog.created) {
        return Err(CatalogError::NotYetValid {
            version: catalog.version,
            created: catalog.created,
        });
    }
    Ok(VerifiedCatalog {
        digest,
        role: root.catalog_role(),
        catalog,
    })
}

/// A package fetched for a catalog entry that is not the one the entry
/// names.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchError {
    /// The package's size is not the entry's.
    Size {
        /// Size the entry promises.
        expected: u64,
        /// Size the package header declares.
        declared: u64,
    },
    /// The package's manifest is not the one the entry names (mix and match).
    Digest {
        /// Digest in the entry.
        expected: Digest,
        /// Digest of the fetched manifest.
        found: Digest,
    },
    /// The package itself does not verify.
    Verify(VerifyError),
}

impl FetchError {
    /// The layer of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            FetchError::Size { .. } | FetchError::Digest { .. } => ErrorClass::Integrity,
            FetchError::Verify(e) => e.class(),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Size { expected, declared } => write!(
                f,
                "package is {declared} bytes, the catalog entry says {expected}"
            ),
            FetchError::Digest { expected, found } => write!(
                f,
                "package manifest {found} is not the one the catalog entry names ({expected})"
            ),
            FetchError::Verify(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Verify(e) => Some(e),
            _ => None,
        }
    }
}

/// Opens a package fetched for `entry`: never reads past the entry's size,
/// requires the package to declare exactly that size and to carry exactly
/// the entry's manifest (compared before its signatures are even checked),
/// then verifies it on its own.
pub fn open_for_entry<R: Read>(
    entry: &CatalogEntry,
    input: R,
    root: &TrustedRoot,
    limits: &Limits,
) -> Result<VerifiedPackage<io::Take<R>>, FetchError> {
    let mut input = input.take(entry.size);
    let verify = |e: ContainerError| FetchError::Verify(VerifyError::Container(e));
    let head = read_head(&mut input, FileType::Package, limits).map_err(verify)?;
    let declared = head.layout().map_err(verify)?.end;
    if declared != entry.size {
        return Err(FetchError::Size {
            expected: entry.size,
            declared,
        });
    }
    let found = Digest::of(&head.body);
    if found != entry.manifest_digest {
        return Err(FetchError::Digest {
            expected: entry.manifest_digest,
            found,
        });
    }
    let verified =
        verify_head_with_digest(&head, found, root, limits).map_err(FetchError::Verify)?;
    Ok(VerifiedPackage::from_verified(verified, input))
}
