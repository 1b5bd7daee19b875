//! Policy: whether an authentic package applies to a device. At least one
//! case for every `Reason` (wrong target, expiry in both profiles,
//! rollback, revocation, hotpatch lineage, kind per profile), each judged
//! on a package that was built, signed and verified, and the device
//! profile's TOML form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{Channel, Digest, ErrorClass, Limits, Manifest, PackageKind, RoleName};
use hpk_tests::verify::{verifier_at, verify_stored};
use hpk_tests::*;
use hpk_verify::{
    Clock, Depth, DeviceProfile, NotApplicable, ProfileMode, Reason, Verified, VerifyError,
};
use std::collections::BTreeSet;

/// Inside every fixture's validity (created T0, expires T0 + 90 days).
const NOW: Clock = Clock::Trusted(T0 + DAY);

/// Builds the package and signs it with its role's key.
fn signed(spec: &PackageSpec) -> Vec<u8> {
    let keys = Keys::standard();
    let built = spec.build();
    built.file(&[keys.of(built.manifest.kind.signing_role())])
}

/// Builds the package, signs it with its role's key and verifies it (for
/// no device, every stored byte).
fn verify(spec: &PackageSpec) -> Verified<Manifest> {
    let keys = Keys::standard();
    verify_stored(
        &signed(spec),
        &standard_trusted_root(&keys),
        &Limits::default(),
    )
    .unwrap()
}

/// Builds, signs and verifies the package, then judges it for `device` at
/// `clock`; a package that applies is verified again, judged.
fn judge(spec: &PackageSpec, device: &DeviceProfile, clock: Clock) -> Result<(), NotApplicable> {
    let keys = Keys::standard();
    let verified = verify(spec);
    let verifier = verifier_at(&standard_trusted_root(&keys), clock, &Limits::default());
    let file = signed(spec);
    let package = verifier.package(file.as_slice()).unwrap();
    assert_eq!(*package.manifest(), verified);
    match package.judge(device) {
        Ok(judged) => {
            assert_eq!(judged.verify(Depth::Stored).unwrap(), verified);
            Ok(())
        }
        Err(refused) => {
            // The refused package comes back, still authentic.
            assert_eq!(*refused.package.manifest(), verified);
            Err(refused.reason)
        }
    }
}

/// The reason `spec` does not apply; panics if it does.
fn reason(spec: &PackageSpec, device: &DeviceProfile, clock: Clock) -> Reason {
    let e = judge(spec, device, clock).expect_err("package applies");
    assert!(!e.detail.is_empty());
    assert!(e.to_string().contains(e.reason.as_str()), "{e}");
    let wrapped = VerifyError::from(e.clone());
    assert_eq!(wrapped.class(), ErrorClass::Policy);
    e.reason
}

fn baseline() -> PackageSpec {
    PackageSpec::baseline("contoso-os").with_payload("os.bin", b"os".to_vec())
}

fn standard() -> PackageSpec {
    PackageSpec::standard("contoso-cu").with_payload("cu.bin", b"cu".to_vec())
}

fn recovery() -> PackageSpec {
    PackageSpec::recovery("contoso-recovery").with_payload("fix.bin", b"fix".to_vec())
}

fn hotpatch(base: Digest, sequence: u32) -> PackageSpec {
    PackageSpec::hotpatch("contoso-hp", base, sequence).with_payload("hp.bin", b"hp".to_vec())
}

fn recovery_device() -> DeviceProfile {
    DeviceProfile {
        mode: ProfileMode::Recovery,
        time_lower_bound: Some(T0),
        ..online_device()
    }
}

#[test]
fn the_fixtures_apply() {
    let device = online_device();
    judge(&baseline(), &device, NOW).unwrap();
    judge(&standard(), &device, NOW).unwrap();
    judge(&recovery(), &recovery_device(), Clock::LowerBound(T0)).unwrap();
}

#[test]
fn every_reason_has_a_stable_name() {
    let names: BTreeSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(names.len(), Reason::ALL.len());
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(r));
        assert_eq!(r.to_string(), r.as_str());
    }
    assert_eq!(Reason::parse("no-such-reason"), None);
}

// ---------------------------------------------------------------------------
// Targeting.
// ---------------------------------------------------------------------------

#[test]
fn wrong_os() {
    let mut spec = baseline();
    spec.manifest.targets.os = tok("linux");
    assert_eq!(reason(&spec, &online_device(), NOW), Reason::WrongOs);
}

#[test]
fn wrong_architecture() {
    let device = DeviceProfile {
        architecture: tok("arm64"),
        ..online_device()
    };
    assert_eq!(reason(&baseline(), &device, NOW), Reason::WrongArchitecture);
    // Listed among several: fine.
    let mut spec = baseline();
    spec.manifest.targets.architectures = vec![tok("arm64"), tok("x64")];
    judge(&spec, &device, NOW).unwrap();
}

#[test]
fn wrong_edition_and_empty_editions_mean_any() {
    let device = DeviceProfile {
        edition: Some(tok("pro")),
        ..online_device()
    };
    assert_eq!(reason(&baseline(), &device, NOW), Reason::WrongEdition);
    let mut any = baseline();
    any.manifest.targets.editions.clear();
    judge(&any, &device, NOW).unwrap();
    judge(&any, &online_device(), NOW).unwrap();
}

#[test]
fn preview_packages_only_on_devices_that_opted_in() {
    let mut preview = baseline();
    preview.manifest.targets.channel = Channel::Preview;
    assert_eq!(
        reason(&preview, &online_device(), NOW),
        Reason::WrongChannel
    );
    let opted_in = DeviceProfile {
        channels: vec![Channel::General, Channel::Preview],
        ..online_device()
    };
    judge(&preview, &opted_in, NOW).unwrap();
    // A general package on a preview device is accepted.
    judge(&baseline(), &opted_in, NOW).unwrap();
}

#[test]
fn a_general_package_applies_to_a_device_that_lists_only_preview() {
    // `channels = ["preview"]` opts into preview; it does not opt out of
    // the general channel (spec: "preview packages only on devices that
    // opted in").
    let device = DeviceProfile::from_toml(
        "os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\nchannels = [\"preview\"]\n",
    )
    .unwrap();
    judge(&baseline(), &device, NOW).unwrap();
    let mut preview = baseline();
    preview.manifest.targets.channel = Channel::Preview;
    judge(&preview, &device, NOW).unwrap();
}

#[test]
fn missing_capability() {
    let mut spec = baseline();
    spec.manifest.targets.capabilities = vec![tok("hvci"), tok("vbs")];
    assert_eq!(
        reason(&spec, &online_device(), NOW),
        Reason::MissingCapability
    );
    let some = DeviceProfile {
        capabilities: vec![tok("vbs")],
        ..online_device()
    };
    assert_eq!(reason(&spec, &some, NOW), Reason::MissingCapability);
    let all = DeviceProfile {
        capabilities: vec![tok("hvci"), tok("tpm"), tok("vbs")],
        ..online_device()
    };
    judge(&spec, &all, NOW).unwrap();
}

// ---------------------------------------------------------------------------
// Time.
// ---------------------------------------------------------------------------

#[test]
fn expired_and_not_yet_valid_online() {
    let expires = T0 + 90 * DAY;
    let device = online_device();
    for now in [expires, expires + 1, expires + 365 * DAY] {
        assert_eq!(
            reason(&baseline(), &device, Clock::Trusted(now)),
            Reason::Expired
        );
    }
    judge(&baseline(), &device, Clock::Trusted(expires - 1)).unwrap();
    assert_eq!(
        reason(&baseline(), &device, Clock::Trusted(T0 - 1)),
        Reason::NotYetValid
    );
    judge(&baseline(), &device, Clock::Trusted(T0)).unwrap();
    // A package without expiry never expires.
    let mut forever = baseline();
    forever.manifest.expires = None;
    judge(&forever, &device, Clock::Trusted(u64::MAX)).unwrap();
}

#[test]
fn offline_expiry_is_judged_against_the_lower_bound_and_creation_is_not() {
    let expires = T0 + 90 * DAY;
    for device in [online_device(), recovery_device()] {
        for bound in [expires, expires + DAY] {
            assert_eq!(
                reason(&baseline(), &device, Clock::LowerBound(bound)),
                Reason::Expired
            );
        }
        // A bound before creation says nothing about "not yet valid".
        for bound in [0, T0 - 30 * DAY, T0 - 1, expires - 1] {
            judge(&baseline(), &device, Clock::LowerBound(bound)).unwrap();
        }
    }
    // The recovery profile's own clock is its recorded lower bound.
    let device = DeviceProfile {
        time_lower_bound: Some(expires),
        ..recovery_device()
    };
    assert_eq!(device.default_clock(), Clock::LowerBound(expires));
    assert_eq!(
        reason(&baseline(), &device, device.default_clock()),
        Reason::Expired
    );
}

// ---------------------------------------------------------------------------
// Rollback and revocation.
// ---------------------------------------------------------------------------

#[test]
fn an_old_valid_package_below_the_security_floor_is_refused() {
    let old = baseline().version("10.0.26100.1");
    let mut new = baseline().version("10.0.26100.2");
    new.manifest.security_version = 12;
    if let PackageKind::Baseline(b) = &mut new.manifest.kind {
        b.security_floor = 12;
    }
    // Before the update, both apply.
    let device = online_device();
    judge(&old, &device, NOW).unwrap();
    judge(&new, &device, NOW).unwrap();
    // After installing the new one, the floor is 12: the old one (security
    // version 10), though authentic and unexpired, is a rollback.
    let updated = DeviceProfile {
        security_floor: 12,
        ..online_device()
    };
    assert_eq!(reason(&old, &updated, NOW), Reason::BelowSecurityFloor);
    judge(&new, &updated, NOW).unwrap();
    // The floor is on security_version, not on the content version: a
    // higher content version with an old security version is refused too.
    let relabelled = baseline().version("10.0.99999.1");
    assert_eq!(
        reason(&relabelled, &updated, NOW),
        Reason::BelowSecurityFloor
    );
    // And in recovery, with the floor carried from the last good boot.
    let recovery = DeviceProfile {
        security_floor: 12,
        ..recovery_device()
    };
    assert_eq!(
        reason(&old, &recovery, Clock::LowerBound(T0)),
        Reason::BelowSecurityFloor
    );
}

#[test]
fn a_revoked_package_is_refused() {
    let base = baseline().build().digest();
    let spec = hotpatch(base, 1);
    let digest = verify(&spec).digest();
    let device = DeviceProfile {
        installed_baseline: Some(base),
        revoked: vec![Digest::of(b"another"), digest],
        ..online_device()
    };
    assert_eq!(reason(&spec, &device, NOW), Reason::Revoked);
    let revoked_baseline = DeviceProfile {
        revoked: vec![base],
        ..online_device()
    };
    assert_eq!(reason(&baseline(), &revoked_baseline, NOW), Reason::Revoked);
}

// ---------------------------------------------------------------------------
// Hotpatch lineage.
// ---------------------------------------------------------------------------

#[test]
fn a_hotpatch_on_the_wrong_baseline_is_refused() {
    let base = baseline().build().digest();
    let other = baseline().version("10.0.26100.9").build().digest();
    assert_ne!(base, other);
    let spec = hotpatch(base, 1);
    for installed in [Some(other), None] {
        let device = DeviceProfile {
            installed_baseline: installed,
            ..online_device()
        };
        assert_eq!(reason(&spec, &device, NOW), Reason::WrongBaseline);
    }
    let right = DeviceProfile {
        installed_baseline: Some(base),
        ..online_device()
    };
    judge(&spec, &right, NOW).unwrap();
}

#[test]
fn a_hotpatch_sequence_not_above_the_installed_one_is_refused() {
    let base = baseline().build().digest();
    let device = DeviceProfile {
        installed_baseline: Some(base),
        installed_hotpatch_sequence: 3,
        ..online_device()
    };
    for older_or_equal in [1, 2, 3] {
        assert_eq!(
            reason(&hotpatch(base, older_or_equal), &device, NOW),
            Reason::SequenceNotNewer
        );
    }
    judge(&hotpatch(base, 4), &device, NOW).unwrap();
    judge(&hotpatch(base, u32::MAX), &device, NOW).unwrap();
}

// ---------------------------------------------------------------------------
// Kinds per profile.
// ---------------------------------------------------------------------------

#[test]
fn kinds_allowed_per_profile() {
    let base = baseline().build().digest();
    // Online: no recovery package.
    assert_eq!(
        reason(&recovery(), &online_device(), NOW),
        Reason::KindNotAllowed
    );
    // Recovery: no hotpatch, no standard; baseline and recovery are fine.
    let device = DeviceProfile {
        installed_baseline: Some(base),
        ..recovery_device()
    };
    let clock = Clock::LowerBound(T0);
    assert_eq!(
        reason(&hotpatch(base, 1), &device, clock),
        Reason::KindNotAllowed
    );
    assert_eq!(reason(&standard(), &device, clock), Reason::KindNotAllowed);
    judge(&baseline(), &device, clock).unwrap();
    judge(&recovery(), &device, clock).unwrap();
    // Each kind is signed by its own role.
    assert_eq!(verify(&recovery()).role(), RoleName::Recovery);
    assert_eq!(verify(&hotpatch(base, 1)).role(), RoleName::Hotpatch);
    assert_eq!(verify(&standard()).role(), RoleName::Release);
}

#[test]
fn the_kind_is_judged_before_anything_else() {
    // A recovery package for another OS, expired, on an online device: the
    // first reason in `Reason::ALL` order is reported.
    let mut spec = recovery();
    spec.manifest.targets.os = tok("linux");
    assert_eq!(
        reason(&spec, &online_device(), Clock::Trusted(T0 + 100 * DAY)),
        Reason::KindNotAllowed
    );
    let mut spec = baseline();
    spec.manifest.targets.os = tok("linux");
    spec.manifest.targets.architectures = vec![tok("arm64")];
    assert_eq!(reason(&spec, &online_device(), NOW), Reason::WrongOs);
}

// ---------------------------------------------------------------------------
// Device profiles as TOML.
// ---------------------------------------------------------------------------

#[test]
fn a_full_device_profile_parses() {
    let base = Digest::of(b"baseline");
    let revoked = Digest::of(b"revoked");
    let text = format!(
        r#"
profile = "recovery"
os = "windows"
architecture = "arm64"
edition = "enterprise"
channels = ["general", "preview"]
capabilities = ["hvci", "vbs"]
installed_baseline = "{}"
installed_hotpatch_sequence = 4
security_floor = 12
revoked = ["{}"]
time_lower_bound = {}
catalog_version = 7
"#,
        base.to_hex(),
        revoked.to_hex().to_uppercase(),
        T0 + 5 * DAY
    );
    let device = DeviceProfile::from_toml(&text).unwrap();
    assert_eq!(
        device,
        DeviceProfile {
            mode: ProfileMode::Recovery,
            os: tok("windows"),
            architecture: tok("arm64"),
            edition: Some(tok("enterprise")),
            channels: vec![Channel::General, Channel::Preview],
            capabilities: vec![tok("hvci"), tok("vbs")],
            installed_baseline: Some(base),
            installed_hotpatch_sequence: 4,
            security_floor: 12,
            revoked: vec![revoked],
            time_lower_bound: Some(T0 + 5 * DAY),
            catalog_version: 7,
            catalog_role: None,
        }
    );
    assert_eq!(device.default_clock(), Clock::LowerBound(T0 + 5 * DAY));
}

#[test]
fn a_minimal_device_profile_takes_the_defaults() {
    let device = DeviceProfile::from_toml(
        "os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\n",
    )
    .unwrap();
    assert_eq!(device, online_device());
}

#[test]
fn a_device_profile_with_an_unknown_field_is_refused() {
    let e = DeviceProfile::from_toml(
        "os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\nsecurity_flor = 3\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("security_flor"), "{e}");
}

#[test]
fn a_device_profile_with_a_bad_value_is_refused() {
    let head = "os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\n";
    for (extra, needle) in [
        ("installed_baseline = \"abc\"", "installed_baseline"),
        (
            "installed_baseline = \"zz00000000000000000000000000000000000000000000000000000000000000\"",
            "installed_baseline",
        ),
        ("revoked = [\"1234\"]", "revoked"),
        ("channels = [\"beta\"]", "beta"),
        ("profile = \"offline\"", "offline"),
        ("capabilities = [\"Not A Token\"]", "capability"),
        ("security_floor = -1", ""),
    ] {
        let e = DeviceProfile::from_toml(&format!("{head}{extra}\n")).unwrap_err();
        assert!(e.to_string().contains(needle), "{extra}: {e}");
    }
    // A required field missing (the edition is not: a device may have none).
    let e = DeviceProfile::from_toml("os = \"windows\"\nedition = \"pro\"\n").unwrap_err();
    assert!(e.to_string().contains("architecture"), "{e}");
}
