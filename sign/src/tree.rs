//! Folder input: turning a folder tree into package entries.
//!
//! A `[[payloads]]` table with `dir = "tree/"` stands for every file,
//! symbolic link and empty folder under that folder, filtered by
//! `include` and `exclude` globs and named under an optional `prefix`.
//! Nothing is followed: a symbolic link becomes a link entry whose target
//! is a name relative to the package's root (SPEC "Link"), so it can never
//! point outside the package, and a link to a folder is not descended
//! into. Entries the package cannot carry (a name that is not a valid
//! payload name, a link that leads outside the package, a FIFO, socket or
//! device) are refused, or left out when the table says
//! `unsupported = "skip"`; either way the caller learns which and why.
//!
//! The walk reads folder entries in byte order of their names, so the
//! same tree gives the same entries on every run.

use crate::description::{DescriptionError, PayloadSource, TreeSource, Unsupported};
use hpk_format::{Link, PayloadName};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What a description's payload tables amount to: files, links and
/// empty folders, and what was left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entries {
    /// Regular files, with their executable bit resolved.
    pub files: Vec<PayloadSource>,
    /// Symbolic links, targets relative to the package's root.
    pub links: Vec<Link>,
    /// Empty folders.
    pub folders: Vec<PayloadName>,
    /// Entries left out (`unsupported = "skip"`), with why.
    pub skipped: Vec<Skipped>,
}

/// An entry of a tree that the package does not carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Its path on disk.
    pub path: PathBuf,
    /// Why it cannot be carried.
    pub reason: String,
}

/// Walks `tree` (its folder relative to `base_dir`) into entries.
pub fn walk(tree: &TreeSource, base_dir: &Path) -> Result<Entries, DescriptionError> {
    let root = base_dir.join(&tree.dir);
    let meta = fs::metadata(&root).map_err(|source| DescriptionError::Tree {
        path: root.clone(),
        reason: format!("cannot read it: {source}"),
    })?;
    if !meta.is_dir() {
        return Err(DescriptionError::Tree {
            path: root,
            reason: "not a folder: use `file = ...` with a `name` for one file".to_owned(),
        });
    }
    let mut walker = Walker {
        tree,
        out: Entries::default(),
    };
    walker.folder(&root, "")?;
    Ok(walker.out)
}

struct Walker<'a> {
    tree: &'a TreeSource,
    out: Entries,
}

impl Walker<'_> {
    /// Refuses the entry at `path`, or records it as skipped.
    fn unsupported(&mut self, path: &Path, reason: String) -> Result<(), DescriptionError> {
        match self.tree.unsupported {
            Unsupported::Error => Err(DescriptionError::Tree {
                path: path.to_path_buf(),
                reason: format!(
                    "{reason} (set `unsupported = \"skip\"` to leave such entries out)"
                ),
            }),
            Unsupported::Skip => {
                self.out.skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason,
                });
                Ok(())
            }
        }
    }

    /// The entry's name in the package: the prefix, then its path under
    /// the tree.
    fn name(&self, rel: &str) -> Result<PayloadName, String> {
        let full = match &self.tree.prefix {
            Some(prefix) => format!("{prefix}/{rel}"),
            None => rel.to_owned(),
        };
        PayloadName::new(&full).map_err(|e| format!("`{full}` is not a valid payload name: {e}"))
    }

    /// Walks the folder at `path`, `rel` under the tree ("" for the tree
    /// itself).
    fn folder(&mut self, path: &Path, rel: &str) -> Result<(), DescriptionError> {
        let read_error = |source: io::Error| DescriptionError::Tree {
            path: path.to_path_buf(),
            reason: format!("cannot list it: {source}"),
        };
        let mut children: Vec<fs::DirEntry> = fs::read_dir(path)
            .map_err(read_error)?
            .collect::<Result<_, _>>()
            .map_err(read_error)?;
        children.sort_by_key(|c| c.file_name());
        if children.is_empty() && !rel.is_empty() && self.tree.takes(rel) {
            match self.name(rel) {
                Ok(name) => self.out.folders.push(name),
                Err(reason) => self.unsupported(path, reason)?,
            }
        }
        for child in children {
            let child_path = child.path();
            let Some(file_name) = child.file_name().to_str().map(str::to_owned) else {
                self.unsupported(&child_path, "its name is not UTF-8".to_owned())?;
                continue;
            };
            let child_rel = if rel.is_empty() {
                file_name
            } else {
                format!("{rel}/{file_name}")
            };
            let meta =
                fs::symlink_metadata(&child_path).map_err(|source| DescriptionError::Tree {
                    path: child_path.clone(),
                    reason: format!("cannot read it: {source}"),
                })?;
            let kind = meta.file_type();
            if kind.is_dir() {
                if !self.tree.excluded(&child_rel) {
                    self.folder(&child_path, &child_rel)?;
                }
                continue;
            }
            if !self.tree.takes(&child_rel) {
                continue;
            }
            let name = match self.name(&child_rel) {
                Ok(name) => name,
                Err(reason) => {
                    self.unsupported(&child_path, reason)?;
                    continue;
                }
            };
            if kind.is_symlink() {
                match self.link_target(&child_path, &name) {
                    Ok(target) => self.out.links.push(Link { name, target }),
                    Err(reason) => self.unsupported(&child_path, reason)?,
                }
            } else if kind.is_file() {
                self.out.files.push(PayloadSource {
                    name,
                    file: child_path,
                    compression: self.tree.compression,
                    level: self.tree.level,
                    chunk_size: self.tree.chunk_size,
                    executable: Some(is_executable(&meta)),
                });
            } else {
                self.unsupported(
                    &child_path,
                    "it is not a file, folder or symbolic link (a FIFO, socket or device)"
                        .to_owned(),
                )?;
            }
        }
        Ok(())
    }

    /// The target of the link at `path` (named `name` in the package) as
    /// a name relative to the package's root: an absolute target counts
    /// from the root (the package's root stands for the file system's),
    /// a relative one from the link's folder.
    fn link_target(&self, path: &Path, name: &PayloadName) -> Result<PayloadName, String> {
        let target = fs::read_link(path).map_err(|e| format!("cannot read the link: {e}"))?;
        let mut parts: Vec<String> = Vec::new();
        if !target.is_absolute() {
            let mut folder: Vec<&str> = name.components().collect();
            folder.pop();
            parts.extend(folder.into_iter().map(str::to_owned));
        }
        for component in target.components() {
            match component {
                Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(format!(
                            "its target {} leads outside the package",
                            target.display()
                        ));
                    }
                }
                Component::Normal(part) => match part.to_str() {
                    Some(part) => parts.push(part.to_owned()),
                    None => return Err("its target is not UTF-8".to_owned()),
                },
            }
        }
        if parts.is_empty() {
            return Err(format!(
                "its target {} is the package's root itself",
                target.display()
            ));
        }
        let joined = parts.join("/");
        PayloadName::new(&joined).map_err(|e| {
            format!(
                "its target {} (`{joined}` in the package) is not a valid payload name: {e}",
                target.display()
            )
        })
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    false
}

/// Whether the file at `path` is executable (on Unix, any execute bit;
/// elsewhere never).
pub(crate) fn file_is_executable(path: &Path) -> io::Result<bool> {
    fs::metadata(path).map(|meta| is_executable(&meta))
}
