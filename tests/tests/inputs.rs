//! Reading trust roots and catalogs through their bound, and recovering
//! from a catalog fast-forward.
//!
//! Bounded readers: `TrustedRoot::load_from`, `TrustedRoot::update_from`
//! and `Verifier::catalog_above` read the header, exactly the signature block
//! and body it declares, and at most one more byte: whatever follows (an
//! endless stream), they fail in constant memory, having read no further.
//!
//! Fast-forward: a stolen catalog key signs catalog version 2^64 − 1; a
//! device that took it refuses every legitimate catalog until a new trust
//! root changes the catalog role, which resets the floor (as TUF resets
//! the timestamp and snapshot versions when their keys rotate). A rotation
//! that leaves the catalog role alone keeps the floor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{Catalog, ContainerError, ErrorClass, FileType, Limits, RoleName, TrustRoot};
use hpk_sign::catalog::new_catalog;
use hpk_tests::*;
use hpk_verify::{CatalogError, Clock, RootError, TrustedRoot, Verifier};
use std::io::Read;

const NOW: Clock = Clock::Trusted(T0 + DAY);

fn limits() -> Limits {
    Limits::default()
}

/// `prefix`, then zeros for ever.
fn endless(prefix: Vec<u8>) -> CountingReader<impl Read> {
    CountingReader::new(std::io::Cursor::new(prefix).chain(std::io::repeat(0)))
}

/// A verifier for `root` at [`NOW`].
fn verifier(root: &TrustedRoot) -> Verifier {
    hpk_tests::verify::verifier_at(root, NOW, &limits())
}

fn catalog(version: u64) -> Catalog {
    new_catalog(version, T0, T0 + 7 * DAY)
}

#[test]
fn a_catalog_followed_by_endless_data_is_refused_after_one_more_byte() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let file = catalog_file(&catalog(3), &[&keys.catalog]);
    let mut input = endless(file.clone());
    let err = verifier(&root).catalog_above(&mut input, 0).unwrap_err();
    assert!(
        matches!(err, CatalogError::Container(ContainerError::TrailingBytes)),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Malformed);
    assert_eq!(input.count, file.len() as u64 + 1);
    // The exact file verifies, from a stream and from bytes.
    let mut exact = CountingReader::new(file.as_slice());
    let v = verifier(&root).catalog_above(&mut exact, 0).unwrap();
    assert_eq!(v.version, 3);
    assert_eq!(exact.count, file.len() as u64);
    assert_eq!(verifier(&root).catalog_above(&file[..], 0).unwrap(), v);
}

#[test]
fn a_header_over_the_limits_is_refused_after_forty_bytes() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    // A catalog header declaring a 1 TiB body.
    let mut header = catalog_file(&catalog(3), &[])[..40].to_vec();
    header[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut input = endless(header.clone());
    let err = verifier(&root).catalog_above(&mut input, 0).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Limit, "{err}");
    assert_eq!(input.count, 40);
    header[12] = FileType::TrustRoot as u8;
    let mut input = endless(header);
    let err = TrustedRoot::load_from(&mut input, NOW, &limits()).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Limit, "{err}");
    assert_eq!(input.count, 40);
}

#[test]
fn trust_roots_followed_by_endless_data_are_refused_after_one_more_byte() {
    let keys = Keys::standard();
    let file = root_file(&standard_root(&keys), &[&keys.root]);
    let mut input = endless(file.clone());
    let err = TrustedRoot::load_from(&mut input, NOW, &limits()).unwrap_err();
    assert!(
        matches!(err, RootError::Container(ContainerError::TrailingBytes)),
        "{err}"
    );
    assert_eq!(input.count, file.len() as u64 + 1);
    let trusted = TrustedRoot::load_from(file.as_slice(), NOW, &limits()).unwrap();
    assert_eq!(trusted, standard_trusted_root(&keys));

    let mut next = standard_root(&keys);
    next.version = 2;
    let next_file = root_file(&next, &[&keys.root]);
    let mut input = endless(next_file.clone());
    let err = trusted.update_from(&mut input, &limits()).unwrap_err();
    assert!(
        matches!(err, RootError::Container(ContainerError::TrailingBytes)),
        "{err}"
    );
    assert_eq!(input.count, next_file.len() as u64 + 1);
    let rotated = trusted
        .update_from(next_file.as_slice(), &limits())
        .unwrap();
    assert_eq!(rotated.root().version, 2);
}

// ---------------------------------------------------------------------------
// Catalog fast-forward.

/// The standard root of `version` with `catalog` as the catalog role.
fn root_with_catalog(keys: &Keys, version: u64, catalog: &[&TestKey]) -> TrustRoot {
    root_with_roles(
        keys,
        version,
        T0 + 365 * DAY,
        &[(RoleName::Catalog, 1, catalog)],
    )
}

#[test]
fn a_catalog_fast_forward_is_undone_when_the_catalog_role_changes() {
    let keys = Keys::standard();
    let new_catalog_key = TestKey::from_seed(55);
    let v1 = standard_trusted_root(&keys);
    let mut device = online_device();

    // The stolen catalog key signs version 2^64 − 1; the device takes it.
    let evil = catalog_file(&catalog(u64::MAX), &[&keys.catalog]);
    assert_eq!(device.catalog_floor(&v1), 0);
    let accepted = verifier(&v1).catalog(&evil[..], &device).unwrap();
    device.record_catalog(&accepted);
    assert_eq!(device.catalog_version, u64::MAX);
    assert_eq!(device.catalog_role, Some(v1.catalog_role()));

    // Every legitimate catalog is now a rollback.
    let legit = catalog_file(&catalog(4), &[&keys.catalog]);
    let err = verifier(&v1).catalog(&legit[..], &device).unwrap_err();
    assert!(matches!(err, CatalogError::Version(_)), "{err}");

    // Root v2 rotates the catalog key out: the floor recorded under the old
    // catalog role resets, and the legitimate catalog is accepted again.
    let v2 = v1
        .update(
            &root_file(
                &root_with_catalog(&keys, 2, &[&new_catalog_key]),
                &[&keys.root],
            ),
            &limits(),
        )
        .unwrap();
    assert_ne!(v2.catalog_role(), v1.catalog_role());
    assert_eq!(device.catalog_floor(&v2), 0);
    let legit2 = catalog_file(&catalog(4), &[&new_catalog_key]);
    let accepted = verifier(&v2).catalog(&legit2[..], &device).unwrap();
    device.record_catalog(&accepted);
    assert_eq!(device.catalog_version, 4);
    assert_eq!(device.catalog_role, Some(v2.catalog_role()));
    // The stolen key no longer signs catalogs, and the new floor binds.
    let err = verifier(&v2).catalog(&evil[..], &device).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Signature, "{err}");
    let older = catalog_file(&catalog(3), &[&new_catalog_key]);
    let err = verifier(&v2).catalog(&older[..], &device).unwrap_err();
    assert!(matches!(err, CatalogError::Version(_)), "{err}");
}

#[test]
fn a_threshold_change_alone_also_resets_the_floor() {
    let keys = Keys::standard();
    let second = TestKey::from_seed(56);
    let v1 = standard_trusted_root(&keys);
    let mut device = online_device();
    let evil = catalog_file(&catalog(u64::MAX), &[&keys.catalog]);
    device.record_catalog(&verifier(&v1).catalog_above(&evil[..], 0).unwrap());
    // Root v2: the catalog role becomes 2 of {old, second}.
    let mut r2 = root_with_catalog(&keys, 2, &[&keys.catalog, &second]);
    r2.roles.catalog.as_mut().expect("role").threshold = 2;
    let v2 = v1
        .update(&root_file(&r2, &[&keys.root]), &limits())
        .unwrap();
    assert_eq!(device.catalog_floor(&v2), 0);
    // The stolen key alone no longer meets the threshold.
    let err = verifier(&v2).catalog_above(&evil[..], 0).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Signature, "{err}");
}

#[test]
fn a_rotation_that_keeps_the_catalog_role_keeps_the_floor() {
    let keys = Keys::standard();
    let v1 = standard_trusted_root(&keys);
    let mut device = online_device();
    let evil = catalog_file(&catalog(u64::MAX), &[&keys.catalog]);
    device.record_catalog(&verifier(&v1).catalog_above(&evil[..], 0).unwrap());
    // Root v2 changes the release role only.
    let mut r2 = standard_root(&keys);
    r2.version = 2;
    let extra = TestKey::from_seed(57);
    r2.roles.release = Some(role(1, &[&keys.release, &extra]));
    r2.keys = trust_root(
        2,
        r2.expires,
        r2.roles.clone(),
        &[
            &keys.root,
            &keys.release,
            &extra,
            &keys.hotpatch,
            &keys.recovery,
            &keys.catalog,
        ],
    )
    .keys;
    let v2 = v1
        .update(&root_file(&r2, &[&keys.root]), &limits())
        .unwrap();
    assert_eq!(v2.catalog_role(), v1.catalog_role());
    assert_eq!(device.catalog_floor(&v2), u64::MAX);
    let legit = catalog_file(&catalog(4), &[&keys.catalog]);
    let err = verifier(&v2).catalog(&legit[..], &device).unwrap_err();
    assert!(matches!(err, CatalogError::Version(_)), "{err}");
    // A device that recorded no catalog role keeps its floor under any root.
    device.catalog_role = None;
    let v2_other = v1
        .update(
            &root_file(
                &root_with_catalog(&keys, 2, &[&TestKey::from_seed(58)]),
                &[&keys.root],
            ),
            &limits(),
        )
        .unwrap();
    assert_eq!(device.catalog_floor(&v2_other), u64::MAX);
}

#[test]
fn the_catalog_role_digest_is_sha256_of_the_role_encoding() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let role = root.root().roles.catalog.as_ref().expect("role");
    let mut bytes = role.threshold.to_le_bytes().to_vec();
    bytes.extend_from_slice(&(role.keys.len() as u64).to_le_bytes());
    for k in &role.keys {
        bytes.extend_from_slice(k.as_bytes());
    }
    assert_eq!(root.catalog_role(), hpk_format::Digest::of(&bytes));
    // Those are the bytes the role has in the trust-root body.
    let body = hpk_format::encode(root.root(), &limits()).unwrap();
    assert!(body.windows(bytes.len()).any(|w| w == bytes.as_slice()));
}

#[test]
fn a_recovery_device_raises_its_time_bound_to_an_accepted_catalog() {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let mut device = online_device();
    device.mode = hpk_verify::ProfileMode::Recovery;
    device.time_lower_bound = Some(T0 - DAY);
    let file = catalog_file(&new_catalog(5, T0 + 60, T0 + 7 * DAY), &[&keys.catalog]);
    let accepted = verifier(&root).catalog(&file[..], &device).unwrap();
    device.record_catalog(&accepted);
    assert_eq!(device.catalog_version, 5);
    assert_eq!(device.time_lower_bound, Some(T0 + 60));
    // An older catalog time never lowers it.
    let file = catalog_file(&new_catalog(6, T0, T0 + 7 * DAY), &[&keys.catalog]);
    device.record_catalog(&verifier(&root).catalog(&file[..], &device).unwrap());
    assert_eq!(device.time_lower_bound, Some(T0 + 60));
    // Online, the clock is trusted: nothing to raise.
    let mut online = online_device();
    online.record_catalog(&accepted);
    assert_eq!(online.time_lower_bound, None);
}
