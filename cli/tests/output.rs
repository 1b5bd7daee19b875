//! What `hpk` writes besides results: no escape codes when output is not a
//! terminal, plain progress lines for large work, silence with `--quiet`,
//! a progress bar on a terminal; and the generated extras: help,
//! completions, man pages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, copy_world, has_escape, hpk_env, hpk_in, noise, scratch, world};
use std::path::Path;
use std::process::Command;

/// Large enough for progress reporting (32 MiB and up).
const BIG: usize = 34 << 20;

/// A signed standard package with one large, incompressible payload.
fn big_package(dir: &Path) {
    std::fs::create_dir_all(dir.join("payload")).unwrap();
    std::fs::write(dir.join("payload/big.bin"), noise(BIG, 9)).unwrap();
    std::fs::write(
        dir.join("big.toml"),
        "name = \"big\"\nkind = \"standard\"\nversion = \"1.0\"\nsecurity_version = 1\n\
         created = 2026-01-01T00:00:00Z\n\n[targets]\nos = \"windows\"\narchitectures = [\"x64\"]\n\n\
         [[payloads]]\nname = \"big.bin\"\nfile = \"payload/big.bin\"\ncompression = \"none\"\n",
    )
    .unwrap();
}

/// The commands that report progress, on a large package, in order.
const LARGE_STEPS: [&[&str]; 4] = [
    &["pack", "big.toml", "--out", "big.hpk"],
    &["sign", "big.hpk", "--key", "keys/release.key"],
    &["verify", "big.hpk", "--root", "root.hpkroot", "--now", NOW],
    &[
        "extract",
        "big.hpk",
        "--root",
        "root.hpkroot",
        "--now",
        NOW,
        "--out",
        "big-out",
    ],
];

#[test]
fn piped_output_has_no_escape_codes_and_plain_progress_lines() {
    let dir = copy_world("pipes");
    big_package(&dir);
    for (args, word) in LARGE_STEPS
        .iter()
        .zip(["packing", "signing", "verifying", "extracting"])
    {
        let run = hpk_in(&dir, args).ok();
        assert!(!has_escape(&run.raw.stdout), "{}: ESC on stdout", run.line);
        assert!(!has_escape(&run.raw.stderr), "{}: ESC on stderr", run.line);
        assert!(
            !run.stderr.contains('\r'),
            "{}: carriage return on stderr",
            run.line
        );
        assert!(
            run.stderr.lines().any(|l| l == format!("{word} 34.0 MiB…")),
            "{}: no plain progress line\n{}",
            run.line,
            run.stderr
        );
    }
    // Small work and everything else: no escape codes either, and no
    // progress line.
    let small: [&[&str]; 8] = [
        &[
            "verify",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
        &["inspect", "hotpatch.hpk"],
        &[
            "plan",
            "--catalog",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            NOW,
        ],
        &["root", "verify", "root.hpkroot", "--now", NOW],
        &[
            "catalog",
            "verify",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
        &[
            "verify",
            "hotpatch.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            NOW,
        ],
        &["verify", "--bogus"],
        &["--help"],
    ];
    for args in small {
        let run = hpk_in(&dir, args);
        assert!(!has_escape(&run.raw.stdout), "{}: ESC on stdout", run.line);
        assert!(!has_escape(&run.raw.stderr), "{}: ESC on stderr", run.line);
        assert!(
            !run.stderr.contains("MiB…"),
            "{}: progress for small work",
            run.line
        );
    }
    let extracted = std::fs::read(dir.join("big-out/big.bin")).unwrap();
    assert!(extracted == noise(BIG, 9), "extracted payload differs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quiet_prints_nothing_on_stderr_when_all_goes_well() {
    let dir = copy_world("quiet");
    big_package(&dir);
    let mut steps: Vec<Vec<&str>> = LARGE_STEPS.iter().map(|a| a.to_vec()).collect();
    steps.extend([
        vec!["keygen", "--out", "keys/q.key", "--unencrypted"],
        vec!["pack", "standard.toml", "--out", "q.hpk"],
        vec![
            "sign",
            "q.hpk",
            "--key",
            "keys/release.key",
            "--root",
            "root.hpkroot",
        ],
        vec!["tbs", "q.hpk", "--out", "q.msg"],
        vec![
            "verify",
            "q.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            "2026-02-01",
        ],
        vec![
            "extract",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
            "--out",
            "q-out",
        ],
        vec![
            "root",
            "add-key",
            "root.hpkroot",
            "--role",
            "release",
            "--pubkey",
            "keys/q.key.pub",
            "--out",
            "q.hpkroot",
        ],
        vec!["root", "sign", "q.hpkroot", "--key", "keys/root.key"],
        vec!["catalog", "new", "--out", "q.hpkcat"],
        vec!["catalog", "add", "q.hpkcat", "baseline.hpk"],
        vec!["catalog", "sign", "q.hpkcat", "--key", "keys/catalog.key"],
        vec![
            "device",
            "record-install",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            NOW,
        ],
        vec![
            "device",
            "record-catalog",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            NOW,
        ],
        vec!["man", "--out", "man"],
    ]);
    for (i, args) in steps.into_iter().enumerate() {
        // Both spellings, before or after the subcommand.
        let mut with = args.clone();
        if i % 2 == 0 {
            with.insert(0, "--quiet");
        } else {
            with.push("-q");
        }
        let run = hpk_in(&dir, &with).ok();
        assert!(
            run.stderr.is_empty(),
            "`{}` wrote on stderr:\n{}",
            run.line,
            run.stderr
        );
    }
    // A failure is still reported.
    let run = hpk_in(
        &dir,
        &["-q", "verify", "nope.hpk", "--root", "root.hpkroot"],
    );
    assert_eq!(run.code, 4);
    assert!(run.stderr.starts_with("error: nope.hpk"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The terminal path, through `script` (util-linux) when it is installed:
/// a progress bar with bytes, rate and time left; nothing with `--quiet`.
#[test]
fn a_terminal_gets_a_progress_bar() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` is not installed");
        return;
    }
    let dir = copy_world("terminal");
    big_package(&dir);
    hpk_in(&dir, &["pack", "big.toml", "--out", "big.hpk"]).ok();
    hpk_in(&dir, &["sign", "big.hpk", "--key", "keys/release.key"]).ok();
    let in_terminal = |extra: &str| {
        let line = format!(
            "{} {extra} verify big.hpk --root root.hpkroot --now {NOW}",
            common::hpk_bin().display()
        );
        let out = Command::new("script")
            .args(["-q", "-e", "-c", &line, "/dev/null"])
            .current_dir(&dir)
            .env("TERM", "xterm")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = in_terminal("");
    assert!(
        shown.contains('\u{1b}'),
        "no escape codes on a terminal:\n{shown}"
    );
    assert!(shown.contains("34.00 MiB"), "no byte count:\n{shown}");
    assert!(shown.contains("/s"), "no rate:\n{shown}");
    assert!(shown.contains("eta"), "no time left:\n{shown}");
    assert!(shown.contains("OK: big 1.0"), "no result:\n{shown}");
    let quiet = in_terminal("--quiet");
    assert!(
        !quiet.contains('\u{1b}'),
        "escape codes with --quiet:\n{quiet}"
    );
    assert!(quiet.contains("OK: big 1.0"), "no result:\n{quiet}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_groups_commands_and_every_command_has_an_example() {
    let dir = &world().dir;
    let help = hpk_in(dir, &["--help"]).ok().stdout;
    for heading in ["Authoring:", "Checking:", "Other:", "Exit codes:"] {
        assert!(
            help.contains(heading),
            "`hpk --help` lacks {heading}\n{help}"
        );
    }
    let commands = [
        "keygen",
        "pack",
        "sign",
        "tbs",
        "attach",
        "verify",
        "extract",
        "inspect",
        "plan",
        "demo",
        "completions",
        "man",
    ];
    for c in commands {
        let out = hpk_in(dir, &["help", c]).ok().stdout;
        let example = out
            .split_once("Example:\n")
            .map(|(_, e)| e)
            .unwrap_or_default();
        assert!(
            example.contains(&format!("hpk {c}")),
            "`hpk help {c}` has no example"
        );
    }
    for (group, subs) in [
        (
            "root",
            &[
                "init",
                "add-key",
                "remove-key",
                "set-threshold",
                "sign",
                "verify",
                "tbs",
                "attach",
            ][..],
        ),
        (
            "catalog",
            &["new", "add", "sign", "verify", "tbs", "attach"][..],
        ),
        ("device", &["record-install", "record-catalog"][..]),
    ] {
        for s in subs {
            let out = hpk_in(dir, &[group, s, "--help"]).ok().stdout;
            assert!(
                out.contains("Example:\n  hpk "),
                "`hpk {group} {s} --help` has no example"
            );
        }
    }
    let version = hpk_in(dir, &["--version"]).ok().stdout;
    assert!(version.starts_with("hpk "), "{version}");
}

#[test]
fn the_same_things_have_the_same_flags() {
    // Every command that takes a trust root, device, secret key, output or
    // JSON switch spells it the same way.
    let dir = &world().dir;
    let has = |args: &[&str], flag: &str| {
        let out = hpk_in(dir, args).ok().stdout;
        assert!(out.contains(flag), "`hpk {}` lacks {flag}", args.join(" "));
    };
    for c in [
        &["verify", "--help"][..],
        &["extract", "--help"],
        &["inspect", "--help"],
        &["plan", "--help"],
        &["sign", "--help"],
        &["catalog", "verify", "--help"],
        &["catalog", "sign", "--help"],
        &["device", "record-install", "--help"],
        &["device", "record-catalog", "--help"],
    ] {
        has(c, "-r, --root <ROOT>");
    }
    for c in [
        &["verify", "--help"][..],
        &["extract", "--help"],
        &["plan", "--help"],
        &["device", "record-install", "--help"],
        &["device", "record-catalog", "--help"],
    ] {
        has(c, "-d, --device <DEVICE>");
    }
    has(&["plan", "--help"], "-c, --catalog <CATALOG>");
    has(
        &["device", "record-install", "--help"],
        "-c, --catalog <CATALOG>",
    );
    for c in [
        &["sign", "--help"][..],
        &["root", "sign", "--help"],
        &["catalog", "sign", "--help"],
    ] {
        has(c, "-k, --key <KEY>");
        has(c, "--passphrase-file <FILE>");
    }
    for c in [
        &["keygen", "--help"][..],
        &["pack", "--help"],
        &["sign", "--help"],
        &["tbs", "--help"],
        &["attach", "--help"],
        &["extract", "--help"],
        &["man", "--help"],
        &["root", "init", "--help"],
        &["catalog", "new", "--help"],
    ] {
        has(c, "-o, --out <");
    }
    for c in [
        &["verify", "--help"][..],
        &["inspect", "--help"],
        &["plan", "--help"],
        &["keygen", "--help"],
        &["catalog", "verify", "--help"],
        &["device", "record-install", "--help"],
        &["device", "record-catalog", "--help"],
    ] {
        has(c, "--json");
    }
    for c in [
        &["verify", "--help"][..],
        &["extract", "--help"],
        &["inspect", "--help"],
        &["plan", "--help"],
        &["root", "verify", "--help"],
        &["catalog", "verify", "--help"],
        &["device", "record-install", "--help"],
        &["device", "record-catalog", "--help"],
    ] {
        has(c, "--now <TIME>");
    }
    has(&["verify", "--help"], "-q, --quiet");
}

#[test]
fn completions_for_every_shell() {
    let dir = &world().dir;
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = hpk_in(dir, &["completions", shell]).ok();
        assert!(
            run.stdout.len() > 1000,
            "{shell}: {} bytes",
            run.stdout.len()
        );
        assert!(run.stdout.contains("hpk"), "{shell}");
        assert!(run.stdout.contains("verify"), "{shell}: no subcommands");
        assert!(run.stdout.contains("--device"), "{shell}: no flags");
    }
    let run = hpk_in(dir, &["completions", "tcsh"]);
    assert_eq!(run.code, 2);
}

#[test]
fn man_pages_for_every_command() {
    let dir = scratch("man");
    let run = hpk_env(&dir, &["man", "--out", "pages"], &[]).ok();
    assert!(run.stderr.contains("man pages to pages"), "{}", run.stderr);
    for page in [
        "hpk.1",
        "hpk-verify.1",
        "hpk-plan.1",
        "hpk-root-init.1",
        "hpk-catalog-verify.1",
        "hpk-root-attach.1",
        "hpk-device-record-install.1",
        "hpk-device-record-catalog.1",
    ] {
        let text = std::fs::read_to_string(dir.join("pages").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
    let hpk1 = std::fs::read_to_string(dir.join("pages/hpk.1")).unwrap();
    assert!(
        hpk1.contains("verify"),
        "hpk.1 does not list the subcommands"
    );
    let verify1 = std::fs::read_to_string(dir.join("pages/hpk-verify.1")).unwrap();
    assert!(verify1.contains("\\-\\-device") || verify1.contains("--device"));
}

/// A reader that goes away, a closed stderr, an argument that is not
/// UTF-8: still no panic.
#[test]
fn no_panic_on_closed_pipes_or_odd_arguments() {
    use std::os::unix::ffi::OsStrExt;
    use std::process::Stdio;
    let dir = &world().dir;
    for args in [
        &["completions", "bash"][..],
        &["inspect", "baseline.hpk"],
        &["--help"],
    ] {
        let mut child = Command::new(common::hpk_bin())
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "hpk {}: {stderr}",
            args.join(" ")
        );
        assert!(
            out.status.code().is_some(),
            "hpk {} was killed",
            args.join(" ")
        );
    }
    let out = Command::new(common::hpk_bin())
        .args(["verify", "baseline.hpk", "--root", "root.hpkroot"])
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "with stderr closed");
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.hpk");
    let out = Command::new(common::hpk_bin())
        .arg("verify")
        .arg(odd)
        .args(["--root", "root.hpkroot"])
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = Command::new(common::hpk_bin())
        .arg(odd)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
