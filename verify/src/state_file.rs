//! Saving an agent's state file (the device profile) atomically, with
//! [`AtomicFile`]: a temporary file in the same folder, flushed to disk,
//! renamed over the target, then the folder flushed so that the rename is
//! durable. A failure, a crash or an interrupt leaves either the old file
//! or the new one, never a mix, and no temporary file (the interrupt
//! handler removes it: [`crate::remove_temp_files`]).

use crate::atomic_file::AtomicFile;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `target` atomically. A new file gets mode 0644 (less
/// the umask); an existing file keeps its permissions.
pub(crate) fn write_atomically(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(target)?;
    if let Ok(meta) = fs::metadata(target) {
        file.file()?.set_permissions(meta.permissions())?;
    }
    file.file()?.write_all(bytes)?;
    file.commit()
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
