//! Every vector, grouped by layer, and the shared fixtures they use.

mod body;
mod catalogs;
mod container;
mod deltas;
mod fetched;
mod limits;
mod order;
mod payloads;
mod plans;
mod policy;
mod roots;
mod signatures;
mod valid;

pub use plans::entry_json;

use crate::Files;
use crate::build;
use crate::vector::Vector;
use hpk_format::{Digest, FileType, Manifest, PackageKind, TrustRoot};
use hpk_tests::{BuiltPackage, DAY, Keys, PackageSpec, T0, TestKey, sample_data, standard_root};

/// The time most vectors are judged at: one day after every fixture was
/// created.
pub const NOW: u64 = T0 + DAY;

/// The default trust root file: version 1, one key per role, threshold 1.
pub const STANDARD_ROOT: &str = "standard.hpkroot";
/// The default device: online, windows, x64, enterprise, general channel.
pub const ONLINE: &str = "online.toml";

/// How deep a verifier must go to see a vector's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Header, signatures, manifest, policy.
    Header,
    /// Also every stored byte against the chunk indexes, and the file end.
    Full,
    /// Also decompression and content digests.
    Extract,
}

impl Check {
    fn as_str(self) -> &'static str {
        match self {
            Check::Header => "header",
            Check::Full => "full",
            Check::Extract => "extract",
        }
    }
}

/// One vector under construction.
pub struct Case {
    name: String,
    description: String,
    file: &'static str,
    expect: String,
    check: Option<Check>,
    root: String,
    chain: Vec<String>,
    device: Option<String>,
    time: u64,
    lower_bound: bool,
    last_seen: Option<u64>,
    entry: Option<(u64, Digest)>,
    /// `base` lines: payload name, SHA-256 of the device's file.
    bases: Vec<(String, Digest)>,
    payloads: Vec<(Digest, String)>,
    /// `executable`, `link` and `folder` lines of a valid package.
    entries: Vec<(&'static str, String)>,
    expect_plan: Option<String>,
    bytes: Vec<u8>,
}

impl Case {
    /// A package vector: standard root, online device, judged at [`NOW`]
    /// with a trusted clock, at header depth, expecting success.
    pub fn package(name: &str, description: &str, bytes: Vec<u8>) -> Case {
        Case {
            name: name.to_owned(),
            description: description.to_owned(),
            file: "package",
            expect: "success".into(),
            check: Some(Check::Header),
            root: STANDARD_ROOT.into(),
            chain: Vec::new(),
            device: Some(ONLINE.into()),
            time: NOW,
            lower_bound: false,
            last_seen: None,
            entry: None,
            bases: Vec::new(),
            payloads: Vec::new(),
            entries: Vec::new(),
            expect_plan: None,
            bytes,
        }
    }

    /// A trust-root vector: the file is loaded as a pinned root.
    pub fn trust_root(name: &str, description: &str, bytes: Vec<u8>) -> Case {
        Case {
            file: "trust-root",
            check: None,
            root: "inline".into(),
            device: None,
            ..Case::package(name, description, bytes)
        }
    }

    /// A catalog vector: standard root, last seen version 0.
    pub fn catalog(name: &str, description: &str, bytes: Vec<u8>) -> Case {
        Case {
            file: "catalog",
            check: None,
            device: None,
            last_seen: Some(0),
            ..Case::package(name, description, bytes)
        }
    }

    /// A package fetched for a catalog entry of `size` bytes naming the
    /// manifest digest `digest` (VF1–VF5): the vector's file is what the
    /// server sent.
    pub fn fetched(
        name: &str,
        description: &str,
        bytes: Vec<u8>,
        size: u64,
        digest: Digest,
    ) -> Case {
        Case {
            file: "fetched-package",
            entry: Some((size, digest)),
            ..Case::package(name, description, bytes)
        }
    }

    /// The expected outcome.
    pub fn expect(mut self, expect: &str) -> Case {
        self.expect = expect.to_owned();
        self
    }

    /// How deep a verifier must go to see the outcome.
    pub fn check(mut self, check: Check) -> Case {
        self.check = Some(check);
        self
    }

    /// The trust root file (in `roots/`).
    pub fn root(mut self, root: &str) -> Case {
        self.root = root.to_owned();
        self
    }

    /// Newer roots (in `roots/`) between `root` and the file under test.
    pub fn chain(mut self, chain: &[&str]) -> Case {
        self.chain = chain.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The device profile (in `devices/`).
    pub fn device(mut self, device: &str) -> Case {
        self.device = Some(device.to_owned());
        self
    }

    /// No device profile: only what needs no device is judged.
    pub fn no_device(mut self) -> Case {
        self.device = None;
        self
    }

    /// The time, Unix seconds.
    pub fn time(mut self, time: u64) -> Case {
        self.time = time;
        self
    }

    /// The time is only a lower bound (recovery profile).
    pub fn lower_bound(mut self) -> Case {
        self.lower_bound = true;
        self
    }

    /// The newest catalog version already accepted.
    pub fn last_seen(mut self, v: u64) -> Case {
        self.last_seen = Some(v);
        self
    }

    /// Expects the plan in `plans/NAME` (a resolver vector).
    pub fn expect_plan(mut self, name: &str) -> Case {
        self.expect_plan = Some(name.to_owned());
        self
    }

    /// The device has the file `bases/HEX` (made by [`Gen::base_file`]) for
    /// payload `name`: a `base` line.
    pub fn base(mut self, name: &str, digest: Digest) -> Case {
        self.bases.push((name.to_owned(), digest));
        self
    }

    /// Expects the payloads of `manifest`, with their content digests.
    pub fn payloads(mut self, manifest: &Manifest) -> Case {
        self.payloads = manifest
            .payloads
            .iter()
            .map(|p| (p.content_digest, p.name.to_string()))
            .collect();
        self.entries = manifest
            .payloads
            .iter()
            .filter(|p| p.executable)
            .map(|p| ("executable", p.name.to_string()))
            .chain(
                manifest
                    .links
                    .iter()
                    .map(|l| ("link", format!("{} -> {}", l.name, link_content(l)))),
            )
            .chain(manifest.folders.iter().map(|f| ("folder", f.to_string())))
            .collect();
        self
    }

    fn into_vector(self) -> Vector {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| fields.push((k.to_owned(), v));
        put("description", self.description);
        put("file", self.file.to_owned());
        put("expect", self.expect.clone());
        // A package that is valid is valid at every depth: say so.
        let check = match (self.file, self.expect.as_str()) {
            ("package" | "fetched-package", "success") => Some(Check::Extract),
            _ => self.check,
        };
        if let Some(c) = check {
            put("check", c.as_str().to_owned());
        }
        put("root", self.root);
        if !self.chain.is_empty() {
            put("chain", self.chain.join(", "));
        }
        if let Some(d) = self.device {
            put("device", d);
        }
        put("time", self.time.to_string());
        put(
            "clock",
            if self.lower_bound {
                "lower-bound"
            } else {
                "trusted"
            }
            .to_owned(),
        );
        if let Some(v) = self.last_seen {
            put("last_seen", v.to_string());
        }
        if let Some((size, digest)) = self.entry {
            put("entry_size", size.to_string());
            put("entry_manifest_digest", digest.to_hex());
        }
        for (name, digest) in self.bases {
            put("base", format!("{name} {digest}"));
        }
        for (digest, name) in self.payloads {
            put("payload_sha256", format!("{digest} {name}"));
        }
        for (key, line) in self.entries {
            put(key, line);
        }
        if let Some(p) = self.expect_plan {
            put("expect_plan", p);
        }
        Vector {
            name: self.name,
            fields,
            bytes: self.bytes,
        }
    }
}

/// What an extractor writes into the link `l` (SPEC X2): up from the
/// link's folder to the folder it shares with the target, then down.
fn link_content(l: &hpk_format::Link) -> String {
    let mut from: Vec<&str> = l.name.components().collect();
    from.pop();
    let to: Vec<&str> = l.target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let parts: Vec<&str> = std::iter::repeat_n("..", from.len() - common)
        .chain(to[common..].iter().copied())
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// A device profile as the vectors write it (`docs/device-profile.md`).
#[derive(Clone)]
pub struct Device {
    /// `online` or `recovery`.
    pub profile: &'static str,
    /// OS family.
    pub os: &'static str,
    /// Architecture.
    pub architecture: &'static str,
    /// Edition.
    pub edition: &'static str,
    /// Channels.
    pub channels: Vec<&'static str>,
    /// Capabilities.
    pub capabilities: Vec<&'static str>,
    /// Installed baseline.
    pub installed_baseline: Option<Digest>,
    /// Installed hotpatch sequence.
    pub installed_hotpatch_sequence: u32,
    /// Security floor.
    pub security_floor: u64,
    /// Revoked manifest digests.
    pub revoked: Vec<Digest>,
    /// The newest catalog version accepted (written only when not 0).
    pub catalog_version: u64,
}

impl Device {
    /// The default device: online, windows, x64, enterprise, general.
    pub fn online() -> Device {
        Device {
            profile: "online",
            os: "windows",
            architecture: "x64",
            edition: "enterprise",
            channels: vec!["general"],
            capabilities: Vec::new(),
            installed_baseline: None,
            installed_hotpatch_sequence: 0,
            security_floor: 0,
            revoked: Vec::new(),
            catalog_version: 0,
        }
    }

    fn to_toml(&self, name: &str) -> String {
        let list = |items: &[String]| {
            items
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let strings =
            |items: &[&str]| list(&items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        let mut out = format!(
            "# hpk test-vector device profile {name} (generated by hpk-vectors)\n\
             profile = \"{}\"\nos = \"{}\"\narchitecture = \"{}\"\nedition = \"{}\"\n\
             channels = [{}]\ncapabilities = [{}]\n",
            self.profile,
            self.os,
            self.architecture,
            self.edition,
            strings(&self.channels),
            strings(&self.capabilities),
        );
        if let Some(b) = self.installed_baseline {
            out.push_str(&format!("installed_baseline = \"{b}\"\n"));
        }
        out.push_str(&format!(
            "installed_hotpatch_sequence = {}\nsecurity_floor = {}\nrevoked = [{}]\n",
            self.installed_hotpatch_sequence,
            self.security_floor,
            list(&self.revoked.iter().map(Digest::to_hex).collect::<Vec<_>>())
        ));
        if self.catalog_version != 0 {
            out.push_str(&format!("catalog_version = {}\n", self.catalog_version));
        }
        out
    }
}

/// The generator's state: keys, shared fixtures, files made so far.
pub struct Gen {
    /// The standard keys (seeds 1 to 5).
    pub keys: Keys,
    /// A second release key (seed 6), for threshold 2.
    pub release2: TestKey,
    /// A second root key (seed 7), for threshold 2.
    pub root2: TestKey,
    /// A key no trust root names (seed 9).
    pub stranger: TestKey,
    /// The root key of rotation version 2 (seed 11).
    pub root_v2: TestKey,
    /// The root key of rotation version 3 (seed 12).
    pub root_v3: TestKey,
    /// The reference baseline every hotpatch vector names.
    pub baseline: BuiltPackage,
    files: Files,
}

impl Gen {
    fn new() -> Gen {
        let mut g = Gen {
            keys: Keys::standard(),
            release2: TestKey::from_seed(6),
            root2: TestKey::from_seed(7),
            stranger: TestKey::from_seed(9),
            root_v2: TestKey::from_seed(11),
            root_v3: TestKey::from_seed(12),
            baseline: reference_baseline().build(),
            files: Files::new(),
        };
        let standard = g.root_bytes(&standard_root(&g.keys), &[&g.keys.root]);
        g.root_file(STANDARD_ROOT, standard);
        g.device(ONLINE, &Device::online());
        g
    }

    /// Adds a vector.
    pub fn add(&mut self, case: Case) {
        let v = case.into_vector();
        let path = format!("{}.vec", v.name);
        assert!(
            !self.files.contains_key(&path),
            "vector {} made twice",
            v.name
        );
        self.files.insert(path, v.to_bytes());
    }

    /// Adds `roots/NAME` (or checks that it is the same) and returns NAME.
    pub fn root_file(&mut self, name: &str, bytes: Vec<u8>) -> String {
        self.put(format!("roots/{name}"), bytes);
        name.to_owned()
    }

    /// Adds `plans/NAME` (or checks that it is the same) and returns NAME.
    pub fn plan_file(&mut self, name: &str, bytes: Vec<u8>) -> String {
        self.put(format!("plans/{name}"), bytes);
        name.to_owned()
    }

    /// Adds `devices/NAME` (or checks that it is the same) and returns NAME.
    pub fn device(&mut self, name: &str, device: &Device) -> String {
        self.put(format!("devices/{name}"), device.to_toml(name).into_bytes());
        name.to_owned()
    }

    /// Adds `bases/HEX`, a file a device has, named by its SHA-256, and
    /// returns that SHA-256.
    pub fn base_file(&mut self, bytes: &[u8]) -> Digest {
        let digest = Digest::of(bytes);
        self.put(format!("bases/{digest}"), bytes.to_vec());
        digest
    }

    /// A file made earlier (e.g. `roots/standard.hpkroot`).
    pub fn files_get(&self, path: &str) -> Vec<u8> {
        self.files
            .get(path)
            .unwrap_or_else(|| panic!("{path} not made yet"))
            .clone()
    }

    fn put(&mut self, path: String, bytes: Vec<u8>) {
        if let Some(old) = self.files.get(&path) {
            assert_eq!(old, &bytes, "{path} made twice with different bytes");
        }
        self.files.insert(path, bytes);
    }

    /// A trust-root file for `root`, signed by `signers`.
    pub fn root_bytes(&self, root: &TrustRoot, signers: &[&TestKey]) -> Vec<u8> {
        build::metadata(FileType::TrustRoot, signers, &build::encode_valid(root))
    }

    /// The reference baseline's file, signed by the release key.
    pub fn baseline_file(&self) -> Vec<u8> {
        self.baseline.file(&[&self.keys.release])
    }

    /// A small valid package of `kind` with one payload, signed by the
    /// key of its role: the base of most failure vectors.
    pub fn small(&self, kind: &str) -> PackageSpec {
        let spec = match kind {
            "baseline" => PackageSpec::baseline("small-baseline"),
            "standard" => PackageSpec::new("small-standard", PackageKind::Standard),
            "recovery" => PackageSpec::new("small-recovery", PackageKind::Recovery),
            "hotpatch" => PackageSpec::hotpatch("small-hotpatch", self.baseline.digest(), 1),
            other => panic!("unknown kind {other}"),
        };
        spec.with_payload("readme.txt", b"hpk conformance test vector\n".to_vec())
    }

    /// The file of `built` signed by the key of its kind's role.
    pub fn signed(&self, built: &BuiltPackage) -> Vec<u8> {
        let key = match &built.manifest.kind {
            PackageKind::Baseline(_) | PackageKind::Standard => &self.keys.release,
            PackageKind::Hotpatch(_) => &self.keys.hotpatch,
            PackageKind::Recovery => &self.keys.recovery,
        };
        built.file(&[key])
    }
}

/// The reference baseline: two payloads, one of three zstd chunks.
pub fn reference_baseline() -> PackageSpec {
    PackageSpec::baseline("example-baseline")
        .version("10.0.26100.1000")
        .with_payload("System32/kernel.dll", sample_data(10_000, 1))
        .with_payload(
            "readme.txt",
            b"Example baseline for the hpk test vectors.\n".to_vec(),
        )
}

/// Incompressible bytes: SHA-256 in counter mode.
pub fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        let mut block = vec![seed];
        block.extend_from_slice(&counter.to_le_bytes());
        out.extend_from_slice(&Digest::of(&block).0);
        counter += 1;
    }
    out.truncate(len);
    out
}

/// Every generated file.
pub fn all() -> Files {
    let mut g = Gen::new();
    valid::add(&mut g);
    container::add(&mut g);
    limits::add(&mut g);
    body::add(&mut g);
    signatures::add(&mut g);
    payloads::add(&mut g);
    deltas::add(&mut g);
    policy::add(&mut g);
    roots::add(&mut g);
    catalogs::add(&mut g);
    fetched::add(&mut g);
    order::add(&mut g);
    plans::add(&mut g);
    let readme = readme(&g);
    g.files.insert("README.md".into(), readme.into_bytes());
    g.files
}

/// The README: the hand-written description of the format, then the keys
/// and an index of every vector by layer.
fn readme(g: &Gen) -> String {
    let mut out = include_str!("../readme.md").to_owned();
    out.push_str("\n## Keys\n\n| key | seed byte | public key | key id |\n|---|---|---|---|\n");
    let keys: [(&str, u8, &TestKey); 10] = [
        ("root (standard root, rotation v1)", 1, &g.keys.root),
        ("release", 2, &g.keys.release),
        ("hotpatch", 3, &g.keys.hotpatch),
        ("recovery", 4, &g.keys.recovery),
        ("catalog", 5, &g.keys.catalog),
        ("second release key (threshold 2)", 6, &g.release2),
        ("second root key (threshold 2)", 7, &g.root2),
        ("stranger (in no trust root)", 9, &g.stranger),
        ("root of rotation v2", 11, &g.root_v2),
        ("root of rotation v3", 12, &g.root_v3),
    ];
    for (what, seed, key) in keys {
        assert_eq!(key.public(), TestKey::from_seed(seed).public());
        out.push_str(&format!(
            "| {what} | `{seed:02x}` | `{}` | `{}` |\n",
            Digest(key.public()).to_hex(),
            key.id()
        ));
    }
    let vectors: Vec<Vector> = g
        .files
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_suffix(".vec")?;
            Some(Vector::parse(name, bytes).expect("generated vector parses"))
        })
        .collect();
    let success = vectors.iter().filter(|v| v.is_success()).count();
    out.push_str(&format!(
        "\n## Index\n\n{} vectors: {success} expect success, {} a failure.\n",
        vectors.len(),
        vectors.len() - success
    ));
    let mut indexed = 0;
    for (layer, title) in [
        ("valid", "Valid"),
        ("malformed", "Malformed"),
        ("unsupported", "Unsupported"),
        ("limit", "Limits"),
        ("signature", "Signatures"),
        ("integrity", "Integrity"),
        ("policy", "Policy"),
        ("plan", "Resolver plans"),
    ] {
        let in_layer: Vec<&Vector> = vectors
            .iter()
            .filter(|v| v.name.starts_with(&format!("{layer}-")))
            .collect();
        out.push_str(&format!(
            "\n### {title} ({})\n\n| vector | file | expect | case |\n|---|---|---|---|\n",
            in_layer.len()
        ));
        indexed += in_layer.len();
        for v in in_layer {
            out.push_str(&format!(
                "| `{}` | {} | `{}` | {} |\n",
                v.name,
                v.get("file").unwrap_or_default(),
                v.expect(),
                v.get("description").unwrap_or_default().replace('|', "\\|")
            ));
        }
    }
    assert_eq!(
        indexed,
        vectors.len(),
        "a vector name without a layer prefix"
    );
    out
}
