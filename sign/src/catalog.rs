//! Catalog authoring: start a catalog, add packages to it (their entries
//! copied from their manifests), sign it.

use crate::error::SignError;
use crate::keys::{PublicKey, SecretKey};
use crate::metadata::{self, SaveOutcome};
use crate::signing::{SignOutcome, open_package};
use hpk_format::{Catalog, CatalogEntry, Digest, FileType, Head, Limits, MAX_LOCATION_LEN};
use std::fmt;
use std::path::Path;

/// A new, empty catalog.
pub fn new_catalog(version: u64, created: u64, expires: u64) -> Catalog {
    Catalog {
        version,
        created,
        expires,
        entries: Vec::new(),
        extensions: Vec::new(),
    }
}

/// The catalog entry for the package file `package`: what its manifest
/// says, its manifest digest and exact size, and `location` (default: the
/// file's name).
pub fn entry_for_package(
    package: &Path,
    location: Option<&str>,
) -> Result<CatalogEntry, SignError> {
    let (opened, manifest) = open_package(package, &Limits::default())?;
    let size = std::fs::metadata(package)
        .map_err(|source| SignError::Io {
            path: package.to_path_buf(),
            source,
        })?
        .len();
    let location = match location {
        Some(l) => l.to_owned(),
        None => package
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if location.is_empty() || location.len() > MAX_LOCATION_LEN {
        return Err(SignError::Location {
            path: package.to_path_buf(),
            reason: format!("location must be 1 to {MAX_LOCATION_LEN} bytes"),
        });
    }
    Ok(CatalogEntry {
        name: manifest.name,
        version: manifest.version,
        kind: manifest.kind,
        security_version: manifest.security_version,
        restart_required: manifest.restart_required,
        targets: manifest.targets,
        manifest_digest: Digest::of(&opened.head.body),
        size,
        location,
    })
}

/// Why a catalog edit was refused. The catalog is left as it was.
#[derive(Debug)]
#[non_exhaustive]
pub enum CatalogEditError {
    /// The catalog already lists another package with the same name and
    /// version (a different manifest digest). Devices could not tell the
    /// two apart by what the catalog says; remove the old entry first.
    Duplicate {
        /// The package name.
        name: String,
        /// The version.
        version: String,
        /// The manifest digest of the entry already in the catalog.
        existing: Digest,
        /// The manifest digest of the entry being added.
        added: Digest,
    },
    /// No entry matches what was asked to be removed.
    NotFound {
        /// What was looked for, for people.
        what: String,
    },
}

impl fmt::Display for CatalogEditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogEditError::Duplicate {
                name,
                version,
                existing,
                added,
            } => write!(
                f,
                "the catalog already lists {name} {version} as another package \
                 (manifest {existing}); this one is {added}: a name and version \
                 name one package"
            ),
            CatalogEditError::NotFound { what } => {
                write!(f, "the catalog has no entry for {what}")
            }
        }
    }
}

impl std::error::Error for CatalogEditError {}

/// Adds `entry`, replacing the entry of the same package (same manifest
/// digest, e.g. with a new location), and keeps the entries in a
/// deterministic order (name, version, manifest digest). Returns whether
/// the catalog changed.
///
/// # Errors
/// [`CatalogEditError::Duplicate`] if another package with the same name
/// and version is listed.
pub fn add_entry(catalog: &mut Catalog, entry: CatalogEntry) -> Result<bool, CatalogEditError> {
    if let Some(other) = catalog.entries.iter().find(|e| {
        e.name == entry.name
            && e.version == entry.version
            && e.manifest_digest != entry.manifest_digest
    }) {
        return Err(CatalogEditError::Duplicate {
            name: entry.name.to_string(),
            version: entry.version.to_string(),
            existing: other.manifest_digest,
            added: entry.manifest_digest,
        });
    }
    if let Some(existing) = catalog
        .entries
        .iter_mut()
        .find(|e| e.manifest_digest == entry.manifest_digest)
    {
        if *existing == entry {
            return Ok(false);
        }
        *existing = entry;
    } else {
        catalog.entries.push(entry);
    }
    catalog.entries.sort_by(|a, b| {
        (&a.name, &a.version, a.manifest_digest).cmp(&(&b.name, &b.version, b.manifest_digest))
    });
    Ok(true)
}

/// Which entries [`remove_entry`] drops.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntrySelector {
    /// The entry with this name and version (there is at most one).
    NameVersion {
        /// The package name, as in its manifest.
        name: String,
        /// The version, as in its manifest (`10.0.26100.3000`).
        version: String,
    },
    /// The entry with this manifest digest.
    Digest(Digest),
}

/// Removes the entry `which` selects and returns it.
///
/// # Errors
/// [`CatalogEditError::NotFound`] if no entry matches.
pub fn remove_entry(
    catalog: &mut Catalog,
    which: &EntrySelector,
) -> Result<CatalogEntry, CatalogEditError> {
    let at = catalog.entries.iter().position(|e| match which {
        EntrySelector::NameVersion { name, version } => {
            e.name.to_string() == *name && e.version.to_string() == *version
        }
        EntrySelector::Digest(d) => e.manifest_digest == *d,
    });
    match at {
        Some(i) => Ok(catalog.entries.remove(i)),
        None => Err(CatalogEditError::NotFound {
            what: match which {
                EntrySelector::NameVersion { name, version } => format!("{name} {version}"),
                EntrySelector::Digest(d) => format!("manifest {d}"),
            },
        }),
    }
}

/// Reads a catalog file **without** checking its signatures, for editing.
pub fn read_catalog_file(path: &Path) -> Result<(Head, Catalog), SignError> {
    metadata::read_file(path, FileType::Catalog)
}

/// Writes an edited catalog (unsigned, unless it is unchanged).
pub fn save_catalog(path: &Path, catalog: &Catalog) -> Result<SaveOutcome, SignError> {
    metadata::save(path, FileType::Catalog, catalog)
}

/// The message a signer must sign for the catalog file.
pub fn catalog_tbs(path: &Path) -> Result<Vec<u8>, SignError> {
    metadata::tbs::<Catalog>(path, FileType::Catalog)
}

/// Signs the catalog file with `key`, writing to `out` (may be `path`).
pub fn sign_catalog_file(
    path: &Path,
    key: &SecretKey,
    out: &Path,
) -> Result<SignOutcome, SignError> {
    metadata::sign::<Catalog>(path, FileType::Catalog, key, out)
}

/// Attaches a raw signature made elsewhere over [`catalog_tbs`]'s message.
pub fn attach_catalog_signature(
    path: &Path,
    public_key: &PublicKey,
    signature: &[u8],
    out: &Path,
) -> Result<SignOutcome, SignError> {
    metadata::attach::<Catalog>(path, FileType::Catalog, public_key, signature, out)
}
