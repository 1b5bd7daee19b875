//! The normative check order (`spec/SPEC.md`, "Check order"): files with
//! two faults each, whose description names both and says which one wins.
//! Every conforming reader reports the first failing check in that order,
//! whatever order it works in.

use super::catalogs::entry;
use super::roots::rotated;
use super::{Case, Device, Gen, STANDARD_ROOT};
use crate::build;
use hpk_format::{
    ALG_ED25519, Catalog, EXT_PRIVATE_START, Extension, FileType, TrustRoot, TrustedKey,
};
use hpk_tests::{DAY, T0, TestKey, standard_root};

/// An unknown critical extension.
fn critical() -> Extension {
    Extension {
        id: EXT_PRIVATE_START + 2,
        critical: true,
        data: b"must understand".to_vec(),
    }
}

/// A small-order key (the identity point).
fn weak_key() -> TrustedKey {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    TrustedKey {
        algorithm: ALG_ED25519,
        public_key: identity,
    }
}

/// `r` with a weak key added to its release role.
fn with_weak_release_key(mut r: TrustRoot) -> TrustRoot {
    let weak = weak_key();
    r.keys.push(weak);
    r.keys.sort_by_key(TrustedKey::key_id);
    r.roles
        .release
        .as_mut()
        .expect("role")
        .keys
        .push(weak.key_id());
    r.roles.release.as_mut().expect("role").keys.sort();
    r
}

/// The header's `payload_len` raised by one and one byte appended: the
/// file still ends where its header says, but the header disagrees with
/// the manifest (VP8) and with nothing else.
fn payload_len_plus_one(file: &[u8]) -> Vec<u8> {
    let mut v = file.to_vec();
    let len = u64::from_le_bytes(v[32..40].try_into().expect("8 bytes"));
    build::put_u64(&mut v, 32, len + 1);
    v.push(0);
    v
}

pub fn add(g: &mut Gen) {
    container(g);
    package(g);
    roots(g);
    catalogs(g);
}

/// C1–C16, then the signatures.
fn container(g: &mut Gen) {
    let b = g.small("baseline").build();
    let good = g.signed(&b);
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let cases: [(&str, &str, Vec<u8>, &str); 10] = [
        (
            "malformed-order-magic-before-major",
            "Two faults: bad magic (C2, malformed) and major version 2 (C3, unsupported). C2 comes first: malformed.",
            patched(&|v| {
                v[0] = 0x88;
                build::put_u16(v, 8, 2);
            }),
            "malformed",
        ),
        (
            "unsupported-order-major-before-reserved-byte",
            "Two faults: major version 2 (C3, unsupported) and header byte 13 set (C6, malformed). C3 comes first: unsupported.",
            patched(&|v| {
                build::put_u16(v, 8, 2);
                v[13] = 1;
            }),
            "unsupported",
        ),
        (
            "unsupported-order-file-type-before-reserved-byte",
            "Two faults: file type 9 (C5, unsupported) and header byte 13 set (C6, malformed). C5 comes first: unsupported.",
            patched(&|v| {
                v[12] = 9;
                v[13] = 1;
            }),
            "unsupported",
        ),
        (
            "malformed-order-reserved-byte-before-signature-count",
            "Two faults: header byte 13 set (C6, malformed) and 65535 signature records declared (C7, limit). C6 comes first: malformed.",
            patched(&|v| {
                v[13] = 1;
                build::put_u16(v, 14, u16::MAX);
            }),
            "malformed",
        ),
        (
            "limit-order-signature-count-before-body-length-zero",
            "Two faults: 65535 signature records declared (C7, limit) and body_len 0 (C8, malformed). C7 comes first: limit.",
            patched(&|v| {
                build::put_u16(v, 14, u16::MAX);
                build::put_u64(v, 16, 0);
            }),
            "limit",
        ),
        (
            "malformed-order-body-length-zero-before-payload-limit",
            "Two faults: body_len 0 (C8, malformed) and payload_len 2^62 (C11, limit). C8 comes first: malformed.",
            patched(&|v| {
                build::put_u64(v, 16, 0);
                build::put_u64(v, 32, 1 << 62);
            }),
            "malformed",
        ),
        (
            "limit-order-body-limit-before-non-package-lengths",
            "Two faults: body_len 2^40 (C9, limit) and file type 2 (trust root) with non-zero index and payload lengths (C10, malformed). C9 comes first: limit.",
            patched(&|v| {
                v[12] = 2;
                build::put_u64(v, 16, 1 << 40);
            }),
            "limit",
        ),
        (
            "malformed-order-non-package-lengths-before-payload-limit",
            "Two faults: file type 2 (trust root) with non-zero index and payload lengths (C10, malformed) and payload_len 2^62 (C11, limit). C10 comes first: malformed.",
            patched(&|v| {
                v[12] = 2;
                build::put_u64(v, 32, 1 << 62);
            }),
            "malformed",
        ),
        (
            "limit-order-index-limit-before-signature-record",
            "Two faults: index_len 40 x (2^20 + 1) (C11, limit) and reserved bytes 2-3 of the signature record set (C14, malformed). C11 comes first: limit.",
            patched(&|v| {
                build::put_u64(v, 24, 40 * ((1 << 20) + 1));
                v[42] = 1;
            }),
            "limit",
        ),
        (
            "malformed-order-signature-record-before-signature",
            "Two faults: reserved bytes 2-3 of the signature record set (C14, malformed) and its signature damaged (VP2, signature). C14 comes first: malformed.",
            patched(&|v| {
                v[42] = 1;
                v[40 + 36] ^= 0x01;
            }),
            "malformed",
        ),
    ];
    for (name, description, bytes, expect) in cases {
        g.add(Case::package(name, description, bytes).expect(expect));
    }

    // Signatures before the body is decoded.
    let mut body = b.body.clone();
    body.push(0);
    g.add(
        Case::package(
            "signature-order-signature-before-decode",
            "Two faults: signed by a key in no trust root (VP2, signature) and a manifest with a trailing byte (VP3, malformed). VP2 comes first: signature.",
            build::package(&[&g.stranger], &body, &b.index, &b.payload),
        )
        .expect("signature"),
    );
    g.add(
        Case::package(
            "signature-order-signature-before-lengths",
            "Two faults: signed by a key in no trust root (VP2, signature) and a header payload_len one more than the manifest implies, the file one byte longer to match (VP8, malformed). VP2 comes first: signature.",
            payload_len_plus_one(&b.file(&[&g.stranger])),
        )
        .expect("signature"),
    );
}

/// VP5, VP8, the policy in order, then payloads and the end of the input.
fn package(g: &mut Gen) {
    let hp = g.small("hotpatch").build();
    g.add(
        Case::package(
            "signature-order-role-before-lengths",
            "Two faults: a hotpatch signed by the release key only (VP5, signature) and a header payload_len one more than the manifest implies (VP8, malformed). VP5 comes first: signature.",
            payload_len_plus_one(&hp.file(&[&g.keys.release])),
        )
        .expect("signature"),
    );
    let rec = g.small("recovery").build();
    g.add(
        Case::package(
            "signature-order-role-before-policy",
            "Two faults: a recovery package signed by the release key only (VP5, signature) and, under the online profile, kind-not-allowed (VP9, policy). VP5 comes first: signature.",
            rec.file(&[&g.keys.release]),
        )
        .expect("signature"),
    );

    let crit = g
        .small("baseline")
        .with_extension(EXT_PRIVATE_START + 2, true, b"must understand")
        .build();
    let crit_file = g.signed(&crit);
    g.add(
        Case::package(
            "malformed-order-lengths-before-unknown-critical-extension",
            "Two faults: a header payload_len one more than the manifest implies (VP8, malformed) and an unknown critical extension (VP9 Y2, policy). VP8 comes first: malformed.",
            payload_len_plus_one(&crit_file),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-order-lengths-before-unknown-critical-extension-no-device",
            "Two faults, without a device profile: a header payload_len one more than the manifest implies (VP8, malformed) and an unknown critical extension (VP9 Y2, policy). VP8 comes first: malformed.",
            payload_len_plus_one(&crit_file),
        )
        .no_device()
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-order-lengths-before-kind-not-allowed",
            "Two faults: a header payload_len one more than the manifest implies (VP8, malformed) and a recovery package under the online profile (VP9 Y1, policy). VP8 comes first: malformed.",
            payload_len_plus_one(&g.signed(&rec)),
        )
        .expect("malformed"),
    );
    let b = g.small("baseline").build();
    let good = g.signed(&b);
    g.add(
        Case::package(
            "malformed-order-lengths-before-expired",
            "Two faults: a header payload_len one more than the manifest implies (VP8, malformed) and expired at T0 + 90 days, judged at T0 + 100 days (VP9 Y8, policy). VP8 comes first: malformed.",
            payload_len_plus_one(&good),
        )
        .time(T0 + 100 * DAY)
        .expect("malformed"),
    );

    // The policy, Y1 to Y13 in order.
    let mut spec = g.small("recovery");
    spec.manifest.extensions = vec![critical()];
    let rec_crit = spec.build();
    g.add(
        Case::package(
            "policy-order-kind-not-allowed-before-unknown-critical-extension",
            "Two faults: a recovery package under the online profile (Y1, kind-not-allowed) with an unknown critical extension (Y2). Y1 comes first: kind-not-allowed.",
            g.signed(&rec_crit),
        )
        .expect("policy:kind-not-allowed"),
    );
    let linux = g.device(
        "online-linux.toml",
        &Device {
            os: "linux",
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-order-unknown-critical-extension-before-wrong-os",
            "Two faults: an unknown critical extension (Y2) and a windows package on a linux device (Y3, wrong-os). Y2 comes first: unknown-critical-extension.",
            crit_file.clone(),
        )
        .device(&linux)
        .expect("policy:unknown-critical-extension"),
    );
    g.add(
        Case::package(
            "policy-order-unknown-critical-extension-before-expired-no-device",
            "Two faults, without a device profile: an unknown critical extension (Y2) and expired at T0 + 90 days, judged at T0 + 100 days (Y8). Y2 comes first: unknown-critical-extension.",
            crit_file,
        )
        .no_device()
        .time(T0 + 100 * DAY)
        .expect("policy:unknown-critical-extension"),
    );
    let linux_arm = g.device(
        "online-linux-arm64.toml",
        &Device {
            os: "linux",
            architecture: "arm64",
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-order-wrong-os-before-wrong-architecture",
            "Two faults: a windows x64 package on a linux arm64 device: wrong-os (Y3) and wrong-architecture (Y4). Y3 comes first: wrong-os.",
            good.clone(),
        )
        .device(&linux_arm)
        .expect("policy:wrong-os"),
    );
    g.add(
        Case::package(
            "policy-order-expired-before-below-security-floor",
            "Two faults: expired at T0 + 90 days, judged at T0 + 100 days (Y8) and security version 10 below the device's floor 20 (Y10). Y8 comes first: expired.",
            good.clone(),
        )
        .device("online-floor-20.toml")
        .time(T0 + 100 * DAY)
        .expect("policy:expired"),
    );
    let hp_file = g.signed(&hp);
    let revoked_other = g.device(
        "online-revoked-other-baseline.toml",
        &Device {
            installed_baseline: Some(hpk_format::Digest([0x42; 32])),
            revoked: vec![hp.digest()],
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-order-revoked-before-wrong-baseline",
            "Two faults: a hotpatch the device knows to be revoked (Y11) whose baseline is not the installed one (Y12, wrong-baseline). Y11 comes first: revoked.",
            hp_file.clone(),
        )
        .device(&revoked_other)
        .expect("policy:revoked"),
    );
    let other_newer = g.device(
        "online-other-baseline-hotpatch-2.toml",
        &Device {
            installed_baseline: Some(hpk_format::Digest([0x42; 32])),
            installed_hotpatch_sequence: 2,
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-order-wrong-baseline-before-sequence-not-newer",
            "Two faults: a hotpatch (sequence 1) for a baseline other than the installed one (Y12, wrong-baseline), on a device with hotpatch 2 installed (Y13, sequence-not-newer). Y12 comes first: wrong-baseline.",
            hp_file,
        )
        .device(&other_newer)
        .expect("policy:wrong-baseline"),
    );

    // The policy before any payload byte; payloads before the end.
    let mut damaged = g.baseline_file();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    g.add(
        Case::package(
            "policy-order-wrong-architecture-before-damaged-payload",
            "Two faults: an x64 package on an arm64 device (VP9 Y4, wrong-architecture) whose last stored byte is changed (VP11, integrity). The policy comes before any payload byte: wrong-architecture.",
            damaged,
        )
        .device("online-arm64.toml")
        .expect("policy:wrong-architecture"),
    );
    let mut truncated = good.clone();
    truncated.pop();
    g.add(
        Case::package(
            "policy-order-expired-before-truncated-payload",
            "Two faults: expired at T0 + 90 days, judged at T0 + 100 days (VP9 Y8) and the last byte of the payload area missing (C16, malformed). The policy comes before the file length and the payloads: expired.",
            truncated,
        )
        .time(T0 + 100 * DAY)
        .expect("policy:expired"),
    );
    let mut trailing = good.clone();
    trailing.push(0);
    g.add(
        Case::package(
            "policy-order-wrong-architecture-before-trailing-byte",
            "Two faults: an x64 package on an arm64 device (VP9 Y4, wrong-architecture) and a byte after the payload area (C16, malformed). The policy comes before the file length: wrong-architecture.",
            trailing,
        )
        .device("online-arm64.toml")
        .expect("policy:wrong-architecture"),
    );
    let mut cut = b.file(&[&g.stranger]);
    cut.truncate(b.index_offset(1) - 1);
    g.add(
        Case::package(
            "malformed-order-truncated-body-before-signature",
            "Two faults: the file ends one byte before the end of the body (C15, malformed) and is signed by a key in no trust root (VP2, signature). C15 comes first: malformed.",
            cut,
        )
        .expect("malformed"),
    );
}

/// VT3 before VT4 before VT5 before VT6; VR2 before VR4 before VR6.
fn roots(g: &mut Gen) {
    let weak = with_weak_release_key(standard_root(&g.keys));
    let mut weak_crit = weak.clone();
    weak_crit.extensions = vec![critical()];
    g.add(
        Case::trust_root(
            "unsupported-order-trust-root-extension-before-weak-key",
            "Two faults: an unknown critical extension (VT3, unsupported) and a small-order release key (VT4, malformed). VT3 comes first: unsupported.",
            g.root_bytes(&weak_crit, &[&g.keys.root]),
        )
        .expect("unsupported"),
    );
    g.add(
        Case::trust_root(
            "malformed-order-trust-root-weak-key-before-signature",
            "Two faults: a small-order release key (VT4, malformed) and no signature (VT5, signature). VT4 comes first: malformed.",
            g.root_bytes(&weak, &[]),
        )
        .expect("malformed"),
    );
    g.add(
        Case::trust_root(
            "signature-order-trust-root-signature-before-expired",
            "Two faults: the standard root signed by the release key, not its root key (VT5, signature), judged at T0 + 400 days, after it expired (VT6, policy). VT5 comes first: signature.",
            g.root_bytes(&standard_root(&g.keys), &[&g.keys.release]),
        )
        .time(T0 + 400 * DAY)
        .expect("signature"),
    );

    let (k1, k2, k3) = (
        TestKey::from_seed(1),
        TestKey::from_seed(11),
        TestKey::from_seed(12),
    );
    assert_eq!(k2.public(), g.root_v2.public());
    let v3 = rotated(g, 3, &k3, T0 + 20 * DAY, T0 + 500 * DAY);
    g.add(
        Case::trust_root(
            "signature-order-rotation-old-keys-before-version",
            "Two faults: from v1 straight to a v3 signed by the v3 root key only: not signed by the trusted v1 root keys (VR2, signature), and not the next version (VR4, policy). VR2 comes first: signature.",
            g.root_bytes(&v3, &[&k3]),
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("signature"),
    );
    g.add(
        Case::trust_root(
            "policy-order-rotation-version-before-own-signature",
            "Two faults: from v1 straight to a v3 signed by the v1 root key only: not the next version (VR4, wrong-version) and not signed by its own root key (VR6, signature). VR4 comes first: wrong-version.",
            g.root_bytes(&v3, &[&k1]),
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("policy:wrong-version"),
    );
    let v2 = rotated(g, 2, &k2, T0 + 10 * DAY, T0 + 400 * DAY);
    let mut v2_bad = with_weak_release_key(v2);
    v2_bad.extensions = vec![critical()];
    g.add(
        Case::trust_root(
            "unsupported-order-rotation-extension-before-weak-key",
            "Two faults: a v2 (signed by the v1 and v2 root keys) with an unknown critical extension (VR5 VT3, unsupported) and a small-order release key (VR5 VT4, malformed). VT3 comes first: unsupported.",
            g.root_bytes(&v2_bad, &[&k1, &k2]),
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("unsupported"),
    );
    let v2_short = rotated(g, 2, &k2, T0 + 10 * DAY, T0 + 20 * DAY);
    g.add(
        Case::trust_root(
            "signature-order-rotation-signature-before-expired",
            "Two faults: a v2 that expired at T0 + 20 days, judged at T0 + 30 days (VR7 VT6, policy), signed by the v2 root key only (VR2, signature). VR2 comes first: signature.",
            g.root_bytes(&v2_short, &[&k2]),
        )
        .root(STANDARD_ROOT)
        .time(T0 + 30 * DAY)
        .expect("signature"),
    );
    // VR7: the time of the last root only. Not a fault: a chain whose
    // middle root has expired is accepted.
    let short_name = g.root_file(
        "rotation-v2-expired.hpkroot",
        g.root_bytes(&v2_short, &[&k1, &k2]),
    );
    g.add(
        Case::trust_root(
            "valid-trust-root-rotation-through-expired-middle-root",
            "From v1 through a v2 that expired at T0 + 20 days to a v3 (signed by the v2 and v3 root keys), judged at T0 + 30 days: only the last root's time is judged (VR7).",
            g.root_bytes(&v3, &[&k2, &k3]),
        )
        .root(STANDARD_ROOT)
        .chain(&[&short_name])
        .time(T0 + 30 * DAY),
    );
}

/// VC2 before VC4 before VC5 before VC6.
fn catalogs(g: &mut Gen) {
    let catalog = Catalog {
        version: 5,
        created: T0,
        expires: T0 + 7 * DAY,
        entries: vec![entry(&g.baseline, &g.baseline_file())],
        extensions: Vec::new(),
    };
    let signed = |c: &Catalog, key: &TestKey| {
        build::metadata(FileType::Catalog, &[key], &build::encode_valid(c))
    };
    g.add(
        Case::catalog(
            "signature-order-catalog-signature-before-rollback",
            "Two faults: catalog version 5 signed by the release key (VC2, signature) when version 9 was seen (VC5, rollback). VC2 comes first: signature.",
            signed(&catalog, &g.keys.release),
        )
        .last_seen(9)
        .expect("signature"),
    );
    let mut crit = catalog.clone();
    crit.extensions = vec![critical()];
    g.add(
        Case::catalog(
            "unsupported-order-catalog-extension-before-rollback",
            "Two faults: an unknown critical extension (VC4, unsupported) in catalog version 5 when version 9 was seen (VC5, rollback). VC4 comes first: unsupported.",
            signed(&crit, &g.keys.catalog),
        )
        .last_seen(9)
        .expect("unsupported"),
    );
    g.add(
        Case::catalog(
            "policy-order-catalog-rollback-before-expired",
            "Two faults: catalog version 5 when version 9 was seen (VC5, rollback), expired at T0 + 7 days, judged at T0 + 30 days (VC6, expired). VC5 comes first: rollback.",
            signed(&catalog, &g.keys.catalog),
        )
        .last_seen(9)
        .time(T0 + 30 * DAY)
        .expect("policy:rollback"),
    );
}
