//! Extraction into a folder: the whole target or nothing, no staging
//! folder or temporary file left behind, no symbolic link followed,
//! nothing written outside the folder, and only into a new or empty
//! folder whose parent exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{ErrorClass, Limits, PayloadError};
use hpk_tests::verify::open;
use hpk_tests::*;
use hpk_verify::{ExtractError, Extracted, STAGING_PREFIX, VerifyError};
use std::path::{Path, PathBuf};

/// The payloads of the fixture, in manifest (name) order.
fn payloads() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a/b/c.bin", sample_data(3 * 4096 + 17, 1)),
        ("b.bin", sample_data(2 * 4096 + 5, 2)),
        ("c.txt", b"third".to_vec()),
        ("empty.bin", Vec::new()),
    ]
}

fn package() -> BuiltPackage {
    let mut spec = PackageSpec::baseline("contoso-os");
    for (name, data) in payloads() {
        spec = spec.with_payload(name, data);
    }
    spec.build()
}

fn extract(file: &[u8], dir: &Path) -> Result<Extracted, ExtractError> {
    let keys = Keys::standard();
    let package = open(file, &standard_trusted_root(&keys), &Limits::default()).unwrap();
    package.extract(dir)
}

fn extract_err(file: &[u8], dir: &Path) -> ExtractError {
    match extract(file, dir) {
        Ok(x) => panic!("extraction succeeded: {:?}", x.files),
        Err(e) => e,
    }
}

/// The file with one byte of payload `n`'s first chunk flipped.
fn tampered(built: &BuiltPackage, n: usize) -> Vec<u8> {
    let keys = Keys::standard();
    let mut file = built.file(&[&keys.release]);
    let before: u64 = built.manifest.payloads[..n]
        .iter()
        .map(|p| p.stored_size)
        .sum();
    file[built.payload_offset(1) + before as usize + 3] ^= 0x20;
    file
}

/// The names in `parent` (not recursive), sorted: after an extraction,
/// no staging folder `.hpk-extract-…` may remain.
fn entries(parent: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in &names {
        assert!(!n.starts_with(STAGING_PREFIX), "staging folder left: {n}");
    }
    names
}

#[test]
fn every_payload_is_extracted_with_its_content() {
    let keys = Keys::standard();
    let built = package();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    let mut progress = Vec::new();
    let file = built.file(&[&keys.release]);
    let package = open(
        file.as_slice(),
        &standard_trusted_root(&keys),
        &Limits::default(),
    )
    .unwrap();
    let extracted = package
        .extract_with_progress(&dir, &mut |n| progress.push(n))
        .unwrap();
    let names: Vec<PathBuf> = payloads().iter().map(|(n, _)| PathBuf::from(n)).collect();
    assert_eq!(
        extracted.files,
        names.iter().map(|n| dir.join(n)).collect::<Vec<_>>()
    );
    for (name, data) in payloads() {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), data, "{name}");
    }
    assert_eq!(files_under(&dir), names);
    assert_eq!(entries(parent.path()), ["out"]);
    let total: usize = payloads().iter().map(|(_, d)| d.len()).sum();
    assert_eq!(progress.last().copied(), Some(total as u64));
    assert!(progress.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*extracted.manifest, built.manifest);
    // The new folder gets the usual permissions, not the staging folder's
    // private 0700.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let probe = parent.path().join("probe");
        std::fs::create_dir(&probe).unwrap();
        let usual = std::fs::metadata(&probe).unwrap().permissions().mode();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode, usual);
    }
}

#[test]
fn an_empty_target_folder_is_filled_and_keeps_its_permissions() {
    let keys = Keys::standard();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("empty");
    std::fs::create_dir(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    }
    extract(&package().file(&[&keys.release]), &dir).unwrap();
    assert_eq!(files_under(&dir).len(), payloads().len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750);
    }
    assert_eq!(entries(parent.path()), ["empty"]);
}

#[test]
fn a_tampered_chunk_in_the_second_payload_leaves_nothing_at_all() {
    let built = package();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    let e = extract_err(&tampered(&built, 1), &dir);
    assert_eq!(e.class(), ErrorClass::Integrity);
    assert!(
        matches!(
            &e,
            ExtractError::Verify(VerifyError::Payload(PayloadError::ChunkDigest { payload, chunk: 0 }))
                if payload == "b.bin"
        ),
        "{e:?}"
    );
    // Not the first payload (complete and checked), not the second, no
    // staging folder: no target at all.
    assert!(entries(parent.path()).is_empty());
    // Tampering with the last payload, into an empty folder: it stays
    // empty.
    std::fs::create_dir(&dir).unwrap();
    let e = extract_err(&tampered(&built, 2), &dir);
    assert!(
        matches!(
            &e,
            ExtractError::Verify(VerifyError::Payload(PayloadError::ChunkDigest { payload, .. }))
                if payload == "c.txt"
        ),
        "{e:?}"
    );
    assert_eq!(entries(parent.path()), ["out"]);
    assert!(entries(&dir).is_empty());
}

#[test]
fn a_truncated_package_leaves_nothing() {
    let keys = Keys::standard();
    let built = package();
    let file = built.file(&[&keys.release]);
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    let e = extract_err(&file[..file.len() - 2], &dir);
    assert!(
        matches!(
            e,
            ExtractError::Verify(VerifyError::Payload(PayloadError::Truncated { .. }))
        ),
        "{e:?}"
    );
    assert!(entries(parent.path()).is_empty());
    // Trailing bytes, found only after every payload was checked: still
    // nothing is committed.
    let mut long = file.clone();
    long.push(0);
    let e = extract_err(&long, &dir);
    assert!(
        matches!(
            e,
            ExtractError::Verify(VerifyError::Container(
                hpk_format::ContainerError::TrailingBytes
            ))
        ),
        "{e:?}"
    );
    assert!(entries(parent.path()).is_empty());
}

/// X1: the parent must exist (a typo is an error, not a new tree of
/// folders), and the target must be absent or an empty folder.
#[test]
fn the_target_must_be_new_or_empty_in_an_existing_folder() {
    let keys = Keys::standard();
    let file = package().file(&[&keys.release]);
    let parent = tempfile::tempdir().unwrap();
    let p = parent.path();
    let target_error = |e: ExtractError, path: &Path, why: &str| {
        assert_eq!(e.class(), ErrorClass::Io);
        match &e {
            ExtractError::Target { path: p, reason } => {
                assert_eq!(p, path);
                assert!(reason.contains(why), "{e}");
            }
            other => panic!("{other:?}"),
        }
    };
    // No parent: nothing is created, not even the parent.
    let deep = p.join("missing/out");
    target_error(extract_err(&file, &deep), &deep, "does not exist");
    assert!(entries(p).is_empty());
    // A parent that is a file.
    std::fs::write(p.join("file"), b"x").unwrap();
    let below = p.join("file/out");
    target_error(extract_err(&file, &below), &below, "not a folder");
    // The target is a file.
    target_error(
        extract_err(&file, &p.join("file")),
        &p.join("file"),
        "a file",
    );
    assert_eq!(std::fs::read(p.join("file")).unwrap(), b"x");
    // A folder that is not empty: refused, whatever it holds.
    std::fs::create_dir(p.join("full")).unwrap();
    std::fs::write(p.join("full/unrelated.txt"), b"keep").unwrap();
    target_error(
        extract_err(&file, &p.join("full")),
        &p.join("full"),
        "not empty",
    );
    assert_eq!(
        files_under(&p.join("full")),
        [PathBuf::from("unrelated.txt")]
    );
    // `.`, `..` and `/` name no new folder.
    for odd in [p.join("."), p.join(".."), PathBuf::from("/")] {
        target_error(extract_err(&file, &odd), &odd, "new folder");
    }
    assert_eq!(entries(p), ["file", "full"]);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_as_target_is_refused_and_nothing_is_written_outside() {
    let keys = Keys::standard();
    let file = package().file(&[&keys.release]);
    let outside = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let link = parent.path().join("out");
    // To an empty folder, and to nothing.
    std::os::unix::fs::symlink(outside.path(), &link).unwrap();
    let e = extract_err(&file, &link);
    assert!(
        matches!(&e, ExtractError::Target { reason, .. } if reason.contains("link")),
        "{e:?}"
    );
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(outside.path().join("gone"), &link).unwrap();
    let e = extract_err(&file, &link);
    assert!(
        matches!(&e, ExtractError::Target { reason, .. } if reason.contains("link")),
        "{e:?}"
    );
    assert!(entries(outside.path()).is_empty());
    assert_eq!(entries(parent.path()), ["out"]);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// Issue: payloads `.x.1.1.hpk-tmp` and `x`, extracted by process 1,
/// left `x` with the other payload's bytes, because the first one's
/// final name was the second one's temporary name. Here every such name
/// this process could have used is a payload.
#[test]
fn payloads_named_like_temporary_files_keep_their_own_bytes() {
    let keys = Keys::standard();
    let pid = std::process::id();
    let mut spec = PackageSpec::baseline("contoso-os");
    let mut expected = Vec::new();
    // The old code gave payload `x` the temporary name number c + M + 3,
    // where c counts the files this process wrote before and M + 3 the
    // payloads that sort before `x` (each took a number): cover every
    // c < M.
    const M: u32 = 500;
    for n in M + 3..2 * M + 3 {
        let name = format!(".x.{pid}.{n}.hpk-tmp");
        let data = format!("payload {name}\n").into_bytes();
        spec = spec.with_payload(&name, data.clone());
        expected.push((name, data));
    }
    for name in ["x", ".hpk-extract-00", "d/.x.1.1.hpk-tmp", "d/x"] {
        let data = format!("payload {name}\n").into_bytes();
        spec = spec.with_payload(name, data.clone());
        expected.push((name.to_owned(), data));
    }
    let file = spec.build().file(&[&keys.release]);
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    let extracted = extract(&file, &dir).unwrap();
    assert_eq!(extracted.files.len(), expected.len());
    for (name, data) in &expected {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), data, "{name}");
    }
    assert_eq!(files_under(&dir).len(), expected.len());
    assert_eq!(entries(parent.path()), ["out"]);
}

/// Every name the spec accepts can be extracted: components of 255
/// bytes, at any depth, even in a long target path.
#[test]
fn components_of_255_bytes_are_extracted() {
    let keys = Keys::standard();
    let long = "n".repeat(255);
    let names = [
        format!("{}/{}", "d".repeat(255), "f".repeat(255)),
        long.clone(),
        format!("a/{long}"),
    ];
    let mut spec = PackageSpec::baseline("contoso-os");
    for name in &names {
        spec = spec.with_payload(name, name.as_bytes().to_vec());
    }
    let file = spec.build().file(&[&keys.release]);
    let parent = tempfile::tempdir().unwrap();
    let deep = parent.path().join("p".repeat(200));
    std::fs::create_dir(&deep).unwrap();
    let dir = deep.join("o".repeat(255));
    extract(&file, &dir).unwrap();
    for name in &names {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), name.as_bytes());
    }
    assert_eq!(entries(&deep), ["o".repeat(255)]);
}

/// The commit is one rename. Something put into an empty target while
/// the payloads were written makes it fail: nothing is replaced, the
/// staging folder is removed.
#[test]
fn a_target_filled_during_extraction_is_not_replaced() {
    let keys = Keys::standard();
    let built = package();
    let file = built.file(&[&keys.release]);
    let total: u64 = built.manifest.payloads.iter().map(|p| p.size).sum();
    for existed in [false, true] {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("out");
        if existed {
            std::fs::create_dir(&dir).unwrap();
        }
        let package = open(
            file.as_slice(),
            &standard_trusted_root(&keys),
            &Limits::default(),
        )
        .unwrap();
        let mut intruded = false;
        let e = package
            .extract_with_progress(&dir, &mut |done| {
                if done == total && !intruded {
                    intruded = true;
                    if !existed {
                        std::fs::create_dir(&dir).unwrap();
                    }
                    std::fs::write(dir.join("intruder"), b"mine").unwrap();
                }
            })
            .unwrap_err();
        assert!(intruded);
        assert_eq!(e.class(), ErrorClass::Io);
        assert!(
            matches!(&e, ExtractError::Target { path, .. } if *path == dir),
            "{e:?}"
        );
        assert!(e.to_string().contains("nothing was extracted"), "{e}");
        assert_eq!(entries(parent.path()), ["out"]);
        assert_eq!(files_under(&dir), [PathBuf::from("intruder")]);
        assert_eq!(std::fs::read(dir.join("intruder")).unwrap(), b"mine");
    }
}

/// A parent folder the extraction cannot write to: an I/O error naming
/// it, and nothing anywhere. (Skipped where permissions do not bind,
/// as for root.)
#[cfg(unix)]
#[test]
fn a_read_only_parent_is_an_io_error_and_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let keys = Keys::standard();
    let file = package().file(&[&keys.release]);
    let parent = tempfile::tempdir().unwrap();
    let ro = parent.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::create_dir(ro.join("probe")).is_ok() {
        println!("permissions do not bind here; skipped");
        return;
    }
    let e = extract_err(&file, &ro.join("out"));
    assert!(
        matches!(&e, ExtractError::Io { path, .. } if *path == ro),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Io);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(entries(&ro).is_empty());
}
