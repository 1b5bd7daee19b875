//! The normative check order on the command line (`spec/SPEC.md`, "Check
//! order" and "Depth"): the policy before any payload byte, header depth
//! ending with the file's length, stable reasons for every policy failure
//! in JSON, and rotation chains checked in one call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, Run, copy_world, hpk_in};
use serde_json::Value;
use std::path::Path;

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "`{}` printed no JSON document: {e}\n{}",
            run.line, run.stdout
        )
    })
}

/// `baseline.hpk` changed by `f`, written as `name`.
fn damaged(dir: &Path, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(dir.join("baseline.hpk")).unwrap();
    f(&mut bytes);
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn verify(dir: &Path, file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["verify", file, "--root", "root.hpkroot", "--now", NOW];
    args.extend_from_slice(extra);
    args.push("--json");
    hpk_in(dir, &args)
}

#[test]
fn verify_judges_the_device_policy_before_any_payload_byte() {
    let dir = copy_world("order-policy-first");
    // An x64 package whose last stored byte is damaged, on an arm64
    // device: not applicable (VP9), not integrity (VP11).
    damaged(&dir, "damaged.hpk", |b| {
        let last = b.len() - 1;
        b[last] ^= 1;
    });
    for depth in [&[][..], &["--deep"][..], &["--header-only"][..]] {
        let mut extra = vec!["--device", "devices/arm64-enterprise.toml"];
        extra.extend_from_slice(depth);
        let run = verify(&dir, "damaged.hpk", &extra).expect_code(3);
        let doc = json(&run);
        assert_eq!(doc["schema"], "hpk-verify/1", "{depth:?}");
        assert_eq!(doc["reason"], "wrong-architecture", "{depth:?}");
    }
    // Without the device, the damage is what is wrong.
    let run = verify(&dir, "damaged.hpk", &[]).expect_code(1);
    assert_eq!(json(&run)["class"], "integrity");
    // `hpk extract` agrees, and writes nothing.
    let run = hpk_in(
        &dir,
        &[
            "extract",
            "damaged.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/arm64-enterprise.toml",
            "--now",
            NOW,
            "--out",
            "out",
        ],
    )
    .expect_code(3);
    assert!(run.stderr.contains("wrong-architecture"), "{}", run.stderr);
}

#[test]
fn header_only_checks_the_length_last_and_calls_it_malformed() {
    let dir = copy_world("order-header-depth");
    damaged(&dir, "short.hpk", |b| {
        b.pop();
    });
    damaged(&dir, "long.hpk", |b| b.push(0));
    for file in ["short.hpk", "long.hpk"] {
        let run = verify(&dir, file, &["--header-only"]).expect_code(1);
        let doc = json(&run);
        assert_eq!(doc["schema"], "hpk-error/1", "{file}");
        assert_eq!(doc["class"], "malformed", "{file}");
        assert_eq!(doc["reason"], Value::Null, "{file}");
        // The policy comes before the length: a truncated package that is
        // not for the device is not applicable, at every depth.
        for depth in [&["--header-only"][..], &[][..]] {
            let mut extra = vec!["--device", "devices/arm64-enterprise.toml"];
            extra.extend_from_slice(depth);
            let run = verify(&dir, file, &extra).expect_code(3);
            assert_eq!(json(&run)["reason"], "wrong-architecture", "{file}");
        }
    }
}

#[test]
fn policy_failures_of_roots_and_catalogs_have_stable_reasons() {
    let dir = copy_world("order-reasons");
    let run = hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "root.hpkroot",
            "--now",
            "2030-01-01",
            "--json",
        ],
    )
    .expect_code(1);
    let doc = json(&run);
    assert_eq!(doc["schema"], "hpk-error/1");
    assert_eq!(doc["class"], "policy");
    assert_eq!(doc["reason"], "expired");

    let run = hpk_in(
        &dir,
        &[
            "catalog",
            "verify",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--last-seen",
            "999",
            "--now",
            NOW,
            "--json",
        ],
    )
    .expect_code(1);
    let doc = json(&run);
    assert_eq!(doc["class"], "policy");
    assert_eq!(doc["reason"], "rollback");

    let run = hpk_in(
        &dir,
        &[
            "catalog",
            "verify",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--now",
            "2029-01-01",
            "--json",
        ],
    )
    .expect_code(1);
    assert_eq!(json(&run)["reason"], "expired");

    // A rotation to a version that is not the next one.
    let run = hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "root.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            NOW,
            "--json",
        ],
    )
    .expect_code(1);
    let doc = json(&run);
    assert_eq!(doc["class"], "policy");
    assert_eq!(doc["reason"], "wrong-version");

    // Other classes have no reason.
    std::fs::write(dir.join("junk.hpkroot"), b"not a root").unwrap();
    let run = hpk_in(&dir, &["root", "verify", "junk.hpkroot", "--json"]).expect_code(1);
    let doc = json(&run);
    assert_eq!(doc["class"], "malformed");
    assert_eq!(doc["reason"], Value::Null);
}

/// Makes the next version of `from` (adding `key` to the hotpatch role),
/// expiring `days` after the fixture's creation, signed by the root key.
fn next_root(dir: &Path, from: &str, to: &str, key: &str, days: &str) {
    hpk_in(
        dir,
        &[
            "root",
            "add-key",
            from,
            "--role",
            "hotpatch",
            "--pubkey",
            key,
            "--out",
            to,
            "--expires-in",
            days,
        ],
    )
    .ok();
    hpk_in(dir, &["root", "sign", to, "--key", "keys/root.key"]).ok();
}

#[test]
fn root_verify_checks_a_whole_chain_through_an_expired_middle_root() {
    let dir = copy_world("order-chain");
    // v2 expires ten days after the fixture's creation (2026-01-11); v3
    // is valid on NOW (2026-06-01).
    next_root(
        &dir,
        "root.hpkroot",
        "v2.hpkroot",
        "keys/release.key.pub",
        "10",
    );
    next_root(
        &dir,
        "v2.hpkroot",
        "v3.hpkroot",
        "keys/recovery.key.pub",
        "365",
    );

    let run = hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "v2.hpkroot",
            "v3.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            NOW,
            "--json",
        ],
    )
    .ok();
    let doc = json(&run);
    assert_eq!(doc["schema"], "hpk-root/1");
    assert_eq!(doc["version"], 3);
    assert_eq!(doc["file"], "v3.hpkroot");
    assert_eq!(doc["trusted"], "root.hpkroot");
    assert_eq!(
        doc["chain"],
        serde_json::json!(["v2.hpkroot", "v3.hpkroot"])
    );

    // Without --trusted, the first root is the pinned one.
    let run = hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "root.hpkroot",
            "v2.hpkroot",
            "v3.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();
    assert!(
        run.stdout.starts_with("OK: trust root version 3"),
        "{}",
        run.stdout
    );

    // One step at a time, the expired v2 stops the chain: that is why the
    // chain is checked in one call.
    let run = hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "v2.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            NOW,
            "--json",
        ],
    )
    .expect_code(1);
    assert_eq!(json(&run)["reason"], "expired");

    // A chain that skips v2 is refused at the step that fails.
    let run = hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "v3.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            NOW,
            "--json",
        ],
    )
    .expect_code(1);
    let doc = json(&run);
    assert_eq!(doc["reason"], "wrong-version");
    assert!(
        doc["error"].as_str().unwrap().contains("v3.hpkroot"),
        "{doc}"
    );
}
