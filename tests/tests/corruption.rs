//! Corruption of signed packages, exhaustive on a small one and random on
//! a large one: every mutation must be rejected, with an error, both by
//! full verification of the stored bytes (`Verifier::package` +
//! `judge_without_device` + `verify(Depth::Stored)`) and by streaming
//! (`Verifier::package` + `judge_without_device` + `stream`), and never
//! with a panic.
//!
//! The one exception is written into the format: the header's `minor`
//! field (bytes 10–11) is not signed and "any `minor` MUST be accepted"
//! (`spec/SPEC.md`, "Reading the container", rule 4). Flips there must be
//! *accepted*, with the same content; every other mutation must be
//! rejected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    CHUNK_ENTRY_LEN, ChunkEncoding, Compression, HEADER_LEN, Limits, MIN_CHUNK_SIZE,
    PayloadDescriptor, parse_chunk_index,
};
use hpk_sign::ChunkingOptions;
use hpk_tests::verify::{open, verify_full};
use hpk_tests::*;
use hpk_verify::{Depth, PayloadSink, TrustedRoot};
use std::io::{self, Read};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

/// The bytes of the header's `minor` field: not signed, accepted whatever
/// their value (`spec/SPEC.md`, "Reading the container", rule 4).
const MINOR: Range<usize> = 10..12;

// ---------------------------------------------------------------------------
// Judging one file
// ---------------------------------------------------------------------------

/// What a verifier made of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Rejected,
    Accepted,
    Panicked(String),
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic".to_owned()
    }
}

fn judge(check: impl FnOnce() -> bool) -> Verdict {
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(true) => Verdict::Accepted,
        Ok(false) => Verdict::Rejected,
        Err(p) => Verdict::Panicked(panic_message(p)),
    }
}

/// Discards content, counting it.
#[derive(Default)]
struct Discard(u64);

impl PayloadSink for Discard {
    fn begin(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.0 += chunk.len() as u64;
        Ok(())
    }
    fn end(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
}

/// `open` (head, then judged for no device) + `verify(Depth::Stored)`.
fn full_verdict(input: impl Read, root: &TrustedRoot) -> Verdict {
    judge(|| {
        open(input, root, &Limits::default())
            .and_then(|p| p.verify(Depth::Stored))
            .is_ok()
    })
}

/// `open` (head, then judged for no device) + `stream`.
fn stream_verdict(input: impl Read, root: &TrustedRoot) -> Verdict {
    judge(|| {
        open(input, root, &Limits::default())
            .and_then(|p| p.stream(&mut Discard::default(), &mut |_| {}))
            .is_ok()
    })
}

/// A mutation whose outcome was not the expected one.
struct Finding {
    mutation: String,
    verifier: &'static str,
    verdict: Verdict,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {:?}", self.mutation, self.verifier, self.verdict)
    }
}

/// Runs `check(i)` for every `i` in `0..n` on every core, collecting the
/// findings.
fn on_all_cores(n: usize, check: impl Fn(usize) -> Vec<Finding> + Sync) -> Vec<Finding> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 4);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let check = &check;
                s.spawn(move || {
                    (t..n)
                        .step_by(threads)
                        .flat_map(check)
                        .collect::<Vec<Finding>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    })
}

/// CPU seconds this process has used so far (user and system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, in clock ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

fn assert_no_findings(what: &str, total: usize, findings: &[Finding]) {
    let listed: Vec<String> = findings.iter().take(40).map(|f| f.to_string()).collect();
    assert!(
        findings.is_empty(),
        "{what}: {} of {total} mutations were not rejected as expected (first {}):\n{}",
        findings.len(),
        listed.len(),
        listed.join("\n")
    );
}

/// Compressible text: lines drawn at random from a pool of a few thousand.
fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "kernel", "driver", "update", "module", "patch", "secure", "boot", "cache", "signed",
        "chunk", "index", "payload", "device", "policy", "root", "catalog",
    ];
    let mut rng = Rng::new(seed);
    let pool: Vec<Vec<u8>> = (0..4096)
        .map(|n| {
            let mut line = format!("{n:06}");
            for _ in 0..8 {
                line.push(' ');
                line.push_str(WORDS[rng.below(0..WORDS.len())]);
            }
            line.push('\n');
            line.into_bytes()
        })
        .collect();
    let mut out = Vec::with_capacity(len + 128);
    while out.len() < len {
        out.extend_from_slice(&pool[rng.below(0..pool.len())]);
    }
    out.truncate(len);
    out
}

fn payload(name: &str, data: Vec<u8>, compression: Compression, chunk_size: u32) -> TestPayload {
    TestPayload {
        name: name.to_owned(),
        data,
        options: ChunkingOptions {
            chunk_size,
            compression,
            threads: 0,
            ..ChunkingOptions::default()
        },
        executable: false,
    }
}

/// Where each chunk's stored bytes and index entry are in the file.
#[derive(Clone, Debug)]
struct ChunkAt {
    payload: usize,
    encoding: ChunkEncoding,
    stored: Range<usize>,
    entry: Range<usize>,
}

fn chunk_map(built: &BuiltPackage, signatures: usize) -> Vec<ChunkAt> {
    let mut out = Vec::new();
    let mut entry_at = built.index_offset(signatures);
    let mut stored_at = built.payload_offset(signatures);
    let mut index = built.index.as_slice();
    for (p, desc) in built.manifest.payloads.iter().enumerate() {
        let len = desc.index_len().unwrap() as usize;
        let entries = parse_chunk_index(&index[..len], desc).unwrap();
        index = &index[len..];
        for e in entries {
            let stored_len = e.stored_len as usize;
            out.push(ChunkAt {
                payload: p,
                encoding: e.encoding,
                stored: stored_at..stored_at + stored_len,
                entry: entry_at..entry_at + CHUNK_ENTRY_LEN,
            });
            stored_at += stored_len;
            entry_at += CHUNK_ENTRY_LEN;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The small package, every mutation
// ---------------------------------------------------------------------------

/// The payloads of the small package, in name order: zstd chunks, a raw
/// chunk inside a zstd payload, an uncompressed payload and an empty one.
fn small_payloads() -> Vec<(&'static str, Vec<u8>, Compression)> {
    let lines = |len: usize, seed: u64| -> Vec<u8> {
        let line = format!("seed {seed}: the quick brown fox jumps over the lazy dog\n");
        line.into_bytes().into_iter().cycle().take(len).collect()
    };
    // A last chunk of noise, too small for zstd to shrink, stays raw.
    let mut mixed = lines(MIN_CHUNK_SIZE as usize, 7);
    mixed.extend(noise(200, 8));
    vec![
        ("a/text.txt", lines(6000, 1), Compression::Zstd),
        ("b/mixed.bin", mixed, Compression::Zstd),
        ("c/empty", Vec::new(), Compression::Zstd),
        ("d/raw.bin", noise(300, 9), Compression::None),
    ]
}

/// A signed package of a few KiB with [`small_payloads`].
fn small_package() -> (BuiltPackage, Vec<u8>) {
    let keys = Keys::standard();
    let mut spec = PackageSpec::baseline("corrupt-me");
    spec.payloads = small_payloads()
        .into_iter()
        .map(|(name, data, compression)| payload(name, data, compression, MIN_CHUNK_SIZE))
        .collect();
    let built = spec.build();
    let file = built.file(&[&keys.release]);
    (built, file)
}

#[derive(Clone, Copy, Debug)]
enum Mutation {
    Flip { offset: usize, bit: u8 },
    Truncate { len: usize },
    Insert { offset: usize, byte: u8 },
    Delete { offset: usize },
}

impl Mutation {
    fn apply(self, file: &[u8]) -> Vec<u8> {
        let mut out = file.to_vec();
        match self {
            Mutation::Flip { offset, bit } => out[offset] ^= 1 << bit,
            Mutation::Truncate { len } => out.truncate(len),
            Mutation::Insert { offset, byte } => out.insert(offset, byte),
            Mutation::Delete { offset } => {
                out.remove(offset);
            }
        }
        out
    }

    /// Whether the format says this mutation is accepted.
    fn accepted_by_design(self) -> bool {
        matches!(self, Mutation::Flip { offset, .. } if MINOR.contains(&offset))
    }
}

/// Every single-bit flip, every truncation, every insertion of 0x00, 0xFF
/// and of a copy of the byte already there at every offset (the end
/// included), every deletion.
fn every_mutation(file: &[u8]) -> Vec<Mutation> {
    let len = file.len();
    let mut all = Vec::with_capacity(len * 13);
    for offset in 0..len {
        for bit in 0..8 {
            all.push(Mutation::Flip { offset, bit });
        }
    }
    all.extend((0..len).map(|len| Mutation::Truncate { len }));
    for offset in 0..=len {
        let copy = file.get(offset).copied().unwrap_or(0x5A);
        for byte in [0x00, 0xFF, copy] {
            all.push(Mutation::Insert { offset, byte });
        }
    }
    all.extend((0..len).map(|offset| Mutation::Delete { offset }));
    all
}

#[test]
fn small_package_is_what_the_exhaustive_test_needs() {
    let (built, file) = small_package();
    let map = chunk_map(&built, 1);
    assert!(file.len() < 4 * 1024, "{} bytes", file.len());
    assert!(built.manifest.payloads.len() >= 4);
    assert!(map.iter().any(|c| c.encoding == ChunkEncoding::Zstd));
    // A raw chunk in a zstd payload and in an uncompressed one.
    for compression in [Compression::Zstd, Compression::None] {
        assert!(map.iter().any(|c| c.encoding == ChunkEncoding::Raw
            && built.manifest.payloads[c.payload].compression == compression));
    }
    assert_eq!(map.last().unwrap().stored.end, file.len());
    // The unmutated file verifies and streams to the original content.
    let root = standard_trusted_root(&Keys::standard());
    assert_eq!(full_verdict(file.as_slice(), &root), Verdict::Accepted);
    let (_, payloads) = verify_full(&file, &root, &Limits::default()).unwrap();
    let expected: Vec<(String, Vec<u8>)> = small_payloads()
        .into_iter()
        .map(|(name, data, _)| (name.to_owned(), data))
        .collect();
    assert_eq!(payloads, expected);
}

#[test]
fn every_flip_truncation_insertion_and_deletion_of_a_small_package_is_rejected() {
    let start = Instant::now();
    let cpu = cpu_seconds();
    let (_, file) = small_package();
    let root = standard_trusted_root(&Keys::standard());
    let mutations = every_mutation(&file);
    let findings = on_all_cores(mutations.len(), |i| {
        let m = mutations[i];
        let mutated = m.apply(&file);
        let expected = if m.accepted_by_design() {
            Verdict::Accepted
        } else {
            Verdict::Rejected
        };
        let mut out = Vec::new();
        for (verifier, verdict) in [
            ("verify(Stored)", full_verdict(mutated.as_slice(), &root)),
            ("stream", stream_verdict(mutated.as_slice(), &root)),
        ] {
            if verdict != expected {
                out.push(Finding {
                    mutation: format!("{m:?}"),
                    verifier,
                    verdict,
                });
            }
        }
        out
    });
    println!(
        "{} bytes, {} mutations, each judged twice, in {:.1?} ({:.1} s of CPU)",
        file.len(),
        mutations.len(),
        start.elapsed(),
        cpu_seconds() - cpu
    );
    assert_no_findings("small package", mutations.len(), &findings);
}

/// The minor-version exception is exactly the two bytes of the field, and
/// accepting them changes nothing that is read.
#[test]
fn a_different_minor_version_is_accepted_with_the_same_content() {
    let (_, file) = small_package();
    let root = standard_trusted_root(&Keys::standard());
    let read = |bytes: &[u8]| {
        let (manifest, payloads) = verify_full(bytes, &root, &Limits::default()).unwrap();
        (manifest.digest(), manifest.into_inner(), payloads)
    };
    let original = read(&file);
    let mut newer = file.clone();
    newer[MINOR].copy_from_slice(&0xFFFFu16.to_le_bytes());
    assert_eq!(read(&newer), original);
    // Right next to it, on both sides, a flip is fatal.
    for offset in [MINOR.start - 1, MINOR.end] {
        let m = Mutation::Flip { offset, bit: 0 }.apply(&file);
        assert_eq!(full_verdict(m.as_slice(), &root), Verdict::Rejected);
    }
}

// ---------------------------------------------------------------------------
// A large package, random mutations
// ---------------------------------------------------------------------------

/// A package of 64 MiB of content in 1 MiB chunks, built once.
struct Big {
    file: Vec<u8>,
    chunks: Vec<ChunkAt>,
    index_start: usize,
    payload_start: usize,
    root: TrustedRoot,
}

fn big() -> &'static Big {
    static BIG: OnceLock<Big> = OnceLock::new();
    BIG.get_or_init(|| {
        let start = Instant::now();
        let cpu = cpu_seconds();
        let keys = Keys::standard();
        const MIB: usize = 1024 * 1024;
        let chunk = MIB as u32;
        let mut spec = PackageSpec::baseline("corrupt-me-big");
        spec.payloads = vec![
            // Raw 1 MiB chunks: swapping two keeps every length right.
            payload(
                "disk/raw.img",
                noise(12 * MIB, 11),
                Compression::None,
                chunk,
            ),
            payload(
                "disk/text.img",
                text(48 * MIB, 12),
                Compression::Zstd,
                chunk,
            ),
            // Ends in a partial chunk; a chunk of noise stays raw.
            payload(
                "disk/tail.bin",
                [text(3 * MIB + 12_345, 13), noise(MIB - 12_345, 14)].concat(),
                Compression::Zstd,
                chunk,
            ),
        ];
        let built = spec.build();
        let file = built.file(&[&keys.release]);
        let chunks = chunk_map(&built, 1);
        let big = Big {
            index_start: built.index_offset(1),
            payload_start: built.payload_offset(1),
            file,
            chunks,
            root: standard_trusted_root(&Keys::standard()),
        };
        assert_eq!(
            full_verdict(big.file.as_slice(), &big.root),
            Verdict::Accepted
        );
        assert_eq!(
            stream_verdict(big.file.as_slice(), &big.root),
            Verdict::Accepted
        );
        println!(
            "big package: {} bytes, {} chunks, built and checked in {:.1?} ({:.1} s of CPU)",
            big.file.len(),
            big.chunks.len(),
            start.elapsed(),
            cpu_seconds() - cpu
        );
        big
    })
}

/// A file as a list of slices, read in order: mutations of a large file
/// without copying it.
struct Pieces<'a> {
    pieces: Vec<&'a [u8]>,
    at: usize,
}

impl<'a> Pieces<'a> {
    fn new(pieces: Vec<&'a [u8]>) -> Self {
        Pieces { pieces, at: 0 }
    }
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(piece) = self.pieces.get_mut(self.at) {
            if piece.is_empty() {
                self.at += 1;
                continue;
            }
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            *piece = &piece[n..];
            return Ok(n);
        }
        Ok(0)
    }
}

#[derive(Clone, Debug)]
enum BigMutation {
    Flip {
        offset: usize,
        bit: u8,
    },
    Truncate {
        len: usize,
    },
    Insert {
        offset: usize,
        byte: u8,
    },
    Delete {
        offset: usize,
    },
    /// Exchange two ranges (`a` before `b`, not overlapping): two chunks'
    /// stored bytes, or two index entries.
    Swap {
        a: Range<usize>,
        b: Range<usize>,
    },
}

impl BigMutation {
    /// The mutated file as slices of `file` and of `patch`, a one-byte
    /// buffer that must hold what [`BigMutation::patch_byte`] returns.
    fn pieces<'a>(&self, file: &'a [u8], patch: &'a [u8; 1]) -> Pieces<'a> {
        Pieces::new(match self {
            BigMutation::Flip { offset, .. } => {
                vec![&file[..*offset], patch, &file[offset + 1..]]
            }
            BigMutation::Truncate { len } => vec![&file[..*len]],
            BigMutation::Insert { offset, .. } => vec![&file[..*offset], patch, &file[*offset..]],
            BigMutation::Delete { offset } => vec![&file[..*offset], &file[offset + 1..]],
            BigMutation::Swap { a, b } => vec![
                &file[..a.start],
                &file[b.clone()],
                &file[a.end..b.start],
                &file[a.clone()],
                &file[b.end..],
            ],
        })
    }

    fn patch_byte(&self, file: &[u8]) -> u8 {
        match self {
            BigMutation::Flip { offset, bit } => file[*offset] ^ (1 << bit),
            BigMutation::Insert { byte, .. } => *byte,
            _ => 0,
        }
    }

    /// The first byte of the file this mutation changes.
    fn first_changed(&self) -> usize {
        match self {
            BigMutation::Flip { offset, .. }
            | BigMutation::Insert { offset, .. }
            | BigMutation::Delete { offset } => *offset,
            BigMutation::Truncate { len } => *len,
            BigMutation::Swap { a, .. } => a.start,
        }
    }

    /// Judges the mutation with `verify(Depth::Stored)`, and with `stream` if
    /// `stream_too`.
    fn judge(&self, big: &Big, stream_too: bool) -> Vec<Finding> {
        let patch = [self.patch_byte(&big.file)];
        let mut out = Vec::new();
        let mut verdicts = vec![(
            "verify(Stored)",
            full_verdict(self.pieces(&big.file, &patch), &big.root),
        )];
        if stream_too {
            verdicts.push((
                "stream",
                stream_verdict(self.pieces(&big.file, &patch), &big.root),
            ));
        }
        for (verifier, verdict) in verdicts {
            if verdict != Verdict::Rejected {
                out.push(Finding {
                    mutation: format!("{self:?}"),
                    verifier,
                    verdict,
                });
            }
        }
        out
    }
}

/// Judges every mutation of the large package, on every core, and fails
/// on the first findings; returns how many were also streamed.
///
/// Every mutation goes through `open` + `verify(Depth::Stored)`. `stream` reads
/// the same bytes through the same chunk check before it decompresses, but
/// also decompresses and hashes the content up to the damage (and the
/// batches the parallel verifier has read ahead): a debug build spends
/// about 50 ms of CPU in `verify(Depth::Stored)` and 130 ms in `stream` for a
/// mutation of the payload area (against 0.2 ms for one of the head or
/// the chunk indexes), mostly zero-filling buffers in unoptimised code. So
/// `stream` judges every mutation of the head and the chunk indexes, and
/// every eighth mutation of the payload area.
fn judge_all(big: &Big, mutations: &[BigMutation]) -> usize {
    let stream_too =
        |i: usize| mutations[i].first_changed() < big.payload_start || i.is_multiple_of(8);
    let findings = on_all_cores(mutations.len(), |i| mutations[i].judge(big, stream_too(i)));
    assert_no_findings("large package", mutations.len(), &findings);
    (0..mutations.len()).filter(|&i| stream_too(i)).count()
}

/// A random offset in `region` that is not in the minor field.
fn offset_in(rng: &mut Rng, region: Range<usize>) -> usize {
    loop {
        let o = rng.below(region.clone());
        if !MINOR.contains(&o) {
            return o;
        }
    }
}

#[test]
fn random_flips_insertions_and_deletions_of_a_large_package_are_rejected() {
    let big = big();
    let start = Instant::now();
    let cpu = cpu_seconds();
    let mut rng = Rng::new(0x5EED_0001);
    let len = big.file.len();
    // Spread over every section, not in proportion to its size: the head
    // and the chunk indexes are small but the most sensitive.
    let regions = [
        (0..HEADER_LEN, 300),
        (HEADER_LEN..HEADER_LEN + 100, 300),
        (HEADER_LEN + 100..big.index_start, 800),
        (big.index_start..big.payload_start, 400),
        (big.payload_start..len, 160),
    ];
    let mut mutations = Vec::new();
    for (region, n) in regions.iter().cloned() {
        for _ in 0..n {
            let offset = offset_in(&mut rng, region.clone());
            let bit = (rng.next_u64() % 8) as u8;
            mutations.push(BigMutation::Flip { offset, bit });
        }
        for _ in 0..n / 20 {
            let offset = offset_in(&mut rng, region.clone());
            let byte = rng.next_u64() as u8;
            mutations.push(BigMutation::Insert { offset, byte });
            let offset = offset_in(&mut rng, region.clone());
            mutations.push(BigMutation::Delete { offset });
        }
    }
    let streamed = judge_all(big, &mutations);
    println!(
        "{} random flips, insertions and deletions ({streamed} also streamed) in {:.1?} ({:.1} s of CPU)",
        mutations.len(),
        start.elapsed(),
        cpu_seconds() - cpu
    );
}

#[test]
fn random_truncations_and_swaps_of_a_large_package_are_rejected() {
    let big = big();
    let start = Instant::now();
    let cpu = cpu_seconds();
    let mut rng = Rng::new(0x5EED_0002);
    let len = big.file.len();
    let mut mutations = Vec::new();
    for (region, n) in [
        (0..big.index_start, 200),
        (big.index_start..big.payload_start, 200),
        (big.payload_start..len, 60),
    ] {
        for _ in 0..n {
            let len = rng.below(region.clone());
            mutations.push(BigMutation::Truncate { len });
        }
    }
    let chunks = &big.chunks;
    // Two chunks' stored bytes, and two chunks' index entries, exchanged:
    // 50 pairs of raw chunks of the same length (the layout is unchanged,
    // only digests can tell), 50 pairs at random.
    let raw: Vec<&ChunkAt> = chunks
        .iter()
        .filter(|c| c.encoding == ChunkEncoding::Raw && c.stored.len() == 1 << 20)
        .collect();
    let mut pairs = Vec::new();
    while pairs.len() < 100 {
        let (x, y) = if pairs.len() < 50 {
            let x = raw[rng.below(0..raw.len())];
            let y = raw[rng.below(0..raw.len())];
            (x, y)
        } else {
            (
                &chunks[rng.below(0..chunks.len())],
                &chunks[rng.below(0..chunks.len())],
            )
        };
        if x.stored.start < y.stored.start {
            pairs.push((x, y));
        }
    }
    for (x, y) in &pairs {
        mutations.push(BigMutation::Swap {
            a: x.stored.clone(),
            b: y.stored.clone(),
        });
        mutations.push(BigMutation::Swap {
            a: x.entry.clone(),
            b: y.entry.clone(),
        });
    }
    // Each swap must change the file (no two chunks are alike).
    for m in &mutations {
        if let BigMutation::Swap { a, b } = m {
            assert_ne!(big.file[a.clone()], big.file[b.clone()], "{m:?}");
        }
    }
    let streamed = judge_all(big, &mutations);
    println!(
        "{} random truncations and swaps ({streamed} also streamed) in {:.1?} ({:.1} s of CPU)",
        mutations.len(),
        start.elapsed(),
        cpu_seconds() - cpu
    );
}
