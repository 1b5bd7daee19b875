//! The container: header, signature records, section lengths,
//! truncation in each section, trailing bytes.

use super::{Case, Check, Gen, STANDARD_ROOT};
use crate::build;
use hpk_format::{HEADER_LEN, SIGNATURE_RECORD_LEN};

pub fn add(g: &mut Gen) {
    let b = g.small("baseline").build();
    let good = g.signed(&b);
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };

    g.add(
        Case::package(
            "malformed-header-bad-magic",
            "The first byte of the magic is 0x88 instead of 0x89.",
            patched(&|v| v[0] = 0x88),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-header-magic-crlf-to-lf",
            "The magic's CR LF became LF, as a text-mode transfer does (the whole file shifts by one byte).",
            patched(&|v| {
                v.remove(4);
            }),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package("malformed-header-empty-file", "An empty file.", Vec::new())
            .expect("malformed"),
    );
    g.add(
        Case::package(
            "unsupported-header-major-2",
            "Major format version 2: a reader of version 1 must not interpret anything after it.",
            patched(&|v| build::put_u16(v, 8, 2)),
        )
        .expect("unsupported"),
    );
    g.add(
        Case::package(
            "unsupported-header-major-0",
            "Major format version 0.",
            patched(&|v| build::put_u16(v, 8, 0)),
        )
        .expect("unsupported"),
    );
    g.add(
        Case::package(
            "unsupported-header-unknown-file-type",
            "File type 9, which no registry entry names.",
            patched(&|v| v[12] = 9),
        )
        .expect("unsupported"),
    );
    let root_bytes = g.files_get(&format!("roots/{STANDARD_ROOT}"));
    g.add(
        Case::package(
            "malformed-header-wrong-file-type",
            "A valid trust root given where a package is expected.",
            root_bytes.clone(),
        )
        .expect("malformed"),
    );
    g.add(
        Case::trust_root(
            "malformed-trust-root-is-a-package",
            "A valid package given where a trust root is expected.",
            good.clone(),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-header-reserved-byte",
            "Header byte 13 (reserved) is 1.",
            patched(&|v| v[13] = 1),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-header-body-length-zero",
            "The header declares an empty body.",
            patched(&|v| build::put_u64(v, 16, 0)),
        )
        .expect("malformed"),
    );
    let mut with_payload = root_bytes.clone();
    build::put_u64(&mut with_payload, 32, 1);
    with_payload.push(0);
    g.add(
        Case::trust_root(
            "malformed-trust-root-with-payload-area",
            "A trust root whose header declares a 1-byte payload area (and has it): only packages have payloads.",
            with_payload,
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-signature-record-reserved-bytes",
            "Bytes 2-3 of the signature record (reserved) are 01 00.",
            patched(&|v| v[HEADER_LEN + 2] = 1),
        )
        .expect("malformed"),
    );

    // Truncation in each section.
    let body_at = HEADER_LEN + SIGNATURE_RECORD_LEN;
    let index_at = b.index_offset(1);
    let payload_at = b.payload_offset(1);
    assert!(!b.index.is_empty() && !b.payload.is_empty());
    for (name, what, cut, check) in [
        (
            "malformed-truncated-header",
            "The file ends after 20 bytes, inside the header.",
            20,
            Check::Header,
        ),
        (
            "malformed-truncated-signature-block",
            "The file ends 50 bytes into the signature record.",
            HEADER_LEN + 50,
            Check::Header,
        ),
        (
            "malformed-truncated-body",
            "The file ends in the middle of the manifest.",
            body_at + b.body.len() / 2,
            Check::Header,
        ),
        (
            "malformed-truncated-chunk-index",
            "The file ends 20 bytes into the chunk-index section.",
            index_at + 20,
            Check::Full,
        ),
        (
            "malformed-truncated-payload-area",
            "The file ends one byte before the end of the payload area.",
            good.len() - 1,
            Check::Full,
        ),
    ] {
        g.add(
            Case::package(name, what, good[..cut].to_vec())
                .expect("malformed")
                .check(check),
        );
    }
    assert!(payload_at < good.len());

    g.add(
        Case::package(
            "malformed-trailing-bytes",
            "One byte (00) after the end of the payload area.",
            patched(&|v| v.push(0)),
        )
        .expect("malformed")
        .check(Check::Full),
    );
    let mut root_trailing = root_bytes;
    root_trailing.push(0);
    g.add(
        Case::trust_root(
            "malformed-trust-root-trailing-bytes",
            "A trust root file with one byte after its body.",
            root_trailing,
        )
        .expect("malformed"),
    );

    // Section lengths that disagree with the signed manifest; the file
    // length still matches the header.
    g.add(
        Case::package(
            "malformed-header-index-length-mismatch",
            "The header declares one more chunk-index entry (40 bytes) than the manifest implies, and the file has 40 more bytes.",
            patched(&|v| {
                build::put_u64(v, 24, b.index.len() as u64 + 40);
                v.extend_from_slice(&[0; 40]);
            }),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-header-payload-length-mismatch",
            "The header declares one more payload byte than the manifest implies, and the file has one more byte.",
            patched(&|v| {
                build::put_u64(v, 32, b.payload.len() as u64 + 1);
                v.push(0);
            }),
        )
        .expect("malformed"),
    );
}
