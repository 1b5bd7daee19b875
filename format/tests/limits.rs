//! Limits: huge declared lengths fail fast without allocating, and bodies
//! over the limit are refused by `decode` and by `read_head`.
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use hpk_format::{
    Catalog, ContainerError, DecodeError, ErrorClass, FileType, HEADER_LEN, Header, Limits,
    MAX_BODY_LEN, MAX_CHUNK_SIZE, Manifest, TrustRoot, decode, encode, encode_head, read_head,
};
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// Generous for a debug build on a loaded machine; an attempt to allocate
/// or to loop over 2^60 elements would take far longer (or abort).
const FAST: Duration = Duration::from_secs(2);

fn timed<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < FAST, "took {took:?}");
    out
}

#[test]
fn huge_length_prefixes_fail_fast() {
    let baseline = sample_manifest(all_kinds().remove(0));
    let b = enc_manifest(&baseline);
    let hotpatch = sample_manifest(all_kinds().remove(1));
    let h = enc_manifest(&hotpatch);
    let mut cases = Vec::new();
    for len in [1u64 << 60, u64::MAX, 1 << 32, MAX_BODY_LEN + 1] {
        for (enc, field) in [
            (&b, "name"),
            (&b, "version"),
            (&b, "revoked_hotpatches"),
            (&b, "os"),
            (&b, "architectures"),
            (&b, "editions"),
            (&b, "capabilities"),
            (&b, "payloads"),
            (&b, "payload_name"),
            (&b, "extensions"),
            (&h, "modules"),
        ] {
            let mut bytes = enc.buf.clone();
            put_u64(&mut bytes, enc.at(field), len);
            cases.push((format!("{field} = {len}"), bytes));
        }
        // The length of an extension's data (after its id and flag).
        let mut bytes = b.buf.clone();
        put_u64(&mut bytes, b.at("extension_critical") + 1, len);
        cases.push((format!("extension data = {len}"), bytes));
    }
    for (what, bytes) in cases {
        let r = timed(|| decode::<Manifest>(&bytes, &Limits::default()));
        match r {
            Err(e) => assert!(
                matches!(e.class(), ErrorClass::Malformed | ErrorClass::Limit),
                "{what}: {e:?}"
            ),
            Ok(m) => panic!("{what}: accepted {m:?}"),
        }
    }

    // The same in trust roots and catalogs.
    let r = enc_trust_root(&sample_trust_root());
    let mut bytes = r.buf.clone();
    put_u64(&mut bytes, r.at("keys"), 1 << 60);
    assert!(timed(|| decode::<TrustRoot>(&bytes, &Limits::default())).is_err());
    let c = enc_catalog(&sample_catalog());
    for field in ["entries", "location"] {
        let mut bytes = c.buf.clone();
        put_u64(&mut bytes, c.at(field), 1 << 60);
        assert!(timed(|| decode::<Catalog>(&bytes, &Limits::default())).is_err());
    }
}

#[test]
fn a_long_list_of_tiny_elements_is_bounded_by_the_list_limit() {
    // 5000 editions of one byte each: well under the body limit but over
    // the list limit.
    let mut m = standard_manifest();
    m.targets.editions = (0..5000).map(|i| tok(&format!("e{i:05}"))).collect();
    let bytes = enc_manifest(&m).buf;
    match decode::<Manifest>(&bytes, &Limits::default()) {
        Err(DecodeError::Limit(l)) => {
            assert_eq!(l.what, "edition count");
            assert_eq!((l.value, l.max), (5000, 4096));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bodies_over_the_limit_are_refused_by_decode_and_encode() {
    let m = standard_manifest();
    let bytes = enc_manifest(&m).buf;
    let len = bytes.len() as u64;
    let at = Limits {
        max_body_len: len,
        ..Limits::default()
    };
    assert_eq!(decode::<Manifest>(&bytes, &at).unwrap(), m);
    assert_eq!(encode(&m, &at).unwrap(), bytes);
    let under = Limits {
        max_body_len: len - 1,
        ..Limits::default()
    };
    match decode::<Manifest>(&bytes, &under) {
        Err(e @ DecodeError::Limit(_)) => {
            assert_eq!(e.class(), ErrorClass::Limit);
            let DecodeError::Limit(l) = e else {
                unreachable!()
            };
            assert_eq!((l.value, l.max), (len, len - 1));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(encode(&m, &under), Err(DecodeError::Limit(_))));

    // Over the hard maximum, whatever the local limit says; refused before
    // decoding (the bytes are garbage).
    let unlimited = Limits {
        max_body_len: u64::MAX,
        ..Limits::default()
    };
    assert_eq!(unlimited.body_len(), MAX_BODY_LEN);
    let big = vec![0xffu8; MAX_BODY_LEN as usize + 1];
    match timed(|| decode::<Manifest>(&big, &unlimited)) {
        Err(DecodeError::Limit(l)) => assert_eq!(l.max, MAX_BODY_LEN),
        other => panic!("{other:?}"),
    }
    match timed(|| decode::<Manifest>(&big, &Limits::default())) {
        Err(DecodeError::Limit(l)) => assert_eq!(l.max, 32 << 20),
        other => panic!("{other:?}"),
    }
}

/// An endless stream of one byte, counting what it hands out.
struct Endless {
    byte: u8,
    taken: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        buf.fill(self.byte);
        self.taken += buf.len() as u64;
        Ok(buf.len())
    }
}

#[test]
fn read_head_refuses_large_bodies_before_reading_them() {
    let body = encode(&standard_manifest(), &Limits::default()).unwrap();
    let file = encode_head(FileType::Package, &[], &body, 0, 0).unwrap();
    let tight = Limits {
        max_body_len: body.len() as u64 - 1,
        ..Limits::default()
    };
    match read_head(&mut &file[..], FileType::Package, &tight) {
        Err(e @ ContainerError::Limit(_)) => assert_eq!(e.class(), ErrorClass::Limit),
        other => panic!("{other:?}"),
    }
    // With room for it, the same file reads.
    read_head(&mut &file[..], FileType::Package, &Limits::default()).unwrap();

    // A header that declares a huge body, followed by endless data: refused
    // after the 40 header bytes, without reading or allocating the body.
    let unlimited = Limits {
        max_body_len: u64::MAX,
        ..Limits::default()
    };
    for (body_len, limits) in [
        ((32 << 20) + 1, Limits::default()),
        (MAX_BODY_LEN + 1, unlimited.clone()),
        (1 << 60, unlimited.clone()),
        (u64::MAX, unlimited),
    ] {
        let h = Header {
            minor: 0,
            file_type: FileType::Package,
            signature_count: 0,
            body_len,
            index_len: 0,
            payload_len: 0,
        };
        let mut stream = h.to_bytes().to_vec();
        stream.resize(HEADER_LEN, 0);
        let mut input = io::Cursor::new(stream).chain(Endless { byte: 0, taken: 0 });
        let r = timed(|| read_head(&mut input, FileType::Package, &limits).map(|h| h.header));
        assert!(
            matches!(r, Err(ContainerError::Limit(_))),
            "{body_len}: {r:?}"
        );
        let (_, endless) = input.into_inner();
        assert_eq!(endless.taken, 0, "read past the header");
    }
}

#[test]
fn default_limits_are_the_documented_ones() {
    let l = Limits::default();
    assert_eq!(l.max_body_len, 32 * 1024 * 1024);
    assert_eq!(l.max_signatures, 32);
    assert_eq!(l.max_payloads, 131_072);
    assert_eq!(l.max_chunk_size, 16 * 1024 * 1024);
    assert_eq!(l.max_chunks, 1_048_576);
    assert_eq!(l.max_total_size, 64 * 1024 * 1024 * 1024);
    assert_eq!(l.max_list_len, 4096);
    assert_eq!(MAX_BODY_LEN, 64 * 1024 * 1024);
    assert_eq!(MAX_CHUNK_SIZE, 16 * 1024 * 1024);
    let lifted = Limits {
        max_chunk_size: u32::MAX,
        ..Limits::default()
    };
    assert_eq!(lifted.chunk_size(), MAX_CHUNK_SIZE);
    let lowered = Limits {
        max_body_len: 10,
        max_chunk_size: 5,
        ..Limits::default()
    };
    assert_eq!((lowered.body_len(), lowered.chunk_size()), (10, 5));
}

/// A trust root as large as the default limits allow: 4096 keys, every role
/// naming all of them. Validation must stay roughly linear.
#[test]
fn a_maximal_trust_root_validates_quickly() {
    let mut keys: Vec<hpk_format::TrustedKey> = (0..4096u32)
        .map(|i| {
            let mut public_key = [0u8; 32];
            public_key[..4].copy_from_slice(&i.to_le_bytes());
            hpk_format::TrustedKey {
                algorithm: 1,
                public_key,
            }
        })
        .collect();
    keys.sort_by_key(|k| sha256(&k.public_key));
    let ids: Vec<hpk_format::KeyId> = keys
        .iter()
        .map(|k| hpk_format::KeyId(sha256(&k.public_key)))
        .collect();
    let role = hpk_format::Role {
        threshold: 4096,
        keys: ids,
    };
    let r = TrustRoot {
        version: 1,
        created: 1,
        expires: 2,
        keys,
        roles: hpk_format::Roles {
            root: role.clone(),
            release: Some(role.clone()),
            hotpatch: Some(role.clone()),
            recovery: Some(role.clone()),
            catalog: Some(role),
        },
        extensions: vec![],
    };
    let bytes = enc_trust_root(&r).buf;
    assert!(bytes.len() as u64 <= Limits::default().max_body_len);
    let start = Instant::now();
    let back = decode::<TrustRoot>(&bytes, &Limits::default()).unwrap();
    let took = start.elapsed();
    assert_eq!(back, r);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
