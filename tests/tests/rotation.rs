//! Trust roots: loading a pinned root (self-signature, expiry, the online
//! and offline clocks) and rotating it one version at a time, signed by a
//! threshold of the old root keys and of the new ones. Key-rotation
//! mistakes and freeze attacks with expired roots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{ErrorClass, Limits, RoleName, TrustRoot};
use hpk_tests::verify::verifier;
use hpk_tests::*;
use hpk_verify::{Clock, RootError, Subject, ThresholdNotMet, TrustedRoot, VerifyError};

const EXPIRES: u64 = T0 + 365 * DAY;
const NOW: Clock = Clock::Trusted(T0 + DAY);

fn limits() -> Limits {
    Limits::default()
}

/// A root of `version` whose root role is `root_keys` (threshold
/// `threshold`), with `release` as the release key and the standard keys
/// for the other roles.
fn root_v(
    version: u64,
    expires: u64,
    threshold: u32,
    root_keys: &[&TestKey],
    release: &TestKey,
) -> TrustRoot {
    root_with_roles(
        &Keys::standard(),
        version,
        expires,
        &[
            (RoleName::Root, threshold, root_keys),
            (RoleName::Release, 1, &[release]),
        ],
    )
}

/// Version 1 (root key seed 1), 2 (root key seed 21), 3 (root key seed 31).
struct Chain {
    k1: TestKey,
    k2: TestKey,
    k3: TestKey,
    release: TestKey,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            k1: TestKey::from_seed(1),
            k2: TestKey::from_seed(21),
            k3: TestKey::from_seed(31),
            release: TestKey::from_seed(2),
        }
    }
    fn v1(&self) -> TrustRoot {
        root_v(1, EXPIRES, 1, &[&self.k1], &self.release)
    }
    fn v2(&self) -> TrustRoot {
        root_v(2, EXPIRES, 1, &[&self.k2], &self.release)
    }
    fn v3(&self, expires: u64) -> TrustRoot {
        root_v(3, expires, 1, &[&self.k3], &self.release)
    }
    fn trusted_v1(&self) -> TrustedRoot {
        TrustedRoot::load(&root_file(&self.v1(), &[&self.k1]), NOW, &limits()).unwrap()
    }
    /// v2 signed by the old and the new root keys.
    fn v2_file(&self) -> Vec<u8> {
        root_file(&self.v2(), &[&self.k1, &self.k2])
    }
    fn v3_file(&self, expires: u64) -> Vec<u8> {
        root_file(&self.v3(expires), &[&self.k2, &self.k3])
    }
}

fn signature(e: RootError) -> Box<ThresholdNotMet> {
    assert_eq!(e.class(), ErrorClass::Signature, "{e}");
    match e {
        RootError::Signature(t) => t,
        other => panic!("expected a signature error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Loading a pinned root.
// ---------------------------------------------------------------------------

#[test]
fn a_self_signed_root_loads() {
    let c = Chain::new();
    let root = c.trusted_v1();
    assert_eq!(root.root(), &c.v1());
    assert_eq!(root.root().version, 1);
}

#[test]
fn a_root_not_signed_by_its_own_root_keys_does_not_load() {
    let c = Chain::new();
    let keys = Keys::standard();
    // Unsigned; by a key of another role; by a stranger; by the next
    // version's root key.
    for signers in [vec![], vec![&c.release], vec![&keys.catalog], vec![&c.k2]] {
        let file = root_file(&c.v1(), &signers);
        let t = signature(TrustedRoot::load(&file, NOW, &limits()).unwrap_err());
        assert_eq!(t.role, Some(RoleName::Root));
        assert_eq!((t.needed, t.got), (1, 0));
    }
    // A key of another role is reported as such.
    let file = root_file(&c.v1(), &[&c.release]);
    let t = signature(TrustedRoot::load(&file, NOW, &limits()).unwrap_err());
    assert_eq!(t.other_role_keys, [c.release.id()]);
    // A damaged self-signature.
    let mut file = root_file(&c.v1(), &[&c.k1]);
    file[hpk_format::HEADER_LEN + 40] ^= 1;
    let t = signature(TrustedRoot::load(&file, NOW, &limits()).unwrap_err());
    assert_eq!(
        t.report.invalid.iter().copied().collect::<Vec<_>>(),
        [c.k1.id()]
    );
}

#[test]
fn a_root_threshold_of_two_needs_two_distinct_root_keys() {
    let c = Chain::new();
    let other = TestKey::from_seed(11);
    let root = root_v(1, EXPIRES, 2, &[&c.k1, &other], &c.release);
    for signers in [
        vec![&c.k1],
        vec![&c.k1, &c.k1],
        vec![&other, &other, &other],
    ] {
        let file = root_file(&root, &signers);
        let t = signature(TrustedRoot::load(&file, NOW, &limits()).unwrap_err());
        assert_eq!((t.needed, t.got), (2, 1));
    }
    let file = root_file(&root, &[&other, &c.k1]);
    assert!(TrustedRoot::load(&file, NOW, &limits()).is_ok());
}

#[test]
fn an_expired_root_does_not_load_online() {
    let c = Chain::new();
    let file = root_file(&c.v1(), &[&c.k1]);
    for now in [EXPIRES, EXPIRES + 1, EXPIRES + 100 * DAY] {
        let e = TrustedRoot::load(&file, Clock::Trusted(now), &limits()).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Policy);
        assert!(
            matches!(e, RootError::Expired { version: 1, expires: EXPIRES, at } if at == now),
            "{e:?}"
        );
    }
    assert!(TrustedRoot::load(&file, Clock::Trusted(EXPIRES - 1), &limits()).is_ok());
}

#[test]
fn a_root_from_the_future_does_not_load_online() {
    let c = Chain::new();
    let file = root_file(&c.v1(), &[&c.k1]);
    let e = TrustedRoot::load(&file, Clock::Trusted(T0 - 1), &limits()).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Policy);
    assert!(
        matches!(
            e,
            RootError::NotYetValid {
                version: 1,
                created: T0,
                now
            } if now == T0 - 1
        ),
        "{e:?}"
    );
    assert!(TrustedRoot::load(&file, Clock::Trusted(T0), &limits()).is_ok());
}

#[test]
fn offline_a_lower_bound_judges_expiry_but_not_creation() {
    let c = Chain::new();
    let file = root_file(&c.v1(), &[&c.k1]);
    // Before expiry: fine, even a bound before creation (a recovery
    // environment may only know an old timestamp).
    for bound in [0, T0 - DAY, T0, EXPIRES - 1] {
        assert!(
            TrustedRoot::load(&file, Clock::LowerBound(bound), &limits()).is_ok(),
            "{bound}"
        );
    }
    // At or after expiry: expired.
    for bound in [EXPIRES, EXPIRES + DAY] {
        let e = TrustedRoot::load(&file, Clock::LowerBound(bound), &limits()).unwrap_err();
        assert!(
            matches!(e, RootError::Expired { version: 1, at, .. } if at == bound),
            "{e:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Rotation.
// ---------------------------------------------------------------------------

#[test]
fn rotation_to_the_next_version_signed_by_old_and_new_root_keys_is_accepted() {
    let c = Chain::new();
    let v2 = c.trusted_v1().update(&c.v2_file(), &limits()).unwrap();
    assert_eq!(v2.root(), &c.v2());
    assert_eq!(v2.root().roles.root.keys, [c.k2.id()]);
    // And the whole chain through `rotate`.
    let v3 = c
        .trusted_v1()
        .rotate(
            [c.v2_file().as_slice(), c.v3_file(EXPIRES).as_slice()],
            NOW,
            &limits(),
        )
        .unwrap();
    assert_eq!(v3.root(), &c.v3(EXPIRES));
}

#[test]
fn a_skipped_version_is_refused() {
    let c = Chain::new();
    // v3 signed by v1's root key and its own: still not the next version.
    let file = root_file(&c.v3(EXPIRES), &[&c.k1, &c.k3]);
    let e = c.trusted_v1().update(&file, &limits()).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Policy);
    assert!(
        matches!(
            e,
            RootError::Version(hpk_verify::WrongVersion {
                expected: 2,
                found: 3
            })
        ),
        "{e:?}"
    );
}

#[test]
fn the_same_or_an_older_version_is_refused() {
    let c = Chain::new();
    let v1 = c.trusted_v1();
    // The same version again.
    let e = v1
        .update(&root_file(&c.v1(), &[&c.k1]), &limits())
        .unwrap_err();
    assert!(
        matches!(
            e,
            RootError::Version(hpk_verify::WrongVersion {
                expected: 2,
                found: 1
            })
        ),
        "{e:?}"
    );
    let v2 = v1.update(&c.v2_file(), &limits()).unwrap();
    // Back to v1 as it was published: v2's root key never signed it.
    let e = v2
        .update(&root_file(&c.v1(), &[&c.k1]), &limits())
        .unwrap_err();
    let t = signature(e);
    assert_eq!(t.role, Some(RoleName::Root));
    assert_eq!(t.got, 0);
    // Back to a v1 signed by both root keys: refused on its version.
    let e = v2
        .update(&root_file(&c.v1(), &[&c.k1, &c.k2]), &limits())
        .unwrap_err();
    assert!(
        matches!(
            e,
            RootError::Version(hpk_verify::WrongVersion {
                expected: 3,
                found: 1
            })
        ),
        "{e:?}"
    );
}

#[test]
fn rotation_signed_by_the_old_keys_only_is_refused() {
    let c = Chain::new();
    let file = root_file(&c.v2(), &[&c.k1]);
    let t = signature(c.trusted_v1().update(&file, &limits()).unwrap_err());
    assert_eq!(t.role, Some(RoleName::Root));
    assert_eq!((t.needed, t.got), (1, 0));
    assert_eq!(t.subject, Subject::TrustRoot { version: 2 });
    assert!(t.to_string().contains("version 2"), "{t}");
}

#[test]
fn rotation_signed_by_the_new_keys_only_is_refused() {
    let c = Chain::new();
    let file = root_file(&c.v2(), &[&c.k2]);
    let t = signature(c.trusted_v1().update(&file, &limits()).unwrap_err());
    assert_eq!(t.role, Some(RoleName::Root));
    assert_eq!((t.needed, t.got), (1, 0));
    assert_eq!(t.subject, Subject::Rotation { from: 1 });
    assert!(t.to_string().contains("old root keys"), "{t}");
    // The new key is a stranger to v1.
    assert_eq!(
        t.report.unknown.iter().copied().collect::<Vec<_>>(),
        [c.k2.id()]
    );
}

#[test]
fn rotation_needs_a_threshold_of_the_old_root_keys_counted_by_distinct_key() {
    let c = Chain::new();
    let other = TestKey::from_seed(11);
    let v1 = root_v(1, EXPIRES, 2, &[&c.k1, &other], &c.release);
    let v1 = TrustedRoot::load(&root_file(&v1, &[&c.k1, &other]), NOW, &limits()).unwrap();
    for old in [vec![&c.k1], vec![&c.k1, &c.k1]] {
        let mut signers = old.clone();
        signers.push(&c.k2);
        let t = signature(
            v1.update(&root_file(&c.v2(), &signers), &limits())
                .unwrap_err(),
        );
        assert_eq!((t.needed, t.got), (2, 1));
    }
    let file = root_file(&c.v2(), &[&c.k1, &other, &c.k2]);
    assert!(v1.update(&file, &limits()).is_ok());
}

#[test]
fn a_chain_whose_last_root_is_expired_is_refused() {
    let c = Chain::new();
    let v3_expires = T0 + 10 * DAY;
    let v2 = c.v2_file();
    let v3 = c.v3_file(v3_expires);
    let e = c
        .trusted_v1()
        .rotate(
            [v2.as_slice(), v3.as_slice()],
            Clock::Trusted(T0 + 20 * DAY),
            &limits(),
        )
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Policy);
    assert!(
        matches!(e, RootError::Expired { version: 3, expires, .. } if expires == v3_expires),
        "{e:?}"
    );
    // The same with an offline lower bound.
    let e = c
        .trusted_v1()
        .rotate(
            [v2.as_slice(), v3.as_slice()],
            Clock::LowerBound(v3_expires),
            &limits(),
        )
        .unwrap_err();
    assert!(matches!(e, RootError::Expired { version: 3, .. }), "{e:?}");
    // Before it expires, fine.
    let root = c
        .trusted_v1()
        .rotate(
            [v2.as_slice(), v3.as_slice()],
            Clock::Trusted(T0 + 9 * DAY),
            &limits(),
        )
        .unwrap();
    assert_eq!(root.root().version, 3);
}

#[test]
fn an_expired_intermediate_root_does_not_block_the_chain() {
    // As in TUF: only the newest root must be current; an old one that has
    // since expired still authenticates its successor.
    let c = Chain::new();
    let v2 = root_v(2, T0 + 5 * DAY, 1, &[&c.k2], &c.release);
    let v2 = root_file(&v2, &[&c.k1, &c.k2]);
    let v3 = c.v3_file(EXPIRES);
    let root = c
        .trusted_v1()
        .rotate(
            [v2.as_slice(), v3.as_slice()],
            Clock::Trusted(T0 + 30 * DAY),
            &limits(),
        )
        .unwrap();
    assert_eq!(root.root().version, 3);
}

#[test]
fn a_chain_that_breaks_in_the_middle_is_refused() {
    let c = Chain::new();
    let v2 = c.v2_file();
    // v3 signed by v1's key instead of v2's.
    let v3 = root_file(&c.v3(EXPIRES), &[&c.k1, &c.k3]);
    let e = c
        .trusted_v1()
        .rotate([v2.as_slice(), v3.as_slice()], NOW, &limits())
        .unwrap_err();
    let t = signature(e);
    assert_eq!(t.subject, Subject::Rotation { from: 2 });
    assert!(t.to_string().contains("from version 2"), "{t}");
    // The chain out of order.
    let v3 = c.v3_file(EXPIRES);
    let e = c
        .trusted_v1()
        .rotate([v3.as_slice(), v2.as_slice()], NOW, &limits())
        .unwrap_err();
    assert!(matches!(e, RootError::Signature(_)), "{e:?}");
}

#[test]
fn the_last_version_number_cannot_be_rotated_past() {
    // A root at u64::MAX has no next version: a root of the same number
    // must not be accepted as its successor.
    let c = Chain::new();
    let last = root_v(u64::MAX, EXPIRES, 1, &[&c.k1], &c.release);
    let last = TrustedRoot::load(&root_file(&last, &[&c.k1]), NOW, &limits()).unwrap();
    let again = root_v(u64::MAX, EXPIRES, 1, &[&c.k2], &c.release);
    let e = last
        .update(&root_file(&again, &[&c.k1, &c.k2]), &limits())
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Policy);
    assert!(
        matches!(
            e,
            RootError::Version(hpk_verify::WrongVersion {
                found: u64::MAX,
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn a_package_signed_by_a_key_removed_in_v2_is_refused_under_v2_only() {
    let c = Chain::new();
    let new_release = TestKey::from_seed(22);
    let v2 = root_v(2, EXPIRES, 1, &[&c.k2], &new_release);
    let v2 = c
        .trusted_v1()
        .update(&root_file(&v2, &[&c.k1, &c.k2]), &limits())
        .unwrap();
    let package = PackageSpec::baseline("contoso-os")
        .with_payload("a.bin", b"a".to_vec())
        .build();
    let old_signed = package.file(&[&c.release]);
    let new_signed = package.file(&[&new_release]);

    assert!(
        verifier(&c.trusted_v1())
            .package(old_signed.as_slice())
            .is_ok()
    );
    let e = match verifier(&v2).package(old_signed.as_slice()) {
        Ok(_) => panic!("accepted under v2"),
        Err(e) => e,
    };
    assert_eq!(e.class(), ErrorClass::Signature);
    let VerifyError::Signature(t) = e else {
        panic!("expected a signature error, got {e:?}");
    };
    assert_eq!(t.got, 0);
    assert_eq!(
        t.report.unknown.iter().copied().collect::<Vec<_>>(),
        [c.release.id()]
    );

    assert!(verifier(&v2).package(new_signed.as_slice()).is_ok());
    assert!(
        verifier(&c.trusted_v1())
            .package(new_signed.as_slice())
            .is_err()
    );
}

#[test]
fn a_root_with_an_unknown_critical_extension_is_refused_and_a_non_critical_one_ignored() {
    let keys = Keys::standard();
    let mut root = standard_root(&keys);
    root.extensions.push(hpk_format::Extension {
        id: 0x8000_0001,
        critical: true,
        data: b"must understand".to_vec(),
    });
    let e = TrustedRoot::load(&root_file(&root, &[&keys.root]), NOW, &limits()).unwrap_err();
    assert!(
        matches!(
            e,
            RootError::UnknownCriticalExtension {
                version: 1,
                id: 0x8000_0001
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Unsupported);

    root.extensions[0].critical = false;
    TrustedRoot::load(&root_file(&root, &[&keys.root]), NOW, &limits()).unwrap();
}
