//! Packages fetched for a catalog entry (VF1–VF5): what a server sent,
//! judged against the entry's size and manifest digest before the package
//! is verified on its own.

use super::{Case, Check, Gen};
use hpk_format::FileType;

pub fn add(g: &mut Gen) {
    let built = g.small("baseline").build();
    let file = g.signed(&built);
    let size = file.len() as u64;
    let digest = built.digest();

    g.add(
        Case::fetched(
            "valid-fetched-package",
            "A signed baseline fetched for an entry with its exact size and manifest digest.",
            file.clone(),
            size,
            digest,
        )
        .payloads(&built.manifest),
    );
    let mut longer = file.clone();
    longer.extend_from_slice(&[0x5a; 100]);
    g.add(
        Case::fetched(
            "valid-fetched-bytes-after-entry-size-never-read",
            "The server sent the package followed by 100 more bytes: only the entry's size is read (VF1), so what follows is never seen.",
            longer,
            size,
            digest,
        )
        .payloads(&built.manifest),
    );
    g.add(
        Case::fetched(
            "integrity-fetched-size-mismatch",
            "The entry says one byte more than the package's header declares (VF2).",
            file.clone(),
            size + 1,
            digest,
        )
        .expect("integrity"),
    );
    g.add(
        Case::fetched(
            "malformed-fetched-head-beyond-entry-size",
            "The entry's size ends inside the package's body: the head does not fit in the bytes read (VF2).",
            file.clone(),
            100,
            digest,
        )
        .expect("malformed"),
    );
    g.add(
        Case::fetched(
            "malformed-fetched-truncated-payload",
            "The server sent one byte less than the entry's size, which the header declares too: the input ends inside the payload area (VF4, VP14).",
            file[..file.len() - 1].to_vec(),
            size,
            digest,
        )
        .check(Check::Full)
        .expect("malformed"),
    );

    // Another package of exactly the same size: only the digest tells it
    // from the one the entry names.
    let other = hpk_tests::PackageSpec::baseline("small-baseline")
        .with_payload("readme.txt", b"hpk conformance test vectoR\n".to_vec())
        .build();
    let other_file = g.signed(&other);
    assert_eq!(other_file.len(), file.len(), "same-size packages");
    g.add(
        Case::fetched(
            "integrity-fetched-digest-mismatch",
            "A valid package of exactly the entry's size, but another one: its manifest digest is not the entry's (VF3).",
            other_file,
            size,
            digest,
        )
        .expect("integrity"),
    );
    let unsigned = built.file(&[]);
    let unsigned_size = unsigned.len() as u64;
    g.add(
        Case::fetched(
            "signature-fetched-unsigned",
            "The entry names this package exactly, but it carries no signature: an entry never stands in for the package's own signatures (VF4).",
            unsigned.clone(),
            unsigned_size,
            digest,
        )
        .expect("signature"),
    );
    let wrong = g.keys.catalog.record(FileType::Package, &built.body);
    g.add(
        Case::fetched(
            "integrity-fetched-order-digest-before-signature",
            "Two faults: the package is another one (manifest digest, VF3) and it is signed by the catalog key only (VP2); the digest is compared first.",
            other.file_with(&[wrong]),
            size,
            digest,
        )
        .expect("integrity"),
    );
}
