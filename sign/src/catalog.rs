//! Catalog authoring: start a catalog, add packages to it (their entries
//! copied from their manifests), sign it.

use crate::error::SignError;
use crate::keys::{PublicKey, SecretKey};
use crate::metadata::{self, SaveOutcome};
use crate::signing::{SignOutcome, open_package};
use hpk_format::{
    Catalog, CatalogEntry, DeltaOf, Digest, FileType, Head, Limits, MAX_LOCATION_LEN, Manifest,
};
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
///
/// A delta package is refused: its entry must say what it is a delta of
/// ([`delta_entry_for_package`]), or every device would be offered it.
pub fn entry_for_package(
    package: &Path,
    location: Option<&str>,
) -> Result<CatalogEntry, SignError> {
    let (entry, manifest) = entry_of(package, location)?;
    if manifest.payloads.iter().any(|p| p.base().is_some()) {
        return Err(SignError::Inconsistent {
            path: package.to_path_buf(),
            reason: "a delta package (built with --delta-from): add it with the package it is a \
                     delta of and its full form"
                .into(),
        });
    }
    Ok(entry)
}

/// The entry for `package` and its manifest.
fn entry_of(package: &Path, location: Option<&str>) -> Result<(CatalogEntry, Manifest), SignError> {
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
    let entry = CatalogEntry {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        kind: manifest.kind.clone(),
        security_version: manifest.security_version,
        restart_required: manifest.restart_required,
        targets: manifest.targets.clone(),
        manifest_digest: Digest::of(&opened.head.body),
        size,
        location,
        delta: None,
    };
    Ok((entry, manifest))
}

/// The catalog entry for the delta package `package`, built with `hpk
/// pack --delta-from BASE` as the smaller form of the full package `full`:
/// [`entry_for_package`] with [`CatalogEntry::delta`] naming both.
///
/// Checked before anything is written: `package` needs bases and `full`
/// does not; the two say the same of everything but how their payloads
/// are stored (the same names, sizes, content digests, links, folders,
/// kind, targets, times); and every base `package` needs is the content of
/// the payload of the same name in `base`. So a device that installed
/// `base` can rebuild it, and gets `full`'s files.
pub fn delta_entry_for_package(
    package: &Path,
    location: Option<&str>,
    base: &Path,
    full: &Path,
) -> Result<CatalogEntry, SignError> {
    let limits = Limits::default();
    let (mut entry, delta) = entry_of(package, location)?;
    let (full_opened, full_manifest) = open_package(full, &limits)?;
    let (base_opened, base_manifest) = open_package(base, &limits)?;
    let wrong = |reason: String| SignError::Inconsistent {
        path: package.to_path_buf(),
        reason,
    };
    if !delta.payloads.iter().any(|p| p.base().is_some()) {
        return Err(wrong(
            "not a delta package (no payload is stored against a base): add it without --delta-of"
                .into(),
        ));
    }
    if full_manifest.payloads.iter().any(|p| p.base().is_some()) {
        return Err(wrong(format!(
            "{} is itself a delta package, not the full one",
            full.display()
        )));
    }
    if let Some(reason) = same_files(&delta, &full_manifest) {
        return Err(wrong(format!(
            "it does not hold the same files as {}: {reason}",
            full.display()
        )));
    }
    for p in &delta.payloads {
        let Some(needed) = p.base() else { continue };
        let found = base_manifest
            .payloads
            .binary_search_by(|b| b.name.cmp(&p.name))
            .ok()
            .and_then(|i| base_manifest.payloads.get(i));
        if found.is_none_or(|b| b.content_digest != needed.digest || b.size != needed.size) {
            return Err(wrong(format!(
                "payload {} needs a base that {} does not have under that name",
                p.name,
                base.display()
            )));
        }
    }
    entry.delta = Some(DeltaOf {
        base: Digest::of(&base_opened.head.body),
        full: Digest::of(&full_opened.head.body),
    });
    Ok(entry)
}

/// What differs between a delta package and its full form, other than how
/// payloads are stored; `None` if nothing.
fn same_files(delta: &Manifest, full: &Manifest) -> Option<String> {
    let fields = [
        ("name", delta.name == full.name),
        ("version", delta.version == full.version),
        ("kind", delta.kind == full.kind),
        (
            "security version",
            delta.security_version == full.security_version,
        ),
        ("creation time", delta.created == full.created),
        ("expiry", delta.expires == full.expires),
        ("restart", delta.restart_required == full.restart_required),
        ("targets", delta.targets == full.targets),
        ("links", delta.links == full.links),
        ("folders", delta.folders == full.folders),
        ("extensions", delta.extensions == full.extensions),
        ("payload count", delta.payloads.len() == full.payloads.len()),
    ];
    if let Some((what, _)) = fields.iter().find(|(_, same)| !same) {
        return Some(format!("its {what} differs"));
    }
    delta
        .payloads
        .iter()
        .zip(&full.payloads)
        .find(|(d, f)| {
            d.name != f.name
                || d.executable != f.executable
                || d.size != f.size
                || d.content_digest != f.content_digest
        })
        .map(|(d, _)| format!("payload {} differs", d.name))
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
/// and version is listed, other than its full form or a delta of it
/// against another base.
pub fn add_entry(catalog: &mut Catalog, entry: CatalogEntry) -> Result<bool, CatalogEditError> {
    // A name and version name one full package, and at most one delta of
    // it per base, each naming that full package.
    let base_of = |e: &CatalogEntry| e.delta.map(|d| d.base);
    let full_of = |e: &CatalogEntry| e.delta.map_or(e.manifest_digest, |d| d.full);
    if let Some(other) = catalog.entries.iter().find(|e| {
        e.name == entry.name
            && e.version == entry.version
            && e.manifest_digest != entry.manifest_digest
            && (base_of(e) == base_of(&entry) || full_of(e) != full_of(&entry))
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
