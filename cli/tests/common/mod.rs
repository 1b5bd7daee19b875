//! Shared helpers of the `hpk` integration tests: running the binary, a
//! fixture world of keys, trust root, packages, devices and catalog built
//! once per test binary, output normalisation and snapshot files.
//!
//! Snapshots live in `cli/tests/snapshots/`. A test fails when its output
//! differs from the stored snapshot, or when the snapshot is missing; run
//! `HPK_BLESS=1 cargo test -p hpk-cli` to (re)write them, then review the
//! diff.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The `hpk` binary under test.
pub fn hpk_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hpk"))
}

/// Creation time of everything in the fixture: 2026-01-01T00:00:00Z.
pub const EPOCH: &str = "1767225600";
/// The instant the fixture is judged at: 2026-06-01.
pub const NOW: &str = "2026-06-01";
/// The passphrase of the fixture's encrypted key.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// What a run of `hpk` gave.
#[derive(Debug)]
pub struct Run {
    /// The command line, `hpk …`.
    pub line: String,
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The raw bytes, for escape-code checks.
    pub raw: Output,
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "`{}` exited {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
            self.line, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Run {
        self.expect_code(0)
    }
}

/// Runs `hpk args…` in `dir` with a clean environment (fixed
/// `SOURCE_DATE_EPOCH`, no passphrase), stdin closed and output piped.
pub fn hpk_in(dir: &Path, args: &[&str]) -> Run {
    hpk_env(dir, args, &[])
}

/// Like [`hpk_in`], with extra environment variables.
pub fn hpk_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(hpk_bin());
    cmd.args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("HPK_PASSPHRASE")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let raw = cmd.output().expect("run hpk");
    Run {
        line: format!("hpk {}", args.join(" ")),
        code: raw.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&raw.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&raw.stderr).into_owned(),
        raw,
    }
}

/// A fresh, empty folder for one test, under cargo's target tmp folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hpk-cli")
        .join(env!("CARGO_CRATE_NAME"))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic bytes that do not compress: the workspace test kit's.
pub use hpk_tests::noise;

/// The package descriptions of the fixture (payloads stored raw, so that
/// sizes do not depend on the compressor).
pub const BASELINE_TOML: &str = r#"name = "fixture-baseline"
kind = "baseline"
version = "10.0.1.0"
security_version = 30
created = 2026-01-01T00:00:00Z

[targets]
os = "windows"
architectures = ["x64"]
editions = ["enterprise"]
capabilities = ["vbs"]

[baseline]
security_floor = 30

[[payloads]]
name = "System32/kernel.exe"
file = "payload/kernel.exe"
compression = "none"
"#;

/// The hotpatch on the fixture baseline; `KERNEL_DIGEST` is filled in.
pub const HOTPATCH_TOML: &str = r#"name = "fixture-hotpatch"
kind = "hotpatch"
version = "10.0.1.1"
security_version = 31
created = 2026-01-01T00:00:00Z

[targets]
os = "windows"
architectures = ["x64"]
editions = ["enterprise"]
capabilities = ["vbs"]

[hotpatch]
baseline = "baseline.hpk"
sequence = 1

[[hotpatch.modules]]
path = "System32/kernel.exe"
digest_before = "KERNEL_DIGEST"

[[payloads]]
name = "hotpatch/kernel.hp"
file = "payload/kernel.hp"
compression = "none"
"#;

/// A standard update that expires on 2026-03-01.
pub const STANDARD_TOML: &str = r#"name = "fixture-standard"
kind = "standard"
version = "10.0.1.1"
security_version = 31
created = 2026-01-01T00:00:00Z
expires = 2026-03-01T00:00:00Z

[targets]
os = "windows"
architectures = ["arm64", "x64"]

[[payloads]]
name = "System32/kernel.exe"
file = "payload/kernel.exe"
compression = "none"
"#;

/// A recovery package.
pub const RECOVERY_TOML: &str = r#"name = "fixture-recovery"
kind = "recovery"
version = "10.0.1.2"
security_version = 31
created = 2026-01-01T00:00:00Z

[targets]
os = "windows"
architectures = ["x64"]

[[payloads]]
name = "Recovery/fix.cmd"
file = "payload/fix.cmd"
compression = "none"
"#;

/// Device profiles of the fixture.
pub const DEVICES: [(&str, &str); 4] = [
    (
        "x64-enterprise.toml",
        "os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\ncapabilities = [\"vbs\"]\n",
    ),
    (
        "x64-home.toml",
        "os = \"windows\"\narchitecture = \"x64\"\nedition = \"home\"\n",
    ),
    (
        "arm64-enterprise.toml",
        "os = \"windows\"\narchitecture = \"arm64\"\nedition = \"enterprise\"\n",
    ),
    (
        "recovery.toml",
        "profile = \"recovery\"\nos = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\nsecurity_floor = 30\ntime_lower_bound = 1767225600\n",
    ),
];

/// The fixture: keys, a signed trust root, signed packages, device
/// profiles and a signed catalog, in one folder.
pub struct World {
    /// The folder.
    pub dir: PathBuf,
    /// Key ids by key name (`release`, `hotpatch`, …).
    pub key_ids: BTreeMap<String, String>,
}

/// The roles' keys, plus an encrypted release key and a stray key that no
/// role holds.
pub const KEYS: [&str; 7] = [
    "root",
    "release",
    "hotpatch",
    "recovery",
    "catalog",
    "stray",
    "encrypted",
];

/// The fixture, built on first use (once per test binary).
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build_world)
}

fn build_world() -> World {
    let dir = scratch("world");
    let d = dir.as_path();
    let mut key_ids = BTreeMap::new();
    std::fs::create_dir_all(d.join("keys")).unwrap();
    for name in KEYS {
        let out = format!("keys/{name}.key");
        let run = if name == "encrypted" {
            hpk_env(
                d,
                &["keygen", "--out", &out],
                &[("HPK_PASSPHRASE", PASSPHRASE)],
            )
        } else {
            hpk_in(d, &["keygen", "--out", &out, "--unencrypted"])
        }
        .ok();
        key_ids.insert(name.to_owned(), run.stdout.trim().to_owned());
    }
    hpk_in(
        d,
        &[
            "root",
            "init",
            "--out",
            "root.hpkroot",
            "--root-key",
            "keys/root.key.pub",
            "--release-key",
            "keys/release.key.pub",
            "--release-key",
            "keys/encrypted.key.pub",
            "--hotpatch-key",
            "keys/hotpatch.key.pub",
            "--recovery-key",
            "keys/recovery.key.pub",
            "--catalog-key",
            "keys/catalog.key.pub",
            "--created",
            "2026-01-01",
            "--expires-in",
            "730",
        ],
    )
    .ok();
    hpk_in(
        d,
        &["root", "sign", "root.hpkroot", "--key", "keys/root.key"],
    )
    .ok();

    std::fs::create_dir_all(d.join("payload")).unwrap();
    let kernel = noise(200_000, 1);
    std::fs::write(d.join("payload/kernel.exe"), &kernel).unwrap();
    std::fs::write(d.join("payload/kernel.hp"), noise(20_000, 2)).unwrap();
    std::fs::write(
        d.join("payload/fix.cmd"),
        b"bcdedit /set {default} safeboot minimal\n",
    )
    .unwrap();
    let kernel_digest = sha256_hex(d, "payload/kernel.exe");
    std::fs::write(d.join("baseline.toml"), BASELINE_TOML).unwrap();
    std::fs::write(
        d.join("hotpatch.toml"),
        HOTPATCH_TOML.replace("KERNEL_DIGEST", &kernel_digest),
    )
    .unwrap();
    std::fs::write(d.join("standard.toml"), STANDARD_TOML).unwrap();
    std::fs::write(d.join("recovery.toml"), RECOVERY_TOML).unwrap();
    for (pkg, key) in [
        ("baseline", "release"),
        ("hotpatch", "hotpatch"),
        ("standard", "release"),
        ("recovery", "recovery"),
    ] {
        let desc = format!("{pkg}.toml");
        let out = format!("{pkg}.hpk");
        hpk_in(d, &["pack", &desc, "--out", &out]).ok();
        let key = format!("keys/{key}.key");
        hpk_in(d, &["sign", &out, "--key", &key, "--root", "root.hpkroot"]).ok();
    }
    std::fs::create_dir_all(d.join("devices")).unwrap();
    for (name, text) in DEVICES {
        std::fs::write(d.join("devices").join(name), text).unwrap();
    }
    hpk_in(
        d,
        &[
            "catalog",
            "new",
            "--out",
            "catalog.hpkcat",
            "--version",
            "3",
            "--created",
            "2026-01-01",
            "--expires-in",
            "365",
        ],
    )
    .ok();
    hpk_in(
        d,
        &[
            "catalog",
            "add",
            "catalog.hpkcat",
            "baseline.hpk",
            "hotpatch.hpk",
            "standard.hpk",
            "recovery.hpk",
        ],
    )
    .ok();
    hpk_in(
        d,
        &[
            "catalog",
            "sign",
            "catalog.hpkcat",
            "--key",
            "keys/catalog.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    World { dir, key_ids }
}

/// The manifest digest of a package, from `hpk inspect --json`.
pub fn manifest_digest(dir: &Path, package: &str) -> String {
    let run = hpk_in(dir, &["inspect", package, "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    v["package"]["manifest_digest"].as_str().unwrap().to_owned()
}

/// SHA-256 of a file as hex (coreutils' `sha256sum`).
fn sha256_hex(dir: &Path, file: &str) -> String {
    let out = Command::new("sha256sum")
        .arg(file)
        .current_dir(dir)
        .output()
        .expect("sha256sum");
    assert!(out.status.success(), "sha256sum failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// Copies the fixture into a fresh folder a test may change.
pub fn copy_world(name: &str) -> PathBuf {
    let dest = scratch(name);
    copy_dir(&world().dir, &dest);
    dest
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Output with what varies between runs replaced: the fixture's folder,
/// key ids (`[key:release]`, short form `[key:release]…`) and any other
/// 64-digit hex string (`[digest]`).
pub fn normalize(text: &str, dirs: &[&Path]) -> String {
    let mut out = text.to_owned();
    for dir in dirs {
        out = out.replace(&dir.display().to_string(), "[DIR]");
    }
    out = out.replace(env!("CARGO_TARGET_TMPDIR"), "[TMP]");
    for (name, id) in &world().key_ids {
        out = out.replace(id.as_str(), &format!("[key:{name}]"));
        if let Some(short) = id.get(..8) {
            out = out.replace(&format!("{short}…"), &format!("[key:{name}]…"));
        }
    }
    replace_hex64(&out)
}

fn replace_hex64(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == 64 {
            out.push_str("[digest]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Compares `actual` with the snapshot `name`, or writes it when
/// `HPK_BLESS` is set.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.snap"));
    if std::env::var_os("HPK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "snapshot {} is missing: run `HPK_BLESS=1 cargo test -p hpk-cli` and review it\n--- actual:\n{actual}",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from snapshot {} (if the change is intended: `HPK_BLESS=1 cargo test -p hpk-cli`)\n{}",
            path.display(),
            line_diff(&expected, actual)
        );
    }
}

/// The lines that differ, `-` expected and `+` actual.
fn line_diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("{:>4} - {x}\n", i + 1));
                }
                if let Some(y) = y {
                    out.push_str(&format!("{:>4} + {y}\n", i + 1));
                }
            }
        }
    }
    out
}

/// Whether bytes hold an escape character (0x1b).
pub fn has_escape(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b)
}
