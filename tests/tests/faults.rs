//! Faults of the disk and of the input: the commands that write files
//! (`pack`, `sign`, `extract`, `catalog`, `root`) meet a full disk, a
//! rename that fails when the file is committed, and a read that fails
//! partway through an input. After each failure:
//!
//! - the command exits with code 4 and says on one line which file it was
//!   writing or reading and why (a full disk is named as such, with a hint);
//! - the previous file, if there was one, is intact byte for byte;
//! - nothing is left under the final name, and no temporary file
//!   (`.NAME.PID.N.hpk-tmp`) or staging folder (`.hpk-extract-…`) remains.
//!
//! A full disk is a small tmpfs that the test mounts in a private
//! temporary folder (and unmounts when it ends, even on a panic). Mounting
//! needs root and tmpfs support: where the mount is refused, the tests
//! that need it print `SKIPPED` and the reason on stderr and pass; the
//! other tests (library-level read errors and failing renames) always run.
//!
//! What failed before this file was written, and was fixed: a full disk
//! was reported without a hint (`pack`, `sign`, `extract`, `catalog`,
//! `root`); an extraction that failed to write named its staging folder,
//! gone by then, instead of the target; a read error of the package
//! partway through its payloads was reported as an error of the staging
//! folder, as if writing had failed. The rest (no partial file, no
//! temporary file or staging folder left, exit code 4, a failed rename)
//! already held: those checks guard against regressions (removing the
//! temporary file or staging folder on failure makes nine of them fail).
//!
//! The commands run the `hpk` binary of this workspace,
//! `target/<profile>/hpk`, built once first (as in `crash_safety.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{ErrorClass, Limits};
use hpk_sign::{AtomicFile, TEMP_SUFFIX};
use hpk_tests::hpk_binary as hpk;
use hpk_tests::verify::open;
use hpk_tests::*;
use hpk_verify::{Clock, ExtractError, STAGING_PREFIX, StagingDir, TrustedRoot};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

// ---------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------

/// Runs `hpk --quiet args` with a fixed `SOURCE_DATE_EPOCH`.
fn hpk_run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    Command::new(hpk())
        .arg("--quiet")
        .args(&args)
        .env("SOURCE_DATE_EPOCH", T0.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run hpk")
}

/// Runs `hpk args`, which must succeed.
fn hpk_ok(args: &[&dyn AsRef<std::ffi::OsStr>]) {
    let out = hpk_run(args);
    assert!(
        out.status.success(),
        "hpk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// A small tmpfs
// ---------------------------------------------------------------------------

/// A tmpfs of a few KiB mounted on a private temporary folder, unmounted
/// when dropped (also when a test panics).
struct Tmpfs {
    dir: PathBuf,
    _holder: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `kib` KiB, or says on stderr why the test `test`
    /// is skipped and returns `None`.
    fn mount(kib: usize, test: &str) -> Option<Tmpfs> {
        let holder = tempfile::tempdir().unwrap();
        let dir = holder.path().join("disk");
        std::fs::create_dir(&dir).unwrap();
        let refused = match Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0755"),
                "tmpfs",
            ])
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            Err(e) => Some(format!("cannot run mount: {e}")),
        };
        if let Some(why) = refused {
            // Straight to the process's stderr, past the test harness's
            // capture of `eprintln!`: a skip is seen even when it passes.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: cannot mount a {kib} KiB tmpfs to fill (needs root and tmpfs): {why}"
            );
            return None;
        }
        Some(Tmpfs {
            dir,
            _holder: holder,
        })
    }

    /// Fills the file system: a file `filler` written until the disk is
    /// full.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.dir.join("filler")).unwrap();
        let block = vec![0x5Au8; 4 * KIB];
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(28), "filling: {e}");
                    break;
                }
            }
        }
        let _ = f.sync_all();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/// The names in `dir`, sorted, not recursive.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Checks that `out` is a failure with exit code 4 whose error line
/// names `file` and contains `says`, and returns its stderr.
fn expect_io_failure(out: &Output, file: &Path, says: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(4), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        !lines.is_empty() && lines.len() <= 2,
        "one error line and at most one hint: {stderr}"
    );
    let first = lines.first().copied().unwrap_or_default();
    assert!(first.starts_with("error: "), "{stderr}");
    assert!(
        first.contains(&file.display().to_string()),
        "the error names {}: {stderr}",
        file.display()
    );
    assert!(
        first.to_lowercase().contains(&says.to_lowercase()),
        "the error says {says:?}: {stderr}"
    );
    stderr
}

/// Checks that `out` failed because the disk is full, writing `file`.
fn expect_disk_full(out: &Output, file: &Path) {
    let stderr = expect_io_failure(out, file, "no space left on device");
    assert!(
        stderr.contains("\nhint: ") && stderr.contains("free space"),
        "a hint to free space or write elsewhere: {stderr}"
    );
}

/// Checks that `dir` holds exactly the files `expected` (name, content):
/// nothing under another name, no temporary file, no staging folder.
fn expect_files(dir: &Path, expected: &[(&str, &[u8])]) {
    let found = names(dir);
    for n in &found {
        assert!(
            !n.ends_with(TEMP_SUFFIX) && !n.starts_with(STAGING_PREFIX),
            "left behind in {}: {n}",
            dir.display()
        );
    }
    let mut want: Vec<String> = expected.iter().map(|(n, _)| (*n).to_owned()).collect();
    want.sort();
    assert_eq!(found, want, "in {}", dir.display());
    for (name, content) in expected {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert!(
            bytes == *content,
            "{name} changed: {} bytes, {} expected",
            bytes.len(),
            content.len()
        );
    }
}

// ---------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------

/// Inputs on the ordinary disk: keys, a trust root, and descriptions of a
/// small package and of a big (incompressible) one.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    small_desc: PathBuf,
    big_desc: PathBuf,
    /// A signed package of 300 KiB of incompressible payload.
    medium_pkg: PathBuf,
    /// A signed package of 2 MiB of incompressible payload.
    big_pkg: PathBuf,
    catalog_key: PathBuf,
    root_key: PathBuf,
    trust_root: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

fn description(name: &str, file: &str) -> String {
    let package = name.split('.').next().unwrap_or(name);
    format!(
        "name = \"faults-{package}\"\nkind = \"baseline\"\nversion = \"10.0.1\"\n\
         security_version = 1\ncreated = {T0}\nexpires = {}\n\n\
         [targets]\nos = \"windows\"\narchitectures = [\"x64\"]\n\n\
         [[payloads]]\nname = \"{name}\"\nfile = \"{file}\"\n",
        T0 + 365 * DAY
    )
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let src = root.join("src");
        let mut rng = Rng::new(0xFA_017);
        write(&src.join("small.dat"), b"a small payload\n");
        write(&src.join("medium.dat"), &rng.bytes(300 * KIB));
        write(&src.join("big.dat"), &rng.bytes(2 * MIB));
        let small_desc = src.join("small.toml");
        let medium_desc = src.join("medium.toml");
        let big_desc = src.join("big.toml");
        write(
            &small_desc,
            description("small.txt", "small.dat").as_bytes(),
        );
        write(
            &medium_desc,
            description("medium.bin", "medium.dat").as_bytes(),
        );
        write(&big_desc, description("big.bin", "big.dat").as_bytes());
        let keys = Keys::standard();
        let release_key = src.join("release.key");
        let catalog_key = src.join("catalog.key");
        let root_key = src.join("root.key");
        for (path, seed) in [(&root_key, 1u8), (&release_key, 2), (&catalog_key, 5)] {
            let key = hpk_sign::SecretKey::from_seed(&[seed; 32]);
            hpk_sign::keys::write_secret_key_file(path, &key, None, false).unwrap();
        }
        let trust_root = src.join("root.hpkroot");
        write(
            &trust_root,
            &root_file(&standard_root(&keys), &[&keys.root]),
        );
        let medium_pkg = src.join("medium.hpk");
        let big_pkg = src.join("big.hpk");
        for (desc, pkg) in [(&medium_desc, &medium_pkg), (&big_desc, &big_pkg)] {
            hpk_ok(&[&"pack", desc, &"--out", pkg]);
            hpk_ok(&[&"sign", pkg, &"--key", &release_key]);
        }
        Fixture {
            _tmp: tmp,
            root,
            small_desc,
            big_desc,
            medium_pkg,
            big_pkg,
            catalog_key,
            root_key,
            trust_root,
        }
    }

    /// A fresh folder on the ordinary disk.
    fn folder(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The arguments of `hpk extract PKG --out DIR` a day after packing.
    fn extract(&self, pkg: &Path, dir: &Path) -> Output {
        hpk_run(&[
            &"extract",
            &pkg,
            &"--root",
            &self.trust_root,
            &"--out",
            &dir,
            &"--now",
            &(T0 + DAY).to_string(),
        ])
    }
}

// ---------------------------------------------------------------------------
// A full disk
// ---------------------------------------------------------------------------

#[test]
fn pack_onto_a_full_disk_fails_cleanly() {
    let Some(disk) = Tmpfs::mount(512, "pack_onto_a_full_disk_fails_cleanly") else {
        return;
    };
    let f = Fixture::new();
    // A 2 MiB package where there was none: nothing is left.
    let out = disk.dir.join("new.hpk");
    let run = hpk_run(&[&"pack", &f.big_desc, &"--out", &out]);
    expect_disk_full(&run, &out);
    expect_files(&disk.dir, &[]);

    // Over a small package: it stays as it was.
    let old = disk.dir.join("old.hpk");
    hpk_ok(&[&"pack", &f.small_desc, &"--out", &old]);
    let old_bytes = std::fs::read(&old).unwrap();
    let run = hpk_run(&[&"pack", &f.big_desc, &"--out", &old, &"--force"]);
    expect_disk_full(&run, &old);
    expect_files(&disk.dir, &[("old.hpk", &old_bytes)]);
}

#[test]
fn sign_whose_rewritten_copy_does_not_fit_fails_cleanly() {
    // The 300 KiB package fits; a second copy of it (the signed one,
    // written beside it before the rename) does not.
    let Some(disk) = Tmpfs::mount(512, "sign_whose_rewritten_copy_does_not_fit_fails_cleanly")
    else {
        return;
    };
    let f = Fixture::new();
    let pkg = disk.dir.join("medium.hpk");
    std::fs::copy(&f.medium_pkg, &pkg).unwrap();
    let before = std::fs::read(&pkg).unwrap();
    let other_key = f.folder("keys").join("other.key");
    let key = hpk_sign::SecretKey::from_seed(&[9; 32]);
    hpk_sign::keys::write_secret_key_file(&other_key, &key, None, false).unwrap();
    let run = hpk_run(&[&"sign", &pkg, &"--key", &other_key]);
    expect_disk_full(&run, &pkg);
    expect_files(&disk.dir, &[("medium.hpk", &before)]);

    // Into another file on the full disk: nothing under that name.
    let copy = disk.dir.join("copy.hpk");
    let run = hpk_run(&[&"sign", &pkg, &"--key", &other_key, &"--out", &copy]);
    expect_disk_full(&run, &copy);
    expect_files(&disk.dir, &[("medium.hpk", &before)]);
}

#[test]
fn extract_onto_a_full_disk_fails_cleanly() {
    let Some(disk) = Tmpfs::mount(512, "extract_onto_a_full_disk_fails_cleanly") else {
        return;
    };
    let f = Fixture::new();
    // Into a new folder: no folder, no staging folder.
    // The error names the target, not the staging folder, which is gone.
    let target = disk.dir.join("out");
    let run = f.extract(&f.big_pkg, &target);
    expect_disk_full(&run, &target);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains(STAGING_PREFIX), "{stderr}");
    expect_files(&disk.dir, &[]);

    // Into an empty folder: it stays empty.
    std::fs::create_dir(&target).unwrap();
    let run = f.extract(&f.big_pkg, &target);
    expect_disk_full(&run, &target);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains(STAGING_PREFIX), "{stderr}");
    assert_eq!(names(&disk.dir), ["out"]);
    assert!(names(&target).is_empty(), "{:?}", names(&target));
}

#[test]
fn catalog_and_root_writes_onto_a_full_disk_fail_cleanly() {
    let Some(disk) = Tmpfs::mount(256, "catalog_and_root_writes_onto_a_full_disk_fail_cleanly")
    else {
        return;
    };
    let f = Fixture::new();
    let keys = Keys::standard();
    let cat = disk.dir.join("catalog.hpkcat");
    hpk_ok(&[
        &"catalog",
        &"new",
        &"--out",
        &cat,
        &"--version",
        &"7",
        &"--created",
        &T0.to_string(),
    ]);
    hpk_ok(&[&"catalog", &"add", &cat, &f.medium_pkg]);
    let unsigned_root = disk.dir.join("next.hpkroot");
    let root_bytes = root_file(&standard_root(&keys), &[]);
    std::fs::write(&unsigned_root, &root_bytes).unwrap();
    let cat_bytes = std::fs::read(&cat).unwrap();
    disk.fill();
    let filler = std::fs::read(disk.dir.join("filler")).unwrap();
    let expected: [(&str, &[u8]); 3] = [
        ("catalog.hpkcat", &cat_bytes),
        ("filler", &filler),
        ("next.hpkroot", &root_bytes),
    ];

    let run = hpk_run(&[&"catalog", &"add", &cat, &f.big_pkg]);
    expect_disk_full(&run, &cat);
    expect_files(&disk.dir, &expected);

    let run = hpk_run(&[&"catalog", &"sign", &cat, &"--key", &f.catalog_key]);
    expect_disk_full(&run, &cat);
    expect_files(&disk.dir, &expected);

    let new_cat = disk.dir.join("new.hpkcat");
    let run = hpk_run(&[
        &"catalog",
        &"new",
        &"--out",
        &new_cat,
        &"--version",
        &"8",
        &"--created",
        &T0.to_string(),
    ]);
    expect_disk_full(&run, &new_cat);
    expect_files(&disk.dir, &expected);

    let run = hpk_run(&[&"root", &"sign", &unsigned_root, &"--key", &f.root_key]);
    expect_disk_full(&run, &unsigned_root);
    expect_files(&disk.dir, &expected);
}

// ---------------------------------------------------------------------------
// A rename that fails when the file is committed
// ---------------------------------------------------------------------------
//
// Root ignores permission bits, and tmpfs has no immutable attribute, so
// the rename is made to fail in a way that holds for root on any file
// system: the final name is a folder that is not empty (`rename` of a file
// over a folder fails with EISDIR; of a folder over a non-empty folder,
// with ENOTEMPTY or EEXIST).

/// A folder `at` holding one file, `keep`.
fn occupied_folder(at: &Path) {
    std::fs::create_dir(at).unwrap();
    std::fs::write(at.join("keep"), b"keep me").unwrap();
}

fn expect_occupied(at: &Path) {
    assert_eq!(names(at), ["keep"]);
    assert_eq!(std::fs::read(at.join("keep")).unwrap(), b"keep me");
}

#[test]
fn an_atomic_file_whose_rename_fails_leaves_no_temporary_file() {
    for new_only in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.bin");
        let mut file = AtomicFile::create(&target).unwrap();
        file.file().unwrap().write_all(&[7u8; 100_000]).unwrap();
        // The final name is taken by a folder after the content was
        // written: the commit phase fails.
        occupied_folder(&target);
        let result = if new_only {
            file.commit_new()
        } else {
            file.commit()
        };
        assert!(result.is_err(), "committed over a folder");
        assert_eq!(names(tmp.path()), ["out.bin"]);
        expect_occupied(&target);
    }
}

#[test]
fn a_staging_folder_whose_rename_fails_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("out");
    let staging = StagingDir::create_in(tmp.path()).unwrap();
    std::fs::write(staging.path().join("payload.bin"), [1u8; 4096]).unwrap();
    occupied_folder(&target);
    assert!(staging.commit(&target).is_err(), "committed over a folder");
    assert_eq!(names(tmp.path()), ["out"]);
    expect_occupied(&target);
}

#[test]
fn pack_and_sign_whose_rename_fails_exit_4_and_leave_no_temporary_file() {
    let f = Fixture::new();
    let dir = f.folder("rename");
    let out = dir.join("out.hpk");
    occupied_folder(&out);
    // With --force, the package is written whole beside `out`, then
    // renamed over it: the rename fails (EISDIR).
    let run = hpk_run(&[&"pack", &f.small_desc, &"--out", &out, &"--force"]);
    expect_io_failure(&run, &out, "is a directory");
    assert_eq!(names(&dir), ["out.hpk"]);
    expect_occupied(&out);

    // The same for a signed copy.
    let key = f.folder("keys").join("other.key");
    hpk_sign::keys::write_secret_key_file(
        &key,
        &hpk_sign::SecretKey::from_seed(&[9; 32]),
        None,
        false,
    )
    .unwrap();
    let run = hpk_run(&[
        &"sign",
        &f.medium_pkg,
        &"--key",
        &key,
        &"--out",
        &out,
        &"--force",
    ]);
    expect_io_failure(&run, &out, "is a directory");
    assert_eq!(names(&dir), ["out.hpk"]);
    expect_occupied(&out);
}

/// Reads `inner`, and calls `hook` once, when the first read past `at`
/// bytes is asked for.
struct Hooked<'a, R> {
    inner: R,
    done: u64,
    at: u64,
    hook: Option<Box<dyn FnOnce() + 'a>>,
}

impl<R: Read> Read for Hooked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done >= self.at
            && let Some(hook) = self.hook.take()
        {
            hook();
        }
        let room = usize::try_from(self.at.saturating_sub(self.done)).unwrap_or(usize::MAX);
        let len = if room > 0 {
            buf.len().min(room)
        } else {
            buf.len()
        };
        let n = self.inner.read(&mut buf[..len])?;
        self.done += n as u64;
        Ok(n)
    }
}

/// A signed package of two payloads of 200 KiB.
fn two_payloads() -> (BuiltPackage, Vec<u8>) {
    let keys = Keys::standard();
    let built = PackageSpec::baseline("faults")
        .with_payload("a.bin", sample_data(200 * KIB, 1))
        .with_payload("b.bin", sample_data(200 * KIB, 2))
        .build();
    let file = built.file(&[&keys.release]);
    (built, file)
}

#[test]
fn an_extraction_whose_target_is_taken_meanwhile_is_not_committed() {
    let keys = Keys::standard();
    let (built, file) = two_payloads();
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("out");
    // While the payloads are read, the target becomes a non-empty folder.
    let at = built.payload_offset(1) as u64 + 1000;
    let reader = Hooked {
        inner: file.as_slice(),
        done: 0,
        at,
        hook: Some(Box::new(|| occupied_folder(&target))),
    };
    let package = open(reader, &standard_trusted_root(&keys), &Limits::default()).unwrap();
    let err = package.extract(&target).unwrap_err();
    assert!(
        matches!(err, ExtractError::Target { .. }),
        "unexpected error: {err}"
    );
    assert_eq!(err.class(), ErrorClass::Io);
    assert_eq!(names(tmp.path()), ["out"]);
    expect_occupied(&target);
}

// ---------------------------------------------------------------------------
// A read that fails partway through an input
// ---------------------------------------------------------------------------

/// Reads `inner` and fails with EIO once `at` bytes were handed out.
struct FailingReader<R> {
    inner: R,
    done: u64,
    at: u64,
}

impl<R: Read> Read for FailingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = usize::try_from(self.at.saturating_sub(self.done)).unwrap_or(usize::MAX);
        if room == 0 {
            return Err(std::io::Error::from_raw_os_error(5));
        }
        let len = buf.len().min(room);
        let n = self.inner.read(&mut buf[..len])?;
        self.done += n as u64;
        Ok(n)
    }
}

fn failing(bytes: &[u8], at: usize) -> FailingReader<&[u8]> {
    FailingReader {
        inner: bytes,
        done: 0,
        at: at as u64,
    }
}

#[test]
fn a_read_error_in_the_head_is_an_io_error() {
    let keys = Keys::standard();
    let (_, file) = two_payloads();
    let root = standard_trusted_root(&keys);
    for at in [0, 10, 100, 400] {
        let err = open(failing(&file, at), &root, &Limits::default())
            .err()
            .unwrap_or_else(|| panic!("opened with a read error at {at}"));
        assert_eq!(err.class(), ErrorClass::Io, "at {at}: {err}");
    }
    // A trust root too.
    let root_bytes = root_file(&standard_root(&keys), &[&keys.root]);
    for at in [0, 20, root_bytes.len() - 1] {
        let err = TrustedRoot::load_from(
            failing(&root_bytes, at),
            Clock::Trusted(T0 + DAY),
            &Limits::default(),
        )
        .err()
        .unwrap_or_else(|| panic!("trust root loaded with a read error at {at}"));
        assert_eq!(err.class(), ErrorClass::Io, "at {at}: {err}");
    }
}

#[test]
fn a_read_error_in_a_payload_extracts_nothing() {
    let keys = Keys::standard();
    let (built, file) = two_payloads();
    let root = standard_trusted_root(&keys);
    let start = built.payload_offset(1);
    // In the chunk indexes, in the first payload, in the second, and on
    // the last byte.
    for at in [
        start - 1,
        start + 10,
        start + (file.len() - start) / 2 + 7,
        file.len() - 1,
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let package = open(failing(&file, at), &root, &Limits::default()).unwrap();
        let err = package.extract(&target).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Io, "at {at}: {err}");
        // An error of the input, not of a file written: it names no
        // staging folder.
        assert!(
            matches!(err, ExtractError::Verify(_)),
            "at {at}: not an error of the input: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("Input/output error"), "at {at}: {err}");
        assert!(!message.contains(STAGING_PREFIX), "at {at}: {err}");
        assert!(
            names(tmp.path()).is_empty(),
            "at {at}: {:?}",
            names(tmp.path())
        );
    }
}

#[test]
fn extract_of_an_input_that_cannot_be_read_exits_4_and_writes_nothing() {
    // A folder opens, but reading it fails (EISDIR): a read error of the
    // package at its first byte, from the real kernel. (Errors partway
    // through are tested above at the library level: a device that fails
    // after some bytes needs device-mapper, which not every kernel has.)
    let f = Fixture::new();
    let parent = f.folder("unreadable");
    let input = f.folder("not-a-package");
    let target = parent.join("out");
    let run = f.extract(&input, &target);
    expect_io_failure(&run, &input, "is a directory");
    assert!(names(&parent).is_empty(), "{:?}", names(&parent));
}
