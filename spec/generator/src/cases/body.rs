//! Signed manifests that are not valid: bad encodings, non-canonical
//! forms, broken structure rules and unsafe payload names. Each one is
//! signed by the right key, so only the decoder can refuse it.

use super::{Case, Gen};
use crate::build::{self, RawPayload};
use hpk_format::{Compression, Digest, Extension, Limits, Manifest, PackageKind, PayloadName};
use hpk_sign::{ChunkingOptions, write_payload};
use hpk_tests::{PackageSpec, tok};

/// A payload written as the kit writes it (zstd, 4 KiB chunks).
pub fn payload(name: &str, data: &[u8]) -> RawPayload {
    let mut stored = Vec::new();
    let written = write_payload(
        PayloadName::new(name).expect("name"),
        data,
        &mut stored,
        &ChunkingOptions {
            chunk_size: hpk_format::MIN_CHUNK_SIZE,
            threads: 1,
            ..ChunkingOptions::default()
        },
        &Limits::default(),
        &mut |_| {},
    )
    .expect("write payload");
    RawPayload {
        descriptor: written.descriptor,
        index: written.index,
        stored,
    }
}

/// A manifest with these payloads, in this order, encoded without checks
/// and signed by the key of its kind.
fn with_payloads(g: &Gen, mut m: Manifest, payloads: &[RawPayload]) -> Vec<u8> {
    m.payloads = payloads.iter().map(|p| p.descriptor.clone()).collect();
    let index: Vec<u8> = payloads.iter().flat_map(|p| p.index.clone()).collect();
    let stored: Vec<u8> = payloads.iter().flat_map(|p| p.stored.clone()).collect();
    sign(g, &m, &build::wire(&m), &index, &stored)
}

fn sign(g: &Gen, m: &Manifest, body: &[u8], index: &[u8], stored: &[u8]) -> Vec<u8> {
    let key = match m.kind {
        PackageKind::Baseline(_) | PackageKind::Standard => &g.keys.release,
        PackageKind::Hotpatch(_) => &g.keys.hotpatch,
        PackageKind::Recovery => &g.keys.recovery,
    };
    build::package(&[key], body, index, stored)
}

pub fn add(g: &mut Gen) {
    let b = g.small("baseline").build();
    let base = b.manifest.clone();
    let resign = |g: &Gen, body: &[u8]| sign(g, &base, body, &b.index, &b.payload);
    let edited = |g: &Gen, f: &dyn Fn(&mut Manifest)| {
        let mut m = base.clone();
        f(&mut m);
        sign(g, &m, &build::wire(&m), &b.index, &b.payload)
    };

    // Encoding.
    let mut no_restart = base.clone();
    no_restart.restart_required = false;
    let at = build::first_difference(&b.body, &build::wire(&no_restart));
    let mut body = b.body.clone();
    assert_eq!(body[at], 1);
    body[at] = 2;
    g.add(
        Case::package(
            "malformed-body-bool-2",
            "restart_required is encoded as 02: a bool must be 00 or 01.",
            resign(g, &body),
        )
        .expect("malformed"),
    );

    let mut no_expiry = base.clone();
    no_expiry.expires = None;
    let at = build::first_difference(&b.body, &build::wire(&no_expiry));
    let mut body = b.body.clone();
    assert_eq!(body[at], 1);
    body[at] = 2;
    g.add(
        Case::package(
            "malformed-body-option-tag-2",
            "The option tag of expires is 02: it must be 00 (none) or 01 (some).",
            resign(g, &body),
        )
        .expect("malformed"),
    );

    let mut recovery = base.clone();
    recovery.kind = PackageKind::Recovery;
    let standard = {
        let mut m = base.clone();
        m.kind = PackageKind::Standard;
        m
    };
    let std_body = build::wire(&standard);
    let at = build::first_difference(&std_body, &build::wire(&recovery));
    let mut body = std_body.clone();
    assert_eq!(body[at], 2);
    body[at] = 9;
    g.add(
        Case::package(
            "malformed-body-unknown-enum-tag",
            "A standard package whose PackageKind tag is 9: no such variant.",
            sign(g, &standard, &body, &b.index, &b.payload),
        )
        .expect("malformed"),
    );

    let mut body = b.body.clone();
    body.push(0);
    g.add(
        Case::package(
            "malformed-body-trailing-byte",
            "A valid manifest followed by one byte 00 inside the signed body.",
            resign(g, &body),
        )
        .expect("malformed"),
    );

    let mut longer = base.clone();
    longer.name = hpk_format::PackageName::new("small-baselinex").expect("name");
    let at = build::first_difference(&b.body, &build::wire(&longer));
    let mut body = b.body.clone();
    build::put_u64(&mut body, at, 1 << 62);
    g.add(
        Case::package(
            "malformed-body-length-prefix-huge",
            "The package name's length prefix is 2^62: more than the body holds; a decoder must not allocate it.",
            resign(g, &body),
        )
        .expect("malformed"),
    );

    let mut body = b.body.clone();
    build::replace_unique(&mut body, b"small-baseline", b"small-basel\xff\xfee");
    g.add(
        Case::package(
            "malformed-body-invalid-utf8",
            "The package name holds the bytes FF FE: not UTF-8.",
            resign(g, &body),
        )
        .expect("malformed"),
    );

    let mut body = b.body.clone();
    build::replace_unique(&mut body, b"small-baseline", b"-small-baselin");
    g.add(
        Case::package(
            "malformed-body-bad-package-name",
            "The package name starts with '-'.",
            resign(g, &body),
        )
        .expect("malformed"),
    );

    let mut body = b.body.clone();
    build::replace_unique(&mut body, b"x64", b"X64");
    g.add(
        Case::package(
            "malformed-body-bad-token",
            "The architecture token is X64: tokens are lowercase.",
            resign(g, &body),
        )
        .expect("malformed"),
    );

    // Version with no part: splice out the only part.
    let mut one = base.clone();
    one.version = "7".parse().expect("version");
    let mut two = base.clone();
    two.version = "8".parse().expect("version");
    let one_body = build::wire(&one);
    let at = build::first_difference(&one_body, &build::wire(&two));
    let mut body = one_body.clone();
    body.drain(at..at + 4);
    build::put_u64(&mut body, at - 8, 0);
    g.add(
        Case::package(
            "malformed-body-empty-version",
            "A content version with no part (count 0).",
            sign(g, &one, &body, &b.index, &b.payload),
        )
        .expect("malformed"),
    );

    // Structure rules.
    g.add(
        Case::package(
            "malformed-body-unsorted-architectures",
            "Architectures [x64, arm64]: lists must be strictly ascending.",
            edited(g, &|m| {
                m.targets.architectures = vec![tok("x64"), tok("arm64")]
            }),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-duplicate-capabilities",
            "Capabilities [vbs, vbs]: lists must not repeat an entry.",
            edited(g, &|m| {
                m.targets.capabilities = vec![tok("vbs"), tok("vbs")]
            }),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-empty-architectures",
            "No architecture: at least one is required.",
            edited(g, &|m| m.targets.architectures = Vec::new()),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-expires-not-after-created",
            "expires equals created.",
            edited(g, &|m| m.expires = Some(m.created)),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-extension-id-zero",
            "An extension with the reserved id 0.",
            edited(g, &|m| {
                m.extensions = vec![Extension {
                    id: 0,
                    critical: false,
                    data: Vec::new(),
                }]
            }),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-unsorted-extensions",
            "Extensions with ids 5 then 3: they must be ascending.",
            edited(g, &|m| {
                m.extensions = [5, 3]
                    .iter()
                    .map(|&id| Extension {
                        id,
                        critical: false,
                        data: Vec::new(),
                    })
                    .collect()
            }),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-baseline-without-restart",
            "A baseline with restart_required false: a baseline always needs a restart.",
            edited(g, &|m| m.restart_required = false),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-floor-above-security-version",
            "A baseline whose security_floor (11) is above its own security_version (10).",
            edited(g, &|m| {
                if let PackageKind::Baseline(info) = &mut m.kind {
                    info.security_floor = 11;
                }
            }),
        )
        .expect("malformed"),
    );
    let d = Digest::of(b"revoked hotpatch");
    g.add(
        Case::package(
            "malformed-body-duplicate-revocations",
            "A baseline revoking the same hotpatch digest twice.",
            edited(g, &|m| {
                if let PackageKind::Baseline(info) = &mut m.kind {
                    info.revoked_hotpatches = vec![d, d];
                }
            }),
        )
        .expect("malformed"),
    );

    let hp = g.small("hotpatch").build();
    let mut m = hp.manifest.clone();
    if let PackageKind::Hotpatch(h) = &mut m.kind {
        h.sequence = 0;
    }
    g.add(
        Case::package(
            "malformed-body-hotpatch-sequence-zero",
            "A hotpatch with sequence 0: sequences start at 1.",
            sign(g, &m, &build::wire(&m), &hp.index, &hp.payload),
        )
        .device("online-baseline-installed.toml")
        .expect("malformed"),
    );
    let mut m = hp.manifest.clone();
    m.restart_required = true;
    g.add(
        Case::package(
            "malformed-body-hotpatch-with-restart",
            "A hotpatch with restart_required true: a hotpatch never needs a restart.",
            sign(g, &m, &build::wire(&m), &hp.index, &hp.payload),
        )
        .device("online-baseline-installed.toml")
        .expect("malformed"),
    );

    // Payload lists.
    let readme = payload("readme.txt", b"hpk conformance test vector\n");
    let other = |name: &str| payload(name, b"another payload\n");
    g.add(
        Case::package(
            "malformed-body-duplicate-payload-names",
            "Two payloads named readme.txt.",
            with_payloads(g, base.clone(), &[readme.clone(), readme.clone()]),
        )
        .expect("malformed"),
    );
    let link = |name: &str, target: &str| hpk_format::Link {
        name: PayloadName::new(name).expect("name"),
        target: PayloadName::new(target).expect("target"),
    };
    let name = |text: &str| PayloadName::new(text).expect("name");
    let mut m = base.clone();
    m.links = vec![link("readme.txt", "other.txt")];
    g.add(
        Case::package(
            "malformed-body-link-named-as-payload",
            "A payload and a link both named readme.txt: entry names are unique over payloads, links and folders (N9).",
            with_payloads(g, m, std::slice::from_ref(&readme)),
        )
        .expect("malformed"),
    );
    let mut m = base.clone();
    m.links = vec![link("lib", "usr/lib")];
    g.add(
        Case::package(
            "malformed-body-payload-inside-link",
            "A link lib and a payload lib/x.so: nothing may be inside a link, where an extractor would write through it (N10).",
            with_payloads(g, m, &[other("lib/x.so")]),
        )
        .expect("malformed"),
    );
    let mut m = base.clone();
    m.folders = vec![name("var")];
    g.add(
        Case::package(
            "malformed-body-listed-folder-not-empty",
            "An empty folder var and a payload var/log.txt: a listed folder holds no entry (N10).",
            with_payloads(g, m, &[other("var/log.txt")]),
        )
        .expect("malformed"),
    );
    let mut m = base.clone();
    m.links = vec![link("b", "x"), link("a", "x")];
    g.add(
        Case::package(
            "malformed-body-links-not-ascending",
            "Links b then a: links are strictly ascending by name.",
            with_payloads(g, m, &[]),
        )
        .expect("malformed"),
    );
    let mut m = base.clone();
    m.folders = vec![name("tmp"), name("tmp")];
    g.add(
        Case::package(
            "malformed-body-folder-twice",
            "The empty folder tmp listed twice: folders are strictly ascending.",
            with_payloads(g, m, &[]),
        )
        .expect("malformed"),
    );
    // The executable flag's byte, found by encoding the manifest with the
    // flag false and true.
    let mut m = base.clone();
    m.payloads = vec![readme.descriptor.clone()];
    let plain = build::wire(&m);
    m.payloads[0].executable = true;
    let flagged = build::wire(&m);
    let at = plain
        .iter()
        .zip(&flagged)
        .position(|(a, b)| a != b)
        .expect("the flag changes one byte");
    let mut bytes = plain;
    bytes[at] = 2;
    g.add(
        Case::package(
            "malformed-body-executable-not-bool",
            "A payload whose executable flag is 02: a bool is 00 or 01.",
            sign(g, &m, &bytes, &readme.index, &readme.stored),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-file-folder-clash",
            "Payloads a and a/b: a is both a file and a folder.",
            with_payloads(g, base.clone(), &[other("a"), other("a/b")]),
        )
        .expect("malformed"),
    );
    g.add(
        Case::package(
            "malformed-body-unsorted-payloads",
            "Payloads b.txt then a.txt: they must be in ascending name order.",
            with_payloads(g, base.clone(), &[other("b.txt"), other("a.txt")]),
        )
        .expect("malformed"),
    );
    let mut p = payload("data.bin", &hpk_tests::sample_data(5000, 7));
    p.descriptor.chunk_count += 1;
    g.add(
        Case::package(
            "malformed-body-chunk-count-wrong",
            "A payload of 5000 bytes in 4096-byte chunks declaring 3 chunks instead of 2.",
            with_payloads(g, base.clone(), &[p]),
        )
        .expect("malformed"),
    );
    let mut p = payload("data.bin", &hpk_tests::sample_data(5000, 7));
    p.descriptor.stored_size = p.descriptor.size + 1;
    g.add(
        Case::package(
            "malformed-body-stored-larger-than-size",
            "A zstd payload whose stored size is one more than its size.",
            with_payloads(g, base.clone(), &[p]),
        )
        .expect("malformed"),
    );
    let mut p = payload("data.bin", &hpk_tests::sample_data(5000, 7));
    assert!(p.descriptor.stored_size < p.descriptor.size);
    p.descriptor.compression = Compression::None;
    g.add(
        Case::package(
            "malformed-body-uncompressed-stored-differs",
            "A payload with compression None whose stored size differs from its size.",
            with_payloads(g, base.clone(), &[p]),
        )
        .expect("malformed"),
    );
    let data = vec![0x42u8; 2048];
    let small = build::raw_payload(
        "data.bin",
        Compression::None,
        2048,
        1024,
        &[
            build::Chunk::raw(&data[..1024]),
            build::Chunk::raw(&data[1024..]),
        ],
        Digest::of(&data),
    );
    g.add(
        Case::package(
            "malformed-body-chunk-size-below-minimum",
            "A payload cut into 1024-byte chunks: the chunk size must be at least 4096.",
            with_payloads(g, base.clone(), &[small]),
        )
        .expect("malformed"),
    );

    // Unsafe payload names, patched into a valid manifest (same length).
    // A 256-byte component comes from two valid components by turning the
    // `/` between them into a letter.
    let long_original = format!("{}/{}", "a".repeat(128), "a".repeat(127));
    let long_replacement = "a".repeat(256);
    for (name, what, original, replacement) in [
        (
            "malformed-name-dotdot",
            "A payload named ../x: a '..' component.",
            &b"zz/x"[..],
            &b"../x"[..],
        ),
        (
            "malformed-name-backslash",
            "A payload named a\\b: backslashes are separators on Windows.",
            b"a_b",
            b"a\\b",
        ),
        (
            "malformed-name-drive-letter",
            "A payload named C:x: a drive-relative path on Windows.",
            b"Cqx",
            b"C:x",
        ),
        (
            "malformed-name-windows-device",
            "A payload named CON: a Windows device name.",
            b"COQ",
            b"CON",
        ),
        (
            "malformed-name-device-with-extension",
            "A payload named dir/nul.txt: a Windows device name with an extension.",
            b"dir/nuq.txt",
            b"dir/nul.txt",
        ),
        (
            "malformed-name-device-com-with-extension",
            "A payload named com1.txt: a Windows device name, in lowercase, with an extension.",
            b"cqm1.txt",
            b"com1.txt",
        ),
        (
            "malformed-name-device-lpt9",
            "A payload named x/LPT9: a Windows device name as the last component.",
            b"x/LPTq",
            b"x/LPT9",
        ),
        (
            "malformed-name-device-com0",
            "A payload named COM0: refused like COM1 to COM9 (N7).",
            b"COMq",
            b"COM0",
        ),
        (
            "malformed-name-device-trailing-space",
            "A payload named aux .c: the stem before the first dot, trailing spaces removed, is AUX.",
            b"auq .c",
            b"aux .c",
        ),
        (
            "malformed-name-non-ascii",
            "A payload named caf\u{e9}.txt (U+00E9 in UTF-8): payload names are printable ASCII (N2).",
            b"cafqq.txt",
            "caf\u{e9}.txt".as_bytes(),
        ),
        (
            "malformed-name-combining-accent",
            "A payload named e followed by U+0301 (combining acute accent): not ASCII, and NFC would make it \u{e9} (N2).",
            b"eqq",
            "e\u{301}".as_bytes(),
        ),
        (
            "malformed-name-del",
            "A payload name holding DEL (0x7F), which is not printable (N2).",
            b"aqb",
            b"a\x7fb",
        ),
        (
            "malformed-name-trailing-dot",
            "A payload named x. : Windows drops trailing dots.",
            b"xq",
            b"x.",
        ),
        (
            "malformed-name-absolute",
            "A payload named /etc/passwd: an absolute path.",
            b"qetc/passwd",
            b"/etc/passwd",
        ),
        (
            "malformed-name-empty-component",
            "A payload named a//b: an empty component.",
            b"a/qb",
            b"a//b",
        ),
        (
            "malformed-name-nul",
            "A payload name holding a NUL byte.",
            b"aqb",
            b"a\0b",
        ),
        (
            "malformed-name-component-256-bytes",
            "A payload name whose one component is 256 bytes: at most 255 (N4).",
            long_original.as_bytes(),
            long_replacement.as_bytes(),
        ),
    ] {
        let original = std::str::from_utf8(original).expect("ascii");
        let b = PackageSpec::baseline("small-baseline")
            .with_payload(original, b"x\n".to_vec())
            .build();
        let mut body = b.body.clone();
        build::replace_unique(&mut body, original.as_bytes(), replacement);
        g.add(
            Case::package(
                name,
                what,
                build::package(&[&g.keys.release], &body, &b.index, &b.payload),
            )
            .expect("malformed"),
        );
    }
}
