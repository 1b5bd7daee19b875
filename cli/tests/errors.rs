//! What users see when a command fails: a broad set of real failures, each
//! with its exit code, at most two lines on stderr (three with a hint, or
//! for an argument error: what, usage, hint), naming the file concerned,
//! and never a panic, a backtrace or Debug formatting. The whole set is
//! kept as a snapshot (`snapshots/errors.snap`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{PASSPHRASE, Run, assert_snapshot, copy_world, hpk_env, hpk_in, normalize};
use std::path::Path;

/// One failure case.
struct Case {
    /// What it shows.
    what: &'static str,
    /// The arguments.
    args: Vec<&'static str>,
    /// Extra environment.
    env: Vec<(&'static str, &'static str)>,
    /// The exit code it must have.
    code: i32,
    /// A file name the message must contain (`None`: an argument error,
    /// which names no file).
    file: Option<&'static str>,
}

fn case(what: &'static str, code: i32, file: Option<&'static str>, args: &[&'static str]) -> Case {
    Case {
        what,
        args: args.to_vec(),
        env: Vec::new(),
        code,
        file,
    }
}

/// Files the cases need, made from the fixture.
fn prepare(dir: &Path) {
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    let pkg = std::fs::read(dir.join("baseline.hpk")).unwrap();
    // One payload byte flipped near the end of the file.
    let mut damaged = pkg.clone();
    let at = damaged.len() - 1000;
    damaged[at] ^= 0x55;
    write("damaged.hpk", &damaged);
    write("truncated.hpk", &pkg[..pkg.len() / 2]);
    write("notes.txt", b"just some text, not an hpk file\n");
    write("empty.pass", b"\n");
    // Another package with the name and version of standard.hpk.
    let desc = std::fs::read_to_string(dir.join("standard.toml")).unwrap();
    write(
        "standard2.toml",
        desc.replace("compression = \"none\"", "compression = \"zstd\"")
            .as_bytes(),
    );
    hpk_in(dir, &["pack", "standard2.toml", "--out", "standard2.hpk"]).ok();
    write("short.sig", &[7u8; 10]);
    write("zero.sig", &[0u8; 64]);
    write(
        "devices/missing-field.toml",
        b"os = \"windows\"\nedition = \"enterprise\"\n",
    );
    write(
        "devices/unknown-field.toml",
        b"os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\ncolour = \"blue\"\n",
    );
    write("syntax.toml", b"name = \"x\"\nkind = baseline\n");
    write(
        "level.toml",
        common::BASELINE_TOML
            .replace("compression = \"none\"", "level = 25")
            .as_bytes(),
    );
    write(
        "nopayload.toml",
        common::BASELINE_TOML
            .replace("payload/kernel.exe", "payload/missing.exe")
            .as_bytes(),
    );
    std::fs::create_dir_all(dir.join("blocked")).unwrap();
    write("blocked/System32", b"a file where a folder must go");
    let run = |args: &[&str]| hpk_env(dir, args, &[]).ok();
    // Signed with a key the trust root does not hold for standard packages.
    run(&["pack", "standard.toml", "--out", "wrong-role.hpk"]);
    run(&["sign", "wrong-role.hpk", "--key", "keys/hotpatch.key"]);
    run(&["pack", "standard.toml", "--out", "unsigned.hpk"]);
    // A next root version signed only by a key that is not a root key.
    run(&[
        "root",
        "add-key",
        "root.hpkroot",
        "--role",
        "release",
        "--pubkey",
        "keys/stray.key.pub",
        "--out",
        "root-v2.hpkroot",
    ]);
    run(&["root", "sign", "root-v2.hpkroot", "--key", "keys/stray.key"]);
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        case(
            "missing package",
            4,
            Some("nope.hpk"),
            &["verify", "nope.hpk", "--root", "root.hpkroot"],
        ),
        case(
            "missing trust root",
            4,
            Some("nope.hpkroot"),
            &["verify", "baseline.hpk", "--root", "nope.hpkroot"],
        ),
        case(
            "damaged payload",
            1,
            Some("damaged.hpk"),
            &[
                "verify",
                "damaged.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "damaged payload, extract",
            1,
            Some("damaged.hpk"),
            &[
                "extract",
                "damaged.hpk",
                "--root",
                "root.hpkroot",
                "--out",
                "x",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "truncated download",
            1,
            Some("truncated.hpk"),
            &[
                "verify",
                "truncated.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "not an hpk file",
            1,
            Some("notes.txt"),
            &[
                "verify",
                "notes.txt",
                "--root",
                "root.hpkroot",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "signing a file that is not an hpk file",
            1,
            Some("notes.txt"),
            &["sign", "notes.txt", "--key", "keys/release.key"],
        ),
        case(
            "trust root where a package goes",
            1,
            Some("root.hpkroot"),
            &["verify", "root.hpkroot", "--root", "root.hpkroot"],
        ),
        case(
            "trust root inspected with --root",
            2,
            Some("root.hpkroot"),
            &["inspect", "root.hpkroot", "--root", "root.hpkroot"],
        ),
        case(
            "package that exists",
            2,
            Some("standard.hpk"),
            &["pack", "standard.toml", "--out", "standard.hpk"],
        ),
        case(
            "new key without a terminal or a passphrase",
            2,
            Some("new.key"),
            &["keygen", "--out", "keys/new.key"],
        ),
        case(
            "new key with an empty passphrase",
            2,
            Some("new.key"),
            &[
                "keygen",
                "--out",
                "keys/new.key",
                "--passphrase-file",
                "empty.pass",
            ],
        ),
        case(
            "catalog entry with the name and version of another package",
            2,
            Some("standard2.hpk"),
            &["catalog", "add", "catalog.hpkcat", "standard2.hpk"],
        ),
        case(
            "catalog entry that is not there",
            2,
            Some("catalog.hpkcat"),
            &[
                "catalog",
                "remove",
                "catalog.hpkcat",
                "--name",
                "fixture-standard",
                "--version",
                "9.9",
            ],
        ),
        case(
            "renewed trust root over an existing file",
            2,
            Some("notes.txt"),
            &[
                "root",
                "renew",
                "root.hpkroot",
                "--expires-in",
                "30",
                "--out",
                "notes.txt",
            ],
        ),
        case(
            "renewed trust root that would expire before it is created",
            2,
            Some("root.hpkroot"),
            &[
                "root",
                "renew",
                "root.hpkroot",
                "--expires",
                "2025-01-01",
                "--out",
                "root-v9.hpkroot",
            ],
        ),
        case(
            "package where a trust root goes",
            1,
            Some("baseline.hpk"),
            &["verify", "baseline.hpk", "--root", "baseline.hpk"],
        ),
        case(
            "unsigned package",
            1,
            Some("unsigned.hpk"),
            &[
                "verify",
                "unsigned.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "signed by a key of the wrong role",
            1,
            Some("wrong-role.hpk"),
            &[
                "verify",
                "wrong-role.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "signing with a key of the wrong role",
            2,
            Some("standard.hpk"),
            &[
                "sign",
                "standard.hpk",
                "--key",
                "keys/hotpatch.key",
                "--root",
                "root.hpkroot",
                "--out",
                "s.hpk",
            ],
        ),
        case(
            "catalog signed with a key outside the catalog role",
            2,
            Some("catalog.hpkcat"),
            &[
                "catalog",
                "sign",
                "catalog.hpkcat",
                "--key",
                "keys/release.key",
                "--root",
                "root.hpkroot",
                "--out",
                "c.hpkcat",
            ],
        ),
        case(
            "encrypted key without a passphrase",
            2,
            Some("encrypted.key"),
            &[
                "sign",
                "baseline.hpk",
                "--key",
                "keys/encrypted.key",
                "--out",
                "s.hpk",
            ],
        ),
        case(
            "public key where a secret key goes",
            2,
            Some("release.key.pub"),
            &[
                "sign",
                "baseline.hpk",
                "--key",
                "keys/release.key.pub",
                "--out",
                "s.hpk",
            ],
        ),
        case(
            "missing key file",
            4,
            Some("keys/nope.key"),
            &[
                "sign",
                "baseline.hpk",
                "--key",
                "keys/nope.key",
                "--out",
                "s.hpk",
            ],
        ),
        case(
            "hotpatch before its baseline",
            3,
            Some("hotpatch.hpk"),
            &[
                "verify",
                "hotpatch.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "wrong architecture",
            3,
            Some("baseline.hpk"),
            &[
                "verify",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/arm64-enterprise.toml",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "expired package",
            3,
            Some("standard.hpk"),
            &[
                "verify",
                "standard.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "standard package offline",
            3,
            Some("standard.hpk"),
            &[
                "extract",
                "standard.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/recovery.toml",
                "--out",
                "x",
            ],
        ),
        case(
            "device file missing a field",
            2,
            Some("missing-field.toml"),
            &[
                "verify",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/missing-field.toml",
            ],
        ),
        case(
            "device file with an unknown field",
            2,
            Some("unknown-field.toml"),
            &[
                "plan",
                "--catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/unknown-field.toml",
            ],
        ),
        case(
            "missing device file",
            4,
            Some("devices/nope.toml"),
            &[
                "verify",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/nope.toml",
            ],
        ),
        case(
            "description that is not valid TOML",
            2,
            Some("syntax.toml"),
            &["pack", "syntax.toml", "--out", "p.hpk"],
        ),
        case(
            "description with a value out of range",
            2,
            Some("level.toml"),
            &["pack", "level.toml", "--out", "p.hpk"],
        ),
        case(
            "description naming a missing payload file",
            4,
            Some("missing.exe"),
            &["pack", "nopayload.toml", "--out", "p.hpk"],
        ),
        case(
            "missing description",
            4,
            Some("nope.toml"),
            &["pack", "nope.toml", "--out", "p.hpk"],
        ),
        case(
            "expired trust root",
            1,
            Some("root.hpkroot"),
            &[
                "verify",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "2030-01-01",
            ],
        ),
        case(
            "trust root from the future",
            1,
            Some("root.hpkroot"),
            &["root", "verify", "root.hpkroot", "--now", "2025-01-01"],
        ),
        case(
            "expired catalog",
            1,
            Some("catalog.hpkcat"),
            &[
                "catalog",
                "verify",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--now",
                "2027-06-01",
            ],
        ),
        case(
            "catalog rollback",
            1,
            Some("catalog.hpkcat"),
            &[
                "catalog",
                "verify",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--last-seen",
                "4",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "rotation not signed by the old root keys",
            1,
            Some("root-v2.hpkroot"),
            &[
                "root",
                "verify",
                "root-v2.hpkroot",
                "--trusted",
                "root.hpkroot",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "editing a published root in place",
            2,
            Some("root.hpkroot"),
            &[
                "root",
                "set-threshold",
                "root.hpkroot",
                "--role",
                "root",
                "--threshold",
                "1",
            ],
        ),
        case(
            "key file that exists",
            2,
            Some("keys/release.key"),
            &["keygen", "--out", "keys/release.key"],
        ),
        case(
            "signature of the wrong length",
            2,
            Some("short.sig"),
            &[
                "attach",
                "baseline.hpk",
                "--pubkey",
                "keys/release.key.pub",
                "--signature",
                "short.sig",
                "--out",
                "a.hpk",
            ],
        ),
        case(
            "signature that does not match",
            1,
            Some("baseline.hpk"),
            &[
                "attach",
                "baseline.hpk",
                "--pubkey",
                "keys/release.key.pub",
                "--signature",
                "zero.sig",
                "--out",
                "a.hpk",
            ],
        ),
        case(
            "root tbs on a package",
            2,
            Some("baseline.hpk"),
            &["root", "tbs", "baseline.hpk", "--out", "m.bin"],
        ),
        case(
            "extracting into a folder that is not empty",
            4,
            Some("blocked"),
            &[
                "extract",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--out",
                "blocked",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "extracting into a folder that does not exist",
            4,
            Some("typo/out"),
            &[
                "extract",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--out",
                "typo/out",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "recording a package the device would not install",
            3,
            Some("hotpatch.hpk"),
            &[
                "device",
                "record-install",
                "hotpatch.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "recording into standard input",
            2,
            Some("-:"),
            &[
                "device",
                "record-catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "-",
            ],
        ),
        case(
            "recording a package given as a catalog",
            1,
            Some("baseline.hpk"),
            &[
                "device",
                "record-catalog",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                "2026-06-01",
            ],
        ),
        case(
            "unknown flag",
            2,
            None,
            &["verify", "baseline.hpk", "--bogus"],
        ),
        case("missing arguments", 2, None, &["verify"]),
        case("misspelt command", 2, None, &["verfy", "baseline.hpk"]),
        case(
            "bad time",
            2,
            None,
            &[
                "verify",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "yesterday",
            ],
        ),
        case(
            "bad role name",
            2,
            None,
            &[
                "root",
                "add-key",
                "root.hpkroot",
                "--role",
                "admin",
                "--pubkey",
                "keys/stray.key.pub",
            ],
        ),
    ];
    v.push(Case {
        what: "wrong passphrase",
        args: vec![
            "sign",
            "baseline.hpk",
            "--key",
            "keys/encrypted.key",
            "--out",
            "s.hpk",
        ],
        env: vec![("HPK_PASSPHRASE", "not the passphrase")],
        code: 2,
        file: Some("encrypted.key"),
    });
    v.push(Case {
        what: "right passphrase (control: succeeds)",
        args: vec![
            "sign",
            "baseline.hpk",
            "--key",
            "keys/encrypted.key",
            "--out",
            "s.hpk",
            "-q",
        ],
        env: vec![("HPK_PASSPHRASE", PASSPHRASE)],
        code: 0,
        file: None,
    });
    v
}

/// Text that means internals leaked to the user.
const LEAKS: [&str; 10] = [
    "panicked",
    "RUST_BACKTRACE",
    "stack backtrace",
    "Os {",
    "kind: ",
    "Error {",
    "Some(",
    "None",
    "\\n",
    "called `",
];

fn check(c: &Case, run: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    if run.code != c.code {
        problems.push(format!("exit code {} (expected {})", run.code, c.code));
    }
    if c.code == 0 {
        if !run.stderr.is_empty() {
            problems.push("stderr is not empty".to_owned());
        }
        return problems;
    }
    let lines: Vec<&str> = run.stderr.lines().collect();
    let hint = lines.iter().any(|l| l.starts_with("hint: "));
    let max = if hint { 3 } else { 2 };
    if lines.is_empty() || lines.len() > max {
        problems.push(format!("{} lines on stderr (at most {max})", lines.len()));
    }
    if !lines.first().is_some_and(|l| l.starts_with("error: ")) {
        problems.push("stderr does not start with `error: `".to_owned());
    }
    match c.file {
        Some(f) if !lines.first().is_some_and(|l| l.contains(f)) => {
            problems.push(format!("the error line does not name {f}"));
        }
        None if !run.stderr.contains("\nusage: ") => {
            problems.push("an argument error without its usage line".to_owned());
        }
        _ => {}
    }
    for leak in LEAKS {
        if run.stderr.contains(leak) {
            problems.push(format!("stderr contains {leak:?}"));
        }
    }
    if common::has_escape(&run.raw.stderr) {
        problems.push("stderr holds escape codes".to_owned());
    }
    if !run.stdout.is_empty() {
        problems.push("a failure printed on stdout".to_owned());
    }
    problems
}

#[test]
fn failures_are_short_clear_and_name_their_file() {
    let dir = copy_world("errors");
    prepare(&dir);
    let mut snapshot = String::new();
    let mut problems = Vec::new();
    for c in cases() {
        let run = hpk_env(&dir, &c.args, &c.env);
        for p in check(&c, &run) {
            problems.push(format!("{} (`{}`): {p}\n{}", c.what, run.line, run.stderr));
        }
        snapshot.push_str(&format!(
            "## {}\n$ {}\n[exit {}]\n{}\n",
            c.what,
            run.line,
            run.code,
            normalize(&run.stderr, &[&dir])
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_snapshot("errors", &snapshot);
}

#[test]
fn nothing_is_left_behind_by_a_failed_extract() {
    let dir = copy_world("errors-extract");
    let pkg = std::fs::read(dir.join("baseline.hpk")).unwrap();
    let mut damaged = pkg.clone();
    let at = damaged.len() - 1000;
    damaged[at] ^= 0x55;
    std::fs::write(dir.join("damaged.hpk"), &damaged).unwrap();
    let run = hpk_env(
        &dir,
        &[
            "extract",
            "damaged.hpk",
            "--root",
            "root.hpkroot",
            "--out",
            "out",
            "--now",
            "2026-06-01",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        !dir.join("out/System32/kernel.exe").exists(),
        "a file of a damaged package was extracted"
    );
}
