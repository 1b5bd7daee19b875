//! The layout of a repository (`spec/SPEC.md`, "Repositories"): a folder
//! of static files that any HTTP server or CDN can serve.
//!
//! ```text
//! REPO/
//!   root/1.hpkroot, root/2.hpkroot, …   every trust-root version
//!   catalog.hpkcat                       the current catalog
//!   packages/<manifest digest>.hpk       packages, named by what they hold
//! ```
//!
//! Only `catalog.hpkcat` is ever replaced: a root version or a package,
//! once written, stays as it is, so a cache never serves a stale file
//! under a reused name. Every file is written atomically (a temporary
//! file beside it, flushed, renamed, the folder flushed:
//! [`hpk_sign::AtomicFile`]); this module only names and lists them.

use crate::exit::{CliError, CliResult};
use hpk_format::{Digest, Limits};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// The folder of trust-root versions.
pub const ROOT_DIR: &str = "root";
/// The folder of packages.
pub const PACKAGES_DIR: &str = "packages";
/// The catalog, at the top of the repository.
pub const CATALOG_FILE: &str = "catalog.hpkcat";
/// How a trust-root version's file name ends.
const ROOT_SUFFIX: &str = ".hpkroot";
/// How a package's file name ends.
const PACKAGE_SUFFIX: &str = ".hpk";

/// The path, inside the repository, of trust-root version `version`:
/// `root/<version>.hpkroot`, in decimal without leading zeros.
pub fn root_file(version: u64) -> String {
    format!("{ROOT_DIR}/{version}{ROOT_SUFFIX}")
}

/// The path, inside the repository, of the package whose manifest digest
/// is `digest`: `packages/<64 lowercase hex digits>.hpk`. It is also the
/// package's `location` in the catalog, relative to `catalog.hpkcat`.
pub fn package_location(digest: &Digest) -> String {
    format!("{PACKAGES_DIR}/{}{PACKAGE_SUFFIX}", digest.to_hex())
}

/// The version a file of `root/` holds by its name: `<N>.hpkroot`, `N`
/// in decimal without leading zeros, at least 1. `None` for any other
/// name.
fn root_version_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(ROOT_SUFFIX)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    canonical.then(|| digits.parse().ok()).flatten()
}

/// The path inside the repository that a catalog entry's `location`
/// names, resolved as a relative reference against the URL of
/// `catalog.hpkcat` at the repository's top (RFC 3986, section 5), or
/// `None` when it names something that may lie outside the repository:
/// a URI with a scheme, a network-path or absolute-path reference
/// (`//host/…`, `/…`), one with a query or fragment, or one whose `..`
/// climbs above the repository's top.
pub fn location_in_repository(location: &str) -> Option<String> {
    if location.contains(['?', '#']) || location.starts_with('/') {
        return None;
    }
    // A colon in the first segment makes a scheme (RFC 3986 section 4.2:
    // a relative path cannot have one there).
    let first = location.split('/').next().unwrap_or_default();
    if first.contains(':') {
        return None;
    }
    // The base's folder is the repository's top, so merging is the
    // reference itself; then remove_dot_segments (section 5.2.4).
    let segments: Vec<&str> = location.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut out: Vec<&str> = Vec::new();
    for (i, segment) in segments.into_iter().enumerate() {
        match segment {
            "." => {}
            ".." => {
                out.pop()?;
            }
            s => out.push(s),
        }
        // A dot segment at the end leaves a folder: `a/.` is `a/`.
        if i == last && matches!(segment, "." | "..") {
            out.push("");
        }
    }
    Some(out.join("/"))
}

/// Reads a trust root or a catalog (`-`: standard input) once, through
/// its bound: at most one byte more than [`Limits::max_document_len`], so that the
/// library sees and names what is wrong with a longer input.
pub fn read_metadata(path: &Path, limits: &Limits) -> CliResult<Vec<u8>> {
    let input = crate::inputs::open(path)?;
    let mut bytes = Vec::new();
    input
        .take(limits.max_document_len().saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io(path, &e))?;
    Ok(bytes)
}

/// Whether the files `a` and `b` hold the same bytes, read side by side
/// in bounded buffers.
pub fn same_bytes(a: &Path, b: &Path) -> io::Result<bool> {
    let (fa, fb) = (File::open(a)?, File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (BufReader::new(fa), BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let (na, ea) = hpk_format::read_partial(&mut ra, &mut ba);
        let (nb, eb) = hpk_format::read_partial(&mut rb, &mut bb);
        if let Some(e) = ea.or(eb) {
            return Err(e);
        }
        if na != nb || ba.get(..na) != bb.get(..nb) {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// The trust-root versions a repository holds: every version from
/// `oldest` to `newest`, with no gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootVersions {
    /// The version the repository started with (`hpk repo init`).
    pub oldest: u64,
    /// The newest version: the one everything is verified under.
    pub newest: u64,
}

/// An existing repository.
pub struct Repository {
    dir: PathBuf,
}

impl Repository {
    /// The repository in `dir`: it must hold the folders `root/` and
    /// `packages/` (as `hpk repo init` makes them).
    pub fn open(dir: &Path) -> CliResult<Repository> {
        for sub in [ROOT_DIR, PACKAGES_DIR] {
            let path = dir.join(sub);
            if !std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                return Err(CliError::usage(format!(
                    "{}: not a repository (no folder {sub}/)",
                    dir.display()
                ))
                .hint("make one with `hpk repo init DIR --root ROOT.hpkroot`"));
            }
        }
        Ok(Repository {
            dir: dir.to_path_buf(),
        })
    }

    /// The repository's folder, as given.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path inside the repository (`root/2.hpkroot`) as a path to open.
    pub fn path(&self, inside: &str) -> PathBuf {
        self.dir.join(inside)
    }

    /// The trust-root versions in `root/`: names `<N>.hpkroot` from the
    /// oldest to the newest with none missing. Hidden files (a writer's
    /// temporary files) and other names are not versions; a name that
    /// ends in `.hpkroot` but is not a canonical version is refused.
    /// Memory stays constant whatever the folder holds.
    pub fn root_versions(&self) -> CliResult<RootVersions> {
        let dir = self.dir.join(ROOT_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|e| CliError::io(&dir, &e))?;
        let mut found: Option<(RootVersions, u64)> = None;
        for entry in entries {
            let entry = entry.map_err(|e| CliError::io(&dir, &e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !name.ends_with(ROOT_SUFFIX) {
                continue;
            }
            let version = root_version_of(&name).ok_or_else(|| {
                CliError::usage(format!(
                    "{}: not a trust-root version's name (<N>.hpkroot, N in decimal without leading zeros)",
                    dir.join(&*name).display()
                ))
                .hint("root/ holds only what `hpk repo init` and `hpk repo add-root` write")
            })?;
            found = Some(match found {
                None => (
                    RootVersions {
                        oldest: version,
                        newest: version,
                    },
                    1,
                ),
                Some((v, n)) => (
                    RootVersions {
                        oldest: v.oldest.min(version),
                        newest: v.newest.max(version),
                    },
                    n.saturating_add(1),
                ),
            });
        }
        let Some((versions, count)) = found else {
            return Err(CliError::usage(format!(
                "{}: no trust root (root/<N>.hpkroot)",
                self.dir.display()
            ))
            .hint("a repository starts with `hpk repo init DIR --root ROOT.hpkroot`"));
        };
        // Distinct names, so the count equals the span exactly when no
        // version is missing.
        if versions
            .newest
            .saturating_sub(versions.oldest)
            .checked_add(1)
            != Some(count)
        {
            return Err(CliError::usage(format!(
                "{}: root/ misses versions between {} and {}: devices walk rotations one version at a time",
                self.dir.display(),
                versions.oldest,
                versions.newest
            ))
            .hint("restore the missing root/<N>.hpkroot files from where they were signed"));
        }
        Ok(versions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical() {
        assert_eq!(root_file(1), "root/1.hpkroot");
        assert_eq!(root_file(12), "root/12.hpkroot");
        assert_eq!(root_version_of("12.hpkroot"), Some(12));
        for bad in [
            "0.hpkroot",
            "012.hpkroot",
            ".hpkroot",
            "+1.hpkroot",
            "1.hpkroot.bak",
            "18446744073709551616.hpkroot",
        ] {
            assert_eq!(root_version_of(bad), None, "{bad}");
        }
        let digest = Digest::of(b"x");
        let location = package_location(&digest);
        assert_eq!(location.len(), "packages/".len() + 64 + ".hpk".len());
        assert_eq!(location, location.to_lowercase());
    }

    #[test]
    fn locations_resolve_against_the_catalog() {
        let inside = |l: &str| location_in_repository(l);
        assert_eq!(inside("packages/a.hpk").as_deref(), Some("packages/a.hpk"));
        assert_eq!(
            inside("./packages/./a.hpk").as_deref(),
            Some("packages/a.hpk")
        );
        assert_eq!(
            inside("x/../packages/a.hpk").as_deref(),
            Some("packages/a.hpk")
        );
        assert_eq!(inside("packages/.").as_deref(), Some("packages/"));
        assert_eq!(inside("a.hpk").as_deref(), Some("a.hpk"));
        for outside in [
            "https://cdn.example/packages/a.hpk",
            "file:packages/a.hpk",
            "//cdn.example/packages/a.hpk",
            "/packages/a.hpk",
            "../packages/a.hpk",
            "packages/../../a.hpk",
            "packages/a.hpk?v=2",
            "packages/a.hpk#x",
        ] {
            assert_eq!(inside(outside), None, "{outside}");
        }
    }

    #[test]
    fn the_metadata_bound_follows_the_limits() {
        let limits = Limits::default();
        assert_eq!(limits.max_document_len(), 40 + 32 * 100 + 32 * 1024 * 1024);
    }
}
