//! The staging folder of an extraction ([`StagingDir`]): a private
//! folder beside the target, filled, then renamed onto the target in one
//! step.
//!
//! The staging folders that exist are listed in a registry of the
//! process, so that an interrupt handler, which ends the process without
//! running destructors, can remove them first ([`remove_staging_dirs`]).
//! A rename onto the target and that removal exclude each other: a folder
//! is either committed or removed, never half of each.

use crate::atomic_file::sync_parent;
use crate::cleanup_registry::Live;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The staging folders of this process not yet renamed or removed.
static LIVE: Live = Live::new();

/// The message of the error a [`StagingDir`] gives once
/// [`remove_staging_dirs`] has run, and an [`crate::AtomicFile`] once
/// [`crate::remove_temp_files`] has.
pub const INTERRUPTED_MESSAGE: &str = "the process is being interrupted";

/// Removes every staging folder this process created and has neither
/// committed nor dropped yet, with everything in it, and returns how many
/// it removed. From then on, creating or committing a [`StagingDir`]
/// fails (with [`INTERRUPTED_MESSAGE`]). Meant for an interrupt handler
/// that ends the process right after: destructors, which remove staging
/// folders on every other path, do not run then.
pub fn remove_staging_dirs() -> usize {
    let mut list = LIVE.lock();
    let mut removed = 0usize;
    for folder in list.close() {
        if remove_tree(&folder) {
            removed = removed.saturating_add(1);
        }
    }
    removed
}

/// How many times [`remove_tree`] tries: each pass removes what the last
/// one missed, and an extraction that writes small files fast can add
/// dozens of entries during one pass.
const REMOVE_ATTEMPTS: usize = 64;

/// Removes `folder` and everything in it, without following links.
/// Another thread may still be creating files in it (an interrupted
/// extraction): a few attempts catch what appeared meanwhile; once the
/// folder itself is gone, nothing more can be created in it. Returns
/// whether the folder is gone.
fn remove_tree(folder: &Path) -> bool {
    for _ in 0..REMOVE_ATTEMPTS {
        match fs::remove_dir_all(folder) {
            Ok(()) => return true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return true,
            Err(_) => {}
        }
    }
    false
}

/// Prefix of the name of a [`StagingDir`]: `.hpk-extract-` followed by 32
/// random hexadecimal digits.
pub const STAGING_PREFIX: &str = ".hpk-extract-";

/// 32 hexadecimal digits no other process can predict: SipHash of the
/// process id, a counter and the time, keyed with the random keys the
/// standard library draws from the operating system for hash maps.
fn unpredictable_hex() -> String {
    use std::hash::{BuildHasher, RandomState};
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = (std::process::id(), n, nanos);
    let a = RandomState::new().hash_one((seed, 0u8));
    let b = RandomState::new().hash_one((seed, 1u8));
    format!("{a:016x}{b:016x}")
}

/// A private folder in which a whole tree is written before it is
/// renamed onto its final name in one step ([`StagingDir::commit`]).
///
/// It is created beside the target, in the target's parent folder, as
/// `.hpk-extract-` and 32 unpredictable hexadecimal digits, exclusively
/// (creating it fails if the name exists) and, on Unix, with mode 0700, so
/// that no other user can see or put anything inside while it is written.
/// Dropped without commit, it removes itself and everything in it; an
/// interrupt handler removes it with [`remove_staging_dirs`]. A kill can
/// leave it behind, never a partial target.
pub struct StagingDir {
    path: PathBuf,
    committed: bool,
}

impl StagingDir {
    /// Creates a new staging folder in `parent`, which must exist.
    pub fn create_in(parent: &Path) -> io::Result<StagingDir> {
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        let mut attempts = 0u32;
        loop {
            let path = parent.join(format!("{STAGING_PREFIX}{}", unpredictable_hex()));
            let mut list = LIVE.lock();
            list.check_open()?;
            match builder.create(&path) {
                Ok(()) => {
                    list.add(path.clone());
                    return Ok(StagingDir {
                        path,
                        committed: false,
                    });
                }
                // Someone holds this name: draw another, a few times.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => {
                    attempts = attempts.saturating_add(1);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The permissions a folder made in `parent` gets by default (mode
    /// 0777 less the process's umask, on Unix), to give to the staging
    /// folder before it is committed as a new folder. Learnt from an
    /// empty folder named like a staging folder, made in `parent` and
    /// removed at once.
    pub fn new_folder_permissions(parent: &Path) -> io::Result<fs::Permissions> {
        let mut attempts = 0u32;
        loop {
            let probe = parent.join(format!("{STAGING_PREFIX}{}", unpredictable_hex()));
            // Under the registry's lock, so that an interrupt handler
            // waits until the probe is gone instead of leaving it behind.
            let list = LIVE.lock();
            list.check_open()?;
            match fs::create_dir(&probe) {
                Ok(()) => {
                    let permissions = fs::symlink_metadata(&probe).map(|m| m.permissions());
                    fs::remove_dir(&probe)?;
                    drop(list);
                    return permissions;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => {
                    attempts = attempts.saturating_add(1);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The staging folder, to write the tree into.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the staging folder onto `target` in one `rename`, then
    /// syncs the parent folder so that the rename is durable.
    ///
    /// `target` must be in the same parent folder, and must not exist or
    /// be an empty folder (which the rename replaces; on platforms whose
    /// rename cannot replace a folder, the empty folder is removed first).
    /// If `target` exists and is not an empty folder, the rename fails and
    /// the staging folder is removed when this value is dropped. The
    /// caller syncs what it wrote inside before.
    pub fn commit(mut self, target: &Path) -> io::Result<()> {
        {
            let mut list = LIVE.lock();
            list.check_open()?;
            #[cfg(not(unix))]
            match fs::remove_dir(target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            fs::rename(&self.path, target)?;
            list.forget(&self.path);
            self.committed = true;
        }
        sync_parent(target);
        Ok(())
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.committed {
            let mut list = LIVE.lock();
            remove_tree(&self.path);
            list.forget(&self.path);
        }
    }
}
