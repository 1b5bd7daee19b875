//! The normative check order in the library (`spec/SPEC.md`, "Check
//! order"): the header lengths (VP8) before the policy, the policy's own
//! order (kind before critical extensions), no payload byte of a package
//! with an unknown critical extension, the header-depth length check, and
//! typed stable names for the policy failures of roots and catalogs. The
//! two-fault vectors (`spec/vectors/*-order-*`) pin the rest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{EXT_PRIVATE_START, ErrorClass, Limits, PackageKind, Section};
use hpk_tests::verify::{self, verifier_at};
use hpk_tests::*;
use hpk_verify::{
    Clock, Depth, DeviceProfile, DocumentReason, Reason, RootError, TrustedRoot, VerifyError,
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
    let e = match verify::verifier(&standard_trusted_root(&keys)).package(&file[..]) {
        Err(e) => e,
        Ok(_) => panic!("accepted"),
    };
    assert_eq!(e.class(), ErrorClass::Malformed, "{e}");
    assert_eq!(e.reason(), None);
    assert!(
        matches!(
            e,
            VerifyError::Inconsistent {
                section: Section::PayloadArea,
                declared,
                implied: Some(implied),
            } if declared == len + 1 && implied == len
        ),
        "{e:?}"
    );
}

#[test]
fn kind_not_allowed_comes_before_an_unknown_critical_extension() {
    let keys = Keys::standard();
    let built = critical(PackageSpec::new("crit", PackageKind::Recovery)).build();
    let file = built.file(&[&keys.recovery]);
    let verifier = verifier_at(&standard_trusted_root(&keys), NOW, &Limits::default());
    let judged = |package: Result<_, VerifyError>| match package {
        Ok(_) => panic!("judged applicable"),
        Err(VerifyError::NotApplicable(n)) => n.reason,
        Err(e) => panic!("not a policy failure: {e:?}"),
    };
    let package = verifier.package(&file[..]).unwrap();
    assert_eq!(
        judged(package.judge(&online()).map_err(VerifyError::from)),
        Reason::KindNotAllowed
    );
    let package = verifier.package(&file[..]).unwrap();
    assert_eq!(
        judged(package.judge_without_device().map_err(VerifyError::from)),
        Reason::UnknownCriticalExtension
    );
}

/// Only a judged package reads payloads (by type: `Package<R, Judged>`),
/// and neither judgement lets this one through, with or without a device,
/// at any time: no byte after its head is ever read.
#[test]
fn no_payload_byte_of_a_package_with_an_unknown_critical_extension() {
    let keys = Keys::standard();
    let built = critical(PackageSpec::baseline("crit")).build();
    let file = built.file(&[&keys.release]);
    let head = built.index_offset(1) as u64;
    let root = standard_trusted_root(&keys);
    for clock in [verify::NO_TIME, NOW] {
        let verifier = verifier_at(&root, clock, &Limits::default());
        let mut input = CountingReader::new(&file[..]);
        let package = verifier.package(&mut input).unwrap();
        let e = VerifyError::from(package.judge_without_device().err().expect("judged"));
        assert_eq!(e.reason(), Some(Reason::UnknownCriticalExtension), "{e}");
        assert!(matches!(e, VerifyError::NotApplicable(_)), "{e}");
        assert_eq!(input.count, head);
        let mut input = CountingReader::new(&file[..]);
        let package = verifier.package(&mut input).unwrap();
        let e = VerifyError::from(package.judge(&online()).err().expect("judged"));
        assert_eq!(e.reason(), Some(Reason::UnknownCriticalExtension), "{e}");
        assert_eq!(input.count, head);
    }
}

#[test]
fn header_depth_ends_with_the_file_length() {
    let keys = Keys::standard();
    let file = PackageSpec::baseline("b")
        .with_payload("a.txt", b"a\n".to_vec())
        .build()
        .file(&[&keys.release]);
    let verifier = verify::verifier(&standard_trusted_root(&keys));
    let at_header_depth = |input: &[u8], len: Option<u64>| {
        verifier
            .package_of_len(input, len)
            .and_then(|p| Ok(p.judge_without_device()?))
            .and_then(|p| p.verify(Depth::Header))
    };
    let len = file.len() as u64;
    at_header_depth(&file, Some(len)).unwrap();
    for wrong in [len - 1, len + 1, 0] {
        let e = at_header_depth(&file, Some(wrong)).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Malformed, "{wrong}: {e}");
    }
    // Of unknown length, header depth checks nothing past the head; counted,
    // it reads what follows, without parsing it, up to one byte too many.
    let mut long = file.clone();
    long.push(0);
    for input in [&file[..file.len() - 1], &long[..]] {
        at_header_depth(input, None).unwrap();
        let counted = verifier
            .package(input)
            .and_then(|p| Ok(p.judge_without_device()?))
            .and_then(|p| p.verify(Depth::HeaderCounted));
        let e = counted.unwrap_err();
        assert_eq!(e.class(), ErrorClass::Malformed, "{e}");
    }
    verifier
        .package(&file[..])
        .and_then(|p| Ok(p.judge_without_device()?))
        .and_then(|p| p.verify(Depth::HeaderCounted))
        .unwrap();
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
    assert!(matches!(e, RootError::Version(_)));
    assert_eq!(e.reason(), Some(DocumentReason::WrongVersion));
    // A pinned root that expired starts a chain: only the last root's
    // time is judged.
    let e = TrustedRoot::load_chain(&root_bytes, std::iter::empty::<&[u8]>(), late, &limits)
        .unwrap_err();
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
    let e = verify::catalog(&file, &root, NOW, 9, &limits).unwrap_err();
    assert_eq!(e.reason(), Some(DocumentReason::Rollback));
    let late = Clock::Trusted(T0 + 30 * DAY);
    let e = verify::catalog(&file, &root, late, 0, &limits).unwrap_err();
    assert_eq!(e.reason(), Some(DocumentReason::Expired));
    verify::catalog(&file, &root, NOW, 5, &limits).unwrap();
}
