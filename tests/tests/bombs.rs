//! Lies and bombs: declared sizes over the limits, sizes and counts that
//! overflow a u64, zstd frames that expand far beyond their chunk, chunk
//! indexes that claim more than the input holds, catalog entries that
//! disagree with the package, and endless input behind a valid head.
//!
//! Every case is run twice: in this process, to check the exact outcome
//! and how many bytes the verifier read, and in a child process
//! (`hpk-probe`, a binary of this crate) to measure its peak resident
//! memory (`VmHWM`): a lie must cost neither time nor memory.
//!
//! Where a signature is needed to reach a check (the manifest is decoded
//! only after its signatures verify, chunks are decompressed only after
//! their digests match the signed index), the lie is validly signed by the
//! release key: a key holder may be careless or compromised, and the
//! limits still hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    ChunkEncoding, ChunkEntry, Compression, Digest, ErrorClass, FileType, HEADER_LEN, Header,
    Limits, Manifest, PayloadDescriptor, PayloadName, SIGNATURE_RECORD_LEN, encode, encode_head,
};
use hpk_tests::verify::{NO_TIME, open, verifier_at};
use hpk_tests::*;
use hpk_verify::{Depth, PayloadSink, Section, TrustedRoot, VerifyError};
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The peak resident memory every probe must stay under: 64 MiB.
///
/// The largest buffer any case here may legitimately need is the chunk
/// index at the default limit: `max_chunks` (2^20) × 40 bytes = 40 MiB,
/// which the "index at the limit" case fills from an endless input. The
/// other cases need a few chunk buffers: at most two of 16 MiB, or, on the
/// two CPUs the probe runs on, 5 batches of 2 MiB in flight. The rest is
/// the process itself (about 3.3 MiB for a probe that rejects a header).
/// Honouring any of the lies would cost at least 1 GiB (the smallest
/// bomb), so the bound tells a checked size from an unchecked one with a
/// wide margin. Each case also states its own, tighter bound: what its
/// buffers need plus [`BASE_MIB`].
const MAX_PEAK_MIB: u64 = 64;

/// Memory of the probe process beyond the buffers a case needs: code,
/// libraries, allocator slack, zstd contexts (a probe that rejects a
/// header peaks at about 3.3 MiB).
const BASE_MIB: u64 = 8;

/// How far the verifier may read ahead of the chunk it is checking: it
/// checks batches of chunks (2 MiB, or one chunk if larger) on one thread
/// per core, up to 16, with 3 more batches in flight; for chunks of at
/// most 2 MiB, that is 19 × 2 MiB = 38 MiB. What matters is that reading
/// stops long before the gigabytes a lie declares.
const READ_AHEAD: u64 = 40 * MIB;

/// An input that never ends.
struct Endless;

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        buf.fill(0x5A);
        Ok(buf.len())
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

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

/// What the verifier is asked to do.
#[derive(Clone, Debug)]
enum Mode {
    /// `Verifier::package`: the head only.
    Head,
    /// `Verifier::package` + `judge_without_device` + `verify(Depth::Stored)`.
    Verify,
    /// `Verifier::package` + `judge_without_device` + `stream`.
    Stream,
    /// `Verifier::fetched` for an entry of this size and manifest digest,
    /// then `judge_without_device` + `stream`.
    Entry { size: u64, digest: Digest },
}

/// The outcome a case must have.
#[derive(Clone, Debug)]
enum Expect {
    /// Accepted.
    Ok,
    /// Rejected with this class and a message containing this text.
    Err(ErrorClass, &'static str),
    /// Rejected with a message containing this text, whatever its class.
    Text(&'static str),
    /// Rejected because the header's length of this section is not the
    /// one the signed manifest implies (VP8, class malformed).
    Inconsistent(Section),
}

struct Case {
    name: &'static str,
    /// The file; with `endless`, followed by an input that never ends.
    file: Vec<u8>,
    endless: bool,
    /// Local limits raised to the maximum (no cap on counts and sizes), to
    /// reach the overflow checks behind them.
    unlimited: bool,
    mode: Mode,
    expect: Expect,
    /// The verifier must stop reading by then.
    max_consumed: u64,
    /// The buffers this case may need, in MiB, on top of [`BASE_MIB`].
    buffers_mib: u64,
}

fn limits(unlimited: bool) -> Limits {
    if unlimited {
        Limits {
            max_payloads: u32::MAX,
            max_chunks: u64::MAX,
            max_total_size: u64::MAX,
            ..Limits::default()
        }
    } else {
        Limits::default()
    }
}

/// What a run gave: `None` if accepted, else the error's class and text.
type Outcome = Option<(ErrorClass, String)>;

/// What a run in this process gave: the outcome, the section of a VP8
/// length mismatch (`VerifyError::Inconsistent`) if that was the error,
/// and the bytes read.
fn run_in_process(case: &Case, root: &TrustedRoot) -> (Outcome, Option<Section>, u64) {
    let tail: Box<dyn Read> = if case.endless {
        Box::new(Endless)
    } else {
        Box::new(io::empty())
    };
    let mut input = CountingReader::new(case.file.as_slice().chain(tail));
    let limits = limits(case.unlimited);
    let mut inconsistent = None;
    let mut verify_err = |e: VerifyError| {
        if let VerifyError::Inconsistent { section, .. } = e {
            inconsistent = Some(section);
        }
        Some((e.class(), e.to_string()))
    };
    let outcome = match &case.mode {
        Mode::Head => match verifier_at(root, NO_TIME, &limits).package(&mut input) {
            Err(e) => verify_err(e),
            Ok(_) => None,
        },
        Mode::Verify | Mode::Stream => match open(&mut input, root, &limits) {
            Err(e) => verify_err(e),
            Ok(p) => {
                let r = if matches!(case.mode, Mode::Verify) {
                    p.verify(Depth::Stored)
                } else {
                    p.stream(&mut Discard::default(), &mut |_| {})
                };
                r.err().and_then(&mut verify_err)
            }
        },
        Mode::Entry { size, digest } => {
            let entry = entry_for(*digest, *size);
            match verifier_at(root, NO_TIME, &limits).fetched(&entry, &mut input) {
                Err(e) => Some((e.class(), e.to_string())),
                Ok(p) => p
                    .judge_without_device()
                    .map_err(VerifyError::from)
                    .and_then(|p| p.stream(&mut Discard::default(), &mut |_| {}))
                    .err()
                    .and_then(&mut verify_err),
            }
        }
    };
    (outcome, inconsistent, input.count)
}

/// What the probe reported.
#[derive(Debug)]
struct Probed {
    outcome: Outcome,
    consumed: u64,
    peak_kib: u64,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line
        .find(&format!("{key}="))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        + key.len()
        + 1;
    let rest = &line[start..];
    if key == "message" {
        rest
    } else {
        rest.split(' ').next().unwrap_or("")
    }
}

fn class_named(name: &str) -> ErrorClass {
    [
        ErrorClass::Malformed,
        ErrorClass::Unsupported,
        ErrorClass::Limit,
        ErrorClass::Signature,
        ErrorClass::Policy,
        ErrorClass::Integrity,
        ErrorClass::Io,
    ]
    .into_iter()
    .find(|c| c.as_str() == name)
    .unwrap_or_else(|| panic!("unknown class {name}"))
}

/// The first two CPUs this process may run on, as a `taskset -c` list
/// (from `Cpus_allowed_list` in `/proc/self/status`, e.g. `0-3,8`).
fn two_cpus() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
        .trim();
    let mut cpus: Vec<u32> = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        cpus.extend((a..=b).take(2));
    }
    cpus.truncate(2);
    (!cpus.is_empty()).then(|| {
        cpus.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Runs the probe on `case` in a child process and reads its report.
///
/// The child runs on two CPUs (`taskset`, when present): the verifier
/// checks chunks on one thread per core, each with its own buffers, so
/// its peak memory depends on the core count; pinned, it is the same on
/// every machine. Its address space is capped at 4 GiB (`prlimit`, when
/// present), so that a verifier gone wrong fails instead of eating the
/// machine, and it gets 60 s.
fn run_probe(case: &Case, dir: &Path, root: &Path) -> Probed {
    let package = dir.join(format!("{}.hpk", case.name));
    std::fs::write(&package, &case.file).unwrap();
    let probe = env!("CARGO_BIN_EXE_hpk-probe");
    let mode = match &case.mode {
        Mode::Head => "head".to_owned(),
        Mode::Verify => "verify".to_owned(),
        Mode::Stream => "stream".to_owned(),
        Mode::Entry { size, digest } => format!("entry-stream:{size}:{}", digest.to_hex()),
    };
    let mut args: Vec<String> = Vec::new();
    let prlimit = Path::new("/usr/bin/prlimit");
    if prlimit.exists() {
        args.extend([
            prlimit.display().to_string(),
            format!("--as={}", 4 * GIB),
            "--".into(),
        ]);
    }
    let taskset = Path::new("/usr/bin/taskset");
    if let (true, Some(cpus)) = (taskset.exists(), two_cpus()) {
        args.extend([taskset.display().to_string(), "-c".into(), cpus]);
    }
    args.extend([
        probe.to_owned(),
        root.display().to_string(),
        package.display().to_string(),
        mode,
    ]);
    if case.endless {
        args.push("--endless".into());
    }
    if case.unlimited {
        args.push("--unlimited".into());
    }
    let mut command = Command::new(&args[0]);
    command.args(&args[1..]);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hpk-probe");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}: the probe ran for more than 60 s", case.name);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("result="),
        "{}: the probe failed ({}):\n{stdout}\n{}",
        case.name,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().next().unwrap_or("");
    let outcome = match field(line, "result") {
        "ok" => None,
        _ => Some((
            class_named(field(line, "class")),
            field(line, "message").to_owned(),
        )),
    };
    Probed {
        outcome,
        consumed: field(line, "consumed").parse().unwrap(),
        peak_kib: field(line, "vmhwm_kib").parse().unwrap(),
    }
}

/// Runs every case in this process and in the probe and checks outcome,
/// bytes read and peak memory.
fn check_cases(cases: &[Case]) {
    let keys = Keys::standard();
    let root = standard_trusted_root(&keys);
    let dir = tempfile::tempdir().unwrap();
    let root_path = dir.path().join("root.hpkroot");
    std::fs::write(&root_path, root_file(&standard_root(&keys), &[&keys.root])).unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let (outcome, inconsistent, consumed) = run_in_process(case, &root);
        let probed = run_probe(case, dir.path(), &root_path);
        let bound_mib = (BASE_MIB + case.buffers_mib).min(MAX_PEAK_MIB);
        println!(
            "{:<40} {:<10} read {:>10} bytes, peak {:>6} KiB (bound {bound_mib} MiB): {}",
            case.name,
            outcome.as_ref().map_or("ok", |(c, _)| c.as_str()),
            consumed,
            probed.peak_kib,
            outcome.as_ref().map_or("", |(_, m)| m.as_str())
        );
        let mut fail = |what: String| failures.push(format!("{}: {what}", case.name));
        match (&case.expect, &outcome) {
            (Expect::Ok, None) => {}
            (Expect::Err(class, text), Some((c, m))) if c == class && m.contains(text) => {}
            (Expect::Text(text), Some((_, m))) if m.contains(text) => {}
            (Expect::Inconsistent(section), Some((ErrorClass::Malformed, _)))
                if inconsistent == Some(*section) => {}
            (expect, got) => fail(format!("expected {expect:?}, got {got:?}")),
        }
        if probed.outcome != outcome {
            fail(format!(
                "the probe got {:?}, this process {outcome:?}",
                probed.outcome
            ));
        }
        if consumed > case.max_consumed || probed.consumed > case.max_consumed {
            fail(format!(
                "read {consumed} bytes (probe: {}), more than {}",
                probed.consumed, case.max_consumed
            ));
        }
        if probed.peak_kib > bound_mib * 1024 {
            fail(format!(
                "peak memory {} KiB, over the bound of {bound_mib} MiB",
                probed.peak_kib
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Building lies
// ---------------------------------------------------------------------------

/// A header, as raw bytes.
fn header(signature_count: u16, body_len: u64, index_len: u64, payload_len: u64) -> Vec<u8> {
    Header {
        minor: 0,
        file_type: FileType::Package,
        signature_count,
        body_len,
        index_len,
        payload_len,
    }
    .to_bytes()
    .to_vec()
}

/// Limits under which a test can encode any manifest.
fn encode_limits() -> Limits {
    limits(true)
}

/// A payload descriptor with the given sizes; the chunk count follows
/// from size and chunk size.
fn descriptor(
    name: &str,
    compression: Compression,
    size: u64,
    stored_size: u64,
    chunk_size: u32,
    index: &[u8],
    content: Digest,
) -> PayloadDescriptor {
    PayloadDescriptor {
        name: PayloadName::new(name).unwrap(),
        executable: false,
        compression,
        size,
        stored_size,
        chunk_size,
        chunk_count: size.div_ceil(u64::from(chunk_size)),
        index_digest: Digest::of(index),
        content_digest: content,
    }
}

/// A manifest with these payloads, encoded and signed by the release key,
/// with a header declaring `index_len` and `payload_len`, followed by
/// `rest`. Returns the file and the length of its head.
fn signed_file(
    payloads: Vec<PayloadDescriptor>,
    index_len: u64,
    payload_len: u64,
    rest: &[u8],
) -> (Vec<u8>, usize) {
    let keys = Keys::standard();
    let manifest = Manifest {
        payloads,
        ..PackageSpec::baseline("lies").manifest
    };
    let body = encode(&manifest, &encode_limits()).expect("encode manifest");
    let record = keys.release.record(FileType::Package, &body);
    let mut file = encode_head(FileType::Package, &[record], &body, index_len, payload_len)
        .expect("encode head");
    let head_len = file.len();
    file.extend_from_slice(rest);
    (file, head_len)
}

/// The index of a payload whose every chunk has this stored length and
/// encoding, with a different (wrong) digest each.
fn index_of(count: u64, stored_len: impl Fn(u64) -> u32, encoding: ChunkEncoding) -> Vec<u8> {
    (0..count)
        .flat_map(|i| {
            let mut digest = Digest::default();
            digest.0[..8].copy_from_slice(&i.to_le_bytes());
            ChunkEntry {
                stored_len: stored_len(i),
                encoding,
                digest,
            }
            .to_bytes()
        })
        .collect()
}

/// A package of one zstd payload of `chunks` chunks of `chunk_size`, each
/// stored as `frame`: a valid, signed package whose chunks decode to
/// something other than their declared length.
fn bomb_package(chunk_size: u32, chunks: u64, frame: &[u8]) -> Vec<u8> {
    let size = u64::from(chunk_size) * chunks;
    let entry = ChunkEntry {
        stored_len: frame.len() as u32,
        encoding: ChunkEncoding::Zstd,
        digest: Digest::of(frame),
    }
    .to_bytes();
    let index: Vec<u8> = (0..chunks).flat_map(|_| entry).collect();
    let stored: Vec<u8> = (0..chunks).flat_map(|_| frame.iter().copied()).collect();
    let desc = descriptor(
        "bomb.bin",
        Compression::Zstd,
        size,
        stored.len() as u64,
        chunk_size,
        &index,
        Digest::of(b"whatever it claims"),
    );
    let rest = [index.as_slice(), stored.as_slice()].concat();
    signed_file(vec![desc], index.len() as u64, stored.len() as u64, &rest).0
}

/// A zstd frame (RFC 8878) that declares a content size of `declared` bytes
/// (single segment, 8-byte size field) and holds `blocks` RLE blocks of
/// 128 KiB.
fn zstd_frame_declaring(declared: u64, blocks: usize) -> Vec<u8> {
    // Magic; frame header descriptor: 8-byte content size, single segment,
    // no checksum, no dictionary; the content size.
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    out.extend_from_slice(&declared.to_le_bytes());
    out.extend(zstd_rle_blocks(0x42, &vec![128 * 1024; blocks]));
    out
}

/// A valid package of a few MiB, signed, with its built pieces.
fn valid_package() -> (BuiltPackage, Vec<u8>) {
    let keys = Keys::standard();
    let mut spec = PackageSpec::baseline("honest");
    spec.payloads = vec![TestPayload {
        name: "data.bin".into(),
        data: sample_data(3 * MIB as usize + 123, 5),
        options: hpk_sign::ChunkingOptions {
            chunk_size: MIB as u32,
            threads: 1,
            ..hpk_sign::ChunkingOptions::default()
        },
        executable: false,
    }];
    let built = spec.build();
    let file = built.file(&[&keys.release]);
    (built, file)
}

fn case(name: &'static str, file: Vec<u8>, mode: Mode, expect: Expect) -> Case {
    Case {
        name,
        file,
        endless: false,
        unlimited: false,
        mode,
        expect,
        max_consumed: 0,
        buffers_mib: 0,
    }
}

impl Case {
    fn endless(mut self) -> Case {
        self.endless = true;
        self
    }
    fn unlimited(mut self) -> Case {
        self.unlimited = true;
        self
    }
    fn reads_at_most(mut self, bytes: u64) -> Case {
        self.max_consumed = bytes;
        self
    }
    fn needs_mib(mut self, mib: u64) -> Case {
        self.buffers_mib = mib;
        self
    }
}

fn limit(text: &'static str) -> Expect {
    Expect::Err(ErrorClass::Limit, text)
}

fn malformed(text: &'static str) -> Expect {
    Expect::Err(ErrorClass::Malformed, text)
}

fn integrity(text: &'static str) -> Expect {
    Expect::Err(ErrorClass::Integrity, text)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// The header's lengths are checked against the limits and for overflow
/// before anything is allocated or read past the 40 header bytes, even
/// with an endless input behind them.
#[test]
fn header_lengths_over_the_limits_or_overflowing_are_rejected_after_40_bytes() {
    let h = HEADER_LEN as u64;
    let limits = Limits::default();
    let index_limit = limits.max_chunks * 40;
    let cases = vec![
        case(
            "header body_len over the limit",
            header(1, limits.max_body_len + 1, 0, 0),
            Mode::Verify,
            limit("body length"),
        ),
        case(
            "header body_len u64::MAX",
            header(1, u64::MAX, 0, 0),
            Mode::Verify,
            limit("body length"),
        ),
        case(
            "header index_len over the limit",
            header(1, 100, index_limit + 1, 0),
            Mode::Verify,
            limit("chunk index length"),
        ),
        case(
            "header index_len u64::MAX",
            header(1, 100, u64::MAX, 0),
            Mode::Verify,
            limit("chunk index length"),
        ),
        case(
            "header payload_len over the limit",
            header(1, 100, 0, limits.max_total_size + 1),
            Mode::Verify,
            limit("payload area length"),
        ),
        case(
            "header payload_len u64::MAX",
            header(1, 100, 0, u64::MAX),
            Mode::Stream,
            limit("payload area length"),
        ),
        case(
            "header signature_count 65535",
            header(u16::MAX, 100, 0, 0),
            Mode::Verify,
            limit("signature count"),
        ),
        // With no local cap, the sum of the sections overflows a u64.
        case(
            "header sections overflow a u64",
            header(1, 100, u64::MAX - 200, 150),
            Mode::Verify,
            malformed("overflow"),
        )
        .unlimited(),
        case(
            "header index_len and payload_len u64::MAX, no cap",
            header(1, 100, u64::MAX, u64::MAX),
            Mode::Verify,
            malformed("overflow"),
        )
        .unlimited(),
    ]
    .into_iter()
    .map(|c| c.endless().reads_at_most(h))
    .collect::<Vec<_>>();
    check_cases(&cases);
}

/// A header at the limits, then endless bytes: the verifier reads the
/// declared body (32 MiB) and no more, holds it once, and finds no valid
/// signature.
#[test]
fn a_body_at_the_limit_from_an_endless_input_costs_only_its_length() {
    let body = Limits::default().max_body_len;
    check_cases(&[
        case(
            "endless body, no signature",
            header(0, body, 0, 0),
            Mode::Verify,
            Expect::Err(ErrorClass::Signature, "package"),
        )
        .endless()
        .reads_at_most(HEADER_LEN as u64 + body)
        .needs_mib(body / (1 << 20) + 2),
        // 0x5A in a signature record's reserved bytes: rejected at once.
        case(
            "endless signature records",
            header(32, body, 0, 0),
            Mode::Verify,
            malformed("reserved"),
        )
        .endless()
        .reads_at_most(HEADER_LEN as u64 + 32 * SIGNATURE_RECORD_LEN as u64),
    ]);
}

/// Signed manifests that declare more than the limits allow, or sizes
/// whose sums overflow a u64: rejected when the manifest is decoded or
/// compared with the header, before any chunk index is read.
#[test]
fn signed_sizes_over_the_limits_or_overflowing_are_rejected_before_reading_on() {
    let limits = Limits::default();
    let none = Digest::default();
    let mut cases = Vec::new();

    // 64 GiB + 1 MiB of content in 16 MiB chunks, stored in 1 byte each.
    let size = limits.max_total_size + MIB;
    let desc = descriptor("big", Compression::Zstd, size, 4097, 1 << 24, b"", none);
    let (file, head) = signed_file(vec![desc], 4097 * 40, 4097, &[]);
    cases.push(
        case(
            "manifest size over the limit",
            file,
            Mode::Verify,
            limit("total payload size"),
        )
        .endless()
        .reads_at_most(head as u64),
    );

    // 2^20 + 1 chunks (the header lies small, the manifest is decoded
    // before the two are compared).
    let count = limits.max_chunks + 1;
    let desc = descriptor(
        "many",
        Compression::Zstd,
        count * 4096,
        count,
        4096,
        b"",
        none,
    );
    let (file, head) = signed_file(vec![desc], 40, count, &[]);
    cases.push(
        case(
            "manifest chunk_count over the limit",
            file,
            Mode::Verify,
            limit("total chunk count"),
        )
        .endless()
        .reads_at_most(head as u64),
    );

    // Without local caps: 103 payloads of u64::MAX bytes in 4 KiB chunks,
    // 2^52 chunks each, whose chunk indexes add up to more than 2^64 bytes.
    let many: Vec<PayloadDescriptor> = (0..103)
        .map(|i| {
            descriptor(
                &format!("p{i:03}"),
                Compression::Zstd,
                u64::MAX,
                1,
                4096,
                b"",
                none,
            )
        })
        .collect();
    assert_eq!(many[0].chunk_count, 1 << 52);
    let (file, head) = signed_file(many.clone(), 0, 103, &[]);
    cases.push(
        case(
            "chunk indexes overflow a u64, no cap",
            file.clone(),
            Mode::Verify,
            Expect::Inconsistent(Section::ChunkIndex),
        )
        .unlimited()
        .endless()
        .reads_at_most(head as u64),
    );
    cases.push(
        case(
            "chunk indexes overflow a u64",
            file,
            Mode::Verify,
            limit("total chunk count"),
        )
        .endless()
        .reads_at_most(head as u64),
    );

    // Without local caps: two raw payloads of u64::MAX − 1 bytes, whose
    // stored sizes add up to more than 2^64.
    let huge: Vec<PayloadDescriptor> = ["a", "b"]
        .iter()
        .map(|n| {
            descriptor(
                n,
                Compression::None,
                u64::MAX - 1,
                u64::MAX - 1,
                1 << 24,
                b"",
                none,
            )
        })
        .collect();
    let index_len = huge.iter().map(|d| d.chunk_count * 40).sum();
    let (file, head) = signed_file(huge, index_len, 1000, &[]);
    cases.push(
        case(
            "stored sizes overflow a u64, no cap",
            file,
            Mode::Verify,
            Expect::Inconsistent(Section::PayloadArea),
        )
        .unlimited()
        .endless()
        .reads_at_most(head as u64),
    );
    check_cases(&cases);
}

/// Signed chunk indexes that claim more than the input holds, or as much
/// as the limits allow from an endless input.
#[test]
fn chunk_indexes_that_claim_more_than_the_input_cost_only_what_is_read() {
    let limits = Limits::default();
    let none = Digest::default();
    let mut cases = Vec::new();

    // The largest index the limits allow, 2^20 entries (40 MiB), for
    // 64 GiB in 64 KiB chunks of one zstd byte each: first cut after the
    // head, then fed from an endless input, whose 40 MiB do not match the
    // signed index digest.
    let count = limits.max_chunks;
    let desc = descriptor(
        "max",
        Compression::Zstd,
        count * 64 * KIB,
        count,
        64 * 1024,
        b"(never read)",
        none,
    );
    let (file, head) = signed_file(vec![desc], count * 40, count, &[]);
    let head = head as u64;
    cases.push(
        case(
            "index at the limit, cut short",
            file.clone(),
            Mode::Verify,
            malformed("truncated"),
        )
        .reads_at_most(head)
        .needs_mib(1),
    );
    cases.push(
        case(
            "index at the limit, endless input",
            file,
            Mode::Verify,
            integrity("chunk index does not match"),
        )
        .endless()
        .reads_at_most(head + count * 40)
        .needs_mib(41),
    );

    // Without local caps: an index of 2^40 entries (44 TB, for u64::MAX
    // bytes in 16 MiB chunks), and 3 MiB of input. The verifier reads what
    // there is and reports the end of the input (it used to allocate the
    // declared 44 TB first, and abort).
    let desc = descriptor("x", Compression::Zstd, u64::MAX, 1, 1 << 24, b"", none);
    let index_len = desc.chunk_count * 40;
    let (file, _) = signed_file(vec![desc], index_len, 1, &[0x11; 3 << 20]);
    cases.push(
        case(
            "index of 44 TB, no cap, 3 MiB there",
            file.clone(),
            Mode::Verify,
            malformed("truncated"),
        )
        .unlimited()
        .reads_at_most(file.len() as u64)
        .needs_mib(6),
    );

    // A real, signed index of 2048 raw chunks of 16 MiB (32 GiB), and
    // 100 bytes of payload: the input ends in chunk 0.
    let chunks = 2048;
    let index = index_of(chunks, |_| 16 << 20, ChunkEncoding::Raw);
    let desc = descriptor(
        "huge.img",
        Compression::None,
        chunks << 24,
        chunks << 24,
        1 << 24,
        &index,
        none,
    );
    let rest = [index.as_slice(), &[7u8; 100]].concat();
    let (file, head) = signed_file(vec![desc.clone()], index.len() as u64, chunks << 24, &rest);
    // The class is not pinned: `spec/SPEC.md` ("Error classes") calls an
    // input that ends inside a payload's chunks `integrity`, the code and
    // the conformance vectors `malformed` (reported).
    cases.push(
        case(
            "32 GiB of chunks, 100 bytes there",
            file,
            Mode::Verify,
            Expect::Text("input ends inside chunk 0"),
        )
        .reads_at_most(head as u64 + index.len() as u64 + 100)
        .needs_mib(17),
    );
    // The same with 1 MiB chunks fed from an endless input: chunk 0 does
    // not match its digest. On two CPUs the verifier has 5 batches of
    // 2 MiB in flight (and as much decoded when streaming), besides the
    // 1.3 MiB index and its parsed entries.
    let chunks = 32 * 1024;
    let index = index_of(chunks, |_| 1 << 20, ChunkEncoding::Raw);
    let desc = descriptor(
        "huge.img",
        Compression::None,
        chunks << 20,
        chunks << 20,
        1 << 20,
        &index,
        none,
    );
    let (file, head) = signed_file(vec![desc], index.len() as u64, chunks << 20, &index);
    cases.push(
        case(
            "32 GiB of chunks, endless input",
            file.clone(),
            Mode::Verify,
            integrity("chunk 0 does not match"),
        )
        .endless()
        .reads_at_most(head as u64 + index.len() as u64 + READ_AHEAD)
        .needs_mib(14),
    );
    cases.push(
        case(
            "32 GiB of chunks, endless input, streamed",
            file,
            Mode::Stream,
            integrity("chunk 0 does not match"),
        )
        .endless()
        .reads_at_most(head as u64 + index.len() as u64 + READ_AHEAD)
        .needs_mib(24),
    );
    check_cases(&cases);
}

/// Validly signed zstd chunks that expand far beyond their declared
/// length: decompression stops at the chunk's length.
#[test]
fn zstd_bombs_behind_valid_signatures_are_stopped_at_the_chunk_length() {
    let mut cases = Vec::new();
    // 32 KiB that expand to 1 GiB, in a 1 MiB chunk.
    let file = bomb_package(1 << 20, 1, &zstd_rle_bomb(0x41, 8192));
    cases.push(
        case(
            "1 GiB bomb in a 1 MiB chunk",
            file,
            Mode::Stream,
            integrity("zstd chunk of"),
        )
        .needs_mib(3),
    );
    // 2 MiB that expand to 64 GiB, in a 16 MiB chunk.
    let file = bomb_package(1 << 24, 1, &zstd_rle_bomb(0x41, 512 * 1024));
    cases.push(
        case(
            "64 GiB bomb in a 16 MiB chunk",
            file,
            Mode::Stream,
            integrity("zstd chunk of"),
        )
        .needs_mib(18),
    );
    // 64 chunks of 1 MiB, each a 1 GiB bomb (64 GiB in all): the
    // parallel verifier decodes several at once, 5 batches of 2 MiB on
    // two CPUs.
    let file = bomb_package(1 << 20, 64, &zstd_rle_bomb(0x41, 8192));
    cases.push(
        case(
            "64 bombs of 1 GiB in 1 MiB chunks",
            file,
            Mode::Stream,
            integrity("zstd chunk of"),
        )
        .needs_mib(11),
    );
    // A frame that declares 1 TiB of content.
    let file = bomb_package(1 << 20, 1, &zstd_frame_declaring(1 << 40, 16));
    cases.push(
        case(
            "frame declaring 1 TiB",
            file,
            Mode::Stream,
            integrity("zstd chunk of"),
        )
        .needs_mib(3),
    );
    // A frame one byte short, and one byte long, of its chunk.
    for (name, sizes) in [
        (
            "frame one byte short",
            vec![128 * 1024; 7]
                .into_iter()
                .chain([128 * 1024 - 1])
                .collect::<Vec<u32>>(),
        ),
        (
            "frame one byte long",
            vec![128 * 1024; 8].into_iter().chain([1]).collect(),
        ),
    ] {
        let file = bomb_package(1 << 20, 1, &zstd_rle_frame(0x43, &sizes));
        cases.push(case(name, file, Mode::Stream, integrity("chunk 0")).needs_mib(3));
    }
    for c in &mut cases {
        c.max_consumed = c.file.len() as u64;
    }
    check_cases(&cases);
}

/// A package fetched for a catalog entry is read up to the entry's size
/// and no further, even with an endless input behind it; an entry whose
/// size or manifest digest differs from the package is refused from the
/// head alone.
#[test]
fn a_catalog_entry_bounds_what_is_read_of_its_package() {
    let (built, file) = valid_package();
    let len = file.len() as u64;
    let head = built.index_offset(1) as u64;
    let digest = built.digest();
    let entry = |size: u64, digest: Digest| Mode::Entry { size, digest };
    let size_err = integrity("the catalog entry says");
    let cases = vec![
        case(
            "entry of the right size",
            file.clone(),
            entry(len, digest),
            Expect::Ok,
        )
        .reads_at_most(len)
        .needs_mib(4),
        case(
            "entry one byte smaller",
            file.clone(),
            entry(len - 1, digest),
            size_err.clone(),
        )
        .reads_at_most(head),
        case(
            "entry one byte larger",
            file.clone(),
            entry(len + 1, digest),
            size_err.clone(),
        )
        .reads_at_most(head),
        case(
            "entry of u64::MAX bytes",
            file.clone(),
            entry(u64::MAX, digest),
            size_err,
        )
        .reads_at_most(head),
        case(
            "entry smaller than the header",
            file.clone(),
            entry(20, digest),
            malformed("truncated"),
        )
        .reads_at_most(20),
        case(
            "entry of another manifest",
            file,
            entry(len, Digest::of(b"another")),
            integrity("is not the one the catalog entry names"),
        )
        .reads_at_most(head),
    ]
    .into_iter()
    .map(Case::endless)
    .collect::<Vec<_>>();
    check_cases(&cases);
}

/// Endless input behind a valid package, behind its head, behind its
/// chunk indexes: the verifier stops at the first byte that cannot be
/// right.
#[test]
fn endless_input_behind_a_valid_head_is_rejected_early() {
    let (built, file) = valid_package();
    let len = file.len() as u64;
    let index_at = built.index_offset(1);
    let payload_at = built.payload_offset(1);
    let cases = vec![
        case(
            "endless input after the package",
            file.clone(),
            Mode::Verify,
            malformed("unexpected bytes after the last section"),
        )
        .reads_at_most(len + 1)
        .needs_mib(4),
        case(
            "endless input after the package, streamed",
            file.clone(),
            Mode::Stream,
            malformed("unexpected bytes after the last section"),
        )
        .reads_at_most(len + 1)
        .needs_mib(8),
        case(
            "endless input after the head",
            file[..index_at].to_vec(),
            Mode::Verify,
            integrity("chunk index does not match"),
        )
        .reads_at_most(payload_at as u64),
        case(
            "endless input after the chunk indexes",
            file[..payload_at].to_vec(),
            Mode::Stream,
            integrity("chunk 0 does not match"),
        )
        .reads_at_most(len)
        .needs_mib(8),
        // 0x5A in the signature record's reserved bytes.
        case(
            "endless input after the header",
            file[..HEADER_LEN].to_vec(),
            Mode::Head,
            malformed("reserved"),
        )
        .reads_at_most((HEADER_LEN + SIGNATURE_RECORD_LEN) as u64),
    ]
    .into_iter()
    .map(Case::endless)
    .collect::<Vec<_>>();
    check_cases(&cases);
}

/// The bound is not trivially met: an honest package of 16 MiB chunks
/// needs its chunk buffers, and the probe sees them.
#[test]
fn the_probe_measures_what_the_verifier_holds() {
    let keys = Keys::standard();
    let mut spec = PackageSpec::baseline("heavy");
    spec.payloads = vec![TestPayload {
        name: "noise.bin".into(),
        data: (0..16 * MIB as usize)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
        options: hpk_sign::ChunkingOptions {
            chunk_size: 1 << 24,
            compression: Compression::None,
            threads: 1,
            ..hpk_sign::ChunkingOptions::default()
        },
        executable: false,
    }];
    let file = spec.build().file(&[&keys.release]);
    let dir = tempfile::tempdir().unwrap();
    let root_path = dir.path().join("root.hpkroot");
    std::fs::write(&root_path, root_file(&standard_root(&keys), &[&keys.root])).unwrap();
    let c = case("honest 16 MiB chunk", file, Mode::Stream, Expect::Ok);
    let probed = run_probe(&c, dir.path(), &root_path);
    println!("honest 16 MiB chunk: peak {} KiB", probed.peak_kib);
    assert_eq!(probed.outcome, None);
    assert!(probed.peak_kib > 16 * 1024, "{probed:?}");
}

/// The largest chunks a package may declare (16 MiB), from an input that
/// never ends: the verifier keeps at most two batches of them (one when
/// decoding, since a decoded batch holds 32 MiB), however many cores it
/// has, so it reads at most two chunks ahead and stays under the bound.
#[test]
fn sixteen_mib_chunks_from_an_endless_input_stay_under_the_bound() {
    let none = Digest::default();
    let chunks = 2048;
    let index = index_of(chunks, |_| 16 << 20, ChunkEncoding::Raw);
    let desc = descriptor(
        "huge.img",
        Compression::None,
        chunks << 24,
        chunks << 24,
        1 << 24,
        &index,
        none,
    );
    let (file, head) = signed_file(vec![desc], index.len() as u64, chunks << 24, &index);
    let most = head as u64 + index.len() as u64 + 2 * (16 << 20);
    check_cases(&[
        case(
            "16 MiB chunks, endless input",
            file.clone(),
            Mode::Verify,
            integrity("chunk 0 does not match"),
        )
        .endless()
        .reads_at_most(most)
        .needs_mib(2 * 16),
        case(
            "16 MiB chunks, endless input, streamed",
            file,
            Mode::Stream,
            integrity("chunk 0 does not match"),
        )
        .endless()
        .reads_at_most(most)
        .needs_mib(2 * 32),
    ]);
}
