//! How `hpk` reads its inputs: every input opened once (a named pipe never
//! hangs it), `-` for standard input, every input read through its bound
//! (endless data fails fast, in constant memory), and the catalog floor
//! that resets when a new trust root changes the catalog role.
//!
//! Every run has a deadline: a command that hangs fails its test instead
//! of blocking the suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{copy_world, hpk_bin, hpk_in};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one run may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// What a run gave: exit code, stdout, stderr.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `hpk args…` in `dir`, with `stdin` as its standard input (closed if
/// `None`), and kills it if it has not ended by the deadline.
fn run(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Out {
    let mut cmd = Command::new(hpk_bin());
    cmd.args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", common::EPOCH)
        .env_remove("HPK_PASSPHRASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("run hpk");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`hpk {}` did not end within {DEADLINE:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn expect(out: &Out, code: i32, args: &str) {
    assert_eq!(
        out.code, code,
        "`hpk {args}` exited {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
        out.code, out.stdout, out.stderr
    );
}

/// A named pipe at `dir/name`, fed by a thread: `bytes`, then (if
/// `endless`) zeros until the reader goes away.
fn fifo(dir: &Path, name: &str, bytes: Vec<u8>, endless: bool) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    let made = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
    assert!(made.success(), "mkfifo failed");
    let writer = path.clone();
    std::thread::spawn(move || {
        // Blocks until hpk opens the pipe for reading.
        let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&writer) else {
            return;
        };
        if f.write_all(&bytes).is_err() || !endless {
            return;
        }
        let zeros = vec![0u8; 1 << 16];
        while f.write_all(&zeros).is_ok() {}
    });
    path
}

/// A copy of the fixture for one test.
fn dir(name: &str) -> PathBuf {
    copy_world(&format!("inputs-{name}"))
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

fn json_of(out: &Out) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

// ---------------------------------------------------------------------------
// Named pipes and standard input.

#[test]
fn a_truncated_header_through_a_named_pipe_fails_without_hanging() {
    let d = dir("fifo-truncated");
    for cmd in ["verify", "extract", "inspect"] {
        let p = fifo(&d, "p", b"\x89HPK".to_vec(), false);
        let p = p.to_str().unwrap();
        let args: Vec<&str> = match cmd {
            "extract" => vec![cmd, p, "--root", "root.hpkroot", "--out", "x"],
            _ => vec![cmd, p, "--root", "root.hpkroot"],
        };
        let out = run(&d, &args, None);
        expect(&out, 1, &args.join(" "));
        assert!(out.stderr.contains("truncated"), "{cmd}: {}", out.stderr);
    }
}

#[test]
fn an_empty_named_pipe_fails_without_hanging() {
    let d = dir("fifo-empty");
    for cmd in ["verify", "extract", "inspect"] {
        let p = fifo(&d, "p", Vec::new(), false);
        let p = p.to_str().unwrap();
        let args: Vec<&str> = match cmd {
            "extract" => vec![cmd, p, "--root", "root.hpkroot", "--out", "x"],
            _ => vec![cmd, p, "--root", "root.hpkroot"],
        };
        let out = run(&d, &args, None);
        expect(&out, 1, &args.join(" "));
    }
}

#[test]
fn bad_magic_through_a_named_pipe_fails_without_hanging() {
    let d = dir("fifo-magic");
    let p = fifo(&d, "p", b"GIF8".to_vec(), false);
    let out = run(
        &d,
        &["verify", p.to_str().unwrap(), "--root", "root.hpkroot"],
        None,
    );
    expect(&out, 1, "verify p");
    assert!(out.stderr.contains("not an hpk file"), "{}", out.stderr);
}

#[test]
fn a_package_verifies_through_a_named_pipe() {
    let d = dir("fifo-package");
    let pkg = read(&d, "baseline.hpk");
    for extra in [&[][..], &["--header-only"], &["--deep"]] {
        let p = fifo(&d, "p", pkg.clone(), false);
        let mut args = vec!["verify", p.to_str().unwrap(), "--root", "root.hpkroot"];
        args.extend_from_slice(extra);
        let out = run(&d, &args, None);
        expect(&out, 0, &args.join(" "));
    }
    // A package with a byte too many fails the header-only length check
    // through a pipe too.
    let mut longer = pkg.clone();
    longer.push(0);
    let p = fifo(&d, "p", longer, false);
    let args = [
        "verify",
        p.to_str().unwrap(),
        "--root",
        "root.hpkroot",
        "--header-only",
    ];
    expect(
        &run(&d, &args, None),
        1,
        "verify --header-only (one byte more)",
    );
}

#[test]
fn a_dash_reads_the_package_from_standard_input() {
    let d = dir("stdin");
    let pkg = read(&d, "baseline.hpk");
    let out = run(
        &d,
        &["verify", "-", "--root", "root.hpkroot"],
        Some(pkg.clone()),
    );
    expect(&out, 0, "verify -");
    let out = run(
        &d,
        &["verify", "-", "--root", "root.hpkroot", "--json"],
        Some(pkg.clone()),
    );
    expect(&out, 0, "verify - --json");
    assert_eq!(json_of(&out)["file"], "-");
    let out = run(&d, &["inspect", "-", "--json"], Some(pkg.clone()));
    expect(&out, 0, "inspect -");
    assert_eq!(json_of(&out)["package"]["name"], "fixture-baseline");
    let out = run(
        &d,
        &["extract", "-", "--root", "root.hpkroot", "--out", "x"],
        Some(pkg.clone()),
    );
    expect(&out, 0, "extract -");
    assert_eq!(
        std::fs::read(d.join("x/System32/kernel.exe")).unwrap(),
        read(&d, "payload/kernel.exe")
    );
    // Empty and truncated standard input.
    let out = run(
        &d,
        &["verify", "-", "--root", "root.hpkroot"],
        Some(Vec::new()),
    );
    expect(&out, 1, "verify - (empty)");
    let out = run(
        &d,
        &["verify", "-", "--root", "root.hpkroot"],
        Some(pkg[..pkg.len() / 2].to_vec()),
    );
    expect(&out, 1, "verify - (truncated)");
    // Catalogs too.
    let cat = read(&d, "catalog.hpkcat");
    let out = run(
        &d,
        &[
            "catalog",
            "verify",
            "-",
            "--root",
            "root.hpkroot",
            "--now",
            "2026-06-01",
        ],
        Some(cat.clone()),
    );
    expect(&out, 0, "catalog verify -");
    let out = run(
        &d,
        &[
            "plan",
            "--catalog",
            "-",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            "2026-06-01",
        ],
        Some(cat),
    );
    expect(&out, 0, "plan --catalog -");
}

#[test]
fn commands_that_rewrite_a_file_refuse_a_named_pipe_without_hanging() {
    let d = dir("fifo-rewrite");
    for args in [
        vec!["sign", "P", "--key", "keys/release.key"],
        vec!["tbs", "P", "--out", "m"],
        vec![
            "attach",
            "P",
            "--pubkey",
            "keys/release.key.pub",
            "--signature",
            "zero.sig",
        ],
    ] {
        let p = fifo(&d, "p", read(&d, "baseline.hpk"), false);
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "P" { p.to_str().unwrap() } else { a })
            .collect();
        std::fs::write(d.join("zero.sig"), [0u8; 64]).unwrap();
        let out = run(&d, &args, None);
        expect(&out, 2, &args.join(" "));
        assert!(out.stderr.contains("regular file"), "{}", out.stderr);
    }
}

// ---------------------------------------------------------------------------
// Endless data.

#[test]
fn a_catalog_followed_by_endless_data_fails_fast() {
    let d = dir("endless-catalog");
    let cat = read(&d, "catalog.hpkcat");
    let p = fifo(&d, "p", cat.clone(), true);
    let args = [
        "catalog",
        "verify",
        p.to_str().unwrap(),
        "--root",
        "root.hpkroot",
        "--now",
        "2026-06-01",
        "--json",
    ];
    let out = run(&d, &args, None);
    expect(&out, 1, "catalog verify (endless)");
    assert_eq!(json_of(&out)["class"], "malformed", "{}", out.stdout);
    let p = fifo(&d, "p", cat, true);
    let args = [
        "plan",
        "--catalog",
        p.to_str().unwrap(),
        "--root",
        "root.hpkroot",
        "--device",
        "devices/x64-enterprise.toml",
        "--now",
        "2026-06-01",
    ];
    let out = run(&d, &args, None);
    expect(&out, 1, "plan (endless)");
    assert!(out.stderr.contains("after"), "{}", out.stderr);
}

#[test]
fn a_trust_root_followed_by_endless_data_fails_fast() {
    let d = dir("endless-root");
    let root = read(&d, "root.hpkroot");
    let p = fifo(&d, "p", root.clone(), true);
    let out = run(&d, &["root", "verify", p.to_str().unwrap()], None);
    expect(&out, 1, "root verify (endless)");
    let p = fifo(&d, "p", root, true);
    let args = ["verify", "baseline.hpk", "--root", p.to_str().unwrap()];
    expect(&run(&d, &args, None), 1, "verify --root (endless)");
}

#[test]
fn endless_devices_and_roots_fail_fast() {
    let d = dir("dev-zero");
    let out = run(&d, &["verify", "baseline.hpk", "--root", "/dev/zero"], None);
    expect(&out, 1, "verify --root /dev/zero");
    let out = run(
        &d,
        &[
            "verify",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "/dev/zero",
            "--json",
        ],
        None,
    );
    expect(&out, 2, "verify --device /dev/zero");
    assert_eq!(json_of(&out)["class"], "limit", "{}", out.stdout);
    // A device profile over the cap, as a regular file.
    let mut big = b"os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\n".to_vec();
    big.extend(std::iter::repeat_n(b'#', 2 << 20));
    std::fs::write(d.join("big.toml"), &big).unwrap();
    let out = run(
        &d,
        &[
            "verify",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "big.toml",
        ],
        None,
    );
    expect(&out, 2, "verify --device big.toml");
    assert!(out.stderr.contains("larger than"), "{}", out.stderr);
    // Key files, passphrase files, signatures and package descriptions.
    let out = run(&d, &["sign", "baseline.hpk", "--key", "/dev/zero"], None);
    expect(&out, 2, "sign --key /dev/zero");
    let out = run(
        &d,
        &[
            "sign",
            "baseline.hpk",
            "--key",
            "keys/encrypted.key",
            "--passphrase-file",
            "/dev/zero",
        ],
        None,
    );
    expect(&out, 2, "sign --passphrase-file /dev/zero");
    let out = run(
        &d,
        &[
            "attach",
            "baseline.hpk",
            "--pubkey",
            "keys/release.key.pub",
            "--signature",
            "/dev/zero",
        ],
        None,
    );
    expect(&out, 2, "attach --signature /dev/zero");
    let out = run(&d, &["pack", "/dev/zero", "--out", "z.hpk"], None);
    expect(&out, 2, "pack /dev/zero");
}

// ---------------------------------------------------------------------------
// Recovery from a catalog fast-forward.

const MAX: &str = "18446744073709551615";

/// A signed catalog of `version` holding the baseline, signed by `key`.
fn signed_catalog(d: &Path, out: &str, version: &str, key: &str) {
    hpk_in(
        d,
        &[
            "catalog",
            "new",
            "--out",
            out,
            "--version",
            version,
            "--created",
            "2026-01-01",
            "--expires-in",
            "365",
            "--force",
        ],
    )
    .ok();
    hpk_in(d, &["catalog", "add", out, "baseline.hpk"]).ok();
    hpk_in(d, &["catalog", "sign", out, "--key", key]).ok();
}

/// The device after it accepted a catalog: `catalog_version` and
/// `catalog_role` from `hpk plan --json`.
fn record(d: &Path, device: &str, plan: &serde_json::Value) {
    let base = std::fs::read_to_string(d.join("devices/x64-enterprise.toml")).unwrap();
    std::fs::write(
        d.join(device),
        format!(
            "{base}catalog_version = {}\ncatalog_role = \"{}\"\n",
            plan["catalog_version"],
            plan["catalog_role"].as_str().unwrap()
        ),
    )
    .unwrap();
}

fn plan(d: &Path, catalog: &str, root: &str, device: &str) -> Out {
    run(
        d,
        &[
            "plan",
            "--catalog",
            catalog,
            "--root",
            root,
            "--device",
            device,
            "--now",
            "2026-06-01",
            "--json",
        ],
        None,
    )
}

#[test]
fn a_catalog_fast_forward_is_undone_by_rotating_the_catalog_key() {
    let d = dir("fast-forward");
    // A stolen catalog key signs version 2^64 − 1, and the device takes it.
    signed_catalog(&d, "evil.hpkcat", MAX, "keys/catalog.key");
    let out = plan(
        &d,
        "evil.hpkcat",
        "root.hpkroot",
        "devices/x64-enterprise.toml",
    );
    expect(&out, 0, "plan evil");
    let accepted = json_of(&out);
    assert_eq!(accepted["catalog_version"].as_u64(), Some(u64::MAX));
    record(&d, "device.toml", &accepted);
    // From then on, every legitimate catalog is a rollback.
    signed_catalog(&d, "legit.hpkcat", "4", "keys/catalog.key");
    let out = plan(&d, "legit.hpkcat", "root.hpkroot", "device.toml");
    expect(&out, 1, "plan legit before the rotation");
    assert!(out.stderr.contains("rollback"), "{}", out.stderr);

    // Root version 2 rotates the catalog key out.
    hpk_in(
        &d,
        &["keygen", "--out", "keys/catalog2.key", "--unencrypted"],
    )
    .ok();
    hpk_in(
        &d,
        &[
            "root",
            "add-key",
            "root.hpkroot",
            "--role",
            "catalog",
            "--pubkey",
            "keys/catalog2.key.pub",
            "--out",
            "root-v2.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        &d,
        &[
            "root",
            "remove-key",
            "root-v2.hpkroot",
            "--role",
            "catalog",
            "--pubkey",
            "keys/catalog.key.pub",
        ],
    )
    .ok();
    hpk_in(
        &d,
        &["root", "sign", "root-v2.hpkroot", "--key", "keys/root.key"],
    )
    .ok();
    hpk_in(
        &d,
        &[
            "root",
            "verify",
            "root-v2.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            "2026-06-01",
        ],
    )
    .ok();
    // Under root v2 the floor recorded under the old catalog role no
    // longer holds: the legitimate catalog, signed by the new key, is
    // accepted again...
    signed_catalog(&d, "legit2.hpkcat", "5", "keys/catalog2.key");
    let out = plan(&d, "legit2.hpkcat", "root-v2.hpkroot", "device.toml");
    expect(&out, 0, "plan legit after the rotation");
    let after = json_of(&out);
    assert_eq!(after["catalog_version"].as_u64(), Some(5));
    assert_ne!(after["catalog_role"], accepted["catalog_role"]);
    // ...while the stolen key's catalog is refused by its signature.
    let out = plan(&d, "evil.hpkcat", "root-v2.hpkroot", "device.toml");
    expect(&out, 1, "plan evil after the rotation");
    // And the new floor binds: once version 5 is recorded, 4 is a rollback.
    record(&d, "device2.toml", &after);
    signed_catalog(&d, "older.hpkcat", "4", "keys/catalog2.key");
    let out = plan(&d, "older.hpkcat", "root-v2.hpkroot", "device2.toml");
    expect(&out, 1, "plan older after the rotation");
    assert!(out.stderr.contains("rollback"), "{}", out.stderr);
}

#[test]
fn a_rotation_that_keeps_the_catalog_role_keeps_the_floor() {
    let d = dir("keeps-floor");
    signed_catalog(&d, "evil.hpkcat", MAX, "keys/catalog.key");
    let out = plan(
        &d,
        "evil.hpkcat",
        "root.hpkroot",
        "devices/x64-enterprise.toml",
    );
    expect(&out, 0, "plan evil");
    record(&d, "device.toml", &json_of(&out));
    // Root version 2 rotates only the release role.
    hpk_in(
        &d,
        &[
            "root",
            "add-key",
            "root.hpkroot",
            "--role",
            "release",
            "--pubkey",
            "keys/stray.key.pub",
            "--out",
            "root-v2.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        &d,
        &["root", "sign", "root-v2.hpkroot", "--key", "keys/root.key"],
    )
    .ok();
    signed_catalog(&d, "legit.hpkcat", "4", "keys/catalog.key");
    let out = plan(&d, "legit.hpkcat", "root-v2.hpkroot", "device.toml");
    expect(&out, 1, "plan legit under an unrelated rotation");
    assert!(out.stderr.contains("rollback"), "{}", out.stderr);
    // A device that recorded no catalog role keeps its floor whatever the
    // root (fail closed).
    let base = std::fs::read_to_string(d.join("devices/x64-enterprise.toml")).unwrap();
    std::fs::write(
        d.join("legacy.toml"),
        format!("{base}catalog_version = {MAX}\n"),
    )
    .unwrap();
    let out = plan(&d, "legit.hpkcat", "root-v2.hpkroot", "legacy.toml");
    expect(&out, 1, "plan legit on a device without catalog_role");
    // `catalog verify` takes the role with --last-seen-role.
    let role = json_of(&plan(
        &d,
        "evil.hpkcat",
        "root.hpkroot",
        "devices/x64-enterprise.toml",
    ))["catalog_role"]
        .as_str()
        .unwrap()
        .to_owned();
    let verify = |root: &str| {
        run(
            &d,
            &[
                "catalog",
                "verify",
                "legit.hpkcat",
                "--root",
                root,
                "--last-seen",
                MAX,
                "--last-seen-role",
                &role,
                "--now",
                "2026-06-01",
            ],
            None,
        )
    };
    expect(&verify("root-v2.hpkroot"), 1, "catalog verify, same role");
}
