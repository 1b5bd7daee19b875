//! The release a delta package is built against (`hpk pack --delta-from`):
//! an earlier package whose payloads are the files the devices have.
//!
//! The earlier package is read as a file the release engineer holds, not
//! verified against a trust root: what matters is that each base is the
//! bytes its digest names, and every byte read from it is checked against
//! its chunk index and its content SHA-256 (which the delta then names).
//! A package that lied about them would only give a delta that no device
//! has the base of, never a wrong file on a device.

use hpk_format::{
    ChunkEntry, FileType, Limits, Manifest, PayloadDescriptor, PayloadName, PayloadReader, decode,
    parse_chunk_index, read_head,
};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// An earlier package whose payloads serve as bases.
pub struct DeltaFrom {
    path: PathBuf,
    manifest: Manifest,
    indexes: Vec<Vec<ChunkEntry>>,
    /// Where each payload's stored bytes start in the file.
    offsets: Vec<u64>,
}

impl fmt::Debug for DeltaFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaFrom")
            .field("path", &self.path)
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .finish()
    }
}

/// Why an earlier package cannot serve as bases.
#[derive(Debug)]
pub struct DeltaFromError {
    /// The package.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for DeltaFromError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (the package to build deltas from): {}",
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for DeltaFromError {}

impl DeltaFrom {
    /// Reads the head and chunk indexes of the package at `path` (each
    /// index checked against its digest in the manifest).
    pub fn open(path: &Path, limits: &Limits) -> Result<DeltaFrom, DeltaFromError> {
        let fail = |reason: String| DeltaFromError {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(|e| fail(e.to_string()))?;
        let mut input = BufReader::new(file);
        let head =
            read_head(&mut input, FileType::Package, limits).map_err(|e| fail(e.to_string()))?;
        let layout = head.layout().map_err(|e| fail(e.to_string()))?;
        let manifest: Manifest = decode(&head.body, limits).map_err(|e| fail(e.to_string()))?;
        let mut indexes = Vec::with_capacity(manifest.payloads.len());
        let mut offsets = Vec::with_capacity(manifest.payloads.len());
        let mut at = layout.payload;
        for desc in &manifest.payloads {
            let len = desc
                .index_len()
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| fail(format!("{}: chunk index too long", desc.name)))?;
            let mut bytes = vec![0u8; len];
            input
                .read_exact(&mut bytes)
                .map_err(|e| fail(format!("{}: chunk index: {e}", desc.name)))?;
            indexes.push(parse_chunk_index(&bytes, desc).map_err(|e| fail(e.to_string()))?);
            offsets.push(at);
            at = at.saturating_add(desc.stored_size);
        }
        Ok(DeltaFrom {
            path: path.to_path_buf(),
            manifest,
            indexes,
            offsets,
        })
    }

    /// Its manifest (unverified).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The payload named `name`, if there is one, by its position.
    pub(crate) fn find(&self, name: &PayloadName) -> Option<(usize, &PayloadDescriptor)> {
        let at = self
            .manifest
            .payloads
            .binary_search_by(|p| p.name.cmp(name))
            .ok()?;
        Some((at, self.manifest.payloads.get(at)?))
    }

    /// Whether payload `at` can serve as a base: its content is stored in
    /// the package (not itself a delta of, or the same as, an older file).
    pub(crate) fn has_content(&self, at: usize) -> bool {
        self.manifest
            .payloads
            .get(at)
            .is_some_and(|p| p.base().is_none())
    }

    /// The content of payload `at`, every chunk checked against its index
    /// and the whole against its SHA-256.
    pub(crate) fn content(&self, at: usize) -> io::Result<Vec<u8>> {
        let (Some(desc), Some(entries), Some(&offset)) = (
            self.manifest.payloads.get(at),
            self.indexes.get(at),
            self.offsets.get(at),
        ) else {
            return Err(io::Error::other("no such payload in the earlier package"));
        };
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(offset))?;
        let stored = BufReader::new(file).take(desc.stored_size);
        let mut content = Vec::with_capacity(usize::try_from(desc.size).unwrap_or(0));
        let reader = PayloadReader::new(desc, entries, stored).map_err(io::Error::other)?;
        reader
            .for_each_chunk(|chunk| {
                content.extend_from_slice(chunk);
                Ok(())
            })
            .map_err(|e| {
                io::Error::other(format!(
                    "{}: payload {}: {e}",
                    self.path.display(),
                    desc.name
                ))
            })?;
        Ok(content)
    }
}
