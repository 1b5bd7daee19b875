//! `AtomicFile`: the final name only ever holds a complete file.
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::names;

use hpk_sign::{AtomicFile, TEMP_SUFFIX, write_atomically};
use std::fs;
use std::io::Write;
use std::path::Path;

#[test]
fn commit_replaces_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.hpk");
    fs::write(&target, b"old content").unwrap();
    let mut f = AtomicFile::create(&target).unwrap();
    assert_eq!(f.target(), target);
    f.file().unwrap().write_all(b"new").unwrap();
    // Until the commit, the old file is untouched.
    assert_eq!(fs::read(&target).unwrap(), b"old content");
    f.commit().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new");
    assert_eq!(names(dir.path()), ["out.hpk"]);
}

#[test]
fn commit_creates_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fresh");
    write_atomically(&target, b"hello").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"hello");
    write_atomically(&target, b"").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"");
    assert_eq!(names(dir.path()), ["fresh"]);
}

#[test]
fn dropping_without_commit_keeps_the_old_file_and_removes_the_temp() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("keep.hpk");
    fs::write(&target, b"old").unwrap();
    {
        let mut f = AtomicFile::create(&target).unwrap();
        f.file().unwrap().write_all(&[0u8; 10_000]).unwrap();
        let during = names(dir.path());
        assert_eq!(during.len(), 2, "{during:?}");
        let temp = during.iter().find(|n| *n != "keep.hpk").unwrap();
        assert!(temp.ends_with(TEMP_SUFFIX), "{temp}");
        assert!(temp.starts_with(".keep.hpk."), "{temp}");
        // Same folder as the target, so the rename cannot cross devices.
        assert!(dir.path().join(temp).exists());
    }
    assert_eq!(fs::read(&target).unwrap(), b"old");
    assert_eq!(names(dir.path()), ["keep.hpk"]);

    // Nor does it create the target if there was none.
    let absent = dir.path().join("absent");
    drop(AtomicFile::create(&absent).unwrap());
    assert!(!absent.exists());
    assert_eq!(names(dir.path()), ["keep.hpk"]);
}

#[test]
fn concurrent_writers_use_distinct_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t");
    let mut a = AtomicFile::create(&target).unwrap();
    let mut b = AtomicFile::create(&target).unwrap();
    a.file().unwrap().write_all(b"a").unwrap();
    b.file().unwrap().write_all(b"b").unwrap();
    let during = names(dir.path());
    assert_eq!(during.len(), 2);
    assert!(during.iter().all(|n| n.ends_with(TEMP_SUFFIX)));
    a.commit().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"a");
    b.commit().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"b");
    assert_eq!(names(dir.path()), ["t"]);
}

#[test]
fn bad_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(AtomicFile::create(&dir.path().join("missing/folder/x")).is_err());
    assert!(AtomicFile::create(Path::new("/")).is_err());
    assert!(AtomicFile::create(&dir.path().join("..")).is_err());
    assert!(names(dir.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn the_mode_is_set_from_creation() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("secret");
    let f = AtomicFile::create_with_mode(&target, 0o600).unwrap();
    f.commit().unwrap();
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn commit_new_never_replaces_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("once");
    let mut f = AtomicFile::create(&target).unwrap();
    f.file().unwrap().write_all(b"first").unwrap();
    f.commit_new().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"first");
    assert_eq!(names(dir.path()), ["once"]);

    let mut f = AtomicFile::create(&target).unwrap();
    f.file().unwrap().write_all(b"second").unwrap();
    let e = f.commit_new().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&target).unwrap(), b"first");
    assert_eq!(names(dir.path()), ["once"]);
}
