//! Every way a container or metadata body can be refused, each with its
//! specific error variant and class.
// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use hpk_format::{
    BaselineInfo, Catalog, Compression, ContainerError, ContainerView, DecodeError, Digest,
    ErrorClass, Extension, FileType, HEADER_LEN, Header, HotpatchInfo, KeyId, Limits, Link, MAGIC,
    MAX_BODY_LEN, MAX_LOCATION_LEN, Manifest, PackageKind, PatchedModule, Section, SignatureRecord,
    TrustRoot, decode, encode, encode_head, expect_end, read_head,
};
use std::io::{self, Read};

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

fn record(key: u8) -> SignatureRecord {
    SignatureRecord {
        algorithm: 1,
        key_id: KeyId([key; 32]),
        signature: [key; 64],
    }
}

/// A package file: 2 signatures, a manifest body, 80 index bytes and 100
/// payload bytes (the sections need not make sense for the container layer).
fn package_file() -> Vec<u8> {
    let body = encode(&standard_manifest(), &Limits::default()).unwrap();
    let mut file = encode_head(FileType::Package, &[record(1), record(2)], &body, 80, 100).unwrap();
    file.extend_from_slice(&random_bytes(1, 180));
    file
}

fn view(bytes: &[u8]) -> Result<(), ContainerError> {
    ContainerView::parse(bytes, FileType::Package, &Limits::default()).map(|_| ())
}

fn head(bytes: &[u8]) -> Result<(), ContainerError> {
    read_head(&mut &bytes[..], FileType::Package, &Limits::default()).map(|_| ())
}

fn header_bytes(h: &Header) -> [u8; HEADER_LEN] {
    h.to_bytes()
}

fn pkg_header() -> Header {
    Header {
        minor: 0,
        file_type: FileType::Package,
        signature_count: 1,
        body_len: 100,
        index_len: 40,
        payload_len: 1000,
    }
}

fn parse(bytes: &[u8; HEADER_LEN], limits: &Limits) -> Result<Header, ContainerError> {
    Header::parse(bytes, limits)
}

/// Asserts the result is an error matching `pat` with class `class`, via
/// every container entry point given.
macro_rules! assert_container_err {
    ($result:expr, $pat:pat $(if $guard:expr)?, $class:expr) => {{
        match $result {
            Err(e) => {
                assert!(matches!(e, $pat $(if $guard)?), "unexpected error {e:?}");
                assert_eq!(e.class(), $class, "class of {e:?}");
                assert!(!e.to_string().is_empty());
            }
            Ok(_) => panic!("accepted"),
        }
    }};
}

macro_rules! assert_decode_err {
    ($result:expr, $pat:pat $(if $guard:expr)?, $class:expr) => {{
        match $result {
            Err(e) => {
                assert!(matches!(e, $pat $(if $guard)?), "unexpected error {e:?}");
                assert_eq!(e.class(), $class, "class of {e:?}");
            }
            Ok(v) => panic!("accepted {v:?}"),
        }
    }};
}

// ---------------------------------------------------------------------------
// The fixed header.
// ---------------------------------------------------------------------------

/// The magic under the transfer accidents it was designed to reveal; each
/// transformation is applied to a whole file, then the header is parsed.
#[test]
fn bad_magic_with_text_mode_hints() {
    let file = package_file();
    let first_40 = |bytes: Vec<u8>| -> [u8; HEADER_LEN] { bytes[..HEADER_LEN].try_into().unwrap() };

    let seven_bit: Vec<u8> = file.iter().map(|b| b & 0x7f).collect();
    let crlf_to_lf = {
        let mut out = Vec::new();
        let mut i = 0;
        while i < file.len() {
            if file[i] == b'\r' && file.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            out.push(file[i]);
            i += 1;
        }
        out
    };
    // unix2dos: only a bare LF becomes CR LF.
    let bare_lf_to_crlf = {
        let mut out = Vec::new();
        for (i, b) in file.iter().enumerate() {
            if *b == b'\n' && (i == 0 || file[i - 1] != b'\r') {
                out.push(b'\r');
            }
            out.push(*b);
        }
        out
    };
    // A naive converter: every LF becomes CR LF.
    let every_lf_to_crlf = {
        let mut out = Vec::new();
        for b in &file {
            if *b == b'\n' {
                out.push(b'\r');
            }
            out.push(*b);
        }
        out
    };
    for (damaged, expect) in [
        (seven_bit, "7-bit"),
        (crlf_to_lf, "text mode"),
        (bare_lf_to_crlf, "text mode"),
        (every_lf_to_crlf, "text mode"),
    ] {
        let h = first_40(damaged.clone());
        match parse(&h, &Limits::default()) {
            Err(ContainerError::BadMagic { hint: Some(hint) }) => {
                assert!(hint.contains(expect), "{hint:?} should mention {expect}")
            }
            other => panic!("{:02x?}: {other:?}", &h[..8]),
        }
        assert_container_err!(
            view(&damaged),
            ContainerError::BadMagic { hint: Some(_) },
            ErrorClass::Malformed
        );
        assert_container_err!(
            head(&damaged),
            ContainerError::BadMagic { hint: Some(_) },
            ErrorClass::Malformed
        );
    }
    // Not an hpk file at all: no hint.
    for magic in [
        [0u8; 8],
        *b"\x89PNG\r\n\x1a\n",
        *b"PK\x03\x04\0\0\0\0",
        *b"\x89HPX\r\n\x1a\n",
    ] {
        let mut h = header_bytes(&pkg_header());
        h[..8].copy_from_slice(&magic);
        assert_container_err!(
            parse(&h, &Limits::default()),
            ContainerError::BadMagic { hint: None },
            ErrorClass::Malformed
        );
    }
    // Damage elsewhere in the magic still gets a hint that it is damaged.
    let mut h = header_bytes(&pkg_header());
    h[7] = b'X';
    assert_container_err!(
        parse(&h, &Limits::default()),
        ContainerError::BadMagic { hint: Some(_) },
        ErrorClass::Malformed
    );
    assert_eq!(MAGIC, *b"\x89HPK\r\n\x1a\n");
}

#[test]
fn unknown_major_versions_are_refused() {
    for major in [0u16, 2, 0x0100, u16::MAX] {
        let mut h = header_bytes(&pkg_header());
        h[8..10].copy_from_slice(&major.to_le_bytes());
        h[10..12].copy_from_slice(&3u16.to_le_bytes());
        assert_container_err!(
            parse(&h, &Limits::default()),
            ContainerError::UnsupportedVersion { major: m, minor: 3 } if m == major,
            ErrorClass::Unsupported
        );
        let mut file = package_file();
        file[8..10].copy_from_slice(&major.to_le_bytes());
        assert_container_err!(
            view(&file),
            ContainerError::UnsupportedVersion { .. },
            ErrorClass::Unsupported
        );
    }
}

#[test]
fn unknown_file_types_are_refused() {
    for t in [0u8, 4, 0x81, 255] {
        let mut file = package_file();
        file[12] = t;
        let h: [u8; HEADER_LEN] = file[..HEADER_LEN].try_into().unwrap();
        assert_container_err!(
            parse(&h, &Limits::default()),
            ContainerError::UnknownFileType(x) if x == t,
            ErrorClass::Unsupported
        );
        assert_container_err!(
            view(&file),
            ContainerError::UnknownFileType(_),
            ErrorClass::Unsupported
        );
        assert_container_err!(
            head(&file),
            ContainerError::UnknownFileType(_),
            ErrorClass::Unsupported
        );
    }
}

#[test]
fn wrong_file_types_are_refused() {
    let file = package_file();
    for expected in [FileType::TrustRoot, FileType::Catalog] {
        assert_container_err!(
            ContainerView::parse(&file, expected, &Limits::default()),
            ContainerError::WrongFileType { expected: e, found: FileType::Package } if e == expected,
            ErrorClass::Malformed
        );
        assert_container_err!(
            read_head(&mut &file[..], expected, &Limits::default()),
            ContainerError::WrongFileType {
                found: FileType::Package,
                ..
            },
            ErrorClass::Malformed
        );
    }
    let body = encode(&sample_trust_root(), &Limits::default()).unwrap();
    let root = encode_head(FileType::TrustRoot, &[], &body, 0, 0).unwrap();
    assert_container_err!(
        view(&root),
        ContainerError::WrongFileType {
            expected: FileType::Package,
            found: FileType::TrustRoot
        },
        ErrorClass::Malformed
    );
}

#[test]
fn reserved_header_byte_must_be_zero() {
    for v in [1u8, 0x80, 0xff] {
        let mut file = package_file();
        file[13] = v;
        assert_container_err!(
            view(&file),
            ContainerError::ReservedNotZero { .. },
            ErrorClass::Malformed
        );
        assert_container_err!(
            head(&file),
            ContainerError::ReservedNotZero { .. },
            ErrorClass::Malformed
        );
    }
}

#[test]
fn reserved_signature_record_bytes_must_be_zero() {
    // Bytes 2 and 3 of the first and of the second record.
    for at in [
        HEADER_LEN + 2,
        HEADER_LEN + 3,
        HEADER_LEN + 100 + 2,
        HEADER_LEN + 100 + 3,
    ] {
        let mut file = package_file();
        file[at] = 1;
        assert_container_err!(
            view(&file),
            ContainerError::ReservedNotZero { .. },
            ErrorClass::Malformed
        );
        assert_container_err!(
            head(&file),
            ContainerError::ReservedNotZero { .. },
            ErrorClass::Malformed
        );
        let rec: [u8; 100] = file[HEADER_LEN + (at - HEADER_LEN) / 100 * 100..][..100]
            .try_into()
            .unwrap();
        assert_container_err!(
            SignatureRecord::parse(&rec),
            ContainerError::ReservedNotZero { .. },
            ErrorClass::Malformed
        );
    }
    // Unknown algorithms are not a container error (verifiers skip them).
    let mut file = package_file();
    file[HEADER_LEN..HEADER_LEN + 2].copy_from_slice(&999u16.to_le_bytes());
    view(&file).unwrap();
    // A block that is not a whole number of records.
    assert_container_err!(
        SignatureRecord::parse_block(&[0; 150]),
        ContainerError::Malformed { .. },
        ErrorClass::Malformed
    );
}

#[test]
fn section_lengths_over_limits_are_refused() {
    let lim = Limits::default();
    let cases = [
        (
            Header {
                signature_count: 33,
                ..pkg_header()
            },
            "signature count",
        ),
        (
            Header {
                body_len: (32 << 20) + 1,
                ..pkg_header()
            },
            "body length",
        ),
        (
            Header {
                index_len: (1 << 20) * 40 + 1,
                ..pkg_header()
            },
            "chunk index length",
        ),
        (
            Header {
                payload_len: (64 << 30) + 1,
                ..pkg_header()
            },
            "payload area length",
        ),
    ];
    for (h, what) in cases {
        match parse(&h.to_bytes(), &lim) {
            Err(ContainerError::Limit(l)) => {
                assert_eq!(l.what, what);
                assert!(l.value > l.max);
            }
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(
            parse(&h.to_bytes(), &lim).unwrap_err().class(),
            ErrorClass::Limit
        );
    }
    // Exactly at each limit is accepted.
    parse(
        &Header {
            signature_count: 32,
            body_len: 32 << 20,
            index_len: (1 << 20) * 40,
            payload_len: 64 << 30,
            ..pkg_header()
        }
        .to_bytes(),
        &lim,
    )
    .unwrap();

    // Local limits lower than the defaults.
    let tight = Limits {
        max_signatures: 1,
        max_body_len: 99,
        ..Limits::default()
    };
    assert_container_err!(
        parse(&pkg_header().to_bytes(), &tight),
        ContainerError::Limit(_),
        ErrorClass::Limit
    );
    assert_container_err!(
        parse(
            &Header {
                signature_count: 2,
                body_len: 10,
                ..pkg_header()
            }
            .to_bytes(),
            &tight
        ),
        ContainerError::Limit(_),
        ErrorClass::Limit
    );

    // No local limit lifts the body over the format's maximum.
    let unlimited = Limits {
        max_body_len: u64::MAX,
        max_chunks: u64::MAX,
        max_total_size: u64::MAX,
        ..Limits::default()
    };
    match parse(
        &Header {
            body_len: MAX_BODY_LEN + 1,
            ..pkg_header()
        }
        .to_bytes(),
        &unlimited,
    ) {
        Err(ContainerError::Limit(l)) => assert_eq!(l.max, MAX_BODY_LEN),
        other => panic!("{other:?}"),
    }

    // An empty body, and sections a trust root or catalog cannot have.
    assert_container_err!(
        parse(
            &Header {
                body_len: 0,
                ..pkg_header()
            }
            .to_bytes(),
            &lim
        ),
        ContainerError::Malformed { .. },
        ErrorClass::Malformed
    );
    for ft in [FileType::TrustRoot, FileType::Catalog] {
        for (index_len, payload_len) in [(40, 0), (0, 1)] {
            assert_container_err!(
                parse(
                    &Header {
                        file_type: ft,
                        index_len,
                        payload_len,
                        ..pkg_header()
                    }
                    .to_bytes(),
                    &lim
                ),
                ContainerError::Malformed { .. },
                ErrorClass::Malformed
            );
        }
    }
}

#[test]
fn section_lengths_that_overflow_are_refused() {
    let unlimited = Limits {
        max_chunks: u64::MAX,
        max_total_size: u64::MAX,
        ..Limits::default()
    };
    for (index_len, payload_len) in [
        (0, u64::MAX),
        (0, u64::MAX - 40 - 100 - 100 + 1),
        (u64::MAX - 100, 0),
        (u64::MAX / 2 + 1, u64::MAX / 2 + 1),
    ] {
        let h = Header {
            index_len,
            payload_len,
            ..pkg_header()
        };
        assert_container_err!(
            parse(&h.to_bytes(), &unlimited),
            ContainerError::Malformed { .. },
            ErrorClass::Malformed
        );
        assert_container_err!(
            h.layout(),
            ContainerError::Malformed { .. },
            ErrorClass::Malformed
        );
    }
    // The largest layout that fits ends exactly at u64::MAX.
    let h = Header {
        index_len: 0,
        payload_len: u64::MAX - 40 - 100 - 100,
        ..pkg_header()
    };
    assert_eq!(
        parse(&h.to_bytes(), &unlimited)
            .unwrap()
            .layout()
            .unwrap()
            .end,
        u64::MAX
    );
    // The body can overflow on its own (layout is public).
    let h = Header {
        body_len: u64::MAX,
        ..pkg_header()
    };
    assert!(matches!(h.layout(), Err(ContainerError::Malformed { .. })));
    // encode_head refuses what it could not lay out.
    assert!(encode_head(FileType::Package, &[], b"x", u64::MAX, 1).is_err());
}

/// A reader that counts what was taken from it.
struct Counting<'a> {
    inner: &'a [u8],
    taken: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken += n;
        Ok(n)
    }
}

#[test]
fn a_bad_header_stops_reading_after_the_header() {
    let mut file = package_file();
    file[13] = 1;
    let mut input = Counting {
        inner: &file,
        taken: 0,
    };
    assert!(read_head(&mut input, FileType::Package, &Limits::default()).is_err());
    assert_eq!(input.taken, HEADER_LEN);
}

// ---------------------------------------------------------------------------
// Truncation and trailing bytes.
// ---------------------------------------------------------------------------

#[test]
fn truncation_is_reported_in_the_right_section() {
    let file = package_file();
    let h = Header::parse(&file[..HEADER_LEN].try_into().unwrap(), &Limits::default()).unwrap();
    let body_start = HEADER_LEN + 200;
    let index_start = body_start + h.body_len as usize;
    let payload_start = index_start + 80;
    assert_eq!(file.len(), payload_start + 100);
    for cut in 0..file.len() {
        let expected = if cut < HEADER_LEN {
            Section::Header
        } else if cut < body_start {
            Section::SignatureBlock
        } else if cut < index_start {
            Section::Body
        } else if cut < payload_start {
            Section::ChunkIndex
        } else {
            Section::PayloadArea
        };
        match view(&file[..cut]) {
            Err(ContainerError::Truncated { section }) => {
                assert_eq!(section, expected, "cut at {cut}")
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
        let streamed = head(&file[..cut]);
        if cut < index_start {
            match streamed {
                Err(e @ ContainerError::Truncated { section }) => {
                    assert_eq!(section, expected, "cut at {cut}");
                    assert_eq!(e.class(), ErrorClass::Malformed);
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        } else {
            // The head is complete; the rest is the caller's to read.
            streamed.unwrap();
        }
    }
    view(&file).unwrap();
}

#[test]
fn truncated_sections_are_named_as_before_in_messages() {
    // Messages and JSON output show these names: they must not change.
    for (section, name) in [
        (Section::Header, "header"),
        (Section::SignatureBlock, "signature block"),
        (Section::Body, "body"),
        (Section::ChunkIndex, "chunk-index section"),
        (Section::PayloadArea, "payload area"),
    ] {
        assert_eq!(section.as_str(), name);
        assert_eq!(section.to_string(), name);
        assert_eq!(
            ContainerError::Truncated { section }.to_string(),
            format!("file is truncated: it ends inside the {name}")
        );
    }
}

#[test]
fn trailing_bytes_are_refused() {
    for extra in [&[0u8][..], b"x", &[0; 1000]] {
        let mut file = package_file();
        file.extend_from_slice(extra);
        assert_container_err!(
            view(&file),
            ContainerError::TrailingBytes,
            ErrorClass::Malformed
        );
    }
    let body = encode(&sample_catalog(), &Limits::default()).unwrap();
    let mut cat = encode_head(FileType::Catalog, &[], &body, 0, 0).unwrap();
    ContainerView::parse(&cat, FileType::Catalog, &Limits::default()).unwrap();
    cat.push(0);
    assert_container_err!(
        ContainerView::parse(&cat, FileType::Catalog, &Limits::default()),
        ContainerError::TrailingBytes,
        ErrorClass::Malformed
    );

    // Streaming: the caller reads everything it expects, then expect_end.
    let file = package_file();
    let mut with_tail = file.clone();
    with_tail.push(7);
    let mut input = &with_tail[..];
    read_head(&mut input, FileType::Package, &Limits::default()).unwrap();
    let mut rest = vec![0u8; 180];
    input.read_exact(&mut rest).unwrap();
    assert_container_err!(
        expect_end(&mut input),
        ContainerError::TrailingBytes,
        ErrorClass::Malformed
    );
    let mut input = &file[file.len() - 1..];
    assert_container_err!(
        expect_end(&mut input),
        ContainerError::TrailingBytes,
        ErrorClass::Malformed
    );
    expect_end(&mut input).unwrap();
    expect_end(&mut io::empty()).unwrap();
}

/// A reader that is interrupted once, then fails or ends.
struct Flaky(u8, bool);

impl Read for Flaky {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0 += 1;
        match (self.0, self.1) {
            (1, _) => Err(io::ErrorKind::Interrupted.into()),
            (_, true) => Err(io::Error::other("broken")),
            (_, false) => Ok(0),
        }
    }
}

#[test]
fn expect_end_retries_interrupts_and_reports_io_errors() {
    expect_end(&mut Flaky(0, false)).unwrap();
    assert_container_err!(
        expect_end(&mut Flaky(0, true)),
        ContainerError::Io(_),
        ErrorClass::Io
    );
    assert_container_err!(
        read_head(&mut Flaky(0, true), FileType::Package, &Limits::default()),
        ContainerError::Io(_),
        ErrorClass::Io
    );
}

// ---------------------------------------------------------------------------
// Non-canonical and invalid metadata encodings.
// ---------------------------------------------------------------------------

fn dec(bytes: &[u8]) -> Result<Manifest, DecodeError> {
    decode::<Manifest>(bytes, &Limits::default())
}

#[test]
fn the_sample_encodings_decode() {
    // The baseline for every damage below: the undamaged bytes are fine.
    for kind in all_kinds() {
        let m = sample_manifest(kind);
        assert_eq!(dec(&enc_manifest(&m).buf).unwrap(), m);
    }
}

#[test]
fn out_of_range_bytes_are_malformed() {
    let hotpatch = sample_manifest(all_kinds().remove(1));
    let e = enc_manifest(&hotpatch);
    let m = standard_manifest();
    let s = enc_manifest(&m);
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    for v in [2u8, 0x80, 0xff] {
        let mut b = s.buf.clone();
        b[s.at("restart_required")] = v;
        cases.push(("bool", b));
        let mut b = s.buf.clone();
        b[s.at("expires")] = v;
        cases.push(("option tag", b));
        let mut b = s.buf.clone();
        b[s.at("extension_critical")] = v;
        cases.push(("extension critical", b));
    }
    for (field, tag) in [
        ("kind", 4u32),
        ("kind", u32::MAX),
        ("channel", 2),
        ("compression", 2),
    ] {
        let mut b = s.buf.clone();
        put_u32(&mut b, s.at(field), tag);
        cases.push((field, b));
    }
    // A kind tag whose data does not follow.
    let mut b = e.buf.clone();
    put_u32(&mut b, e.at("kind"), 0);
    cases.push(("hotpatch data read as baseline", b));
    // Invalid UTF-8 in a string.
    cases.push((
        "utf-8",
        splice_string(&s.buf, s.at("payload_name"), b"a\xff"),
    ));
    for (what, bytes) in cases {
        assert_decode_err!(
            dec(&bytes),
            DecodeError::Malformed { .. },
            ErrorClass::Malformed
        );
        let _ = what;
    }
}

#[test]
fn trailing_and_missing_bytes_are_refused() {
    let m = standard_manifest();
    let mut b = enc_manifest(&m).buf;
    for extra in [1u64, 2, 100] {
        let mut t = b.clone();
        t.extend(std::iter::repeat_n(0, extra as usize));
        assert_decode_err!(
            dec(&t),
            DecodeError::TrailingBytes { extra: x } if x == extra,
            ErrorClass::Malformed
        );
    }
    b.pop();
    assert_decode_err!(
        dec(&b),
        DecodeError::Malformed { .. },
        ErrorClass::Malformed
    );
    assert_decode_err!(
        dec(&[]),
        DecodeError::Malformed { .. },
        ErrorClass::Malformed
    );
    // The same for trust roots and catalogs.
    let mut r = enc_trust_root(&sample_trust_root()).buf;
    r.push(0);
    assert_decode_err!(
        decode::<TrustRoot>(&r, &Limits::default()),
        DecodeError::TrailingBytes { extra: 1 },
        ErrorClass::Malformed
    );
    let mut c = enc_catalog(&sample_catalog()).buf;
    c.push(0);
    assert_decode_err!(
        decode::<Catalog>(&c, &Limits::default()),
        DecodeError::TrailingBytes { extra: 1 },
        ErrorClass::Malformed
    );
}

#[test]
fn bad_names_in_an_encoded_manifest_are_refused() {
    let hotpatch = sample_manifest(all_kinds().remove(1));
    let e = enc_manifest(&hotpatch);
    for bad in [
        &b"../x"[..],
        b"a/../b",
        b"..",
        b".",
        b"./a",
        b"a\\b",
        b"C:x",
        b"c:\\windows",
        b"/abs",
        b"a//b",
        b"a/",
        b"",
        b"a\0b",
        b"a\nb",
        b"file.txt:stream",
        b"a*b",
        b"a?b",
        b"a<b",
        b"a>b",
        b"a|b",
        b"a\"b",
        b"dir./x",
        b"x/dir ",
        b"CON",
        b"x/nul.txt",
        b"com1",
        b"LPT9.log",
        b"com0",
        b"lpt0.txt",
        b"CONIN$",
        // Printable ASCII only: no Unicode, so no normalization or case
        // mapping to disagree on.
        "\u{e9}t\u{e9}".as_bytes(),
        "e\u{301}".as_bytes(),
        "\u{17f}".as_bytes(),
        "\u{131}".as_bytes(),
        "COM\u{b9}.txt".as_bytes(),
        b"a\x7fb",
    ] {
        for at in ["payload_name", "modules"] {
            let at = if at == "modules" {
                e.at("modules") + 8 // the first module's path
            } else {
                e.at(at)
            };
            let bytes = splice_string(&e.buf, at, bad);
            assert_decode_err!(
                dec(&bytes),
                DecodeError::Malformed { .. },
                ErrorClass::Malformed
            );
        }
    }
    let too_deep = vec!["d"; 33].join("/");
    let too_long = vec!["a".repeat(200); 6].join("/");
    let component_too_long = "a".repeat(256);
    let inner_too_long = format!("d/{}/f", "a".repeat(256));
    for bad in [
        too_deep.as_bytes(),
        too_long.as_bytes(),
        component_too_long.as_bytes(),
        inner_too_long.as_bytes(),
    ] {
        let bytes = splice_string(&e.buf, e.at("payload_name"), bad);
        assert_decode_err!(
            dec(&bytes),
            DecodeError::Malformed { .. },
            ErrorClass::Malformed
        );
    }
    // The limits are inclusive (upper case: sorts before the second name).
    let deep = vec!["D"; 32].join("/");
    let long = format!(
        "{}/{}/A",
        vec!["A".repeat(255); 3].join("/"),
        "A".repeat(254)
    );
    assert_eq!(long.len(), 1024);
    let component = "A".repeat(255);
    for good in [deep.as_bytes(), long.as_bytes(), component.as_bytes()] {
        let bytes = splice_string(&e.buf, e.at("payload_name"), good);
        dec(&bytes).unwrap();
    }
    // Tokens and package names.
    for (at, bad) in [
        ("os", &b"Windows"[..]),
        ("os", b""),
        ("os", b"-x"),
        ("os", b"a b"),
        ("name", b"a/b"),
        ("name", b""),
        ("name", &[b'a'; 129]),
    ] {
        let bytes = splice_string(&e.buf, e.at(at), bad);
        assert_decode_err!(
            dec(&bytes),
            DecodeError::Malformed { .. },
            ErrorClass::Malformed
        );
    }
    // Versions: 1 to 8 parts.
    let m = standard_manifest();
    let s = enc_manifest(&m);
    let v = s.at("version");
    let old_len = 8 + 4 * m.version.parts().len();
    for parts in [0usize, 9] {
        let mut bytes = s.buf[..v].to_vec();
        bytes.extend_from_slice(&(parts as u64).to_le_bytes());
        bytes.extend(std::iter::repeat_n(1u8, 4 * parts));
        bytes.extend_from_slice(&s.buf[v + old_len..]);
        assert_decode_err!(
            dec(&bytes),
            DecodeError::Malformed { .. },
            ErrorClass::Malformed
        );
    }
}

/// Hand-encodes an invalid manifest and checks that both `decode` and
/// `encode` refuse it with the expected field.
fn assert_invalid_manifest(m: &Manifest, field: &str) {
    let bytes = enc_manifest(m).buf;
    match dec(&bytes) {
        Err(e @ DecodeError::Invalid { field: f, .. }) => {
            assert_eq!(f, field, "{e}");
            assert_eq!(e.class(), ErrorClass::Malformed);
        }
        other => panic!("{field}: {other:?}"),
    }
    match encode(m, &Limits::default()) {
        Err(DecodeError::Invalid { field: f, .. }) => assert_eq!(f, field),
        other => panic!("encode {field}: {other:?}"),
    }
}

fn assert_limit_manifest(m: &Manifest, limits: &Limits, what: &str) {
    let bytes = enc_manifest(m).buf;
    match decode::<Manifest>(&bytes, limits) {
        Err(e @ DecodeError::Limit(_)) => {
            assert_eq!(e.class(), ErrorClass::Limit);
            let DecodeError::Limit(l) = e else {
                unreachable!()
            };
            assert_eq!(l.what, what);
        }
        other => panic!("{what}: {other:?}"),
    }
    assert!(matches!(encode(m, limits), Err(DecodeError::Limit(_))));
}

#[test]
fn unsorted_or_repeated_lists_are_invalid() {
    let base = standard_manifest();
    let mut m = base.clone();
    m.targets.architectures = vec![tok("x64"), tok("arm64")];
    assert_invalid_manifest(&m, "architectures");
    m.targets.architectures = vec![tok("x64"), tok("x64")];
    assert_invalid_manifest(&m, "architectures");
    m.targets.architectures = vec![];
    assert_invalid_manifest(&m, "architectures");

    let mut m = base.clone();
    m.targets.editions = vec![tok("pro"), tok("home")];
    assert_invalid_manifest(&m, "editions");
    let mut m = base.clone();
    m.targets.capabilities = vec![tok("vbs"), tok("vbs")];
    assert_invalid_manifest(&m, "capabilities");

    let mut m = base.clone();
    m.payloads.reverse();
    assert_invalid_manifest(&m, "payloads");
    let mut m = base.clone();
    m.payloads[1].name = m.payloads[0].name.clone();
    assert_invalid_manifest(&m, "payloads");

    let mut m = base.clone();
    m.extensions = vec![
        Extension {
            id: 5,
            critical: false,
            data: vec![],
        },
        Extension {
            id: 2,
            critical: false,
            data: vec![],
        },
    ];
    assert_invalid_manifest(&m, "extensions");
    m.extensions[1].id = 5;
    assert_invalid_manifest(&m, "extensions");
    m.extensions = vec![Extension {
        id: 0,
        critical: false,
        data: vec![],
    }];
    assert_invalid_manifest(&m, "extensions");

    let PackageKind::Baseline(b) = all_kinds().remove(0) else {
        unreachable!()
    };
    let mut m = sample_manifest(PackageKind::Baseline(BaselineInfo {
        revoked_hotpatches: vec![b.revoked_hotpatches[1], b.revoked_hotpatches[0]],
        ..b.clone()
    }));
    assert_invalid_manifest(&m, "revoked_hotpatches");
    m.kind = PackageKind::Baseline(BaselineInfo {
        revoked_hotpatches: vec![Digest([1; 32]), Digest([1; 32])],
        ..b
    });
    assert_invalid_manifest(&m, "revoked_hotpatches");

    let PackageKind::Hotpatch(mut h) = all_kinds().remove(1) else {
        unreachable!()
    };
    h.modules.reverse();
    assert_invalid_manifest(
        &sample_manifest(PackageKind::Hotpatch(h.clone())),
        "modules",
    );
    h.modules[0] = PatchedModule {
        path: h.modules[1].path.clone(),
        digest_before: Digest([0; 32]),
    };
    assert_invalid_manifest(&sample_manifest(PackageKind::Hotpatch(h)), "modules");
}

#[test]
fn inconsistent_payload_descriptors_are_invalid() {
    let base = standard_manifest();
    let field = "payload descriptor";
    let with = |f: &dyn Fn(&mut hpk_format::PayloadDescriptor)| {
        let mut m = base.clone();
        f(&mut m.payloads[0]);
        m
    };
    // payloads[0] is raw, 10,000 bytes in 4 KiB chunks: 3 chunks.
    assert_eq!(base.payloads[0].chunk_count, 3);
    for count in [0, 2, 4, u64::MAX] {
        assert_invalid_manifest(&with(&|p| p.chunk_count = count), field);
    }
    assert_invalid_manifest(&with(&|p| p.stored_size = 9_999), field);
    assert_invalid_manifest(&with(&|p| p.stored_size = 10_001), field);
    assert_invalid_manifest(
        &with(&|p| {
            p.compression = Compression::Zstd;
            p.stored_size = 10_001;
        }),
        field,
    );
    assert_invalid_manifest(
        &with(&|p| {
            p.compression = Compression::Zstd;
            p.stored_size = 0;
        }),
        field,
    );
    assert_invalid_manifest(
        &with(&|p| {
            p.chunk_size = 4095;
            p.chunk_count = 3;
        }),
        field,
    );
    assert_invalid_manifest(
        &with(&|p| {
            p.chunk_size = 0;
            p.chunk_count = 0;
        }),
        field,
    );
    // An empty payload has no chunk and no stored byte.
    let empty = with(&|p| {
        p.size = 0;
        p.stored_size = 0;
        p.chunk_count = 0;
    });
    dec(&enc_manifest(&empty).buf).unwrap();
    assert_invalid_manifest(
        &with(&|p| {
            p.size = 0;
            p.stored_size = 0;
            p.chunk_count = 1;
        }),
        field,
    );
    // A chunk size over the local limit.
    let big = with(&|p| {
        p.chunk_size = 1 << 20;
        p.chunk_count = 1;
    });
    dec(&enc_manifest(&big).buf).unwrap();
    assert_limit_manifest(
        &big,
        &Limits {
            max_chunk_size: (1 << 20) - 1,
            ..Limits::default()
        },
        "chunk size",
    );
    let huge = with(&|p| {
        p.chunk_size = hpk_format::MAX_CHUNK_SIZE + 1;
        p.chunk_count = 1;
    });
    assert_limit_manifest(
        &huge,
        &Limits {
            max_chunk_size: u32::MAX,
            ..Limits::default()
        },
        "chunk size",
    );
}

#[test]
fn kind_rules_are_enforced() {
    let kinds = all_kinds();
    let mut m = sample_manifest(kinds[0].clone());
    m.restart_required = false;
    assert_invalid_manifest(&m, "restart_required");
    let mut m = sample_manifest(kinds[1].clone());
    m.restart_required = true;
    assert_invalid_manifest(&m, "restart_required");
    let PackageKind::Hotpatch(h) = kinds[1].clone() else {
        unreachable!()
    };
    let m = sample_manifest(PackageKind::Hotpatch(HotpatchInfo { sequence: 0, ..h }));
    assert_invalid_manifest(&m, "sequence");
    let mut m = sample_manifest(PackageKind::Baseline(BaselineInfo {
        revoked_hotpatches: vec![],
        security_floor: 8,
    }));
    assert_eq!(m.security_version, 7);
    assert_invalid_manifest(&m, "security_floor");
    m.security_version = 8;
    dec(&enc_manifest(&m).buf).unwrap();
    // A standard update always needs a restart; a recovery package may or
    // may not.
    let mut m = sample_manifest(PackageKind::Standard);
    m.restart_required = false;
    assert_invalid_manifest(&m, "restart_required");
    for restart in [false, true] {
        let mut m = sample_manifest(PackageKind::Recovery);
        m.restart_required = restart;
        dec(&enc_manifest(&m).buf).unwrap();
    }
}

#[test]
fn entry_names_must_not_collide() {
    let base = standard_manifest();
    // Two payloads: one name, or one a folder of the other.
    for (a, b) in [("lib", "lib/x.so"), ("a/b", "a/b/c")] {
        let mut m = base.clone();
        m.payloads[0].name = pname(a);
        m.payloads[1].name = pname(b);
        m.payloads.sort_by(|x, y| x.name.cmp(&y.name));
        assert_invalid_manifest(&m, "payloads");
    }
    // Across payloads, links and folders (N9, N10): a link named like a
    // payload, an entry inside a link, an entry inside a listed folder.
    let link = |name: &str| Link {
        name: pname(name),
        target: pname("x"),
    };
    let mut m = base.clone();
    m.links = vec![link("System32/a.dll")];
    assert_invalid_manifest(&m, "payloads");
    let mut m = base.clone();
    m.links = vec![link("System32")];
    assert_invalid_manifest(&m, "payloads");
    let mut m = base.clone();
    m.folders = vec![pname("System32")];
    assert_invalid_manifest(&m, "payloads");
    let mut m = base.clone();
    m.folders = vec![pname("Temp")];
    m.links = vec![link("Temp")];
    assert_invalid_manifest(&m, "payloads");
    // Names that differ only by case are distinct (a Linux tree has
    // them); so are shared folders and mere prefixes.
    for (a, b) in [
        ("System32/A.dll", "System32/a.dll"),
        ("Dir/x", "dir/x"),
        ("Lib", "lib/x.so"),
        ("a/b", "a/c"),
        ("lib", "libx/y"),
        ("a/b.txt", "a/b/c"),
    ] {
        let mut m = base.clone();
        m.payloads[0].name = pname(a);
        m.payloads[1].name = pname(b);
        m.payloads.sort_by(|x, y| x.name.cmp(&y.name));
        m.links.clear();
        dec(&enc_manifest(&m).buf).unwrap();
    }
}

#[test]
fn expiry_must_follow_creation() {
    let mut m = standard_manifest();
    for expires in [m.created, m.created - 1, 0] {
        m.expires = Some(expires);
        assert_invalid_manifest(&m, "expires");
    }
    m.expires = Some(m.created + 1);
    dec(&enc_manifest(&m).buf).unwrap();
}

#[test]
fn manifest_counts_over_limits_are_refused() {
    let m = standard_manifest();
    assert_limit_manifest(
        &m,
        &Limits {
            max_payloads: 1,
            ..Limits::default()
        },
        "entry count (payloads, links and folders)",
    );
    // 3 + 3 chunks.
    assert_limit_manifest(
        &m,
        &Limits {
            max_chunks: 5,
            ..Limits::default()
        },
        "total chunk count",
    );
    assert_limit_manifest(
        &m,
        &Limits {
            max_total_size: 18_999,
            ..Limits::default()
        },
        "total payload size",
    );
    assert_limit_manifest(
        &m,
        &Limits {
            max_list_len: 1,
            ..Limits::default()
        },
        "architecture count",
    );
    // At the limits: accepted.
    // Two payloads, a link and an empty folder: four entries.
    let at = Limits {
        max_payloads: 4,
        max_chunks: 6,
        max_total_size: 19_000,
        max_list_len: 2,
        ..Limits::default()
    };
    decode::<Manifest>(&enc_manifest(&m).buf, &at).unwrap();
    let mut m = sample_manifest(all_kinds().remove(1));
    m.targets.architectures.truncate(1);
    m.targets.editions.truncate(1);
    assert_limit_manifest(
        &m,
        &Limits {
            max_list_len: 1,
            ..Limits::default()
        },
        "patched module count",
    );
}

#[test]
fn invalid_trust_roots_are_refused() {
    let base = sample_trust_root();
    let check = |r: &TrustRoot, field: &str| {
        match decode::<TrustRoot>(&enc_trust_root(r).buf, &Limits::default()) {
            Err(e @ DecodeError::Invalid { field: f, .. }) => {
                assert_eq!(f, field, "{e}");
                assert_eq!(e.class(), ErrorClass::Malformed);
            }
            other => panic!("{field}: {other:?}"),
        }
        assert!(encode(r, &Limits::default()).is_err());
    };
    let mut r = base.clone();
    r.version = 0;
    check(&r, "version");
    let mut r = base.clone();
    r.expires = r.created;
    check(&r, "expires");
    let mut r = base.clone();
    r.keys.reverse();
    check(&r, "keys");
    let mut r = base.clone();
    r.keys[1] = r.keys[0];
    check(&r, "keys");
    let mut r = base.clone();
    r.keys[0].algorithm = 2;
    check(&r, "keys");
    let mut r = base.clone();
    r.roles.recovery.as_mut().expect("role").threshold = 0;
    check(&r, "threshold");
    let mut r = base.clone();
    r.roles.root.threshold = 4;
    check(&r, "threshold");
    let mut r = base.clone();
    r.roles.catalog.as_mut().expect("role").keys = vec![];
    check(&r, "threshold");
    let mut r = base.clone();
    r.roles.release.as_mut().expect("role").keys = vec![KeyId([0xee; 32])];
    check(&r, "role keys");
    let mut r = base.clone();
    r.roles.root.keys.reverse();
    check(&r, "role keys");
    let mut r = base.clone();
    {
        let h = r.roles.hotpatch.as_mut().expect("role");
        h.keys.push(h.keys[0])
    };
    check(&r, "role keys");
    let mut r = base;
    r.extensions = vec![Extension {
        id: 0,
        critical: true,
        data: vec![],
    }];
    check(&r, "extensions");
    // The key-count limit.
    let r = sample_trust_root();
    assert!(matches!(
        decode::<TrustRoot>(
            &enc_trust_root(&r).buf,
            &Limits {
                max_list_len: 2,
                ..Limits::default()
            }
        ),
        Err(DecodeError::Limit(_))
    ));
    // A bad algorithm tag byte is not a malformed encoding but invalid.
    let e = enc_trust_root(&sample_trust_root());
    let mut b = e.buf.clone();
    b[e.at("algorithm")] = 0;
    assert!(matches!(
        decode::<TrustRoot>(&b, &Limits::default()),
        Err(DecodeError::Invalid { field: "keys", .. })
    ));
}

#[test]
fn invalid_catalogs_are_refused() {
    let base = sample_catalog();
    let check = |c: &Catalog, field: &str| {
        match decode::<Catalog>(&enc_catalog(c).buf, &Limits::default()) {
            Err(e @ DecodeError::Invalid { field: f, .. }) => {
                assert_eq!(f, field, "{e}");
                assert_eq!(e.class(), ErrorClass::Malformed);
            }
            other => panic!("{field}: {other:?}"),
        }
        assert!(encode(c, &Limits::default()).is_err());
    };
    let mut c = base.clone();
    c.expires = c.created;
    check(&c, "expires");
    let mut c = base.clone();
    c.version = 0;
    check(&c, "version");
    let mut c = base.clone();
    c.entries[1].manifest_digest = c.entries[0].manifest_digest;
    check(&c, "entries");
    for bad in [
        String::new(),
        "a\nb".into(),
        "tab\there".into(),
        "del\u{7f}".into(),
        "c1\u{85}".into(),
        "x".repeat(MAX_LOCATION_LEN + 1),
    ] {
        let mut c = base.clone();
        c.entries[2].location = bad;
        check(&c, "location");
    }
    let mut c = base.clone();
    c.entries[0].location = "x".repeat(MAX_LOCATION_LEN);
    decode::<Catalog>(&enc_catalog(&c).buf, &Limits::default()).unwrap();
    let mut c = base.clone();
    c.entries[3].targets.architectures.clear();
    check(&c, "architectures");
    let mut c = base.clone();
    c.entries[3].targets.capabilities = vec![tok("b"), tok("a")];
    check(&c, "capabilities");
    // An entry's kind follows the manifest's rules.
    let mut c = base.clone();
    let PackageKind::Hotpatch(h) = &mut c.entries[1].kind else {
        unreachable!()
    };
    h.sequence = 0;
    check(&c, "sequence");
    let mut c = base.clone();
    let PackageKind::Baseline(b) = &mut c.entries[0].kind else {
        unreachable!()
    };
    b.revoked_hotpatches.reverse();
    check(&c, "revoked_hotpatches");
    let mut c = base.clone();
    c.entries[1].restart_required = true;
    check(&c, "restart_required");
    let mut c = base;
    c.extensions = vec![
        Extension {
            id: 3,
            critical: false,
            data: vec![],
        },
        Extension {
            id: 3,
            critical: false,
            data: vec![],
        },
    ];
    check(&c, "extensions");
}
