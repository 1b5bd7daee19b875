//! Resolver vectors (`plan-*.vec`): a device profile and a catalog, and
//! the plan (`hpk-plan/1`, `spec/SPEC.md` Appendix A) that every
//! conforming resolver makes from them. The expected plans are written
//! here by hand from R1–R9 (track, status, the steps, the reason of every
//! other entry), never by calling the resolver; the generator then turns
//! them into JSON documents in `plans/`.

use super::{Case, Device, Gen};
use crate::build;
use hpk_format::{Catalog, CatalogEntry, Channel, DeltaOf, Digest, FileType, PackageKind};
use hpk_tests::{DAY, PackageSpec, T0, catalog_entry, tok};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The version of every catalog of these vectors.
const CATALOG_VERSION: u64 = 7;

/// The catalog entries the vectors draw from, by package name.
struct Fixtures {
    entries: BTreeMap<String, CatalogEntry>,
    /// The names of two standard updates of base-vbs's versions, with a
    /// smaller and a larger manifest digest than base-vbs.
    equal_smaller: String,
    equal_larger: String,
}

impl Fixtures {
    fn get(&self, name: &str) -> &CatalogEntry {
        let e = self
            .entries
            .get(name)
            .unwrap_or_else(|| panic!("no fixture {name}"));
        assert_eq!(e.name.as_str(), name, "fixture listed under another name");
        e
    }

    fn digest(&self, name: &str) -> Digest {
        self.get(name).manifest_digest
    }

    /// The two names, the one with the smaller manifest digest first.
    fn by_digest<'a>(&self, a: &'a str, b: &'a str) -> (&'a str, &'a str) {
        if self.digest(a) < self.digest(b) {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Builds, signs and lists `spec` as a delta entry: a delta of the
    /// package `base` with the same files as the full package `full`
    /// (resolver vectors look only at catalog entries, so its payloads are
    /// stored whole); returns its manifest digest.
    fn add_delta(&mut self, g: &Gen, spec: PackageSpec, base: Digest, full: Digest) -> Digest {
        let digest = self.add(g, spec);
        let entry = self
            .entries
            .values_mut()
            .find(|e| e.manifest_digest == digest)
            .expect("just added");
        entry.delta = Some(DeltaOf { base, full });
        digest
    }

    /// Builds, signs and lists `spec`; returns its manifest digest.
    fn add(&mut self, g: &Gen, spec: PackageSpec) -> Digest {
        let built = spec.build();
        let name = built.manifest.name.to_string();
        let file = g.signed(&built);
        let entry = catalog_entry(&built, &file, &format!("packages/{name}.hpk"));
        assert!(
            self.entries.insert(name.clone(), entry).is_none(),
            "fixture {name} made twice"
        );
        built.digest()
    }
}

/// `spec` at content version `version` and security version `sv`, with
/// a readme that names it as its payload.
fn released(spec: PackageSpec, version: &str, sv: u64) -> PackageSpec {
    let readme = format!("hpk resolver vector package {}\n", spec.manifest.name);
    spec.version(version)
        .security_version(sv)
        .with_payload("readme.txt", readme.into_bytes())
}

fn baseline(name: &str, version: &str, sv: u64, floor: u64, revoked: &[Digest]) -> PackageSpec {
    released(
        PackageSpec::baseline_revoking(name, revoked, floor),
        version,
        sv,
    )
}

fn hotpatch(name: &str, base: Digest, sequence: u32, version: &str, sv: u64) -> PackageSpec {
    released(PackageSpec::hotpatch(name, base, sequence), version, sv)
}

/// A standard update for every edition.
fn standard(name: &str, version: &str, sv: u64) -> PackageSpec {
    released(PackageSpec::standard(name).every_edition(), version, sv)
}

fn recovery(name: &str, version: &str, sv: u64) -> PackageSpec {
    released(PackageSpec::recovery(name), version, sv)
}

fn arm64(mut spec: PackageSpec) -> PackageSpec {
    spec.manifest.targets.architectures = vec![tok("arm64")];
    spec
}

fn preview(mut spec: PackageSpec) -> PackageSpec {
    spec.manifest.targets.channel = Channel::Preview;
    spec
}

fn vbs(mut spec: PackageSpec) -> PackageSpec {
    spec.manifest.targets.capabilities = vec![tok("vbs")];
    spec
}

fn no_restart(mut spec: PackageSpec) -> PackageSpec {
    spec.manifest.restart_required = false;
    spec
}

const V: &str = "10.0.26100";

fn v(build: &str) -> String {
    format!("{V}.{build}")
}

fn fixtures(g: &Gen) -> Fixtures {
    let mut f = Fixtures {
        entries: BTreeMap::new(),
        equal_smaller: String::new(),
        equal_larger: String::new(),
    };
    let jan = f.add(g, baseline("base-jan", &v("1000"), 10, 0, &[]));
    f.add(g, hotpatch("hp-jan-1", jan, 1, &v("1100"), 11));
    let hp_jan_2 = f.add(g, hotpatch("hp-jan-2", jan, 2, &v("1200"), 12));
    f.add(g, hotpatch("hp-jan-2-twin", jan, 2, &v("1200"), 12));
    f.add(g, hotpatch("hp-jan-3", jan, 3, &v("1150"), 12));
    f.add(g, arm64(hotpatch("hp-jan-arm64", jan, 4, &v("1300"), 13)));
    f.add(g, hotpatch("hp-jan-5", jan, 5, &v("1400"), 14));
    let unlisted = Digest::of(b"a baseline no catalog of the vectors lists");
    f.add(g, hotpatch("hp-unlisted", unlisted, 1, &v("1100"), 11));
    let apr = f.add(g, baseline("base-apr", &v("2000"), 20, 15, &[hp_jan_2]));
    let hp_apr_1 = f.add(g, hotpatch("hp-apr-1", apr, 1, &v("2100"), 21));
    // Delta forms (R10): April's baseline as a delta of January's, its
    // first hotpatch as a delta of April's baseline.
    let apr_delta = baseline("base-apr-delta-jan", &v("2000"), 20, 15, &[hp_jan_2]);
    f.add_delta(g, apr_delta, jan, apr);
    let hp_delta = hotpatch("hp-apr-1-delta-apr", apr, 1, &v("2100"), 21);
    f.add_delta(g, hp_delta, apr, hp_apr_1);
    f.add(g, hotpatch("hp-apr-2", apr, 2, &v("2200"), 22));
    f.add(g, hotpatch("hp-apr-low", apr, 3, &v("2300"), 14));
    f.add(
        g,
        preview(baseline("base-apr-preview", &v("2000"), 20, 0, &[hp_jan_2])),
    );
    f.add(
        g,
        preview(baseline("base-revokes-jan", &v("2000"), 20, 0, &[jan])),
    );
    f.add(g, baseline("base-jul", &v("3000"), 30, 20, &[]));
    f.add(g, baseline("base-jul-twin", &v("3000"), 30, 20, &[]));
    f.add(g, baseline("base-jul-sv31", &v("3000"), 31, 20, &[]));
    f.add(g, baseline("base-oct-sv5", &v("4000"), 5, 0, &[]));
    f.add(g, baseline("base-999", &v("999"), 10, 0, &[]));
    f.add(g, baseline("base-jan-0", &v("1000.0"), 10, 0, &[]));
    f.add(g, arm64(baseline("base-arm64", &v("3000"), 30, 0, &[])));
    let base_vbs = f.add(g, vbs(baseline("base-vbs", &v("2000"), 20, 0, &[])));
    f.add(g, vbs(hotpatch("hp-vbs-1", base_vbs, 1, &v("2100"), 21)));
    f.add(g, vbs(baseline("base-vbs-high", &v("3000"), 10, 0, &[])));
    f.add(g, vbs(baseline("base-vbs-sv19", &v("2500"), 19, 0, &[])));
    let cu_feb = f.add(g, standard("cu-feb", &v("1500"), 15));
    let cu_may = f.add(g, standard("cu-may", &v("2500"), 25));
    f.add_delta(
        g,
        standard("cu-may-delta-feb", &v("2500"), 25),
        cu_feb,
        cu_may,
    );
    f.add(g, standard("cu-may-twin", &v("2500"), 25));
    f.add(g, arm64(standard("cu-arm64", &v("2600"), 26)));
    // Two standard updates of the same versions as base-vbs, one with a
    // smaller and one with a larger manifest digest: the first of each
    // among cu-apr-0, cu-apr-1, ...
    for i in 0.. {
        let name = format!("cu-apr-{i}");
        let spec = standard(&name, &v("2000"), 20);
        let slot = if spec.build().digest() < base_vbs {
            &mut f.equal_smaller
        } else {
            &mut f.equal_larger
        };
        if slot.is_empty() {
            *slot = name;
            f.add(g, spec);
        }
        if !f.equal_smaller.is_empty() && !f.equal_larger.is_empty() {
            break;
        }
    }
    f.add(g, recovery("fix-1", "1.0", 10));
    f.add(g, no_restart(recovery("fix-2", "2.0", 20)));
    f.add(g, no_restart(recovery("fix-2-twin", "2.0", 20)));
    f.add(g, arm64(recovery("fix-arm64", "3.0", 30)));
    f
}

/// A catalog entry as `hpk-plan/1` shows it (`spec/SPEC.md`, Appendix A):
/// the `Entry` object of `steps[].entry` and `skipped[].entry`.
pub fn entry_json(e: &CatalogEntry) -> Value {
    let t = &e.targets;
    let strs =
        |v: &[hpk_format::Token]| v.iter().map(|x| x.as_str().to_owned()).collect::<Vec<_>>();
    let mut out = json!({
        "name": e.name.as_str(),
        "version": e.version.to_string(),
        "kind": e.kind.name(),
        "security_version": e.security_version,
        "restart_required": e.restart_required,
        "targets": {
            "os": t.os.as_str(),
            "architectures": strs(&t.architectures),
            "editions": strs(&t.editions),
            "channel": t.channel.name(),
            "capabilities": strs(&t.capabilities),
        },
        "manifest_digest": e.manifest_digest.to_hex(),
        "size": e.size,
        "location": e.location,
        "delta": e.delta.map(|d| json!({"base": d.base.to_hex(), "full": d.full.to_hex()})),
    });
    let map = out.as_object_mut().expect("object");
    match &e.kind {
        PackageKind::Baseline(b) => {
            map.insert(
                "baseline".into(),
                json!({
                    "security_floor": b.security_floor,
                    "revoked_hotpatches": b.revoked_hotpatches.iter().map(Digest::to_hex).collect::<Vec<_>>(),
                }),
            );
        }
        PackageKind::Hotpatch(h) => {
            map.insert(
                "hotpatch".into(),
                json!({
                    "baseline": h.baseline.to_hex(),
                    "sequence": h.sequence,
                    "modules": h.modules.iter().map(|m| json!({
                        "path": m.path.as_str(),
                        "digest_before": m.digest_before.to_hex(),
                    })).collect::<Vec<_>>(),
                }),
            );
        }
        PackageKind::Standard | PackageKind::Recovery => {}
    }
    out
}

/// What the rules call for: the track, the status, the steps by entry
/// name, and the reason of every other entry by name.
struct Want<'a> {
    track: &'a str,
    status: &'a str,
    steps: Vec<&'a str>,
    skipped: Vec<(&'a str, &'a str)>,
}

fn want<'a>(
    track: &'a str,
    status: &'a str,
    steps: &[&'a str],
    skipped: &[(&'a str, &'a str)],
) -> Want<'a> {
    Want {
        track,
        status,
        steps: steps.to_vec(),
        skipped: skipped.to_vec(),
    }
}

fn recovery_device() -> Device {
    Device {
        profile: "recovery",
        ..Device::online()
    }
}

fn plan_case(
    g: &mut Gen,
    f: &Fixtures,
    name: &str,
    description: &str,
    device: &Device,
    names: &[&str],
    want: Want<'_>,
) {
    assert!(name.starts_with("plan-"), "{name}");
    let entries: Vec<CatalogEntry> = names.iter().map(|n| f.get(n).clone()).collect();
    // Every entry is decided exactly once: a step or skipped.
    let mut decided: Vec<&str> = want.steps.clone();
    decided.extend(want.skipped.iter().map(|(n, _)| *n));
    let mut sorted_names = names.to_vec();
    sorted_names.sort_unstable();
    decided.sort_unstable();
    assert_eq!(decided, sorted_names, "{name}: steps and skipped entries");
    let reason = |n: &str| want.skipped.iter().find(|(s, _)| *s == n).map(|(_, r)| *r);
    let steps: Vec<Value> = want
        .steps
        .iter()
        .map(|n| {
            let e = f.get(n);
            json!({"action": "install", "restart": e.restart_required, "entry": entry_json(e)})
        })
        .collect();
    let skipped: Vec<Value> = entries
        .iter()
        .filter_map(|e| {
            let r = reason(e.name.as_str())?;
            Some(json!({"reason": r, "entry": entry_json(e)}))
        })
        .collect();
    let status_ok = match want.status {
        "update" => !want.steps.is_empty(),
        "up-to-date" => {
            want.steps.is_empty()
                && want
                    .skipped
                    .iter()
                    .any(|(_, r)| *r == "superseded" || *r == "installed")
        }
        "not-eligible" => {
            want.steps.is_empty()
                && !want
                    .skipped
                    .iter()
                    .any(|(_, r)| *r == "superseded" || *r == "installed")
        }
        other => panic!("{name}: status {other}"),
    };
    assert!(status_ok, "{name}: status {} contradicts R9", want.status);
    let plan = json!({
        "schema": "hpk-plan/1",
        "catalog_version": CATALOG_VERSION,
        "catalog_role": catalog_role(hpk_tests::standard_root(&g.keys).roles.catalog.as_ref().expect("role")).to_hex(),
        "track": want.track,
        "status": want.status,
        "restart_required": want.steps.iter().any(|n| f.get(n).restart_required),
        "steps": steps,
        "skipped": skipped,
    });
    let mut text = serde_json::to_string_pretty(&plan).expect("plan JSON");
    text.push('\n');
    let plan_file = g.plan_file(&format!("{name}.json"), text.into_bytes());

    let catalog = Catalog {
        version: CATALOG_VERSION,
        created: T0,
        expires: T0 + 7 * DAY,
        entries,
        extensions: Vec::new(),
    };
    let bytes = build::metadata(
        FileType::Catalog,
        &[&g.keys.catalog],
        &build::encode_valid(&catalog),
    );
    let device_file = g.device(&format!("{name}.toml"), device);
    let mut case = Case::catalog(name, description, bytes)
        .device(&device_file)
        .last_seen(device.catalog_version)
        .expect_plan(&plan_file);
    if device.profile == "recovery" {
        case = case.lower_bound();
    }
    g.add(case);
}

/// Two vectors for a tie between `a` and `b` (equal on the key of R3): the
/// entry with the smaller manifest digest wins whether it comes first or
/// last in the catalog, after the entries of `before`.
#[allow(clippy::too_many_arguments)]
fn tie_cases(
    g: &mut Gen,
    f: &Fixtures,
    name: &str,
    description: &str,
    device: &Device,
    before: &[(&str, &str)],
    (a, b): (&str, &str),
    track: &str,
) {
    let (win, lose) = f.by_digest(a, b);
    for (order, pair) in [
        ("smaller-first", [win, lose]),
        ("smaller-last", [lose, win]),
    ] {
        let mut names: Vec<&str> = before.iter().map(|(n, _)| *n).collect();
        names.extend(pair);
        let mut skipped = before.to_vec();
        skipped.push((lose, "superseded"));
        plan_case(
            g,
            f,
            &format!("{name}-{order}"),
            &format!(
                "{description} The one with the smaller manifest digest comes {} in the catalog.",
                if order == "smaller-first" {
                    "first"
                } else {
                    "last"
                }
            ),
            device,
            &names,
            want(track, "update", &[win], &skipped),
        );
    }
}

pub fn add(g: &mut Gen) {
    let f = fixtures(g);
    let d0 = Device::online();
    let on = |name: &str, seq: u32| Device {
        installed_baseline: Some(f.digest(name)),
        installed_hotpatch_sequence: seq,
        ..Device::online()
    };
    let pro = Device {
        edition: "pro",
        ..Device::online()
    };
    let jan = ["base-jan", "hp-jan-1", "hp-jan-2"];

    // ----- Hotpatch track (R4, R5) -----
    plan_case(
        g,
        &f,
        "plan-hotpatch-new-device",
        "A device with no baseline: the baseline (restart), then the newest of its hotpatches (no restart).",
        &d0,
        &jan,
        want(
            "hotpatch",
            "update",
            &["base-jan", "hp-jan-2"],
            &[("hp-jan-1", "superseded")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-baseline-installed",
        "The baseline is installed (sequence 0): only the newest hotpatch, no restart.",
        &on("base-jan", 0),
        &jan,
        want(
            "hotpatch",
            "update",
            &["hp-jan-2"],
            &[("base-jan", "installed"), ("hp-jan-1", "superseded")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-sequence-not-newer",
        "Hotpatch 1 is installed: it is sequence-not-newer, hotpatch 2 is the step.",
        &on("base-jan", 1),
        &jan,
        want(
            "hotpatch",
            "update",
            &["hp-jan-2"],
            &[
                ("base-jan", "installed"),
                ("hp-jan-1", "sequence-not-newer"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-up-to-date",
        "Baseline and hotpatch 2 installed, catalog version already seen: up to date.",
        &Device {
            catalog_version: CATALOG_VERSION,
            ..on("base-jan", 2)
        },
        &jan,
        want(
            "hotpatch",
            "up-to-date",
            &[],
            &[
                ("base-jan", "installed"),
                ("hp-jan-1", "sequence-not-newer"),
                ("hp-jan-2", "sequence-not-newer"),
            ],
        ),
    );
    let next = [
        "base-jan", "hp-jan-1", "hp-jan-2", "base-apr", "hp-apr-1", "hp-apr-2",
    ];
    let next_want = || {
        want(
            "hotpatch",
            "update",
            &["base-apr", "hp-apr-2"],
            &[
                ("base-jan", "superseded"),
                ("hp-jan-1", "below-security-floor"),
                ("hp-jan-2", "below-security-floor"),
                ("hp-apr-1", "superseded"),
            ],
        )
    };
    plan_case(
        g,
        &f,
        "plan-hotpatch-next-baseline",
        "On base-jan with hotpatch 2; base-apr (floor 15, revokes hp-jan-2) is newer: base-apr then its newest hotpatch; the old hotpatches fall below the planned floor (checked before revocation).",
        &on("base-jan", 2),
        &next,
        next_want(),
    );
    let mut reversed = next;
    reversed.reverse();
    plan_case(
        g,
        &f,
        "plan-hotpatch-next-baseline-reversed",
        "plan-hotpatch-next-baseline with the catalog entries in reverse order: the same plan, skipped entries in the new catalog order.",
        &on("base-jan", 2),
        &reversed,
        next_want(),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-floor-of-planned-baseline",
        "A hotpatch with the highest sequence but security version 14, below the floor 15 of the baseline planned before it.",
        &d0,
        &["base-apr", "hp-apr-1", "hp-apr-low"],
        want(
            "hotpatch",
            "update",
            &["base-apr", "hp-apr-1"],
            &[("hp-apr-low", "below-security-floor")],
        ),
    );
    let with_preview = ["base-jan", "hp-jan-1", "hp-jan-2", "base-apr-preview"];
    plan_case(
        g,
        &f,
        "plan-hotpatch-revoked-by-other-baseline",
        "A preview baseline the device cannot take revokes hp-jan-2 (R1): revoked all the same; up to date on hotpatch 1.",
        &on("base-jan", 1),
        &with_preview,
        want(
            "hotpatch",
            "up-to-date",
            &[],
            &[
                ("base-jan", "installed"),
                ("hp-jan-1", "sequence-not-newer"),
                ("hp-jan-2", "revoked"),
                ("base-apr-preview", "wrong-channel"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-preview-device",
        "The same catalog on a device that opted into preview: the preview baseline is newer; the old baseline's hotpatches are wrong-baseline, or revoked (policy first).",
        &Device {
            channels: vec!["general", "preview"],
            ..on("base-jan", 1)
        },
        &with_preview,
        want(
            "hotpatch",
            "update",
            &["base-apr-preview"],
            &[
                ("base-jan", "superseded"),
                ("hp-jan-1", "wrong-baseline"),
                ("hp-jan-2", "revoked"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-revoked-by-device",
        "The device's own revoked list names hotpatch 2: hotpatch 1 is the step.",
        &Device {
            revoked: vec![f.digest("hp-jan-2")],
            ..on("base-jan", 0)
        },
        &jan,
        want(
            "hotpatch",
            "update",
            &["hp-jan-1"],
            &[("base-jan", "installed"), ("hp-jan-2", "revoked")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-wrong-baseline",
        "A hotpatch for a baseline the catalog does not list, on a new device: wrong-baseline.",
        &d0,
        &["base-jan", "hp-unlisted", "hp-jan-1"],
        want(
            "hotpatch",
            "update",
            &["base-jan", "hp-jan-1"],
            &[("hp-unlisted", "wrong-baseline")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-wrong-baseline-before-sequence",
        "On base-jan with hotpatch 3: a hotpatch of sequence 1 for another baseline is wrong-baseline (checked before the sequence).",
        &on("base-jan", 3),
        &["base-jan", "hp-unlisted", "hp-jan-2"],
        want(
            "hotpatch",
            "up-to-date",
            &[],
            &[
                ("base-jan", "installed"),
                ("hp-unlisted", "wrong-baseline"),
                ("hp-jan-2", "sequence-not-newer"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-hotpatch-targeting",
        "A hotpatch for the right baseline but arm64 only, on an x64 device: wrong-architecture (the common checks come before lineage).",
        &d0,
        &["base-jan", "hp-jan-arm64", "hp-jan-1"],
        want(
            "hotpatch",
            "update",
            &["base-jan", "hp-jan-1"],
            &[("hp-jan-arm64", "wrong-architecture")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-sequence-before-version",
        "Hotpatch 3 (content .1150) against hotpatch 2 (content .1200): the sequence decides first.",
        &on("base-jan", 0),
        &["base-jan", "hp-jan-2", "hp-jan-3"],
        want(
            "hotpatch",
            "update",
            &["hp-jan-3"],
            &[("base-jan", "installed"), ("hp-jan-2", "superseded")],
        ),
    );
    tie_cases(
        g,
        &f,
        "plan-hotpatch-hotpatch-tie",
        "Two hotpatches equal in sequence, content and security version: the smaller manifest digest wins.",
        &on("base-jan", 0),
        &[("base-jan", "installed")],
        ("hp-jan-2", "hp-jan-2-twin"),
        "hotpatch",
    );
    tie_cases(
        g,
        &f,
        "plan-hotpatch-baseline-tie",
        "Two baselines equal in content and security version: the smaller manifest digest wins.",
        &d0,
        &[],
        ("base-jul", "base-jul-twin"),
        "hotpatch",
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-baseline-security-version",
        "Two baselines of the same content version: the higher security version wins.",
        &d0,
        &["base-jul-sv31", "base-jul"],
        want(
            "hotpatch",
            "update",
            &["base-jul-sv31"],
            &[("base-jul", "superseded")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-version-before-security-version",
        "Content .4000 with security version 5 against .3000 with 30: the content version decides first.",
        &d0,
        &["base-jul", "base-oct-sv5"],
        want(
            "hotpatch",
            "update",
            &["base-oct-sv5"],
            &[("base-jul", "superseded")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-order-version-numeric",
        "10.0.26100.1000 against 10.0.26100.999: parts compare as numbers, not text.",
        &d0,
        &["base-999", "base-jan"],
        want(
            "hotpatch",
            "update",
            &["base-jan"],
            &[("base-999", "superseded")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-order-version-more-parts",
        "10.0.26100.1000.0 against 10.0.26100.1000: equal parts, the longer version is newer.",
        &d0,
        &["base-jan-0", "base-jan"],
        want(
            "hotpatch",
            "update",
            &["base-jan-0"],
            &[("base-jan", "superseded")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-hotpatch-installed-older-baseline",
        "On base-apr (floor 15): base-jan is below the floor, base-apr superseded by base-jul.",
        &Device {
            security_floor: 15,
            ..on("base-apr", 0)
        },
        &["base-jan", "base-apr", "base-jul"],
        want(
            "hotpatch",
            "update",
            &["base-jul"],
            &[
                ("base-jan", "below-security-floor"),
                ("base-apr", "superseded"),
            ],
        ),
    );
    let vbs_catalog = ["base-vbs", "hp-vbs-1", "cu-feb", "cu-may"];
    plan_case(
        g,
        &f,
        "plan-hotpatch-capability",
        "A device with vbs: the vbs baseline and its hotpatch; standard updates are other-track.",
        &Device {
            capabilities: vec!["vbs"],
            ..Device::online()
        },
        &vbs_catalog,
        want(
            "hotpatch",
            "update",
            &["base-vbs", "hp-vbs-1"],
            &[("cu-feb", "other-track"), ("cu-may", "other-track")],
        ),
    );

    // ----- Deltas (R10) -----
    plan_case(
        g,
        &f,
        "plan-delta-baseline-from-installed",
        "January's baseline is installed; April's is offered whole and as a delta of January's: the delta is the step, the full package superseded.",
        &on("base-jan", 0),
        &["base-jan", "base-apr", "base-apr-delta-jan"],
        want(
            "hotpatch",
            "update",
            &["base-apr-delta-jan"],
            &[("base-jan", "superseded"), ("base-apr", "superseded")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-delta-missing-base",
        "A new device has no baseline: April's full baseline is the step, its delta of January's is missing-base.",
        &d0,
        &["base-apr", "base-apr-delta-jan"],
        want(
            "hotpatch",
            "update",
            &["base-apr"],
            &[("base-apr-delta-jan", "missing-base")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-delta-hotpatch-on-planned-baseline",
        "January installed: April's baseline as a delta of January's, then its hotpatch as a delta of April's baseline, which the device has by then.",
        &on("base-jan", 0),
        &[
            "base-jan",
            "base-apr",
            "base-apr-delta-jan",
            "hp-apr-1",
            "hp-apr-1-delta-apr",
        ],
        want(
            "hotpatch",
            "update",
            &["base-apr-delta-jan", "hp-apr-1-delta-apr"],
            &[
                ("base-jan", "superseded"),
                ("base-apr", "superseded"),
                ("hp-apr-1", "superseded"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-delta-full-installed",
        "April's baseline is installed (a device that installed its delta records the full package): the full entry and its delta are both installed.",
        &on("base-apr", 0),
        &["base-apr", "base-apr-delta-jan"],
        want(
            "hotpatch",
            "up-to-date",
            &[],
            &[
                ("base-apr", "installed"),
                ("base-apr-delta-jan", "installed"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-delta-without-full",
        "A delta whose full package the catalog does not list is never planned: other-track.",
        &on("base-jan", 0),
        &["base-jan", "base-apr-delta-jan"],
        want(
            "hotpatch",
            "up-to-date",
            &[],
            &[
                ("base-jan", "installed"),
                ("base-apr-delta-jan", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-delta-standard",
        "On the standard track, with the February update installed: May's update as a delta of February's.",
        &Device {
            installed_baseline: Some(f.digest("cu-feb")),
            ..Device::online()
        },
        &["cu-feb", "cu-may", "cu-may-delta-feb"],
        want(
            "standard",
            "update",
            &["cu-may-delta-feb"],
            &[("cu-feb", "superseded"), ("cu-may", "superseded")],
        ),
    );

    // ----- Standard track (R4, R6) -----
    plan_case(
        g,
        &f,
        "plan-standard-missing-capability",
        "The same catalog on a device without vbs: no baseline applies, so the standard track; hotpatches are other-track.",
        &d0,
        &vbs_catalog,
        want(
            "standard",
            "update",
            &["cu-may"],
            &[
                ("base-vbs", "missing-capability"),
                ("hp-vbs-1", "other-track"),
                ("cu-feb", "superseded"),
            ],
        ),
    );
    let jul = f.digest("base-jul");
    plan_case(
        g,
        &f,
        "plan-standard-baseline-below-floor",
        "The only baseline targets the device but is below its floor 20 (it runs a baseline the catalog does not list): the standard track, not the hotpatch track (R4).",
        &Device {
            installed_baseline: Some(jul),
            security_floor: 20,
            ..Device::online()
        },
        &["base-jan", "hp-jan-1", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[
                ("base-jan", "below-security-floor"),
                ("hp-jan-1", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-baseline-revoked-by-device",
        "The only baseline targets the device but the device knows it revoked: the standard track (R4).",
        &Device {
            revoked: vec![f.digest("base-jan")],
            ..Device::online()
        },
        &["base-jan", "hp-jan-1", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[("base-jan", "revoked"), ("hp-jan-1", "other-track")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-baseline-revoked-by-catalog",
        "A preview baseline revokes base-jan (R1 applies to any entry): the general-channel device has no applicable baseline, so the standard track.",
        &d0,
        &["base-jan", "base-revokes-jan", "hp-jan-1", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[
                ("base-jan", "revoked"),
                ("base-revokes-jan", "wrong-channel"),
                ("hp-jan-1", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-hotpatch-for-installed-baseline",
        "A device on base-apr (floor 15) whose catalog lists only an older baseline and a hotpatch for base-apr: standard track, the hotpatch is not judged.",
        &Device {
            installed_baseline: Some(f.digest("base-apr")),
            security_floor: 15,
            ..Device::online()
        },
        &["base-jan", "hp-apr-1", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[
                ("base-jan", "below-security-floor"),
                ("hp-apr-1", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-wrong-edition",
        "A pro device: the baseline is for education and enterprise; the standard update is for every edition.",
        &pro,
        &["base-jan", "hp-jan-1", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[("base-jan", "wrong-edition"), ("hp-jan-1", "other-track")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-wrong-architecture",
        "An arm64 device: the x64 baseline and the x64 standard update are wrong-architecture; the arm64 update is the step.",
        &Device {
            architecture: "arm64",
            ..Device::online()
        },
        &["base-jan", "hp-jan-1", "cu-may", "cu-arm64"],
        want(
            "standard",
            "update",
            &["cu-arm64"],
            &[
                ("base-jan", "wrong-architecture"),
                ("hp-jan-1", "other-track"),
                ("cu-may", "wrong-architecture"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-installed",
        "The newest standard update is installed (recorded in installed_baseline): up to date.",
        &Device {
            installed_baseline: Some(f.digest("cu-may")),
            ..pro.clone()
        },
        &["cu-feb", "cu-may"],
        want(
            "standard",
            "up-to-date",
            &[],
            &[("cu-feb", "superseded"), ("cu-may", "installed")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-older-installed",
        "An older standard update is installed: the newer one.",
        &Device {
            installed_baseline: Some(f.digest("cu-feb")),
            ..pro.clone()
        },
        &["cu-feb", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[("cu-feb", "superseded")],
        ),
    );
    tie_cases(
        g,
        &f,
        "plan-standard-tie",
        "Two standard updates equal in content and security version: the smaller manifest digest wins.",
        &pro,
        &[],
        ("cu-may", "cu-may-twin"),
        "standard",
    );
    plan_case(
        g,
        &f,
        "plan-standard-below-floor",
        "A standard update below the device's floor 20.",
        &Device {
            security_floor: 20,
            ..pro.clone()
        },
        &["cu-feb", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[("cu-feb", "below-security-floor")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-installed-is-hotpatch",
        "installed_baseline names a hotpatch entry (sequence 5, content .1400, security 14): compared by content and security version only, cu-feb (.1500, 15) is newer (R6).",
        &Device {
            installed_baseline: Some(f.digest("hp-jan-5")),
            ..Device::online()
        },
        &["base-vbs", "hp-jan-5", "cu-feb"],
        want(
            "standard",
            "update",
            &["cu-feb"],
            &[
                ("base-vbs", "missing-capability"),
                ("hp-jan-5", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-installed-is-hotpatch-as-new",
        "installed_baseline names a hotpatch entry (content .2200, security 22): as new as cu-feb (.1500, 15), which is installed (R6).",
        &Device {
            installed_baseline: Some(f.digest("hp-apr-2")),
            ..Device::online()
        },
        &["base-vbs", "hp-apr-2", "cu-feb"],
        want(
            "standard",
            "up-to-date",
            &[],
            &[
                ("base-vbs", "missing-capability"),
                ("hp-apr-2", "other-track"),
                ("cu-feb", "installed"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-installed-baseline-newer-content",
        "A device that left the hotpatch track on a baseline of content .3000, security 10: as new as cu-may (.2500, 25), content first (R6).",
        &Device {
            installed_baseline: Some(f.digest("base-vbs-high")),
            ..Device::online()
        },
        &["base-vbs-high", "cu-may"],
        want(
            "standard",
            "up-to-date",
            &[],
            &[
                ("base-vbs-high", "missing-capability"),
                ("cu-may", "installed"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-installed-baseline-lower-security",
        "The installed baseline has cu-may's content version but security version 19 against 25: cu-may is the step (R6).",
        &Device {
            installed_baseline: Some(f.digest("base-vbs-sv19")),
            ..Device::online()
        },
        &["base-vbs-sv19", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[("base-vbs-sv19", "missing-capability")],
        ),
    );
    let (smaller, larger) = (f.equal_smaller.clone(), f.equal_larger.clone());
    for (which, cu) in [("smaller", smaller.as_str()), ("larger", larger.as_str())] {
        plan_case(
            g,
            &f,
            &format!("plan-standard-installed-baseline-equal-{which}-digest"),
            &format!(
                "The installed baseline and the standard update have the same content and security versions, the update a {which} manifest digest: installed (the digest takes no part, R6)."
            ),
            &Device {
                installed_baseline: Some(f.digest("base-vbs")),
                ..Device::online()
            },
            &["base-vbs", cu],
            want(
                "standard",
                "up-to-date",
                &[],
                &[("base-vbs", "missing-capability"), (cu, "installed")],
            ),
        );
    }
    plan_case(
        g,
        &f,
        "plan-standard-no-update",
        "A pro device and a catalog of baselines and hotpatches only: nothing applies.",
        &pro,
        &["base-jan", "hp-jan-1"],
        want(
            "standard",
            "not-eligible",
            &[],
            &[("base-jan", "wrong-edition"), ("hp-jan-1", "other-track")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-wrong-os",
        "A linux device: baselines and standard updates are wrong-os, hotpatches and recovery packages other-track.",
        &Device {
            os: "linux",
            ..Device::online()
        },
        &["base-jan", "hp-jan-1", "cu-may", "fix-1"],
        want(
            "standard",
            "not-eligible",
            &[],
            &[
                ("base-jan", "wrong-os"),
                ("hp-jan-1", "other-track"),
                ("cu-may", "wrong-os"),
                ("fix-1", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-standard-recovery-package-other-track",
        "An online device never plans a recovery package: other-track, not kind-not-allowed.",
        &pro,
        &["fix-1", "cu-may"],
        want(
            "standard",
            "update",
            &["cu-may"],
            &[("fix-1", "other-track")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-empty-catalog-online",
        "An empty catalog, online: the standard track, not eligible.",
        &d0,
        &[],
        want("standard", "not-eligible", &[], &[]),
    );

    // ----- Recovery track (R7) -----
    let rec = recovery_device();
    plan_case(
        g,
        &f,
        "plan-empty-catalog-recovery",
        "An empty catalog, recovery profile: the recovery track, not eligible.",
        &rec,
        &[],
        want("recovery", "not-eligible", &[], &[]),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-newest-recovery-package",
        "Recovery packages, baselines (one for arm64), a hotpatch and a standard update: the newest recovery package (no restart); every baseline is other-track, even the wrong-architecture one (R7).",
        &rec,
        &[
            "base-jan",
            "base-apr",
            "base-arm64",
            "hp-jan-1",
            "cu-may",
            "fix-1",
            "fix-2",
        ],
        want(
            "recovery",
            "update",
            &["fix-2"],
            &[
                ("base-jan", "other-track"),
                ("base-apr", "other-track"),
                ("base-arm64", "other-track"),
                ("hp-jan-1", "other-track"),
                ("cu-may", "other-track"),
                ("fix-1", "superseded"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-baselines-not-judged",
        "Floor 15: base-jan is below it, base-apr would be applicable; once fix-2 is chosen both are other-track (R7).",
        &Device {
            security_floor: 15,
            ..recovery_device()
        },
        &["base-jan", "base-apr", "fix-2"],
        want(
            "recovery",
            "update",
            &["fix-2"],
            &[("base-jan", "other-track"), ("base-apr", "other-track")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-baseline",
        "No recovery package: the newest baseline (restart); hotpatches and standard updates are other-track.",
        &rec,
        &["base-jan", "base-apr", "hp-jan-1", "cu-may"],
        want(
            "recovery",
            "update",
            &["base-apr"],
            &[
                ("base-jan", "superseded"),
                ("hp-jan-1", "other-track"),
                ("cu-may", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-baseline-installed",
        "No recovery package and the newest baseline installed: up to date.",
        &Device {
            installed_baseline: Some(f.digest("base-apr")),
            ..recovery_device()
        },
        &["base-jan", "base-apr", "hp-jan-1", "cu-may"],
        want(
            "recovery",
            "up-to-date",
            &[],
            &[
                ("base-jan", "superseded"),
                ("base-apr", "installed"),
                ("hp-jan-1", "other-track"),
                ("cu-may", "other-track"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-recovery-not-applicable",
        "The only recovery package is for arm64: then the baselines are judged.",
        &rec,
        &["fix-arm64", "base-arm64", "base-jan"],
        want(
            "recovery",
            "update",
            &["base-jan"],
            &[
                ("fix-arm64", "wrong-architecture"),
                ("base-arm64", "wrong-architecture"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-nothing-applies",
        "Floor 25 carried from the last good boot: every recovery package and baseline is below it.",
        &Device {
            security_floor: 25,
            ..recovery_device()
        },
        &["fix-1", "fix-2", "base-jan", "base-apr"],
        want(
            "recovery",
            "not-eligible",
            &[],
            &[
                ("fix-1", "below-security-floor"),
                ("fix-2", "below-security-floor"),
                ("base-jan", "below-security-floor"),
                ("base-apr", "below-security-floor"),
            ],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-revoked",
        "The newest recovery package is revoked on the device: the older one (restart).",
        &Device {
            revoked: vec![f.digest("fix-2")],
            ..recovery_device()
        },
        &["fix-1", "fix-2"],
        want("recovery", "update", &["fix-1"], &[("fix-2", "revoked")]),
    );
    tie_cases(
        g,
        &f,
        "plan-recovery-tie",
        "Two recovery packages equal in content and security version: the smaller manifest digest wins.",
        &rec,
        &[],
        ("fix-2", "fix-2-twin"),
        "recovery",
    );
    plan_case(
        g,
        &f,
        "plan-recovery-online-kinds-only",
        "Only a hotpatch and a standard update: never planned offline.",
        &rec,
        &["hp-jan-1", "cu-may"],
        want(
            "recovery",
            "not-eligible",
            &[],
            &[("hp-jan-1", "other-track"), ("cu-may", "other-track")],
        ),
    );
    plan_case(
        g,
        &f,
        "plan-recovery-revoked-by-catalog-baseline",
        "Offline too, a baseline's revocations count whether or not it applies (R1): base-jan is revoked by a preview baseline.",
        &rec,
        &["base-jan", "base-revokes-jan"],
        want(
            "recovery",
            "not-eligible",
            &[],
            &[
                ("base-jan", "revoked"),
                ("base-revokes-jan", "wrong-channel"),
            ],
        ),
    );
}

/// The catalog role digest of a trust root (SPEC.md VC9): SHA-256 of the
/// role's encoding, `u32le threshold || u64le key count || key ids`,
/// written out here from the spec rather than taken from the library.
fn catalog_role(role: &hpk_format::Role) -> hpk_format::Digest {
    let mut bytes = role.threshold.to_le_bytes().to_vec();
    bytes.extend_from_slice(&(role.keys.len() as u64).to_le_bytes());
    for k in &role.keys {
        bytes.extend_from_slice(&k.0);
    }
    hpk_format::Digest::of(&bytes)
}
