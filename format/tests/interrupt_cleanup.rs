//! `remove_temp_files`: what an interrupt handler calls before it ends the
//! process. It closes the registry for the whole process, so it has a test
//! binary of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::names;

use hpk_format::{
    AtomicFile, INTERRUPTED_MESSAGE, STAGING_PREFIX, StagingDir, TEMP_SUFFIX, remove_temp_files,
    write_atomically,
};
use std::fs;
use std::io::{ErrorKind, Write};

#[test]
fn removes_every_uncommitted_temporary_file_then_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);

    // Committed before the interrupt: stays.
    write_atomically(&path("done.hpk"), b"complete").unwrap();
    // Dropped before the interrupt: already gone, not counted.
    drop(AtomicFile::create(&path("dropped.hpk")).unwrap());
    // Being written.
    let mut open = AtomicFile::create(&path("open.hpk")).unwrap();
    open.file().unwrap().write_all(b"half").unwrap();
    // A staging folder with a tree inside, waiting for its rename.
    let staged = StagingDir::create_in(dir.path()).unwrap();
    fs::create_dir(staged.path().join("sub")).unwrap();
    fs::write(staged.path().join("sub/whole.bin"), b"whole").unwrap();
    // An existing folder under a final name is not the registry's.
    fs::create_dir(path("tree")).unwrap();

    let temps = names(dir.path())
        .into_iter()
        .filter(|n| n.ends_with(TEMP_SUFFIX) || n.starts_with(STAGING_PREFIX))
        .count();
    assert_eq!(temps, 2);

    assert_eq!(remove_temp_files(), 2);
    assert_eq!(names(dir.path()), ["done.hpk", "tree"]);

    // Nothing is committed or created afterwards.
    let refused = |err: std::io::Error| {
        assert_eq!(err.kind(), ErrorKind::Other, "{err}");
        assert_eq!(err.to_string(), INTERRUPTED_MESSAGE);
    };
    refused(staged.commit(&path("tree")).unwrap_err());
    refused(StagingDir::create_in(dir.path()).err().unwrap());
    refused(open.commit().unwrap_err());
    refused(AtomicFile::create(&path("later.hpk")).err().unwrap());
    assert_eq!(names(dir.path()), ["done.hpk", "tree"]);
    assert!(names(&path("tree")).is_empty());
    assert_eq!(fs::read(path("done.hpk")).unwrap(), b"complete");
    assert_eq!(remove_temp_files(), 0);
}
