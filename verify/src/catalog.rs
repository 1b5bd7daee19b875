//! Catalogs as an agent receives them: verified against the catalog role,
//! fresh, never older than the last one seen; and the packages fetched for
//! their entries, held to the entry's exact size and manifest digest.

use crate::clock::Clock;
use crate::document::{Signed, Verified, unknown_critical_extension};
use crate::error::VerifyError;
use crate::error::{CatalogError, Rollback};
use crate::package::Package;
use crate::threshold::{Subject, role_of};
use crate::trust::TrustedRoot;
use hpk_format::{
    Catalog, CatalogEntry, ContainerError, Digest, ErrorClass, FileType, Limits, RoleName,
};
use std::fmt;
use std::io::{self, Read};

/// Verifies a catalog (VC1–VC7): read through its bound, the catalog
/// role's threshold over its statement (before decoding), critical
/// extensions, `version ≥ last_seen`, then freshness at `clock`.
///
/// `last_seen` is the floor in force for this root: for a device,
/// [`DeviceProfile::catalog_floor`](crate::DeviceProfile::catalog_floor),
/// which resets it when the root's catalog role has changed.
pub(crate) fn verify_catalog<R: Read>(
    input: R,
    root: &TrustedRoot,
    clock: Clock,
    last_seen: u64,
    limits: &Limits,
) -> Result<Verified<Catalog>, CatalogError> {
    let signed =
        Signed::read_whole(input, FileType::Catalog, limits).map_err(CatalogError::Container)?;
    let role = (
        RoleName::Catalog,
        role_of(&root.root().roles, RoleName::Catalog),
    );
    let opened = signed.open::<Catalog>(root.ring(), &[role], Subject::Catalog, limits)?;
    let catalog = opened.value;
    let version = catalog.version;
    if let Some(id) = unknown_critical_extension(&catalog.extensions) {
        return Err(CatalogError::UnknownCriticalExtension { version, id });
    }
    if version < last_seen {
        return Err(CatalogError::Version(Rollback { version, last_seen }));
    }
    clock
        .judge(catalog.created, Some(catalog.expires))
        .map_err(|fault| CatalogError::of_time(version, fault))?;
    let signers = opened.report.signers_in(role.1);
    Ok(Verified::new(catalog, signed.digest, role, signers))
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

    /// The not-applicable reason of a policy failure; `None` otherwise.
    pub fn reason(&self) -> Option<crate::error::Reason> {
        match self {
            FetchError::Verify(e) => e.reason(),
            _ => None,
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

/// Opens a package fetched for `entry` (VF1–VF4): never reads past the
/// entry's size, requires the package to declare exactly that size and
/// to carry exactly the entry's manifest (compared before its signatures
/// are even checked), then verifies its head on its own.
pub(crate) fn open_for_entry<R: Read>(
    entry: &CatalogEntry,
    input: R,
    root: &TrustedRoot,
    clock: Clock,
    limits: &Limits,
) -> Result<Package<io::Take<R>>, FetchError> {
    let mut input = input.take(entry.size);
    let verify = |e: ContainerError| FetchError::Verify(VerifyError::Container(e));
    let signed = Signed::read_head(&mut input, FileType::Package, limits).map_err(verify)?;
    let declared = signed.head.layout().map_err(verify)?.end;
    if declared != entry.size {
        return Err(FetchError::Size {
            expected: entry.size,
            declared,
        });
    }
    if signed.digest != entry.manifest_digest {
        return Err(FetchError::Digest {
            expected: entry.manifest_digest,
            found: signed.digest,
        });
    }
    Package::open(signed, input, Some(entry.size), root, clock, limits).map_err(FetchError::Verify)
}
