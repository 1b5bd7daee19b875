//! `remove_temp_files`: what an interrupt handler calls before it ends the
//! process. It closes the registry for the whole process, so it has a test
//! binary of its own. (Staging folders: `verify/tests/interrupt_cleanup.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::names;

use hpk_sign::{AtomicFile, TEMP_SUFFIX, remove_temp_files, write_atomically};
use hpk_verify::INTERRUPTED_MESSAGE;
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
    // An existing file under a final name is not the registry's.
    fs::write(path("other"), b"other").unwrap();

    let temps = names(dir.path())
        .into_iter()
        .filter(|n| n.ends_with(TEMP_SUFFIX))
        .count();
    assert_eq!(temps, 1);

    assert_eq!(remove_temp_files(), 1);
    assert_eq!(names(dir.path()), ["done.hpk", "other"]);

    // Nothing is committed or created afterwards.
    let refused = |err: std::io::Error| {
        assert_eq!(err.kind(), ErrorKind::Other, "{err}");
        assert_eq!(err.to_string(), INTERRUPTED_MESSAGE);
    };
    refused(open.commit().unwrap_err());
    refused(AtomicFile::create(&path("later.hpk")).err().unwrap());
    assert_eq!(names(dir.path()), ["done.hpk", "other"]);
    assert_eq!(fs::read(path("done.hpk")).unwrap(), b"complete");
    assert_eq!(remove_temp_files(), 0);
}
