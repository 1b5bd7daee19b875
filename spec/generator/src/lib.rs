//! `hpk-vectors`: the generator of the hpk conformance test vectors.
//!
//! [`generate`] builds every file of `spec/vectors/` in memory, from fixed
//! seeds and fixed times only: the vectors (`NAME.vec`), the trust roots
//! they name (`roots/NAME.hpkroot`), the device profiles they name
//! (`devices/NAME.toml`), the device files they name as bases
//! (`bases/HEX`) and `README.md` (the format, from
//! `src/readme.md`, and an index of the vectors). [`write()`] puts them
//! on disk and removes stale ones; [`check`] compares them byte for byte
//! with what is on disk. The file format is described in
//! `spec/vectors/README.md` and parsed by [`Vector::parse`].
#![forbid(unsafe_code)]
// A test-support crate: the generator builds fixed data, so a failed
// expectation is a bug in the generator, found at once by `--check` and
// by the tests; unwrap/expect/panic are the right tools here. I/O errors
// are still returned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod build;
mod cases;
mod vector;

pub use cases::entry_json as plan_entry_json;
pub use vector::{KEYS, Vector, VectorError};

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Generated files: path relative to `spec/vectors/` (with `/`) → bytes.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Whether the generator owns `rel` (a path under `spec/vectors/`): the
/// vectors, `roots/`, `devices/`, `plans/`, `bases/` and `README.md`. Other
/// files are left alone.
pub fn is_managed(rel: &str) -> bool {
    rel == "README.md"
        || (rel.ends_with(".vec") && !rel.contains('/'))
        || rel.starts_with("roots/")
        || rel.starts_with("devices/")
        || rel.starts_with("plans/")
        || rel.starts_with("bases/")
}

/// Builds every vector, trust root, device profile and base file, and the README
/// that describes them.
pub fn generate() -> Files {
    cases::all()
}

/// The generated vectors, parsed.
pub fn vectors() -> Vec<Vector> {
    generate()
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_suffix(".vec")?;
            Some(Vector::parse(name, bytes).expect("generated vector parses"))
        })
        .collect()
}

/// Reads every file under `dir` that the generator manages
/// ([`is_managed`]).
pub fn read_dir_files(dir: &Path) -> io::Result<Files> {
    fn walk(root: &Path, dir: &Path, out: &mut Files) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .map_err(io::Error::other)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if is_managed(&rel) {
                out.insert(rel, std::fs::read(&path)?);
            }
        }
        Ok(())
    }
    let mut out = Files::new();
    if dir.exists() {
        walk(dir, dir, &mut out)?;
    }
    Ok(out)
}

/// Writes every generated file under `dir` (only those that changed) and
/// removes managed files the generator no longer makes. Returns what was
/// written or removed, and the number of files generated.
pub fn write(dir: &Path) -> io::Result<(Vec<String>, usize)> {
    let files = generate();
    let existing = read_dir_files(dir)?;
    let mut changed = Vec::new();
    for (rel, bytes) in &files {
        if existing.get(rel) == Some(bytes) {
            continue;
        }
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        changed.push(format!("wrote {rel}"));
    }
    for rel in existing.keys().filter(|r| !files.contains_key(*r)) {
        std::fs::remove_file(dir.join(rel))?;
        changed.push(format!("removed {rel}"));
    }
    Ok((changed, files.len()))
}

/// Regenerates every file and compares it byte for byte with `dir`.
/// Returns the number of files checked, or every difference.
pub fn check(dir: &Path) -> Result<usize, Vec<String>> {
    let files = generate();
    let existing = read_dir_files(dir).map_err(|e| vec![format!("{}: {e}", dir.display())])?;
    let mut diffs = Vec::new();
    for (rel, bytes) in &files {
        match existing.get(rel) {
            None => diffs.push(format!("missing: {rel}")),
            Some(old) if old != bytes => diffs.push(format!(
                "differs: {rel} ({} bytes on disk, {} generated)",
                old.len(),
                bytes.len()
            )),
            Some(_) => {}
        }
    }
    for rel in existing.keys().filter(|r| !files.contains_key(*r)) {
        diffs.push(format!("not generated (stale): {rel}"));
    }
    if diffs.is_empty() {
        Ok(files.len())
    } else {
        Err(diffs)
    }
}
