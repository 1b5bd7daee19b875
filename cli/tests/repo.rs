//! `hpk repo …` end to end: a repository is made, rotated, filled and
//! published, and `hpk plan` plans from its catalog with locations that
//! name its files; every refusal leaves the repository byte for byte as
//! it was, with no temporary file in it.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, PASSPHRASE, Run, copy_world, hpk_env, hpk_in, manifest_digest};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Every file and folder under `dir`, by path, with a file's bytes (a
/// folder's are empty, and its name ends in `/`).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(format!("{name}/"), Vec::new());
                walk(base, &path, out);
            } else {
                out.insert(name, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The paths of a tree, without contents.
fn paths(tree: &BTreeMap<String, Vec<u8>>) -> Vec<&str> {
    tree.keys().map(String::as_str).collect()
}

/// Runs `attempt`, checks that it failed with `code`, and that the
/// repository `repo` (in `dir`) is byte for byte as it was, with no
/// temporary file. Returns the run.
#[track_caller]
fn refused(dir: &Path, repo: &str, code: i32, attempt: impl FnOnce() -> Run) -> Run {
    let before = tree(&dir.join(repo));
    let run = attempt().expect_code(code);
    let after = tree(&dir.join(repo));
    assert_eq!(
        paths(&after),
        paths(&before),
        "`{}` changed the repository's files",
        run.line
    );
    assert!(after == before, "`{}` changed a file's bytes", run.line);
    run
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}):\n{}", run.line, run.stdout))
}

/// The next version of `from`, renewed and signed by the root key, as
/// `out`.
fn next_root(dir: &Path, from: &str, out: &str) {
    hpk_in(
        dir,
        &["root", "renew", from, "--expires-in", "730", "--out", out],
    )
    .ok();
    hpk_in(dir, &["root", "sign", out, "--key", "keys/root.key"]).ok();
}

/// A signed catalog `out` of `version` with `entries`: package files and
/// the location each gets.
fn catalog(dir: &Path, out: &str, version: u64, entries: &[(&str, &str)]) {
    hpk_in(
        dir,
        &[
            "catalog",
            "new",
            "--out",
            out,
            "--version",
            &version.to_string(),
            "--created",
            "2026-01-01",
            "--expires-in",
            "365",
        ],
    )
    .ok();
    for (package, location) in entries {
        hpk_in(
            dir,
            &["catalog", "add", out, package, "--location", location],
        )
        .ok();
    }
    hpk_in(
        dir,
        &[
            "catalog",
            "sign",
            out,
            "--key",
            "keys/catalog.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
}

/// A repository `repo` made from the fixture's trust root.
fn init(dir: &Path) {
    hpk_in(
        dir,
        &[
            "repo",
            "init",
            "repo",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();
}

/// Where `hpk repo add` puts a package: `packages/<manifest digest>.hpk`.
fn location(dir: &Path, package: &str) -> String {
    format!("packages/{}.hpk", manifest_digest(dir, package))
}

#[test]
fn a_repository_is_made_rotated_filled_published_and_planned_from() {
    let dir = copy_world("repo-flow");
    let d = dir.as_path();
    next_root(d, "root.hpkroot", "root-v2.hpkroot");
    let run = hpk_in(
        d,
        &[
            "repo",
            "init",
            "repo",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
            "--json",
        ],
    )
    .ok();
    assert_eq!(json_of(&run)["root_file"], "root/1.hpkroot");
    assert_eq!(
        paths(&tree(&d.join("repo"))),
        ["packages/", "root/", "root/1.hpkroot"]
    );
    assert_eq!(
        fs::read(d.join("repo/root/1.hpkroot")).unwrap(),
        fs::read(d.join("root.hpkroot")).unwrap()
    );

    let run = hpk_in(
        d,
        &["repo", "add-root", "repo", "root-v2.hpkroot", "--now", NOW],
    )
    .ok();
    assert!(
        run.stderr.contains("added root/2.hpkroot"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read(d.join("repo/root/2.hpkroot")).unwrap(),
        fs::read(d.join("root-v2.hpkroot")).unwrap()
    );
    // The chain in the repository is what a device walks.
    hpk_in(
        d,
        &[
            "root",
            "verify",
            "repo/root/2.hpkroot",
            "--trusted",
            "repo/root/1.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();

    let baseline = location(d, "baseline.hpk");
    let hotpatch = location(d, "hotpatch.hpk");
    let run = hpk_in(
        d,
        &[
            "repo",
            "add",
            "repo",
            "baseline.hpk",
            "hotpatch.hpk",
            "--now",
            NOW,
        ],
    )
    .ok();
    // The locations, one a line, for the catalog.
    assert_eq!(run.stdout, format!("{baseline}\n{hotpatch}\n"));
    assert!(
        run.stderr.contains(&format!(
            "hpk catalog add CATALOG baseline.hpk --location {baseline}"
        )),
        "{}",
        run.stderr
    );
    for (package, at) in [("baseline.hpk", &baseline), ("hotpatch.hpk", &hotpatch)] {
        assert_eq!(
            fs::read(d.join("repo").join(at)).unwrap(),
            fs::read(d.join(package)).unwrap()
        );
    }
    // Adding again changes nothing.
    let before = tree(&d.join("repo"));
    let run = hpk_in(
        d,
        &[
            "repo",
            "add",
            "repo",
            "baseline.hpk",
            "--now",
            NOW,
            "--json",
        ],
    )
    .ok();
    assert_eq!(json_of(&run)["packages"][0]["written"], false);
    assert!(
        tree(&d.join("repo")) == before,
        "a second add changed files"
    );
    // And so does adding the same root version again.
    let run = hpk_in(
        d,
        &["repo", "add-root", "repo", "root-v2.hpkroot", "--now", NOW],
    )
    .ok();
    assert!(run.stderr.contains("nothing to do"), "{}", run.stderr);
    hpk_in(
        d,
        &["repo", "add-root", "repo", "root.hpkroot", "--now", NOW],
    )
    .ok();
    assert!(
        tree(&d.join("repo")) == before,
        "a second add-root changed files"
    );

    // A catalog whose entries name the repository's files is published.
    catalog(
        d,
        "cat.hpkcat",
        5,
        &[("baseline.hpk", &baseline), ("hotpatch.hpk", &hotpatch)],
    );
    let run = hpk_in(
        d,
        &[
            "repo",
            "publish",
            "repo",
            "cat.hpkcat",
            "--now",
            NOW,
            "--json",
        ],
    )
    .ok();
    let doc = json_of(&run);
    assert_eq!(doc["version"], 5);
    assert_eq!(doc["previous_version"], Value::Null);
    assert_eq!(doc["written"], true);
    assert_eq!(
        fs::read(d.join("repo/catalog.hpkcat")).unwrap(),
        fs::read(d.join("cat.hpkcat")).unwrap()
    );
    // The same catalog again: nothing to do.
    let run = hpk_in(d, &["repo", "publish", "repo", "cat.hpkcat", "--now", NOW]).ok();
    assert!(run.stderr.contains("nothing to do"), "{}", run.stderr);
    // No temporary file is left anywhere.
    let files = tree(&d.join("repo"));
    assert!(
        files.keys().all(|p| !p.contains(".hpk-tmp")),
        "{:?}",
        paths(&files)
    );
    let mut expected = vec![
        "catalog.hpkcat",
        "packages/",
        baseline.as_str(),
        hotpatch.as_str(),
        "root/",
        "root/1.hpkroot",
        "root/2.hpkroot",
    ];
    expected.sort_unstable();
    assert_eq!(paths(&files), expected);

    // A device plans from the published catalog under the newest root,
    // and each step's location, resolved against the catalog's folder,
    // is a package of the repository that verifies.
    let run = hpk_in(
        d,
        &[
            "plan",
            "--catalog",
            "repo/catalog.hpkcat",
            "--root",
            "repo/root/2.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--now",
            NOW,
            "--json",
        ],
    )
    .ok();
    let plan = json_of(&run);
    let steps: Vec<String> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entry"]["location"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(steps, [baseline.clone(), hotpatch.clone()]);
    for at in &steps {
        let path = format!("repo/{at}");
        hpk_in(
            d,
            &[
                "verify",
                &path,
                "--root",
                "repo/root/2.hpkroot",
                "--now",
                NOW,
            ],
        )
        .ok();
    }

    // The next catalog version replaces it.
    catalog(d, "cat6.hpkcat", 6, &[("baseline.hpk", &baseline)]);
    let run = hpk_in(
        d,
        &[
            "repo",
            "publish",
            "repo",
            "cat6.hpkcat",
            "--now",
            NOW,
            "--json",
        ],
    )
    .ok();
    assert_eq!(json_of(&run)["previous_version"], 5);
    assert_eq!(
        fs::read(d.join("repo/catalog.hpkcat")).unwrap(),
        fs::read(d.join("cat6.hpkcat")).unwrap()
    );
}

#[test]
fn init_refuses_a_folder_that_is_not_new_or_empty() {
    let dir = copy_world("repo-init");
    let d = dir.as_path();
    fs::create_dir(d.join("repo")).unwrap();
    fs::write(d.join("repo/notes.txt"), "mine").unwrap();
    let run = refused(d, "repo", 2, || {
        hpk_in(
            d,
            &[
                "repo",
                "init",
                "repo",
                "--root",
                "root.hpkroot",
                "--now",
                NOW,
            ],
        )
    });
    assert!(run.stderr.contains("not empty"), "{}", run.stderr);
    // Run again on the repository it made, it has nothing to do; with
    // another trust root, that folder is not empty either.
    let init = |root: &str| {
        hpk_in(
            d,
            &[
                "repo", "init", "made", "--root", root, "--now", NOW, "--json",
            ],
        )
    };
    let first: serde_json::Value = serde_json::from_str(&init("root.hpkroot").ok().stdout).unwrap();
    assert_eq!(first["made"], true);
    let again = init("root.hpkroot").ok();
    let again_doc: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(again_doc["made"], false);
    assert!(again.stderr.contains("nothing to do"), "{}", again.stderr);
    next_root(d, "root.hpkroot", "root-v2.hpkroot");
    let other = init("root-v2.hpkroot").expect_code(2);
    assert!(other.stderr.contains("not empty"), "{}", other.stderr);
    // A file is no folder; a missing parent is not created.
    hpk_in(
        d,
        &[
            "repo",
            "init",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .expect_code(2);
    hpk_in(
        d,
        &[
            "repo",
            "init",
            "no/repo",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .expect_code(4);
    assert!(!d.join("no").exists());
    // A root that does not verify on its own makes no repository.
    hpk_in(
        d,
        &[
            "root",
            "renew",
            "root.hpkroot",
            "--expires-in",
            "30",
            "--out",
            "unsigned.hpkroot",
        ],
    )
    .ok();
    let run = hpk_in(
        d,
        &[
            "repo",
            "init",
            "new",
            "--root",
            "unsigned.hpkroot",
            "--now",
            NOW,
        ],
    )
    .expect_code(1);
    assert!(!d.join("new").exists(), "{}", run.stderr);
    // An empty folder is fine.
    fs::create_dir(d.join("empty")).unwrap();
    hpk_in(
        d,
        &[
            "repo",
            "init",
            "empty",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();
}

#[test]
fn add_root_refuses_a_gap_and_a_root_devices_would_refuse() {
    let dir = copy_world("repo-roots");
    let d = dir.as_path();
    init(d);
    next_root(d, "root.hpkroot", "root-v2.hpkroot");
    next_root(d, "root-v2.hpkroot", "root-v3.hpkroot");
    // Version 3 before version 2: devices walk one version at a time.
    let run = refused(d, "repo", 1, || {
        hpk_in(
            d,
            &[
                "repo",
                "add-root",
                "repo",
                "root-v3.hpkroot",
                "--now",
                NOW,
                "--json",
            ],
        )
    });
    assert!(
        run.stderr.contains("version 2 comes first"),
        "{}",
        run.stderr
    );
    let doc = json_of(&run);
    assert_eq!(doc["schema"], "hpk-error/1");
    assert_eq!(doc["reason"], "wrong-version");
    // Signed by no root key: not a rotation.
    hpk_in(
        d,
        &[
            "root",
            "renew",
            "root.hpkroot",
            "--expires-in",
            "30",
            "--out",
            "unsigned.hpkroot",
        ],
    )
    .ok();
    let run = refused(d, "repo", 1, || {
        hpk_in(
            d,
            &["repo", "add-root", "repo", "unsigned.hpkroot", "--now", NOW],
        )
    });
    assert!(
        run.stderr.contains("devices would refuse this rotation"),
        "{}",
        run.stderr
    );
    // Signed by a key the old root does not hold.
    hpk_in(
        d,
        &[
            "root",
            "sign",
            "unsigned.hpkroot",
            "--key",
            "keys/stray.key",
            "--out",
            "stray.hpkroot",
        ],
    )
    .ok();
    refused(d, "repo", 1, || {
        hpk_in(
            d,
            &["repo", "add-root", "repo", "stray.hpkroot", "--now", NOW],
        )
    });
    // In order, both go in.
    hpk_in(
        d,
        &["repo", "add-root", "repo", "root-v2.hpkroot", "--now", NOW],
    )
    .ok();
    hpk_in(
        d,
        &["repo", "add-root", "repo", "root-v3.hpkroot", "--now", NOW],
    )
    .ok();
    // A repository missing a version is refused as such.
    fs::remove_file(d.join("repo/root/2.hpkroot")).unwrap();
    let run = refused(d, "repo", 2, || {
        hpk_in(d, &["repo", "add", "repo", "baseline.hpk", "--now", NOW])
    });
    assert!(run.stderr.contains("misses versions"), "{}", run.stderr);
}

#[test]
fn add_refuses_a_package_that_does_not_verify_under_the_newest_root() {
    let dir = copy_world("repo-add");
    let d = dir.as_path();
    init(d);
    // Signed by a key the trust root does not hold.
    hpk_in(d, &["pack", "standard.toml", "--out", "stray.hpk"]).ok();
    hpk_in(d, &["sign", "stray.hpk", "--key", "keys/stray.key"]).ok();
    let run = refused(d, "repo", 1, || {
        hpk_in(d, &["repo", "add", "repo", "stray.hpk", "--now", NOW])
    });
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // Expired (the standard package expires on 2026-03-01): exit 3.
    let run = refused(d, "repo", 3, || {
        hpk_in(d, &["repo", "add", "repo", "standard.hpk", "--now", NOW])
    });
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
    // A damaged package.
    let mut bytes = fs::read(d.join("hotpatch.hpk")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(d.join("damaged.hpk"), bytes).unwrap();
    refused(d, "repo", 1, || {
        hpk_in(d, &["repo", "add", "repo", "damaged.hpk", "--now", NOW])
    });
    // The same manifest with other signatures is not the same file: a
    // package in the repository is never replaced.
    hpk_in(d, &["repo", "add", "repo", "baseline.hpk", "--now", NOW]).ok();
    hpk_env(
        d,
        &[
            "sign",
            "baseline.hpk",
            "--key",
            "keys/encrypted.key",
            "--out",
            "twice.hpk",
        ],
        &[("HPK_PASSPHRASE", PASSPHRASE)],
    )
    .ok();
    assert_eq!(
        manifest_digest(d, "twice.hpk"),
        manifest_digest(d, "baseline.hpk")
    );
    let run = refused(d, "repo", 1, || {
        hpk_in(d, &["repo", "add", "repo", "twice.hpk", "--now", NOW])
    });
    assert!(run.stderr.contains("other bytes"), "{}", run.stderr);
}

#[test]
fn publish_refuses_a_catalog_that_is_not_served_whole_or_goes_back() {
    let dir = copy_world("repo-publish");
    let d = dir.as_path();
    init(d);
    let baseline = location(d, "baseline.hpk");
    let hotpatch = location(d, "hotpatch.hpk");
    hpk_in(d, &["repo", "add", "repo", "baseline.hpk", "--now", NOW]).ok();
    // Naming a package that was not added.
    catalog(
        d,
        "missing.hpkcat",
        5,
        &[("baseline.hpk", &baseline), ("hotpatch.hpk", &hotpatch)],
    );
    let run = refused(d, "repo", 2, || {
        hpk_in(
            d,
            &["repo", "publish", "repo", "missing.hpkcat", "--now", NOW],
        )
    });
    assert!(
        run.stderr.contains("is not in the repository"),
        "{}",
        run.stderr
    );
    // An absolute location, or one outside packages/.
    for (name, at) in [
        ("absolute.hpkcat", format!("https://cdn.example/{baseline}")),
        ("rooted.hpkcat", format!("/{baseline}")),
        ("default.hpkcat", "baseline.hpk".to_owned()),
    ] {
        catalog(d, name, 5, &[("baseline.hpk", &at)]);
        let run = refused(d, "repo", 2, || {
            hpk_in(d, &["repo", "publish", "repo", name, "--now", NOW])
        });
        assert!(
            run.stderr.contains(&format!("is not {baseline}")),
            "{}",
            run.stderr
        );
    }
    // Not signed by the catalog role.
    hpk_in(
        d,
        &[
            "catalog",
            "new",
            "--out",
            "unsigned.hpkcat",
            "--version",
            "5",
        ],
    )
    .ok();
    refused(d, "repo", 1, || {
        hpk_in(
            d,
            &["repo", "publish", "repo", "unsigned.hpkcat", "--now", NOW],
        )
    });
    // Published; then an older version, and the same version with other
    // content, are refused.
    // A relative location is resolved against the catalog's URL.
    let dotted = format!("./packages/../{baseline}");
    catalog(d, "v5.hpkcat", 5, &[("baseline.hpk", &dotted)]);
    hpk_in(d, &["repo", "publish", "repo", "v5.hpkcat", "--now", NOW]).ok();
    catalog(d, "v4.hpkcat", 4, &[("baseline.hpk", &baseline)]);
    let run = refused(d, "repo", 1, || {
        hpk_in(
            d,
            &[
                "repo",
                "publish",
                "repo",
                "v4.hpkcat",
                "--now",
                NOW,
                "--json",
            ],
        )
    });
    let doc = json_of(&run);
    assert_eq!(doc["reason"], "rollback");
    assert!(run.stderr.contains("never goes back"), "{}", run.stderr);
    catalog(d, "other-v5.hpkcat", 5, &[("baseline.hpk", &baseline)]);
    let run = refused(d, "repo", 1, || {
        hpk_in(
            d,
            &["repo", "publish", "repo", "other-v5.hpkcat", "--now", NOW],
        )
    });
    assert!(run.stderr.contains("published already"), "{}", run.stderr);
}
