//! Folder trees in package descriptions (`dir = ...`): what a tree on
//! disk becomes in the manifest (files with their executable bit, links
//! as names relative to the package's root, empty folders), the include
//! and exclude globs, the prefix, and the entries a package cannot carry,
//! refused or skipped.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{ContainerView, FileType, Limits, Link, Manifest, PayloadName, decode};
use hpk_sign::{
    BuildError, BuildOptions, BuiltPackage, DescriptionError, PackageDescription, build_package,
};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

fn write(dir: &Path, rel: &str, bytes: &[u8], mode: u32) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
}

fn description(tree_table: &str) -> String {
    format!(
        "name = \"tree\"\nkind = \"standard\"\nversion = \"1.0\"\nsecurity_version = 1\n\
         created = 1767225600\n[targets]\nos = \"linux\"\narchitectures = [\"x64\"]\n\n\
         [[payloads]]\n{tree_table}\n"
    )
}

fn build(dir: &Path, tree_table: &str) -> Result<BuiltPackage, BuildError> {
    let desc =
        PackageDescription::parse(&description(tree_table)).map_err(BuildError::Description)?;
    let mut options = BuildOptions {
        overwrite: true,
        ..BuildOptions::default()
    };
    build_package(&desc, dir, &dir.join("out.hpk"), &mut options)
}

fn manifest_of(path: &Path) -> Manifest {
    let bytes = fs::read(path).unwrap();
    let view = ContainerView::parse(&bytes, FileType::Package, &Limits::default()).unwrap();
    decode(view.body, &Limits::default()).unwrap()
}

fn name(text: &str) -> PayloadName {
    PayloadName::new(text).unwrap()
}

/// A tree with a plain file, a program, links within a folder, across
/// folders, absolute and to a folder, an empty folder and a log file.
fn sample_tree(root: &Path) {
    write(root, "doc/readme.txt", b"read me\n", 0o644);
    write(root, "bin/tool", b"#!/bin/sh\necho tool\n", 0o755);
    write(root, "lib/libz.so.1.3", b"not really a library", 0o644);
    write(root, "lib/debug.log", b"noise", 0o644);
    symlink("libz.so.1.3", root.join("lib/libz.so.1")).unwrap();
    symlink("../lib/libz.so.1", root.join("bin/z")).unwrap();
    symlink("/etc/os-release", root.join("lib/os-release")).unwrap();
    symlink("../doc", root.join("lib/doc")).unwrap();
    fs::create_dir_all(root.join("var/cache")).unwrap();
}

#[test]
fn a_tree_becomes_files_links_and_empty_folders_under_its_prefix() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(&dir.path().join("tree"));
    let built = build(
        dir.path(),
        "dir = \"tree\"\nprefix = \"usr\"\nexclude = [\"**/*.log\"]",
    )
    .unwrap();
    let m = manifest_of(&built.path);
    assert_eq!(built.manifest, m);
    let payloads: Vec<(&str, bool)> = m
        .payloads
        .iter()
        .map(|p| (p.name.as_str(), p.executable))
        .collect();
    assert_eq!(
        payloads,
        [
            ("usr/bin/tool", true),
            ("usr/doc/readme.txt", false),
            ("usr/lib/libz.so.1.3", false),
        ]
    );
    let link = |n: &str, t: &str| Link {
        name: name(n),
        target: name(t),
    };
    assert_eq!(
        m.links,
        [
            // Relative targets count from the link's folder, with `..`
            // resolved by name; absolute ones from the package's root.
            link("usr/bin/z", "usr/lib/libz.so.1"),
            // A link to a folder is a link: nothing under it is read.
            link("usr/lib/doc", "usr/doc"),
            link("usr/lib/libz.so.1", "usr/lib/libz.so.1.3"),
            link("usr/lib/os-release", "etc/os-release"),
        ]
    );
    assert_eq!(m.folders, [name("usr/var/cache")]);
    assert!(built.skipped.is_empty());
}

#[test]
fn include_takes_only_matching_entries() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(&dir.path().join("tree"));
    let built = build(dir.path(), "dir = \"tree\"\ninclude = [\"bin/*\"]").unwrap();
    let names: Vec<&str> = built
        .manifest
        .payloads
        .iter()
        .map(|p| p.name.as_str())
        .chain(built.manifest.links.iter().map(|l| l.name.as_str()))
        .chain(built.manifest.folders.iter().map(|f| f.as_str()))
        .collect();
    assert_eq!(names, ["bin/tool", "bin/z"]);
}

#[test]
fn a_link_that_leads_outside_the_package_is_refused_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    write(&tree, "a.txt", b"a", 0o644);
    // Without a prefix, `../outside` from the tree's root leaves the package.
    symlink("../outside", tree.join("escape")).unwrap();
    let err = build(dir.path(), "dir = \"tree\"").unwrap_err();
    let BuildError::Description(DescriptionError::Tree { path, reason }) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(path, &tree.join("escape"));
    assert!(reason.contains("leads outside the package"), "{reason}");
    assert!(reason.contains("unsupported = \"skip\""), "{reason}");
    assert!(!dir.path().join("out.hpk").exists());

    let built = build(dir.path(), "dir = \"tree\"\nunsupported = \"skip\"").unwrap();
    assert_eq!(built.manifest.payloads.len(), 1);
    assert!(built.manifest.links.is_empty());
    assert_eq!(built.skipped.len(), 1);
    assert_eq!(built.skipped[0].path, tree.join("escape"));

    // Under a prefix the same link stays inside the package's root.
    let built = build(dir.path(), "dir = \"tree\"\nprefix = \"usr/lib\"").unwrap();
    assert_eq!(built.manifest.links[0].target, name("usr/outside"));
}

#[test]
fn names_the_format_cannot_carry_and_special_files_are_refused_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    write(&tree, "ok.txt", b"ok", 0o644);
    write(&tree, "system-systemd\\x2dcryptsetup.slice", b"unit", 0o644);
    let err = build(dir.path(), "dir = \"tree\"").unwrap_err();
    assert!(
        err.to_string().contains("not a valid payload name"),
        "{err}"
    );
    let fifo = tree.join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let built = build(dir.path(), "dir = \"tree\"\nunsupported = \"skip\"").unwrap();
    let payloads: Vec<&str> = built
        .manifest
        .payloads
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(payloads, ["ok.txt"]);
    let mut skipped: Vec<_> = built.skipped.iter().map(|s| s.path.clone()).collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [fifo, tree.join("system-systemd\\x2dcryptsetup.slice")]
    );
}

#[test]
fn names_that_differ_only_by_case_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    write(&tree, "terminfo/n/nsterm", b"lower", 0o644);
    write(&tree, "terminfo/N/NCR260", b"upper", 0o644);
    let built = build(dir.path(), "dir = \"tree\"").unwrap();
    let names: Vec<&str> = built
        .manifest
        .payloads
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["terminfo/N/NCR260", "terminfo/n/nsterm"]);
}

#[test]
fn a_tree_and_a_file_entry_with_one_name_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("tree"), "a.txt", b"tree", 0o644);
    write(dir.path(), "other.txt", b"file", 0o644);
    let text = "dir = \"tree\"\n\n[[payloads]]\nname = \"a.txt\"\nfile = \"other.txt\"";
    let err = build(dir.path(), text).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("names two entries"), "{message}");
    assert!(message.contains("other.txt"), "{message}");
    assert!(message.contains("tree/a.txt"), "{message}");
}

#[test]
fn a_file_entry_takes_its_executable_bit_from_the_file_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "run.sh", b"#!/bin/sh\n", 0o755);
    let built = build(dir.path(), "name = \"run.sh\"\nfile = \"run.sh\"").unwrap();
    assert!(built.manifest.payloads[0].executable);
    let built = build(
        dir.path(),
        "name = \"run.sh\"\nfile = \"run.sh\"\nexecutable = false",
    )
    .unwrap();
    assert!(!built.manifest.payloads[0].executable);
}

#[test]
fn tables_that_mix_file_and_tree_fields_are_refused() {
    for (table, field) in [
        ("dir = \"t\"\nname = \"x\"", "payloads[0].name"),
        ("dir = \"t\"\nfile = \"x\"", "payloads[0].file"),
        ("dir = \"t\"\nexecutable = true", "payloads[0].executable"),
        (
            "name = \"x\"\nfile = \"x\"\nprefix = \"p\"",
            "payloads[0].prefix",
        ),
        (
            "name = \"x\"\nfile = \"x\"\ninclude = [\"*\"]",
            "payloads[0].include",
        ),
        ("name = \"x\"", "payloads[0]"),
        ("dir = \"t\"\ninclude = [\"[\"]", "payloads[0].include[0]"),
    ] {
        let err = PackageDescription::parse(&description(table)).unwrap_err();
        match &err {
            DescriptionError::Invalid { field: f, .. } => assert_eq!(f, field, "{table}"),
            other => panic!("{table}: {other:?}"),
        }
    }
}

#[test]
fn a_file_entry_that_names_a_folder_says_to_use_dir() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("folder")).unwrap();
    let err = build(dir.path(), "name = \"x\"\nfile = \"folder\"").unwrap_err();
    assert!(err.to_string().contains(r#"dir = "FOLDER""#), "{err}");
}
