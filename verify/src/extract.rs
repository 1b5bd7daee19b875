//! Extracting a verified package into a folder.
//!
//! The target folder must not exist or be empty, and its parent must
//! exist. Every payload is written under its final name inside a private
//! staging folder beside the target (in the target's parent), each file
//! and folder flushed to disk; only when every payload's content and
//! SHA-256 have been checked is the staging folder renamed onto the
//! target, in one `rename`. So the target holds the whole extraction or
//! nothing, even after a crash; no temporary name ever sits beside a
//! payload name; and a failure removes the staging folder. Payload names
//! cannot escape the folder (they are validated relative paths), and no
//! link is followed: everything is created new in a folder that only
//! this process has written to. The manifest's empty folders and
//! symbolic links are made after every payload, each link as a relative
//! path that stays inside the folder; executable payloads get execute
//! permission (on Unix).

use crate::direct_writer::DirectWriter;
use crate::document::Verified;
use crate::error::{ExtractError, VerifyError};
use crate::sink::PayloadSink;
use crate::staging::StagingDir;
use hpk_format::{Manifest, PayloadDescriptor, PayloadName};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// What an extraction wrote.
#[derive(Debug)]
pub struct Extracted {
    /// The package's manifest, verified to full depth.
    pub manifest: Verified<Manifest>,
    /// The files written, under the target folder, in manifest order.
    pub files: Vec<PathBuf>,
    /// The symbolic links made, in manifest order.
    pub links: Vec<PathBuf>,
    /// The empty folders made, in manifest order.
    pub folders: Vec<PathBuf>,
}

/// Payloads at least this large are written with direct writes where
/// the file system allows them (see `DirectWriter`); smaller ones through
/// the page cache, where a second open would cost more than the copy.
const DIRECT_MIN: u64 = 4 << 20;

/// The payload file being written.
struct Current {
    path: PathBuf,
    file: File,
    writer: DirectWriter,
}

/// Writes payloads under their final names inside the staging folder.
struct DirSink<'a> {
    /// The staging folder.
    root: &'a Path,
    current: Option<Current>,
    /// Folders made inside the staging folder, relative to it.
    made: HashSet<PathBuf>,
    /// The same, in creation order, to sync them (deepest last).
    made_order: Vec<PathBuf>,
    /// The payloads' names as relative paths, in manifest order.
    names: Vec<PathBuf>,
    /// The links' names as relative paths, in manifest order.
    links: Vec<PathBuf>,
    /// Why a payload could not be written, with the path involved.
    failure: Option<ExtractError>,
}

impl DirSink<'_> {
    fn fail(&mut self, e: ExtractError) -> io::Error {
        let error = io::Error::other(e.to_string());
        self.failure = Some(e);
        error
    }

    /// Makes the folder `rel` inside the staging folder unless this
    /// extraction made it already. N9 and N10 keep names from meeting each
    /// other; on a file system that ignores case, a folder that exists
    /// under another case was made by this extraction too (nothing else
    /// writes here), and anything else in the way is refused.
    fn folder(&mut self, rel: &Path) -> Result<(), ExtractError> {
        if self.made.contains(rel) {
            return Ok(());
        }
        let path = self.root.join(rel);
        match std::fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => {}
                    _ => {
                        return Err(ExtractError::Unsafe {
                            path,
                            reason: "a file or link is in the way of a folder",
                        });
                    }
                }
            }
            Err(source) => return Err(ExtractError::Io { path, source }),
        }
        self.made.insert(rel.to_path_buf());
        self.made_order.push(rel.to_path_buf());
        Ok(())
    }

    /// Makes the folders leading to `name` (not `name` itself) and
    /// returns its path relative to the staging folder.
    fn parents(&mut self, name: &PayloadName) -> Result<PathBuf, ExtractError> {
        let mut rel = PathBuf::new();
        let mut parts = name.components().peekable();
        while let Some(part) = parts.next() {
            rel.push(part);
            if parts.peek().is_some() {
                self.folder(&rel)?;
            }
        }
        Ok(rel)
    }

    /// Creates the folders leading to `desc`'s name and the file itself,
    /// new, inside the staging folder, executable if the manifest says so.
    fn create(&mut self, desc: &PayloadDescriptor) -> Result<(PathBuf, File), ExtractError> {
        let rel = self.parents(&desc.name)?;
        let path = self.root.join(&rel);
        let mut options = OpenOptions::new();
        // Exclusive: fails on anything already there, link or not.
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if desc.executable { 0o755 } else { 0o644 });
        }
        let file = options.open(&path).map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => ExtractError::Unsafe {
                path: path.clone(),
                reason: "another entry is already there",
            },
            _ => ExtractError::Io {
                path: path.clone(),
                source,
            },
        })?;
        self.names.push(rel);
        Ok((path, file))
    }

    /// Creates the manifest's empty folders and links, once every payload
    /// is written: a link is made last so that nothing is ever written
    /// through one, and as the relative path from its folder to its
    /// target, which stays inside the target folder (SPEC X2).
    fn finish_entries(&mut self, manifest: &Manifest) -> Result<(), ExtractError> {
        for folder in &manifest.folders {
            let rel = self.parents(folder)?;
            self.folder(&rel)?;
        }
        for link in &manifest.links {
            let rel = self.parents(&link.name)?;
            let path = self.root.join(&rel);
            make_link(&relative_target(&link.name, &link.target), &path).map_err(|source| {
                match source.kind() {
                    io::ErrorKind::AlreadyExists => ExtractError::Unsafe {
                        path: path.clone(),
                        reason: "another entry is already there",
                    },
                    io::ErrorKind::Unsupported => ExtractError::Unsafe {
                        path: path.clone(),
                        reason: "symbolic links cannot be made on this platform",
                    },
                    _ => ExtractError::Io {
                        path: path.clone(),
                        source,
                    },
                }
            })?;
            self.links.push(rel);
        }
        Ok(())
    }

    /// Flushes every payload file to disk, once all of them are written.
    ///
    /// On Linux, one `syncfs` of the staging folder's file system writes
    /// everything back with one journal commit (and reports any write-back
    /// error since the files were opened); a flush per file would cost a
    /// journal commit each, minutes for 100,000 small files. Elsewhere each
    /// file is reopened by name (inside the private staging folder, where
    /// nothing else writes) and flushed, one open at a time.
    fn sync_files(&self) -> Result<(), ExtractError> {
        #[cfg(target_os = "linux")]
        {
            let in_root = |source| ExtractError::Io {
                path: self.root.to_path_buf(),
                source,
            };
            let folder = File::open(self.root).map_err(in_root)?;
            rustix::fs::syncfs(&folder).map_err(|e| in_root(e.into()))
        }
        #[cfg(not(target_os = "linux"))]
        {
            for rel in &self.names {
                let path = self.root.join(rel);
                File::open(&path)
                    .and_then(|file| file.sync_all())
                    .map_err(|source| ExtractError::Io { path, source })?;
            }
            Ok(())
        }
    }

    /// Flushes the folders made inside the staging folder and the staging
    /// folder itself, deepest first, so that the tree is on disk before
    /// the rename makes it visible.
    fn sync_folders(&self) -> Result<(), ExtractError> {
        let folders = self.made_order.iter().rev().map(|rel| self.root.join(rel));
        for path in folders.chain(std::iter::once(self.root.to_path_buf())) {
            sync_folder(&path).map_err(|source| ExtractError::Io { path, source })?;
        }
        Ok(())
    }
}

/// The path a link named `name` holds to point at `target` (both relative
/// to the package's root): up from the link's folder to the folder the two
/// names share, then down to the target. Every folder it climbs is one
/// this extraction made (N10: no link or file is a folder of another
/// entry), so it never leaves the target folder.
pub(crate) fn relative_target(name: &PayloadName, target: &PayloadName) -> PathBuf {
    let mut from: Vec<&str> = name.components().collect();
    from.pop();
    let to: Vec<&str> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in to.iter().skip(common) {
        path.push(part);
    }
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

/// Makes a symbolic link at `path` holding `target`; fails if anything
/// is at `path`, and on platforms without symbolic links.
fn make_link(target: &Path, path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, path)
    }
    #[cfg(not(unix))]
    {
        let _ = (target, path);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "symbolic links are not supported here",
        ))
    }
}

/// Flushes a folder's entries to disk. Some file systems refuse to sync a
/// folder; that is not an error (there is nothing more to do there).
fn sync_folder(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let folder = File::open(path)?;
        match folder.sync_all() {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

impl PayloadSink for DirSink<'_> {
    fn begin(&mut self, desc: &PayloadDescriptor) -> io::Result<()> {
        match self.create(desc) {
            Ok((path, file)) => {
                let writer = if desc.size >= DIRECT_MIN {
                    DirectWriter::new(&file, &path, 0)
                } else {
                    DirectWriter::buffered(0)
                };
                self.current = Some(Current { path, file, writer });
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        let Some(current) = self.current.as_mut() else {
            return Err(io::Error::other("data outside a payload"));
        };
        // A failed write is recorded with its file, so that it is never
        // taken for a read error of the package.
        match current.writer.write(&mut current.file, chunk) {
            Ok(()) => Ok(()),
            Err(source) => {
                let path = current.path.clone();
                Err(self.fail(ExtractError::Io { path, source }))
            }
        }
    }

    fn end(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        let mut current = self
            .current
            .take()
            .ok_or_else(|| io::Error::other("end outside a payload"))?;
        // The file is flushed with all the others before the commit
        // (`sync_files`), not here: nothing is visible before the rename,
        // and one flush of many files costs far less than one each.
        match current.writer.flush(&mut current.file) {
            Ok(()) => Ok(()),
            Err(source) => Err(self.fail(ExtractError::Io {
                path: current.path,
                source,
            })),
        }
    }
}

/// `e` with a path inside the staging folder named as under the target
/// `dir` instead: the staging folder is removed on failure, and the
/// target is the name the user gave.
fn under_target(e: ExtractError, staging: &Path, dir: &Path) -> ExtractError {
    let rename = |path: PathBuf| match path.strip_prefix(staging) {
        Ok(rest) if rest.as_os_str().is_empty() => dir.to_path_buf(),
        Ok(rest) => dir.join(rest),
        Err(_) => path,
    };
    match e {
        ExtractError::Io { path, source } => ExtractError::Io {
            path: rename(path),
            source,
        },
        ExtractError::Unsafe { path, reason } => ExtractError::Unsafe {
            path: rename(path),
            reason,
        },
        other => other,
    }
}

/// A target that extraction accepts, and the folder it goes in.
struct Target {
    parent: PathBuf,
    /// Permissions of the empty folder that is there, if one is.
    existing: Option<std::fs::Permissions>,
}

/// Checks X1: `dir` names a folder in an existing parent folder, and is
/// either absent or an empty folder (not a link to one).
fn check_target(dir: &Path) -> Result<Target, ExtractError> {
    let refuse = |path: &Path, reason: &'static str| ExtractError::Target {
        path: path.to_path_buf(),
        reason,
    };
    // The last component as written: `Path` would skip a trailing `.`.
    let text = dir.to_string_lossy();
    let last = text
        .trim_end_matches(std::path::is_separator)
        .rsplit(std::path::is_separator)
        .next()
        .unwrap_or_default();
    if matches!(last, "" | "." | "..") || dir.file_name().is_none() {
        return Err(refuse(dir, "it does not name a new folder"));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&parent) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(refuse(dir, "the folder it would go in is not a folder")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(refuse(dir, "the folder it would go in does not exist"));
        }
        Err(source) => {
            return Err(ExtractError::Io {
                path: parent,
                source,
            });
        }
    }
    let existing = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ExtractError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
        Ok(m) if m.file_type().is_symlink() => {
            return Err(refuse(dir, "it is a symbolic link"));
        }
        Ok(m) if m.is_dir() => {
            let mut entries = std::fs::read_dir(dir).map_err(|source| ExtractError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            if entries.next().is_some() {
                return Err(refuse(dir, "it is a folder that is not empty"));
            }
            Some(m.permissions())
        }
        Ok(_) => return Err(refuse(dir, "it is a file")),
    };
    Ok(Target { parent, existing })
}

/// Verifies and extracts every payload of a package into the folder
/// `dir`, all or nothing.
///
/// `dir` must not exist, or be an empty folder; its parent folder must
/// exist (it is not created). Everything is written into a private
/// staging folder in that parent ([`StagingDir`]), which is
/// renamed onto `dir` once every payload has been verified and flushed to
/// disk. On any failure the staging folder is removed and `dir` is left
/// as it was. A crash leaves `dir` as it was or complete, and possibly a
/// staging folder `.hpk-extract-…` beside it.
///
/// `stream` verifies the package into the sink it is given (`payloads`
/// of them, in manifest order) and returns its manifest.
pub(crate) fn extract_to_dir(
    dir: &Path,
    payloads: usize,
    stream: impl FnOnce(&mut dyn PayloadSink) -> Result<Verified<Manifest>, VerifyError>,
) -> Result<Extracted, ExtractError> {
    let target = check_target(dir)?;
    let in_parent = |source| ExtractError::Io {
        path: target.parent.clone(),
        source,
    };
    // A new target gets the permissions of any new folder, not the
    // staging folder's private ones.
    let permissions = match target.existing.clone() {
        Some(p) => p,
        None => StagingDir::new_folder_permissions(&target.parent).map_err(in_parent)?,
    };
    let staging = StagingDir::create_in(&target.parent).map_err(in_parent)?;
    let mut sink = DirSink {
        root: staging.path(),
        current: None,
        made: HashSet::new(),
        made_order: Vec::new(),
        names: Vec::with_capacity(payloads),
        links: Vec::new(),
        failure: None,
    };
    let named = |e| under_target(e, staging.path(), dir);
    let manifest = match stream(&mut sink) {
        Ok(manifest) => manifest,
        Err(e) => {
            // Its write-behind thread is waited for; the file goes with
            // the staging folder.
            if let Some(mut current) = sink.current.take() {
                let _ = current.writer.flush(&mut current.file);
            }
            // Dropping `staging` removes it and what it holds.
            if let Some(failure) = sink.failure.take() {
                return Err(named(failure));
            }
            // The sink records every failure of its own: any other I/O
            // error is one of reading the package, and is reported as
            // such (class `io`), never as one of a file written.
            return Err(ExtractError::Verify(e));
        }
    };
    sink.finish_entries(&manifest).map_err(named)?;
    sink.sync_files().map_err(named)?;
    sink.sync_folders().map_err(named)?;
    std::fs::set_permissions(staging.path(), permissions)
        .map_err(|source| ExtractError::Io {
            path: staging.path().to_path_buf(),
            source,
        })
        .map_err(named)?;
    // Each relative name is freed as its full path is made: for 100,000
    // files the two lists are never held at once.
    let files = std::mem::take(&mut sink.names)
        .into_iter()
        .map(|rel| dir.join(rel))
        .collect();
    let links = std::mem::take(&mut sink.links)
        .into_iter()
        .map(|rel| dir.join(rel))
        .collect();
    let folders = manifest
        .folders
        .iter()
        .map(|f| dir.join(f.components().collect::<PathBuf>()))
        .collect();
    staging.commit(dir).map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists
        | io::ErrorKind::DirectoryNotEmpty
        | io::ErrorKind::NotADirectory
        | io::ErrorKind::IsADirectory => ExtractError::Target {
            path: dir.to_path_buf(),
            reason: "something was put there while extracting; nothing was extracted",
        },
        _ => ExtractError::Io {
            path: dir.to_path_buf(),
            source,
        },
    })?;
    Ok(Extracted {
        manifest,
        files,
        links,
        folders,
    })
}
