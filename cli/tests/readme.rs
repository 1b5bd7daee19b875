//! The documentation cannot go stale: the README's walkthrough is run
//! block by block, and the examples of `docs/device-profile.md` are fed to
//! `hpk`.
//!
//! The walkthrough is every fenced ```sh block between
//! `<!-- walkthrough:start -->` and `<!-- walkthrough:end -->` in
//! `README.md`, run in order as one `bash -euo pipefail` script in a fresh
//! folder, with the `hpk` under test first on the `PATH`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{hpk_in, scratch, world};
use std::path::Path;
use std::process::{Command, Stdio};

fn read_doc(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fenced blocks of `lang` in `text`, each with the line it starts on.
fn fenced_blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == format!("```{lang}") => {
                current = Some((i + 2, String::new()))
            }
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```{lang} block");
    blocks
}

/// The walkthrough section of the README.
fn walkthrough(readme: &str) -> &str {
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("README.md has no <!-- walkthrough:start --> marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("README.md has no <!-- walkthrough:end --> marker");
    assert!(start < end, "walkthrough markers out of order");
    &readme[start..end]
}

#[test]
fn the_readme_keeps_its_two_headline_commands() {
    let readme = read_doc("README.md");
    for line in [
        "cargo run --locked -p hpk-cli -- demo",
        "cargo test --workspace --locked",
    ] {
        assert!(
            readme.lines().any(|l| l.trim() == line),
            "README.md lost `{line}`"
        );
    }
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let readme = read_doc("README.md");
    let section = walkthrough(&readme);
    let offset = readme[..readme.find(section).unwrap()].lines().count();
    let blocks = fenced_blocks(section, "sh");
    assert!(
        blocks.len() >= 9,
        "only {} sh blocks in the walkthrough",
        blocks.len()
    );
    let mut script = String::new();
    for (n, (line, body)) in blocks.iter().enumerate() {
        script.push_str(&format!(
            "echo '### walkthrough block {} (README.md line {})' >&2\n{body}",
            n + 1,
            line + offset
        ));
    }
    for tool in ["bash", "sha256sum", "openssl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        assert!(found.status.success(), "the walkthrough needs `{tool}`");
    }
    let dir = scratch("readme");
    std::fs::write(dir.join("walkthrough.sh"), &script).unwrap();
    // Step 8's web server: the repository the walkthrough makes (in this
    // empty folder, which `hpk repo init` accepts), served as it is made.
    std::fs::create_dir_all(dir.join("repo")).unwrap();
    let server = hpk_tests::nginx::Nginx::serve(&dir.join("repo"));
    let bin_dir = common::hpk_bin().parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "walkthrough.sh"])
        .current_dir(&dir)
        .env("PATH", path)
        .env("REPO_URL", server.url())
        .env_remove("HPK_PASSPHRASE")
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README walkthrough failed ({}); the last block started is named last below\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // It did what it says.
    assert!(
        stdout.contains("OK: trust root version 2 (a valid rotation)"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("exit code 3").count(), 2, "{stdout}");
    assert!(
        stdout.contains("1. install baseline contoso-2026-q1-baseline"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2. install hotpatch contoso-2026-02-hotpatch"),
        "{stdout}"
    );
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["track"], "standard");
    assert_eq!(
        plan["steps"][0]["entry"]["name"],
        "contoso-2026-02-standard"
    );
    // The device fetched its plan over HTTP and walked the roots.
    let fetched: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("fetch.json")).unwrap()).unwrap();
    let packages = fetched["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2, "{fetched}");
    assert!(packages.iter().all(|p| p["received"] == 0), "{fetched}");
    assert_eq!(
        std::fs::read(dir.join("agent-root.hpkroot")).unwrap(),
        std::fs::read(dir.join("repo/root/3.hpkroot")).unwrap()
    );
    assert!(
        stdout.contains("fetched contoso-2026-q1-baseline"),
        "{stdout}"
    );
    assert!(dir.join("files/System32/hal.dll").is_file());
    assert!(dir.join("recovery-files/Recovery/fix.cmd").is_file());
}

#[test]
fn the_walkthrough_is_found_and_a_failing_block_fails() {
    // The extraction itself: a failing command makes the script fail.
    let text = "x\n<!-- walkthrough:start -->\n```sh\ntrue\n```\n```toml\nignored\n```\n```sh\nfalse\necho never\n```\n<!-- walkthrough:end -->\n```sh\nnot run\n```\n";
    let blocks = fenced_blocks(walkthrough(text), "sh");
    assert_eq!(blocks.len(), 2);
    let script: String = blocks.iter().map(|(_, b)| b.as_str()).collect();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn the_device_profile_examples_are_accepted() {
    let doc = read_doc("docs/device-profile.md");
    let blocks = fenced_blocks(&doc, "toml");
    assert!(
        blocks.len() >= 2,
        "docs/device-profile.md has {} toml blocks",
        blocks.len()
    );
    let dir = scratch("device-docs");
    let w = &world().dir;
    for (n, (line, body)) in blocks.iter().enumerate() {
        let file = dir.join(format!("example-{n}.toml"));
        std::fs::write(&file, body).unwrap();
        let file = file.display().to_string();
        let root = w.join("root.hpkroot").display().to_string();
        let pkg = w.join("baseline.hpk").display().to_string();
        // Read and applied: 0 or 3 are verdicts, 2 would be a bad profile.
        let run = hpk_in(
            w,
            &[
                "verify",
                &pkg,
                "--root",
                &root,
                "--device",
                &file,
                "--header-only",
                "--now",
                common::NOW,
            ],
        );
        assert!(
            run.code == 0 || run.code == 3,
            "the example at docs/device-profile.md line {line} is refused:\n{}",
            run.stderr
        );
    }
}
