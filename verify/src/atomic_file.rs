//! Files written atomically: a temporary file in the same folder, fsync,
//! rename. A failure or a kill never leaves a partial file under the final
//! name and never destroys the previous one. Packages, keys, trust roots
//! and catalogs are all written this way (by `hpk-sign`, which re-exports
//! this module), and so is an agent's device profile (`state_file`).
//!
//! The temporary files that exist are listed in a registry of the
//! process, so that an interrupt handler, which ends the process without
//! running destructors, can remove them first ([`remove_temp_files`]). A
//! rename over the final name and that removal exclude each other: a file
//! is either committed or removed, never half of each (`cleanup_registry`,
//! which extraction's staging folders use too).

use crate::cleanup_registry::Live;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Suffix of temporary files, so that leftovers of a killed process are
/// recognisable: `.NAME.PID.N.hpk-tmp`.
pub const TEMP_SUFFIX: &str = ".hpk-tmp";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary files of this process not yet renamed or removed.
static LIVE: Live = Live::new();

/// Renames `temp` over `target` and takes it off the registry, under the
/// registry's lock, so that [`remove_temp_files`] never runs in between.
fn rename_registered(temp: &Path, target: &Path) -> io::Result<()> {
    let mut list = LIVE.lock();
    list.check_open()?;
    fs::rename(temp, target)?;
    list.forget(temp);
    Ok(())
}

/// Removes `temp` and takes it off the registry.
fn remove_registered(temp: &Path) {
    let mut list = LIVE.lock();
    let _ = fs::remove_file(temp);
    list.forget(temp);
}

/// Removes every temporary file this process created and has neither
/// committed nor dropped yet, and returns how many it removed. From then
/// on, creating or committing an [`AtomicFile`] fails (with
/// [`crate::INTERRUPTED_MESSAGE`]). Meant for an interrupt handler that ends the
/// process right after: destructors, which remove temporary files on
/// every other path, do not run then.
pub fn remove_temp_files() -> usize {
    let mut list = LIVE.lock();
    let mut removed = 0usize;
    for temp in list.close() {
        if fs::remove_file(&temp).is_ok() {
            removed = removed.saturating_add(1);
        }
    }
    removed
}

/// A file being written under a temporary name, renamed over its final name
/// by [`AtomicFile::commit`]. Dropped without commit, it removes itself; an
/// interrupt handler removes it with [`remove_temp_files`].
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    renamed: bool,
}

impl AtomicFile {
    /// Starts writing `target` (mode 0644 on Unix).
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        AtomicFile::create_with_mode(target, 0o644)
    }

    /// Starts writing `target` with Unix permission bits `mode` (ignored
    /// elsewhere). The temporary file has that mode from its creation.
    pub fn create_with_mode(target: &Path, mode: u32) -> io::Result<AtomicFile> {
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.{n}{TEMP_SUFFIX}", std::process::id()));
        let temp = dir.join(temp_name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut list = LIVE.lock();
        list.check_open()?;
        let file = options.open(&temp)?;
        list.add(temp.clone());
        drop(list);
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            file: Some(file),
            renamed: false,
        })
    }

    /// The file to write into.
    pub fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("atomic file already closed"))
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes to disk and renames the file over its final name, then
    /// syncs the folder so that the rename itself is durable.
    pub fn commit(mut self) -> io::Result<()> {
        self.close()?;
        rename_registered(&self.temp, &self.target)?;
        self.renamed = true;
        sync_parent(&self.target);
        Ok(())
    }

    /// Flushes the file's content to disk and closes it.
    fn close(&mut self) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("atomic file already closed"))?;
        file.flush()?;
        file.sync_all()
    }
}

impl AtomicFile {
    /// Like [`AtomicFile::commit`], but never replaces an existing file:
    /// fails with [`io::ErrorKind::AlreadyExists`] (removing the temporary
    /// file) if the target exists, even if it appeared while writing.
    ///
    /// The temporary file is hard-linked to the target, which fails if the
    /// target exists; on file systems without hard links this falls back
    /// to checking for the target and renaming (not atomic against a
    /// concurrent writer of the same target).
    pub fn commit_new(mut self) -> io::Result<()> {
        self.close()?;
        match fs::hard_link(&self.temp, &self.target) {
            // The temporary name is removed on drop.
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) => {
                if fs::symlink_metadata(&self.target).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "target file exists",
                    ));
                }
                rename_registered(&self.temp, &self.target)?;
                self.renamed = true;
            }
        }
        sync_parent(&self.target);
        Ok(())
    }
}

/// Syncs the folder holding `path`, so that a rename in it is durable.
/// Best effort, as [`sync_dir`].
pub(crate) fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        sync_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        });
    }
}

/// Flushes the folder `dir` to stable storage, so that the files and
/// folders made or renamed in it survive a crash. Best effort: some file
/// systems refuse to flush a folder, and Windows cannot open one.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.renamed {
            remove_registered(&self.temp);
        }
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_atomically(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.file()?.write_all(bytes)?;
    f.commit()
}
