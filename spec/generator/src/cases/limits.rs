//! Limits: every header length and every count a manifest declares, over
//! the default limits (`spec/SPEC.md`, "Limits"). Header limits are
//! checked before anything is allocated, so those files need not hold the
//! sections they declare.

use super::{Case, Gen};
use crate::build;
use hpk_format::{
    Compression, Digest, Extension, FileType, MAX_CHUNK_SIZE, PayloadDescriptor, PayloadName,
};

/// A descriptor with no chunks in the file (for manifests rejected at
/// decoding).
fn declared(name: &str, size: u64, chunk_size: u32, stored_size: u64) -> PayloadDescriptor {
    PayloadDescriptor {
        name: PayloadName::new(name).expect("name"),
        executable: false,
        compression: Compression::Zstd,
        size,
        stored_size,
        chunk_size,
        chunk_count: size.div_ceil(u64::from(chunk_size)),
        index_digest: Digest::of(b""),
        content_digest: Digest::of(b""),
    }
}

pub fn add(g: &mut Gen) {
    let b = g.small("baseline").build();
    let good = g.signed(&b);
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };

    let rec = g.keys.release.record(FileType::Package, &b.body);
    g.add(
        Case::package(
            "limit-header-signature-count",
            "33 signature records (the same valid one repeated): over the default max_signatures of 32.",
            b.file_with(&[rec; 33]),
        )
        .expect("limit"),
    );
    g.add(
        Case::package(
            "limit-header-body-length",
            "The header declares a body of 32 MiB + 1 bytes: over the default max_body_len (the file does not hold it).",
            patched(&|v| build::put_u64(v, 16, (32 << 20) + 1)),
        )
        .expect("limit"),
    );
    g.add(
        Case::package(
            "limit-header-index-length",
            "The header declares 40 x (2^20 + 1) bytes of chunk indexes: over 40 x max_chunks.",
            patched(&|v| build::put_u64(v, 24, 40 * ((1 << 20) + 1))),
        )
        .expect("limit"),
    );
    g.add(
        Case::package(
            "limit-header-payload-length",
            "The header declares a payload area of 64 GiB + 1 bytes: over max_total_size.",
            patched(&|v| build::put_u64(v, 32, (64 << 30) + 1)),
        )
        .expect("limit"),
    );
    g.add(
        Case::package(
            "limit-header-lengths-overflow",
            "Header lengths whose sum overflows 2^64 (index 40 MiB, payload area 2^64 - 21 bytes). With the default limits the payload length is over max_total_size first; with any limits the file is refused.",
            patched(&|v| {
                build::put_u64(v, 24, 40 << 20);
                build::put_u64(v, 32, u64::MAX - 20);
            }),
        )
        .expect("limit"),
    );

    let signed_manifest = |g: &Gen, descs: Vec<PayloadDescriptor>| {
        let mut m = b.manifest.clone();
        m.payloads = descs;
        let body = build::wire(&m);
        build::package(&[&g.keys.release], &body, &[], &[])
    };

    let file = signed_manifest(g, vec![declared("big.bin", 10, MAX_CHUNK_SIZE * 2, 10)]);
    g.add(
        Case::package(
            "limit-manifest-chunk-size",
            "A payload with a 32 MiB chunk size: over max_chunk_size (16 MiB).",
            file,
        )
        .expect("limit"),
    );
    let file = signed_manifest(
        g,
        vec![declared("many.bin", ((1 << 20) + 1) * 4096, 4096, 1)],
    );
    g.add(
        Case::package(
            "limit-manifest-total-chunks",
            "A payload of 2^20 + 1 chunks of 4 KiB: over max_chunks (the sections are not in the file).",
            file,
        )
        .expect("limit"),
    );
    let file = signed_manifest(
        g,
        vec![declared("huge.bin", (64 << 30) + 1, MAX_CHUNK_SIZE, 1)],
    );
    g.add(
        Case::package(
            "limit-manifest-total-size",
            "A payload of 64 GiB + 1 bytes in 16 MiB chunks: over max_total_size.",
            file,
        )
        .expect("limit"),
    );
    let file = signed_manifest(
        g,
        vec![
            declared("a.bin", 1 << 63, MAX_CHUNK_SIZE, 1),
            declared("b.bin", 1 << 63, MAX_CHUNK_SIZE, 1),
        ],
    );
    g.add(
        Case::package(
            "limit-manifest-sizes-overflow",
            "Two payloads of 2^63 bytes each, whose sizes add up past 2^64: over the limits, never wrapped around.",
            file,
        )
        .expect("limit"),
    );
    // 2^17 + 1 empty payloads with short names: a 14 MiB manifest, within
    // the body limit, one payload over the count limit.
    let empty: Vec<PayloadDescriptor> = (0..(1u32 << 17) + 1)
        .map(|i| declared(&format!("p{i:06}"), 0, 4096, 0))
        .collect();
    let file = signed_manifest(g, empty);
    g.add(
        Case::package(
            "limit-manifest-payload-count",
            "131,073 empty payloads: over max_payloads (131,072).",
            file,
        )
        .expect("limit"),
    );
    // The real payload stays, so only the extension list is off.
    let mut m = b.manifest.clone();
    m.extensions = (1..=4097)
        .map(|id| Extension {
            id,
            critical: false,
            data: Vec::new(),
        })
        .collect();
    let body = build::wire(&m);
    let file = build::package(&[&g.keys.release], &body, &b.index, &b.payload);
    g.add(
        Case::package(
            "limit-manifest-list-length",
            "4097 non-critical extensions: a list over max_list_len (4096).",
            file,
        )
        .expect("limit"),
    );
}
