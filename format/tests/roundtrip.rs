//! Round trips of the metadata encoding and of the container layout.
//!
//! Expected bytes come from the hand-written encoder in `common`, never
//! from the code under test.
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use hpk_format::{
    ALG_ED25519, Canonical, Catalog, ContainerView, DecodeError, FileType, HEADER_LEN, Header,
    KeyId, Limits, MAGIC, Manifest, PackageKind, SIGNATURE_RECORD_LEN, SignatureRecord, TrustRoot,
    canonicalize_signatures, decode, encode, encode_head, encode_into, encoded_len, expect_end,
    read_head, signed_statement,
};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};
use std::fmt::Debug;
use std::io::Read;

/// encode → decode gives the value back, re-encoding gives the same bytes,
/// and the bytes are the ones the independent encoder predicts.
fn check_round_trip<T: Canonical + PartialEq + Debug>(value: &T, expected: &[u8]) {
    let limits = Limits::default();
    let bytes = encode(value, &limits).expect("valid value must encode");
    assert_eq!(bytes, expected, "encoding differs from the wire format");
    let back: T = decode(&bytes, &limits).expect("own encoding must decode");
    assert_eq!(&back, value);
    assert_eq!(encode(&back, &limits).unwrap(), bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn manifests_round_trip(m in manifest()) {
        check_round_trip(&m, &enc_manifest(&m).buf);
    }

    #[test]
    fn trust_roots_round_trip(r in trust_root()) {
        check_round_trip(&r, &enc_trust_root(&r).buf);
    }

    #[test]
    fn catalogs_round_trip(c in catalog()) {
        check_round_trip(&c, &enc_catalog(&c).buf);
    }

    /// `encode_into` hands out exactly the bytes `encode` returns, and
    /// nothing at all for a value over the limits.
    #[test]
    fn encode_into_streams_the_same_bytes(m in manifest()) {
        let limits = Limits::default();
        let bytes = encode(&m, &limits).unwrap();
        let mut streamed = Vec::new();
        let len = encode_into(&m, &limits, &mut |part| streamed.extend_from_slice(part)).unwrap();
        prop_assert_eq!(len, bytes.len() as u64);
        prop_assert_eq!(&streamed, &bytes);
        let tight = Limits {
            max_body_len: bytes.len() as u64 - 1,
            ..Limits::default()
        };
        let mut touched = false;
        let refused = encode_into(&m, &tight, &mut |_| touched = true);
        prop_assert!(matches!(refused, Err(DecodeError::Limit(_))), "{:?}", refused);
        prop_assert!(!touched);
    }

    /// `encoded_len` is the encoding's length, and a payload descriptor's
    /// width depends on its name alone: `hpk pack` relies on it to place
    /// the payload area before the digests and stored sizes are known.
    #[test]
    fn manifest_length_depends_on_payload_names_alone(m in manifest(), fill in any::<u64>()) {
        let bytes = encode(&m, &Limits::default()).unwrap();
        prop_assert_eq!(encoded_len(&m).unwrap(), bytes.len() as u64);
        let mut placeholder = m.clone();
        for p in &mut placeholder.payloads {
            p.size = fill;
            p.stored_size = fill.rotate_left(7);
            p.chunk_size = fill as u32;
            p.chunk_count = !fill;
            p.index_digest = hpk_format::Digest([fill as u8; 32]);
            p.content_digest = hpk_format::Digest([!fill as u8; 32]);
            p.compression = if fill % 2 == 0 {
                hpk_format::Compression::None
            } else {
                hpk_format::Compression::Zstd
            };
        }
        prop_assert_eq!(encoded_len(&placeholder).unwrap(), bytes.len() as u64);
    }

    /// Any strict prefix of a valid encoding is refused (never a panic, never
    /// a shorter value).
    #[test]
    fn prefixes_of_manifests_are_refused(m in manifest(), cut in any::<prop::sample::Index>()) {
        let bytes = enc_manifest(&m).buf;
        let cut = cut.index(bytes.len());
        let r = decode::<Manifest>(&bytes[..cut], &Limits::default());
        prop_assert!(matches!(r, Err(DecodeError::Malformed { .. })), "{r:?}");
    }

    #[test]
    fn headers_round_trip(
        ft in prop_oneof![Just(FileType::Package), Just(FileType::TrustRoot), Just(FileType::Catalog)],
        minor in any::<u16>(),
        signature_count in 0u16..=32,
        body_len in 1u64..=1 << 20,
        index_len in 0u64..=1 << 20,
        payload_len in 0u64..=1 << 36,
    ) {
        let (index_len, payload_len) = if ft == FileType::Package {
            (index_len, payload_len)
        } else {
            (0, 0)
        };
        let h = Header { minor, file_type: ft, signature_count, body_len, index_len, payload_len };
        let bytes = h.to_bytes();
        // The layout of the design brief, byte by byte.
        let mut expected = MAGIC.to_vec();
        expected.extend_from_slice(&1u16.to_le_bytes());
        expected.extend_from_slice(&minor.to_le_bytes());
        expected.push(ft as u8);
        expected.push(0);
        expected.extend_from_slice(&signature_count.to_le_bytes());
        expected.extend_from_slice(&body_len.to_le_bytes());
        expected.extend_from_slice(&index_len.to_le_bytes());
        expected.extend_from_slice(&payload_len.to_le_bytes());
        prop_assert_eq!(bytes.to_vec(), expected);
        prop_assert_eq!(Header::parse(&bytes, &Limits::default()).unwrap(), h);
        let layout = h.layout().unwrap();
        let body = 40 + 100 * u64::from(signature_count);
        prop_assert_eq!(layout.signatures, 40);
        prop_assert_eq!(layout.body, body);
        prop_assert_eq!(layout.index, body + body_len);
        prop_assert_eq!(layout.payload, body + body_len + index_len);
        prop_assert_eq!(layout.end, body + body_len + index_len + payload_len);
    }

    #[test]
    fn signature_records_round_trip(alg in any::<u16>(), key_id in any::<[u8; 32]>(), sig in prop::array::uniform32(any::<u8>()), sig2 in prop::array::uniform32(any::<u8>())) {
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&sig);
        signature[32..].copy_from_slice(&sig2);
        let rec = SignatureRecord { algorithm: alg, key_id: KeyId(key_id), signature };
        let bytes = rec.to_bytes();
        let mut expected = alg.to_le_bytes().to_vec();
        expected.extend_from_slice(&[0, 0]);
        expected.extend_from_slice(&key_id);
        expected.extend_from_slice(&signature);
        prop_assert_eq!(bytes.to_vec(), expected);
        prop_assert_eq!(SignatureRecord::parse(&bytes).unwrap(), rec);
    }
}

#[test]
fn every_kind_round_trips() {
    for kind in all_kinds() {
        let m = sample_manifest(kind);
        check_round_trip(&m, &enc_manifest(&m).buf);
    }
    let mut m = sample_manifest(PackageKind::Recovery);
    m.expires = None;
    m.restart_required = false;
    m.payloads.clear();
    m.extensions.clear();
    m.targets.editions.clear();
    m.targets.capabilities.clear();
    check_round_trip(&m, &enc_manifest(&m).buf);
    let r = sample_trust_root();
    check_round_trip(&r, &enc_trust_root(&r).buf);
    let c = sample_catalog();
    check_round_trip(&c, &enc_catalog(&c).buf);
}

/// A fully worked example: the bytes of a small manifest written out by
/// hand from the wire rules, without the helper encoder.
#[test]
fn a_manifest_encodes_to_the_documented_bytes() {
    let m = Manifest {
        name: hpk_format::PackageName::new("p").unwrap(),
        version: "1.2".parse().unwrap(),
        kind: PackageKind::Recovery,
        security_version: 3,
        created: 10,
        expires: Some(20),
        restart_required: true,
        targets: hpk_format::Targets {
            os: tok("linux"),
            architectures: vec![tok("x64")],
            editions: vec![],
            channel: hpk_format::Channel::Preview,
            capabilities: vec![],
        },
        payloads: vec![],
        links: Vec::new(),
        folders: Vec::new(),
        extensions: vec![],
    };
    #[rustfmt::skip]
    let expected: Vec<u8> = [
        &[1, 0, 0, 0, 0, 0, 0, 0][..], b"p",            // name
        &[2, 0, 0, 0, 0, 0, 0, 0], &[1, 0, 0, 0], &[2, 0, 0, 0], // version
        &[3, 0, 0, 0],                                    // kind: Recovery
        &[3, 0, 0, 0, 0, 0, 0, 0],                        // security_version
        &[10, 0, 0, 0, 0, 0, 0, 0],                       // created
        &[1], &[20, 0, 0, 0, 0, 0, 0, 0],                 // expires: Some(20)
        &[1],                                             // restart_required
        &[5, 0, 0, 0, 0, 0, 0, 0], b"linux",              // os
        &[1, 0, 0, 0, 0, 0, 0, 0], &[3, 0, 0, 0, 0, 0, 0, 0], b"x64",
        &[0, 0, 0, 0, 0, 0, 0, 0],                        // editions
        &[1, 0, 0, 0],                                    // channel: Preview
        &[0, 0, 0, 0, 0, 0, 0, 0],                        // capabilities
        &[0, 0, 0, 0, 0, 0, 0, 0],                        // payloads
        &[0, 0, 0, 0, 0, 0, 0, 0],                        // links
        &[0, 0, 0, 0, 0, 0, 0, 0],                        // folders
        &[0, 0, 0, 0, 0, 0, 0, 0],                        // extensions
    ]
    .concat();
    assert_eq!(encode(&m, &Limits::default()).unwrap(), expected);
    assert_eq!(enc_manifest(&m).buf, expected);
    assert_eq!(
        decode::<Manifest>(&expected, &Limits::default()).unwrap(),
        m
    );
}

fn record(key: u8, alg: u16) -> SignatureRecord {
    SignatureRecord {
        algorithm: alg,
        key_id: KeyId([key; 32]),
        signature: [key ^ 0x5a; 64],
    }
}

/// Builds a whole package: head, index section, payload area.
fn package(sigs: &[SignatureRecord], body: &[u8], index: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut file = encode_head(
        FileType::Package,
        sigs,
        body,
        index.len() as u64,
        payload.len() as u64,
    )
    .unwrap();
    file.extend_from_slice(index);
    file.extend_from_slice(payload);
    file
}

#[test]
fn containers_split_into_their_sections() {
    let body = encode(&standard_manifest(), &Limits::default()).unwrap();
    let sigs = [record(1, ALG_ED25519), record(2, 7)];
    let index = random_bytes(1, 80);
    let payload = random_bytes(2, 1000);
    let file = package(&sigs, &body, &index, &payload);
    assert_eq!(
        file.len(),
        HEADER_LEN + 2 * SIGNATURE_RECORD_LEN + body.len() + 80 + 1000
    );

    let view = ContainerView::parse(&file, FileType::Package, &Limits::default()).unwrap();
    assert_eq!(view.signatures, sigs);
    assert_eq!(view.body, &body[..]);
    assert_eq!(view.index, &index[..]);
    assert_eq!(view.payload, &payload[..]);
    assert_eq!(view.header.signature_count, 2);
    assert_eq!(view.header.minor, 0);

    // Streaming: the head, then the stream sits at the index section.
    let mut input = &file[..];
    let head = read_head(&mut input, FileType::Package, &Limits::default()).unwrap();
    assert_eq!(head.signatures, sigs);
    assert_eq!(head.body, body);
    assert_eq!(head.header, view.header);
    let mut rest = Vec::new();
    input.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, [&index[..], &payload[..]].concat());
    let mut empty: &[u8] = &[];
    expect_end(&mut empty).unwrap();

    // The signed statement is the type's context followed by SHA-256 of
    // the body.
    let mut msg = b"hpk v1 package\n".to_vec();
    msg.extend_from_slice(&Sha256::digest(&body));
    assert_eq!(head.signed_statement(), msg);
    assert_eq!(signed_statement(FileType::Package, &body), msg);
}

#[test]
fn trust_roots_and_catalogs_have_no_index_or_payload() {
    for (ft, body, context) in [
        (
            FileType::TrustRoot,
            encode(&sample_trust_root(), &Limits::default()).unwrap(),
            &b"hpk v1 trust-root\n"[..],
        ),
        (
            FileType::Catalog,
            encode(&sample_catalog(), &Limits::default()).unwrap(),
            &b"hpk v1 catalog\n"[..],
        ),
    ] {
        let file = encode_head(ft, &[record(3, 1)], &body, 0, 0).unwrap();
        let view = ContainerView::parse(&file, ft, &Limits::default()).unwrap();
        assert_eq!(view.body, &body[..]);
        assert!(view.index.is_empty() && view.payload.is_empty());
        assert_eq!(
            signed_statement(ft, &body),
            [context, &Sha256::digest(&body)[..]].concat()
        );
    }
    let r: TrustRoot = decode(
        &encode(&sample_trust_root(), &Limits::default()).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(r, sample_trust_root());
    let c: Catalog = decode(
        &encode(&sample_catalog(), &Limits::default()).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(c, sample_catalog());
}

#[test]
fn a_newer_minor_version_is_read() {
    let body = encode(&standard_manifest(), &Limits::default()).unwrap();
    let mut file = package(&[], &body, &[], &[]);
    file[10..12].copy_from_slice(&9u16.to_le_bytes());
    let view = ContainerView::parse(&file, FileType::Package, &Limits::default()).unwrap();
    assert_eq!(view.header.minor, 9);
    assert_eq!(view.body, &body[..]);
}

#[test]
fn signature_blocks_are_canonicalized() {
    let mut recs = vec![
        record(3, 1),
        record(1, 2),
        record(1, 1),
        record(3, 1),
        record(2, 1),
    ];
    canonicalize_signatures(&mut recs);
    let order: Vec<(u8, u16)> = recs.iter().map(|r| (r.key_id.0[0], r.algorithm)).collect();
    assert_eq!(order, [(1, 1), (1, 2), (2, 1), (3, 1)]);
    // Keeping the first of repeats: a different signature by the same key
    // is dropped if it comes later.
    let mut first = record(4, 1);
    first.signature = [1; 64];
    let mut second = record(4, 1);
    second.signature = [2; 64];
    let mut recs = vec![first, second];
    canonicalize_signatures(&mut recs);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].signature, [1; 64]);
}

#[test]
fn key_ids_are_sha256_of_the_public_key() {
    let k = key(7);
    assert_eq!(k.key_id(), KeyId(sha256(&[7; 32])));
    let d = hpk_format::Digest::of(b"abc");
    assert_eq!(
        d.to_hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hpk_format::Digest::from_hex(&d.to_hex().to_uppercase()),
        Some(d)
    );
    assert_eq!(hpk_format::Digest::from_hex("abc"), None);
}

#[test]
fn unknown_critical_extensions_are_found() {
    use hpk_format::{Extension, unknown_critical};
    let list = vec![
        Extension {
            id: 1,
            critical: true,
            data: vec![],
        },
        Extension {
            id: 5,
            critical: false,
            data: vec![],
        },
        Extension {
            id: 9,
            critical: true,
            data: vec![],
        },
    ];
    assert_eq!(unknown_critical(&list, &[1]).map(|e| e.id), Some(9));
    assert_eq!(unknown_critical(&list, &[1, 9]).map(|e| e.id), None);
    assert_eq!(unknown_critical(&list, &[]).map(|e| e.id), Some(1));
}

/// The worked examples of `spec/SPEC.md` ("Encoding", "Example"), copied
/// from the spec text.
#[test]
fn the_spec_examples_encode_as_written() {
    // Targets: os windows, architectures [arm64, x64], no editions, general,
    // capabilities [vbs]: 78 bytes.
    #[rustfmt::skip]
    let targets: Vec<u8> = [
        &[0x07, 0, 0, 0, 0, 0, 0, 0][..], b"windows",
        &[0x02, 0, 0, 0, 0, 0, 0, 0],
        &[0x05, 0, 0, 0, 0, 0, 0, 0], b"arm64",
        &[0x03, 0, 0, 0, 0, 0, 0, 0], b"x64",
        &[0x00, 0, 0, 0, 0, 0, 0, 0],
        &[0x00, 0, 0, 0],
        &[0x01, 0, 0, 0, 0, 0, 0, 0],
        &[0x03, 0, 0, 0, 0, 0, 0, 0], b"vbs",
    ]
    .concat();
    assert_eq!(targets.len(), 78);
    let mut m = sample_manifest(PackageKind::Recovery);
    m.targets.editions.clear();
    let bytes = encode(&m, &Limits::default()).unwrap();
    let at = enc_manifest(&m).at("os");
    assert_eq!(bytes[at..at + 78], targets[..]);

    // The header of a package with 2 signatures, a 1234-byte manifest, 80
    // bytes of chunk indexes and 5000 bytes of payload.
    #[rustfmt::skip]
    let header: [u8; 40] = [
        0x89, 0x48, 0x50, 0x4b, 0x0d, 0x0a, 0x1a, 0x0a,
        0x01, 0x00,
        0x00, 0x00,
        0x01,
        0x00,
        0x02, 0x00,
        0xd2, 0x04, 0, 0, 0, 0, 0, 0,
        0x50, 0x00, 0, 0, 0, 0, 0, 0,
        0x88, 0x13, 0, 0, 0, 0, 0, 0,
    ];
    let h = Header::parse(&header, &Limits::default()).unwrap();
    assert_eq!(
        (h.signature_count, h.body_len, h.index_len, h.payload_len),
        (2, 1234, 80, 5000)
    );
    assert_eq!(h.layout().unwrap().end, 6554);
    assert_eq!(h.to_bytes(), header);
    let head = encode_head(
        FileType::Package,
        &[record(1, 1), record(2, 1)],
        &[0; 1234],
        80,
        5000,
    )
    .unwrap();
    assert_eq!(head[..40], header);
}
