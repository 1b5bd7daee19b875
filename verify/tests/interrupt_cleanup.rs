//! `remove_staging_dirs`: what an interrupt handler calls before it ends
//! the process. It closes the registry for the whole process, so it has a
//! test binary of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::names;
use hpk_verify::{INTERRUPTED_MESSAGE, STAGING_PREFIX, StagingDir, remove_staging_dirs};
use std::fs;
use std::io::ErrorKind;

#[test]
fn removes_every_uncommitted_staging_folder_then_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);

    // Committed before the interrupt: stays.
    let done = StagingDir::create_in(dir.path()).unwrap();
    fs::write(done.path().join("a.bin"), b"a").unwrap();
    done.commit(&path("done")).unwrap();
    // Dropped before the interrupt: already gone, not counted.
    drop(StagingDir::create_in(dir.path()).unwrap());
    // A staging folder with a tree inside, waiting for its rename.
    let staged = StagingDir::create_in(dir.path()).unwrap();
    fs::create_dir(staged.path().join("sub")).unwrap();
    fs::write(staged.path().join("sub/whole.bin"), b"whole").unwrap();
    // An existing folder under a final name is not the registry's.
    fs::create_dir(path("tree")).unwrap();

    let staging = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with(STAGING_PREFIX))
        .count();
    assert_eq!(staging, 1);

    assert_eq!(remove_staging_dirs(), 1);
    assert_eq!(names(dir.path()), ["done", "tree"]);

    // Nothing is committed or created afterwards.
    let refused = |err: std::io::Error| {
        assert_eq!(err.kind(), ErrorKind::Other, "{err}");
        assert_eq!(err.to_string(), INTERRUPTED_MESSAGE);
    };
    refused(staged.commit(&path("tree")).unwrap_err());
    refused(StagingDir::create_in(dir.path()).err().unwrap());
    assert_eq!(names(dir.path()), ["done", "tree"]);
    assert!(names(&path("tree")).is_empty());
    assert_eq!(names(&path("done")), ["a.bin"]);
    assert_eq!(remove_staging_dirs(), 0);
}
