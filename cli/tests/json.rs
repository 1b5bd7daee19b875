//! `--json` output: every document is snapshotted (so a change of shape
//! shows up in review), every field it holds is documented in
//! `docs/json.md`, and every top-level field documented for a schema is
//! present. Also: the exit codes, each from a real case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, assert_snapshot, copy_world, hpk_in, normalize, world};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The JSON documents `hpk` prints, by snapshot name, with the exit code
/// each command must have.
fn documents() -> Vec<(&'static str, i32, Vec<String>)> {
    let s = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    vec![
        (
            "verify-valid",
            0,
            s(&[
                "verify",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "verify-header-only",
            0,
            s(&[
                "verify",
                "recovery.hpk",
                "--root",
                "root.hpkroot",
                "--header-only",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "verify-not-applicable",
            3,
            s(&[
                "verify",
                "hotpatch.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "verify-error",
            1,
            s(&[
                "verify",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                "2030-01-01",
                "--json",
            ]),
        ),
        (
            "inspect-unverified",
            0,
            s(&["inspect", "hotpatch.hpk", "--json"]),
        ),
        (
            "inspect-verified",
            0,
            s(&[
                "inspect",
                "standard.hpk",
                "--root",
                "root.hpkroot",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        ("inspect-root", 0, s(&["inspect", "root.hpkroot", "--json"])),
        (
            "inspect-catalog-unverified",
            0,
            s(&["inspect", "catalog.hpkcat", "--json"]),
        ),
        (
            "inspect-catalog-verified",
            0,
            s(&[
                "inspect",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "plan-hotpatch-track",
            0,
            s(&[
                "plan",
                "--catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "plan-standard-track",
            0,
            s(&[
                "plan",
                "--catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-home.toml",
                "--now",
                "2026-02-01",
                "--json",
            ]),
        ),
        (
            "plan-recovery-track",
            0,
            s(&[
                "plan",
                "--catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/recovery.toml",
                "--json",
            ]),
        ),
        (
            "catalog-verify",
            0,
            s(&[
                "catalog",
                "verify",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "plan-error",
            1,
            s(&[
                "plan",
                "--catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                "2027-06-01",
                "--json",
            ]),
        ),
        (
            "root-verify",
            0,
            s(&["root", "verify", "root.hpkroot", "--now", NOW, "--json"]),
        ),
        (
            "root-verify-error",
            1,
            s(&[
                "root",
                "verify",
                "root.hpkroot",
                "--now",
                "2030-01-01",
                "--json",
            ]),
        ),
        (
            "keygen",
            0,
            s(&["keygen", "--out", "new.key", "--unencrypted", "--json"]),
        ),
        (
            "repo-init",
            0,
            s(&[
                "repo",
                "init",
                "repo",
                "--root",
                "root.hpkroot",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "repo-add-root",
            0,
            s(&[
                "repo",
                "add-root",
                "repo",
                "root-v2.hpkroot",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "repo-add",
            0,
            s(&[
                "repo",
                "add",
                "repo",
                "baseline.hpk",
                "hotpatch.hpk",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "repo-publish",
            0,
            s(&[
                "repo",
                "publish",
                "repo",
                "repo-catalog.hpkcat",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "repo-publish-error",
            2,
            s(&[
                "repo",
                "publish",
                "repo",
                "catalog.hpkcat",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        // Last: these change the device profile the commands above read.
        (
            "device-record-install-error",
            3,
            s(&[
                "device",
                "record-install",
                "hotpatch.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "device-record-install",
            0,
            s(&[
                "device",
                "record-install",
                "baseline.hpk",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                NOW,
                "--json",
            ]),
        ),
        (
            "device-record-catalog",
            0,
            s(&[
                "device",
                "record-catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "devices/x64-enterprise.toml",
                "--now",
                NOW,
                "--json",
            ]),
        ),
    ]
}

/// A trust root's document with its key lists in the order of the key
/// names that replaced the ids: the fixture's keys are new on every run,
/// so their order by key id changes.
fn sorted_key_lists(shown: &str) -> String {
    let mut doc: Value = serde_json::from_str(shown).unwrap();
    let text = |v: &Value| v.to_string();
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|k| text(&k["key_id"]));
    for role in doc["roles"].as_object_mut().unwrap().values_mut() {
        role["keys"].as_array_mut().unwrap().sort_by_key(text);
    }
    format!("{}\n", serde_json::to_string_pretty(&doc).unwrap())
}

/// Every key path in a document: `package.targets.os`,
/// `steps[].entry.kind.kind`, …
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                paths(child, &p, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The fields `docs/json.md` documents, by section: the first cell of each
/// table row, in backquotes, under each `## ` or `### ` heading.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/json.md"))
            .unwrap();
    let mut sections: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(h) = line
            .strip_prefix("## ")
            .or_else(|| line.strip_prefix("### "))
        {
            current = h.trim().to_owned();
            continue;
        }
        let Some(cell) = line.strip_prefix("| `") else {
            continue;
        };
        if let Some((field, _)) = cell.split_once('`') {
            sections
                .entry(current.clone())
                .or_default()
                .insert(field.to_owned());
        }
    }
    sections
}

/// What the `repo-*` documents need beside the fixture: the trust
/// root's next version, and a catalog whose locations name a
/// repository's packages.
fn prepare_repository_inputs(dir: &Path) {
    let run = |args: &[&str]| hpk_in(dir, args).ok();
    run(&[
        "root",
        "renew",
        "root.hpkroot",
        "--expires-in",
        "730",
        "--out",
        "root-v2.hpkroot",
    ]);
    run(&["root", "sign", "root-v2.hpkroot", "--key", "keys/root.key"]);
    let cat = "repo-catalog.hpkcat";
    run(&[
        "catalog",
        "new",
        "--out",
        cat,
        // Below the fixture's catalog (3), which repo-publish-error tries.
        "--version",
        "2",
        "--created",
        "2026-01-01",
        "--expires-in",
        "365",
    ]);
    for package in ["baseline.hpk", "hotpatch.hpk"] {
        let location = format!("packages/{}.hpk", common::manifest_digest(dir, package));
        run(&["catalog", "add", cat, package, "--location", &location]);
    }
    run(&["catalog", "sign", cat, "--key", "keys/catalog.key"]);
}

#[test]
fn json_documents_are_stable_and_documented() {
    let dir = copy_world("json");
    prepare_repository_inputs(&dir);
    let docs = documented();
    let all_documented: BTreeSet<&String> = docs.values().flatten().collect();
    let mut problems = Vec::new();
    for (name, code, args) in documents() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = hpk_in(&dir, &args).expect_code(code);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` printed no JSON document: {e}\n{}",
                run.line, run.stdout
            )
        });
        let mut shown = normalize(&run.stdout, &[&dir]);
        if name == "root-verify" {
            // Role keys are sorted by key id, and the fixture's keys are
            // new on every run: sort their names instead.
            let mut v: Value = serde_json::from_str(&shown).unwrap();
            for role in v["roles"].as_array_mut().unwrap() {
                role["keys"]
                    .as_array_mut()
                    .unwrap()
                    .sort_by_key(|k| k.to_string());
            }
            shown = serde_json::to_string_pretty(&v).unwrap() + "\n";
        } else if name == "inspect-root" {
            shown = sorted_key_lists(&shown);
        }
        assert_snapshot(&format!("json-{name}"), &format!("$ {}\n{shown}", run.line));
        let schema = doc["schema"].as_str().unwrap_or_default().to_owned();
        let Some(section) = docs
            .iter()
            .find(|(h, _)| h.contains(&format!("`{schema}`")))
        else {
            problems.push(format!(
                "{name}: schema {schema:?} has no section in docs/json.md"
            ));
            continue;
        };
        let mut found = BTreeSet::new();
        paths(&doc, "", &mut found);
        for p in &found {
            // A path is documented when its schema's section lists it, or
            // a shared object's section lists it with the object's name
            // (`entry.size` for `entries[].size` and `steps[].entry.size`)
            // or a suffix of it (`targets.os` for `package.targets.os`).
            let top_level = !p.contains('.') && !p.contains("[]");
            let canonical = ["entries[].", "steps[].entry.", "skipped[].entry."]
                .iter()
                .find_map(|prefix| p.strip_prefix(prefix).map(|rest| format!("entry.{rest}")))
                .unwrap_or_else(|| p.clone());
            let ok = section.1.contains(p)
                || (!top_level
                    && all_documented
                        .iter()
                        .any(|d| canonical == **d || canonical.ends_with(&format!(".{d}"))));
            if !ok {
                problems.push(format!(
                    "{name}: field `{p}` of {schema} is not in docs/json.md"
                ));
            }
        }
        for field in section
            .1
            .iter()
            .filter(|f| !f.contains('.') && !f.contains("[]"))
        {
            if !found.contains(field) {
                problems.push(format!(
                    "{name}: docs/json.md documents `{field}` for {schema}, the document has no such field"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn json_failures_keep_stderr_short() {
    let dir = &world().dir;
    let run = hpk_in(
        dir,
        &[
            "verify",
            "hotpatch.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            NOW,
            "--json",
        ],
    )
    .expect_code(3);
    // One document on stdout, the message on stderr.
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["result"], "not-applicable");
    assert_eq!(doc["reason"], "wrong-baseline");
    assert!(
        run.stderr
            .starts_with("error: hotpatch.hpk: authentic, but")
    );
}

// ---- exit codes, each from a real case ----

#[test]
fn exit_code_0_for_a_valid_package() {
    let run = hpk_in(
        &world().dir,
        &[
            "verify",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("OK: fixture-baseline 10.0.1.0 (baseline)")
    );
}

#[test]
fn exit_code_1_for_a_tampered_package() {
    let dir = copy_world("exit-1");
    let mut bytes = std::fs::read(dir.join("hotpatch.hpk")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.join("hotpatch.hpk"), bytes).unwrap();
    let run = hpk_in(
        &dir,
        &[
            "verify",
            "hotpatch.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("does not match its signed digest"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_code_2_for_a_usage_error() {
    let run = hpk_in(&world().dir, &["verify", "baseline.hpk"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = hpk_in(
        &world().dir,
        &[
            "plan",
            "--catalog",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--device",
            "baseline.toml",
        ],
    );
    assert_eq!(
        run.code, 2,
        "a description given as a device profile: {}",
        run.stderr
    );
}

#[test]
fn exit_code_3_for_a_package_not_for_this_device() {
    let run = hpk_in(
        &world().dir,
        &[
            "verify",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-home.toml",
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("wrong-edition"), "{}", run.stderr);
}

#[test]
fn exit_code_4_for_an_io_error() {
    let run = hpk_in(
        &world().dir,
        &["verify", "gone.hpk", "--root", "root.hpkroot"],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    let run = hpk_in(
        &world().dir,
        &[
            "extract",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
            "--out",
            "baseline.toml/x",
        ],
    );
    assert_eq!(run.code, 4, "extracting below a file: {}", run.stderr);
}

#[test]
fn a_plan_is_deterministic() {
    let dir = &world().dir;
    let args = [
        "plan",
        "--catalog",
        "catalog.hpkcat",
        "--root",
        "root.hpkroot",
        "--device",
        "devices/x64-enterprise.toml",
        "--now",
        NOW,
    ];
    let a = hpk_in(dir, &args).ok();
    let b = hpk_in(dir, &args).ok();
    assert_eq!(a.stdout, b.stdout);
    assert!(
        a.stdout.contains("1. install baseline fixture-baseline"),
        "{}",
        a.stdout
    );
    assert!(
        a.stdout.contains("2. install hotpatch fixture-hotpatch"),
        "{}",
        a.stdout
    );
    let installed = common::manifest_digest(dir, "baseline.hpk");
    assert_eq!(installed.len(), 64);
}
