//! One test (or more) for every threat of `DESIGN.md` that a package or a
//! trust root can carry: arbitrary packages (unsigned, unknown key, wrong
//! role), signatures over other bytes, threshold bypass with duplicates,
//! malformed but signed metadata, inconsistent sections, unknown critical
//! extensions, tampered chunks and indexes, truncation and trailing data,
//! decompression bombs, overflowing sizes, and a device with no key.
//!
//! Every test names the exact error it expects: variant, class, and the
//! fields that say why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    ALG_ED25519, ChunkEncoding, ChunkEntry, Compression, ContainerError, DecodeError, Digest,
    ErrorClass, FileType, HEADER_LEN, Header, Limits, Manifest, PackageKind, PayloadDescriptor,
    PayloadError, PayloadName, Role, RoleName, SIGNATURE_RECORD_LEN, Section, SignatureRecord,
    TrustRoot, decode, encode, encode_head, parse_chunk_index,
};
use hpk_tests::verify::{MemorySink, NO_TIME, verifier_at};
use hpk_tests::*;
use hpk_verify::{
    Clock, Depth, Judged, Package, PayloadSink, Reason, RootError, SignerReport, ThresholdNotMet,
    TrustedRoot, VerifyError,
};
use std::io::{self, Read};

const NOW: Clock = Clock::Trusted(T0 + DAY);

fn limits() -> Limits {
    Limits::default()
}

/// Reads the head of a package from `input` and authenticates it, within
/// `limits` (no policy yet).
fn open_within<R: Read>(
    input: R,
    root: &TrustedRoot,
    limits: &Limits,
) -> Result<Package<R>, VerifyError> {
    verifier_at(root, NO_TIME, limits).package(input)
}

fn open<'a>(file: &'a [u8], root: &TrustedRoot) -> Result<Package<&'a [u8]>, VerifyError> {
    open_within(file, root, &limits())
}

/// `file` with its head authenticated and judged for no device (at
/// [`NO_TIME`], only an unknown critical extension is refused), ready to
/// read its payloads.
fn judged<'a>(file: &'a [u8], root: &TrustedRoot) -> Package<&'a [u8], Judged> {
    open(file, root)
        .expect("head verifies")
        .judge_without_device()
        .expect("judged")
}

/// The error opening `file` gives; panics if it is accepted.
fn open_err(file: &[u8], root: &TrustedRoot) -> VerifyError {
    match open(file, root) {
        Ok(p) => panic!("package accepted: {:?}", p.manifest().name),
        Err(e) => e,
    }
}

/// The threshold failure opening `file` gives; panics on anything else.
fn signature_err(file: &[u8], root: &TrustedRoot) -> Box<ThresholdNotMet> {
    let e = open_err(file, root);
    assert_eq!(e.class(), ErrorClass::Signature, "{e}");
    match e {
        VerifyError::Signature(t) => t,
        other => panic!("expected a signature error, got {other:?}"),
    }
}

/// The error streaming every payload of `file` into a memory sink gives.
fn stream_err(file: &[u8], root: &TrustedRoot) -> VerifyError {
    let package = judged(file, root);
    match package.stream(&mut MemorySink::default(), &mut |_| {}) {
        Ok(_) => panic!("payloads accepted"),
        Err(e) => e,
    }
}

/// The error of verifying to `Depth::Stored` (stored bytes only, no
/// decompression).
fn verify_payloads_err(file: &[u8], root: &TrustedRoot) -> VerifyError {
    let package = judged(file, root);
    match package.verify(Depth::Stored) {
        Ok(_) => panic!("payloads accepted"),
        Err(e) => e,
    }
}

fn small_baseline() -> BuiltPackage {
    PackageSpec::baseline("contoso-os")
        .with_payload("boot/kernel.bin", sample_data(10_000, 1))
        .with_payload("readme.txt", b"hello".to_vec())
        .build()
}

fn small_hotpatch(baseline: Digest) -> BuiltPackage {
    PackageSpec::hotpatch("contoso-hotpatch", baseline, 1)
        .with_payload("patch.bin", sample_data(5_000, 2))
        .build()
}

fn record_over(key: &TestKey, body: &[u8]) -> SignatureRecord {
    key.record(FileType::Package, body)
}

// ---------------------------------------------------------------------------
// Arbitrary package: unsigned, unknown key, wrong role.
// ---------------------------------------------------------------------------

#[test]
fn valid_package_is_accepted_end_to_end() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let file = built.file(&[&keys.release]);
    let head = open(&file, &root).unwrap().manifest().clone();
    assert_eq!(head.role(), RoleName::Release);
    assert_eq!(
        head.signers().iter().copied().collect::<Vec<_>>(),
        [keys.release.id()]
    );
    assert_eq!(head.digest(), built.digest());
    let mut sink = MemorySink::default();
    judged(&file, &root).stream(&mut sink, &mut |_| {}).unwrap();
    assert_eq!(
        sink.payloads,
        [
            ("boot/kernel.bin".to_owned(), sample_data(10_000, 1)),
            ("readme.txt".to_owned(), b"hello".to_vec()),
        ]
    );
}

#[test]
fn unsigned_package_is_refused_as_unsigned() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let file = small_baseline().file(&[]);
    let e = open_err(&file, &root);
    let message = e.to_string();
    let VerifyError::Signature(t) = e else {
        panic!("expected a signature error, got {e:?}");
    };
    assert_eq!(t.got, 0);
    assert_eq!(t.role, None, "refused before the manifest is decoded");
    assert_eq!(t.report, SignerReport::default());
    assert!(message.contains("unsigned"), "{message}");
}

#[test]
fn package_signed_by_a_key_not_in_the_root_is_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let stranger = TestKey::from_seed(99);
    let file = small_baseline().file(&[&stranger]);
    let t = signature_err(&file, &root);
    assert_eq!(t.got, 0);
    assert_eq!(t.role, None);
    assert!(t.report.valid.is_empty());
    assert!(t.report.invalid.is_empty());
    assert_eq!(
        t.report.unknown.iter().copied().collect::<Vec<_>>(),
        [stranger.id()]
    );
    assert!(t.to_string().contains("is not in the trust root"), "{t}");
}

#[test]
fn hotpatch_signed_by_the_release_key_is_refused_for_its_role() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let baseline = small_baseline();
    let hotpatch = small_hotpatch(baseline.digest());
    let file = hotpatch.file(&[&keys.release]);
    let t = signature_err(&file, &root);
    assert_eq!(t.role, Some(RoleName::Hotpatch));
    assert_eq!(t.needed, 1);
    assert_eq!(t.got, 0);
    assert_eq!(t.other_role_keys, [keys.release.id()]);
    assert!(t.report.valid.contains(&keys.release.id()));
    assert!(t.to_string().contains("hotpatch role"), "{t}");
    // The right key is accepted, and the release key on top changes nothing.
    let head = open(&hotpatch.file(&[&keys.hotpatch]), &root)
        .unwrap()
        .manifest()
        .clone();
    assert_eq!(head.role(), RoleName::Hotpatch);
    let both = hotpatch.file(&[&keys.release, &keys.hotpatch]);
    let head = open(&both, &root).unwrap().manifest().clone();
    assert_eq!(
        head.signers().iter().copied().collect::<Vec<_>>(),
        [keys.hotpatch.id()]
    );
}

#[test]
fn recovery_and_baseline_keys_do_not_stand_in_for_each_other() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let recovery = PackageSpec::new("contoso-recovery", PackageKind::Recovery)
        .with_payload("fix.bin", b"fix".to_vec())
        .build();
    let t = signature_err(&recovery.file(&[&keys.release]), &root);
    assert_eq!(t.role, Some(RoleName::Recovery));
    assert_eq!(t.other_role_keys, [keys.release.id()]);
    let t = signature_err(&small_baseline().file(&[&keys.recovery]), &root);
    assert_eq!(t.role, Some(RoleName::Release));
    assert_eq!(t.other_role_keys, [keys.recovery.id()]);
}

#[test]
fn package_signed_only_by_the_catalog_or_root_key_is_refused_before_decode() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    // A body that does not decode: signed by a package-signing key it is a
    // decode error, so a signature error for the others proves that their
    // signatures were refused before the body was parsed.
    let garbage = BuiltPackage {
        body: b"\xff\xff\xff\xff\xff\xff\xff\xff not a manifest".to_vec(),
        ..small_baseline()
    };
    let e = open_err(&garbage.file(&[&keys.release]), &root);
    assert!(matches!(e, VerifyError::Decode(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Malformed);
    for key in [&keys.catalog, &keys.root] {
        for built in [&garbage, &small_baseline()] {
            let t = signature_err(&built.file(&[key]), &root);
            assert_eq!(t.role, None, "refused before decode");
            assert_eq!(t.got, 0);
            assert_eq!(
                t.report.valid.iter().copied().collect::<Vec<_>>(),
                [key.id()]
            );
            assert_eq!(t.other_role_keys, [key.id()]);
        }
    }
}

// ---------------------------------------------------------------------------
// Signature over other bytes than those used.
// ---------------------------------------------------------------------------

#[test]
fn signature_made_over_another_manifest_is_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let other = PackageSpec::baseline("contoso-os")
        .version("10.0.26100.2")
        .build();
    assert_ne!(other.body, built.body);
    let file = built.file_with(&[record_over(&keys.release, &other.body)]);
    let t = signature_err(&file, &root);
    assert_eq!(t.got, 0);
    assert_eq!(
        t.report.invalid.iter().copied().collect::<Vec<_>>(),
        [keys.release.id()]
    );
    assert!(t.report.valid.is_empty());
    assert!(t.to_string().contains("does not verify"), "{t}");
}

#[test]
fn signature_over_the_body_in_another_file_type_context_is_refused() {
    // The same body signed as a trust root or a catalog: the domain
    // separation prefix differs, so it does not verify as a package.
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    for ft in [FileType::TrustRoot, FileType::Catalog] {
        let file = built.file_with(&[keys.release.record(ft, &built.body)]);
        let t = signature_err(&file, &root);
        assert_eq!(
            t.report.invalid.iter().copied().collect::<Vec<_>>(),
            [keys.release.id()]
        );
    }
}

#[test]
fn flipping_one_manifest_bit_after_signing_is_a_signature_error_not_a_decode_error() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let file = built.file(&[&keys.release]);
    let body_at = HEADER_LEN + SIGNATURE_RECORD_LEN;
    // Byte 7 is the top byte of the package name's length: flipped, the body
    // cannot decode, so only authenticate-before-parse yields a signature
    // error. Every other byte position is checked as well.
    let mut flipped = built.body.clone();
    flipped[7] ^= 0x80;
    assert!(decode::<Manifest>(&flipped, &limits()).is_err());
    for i in 0..built.body.len() {
        let mut bad = file.clone();
        bad[body_at + i] ^= 1 << (i % 8);
        let t = signature_err(&bad, &root);
        assert_eq!(t.role, None, "byte {i}: refused before decode");
        assert_eq!(
            t.report.invalid.iter().copied().collect::<Vec<_>>(),
            [keys.release.id()]
        );
    }
    let mut bad = file.clone();
    bad[body_at + 7] ^= 0x80;
    assert!(matches!(open_err(&bad, &root), VerifyError::Signature(_)));
}

#[test]
fn flipping_one_signature_bit_is_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let mut record = record_over(&keys.release, &built.body);
    for i in [0usize, 31, 32, 63] {
        record.signature[i] ^= 1;
        let t = signature_err(&built.file_with(&[record]), &root);
        assert_eq!(
            t.report.invalid.iter().copied().collect::<Vec<_>>(),
            [keys.release.id()]
        );
        record.signature[i] ^= 1;
    }
    // A flipped key id names no key of the root.
    record.key_id.0[0] ^= 1;
    let t = signature_err(&built.file_with(&[record]), &root);
    assert_eq!(t.report.unknown.len(), 1);
}

// ---------------------------------------------------------------------------
// Threshold bypass with duplicate signatures or keys.
// ---------------------------------------------------------------------------

/// The standard root, but the release role has threshold 2 over the
/// release key and `second`.
fn release_threshold_two(keys: &Keys, second: &TestKey) -> TrustRoot {
    root_with_roles(
        keys,
        1,
        T0 + 365 * DAY,
        &[(RoleName::Release, 2, &[&keys.release, second])],
    )
}

#[test]
fn the_same_key_signing_twice_counts_once() {
    let keys = Keys::standard();
    let second = TestKey::from_seed(20);
    let root = trusted_root(&release_threshold_two(&keys, &second), &keys);
    let built = small_baseline();
    let rec = record_over(&keys.release, &built.body);
    for records in [vec![rec, rec], vec![rec, rec, rec, rec]] {
        let t = signature_err(&built.file_with(&records), &root);
        assert_eq!((t.needed, t.got), (2, 1), "{t}");
        assert!(t.to_string().contains("has 1 valid signature(s)"), "{t}");
        assert_eq!(
            t.report.valid.iter().copied().collect::<Vec<_>>(),
            [keys.release.id()]
        );
    }
    // Also when the manifest is decoded and the role known: a release
    // record twice plus a hotpatch signature that opens the door to decode.
    let t = signature_err(
        &built.file_with(&[rec, rec, record_over(&keys.hotpatch, &built.body)]),
        &root,
    );
    assert_eq!(t.role, Some(RoleName::Release));
    assert_eq!((t.needed, t.got), (2, 1));
    assert_eq!(t.other_role_keys, [keys.hotpatch.id()]);
}

#[test]
fn a_valid_and_an_invalid_record_of_the_same_key_count_once() {
    let keys = Keys::standard();
    let second = TestKey::from_seed(20);
    let root = trusted_root(&release_threshold_two(&keys, &second), &keys);
    let built = small_baseline();
    let good = record_over(&keys.release, &built.body);
    let mut bad = good;
    bad.signature[5] ^= 0x10;
    for records in [[good, bad], [bad, good]] {
        let t = signature_err(&built.file_with(&records), &root);
        assert_eq!((t.needed, t.got), (2, 1), "{t}");
        assert!(t.to_string().contains("has 1 valid signature(s)"), "{t}");
        assert_eq!(
            t.report.valid.iter().copied().collect::<Vec<_>>(),
            [keys.release.id()]
        );
        assert!(
            t.report.invalid.is_empty(),
            "a key with one valid record is valid"
        );
    }
    // The report itself, of the key's valid record between two invalid
    // ones: the key counts once, and only once.
    let report = signature_err(&built.file_with(&[bad, good, bad]), &root).report;
    assert_eq!(
        report.count_in(root.root().roles.release.as_ref().expect("role")),
        1
    );
    assert!(!report.meets(root.root().roles.release.as_ref().expect("role")));
}

/// A signature whose R is the identity point (small order) satisfies the
/// cofactorless RFC 8032 equation: ed25519-dalek's lax `verify` takes it,
/// so the forgery is real; the strict check (S3) refuses it.
#[test]
fn a_signature_with_a_small_order_r_is_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let statement = hpk_format::signed_statement(FileType::Package, &built.body);
    let forged = keys.release.sign_with_small_order_r(&statement);
    use ed25519_dalek::Verifier as _;
    let public = ed25519_dalek::VerifyingKey::from_bytes(&keys.release.public()).unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&forged);
    assert!(
        public.verify(&statement, &signature).is_ok(),
        "the lax equation accepts the forgery"
    );
    assert!(public.verify_strict(&statement, &signature).is_err());
    let record = SignatureRecord {
        algorithm: ALG_ED25519,
        key_id: keys.release.id(),
        signature: forged,
    };
    let t = signature_err(&built.file_with(&[record]), &root);
    assert_eq!((t.needed, t.got), (1, 0), "{t}");
}

#[test]
fn two_distinct_keys_meet_a_threshold_of_two() {
    let keys = Keys::standard();
    let second = TestKey::from_seed(20);
    let root = trusted_root(&release_threshold_two(&keys, &second), &keys);
    let built = small_baseline();
    let file = built.file(&[&keys.release, &second]);
    let head = open(&file, &root).unwrap().manifest().clone();
    assert_eq!(head.role(), RoleName::Release);
    let mut expected = vec![keys.release.id(), second.id()];
    expected.sort();
    assert_eq!(head.signers().iter().copied().collect::<Vec<_>>(), expected);
    // Order of the records does not matter.
    let file = built.file(&[&second, &keys.release]);
    assert!(open(&file, &root).is_ok());
}

#[test]
fn a_trust_root_listing_the_same_key_twice_is_refused_at_decode() {
    let keys = Keys::standard();
    let second = TestKey::from_seed(20);
    let honest = release_threshold_two(&keys, &second);
    assert_eq!(
        encode_root_unchecked(&honest),
        encode(&honest, &limits()).unwrap(),
        "the hand-written encoder agrees with the real one"
    );

    // The release role names the release key twice, so that one key would
    // meet its threshold of 2.
    let mut twice_in_role = honest.clone();
    twice_in_role.roles.release.as_mut().expect("role").keys =
        vec![keys.release.id(), keys.release.id()];
    let file = root_file_from_body(&encode_root_unchecked(&twice_in_role), &[&keys.root]);
    let e = TrustedRoot::load(&file, NOW, &limits()).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Malformed);
    assert!(
        matches!(
            e,
            RootError::Decode(DecodeError::Invalid {
                field: "role keys",
                ..
            })
        ),
        "{e:?}"
    );

    // The key list names the same public key twice.
    let mut twice_in_keys = honest.clone();
    twice_in_keys.keys.push(keys.release.trusted());
    twice_in_keys.keys.sort_by_key(|k| k.key_id());
    let file = root_file_from_body(&encode_root_unchecked(&twice_in_keys), &[&keys.root]);
    let e = TrustedRoot::load(&file, NOW, &limits()).unwrap_err();
    assert!(
        matches!(
            e,
            RootError::Decode(DecodeError::Invalid { field: "keys", .. })
        ),
        "{e:?}"
    );

    // And a rotation to such a root is refused the same way.
    let v1 = trusted_root(&standard_root(&keys), &keys);
    twice_in_role.version = 2;
    let file = root_file_from_body(&encode_root_unchecked(&twice_in_role), &[&keys.root]);
    let e = v1.update(&file, &limits()).unwrap_err();
    assert!(
        matches!(e, RootError::Decode(DecodeError::Invalid { .. })),
        "{e:?}"
    );
}

#[test]
fn a_record_with_an_unknown_algorithm_is_skipped_not_counted() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let mut other_alg = record_over(&keys.release, &built.body);
    other_alg.algorithm = ALG_ED25519 + 1;
    let t = signature_err(&built.file_with(&[other_alg]), &root);
    assert_eq!(t.got, 0);
    assert_eq!(t.report.unsupported_algorithm, 1);
    assert!(t.report.valid.is_empty() && t.report.invalid.is_empty());
    assert!(t.report.unknown.is_empty());
    // Next to a valid Ed25519 record, it does not hurt either.
    let good = record_over(&keys.release, &built.body);
    let head = open(&built.file_with(&[other_alg, good]), &root)
        .unwrap()
        .manifest()
        .clone();
    assert_eq!(head.signers().len(), 1);
    // Nor does it count towards a threshold of 2.
    let second = TestKey::from_seed(20);
    let root2 = trusted_root(&release_threshold_two(&keys, &second), &keys);
    let t = signature_err(&built.file_with(&[other_alg, good]), &root2);
    assert_eq!(t.got, 1);
    assert_eq!(t.report.unsupported_algorithm, 1);
}

// ---------------------------------------------------------------------------
// Malformed but validly signed metadata.
// ---------------------------------------------------------------------------

/// The decode error of a package whose body is `body`, validly signed.
fn signed_body_decode_err(body: Vec<u8>) -> DecodeError {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = BuiltPackage {
        body,
        ..small_baseline()
    };
    let e = open_err(&built.file(&[&keys.release]), &root);
    assert_eq!(e.class(), ErrorClass::Malformed, "{e}");
    match e {
        VerifyError::Decode(d) => d,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// The index of the only byte where `a` and `b` (same length) differ.
fn only_difference(a: &[u8], b: &[u8]) -> usize {
    assert_eq!(a.len(), b.len());
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    diffs[0]
}

#[test]
fn signed_manifest_with_a_trailing_byte_is_refused() {
    let mut body = small_baseline().body;
    body.push(0);
    assert_eq!(
        signed_body_decode_err(body),
        DecodeError::TrailingBytes { extra: 1 }
    );
}

#[test]
fn signed_manifest_with_a_non_canonical_bool_option_or_enum_is_refused() {
    // An extension's `critical` flag is the only difference between these.
    let a = PackageSpec::new("contoso-std", PackageKind::Standard)
        .with_extension(hpk_format::EXT_NOTE, true, b"note")
        .build()
        .body;
    let b = PackageSpec::new("contoso-std", PackageKind::Standard)
        .with_extension(hpk_format::EXT_NOTE, false, b"note")
        .build()
        .body;
    let at = only_difference(&a, &b);
    assert_eq!((a[at], b[at]), (1, 0));
    for bad_bool in [2u8, 0xff] {
        let mut body = a.clone();
        body[at] = bad_bool;
        let e = signed_body_decode_err(body);
        assert!(matches!(e, DecodeError::Malformed { .. }), "{e:?}");
    }

    // The option tag of `expires`: 1 (some) in the fixture.
    let spec = PackageSpec::new("contoso-std", PackageKind::Standard);
    let body = spec.build().body;
    let mut none = spec.clone();
    none.manifest.expires = None;
    let none = none.build().body;
    let tag = (0..body.len()).find(|&i| body[i] != none[i]).unwrap();
    assert_eq!((body[tag], none[tag]), (1, 0));
    let mut bad = body.clone();
    bad[tag] = 2;
    let e = signed_body_decode_err(bad);
    assert!(matches!(e, DecodeError::Malformed { .. }), "{e:?}");

    // The kind's enum index: Standard (2) → 9.
    let mut recovery = spec.clone();
    recovery.manifest.kind = PackageKind::Recovery;
    let recovery = recovery.build().body;
    let at = only_difference(&body, &recovery);
    assert_eq!((body[at], recovery[at]), (2, 3));
    let mut bad = body.clone();
    bad[at] = 9;
    let e = signed_body_decode_err(bad);
    assert!(matches!(e, DecodeError::Malformed { .. }), "{e:?}");
}

#[test]
fn header_lengths_inconsistent_with_the_signed_manifest_are_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let records = [record_over(&keys.release, &built.body)];
    let cases = [
        (built.index.len() as u64 + 40, built.payload.len() as u64),
        (built.index.len() as u64 - 40, built.payload.len() as u64),
        (built.index.len() as u64, built.payload.len() as u64 + 1),
        (built.index.len() as u64, built.payload.len() as u64 - 1),
        (0, 0),
    ];
    for (index_len, payload_len) in cases {
        let mut file = encode_head(
            FileType::Package,
            &records,
            &built.body,
            index_len,
            payload_len,
        )
        .unwrap();
        file.extend(std::iter::repeat_n(0u8, (index_len + payload_len) as usize));
        let e = open_err(&file, &root);
        assert_eq!(e.class(), ErrorClass::Malformed);
        assert!(
            matches!(e, VerifyError::Inconsistent { .. }),
            "{index_len} {payload_len}: {e:?}"
        );
    }
}

#[test]
fn a_trust_root_or_catalog_is_not_a_package() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let file = root_file(&standard_root(&keys), &[&keys.root]);
    let e = open_err(&file, &root);
    assert!(
        matches!(
            e,
            VerifyError::Container(ContainerError::WrongFileType {
                expected: FileType::Package,
                found: FileType::TrustRoot
            })
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------
// Extensions.
// ---------------------------------------------------------------------------

#[test]
fn unknown_critical_extension_is_refused_and_unknown_non_critical_ignored() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let device = online_device();
    let critical = PackageSpec::baseline("contoso-os")
        .with_extension(0x8000_0001, true, b"must understand")
        .build();
    let file = critical.file(&[&keys.release]);
    // Refused by the policy (Y2, after the header lengths and after Y1:
    // `spec/SPEC.md`, "Check order"), before any payload byte is read.
    let online = verifier_at(&root, NOW, &limits());
    let package = online.package(file.as_slice()).unwrap();
    let e = VerifyError::from(package.judge(&device).err().expect("refused"));
    assert_eq!(e.reason(), Some(Reason::UnknownCriticalExtension), "{e}");
    // Judged for no device, it cannot reach the payloads either.
    let e = VerifyError::from(
        open(&file, &root)
            .unwrap()
            .judge_without_device()
            .err()
            .expect("refused"),
    );
    assert!(
        matches!(&e, VerifyError::NotApplicable(n) if n.reason == Reason::UnknownCriticalExtension),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Policy);

    let optional = PackageSpec::baseline("contoso-os")
        .with_extension(0x8000_0001, false, b"may ignore")
        .with_extension(hpk_format::EXT_NOTE, true, b"a known critical one")
        .build();
    let file = optional.file(&[&keys.release]);
    let package = online.package(file.as_slice()).unwrap();
    package.judge(&device).unwrap();
}

// ---------------------------------------------------------------------------
// Tampered payloads and indexes.
// ---------------------------------------------------------------------------

/// A sink that records everything it is handed.
#[derive(Default)]
struct RecordingSink {
    begun: Vec<String>,
    chunks: Vec<Vec<u8>>,
    ended: Vec<String>,
}

impl PayloadSink for RecordingSink {
    fn begin(&mut self, payload: &PayloadDescriptor) -> io::Result<()> {
        self.begun.push(payload.name.to_string());
        Ok(())
    }
    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.chunks.push(chunk.to_vec());
        Ok(())
    }
    fn end(&mut self, payload: &PayloadDescriptor) -> io::Result<()> {
        self.ended.push(payload.name.to_string());
        Ok(())
    }
}

#[test]
fn a_tampered_chunk_in_the_middle_is_caught_before_any_of_its_bytes_are_handed_out() {
    const CHUNK: usize = 4096;
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let data = sample_data(300 * CHUNK, 7);
    let built = PackageSpec::baseline("contoso-os")
        .with_payload("big.bin", data.clone())
        .build();
    let desc = &built.manifest.payloads[0];
    assert_eq!(desc.chunk_count, 300);
    let entries = parse_chunk_index(&built.index, desc).unwrap();
    assert!(
        entries.iter().any(|e| e.encoding == ChunkEncoding::Zstd),
        "the fixture exercises the decompressor"
    );
    let chunk_150: usize = entries[..150].iter().map(|e| e.stored_len as usize).sum();
    let mut file = built.file(&[&keys.release]);
    let at = built.payload_offset(1) + chunk_150 + entries[150].stored_len as usize / 2;
    file[at] ^= 0x01;

    let package = judged(&file, &root);
    let mut sink = RecordingSink::default();
    let e = match package.stream(&mut sink, &mut |_| {}) {
        Ok(_) => panic!("tampered package accepted"),
        Err(e) => e,
    };
    assert_eq!(e.class(), ErrorClass::Integrity);
    assert!(
        matches!(
            &e,
            VerifyError::Payload(PayloadError::ChunkDigest { payload, chunk: 150 })
                if payload == "big.bin"
        ),
        "{e:?}"
    );
    assert_eq!(sink.begun, ["big.bin"]);
    assert!(sink.ended.is_empty(), "the payload never completed");
    assert_eq!(sink.chunks.len(), 150);
    assert!(sink.chunks.iter().all(|c| c.len() == CHUNK));
    assert_eq!(sink.chunks.concat(), data[..150 * CHUNK]);

    // Stored depth (no decompression) names the same chunk.
    let e = verify_payloads_err(&file, &root);
    assert!(
        matches!(
            e,
            VerifyError::Payload(PayloadError::ChunkDigest { chunk: 150, .. })
        ),
        "{e:?}"
    );
}

#[test]
fn a_tampered_chunk_index_is_refused_before_any_chunk_is_read() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let file = built.file(&[&keys.release]);
    let index_at = built.index_offset(1);
    // Stored length, encoding, reserved and digest bytes of an entry, in
    // the first and in the second payload's index.
    for offset in [0usize, 4, 5, 8, 39, 40 * 3 + 10] {
        assert!(offset < built.index.len());
        let mut bad = file.clone();
        bad[index_at + offset] ^= 0x04;
        let mut sink = RecordingSink::default();
        let e = match judged(&bad, &root).stream(&mut sink, &mut |_| {}) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        };
        assert_eq!(e.class(), ErrorClass::Integrity, "{e}");
        assert!(
            matches!(&e, VerifyError::Payload(PayloadError::IndexDigest { .. })),
            "offset {offset}: {e:?}"
        );
        assert!(sink.chunks.is_empty() && sink.begun.is_empty());
        let e = verify_payloads_err(&bad, &root);
        assert!(matches!(
            e,
            VerifyError::Payload(PayloadError::IndexDigest { .. })
        ));
    }
}

#[test]
fn a_wrong_content_digest_is_caught_before_the_payload_ends() {
    // Chunks that match a signed index but a content digest that does not:
    // only a lying writer can produce it, and `end` is never called.
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let honest = small_baseline();
    let mut manifest = honest.manifest.clone();
    manifest.payloads[1].content_digest = Digest::of(b"something else");
    let built = BuiltPackage::from_parts(manifest, honest.index, honest.payload, &limits());
    let file = built.file(&[&keys.release]);
    let mut sink = RecordingSink::default();
    let e = match judged(&file, &root).stream(&mut sink, &mut |_| {}) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert!(
        matches!(&e, VerifyError::Payload(PayloadError::ContentDigest { payload }) if payload == "readme.txt"),
        "{e:?}"
    );
    assert_eq!(sink.ended, ["boot/kernel.bin"]);
}

// ---------------------------------------------------------------------------
// Truncation, trailing and endless data.
// ---------------------------------------------------------------------------

#[test]
fn a_package_truncated_in_each_section_is_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let file = built.file(&[&keys.release]);
    let body_at = HEADER_LEN + SIGNATURE_RECORD_LEN;
    let index_at = built.index_offset(1);
    let payload_at = built.payload_offset(1);

    // In the head: refused by `open`.
    for (cut, section) in [
        (0, Section::Header),
        (HEADER_LEN - 1, Section::Header),
        (HEADER_LEN, Section::SignatureBlock),
        (HEADER_LEN + 50, Section::SignatureBlock),
        (body_at, Section::Body),
        (body_at + built.body.len() / 2, Section::Body),
        (index_at - 1, Section::Body),
    ] {
        let e = open_err(&file[..cut], &root);
        assert_eq!(e.class(), ErrorClass::Malformed);
        assert!(
            matches!(&e, VerifyError::Container(ContainerError::Truncated { section: s }) if *s == section),
            "cut at {cut}: {e:?}"
        );
    }

    // In the chunk indexes: the head verifies, the payloads do not.
    for cut in [index_at, index_at + 20, payload_at - 1] {
        for e in [
            stream_err(&file[..cut], &root),
            verify_payloads_err(&file[..cut], &root),
        ] {
            assert!(
                matches!(
                    e,
                    VerifyError::Container(ContainerError::Truncated {
                        section: Section::ChunkIndex
                    })
                ),
                "cut at {cut}: {e:?}"
            );
        }
    }

    // In the payload area: the chunk where the input ends is named.
    let first = &built.manifest.payloads[0];
    let second = &built.manifest.payloads[1];
    let last_chunk = first.chunk_count - 1;
    for (cut, payload, chunk) in [
        (payload_at, &first.name, 0),
        (payload_at + 1, &first.name, 0),
        (
            payload_at + first.stored_size as usize - 1,
            &first.name,
            last_chunk,
        ),
        (payload_at + first.stored_size as usize, &second.name, 0),
        (file.len() - 1, &second.name, 0),
    ] {
        for e in [
            stream_err(&file[..cut], &root),
            verify_payloads_err(&file[..cut], &root),
        ] {
            // Malformed, like truncation of the head (the code's choice;
            // spec/SPEC.md's table says `integrity`, see the report).
            assert_eq!(e.class(), ErrorClass::Malformed, "{e}");
            assert!(
                matches!(
                    &e,
                    VerifyError::Payload(PayloadError::Truncated { payload: p, chunk: c })
                        if p == payload.as_str() && *c == chunk
                ),
                "cut at {cut}: {e:?}"
            );
        }
    }
}

#[test]
fn trailing_bytes_after_the_payload_area_are_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let built = small_baseline();
    let mut file = built.file(&[&keys.release]);
    file.push(0);
    for e in [stream_err(&file, &root), verify_payloads_err(&file, &root)] {
        assert_eq!(e.class(), ErrorClass::Malformed);
        assert!(
            matches!(e, VerifyError::Container(ContainerError::TrailingBytes)),
            "{e:?}"
        );
    }
}

#[test]
fn endless_data_after_the_package_ends_verification_at_once() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let file = small_baseline().file(&[&keys.release]);
    let endless = file.as_slice().chain(io::repeat(0x5a));
    let package = open_within(endless, &root, &limits())
        .unwrap()
        .judge_without_device()
        .unwrap();
    let e = match package.stream(&mut MemorySink::default(), &mut |_| {}) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert!(
        matches!(e, VerifyError::Container(ContainerError::TrailingBytes)),
        "{e:?}"
    );
}

#[test]
fn an_endless_stream_declaring_a_huge_body_is_refused_before_allocation() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    for (body_len, signature_count) in [
        (1u64 << 40, 1u16),
        (limits().max_body_len + 1, 1),
        (100, 33),
    ] {
        let header = Header {
            minor: 0,
            file_type: FileType::Package,
            signature_count,
            body_len,
            index_len: 0,
            payload_len: 0,
        };
        let bytes = header.to_bytes();
        let endless = bytes.as_slice().chain(io::repeat(0));
        let e = match open_within(endless, &root, &limits()) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        };
        assert_eq!(e.class(), ErrorClass::Limit, "{e}");
        assert!(
            matches!(e, VerifyError::Container(ContainerError::Limit(_))),
            "{e:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Decompression bombs.
// ---------------------------------------------------------------------------

/// Peak resident memory of this process in KiB, where the system says.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A one-chunk payload of `chunk_len` bytes whose only chunk is `frame`,
/// stored as zstd, validly indexed and signed.
fn package_with_frame(frame: &[u8], chunk_len: u32, keys: &Keys) -> Vec<u8> {
    let entry = ChunkEntry {
        stored_len: frame.len() as u32,
        encoding: ChunkEncoding::Zstd,
        digest: Digest::of(frame),
    };
    let index = entry.to_bytes().to_vec();
    let mut manifest = PackageSpec::baseline("contoso-os").build().manifest;
    manifest.payloads = vec![PayloadDescriptor {
        name: PayloadName::new("bomb.bin").unwrap(),
        executable: false,
        compression: Compression::Zstd,
        size: u64::from(chunk_len),
        stored_size: frame.len() as u64,
        chunk_size: chunk_len,
        chunk_count: 1,
        index_digest: Digest::of(&index),
        content_digest: Digest::of(&vec![0u8; chunk_len as usize]),
    }];
    BuiltPackage::from_parts(manifest, index, frame.to_vec(), &limits()).file(&[&keys.release])
}

#[test]
fn a_zstd_frame_expanding_past_its_chunk_is_stopped_at_the_declared_length() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    // 8192 RLE blocks of 128 KiB: 32 KiB that expand to 1 GiB, in a chunk
    // that declares 64 KiB.
    let bomb = zstd_rle_bomb(0, 8192);
    let chunk_len = 64 * 1024;
    assert!(bomb.len() < chunk_len as usize);
    let file = package_with_frame(&bomb, chunk_len, &keys);

    // Authentic: every stored byte matches the signed index.
    judged(&file, &root).verify(Depth::Stored).unwrap();

    let before = peak_rss_kib();
    let mut sink = RecordingSink::default();
    let e = match judged(&file, &root).stream(&mut sink, &mut |_| {}) {
        Ok(_) => panic!("bomb accepted"),
        Err(e) => e,
    };
    let after = peak_rss_kib();
    assert_eq!(e.class(), ErrorClass::Integrity);
    assert!(
        matches!(
            &e,
            VerifyError::Payload(PayloadError::ChunkSize { payload, chunk: 0, reason })
                if payload == "bomb.bin" && reason.contains("65536")
        ),
        "{e:?}"
    );
    assert!(sink.chunks.is_empty(), "nothing of the bomb was handed out");
    if let (Some(before), Some(after)) = (before, after) {
        assert!(
            after.saturating_sub(before) < 256 * 1024,
            "peak memory grew by {} KiB",
            after - before
        );
    }
}

#[test]
fn a_zstd_frame_one_byte_too_long_or_short_is_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let chunk_len = 8192u32;
    for sizes in [
        vec![chunk_len + 1],
        vec![chunk_len, 1],
        vec![chunk_len - 1],
        vec![1],
    ] {
        let frame = zstd_rle_frame(0, &sizes);
        let e = stream_err(&package_with_frame(&frame, chunk_len, &keys), &root);
        assert!(
            matches!(
                e,
                VerifyError::Payload(PayloadError::ChunkSize { chunk: 0, .. })
            ),
            "{sizes:?}: {e:?}"
        );
    }
    // The exact length decodes (the fixture is sound).
    let frame = zstd_rle_frame(0, &[chunk_len]);
    let mut sink = MemorySink::default();
    judged(&package_with_frame(&frame, chunk_len, &keys), &root)
        .stream(&mut sink, &mut |_| {})
        .unwrap();
    assert_eq!(sink.payloads[0].1, vec![0u8; chunk_len as usize]);
}

#[test]
fn a_zstd_chunk_of_two_frames_or_a_damaged_frame_is_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let chunk_len = 8192u32;
    let half = zstd_rle_frame(0, &[chunk_len / 2]);
    let two = [half.clone(), half.clone()].concat();
    let mut damaged = zstd_rle_frame(0, &[chunk_len]);
    damaged.truncate(damaged.len() - 1);
    let mut not_zstd = zstd_rle_frame(0, &[chunk_len]);
    not_zstd[0] ^= 0xff;
    for frame in [two, damaged, not_zstd] {
        let e = stream_err(&package_with_frame(&frame, chunk_len, &keys), &root);
        assert_eq!(e.class(), ErrorClass::Integrity);
        assert!(
            matches!(
                e,
                VerifyError::Payload(PayloadError::ChunkSize { chunk: 0, .. })
            ),
            "{e:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Integer overflow in sizes and offsets.
// ---------------------------------------------------------------------------

#[test]
fn header_sizes_that_overflow_are_refused() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let unlimited = Limits {
        max_total_size: u64::MAX,
        max_chunks: u64::MAX,
        ..Limits::default()
    };
    let header = |index_len, payload_len| {
        Header {
            minor: 0,
            file_type: FileType::Package,
            signature_count: 1,
            body_len: 100,
            index_len,
            payload_len,
        }
        .to_bytes()
    };
    for (index_len, payload_len) in [
        (0, u64::MAX),
        (u64::MAX - 10, 0),
        (u64::MAX / 2, u64::MAX / 2 + 1),
    ] {
        let bytes = header(index_len, payload_len);
        let e = match open_within(&bytes[..], &root, &limits()) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        };
        assert!(
            matches!(e, VerifyError::Container(ContainerError::Limit(_))),
            "{e:?}"
        );
        let e = match open_within(&bytes[..], &root, &unlimited) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        };
        assert!(
            matches!(
                e,
                VerifyError::Container(ContainerError::Malformed {
                    reason: "section lengths overflow"
                })
            ),
            "{index_len} {payload_len}: {e:?}"
        );
    }
}

#[test]
fn manifest_sizes_that_overflow_are_refused() {
    // Two payloads of u64::MAX stored bytes each: their sum overflows.
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let unlimited = Limits {
        max_total_size: u64::MAX,
        max_chunks: u64::MAX,
        ..Limits::default()
    };
    let mut manifest = PackageSpec::baseline("contoso-os").build().manifest;
    let chunk_size = hpk_format::MAX_CHUNK_SIZE;
    let huge = |name: &str| PayloadDescriptor {
        name: PayloadName::new(name).unwrap(),
        executable: false,
        compression: Compression::Zstd,
        size: u64::MAX,
        stored_size: u64::MAX,
        chunk_size,
        chunk_count: u64::MAX.div_ceil(u64::from(chunk_size)),
        index_digest: Digest::default(),
        content_digest: Digest::default(),
    };
    manifest.payloads = vec![huge("a.bin"), huge("b.bin")];
    let index_len = manifest.index_section_len().unwrap();
    assert_eq!(manifest.payload_section_len(), None);
    let body = encode(&manifest, &unlimited).unwrap();
    let records = [record_over(&keys.release, &body)];

    // With limits that allow it all, the sum is caught as inconsistent
    // (whatever the header says).
    for (header_index_len, section) in [(index_len, Section::PayloadArea), (0, Section::ChunkIndex)]
    {
        let file = encode_head(FileType::Package, &records, &body, header_index_len, 0).unwrap();
        let e = match open_within(&file[..], &root, &unlimited) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        };
        assert_eq!(e.class(), ErrorClass::Malformed);
        assert!(
            matches!(e, VerifyError::Inconsistent { section: s, .. } if s == section),
            "{e:?}"
        );
    }
    // With the default limits, the header's index length is over them, and
    // with a header within them the manifest is.
    let file = encode_head(FileType::Package, &records, &body, index_len, 0).unwrap();
    let e = open_err(&file, &root);
    assert_eq!(e.class(), ErrorClass::Limit);
    assert!(
        matches!(e, VerifyError::Container(ContainerError::Limit(_))),
        "{e:?}"
    );
    let file = encode_head(FileType::Package, &records, &body, 0, 0).unwrap();
    let e = open_err(&file, &root);
    assert_eq!(e.class(), ErrorClass::Limit);
    assert!(
        matches!(e, VerifyError::Decode(DecodeError::Limit(_))),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------
// A device that verifies with no key configured must fail closed.
// ---------------------------------------------------------------------------

#[test]
fn a_root_with_a_role_of_threshold_zero_or_no_keys_cannot_be_decoded() {
    let keys = Keys::standard();
    for name in RoleName::ALL {
        for (threshold, with_keys) in [(0, true), (0, false), (1, false)] {
            let mut root = standard_root(&keys);
            let r = root
                .roles
                .get_mut(name)
                .expect("the standard root has every role");
            r.threshold = threshold;
            if !with_keys {
                r.keys.clear();
            }
            let body = encode_root_unchecked(&root);
            let file = root_file_from_body(&body, &[&keys.root]);
            let e = TrustedRoot::load(&file, NOW, &limits()).unwrap_err();
            assert_eq!(e.class(), ErrorClass::Malformed);
            assert!(
                matches!(
                    e,
                    RootError::Decode(DecodeError::Invalid {
                        field: "threshold",
                        ..
                    })
                ),
                "{name} {threshold} {with_keys}: {e:?}"
            );
        }
    }
    // A root with no key at all.
    let mut empty = standard_root(&keys);
    empty.keys.clear();
    for name in RoleName::ALL {
        *empty
            .roles
            .get_mut(name)
            .expect("the standard root has every role") = Role {
            threshold: 0,
            keys: Vec::new(),
        };
    }
    let file = root_file_from_body(&encode_root_unchecked(&empty), &[]);
    let e = TrustedRoot::load(&file, NOW, &limits()).unwrap_err();
    assert!(
        matches!(e, RootError::Decode(DecodeError::Invalid { .. })),
        "{e:?}"
    );
}

#[test]
fn a_threshold_of_zero_is_never_met() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    // A report in which the release key signed validly: a hotpatch signed
    // by the release key meets a package-signing role, not its own.
    let hotpatch = small_hotpatch(small_baseline().digest());
    let report = signature_err(&hotpatch.file(&[&keys.release]), &root).report;
    assert_eq!(report.valid.len(), 1);
    assert!(report.valid.contains(&keys.release.id()));
    for role in [
        Role {
            threshold: 0,
            keys: Vec::new(),
        },
        Role {
            threshold: 0,
            keys: vec![keys.release.id()],
        },
    ] {
        assert!(!report.meets(&role), "{role:?}");
        assert!(!SignerReport::default().meets(&role));
    }
    // Nor can a trust root ask for one: a role of threshold 0 does not
    // decode, so no document is ever checked against it.
    let mut zero = standard_root(&keys);
    zero.roles.release.as_mut().expect("role").threshold = 0;
    let file = root_file_from_body(&encode_root_unchecked(&zero), &[&keys.root]);
    let e = TrustedRoot::load(&file, NOW, &limits()).unwrap_err();
    assert!(
        matches!(&e, RootError::Decode(DecodeError::Invalid { reason, .. })
            if reason.contains("threshold 0")),
        "{e:?}"
    );
    // A role with keys but none of them signing.
    let role = Role {
        threshold: 1,
        keys: vec![keys.release.id()],
    };
    assert!(!SignerReport::default().meets(&role));
    assert!(report.meets(&role));
}
