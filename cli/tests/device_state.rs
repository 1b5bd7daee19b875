//! `hpk device record-install` and `hpk device record-catalog` end to end:
//! the device profile moves as `spec/SPEC.md` ("Keeping the device state")
//! says, `hpk plan` and `hpk verify` follow it, a delta package is recorded
//! as its full package, and every refusal leaves the profile byte for byte
//! as it was, with no temporary file beside it.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, Run, copy_world, hpk_in, manifest_digest, noise};
use hpk_verify::DeviceProfile;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// The state folder of a test: a copy of the fixture's x64 Enterprise
/// device (`profile`) alone in `state/`, so that leftovers show.
fn state_dir(dir: &Path, profile: &str) -> PathBuf {
    let state = dir.join("state");
    fs::create_dir_all(&state).unwrap();
    fs::copy(dir.join("devices").join(profile), state.join("device.toml")).unwrap();
    state
}

/// `hpk device record-install PKG` on `state/device.toml`, judged at
/// [`NOW`], with extra arguments.
fn record_install(dir: &Path, package: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "device",
        "record-install",
        package,
        "--root",
        "root.hpkroot",
        "--device",
        "state/device.toml",
        "--now",
        NOW,
    ];
    args.extend_from_slice(extra);
    hpk_in(dir, &args)
}

/// `hpk device record-catalog CAT` on `state/device.toml`, with extra
/// arguments.
fn record_catalog(dir: &Path, catalog: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "device",
        "record-catalog",
        catalog,
        "--root",
        "root.hpkroot",
        "--device",
        "state/device.toml",
    ];
    args.extend_from_slice(extra);
    hpk_in(dir, &args)
}

/// The device profile as the library reads it.
fn profile(dir: &Path) -> DeviceProfile {
    let text = fs::read_to_string(dir.join("state/device.toml")).unwrap();
    DeviceProfile::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `hpk plan --json` for `state/device.toml` at [`NOW`].
fn plan(dir: &Path, catalog: &str) -> Value {
    let run = hpk_in(
        dir,
        &[
            "plan",
            "--catalog",
            catalog,
            "--root",
            "root.hpkroot",
            "--device",
            "state/device.toml",
            "--now",
            NOW,
            "--json",
        ],
    )
    .ok();
    serde_json::from_str(&run.stdout).unwrap()
}

/// The manifest digests of a plan's steps, in order.
fn steps(plan: &Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entry"]["manifest_digest"].as_str().unwrap().to_owned())
        .collect()
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `attempt` and checks that it failed with `code` and left the
/// profile as it was, with nothing else in its folder. Returns the run.
#[track_caller]
fn refused(dir: &Path, code: i32, attempt: impl FnOnce() -> Run) -> Run {
    let state = dir.join("state");
    let before = fs::read(state.join("device.toml")).unwrap();
    let run = attempt().expect_code(code);
    assert_eq!(
        fs::read(state.join("device.toml")).unwrap(),
        before,
        "`{}` changed the device profile",
        run.line
    );
    assert_eq!(names(&state), ["device.toml"], "`{}` left files", run.line);
    assert!(
        run.stdout.is_empty() || run.line.contains("--json"),
        "{}",
        run.stdout
    );
    run
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}):\n{}", run.line, run.stdout))
}

#[test]
fn recording_a_baseline_then_its_hotpatch_moves_the_device_and_the_plan_along() {
    let dir = copy_world("device-lineage");
    state_dir(&dir, "x64-enterprise.toml");
    let baseline = manifest_digest(&dir, "baseline.hpk");
    let hotpatch = manifest_digest(&dir, "hotpatch.hpk");
    assert_eq!(
        steps(&plan(&dir, "catalog.hpkcat")),
        [baseline.as_str(), hotpatch.as_str()]
    );

    let run = record_install(&dir, "baseline.hpk", &[]).ok();
    assert_eq!(
        run.stdout.trim(),
        format!(
            "recorded baseline fixture-baseline 10.0.1.0 in state/device.toml: \
             installed_baseline none -> {baseline}, security_floor 0 -> 30"
        )
    );
    let d = profile(&dir);
    assert_eq!(
        d.installed_baseline.map(|d| d.to_hex()),
        Some(baseline.clone())
    );
    assert_eq!(d.installed_hotpatch_sequence, 0);
    assert_eq!(d.security_floor, 30);
    assert!(d.revoked.is_empty());
    // What the device had stays: targeting, and no catalog recorded yet.
    assert_eq!(d.capabilities.len(), 1);
    assert_eq!(d.catalog_version, 0);
    // The plan now offers only the hotpatch, and the baseline is installed.
    let after = plan(&dir, "catalog.hpkcat");
    assert_eq!(steps(&after), [hotpatch.as_str()]);
    assert!(
        after["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["reason"] == "installed" && s["entry"]["manifest_digest"] == baseline),
        "{after}"
    );

    let run = record_install(&dir, "hotpatch.hpk", &[]).ok();
    assert_eq!(
        run.stdout.trim(),
        "recorded hotpatch fixture-hotpatch 10.0.1.1 in state/device.toml: \
         installed_hotpatch_sequence 0 -> 1"
    );
    assert_eq!(profile(&dir).installed_hotpatch_sequence, 1);
    assert_eq!(plan(&dir, "catalog.hpkcat")["status"], "up-to-date");

    // The same hotpatch again (an agent that crashed after recording and
    // runs again) is already recorded: success, and the file is untouched.
    let state = fs::read(dir.join("state/device.toml")).unwrap();
    let again = record_install(&dir, "hotpatch.hpk", &[]).ok();
    assert!(again.stdout.contains("already had it"), "{}", again.stdout);
    assert_eq!(fs::read(dir.join("state/device.toml")).unwrap(), state);

    // The next baseline revokes the hotpatch and raises the floor.
    let desc = common::BASELINE_TOML
        .replace("10.0.1.0", "10.0.2.0")
        .replace("security_version = 30", "security_version = 31")
        .replace(
            "security_floor = 30\n",
            &format!("security_floor = 31\nrevoke = [\"{hotpatch}\"]\n"),
        );
    fs::write(dir.join("baseline2.toml"), desc).unwrap();
    hpk_in(
        &dir,
        &[
            "pack",
            "baseline2.toml",
            "--out",
            "baseline2.hpk",
            "--key",
            "keys/release.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    let baseline2 = manifest_digest(&dir, "baseline2.hpk");
    let run = record_install(&dir, "baseline2.hpk", &[]).ok();
    assert_eq!(
        run.stdout.trim(),
        format!(
            "recorded baseline fixture-baseline 10.0.2.0 in state/device.toml: \
             installed_baseline {baseline} -> {baseline2}, installed_hotpatch_sequence 1 -> 0, \
             security_floor 30 -> 31, revoked 0 digests -> 1 digest"
        )
    );
    let d = profile(&dir);
    assert_eq!(d.installed_baseline.map(|d| d.to_hex()), Some(baseline2));
    assert_eq!(d.installed_hotpatch_sequence, 0);
    assert_eq!(d.security_floor, 31);
    assert_eq!(
        d.revoked.iter().map(|r| r.to_hex()).collect::<Vec<_>>(),
        [hotpatch]
    );
    // The old baseline is now below the floor: not recorded again.
    let old = refused(&dir, 3, || record_install(&dir, "baseline.hpk", &[]));
    assert!(
        old.stderr.contains("below-security-floor"),
        "{}",
        old.stderr
    );
    assert!(old.stderr.contains("nothing recorded"), "{}", old.stderr);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_package_the_device_would_not_install_is_not_recorded() {
    let dir = copy_world("device-refused");
    state_dir(&dir, "x64-home.toml");
    // Not for this edition: exit 3, as `hpk verify --device` says.
    let run = refused(&dir, 3, || record_install(&dir, "baseline.hpk", &[]));
    assert!(
        run.stderr
            .starts_with("error: baseline.hpk: authentic, but not applicable (wrong-edition)"),
        "{}",
        run.stderr
    );
    let verify = hpk_in(
        &dir,
        &[
            "verify",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "state/device.toml",
            "--now",
            NOW,
        ],
    );
    assert_eq!(verify.code, 3);

    // A hotpatch before its baseline, with --json: an hpk-error/1 verdict.
    fs::copy(
        dir.join("devices/x64-enterprise.toml"),
        dir.join("state/device.toml"),
    )
    .unwrap();
    let run = refused(&dir, 3, || {
        record_install(&dir, "hotpatch.hpk", &["--json"])
    });
    let doc = json_of(&run);
    assert_eq!(doc["schema"], "hpk-error/1");
    assert_eq!(doc["command"], "device record-install");
    assert_eq!(doc["result"], "not-applicable");
    assert_eq!(doc["class"], "policy");
    assert_eq!(doc["reason"], "wrong-baseline");
    assert_eq!(doc["exit_code"], 3);

    // Tampered: exit 1. An expired package: exit 3. A catalog given as the
    // package, a package that is not there: not recorded either.
    let mut bytes = fs::read(dir.join("baseline.hpk")).unwrap();
    bytes[200] ^= 1;
    fs::write(dir.join("tampered.hpk"), bytes).unwrap();
    refused(&dir, 1, || record_install(&dir, "tampered.hpk", &[]));
    // The standard update expired on 2026-03-01.
    let expired = refused(&dir, 3, || record_install(&dir, "standard.hpk", &[]));
    assert!(expired.stderr.contains("(expired)"), "{}", expired.stderr);
    refused(&dir, 1, || record_install(&dir, "catalog.hpkcat", &[]));
    refused(&dir, 4, || record_install(&dir, "missing.hpk", &[]));

    // The profile is rewritten: never standard input, nor a pipe.
    let stdin = hpk_in(
        &dir,
        &[
            "device",
            "record-install",
            "baseline.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "-",
        ],
    )
    .expect_code(2);
    assert!(stdin.stderr.contains("standard input"), "{}", stdin.stderr);
    let catalog = hpk_in(
        &dir,
        &[
            "device",
            "record-catalog",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--device",
            "-",
            "--json",
        ],
    )
    .expect_code(2);
    assert_eq!(json_of(&catalog)["result"], "usage");
    let _ = fs::remove_dir_all(&dir);
}

/// A description of `kind` over the tree `tree-TREE`.
fn description(kind: &str, version: &str, tree: &str, extra: &str) -> String {
    format!(
        "name = \"os\"\nkind = \"{kind}\"\nversion = \"{version}\"\nsecurity_version = 1\n\
         created = 2026-01-01T00:00:00Z\n{extra}\n[targets]\nos = \"windows\"\n\
         architectures = [\"x64\"]\n\n[[payloads]]\ndir = \"tree-{tree}\"\n"
    )
}

/// January's baseline, April's as a full package and as a delta of
/// January's, a hotpatch on April's, and a signed catalog of them.
fn delta_fixture(name: &str) -> PathBuf {
    let dir = copy_world(name);
    let write = |tree: &str, file: &str, bytes: &[u8]| {
        let path = dir.join(format!("tree-{tree}")).join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    };
    let kernel = noise(120_000, 41);
    let mut april = kernel.clone();
    april[5_000] ^= 0x5a;
    april[90_000] ^= 0x33;
    write("jan", "System32/kernel.exe", &kernel);
    write("jan", "Fonts/font.ttf", &noise(30_000, 42));
    write("apr", "System32/kernel.exe", &april);
    write("apr", "Fonts/font.ttf", &noise(30_000, 42));
    write("hp", "hotpatch/kernel.hp", &noise(5_000, 43));
    let pack = |desc: &str, out: &str, key: &str, extra: &[&str]| {
        let mut args = vec![
            "pack",
            desc,
            "--out",
            out,
            "--key",
            key,
            "--root",
            "root.hpkroot",
        ];
        args.extend_from_slice(extra);
        hpk_in(&dir, &args).ok();
    };
    let files = [
        ("jan.toml", description("baseline", "1.0", "jan", "")),
        ("apr.toml", description("baseline", "2.0", "apr", "")),
        (
            "hp.toml",
            description(
                "hotpatch",
                "2.0.1",
                "hp",
                "[hotpatch]\nbaseline = \"apr-full.hpk\"\nsequence = 1\n",
            ),
        ),
    ];
    for (file, text) in files {
        fs::write(dir.join(file), text).unwrap();
    }
    pack("jan.toml", "jan.hpk", "keys/release.key", &[]);
    pack("apr.toml", "apr-full.hpk", "keys/release.key", &[]);
    pack(
        "apr.toml",
        "apr.hpk",
        "keys/release.key",
        &["--delta-from", "jan.hpk"],
    );
    pack("hp.toml", "hp.hpk", "keys/hotpatch.key", &[]);
    let catalog = |args: &[&str]| {
        let mut all = vec!["catalog"];
        all.extend_from_slice(args);
        hpk_in(&dir, &all).ok();
    };
    catalog(&[
        "new",
        "--out",
        "c.hpkcat",
        "--version",
        "5",
        "--created",
        "2026-01-01",
        "--expires-in",
        "3650",
    ]);
    catalog(&["add", "c.hpkcat", "jan.hpk", "apr-full.hpk", "hp.hpk"]);
    catalog(&[
        "add",
        "c.hpkcat",
        "apr.hpk",
        "--delta-of",
        "jan.hpk",
        "--full",
        "apr-full.hpk",
    ]);
    catalog(&[
        "sign",
        "c.hpkcat",
        "--key",
        "keys/catalog.key",
        "--root",
        "root.hpkroot",
    ]);
    let jan = manifest_digest(&dir, "jan.hpk");
    fs::create_dir_all(dir.join("state")).unwrap();
    fs::write(
        dir.join("state/device.toml"),
        format!("os = \"windows\"\narchitecture = \"x64\"\ninstalled_baseline = \"{jan}\"\n"),
    )
    .unwrap();
    dir
}

#[test]
fn a_delta_package_is_recorded_as_its_full_package() {
    let dir = delta_fixture("device-delta");
    let delta = manifest_digest(&dir, "apr.hpk");
    let full = manifest_digest(&dir, "apr-full.hpk");
    let hotpatch = manifest_digest(&dir, "hp.hpk");
    // With January installed, the plan takes April as a delta, then the
    // hotpatch on April (which names the full package).
    assert_eq!(
        steps(&plan(&dir, "c.hpkcat")),
        [delta.as_str(), hotpatch.as_str()]
    );

    // Without the catalog, the full package is unknown: nothing recorded.
    let run = refused(&dir, 2, || record_install(&dir, "apr.hpk", &[]));
    assert!(run.stderr.contains("delta package"), "{}", run.stderr);
    assert!(run.stderr.contains("--catalog"), "{}", run.stderr);
    // A catalog without the package: nothing recorded either.
    let run = refused(&dir, 2, || {
        record_install(&dir, "apr.hpk", &["--catalog", "catalog.hpkcat"])
    });
    assert!(run.stderr.contains("has no entry"), "{}", run.stderr);

    let run = record_install(&dir, "apr.hpk", &["--catalog", "c.hpkcat", "--json"]).ok();
    let doc = json_of(&run);
    assert_eq!(doc["schema"], "hpk-device-record-install/1");
    assert_eq!(doc["catalog"], "c.hpkcat");
    assert_eq!(doc["package"]["manifest_digest"], delta.as_str());
    assert_eq!(doc["recorded_as"], full.as_str());
    assert_eq!(doc["delta"], true);
    assert_eq!(doc["written"], true);
    assert_eq!(doc["changed"], serde_json::json!(["installed_baseline"]));
    assert_eq!(doc["after"]["installed_baseline"], full.as_str());
    assert_eq!(
        profile(&dir).installed_baseline.map(|d| d.to_hex()),
        Some(full.clone())
    );
    // The hotpatch on the full package now applies, and is what is left.
    assert_eq!(steps(&plan(&dir, "c.hpkcat")), [hotpatch.as_str()]);
    hpk_in(
        &dir,
        &[
            "verify",
            "hp.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "state/device.toml",
            "--now",
            NOW,
        ],
    )
    .ok();

    // A full package with --catalog is recorded as itself, once its entry
    // is found; recording it again changes nothing and writes nothing.
    let before = fs::read(dir.join("state/device.toml")).unwrap();
    let run = record_install(&dir, "apr-full.hpk", &["--catalog", "c.hpkcat"]).ok();
    assert_eq!(
        run.stdout.trim(),
        "recorded baseline os 2.0: state/device.toml already had it (unchanged)"
    );
    assert_eq!(fs::read(dir.join("state/device.toml")).unwrap(), before);
    let run = refused(&dir, 2, || {
        record_install(&dir, "apr-full.hpk", &["--catalog", "catalog.hpkcat"])
    });
    assert!(run.stderr.contains("has no entry"), "{}", run.stderr);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_delta_package_listed_as_a_full_one_is_not_recorded() {
    let dir = delta_fixture("device-delta-unlisted");
    // `hpk catalog add` refuses to list a delta package without what it is
    // a delta of; another publishing tool might not.
    let mut entry = hpk_sign::catalog::delta_entry_for_package(
        &dir.join("apr.hpk"),
        None,
        &dir.join("jan.hpk"),
        &dir.join("apr-full.hpk"),
    )
    .unwrap();
    entry.delta = None;
    let created = 1_767_225_600;
    let mut c = hpk_sign::catalog::new_catalog(1, created, created + 3650 * 86_400);
    hpk_sign::catalog::add_entry(&mut c, entry).unwrap();
    hpk_sign::catalog::save_catalog(&dir.join("bad.hpkcat"), &c).unwrap();
    hpk_in(
        &dir,
        &["catalog", "sign", "bad.hpkcat", "--key", "keys/catalog.key"],
    )
    .ok();
    let run = refused(&dir, 2, || {
        record_install(&dir, "apr.hpk", &["--catalog", "bad.hpkcat"])
    });
    assert!(run.stderr.contains("as a full package"), "{}", run.stderr);
    assert!(run.stderr.contains("--delta-of"), "{}", run.stderr);
    let _ = fs::remove_dir_all(&dir);
}

/// A signed catalog of the fixture's baseline, version `version`, created
/// at `created`.
fn catalog_version(dir: &Path, out: &str, version: &str, created: &str) {
    hpk_in(
        dir,
        &[
            "catalog",
            "new",
            "--out",
            out,
            "--version",
            version,
            "--created",
            created,
            "--expires-in",
            "365",
        ],
    )
    .ok();
    hpk_in(dir, &["catalog", "add", out, "baseline.hpk"]).ok();
    hpk_in(dir, &["catalog", "sign", out, "--key", "keys/catalog.key"]).ok();
}

#[test]
fn recording_a_catalog_raises_the_floor_and_a_stale_catalog_is_refused() {
    let dir = copy_world("device-catalog");
    let state = state_dir(&dir, "x64-enterprise.toml");
    catalog_version(&dir, "c4.hpkcat", "4", "2026-01-01");
    let role = plan(&dir, "catalog.hpkcat")["catalog_role"]
        .as_str()
        .unwrap()
        .to_owned();

    let run = record_catalog(&dir, "catalog.hpkcat", &["--now", NOW]).ok();
    assert_eq!(
        run.stdout.trim(),
        format!(
            "recorded catalog version 3 in state/device.toml: catalog_version 0 -> 3, \
             catalog_role none -> {role}"
        )
    );
    let d = profile(&dir);
    assert_eq!(d.catalog_version, 3);
    assert_eq!(d.catalog_role.map(|r| r.to_hex()), Some(role.clone()));
    assert_eq!(names(&state), ["device.toml"]);

    let run = record_catalog(&dir, "c4.hpkcat", &["--now", NOW, "--json"]).ok();
    let doc = json_of(&run);
    assert_eq!(doc["schema"], "hpk-device-record-catalog/1");
    assert_eq!(doc["version"], 4);
    assert_eq!(doc["catalog_role"], role.as_str());
    assert_eq!(doc["changed"], serde_json::json!(["catalog_version"]));
    assert_eq!(doc["before"]["catalog_version"], 3);
    assert_eq!(doc["after"]["catalog_version"], 4);
    assert_eq!(doc["written"], true);
    assert_eq!(profile(&dir).catalog_version, 4);

    // Version 3 is now a replay, for this command and for `hpk plan`.
    let stale = refused(&dir, 1, || {
        record_catalog(&dir, "catalog.hpkcat", &["--now", NOW, "--json"])
    });
    let doc = json_of(&stale);
    assert_eq!(doc["schema"], "hpk-error/1");
    assert_eq!(doc["reason"], "rollback");
    assert!(stale.stderr.contains("stale"), "{}", stale.stderr);
    hpk_in(
        &dir,
        &[
            "plan",
            "--catalog",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
            "--device",
            "state/device.toml",
            "--now",
            NOW,
        ],
    )
    .expect_code(1);
    assert_eq!(plan(&dir, "c4.hpkcat")["catalog_version"], 4);

    // The same catalog again: nothing new, the file (comments included)
    // left as it was.
    let mut text = fs::read_to_string(state.join("device.toml")).unwrap();
    text.insert_str(0, "# kept by the update agent\n");
    fs::write(state.join("device.toml"), &text).unwrap();
    let run = record_catalog(&dir, "c4.hpkcat", &["--now", NOW, "--json"]).ok();
    let doc = json_of(&run);
    assert_eq!(doc["written"], false);
    assert_eq!(doc["changed"], serde_json::json!([]));
    assert_eq!(fs::read_to_string(state.join("device.toml")).unwrap(), text);

    // An expired catalog, a package given as a catalog: refused.
    refused(&dir, 1, || {
        record_catalog(&dir, "c4.hpkcat", &["--now", "2027-06-01"])
    });
    refused(&dir, 1, || {
        record_catalog(&dir, "baseline.hpk", &["--now", NOW])
    });
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn in_recovery_a_catalog_raises_the_time_lower_bound() {
    let dir = copy_world("device-recovery");
    state_dir(&dir, "recovery.toml");
    catalog_version(&dir, "feb.hpkcat", "4", "2026-02-01");
    let run = record_catalog(&dir, "feb.hpkcat", &[]).ok();
    assert!(
        run.stdout
            .contains("catalog_version 0 -> 4, catalog_role none -> ")
            && run
                .stdout
                .contains("time_lower_bound 2026-01-01T00:00:00Z -> 2026-02-01T00:00:00Z"),
        "{}",
        run.stdout
    );
    let d = profile(&dir);
    assert_eq!(d.time_lower_bound, Some(1_769_904_000));
    assert_eq!(d.mode, hpk_verify::ProfileMode::Recovery);
    // A recovery package is recorded (online it would be refused).
    record_install(&dir, "recovery.hpk", &[]).ok();
}

#[test]
fn a_profile_behind_a_symbolic_link_is_replaced_where_it_is() {
    let dir = copy_world("device-symlink");
    let state = state_dir(&dir, "x64-enterprise.toml");
    fs::create_dir_all(dir.join("real")).unwrap();
    fs::rename(state.join("device.toml"), dir.join("real/device.toml")).unwrap();
    std::os::unix::fs::symlink("../real/device.toml", state.join("device.toml")).unwrap();
    record_install(&dir, "baseline.hpk", &[]).ok();
    assert!(
        fs::symlink_metadata(state.join("device.toml"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    assert_eq!(profile(&dir).security_floor, 30);
    assert_eq!(names(&dir.join("real")), ["device.toml"]);
    assert_eq!(names(&state), ["device.toml"]);
    let _ = fs::remove_dir_all(&dir);
}
