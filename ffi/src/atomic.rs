//! Saving a file atomically: a temporary file in the same folder, flushed
//! to disk, renamed over the target, then the folder flushed so that the
//! rename is durable. A failure or a crash leaves either the old file or
//! the new one, never a mix, and no temporary file after a failure.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Suffix of temporary files, as the rest of hpk names them
/// (`.NAME.PID.N.hpk-tmp`), so leftovers of a killed process are
/// recognisable.
const TEMP_SUFFIX: &str = ".hpk-tmp";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `target` atomically. A new file gets mode 0644 (less
/// the umask); an existing file keeps its permissions.
pub(crate) fn write_atomically(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (temp, file) = create_temp(&dir, name)?;
    let written = fill(file, target, bytes).and_then(|()| fs::rename(&temp, target));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(&dir)
}

/// A new temporary file in `dir`, named after `name`.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    let mut attempts = 0u32;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.{n}{TEMP_SUFFIX}", std::process::id()));
        let temp = dir.join(temp_name);
        match options.open(&temp) {
            Ok(file) => return Ok((temp, file)),
            // A leftover of an earlier process with the same id: next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => {
                attempts = attempts.saturating_add(1);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes `bytes` into `file` with `target`'s permissions, if it exists,
/// and flushes it to disk.
fn fill(mut file: File, target: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(meta) = fs::metadata(target) {
        file.set_permissions(meta.permissions())?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes the folder `dir`, so that a rename in it survives a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir)?.sync_all() {
        // Some file systems cannot flush a folder; nothing more to do there.
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Folders cannot be opened as files here: the rename is as durable as
/// the platform makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("device.toml");
        fs::write(&target, "old").unwrap();
        write_atomically(&target, b"new").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(names(dir.path()), ["device.toml"]);
    }

    #[test]
    fn a_failed_save_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a folder: the rename fails after the write.
        let target = dir.path().join("device.toml");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "x").unwrap();
        assert!(write_atomically(&target, b"new").is_err());
        assert_eq!(names(dir.path()), ["device.toml"]);
        assert_eq!(names(&target), ["keep"]);
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing").join("device.toml");
        let e = write_atomically(&target, b"new").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(names(dir.path()).is_empty());
    }
}
