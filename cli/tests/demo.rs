//! `hpk demo`: it runs end to end into a fresh folder, leaves the files it
//! announces, and every step it prints as `$ hpk …` is a real command:
//! run again by hand, in order, each gives the exit code the demo showed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Run, hpk_env, scratch};
use std::path::Path;

/// Runs `hpk` at the current time (no `SOURCE_DATE_EPOCH`: the demo's
/// catalog lives 7 days from its creation).
fn hpk_now(dir: &Path, args: &[&str]) -> Run {
    hpk_env(dir, args, &[("SOURCE_DATE_EPOCH", "")])
}

/// The `$ hpk …` steps of the demo's output, each with the exit code the
/// demo announced for it (`(exit code N)` after it), else 0.
fn steps(stdout: &str) -> Vec<(Vec<String>, i32)> {
    let mut steps: Vec<(Vec<String>, i32)> = Vec::new();
    for line in stdout.lines() {
        if let Some(cmd) = line.strip_prefix("$ hpk ") {
            steps.push((cmd.split_whitespace().map(str::to_owned).collect(), 0));
        } else if let Some(code) = line
            .strip_prefix("(exit code ")
            .and_then(|c| c.strip_suffix(')'))
        {
            steps.last_mut().expect("an exit code follows a step").1 = code.parse().unwrap();
        }
    }
    steps
}

#[test]
fn the_demo_runs_end_to_end_and_every_step_is_a_real_command() {
    let base = scratch("demo");
    let dir = base.join("here");
    let run = hpk_now(&base, &["demo", "--dir", "here"]).ok();
    assert!(run.stdout.contains("# hpk demo in here"), "{}", run.stdout);
    assert!(run.stdout.contains("# Done."), "{}", run.stdout);

    // The files it made.
    for f in [
        "keys/root.key",
        "keys/root.key.pub",
        "keys/release.key",
        "keys/hotpatch.key",
        "keys/recovery.key",
        "keys/catalog.key.pub",
        "root.hpkroot",
        "baseline-x64.hpk",
        "baseline-arm64.hpk",
        "hotpatch-x64.hpk",
        "standard.hpk",
        "catalog.hpkcat",
        "baseline-x64.toml",
        "devices/x64-enterprise.toml",
        "devices/x64-home.toml",
    ] {
        assert!(dir.join(f).is_file(), "the demo did not make {f}");
    }
    let extracted = std::fs::read(dir.join("extracted/System32/ntoskrnl.exe")).unwrap();
    let original = std::fs::read(dir.join("payload/ntoskrnl.exe")).unwrap();
    assert!(
        extracted == original,
        "the extracted payload differs from its source"
    );

    // The agent fetched the x64 Enterprise device's plan (the baseline,
    // then its hotpatch) from the repository, by a file:// mirror, and
    // each download is the published package.
    assert!(run.stdout.contains("$ hpk fetch file://"), "{}", run.stdout);
    let downloads: Vec<_> = std::fs::read_dir(dir.join("agent/downloads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    for got in &downloads {
        let published = dir.join("repo/packages").join(got.file_name().unwrap());
        assert!(
            std::fs::read(got).unwrap() == std::fs::read(&published).unwrap(),
            "{} differs from the published package",
            got.display()
        );
    }

    // What it showed: plans for three kinds of devices.
    assert!(run.stdout.contains("plan (hotpatch track):"));
    assert!(run.stdout.contains("plan (standard track):"));
    assert!(
        run.stdout
            .contains("install hotpatch demo-2026-02-hotpatch-x64")
    );
    assert!(run.stdout.contains("(exit code 3)"));

    // Every printed step, run again by hand in the demo's folder, in
    // order, gives the exit code the demo showed.
    let steps = steps(&run.stdout);
    assert!(steps.len() >= 20, "only {} steps", steps.len());
    for (args, code) in &steps {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // `hpk extract` writes only into a new or empty folder: the
        // demo's extraction is removed before it runs again.
        if args.first() == Some(&"extract")
            && let Some(at) = args.iter().position(|a| *a == "--out")
            && let Some(out) = args.get(at + 1)
        {
            std::fs::remove_dir_all(dir.join(out)).unwrap();
        }
        // Nor does `hpk repo init` (the keys, made again, make another
        // trust root): the demo says to remove its repository first.
        if let ["repo", "init", repo, ..] = args.as_slice() {
            std::fs::remove_dir_all(dir.join(repo)).unwrap();
        }
        let again = hpk_now(&dir, &args);
        assert_eq!(
            again.code,
            *code,
            "`hpk {}` by hand exited {}:\n{}",
            args.join(" "),
            again.code,
            again.stderr
        );
    }
    let non_zero = steps.iter().filter(|(_, c)| *c != 0).count();
    assert_eq!(non_zero, 1, "the demo shows one refusal");
}

#[test]
fn the_demo_reports_a_folder_it_cannot_use() {
    let base = scratch("demo-blocked");
    std::fs::write(base.join("file"), b"x").unwrap();
    let run = hpk_now(&base, &["demo", "--dir", "file/sub"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: file/sub"), "{}", run.stderr);
}
