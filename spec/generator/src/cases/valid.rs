//! Valid packages: every kind, both profiles, every chunk encoding, and
//! the accepted oddities (unknown non-critical extension, newer minor,
//! signatures that do not count).

use super::{Case, Device, Gen, noise};
use crate::build;
use hpk_format::{
    ChunkEncoding, Compression, EXT_NOTE, EXT_PRIVATE_START, FileType, PackageKind, PatchedModule,
    PayloadName, SignatureRecord, parse_chunk_index,
};
use hpk_tests::{DAY, PackageSpec, T0, TestPayload, sample_data, tok};

/// The encodings of every chunk of every payload of `built`.
fn encodings(built: &hpk_tests::BuiltPackage) -> Vec<ChunkEncoding> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for d in &built.manifest.payloads {
        let len = d.index_len().expect("index length") as usize;
        let entries = parse_chunk_index(&built.index[at..at + len], d).expect("valid index");
        out.extend(entries.iter().map(|e| e.encoding));
        at += len;
    }
    out
}

pub fn add(g: &mut Gen) {
    let baseline = g.baseline.clone();
    assert!(encodings(&baseline).contains(&ChunkEncoding::Zstd));
    g.add(
        Case::package(
            "valid-baseline-two-payloads",
            "A baseline with two payloads, one of three zstd chunks, signed by the release key.",
            g.baseline_file(),
        )
        .payloads(&baseline.manifest),
    );

    let b = PackageSpec::baseline("baseline-with-empty-payload")
        .with_payload("data.bin", sample_data(5000, 2))
        .with_payload("empty.bin", Vec::new())
        .build();
    g.add(
        Case::package(
            "valid-baseline-empty-payload",
            "A baseline with an empty payload (no chunks, empty index, stored size 0) beside a non-empty one.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let b = PackageSpec::baseline("baseline-tree")
        .with_payload("usr/lib/libz.so.1.3", sample_data(6000, 4))
        .with_executable("usr/bin/tool", sample_data(5000, 5))
        .with_link("usr/lib/libz.so.1", "usr/lib/libz.so.1.3")
        .with_link("usr/bin/z", "usr/lib/libz.so.1")
        .with_link("etc/alternatives/tool", "usr/bin/tool")
        .with_link("usr/share/doc/tool", "usr/share/doc/z-common")
        .with_folder("var/cache/tool")
        .build();
    g.add(
        Case::package(
            "valid-baseline-tree",
            "A baseline that carries a folder tree: an executable payload, links within a folder, across folders and to a name the package lacks, and an empty folder.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let b = PackageSpec::baseline("baseline-case-names")
        .with_payload("share/terminfo/n/nsterm", sample_data(100, 6))
        .with_payload("share/terminfo/N/NCR260", sample_data(100, 7))
        .with_payload("README", sample_data(10, 8))
        .with_payload("readme", sample_data(10, 9))
        .build();
    g.add(
        Case::package(
            "valid-baseline-names-differ-by-case",
            "Entry names that differ only by case (N9 and N10 compare bytes): valid, and extracted as four files where names keep their case.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let b = PackageSpec::baseline("baseline-without-payloads").build();
    g.add(Case::package(
        "valid-baseline-no-payloads",
        "A baseline with no payload at all: empty chunk-index section and payload area.",
        g.signed(&b),
    ));

    let mut spec = PackageSpec::new("standard-raw", PackageKind::Standard)
        .with_payload("bin/tool.exe", sample_data(9000, 3));
    spec.payloads[0].options.compression = Compression::None;
    let b = spec.build();
    assert!(encodings(&b).iter().all(|e| *e == ChunkEncoding::Raw));
    g.add(
        Case::package(
            "valid-standard-raw-chunks",
            "A standard package with an uncompressed payload of three raw chunks (4096, 4096, 808 bytes).",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let mut data = noise(4096, 1);
    data.extend(b"hpk ".repeat(1024));
    let b = PackageSpec::new("standard-mixed", PackageKind::Standard)
        .with_payload("mixed.bin", data)
        .build();
    let enc = encodings(&b);
    assert_eq!(enc, vec![ChunkEncoding::Raw, ChunkEncoding::Zstd]);
    g.add(
        Case::package(
            "valid-standard-mixed-chunks",
            "A zstd payload whose first chunk is incompressible and so stored raw, and whose second is a zstd frame.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let installed = g.device(
        "online-baseline-installed.toml",
        &Device {
            installed_baseline: Some(baseline.digest()),
            ..Device::online()
        },
    );
    let b = PackageSpec::hotpatch("example-hotpatch-1", baseline.digest(), 1)
        .with_payload("System32/kernel.dll.hp", sample_data(3000, 4))
        .build();
    g.add(
        Case::package(
            "valid-hotpatch-on-baseline",
            "Hotpatch 1 on the baseline of valid-baseline-two-payloads, which the device has installed; signed by the hotpatch key.",
            g.signed(&b),
        )
        .device(&installed)
        .payloads(&b.manifest),
    );

    let seq2 = g.device(
        "online-hotpatch-2-installed.toml",
        &Device {
            installed_baseline: Some(baseline.digest()),
            installed_hotpatch_sequence: 2,
            ..Device::online()
        },
    );
    let mut spec = PackageSpec::hotpatch("example-hotpatch-3", baseline.digest(), 3)
        .with_payload("System32/kernel.dll.hp", sample_data(3000, 5));
    if let PackageKind::Hotpatch(h) = &mut spec.manifest.kind {
        h.modules = vec![PatchedModule {
            path: PayloadName::new("System32/kernel.dll").expect("name"),
            digest_before: hpk_format::Digest::of(&sample_data(10_000, 1)),
        }];
    }
    let b = spec.build();
    g.add(
        Case::package(
            "valid-hotpatch-sequence-newer",
            "Hotpatch 3, listing the module it patches with its digest before patching, on a device with hotpatch 2 of the same baseline.",
            g.signed(&b),
        )
        .device(&seq2)
        .payloads(&b.manifest),
    );

    let recovery = g.device(
        "recovery.toml",
        &Device {
            profile: "recovery",
            ..Device::online()
        },
    );
    let mut spec = g.small("recovery");
    spec.manifest.created = T0 + 10 * DAY;
    spec.manifest.expires = Some(T0 + 100 * DAY);
    let b = spec.build();
    g.add(
        Case::package(
            "valid-recovery-lower-bound-clock",
            "A recovery package under the recovery profile. The clock is only a lower bound, earlier than the package's creation: not-yet-valid cannot be judged, so it is accepted.",
            g.signed(&b),
        )
        .device(&recovery)
        .lower_bound()
        .payloads(&b.manifest),
    );

    let b = g.small("baseline").build();
    g.add(
        Case::package(
            "valid-baseline-recovery-profile",
            "A baseline under the recovery profile (which installs recovery and baseline packages), with a lower-bound clock.",
            g.signed(&b),
        )
        .device(&recovery)
        .lower_bound()
        .payloads(&b.manifest),
    );

    let t2 = super::signatures::threshold_2_root(g);
    let b = g.small("baseline").build();
    g.add(
        Case::package(
            "valid-multisig-threshold-2",
            "A baseline signed by both keys of a release role with threshold 2.",
            b.file(&[&g.keys.release, &g.release2]),
        )
        .root(&t2)
        .payloads(&b.manifest),
    );

    let b = g
        .small("baseline")
        .with_extension(EXT_PRIVATE_START + 1, false, b"ignored")
        .build();
    g.add(
        Case::package(
            "valid-unknown-noncritical-extension",
            "A manifest with an unknown extension (private-use id 0x80000001) that is not critical: it is ignored.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let b = g
        .small("baseline")
        .with_extension(EXT_NOTE, true, b"a note")
        .build();
    g.add(
        Case::package(
            "valid-known-critical-extension",
            "A manifest with a critical extension that every reader knows (id 1, note): accepted.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let b = g.small("baseline").build();
    let mut file = g.signed(&b);
    build::put_u16(&mut file, 10, 7);
    g.add(
        Case::package(
            "valid-newer-minor-version",
            "Header minor version 7: readers accept any minor and do not change behaviour on it (it is not signed).",
            file,
        )
        .payloads(&b.manifest),
    );

    let b = g.small("baseline").build();
    let mut records = build::records(FileType::Package, &b.body, &[&g.keys.release]);
    records.push(SignatureRecord {
        algorithm: 0x7777,
        key_id: g.stranger.id(),
        signature: [0x5a; 64],
    });
    g.add(
        Case::package(
            "valid-unknown-algorithm-record-ignored",
            "A valid release signature and a record with unknown algorithm 0x7777: the unknown record is skipped.",
            b.file_with(&records),
        )
        .payloads(&b.manifest),
    );

    let b = g.small("baseline").build();
    g.add(
        Case::package(
            "valid-extra-signature-unknown-key",
            "A valid release signature and a valid signature by a key the trust root does not name: the stranger is ignored.",
            b.file(&[&g.stranger, &g.keys.release]),
        )
        .payloads(&b.manifest),
    );

    let b = g.small("baseline").build();
    let good = g.keys.release.record(FileType::Package, &b.body);
    let bad = SignatureRecord {
        signature: [0x11; 64],
        ..good
    };
    g.add(
        Case::package(
            "valid-repeated-key-one-bad-record",
            "Two records of the release key, the first one invalid: a key with one valid record counts.",
            b.file_with(&[bad, good]),
        )
        .payloads(&b.manifest),
    );

    let preview = g.device(
        "online-preview.toml",
        &Device {
            channels: vec!["general", "preview"],
            ..Device::online()
        },
    );
    let mut spec = g.small("baseline");
    spec.manifest.targets.channel = hpk_format::Channel::Preview;
    let b = spec.build();
    g.add(
        Case::package(
            "valid-preview-channel-opted-in",
            "A preview-channel package on a device that opted into preview.",
            g.signed(&b),
        )
        .device(&preview)
        .payloads(&b.manifest),
    );

    let vbs = g.device(
        "online-vbs.toml",
        &Device {
            capabilities: vec!["secure-boot", "vbs"],
            ..Device::online()
        },
    );
    let mut spec = g.small("baseline");
    spec.manifest.targets.capabilities = vec![tok("vbs")];
    let b = spec.build();
    g.add(
        Case::package(
            "valid-capability-present",
            "A package that requires capability vbs on a device that has it.",
            g.signed(&b),
        )
        .device(&vbs)
        .payloads(&b.manifest),
    );

    let mut spec = g.small("standard");
    spec.manifest.expires = None;
    let b = spec.build();
    g.add(
        Case::package(
            "valid-no-expiry",
            "A standard package without an expiry time, judged ten years later.",
            g.signed(&b),
        )
        .time(T0 + 3650 * DAY)
        .root("standard-long.hpkroot")
        .payloads(&b.manifest),
    );
    let long = hpk_tests::trust_root(
        1,
        T0 + 4000 * DAY,
        hpk_tests::standard_root(&g.keys).roles,
        &[
            &g.keys.root,
            &g.keys.release,
            &g.keys.hotpatch,
            &g.keys.recovery,
            &g.keys.catalog,
        ],
    );
    let long = g.root_bytes(&long, &[&g.keys.root]);
    g.root_file("standard-long.hpkroot", long);

    let pro = g.device(
        "online-pro.toml",
        &Device {
            edition: "pro",
            ..Device::online()
        },
    );
    let mut spec = g.small("standard");
    spec.manifest.targets.editions = Vec::new();
    let b = spec.build();
    g.add(
        Case::package(
            "valid-every-edition",
            "A package with an empty edition list (every edition) on a pro device.",
            g.signed(&b),
        )
        .device(&pro)
        .payloads(&b.manifest),
    );

    let arm = g.device(
        "online-arm64.toml",
        &Device {
            architecture: "arm64",
            ..Device::online()
        },
    );
    let mut spec = g.small("baseline");
    spec.manifest.targets.architectures = vec![tok("arm64"), tok("x64")];
    let b = spec.build();
    g.add(
        Case::package(
            "valid-two-architectures",
            "A package for arm64 and x64 on an arm64 device.",
            g.signed(&b),
        )
        .device(&arm)
        .payloads(&b.manifest),
    );

    let b = g.small("standard").build();
    g.add(
        Case::package(
            "valid-no-device",
            "A standard package checked without a device profile: only critical extensions and time are judged.",
            g.signed(&b),
        )
        .no_device()
        .payloads(&b.manifest),
    );

    let floor = g.device(
        "online-floor-10.toml",
        &Device {
            security_floor: 10,
            ..Device::online()
        },
    );
    let b = g.small("baseline").build();
    assert_eq!(b.manifest.security_version, 10);
    g.add(
        Case::package(
            "valid-security-version-at-floor",
            "Security version 10 on a device whose floor is 10: equal to the floor is accepted.",
            g.signed(&b),
        )
        .device(&floor)
        .payloads(&b.manifest),
    );

    let b = PackageSpec::baseline("nested-names")
        .with_payload("a/b/c.txt", b"c\n".to_vec())
        .with_payload("a/d.txt", b"d\n".to_vec())
        .with_payload("..a", b"dots\n".to_vec())
        .with_payload("My Documents/read me.txt", b"spaces\n".to_vec())
        .with_payload("~$x&(y)!'#%+,;=@[]^`{}", b"punctuation\n".to_vec())
        .build();
    g.add(
        Case::package(
            "valid-nested-payload-names",
            "Payload names with folders, a name starting with two dots (not a `..` component), spaces inside components and every punctuation character N2 allows.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    // Extraction: names at the bounds, and names that look like the
    // temporary names of other tools (or of earlier extractors).
    let long = format!("{}/{}", "d".repeat(255), "f".repeat(255));
    let b = PackageSpec::baseline("long-names")
        .with_payload(&long, b"two components of 255 bytes\n".to_vec())
        .with_payload(&"x".repeat(255), b"one component of 255 bytes\n".to_vec())
        .build();
    g.add(
        Case::package(
            "valid-extract-255-byte-components",
            "Payload names whose components are exactly 255 bytes, the longest allowed (N4): an extractor must write them.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );
    let b = PackageSpec::baseline("temp-like-names")
        .with_payload(
            ".x.1.1.hpk-tmp",
            b"the payload named like a temporary file\n".to_vec(),
        )
        .with_payload(
            ".hpk-extract-0123456789abcdef",
            b"named like a staging folder\n".to_vec(),
        )
        .with_payload("x", b"the payload named x\n".to_vec())
        .with_payload("d/.x.1.2.hpk-tmp", b"nested temporary-like name\n".to_vec())
        .with_payload("d/x", b"nested x\n".to_vec())
        .build();
    g.add(
        Case::package(
            "valid-extract-temp-like-names",
            "Payloads x and .x.1.1.hpk-tmp (and others named like temporary or staging files): each must be extracted with its own bytes (X4).",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    let mut p = TestPayload::new("big.bin", b"0123456789abcdef".repeat(1200));
    p.options.chunk_size = 8192;
    let mut spec = g.small("standard");
    spec.payloads = vec![p];
    let b = spec.build();
    assert_eq!(b.manifest.payloads[0].chunk_count, 3);
    g.add(
        Case::package(
            "valid-chunk-size-8192",
            "A payload of 19200 bytes in 8 KiB chunks (8192, 8192, 2816), each a zstd frame.",
            g.signed(&b),
        )
        .payloads(&b.manifest),
    );

    // Packages exactly at their time bounds.
    let b = g.small("baseline").build();
    g.add(
        Case::package(
            "valid-at-creation-time",
            "Judged at exactly the package's creation time (and the trust root's): not in the future, so accepted.",
            g.signed(&b),
        )
        .time(T0)
        .payloads(&b.manifest),
    );
}
