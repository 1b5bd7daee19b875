//! The catalog: a signed, short-lived index of the packages on offer.

use crate::codec::{Canonical, check_len};
use crate::digest::Digest;
use crate::error::DecodeError;
use crate::extension::{Extension, validate_extensions};
use crate::limits::Limits;
use crate::manifest::{PackageKind, Targets, validate_kind, validate_targets};
use crate::names::PackageName;
use crate::version::Version;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Longest location string in bytes.
pub const MAX_LOCATION_LEN: usize = 2048;

/// A catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Version; a client never accepts a lower one than it has seen.
    pub version: u64,
    /// Creation time, seconds since the Unix epoch.
    pub created: u64,
    /// Expiry time, seconds since the Unix epoch (days after `created`).
    pub expires: u64,
    /// The packages on offer; manifest digests are unique.
    pub entries: Vec<CatalogEntry>,
    /// Extension records, ascending by id.
    pub extensions: Vec<Extension>,
}

/// One package on offer: a copy of what its manifest says, plus where to
/// fetch it and exactly how large it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Package name.
    pub name: PackageName,
    /// Content version.
    pub version: Version,
    /// Kind, with its baseline digest, sequence, revocations, floor.
    pub kind: PackageKind,
    /// Anti-rollback counter.
    pub security_version: u64,
    /// Whether installing needs a restart.
    pub restart_required: bool,
    /// Which devices it is for.
    pub targets: Targets,
    /// SHA-256 of the package's manifest.
    pub manifest_digest: Digest,
    /// Exact size of the package file in bytes.
    pub size: u64,
    /// Where to fetch it: a relative path or a URL.
    pub location: String,
    /// For a delta package: what it is a delta of, and of which full
    /// package it is the smaller form. `None` for a full package.
    pub delta: Option<DeltaOf>,
}

/// What a delta package's catalog entry says of it: a device that has
/// installed `base` has every file the package is rebuilt from, and gets
/// the same files as from the full package `full`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeltaOf {
    /// Manifest digest of the package whose files are the bases (the one
    /// the delta was built from, e.g. the baseline the devices run).
    pub base: Digest,
    /// Manifest digest of the full package with the same files, which a
    /// device that installed this one records as installed.
    pub full: Digest,
}

impl Canonical for Catalog {
    fn validate(&self, limits: &Limits) -> Result<(), DecodeError> {
        if self.version == 0 {
            return Err(DecodeError::invalid(
                "version",
                "catalog versions start at 1",
            ));
        }
        if self.expires <= self.created {
            return Err(DecodeError::invalid("expires", "must be after created"));
        }
        check_len(&self.entries, "catalog entry count", limits)?;
        let mut seen = HashSet::new();
        for e in &self.entries {
            validate_targets(&e.targets, limits)?;
            validate_kind(&e.kind, e.security_version, e.restart_required, limits)?;
            if !seen.insert(e.manifest_digest) {
                return Err(DecodeError::invalid(
                    "entries",
                    format!("package {} is listed twice", e.manifest_digest),
                ));
            }
            if e.location.is_empty()
                || e.location.len() > MAX_LOCATION_LEN
                || e.location.chars().any(char::is_control)
            {
                return Err(DecodeError::invalid(
                    "location",
                    format!(
                        "entry {}: must be 1 to {MAX_LOCATION_LEN} bytes without control characters",
                        e.name
                    ),
                ));
            }
        }
        for e in &self.entries {
            if let Some(d) = e.delta
                && (d.full == e.manifest_digest || d.base == d.full)
            {
                return Err(DecodeError::invalid(
                    "delta",
                    format!(
                        "entry {}: a delta names another package as its full form, and a base other than that",
                        e.name
                    ),
                ));
            }
        }
        validate_extensions(&self.extensions, limits)
    }
}
