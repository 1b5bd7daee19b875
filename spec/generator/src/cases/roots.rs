//! Trust roots: pinned roots (valid, unsigned, weak keys, broken rules,
//! expired) and rotations (valid chains, old or new keys only, skipped
//! versions, expired).

use super::{Case, Gen, STANDARD_ROOT};
use crate::build;
use hpk_format::{
    ALG_ED25519, EXT_PRIVATE_START, Extension, FileType, KeyId, RoleName, TrustRoot, TrustedKey,
};
use hpk_tests::{DAY, T0, TestKey, root_with_roles, standard_root};

/// Rotation version `version` whose root role is `key` alone.
pub(super) fn rotated(
    g: &Gen,
    version: u64,
    key: &TestKey,
    created: u64,
    expires: u64,
) -> TrustRoot {
    let mut r = root_with_roles(&g.keys, version, expires, &[(RoleName::Root, 1, &[key])]);
    r.created = created;
    r
}

/// A 32-byte string that is not the encoding of any curve point.
fn not_a_point() -> [u8; 32] {
    (2u8..=255)
        .map(|y| {
            let mut k = [0u8; 32];
            k[0] = y;
            k
        })
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
        .expect("some y is not on the curve")
}

/// The standard root with `extra` added to the keys and the release role.
fn with_release_key(g: &Gen, extra: TrustedKey) -> TrustRoot {
    let mut r = standard_root(&g.keys);
    r.keys.push(extra);
    r.keys.sort_by_key(TrustedKey::key_id);
    r.roles
        .release
        .as_mut()
        .expect("role")
        .keys
        .push(extra.key_id());
    r.roles.release.as_mut().expect("role").keys.sort();
    r
}

pub fn add(g: &mut Gen) {
    let standard = g.files_get(&format!("roots/{STANDARD_ROOT}"));
    g.add(Case::trust_root(
        "valid-trust-root",
        "The standard trust root (version 1, one key per role, threshold 1), self-signed by its root key.",
        standard.clone(),
    ));

    let t2 = root_with_roles(
        &g.keys,
        1,
        T0 + 365 * DAY,
        &[(RoleName::Root, 2, &[&g.keys.root, &g.root2])],
    );
    g.add(Case::trust_root(
        "valid-trust-root-threshold-2",
        "A trust root whose root role needs 2 of 2 keys, signed by both.",
        g.root_bytes(&t2, &[&g.keys.root, &g.root2]),
    ));
    g.add(
        Case::trust_root(
            "signature-trust-root-threshold-2-one-signature",
            "The same root signed by one of its two root keys.",
            g.root_bytes(&t2, &[&g.keys.root]),
        )
        .expect("signature"),
    );
    g.add(
        Case::trust_root(
            "signature-trust-root-threshold-2-same-key-twice",
            "The same root signed twice by the same root key: one distinct key.",
            g.root_bytes(&t2, &[&g.keys.root, &g.keys.root]),
        )
        .expect("signature"),
    );

    let std_root = standard_root(&g.keys);
    let body = build::encode_valid(&std_root);
    g.add(
        Case::trust_root(
            "signature-trust-root-unsigned",
            "The standard trust root with no signature.",
            build::metadata(FileType::TrustRoot, &[], &body),
        )
        .expect("signature"),
    );
    g.add(
        Case::trust_root(
            "signature-trust-root-signed-by-release-key",
            "The standard trust root signed by its release key, which does not sign roots.",
            build::metadata(FileType::TrustRoot, &[&g.keys.release], &body),
        )
        .expect("signature"),
    );
    // Byte 16 of the body is the low byte of `expires`: the body stays a
    // valid root, only the signature no longer covers it.
    let mut tampered = standard.clone();
    tampered[hpk_format::HEADER_LEN + hpk_format::SIGNATURE_RECORD_LEN + 16] ^= 0x01;
    g.add(
        Case::trust_root(
            "signature-trust-root-over-other-bytes",
            "The standard trust root with its expiry time changed by one second after signing.",
            tampered,
        )
        .expect("signature"),
    );

    // Keys and rules.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = with_release_key(
        g,
        TrustedKey {
            algorithm: ALG_ED25519,
            public_key: identity,
        },
    );
    g.add(
        Case::trust_root(
            "malformed-trust-root-weak-key",
            "A release key that is the identity point (small order): a weak key could accept signatures its holder never made.",
            g.root_bytes(&weak, &[&g.keys.root]),
        )
        .expect("malformed"),
    );
    let bad = with_release_key(
        g,
        TrustedKey {
            algorithm: ALG_ED25519,
            public_key: not_a_point(),
        },
    );
    g.add(
        Case::trust_root(
            "malformed-trust-root-invalid-key",
            "A release key whose 32 bytes are not the encoding of a curve point.",
            g.root_bytes(&bad, &[&g.keys.root]),
        )
        .expect("malformed"),
    );
    let mut other_alg = with_release_key(
        g,
        TrustedKey {
            algorithm: 2,
            public_key: g.release2.public(),
        },
    );
    other_alg.keys.sort_by_key(TrustedKey::key_id);
    g.add(
        Case::trust_root(
            "malformed-trust-root-unknown-key-algorithm",
            "A trust-root key with algorithm 2: trust-root keys must be algorithm 1.",
            build::metadata(
                FileType::TrustRoot,
                &[&g.keys.root],
                &build::wire(&other_alg),
            ),
        )
        .expect("malformed"),
    );
    let edit = |f: &dyn Fn(&mut TrustRoot)| {
        let mut r = standard_root(&g.keys);
        f(&mut r);
        build::metadata(FileType::TrustRoot, &[&g.keys.root], &build::wire(&r))
    };
    let rel = g.keys.release.trusted();
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "malformed-trust-root-duplicate-key",
            "The release key listed twice in the keys.",
            edit(&|r| {
                r.keys.push(rel);
                r.keys.sort_by_key(TrustedKey::key_id);
            }),
        ),
        (
            "malformed-trust-root-duplicate-role-key",
            "The release role naming the release key twice.",
            edit(&|r| {
                let k = r.roles.release.as_mut().expect("role");
                k.keys.push(k.keys[0])
            }),
        ),
        (
            "malformed-trust-root-threshold-zero",
            "The catalog role has threshold 0.",
            edit(&|r| r.roles.catalog.as_mut().expect("role").threshold = 0),
        ),
        (
            "malformed-trust-root-threshold-above-keys",
            "The release role needs 2 signatures but has 1 key.",
            edit(&|r| r.roles.release.as_mut().expect("role").threshold = 2),
        ),
        (
            "malformed-trust-root-role-key-not-listed",
            "The hotpatch role names a key id the root does not list.",
            edit(&|r| {
                r.roles.hotpatch.as_mut().expect("role").keys =
                    vec![KeyId::of_public_key(b"not listed")];
            }),
        ),
        (
            "malformed-trust-root-version-zero",
            "Trust root version 0: versions start at 1.",
            edit(&|r| r.version = 0),
        ),
        (
            "malformed-trust-root-expires-not-after-created",
            "A trust root that expires when it is created.",
            edit(&|r| r.expires = r.created),
        ),
        (
            "malformed-trust-root-unsorted-keys",
            "Trust-root keys out of key-id order.",
            edit(&|r| r.keys.reverse()),
        ),
    ];
    for (name, what, bytes) in cases {
        g.add(Case::trust_root(name, what, bytes).expect("malformed"));
    }

    let with_extension = |critical: bool| {
        let mut r = standard_root(&g.keys);
        r.extensions = vec![Extension {
            id: EXT_PRIVATE_START + if critical { 2 } else { 1 },
            critical,
            data: b"trust-root extension".to_vec(),
        }];
        g.root_bytes(&r, &[&g.keys.root])
    };
    let (noncritical, critical) = (with_extension(false), with_extension(true));
    g.add(Case::trust_root(
        "valid-trust-root-unknown-noncritical-extension",
        "The standard trust root with an unknown non-critical extension (id 0x80000001): ignored.",
        noncritical,
    ));
    g.add(
        Case::trust_root(
            "unsupported-trust-root-unknown-critical-extension",
            "The standard trust root with an unknown critical extension (id 0x80000002).",
            critical,
        )
        .expect("unsupported"),
    );

    g.add(
        Case::trust_root(
            "policy-trust-root-expired",
            "The standard trust root (expires at T0 + 365 days) judged at T0 + 400 days.",
            standard.clone(),
        )
        .time(T0 + 400 * DAY)
        .expect("policy:expired"),
    );
    let mut future = standard_root(&g.keys);
    future.created = T0 + 10 * DAY;
    g.add(
        Case::trust_root(
            "policy-trust-root-not-yet-valid",
            "A trust root created at T0 + 10 days, judged with a trusted clock at T0 + 1 day.",
            g.root_bytes(&future, &[&g.keys.root]),
        )
        .expect("policy:not-yet-valid"),
    );

    // Rotation: v1 (root key 1) -> v2 (root key 11) -> v3 (root key 12).
    let (k1, k2, k3) = (&g.keys.root, &g.root_v2, &g.root_v3);
    let v2 = rotated(g, 2, k2, T0 + 10 * DAY, T0 + 400 * DAY);
    let v3 = rotated(g, 3, k3, T0 + 20 * DAY, T0 + 500 * DAY);
    let v2_file = g.root_bytes(&v2, &[k1, k2]);
    let v3_file = g.root_bytes(&v3, &[k2, k3]);
    let v3_skip = g.root_bytes(&v3, &[k1, k3]);
    let v2_old_only = g.root_bytes(&v2, &[k1]);
    let v2_new_only = g.root_bytes(&v2, &[k2]);
    let v1_again = {
        let mut r = standard_root(&g.keys);
        r.expires = T0 + 730 * DAY;
        g.root_bytes(&r, &[k1])
    };
    let v2_short = g.root_bytes(&rotated(g, 2, k2, T0 + 10 * DAY, T0 + 20 * DAY), &[k1, k2]);
    let v2_critical = {
        let mut r = v2.clone();
        r.extensions = vec![Extension {
            id: EXT_PRIVATE_START + 2,
            critical: true,
            data: b"trust-root extension".to_vec(),
        }];
        g.root_bytes(&r, &[k1, k2])
    };
    let v2_weak = {
        let mut r = v2.clone();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = TrustedKey {
            algorithm: ALG_ED25519,
            public_key: identity,
        };
        r.keys.push(weak);
        r.keys.sort_by_key(TrustedKey::key_id);
        r.roles
            .release
            .as_mut()
            .expect("role")
            .keys
            .push(weak.key_id());
        r.roles.release.as_mut().expect("role").keys.sort();
        g.root_bytes(&r, &[k1, k2])
    };
    let v2_name = g.root_file("rotation-v2.hpkroot", v2_file.clone());
    g.add(
        Case::trust_root(
            "malformed-root-rotation-weak-key",
            "Rotation to a v2, signed by the v1 and v2 root keys, whose release role holds a small-order key.",
            v2_weak,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("malformed"),
    );
    g.add(
        Case::trust_root(
            "unsupported-root-rotation-unknown-critical-extension",
            "Rotation to a v2, signed by the v1 and v2 root keys, that carries an unknown critical extension.",
            v2_critical,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("unsupported"),
    );
    g.add(
        Case::trust_root(
            "valid-trust-root-rotation-v1-v2-v3",
            "From the standard root (v1), through rotation-v2 (signed by the v1 and v2 root keys), to v3 (signed by the v2 and v3 root keys).",
            v3_file.clone(),
        )
        .root(STANDARD_ROOT)
        .chain(&[&v2_name])
        .time(T0 + 30 * DAY),
    );
    g.add(
        Case::trust_root(
            "valid-trust-root-rotation-from-expired-root",
            "Rotation from the standard root, expired at the time of judging (T0 + 380 days), to v2, valid then: leaving an expired root is allowed.",
            v2_file,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 380 * DAY),
    );
    g.add(
        Case::trust_root(
            "signature-root-rotation-old-keys-only",
            "Rotation to v2 signed by the v1 root key only: the new root is not signed by its own root keys.",
            v2_old_only,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("signature"),
    );
    g.add(
        Case::trust_root(
            "signature-root-rotation-new-keys-only",
            "Rotation to v2 signed by the v2 root key only: the trusted v1 root keys did not sign it.",
            v2_new_only,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("signature"),
    );
    g.add(
        Case::trust_root(
            "signature-root-rotation-chain-wrong-keys",
            "v1 -> v2 -> v3 where v3 is signed by the v1 (not v2) root key and its own.",
            v3_skip.clone(),
        )
        .root(STANDARD_ROOT)
        .chain(&[&v2_name])
        .time(T0 + 30 * DAY)
        .expect("signature"),
    );
    g.add(
        Case::trust_root(
            "policy-root-rotation-skip-version",
            "From v1 straight to v3 (signed by the v1 root key and its own): versions are applied one at a time.",
            v3_skip,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("policy:wrong-version"),
    );
    g.add(
        Case::trust_root(
            "policy-root-rotation-same-version",
            "From v1 to another version 1 (longer expiry, signed by the v1 root key).",
            v1_again,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("policy:wrong-version"),
    );
    g.add(
        Case::trust_root(
            "policy-root-rotation-expired",
            "Rotation to a v2 that expired at T0 + 20 days, judged at T0 + 30 days.",
            v2_short,
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("policy:expired"),
    );
}
