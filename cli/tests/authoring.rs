//! Authoring as a release engineer does it: keys encrypted by default,
//! outputs that are never replaced silently, trust roots renewed, catalog
//! entries removed, and unsigned roots and catalogs shown before signing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, PASSPHRASE, copy_world, hpk_env, hpk_in};
use serde_json::Value;
use std::fs;

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap()
}

#[test]
fn keygen_encrypts_unless_told_not_to() {
    let dir = copy_world("auth-keygen");
    let with_env = hpk_env(
        &dir,
        &["keygen", "--out", "a.key", "--json"],
        &[("HPK_PASSPHRASE", PASSPHRASE)],
    )
    .ok();
    assert_eq!(json(&with_env.stdout)["encrypted"], true);
    let pem = fs::read_to_string(dir.join("a.key")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));

    fs::write(dir.join("b.pass"), "from a file\nsecond line ignored\n").unwrap();
    hpk_in(
        &dir,
        &["keygen", "--out", "b.key", "--passphrase-file", "b.pass"],
    )
    .ok();
    let pem = fs::read_to_string(dir.join("b.key")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    // The first line is the passphrase: signing with it works.
    hpk_env(
        &dir,
        &["sign", "standard.hpk", "--key", "b.key", "--out", "b.hpk"],
        &[("HPK_PASSPHRASE", "from a file")],
    )
    .ok();

    let plain = hpk_in(
        &dir,
        &["keygen", "--out", "c.key", "--unencrypted", "--json"],
    )
    .ok();
    assert_eq!(json(&plain.stdout)["encrypted"], false);
    let pem = fs::read_to_string(dir.join("c.key")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    // An unencrypted key needs no passphrase to sign.
    hpk_in(
        &dir,
        &["sign", "standard.hpk", "--key", "c.key", "--out", "c.hpk"],
    )
    .ok();

    // Contradictions are argument errors.
    hpk_in(
        &dir,
        &[
            "keygen",
            "--out",
            "d.key",
            "--unencrypted",
            "--passphrase-file",
            "b.pass",
        ],
    )
    .expect_code(2);
    assert!(!dir.join("d.key").exists());
}

#[test]
fn signing_with_an_encrypted_key_and_no_terminal_says_what_to_do() {
    let dir = copy_world("auth-sign-no-tty");
    let before = fs::read(dir.join("standard.hpk")).unwrap();
    for args in [
        &["sign", "standard.hpk", "--key", "keys/encrypted.key"][..],
        &[
            "catalog",
            "sign",
            "catalog.hpkcat",
            "--key",
            "keys/encrypted.key",
        ][..],
        &[
            "root",
            "sign",
            "root.hpkroot",
            "--key",
            "keys/encrypted.key",
        ][..],
    ] {
        let run = hpk_in(&dir, args).expect_code(2);
        assert!(
            run.stderr.contains("no terminal to type its passphrase")
                && run.stderr.contains("HPK_PASSPHRASE")
                && run.stderr.contains("--passphrase-file"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(fs::read(dir.join("standard.hpk")).unwrap(), before);
}

#[test]
fn pack_replaces_a_package_only_with_force() {
    let dir = copy_world("auth-pack");
    let signed = fs::read(dir.join("standard.hpk")).unwrap();
    let run = hpk_in(&dir, &["pack", "standard.toml", "--out", "standard.hpk"]).expect_code(2);
    assert!(run.stderr.contains("standard.hpk exists"), "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(fs::read(dir.join("standard.hpk")).unwrap(), signed);
    hpk_in(
        &dir,
        &["pack", "standard.toml", "--out", "standard.hpk", "--force"],
    )
    .ok();
    let unsigned = fs::read(dir.join("standard.hpk")).unwrap();
    assert_ne!(unsigned, signed);
    let shown = hpk_in(&dir, &["inspect", "standard.hpk", "--json"]).ok();
    assert_eq!(json(&shown.stdout)["signatures"], serde_json::json!([]));
}

#[test]
fn a_signed_root_is_renewed_as_its_next_version() {
    let dir = copy_world("auth-renew");
    hpk_in(
        &dir,
        &[
            "root",
            "renew",
            "root.hpkroot",
            "--expires",
            "2028-01-01",
            "--out",
            "renewed.hpkroot",
        ],
    )
    .ok();
    let old = json(
        &hpk_in(&dir, &["inspect", "root.hpkroot", "--json"])
            .ok()
            .stdout,
    );
    let new = json(
        &hpk_in(&dir, &["inspect", "renewed.hpkroot", "--json"])
            .ok()
            .stdout,
    );
    assert_eq!(new["version"], old["version"].as_u64().unwrap() + 1);
    assert_eq!(new["expires"], 1_830_297_600u64);
    assert_eq!(new["roles"], old["roles"]);
    assert_eq!(new["keys"], old["keys"]);
    assert_eq!(new["signatures"], serde_json::json!([]));
    assert_eq!(new["verified"], false);
    // Signed by the root key, devices holding the old root accept it.
    hpk_in(
        &dir,
        &["root", "sign", "renewed.hpkroot", "--key", "keys/root.key"],
    )
    .ok();
    hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "renewed.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();
    // The next version never replaces the signed file it comes from.
    hpk_in(
        &dir,
        &[
            "root",
            "renew",
            "renewed.hpkroot",
            "--expires-in",
            "30",
            "--out",
            "renewed.hpkroot",
            "--force",
        ],
    )
    .expect_code(2);
    // --expires-in counts from the new version's creation time.
    hpk_in(
        &dir,
        &[
            "root",
            "renew",
            "renewed.hpkroot",
            "--expires-in",
            "30d",
            "--out",
            "third.hpkroot",
        ],
    )
    .ok();
    let third = json(
        &hpk_in(&dir, &["inspect", "third.hpkroot", "--json"])
            .ok()
            .stdout,
    );
    assert_eq!(
        third["expires"].as_u64().unwrap(),
        third["created"].as_u64().unwrap() + 30 * 86_400
    );
    // A signed root is never renewed in place.
    let run = hpk_in(
        &dir,
        &["root", "renew", "root.hpkroot", "--expires-in", "30"],
    )
    .expect_code(2);
    assert!(run.stderr.contains("--out"), "{}", run.stderr);
}

#[test]
fn an_unsigned_root_is_shown_and_renewed_in_place() {
    let dir = copy_world("auth-unsigned-root");
    hpk_in(
        &dir,
        &[
            "root",
            "init",
            "--out",
            "draft.hpkroot",
            "--root-key",
            "keys/root.key.pub",
            "--release-key",
            "keys/release.key.pub",
            "--hotpatch-key",
            "keys/hotpatch.key.pub",
            "--recovery-key",
            "keys/recovery.key.pub",
            "--catalog-key",
            "keys/catalog.key.pub",
        ],
    )
    .ok();
    let shown = hpk_in(&dir, &["inspect", "draft.hpkroot"]).ok().stdout;
    assert!(
        shown.starts_with("trust root    draft.hpkroot [UNVERIFIED]\n"),
        "{shown}"
    );
    assert!(shown.contains("version       1\n"), "{shown}");
    assert!(shown.contains("signatures    none (unsigned)\n"), "{shown}");
    assert!(
        shown.contains("role          release threshold 1 of 1: "),
        "{shown}"
    );
    hpk_in(
        &dir,
        &["root", "renew", "draft.hpkroot", "--expires", "2030-01-01"],
    )
    .ok();
    let doc = json(
        &hpk_in(&dir, &["inspect", "draft.hpkroot", "--json"])
            .ok()
            .stdout,
    );
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["expires"], 1_893_456_000u64);
}

#[test]
fn catalog_entries_are_removed_and_clashes_refused() {
    let dir = copy_world("auth-catalog");
    let signed = json(
        &hpk_in(&dir, &["inspect", "catalog.hpkcat", "--json"])
            .ok()
            .stdout,
    );
    let entries = signed["entries"].as_array().unwrap();
    let count = entries.len();
    let standard = entries
        .iter()
        .find(|e| e["name"] == "fixture-standard")
        .unwrap()
        .clone();
    // By name and version, from a signed catalog: its next version, unsigned.
    hpk_in(
        &dir,
        &[
            "catalog",
            "remove",
            "catalog.hpkcat",
            "--name",
            "fixture-standard",
            "--version",
            standard["version"].as_str().unwrap(),
        ],
    )
    .ok();
    let after = json(
        &hpk_in(&dir, &["inspect", "catalog.hpkcat", "--json"])
            .ok()
            .stdout,
    );
    assert_eq!(after["entries"].as_array().unwrap().len(), count - 1);
    assert_eq!(after["version"], signed["version"].as_u64().unwrap() + 1);
    assert_eq!(after["signatures"], serde_json::json!([]));
    assert!(
        !after["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "fixture-standard")
    );
    // Added back, then removed by digest: unsigned, so edited in place.
    hpk_in(&dir, &["catalog", "add", "catalog.hpkcat", "standard.hpk"]).ok();
    hpk_in(
        &dir,
        &[
            "catalog",
            "remove",
            "catalog.hpkcat",
            "--digest",
            standard["manifest_digest"].as_str().unwrap(),
        ],
    )
    .ok();
    let again = json(
        &hpk_in(&dir, &["inspect", "catalog.hpkcat", "--json"])
            .ok()
            .stdout,
    );
    assert_eq!(again["version"], after["version"]);
    assert_eq!(again["entries"], after["entries"]);
    // Neither selector: an argument error.
    hpk_in(&dir, &["catalog", "remove", "catalog.hpkcat"]).expect_code(2);
}

#[test]
fn inspect_shows_catalogs_verified_or_not() {
    let dir = copy_world("auth-inspect-catalog");
    let shown = hpk_in(&dir, &["inspect", "catalog.hpkcat"]).ok().stdout;
    assert!(
        shown.starts_with("catalog       catalog.hpkcat [UNVERIFIED]\n"),
        "{shown}"
    );
    assert!(shown.contains("entry         fixture-standard "), "{shown}");
    let verified = hpk_in(
        &dir,
        &[
            "inspect",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok()
    .stdout;
    assert!(
        verified.starts_with("catalog       catalog.hpkcat [verified]\n"),
        "{verified}"
    );
    // An unsigned catalog does not verify.
    hpk_in(&dir, &["catalog", "new", "--out", "draft.hpkcat"]).ok();
    hpk_in(
        &dir,
        &[
            "inspect",
            "draft.hpkcat",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .expect_code(1);
    let draft = hpk_in(&dir, &["inspect", "draft.hpkcat"]).ok().stdout;
    assert!(draft.contains("signatures    none (unsigned)\n"), "{draft}");
    assert!(draft.contains("entries       none\n"), "{draft}");
}

#[test]
fn out_files_are_replaced_only_with_force() {
    let dir = copy_world("auth-out-force");
    fs::write(dir.join("taken"), b"someone else's file").unwrap();
    let cases: [&[&str]; 6] = [
        &[
            "sign",
            "standard.hpk",
            "--key",
            "keys/release.key",
            "--out",
            "taken",
        ],
        &["tbs", "standard.hpk", "--out", "taken"],
        &["root", "tbs", "root.hpkroot", "--out", "taken"],
        &[
            "root",
            "sign",
            "root.hpkroot",
            "--key",
            "keys/root.key",
            "--out",
            "taken",
        ],
        &["catalog", "tbs", "catalog.hpkcat", "--out", "taken"],
        &[
            "catalog",
            "sign",
            "catalog.hpkcat",
            "--key",
            "keys/catalog.key",
            "--out",
            "taken",
        ],
    ];
    for args in cases {
        let run = hpk_in(&dir, args).expect_code(2);
        assert!(run.stderr.contains("taken exists"), "{}", run.stderr);
        assert_eq!(fs::read(dir.join("taken")).unwrap(), b"someone else's file");
        let mut forced = args.to_vec();
        forced.push("--force");
        hpk_in(&dir, &forced).ok();
        fs::write(dir.join("taken"), b"someone else's file").unwrap();
    }
    // Signing in place, or with --out naming the file itself, is no clash.
    hpk_in(
        &dir,
        &[
            "sign",
            "standard.hpk",
            "--key",
            "keys/release.key",
            "--out",
            "standard.hpk",
        ],
    )
    .ok();
}
