//! Seed inputs for every target, built with the `hpk-tests` kit and the
//! fixture keys, so that the fuzzer starts from valid packages, trust roots
//! and catalogs and mutates from there.
//!
//! Like `targets.rs`, this file is also compiled into the
//! `fuzz_regressions` test (which runs every seed through its target).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::targets::{
    chunk_index_input, delta_flags, delta_input, delta_stored, delta_streams_input, fixture,
    index_flags, installed_baseline, piece_flags, pieces_input, put_plain_varint,
};
use hpk_format::{
    CHUNK_ENTRY_LEN, Catalog, CatalogEntry, Compression, ContainerView, Digest, EXT_NOTE,
    Extension, FileType, HotpatchInfo, Limits, PackageKind, PatchedModule, PayloadName, RoleName,
    encode,
};
use hpk_sign::ChunkingOptions;
use hpk_tests::{
    BuiltPackage, DAY, PackageSpec, T0, TestPayload, role, root_file, sample_data, signed_file,
    standard_root, trust_root, zstd_rle_bomb, zstd_rle_frame,
};
use std::path::Path;

/// One seed: the target it is for, a short name, the bytes.
pub struct Seed {
    /// Target name.
    pub target: &'static str,
    /// File name in the corpus (without the target folder).
    pub name: String,
    /// The input.
    pub data: Vec<u8>,
}

fn payload(name: &str, data: Vec<u8>, compression: Compression) -> TestPayload {
    let mut p = TestPayload::new(name, data);
    p.options = ChunkingOptions {
        compression,
        ..p.options
    };
    p
}

/// The kit packages the seeds come from, each with the role that signs it.
fn packages() -> Vec<(&'static str, BuiltPackage, RoleName)> {
    let mut baseline = PackageSpec::baseline("fuzz-baseline")
        .with_extension(EXT_NOTE, false, b"seed")
        .with_extension(0x8000_0001, false, b"private");
    baseline.payloads = vec![
        payload(
            "bin/app.exe",
            sample_data(3 * 4096 + 100, 1),
            Compression::Zstd,
        ),
        payload("readme.txt", b"hello, fuzzer\n".to_vec(), Compression::None),
        payload("empty", Vec::new(), Compression::Zstd),
        payload("Lib/data.bin", sample_data(5000, 2), Compression::None),
    ];
    if let PackageKind::Baseline(b) = &mut baseline.manifest.kind {
        b.revoked_hotpatches = vec![Digest::of(b"revoked hotpatch")];
        b.security_floor = 5;
    }

    let mut hotpatch = PackageSpec::hotpatch("fuzz-hotpatch", installed_baseline(), 2)
        .with_payload("patch/kernel.hp", sample_data(4096 * 2, 3));
    if let PackageKind::Hotpatch(HotpatchInfo { modules, .. }) = &mut hotpatch.manifest.kind {
        modules.push(PatchedModule {
            path: PayloadName::new("System32/ntoskrnl.exe").expect("name"),
            digest_before: Digest::of(b"kernel before"),
        });
    }

    let standard = PackageSpec::new("fuzz-standard", PackageKind::Standard)
        .version("10.0.26100.2")
        .with_payload("os/update.cab", sample_data(20_000, 4));

    let mut recovery = PackageSpec::new("fuzz-recovery", PackageKind::Recovery);
    recovery.manifest.restart_required = false;
    recovery.manifest.expires = None;
    recovery.payloads = vec![payload(
        "winre/fix.bin",
        vec![0x41; 4096 * 2 + 7],
        Compression::Zstd,
    )];

    let empty = PackageSpec::new("fuzz-empty", PackageKind::Standard);

    vec![
        ("baseline", baseline.build(), RoleName::Release),
        ("hotpatch", hotpatch.build(), RoleName::Hotpatch),
        ("standard", standard.build(), RoleName::Release),
        ("recovery", recovery.build(), RoleName::Recovery),
        ("empty", empty.build(), RoleName::Release),
    ]
}

/// A package whose only chunk is a zstd frame that expands far past its
/// declared length (the fuzzer starts next to the bomb checks).
fn bomb_pieces() -> Vec<u8> {
    let frame = zstd_rle_bomb(0x5A, 4);
    let mut index = Vec::new();
    index.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    index.extend_from_slice(&[1, 0, 0, 0]);
    index.extend_from_slice(&Digest::of(&frame).0);
    let mut spec = PackageSpec::baseline("fuzz-bomb");
    spec.payloads.clear();
    let mut built = spec.build();
    built.manifest.payloads = vec![hpk_format::PayloadDescriptor {
        name: PayloadName::new("bomb").expect("name"),
        executable: false,
        compression: Compression::Zstd,
        size: 4096,
        stored_size: frame.len() as u64,
        chunk_size: 4096,
        chunk_count: 1,
        index_digest: Digest::of(&index),
        content_digest: Digest::default(),
    }];
    let body = encode(&built.manifest, &Limits::default()).expect("encode");
    pieces_input(piece_flags::FIX_ALL, &body, &index, &frame)
}

/// Packages with enough content for the threaded verification paths of
/// the fuzz build (64 KiB of work and more, in batches of 16 KiB: see
/// `cfg(fuzzing)` in `verify/src/parallel.rs`) from a few hundred bytes of
/// input, within the fix-ups' 1 MiB: zero-padded raw chunks, and zstd
/// chunks of RLE blocks; every digest left to the fix-ups.
fn threaded_pieces() -> Vec<(&'static str, Vec<u8>)> {
    const CHUNK: u32 = 16 << 10;
    let frame = zstd_rle_frame(0, &[CHUNK]);
    let mut out = Vec::new();
    for (name, compression, chunks, stored) in [
        ("threaded-raw", Compression::None, 40u32, Vec::new()),
        ("threaded-zstd", Compression::Zstd, 48, frame.repeat(48)),
    ] {
        let stored_len = match compression {
            Compression::Zstd => frame.len() as u32,
            _ => CHUNK,
        };
        let mut index = Vec::new();
        for _ in 0..chunks {
            index.extend_from_slice(&stored_len.to_le_bytes());
            index.extend_from_slice(&[u8::from(compression == Compression::Zstd), 0, 0, 0]);
            index.extend_from_slice(&[0; 32]);
        }
        let mut spec = PackageSpec::baseline(name);
        spec.payloads.clear();
        let mut built = spec.build();
        built.manifest.payloads = vec![hpk_format::PayloadDescriptor {
            name: PayloadName::new("big.bin").expect("name"),
            executable: false,
            compression,
            size: u64::from(chunks * CHUNK),
            stored_size: u64::from(chunks * stored_len),
            chunk_size: CHUNK,
            chunk_count: u64::from(chunks),
            index_digest: Digest::default(),
            content_digest: Digest::default(),
        }];
        let body = encode(&built.manifest, &Limits::default()).expect("encode");
        out.push((
            name,
            pieces_input(piece_flags::FIX_ALL, &body, &index, &stored),
        ));
    }
    out
}

/// The test vectors in `dir` (`spec/vectors/*.vec`): name, the file type
/// their `file:` header names, and the bytes after the first blank line.
fn vector_files(dir: &Path) -> Vec<(String, Option<FileType>, Vec<u8>)> {
    let Ok(list) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = list
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "vec"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let Some(at) = text.windows(2).position(|w| w == b"\n\n") else {
            continue;
        };
        let header = String::from_utf8_lossy(&text[..at]);
        let file_type = header.lines().find_map(|line| match line {
            "file: package" => Some(FileType::Package),
            "file: trust-root" => Some(FileType::TrustRoot),
            "file: catalog" => Some(FileType::Catalog),
            _ => None,
        });
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((stem, file_type, text[at + 2..].to_vec()));
    }
    out
}

/// A `delta` seed: a chunk of `chunk_len` bytes from `base`, as `mode`
/// and its five decoded streams (ops, s1, s2, s3, ins); `flags`: those
/// of the input ([`delta_flags`]); with `WRAP` the input gives the
/// streams for the target to frame, else the stored bytes.
struct DeltaSeed {
    name: &'static str,
    flags: u8,
    chunk_len: u32,
    base: Vec<u8>,
    mode: u8,
    streams: [Vec<u8>; 5],
}

impl DeltaSeed {
    fn streams(&self) -> [&[u8]; 5] {
        std::array::from_fn(|i| &self.streams[i][..])
    }

    /// The input of the `delta` target.
    fn input(&self) -> Vec<u8> {
        let rest = if self.flags & delta_flags::WRAP != 0 {
            delta_streams_input(self.mode, self.streams())
        } else {
            delta_stored(self.mode, self.streams(), false)
        };
        delta_input(self.flags, self.chunk_len, &self.base, &rest)
    }
}

/// The ops stream of D2 for `ops` (kind, len, seek; an insert's seek is
/// not written).
fn ops_stream(ops: &[(u8, u64, i64)]) -> Vec<u8> {
    let mut out = Vec::new();
    put_plain_varint(&mut out, ops.len() as u64);
    out.extend(ops.iter().map(|op| op.0));
    for op in ops {
        put_plain_varint(&mut out, op.1);
    }
    for op in ops.iter().filter(|op| op.0 != 2) {
        put_plain_varint(&mut out, ((op.2 << 1) ^ (op.2 >> 63)) as u64);
    }
    out
}

/// The add bytes `d` in mode 1 (D2): the zero runs before each nonzero
/// byte (s1), the nonzero bytes that start a run (s2) and those that
/// continue one (s3).
fn sparse(d: &[u8]) -> [Vec<u8>; 3] {
    let (mut s1, mut s2, mut s3) = (Vec::new(), Vec::new(), Vec::new());
    let mut pos = 0usize;
    for (q, &byte) in d.iter().enumerate().filter(|(_, b)| **b != 0) {
        let gap = q - pos;
        put_plain_varint(&mut s1, gap as u64);
        if gap == 0 && pos > 0 {
            s3.push(byte);
        } else {
            s2.push(byte);
        }
        pos = q + 1;
    }
    [s1, s2, s3]
}

/// Delta chunks that decode: copy, add and insert with a seek back, with
/// the add bytes dense and sparse (runs that start at 0, continue, and
/// start after zero runs of one byte and of more than 127); a chunk of
/// only inserts; and the dense one as stored bytes.
fn delta_seeds() -> Vec<DeltaSeed> {
    let base: Vec<u8> = (0..2048u32).map(|i| (i * 7 % 251) as u8).collect();
    let ops = ops_stream(&[(0, 500, 10), (2, 8, 0), (1, 300, 40), (0, 200, -600)]);
    let mut adds = vec![0u8; 300];
    for (at, byte) in [
        (0, 3),
        (1, 4),
        (2, 0xFF),
        (4, 1),
        (40, 9),
        (41, 8),
        (200, 2),
        (299, 7),
    ] {
        adds[at] = byte;
    }
    let [s1, s2, s3] = sparse(&adds);
    let dense = |name, flags| DeltaSeed {
        name,
        flags,
        chunk_len: 1008,
        base: base.clone(),
        mode: 0,
        streams: [
            ops.clone(),
            adds.clone(),
            Vec::new(),
            Vec::new(),
            b"inserted".to_vec(),
        ],
    };
    // As many ops as a chunk of 100 bytes may hold (⌊100 / 16⌋ + 1),
    // seeks either way, sparse add bytes with a run that continues across
    // the two add ops; with the streams repaired (which leaves these as
    // they are).
    let mut most_adds = vec![0u8; 50];
    for (at, byte) in [(3, 1), (19, 2), (20, 3), (21, 4), (49, 5)] {
        most_adds[at] = byte;
    }
    let [m1, m2, m3] = sparse(&most_adds);
    let most_ops = DeltaSeed {
        name: "most-ops",
        flags: delta_flags::WRAP | delta_flags::FIX_STREAMS,
        chunk_len: 100,
        base: base.clone(),
        mode: 1,
        streams: [
            ops_stream(&[
                (0, 10, 5),
                (1, 20, -3),
                (2, 5, 0),
                (0, 15, 100),
                (1, 30, 0),
                (2, 10, 0),
                (0, 10, -100),
            ]),
            m1,
            m2,
            m3,
            b"fiveinsertedten".to_vec(),
        ],
    };
    vec![
        dense("copy-add-insert", delta_flags::WRAP),
        DeltaSeed {
            name: "sparse",
            flags: delta_flags::WRAP,
            chunk_len: 1008,
            base: base.clone(),
            mode: 1,
            streams: [ops.clone(), s1, s2, s3, b"inserted".to_vec()],
        },
        DeltaSeed {
            name: "inserts-only",
            flags: delta_flags::WRAP,
            chunk_len: 64,
            base: Vec::new(),
            mode: 0,
            streams: [
                ops_stream(&[(2, 64, 0)]),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                vec![9u8; 64],
            ],
        },
        most_ops,
        dense("stored", 0),
    ]
}

/// Delta chunks one step from decoding, which D1–D2 refuse (so the
/// decoder must too): the dense chunk with its op count written `80 04`
/// (not minimal), the sparse one with its first zero run written `80 00`,
/// and the most-ops chunk with one op more than a chunk of 100 bytes may
/// hold.
fn delta_refused_seeds() -> Vec<DeltaSeed> {
    let mut seeds = delta_seeds();
    let mut out = Vec::new();
    let mut dense = seeds.remove(0);
    assert_eq!(dense.streams[0][0], 4);
    dense.streams[0].insert(0, 0x80);
    dense.name = "refused-nonminimal-count";
    out.push(dense);
    let mut sparse = seeds.remove(0);
    assert_eq!(sparse.streams[1][0], 0);
    sparse.streams[1].insert(0, 0x80);
    sparse.name = "refused-nonminimal-gap";
    out.push(sparse);
    let mut most = seeds.remove(1);
    most.streams[0] = ops_stream(&[
        (0, 10, 5),
        (1, 20, -3),
        (2, 5, 0),
        (0, 15, 100),
        (1, 30, 0),
        (2, 5, 0),
        (2, 5, 0),
        (0, 10, -100),
    ]);
    most.name = "refused-too-many-ops";
    out.push(most);
    out
}

/// Every seed. `vectors`, if given, is a folder of `.vec` test vectors
/// (`spec/vectors`): each file under test goes to `header` and to the
/// target of its type, its body to that type's decoder target, and a
/// package's sections to `package_signed` and `extract`.
pub fn seeds(vectors: Option<&Path>) -> Vec<Seed> {
    let f = fixture();
    let keys = &f.keys;
    let limits = Limits::default();
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: String, data: Vec<u8>| {
        out.push(Seed { target, name, data });
    };

    for seed in delta_seeds().into_iter().chain(delta_refused_seeds()) {
        add("delta", seed.name.to_owned(), seed.input());
    }

    let mut entries = Vec::new();
    for (name, built, signer) in packages() {
        let file = built.file(&[keys.of(signer)]);
        add("header", format!("{name}.hpk"), file.clone());
        add("package", format!("{name}.hpk"), file.clone());
        add("manifest", format!("{name}.manifest"), built.body.clone());
        for (flags, tag) in [(0, "raw"), (piece_flags::FIX_ALL, "fix")] {
            let pieces = pieces_input(flags, &built.body, &built.index, &built.payload);
            add("package_signed", format!("{name}-{tag}"), pieces.clone());
            add("extract", format!("{name}-{tag}"), pieces);
        }
        let mut at = 0usize;
        for p in &built.manifest.payloads {
            let len = p.chunk_count as usize * CHUNK_ENTRY_LEN;
            let index = &built.index[at..at + len];
            at += len;
            let flags = match p.compression {
                Compression::Zstd => index_flags::ZSTD,
                _ => 0,
            };
            add(
                "chunk_index",
                format!("{name}-{}", p.name.as_str().replace('/', "_")),
                chunk_index_input(flags, p.chunk_size, p.size, p.stored_size, index),
            );
        }
        entries.push(CatalogEntry {
            name: built.manifest.name.clone(),
            version: built.manifest.version.clone(),
            kind: built.manifest.kind.clone(),
            security_version: built.manifest.security_version,
            restart_required: built.manifest.restart_required,
            targets: built.manifest.targets.clone(),
            manifest_digest: built.digest(),
            size: file.len() as u64,
            location: format!("packages/{name}.hpk"),
            delta: None,
        });
    }
    add("extract", "bomb".into(), bomb_pieces());
    for (name, pieces) in threaded_pieces() {
        add("package_signed", name.into(), pieces.clone());
        add("extract", name.into(), pieces);
    }

    // Trust roots: the standard one, a 2-of-3 root, and version 2 of the
    // standard root (what `trust_root` offers as a rotation).
    let standard = standard_root(keys);
    let mut v2 = standard.clone();
    v2.version = 2;
    v2.expires = T0 + 400 * DAY;
    v2.extensions = vec![Extension {
        id: EXT_NOTE,
        critical: false,
        data: b"rotated".to_vec(),
    }];
    let mut roles = standard.roles.clone();
    roles.root = role(2, &[&keys.root, &keys.release, &keys.catalog]);
    let two_of_three = trust_root(
        1,
        T0 + 365 * DAY,
        roles,
        &[
            &keys.root,
            &keys.release,
            &keys.hotpatch,
            &keys.recovery,
            &keys.catalog,
        ],
    );
    for (name, root) in [
        ("standard", &standard),
        ("v2", &v2),
        ("two-of-three", &two_of_three),
    ] {
        let body = encode(root, &limits).expect("encode root");
        let file = root_file(root, &[&keys.root, &keys.release, &keys.catalog]);
        add("trust_root", format!("{name}.body"), body);
        add("trust_root", format!("{name}.hpkroot"), file.clone());
        add("header", format!("{name}.hpkroot"), file);
    }

    // A catalog of the seed packages.
    let catalog = Catalog {
        version: 3,
        created: T0,
        expires: T0 + 7 * DAY,
        entries,
        extensions: Vec::new(),
    };
    let body = encode(&catalog, &limits).expect("encode catalog");
    let file = signed_file(
        FileType::Catalog,
        &body,
        &[keys.catalog.record(FileType::Catalog, &body)],
    );
    add("catalog", "catalog.body".into(), body);
    add("catalog", "catalog.hpkcat".into(), file.clone());
    add("header", "catalog.hpkcat".into(), file);

    for (i, pattern) in [vec![0u8; 64], (0..=255).collect(), vec![0xFF; 256]]
        .into_iter()
        .enumerate()
    {
        for kind in 0..3u8 {
            let mut data = pattern.clone();
            if let Some(first) = data.first_mut() {
                *first = kind;
            }
            add("roundtrip", format!("pattern{i}-{kind}"), data);
        }
    }

    if let Some(dir) = vectors {
        for (stem, file_type, data) in vector_files(dir) {
            let name = format!("vector-{stem}");
            add("header", name.clone(), data.clone());
            let (whole, body) = match file_type {
                Some(FileType::Package) => ("package", "manifest"),
                Some(FileType::TrustRoot) => ("trust_root", "trust_root"),
                Some(FileType::Catalog) => ("catalog", "catalog"),
                None => continue,
            };
            add(whole, name.clone(), data.clone());
            // The sections, when the container splits: the body for the
            // decoders, the pieces for the targets that sign for themselves.
            let Some(file_type) = file_type else { continue };
            let Ok(view) = ContainerView::parse(&data, file_type, &limits) else {
                continue;
            };
            add(body, format!("{name}.body"), view.body.to_vec());
            if file_type == FileType::Package {
                let pieces = pieces_input(0, view.body, view.index, view.payload);
                add("package_signed", name.clone(), pieces.clone());
                add("extract", name, pieces);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::reference_delta;

    #[test]
    fn the_delta_seeds_decode() {
        let seeds = delta_seeds();
        let mut outs = Vec::new();
        for seed in &seeds {
            let out = reference_delta(
                seed.mode,
                seed.streams(),
                &seed.base,
                seed.chunk_len as usize,
            );
            let out = out.unwrap_or_else(|| panic!("{}", seed.name));
            assert_eq!(out.len(), seed.chunk_len as usize, "{}", seed.name);
            outs.push(out);
        }
        // The sparse streams rebuild the dense add bytes, and they
        // exercise both s2 and s3.
        assert_eq!(outs[0], outs[1]);
        assert!(!seeds[1].streams[2].is_empty() && !seeds[1].streams[3].is_empty());
        // The dense chunk, by hand: copy 10..510, "inserted", add to
        // 550..850, copy 250..450.
        let base = &seeds[0].base;
        let mut expected = base[10..510].to_vec();
        expected.extend_from_slice(b"inserted");
        expected.extend(
            base[550..850]
                .iter()
                .zip(&seeds[0].streams[1])
                .map(|(b, d)| b.wrapping_add(*d)),
        );
        expected.extend_from_slice(&base[250..450]);
        assert_eq!(outs[0], expected);
        assert_eq!(outs[2], vec![9u8; 64]);
        assert_eq!(seeds[3].streams[0][0], 100 / 16 + 1);
        for seed in delta_refused_seeds() {
            let out = reference_delta(
                seed.mode,
                seed.streams(),
                &seed.base,
                seed.chunk_len as usize,
            );
            assert!(out.is_none(), "{}", seed.name);
        }
        // The repair leaves a chunk that decodes as it is.
        for seed in &seeds {
            let fixed = crate::targets::fixed_delta_streams(
                seed.mode,
                seed.streams(),
                seed.chunk_len as usize,
            );
            assert_eq!(fixed.as_ref(), Some(&seed.streams), "{}", seed.name);
        }
    }
}
