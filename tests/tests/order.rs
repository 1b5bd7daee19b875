//! The normative check order in the library (`spec/SPEC.md`, "Check
//! order"): the header lengths (VP8) before the policy, the policy's own
//! order (kind before critical extensions), no payload byte of a package
//! with an unknown critical extension, the header-depth length check, and
//! typed stable names for the policy failures of roots and catalogs. The
//! two-fault vectors (`spec/vectors/*-order-*`) pin the rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{EXT_PRIVATE_START, ErrorClass, Limits, PackageKind};
use hpk_tests::*;
use hpk_verify::{
    Clock, DeviceProfile, DocumentReason, Reason, RootError, TrustedRoot, VerifiedPackage,
    VerifyError, verify_catalog,
};

const NOW: Clock = Clock::Trusted(T0 + DAY);

fn online() -> DeviceProfile {
    DeviceProfile::from_toml("os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\n")
        .unwrap()
}

fn critical(spec: PackageSpec) -> PackageSpec {
    spec.with_payload("a.txt", b"a\n".to_vec()).with_extension(
        EXT_PRIVATE_START + 2,
        true,
        b"must understand",
    )
}

#[test]
fn lengths_come_before_an_unknown_critical_extension() {
    let keys = Keys::standard();
    let mut file = critical(PackageSpec::baseline("crit"))
        .build()
        .file(&[&keys.release]);
    // payload_len + 1, and one more byte so that only VP8 fails.
    let len = u64::from_le_bytes(file[32..40].try_into().unwrap());
    file[32..40].copy_from_slice(&(len + 1).to_le_bytes());
    file.push(0);
    let e =
        match VerifiedPackage::open(&file[..], &standard_trusted_root(&keys), &Limits::default()) {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        };
    assert_eq!(e.class(), ErrorClass::Malformed, "{e}");
    assert_eq!(e.reason(), None);
}

#[test]
fn kind_not_allowed_comes_before_an_unknown_critical_extension() {
    let keys = Keys::standard();
    let built = critical(PackageSpec::new("crit", PackageKind::Recovery)).build();
    let file = built.file(&[&keys.recovery]);
    let package =
        VerifiedPackage::open(&file[..], &standard_trusted_root(&keys), &Limits::default())
            .unwrap();
    let n = package.head().check_policy(&online(), NOW).unwrap_err();
    assert_eq!(n.reason, Reason::KindNotAllowed);
    let n = package.head().check_intrinsic(NOW).unwrap_err();
    assert_eq!(n.reason, Reason::UnknownCriticalExtension);
}

#[test]
fn no_payload_byte_of_a_package_with_an_unknown_critical_extension() {
    let keys = Keys::standard();
    let file = critical(PackageSpec::baseline("crit"))
        .build()
        .file(&[&keys.release]);
    let root = standard_trusted_root(&keys);
    // A caller that skips the policy still cannot read the payloads.
    let package = VerifiedPackage::open(&file[..], &root, &Limits::default()).unwrap();
    let e = package.verify_payloads(&mut |_| {}).unwrap_err();
    assert_eq!(e.reason(), Some(Reason::UnknownCriticalExtension), "{e}");
    let package = VerifiedPackage::open(&file[..], &root, &Limits::default()).unwrap();
    let mut sink = hpk_verify::MemorySink::default();
    let e = package.stream(&mut sink, &mut |_| {}).unwrap_err();
    assert!(matches!(e, VerifyError::NotApplicable(_)), "{e}");
    assert!(sink.payloads.is_empty());
}

#[test]
fn header_depth_ends_with_the_file_length() {
    let keys = Keys::standard();
    let file = PackageSpec::baseline("b")
        .with_payload("a.txt", b"a\n".to_vec())
        .build()
        .file(&[&keys.release]);
    let package =
        VerifiedPackage::open(&file[..], &standard_trusted_root(&keys), &Limits::default())
            .unwrap();
    let head = package.head();
    let len = file.len() as u64;
    head.check_file_len(len).unwrap();
    for wrong in [len - 1, len + 1, 0] {
        let e = head.check_file_len(wrong).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Malformed, "{wrong}: {e}");
    }
}

#[test]
fn policy_failures_of_roots_and_catalogs_have_typed_names() {
    let names: Vec<&str> = DocumentReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        ["expired", "not-yet-valid", "wrong-version", "rollback"]
    );
    let keys = Keys::standard();
    let root_bytes = root_file(&standard_root(&keys), &[&keys.root]);
    let limits = Limits::default();
    let late = Clock::Trusted(T0 + 1000 * DAY);
    let e = TrustedRoot::load(&root_bytes, late, &limits).unwrap_err();
    assert_eq!(e.reason(), Some(DocumentReason::Expired));
    assert_eq!(e.class(), ErrorClass::Policy);
    let e = TrustedRoot::load(&root_bytes, Clock::Trusted(T0 - 1), &limits).unwrap_err();
    assert_eq!(e.reason(), Some(DocumentReason::NotYetValid));
    // The same root again is not its own next version.
    let root = standard_trusted_root(&keys);
    let e = root.update(&root_bytes, &limits).unwrap_err();
    assert!(matches!(e, RootError::Version { .. }));
    assert_eq!(e.reason(), Some(DocumentReason::WrongVersion));
    // A pinned root that expired starts a chain: only the last root's
    // time is judged.
    let e = TrustedRoot::load_chain(&root_bytes, [], late, &limits).unwrap_err();
    assert_eq!(e.reason(), Some(DocumentReason::Expired));
    // Catalogs.
    let catalog = hpk_format::Catalog {
        version: 5,
        created: T0,
        expires: T0 + 7 * DAY,
        entries: Vec::new(),
        extensions: Vec::new(),
    };
    let body = hpk_format::encode(&catalog, &limits).unwrap();
    let file = hpk_format::encode_head(
        hpk_format::FileType::Catalog,
        &[keys.catalog.record(hpk_format::FileType::Catalog, &body)],
        &body,
        0,
        0,
    )
    .unwrap();
    let e = verify_catalog(&file, &root, NOW, 9, &limits).unwrap_err();
    assert_eq!(e.reason(), Some(DocumentReason::Rollback));
    let e = verify_catalog(&file, &root, Clock::Trusted(T0 + 30 * DAY), 0, &limits).unwrap_err();
    assert_eq!(e.reason(), Some(DocumentReason::Expired));
    verify_catalog(&file, &root, NOW, 5, &limits).unwrap();
}
