//! The front door as an agent uses it: a `Verifier` per trust root,
//! packages judged before they are read, payloads as `Read`, rotations all
//! or nothing, device state read, recorded and written back.
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{BaselineInfo, Digest, FileType, PackageKind, encode};
use hpk_tests::{
    DAY, Keys, PackageSpec, T0, online_device, root_file, sample_data, standard_root, tok,
};
use hpk_verify::{
    Clock, ContainerError, Depth, DeviceProfile, Limits, ProfileMode, Reason, RootError, Section,
    TrustedRoot, Verifier, VerifyError,
};
use std::io::Read;

fn root(keys: &Keys) -> TrustedRoot {
    let bytes = root_file(&standard_root(keys), &[&keys.root]);
    TrustedRoot::load(&bytes, Clock::Trusted(T0 + DAY), &Limits::default()).unwrap()
}

fn verifier(keys: &Keys) -> Verifier {
    Verifier::new(root(keys)).clock(Clock::Trusted(T0 + DAY))
}

/// Two payloads of several chunks each, signed by the release key.
fn two_payloads(keys: &Keys) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let a = sample_data(3 * 1024 * 1024 + 17, 1);
    let b = sample_data(70_000, 2);
    let built = PackageSpec::baseline("os.baseline")
        .with_payload("bin/a.dll", a.clone())
        .with_payload("bin/b.dll", b.clone())
        .build();
    (
        built.file(&[&keys.release]),
        vec![("bin/a.dll".into(), a), ("bin/b.dll".into(), b)],
    )
}

#[test]
fn a_package_verifies_at_every_depth_from_a_file() {
    let keys = Keys::standard();
    let (file, _) = two_payloads(&keys);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("update.hpk");
    std::fs::write(&path, &file).unwrap();
    let v = verifier(&keys);
    for depth in [
        Depth::Header,
        Depth::HeaderCounted,
        Depth::Stored,
        Depth::Full,
    ] {
        let manifest = v
            .open(&path)
            .unwrap()
            .judge(&online_device())
            .unwrap()
            .verify(depth)
            .unwrap();
        assert_eq!(manifest.name.as_str(), "os.baseline", "{depth:?}");
        assert_eq!(manifest.signers().len(), 1);
        assert_eq!(manifest.role(), hpk_format::RoleName::Release);
    }
}

#[test]
fn header_depth_checks_the_length_only_when_it_is_known_or_counted() {
    let keys = Keys::standard();
    let (mut file, _) = two_payloads(&keys);
    file.push(0);
    let v = verifier(&keys);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("longer.hpk");
    std::fs::write(&path, &file).unwrap();
    let known = v.open(&path).unwrap().judge_without_device().unwrap();
    assert!(matches!(
        known.verify(Depth::Header),
        Err(VerifyError::Container(ContainerError::TrailingBytes))
    ));
    // A stream of unknown length: header depth reads nothing after the
    // head, so it cannot see the extra byte; counting does.
    let stream = v
        .package(&file[..])
        .unwrap()
        .judge_without_device()
        .unwrap();
    assert!(stream.verify(Depth::Header).is_ok());
    let counted = v
        .package(&file[..])
        .unwrap()
        .judge_without_device()
        .unwrap();
    assert!(matches!(
        counted.verify(Depth::HeaderCounted),
        Err(VerifyError::Container(ContainerError::TrailingBytes))
    ));
    let short = &file[..file.len() - 100];
    let counted = v.package(short).unwrap().judge_without_device().unwrap();
    assert!(matches!(
        counted.verify(Depth::HeaderCounted),
        Err(VerifyError::Container(ContainerError::Truncated {
            section: Section::PayloadArea
        }))
    ));
}

#[test]
fn a_package_for_another_device_is_refused_before_a_payload_byte_is_read() {
    let keys = Keys::standard();
    let (file, _) = two_payloads(&keys);
    let v = verifier(&keys);
    let head_only = &file[..file.len()
        - v.package(&file[..]).unwrap().header().payload_len as usize
        - v.package(&file[..]).unwrap().header().index_len as usize];
    let mut arm = online_device();
    arm.architecture = tok("arm64");
    let package = v.package(head_only).unwrap();
    let refused = match package.judge(&arm) {
        Err(refused) => refused,
        Ok(_) => panic!("expected wrong-architecture"),
    };
    assert_eq!(refused.reason.reason, Reason::WrongArchitecture);
    // Handed back, the package can be judged for another device without
    // reading its head again.
    let judged = refused.package.judge(&online_device()).unwrap();
    assert_eq!(judged.manifest().name.as_str(), "os.baseline");
}

#[test]
fn payloads_read_as_streams_and_a_payload_left_early_is_checked_to_its_end() {
    let keys = Keys::standard();
    let (file, expected) = two_payloads(&keys);
    let v = verifier(&keys);
    let mut payloads = v
        .package(&file[..])
        .unwrap()
        .judge(&online_device())
        .unwrap()
        .payloads()
        .unwrap();
    let mut first = payloads.next_payload().unwrap().unwrap();
    assert_eq!(first.descriptor().unwrap().name.as_str(), "bin/a.dll");
    let mut some = vec![0u8; 1000];
    first.read_exact(&mut some).unwrap();
    assert_eq!(some, expected[0].1[..1000]);
    // Left early: the next call reads and checks the rest of it.
    let mut second = payloads.next_payload().unwrap().unwrap();
    let mut content = Vec::new();
    second.read_to_end(&mut content).unwrap();
    assert_eq!(content, expected[1].1);
    assert!(payloads.next_payload().unwrap().is_none());
    let manifest = payloads.finish().unwrap();
    assert_eq!(manifest.payloads.len(), 2);

    // Nothing may follow the payload area.
    let mut longer = file.clone();
    longer.push(1);
    let payloads = v
        .package(&longer[..])
        .unwrap()
        .judge_without_device()
        .unwrap()
        .payloads()
        .unwrap();
    assert!(matches!(
        payloads.finish(),
        Err(VerifyError::Container(ContainerError::TrailingBytes))
    ));
}

/// Reads every payload through `Payloads`, then `finish`; the first error.
fn read_all_payloads(v: &Verifier, file: &[u8]) -> Result<(), VerifyError> {
    let mut payloads = v.package(file)?.judge_without_device()?.payloads()?;
    while let Some(mut payload) = payloads.next_payload()? {
        let mut content = Vec::new();
        if let Err(e) = payload.read_to_end(&mut content) {
            let cause = e.into_inner().expect("a read error carries its cause");
            return Err(*cause.downcast::<VerifyError>().expect("a VerifyError"));
        }
    }
    payloads.finish().map(|_| ())
}

#[test]
fn a_tampered_or_truncated_chunk_fails_on_the_payload_read_path_too() {
    let keys = Keys::standard();
    let (file, _) = two_payloads(&keys);
    let v = verifier(&keys);
    read_all_payloads(&v, &file).unwrap();
    // A flipped byte in the payload area: the chunk's digest fails before
    // the decoder sees it.
    let mut tampered = file.clone();
    let last = tampered.len() - 10;
    tampered[last] ^= 1;
    assert!(matches!(
        read_all_payloads(&v, &tampered),
        Err(VerifyError::Payload(
            hpk_format::PayloadError::ChunkDigest { .. }
        ))
    ));
    // The input ends inside the payload area.
    let short = &file[..file.len() - 10];
    assert!(matches!(
        read_all_payloads(&v, short),
        Err(VerifyError::Payload(
            hpk_format::PayloadError::Truncated { .. }
        ))
    ));
}

#[test]
fn a_payload_whose_content_digest_differs_fails_on_its_last_read() {
    let keys = Keys::standard();
    let mut built = PackageSpec::baseline("os.baseline")
        .with_payload("a.bin", sample_data(100_000, 3))
        .build();
    built.manifest.payloads[0].content_digest = Digest::of(b"something else");
    built.body = encode(&built.manifest, &Limits::default()).unwrap();
    let file = built.file(&[&keys.release]);
    let v = verifier(&keys);
    let mut payloads = v
        .package(&file[..])
        .unwrap()
        .judge_without_device()
        .unwrap()
        .payloads()
        .unwrap();
    let mut payload = payloads.next_payload().unwrap().unwrap();
    let mut content = Vec::new();
    let err = payload.read_to_end(&mut content).unwrap_err();
    let cause = err.get_ref().and_then(|e| e.downcast_ref::<VerifyError>());
    assert!(
        matches!(
            cause,
            Some(VerifyError::Payload(
                hpk_format::PayloadError::ContentDigest { .. }
            ))
        ),
        "{err}"
    );
    // The same package at full depth.
    let judged = v
        .package(&file[..])
        .unwrap()
        .judge_without_device()
        .unwrap();
    assert!(matches!(
        judged.verify(Depth::Full),
        Err(VerifyError::Payload(
            hpk_format::PayloadError::ContentDigest { .. }
        ))
    ));
}

#[test]
fn a_rotation_is_all_or_nothing() {
    let keys = Keys::standard();
    let v1 = standard_root(&keys);
    let mut v2 = v1.clone();
    v2.version = 2;
    let mut v3 = v2.clone();
    v3.version = 3;
    let v2_file = root_file(&v2, &[&keys.root]);
    // Version 3 signed by a key that is not a root key.
    let v3_bad = root_file(&v3, &[&keys.release]);
    let mut v = verifier(&keys);
    let err = v.rotate([&v2_file[..], &v3_bad[..]]).unwrap_err();
    assert!(matches!(err, RootError::Signature(_)), "{err}");
    assert_eq!(v.root().root().version, 1, "a failed chain changes nothing");
    v.rotate([&v2_file[..]]).unwrap();
    assert_eq!(v.root().root().version, 2);
    // The last root's expiry is judged at the verifier's clock.
    let mut v2_short = standard_root(&keys);
    v2_short.version = 2;
    v2_short.expires = T0 + 2 * DAY;
    let v2_short = root_file(&v2_short, &[&keys.root]);
    let mut v = verifier(&keys).clock(Clock::Trusted(T0 + 3 * DAY));
    let err = v.rotate([&v2_short[..]]).unwrap_err();
    assert!(
        matches!(err, RootError::Expired { version: 2, .. }),
        "{err}"
    );
    assert_eq!(v.root().root().version, 1);
}

#[test]
fn device_state_is_written_back_as_it_was_read() {
    let mut device = online_device();
    device.channels.push(hpk_format::Channel::Preview);
    device.capabilities = vec![tok("vbs")];
    device.installed_baseline = Some(Digest::of(b"baseline"));
    device.installed_hotpatch_sequence = 3;
    device.security_floor = 7;
    device.revoked = vec![Digest::of(b"bad")];
    device.catalog_version = 12;
    device.catalog_role = Some(Digest::of(b"role"));
    let text = device.to_toml().unwrap();
    assert_eq!(DeviceProfile::from_toml(&text).unwrap(), device, "{text}");

    let mut recovery = online_device();
    recovery.mode = ProfileMode::Recovery;
    recovery.time_lower_bound = Some(T0);
    let text = recovery.to_toml().unwrap();
    assert_eq!(DeviceProfile::from_toml(&text).unwrap(), recovery, "{text}");

    // TOML integers are signed: a floor above i64::MAX is an error, not a
    // field silently dropped.
    device.security_floor = u64::MAX;
    assert!(device.to_toml().is_err());
}

#[test]
fn installing_a_baseline_then_a_hotpatch_moves_the_device_state_on() {
    let keys = Keys::standard();
    let revoked = Digest::of(b"a revoked hotpatch");
    let baseline = PackageSpec::new(
        "os.baseline",
        PackageKind::Baseline(BaselineInfo {
            revoked_hotpatches: vec![revoked],
            security_floor: 9,
        }),
    )
    .build();
    let v = verifier(&keys);
    let mut device = online_device();
    device.installed_hotpatch_sequence = 4;
    let file = baseline.file(&[&keys.release]);
    let manifest = v
        .package(&file[..])
        .unwrap()
        .judge(&device)
        .unwrap()
        .verify(Depth::Full)
        .unwrap();
    device.record_installed(&manifest);
    assert_eq!(device.installed_baseline, Some(baseline.digest()));
    assert_eq!(device.installed_hotpatch_sequence, 0);
    assert_eq!(device.security_floor, 9);
    assert_eq!(device.revoked, vec![revoked]);
    // Recording it twice adds nothing.
    device.record_installed(&manifest);
    assert_eq!(device.revoked, vec![revoked]);
    // Installed as a delta (R10): the device records the full package's
    // digest, which its hotpatches name, with the same floor and
    // revocations.
    let mut by_delta = online_device();
    let full = Digest([7; 32]);
    by_delta.record_installed_as(&manifest, full);
    assert_eq!(by_delta.installed_baseline, Some(full));
    assert_eq!(by_delta.security_floor, 9);
    assert_eq!(by_delta.revoked, vec![revoked]);

    let hotpatch = PackageSpec::hotpatch("os.hotpatch", baseline.digest(), 2).build();
    let file = hotpatch.file(&[&keys.hotpatch]);
    let manifest = v
        .package(&file[..])
        .unwrap()
        .judge(&device)
        .unwrap()
        .verify(Depth::Full)
        .unwrap();
    device.record_installed(&manifest);
    assert_eq!(device.installed_hotpatch_sequence, 2);
    // The same hotpatch no longer applies.
    let again = v.package(&file[..]).unwrap().judge(&device);
    assert!(matches!(
        again,
        Err(refused) if refused.reason.reason == Reason::SequenceNotNewer
    ));
}

#[test]
fn a_recovery_device_raises_its_time_bound_to_what_it_has_seen() {
    let mut device = online_device();
    device.record_time_seen(T0 + 5);
    assert_eq!(
        device.time_lower_bound, None,
        "online devices trust their clock"
    );
    device.mode = ProfileMode::Recovery;
    device.record_time_seen(T0 + 5);
    device.record_time_seen(T0);
    assert_eq!(device.time_lower_bound, Some(T0 + 5), "never lowered");
}

#[test]
fn the_signed_statement_is_the_one_the_spec_names() {
    // A package signed over anything but its statement fails.
    let keys = Keys::standard();
    let built = PackageSpec::baseline("os.baseline").build();
    let wrong = keys.release.record(FileType::Catalog, &built.body);
    let file = built.file_with(&[wrong]);
    assert!(matches!(
        verifier(&keys).package(&file[..]),
        Err(VerifyError::Signature(_))
    ));
}
