//! Package signatures: unsigned, unknown key, wrong role, other bytes,
//! non-canonical signatures, and threshold bypass attempts.

use super::{Case, Gen};
use crate::build;
use hpk_format::{ALG_ED25519, FileType, RoleName, SignatureRecord, signed_statement};
use hpk_tests::{DAY, T0, root_with_roles};

/// The trust root whose release role needs 2 of {release, release2};
/// returns its file name.
pub fn threshold_2_root(g: &mut Gen) -> String {
    let root = root_with_roles(
        &g.keys,
        1,
        T0 + 365 * DAY,
        &[(RoleName::Release, 2, &[&g.keys.release, &g.release2])],
    );
    let bytes = g.root_bytes(&root, &[&g.keys.root]);
    g.root_file("threshold-2.hpkroot", bytes)
}

pub fn add(g: &mut Gen) {
    let b = g.small("baseline").build();

    g.add(
        Case::package(
            "signature-unsigned",
            "A valid baseline with no signature record at all.",
            b.file(&[]),
        )
        .expect("signature"),
    );

    g.add(
        Case::package(
            "signature-unknown-key",
            "Signed only by a key the trust root does not name.",
            b.file(&[&g.stranger]),
        )
        .expect("signature"),
    );

    g.add(
        Case::package(
            "signature-wrong-role-baseline-by-hotpatch-key",
            "A baseline signed by the hotpatch key: a package-signing role, but baselines need the release role.",
            b.file(&[&g.keys.hotpatch]),
        )
        .expect("signature"),
    );

    let hp = g.small("hotpatch").build();
    g.add(
        Case::package(
            "signature-wrong-role-hotpatch-by-release-key",
            "A hotpatch signed by the release key; hotpatches need the hotpatch role.",
            hp.file(&[&g.keys.release]),
        )
        .device("online-baseline-installed.toml")
        .expect("signature"),
    );

    g.add(
        Case::package(
            "signature-wrong-role-root-key",
            "A baseline signed by the root key, which signs trust roots only.",
            b.file(&[&g.keys.root]),
        )
        .expect("signature"),
    );

    // The body changed after signing (security version 10 -> 11).
    let mut file = g.signed(&b);
    let mut tampered = b.manifest.clone();
    tampered.security_version = 11;
    let new_body = build::wire(&tampered);
    assert_eq!(new_body.len(), b.body.len());
    let at = b.index_offset(1);
    file[at - b.body.len()..at].copy_from_slice(&new_body);
    g.add(
        Case::package(
            "signature-over-other-bytes",
            "The manifest was changed after signing (security version 10 to 11): the release signature covers other bytes.",
            file,
        )
        .expect("signature"),
    );

    let other = g.small("standard").build();
    let stolen = g.keys.release.record(FileType::Package, &other.body);
    g.add(
        Case::package(
            "signature-from-other-package",
            "The release signature of another package's manifest, copied into this one.",
            b.file_with(&[stolen]),
        )
        .expect("signature"),
    );

    for (name, ft) in [
        (
            "signature-package-signed-as-trust-root",
            FileType::TrustRoot,
        ),
        ("signature-package-signed-as-catalog", FileType::Catalog),
    ] {
        let rec = g.keys.release.record(ft, &b.body);
        g.add(
            Case::package(
                name,
                &format!(
                    "The release key signed the manifest digest under the {ft} signing context instead of the package one."
                ),
                b.file_with(&[rec]),
            )
            .expect("signature"),
        );
    }

    let raw = SignatureRecord {
        algorithm: ALG_ED25519,
        key_id: g.keys.release.id(),
        signature: g
            .keys
            .release
            .sign(hpk_format::Digest::of(&b.body).as_bytes()),
    };
    g.add(
        Case::package(
            "signature-without-context",
            "The release key signed the bare manifest digest, without the signing context.",
            b.file_with(&[raw]),
        )
        .expect("signature"),
    );

    let whole_body = [FileType::Package.signing_context(), &b.body[..]].concat();
    let rec = SignatureRecord {
        algorithm: ALG_ED25519,
        key_id: g.keys.release.id(),
        signature: g.keys.release.sign(&whole_body),
    };
    g.add(
        Case::package(
            "signature-over-context-and-body",
            "The release key signed the signing context followed by the whole manifest (the message of the format's earlier draft) instead of the context followed by the manifest digest.",
            b.file_with(&[rec]),
        )
        .expect("signature"),
    );

    let rec = SignatureRecord {
        algorithm: ALG_ED25519,
        key_id: g.keys.release.id(),
        signature: g
            .keys
            .release
            .sign_with_small_order_r(&signed_statement(FileType::Package, &b.body)),
    };
    g.add(
        Case::package(
            "signature-small-order-r",
            "A release signature whose R is the identity point (small order) and S = k*a mod L: the cofactorless equation holds, so a verifier that checks only the RFC 8032 equation accepts it; S3 refuses it.",
            b.file_with(&[rec]),
        )
        .expect("signature"),
    );

    let mut rec = g.keys.release.record(FileType::Package, &b.body);
    rec.signature[10] ^= 0x01;
    g.add(
        Case::package(
            "signature-corrupted",
            "The release signature with one bit flipped.",
            b.file_with(&[rec]),
        )
        .expect("signature"),
    );

    let mut rec = g.keys.release.record(FileType::Package, &b.body);
    let s = build::add_group_order(&rec.signature[32..]);
    rec.signature[32..].copy_from_slice(&s);
    g.add(
        Case::package(
            "signature-non-canonical-s",
            "The release signature with S replaced by S + L (the group order): valid under lax verification, refused by strict RFC 8032 verification.",
            b.file_with(&[rec]),
        )
        .expect("signature"),
    );

    let mut rec = g.keys.release.record(FileType::Package, &b.body);
    rec.key_id = g.keys.hotpatch.id();
    g.add(
        Case::package(
            "signature-wrong-key-id",
            "A valid release signature labelled with the hotpatch key's id.",
            b.file_with(&[rec]),
        )
        .expect("signature"),
    );

    let t2 = threshold_2_root(g);
    let rec = g.keys.release.record(FileType::Package, &b.body);
    g.add(
        Case::package(
            "signature-duplicate-records-threshold-2",
            "Release threshold 2; the same release key's record twice: one distinct key, below the threshold.",
            b.file_with(&[rec, rec]),
        )
        .root(&t2)
        .expect("signature"),
    );

    g.add(
        Case::package(
            "signature-one-of-threshold-2",
            "Release threshold 2; signed by one release key only.",
            b.file(&[&g.keys.release]),
        )
        .root(&t2)
        .expect("signature"),
    );

    let second = SignatureRecord {
        algorithm: 2,
        key_id: g.release2.id(),
        signature: g
            .release2
            .sign(&signed_statement(FileType::Package, &b.body)),
    };
    g.add(
        Case::package(
            "signature-unknown-algorithm-not-counted",
            "Release threshold 2; a valid release signature plus a record of the second release key with unknown algorithm 2 (holding a real Ed25519 signature): that record is not counted.",
            b.file_with(&[g.keys.release.record(FileType::Package, &b.body), second]),
        )
        .root(&t2)
        .expect("signature"),
    );

    g.add(
        Case::package(
            "signature-release-and-stranger-threshold-2",
            "Release threshold 2; signed by one release key and by a key the trust root does not name.",
            b.file(&[&g.keys.release, &g.stranger]),
        )
        .root(&t2)
        .expect("signature"),
    );
}
