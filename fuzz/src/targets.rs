//! The fuzz targets' bodies: one function per target, each taking the raw
//! fuzz input and driving the same public entry points that callers of
//! `hpk-format` and `hpk-verify` use.
//!
//! This file is compiled twice: into the fuzz crate (`hpk_fuzz::targets`,
//! called by `fuzz_targets/*.rs`) and into the `fuzz_regressions` test of
//! `hpk-tests` (through `#[path]`), which replays every saved crash input
//! through exactly this code. So it only uses `std`, `hpk-format`,
//! `hpk-verify` and the `hpk-tests` kit.
//!
//! A target panics when a property does not hold; every other outcome,
//! including every error the library returns, is a pass.
// Panicking on a broken property is how a fuzz target reports it.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use hpk_format::{
    BaselineInfo, CHUNK_ENTRY_LEN, Canonical, Catalog, CatalogEntry, Channel, ChunkDecoder,
    ChunkEncoding, ChunkEntry, Compression, ContainerView, DeltaBase, Digest, EXT_NOTE, Extension,
    FileType, HEADER_LEN, Header, HotpatchInfo, Limits, Link, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE,
    Manifest, PackageKind, PackageName, PatchedModule, PayloadDescriptor, PayloadName, Role,
    RoleName, Roles, SIGNATURE_RECORD_LEN, SignatureRecord, Targets, Token, TrustRoot, TrustedKey,
    Version, decode, encode, encode_head, parse_chunk_index, read_head,
};
use hpk_tests::{
    DAY, Keys, T0, online_device, root_file, signed_file, standard_root, zstd_block,
    zstd_frame_header,
};
use hpk_verify::{
    Clock, Depth, DeviceProfile, Judged, Package, PayloadSink, ProfileMode, TrustedRoot, Verifier,
};
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;
use std::io;
use std::sync::OnceLock;

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// Every target: its name (the folder of its corpus and regressions) and
/// its function.
pub const TARGETS: &[(&str, Target)] = &[
    ("header", header),
    ("manifest", manifest),
    ("chunk_index", chunk_index),
    ("trust_root", trust_root),
    ("catalog", catalog),
    ("package", package),
    ("package_signed", package_signed),
    ("extract", extract),
    ("roundtrip", roundtrip),
    ("delta", delta),
];

/// The target function called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

// ---------------------------------------------------------------------------
// Fixtures, made once per process.
// ---------------------------------------------------------------------------

/// The manifest digest of the baseline the fixture devices have installed
/// (hotpatch seeds name it, so that lineage checks can pass).
pub fn installed_baseline() -> Digest {
    Digest::of(b"hpk fuzz: the installed baseline")
}

/// What every target verifies against.
pub struct Fixture {
    /// The test kit's standard keys (seeds 1 to 5, one per role).
    pub keys: Keys,
    /// The kit's standard trust root, loaded.
    pub root: TrustedRoot,
    /// The trusted time of the online checks.
    pub clock: Clock,
    /// The time lower bound of the recovery checks.
    pub recovery_clock: Clock,
    /// The kit's online device, with [`installed_baseline`] and hotpatch 1.
    pub online: DeviceProfile,
    /// The same device in the recovery profile.
    pub recovery: DeviceProfile,
    /// Default limits.
    pub limits: Limits,
    /// Default limits but 1 MiB of content per package at most, so that
    /// extraction into memory stays small (a local limit, as agents set).
    pub small_limits: Limits,
    /// A verifier for [`Fixture::root`] at [`Fixture::clock`] within
    /// [`Fixture::limits`]: the online device's.
    pub online_verifier: Verifier,
    /// The same at [`Fixture::recovery_clock`]: the recovery device's.
    pub recovery_verifier: Verifier,
    /// The same at a lower bound of 0, for packages judged for no device
    /// (nothing is expired, so only an unknown critical extension is
    /// refused, as reading payloads always refuses it).
    pub payload_verifier: Verifier,
    /// [`Fixture::payload_verifier`] within [`Fixture::small_limits`].
    pub small_payload_verifier: Verifier,
}

/// The fixture.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = Keys::standard();
        let limits = Limits::default();
        let clock = Clock::Trusted(T0 + DAY);
        let root = TrustedRoot::load(
            &root_file(&standard_root(&keys), &[&keys.root]),
            clock,
            &limits,
        )
        .expect("the kit's standard root loads");
        let mut online = online_device();
        online.installed_baseline = Some(installed_baseline());
        online.installed_hotpatch_sequence = 1;
        let mut recovery = online.clone();
        recovery.mode = ProfileMode::Recovery;
        recovery.time_lower_bound = Some(T0 + DAY);
        let recovery_clock = Clock::LowerBound(T0 + DAY);
        let online_verifier = Verifier::new(root.clone())
            .clock(clock)
            .limits(limits.clone());
        let recovery_verifier = online_verifier.clone().clock(recovery_clock);
        let payload_verifier = online_verifier.clone().clock(Clock::LowerBound(0));
        let small_limits = Limits {
            max_total_size: FIX_CAP,
            ..limits.clone()
        };
        let small_payload_verifier = payload_verifier.clone().limits(small_limits.clone());
        Fixture {
            keys,
            root,
            clock,
            recovery_clock,
            online_verifier,
            recovery_verifier,
            payload_verifier,
            small_payload_verifier,
            online,
            recovery,
            small_limits,
            limits,
        }
    })
}

// ---------------------------------------------------------------------------
// Reading structured values out of fuzz input.
// ---------------------------------------------------------------------------

/// Reads fuzz input front to back. Past the end it yields zeros, so every
/// input, however short, stands for some value.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    /// The next `n` bytes, or fewer at the end.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }

    /// `N` bytes, zero-padded.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let head = self.take(N);
        out[..head.len()].copy_from_slice(head);
        out
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// A value in `0..n` from one byte (`n` at most 256).
    pub fn below(&mut self, n: u8) -> u8 {
        if n == 0 { 0 } else { self.u8() % n }
    }

    /// A flag.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A u64 that is small most of the time and anything sometimes.
    pub fn size(&mut self) -> u64 {
        match self.below(4) {
            0 => u64::from(self.u8()),
            1 => u64::from(self.u32() & 0xFFFF),
            2 => u64::from(self.u32()),
            _ => self.u64(),
        }
    }
}

// ---------------------------------------------------------------------------
// 1. header: the hand-written parsers that run before any signature check.
// ---------------------------------------------------------------------------

/// `Header::parse` on the first 40 bytes, `SignatureRecord::parse_block` on
/// the rest, and `ContainerView::parse` and `read_head` with each file type.
pub fn header(data: &[u8]) {
    let limits = &fixture().limits;
    if let Some((fixed, rest)) = data.split_first_chunk::<HEADER_LEN>() {
        if let Ok(header) = Header::parse(fixed, limits) {
            // Every accepted header is canonical: it re-encodes to itself.
            assert_eq!(&header.to_bytes(), fixed, "header does not re-encode");
            let layout = header.layout().expect("a parsed header has a layout");
            assert!(layout.body <= layout.index && layout.index <= layout.payload);
            assert!(layout.payload <= layout.end);
        }
        if let Ok(records) = SignatureRecord::parse_block(rest) {
            assert_eq!(records.len() * SIGNATURE_RECORD_LEN, rest.len());
            for (record, raw) in records.iter().zip(rest.chunks_exact(SIGNATURE_RECORD_LEN)) {
                assert_eq!(&record.to_bytes()[..], raw, "record does not re-encode");
            }
        }
    }
    for file_type in [FileType::Package, FileType::TrustRoot, FileType::Catalog] {
        let view = ContainerView::parse(data, file_type, limits);
        let mut stream = data;
        let head = read_head(&mut stream, file_type, limits);
        if let Ok(view) = &view {
            // The sections tile the file exactly.
            let head = head
                .as_ref()
                .expect("read_head accepts what ContainerView accepts");
            assert_eq!(view.header, head.header);
            assert_eq!(view.header.file_type, file_type);
            assert_eq!(view.body, &head.body[..]);
            let mut again = view.header.to_bytes().to_vec();
            for s in &view.signatures {
                again.extend_from_slice(&s.to_bytes());
            }
            again.extend_from_slice(view.body);
            again.extend_from_slice(view.index);
            again.extend_from_slice(view.payload);
            assert_eq!(again, data, "sections do not tile the file");
        }
        if let Ok(head) = head {
            let layout = head.layout().expect("a read head has a layout");
            // read_head stops right after the body.
            assert_eq!(data.len() - stream.len(), layout.index as usize);
        }
    }
}

// ---------------------------------------------------------------------------
// 2. manifest: decoding, canonical re-encoding, the policy on what decodes.
// ---------------------------------------------------------------------------

fn assert_reencodes<T: Canonical + Debug>(value: &T, bytes: &[u8], limits: &Limits) {
    match encode(value, limits) {
        Ok(again) => assert!(
            again == bytes,
            "decoded value re-encodes differently: {value:?}"
        ),
        Err(e) => panic!("decoded value does not re-encode ({e}): {value:?}"),
    }
}

/// Facts every valid payload descriptor has.
fn check_descriptor(p: &PayloadDescriptor) {
    assert!(p.chunk_size >= MIN_CHUNK_SIZE);
    if p.compression == Compression::Unchanged {
        // The device has it: nothing stored (SPEC.md, "The unchanged payload").
        assert_eq!((p.chunk_count, p.stored_size), (0, 0));
        assert_eq!(p.index_digest, Digest::of(&[]));
        return;
    }
    assert_eq!(p.chunk_count, p.size.div_ceil(u64::from(p.chunk_size)));
    assert!(p.stored_size <= p.size);
    assert_eq!(p.chunk_len(p.chunk_count), None);
    if p.chunk_count > 0 {
        let last = p
            .chunk_len(p.chunk_count - 1)
            .expect("last chunk has a length");
        assert!(last >= 1 && last <= p.chunk_size);
        let before = (p.chunk_count - 1) * u64::from(p.chunk_size);
        assert_eq!(
            before + u64::from(last),
            p.size,
            "chunk lengths do not add up"
        );
        assert_eq!(
            p.chunk_len(0).map(u64::from),
            Some(p.size.min(p.chunk_size.into()))
        );
    }
    assert!(p.index_len().is_some());
}

/// `decode::<Manifest>`; on success `encode` gives back exactly the input,
/// and the policy runs on it for both fixture devices.
///
/// The policy runs only on an authenticated package (`Package::judge`),
/// so what decodes is signed here with the fixture key of the role its
/// kind needs, as the head of a package whose header declares the lengths
/// the manifest implies; nothing after the head is read.
pub fn manifest(data: &[u8]) {
    let f = fixture();
    let Ok(m) = decode::<Manifest>(data, &f.limits) else {
        return;
    };
    assert_reencodes(&m, data, &f.limits);
    for p in &m.payloads {
        check_descriptor(p);
    }
    let index_len = m.index_section_len();
    let payload_len = m.payload_section_len();
    assert!(index_len.is_some());
    assert!(payload_len.is_some());
    let record = package_record(m.kind.signing_role(), data);
    let Ok(head) = encode_head(
        FileType::Package,
        &[record],
        data,
        index_len.unwrap_or_default(),
        payload_len.unwrap_or_default(),
    ) else {
        return;
    };
    for (verifier, device) in [
        (&f.online_verifier, &f.online),
        (&f.recovery_verifier, &f.recovery),
    ] {
        if let Ok(package) = verifier.package(&head[..]) {
            assert_eq!(
                **package.manifest(),
                m,
                "the signed manifest is not the one decoded"
            );
            let _ = package.judge(device);
        }
    }
}

// ---------------------------------------------------------------------------
// 3. chunk_index: parse_chunk_index with a descriptor from the input.
// ---------------------------------------------------------------------------

/// Flags of the `chunk_index` input.
pub mod index_flags {
    /// The payload is zstd-compressed (else uncompressed).
    pub const ZSTD: u8 = 1;
    /// The chunk count is `ceil(size / chunk_size)`, as in a valid
    /// descriptor (else the number of whole entries in the input).
    pub const COUNT_FROM_SIZE: u8 = 2;
    /// The stored size is the sum of the entries' stored lengths (else as
    /// given).
    pub const STORED_FROM_ENTRIES: u8 = 4;
    /// The index digest is as given (else the SHA-256 of the index, so
    /// that parsing is reached).
    pub const RAW_DIGEST: u8 = 8;
}

/// The `chunk_index` input: `flags u8 || chunk_size u32 || size u64 ||
/// stored_size u64 || [index_digest 32 if RAW_DIGEST] || index`.
pub fn chunk_index_input(
    flags: u8,
    chunk_size: u32,
    size: u64,
    stored_size: u64,
    index: &[u8],
) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&chunk_size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&stored_size.to_le_bytes());
    out.extend_from_slice(index);
    out
}

/// Builds a `PayloadDescriptor` from the first bytes (see
/// [`chunk_index_input`]) and runs `parse_chunk_index` on the rest. The
/// descriptor need not be valid: the parser is public.
pub fn chunk_index(data: &[u8]) {
    use index_flags::*;
    let mut input = Input::new(data);
    let flags = input.u8();
    let chunk_size = input.u32();
    let size = input.u64();
    let stored_size = input.u64();
    let raw_digest = (flags & RAW_DIGEST != 0).then(|| Digest(input.array()));
    let index = input.rest();
    let chunk_count = if flags & COUNT_FROM_SIZE != 0 && chunk_size != 0 {
        size.div_ceil(u64::from(chunk_size))
    } else {
        (index.len() / CHUNK_ENTRY_LEN) as u64
    };
    let stored_size = if flags & STORED_FROM_ENTRIES != 0 {
        index
            .chunks_exact(CHUNK_ENTRY_LEN)
            .map(|e| u64::from(u32::from_le_bytes([e[0], e[1], e[2], e[3]])))
            .sum()
    } else {
        stored_size
    };
    let desc = PayloadDescriptor {
        name: PayloadName::new("fuzz/payload.bin").expect("valid name"),
        executable: false,
        compression: if flags & ZSTD != 0 {
            Compression::Zstd
        } else {
            Compression::None
        },
        size,
        stored_size,
        chunk_size,
        chunk_count,
        index_digest: raw_digest.unwrap_or_else(|| Digest::of(index)),
        content_digest: Digest::default(),
    };
    let Ok(entries) = parse_chunk_index(index, &desc) else {
        return;
    };
    assert_eq!(entries.len() as u64, desc.chunk_count);
    assert_eq!(entries.len() * CHUNK_ENTRY_LEN, index.len());
    assert_eq!(Digest::of(index), desc.index_digest);
    let mut total = 0u64;
    for (i, (entry, raw)) in entries
        .iter()
        .zip(index.chunks_exact(CHUNK_ENTRY_LEN))
        .enumerate()
    {
        assert_eq!(&entry.to_bytes()[..], raw, "entry {i} does not re-encode");
        let chunk_len = desc.chunk_len(i as u64).expect("entry within the payload");
        match entry.encoding {
            ChunkEncoding::Raw => assert_eq!(entry.stored_len, chunk_len),
            ChunkEncoding::Zstd => {
                assert!(matches!(
                    desc.compression,
                    Compression::Zstd | Compression::Delta(_)
                ));
                assert!(entry.stored_len >= 1 && entry.stored_len < chunk_len);
            }
            ChunkEncoding::Delta => {
                assert!(matches!(desc.compression, Compression::Delta(_)));
                assert!(entry.stored_len >= 1 && entry.stored_len < chunk_len);
            }
        }
        total += u64::from(entry.stored_len);
    }
    assert_eq!(total, desc.stored_size);
}

// ---------------------------------------------------------------------------
// 4. trust_root: decoding, loading, rotating.
// ---------------------------------------------------------------------------

/// `decode::<TrustRoot>` with round trip; `TrustedRoot::load` on the input
/// as a file; and the input as the body of a trust-root file signed by the
/// fixture's root key, both loaded and offered as the fixture root's next
/// version (so that the fuzzer reaches the code behind the signatures).
pub fn trust_root(data: &[u8]) {
    let f = fixture();
    let decoded = decode::<TrustRoot>(data, &f.limits);
    if let Ok(root) = &decoded {
        assert_reencodes(root, data, &f.limits);
    }
    if let Ok(loaded) = TrustedRoot::load(data, f.clock, &f.limits) {
        assert!(loaded.root().version >= 1);
        let _ = loaded.check_expiry(f.recovery_clock);
    }
    if data.is_empty() {
        return;
    }
    let file = signed_file(
        FileType::TrustRoot,
        data,
        &[f.keys.root.record(FileType::TrustRoot, data)],
    );
    if let Ok(loaded) = TrustedRoot::load(&file, f.clock, &f.limits) {
        let decoded = decoded.as_ref().expect("a loaded root's body decodes");
        assert_eq!(loaded.root(), decoded);
        assert_eq!(loaded.digest(), Digest::of(data));
    }
    if let Ok(next) = f.root.update(&file, &f.limits) {
        let decoded = decoded.as_ref().expect("a rotated-to root's body decodes");
        assert_eq!(next.root(), decoded);
        assert_eq!(next.root().version, f.root.root().version + 1);
        let _ = next.check_expiry(f.clock);
    }
}

// ---------------------------------------------------------------------------
// 5. catalog: decoding, verifying, resolving.
// ---------------------------------------------------------------------------

/// `decode::<Catalog>` with round trip; `Verifier::catalog_above` on the
/// input as a file; and the input as the body of a catalog signed by the
/// fixture's catalog key, verified and then planned for the fixture
/// devices (`Verifier::plan`, which judges every entry it considers).
pub fn catalog(data: &[u8]) {
    let f = fixture();
    let decoded = decode::<Catalog>(data, &f.limits);
    if let Ok(c) = &decoded {
        assert_reencodes(c, data, &f.limits);
    }
    let _ = f.online_verifier.catalog_above(data, 0);
    if data.is_empty() {
        return;
    }
    let file = signed_file(
        FileType::Catalog,
        data,
        &[f.keys.catalog.record(FileType::Catalog, data)],
    );
    let Ok(verified) = f.online_verifier.catalog_above(&file[..], 0) else {
        return;
    };
    let decoded = decoded.as_ref().expect("a verified catalog's body decodes");
    assert_eq!(&*verified, decoded);
    assert_eq!(verified.digest(), Digest::of(data));
    let entries = &verified.entries;
    for (verifier, device) in [
        (&f.online_verifier, &f.online),
        (&f.recovery_verifier, &f.recovery),
    ] {
        let plan = verifier.plan(&verified, device);
        // Every entry is either a step or skipped, exactly once.
        assert_eq!(
            plan.steps.len() + plan.skipped.len(),
            entries.len(),
            "plan loses or repeats entries: {plan:?}"
        );
        assert_eq!(
            plan.steps.is_empty(),
            plan.status != hpk_verify::PlanStatus::Update
        );
        for step in &plan.steps {
            assert!(entries.contains(&step.entry));
            assert!(kind_allowed(device.mode, &step.entry.kind));
            assert_eq!(step.restart, step.entry.restart_required);
        }
    }
}

// ---------------------------------------------------------------------------
// 6. package: full verification of the input as a package file.
// ---------------------------------------------------------------------------

/// Whether a profile installs packages of this kind (Y1; the resolver
/// never plans another).
fn kind_allowed(mode: ProfileMode, kind: &PackageKind) -> bool {
    match mode {
        ProfileMode::Online => !matches!(kind, PackageKind::Recovery),
        ProfileMode::Recovery => matches!(kind, PackageKind::Recovery | PackageKind::Baseline(_)),
    }
}

/// Opens `file` with `verifier` (one at a lower bound of 0) and judges it
/// for no device.
fn open_for_payloads<'f>(verifier: &Verifier, file: &'f [u8]) -> Option<Package<&'f [u8], Judged>> {
    verifier.package(file).ok()?.judge_without_device().ok()
}

/// Opens `file` against the fixture root, applies the policy for the
/// online fixture device and verifies every stored byte (policy or not).
///
/// A verifier holds one clock, so the file is opened once for the online
/// device (whose package, if the policy accepts it, goes on to its
/// payloads) and, if that device refused it, once more for no device at a
/// lower bound of 0 (so that the payloads of an expired package are
/// fuzzed too). The recovery device's policy is fuzzed by [`manifest`],
/// which judges every manifest it decodes for both devices: a third
/// opening here (a third signature check per input) would reach nothing
/// more behind the signature.
fn verify_package(file: &[u8]) {
    let f = fixture();
    let limits = &f.limits;
    let Ok(package) = f.online_verifier.package(file) else {
        return;
    };
    let head = package.manifest().clone();
    let header = *package.header();
    let online = package.judge(&f.online);
    let judged = match online {
        Ok(package) => Some(package),
        Err(_) => open_for_payloads(&f.payload_verifier, file),
    };
    let Some(package) = judged else {
        return;
    };
    let mut last = 0u64;
    let verified = package.verify_with_progress(Depth::Stored, &mut |done| {
        assert!(done >= last, "progress goes backwards");
        last = done;
    });
    if let Ok(verified) = verified {
        assert_eq!(verified, head);
        assert_eq!(last, header.payload_len);
        // A package that verifies is a well-formed container.
        let view = ContainerView::parse(file, FileType::Package, limits)
            .expect("a verified package splits into its sections");
        assert_eq!(Digest::of(view.body), head.digest());
        assert_eq!(
            decode::<Manifest>(view.body, limits).ok().as_ref(),
            Some(&*head)
        );
    }
}

/// `Verifier::package` on the input, the policy with the fixture devices
/// (`judge`), then `verify(Depth::Stored)`. Signatures gate everything
/// past the signature records: see [`package_signed`] for what lies
/// behind them.
pub fn package(data: &[u8]) {
    verify_package(data);
}

// ---------------------------------------------------------------------------
// 7. package_signed and extract: the input as the pieces of a package,
//    signed here with the fixture's keys.
// ---------------------------------------------------------------------------

/// Zeros to compare against (see [`digest_of`]).
static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// Whether every byte of `bytes` is zero. Compares against [`ZEROS`] (a
/// `memcmp` per 64 KiB) rather than byte by byte, so that the fuzzer's
/// instrumentation does not trace a comparison per byte.
fn all_zero(bytes: &[u8]) -> bool {
    bytes.chunks(ZEROS.len()).all(|c| c == &ZEROS[..c.len()])
}

/// The shortest run of zeros whose digest [`digest_of`] remembers.
const ZERO_MEMO_MIN: usize = 4096;

/// `Digest::of(bytes)`, but the digest of a run of zeros is computed once
/// per length and remembered. Large sections are mostly zeros (the
/// `FIX_LENGTHS` padding after the input's own bytes), and the harness
/// hashes each of them several times per input (fix-ups and checks), on
/// top of what the library hashes: this is where `package_signed` and
/// `extract` spent most of their time. The library's own hashing is
/// untouched.
pub fn digest_of(bytes: &[u8]) -> Digest {
    thread_local! {
        static ZERO_DIGESTS: RefCell<HashMap<usize, Digest>> = RefCell::new(HashMap::new());
    }
    if bytes.len() < ZERO_MEMO_MIN || !all_zero(bytes) {
        return Digest::of(bytes);
    }
    ZERO_DIGESTS.with_borrow_mut(|memo| {
        if let Some(digest) = memo.get(&bytes.len()) {
            return *digest;
        }
        if memo.len() >= 1024 {
            memo.clear();
        }
        let digest = Digest::of(bytes);
        memo.insert(bytes.len(), digest);
        digest
    })
}

/// `key.record(FileType::Package, body)`, remembered for the last bodies
/// signed. Ed25519 signatures are deterministic, so a remembered record is
/// the one signing would make again; most mutations leave the body as it
/// is (they change the flags, the index or the payload area), and the
/// signature was the largest cost of a small input after the library's
/// own verification.
fn package_record(role: RoleName, body: &[u8]) -> SignatureRecord {
    thread_local! {
        static RECORDS: RefCell<HashMap<(RoleName, Digest), SignatureRecord>> =
            RefCell::new(HashMap::new());
    }
    let key = (role, Digest::of(body));
    RECORDS.with_borrow_mut(|memo| {
        if let Some(record) = memo.get(&key) {
            return *record;
        }
        if memo.len() >= 4096 {
            memo.clear();
        }
        let record = fixture().keys.of(role).record(FileType::Package, body);
        memo.insert(key, record);
        record
    })
}

/// Flags of the pieces input of `package_signed` and `extract`.
pub mod piece_flags {
    /// Set each chunk-index entry's digest to the SHA-256 of its stored bytes.
    pub const FIX_CHUNK_DIGESTS: u8 = 1;
    /// Set each descriptor's index digest to the SHA-256 of its index.
    pub const FIX_INDEX_DIGESTS: u8 = 2;
    /// Set each descriptor's content digest to the SHA-256 of its content
    /// (when every chunk decodes).
    pub const FIX_CONTENT_DIGESTS: u8 = 4;
    /// Cut or zero-pad the index and payload pieces to the lengths the
    /// manifest implies (when at most 1 MiB).
    pub const FIX_LENGTHS: u8 = 8;
    /// Sign with the release key whatever the kind (else with the key of
    /// the role the kind needs).
    pub const SIGN_WITH_RELEASE: u8 = 16;
    /// Repeat the signature record.
    pub const SIGN_TWICE: u8 = 32;
    /// Append a byte after the payload area.
    pub const TRAILING_BYTE: u8 = 64;
    /// `extract` only: once the package has streamed, open it again and
    /// check that `verify(Depth::Stored)` agrees (a second signature check
    /// and a second pass over every chunk, so the fuzzer chooses when).
    pub const CHECK_VERIFY_AGREES: u8 = 128;
    /// Every fix-up at once.
    pub const FIX_ALL: u8 = 15;
}

/// The pieces of a package: `flags u8 || body_len u32 || index_len u32 ||
/// body || index || payload area`.
pub fn pieces_input(flags: u8, body: &[u8], index: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&(index.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(index);
    out.extend_from_slice(payload);
    out
}

/// The largest section the fix-ups pad to, and the most content they
/// decode to compute a content digest. The fuzz build of the library
/// starts its threaded paths from 64 KiB of work (see `cfg(fuzzing)` in
/// `verify/src/parallel.rs`), so 1 MiB reaches them many times over; a
/// larger cap would only make the largest inputs, which cost the most
/// time per execution, larger still.
const FIX_CAP: u64 = 1 << 20;

/// Runs `f` with this thread's chunk decoder (one zstd context, made once),
/// or returns `false` if none can be made.
fn with_decoder(f: impl FnOnce(&mut ChunkDecoder) -> bool) -> bool {
    thread_local! {
        static DECODER: RefCell<Option<ChunkDecoder>> = const { RefCell::new(None) };
    }
    DECODER.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = ChunkDecoder::new().ok();
        }
        slot.as_mut().is_some_and(f)
    })
}

/// `bytes`, cut or zero-padded to `len` when that is at most [`FIX_CAP`].
/// The padding comes from a zeroed allocation (fresh pages for large
/// sizes) rather than from growing a copy.
fn resized(bytes: &[u8], len: Option<u64>) -> Vec<u8> {
    let Some(len) = len.filter(|n| *n <= FIX_CAP) else {
        return bytes.to_vec();
    };
    let len = len as usize;
    let mut out = vec![0u8; len];
    let kept = bytes.len().min(len);
    out[..kept].copy_from_slice(&bytes[..kept]);
    out
}

/// The most decoded content [`fix_up`] keeps for [`extract`]'s checks.
const KEEP_CAP: usize = 2 * FIX_CAP as usize;

/// What [`fix_up`] makes: the re-encoded body, the index and payload
/// pieces, and what it learnt on the way ([`Learnt`]).
type FixedUp = (Vec<u8>, Vec<u8>, Vec<u8>, Learnt);

/// What the fix-ups computed, so that [`extract`]'s checks need not
/// compute it again.
#[derive(Default)]
struct Learnt {
    /// The content decoded to set content digests, with those digests (as
    /// much as [`KEEP_CAP`] allows).
    contents: Vec<(Digest, Vec<u8>)>,
    /// The SHA-256 of stored chunks, by (offset in the payload area,
    /// length).
    chunk_digests: HashMap<(usize, usize), Digest>,
}

/// Applies the fix-ups of `flags` to a decoded manifest and its pieces, and
/// re-encodes the manifest. `None` if it no longer encodes.
fn fix_up(
    mut m: Manifest,
    flags: u8,
    index: &[u8],
    payload: &[u8],
    limits: &Limits,
) -> Option<FixedUp> {
    use piece_flags::*;
    let lengths = flags & FIX_LENGTHS != 0;
    let mut index = resized(index, m.index_section_len().filter(|_| lengths));
    let payload = resized(payload, m.payload_section_len().filter(|_| lengths));
    let mut out = Vec::new();
    let mut learnt = Learnt::default();
    let mut kept = 0usize;
    let (mut at_index, mut at_payload) = (0usize, 0usize);
    for desc in &mut m.payloads {
        let Some(end) = desc
            .index_len()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| at_index.checked_add(n))
        else {
            break;
        };
        let Some(entries) = index.get_mut(at_index..end) else {
            break;
        };
        at_index = end;
        let mut content = (flags & FIX_CONTENT_DIGESTS != 0 && desc.size <= FIX_CAP)
            .then(|| Vec::with_capacity(desc.size as usize));
        for (i, entry) in entries.chunks_exact_mut(CHUNK_ENTRY_LEN).enumerate() {
            let stored_len = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let Some(stored) = at_payload
                .checked_add(stored_len as usize)
                .and_then(|end| payload.get(at_payload..end))
            else {
                content = None;
                break;
            };
            let at = at_payload;
            at_payload += stored.len();
            if flags & FIX_CHUNK_DIGESTS == 0 && content.is_none() {
                continue;
            }
            let digest = digest_of(stored);
            learnt.chunk_digests.insert((at, stored.len()), digest);
            if flags & FIX_CHUNK_DIGESTS != 0 {
                entry[8..].copy_from_slice(&digest.0);
            }
            if let Some(c) = content.as_mut() {
                let decoded = if entry[4] == 0 {
                    // A raw chunk is its stored bytes, when it has the
                    // chunk's length (what `ChunkDecoder::decode` checks,
                    // without hashing the chunk a second time).
                    (Some(stored.len() as u64) == desc.chunk_len(i as u64).map(u64::from))
                        .then_some(stored)
                } else {
                    let e = ChunkEntry {
                        stored_len,
                        encoding: ChunkEncoding::Zstd,
                        digest,
                    };
                    with_decoder(|d| d.decode(desc, i as u64, &e, stored, &mut out).is_ok())
                        .then_some(&out[..])
                };
                match decoded {
                    Some(bytes) => c.extend_from_slice(bytes),
                    None => content = None,
                }
            }
        }
        if let Some(c) = content {
            desc.content_digest = digest_of(&c);
            if kept + c.len() <= KEEP_CAP {
                kept += c.len();
                learnt.contents.push((desc.content_digest, c));
            }
        }
        if flags & FIX_INDEX_DIGESTS != 0 {
            desc.index_digest = Digest::of(entries);
        }
    }
    let body = encode(&m, limits).ok()?;
    Some((body, index, payload, learnt))
}

/// The package file the pieces input stands for: the body (fixed up as
/// the flags say, if it decodes) signed by a fixture key, the index and
/// payload pieces after it.
pub fn signed_package(data: &[u8], limits: &Limits) -> Option<Vec<u8>> {
    build_package(data, limits, u8::MAX).map(|(file, _)| file)
}

/// A package file built from a pieces input, and what the fix-ups
/// learnt (see [`fix_up`]).
type Built = (Vec<u8>, Learnt);

/// [`signed_package`], with only the flags in `honoured` acted upon, and
/// the content the fix-ups decoded.
fn build_package(data: &[u8], limits: &Limits, honoured: u8) -> Option<Built> {
    use piece_flags::*;
    let mut input = Input::new(data);
    let flags = input.u8() & honoured;
    let body_len = input.u32() as usize;
    let index_len = input.u32() as usize;
    let body = input.take(body_len);
    let index = input.take(index_len);
    let payload = input.rest();
    let decoded = decode::<Manifest>(body, limits).ok();
    let kind = decoded.as_ref().map(|m| m.kind.clone());
    let (body, index, payload, learnt) = match decoded {
        Some(m) if flags & FIX_ALL != 0 => fix_up(m, flags, index, payload, limits)?,
        _ => (
            body.to_vec(),
            index.to_vec(),
            payload.to_vec(),
            Learnt::default(),
        ),
    };
    let role = match (&kind, flags & SIGN_WITH_RELEASE != 0) {
        (Some(kind), false) => kind.signing_role(),
        _ => RoleName::Release,
    };
    let record = package_record(role, &body);
    let records = if flags & SIGN_TWICE != 0 {
        vec![record, record]
    } else {
        vec![record]
    };
    let mut file = encode_head(
        FileType::Package,
        &records,
        &body,
        index.len() as u64,
        payload.len() as u64,
    )
    .ok()?;
    // One allocation for the whole file, not one per doubling.
    file.reserve_exact(index.len() + payload.len() + 1);
    file.extend_from_slice(&index);
    file.extend_from_slice(&payload);
    if flags & TRAILING_BYTE != 0 {
        file.push(0);
    }
    Some((file, learnt))
}

/// The input as package pieces (see [`pieces_input`]), signed with the
/// fixture's keys, then verified like [`package`]: the fuzzer reaches the
/// manifest decoder, the chunk-index parser and the chunk checks behind
/// the signatures.
///
/// `FIX_CONTENT_DIGESTS` is not acted upon here: `Depth::Stored` checks
/// stored chunks, not content (that is `stream`'s, see [`extract`]), and
/// nothing else on this path reads a content digest, so computing them
/// (a SHA-256 of up to 1 MiB of content per input) would reach nothing.
pub fn package_signed(data: &[u8]) {
    let limits = &fixture().limits;
    if let Some((file, _)) = build_package(data, limits, !piece_flags::FIX_CONTENT_DIGESTS) {
        verify_package(&file);
    }
}

/// One chunk as the file holds it, read from the raw sections without the
/// library: its index entry and its stored bytes (if the file has them).
/// Its index entry, its stored bytes (if the file has them) and their
/// offset in the payload area.
type RawChunk<'f> = ([u8; CHUNK_ENTRY_LEN], Option<&'f [u8]>, usize);

/// Every payload's chunks as the file holds them, and whether the
/// payload's index bytes match its descriptor's `index_digest`.
fn raw_chunks<'f>(
    file: &'f [u8],
    manifest: &Manifest,
    limits: &Limits,
) -> Option<Vec<(bool, Vec<RawChunk<'f>>)>> {
    let (fixed, _) = file.split_first_chunk::<HEADER_LEN>()?;
    let layout = Header::parse(fixed, limits).ok()?.layout().ok()?;
    let clip = |from: u64, to: u64| {
        let len = file.len() as u64;
        file.get(from.min(len) as usize..to.min(len) as usize)
    };
    let index = clip(layout.index, layout.payload)?;
    let payload = clip(layout.payload, layout.end)?;
    let (mut at_index, mut at_payload) = (0usize, 0usize);
    let mut out = Vec::new();
    for desc in &manifest.payloads {
        let entries = desc
            .index_len()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| index.get(at_index..at_index.checked_add(n)?));
        let Some(entries) = entries else {
            out.push((false, Vec::new()));
            at_index = usize::MAX;
            continue;
        };
        at_index += entries.len();
        let chunks = entries
            .chunks_exact(CHUNK_ENTRY_LEN)
            .map(|e| {
                let mut entry = [0u8; CHUNK_ENTRY_LEN];
                entry.copy_from_slice(e);
                let stored_len = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize;
                let end = at_payload.saturating_add(stored_len);
                let stored = payload.get(at_payload..end);
                let at = at_payload;
                at_payload = end;
                (entry, stored, at)
            })
            .collect();
        out.push((Digest::of(entries) == desc.index_digest, chunks));
    }
    Some(out)
}

/// A sink that checks what [`Package::stream`] hands out.
///
/// Each chunk handed out is checked against the file's own bytes, read
/// without the library: its payload's index matches the manifest, the
/// chunk's stored bytes are in the file and match its index entry, and a
/// raw chunk is exactly its stored bytes. So no byte reaches the sink
/// before the chunk holding it is authentic, whether or not the stream
/// succeeds in the end. The content is checked as it arrives, never kept:
/// compared byte for byte with content the harness decoded itself, else
/// hashed.
struct CheckingSink<'m> {
    payloads: &'m [PayloadDescriptor],
    raw: Vec<(bool, Vec<RawChunk<'m>>)>,
    next: usize,
    current: Option<usize>,
    chunk: usize,
    len: u64,
    /// How the current payload's content is checked.
    content: Content<'m>,
    /// Payloads that ended.
    ended: usize,
    /// What the harness computed while fixing the package up.
    learnt: &'m Learnt,
}

/// How a payload's content is checked as it streams.
enum Content<'m> {
    /// Content the harness decoded and hashed itself: being those very
    /// bytes is hashing to their digest, without a second SHA-256.
    Known(&'m [u8]),
    /// Any other content, hashed as it arrives.
    Hashed(Sha256),
}

impl CheckingSink<'_> {
    fn current(&self) -> &PayloadDescriptor {
        let i = self.current.expect("data outside begin/end");
        &self.payloads[i]
    }
}

impl PayloadSink for CheckingSink<'_> {
    fn begin(&mut self, payload: &PayloadDescriptor) -> io::Result<()> {
        assert!(self.current.is_none(), "begin without end");
        assert_eq!(Some(payload), self.payloads.get(self.next), "payload order");
        self.current = Some(self.next);
        self.chunk = 0;
        self.len = 0;
        let known = self
            .learnt
            .contents
            .iter()
            .find(|(d, _)| *d == payload.content_digest);
        self.content = match known {
            Some((_, bytes)) => Content::Known(bytes),
            None => Content::Hashed(Sha256::new()),
        };
        Ok(())
    }

    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        let p = self.current.expect("data outside begin/end");
        let desc = &self.payloads[p];
        let k = self.chunk;
        assert!(!chunk.is_empty(), "empty chunk handed out");
        assert_eq!(
            Some(chunk.len() as u32),
            desc.chunk_len(k as u64),
            "chunk {k} handed out with the wrong length"
        );
        let (index_ok, chunks) = &self.raw[p];
        assert!(
            index_ok,
            "content handed out from an index the manifest does not commit to"
        );
        let (entry, stored, at) = chunks.get(k).expect("more chunks handed out than indexed");
        let stored = stored.expect("chunk handed out that the file does not hold");
        // The SHA-256 the fix-ups computed of these very bytes, if any.
        let digest = match self.learnt.chunk_digests.get(&(*at, stored.len())) {
            Some(digest) => *digest,
            None => digest_of(stored),
        };
        assert_eq!(
            digest.0[..],
            entry[8..],
            "chunk {k} handed out before its digest matched"
        );
        if entry[4] == 0 {
            assert_eq!(chunk, stored, "raw chunk {k} is not its stored bytes");
        }
        let len = self.len + chunk.len() as u64;
        assert!(len <= desc.size, "more content than declared");
        match &mut self.content {
            Content::Known(bytes) => {
                let expected = bytes.get(self.len as usize..len as usize);
                assert_eq!(
                    expected,
                    Some(chunk),
                    "payload handed out with the wrong content"
                );
            }
            Content::Hashed(hasher) => hasher.update(chunk),
        }
        self.len = len;
        self.chunk += 1;
        Ok(())
    }

    fn end(&mut self, payload: &PayloadDescriptor) -> io::Result<()> {
        assert_eq!(payload, self.current(), "end of another payload");
        assert_eq!(self.len, payload.size, "less content than declared");
        assert_eq!(self.chunk as u64, payload.chunk_count);
        // The library calls `end` only once the content SHA-256 matched.
        let content = std::mem::replace(&mut self.content, Content::Known(&[]));
        let right = match content {
            Content::Known(bytes) => bytes.len() as u64 == self.len,
            Content::Hashed(hasher) => hasher.finalize()[..] == payload.content_digest.0[..],
        };
        assert!(right, "payload handed out with the wrong content");
        self.current = None;
        self.next += 1;
        self.ended += 1;
        Ok(())
    }
}

/// Like [`package_signed`], but streams the package into a sink that
/// checks every chunk and the content as they arrive, under limits that
/// keep content at 1 MiB. On success, every payload's content hashes to
/// the manifest's content digest, and, when the input's
/// `CHECK_VERIFY_AGREES` flag is set, `verify(Depth::Stored)` agrees.
pub fn extract(data: &[u8]) {
    let f = fixture();
    let limits = &f.small_limits;
    let flags = data.first().copied().unwrap_or_default();
    let Some((file, learnt)) = build_package(data, limits, u8::MAX) else {
        return;
    };
    let verifier = &f.small_payload_verifier;
    let Some(package) = open_for_payloads(verifier, &file) else {
        return;
    };
    let manifest = package.manifest().clone();
    let mut sink = CheckingSink {
        payloads: &manifest.payloads,
        raw: raw_chunks(&file, &manifest, limits).expect("an opened package has a header"),
        next: 0,
        current: None,
        chunk: 0,
        len: 0,
        content: Content::Known(&[]),
        ended: 0,
        learnt: &learnt,
    };
    let mut last = 0u64;
    let streamed = package.stream(&mut sink, &mut |done| {
        assert!(done >= last, "progress goes backwards");
        last = done;
    });
    if streamed.is_err() {
        return;
    }
    assert_eq!(sink.next, manifest.payloads.len(), "payloads missing");
    assert!(sink.current.is_none());
    let total: u64 = manifest.payloads.iter().map(|p| p.size).sum();
    assert_eq!(last, total);
    // Each payload's content was checked against its digest at its `end`.
    assert_eq!(sink.ended, manifest.payloads.len());
    if flags & piece_flags::CHECK_VERIFY_AGREES != 0 {
        // What streams also verifies.
        let package =
            open_for_payloads(verifier, &file).expect("a package that streamed opens again");
        assert!(
            package.verify(Depth::Stored).is_ok(),
            "streams but does not verify"
        );
    }
}

// ---------------------------------------------------------------------------
// 8. roundtrip: valid values built from the input, encoded, decoded.
// ---------------------------------------------------------------------------

const TOKEN_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789._-";
const NAME_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-";
/// Characters of payload names, with some that make a name invalid
/// (filtered out): non-ASCII ones, which Unicode case mapping or
/// normalization would treat specially, and forbidden ASCII ones.
const PATH_CHARS: &[char] = &[
    'a', 'b', 'c', 'x', 'y', 'z', 'A', 'B', 'X', '0', '1', '9', '_', '-', '.', ' ', '~', 'é', 'É',
    'ß', 'Σ', 'σ', 'ς', 'ı', 'İ', 'K', 'k', 'ſ', 'ǅ', '中', '😀', '\u{301}', '*', '\\', ':',
];

/// `len` characters of `chars`, the first one among its first `leading`.
fn gen_text(input: &mut Input<'_>, len: usize, chars: &[u8], leading: u8) -> String {
    let mut text = String::with_capacity(len);
    text.push(char::from(chars[usize::from(input.below(leading))]));
    for _ in 1..len {
        text.push(char::from(
            chars[usize::from(input.below(chars.len() as u8))],
        ));
    }
    text
}

fn gen_token(input: &mut Input<'_>) -> Token {
    let len = 1 + usize::from(input.below(64));
    // The first character is a letter or a digit (the first 36).
    let text = gen_text(input, len, TOKEN_CHARS, 36);
    Token::new(&text).expect("generated token is valid")
}

fn gen_tokens(input: &mut Input<'_>, at_least_one: bool) -> Vec<Token> {
    let n = usize::from(input.below(5)) + usize::from(at_least_one);
    let mut list: Vec<Token> = (0..n).map(|_| gen_token(input)).collect();
    list.sort();
    list.dedup();
    list
}

fn gen_package_name(input: &mut Input<'_>) -> PackageName {
    let len = 1 + usize::from(input.u8() % 128);
    let text = gen_text(input, len, NAME_CHARS, 62);
    PackageName::new(&text).expect("generated package name is valid")
}

fn gen_version(input: &mut Input<'_>) -> Version {
    let n = 1 + usize::from(input.below(8));
    let wide = input.bool();
    let parts = (0..n)
        .map(|_| {
            if wide {
                input.u32()
            } else {
                u32::from(input.u8())
            }
        })
        .collect();
    let v = Version::new(parts).expect("generated version is valid");
    // Its text form round-trips too.
    assert_eq!(v.to_string().parse::<Version>().as_ref(), Ok(&v));
    v
}

fn gen_digest(input: &mut Input<'_>) -> Digest {
    Digest(input.array())
}

/// A payload name, or `None` when the characters drawn do not make a
/// valid one.
fn gen_payload_name(input: &mut Input<'_>) -> Option<PayloadName> {
    let components = 1 + usize::from(input.below(4));
    let mut text = String::new();
    for c in 0..components {
        if c > 0 {
            text.push('/');
        }
        let len = 1 + usize::from(input.below(6));
        for _ in 0..len {
            text.push(PATH_CHARS[usize::from(input.below(PATH_CHARS.len() as u8))]);
        }
    }
    let name = PayloadName::new(&text).ok()?;
    assert_eq!(name.as_str(), text);
    assert_eq!(name.components().collect::<Vec<_>>().join("/"), text);
    Some(name)
}

/// Whether `name` can join `names` in one manifest: payload names must stay
/// distinct under ASCII case folding and no name may be a folder of
/// another.
fn portable_with(names: &[&PayloadName], name: &PayloadName) -> bool {
    let new = name.as_str();
    names.iter().all(|other| {
        let old = other.as_str();
        old != new && !old.starts_with(&format!("{new}/")) && !new.starts_with(&format!("{old}/"))
    })
}

fn gen_extensions(input: &mut Input<'_>) -> Vec<Extension> {
    let n = input.below(4);
    let mut list: Vec<Extension> = (0..n)
        .map(|_| {
            let id = match input.below(3) {
                0 => EXT_NOTE,
                1 => 1 + u32::from(input.u8()),
                _ => input.u32().max(1),
            };
            let critical = input.bool();
            let len = usize::from(input.below(32));
            Extension {
                id,
                critical,
                data: input.take(len).to_vec(),
            }
        })
        .collect();
    list.sort_by_key(|e| e.id);
    list.dedup_by_key(|e| e.id);
    list
}

fn gen_targets(input: &mut Input<'_>) -> Targets {
    Targets {
        os: gen_token(input),
        architectures: gen_tokens(input, true),
        editions: gen_tokens(input, false),
        channel: if input.bool() {
            Channel::Preview
        } else {
            Channel::General
        },
        capabilities: gen_tokens(input, false),
    }
}

/// A kind, its security version and whether it needs a restart, following
/// the per-kind rules.
fn gen_kind(input: &mut Input<'_>) -> (PackageKind, u64, bool) {
    let security_version = input.size();
    match input.below(4) {
        0 => {
            let n = input.below(4);
            let mut revoked: Vec<Digest> = (0..n).map(|_| gen_digest(input)).collect();
            revoked.sort();
            revoked.dedup();
            let floor = input.u64() % security_version.saturating_add(1);
            let kind = PackageKind::Baseline(BaselineInfo {
                revoked_hotpatches: revoked,
                security_floor: floor,
            });
            (kind, security_version, true)
        }
        1 => {
            let n = input.below(4);
            let mut modules: Vec<PatchedModule> = Vec::new();
            for _ in 0..n {
                if let Some(path) = gen_payload_name(input) {
                    let digest_before = gen_digest(input);
                    modules.push(PatchedModule {
                        path,
                        digest_before,
                    });
                }
            }
            modules.sort_by(|a, b| a.path.cmp(&b.path));
            modules.dedup_by(|a, b| a.path == b.path);
            let kind = PackageKind::Hotpatch(HotpatchInfo {
                baseline: gen_digest(input),
                sequence: input.u32().max(1),
                modules,
            });
            (kind, security_version, false)
        }
        2 => (PackageKind::Standard, security_version, true),
        _ => (PackageKind::Recovery, security_version, input.bool()),
    }
}

/// Valid payload descriptors: names portable together, sizes within the
/// default limits in total.
fn gen_payloads(input: &mut Input<'_>) -> Vec<PayloadDescriptor> {
    let limits = Limits::default();
    let n = input.below(6);
    let (mut chunks, mut total) = (0u64, 0u64);
    let mut list: Vec<PayloadDescriptor> = Vec::new();
    for _ in 0..n {
        let Some(name) = gen_payload_name(input) else {
            continue;
        };
        if !portable_with(&list.iter().map(|p| &p.name).collect::<Vec<_>>(), &name) {
            continue;
        }
        let span = u64::from(MAX_CHUNK_SIZE - MIN_CHUNK_SIZE) + 1;
        let chunk_size = if input.bool() {
            MIN_CHUNK_SIZE
        } else {
            MIN_CHUNK_SIZE + (u64::from(input.u32()) % span) as u32
        };
        let room_chunks = limits.max_chunks - chunks;
        let room = (limits.max_total_size - total).min(room_chunks * u64::from(chunk_size));
        let size = input.size() % (room + 1);
        let compression = if input.bool() {
            Compression::Zstd
        } else {
            Compression::None
        };
        let stored_size = match compression {
            Compression::None | Compression::Unchanged => size,
            Compression::Zstd | Compression::Delta(_) if size == 0 => 0,
            Compression::Zstd | Compression::Delta(_) => 1 + input.size() % size,
        };
        let chunk_count = size.div_ceil(u64::from(chunk_size));
        chunks += chunk_count;
        total += size;
        list.push(PayloadDescriptor {
            name,
            executable: input.bool(),
            compression,
            size,
            stored_size,
            chunk_size,
            chunk_count,
            index_digest: gen_digest(input),
            content_digest: gen_digest(input),
        });
    }
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

fn gen_times(input: &mut Input<'_>) -> (u64, u64) {
    let created = input.size();
    let expires = created.saturating_add(1 + input.size() % u64::from(u32::MAX));
    if expires > created {
        (created, expires)
    } else {
        (created - 1, created)
    }
}

fn gen_manifest(input: &mut Input<'_>) -> Manifest {
    let name = gen_package_name(input);
    let version = gen_version(input);
    let (kind, security_version, restart_required) = gen_kind(input);
    let (created, expires) = gen_times(input);
    let targets = gen_targets(input);
    let payloads = gen_payloads(input);
    let (links, folders) = gen_links_and_folders(input, &payloads);
    Manifest {
        name,
        version,
        kind,
        security_version,
        created,
        expires: input.bool().then_some(expires),
        restart_required,
        targets,
        payloads,
        links,
        folders,
        extensions: gen_extensions(input),
    }
}

/// Links and empty folders whose names meet neither the payloads' nor
/// each other's (N9, N10), each list ascending.
fn gen_links_and_folders(
    input: &mut Input<'_>,
    payloads: &[PayloadDescriptor],
) -> (Vec<Link>, Vec<PayloadName>) {
    let mut names: Vec<PayloadName> = payloads.iter().map(|p| p.name.clone()).collect();
    let (mut links, mut folders) = (Vec::new(), Vec::new());
    for _ in 0..input.below(4) {
        let Some(name) = gen_payload_name(input) else {
            continue;
        };
        if !portable_with(&names.iter().collect::<Vec<_>>(), &name) {
            continue;
        }
        names.push(name.clone());
        if input.bool() {
            folders.push(name);
        } else if let Some(target) = gen_payload_name(input) {
            links.push(Link { name, target });
        }
    }
    links.sort_by(|a: &Link, b: &Link| a.name.cmp(&b.name));
    folders.sort();
    (links, folders)
}

fn gen_location(input: &mut Input<'_>) -> String {
    let len = 1 + usize::from(input.below(40));
    (0..len)
        .map(|_| {
            let c = PATH_CHARS[usize::from(input.below(PATH_CHARS.len() as u8))];
            if c == '\\' { '/' } else { c }
        })
        .collect()
}

fn gen_catalog(input: &mut Input<'_>) -> Catalog {
    let version = input.size().max(1);
    let (created, expires) = gen_times(input);
    let n = input.below(5);
    let mut entries: Vec<CatalogEntry> = Vec::new();
    for _ in 0..n {
        let (kind, security_version, restart_required) = gen_kind(input);
        let entry = CatalogEntry {
            name: gen_package_name(input),
            version: gen_version(input),
            kind,
            security_version,
            restart_required,
            targets: gen_targets(input),
            manifest_digest: gen_digest(input),
            size: input.size(),
            location: gen_location(input),
            delta: None,
        };
        let mut entry = entry;
        if input.bool() {
            let delta = hpk_format::DeltaOf {
                base: gen_digest(input),
                full: gen_digest(input),
            };
            // Only what validates: a full form other than itself and the base.
            if delta.full != entry.manifest_digest && delta.base != delta.full {
                entry.delta = Some(delta);
            }
        }
        if entries
            .iter()
            .all(|e| e.manifest_digest != entry.manifest_digest)
        {
            entries.push(entry);
        }
    }
    Catalog {
        version,
        created,
        expires,
        entries,
        extensions: gen_extensions(input),
    }
}

fn gen_trust_root(input: &mut Input<'_>) -> TrustRoot {
    let version = input.size().max(1);
    let (created, expires) = gen_times(input);
    let n = 1 + input.below(5);
    let mut keys: Vec<TrustedKey> = (0..n)
        .map(|_| TrustedKey {
            algorithm: hpk_format::ALG_ED25519,
            public_key: input.array(),
        })
        .collect();
    keys.sort_by_key(TrustedKey::key_id);
    keys.dedup_by_key(|k| k.key_id());
    let role = |input: &mut Input<'_>| {
        // A non-empty subset of the keys, by a bit mask.
        let mask = input.u8() | 1;
        let ids: Vec<_> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, k)| k.key_id())
            .collect();
        let threshold = 1 + u32::from(input.u8()) % ids.len() as u32;
        Role {
            threshold,
            keys: ids,
        }
    };
    // Every role but the root may be absent.
    let optional = |input: &mut Input<'_>| input.bool().then(|| role(input));
    let roles = Roles {
        root: role(input),
        release: optional(input),
        hotpatch: optional(input),
        recovery: optional(input),
        catalog: optional(input),
    };
    TrustRoot {
        version,
        created,
        expires,
        keys,
        roles,
        extensions: gen_extensions(input),
    }
}

fn check_roundtrip<T: Canonical + PartialEq + Debug>(value: &T) {
    let limits = Limits::default();
    let bytes = match encode(value, &limits) {
        Ok(bytes) => bytes,
        Err(e) => panic!("a valid value does not encode ({e}): {value:?}"),
    };
    match decode::<T>(&bytes, &limits) {
        Ok(back) => assert!(&back == value, "decodes to another value: {value:?}"),
        Err(e) => panic!("an encoded value does not decode ({e}): {value:?}"),
    }
}

/// A valid manifest, catalog or trust root built from the input (first
/// byte chooses), encoded, decoded: the same value comes back.
pub fn roundtrip(data: &[u8]) {
    let mut input = Input::new(data);
    match input.below(3) {
        0 => check_roundtrip(&gen_manifest(&mut input)),
        1 => check_roundtrip(&gen_catalog(&mut input)),
        _ => check_roundtrip(&gen_trust_root(&mut input)),
    }
}

// ---------------------------------------------------------------------------
// 10. delta: one delta chunk decoded against a base, compared with an
//     independent reading of SPEC.md D1–D4.
// ---------------------------------------------------------------------------

/// The flags byte of the `delta` target's input.
pub mod delta_flags {
    /// The rest after the base is a mode and five decoded streams, which
    /// the target frames into stored bytes and also reads with the
    /// reference (else the rest is the stored bytes as they are).
    pub const WRAP: u8 = 1;
    /// With [`WRAP`]: the input's bytes after the fifth stream follow the
    /// last frame in the stored bytes (else they are ignored). When there
    /// are any, D1 refuses the chunk.
    pub const TRAILER: u8 = 2;
    /// With [`WRAP`]: an empty stream is a frame of content size 0 (else
    /// no frame, length 0). When a stream is empty, D1 refuses the chunk.
    pub const EMPTY_FRAMES: u8 = 4;
    /// With [`WRAP`]: before framing, the harness repairs the streams as
    /// [`fixed_delta_streams`] says (what a fuzzer rarely guesses: the
    /// lengths adding up to the chunk, each stream as long as the ops
    /// need), so that mutations stay near chunks that decode.
    pub const FIX_STREAMS: u8 = 8;
}

/// Input layout of the `delta` target: a flags byte ([`delta_flags`]),
/// the chunk length (`u32`, taken modulo 70,000, plus 1), the base length
/// (`u32`, modulo 65,536), the base, then the rest: with
/// [`delta_flags::WRAP`], [`delta_streams_input`]; else the stored bytes.
pub fn delta_input(flags: u8, chunk_len: u32, base: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(chunk_len - 1).to_le_bytes());
    out.extend_from_slice(&(base.len() as u32).to_le_bytes());
    out.extend_from_slice(base);
    out.extend_from_slice(rest);
    out
}

/// The rest of a wrapped `delta` input: `mode u8`, then each of the five
/// decoded streams (ops, s1, s2, s3, ins) as its length (`u32`) and its
/// bytes. (In an input, a length past the end takes what is left.)
pub fn delta_streams_input(mode: u8, streams: [&[u8]; 5]) -> Vec<u8> {
    let mut out = vec![mode];
    for s in streams {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s);
    }
    out
}

/// A single-segment frame of raw blocks holding `body` exactly (one empty
/// raw block when `body` is empty).
pub fn raw_block_frame(body: &[u8]) -> Vec<u8> {
    let mut out = zstd_frame_header(body.len() as u64, 0);
    let blocks: Vec<&[u8]> = if body.is_empty() {
        vec![&[][..]]
    } else {
        body.chunks(128 * 1024).collect()
    };
    for (i, b) in blocks.iter().enumerate() {
        out.extend(zstd_block(0, b.len() as u32, i + 1 == blocks.len(), b));
    }
    out
}

/// The stored bytes of a delta chunk (D1): `mode`, the five frames'
/// lengths (`u32`), then the frames: for each non-empty stream, a frame of
/// raw blocks with its exact `Frame_Content_Size`; for an empty one, no
/// frame (length 0), or with `empty_frames` a frame of content size 0.
pub fn delta_stored(mode: u8, streams: [&[u8]; 5], empty_frames: bool) -> Vec<u8> {
    let frames = streams.map(|s| {
        if s.is_empty() && !empty_frames {
            Vec::new()
        } else {
            raw_block_frame(s)
        }
    });
    let mut out = vec![mode];
    for f in &frames {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    }
    for f in &frames {
        out.extend_from_slice(f);
    }
    out
}

/// D2's varint read plainly: big-endian base 128, at most 10 bytes, the
/// first not 0x80, at most 2^64 − 1; advances `*at` past it.
fn reference_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let start = *at;
    let mut value: u128 = 0;
    for i in 0..10 {
        let byte = *data.get(start + i)?;
        if i == 0 && byte == 0x80 {
            return None;
        }
        value = value * 128 + u128::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            *at = start + i + 1;
            return u64::try_from(value).ok();
        }
    }
    None
}

/// Appends `value` as a varint of D2 (big-endian base 128, minimal): the
/// harness's own writer, for repairs and seeds.
pub fn put_plain_varint(out: &mut Vec<u8>, value: u64) {
    let mut groups = vec![(value & 0x7F) as u8];
    let mut rest = value >> 7;
    while rest != 0 {
        groups.push((rest & 0x7F) as u8 | 0x80);
        rest >>= 7;
    }
    out.extend(groups.iter().rev());
}

/// The repair of [`delta_flags::FIX_STREAMS`], or `None` when the ops
/// stream does not reach the end of its kinds. The ops are written again
/// (each op's length as read, or 1 where none can be read, the last set
/// so that all add up to `chunk_len` when the others add up to less; each
/// seek as read, or 0; nothing after the last seek); `ins` is cut or
/// padded with zeros to the insert ops' total; in mode 0 `s1` to the add
/// ops' total; in any other mode `s2` and `s3` to the bytes the zero
/// runs of `s1` take from each, padded with 1 (a total over the chunk's
/// length leaves its stream as it is).
pub fn fixed_delta_streams(
    mode: u8,
    streams: [&[u8]; 5],
    chunk_len: usize,
) -> Option<[Vec<u8>; 5]> {
    let [ops, s1, s2, s3, ins] = streams;
    let c = chunk_len as u128;
    let mut at = 0usize;
    let count = reference_varint(ops, &mut at)?;
    let kinds = ops.get(at..at.checked_add(usize::try_from(count).ok()?)?)?;
    at += kinds.len();
    let mut lens: Vec<u64> = kinds
        .iter()
        .map(|_| reference_varint(ops, &mut at).unwrap_or(1))
        .collect();
    if let Some((last, others)) = lens.split_last_mut() {
        let sum: u128 = others.iter().map(|&l| u128::from(l)).sum();
        if sum < c {
            *last = (c - sum) as u64;
        }
    }
    let seeks: Vec<u64> = kinds
        .iter()
        .filter(|&&k| k != 2)
        .map(|_| reference_varint(ops, &mut at).unwrap_or(0))
        .collect();
    let mut new_ops = Vec::new();
    put_plain_varint(&mut new_ops, count);
    new_ops.extend_from_slice(kinds);
    for &v in lens.iter().chain(&seeks) {
        put_plain_varint(&mut new_ops, v);
    }
    let total = |kind: u8| -> u128 {
        kinds
            .iter()
            .zip(&lens)
            .filter(|(k, _)| **k == kind)
            .map(|(_, &l)| u128::from(l))
            .sum()
    };
    let resized = |s: &[u8], n: u128, fill: u8| {
        let mut v = s.to_vec();
        if n <= c {
            v.resize(n as usize, fill);
        }
        v
    };
    let a = total(1);
    let (s1, s2, s3) = if mode == 0 {
        (resized(s1, a, 0), s2.to_vec(), s3.to_vec())
    } else {
        let (mut at, mut pos, mut n2, mut n3) = (0usize, 0u128, 0u128, 0u128);
        while at < s1.len() {
            let Some(g) = reference_varint(s1, &mut at) else {
                break;
            };
            let q = pos + u128::from(g);
            if q >= a {
                break;
            }
            if g == 0 && pos > 0 {
                n3 += 1;
            } else {
                n2 += 1;
            }
            pos = q + 1;
        }
        (s1.to_vec(), resized(s2, n2, 1), resized(s3, n3, 1))
    };
    Some([new_ops, s1, s2, s3, resized(ins, total(2), 0)])
}

/// D2's zigzag undone plainly: even `u` is `u / 2`, odd is `−(u + 1) / 2`.
fn reference_seek(u: u64) -> i128 {
    let half = i128::from(u / 2);
    if u.is_multiple_of(2) { half } else { -half - 1 }
}

/// D1–D4 read plainly: the chunk of `chunk_len` bytes that `mode` and the
/// five decoded streams (ops, s1, s2, s3, ins; empty means the frame is
/// not there, a frame that is there holds exactly its stream) rebuild from
/// `base`, or `None`.
pub(crate) fn reference_delta(
    mode: u8,
    streams: [&[u8]; 5],
    base: &[u8],
    chunk_len: usize,
) -> Option<Vec<u8>> {
    let [ops, s1, s2, s3, ins] = streams;
    let c = chunk_len as u64;
    let max_ops = c / 16 + 1;
    // D1: the mode, and the ops stream, there and within its bound.
    if mode > 1 || ops.is_empty() || ops.len() as u64 > 10 + 15 * max_ops {
        return None;
    }
    // D2: the ops in columns.
    let mut at = 0usize;
    let count = reference_varint(ops, &mut at)?;
    if count == 0 || count > max_ops {
        return None;
    }
    let kinds = ops.get(at..at + count as usize)?;
    at += count as usize;
    let mut list: Vec<(u8, usize, i128)> = Vec::new();
    for &kind in kinds {
        let len = reference_varint(ops, &mut at)?;
        if kind > 2 || len == 0 || len > c {
            return None;
        }
        list.push((kind, len as usize, 0));
    }
    for op in list.iter_mut().filter(|op| op.0 != 2) {
        op.2 = reference_seek(reference_varint(ops, &mut at)?);
    }
    if at != ops.len() {
        return None;
    }
    // D3: the ops write exactly the chunk.
    if list.iter().map(|op| op.1).sum::<usize>() != chunk_len {
        return None;
    }
    let sum_of = |kind: u8| -> usize { list.iter().filter(|op| op.0 == kind).map(|op| op.1).sum() };
    let (a, i) = (sum_of(1), sum_of(2));
    // D2: ins there if and only if I > 0, holding I bytes.
    if ins.len() != i {
        return None;
    }
    if a == 0 && mode != 0 {
        return None;
    }
    let adds = if mode == 0 {
        // s1 there if and only if A > 0, holding A bytes; no s2, no s3.
        if s1.len() != a || !s2.is_empty() || !s3.is_empty() {
            return None;
        }
        s1.to_vec()
    } else {
        if s1.is_empty() || s1.len() > a || s2.len() + s3.len() > a {
            return None;
        }
        let mut d = vec![0u8; a];
        let (mut at, mut next2, mut next3, mut pos) = (0usize, 0usize, 0usize, 0u128);
        while at < s1.len() {
            let g = reference_varint(s1, &mut at)?;
            let q = pos + u128::from(g);
            if q >= a as u128 {
                return None;
            }
            let byte = if g == 0 && pos > 0 {
                next3 += 1;
                *s3.get(next3 - 1)?
            } else {
                next2 += 1;
                *s2.get(next2 - 1)?
            };
            if byte == 0 {
                return None;
            }
            d[q as usize] = byte;
            pos = q + 1;
        }
        if next2 != s2.len() || next3 != s3.len() {
            return None;
        }
        d
    };
    // D3, D4: the ops in order, the cursor in i128.
    let (mut add, mut insert) = (&adds[..], ins);
    let mut cursor: i128 = 0;
    let mut out = Vec::with_capacity(chunk_len);
    for (kind, len, seek) in list {
        if kind == 2 {
            out.extend_from_slice(&insert[..len]);
            insert = &insert[len..];
            continue;
        }
        let p = cursor + seek;
        if p < 0 || p + len as i128 > base.len() as i128 {
            return None;
        }
        let run = &base[p as usize..p as usize + len];
        if kind == 1 {
            out.extend(run.iter().zip(&add[..len]).map(|(b, d)| b.wrapping_add(*d)));
            add = &add[len..];
        } else {
            out.extend_from_slice(run);
        }
        cursor = p + len as i128;
    }
    Some(out)
}

/// `ChunkDecoder::decode_with_base` on one delta chunk: never a panic;
/// any success is exactly the chunk's length; when the target framed the
/// streams itself ([`delta_flags::WRAP`]), it accepts exactly what the
/// reference accepts and gives the same bytes.
pub fn delta(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let chunk_len = (input.u32() % 70_000 + 1) as usize;
    let base_len = (input.u32() % 65_536) as usize;
    let base = input.take(base_len).to_vec();
    let (stored, expected) = if flags & delta_flags::WRAP != 0 {
        let mode = input.u8();
        let streams: [&[u8]; 5] = std::array::from_fn(|_| {
            let len = input.u32() as usize;
            input.take(len)
        });
        let trailer = input.rest();
        let fixed;
        let repaired = (flags & delta_flags::FIX_STREAMS != 0)
            .then(|| fixed_delta_streams(mode, streams, chunk_len))
            .flatten();
        let streams = match repaired {
            Some(f) => {
                fixed = f;
                std::array::from_fn(|i| &fixed[i][..])
            }
            None => streams,
        };
        let empty_frames = flags & delta_flags::EMPTY_FRAMES != 0;
        let mut stored = delta_stored(mode, streams, empty_frames);
        let mut expected = reference_delta(mode, streams, &base, chunk_len);
        // D1: nothing follows frame_ins; a frame holds at least 1 byte.
        if flags & delta_flags::TRAILER != 0 && !trailer.is_empty() {
            stored.extend_from_slice(trailer);
            expected = None;
        }
        if empty_frames && streams.iter().any(|s| s.is_empty()) {
            expected = None;
        }
        (stored, Some(expected))
    } else {
        (input.rest().to_vec(), None)
    };
    let desc = PayloadDescriptor {
        name: PayloadName::new("delta.bin").unwrap(),
        executable: false,
        compression: Compression::Delta(DeltaBase {
            digest: Digest::of(&base),
            size: base.len() as u64,
        }),
        size: chunk_len as u64,
        stored_size: stored.len() as u64,
        chunk_size: (chunk_len as u32).max(MIN_CHUNK_SIZE),
        chunk_count: 1,
        index_digest: Digest::default(),
        content_digest: Digest::default(),
    };
    let entry = ChunkEntry {
        stored_len: stored.len() as u32,
        encoding: ChunkEncoding::Delta,
        digest: Digest::of(&stored),
    };
    let mut out = Vec::new();
    let got = with_decoder(|d| {
        d.decode_with_base(&desc, 0, &entry, &stored, &mut out, Some(&base))
            .is_ok()
    });
    if got {
        assert_eq!(
            out.len(),
            chunk_len,
            "a delta chunk decoded to another length"
        );
    }
    if let Some(expected) = expected {
        assert_eq!(got, expected.is_some(), "decoder and reference disagree");
        if let Some(expected) = expected {
            assert!(out == expected, "decoder and reference rebuild other bytes");
        }
    }
}
