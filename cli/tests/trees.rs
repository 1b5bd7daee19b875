//! Folder trees end to end with the command line: pack a tree with an
//! executable, links and an empty folder, sign it, inspect it, extract
//! it and find the same tree; warnings for target tokens that are not
//! well known (errors with `--strict`); trust roots with only some roles;
//! and a real system folder (`/usr/share/doc`) packed within the default
//! limits.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{copy_world, hpk_in};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

fn description(arch: &str, tree: &str) -> String {
    format!(
        "name = \"tree\"\nkind = \"standard\"\nversion = \"1.0\"\nsecurity_version = 1\n\
         created = 2026-01-01T00:00:00Z\n\n[targets]\nos = \"windows\"\n\
         architectures = [\"{arch}\"]\n\n[[payloads]]\n{tree}\n"
    )
}

fn sample_tree(root: &Path) {
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("lib")).unwrap();
    fs::create_dir_all(root.join("cache")).unwrap();
    fs::write(root.join("bin/tool"), b"#!/bin/sh\necho tool\n").unwrap();
    fs::set_permissions(root.join("bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(root.join("lib/libz.so.1.3"), b"library").unwrap();
    symlink("libz.so.1.3", root.join("lib/libz.so.1")).unwrap();
    symlink("../lib/libz.so.1", root.join("bin/z")).unwrap();
}

#[test]
fn a_packed_tree_extracts_as_the_same_tree() {
    let dir = copy_world("trees-round-trip");
    sample_tree(&dir.join("tree"));
    fs::write(
        dir.join("tree.toml"),
        description("x64", "dir = \"tree\"\nprefix = \"app\""),
    )
    .unwrap();
    let packed = hpk_in(&dir, &["pack", "tree.toml", "--out", "tree.hpk"]).ok();
    assert!(
        packed
            .stderr
            .contains("2 payload(s), 2 link(s), 1 empty folder(s)"),
        "{}",
        packed.stderr
    );
    hpk_in(
        &dir,
        &[
            "sign",
            "tree.hpk",
            "--key",
            "keys/release.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();

    let shown = hpk_in(&dir, &["inspect", "tree.hpk"]).ok();
    for line in [
        "payload       app/bin/tool (executable)",
        "link          app/bin/z -> app/lib/libz.so.1",
        "link          app/lib/libz.so.1 -> app/lib/libz.so.1.3",
        "folder        app/cache/ (empty)",
    ] {
        assert!(shown.stdout.contains(line), "{line}\n{}", shown.stdout);
    }
    let json: serde_json::Value =
        serde_json::from_str(&hpk_in(&dir, &["inspect", "tree.hpk", "--json"]).ok().stdout)
            .unwrap();
    assert_eq!(json["package"]["payloads"][0]["executable"], true);
    assert_eq!(json["package"]["links"][0]["target"], "app/lib/libz.so.1");
    assert_eq!(json["package"]["folders"][0], "app/cache");

    hpk_in(
        &dir,
        &[
            "extract",
            "tree.hpk",
            "--root",
            "root.hpkroot",
            "--out",
            "out",
        ],
    )
    .ok();
    let out = dir.join("out/app");
    let mode = fs::metadata(out.join("bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(mode & 0o111, 0, "{mode:o}");
    let mode = fs::metadata(out.join("lib/libz.so.1.3"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0, "{mode:o}");
    assert_eq!(
        fs::read_link(out.join("lib/libz.so.1")).unwrap(),
        Path::new("libz.so.1.3")
    );
    assert_eq!(
        fs::read_link(out.join("bin/z")).unwrap(),
        Path::new("../lib/libz.so.1")
    );
    // The link chain resolves to the library, inside the extraction.
    assert_eq!(fs::read(out.join("bin/z")).unwrap(), b"library");
    assert!(fs::read_dir(out.join("cache")).unwrap().next().is_none());
}

#[test]
fn pack_with_a_signer_writes_what_pack_then_sign_writes() {
    let dir = copy_world("trees-pack-signed");
    sample_tree(&dir.join("tree"));
    fs::write(dir.join("tree.toml"), description("x64", "dir = \"tree\"")).unwrap();
    hpk_in(&dir, &["pack", "tree.toml", "--out", "two.hpk"]).ok();
    hpk_in(&dir, &["sign", "two.hpk", "--key", "keys/release.key"]).ok();
    let one = hpk_in(
        &dir,
        &[
            "pack",
            "tree.toml",
            "--out",
            "one.hpk",
            "--key",
            "keys/release.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    assert!(one.stderr.contains(", signed with key "), "{}", one.stderr);
    assert_eq!(
        fs::read(dir.join("one.hpk")).unwrap(),
        fs::read(dir.join("two.hpk")).unwrap()
    );
    hpk_in(&dir, &["verify", "one.hpk", "--root", "root.hpkroot"]).ok();

    // A key the role does not hold, and --root without a signer: refused
    // before anything is written.
    let wrong = hpk_in(
        &dir,
        &[
            "pack",
            "tree.toml",
            "--out",
            "wrong.hpk",
            "--key",
            "keys/hotpatch.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .expect_code(2);
    assert!(wrong.stderr.contains("release"), "{}", wrong.stderr);
    let lone = hpk_in(
        &dir,
        &[
            "pack",
            "tree.toml",
            "--out",
            "wrong.hpk",
            "--root",
            "root.hpkroot",
        ],
    )
    .expect_code(2);
    assert!(
        lone.stderr.contains("--root needs a signer"),
        "{}",
        lone.stderr
    );
    assert!(!dir.join("wrong.hpk").exists());
}

#[test]
fn target_tokens_that_are_not_well_known_warn_or_with_strict_fail() {
    let dir = copy_world("trees-tokens");
    fs::write(dir.join("a.txt"), b"a").unwrap();
    let file = "name = \"a.txt\"\nfile = \"a.txt\"";
    fs::write(dir.join("typo.toml"), description("x86_64", file)).unwrap();
    let warned = hpk_in(&dir, &["pack", "typo.toml", "--out", "typo.hpk"]).ok();
    assert!(
        warned.stderr.contains(
            "hpk: warning: targets.architectures: \"x86_64\" is not a well-known architecture; did you mean \"x64\"?"
        ),
        "{}",
        warned.stderr
    );
    let strict = hpk_in(
        &dir,
        &["pack", "typo.toml", "--out", "strict.hpk", "--strict"],
    )
    .expect_code(2);
    assert!(
        strict.stderr.contains("hpk: error: targets.architectures"),
        "{}",
        strict.stderr
    );
    assert!(!dir.join("strict.hpk").exists());
    // A well-known spelling passes --strict without a word.
    fs::write(dir.join("good.toml"), description("x64", file)).unwrap();
    let good = hpk_in(
        &dir,
        &[
            "pack",
            "good.toml",
            "--out",
            "good.hpk",
            "--strict",
            "--quiet",
        ],
    )
    .ok();
    assert_eq!(good.stderr, "");
}

#[test]
fn a_root_made_without_some_roles_refuses_their_files() {
    let dir = copy_world("trees-partial-root");
    hpk_in(
        &dir,
        &[
            "root",
            "init",
            "--out",
            "partial.hpkroot",
            "--root-key",
            "keys/root.key.pub",
            "--release-key",
            "keys/release.key.pub",
            "--created",
            "2026-01-01",
        ],
    )
    .ok();
    hpk_in(
        &dir,
        &["root", "sign", "partial.hpkroot", "--key", "keys/root.key"],
    )
    .ok();
    let shown = hpk_in(&dir, &["root", "verify", "partial.hpkroot"]).ok();
    assert!(
        shown
            .stdout
            .contains("hotpatch  none (files that need it are refused)"),
        "{}",
        shown.stdout
    );
    // The world's hotpatch is signed by a hotpatch key, which this root
    // does not hold; signed by the release key too, it meets VP2 and then
    // has no hotpatch role to meet (VP5).
    let refused = hpk_in(
        &dir,
        &["verify", "hotpatch.hpk", "--root", "partial.hpkroot"],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("needs 1"), "{}", refused.stderr);
    hpk_in(
        &dir,
        &[
            "sign",
            "hotpatch.hpk",
            "--key",
            "keys/release.key",
            "--out",
            "both.hpk",
        ],
    )
    .ok();
    let refused = hpk_in(&dir, &["verify", "both.hpk", "--root", "partial.hpkroot"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the trust root has none"),
        "{}",
        refused.stderr
    );
    hpk_in(
        &dir,
        &["verify", "baseline.hpk", "--root", "partial.hpkroot"],
    )
    .ok();
}

#[test]
fn usr_share_doc_packs_within_the_default_limits() {
    let doc = Path::new("/usr/share/doc");
    if !doc.is_dir() {
        eprintln!("skipped: {} is not on this machine", doc.display());
        return;
    }
    let dir = copy_world("trees-usr-share-doc");
    fs::write(
        dir.join("doc.toml"),
        description(
            "x64",
            "dir = \"/usr/share/doc\"\nprefix = \"usr/share/doc\"\nunsupported = \"skip\"",
        ),
    )
    .unwrap();
    let packed = hpk_in(&dir, &["pack", "doc.toml", "--out", "doc.hpk"]).ok();
    let json: serde_json::Value =
        serde_json::from_str(&hpk_in(&dir, &["inspect", "doc.hpk", "--json"]).ok().stdout).unwrap();
    let m = &json["package"];
    let entries = m["payloads"].as_array().unwrap().len()
        + m["links"].as_array().unwrap().len()
        + m["folders"].as_array().unwrap().len();
    let skipped = packed.stderr.matches("hpk: warning: left out").count();
    // Every file, link and empty folder under the tree is an entry or
    // was reported as left out.
    let mut on_disk = 0;
    let mut stack = vec![doc.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let mut children = 0;
        for child in fs::read_dir(&folder).unwrap() {
            children += 1;
            let child = child.unwrap();
            let kind = child.file_type().unwrap();
            if kind.is_dir() {
                stack.push(child.path());
            } else {
                on_disk += 1;
            }
        }
        if children == 0 && folder != doc {
            on_disk += 1;
        }
    }
    assert_eq!(entries + skipped, on_disk, "{}", packed.stderr);
    assert!(entries > 0);
    hpk_in(
        &dir,
        &[
            "sign",
            "doc.hpk",
            "--key",
            "keys/release.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        &dir,
        &["verify", "doc.hpk", "--root", "root.hpkroot", "--deep"],
    )
    .ok();
}
