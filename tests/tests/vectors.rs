//! The conformance vectors of `spec/vectors/` through every entry point:
//!
//! - library, in memory: `Verifier::package_of_len` + policy + header
//!   depth over the whole file, then `ContainerView` split,
//!   `parse_chunk_index` and `ChunkDecoder` over slices (`memory`);
//! - library, streaming: `Verifier::package` + policy (`head`), then
//!   `verify(Depth::Stored)` (`verify-payloads`), `verify(Depth::Full)`
//!   (`verify-full`), `stream` into a `MemorySink` (`stream`), the
//!   `payloads()` reader, each payload read to its end (`payloads`), or
//!   `extract` into a new folder (`extract-dir`); the same after
//!   `Verifier::fetched` for fetched-package vectors;
//! - the `hpk` command line: `hpk verify --header-only`, `hpk verify`,
//!   `hpk verify --deep`, `hpk extract` for packages, `hpk root verify` (a
//!   whole rotation chain in one call) for trust roots, `hpk catalog verify` for catalogs.
//!
//! The device's files of a package vector (its `base` lines, the files of
//! `spec/vectors/bases/`) are laid out by payload name in a new folder
//! and given to every entry point that decodes content:
//! `with_bases(BaseDir)` in the library, `--base-dir` on the command line
//! (`memory` checks and reads them itself). `verify-full`, `payloads`,
//! `extract-dir` and `hpk extract` always get that folder, empty when
//! the vector has no `base` line; `stream` and `hpk verify --deep` get it
//! only when there is one, so that a package read with no base folder at
//! all is tested too. Stored-depth entry points (`verify-payloads`,
//! `hpk verify`) never get one: they need none (SPEC.md D5).
//!
//! Resolver vectors (`plan-*.vec`, with `expect_plan`) also go through the
//! library resolver (`Verifier::plan`, its plan turned into an `hpk-plan/1`
//! document) and `hpk plan --json`; each document must equal the one in
//! `spec/vectors/plans/` once `file` and every `skipped[].detail` are
//! removed (`spec/SPEC.md`, Appendix A).
//!
//! Each entry point checks to a depth (header, full, extract). At or past
//! a vector's `check` depth it must report exactly `expect`; before it, it
//! may not see the fault yet, so it must report success or `expect`. A
//! failed extraction must leave nothing (no target, no staging folder
//! beside it); a successful one
//! must produce exactly the `payload_sha256` contents.
//!
//! The command line is the `hpk` binary of this workspace: the tests run
//! `cargo build -p hpk-cli --bin hpk` once (a no-op when it is up to date)
//! into the target folder the test itself was built in, and run
//! `<target>/<profile>/hpk`. Set `HPK_BIN` to test another binary (for
//! example another implementation of the same command line).
//!
//! Also: the committed vectors are exactly what the generator makes now,
//! and there are enough of them, covering every policy reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    BaseRead, ChunkDecoder, Compression, ContainerView, Digest, FileType, Limits, PayloadError,
    parse_chunk_index,
};
use hpk_tests::hpk_binary;
use hpk_tests::verify::MemorySink;
use hpk_vectors::Vector;
use hpk_verify::{
    BaseDir, CatalogError, Clock, DeviceProfile, ExtractError, FetchError, Judged, NotApplicable,
    Package, Plan, ProfileMode, Reason, RootError, TrustedRoot, Verifier, VerifyError,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

// ---------------------------------------------------------------------------
// Reading the vectors.
// ---------------------------------------------------------------------------

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

/// Every committed vector, sorted by name.
fn load_vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(vectors_dir()).expect("spec/vectors") {
        let path = entry.expect("entry").path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".vec"))
        else {
            continue;
        };
        let bytes = std::fs::read(&path).expect("read vector");
        out.push(Vector::parse(name, &bytes).unwrap_or_else(|e| panic!("{e}")));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!out.is_empty(), "no vectors in {}", vectors_dir().display());
    out
}

/// How deep an entry point checks a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Depth {
    Header,
    Full,
    Extract,
}

fn depth_of(v: &Vector) -> Depth {
    match v.get("check") {
        None | Some("header") => Depth::Header,
        Some("full") => Depth::Full,
        Some("extract") => Depth::Extract,
        Some(other) => panic!("{}: unknown check {other:?}", v.name),
    }
}

/// The inputs a vector names, resolved.
struct Setup {
    limits: Limits,
    clock: Clock,
    time: u64,
    root_path: Option<PathBuf>,
    chain: Vec<PathBuf>,
    device_path: Option<PathBuf>,
    device: Option<DeviceProfile>,
    last_seen: u64,
    payloads: Vec<(String, String)>,
    /// The device's files (`base` lines): payload name, bytes.
    bases: Vec<(String, Vec<u8>)>,
}

/// The device's files a vector names (`base: NAME HEX`), read from
/// `bases/HEX`, whose SHA-256 must be HEX; at most one per payload name.
fn base_files(v: &Vector) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in v.get_all("base") {
        let (name, hex) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("{}: base {line:?} is not `NAME HEX`", v.name));
        assert!(
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{}: base {line:?}: not a lowercase SHA-256",
            v.name
        );
        let path = vectors_dir().join("bases").join(hex);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {}: {e}", v.name, path.display()));
        assert_eq!(
            Digest::of(&bytes).to_hex(),
            hex,
            "{}: {} is not named by its SHA-256",
            v.name,
            path.display()
        );
        assert!(
            !out.iter().any(|(n, _)| n == name),
            "{}: two base lines for {name}",
            v.name
        );
        out.push((name.to_owned(), bytes));
    }
    out
}

/// The device's files of `s` laid out by payload name in a new folder
/// (empty without `base` lines), as `BaseDir` and `--base-dir` read them.
fn base_folder(s: &Setup) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in &s.bases {
        let path = name
            .split('/')
            .fold(dir.path().to_path_buf(), |p, c| p.join(c));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("base folder");
        std::fs::write(&path, bytes).expect("write base");
    }
    dir
}

fn setup(v: &Vector) -> Setup {
    let dir = vectors_dir();
    let time: u64 = v.get("time").unwrap().parse().expect("time");
    let clock = match v.get("clock") {
        Some("trusted") => Clock::Trusted(time),
        Some("lower-bound") => Clock::LowerBound(time),
        other => panic!("{}: clock {other:?}", v.name),
    };
    let root_path = match v.get("root") {
        Some("inline") => None,
        Some(name) => Some(dir.join("roots").join(name)),
        None => panic!("{}: no root", v.name),
    };
    let chain = v
        .get("chain")
        .map(|c| {
            c.split(',')
                .map(|n| dir.join("roots").join(n.trim()))
                .collect()
        })
        .unwrap_or_default();
    let device_path = v.get("device").map(|d| dir.join("devices").join(d));
    let device = device_path.as_ref().map(|p| {
        DeviceProfile::from_toml(&std::fs::read_to_string(p).expect("device file"))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    });
    // The command line judges time as a lower bound exactly under the
    // recovery profile, so the vectors keep the two together.
    let recovery = device
        .as_ref()
        .is_some_and(|d| d.mode == ProfileMode::Recovery);
    assert_eq!(
        matches!(clock, Clock::LowerBound(_)),
        recovery,
        "{}: a lower-bound clock goes with the recovery profile, and only with it",
        v.name
    );
    let payloads = v
        .get_all("payload_sha256")
        .map(|line| {
            let (hex, name) = line.split_once(' ').expect("payload_sha256: HEX NAME");
            (name.to_owned(), hex.to_owned())
        })
        .collect();
    Setup {
        limits: Limits::default(),
        clock,
        time,
        root_path,
        chain,
        device_path,
        device,
        last_seen: v
            .get("last_seen")
            .map(|s| s.parse().expect("last_seen"))
            .unwrap_or(0),
        payloads,
        bases: base_files(v),
    }
}

// ---------------------------------------------------------------------------
// Outcomes: "success", a class name, or "policy:<reason>".
// ---------------------------------------------------------------------------

/// What an entry point did: accepted (with the payloads it produced, if
/// it produces any: name, SHA-256 hex), or refused with an outcome name.
type Outcome = Result<Option<Vec<(String, String)>>, String>;

fn not_applicable(n: &NotApplicable) -> String {
    format!("policy:{}", n.reason.as_str())
}

/// A payload error's outcome: its class, with the stable name
/// `missing-base` for a missing or different base (SPEC.md D5).
fn payload_outcome(e: &PayloadError) -> String {
    match e {
        PayloadError::MissingBase { .. } => format!("{}:missing-base", e.class().as_str()),
        other => other.class().as_str().to_owned(),
    }
}

fn verify_outcome(e: &VerifyError) -> String {
    match e {
        VerifyError::NotApplicable(n) => not_applicable(n),
        // The class the error gives (policy) with the stable name.
        VerifyError::Payload(PayloadError::MissingBase { .. }) => {
            format!("{}:missing-base", e.class().as_str())
        }
        other => other.class().as_str().to_owned(),
    }
}

fn root_outcome(e: &RootError) -> String {
    match e.reason() {
        Some(r) => format!("policy:{}", r.as_str()),
        None => e.class().as_str().to_owned(),
    }
}

fn catalog_outcome(e: &CatalogError) -> String {
    match e.reason() {
        Some(r) => format!("policy:{}", r.as_str()),
        None => e.class().as_str().to_owned(),
    }
}

/// Compares what an entry point did with the vector; returns a complaint.
fn judge(v: &Vector, entry: &str, depth: Depth, got: &Outcome) -> Option<String> {
    let want = v.expect();
    let sees_fault = depth >= depth_of(v);
    match got {
        Ok(payloads) => {
            if want != "success" && sees_fault {
                return Some(format!("{}: {entry}: accepted, expected {want}", v.name));
            }
            if want == "success"
                && let Some(p) = payloads
            {
                let expected = setup(v).payloads;
                if *p != expected {
                    return Some(format!(
                        "{}: {entry}: payloads {p:?}, expected {expected:?}",
                        v.name
                    ));
                }
            }
            None
        }
        Err(out) if out == want => None,
        Err(out) => Some(format!(
            "{}: {entry}: {out}, expected {want}{}",
            v.name,
            if sees_fault { "" } else { " or success" }
        )),
    }
}

// ---------------------------------------------------------------------------
// Library entry points.
// ---------------------------------------------------------------------------

/// The catalog entry a fetched-package vector names: its size and
/// manifest digest, the only fields fetching judges (VF1–VF3); the copied
/// manifest fields are placeholders, which VF5 says are not judged.
fn fetch_entry(v: &Vector) -> hpk_format::CatalogEntry {
    let size = v
        .get("entry_size")
        .and_then(|n| n.parse().ok())
        .expect("entry_size");
    let manifest_digest = v
        .get("entry_manifest_digest")
        .and_then(Digest::from_hex)
        .expect("entry_manifest_digest");
    let token = |t: &str| hpk_format::Token::new(t).expect("token");
    hpk_format::CatalogEntry {
        name: hpk_format::PackageName::new("placeholder").expect("name"),
        version: "1".parse().expect("version"),
        kind: hpk_format::PackageKind::Standard,
        security_version: 0,
        restart_required: true,
        targets: hpk_format::Targets {
            os: token("windows"),
            architectures: vec![token("x64")],
            editions: Vec::new(),
            channel: hpk_format::Channel::General,
            capabilities: Vec::new(),
        },
        manifest_digest,
        size,
        location: "placeholder.hpk".into(),
        delta: None,
    }
}

fn fetch_outcome(e: &FetchError) -> String {
    match e {
        FetchError::Verify(e) => verify_outcome(e),
        other => other.class().as_str().to_owned(),
    }
}

/// `Verifier::fetched` (VF1–VF3, then the head of VF4) and the policy.
fn fetch_open<'a>(
    v: &'a Vector,
    s: &Setup,
    root: &TrustedRoot,
) -> Result<Package<std::io::Take<&'a [u8]>, Judged>, String> {
    let package = verifier(s, root)
        .fetched(&fetch_entry(v), &v.bytes[..])
        .map_err(|e| fetch_outcome(&e))?;
    policy(package, s)
}

fn lib_fetch_verify_payloads(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    fetch_open(v, s, root)?
        .verify(hpk_verify::Depth::Stored)
        .map(|_| None)
        .map_err(|e| verify_outcome(&e))
}

fn lib_fetch_stream(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    let mut sink = MemorySink::default();
    let bases = base_folder(s);
    with_bases(fetch_open(v, s, root)?, s, bases.path(), false)
        .stream(&mut sink, &mut |_| {})
        .map_err(|e| verify_outcome(&e))?;
    Ok(Some(digests(&sink.payloads)))
}

/// The package with the device's files in `folder` as its bases
/// (`BaseDir`): always if `always`, else only when the vector has `base`
/// lines.
fn with_bases<R>(
    package: Package<R, Judged>,
    s: &Setup,
    folder: &Path,
    always: bool,
) -> Package<R, Judged> {
    if always || !s.bases.is_empty() {
        package.with_bases(Arc::new(BaseDir::new(folder)))
    } else {
        package
    }
}

fn package_root(v: &Vector, s: &Setup) -> TrustedRoot {
    let path = s.root_path.as_ref().expect("a package vector names a root");
    let bytes = std::fs::read(path).expect("root file");
    TrustedRoot::load(&bytes, s.clock, &s.limits)
        .unwrap_or_else(|e| panic!("{}: its trust root does not load: {e}", v.name))
}

/// The verifier a vector names: its root, clock and limits.
fn verifier(s: &Setup, root: &TrustedRoot) -> Verifier {
    Verifier::new(root.clone())
        .clock(s.clock)
        .limits(s.limits.clone())
}

/// The policy as the command line applies it: the device's whole policy,
/// or without a device what needs none (critical extensions, time).
fn policy<R: std::io::Read>(package: Package<R>, s: &Setup) -> Result<Package<R, Judged>, String> {
    match &s.device {
        Some(d) => package.judge(d),
        None => package.judge_without_device(),
    }
    .map_err(|refused| not_applicable(&refused.reason))
}

fn digests(payloads: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    payloads
        .iter()
        .map(|(n, d)| (n.clone(), Digest::of(d).to_hex()))
        .collect()
}

/// `ContainerView` over the whole file, every check done on slices.
fn lib_memory(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    let class = |c: hpk_format::ErrorClass| c.as_str().to_owned();
    // The normative order: the head, its signatures and manifest, the
    // policy, then the length of the whole file (C16: header depth on an
    // input of known length), and only then the split into sections.
    let package = verifier(s, root)
        .package_of_len(&v.bytes[..], Some(v.bytes.len() as u64))
        .map_err(|e| verify_outcome(&e))?;
    let verified = policy(package, s)?
        .verify(hpk_verify::Depth::Header)
        .map_err(|e| verify_outcome(&e))?;
    let view = ContainerView::parse(&v.bytes, FileType::Package, &s.limits)
        .map_err(|e| class(e.class()))?;
    let mut decoder = ChunkDecoder::new().map_err(|e| class(e.class()))?;
    // P1–P4: every chunk index, before any stored byte.
    let mut index_at = 0usize;
    let mut indexes = Vec::new();
    for desc in &verified.payloads {
        let len = desc.index_len().expect("bounded by the head's checks") as usize;
        let index = view
            .index
            .get(index_at..index_at + len)
            .ok_or("malformed")?;
        index_at += len;
        indexes.push(parse_chunk_index(index, desc).map_err(|e| payload_outcome(&e))?);
    }
    // D5: every base, by payload name, against the size and SHA-256 the
    // manifest names, before any stored byte.
    let mut bases: Vec<Option<&Vec<u8>>> = Vec::new();
    for desc in &verified.payloads {
        let Some(want) = desc.base() else {
            bases.push(None);
            continue;
        };
        let file = s
            .bases
            .iter()
            .find(|(n, _)| n == desc.name.as_str())
            .map(|(_, bytes)| bytes)
            .filter(|b| b.len() as u64 == want.size && Digest::of(b) == want.digest)
            .ok_or("policy:missing-base")?;
        bases.push(Some(file));
    }
    let mut stored_at = 0usize;
    let mut out = Vec::new();
    for ((desc, entries), base) in verified.payloads.iter().zip(&indexes).zip(bases) {
        let mut content = Vec::new();
        if desc.compression == Compression::Unchanged {
            // The content is the device's file, checked above.
            content.extend_from_slice(base.expect("an unchanged payload has a base"));
        }
        let base = base.map(|b| b as &dyn BaseRead);
        let mut chunk = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let end = stored_at + entry.stored_len as usize;
            let stored = view.payload.get(stored_at..end).ok_or("malformed")?;
            stored_at = end;
            decoder
                .decode_with_base(desc, i as u64, entry, stored, &mut chunk, base)
                .map_err(|e| payload_outcome(&e))?;
            content.extend_from_slice(&chunk);
        }
        if Digest::of(&content) != desc.content_digest {
            return Err("integrity".into());
        }
        out.push((desc.name.to_string(), content));
    }
    Ok(Some(digests(&out)))
}

fn open<'a>(
    v: &'a Vector,
    s: &Setup,
    root: &TrustedRoot,
) -> Result<Package<&'a [u8], Judged>, String> {
    let package = verifier(s, root)
        .package(&v.bytes[..])
        .map_err(|e| verify_outcome(&e))?;
    policy(package, s)
}

fn lib_head(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    open(v, s, root).map(|_| None)
}

fn lib_verify_payloads(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    open(v, s, root)?
        .verify(hpk_verify::Depth::Stored)
        .map(|_| None)
        .map_err(|e| verify_outcome(&e))
}

fn lib_verify_full(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    let bases = base_folder(s);
    with_bases(open(v, s, root)?, s, bases.path(), true)
        .verify(hpk_verify::Depth::Full)
        .map(|_| None)
        .map_err(|e| verify_outcome(&e))
}

fn lib_stream(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    let mut sink = MemorySink::default();
    let bases = base_folder(s);
    with_bases(open(v, s, root)?, s, bases.path(), false)
        .stream(&mut sink, &mut |_| {})
        .map_err(|e| verify_outcome(&e))?;
    Ok(Some(digests(&sink.payloads)))
}

/// `Package::payloads`: each payload read to its end, then `finish`.
fn lib_payloads(v: &Vector, s: &Setup, root: &TrustedRoot) -> Outcome {
    use std::io::Read;
    let bases = base_folder(s);
    let mut reader = with_bases(open(v, s, root)?, s, bases.path(), true)
        .payloads()
        .map_err(|e| verify_outcome(&e))?;
    let mut out = Vec::new();
    while let Some(mut payload) = reader.next_payload().map_err(|e| verify_outcome(&e))? {
        let name = payload.descriptor().expect("open payload").name.to_string();
        let mut content = Vec::new();
        payload.read_to_end(&mut content).map_err(|e| {
            match e.get_ref().and_then(|i| i.downcast_ref::<VerifyError>()) {
                Some(inner) => verify_outcome(inner),
                None => format!("io ({e})"),
            }
        })?;
        out.push((name, content));
    }
    reader.finish().map_err(|e| verify_outcome(&e))?;
    Ok(Some(digests(&out)))
}

/// Reads back the files of an extraction, in manifest order.
fn read_back(dir: &Path, names: impl Iterator<Item = String>) -> Vec<(String, String)> {
    names
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).expect("extracted file");
            (n, Digest::of(&bytes).to_hex())
        })
        .collect()
}

/// Checks what a successful extraction left in `out`, beyond the payloads'
/// contents: exactly the vector's executables, links (with the content
/// SPEC X2 gives them) and empty folders, and nothing else.
fn tree_complaint(v: &Vector, entry: &str, out: &Path) -> Option<String> {
    use std::collections::BTreeSet;
    use std::os::unix::fs::PermissionsExt;
    let mut files = BTreeSet::new();
    let mut executables = BTreeSet::new();
    let mut links = BTreeSet::new();
    let mut empty = BTreeSet::new();
    let mut stack = vec![(out.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut children = 0;
        for child in std::fs::read_dir(&dir).expect("read_dir") {
            children += 1;
            let child = child.expect("entry");
            let name = child.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(child.path()).expect("metadata");
            if meta.file_type().is_symlink() {
                let content = std::fs::read_link(child.path()).expect("read_link");
                links.insert(format!("{child_rel} -> {}", content.display()));
            } else if meta.is_dir() {
                stack.push((child.path(), child_rel));
            } else {
                if meta.permissions().mode() & 0o111 != 0 {
                    executables.insert(child_rel.clone());
                }
                files.insert(child_rel);
            }
        }
        if children == 0 && !rel.is_empty() {
            empty.insert(rel);
        }
    }
    let want = |key: &str| v.get_all(key).map(str::to_owned).collect::<BTreeSet<_>>();
    let wanted_files: BTreeSet<String> = v
        .get_all("payload_sha256")
        .filter_map(|l| l.split_once(' ').map(|(_, n)| n.to_owned()))
        .collect();
    let mut complaints = Vec::new();
    for (what, got, expected) in [
        ("files", files, wanted_files),
        ("executables", executables, want("executable")),
        ("links", links, want("link")),
        ("empty folders", empty, want("folder")),
    ] {
        if got != expected {
            complaints.push(format!("{what} {got:?}, expected {expected:?}"));
        }
    }
    (!complaints.is_empty()).then(|| format!("{}: {entry}: {}", v.name, complaints.join("; ")))
}

fn lib_extract_dir(v: &Vector, s: &Setup, root: &TrustedRoot) -> (Outcome, Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bases = base_folder(s);
    let package = match open(v, s, root) {
        Ok(p) => with_bases(p, s, bases.path(), true),
        Err(e) => return (Err(e), None),
    };
    let out_dir = dir.path().join("out");
    let result = package.extract(&out_dir);
    // All or nothing: a failure leaves no target and no staging folder
    // beside it, nothing at all.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    match result {
        Ok(extracted) => {
            let names = extracted
                .manifest
                .payloads
                .iter()
                .map(|p| p.name.to_string());
            let complaint = (left.len() != 1)
                .then(|| {
                    format!(
                        "{}: extract-dir: succeeded but left {left:?} beside the target",
                        v.name
                    )
                })
                .or_else(|| tree_complaint(v, "extract-dir", &out_dir));
            (Ok(Some(read_back(&out_dir, names))), complaint)
        }
        Err(e) => {
            let out = match &e {
                ExtractError::Verify(inner) => verify_outcome(inner),
                other => format!("io ({other})"),
            };
            let complaint = (!left.is_empty()).then(|| {
                format!(
                    "{}: extract-dir: failed ({out}) but left files behind: {left:?}",
                    v.name
                )
            });
            (Err(out), complaint)
        }
    }
}

fn lib_trust_root(v: &Vector, s: &Setup) -> Outcome {
    let result = match &s.root_path {
        None => TrustedRoot::load(&v.bytes, s.clock, &s.limits),
        Some(path) => {
            // A pinned root is trusted by configuration: its time is not
            // judged; the last root of the chain is, at the vector's time.
            let pinned = std::fs::read(path).expect("root file");
            let chain: Vec<Vec<u8>> = s
                .chain
                .iter()
                .map(|p| std::fs::read(p).expect("chain file"))
                .collect();
            TrustedRoot::load_chain(
                &pinned,
                chain
                    .iter()
                    .map(Vec::as_slice)
                    .chain(std::iter::once(v.bytes.as_slice())),
                s.clock,
                &s.limits,
            )
        }
    };
    result.map(|_| None).map_err(|e| root_outcome(&e))
}

fn lib_catalog(v: &Vector, s: &Setup) -> Outcome {
    let root = package_root(v, s);
    verifier(s, &root)
        .catalog_above(&v.bytes[..], s.last_seen)
        .map(|_| None)
        .map_err(|e| catalog_outcome(&e))
}

#[test]
fn library_entry_points_agree_with_every_vector() {
    let mut complaints = Vec::new();
    let mut runs = 0usize;
    for v in load_vectors() {
        let s = setup(&v);
        let mut record = |entry: &str, depth: Depth, got: Outcome| {
            runs += 1;
            if let Some(c) = judge(&v, entry, depth, &got) {
                complaints.push(c);
            }
        };
        match v.get("file") {
            Some("package") => {
                let root = package_root(&v, &s);
                record("memory", Depth::Extract, lib_memory(&v, &s, &root));
                record("head", Depth::Header, lib_head(&v, &s, &root));
                record(
                    "verify-payloads",
                    Depth::Full,
                    lib_verify_payloads(&v, &s, &root),
                );
                record(
                    "verify-full",
                    Depth::Extract,
                    lib_verify_full(&v, &s, &root),
                );
                record("stream", Depth::Extract, lib_stream(&v, &s, &root));
                record("payloads", Depth::Extract, lib_payloads(&v, &s, &root));
                let (got, left) = lib_extract_dir(&v, &s, &root);
                record("extract-dir", Depth::Extract, got);
                complaints.extend(left);
            }
            Some("fetched-package") => {
                let root = package_root(&v, &s);
                let head = fetch_open(&v, &s, &root).map(|_| None);
                record("fetch-head", Depth::Header, head);
                record(
                    "fetch-verify-payloads",
                    Depth::Full,
                    lib_fetch_verify_payloads(&v, &s, &root),
                );
                record(
                    "fetch-stream",
                    Depth::Extract,
                    lib_fetch_stream(&v, &s, &root),
                );
            }
            Some("trust-root") => record("trust-root", Depth::Header, lib_trust_root(&v, &s)),
            Some("catalog") => record("catalog", Depth::Header, lib_catalog(&v, &s)),
            other => panic!("{}: file {other:?}", v.name),
        }
    }
    assert!(
        complaints.is_empty(),
        "{} of {runs} runs disagree with their vector:\n{}",
        complaints.len(),
        complaints.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The command line.
// ---------------------------------------------------------------------------

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(hpk_binary())
        .args(args)
        .arg("--quiet")
        .output()
        .expect("run hpk")
}

/// Turns an exit status into an outcome as far as the command line tells
/// it: 0 success, 3 `policy` (with the reason from `--json` output when
/// there is one), 1 `invalid`.
fn cli_outcome(out: &Output) -> Result<(), String> {
    match out.status.code() {
        Some(0) => Ok(()),
        Some(3) => {
            let stdout = String::from_utf8_lossy(&out.stdout).replace([' ', '\n'], "");
            Err(match stdout.split_once("\"reason\":\"") {
                Some((_, rest)) => format!("policy:{}", rest.split('"').next().unwrap_or("")),
                None => "policy".into(),
            })
        }
        Some(1) => Err("invalid".into()),
        other => Err(format!(
            "exit {other:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// What the command line must say for `want`: `success`, `policy` (exit
/// 3, only for packages: the reason is checked where the output gives
/// it) or `invalid` (exit 1) for everything else. Trust-root and catalog
/// commands exit 1 on every failure.
fn cli_expected(want: &str, file: &str) -> String {
    if want == "success" {
        "success".into()
    } else if want.starts_with("policy") && file == "package" {
        want.to_owned()
    } else {
        "invalid".into()
    }
}

fn judge_cli(
    v: &Vector,
    entry: &str,
    depth: Depth,
    got: Result<(), String>,
    payloads: Option<Vec<(String, String)>>,
) -> Option<String> {
    let want = cli_expected(v.expect(), v.get("file").unwrap_or_default());
    let sees_fault = depth >= depth_of(v);
    let ok = match &got {
        Ok(()) => want == "success" || !sees_fault,
        // Without --json the reason is not printed: the code must match.
        Err(out) if out == "policy" => want.starts_with("policy"),
        Err(out) => *out == want,
    };
    if !ok {
        return Some(format!(
            "{}: {entry}: {}, expected {want}{}",
            v.name,
            got.err().unwrap_or_else(|| "success".into()),
            if sees_fault { "" } else { " or success" }
        ));
    }
    if v.is_success()
        && let Some(p) = payloads
    {
        let expected = setup(v).payloads;
        if p != expected {
            return Some(format!(
                "{}: {entry}: payloads {p:?}, expected {expected:?}",
                v.name
            ));
        }
    }
    None
}

fn cli_package(v: &Vector, s: &Setup, file: &Path) -> Vec<String> {
    let mut complaints = Vec::new();
    let root = s.root_path.clone().expect("root");
    let now = s.time.to_string();
    let mut common: Vec<&std::ffi::OsStr> = vec![
        file.as_os_str(),
        "--root".as_ref(),
        root.as_os_str(),
        "--now".as_ref(),
        now.as_ref(),
    ];
    if let Some(d) = &s.device_path {
        common.extend(["--device".as_ref(), d.as_os_str()]);
    }
    // The device's files, for the commands that decode content.
    let bases = base_folder(s);
    let base_dir: [&std::ffi::OsStr; 2] = ["--base-dir".as_ref(), bases.path().as_os_str()];

    for (entry, depth, extra) in [
        (
            "hpk verify --header-only",
            Depth::Header,
            &["--header-only", "--json"][..],
        ),
        ("hpk verify", Depth::Full, &["--json"][..]),
        (
            "hpk verify --deep",
            Depth::Extract,
            &["--deep", "--json"][..],
        ),
    ] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["verify".as_ref()];
        args.extend(&common);
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        if depth == Depth::Extract && !s.bases.is_empty() {
            args.extend(base_dir);
        }
        let out = run(&args);
        complaints.extend(judge_cli(v, entry, depth, cli_outcome(&out), None));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let mut args: Vec<&std::ffi::OsStr> = vec!["extract".as_ref()];
    args.extend(&common);
    args.extend(["--out".as_ref(), out_dir.as_os_str()]);
    args.extend(base_dir);
    let out = run(&args);
    let got = cli_outcome(&out);
    let payloads = if got.is_ok() {
        // `hpk extract` prints each file written, in manifest order.
        let names = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                Path::new(l)
                    .strip_prefix(&out_dir)
                    .expect("a path under --out")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect::<Vec<_>>();
        complaints.extend(tree_complaint(v, "hpk extract", &out_dir));
        Some(read_back(&out_dir, names.into_iter()))
    } else {
        // All or nothing: no target, no staging folder.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        if !left.is_empty() {
            complaints.push(format!(
                "{}: hpk extract: failed but left files behind: {left:?}",
                v.name
            ));
        }
        None
    };
    complaints.extend(judge_cli(v, "hpk extract", Depth::Extract, got, payloads));
    complaints
}

fn cli_trust_root(v: &Vector, s: &Setup, file: &Path) -> Vec<String> {
    let now = s.time.to_string();
    let got = match &s.root_path {
        None => cli_outcome(&run(&[
            "root".as_ref(),
            "verify".as_ref(),
            file.as_os_str(),
            "--now".as_ref(),
            now.as_ref(),
        ])),
        Some(pinned) => {
            // The whole chain in one call, as an agent checks it:
            // `hpk root verify NEXT… FILE --trusted PINNED`.
            let mut args: Vec<&std::ffi::OsStr> = vec!["root".as_ref(), "verify".as_ref()];
            args.extend(s.chain.iter().map(|p| p.as_os_str()));
            args.extend([
                file.as_os_str(),
                "--trusted".as_ref(),
                pinned.as_os_str(),
                "--now".as_ref(),
                now.as_ref(),
                "--json".as_ref(),
            ]);
            cli_outcome(&run(&args))
        }
    };
    judge_cli(v, "hpk root verify", Depth::Header, got, None)
        .into_iter()
        .collect()
}

fn cli_catalog(v: &Vector, s: &Setup, file: &Path) -> Vec<String> {
    let root = s.root_path.clone().expect("root");
    let (now, last_seen) = (s.time.to_string(), s.last_seen.to_string());
    let got = cli_outcome(&run(&[
        "catalog".as_ref(),
        "verify".as_ref(),
        file.as_os_str(),
        "--root".as_ref(),
        root.as_os_str(),
        "--last-seen".as_ref(),
        last_seen.as_ref(),
        "--now".as_ref(),
        now.as_ref(),
    ]));
    judge_cli(v, "hpk catalog verify", Depth::Header, got, None)
        .into_iter()
        .collect()
}

#[test]
fn command_line_agrees_with_every_vector() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut complaints = Vec::new();
    for v in load_vectors() {
        let s = setup(&v);
        let file = dir.path().join(format!("{}.bin", v.name));
        std::fs::write(&file, &v.bytes).expect("write file under test");
        complaints.extend(match v.get("file") {
            Some("package") => cli_package(&v, &s, &file),
            Some("trust-root") => cli_trust_root(&v, &s, &file),
            Some("catalog") => cli_catalog(&v, &s, &file),
            // No `hpk` command verifies a package against a catalog entry
            // yet: fetched packages are checked through the library.
            Some("fetched-package") => Vec::new(),
            other => panic!("{}: file {other:?}", v.name),
        });
    }
    assert!(
        complaints.is_empty(),
        "{} command-line runs disagree with their vector ({}):\n{}",
        complaints.len(),
        hpk_binary().display(),
        complaints.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The vectors themselves.
// ---------------------------------------------------------------------------

#[test]
fn committed_vectors_are_what_the_generator_makes() {
    if let Err(diffs) = hpk_vectors::check(&vectors_dir()) {
        panic!(
            "spec/vectors is out of date ({} difference(s)); run `cargo run -p hpk-vectors -- spec/vectors`:\n{}",
            diffs.len(),
            diffs.join("\n")
        );
    }
}

#[test]
fn there_are_enough_vectors_and_every_outcome_is_covered() {
    let vectors = load_vectors();
    let success = vectors.iter().filter(|v| v.is_success()).count();
    let failure = vectors.len() - success;
    assert!(success >= 20, "only {success} success vectors");
    assert!(failure >= 60, "only {failure} failure vectors");
    let expects: Vec<&str> = vectors.iter().map(Vector::expect).collect();
    for reason in Reason::ALL {
        let want = format!("policy:{}", reason.as_str());
        assert!(expects.contains(&want.as_str()), "no vector expects {want}");
    }
    // D5, a payload error of class policy (not an `hpk_verify::Reason`),
    // and vectors that give the device files.
    assert!(
        expects.contains(&"policy:missing-base"),
        "no vector expects policy:missing-base"
    );
    assert!(
        vectors
            .iter()
            .any(|v| v.is_success() && v.get("base").is_some()),
        "no valid vector with a base line"
    );
    // Every file of bases/ is named by some vector, and only package
    // vectors name bases.
    for v in &vectors {
        assert!(
            v.get("base").is_none() || v.get("file") == Some("package"),
            "{}: base lines in a vector that is not a package",
            v.name
        );
    }
    for entry in std::fs::read_dir(vectors_dir().join("bases")).expect("bases/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            vectors
                .iter()
                .any(|v| v.get_all("base").any(|l| l.ends_with(&format!(" {name}")))),
            "bases/{name} is named by no vector"
        );
    }
    for class in [
        "malformed",
        "unsupported",
        "limit",
        "signature",
        "integrity",
    ] {
        assert!(expects.contains(&class), "no vector expects {class}");
    }
    for file in ["package", "trust-root", "catalog"] {
        for outcome in ["success", "signature", "malformed"] {
            assert!(
                vectors
                    .iter()
                    .any(|v| v.get("file") == Some(file) && v.expect() == outcome),
                "no {file} vector expects {outcome}"
            );
        }
    }
    // File names say the layer: `plan-…` for resolver vectors, `valid-…`
    // or the class before the first dash.
    for v in &vectors {
        let layer = v.expect().split(':').next().unwrap_or_default();
        let prefix = if v.get("expect_plan").is_some() {
            "plan"
        } else if layer == "success" {
            "valid"
        } else {
            layer
        };
        assert!(
            v.name.starts_with(&format!("{prefix}-")),
            "{} should start with {prefix}-",
            v.name
        );
    }
}

// ---------------------------------------------------------------------------
// Resolver vectors: the plan, through the library and `hpk plan --json`.
// ---------------------------------------------------------------------------

/// The resolver vectors, with their expected plan documents.
fn plan_vectors() -> Vec<(Vector, Value)> {
    load_vectors()
        .into_iter()
        .filter_map(|v| {
            let name = v.get("expect_plan")?.to_owned();
            assert_eq!(v.get("file"), Some("catalog"), "{}", v.name);
            assert!(v.is_success(), "{}: a plan needs a valid catalog", v.name);
            let path = vectors_dir().join("plans").join(&name);
            let text = std::fs::read_to_string(&path).expect("plan file");
            let want: Value = serde_json::from_str(&text).expect("plan JSON");
            Some((v, want))
        })
        .collect()
}

/// A plan of the library as an `hpk-plan/1` document without `file` and
/// `detail`.
fn plan_document(plan: &Plan, catalog_version: u64, catalog_role: Digest) -> Value {
    json!({
        "schema": "hpk-plan/1",
        "catalog_version": catalog_version,
        "catalog_role": catalog_role.to_hex(),
        "track": plan.track.as_str(),
        "status": plan.status.as_str(),
        "restart_required": plan.restart_required(),
        "steps": plan.steps.iter().map(|s| json!({
            "action": "install",
            "restart": s.restart,
            "entry": hpk_vectors::plan_entry_json(&s.entry),
        })).collect::<Vec<_>>(),
        "skipped": plan.skipped.iter().map(|s| json!({
            "reason": s.reason.as_str(),
            "entry": hpk_vectors::plan_entry_json(&s.entry),
        })).collect::<Vec<_>>(),
    })
}

/// Removes what is not compared (`file`, every `skipped[].detail`),
/// checking that it is there and of the right type.
fn comparable(mut doc: Value) -> Result<Value, String> {
    let map = doc.as_object_mut().ok_or("not a JSON object")?;
    match map.remove("file") {
        Some(Value::String(_)) => {}
        other => return Err(format!("`file` is {other:?}, not a string")),
    }
    if let Some(Value::Array(skipped)) = map.get_mut("skipped") {
        for s in skipped {
            match s.as_object_mut().and_then(|o| o.remove("detail")) {
                Some(Value::String(_)) => {}
                other => return Err(format!("a `detail` is {other:?}, not a string")),
            }
        }
    }
    Ok(doc)
}

/// Says where two plan documents differ, briefly.
fn plan_difference(got: &Value, want: &Value) -> String {
    let brief = |d: &Value| {
        let steps: Vec<String> = d["steps"]
            .as_array()
            .map(|a| a.iter().map(|s| s["entry"]["name"].to_string()).collect())
            .unwrap_or_default();
        let skipped: Vec<String> = d["skipped"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| format!("{}={}", s["entry"]["name"], s["reason"]))
                    .collect()
            })
            .unwrap_or_default();
        format!(
            "track {} status {} steps {steps:?} skipped {skipped:?}",
            d["track"], d["status"]
        )
    };
    format!("got {}\n    want {}", brief(got), brief(want))
}

#[test]
fn the_library_resolver_makes_every_expected_plan() {
    let vectors = plan_vectors();
    let mut complaints = Vec::new();
    for (v, want) in &vectors {
        let s = setup(v);
        let root = package_root(v, &s);
        let device = s.device.as_ref().expect("a plan vector names a device");
        assert_eq!(
            device.catalog_version, s.last_seen,
            "{}: last_seen is the device's catalog_version",
            v.name
        );
        let verifier = verifier(&s, &root);
        let catalog = verifier
            .catalog_above(&v.bytes[..], s.last_seen)
            .unwrap_or_else(|e| panic!("{}: catalog: {e}", v.name));
        let plan = verifier.plan(&catalog, device);
        let got = plan_document(&plan, catalog.version, catalog.role_digest());
        if got != *want {
            complaints.push(format!("{}: {}", v.name, plan_difference(&got, want)));
        }
    }
    assert!(
        complaints.is_empty(),
        "{} of {} resolver vectors disagree:\n{}",
        complaints.len(),
        vectors.len(),
        complaints.join("\n")
    );
}

#[test]
fn hpk_plan_json_makes_every_expected_plan() {
    let vectors = plan_vectors();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut complaints = Vec::new();
    for (v, want) in &vectors {
        let s = setup(v);
        let file = dir.path().join(format!("{}.hpkcat", v.name));
        std::fs::write(&file, &v.bytes).expect("write catalog");
        let root = s.root_path.clone().expect("root");
        let device = s.device_path.clone().expect("device");
        let now = s.time.to_string();
        let out = run(&[
            "plan".as_ref(),
            "--catalog".as_ref(),
            file.as_os_str(),
            "--root".as_ref(),
            root.as_os_str(),
            "--device".as_ref(),
            device.as_os_str(),
            "--now".as_ref(),
            now.as_ref(),
            "--json".as_ref(),
        ]);
        if out.status.code() != Some(0) {
            complaints.push(format!(
                "{}: hpk plan exited {:?}: {}",
                v.name,
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            continue;
        }
        let got = serde_json::from_slice::<Value>(&out.stdout)
            .map_err(|e| e.to_string())
            .and_then(comparable);
        match got {
            Ok(got) if got == *want => {}
            Ok(got) => complaints.push(format!("{}: {}", v.name, plan_difference(&got, want))),
            Err(e) => complaints.push(format!("{}: hpk plan --json: {e}", v.name)),
        }
    }
    assert!(
        complaints.is_empty(),
        "{} of {} resolver vectors disagree with `hpk plan --json` ({}):\n{}",
        complaints.len(),
        vectors.len(),
        hpk_binary().display(),
        complaints.join("\n")
    );
}

#[test]
fn the_resolver_vectors_cover_every_track_status_and_reason() {
    let vectors = plan_vectors();
    assert!(
        vectors.len() >= 40,
        "only {} resolver vectors",
        vectors.len()
    );
    let field = |key: &str| -> Vec<String> {
        vectors
            .iter()
            .map(|(_, p)| p[key].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (tracks, statuses) = (field("track"), field("status"));
    for track in ["hotpatch", "standard", "recovery"] {
        assert!(
            tracks.iter().any(|t| t == track),
            "no plan on the {track} track"
        );
    }
    for status in ["update", "up-to-date", "not-eligible"] {
        assert!(statuses.iter().any(|s| s == status), "no plan is {status}");
    }
    let reasons: Vec<String> = vectors
        .iter()
        .flat_map(|(_, p)| p["skipped"].as_array().cloned().unwrap_or_default())
        .map(|s| s["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    // Every reason a plan can give (SPEC.md, "Resolver"): the policy
    // reasons but the four a catalog entry cannot fail, and the four of
    // the resolver.
    let never = [
        Reason::KindNotAllowed,
        Reason::UnknownCriticalExtension,
        Reason::Expired,
        Reason::NotYetValid,
    ];
    let mut expected: Vec<&str> = Reason::ALL
        .into_iter()
        .filter(|r| !never.contains(r))
        .map(Reason::as_str)
        .collect();
    expected.extend(["superseded", "installed", "other-track", "missing-base"]);
    for reason in &expected {
        assert!(
            reasons.iter().any(|r| r == reason),
            "no resolver vector skips an entry as {reason}"
        );
    }
    for r in &reasons {
        assert!(expected.contains(&r.as_str()), "unexpected reason {r}");
    }
    // A step with and one without a restart, and plans of two steps.
    let steps: Vec<&Value> = vectors
        .iter()
        .flat_map(|(_, p)| p["steps"].as_array().into_iter().flatten())
        .collect();
    assert!(steps.iter().any(|s| s["restart"] == true));
    assert!(steps.iter().any(|s| s["restart"] == false));
    assert!(
        vectors
            .iter()
            .any(|(_, p)| p["steps"].as_array().is_some_and(|a| a.len() == 2))
    );
}
