//! Crash safety of the `hpk` commands that write files: `pack`, `sign`,
//! `extract`, `catalog add` and `catalog sign` are killed with SIGKILL at
//! random moments (fixed-seed delays, spread over the time an
//! uninterrupted run takes), again and again. After every kill:
//!
//! - the destination holds the complete old content or the complete new
//!   content, byte for byte (compared with the outputs of uninterrupted
//!   runs), or is absent if there was none;
//! - an extraction target is as it was (absent, or an empty folder) or
//!   complete, every payload with every byte right and nothing else;
//! - the only other new names are temporary files of the killed process,
//!   `.NAME.PID.N.hpk-tmp` (`hpk_sign::TEMP_SUFFIX`), next to their
//!   target, or an extraction's staging folder `.hpk-extract-…`
//!   (`hpk_verify::STAGING_PREFIX`) next to the extraction target, holding
//!   payload names only.
//!
//! Interrupted rather than killed (SIGINT, SIGTERM), the same commands
//! remove their unfinished files and staging folders before they exit with
//! code 130: nothing but complete old or new files remains.
//!
//! The commands run the `hpk` binary of this workspace,
//! `target/<profile>/hpk`. The test runs `cargo build -p hpk-cli` once
//! first (a no-op when the binary is up to date), so that it never tests
//! a stale binary; if cargo cannot be run, an existing binary is used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::Digest;
use hpk_sign::TEMP_SUFFIX;
use hpk_tests::hpk_binary as hpk;
use hpk_tests::*;
use hpk_verify::STAGING_PREFIX;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------

/// An `hpk` command line, quiet, with a fixed `SOURCE_DATE_EPOCH`.
fn command(args: &[OsString]) -> Command {
    let mut c = Command::new(hpk());
    c.arg("--quiet")
        .args(args)
        .env("SOURCE_DATE_EPOCH", T0.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Runs `hpk args` to completion; returns how long it took.
fn run(args: &[OsString]) -> Duration {
    let start = Instant::now();
    let out = command(args).output().expect("run hpk");
    assert!(
        out.status.success(),
        "hpk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    list.iter().map(|a| a.as_ref().to_owned()).collect()
}

/// `hpk extract PKG` into `dir` with the fixture's trust root, a day after
/// the packages were made.
fn extract_args(f: &Fixture, pkg: &Path, dir: &Path) -> Vec<OsString> {
    args(&[
        &"extract",
        &pkg,
        &"--root",
        &f.trust_root,
        &"--out",
        &dir,
        &"--now",
        &(T0 + DAY).to_string(),
    ])
}

/// How a killed run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    /// Killed by the signal.
    Killed,
    /// Finished (with success) before the signal.
    Finished,
}

/// Starts `hpk args`, sends SIGKILL after `delay`, reaps it. Returns its
/// process id and how it ended.
fn run_and_kill(args: &[OsString], delay: Duration) -> (u32, Ended) {
    let mut child = command(args)
        .stderr(Stdio::null())
        .spawn()
        .expect("start hpk");
    let pid = child.id();
    std::thread::sleep(delay);
    // SIGKILL on Unix; a process that already exited is not an error.
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    match status.signal() {
        Some(9) => (pid, Ended::Killed),
        _ => {
            assert!(status.success(), "hpk {args:?} failed by itself: {status}");
            (pid, Ended::Finished)
        }
    }
}

/// Starts `hpk args`, sends SIGKILL as soon as `when()` holds (polled
/// every 50 µs; or when the run ends by itself), reaps it. Returns how it
/// ended.
fn run_and_kill_when(args: &[OsString], when: &dyn Fn() -> bool) -> Ended {
    let mut child = command(args)
        .stderr(Stdio::null())
        .spawn()
        .expect("start hpk");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !when() && Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    match status.signal() {
        Some(9) => Ended::Killed,
        _ => {
            assert!(status.success(), "hpk {args:?} failed by itself: {status}");
            Ended::Finished
        }
    }
}

/// The staging folders in `parent`.
fn staging_folders(parent: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(parent)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(STAGING_PREFIX))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// How an interrupted run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interrupted {
    /// Stopped by the signal, with exit code 130.
    Stopped,
    /// Finished (with success) before the signal landed.
    Finished,
}

/// Starts `hpk args`, waits until it has created a temporary file or a
/// staging folder in `dir` (it is then writing), sends `signal` (`INT` or
/// `TERM`) and reaps it. Returns how it ended; fails if it ended any other
/// way, or if an interrupted run's message is missing.
fn run_and_interrupt(args: &[OsString], dir: &Path, signal: &str) -> Interrupted {
    let mut child = command(args).spawn().expect("start hpk");
    let pid = child.id();
    let suffix = format!(".{pid}.");
    // Only `dir` itself: files come and go while the command runs. `pack`
    // creates its temporary file there, `extract` its staging folder.
    let writing = || {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name().to_str().is_some_and(|n| {
                    (n.contains(&suffix) && n.ends_with(TEMP_SUFFIX))
                        || n.starts_with(STAGING_PREFIX)
                })
            })
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !writing() && Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let sent = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .expect("run kill");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Interrupted::Finished,
        Some(130) if sent.success() => {
            assert!(
                stderr.contains("hpk: interrupted"),
                "hpk {args:?} said: {stderr}"
            );
            Interrupted::Stopped
        }
        _ => panic!(
            "hpk {args:?} ended with {} after SIG{signal}: {stderr}",
            out.status
        ),
    }
}

#[test]
fn interrupted_commands_remove_their_unfinished_files_and_exit_130() {
    let f = Fixture::new();
    let refs = f.folder("refs");
    let old_pkg = refs.join("old.hpk");
    let new_pkg = refs.join("new.hpk");
    run(&args(&[&"pack", &f.old_desc, &"--out", &old_pkg]));
    run(&args(&[&"pack", &f.new_desc, &"--out", &new_pkg]));
    run(&args(&[&"sign", &new_pkg, &"--key", &f.release_key]));
    let old_bytes = std::fs::read(&old_pkg).unwrap();
    let mut stopped = BTreeMap::<&str, usize>::new();

    for (round, signal) in ["INT", "TERM", "INT", "TERM"].into_iter().enumerate() {
        // `hpk pack`, over an old package (even rounds) or where there was
        // none: the old package or nothing stays, or the new one is whole.
        let dir = f.folder(&format!("pack-{round}"));
        let out = dir.join("out.hpk");
        let had_old = round % 2 == 0;
        if had_old {
            std::fs::write(&out, &old_bytes).unwrap();
        }
        let pack = args(&[&"pack", &f.new_desc, &"--out", &out, &"--force"]);
        let ended = run_and_interrupt(&pack, &dir, signal);
        let names: Vec<PathBuf> = files_under(&dir);
        let just_out = [PathBuf::from("out.hpk")];
        match ended {
            Interrupted::Stopped => {
                *stopped.entry("pack").or_default() += 1;
                if had_old {
                    assert_eq!(names, just_out);
                    assert_eq!(std::fs::read(&out).unwrap(), old_bytes);
                } else {
                    assert!(names.is_empty(), "{names:?}");
                }
            }
            Interrupted::Finished => assert_eq!(names, just_out),
        }

        // `hpk extract` into a new folder (even rounds) or an empty one:
        // stopped, the target is as it was and the staging folder is
        // gone; finished, the target is complete.
        let parent = f.folder(&format!("extract-{round}"));
        let target = parent.join("out");
        let had_empty = round % 2 == 1;
        if had_empty {
            std::fs::create_dir(&target).unwrap();
        }
        let extract = extract_args(&f, &new_pkg, &target);
        let ended = run_and_interrupt(&extract, &parent, signal);
        let seen = check_extraction(&parent, &target, &f.new_payloads, had_empty);
        match (ended, seen) {
            (Interrupted::Stopped, Ok(s)) if s.as_before == 1 && s.staging == 0 => {
                *stopped.entry("extract").or_default() += 1;
            }
            (Interrupted::Finished, Ok(s)) if s.complete == 1 && s.staging == 0 => {}
            (ended, seen) => panic!("extract {ended:?}: {seen:?}"),
        }
    }
    // The signals did land while the commands worked.
    assert!(stopped.get("pack").copied().unwrap_or(0) > 0, "{stopped:?}");
    assert!(
        stopped.get("extract").copied().unwrap_or(0) > 0,
        "{stopped:?}"
    );
    println!("interrupted mid-way: {stopped:?}");
}

// ---------------------------------------------------------------------------
// Checking a folder after a kill
// ---------------------------------------------------------------------------

/// Whether `name` is the temporary name process `pid` gives to `target`
/// in the same folder: `.TARGET.PID.N.hpk-tmp`.
fn is_temp_of(name: &str, target: &str, pid: u32) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_prefix(target))
        .and_then(|n| n.strip_prefix(&format!(".{pid}.")))
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// What a folder held after a kill.
#[derive(Default, Debug)]
struct Seen {
    /// Targets that held their old content.
    old: usize,
    /// Targets that held their new content.
    new: usize,
    /// Targets that were absent.
    absent: usize,
    /// Temporary files left by the killed process.
    temps: usize,
}

/// Checks the files of `dir` (recursively) after process `pid` was
/// killed: every file named in `expected` holds one of the contents
/// listed for it (old first, then new; `None`: may be absent; a single
/// content: an input that must not change), every other file is a temporary
/// file of `pid` for one of them, and every folder leads to one of them.
/// Removes the temporary files. Returns what it saw, or why it failed.
fn check_dir(
    dir: &Path,
    expected: &BTreeMap<PathBuf, Vec<Option<Digest>>>,
    pid: u32,
) -> Result<Seen, String> {
    let mut seen = Seen::default();
    for rel in files_under(dir) {
        let path = dir.join(&rel);
        if let Some(contents) = expected.get(&rel) {
            let digest = Digest::of(&std::fs::read(&path).unwrap());
            match contents.iter().position(|c| *c == Some(digest)) {
                // An input that must stay as it is.
                Some(_) if contents.len() == 1 => {}
                Some(0) => seen.old += 1,
                Some(_) => seen.new += 1,
                None => {
                    return Err(format!(
                        "{} is neither the old nor the new content ({} bytes)",
                        rel.display(),
                        std::fs::metadata(&path).unwrap().len()
                    ));
                }
            }
            continue;
        }
        let name = rel.file_name().unwrap().to_string_lossy().into_owned();
        let parent = rel.parent().unwrap_or(Path::new(""));
        let is_temp = expected.keys().any(|target| {
            target.parent().unwrap_or(Path::new("")) == parent
                && is_temp_of(&name, &target.file_name().unwrap().to_string_lossy(), pid)
        });
        if !is_temp {
            return Err(format!("unexpected file {}", rel.display()));
        }
        seen.temps += 1;
        std::fs::remove_file(&path).unwrap();
    }
    for (rel, contents) in expected {
        if !dir.join(rel).exists() {
            if !contents.contains(&None) {
                return Err(format!("{} is missing", rel.display()));
            }
            seen.absent += 1;
        }
    }
    // No folder but those leading to an expected file.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                let rel = path.strip_prefix(dir).unwrap();
                if !expected.keys().any(|t| t.starts_with(rel)) {
                    return Err(format!("unexpected folder {}", rel.display()));
                }
                stack.push(path);
            }
        }
    }
    Ok(seen)
}

/// What an extraction's parent folder held after a kill.
#[derive(Default, Debug)]
struct SeenExtraction {
    /// 1 if the target was as before: absent, or the empty folder it was.
    as_before: usize,
    /// 1 if the target was complete.
    complete: usize,
    /// Staging folders left beside it.
    staging: usize,
}

/// Checks an extraction's `parent` folder after a kill: `target` is as it
/// was (absent, or empty if `had_empty`) or holds exactly `payloads`, byte
/// for byte; nothing else is in `parent` but staging folders
/// `.hpk-extract-` + 32 hex digits, which hold payload names only (files
/// and the folders leading to them). Removes the staging folders.
fn check_extraction(
    parent: &Path,
    target: &Path,
    payloads: &BTreeMap<PathBuf, Vec<u8>>,
    had_empty: bool,
) -> Result<SeenExtraction, String> {
    let mut seen = SeenExtraction::default();
    let target_name = target.file_name().unwrap().to_str().unwrap();
    let in_payloads = |rel: &Path| payloads.keys().any(|p| p.starts_with(rel));
    for entry in std::fs::read_dir(parent).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == target_name {
            continue;
        }
        let hex = name.strip_prefix(STAGING_PREFIX);
        if !hex.is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!("unexpected entry {name} beside the target"));
        }
        let staging = entry.path();
        for rel in files_under(&staging) {
            if !payloads.contains_key(&rel) {
                return Err(format!("{name} holds {}, not a payload", rel.display()));
            }
        }
        let mut stack = vec![staging.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    let rel = path.strip_prefix(&staging).unwrap();
                    if !in_payloads(rel) {
                        return Err(format!("{name} holds folder {}", rel.display()));
                    }
                    stack.push(path);
                }
            }
        }
        std::fs::remove_dir_all(&staging).unwrap();
        seen.staging += 1;
    }
    match std::fs::symlink_metadata(target) {
        Err(_) if !had_empty => seen.as_before = 1,
        Err(e) => return Err(format!("the empty target is gone: {e}")),
        Ok(m) if !m.is_dir() => return Err("the target is not a folder".to_owned()),
        Ok(_) => {
            let files = files_under(target);
            if files.is_empty() && had_empty {
                seen.as_before = 1;
            } else {
                let expected: Vec<PathBuf> = payloads.keys().cloned().collect();
                if files != expected {
                    return Err(format!("the target holds {files:?}, not {expected:?}"));
                }
                for (rel, data) in payloads {
                    if std::fs::read(target.join(rel)).unwrap() != *data {
                        return Err(format!("{} is not byte for byte right", rel.display()));
                    }
                }
                seen.complete = 1;
            }
        }
    }
    Ok(seen)
}

/// Totals for one command.
#[derive(Default, Debug)]
struct Tally {
    kills: usize,
    killed_midway: usize,
    finished_first: usize,
    left_old: usize,
    left_new: usize,
    left_absent: usize,
    temps: usize,
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, ended: Ended, seen: Result<Seen, String>, what: &str) {
        self.kills += 1;
        match ended {
            Ended::Killed => self.killed_midway += 1,
            Ended::Finished => self.finished_first += 1,
        }
        match seen {
            Ok(s) => {
                if ended == Ended::Finished && (s.old > 0 || s.absent > 0) {
                    self.failures.push(format!(
                        "{what}: finished, but not every file is new: {s:?}"
                    ));
                }
                self.left_old += s.old;
                self.left_new += s.new;
                self.left_absent += s.absent;
                self.temps += s.temps;
            }
            Err(e) => self.failures.push(format!("{what}: {e}")),
        }
    }
}

/// Kills `hpk args` `kills` times, each after a random delay within 1.2 ×
/// `duration` (the time an uninterrupted run took): `prepare(k)` sets the
/// folder up before kill `k` and returns the contents each file may hold
/// after it (the old content first).
fn kill_repeatedly(
    name: &str,
    args: &[OsString],
    dir: &Path,
    kills: usize,
    duration: Duration,
    rng: &mut Rng,
    prepare: &mut dyn FnMut(usize) -> BTreeMap<PathBuf, Vec<Option<Digest>>>,
) -> Tally {
    let mut tally = Tally::default();
    for k in 0..kills {
        let expected = prepare(k);
        let delay = duration.mul_f64(1.2 * rng.unit());
        let (pid, ended) = run_and_kill(args, delay);
        let seen = check_dir(dir, &expected, pid);
        tally.add(
            ended,
            seen,
            &format!("{name} #{k} (killed after {delay:.1?})"),
        );
    }
    println!(
        "{name}: {} run(s), took {duration:.1?} uninterrupted: {tally:?}",
        kills
    );
    tally
}

// ---------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// Compressible text.
fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "{:08x} update line {} of the crash-safety fixture\n",
                rng.next_u64() % 4096,
                out.len()
            )
            .as_bytes(),
        );
    }
    out.truncate(len);
    out
}

/// A package description with these payloads (name, file).
fn description(version: &str, payloads: &[(&str, &str)]) -> String {
    let mut d = format!(
        "name = \"crash-test\"\nkind = \"baseline\"\nversion = \"{version}\"\n\
         security_version = 1\ncreated = {T0}\nexpires = {}\n\n\
         [targets]\nos = \"windows\"\narchitectures = [\"x64\"]\n",
        T0 + 365 * DAY
    );
    for (name, file) in payloads {
        d.push_str(&format!(
            "\n[[payloads]]\nname = \"{name}\"\nfile = \"{file}\"\n"
        ));
    }
    d
}

/// The payload names of both packages, and where they come from.
const PAYLOADS: [&str; 3] = ["readme.txt", "sys/big.bin", "sys/text.bin"];

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    /// Input files: descriptions, payloads, keys, trust root.
    src: PathBuf,
    /// The old and new package descriptions.
    old_desc: PathBuf,
    new_desc: PathBuf,
    /// Payload contents of the new package, by name.
    new_payloads: BTreeMap<PathBuf, Vec<u8>>,
    release_key: PathBuf,
    catalog_key: PathBuf,
    trust_root: PathBuf,
}

impl Fixture {
    /// Keys and trust root of the test kit, and the payloads of an old
    /// (small) and a new (tens of MiB) package with the same names.
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let src = root.join("src");
        let keys = Keys::standard();
        let mut rng = Rng::new(0xC0FFEE);
        let new_payloads: BTreeMap<PathBuf, Vec<u8>> = [
            (PAYLOADS[0], b"new readme\n".to_vec()),
            (PAYLOADS[1], rng.bytes(24 * MIB)),
            (PAYLOADS[2], text(12 * MIB + 345, 1)),
        ]
        .into_iter()
        .map(|(n, d)| (PathBuf::from(n), d))
        .collect();
        let old_payloads: BTreeMap<PathBuf, Vec<u8>> = [
            (PAYLOADS[0], b"old readme\n".to_vec()),
            (PAYLOADS[1], rng.bytes(300_000)),
            (PAYLOADS[2], text(200_000, 2)),
        ]
        .into_iter()
        .map(|(n, d)| (PathBuf::from(n), d))
        .collect();
        let mut files = Vec::new();
        for (tag, payloads) in [("old", &old_payloads), ("new", &new_payloads)] {
            for (i, (name, data)) in payloads.iter().enumerate() {
                let file = format!("{tag}-{i}.dat");
                write(&src.join(&file), data);
                files.push((tag, name.display().to_string(), file));
            }
        }
        let desc_for = |tag: &str, version: &str| {
            let list: Vec<(&str, &str)> = files
                .iter()
                .filter(|(t, _, _)| *t == tag)
                .map(|(_, n, f)| (n.as_str(), f.as_str()))
                .collect();
            description(version, &list)
        };
        let old_desc = src.join("old.toml");
        let new_desc = src.join("new.toml");
        write(&old_desc, desc_for("old", "10.0.1").as_bytes());
        write(&new_desc, desc_for("new", "10.0.2").as_bytes());
        let release_key = src.join("release.key");
        let catalog_key = src.join("catalog.key");
        for (path, seed) in [(&release_key, 2u8), (&catalog_key, 5u8)] {
            let key = hpk_sign::SecretKey::from_seed(&[seed; 32]);
            hpk_sign::keys::write_secret_key_file(path, &key, None, false).unwrap();
        }
        assert_eq!(
            hpk_sign::SecretKey::from_seed(&[2; 32])
                .public_key()
                .as_bytes(),
            &keys.release.public()
        );
        let trust_root = src.join("root.hpkroot");
        write(
            &trust_root,
            &root_file(&standard_root(&keys), &[&keys.root]),
        );
        Fixture {
            _tmp: tmp,
            root,
            src,
            old_desc,
            new_desc,
            new_payloads,
            release_key,
            catalog_key,
            trust_root,
        }
    }

    /// A fresh, empty folder.
    fn folder(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

/// Puts `content` at `path` (`None`: removes it).
fn set(path: &Path, content: Option<&[u8]>) {
    match content {
        Some(bytes) => std::fs::write(path, bytes).unwrap(),
        None => {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn one(name: &str, contents: Vec<Option<Digest>>) -> BTreeMap<PathBuf, Vec<Option<Digest>>> {
    BTreeMap::from([(PathBuf::from(name), contents)])
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

#[test]
fn killed_commands_leave_the_old_or_the_new_file_never_a_partial_one() {
    let start = Instant::now();
    let f = Fixture::new();
    let mut rng = Rng::new(0x51C4_11ED);
    let mut tallies: Vec<(&str, Tally)> = Vec::new();
    let os = |p: &Path| p.as_os_str().to_owned();

    // Reference outputs of uninterrupted runs.
    let refs = f.folder("refs");
    let old_pkg = refs.join("old.hpk");
    let new_pkg = refs.join("new.hpk");
    run(&args(&[&"pack", &f.old_desc, &"--out", &old_pkg]));
    let pack_time = run(&args(&[&"pack", &f.new_desc, &"--out", &new_pkg]));
    let signed_pkg = refs.join("new-signed.hpk");
    std::fs::copy(&new_pkg, &signed_pkg).unwrap();
    let sign_time = run(&args(&[&"sign", &signed_pkg, &"--key", &f.release_key]));
    let old_bytes = std::fs::read(&old_pkg).unwrap();
    let new_bytes = std::fs::read(&new_pkg).unwrap();
    let signed_bytes = std::fs::read(&signed_pkg).unwrap();
    assert_ne!(new_bytes, signed_bytes);
    println!(
        "packages: old {} bytes, new {} bytes, signed {} bytes",
        old_bytes.len(),
        new_bytes.len(),
        signed_bytes.len()
    );

    // `hpk pack`: over an old package, or where there was none.
    let mut untouched = vec![(f.src.clone(), files_under(&f.src))];
    let dir = f.folder("pack");
    let out = dir.join("out.hpk");
    let pack_args = args(&[&"pack", &f.new_desc, &"--out", &out, &"--force"]);
    let (old_d, new_d) = (Digest::of(&old_bytes), Digest::of(&new_bytes));
    let tally = kill_repeatedly(
        "pack",
        &pack_args,
        &dir,
        14,
        pack_time,
        &mut rng,
        &mut |k| {
            let old = (k % 2 == 0).then_some(old_bytes.as_slice());
            set(&out, old);
            one("out.hpk", vec![old.map(|_| old_d), Some(new_d)])
        },
    );
    tallies.push(("pack", tally));

    // `hpk sign` in place (unsigned → signed), and to a new file.
    let dir = f.folder("sign");
    let pkg = dir.join("pkg.hpk");
    let copy = dir.join("copy.hpk");
    let signed_d = Digest::of(&signed_bytes);
    let in_place = args(&[&"sign", &pkg, &"--key", &f.release_key]);
    let to_copy = args(&[&"sign", &pkg, &"--key", &f.release_key, &"--out", &copy]);
    let mut tally = Tally::default();
    for (which, sign_args) in [("in place", &in_place), ("to a new file", &to_copy)] {
        let t = kill_repeatedly(
            &format!("sign {which}"),
            sign_args,
            &dir,
            7,
            sign_time,
            &mut rng,
            &mut |_| {
                set(&pkg, Some(&new_bytes));
                set(&copy, None);
                if which == "in place" {
                    one("pkg.hpk", vec![Some(new_d), Some(signed_d)])
                } else {
                    let mut m = one("pkg.hpk", vec![Some(new_d)]);
                    m.insert("copy.hpk".into(), vec![None, Some(signed_d)]);
                    m
                }
            },
        );
        merge(&mut tally, t);
    }
    tallies.push(("sign", tally));

    // `hpk extract` into a new folder, and into an empty one. The commit
    // is one rename: half of the kills land in the last fifth of the run,
    // around the flushes and the rename.
    let parent = f.folder("extract");
    let target = parent.join("out");
    let extract = extract_args(&f, &signed_pkg, &target);
    let extract_time = {
        let t = run(&extract);
        for (name, data) in &f.new_payloads {
            assert_eq!(&std::fs::read(target.join(name)).unwrap(), data, "{name:?}");
        }
        t
    };
    let mut tally = Tally::default();
    let kills = 30;
    // Each step of the commit, watched for: the staging folder made; every
    // payload written in full in it (the flushes and the rename follow);
    // the target complete (the rename done, the parent's flush follows).
    let full_in = |d: &Path| {
        f.new_payloads.iter().all(|(name, data)| {
            std::fs::metadata(d.join(name)).is_ok_and(|m| m.len() == data.len() as u64)
        })
    };
    let staged = || !staging_folders(&parent).is_empty();
    let written = || staging_folders(&parent).iter().any(|d| full_in(d));
    let committed = || full_in(&target);
    let steps: [(&str, &dyn Fn() -> bool); 3] = [
        ("staging folder made", &staged),
        ("every payload written", &written),
        ("target renamed", &committed),
    ];
    for k in 0..kills {
        if target.exists() {
            std::fs::remove_dir_all(&target).unwrap();
        }
        let had_empty = k % 2 == 1;
        if had_empty {
            std::fs::create_dir(&target).unwrap();
        }
        let (ended, when) = match k % 5 {
            0 | 1 => {
                let delay = extract_time.mul_f64(1.2 * rng.unit());
                let (_, ended) = run_and_kill(&extract, delay);
                (ended, format!("killed after {delay:.1?}"))
            }
            n => {
                let (what, cond) = steps[n - 2];
                (
                    run_and_kill_when(&extract, cond),
                    format!("killed at: {what}"),
                )
            }
        };
        let seen = check_extraction(&parent, &target, &f.new_payloads, had_empty).map(|s| Seen {
            old: 0,
            new: s.complete,
            absent: s.as_before,
            temps: s.staging,
        });
        tally.add(ended, seen, &format!("extract #{k} ({when})"));
    }
    println!("extract: {kills} run(s), took {extract_time:.1?} uninterrupted: {tally:?}");
    // Some kills landed after the rename, before the command ended.
    assert!(
        tally.left_new > tally.finished_first,
        "extract was never killed after its commit: {tally:?}"
    );
    tallies.push(("extract", tally));

    // `hpk catalog add` of many packages to a signed catalog (which makes
    // the next version), then `hpk catalog sign` of the result.
    let pkgs = f.folder("catalog-packages");
    let mut add_args = args(&[&"catalog", &"add"]);
    let dir = f.folder("catalog");
    let cat = dir.join("catalog.hpkcat");
    add_args.push(os(&cat));
    for i in 0..1000 {
        let built = PackageSpec::baseline(&format!("kb{i:04}"))
            .version(&format!("10.0.{i}"))
            .build();
        let path = pkgs.join(format!("kb{i:04}.hpk"));
        write(&path, &built.file(&[]));
        add_args.push(os(&path));
    }
    untouched.push((pkgs.clone(), files_under(&pkgs)));
    let cat_ref = refs.join("catalog.hpkcat");
    run(&args(&[
        &"catalog",
        &"new",
        &"--out",
        &cat_ref,
        &"--version",
        &"7",
        &"--created",
        &T0.to_string(),
    ]));
    run(&args(&[&"catalog", &"add", &cat_ref, &old_pkg]));
    run(&args(&[
        &"catalog",
        &"sign",
        &cat_ref,
        &"--key",
        &f.catalog_key,
    ]));
    let cat_v7 = std::fs::read(&cat_ref).unwrap();
    let mut ref_add_args = add_args.clone();
    ref_add_args[2] = os(&cat_ref);
    let add_time = run(&ref_add_args);
    let cat_v8 = std::fs::read(&cat_ref).unwrap();
    let sign_cat_args = |c: &Path| args(&[&"catalog", &"sign", &c, &"--key", &f.catalog_key]);
    let cat_sign_time = run(&sign_cat_args(&cat_ref));
    let cat_v8_signed = std::fs::read(&cat_ref).unwrap();
    assert!(cat_v7 != cat_v8 && cat_v8 != cat_v8_signed);
    let (v7, v8, v8s) = (
        Digest::of(&cat_v7),
        Digest::of(&cat_v8),
        Digest::of(&cat_v8_signed),
    );
    untouched.push((refs.clone(), files_under(&refs)));
    let tally = kill_repeatedly(
        "catalog add",
        &add_args,
        &dir,
        8,
        add_time,
        &mut rng,
        &mut |_| {
            set(&cat, Some(&cat_v7));
            one("catalog.hpkcat", vec![Some(v7), Some(v8)])
        },
    );
    tallies.push(("catalog add", tally));
    let tally = kill_repeatedly(
        "catalog sign",
        &sign_cat_args(&cat),
        &dir,
        8,
        cat_sign_time,
        &mut rng,
        &mut |_| {
            set(&cat, Some(&cat_v8));
            one("catalog.hpkcat", vec![Some(v8), Some(v8s)])
        },
    );
    tallies.push(("catalog sign", tally));

    // Nothing appeared next to the inputs and the references.
    for (dir, before) in &untouched {
        assert_eq!(&files_under(dir), before, "{}", dir.display());
    }

    let kills: usize = tallies.iter().map(|(_, t)| t.kills).sum();
    println!("{kills} kills in {:.1?}", start.elapsed());
    let failures: Vec<&String> = tallies.iter().flat_map(|(_, t)| &t.failures).collect();
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(kills >= 50, "{kills} kills");
    // The kills did land while the commands worked: each command was
    // interrupted at least once, and the long writers were caught with a
    // temporary file on disk.
    for (name, t) in &tallies {
        assert!(t.killed_midway > 0, "{name} was never interrupted: {t:?}");
        if ["sign", "extract"].contains(name) {
            assert!(t.temps > 0, "{name} was never caught writing: {t:?}");
        }
    }
}

fn merge(into: &mut Tally, t: Tally) {
    into.kills += t.kills;
    into.killed_midway += t.killed_midway;
    into.finished_first += t.finished_first;
    into.left_old += t.left_old;
    into.left_new += t.left_new;
    into.left_absent += t.left_absent;
    into.temps += t.temps;
    into.failures.extend(t.failures);
}

/// The folder check itself catches what it must: a partial file, a file
/// that is neither old nor new, a missing file, a stray file, a temporary
/// file of another process or of another target.
#[test]
fn the_folder_check_catches_partial_and_stray_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (old, new) = (b"old content".to_vec(), b"new content!".to_vec());
    let expected = one(
        "a.hpk",
        vec![Some(Digest::of(&old)), Some(Digest::of(&new))],
    );
    let pid = 4242;
    let check = |setup: &dyn Fn()| {
        for entry in std::fs::read_dir(dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        setup();
        check_dir(dir, &expected, pid)
    };
    let a = dir.join("a.hpk");
    assert!(check(&|| set(&a, Some(&old))).is_ok());
    let seen = check(&|| {
        set(&a, Some(&new));
        set(&dir.join(".a.hpk.4242.0.hpk-tmp"), Some(b"partial"));
    })
    .unwrap();
    assert_eq!((seen.new, seen.temps), (1, 1));
    assert!(!dir.join(".a.hpk.4242.0.hpk-tmp").exists(), "temp removed");
    for (what, setup) in [
        ("partial", &(|| set(&a, Some(&new[..5]))) as &dyn Fn()),
        ("other", &|| set(&a, Some(b"something else"))),
        ("missing", &|| {}),
        ("stray", &|| {
            set(&a, Some(&old));
            set(&dir.join("a.hpk.bak"), Some(&old));
        }),
        ("other pid", &|| {
            set(&a, Some(&old));
            set(&dir.join(".a.hpk.4243.0.hpk-tmp"), Some(&old));
        }),
        ("other target", &|| {
            set(&a, Some(&old));
            set(&dir.join(".b.hpk.4242.0.hpk-tmp"), Some(&old));
        }),
        ("no counter", &|| {
            set(&a, Some(&old));
            set(&dir.join(".a.hpk.4242..hpk-tmp"), Some(&old));
        }),
    ] {
        assert!(check(setup).is_err(), "{what} not caught");
    }
}
