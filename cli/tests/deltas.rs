//! Delta packages end to end with the command line: `hpk pack
//! --delta-from` stores changed files as deltas of the earlier release's
//! and unchanged files as references to them; a device rebuilds the new
//! tree from its own files (`--base-dir`), byte for byte; without those
//! files, or with other ones, nothing is extracted and the error says the
//! package needs them.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{copy_world, hpk_in, noise};
use std::fs;
use std::path::Path;

fn description(version: &str) -> String {
    format!(
        "name = \"app\"\nkind = \"standard\"\nversion = \"{version}\"\nsecurity_version = 1\n\
         created = 2026-01-01T00:00:00Z\n\n[targets]\nos = \"windows\"\n\
         architectures = [\"x64\"]\n\n[[payloads]]\ndir = \"tree-{version}\"\n"
    )
}

/// A "library" of `len` bytes: incompressible runs with structure, the
/// way code is, so that zstd alone gains little and a delta a lot.
fn library(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(&noise(4000, seed.wrapping_mul(1000).wrapping_add(i)));
        out.extend_from_slice(&i.to_le_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// The release after `old`: a few bytes changed here and there, a block
/// inserted, a block removed.
fn next_release(old: &[u8]) -> Vec<u8> {
    let mut new = old.to_vec();
    for at in (1000..new.len()).step_by(50_000) {
        new[at] ^= 0x5a;
        new[at + 7] = new[at + 7].wrapping_add(3);
    }
    new.splice(300_000..300_000, noise(2_000, 77));
    new.drain(600_000..601_500);
    new
}

fn write(root: &Path, name: &str, bytes: &[u8]) {
    let path = root.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Old and new trees, both releases packed and signed (the new one both
/// whole and as a delta), and the old one extracted as a device has it.
fn fixture(name: &str) -> std::path::PathBuf {
    let dir = copy_world(name);
    // Over 8 MiB, so that full-depth reading runs on worker threads.
    let lib = library(9_000_000, 1);
    let tool = library(40_000, 2);
    write(&dir.join("tree-1.0"), "lib/core.so", &lib);
    write(&dir.join("tree-1.0"), "lib/same.dat", &library(300_000, 3));
    write(&dir.join("tree-1.0"), "bin/tool", &tool);
    write(&dir.join("tree-1.0"), "share/gone.txt", b"removed in 1.1\n");
    write(&dir.join("tree-1.1"), "lib/core.so", &next_release(&lib));
    write(&dir.join("tree-1.1"), "lib/same.dat", &library(300_000, 3));
    let mut tool2 = tool.clone();
    tool2[100] ^= 1;
    write(&dir.join("tree-1.1"), "bin/tool", &tool2);
    write(&dir.join("tree-1.1"), "share/new.txt", b"added in 1.1\n");
    for v in ["1.0", "1.1"] {
        fs::write(dir.join(format!("{v}.toml")), description(v)).unwrap();
    }
    let sign = ["--key", "keys/release.key", "--root", "root.hpkroot"];
    let pack = |args: &[&str]| {
        let mut all = vec!["pack"];
        all.extend_from_slice(args);
        all.extend_from_slice(&sign);
        hpk_in(&dir, &all).ok()
    };
    pack(&["1.0.toml", "--out", "1.0.hpk"]);
    pack(&["1.1.toml", "--out", "1.1.hpk"]);
    pack(&[
        "1.1.toml",
        "--out",
        "1.1-delta.hpk",
        "--delta-from",
        "1.0.hpk",
    ]);
    hpk_in(
        &dir,
        &[
            "extract",
            "1.0.hpk",
            "--root",
            "root.hpkroot",
            "--out",
            "device",
        ],
    )
    .ok();
    dir
}

fn payload<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["package"]["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no payload {name}"))
}

/// Every file under `root`, by relative path, with its bytes.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, at: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs::read_dir(at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn a_delta_package_rebuilds_the_new_tree_from_the_files_the_device_has() {
    let dir = fixture("deltas-round-trip");
    let full = fs::metadata(dir.join("1.1.hpk")).unwrap().len();
    let delta = fs::metadata(dir.join("1.1-delta.hpk")).unwrap().len();
    assert!(delta * 10 < full, "delta {delta} bytes, full {full}");

    let shown: serde_json::Value = serde_json::from_str(
        &hpk_in(&dir, &["inspect", "1.1-delta.hpk", "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    let core = payload(&shown, "lib/core.so");
    assert_eq!(core["compression"], "delta");
    let old_core = fs::read(dir.join("tree-1.0/lib/core.so")).unwrap();
    assert_eq!(
        core["base"]["sha256"],
        hpk_format::Digest::of(&old_core).to_hex()
    );
    assert_eq!(core["base"]["size"], old_core.len() as u64);
    let same = payload(&shown, "lib/same.dat");
    assert_eq!(same["compression"], "unchanged");
    assert_eq!(same["stored_size"], 0);
    assert_eq!(payload(&shown, "share/new.txt")["compression"], "zstd");

    // Signatures and stored bytes need no base.
    hpk_in(&dir, &["verify", "1.1-delta.hpk", "--root", "root.hpkroot"]).ok();
    hpk_in(
        &dir,
        &[
            "verify",
            "1.1-delta.hpk",
            "--root",
            "root.hpkroot",
            "--deep",
            "--base-dir",
            "device",
        ],
    )
    .ok();
    hpk_in(
        &dir,
        &[
            "extract",
            "1.1-delta.hpk",
            "--root",
            "root.hpkroot",
            "--out",
            "new",
            "--base-dir",
            "device",
        ],
    )
    .ok();
    assert_eq!(tree(&dir.join("new")), tree(&dir.join("tree-1.1")));
}

#[test]
fn without_the_right_base_files_nothing_is_extracted_and_the_error_says_why() {
    let dir = fixture("deltas-missing-base");
    let extract = |out: &str, base: Option<&str>| {
        let mut args = vec![
            "extract",
            "1.1-delta.hpk",
            "--root",
            "root.hpkroot",
            "--out",
            out,
        ];
        if let Some(b) = base {
            args.extend_from_slice(&["--base-dir", b]);
        }
        hpk_in(&dir, &args).expect_code(3)
    };
    let none = extract("a", None);
    assert!(
        none.stderr
            .contains("needs the base file the device already has"),
        "{}",
        none.stderr
    );
    assert!(!dir.join("a").exists());

    // The device's copy of one file differs from the release's.
    let mut core = fs::read(dir.join("device/lib/core.so")).unwrap();
    core[10] ^= 1;
    fs::write(dir.join("device/lib/core.so"), &core).unwrap();
    let other = extract("b", Some("device"));
    assert!(
        other.stderr.contains("lib/core.so") && other.stderr.contains("another SHA-256"),
        "{}",
        other.stderr
    );
    assert!(!dir.join("b").exists());

    // An unchanged file the device lacks.
    fs::write(
        dir.join("device/lib/core.so"),
        fs::read(dir.join("tree-1.0/lib/core.so")).unwrap(),
    )
    .unwrap();
    fs::remove_file(dir.join("device/lib/same.dat")).unwrap();
    let missing = extract("c", Some("device"));
    assert!(
        missing.stderr.contains("lib/same.dat") && missing.stderr.contains("no such file"),
        "{}",
        missing.stderr
    );
    assert!(!dir.join("c").exists());

    // verify --deep says the same.
    let deep = hpk_in(
        &dir,
        &[
            "verify",
            "1.1-delta.hpk",
            "--root",
            "root.hpkroot",
            "--deep",
        ],
    )
    .expect_code(3);
    assert!(deep.stderr.contains("--base-dir"), "{}", deep.stderr);
}

#[test]
fn delta_packages_are_deterministic_and_smaller_than_each_changed_file() {
    let dir = fixture("deltas-deterministic");
    hpk_in(
        &dir,
        &[
            "pack",
            "1.1.toml",
            "--out",
            "again.hpk",
            "--delta-from",
            "1.0.hpk",
            "--key",
            "keys/release.key",
            "--threads",
            "1",
        ],
    )
    .ok();
    assert_eq!(
        fs::read(dir.join("again.hpk")).unwrap(),
        fs::read(dir.join("1.1-delta.hpk")).unwrap()
    );
    let shown: serde_json::Value = serde_json::from_str(
        &hpk_in(&dir, &["inspect", "1.1-delta.hpk", "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    // The changed library: a few edits cost a few kilobytes, not 9 MB.
    let core = payload(&shown, "lib/core.so");
    assert!(core["stored_size"].as_u64().unwrap() < 60_000, "{core}");
    let tool = payload(&shown, "bin/tool");
    assert!(tool["stored_size"].as_u64().unwrap() < 1_000, "{tool}");
}

/// A description of `kind` over the tree `tree-NAME`.
fn kind_description(kind: &str, version: &str, tree: &str, extra: &str) -> String {
    format!(
        "name = \"os\"\nkind = \"{kind}\"\nversion = \"{version}\"\nsecurity_version = 1\n\
         created = 2026-01-01T00:00:00Z\n{extra}\n[targets]\nos = \"windows\"\n\
         architectures = [\"x64\"]\n\n[[payloads]]\ndir = \"tree-{tree}\"\n"
    )
}

#[test]
fn a_hotpatch_season_ships_as_deltas_of_its_baseline_and_the_next_baseline_as_a_delta_too() {
    let dir = copy_world("deltas-season");
    // January's baseline: a kernel, a library and data files.
    let kernel = library(900_000, 10);
    let lib = library(800_000, 11);
    let jan = [
        ("System32/ntoskrnl.exe", kernel.clone()),
        ("System32/lib.dll", lib.clone()),
        ("Fonts/font.ttf", library(200_000, 12)),
    ];
    // February and March hotpatch the kernel (cumulatively); April's
    // baseline changes the kernel and the library, and adds a file.
    let feb_kernel = next_release(&kernel);
    let mut mar_kernel = feb_kernel.clone();
    mar_kernel[500_000] ^= 0xff;
    let apr_kernel = next_release(&mar_kernel);
    let apr_lib = next_release(&lib);
    for (tree, files) in [
        ("jan", jan.to_vec()),
        ("feb", vec![("System32/ntoskrnl.exe", feb_kernel)]),
        ("mar", vec![("System32/ntoskrnl.exe", mar_kernel)]),
        (
            "apr",
            vec![
                ("System32/ntoskrnl.exe", apr_kernel),
                ("System32/lib.dll", apr_lib),
                ("Fonts/font.ttf", library(200_000, 12)),
                ("System32/new.sys", library(30_000, 13)),
            ],
        ),
    ] {
        for (name, bytes) in files {
            write(&dir.join(format!("tree-{tree}")), name, &bytes);
        }
    }
    let sign = |key: &'static str| ["--key", key, "--root", "root.hpkroot"];
    let pack = |desc: &str, out: &str, extra: &[&str], key: &'static str| {
        let mut args = vec!["pack", desc, "--out", out];
        args.extend_from_slice(extra);
        args.extend_from_slice(&sign(key));
        hpk_in(&dir, &args).ok();
    };
    fs::write(
        dir.join("jan.toml"),
        kind_description("baseline", "1.0", "jan", ""),
    )
    .unwrap();
    pack("jan.toml", "jan.hpk", &[], "keys/release.key");
    for (month, sequence) in [("feb", 1), ("mar", 2)] {
        let hotpatch = format!("[hotpatch]\nbaseline = \"jan.hpk\"\nsequence = {sequence}\n");
        fs::write(
            dir.join(format!("{month}.toml")),
            kind_description("hotpatch", &format!("1.0.{sequence}"), month, &hotpatch),
        )
        .unwrap();
        let desc = format!("{month}.toml");
        pack(
            &desc,
            &format!("{month}-full.hpk"),
            &[],
            "keys/hotpatch.key",
        );
        pack(
            &desc,
            &format!("{month}.hpk"),
            &["--delta-from", "jan.hpk"],
            "keys/hotpatch.key",
        );
    }
    fs::write(
        dir.join("apr.toml"),
        kind_description("baseline", "2.0", "apr", ""),
    )
    .unwrap();
    pack("apr.toml", "apr-full.hpk", &[], "keys/release.key");
    pack(
        "apr.toml",
        "apr.hpk",
        &["--delta-from", "jan.hpk"],
        "keys/release.key",
    );

    // The device installs January whole, then each month as a delta of
    // the files it has, checked like any package against its policy.
    hpk_in(
        &dir,
        &[
            "extract",
            "jan.hpk",
            "--root",
            "root.hpkroot",
            "--out",
            "device",
        ],
    )
    .ok();
    let jan_digest = common::manifest_digest(&dir, "jan.hpk");
    fs::write(
        dir.join("device.toml"),
        format!(
            "os = \"windows\"\narchitecture = \"x64\"\ninstalled_baseline = \"{jan_digest}\"\n"
        ),
    )
    .unwrap();
    for month in ["feb", "mar", "apr"] {
        let delta = fs::metadata(dir.join(format!("{month}.hpk")))
            .unwrap()
            .len();
        let full = fs::metadata(dir.join(format!("{month}-full.hpk")))
            .unwrap()
            .len();
        assert!(
            delta * 5 < full,
            "{month}: delta {delta} bytes, full {full}"
        );
        let staged = format!("staged-{month}");
        hpk_in(
            &dir,
            &[
                "extract",
                &format!("{month}.hpk"),
                "--root",
                "root.hpkroot",
                "--device",
                "device.toml",
                "--out",
                &staged,
                "--base-dir",
                "device",
            ],
        )
        .ok();
        // What the month ships is its tree, byte for byte.
        assert_eq!(
            tree(&dir.join(&staged)),
            tree(&dir.join(format!("tree-{month}")))
        );
        // Hotpatches leave the baseline's files as they are (they patch in
        // memory); the baseline replaces them.
        if month == "apr" {
            fs::remove_dir_all(dir.join("device")).unwrap();
            fs::rename(dir.join(&staged), dir.join("device")).unwrap();
        }
    }
    assert_eq!(tree(&dir.join("device")), tree(&dir.join("tree-apr")));
}

#[test]
fn a_catalog_offers_a_delta_beside_its_full_package_and_plans_take_it_only_with_its_base() {
    let dir = fixture("deltas-catalog");
    let catalog = |args: &[&str]| {
        let mut all = vec!["catalog"];
        all.extend_from_slice(args);
        hpk_in(&dir, &all)
    };
    catalog(&[
        "new",
        "--out",
        "c.hpkcat",
        "--version",
        "1",
        "--created",
        "2026-01-01",
        "--expires-in",
        "3650",
    ])
    .ok();
    // A delta needs what it is a delta of, and its full form.
    let bare = catalog(&["add", "c.hpkcat", "1.1-delta.hpk"]).expect_code(1);
    assert!(bare.stderr.contains("--delta-from"), "{}", bare.stderr);
    let wrong = catalog(&[
        "add",
        "c.hpkcat",
        "1.1-delta.hpk",
        "--delta-of",
        "1.0.hpk",
        "--full",
        "1.0.hpk",
    ])
    .expect_code(1);
    assert!(wrong.stderr.contains("same files"), "{}", wrong.stderr);
    catalog(&["add", "c.hpkcat", "1.0.hpk", "1.1.hpk"]).ok();
    catalog(&[
        "add",
        "c.hpkcat",
        "1.1-delta.hpk",
        "--delta-of",
        "1.0.hpk",
        "--full",
        "1.1.hpk",
    ])
    .ok();
    catalog(&[
        "sign",
        "c.hpkcat",
        "--key",
        "keys/catalog.key",
        "--root",
        "root.hpkroot",
    ])
    .ok();
    let shown = hpk_in(&dir, &["inspect", "c.hpkcat"]).ok();
    let old = common::manifest_digest(&dir, "1.0.hpk");
    let full = common::manifest_digest(&dir, "1.1.hpk");
    assert!(
        shown
            .stdout
            .contains(&format!("delta of {old}, full package {full}")),
        "{}",
        shown.stdout
    );

    let plan = |device: &str| -> serde_json::Value {
        fs::write(dir.join("d.toml"), device).unwrap();
        let out = hpk_in(
            &dir,
            &[
                "plan",
                "--catalog",
                "c.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                "d.toml",
                "--json",
            ],
        )
        .ok();
        serde_json::from_str(&out.stdout).unwrap()
    };
    let device = "os = \"windows\"\narchitecture = \"x64\"\n";
    // With 1.0 installed, the delta; without, the full package.
    let with = plan(&format!("{device}installed_baseline = \"{old}\"\n"));
    let delta = common::manifest_digest(&dir, "1.1-delta.hpk");
    assert_eq!(with["steps"][0]["entry"]["manifest_digest"], delta.as_str());
    assert_eq!(with["steps"][0]["entry"]["delta"]["full"], full.as_str());
    let without = plan(device);
    assert_eq!(
        without["steps"][0]["entry"]["manifest_digest"],
        full.as_str()
    );
    let skipped = without["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["reason"] == "missing-base"
                && s["entry"]["manifest_digest"] == delta.as_str()),
        "{without}"
    );
}
