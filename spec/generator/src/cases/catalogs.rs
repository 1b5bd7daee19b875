//! Catalogs: signed by the catalog role, fresh, never older than the last
//! one seen.

use super::{Case, Gen, STANDARD_ROOT};
use crate::build;
use hpk_format::{Catalog, CatalogEntry, EXT_PRIVATE_START, Extension, FileType};
use hpk_tests::{BuiltPackage, DAY, T0, catalog_entry};

/// The catalog entry of `built` signed into `file`, at
/// `packages/NAME-VERSION.hpk`.
pub(super) fn entry(built: &BuiltPackage, file: &[u8]) -> CatalogEntry {
    let m = &built.manifest;
    catalog_entry(
        built,
        file,
        &format!("packages/{}-{}.hpk", m.name, m.version),
    )
}

pub fn add(g: &mut Gen) {
    let hp = g.small("hotpatch").build();
    let catalog = Catalog {
        version: 5,
        created: T0,
        expires: T0 + 7 * DAY,
        entries: vec![
            entry(&g.baseline, &g.baseline_file()),
            entry(&hp, &g.signed(&hp)),
        ],
        extensions: Vec::new(),
    };
    let signed = |g: &Gen, c: &Catalog| {
        build::metadata(
            FileType::Catalog,
            &[&g.keys.catalog],
            &build::encode_valid(c),
        )
    };
    let unchecked = |g: &Gen, c: &Catalog| {
        build::metadata(FileType::Catalog, &[&g.keys.catalog], &build::wire(c))
    };
    let good = signed(g, &catalog);

    g.add(Case::catalog(
        "valid-catalog",
        "Catalog version 5 offering the reference baseline and a hotpatch on it, signed by the catalog key; nothing seen before.",
        good.clone(),
    ));
    g.add(
        Case::catalog(
            "valid-catalog-last-seen-equal",
            "The same catalog when version 5 was already seen: the same version is accepted again.",
            good.clone(),
        )
        .last_seen(5),
    );
    let mut ext = catalog.clone();
    ext.extensions = vec![Extension {
        id: EXT_PRIVATE_START + 1,
        critical: false,
        data: b"ignored".to_vec(),
    }];
    g.add(Case::catalog(
        "valid-catalog-unknown-noncritical-extension",
        "A catalog with an unknown non-critical extension: ignored.",
        signed(g, &ext),
    ));

    let body = build::encode_valid(&catalog);
    g.add(
        Case::catalog(
            "signature-catalog-signed-by-release-key",
            "The catalog signed by the release key instead of a catalog key.",
            build::metadata(FileType::Catalog, &[&g.keys.release], &body),
        )
        .expect("signature"),
    );
    g.add(
        Case::catalog(
            "signature-catalog-unsigned",
            "The catalog with no signature.",
            build::metadata(FileType::Catalog, &[], &body),
        )
        .expect("signature"),
    );
    let mut tampered = good.clone();
    // The body starts with the catalog version: 5 becomes 6 after signing.
    tampered[hpk_format::HEADER_LEN + hpk_format::SIGNATURE_RECORD_LEN] = 6;
    g.add(
        Case::catalog(
            "signature-catalog-over-other-bytes",
            "The catalog's version changed from 5 to 6 after signing.",
            tampered,
        )
        .expect("signature"),
    );

    g.add(
        Case::catalog(
            "policy-catalog-expired",
            "The catalog (expires at T0 + 7 days) judged at T0 + 8 days: a frozen or replayed catalog.",
            good.clone(),
        )
        .time(T0 + 8 * DAY)
        .expect("policy:expired"),
    );
    g.add(
        Case::catalog(
            "policy-catalog-expired-at-expiry-time",
            "The catalog judged at exactly its expiry time.",
            good.clone(),
        )
        .time(T0 + 7 * DAY)
        .expect("policy:expired"),
    );
    g.add(
        Case::catalog(
            "policy-catalog-rollback",
            "Catalog version 5 when version 6 was already seen.",
            good.clone(),
        )
        .last_seen(6)
        .expect("policy:rollback"),
    );
    let mut future = catalog.clone();
    future.created = T0 + 3 * DAY;
    future.expires = T0 + 10 * DAY;
    g.add(
        Case::catalog(
            "policy-catalog-not-yet-valid",
            "A catalog created at T0 + 3 days, judged with a trusted clock at T0 + 1 day.",
            signed(g, &future),
        )
        .expect("policy:not-yet-valid"),
    );

    let mut crit = catalog.clone();
    crit.extensions = vec![Extension {
        id: EXT_PRIVATE_START + 2,
        critical: true,
        data: b"must understand".to_vec(),
    }];
    g.add(
        Case::catalog(
            "unsupported-catalog-unknown-critical-extension",
            "A catalog with an unknown critical extension (id 0x80000002).",
            signed(g, &crit),
        )
        .expect("unsupported"),
    );

    let mut dup = catalog.clone();
    dup.entries.push(dup.entries[0].clone());
    g.add(
        Case::catalog(
            "malformed-catalog-duplicate-entry",
            "The baseline listed twice (same manifest digest).",
            unchecked(g, &dup),
        )
        .expect("malformed"),
    );
    let mut empty = catalog.clone();
    empty.entries[0].location = String::new();
    g.add(
        Case::catalog(
            "malformed-catalog-empty-location",
            "An entry with an empty location.",
            unchecked(g, &empty),
        )
        .expect("malformed"),
    );
    let mut zero = catalog.clone();
    zero.version = 0;
    g.add(
        Case::catalog(
            "malformed-catalog-version-zero",
            "Catalog version 0: versions start at 1.",
            unchecked(g, &zero),
        )
        .expect("malformed"),
    );
    let mut body = body.clone();
    body.push(0);
    g.add(
        Case::catalog(
            "malformed-catalog-trailing-byte",
            "A valid catalog body followed by one byte 00, signed.",
            build::metadata(FileType::Catalog, &[&g.keys.catalog], &body),
        )
        .expect("malformed"),
    );
    g.add(
        Case::catalog(
            "malformed-catalog-wrong-file-type",
            "A valid trust root given where a catalog is expected.",
            g.files_get(&format!("roots/{STANDARD_ROOT}")),
        )
        .expect("malformed"),
    );
}
