//! A simulated year of releases, resolved every month by every kind of
//! device, each plan checked against an expectation this test computes on
//! its own from the release rules (never by calling the resolver):
//!
//! - a baseline is cumulative and needs a restart; baselines come every
//!   quarter (January, April, July, October) and one unplanned baseline
//!   comes in May;
//! - a hotpatch applies without restart, only on top of its exact
//!   baseline; the hotpatches of one baseline are cumulative (sequence 1,
//!   2, …), so the newest replaces the earlier ones, and a new baseline
//!   (planned or not) starts the sequence again;
//! - only eligible devices take baselines and hotpatches: editions
//!   enterprise, education and windows365-enterprise with `vbs` on, x64 on
//!   any channel, arm64 on the preview channel only; every other device
//!   takes the monthly standard update, each with a restart;
//! - October's baseline revokes September's hotpatch; every baseline raises
//!   the security floor to the previous baseline's security version.
//!
//! Each month's catalog lists everything published so far. Devices verify
//! it, resolve it, fetch and verify every step's package through its
//! catalog entry, check the package's policy at that step and install it.
//! An eligible device restarts 5 times in the year (4 quarterly baselines
//! and the unplanned one), any other device 12 times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    BaselineInfo, CatalogEntry, Channel, Digest, HotpatchInfo, Limits, PackageKind, Targets,
};
use hpk_sign::catalog::{add_entry, new_catalog};
use hpk_tests::verify::{self, MemorySink, verifier_at};
use hpk_tests::*;
use hpk_verify::{CatalogError, Clock, DeviceProfile, Plan, PlanStatus, Track, TrustedRoot};
use std::collections::HashMap;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------
// The release calendar.
// ---------------------------------------------------------------------------

/// Months with a baseline.
const BASELINES: [u32; 5] = [1, 4, 5, 7, 10];
/// The month of the unplanned baseline.
const UNPLANNED: u32 = 5;
/// Hotpatch months: (month, month of its baseline, sequence). The April
/// baseline gets none: the unplanned baseline replaced it in May, and its
/// own hotpatch in June starts again at sequence 1.
const HOTPATCHES: [(u32, u32, u32); 7] = [
    (2, 1, 1),
    (3, 1, 2),
    (6, 5, 1),
    (8, 7, 1),
    (9, 7, 2),
    (11, 10, 1),
    (12, 10, 2),
];
/// September's hotpatch is revoked by October's baseline.
const REVOKED_HOTPATCH: u32 = 9;
/// The month of the baseline that revokes it.
const REVOKED_BY: u32 = 10;
/// The editions that can take hotpatches.
const HOTPATCH_EDITIONS: [&str; 3] = ["education", "enterprise", "windows365-enterprise"];
/// Every edition of the device matrix.
const EDITIONS: [&str; 5] = [
    "enterprise",
    "education",
    "windows365-enterprise",
    "pro",
    "home",
];

/// The start of month `m` (1 to 12) of the simulated year.
fn month_start(m: u32) -> u64 {
    T0 + u64::from(m - 1) * 30 * DAY
}

/// Every release of month `m` carries security version `m`.
fn security_version(m: u32) -> u64 {
    u64::from(m)
}

/// The floor a baseline raises devices to: the security version of the
/// baseline before it.
fn baseline_floor(m: u32) -> u64 {
    BASELINES
        .iter()
        .copied()
        .filter(|&b| b < m)
        .max()
        .map_or(0, security_version)
}

/// The content version of every release of month `m`: the same build for
/// the baseline, hotpatch and standard update of a month.
fn content_version(m: u32) -> String {
    format!("10.0.26100.{}", 100 * m)
}

/// Whether the hotpatch of `hotpatch_month` is revoked in month `m`'s
/// catalog.
fn revoked(hotpatch_month: u32, m: u32) -> bool {
    hotpatch_month == REVOKED_HOTPATCH && REVOKED_BY <= m
}

/// The architectures; baselines and hotpatches are published once per
/// architecture, on the channel each architecture gets them on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Arch {
    X64,
    Arm64,
}

impl Arch {
    const ALL: [Arch; 2] = [Arch::X64, Arch::Arm64];

    fn name(self) -> &'static str {
        match self {
            Arch::X64 => "x64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The channel baselines and hotpatches for this architecture are on.
    fn hotpatch_channel(self) -> Channel {
        match self {
            Arch::X64 => Channel::General,
            Arch::Arm64 => Channel::Preview,
        }
    }
}

/// One published package, as the model knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Release {
    Baseline {
        month: u32,
        arch: Arch,
    },
    Hotpatch {
        month: u32,
        arch: Arch,
        baseline: u32,
        sequence: u32,
    },
    Standard {
        month: u32,
    },
}

impl Release {
    fn month(self) -> u32 {
        match self {
            Release::Baseline { month, .. }
            | Release::Hotpatch { month, .. }
            | Release::Standard { month } => month,
        }
    }

    fn name(self) -> String {
        match self {
            Release::Baseline { month, arch } if month == UNPLANNED => {
                format!("baseline-{}-{month:02}-unplanned", arch.name())
            }
            Release::Baseline { month, arch } => format!("baseline-{}-{month:02}", arch.name()),
            Release::Hotpatch { month, arch, .. } => format!("hotpatch-{}-{month:02}", arch.name()),
            Release::Standard { month } => format!("standard-{month:02}"),
        }
    }

    fn kind_name(self) -> &'static str {
        match self {
            Release::Baseline { .. } => "baseline",
            Release::Hotpatch { .. } => "hotpatch",
            Release::Standard { .. } => "standard",
        }
    }

    fn restart(self) -> bool {
        !matches!(self, Release::Hotpatch { .. })
    }

    /// What a plan step for this release looks like.
    fn step(self) -> (&'static str, String, String, bool) {
        (
            self.kind_name(),
            self.name(),
            content_version(self.month()),
            self.restart(),
        )
    }
}

/// The releases of month `m`: its baseline or hotpatch for each
/// architecture, and the standard update.
fn releases_of(m: u32) -> Vec<Release> {
    let mut out = Vec::new();
    for arch in Arch::ALL {
        if BASELINES.contains(&m) {
            out.push(Release::Baseline { month: m, arch });
        }
        for &(month, baseline, sequence) in &HOTPATCHES {
            if month == m {
                out.push(Release::Hotpatch {
                    month,
                    arch,
                    baseline,
                    sequence,
                });
            }
        }
    }
    out.push(Release::Standard { month: m });
    out
}

// ---------------------------------------------------------------------------
// The published packages and catalogs, built once.
// ---------------------------------------------------------------------------

struct Published {
    release: Release,
    file: Vec<u8>,
    entry: CatalogEntry,
    payload: Vec<u8>,
}

struct Year {
    root: TrustedRoot,
    packages: Vec<Published>,
    by_digest: HashMap<Digest, usize>,
    by_release: HashMap<Release, usize>,
    /// The signed catalog of each month (index `m - 1`): version `m`.
    catalogs: Vec<Vec<u8>>,
}

impl Year {
    fn by_digest(&self, digest: &Digest) -> &Published {
        let i = self.by_digest.get(digest).expect("a published package");
        &self.packages[*i]
    }

    fn digest_of(&self, r: Release) -> Digest {
        let i = self.by_release.get(&r).expect("a published release");
        self.packages[*i].entry.manifest_digest
    }
}

fn hotpatch_targets(arch: Arch) -> Targets {
    Targets {
        os: tok("windows"),
        architectures: vec![tok(arch.name())],
        editions: HOTPATCH_EDITIONS.iter().map(|e| tok(e)).collect(),
        channel: arch.hotpatch_channel(),
        capabilities: vec![tok("vbs")],
    }
}

fn standard_targets() -> Targets {
    Targets {
        os: tok("windows"),
        architectures: vec![tok("arm64"), tok("x64")],
        editions: Vec::new(),
        channel: Channel::General,
        capabilities: Vec::new(),
    }
}

fn build_year() -> Year {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let mut year = Year {
        root,
        packages: Vec::new(),
        by_digest: HashMap::new(),
        by_release: HashMap::new(),
        catalogs: Vec::new(),
    };
    for m in 1..=12 {
        for release in releases_of(m) {
            let (kind, targets) = match release {
                Release::Baseline { month, arch } => {
                    let revoked_hotpatches = if month == REVOKED_BY {
                        vec![year.digest_of(Release::Hotpatch {
                            month: REVOKED_HOTPATCH,
                            arch,
                            baseline: 7,
                            sequence: 2,
                        })]
                    } else {
                        Vec::new()
                    };
                    let kind = PackageKind::Baseline(BaselineInfo {
                        revoked_hotpatches,
                        security_floor: baseline_floor(month),
                    });
                    (kind, hotpatch_targets(arch))
                }
                Release::Hotpatch {
                    arch,
                    baseline,
                    sequence,
                    ..
                } => {
                    let kind = PackageKind::Hotpatch(HotpatchInfo {
                        baseline: year.digest_of(Release::Baseline {
                            month: baseline,
                            arch,
                        }),
                        sequence,
                        modules: Vec::new(),
                    });
                    (kind, hotpatch_targets(arch))
                }
                Release::Standard { .. } => (PackageKind::Standard, standard_targets()),
            };
            let name = release.name();
            let payload = format!("{name}: the content of the update").into_bytes();
            let mut spec = PackageSpec::new(&name, kind)
                .version(&content_version(m))
                .with_payload("update.bin", payload.clone());
            spec.manifest.security_version = security_version(m);
            spec.manifest.created = month_start(m);
            spec.manifest.expires = Some(month_start(m) + 365 * DAY);
            spec.manifest.targets = targets;
            let built = spec.build();
            let file = built.file(&[keys.of(built.manifest.kind.signing_role())]);
            let entry = catalog_entry(&built, &file, &format!("packages/{name}.hpk"));
            year.by_digest
                .insert(entry.manifest_digest, year.packages.len());
            year.by_release.insert(release, year.packages.len());
            year.packages.push(Published {
                release,
                file,
                entry,
                payload,
            });
        }
    }
    for m in 1..=12u32 {
        let mut catalog = new_catalog(u64::from(m), month_start(m), month_start(m) + 7 * DAY);
        for p in year.packages.iter().filter(|p| p.release.month() <= m) {
            assert!(add_entry(&mut catalog, p.entry.clone()).unwrap());
        }
        year.catalogs.push(catalog_file(&catalog, &[&keys.catalog]));
    }
    year
}

fn year() -> &'static Year {
    static YEAR: OnceLock<Year> = OnceLock::new();
    YEAR.get_or_init(build_year)
}

// ---------------------------------------------------------------------------
// Devices and the model of what they should do.
// ---------------------------------------------------------------------------

/// What a device is.
#[derive(Clone, Copy, Debug)]
struct Kind {
    arch: Arch,
    edition: &'static str,
    preview: bool,
    vbs: bool,
}

impl Kind {
    /// Every device of the matrix: 2 architectures × 5 editions × 2
    /// channels × vbs on or off.
    fn all() -> Vec<Kind> {
        let mut out = Vec::new();
        for arch in Arch::ALL {
            for edition in EDITIONS {
                for preview in [false, true] {
                    for vbs in [true, false] {
                        out.push(Kind {
                            arch,
                            edition,
                            preview,
                            vbs,
                        });
                    }
                }
            }
        }
        out
    }

    /// The eligibility rule, straight from the release rules.
    fn eligible(self) -> bool {
        HOTPATCH_EDITIONS.contains(&self.edition)
            && self.vbs
            && (self.arch == Arch::X64 || (self.arch == Arch::Arm64 && self.preview))
    }

    fn label(self) -> String {
        format!(
            "{} {} {} vbs={}",
            self.arch.name(),
            self.edition,
            if self.preview { "preview" } else { "general" },
            if self.vbs { "on" } else { "off" },
        )
    }

    fn profile(self) -> DeviceProfile {
        DeviceProfile {
            architecture: tok(self.arch.name()),
            edition: Some(tok(self.edition)),
            channels: if self.preview {
                vec![Channel::General, Channel::Preview]
            } else {
                vec![Channel::General]
            },
            capabilities: if self.vbs { vec![tok("vbs")] } else { vec![] },
            ..online_device()
        }
    }

    /// Why a baseline or hotpatch published for `arch` does not target
    /// this device, in the order the policy checks targets (architecture,
    /// edition, channel, capability); `None` if it does.
    fn target_reason(self, arch: Arch) -> Option<&'static str> {
        if self.arch != arch {
            Some("wrong-architecture")
        } else if !HOTPATCH_EDITIONS.contains(&self.edition) {
            Some("wrong-edition")
        } else if arch.hotpatch_channel() == Channel::Preview && !self.preview {
            Some("wrong-channel")
        } else if !self.vbs {
            Some("missing-capability")
        } else {
            None
        }
    }
}

/// What the model says a device has installed (by release month).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Model {
    baseline: Option<u32>,
    sequence: u32,
    standard: Option<u32>,
}

impl Model {
    fn floor(self) -> u64 {
        self.baseline.map_or(0, baseline_floor)
    }
}

/// The plan the rules call for.
struct Expected {
    track: Track,
    steps: Vec<Release>,
    after: Model,
}

fn newest_baseline(m: u32) -> u32 {
    BASELINES
        .iter()
        .copied()
        .filter(|&b| b <= m)
        .max()
        .expect("a baseline in January")
}

/// The plan for a device of `kind` in state `model` with month `m`'s
/// catalog: on the hotpatch track, the newest baseline unless installed,
/// then the newest unrevoked hotpatch for it above the installed sequence;
/// on the standard track, the month's standard update unless installed.
fn expect(kind: Kind, model: Model, m: u32) -> Expected {
    let mut after = model;
    let mut steps = Vec::new();
    if kind.eligible() {
        let newest = newest_baseline(m);
        if model.baseline != Some(newest) {
            steps.push(Release::Baseline {
                month: newest,
                arch: kind.arch,
            });
            after.baseline = Some(newest);
            after.sequence = 0;
        }
        let hotpatch = HOTPATCHES
            .iter()
            .copied()
            .filter(|&(month, baseline, sequence)| {
                month <= m && baseline == newest && sequence > after.sequence && !revoked(month, m)
            })
            .max_by_key(|&(_, _, sequence)| sequence);
        if let Some((month, baseline, sequence)) = hotpatch {
            steps.push(Release::Hotpatch {
                month,
                arch: kind.arch,
                baseline,
                sequence,
            });
            after.sequence = sequence;
        }
        Expected {
            track: Track::Hotpatch,
            steps,
            after,
        }
    } else {
        if model.standard != Some(m) {
            steps.push(Release::Standard { month: m });
            after.standard = Some(m);
        }
        Expected {
            track: Track::Standard,
            steps,
            after,
        }
    }
}

/// Why the plan of a device of `kind`, going from `before` to `after` with
/// month `m`'s catalog, leaves `r` out.
fn expected_reason(kind: Kind, before: Model, after: Model, r: Release, m: u32) -> &'static str {
    let eligible = kind.eligible();
    match r {
        Release::Standard { month } => {
            if eligible {
                "other-track"
            } else if month == m {
                "installed"
            } else {
                "superseded"
            }
        }
        Release::Baseline { month, arch } => {
            if let Some(reason) = kind.target_reason(arch) {
                reason
            } else {
                assert!(eligible, "{}: a baseline targets it", kind.label());
                if security_version(month) < before.floor() {
                    "below-security-floor"
                } else if month == newest_baseline(m) {
                    "installed"
                } else {
                    "superseded"
                }
            }
        }
        Release::Hotpatch {
            month,
            arch,
            baseline,
            sequence,
        } => {
            if !eligible {
                return "other-track";
            }
            let installed_sequence = if after.baseline == before.baseline {
                before.sequence
            } else {
                0
            };
            if let Some(reason) = kind.target_reason(arch) {
                reason
            } else if security_version(month) < after.floor() {
                "below-security-floor"
            } else if revoked(month, m) {
                "revoked"
            } else if Some(baseline) != after.baseline {
                "wrong-baseline"
            } else if sequence <= installed_sequence {
                "sequence-not-newer"
            } else {
                "superseded"
            }
        }
    }
}

/// A device going through the year.
struct Device {
    kind: Kind,
    profile: DeviceProfile,
    model: Model,
    restarts: u32,
    /// The steps taken each month it was online.
    history: Vec<(u32, Vec<Release>)>,
}

impl Device {
    fn new(kind: Kind) -> Device {
        Device {
            kind,
            profile: kind.profile(),
            model: Model::default(),
            restarts: 0,
            history: Vec::new(),
        }
    }

    fn steps_in(&self, m: u32) -> &[Release] {
        self.history
            .iter()
            .find(|(month, _)| *month == m)
            .map_or(&[], |(_, steps)| steps.as_slice())
    }
}

/// Checks `plan` against the rules: track, status, steps (kind, name,
/// version, restart, digest) and the reason for every entry left out.
fn check_plan(year: &Year, kind: Kind, plan: &Plan, want: &Expected, before: Model, m: u32) {
    let who = format!("{} in month {m}", kind.label());
    assert_eq!(plan.track, want.track, "{who}: track");
    let status = if want.steps.is_empty() {
        PlanStatus::UpToDate
    } else {
        PlanStatus::Update
    };
    assert_eq!(plan.status, status, "{who}: status");
    let got: Vec<_> = plan
        .steps
        .iter()
        .map(|s| {
            assert_eq!(s.restart, s.entry.restart_required, "{who}");
            (
                s.entry.kind.name(),
                s.entry.name.to_string(),
                s.entry.version.to_string(),
                s.restart,
            )
        })
        .collect();
    let expected: Vec<_> = want.steps.iter().map(|r| r.step()).collect();
    assert_eq!(got, expected, "{who}: steps");
    for (step, r) in plan.steps.iter().zip(&want.steps) {
        assert_eq!(step.entry.manifest_digest, year.digest_of(*r), "{who}");
    }
    let mut wrong = Vec::new();
    for s in &plan.skipped {
        let r = year.by_digest(&s.entry.manifest_digest).release;
        let reason = expected_reason(kind, before, want.after, r, m);
        if s.reason.as_str() != reason {
            wrong.push(format!(
                "{}: {} ({}), expected {reason}",
                r.name(),
                s.reason,
                s.detail
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{who}: skip reasons:\n{}",
        wrong.join("\n")
    );
    // Every entry of the catalog is either a step or skipped, once.
    let mut accounted: Vec<Digest> = plan
        .steps
        .iter()
        .map(|s| s.entry.manifest_digest)
        .chain(plan.skipped.iter().map(|s| s.entry.manifest_digest))
        .collect();
    accounted.sort();
    let mut listed: Vec<Digest> = year
        .packages
        .iter()
        .filter(|p| p.release.month() <= m)
        .map(|p| p.entry.manifest_digest)
        .collect();
    listed.sort();
    assert_eq!(accounted, listed, "{who}: every entry once");
}

/// Fetches every step's package through its catalog entry, checks its
/// policy at that point of the plan, streams it, and records it in the
/// device profile as an agent would.
fn install(year: &Year, device: &mut Device, plan: &Plan, clock: Clock) {
    for step in &plan.steps {
        let published = year.by_digest(&step.entry.manifest_digest);
        let mut reader = CountingReader::new(published.file.as_slice());
        let verifier = verifier_at(&year.root, clock, &Limits::default());
        let package = verifier.fetched(&step.entry, &mut reader).unwrap();
        let package = package
            .judge(&device.profile)
            .unwrap_or_else(|e| panic!("{} {}: {e}", device.kind.label(), step.entry.name));
        let mut sink = MemorySink::default();
        let head = package.stream(&mut sink, &mut |_| {}).unwrap();
        assert_eq!(
            sink.payloads,
            vec![("update.bin".to_owned(), published.payload.clone())]
        );
        assert_eq!(reader.count, step.entry.size);
        let profile = &mut device.profile;
        match &head.kind {
            PackageKind::Baseline(b) => {
                profile.installed_baseline = Some(head.digest());
                profile.installed_hotpatch_sequence = 0;
                profile.security_floor = profile.security_floor.max(b.security_floor);
                profile.revoked.extend(b.revoked_hotpatches.iter().copied());
            }
            PackageKind::Hotpatch(h) => profile.installed_hotpatch_sequence = h.sequence,
            // The standard track records the installed standard update
            // where the hotpatch track records its baseline.
            PackageKind::Standard => profile.installed_baseline = Some(head.digest()),
            PackageKind::Recovery => panic!("an online device planned a recovery package"),
        }
        if step.restart {
            device.restarts += 1;
        }
    }
}

/// One month for one device: verify the catalog, resolve, check the plan,
/// install it; then resolving again finds the device up to date.
fn live_month(year: &Year, device: &mut Device, m: u32) {
    let clock = Clock::Trusted(month_start(m) + DAY);
    let verified = verify::catalog(
        &year.catalogs[m as usize - 1],
        &year.root,
        clock,
        device.profile.catalog_version,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(verified.version, u64::from(m));
    let before = device.model;
    let plan = verify::plan(&verified, &year.root, &device.profile, clock);
    let want = expect(device.kind, before, m);
    check_plan(year, device.kind, &plan, &want, before, m);
    install(year, device, &plan, clock);
    device.model = want.after;
    device.profile.catalog_version = u64::from(m);
    device.history.push((m, want.steps));

    let again = verify::plan(&verified, &year.root, &device.profile, clock);
    let settled = expect(device.kind, device.model, m);
    assert!(settled.steps.is_empty());
    check_plan(year, device.kind, &again, &settled, device.model, m);
}

fn revoked_release(arch: Arch) -> Release {
    Release::Hotpatch {
        month: REVOKED_HOTPATCH,
        arch,
        baseline: 7,
        sequence: 2,
    }
}

// ---------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------

#[test]
fn every_device_follows_its_track_through_the_year() {
    let year = year();
    let mut devices: Vec<Device> = Kind::all().into_iter().map(Device::new).collect();
    assert_eq!(devices.len(), 40);
    for m in 1..=12 {
        for device in &mut devices {
            live_month(year, device, m);
        }
    }
    let eligible = devices.iter().filter(|d| d.kind.eligible()).count();
    // x64: 3 editions × 2 channels; arm64: 3 editions on preview; vbs on.
    assert_eq!(eligible, 9);
    for d in &devices {
        let who = d.kind.label();
        if d.kind.eligible() {
            assert_eq!(
                d.restarts, 5,
                "{who}: 4 quarterly baselines and 1 unplanned"
            );
            // Restarts exactly in the baseline months, each with a baseline.
            for m in 1..=12 {
                let restarted = d.steps_in(m).iter().any(|r| r.restart());
                assert_eq!(restarted, BASELINES.contains(&m), "{who} month {m}");
            }
            // The hotpatch sequence starts again after the unplanned
            // baseline: June's hotpatch is sequence 1 on May's baseline.
            assert_eq!(
                d.steps_in(6),
                [Release::Hotpatch {
                    month: 6,
                    arch: d.kind.arch,
                    baseline: UNPLANNED,
                    sequence: 1
                }]
            );
            // The revoked hotpatch was installed before its revocation …
            assert_eq!(d.steps_in(9), [revoked_release(d.kind.arch)], "{who}");
            // … its revocation reached the device with October's baseline
            // and its floor rose with every baseline.
            let revoked_digest = year.digest_of(revoked_release(d.kind.arch));
            assert!(d.profile.revoked.contains(&revoked_digest), "{who}");
            assert_eq!(d.profile.security_floor, security_version(7), "{who}");
            assert_eq!(
                d.profile.installed_baseline,
                Some(year.digest_of(Release::Baseline {
                    month: 10,
                    arch: d.kind.arch
                }))
            );
            assert_eq!(d.profile.installed_hotpatch_sequence, 2);
        } else {
            assert_eq!(d.restarts, 12, "{who}: a standard update every month");
            assert_eq!(
                d.profile.installed_baseline,
                Some(year.digest_of(Release::Standard { month: 12 }))
            );
            assert_eq!(d.profile.security_floor, 0, "{who}");
        }
        // After its revocation, no device ever planned the revoked hotpatch.
        for (m, steps) in &d.history {
            if *m >= REVOKED_BY {
                assert!(
                    !steps
                        .iter()
                        .any(|r| r.month() == REVOKED_HOTPATCH
                            && matches!(r, Release::Hotpatch { .. })),
                    "{who} month {m}"
                );
            }
        }
    }
}

#[test]
fn the_revoked_hotpatch_is_skipped_as_revoked() {
    let year = year();
    let kind = Kind {
        arch: Arch::X64,
        edition: "enterprise",
        preview: false,
        vbs: true,
    };
    let mut device = Device::new(kind);
    for m in 1..=12 {
        live_month(year, &mut device, m);
        let clock = Clock::Trusted(month_start(m) + DAY);
        let verified = verify::catalog(
            &year.catalogs[m as usize - 1],
            &year.root,
            clock,
            0,
            &Limits::default(),
        )
        .unwrap();
        // A device fresh out of the box this month, and the device that
        // lived through the year, both see the revocation once it exists.
        for profile in [kind.profile(), device.profile.clone()] {
            let plan = verify::plan(&verified, &year.root, &profile, clock);
            let digest = year.digest_of(revoked_release(Arch::X64));
            assert!(
                plan.steps
                    .iter()
                    .all(|s| s.entry.manifest_digest != digest || m < REVOKED_BY)
            );
            if m >= REVOKED_BY {
                let skipped = plan
                    .skipped
                    .iter()
                    .find(|s| s.entry.manifest_digest == digest)
                    .expect("listed");
                assert_eq!(skipped.reason.as_str(), "revoked", "month {m}");
            }
        }
    }
}

#[test]
fn a_device_that_missed_months_jumps_to_the_newest_baseline_and_hotpatch() {
    let year = year();
    let x64 = Kind {
        arch: Arch::X64,
        edition: "enterprise",
        preview: false,
        vbs: true,
    };
    let arm64 = Kind {
        arch: Arch::Arm64,
        edition: "education",
        preview: true,
        vbs: true,
    };
    let home = Kind {
        arch: Arch::X64,
        edition: "home",
        preview: false,
        vbs: true,
    };
    for kind in [x64, arm64, home] {
        let who = kind.label();
        let arch = kind.arch;
        let mut device = Device::new(kind);
        for m in [2, 9, 12] {
            live_month(year, &mut device, m);
        }
        let names =
            |m: u32| -> Vec<String> { device.steps_in(m).iter().map(|r| r.name()).collect() };
        let a = arch.name();
        if kind.eligible() {
            // February: January's baseline and its first hotpatch.
            assert_eq!(
                names(2),
                [format!("baseline-{a}-01"), format!("hotpatch-{a}-02")]
            );
            // September: straight to July's baseline and its second
            // hotpatch; April's, May's baselines and June's, August's
            // hotpatches are never installed.
            assert_eq!(
                names(9),
                [format!("baseline-{a}-07"), format!("hotpatch-{a}-09")],
                "{who}"
            );
            // December: October's baseline and its second hotpatch; the
            // revoked hotpatch of September it had is left behind.
            assert_eq!(
                names(12),
                [format!("baseline-{a}-10"), format!("hotpatch-{a}-12")],
                "{who}"
            );
            assert_eq!(device.restarts, 3, "{who}");
        } else {
            assert_eq!(names(9), ["standard-09"], "{who}");
            assert_eq!(names(12), ["standard-12"], "{who}");
            assert_eq!(device.restarts, 3, "{who}");
        }
    }
    // A device first switched on in December takes October's baseline and
    // December's hotpatch at once.
    let mut fresh = Device::new(x64);
    live_month(year, &mut fresh, 12);
    assert_eq!(
        fresh.steps_in(12),
        [
            Release::Baseline {
                month: 10,
                arch: Arch::X64
            },
            Release::Hotpatch {
                month: 12,
                arch: Arch::X64,
                baseline: 10,
                sequence: 2
            }
        ]
    );
}

#[test]
fn catalogs_only_move_forward_through_the_year() {
    let year = year();
    let clock = Clock::Trusted(month_start(6) + DAY);
    // June's device has seen June's catalog: May's is a rollback, even
    // though it has not expired for a device with May's clock.
    let may = Clock::Trusted(month_start(5) + DAY);
    let limits = Limits::default();
    let e = verify::catalog(&year.catalogs[4], &year.root, may, 6, &limits).unwrap_err();
    assert!(
        matches!(
            e,
            CatalogError::Version(hpk_verify::Rollback {
                version: 5,
                last_seen: 6
            })
        ),
        "{e:?}"
    );
    verify::catalog(&year.catalogs[5], &year.root, clock, 6, &limits).unwrap();
    // May's catalog has expired by June.
    let e = verify::catalog(&year.catalogs[4], &year.root, clock, 0, &limits).unwrap_err();
    assert!(
        matches!(e, CatalogError::Expired { version: 5, .. }),
        "{e:?}"
    );
}
