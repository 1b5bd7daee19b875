//! `StagingDir`: an extraction's staging folder is private, and becomes
//! the target in one rename or vanishes.
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::names;
use hpk_verify::{STAGING_PREFIX, StagingDir};
use std::fs;

#[test]
fn staging_folders_are_private_and_commit_in_one_rename_or_vanish() {
    let dir = tempfile::tempdir().unwrap();
    let a = StagingDir::create_in(dir.path()).unwrap();
    let b = StagingDir::create_in(dir.path()).unwrap();
    assert_ne!(a.path(), b.path());
    for s in [&a, &b] {
        let name = s.path().file_name().unwrap().to_str().unwrap();
        let hex = name.strip_prefix(STAGING_PREFIX).unwrap();
        assert_eq!(hex.len(), 32, "{name}");
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()), "{name}");
        assert_eq!(s.path().parent().unwrap(), dir.path());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(s.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
    fs::create_dir(a.path().join("d")).unwrap();
    fs::write(a.path().join("d/f"), b"f").unwrap();
    fs::write(b.path().join("g"), b"g").unwrap();

    // Onto a missing name: the whole tree appears at once.
    a.commit(&dir.path().join("out")).unwrap();
    assert_eq!(fs::read(dir.path().join("out/d/f")).unwrap(), b"f");
    // Onto a folder that is not empty: refused, and dropping the staging
    // folder removes it and its content.
    let err = b.commit(&dir.path().join("out")).unwrap_err();
    assert_ne!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    assert_eq!(names(dir.path()), ["out"]);
    assert_eq!(names(&dir.path().join("out")), ["d"]);

    // Onto an empty folder: replaced.
    fs::create_dir(dir.path().join("empty")).unwrap();
    let c = StagingDir::create_in(dir.path()).unwrap();
    fs::write(c.path().join("h"), b"h").unwrap();
    c.commit(&dir.path().join("empty")).unwrap();
    assert_eq!(fs::read(dir.path().join("empty/h")).unwrap(), b"h");

    // Onto a file: refused.
    fs::write(dir.path().join("file"), b"x").unwrap();
    let d = StagingDir::create_in(dir.path()).unwrap();
    assert!(d.commit(&dir.path().join("file")).is_err());
    assert_eq!(fs::read(dir.path().join("file")).unwrap(), b"x");
    assert_eq!(names(dir.path()), ["empty", "file", "out"]);

    // In a folder that does not exist: refused.
    assert!(StagingDir::create_in(&dir.path().join("missing")).is_err());

    // Learning a new folder's permissions leaves nothing behind.
    let permissions = StagingDir::new_folder_permissions(dir.path()).unwrap();
    assert!(!permissions.readonly());
    assert_eq!(names(dir.path()), ["empty", "file", "out"]);
}
