//! Tests of trust-root authoring: creation, edits, files, signing and
//! rotation checks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{KeyId, Limits, RoleName, TrustRoot};
use hpk_sign::keys::{PublicKey, SecretKey};
use hpk_sign::root::{
    RoleKeys, RoleSpec, RootEditError, RotationError, SaveOutcome, add_key, attach_root_signature,
    check_rotation, init, next_version, read_root_file, remove_key, root_tbs, save_root,
    set_expiry, set_threshold, sign_root_file, write_unsigned_root,
};
use hpk_sign::{SignError, SignOutcome};
use hpk_verify::{Clock, RootError, TrustedRoot};
use std::fs;
use std::path::{Path, PathBuf};

const T0: u64 = 1_767_225_600;
const DAY: u64 = 86_400;

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn id(k: &SecretKey) -> KeyId {
    KeyId::of_public_key(k.public_key().as_bytes())
}

fn pk(seed: u8) -> PublicKey {
    key(seed).public_key()
}

/// Root role: keys 1 and 2, threshold 2; other roles one key each.
fn role_keys() -> RoleKeys {
    RoleKeys {
        root: RoleSpec::new(vec![pk(1), pk(2)], 2),
        release: RoleSpec::new(vec![pk(3)], 1),
        hotpatch: RoleSpec::new(vec![pk(4)], 1),
        recovery: RoleSpec::new(vec![pk(5)], 1),
        catalog: RoleSpec::new(vec![pk(6), pk(3)], 1),
    }
}

fn clock() -> Clock {
    Clock::Trusted(T0 + DAY)
}

fn load(path: &Path) -> Result<TrustedRoot, RootError> {
    TrustedRoot::load(&fs::read(path).unwrap(), clock(), &Limits::default())
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_signed(path: &Path, root: &TrustRoot, signers: &[u8]) {
    write_unsigned_root(path, root).unwrap();
    for s in signers {
        sign_root_file(path, &key(*s), path).unwrap();
    }
}

#[test]
fn init_sorts_and_deduplicates() {
    let mut keys = role_keys();
    keys.root.keys.push(pk(1));
    let root = init(&keys, T0, T0 + 365 * DAY).unwrap();
    assert_eq!(root.version, 1);
    assert_eq!(root.keys.len(), 6);
    assert!(root.keys.windows(2).all(|w| w[0].key_id() < w[1].key_id()));
    assert_eq!(root.roles.root.keys.len(), 2);
    assert!(
        root.roles
            .catalog
            .as_ref()
            .expect("role")
            .keys
            .windows(2)
            .all(|w| w[0] < w[1])
    );

    let mut bad = role_keys();
    bad.release.threshold = 0;
    assert!(matches!(
        init(&bad, T0, T0 + DAY),
        Err(RootEditError::Threshold {
            role: RoleName::Release,
            ..
        })
    ));
    let mut bad = role_keys();
    bad.root.threshold = 3;
    assert!(init(&bad, T0, T0 + DAY).is_err());
    // A role other than root without keys is left out of the root; with
    // a threshold asked for, it is an error.
    let mut partial = role_keys();
    partial.recovery.keys.clear();
    let root = init(&partial, T0, T0 + DAY).unwrap();
    assert_eq!(root.roles.recovery, None);
    assert!(root.roles.release.is_some());
    partial.recovery.threshold = 2;
    assert!(matches!(
        init(&partial, T0, T0 + DAY),
        Err(RootEditError::Threshold {
            role: RoleName::Recovery,
            keys: 0,
            ..
        })
    ));
    let mut bad = role_keys();
    bad.root.keys.clear();
    assert!(init(&bad, T0, T0 + DAY).is_err());
    assert!(matches!(
        init(&role_keys(), T0, T0),
        Err(RootEditError::Expiry { .. })
    ));
}

#[test]
fn init_sign_load() {
    let d = dir();
    let path = d.path().join("root.hpkroot");
    let root = init(&role_keys(), T0, T0 + 365 * DAY).unwrap();
    write_unsigned_root(&path, &root).unwrap();
    assert!(matches!(load(&path), Err(RootError::Signature(_))));

    let first = sign_root_file(&path, &key(1), &path).unwrap();
    assert!(matches!(first, SignOutcome::Added { signatures: 1, .. }));
    // Below the threshold of 2.
    assert!(load(&path).is_err());
    sign_root_file(&path, &key(2), &path).unwrap();
    let trusted = load(&path).unwrap();
    assert_eq!(trusted.root(), &root);

    // Idempotent.
    let bytes = fs::read(&path).unwrap();
    let again = sign_root_file(&path, &key(2), &path).unwrap();
    assert!(matches!(
        again,
        SignOutcome::AlreadySigned { signatures: 2, .. }
    ));
    assert_eq!(fs::read(&path).unwrap(), bytes);

    // Order independent.
    let other = d.path().join("other.hpkroot");
    write_signed(&other, &root, &[2, 1]);
    assert_eq!(fs::read(&other).unwrap(), bytes);

    let (head, read) = read_root_file(&path).unwrap();
    assert_eq!(read, root);
    assert_eq!(head.signatures.len(), 2);
}

#[test]
fn external_signer_for_roots() {
    let d = dir();
    let path = d.path().join("root.hpkroot");
    let root = init(&role_keys(), T0, T0 + 365 * DAY).unwrap();
    write_unsigned_root(&path, &root).unwrap();
    let message = root_tbs(&path).unwrap();
    assert!(message.starts_with(b"hpk v1 trust-root\n"));

    let sig = key(1).sign(&message);
    let err = attach_root_signature(&path, &pk(1), &sig[..10], &path)
        .err()
        .unwrap();
    assert!(matches!(err, SignError::SignatureLength { len: 10 }));
    let err = attach_root_signature(&path, &pk(2), &sig, &path)
        .err()
        .unwrap();
    assert!(
        matches!(err, SignError::SignatureMismatch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("hpk root tbs"), "{err}");

    attach_root_signature(&path, &pk(1), &sig, &path).unwrap();
    attach_root_signature(&path, &pk(2), &key(2).sign(&message), &path).unwrap();
    load(&path).unwrap();
    assert_eq!(root_tbs(&path).unwrap(), message);
}

#[test]
fn edits() {
    let mut root = init(&role_keys(), T0, T0 + 365 * DAY).unwrap();
    let original = root.clone();

    // Below threshold: refused, root unchanged.
    let err = remove_key(&mut root, RoleName::Root, &id(&key(1)))
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            RootEditError::BelowThreshold {
                role: RoleName::Root,
                threshold: 2,
                remaining: 1
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("set-threshold"), "{err}");
    assert_eq!(root, original);
    assert!(matches!(
        remove_key(&mut root, RoleName::Hotpatch, &id(&key(4))),
        Err(RootEditError::BelowThreshold { .. })
    ));
    assert!(matches!(
        remove_key(&mut root, RoleName::Root, &id(&key(9))),
        Err(RootEditError::KeyNotInRole { .. })
    ));

    // Add, idempotently.
    assert!(add_key(&mut root, RoleName::Root, &pk(7)).unwrap());
    assert!(!add_key(&mut root, RoleName::Root, &pk(7)).unwrap());
    assert_eq!(root.keys.len(), 7);
    assert!(root.key(&id(&key(7))).is_some());
    assert!(root.keys.windows(2).all(|w| w[0].key_id() < w[1].key_id()));
    assert!(root.roles.root.keys.windows(2).all(|w| w[0] < w[1]));

    // Remove: from the role, and from the key list once no role uses it.
    remove_key(&mut root, RoleName::Root, &id(&key(1))).unwrap();
    assert!(root.key(&id(&key(1))).is_none());
    remove_key(&mut root, RoleName::Release, &id(&key(3)))
        .err()
        .unwrap();
    assert!(add_key(&mut root, RoleName::Release, &pk(8)).unwrap());
    remove_key(&mut root, RoleName::Release, &id(&key(3))).unwrap();
    // Key 3 is still a catalog key.
    assert!(root.key(&id(&key(3))).is_some());

    // Thresholds.
    assert!(set_threshold(&mut root, RoleName::Root, 3).is_err());
    assert!(set_threshold(&mut root, RoleName::Root, 0).is_err());
    set_threshold(&mut root, RoleName::Root, 1).unwrap();
    assert_eq!(root.roles.root.threshold, 1);

    // Expiry and versions.
    assert!(set_expiry(&mut root, T0).is_err());
    set_expiry(&mut root, T0 + 2 * DAY).unwrap();
    let next = next_version(&root, T0 + DAY, T0 + 400 * DAY).unwrap();
    assert_eq!(next.version, 2);
    assert_eq!(next.keys, root.keys);
    assert!(next_version(&root, T0 + DAY, T0 + DAY).is_err());
}

#[test]
fn save_keeps_signatures_only_for_the_same_body() {
    let d = dir();
    let path = d.path().join("root.hpkroot");
    let mut root = init(&role_keys(), T0, T0 + 365 * DAY).unwrap();
    write_signed(&path, &root, &[1, 2]);
    let signed = fs::read(&path).unwrap();

    assert_eq!(
        save_root(&path, &root).unwrap(),
        SaveOutcome::Unchanged { signatures: 2 }
    );
    assert_eq!(fs::read(&path).unwrap(), signed);

    add_key(&mut root, RoleName::Release, &pk(8)).unwrap();
    assert_eq!(
        save_root(&path, &root).unwrap(),
        SaveOutcome::Written {
            dropped_signatures: 2
        }
    );
    let (head, read) = read_root_file(&path).unwrap();
    assert!(head.signatures.is_empty());
    assert_eq!(read, root);

    // An invalid root is not written.
    root.roles.release.as_mut().expect("role").threshold = 5;
    let err = save_root(&path, &root).err().unwrap();
    assert!(matches!(err, SignError::Invalid { .. }), "{err:?}");
    assert_eq!(
        read_root_file(&path)
            .unwrap()
            .1
            .roles
            .release
            .as_ref()
            .expect("role")
            .threshold,
        1
    );
    assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
}

struct Rotation {
    _dir: tempfile::TempDir,
    v1: PathBuf,
    v2: TrustRoot,
    next: PathBuf,
}

/// v1: root keys 1 and 2 (threshold 2). v2: root keys 2 and 7
/// (threshold 2): key 1 rotated out, key 7 in.
fn rotation() -> Rotation {
    let dir = dir();
    let v1_path = dir.path().join("1.root.hpkroot");
    let v1 = init(&role_keys(), T0, T0 + 365 * DAY).unwrap();
    write_signed(&v1_path, &v1, &[1, 2]);

    let mut v2 = next_version(&v1, T0 + DAY / 2, T0 + 730 * DAY).unwrap();
    add_key(&mut v2, RoleName::Root, &pk(7)).unwrap();
    remove_key(&mut v2, RoleName::Root, &id(&key(1))).unwrap();
    let next = dir.path().join("2.root.hpkroot");
    Rotation {
        _dir: dir,
        v1: v1_path,
        v2,
        next,
    }
}

#[test]
fn rotation_signed_by_old_and_new_keys_is_accepted() {
    let r = rotation();
    write_signed(&r.next, &r.v2, &[1, 2, 7]);
    let rotated = check_rotation(&r.v1, &r.next, clock()).unwrap();
    assert_eq!(rotated.root(), &r.v2);
    assert_eq!(rotated.root().version, 2);
}

#[test]
fn rotation_signed_only_by_new_keys_is_refused() {
    let r = rotation();
    // Key 2 is in both; key 7 only in v2: one of v1's two root keys.
    write_signed(&r.next, &r.v2, &[2, 7]);
    let err = check_rotation(&r.v1, &r.next, clock()).err().unwrap();
    assert!(
        matches!(
            err,
            RotationError::Rejected {
                source: RootError::Signature(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("2.root.hpkroot"), "{err}");
}

#[test]
fn rotation_signed_only_by_old_keys_is_refused() {
    let r = rotation();
    write_signed(&r.next, &r.v2, &[1, 2]);
    let err = check_rotation(&r.v1, &r.next, clock()).err().unwrap();
    assert!(
        matches!(
            err,
            RotationError::Rejected {
                source: RootError::Signature(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn rotation_skipping_a_version_is_refused() {
    let r = rotation();
    let mut v3 = r.v2.clone();
    v3.version = 3;
    write_signed(&r.next, &v3, &[1, 2, 7]);
    let err = check_rotation(&r.v1, &r.next, clock()).err().unwrap();
    assert!(
        matches!(
            err,
            RotationError::Rejected {
                source: RootError::Version(hpk_verify::WrongVersion {
                    expected: 2,
                    found: 3
                }),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn rotation_to_an_expired_root_is_refused_but_from_one_is_not() {
    let r = rotation();
    write_signed(&r.next, &r.v2, &[1, 2, 7]);
    // v1 is expired at this time, v2 is not: rotating away is fine.
    let later = Clock::Trusted(T0 + 400 * DAY);
    check_rotation(&r.v1, &r.next, later).unwrap();
    let much_later = Clock::Trusted(T0 + 800 * DAY);
    let err = check_rotation(&r.v1, &r.next, much_later).err().unwrap();
    assert!(matches!(
        err,
        RotationError::Rejected {
            source: RootError::Expired { .. },
            ..
        }
    ));
}

#[test]
fn damaged_root_files_are_refused() {
    let d = dir();
    let path = d.path().join("root.hpkroot");
    let root = init(&role_keys(), T0, T0 + 365 * DAY).unwrap();
    write_signed(&path, &root, &[1]);
    let mut bytes = fs::read(&path).unwrap();
    bytes.push(0);
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        sign_root_file(&path, &key(2), &path),
        Err(SignError::Container { .. })
    ));
    assert!(read_root_file(&path).is_err());
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
}

/// A signer that claims one key and signs with another.
struct Liar {
    claims: SecretKey,
    signs: SecretKey,
}

impl hpk_sign::Signer for Liar {
    fn public_key(&self) -> PublicKey {
        self.claims.public_key()
    }
    fn sign_statement(&self, statement: &[u8]) -> Result<[u8; 64], hpk_sign::SignerError> {
        Ok(self.signs.sign(statement))
    }
}

/// A signer whose device fails.
struct Broken(SecretKey);

impl hpk_sign::Signer for Broken {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
    fn sign_statement(&self, _: &[u8]) -> Result<[u8; 64], hpk_sign::SignerError> {
        Err(hpk_sign::SignerError::SignatureLength { len: 0 })
    }
}

#[test]
fn sign_file_checks_root_keys_and_every_signature_before_writing() {
    use hpk_format::FileType;
    use hpk_sign::{SignOptions, sign_file};
    let d = dir();
    let v1 = d.path().join("v1.hpkroot");
    write_signed(
        &v1,
        &init(&role_keys(), T0, T0 + 365 * DAY).unwrap(),
        &[1, 2],
    );
    let trusted = load(&v1).unwrap();
    // Version 2 adds key 7 to the root role.
    let mut next = next_version(trusted.root(), T0 + DAY, T0 + 400 * DAY).unwrap();
    add_key(&mut next, RoleName::Root, &pk(7)).unwrap();
    let v2 = d.path().join("v2.hpkroot");
    write_unsigned_root(&v2, &next).unwrap();
    let before = fs::read(&v2).unwrap();
    let opts = &mut SignOptions::default();

    // A key in neither root role: refused before signing.
    let err = sign_file(&v2, FileType::TrustRoot, &key(3), &v2, Some(&trusted), opts).unwrap_err();
    assert!(
        matches!(
            err,
            SignError::NotInRole {
                role: RoleName::Root,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("which signs trust roots"), "{err}");
    // A signer that lies about its key, or fails: refused, nothing written.
    let liar = Liar {
        claims: key(1),
        signs: key(3),
    };
    let err = sign_file(&v2, FileType::TrustRoot, &liar, &v2, Some(&trusted), opts).unwrap_err();
    assert!(matches!(err, SignError::SignerMismatch { .. }), "{err}");
    let err = sign_file(&v2, FileType::TrustRoot, &Broken(key(1)), &v2, None, opts).unwrap_err();
    assert!(matches!(err, SignError::Signer { .. }), "{err}");
    // The wrong file type is refused too.
    let err = sign_file(&v2, FileType::Catalog, &key(6), &v2, None, opts).unwrap_err();
    assert!(matches!(err, SignError::Container { .. }), "{err}");
    assert_eq!(before, fs::read(&v2).unwrap());

    // A key of the old root and a key only in the new one are accepted.
    for k in [1, 2, 7] {
        sign_file(&v2, FileType::TrustRoot, &key(k), &v2, Some(&trusted), opts).unwrap();
    }
    check_rotation(&v1, &v2, clock()).unwrap();
}
