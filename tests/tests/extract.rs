//! Extraction into a folder: all payloads or none under their final names,
//! no temporary file left behind, no symbolic link followed, nothing
//! written outside the folder, an existing file replaced only on success.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{ErrorClass, Limits, PayloadError, TEMP_SUFFIX};
use hpk_tests::*;
use hpk_verify::{
    Clock, ExtractError, Extracted, TrustedRoot, VerifiedPackage, VerifyError, extract_to_dir,
};
use std::path::{Path, PathBuf};

fn trusted(keys: &Keys) -> TrustedRoot {
    TrustedRoot::load(
        &root_file(&standard_root(keys), &[&keys.root]),
        Clock::Trusted(T0 + DAY),
        &Limits::default(),
    )
    .unwrap()
}

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
    let package = VerifiedPackage::open(file, &trusted(&keys), &Limits::default()).unwrap();
    extract_to_dir(package, dir, &mut |_| {})
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

fn no_temp_files(dir: &Path) {
    for f in files_under(dir) {
        assert!(
            !f.to_string_lossy().ends_with(TEMP_SUFFIX),
            "temporary file left: {}",
            f.display()
        );
    }
}

#[test]
fn every_payload_is_extracted_with_its_content() {
    let keys = Keys::standard();
    let built = package();
    let dir = tempfile::tempdir().unwrap();
    let mut progress = Vec::new();
    let file = built.file(&[&keys.release]);
    let package =
        VerifiedPackage::open(file.as_slice(), &trusted(&keys), &Limits::default()).unwrap();
    let extracted = extract_to_dir(package, dir.path(), &mut |n| progress.push(n)).unwrap();
    let names: Vec<PathBuf> = payloads().iter().map(|(n, _)| PathBuf::from(n)).collect();
    assert_eq!(
        extracted.files,
        names.iter().map(|n| dir.path().join(n)).collect::<Vec<_>>()
    );
    for (name, data) in payloads() {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            data,
            "{name}"
        );
    }
    assert_eq!(files_under(dir.path()), names);
    let total: usize = payloads().iter().map(|(_, d)| d.len()).sum();
    assert_eq!(progress.last().copied(), Some(total as u64));
    assert!(progress.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(extracted.head.manifest, built.manifest);
}

#[test]
fn a_tampered_chunk_in_the_second_payload_leaves_no_file_at_all() {
    let built = package();
    let file = tampered(&built, 1);
    let dir = tempfile::tempdir().unwrap();
    let e = extract_err(&file, dir.path());
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
    // temporary file: no file at all. Only the folders remain.
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
    no_temp_files(dir.path());
    // Tampering with the last payload: the same.
    let file = tampered(&built, 2);
    let e = extract_err(&file, dir.path());
    assert!(
        matches!(
            &e,
            ExtractError::Verify(VerifyError::Payload(PayloadError::ChunkDigest { payload, .. }))
                if payload == "c.txt"
        ),
        "{e:?}"
    );
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_truncated_package_leaves_no_file() {
    let keys = Keys::standard();
    let built = package();
    let file = built.file(&[&keys.release]);
    let dir = tempfile::tempdir().unwrap();
    let e = extract_err(&file[..file.len() - 2], dir.path());
    assert!(
        matches!(
            e,
            ExtractError::Verify(VerifyError::Payload(PayloadError::Truncated { .. }))
        ),
        "{e:?}"
    );
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
    // Trailing bytes, found only after every payload was checked: still
    // nothing is committed.
    let mut long = file.clone();
    long.push(0);
    let e = extract_err(&long, dir.path());
    assert!(
        matches!(
            e,
            ExtractError::Verify(VerifyError::Container(
                hpk_format::ContainerError::TrailingBytes
            ))
        ),
        "{e:?}"
    );
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_in_the_way_is_refused_and_nothing_is_written_outside() {
    let keys = Keys::standard();
    let built = package();
    let file = built.file(&[&keys.release]);
    let outside = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("a")).unwrap();
    let e = extract_err(&file, dir.path());
    assert_eq!(e.class(), ErrorClass::Io);
    assert!(
        matches!(&e, ExtractError::Unsafe { path, .. } if *path == dir.path().join("a")),
        "{e:?}"
    );
    assert_eq!(files_under(outside.path()), Vec::<PathBuf>::new());
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    // Only the link itself is in the folder.
    assert_eq!(files_under(dir.path()), [PathBuf::from("a")]);

    // A link deeper down, reached after another payload was staged: the
    // staged one is dropped too.
    let two = PackageSpec::baseline("contoso-os")
        .with_payload("0.bin", b"first".to_vec())
        .with_payload("d/e/x.bin", b"second".to_vec())
        .build()
        .file(&[&keys.release]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("d/e")).unwrap();
    let e = extract_err(&two, dir.path());
    assert!(
        matches!(&e, ExtractError::Unsafe { path, .. } if *path == dir.path().join("d/e")),
        "{e:?}"
    );
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    assert_eq!(files_under(dir.path()), [PathBuf::from("d/e")]);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_at_a_payload_name_is_replaced_not_followed() {
    let keys = Keys::standard();
    let built = package();
    let file = built.file(&[&keys.release]);
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("c.txt")).unwrap();
    extract(&file, dir.path()).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let meta = std::fs::symlink_metadata(dir.path().join("c.txt")).unwrap();
    assert!(meta.is_file(), "the link was replaced by a file");
    assert_eq!(std::fs::read(dir.path().join("c.txt")).unwrap(), b"third");
    assert_eq!(files_under(outside.path()), [PathBuf::from("victim")]);
}

#[test]
fn a_folder_where_a_file_should_go_is_refused() {
    let keys = Keys::standard();
    let file = package().file(&[&keys.release]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("c.txt/inner")).unwrap();
    let e = extract_err(&file, dir.path());
    assert_eq!(e.class(), ErrorClass::Io);
    assert!(
        matches!(&e, ExtractError::Unsafe { path, .. } if *path == dir.path().join("c.txt")),
        "{e:?}"
    );
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
    assert!(dir.path().join("c.txt/inner").is_dir(), "left as it was");
}

#[test]
fn a_file_where_a_folder_should_go_is_refused() {
    let keys = Keys::standard();
    let file = package().file(&[&keys.release]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"a file").unwrap();
    let e = extract_err(&file, dir.path());
    assert!(
        matches!(&e, ExtractError::Unsafe { path, .. } if *path == dir.path().join("a")),
        "{e:?}"
    );
    assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"a file");
    assert_eq!(files_under(dir.path()), [PathBuf::from("a")]);
}

#[test]
fn an_existing_file_is_replaced_only_on_success() {
    let keys = Keys::standard();
    let built = package();
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("b.bin");
    std::fs::write(&existing, b"old content").unwrap();
    std::fs::write(dir.path().join("unrelated.txt"), b"keep").unwrap();

    // Failure in the very payload that would replace it, then in a later one.
    for n in [1, 2] {
        let e = extract_err(&tampered(&built, n), dir.path());
        assert_eq!(e.class(), ErrorClass::Integrity);
        assert_eq!(std::fs::read(&existing).unwrap(), b"old content");
        no_temp_files(dir.path());
        assert_eq!(
            files_under(dir.path()),
            [PathBuf::from("b.bin"), PathBuf::from("unrelated.txt")]
        );
    }

    extract(&built.file(&[&keys.release]), dir.path()).unwrap();
    assert_eq!(std::fs::read(&existing).unwrap(), payloads()[1].1);
    assert_eq!(
        std::fs::read(dir.path().join("unrelated.txt")).unwrap(),
        b"keep"
    );
    no_temp_files(dir.path());
}

#[test]
fn the_target_must_be_an_existing_folder() {
    let keys = Keys::standard();
    let file = package().file(&[&keys.release]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let e = extract_err(&file, &missing);
    assert!(matches!(e, ExtractError::Io { .. }), "{e:?}");
    assert!(!missing.exists());
    let a_file = dir.path().join("file");
    std::fs::write(&a_file, b"x").unwrap();
    let e = extract_err(&file, &a_file);
    assert!(matches!(e, ExtractError::Unsafe { .. }), "{e:?}");
}

#[test]
fn a_failed_extraction_removes_the_folders_it_created() {
    let keys = Keys::standard();
    let root = TrustedRoot::load(
        &root_file(&standard_root(&keys), &[&keys.root]),
        hpk_verify::Clock::Trusted(T0 + DAY),
        &hpk_format::Limits::default(),
    )
    .unwrap();
    let built = PackageSpec::baseline("contoso-os")
        .with_payload("deep/er/a.bin", sample_data(10_000, 1))
        .with_payload("z/b.bin", sample_data(10_000, 2))
        .build();
    let mut file = built.file(&[&keys.release]);
    // Damage the last stored byte: the second payload fails its check.
    let last = file.len() - 1;
    file[last] ^= 1;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("z")).unwrap();
    let package = VerifiedPackage::open(&file[..], &root, &hpk_format::Limits::default()).unwrap();
    extract_to_dir(package, dir.path(), &mut |_| {}).unwrap_err();
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    // The folder that was there before stays; the ones made for the
    // payloads are gone, and so is every file.
    assert_eq!(left, vec!["z".to_owned()]);
    assert_eq!(std::fs::read_dir(dir.path().join("z")).unwrap().count(), 0);
}
