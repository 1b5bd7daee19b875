//! Shared helpers of the `hpk-format` integration tests: proptest strategies
//! that produce only valid metadata, an independent hand-written encoder of
//! the wire format (so that expected bytes never come from the code under
//! test), sample values, and a deterministic byte generator.
//!
//! The workspace test kit (`hpk-tests`) depends on `hpk-format`, so these
//! tests cannot use it: this file keeps the one small byte generator they
//! need, and sample values of their own.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    BaselineInfo, Catalog, CatalogEntry, Channel, Compression, DeltaOf, Digest, Extension,
    HotpatchInfo, KeyId, Link, MIN_CHUNK_SIZE, Manifest, PackageKind, PackageName, PatchedModule,
    PayloadDescriptor, PayloadName, Role, Roles, Targets, Token, TrustRoot, TrustedKey, Version,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

// ---------------------------------------------------------------------------
// Independent SHA-256 and data generation.
// ---------------------------------------------------------------------------

/// SHA-256 computed with `sha2` directly, not through `hpk_format::Digest`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// `n` pseudo-random (incompressible) bytes from `seed` (splitmix64).
pub fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// `n` highly compressible bytes (text-like, repeating with variation).
pub fn compressible_bytes(n: usize) -> Vec<u8> {
    let line = b"hpk payload line: the quick brown fox jumps over the lazy dog 0123456789\n";
    let mut out = Vec::with_capacity(n);
    let mut i = 0u32;
    while out.len() < n {
        out.extend_from_slice(line);
        out.extend_from_slice(format!("{i:08}\n").as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

// ---------------------------------------------------------------------------
// Independent encoder of the wire format (bincode, fixed-width little
// endian, u64 length prefixes, u32 enum tags), written from the design
// brief and the field order of the types. It also records the offset of
// named fields so that tests can damage them precisely.
// ---------------------------------------------------------------------------

/// A hand-written encoder.
#[derive(Default)]
pub struct Enc {
    /// The bytes so far.
    pub buf: Vec<u8>,
    marks: Vec<(&'static str, usize)>,
}

impl Enc {
    /// Records the current offset under `name` (the first mark wins).
    pub fn mark(&mut self, name: &'static str) {
        if !self.marks.iter().any(|(n, _)| *n == name) {
            self.marks.push((name, self.buf.len()));
        }
    }

    /// The offset recorded under `name`.
    pub fn at(&self, name: &str) -> usize {
        self.marks
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, at)| *at)
            .unwrap_or_else(|| panic!("no mark {name}"))
    }

    fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }
    fn bool(&mut self, x: bool) {
        self.buf.push(u8::from(x));
    }
    fn u16(&mut self, x: u16) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    fn u32(&mut self, x: u32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn fixed(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.fixed(s.as_bytes());
    }
    fn tokens(&mut self, list: &[Token]) {
        self.len(list.len());
        for t in list {
            self.str(t.as_str());
        }
    }
    fn version(&mut self, v: &Version) {
        self.len(v.parts().len());
        for p in v.parts() {
            self.u32(*p);
        }
    }

    fn kind(&mut self, k: &PackageKind) {
        self.mark("kind");
        match k {
            PackageKind::Baseline(b) => {
                self.u32(0);
                self.mark("revoked_hotpatches");
                self.len(b.revoked_hotpatches.len());
                for d in &b.revoked_hotpatches {
                    self.fixed(&d.0);
                }
                self.mark("security_floor");
                self.u64(b.security_floor);
            }
            PackageKind::Hotpatch(h) => {
                self.u32(1);
                self.fixed(&h.baseline.0);
                self.mark("sequence");
                self.u32(h.sequence);
                self.mark("modules");
                self.len(h.modules.len());
                for m in &h.modules {
                    self.str(m.path.as_str());
                    self.fixed(&m.digest_before.0);
                }
            }
            PackageKind::Standard => self.u32(2),
            PackageKind::Recovery => self.u32(3),
        }
    }

    fn targets(&mut self, t: &Targets) {
        self.mark("os");
        self.str(t.os.as_str());
        self.mark("architectures");
        self.tokens(&t.architectures);
        self.mark("editions");
        self.tokens(&t.editions);
        self.mark("channel");
        self.u32(match t.channel {
            Channel::General => 0,
            Channel::Preview => 1,
        });
        self.mark("capabilities");
        self.tokens(&t.capabilities);
    }

    fn extensions(&mut self, list: &[Extension]) {
        self.mark("extensions");
        self.len(list.len());
        for e in list {
            self.u32(e.id);
            self.mark("extension_critical");
            self.bool(e.critical);
            self.len(e.data.len());
            self.fixed(&e.data);
        }
    }

    fn descriptor(&mut self, p: &PayloadDescriptor) {
        self.mark("payload_name");
        self.str(p.name.as_str());
        self.mark("executable");
        self.bool(p.executable);
        self.mark("compression");
        match p.compression {
            Compression::None => self.u32(0),
            Compression::Zstd => self.u32(1),
            Compression::Delta(base) => {
                self.u32(2);
                self.mark("base_digest");
                self.fixed(&base.digest.0);
                self.mark("base_size");
                self.u64(base.size);
            }
            Compression::Unchanged => self.u32(3),
        }
        self.mark("size");
        self.u64(p.size);
        self.mark("stored_size");
        self.u64(p.stored_size);
        self.mark("chunk_size");
        self.u32(p.chunk_size);
        self.mark("chunk_count");
        self.u64(p.chunk_count);
        self.mark("index_digest");
        self.fixed(&p.index_digest.0);
        self.mark("content_digest");
        self.fixed(&p.content_digest.0);
    }
}

/// The expected encoding of a manifest, with marks.
pub fn enc_manifest(m: &Manifest) -> Enc {
    let mut e = Enc::default();
    e.mark("name");
    e.str(m.name.as_str());
    e.mark("version");
    e.version(&m.version);
    e.kind(&m.kind);
    e.mark("security_version");
    e.u64(m.security_version);
    e.mark("created");
    e.u64(m.created);
    e.mark("expires");
    match m.expires {
        None => e.u8(0),
        Some(x) => {
            e.u8(1);
            e.u64(x);
        }
    }
    e.mark("restart_required");
    e.bool(m.restart_required);
    e.targets(&m.targets);
    e.mark("payloads");
    e.len(m.payloads.len());
    for p in &m.payloads {
        e.descriptor(p);
    }
    e.mark("links");
    e.len(m.links.len());
    for l in &m.links {
        e.str(l.name.as_str());
        e.str(l.target.as_str());
    }
    e.mark("folders");
    e.len(m.folders.len());
    for f in &m.folders {
        e.str(f.as_str());
    }
    e.extensions(&m.extensions);
    e
}

/// The expected encoding of a trust root, with marks.
pub fn enc_trust_root(r: &TrustRoot) -> Enc {
    let mut e = Enc::default();
    e.mark("version");
    e.u64(r.version);
    e.u64(r.created);
    e.u64(r.expires);
    e.mark("keys");
    e.len(r.keys.len());
    for k in &r.keys {
        e.mark("algorithm");
        e.u16(k.algorithm);
        e.fixed(&k.public_key);
    }
    e.mark("roles");
    for (i, role) in [
        Some(&r.roles.root),
        r.roles.release.as_ref(),
        r.roles.hotpatch.as_ref(),
        r.roles.recovery.as_ref(),
        r.roles.catalog.as_ref(),
    ]
    .into_iter()
    .enumerate()
    {
        // Every role but the root is an Option: a tag, then the role.
        let Some(role) = role else {
            e.u8(0);
            continue;
        };
        if i > 0 {
            e.u8(1);
        }
        e.u32(role.threshold);
        e.len(role.keys.len());
        for k in &role.keys {
            e.fixed(&k.0);
        }
    }
    e.extensions(&r.extensions);
    e
}

/// The expected encoding of a catalog, with marks.
pub fn enc_catalog(c: &Catalog) -> Enc {
    let mut e = Enc::default();
    e.u64(c.version);
    e.u64(c.created);
    e.u64(c.expires);
    e.mark("entries");
    e.len(c.entries.len());
    for x in &c.entries {
        e.str(x.name.as_str());
        e.version(&x.version);
        e.kind(&x.kind);
        e.u64(x.security_version);
        e.bool(x.restart_required);
        e.targets(&x.targets);
        e.fixed(&x.manifest_digest.0);
        e.u64(x.size);
        e.mark("location");
        e.str(&x.location);
        e.mark("delta");
        match &x.delta {
            None => e.u8(0),
            Some(d) => {
                e.u8(1);
                e.fixed(&d.base.0);
                e.fixed(&d.full.0);
            }
        }
    }
    e.extensions(&c.extensions);
    e
}

/// Replaces the length-prefixed string whose prefix starts at `at` with
/// `new` (raw bytes, so invalid UTF-8 and bad names can be written).
pub fn splice_string(bytes: &[u8], at: usize, new: &[u8]) -> Vec<u8> {
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[at..at + 8]);
    let old_end = at + 8 + u64::from_le_bytes(len) as usize;
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(&(new.len() as u64).to_le_bytes());
    out.extend_from_slice(new);
    out.extend_from_slice(&bytes[old_end..]);
    out
}

/// Overwrites 8 bytes at `at` with `x` little-endian.
pub fn put_u64(bytes: &mut [u8], at: usize, x: u64) {
    bytes[at..at + 8].copy_from_slice(&x.to_le_bytes());
}

/// Overwrites 4 bytes at `at` with `x` little-endian.
pub fn put_u32(bytes: &mut [u8], at: usize, x: u32) {
    bytes[at..at + 4].copy_from_slice(&x.to_le_bytes());
}

// ---------------------------------------------------------------------------
// Sample values.
// ---------------------------------------------------------------------------

/// A token, panicking on invalid input.
pub fn tok(s: &str) -> Token {
    Token::new(s).unwrap()
}

/// A payload name, panicking on invalid input.
pub fn pname(s: &str) -> PayloadName {
    PayloadName::new(s).unwrap()
}

/// A valid payload descriptor of `size` bytes, raw.
pub fn raw_descriptor(name: &str, size: u64, chunk_size: u32) -> PayloadDescriptor {
    PayloadDescriptor {
        name: pname(name),
        executable: false,
        compression: Compression::None,
        size,
        stored_size: size,
        chunk_size,
        chunk_count: size.div_ceil(u64::from(chunk_size)),
        index_digest: Digest([1; 32]),
        content_digest: Digest([2; 32]),
    }
}

/// Sample targets.
pub fn sample_targets() -> Targets {
    Targets {
        os: tok("windows"),
        architectures: vec![tok("arm64"), tok("x64")],
        editions: vec![tok("education"), tok("enterprise")],
        channel: Channel::General,
        capabilities: vec![tok("vbs")],
    }
}

/// A valid manifest of the given kind with two payloads and one extension.
pub fn sample_manifest(kind: PackageKind) -> Manifest {
    let restart_required = !matches!(kind, PackageKind::Hotpatch(_));
    Manifest {
        name: PackageName::new("KB5051234").unwrap(),
        version: "10.0.26100.4349".parse().unwrap(),
        kind,
        security_version: 7,
        created: 1_700_000_000,
        expires: Some(1_800_000_000),
        restart_required,
        targets: sample_targets(),
        payloads: vec![
            raw_descriptor("System32/a.dll", 10_000, MIN_CHUNK_SIZE),
            PayloadDescriptor {
                compression: Compression::Zstd,
                executable: true,
                stored_size: 3_000,
                ..raw_descriptor("System32/b.dll", 9_000, MIN_CHUNK_SIZE)
            },
        ],
        links: vec![Link {
            name: pname("System32/current.dll"),
            target: pname("System32/b.dll"),
        }],
        folders: vec![pname("Temp")],
        extensions: vec![Extension {
            id: 1,
            critical: false,
            data: b"note".to_vec(),
        }],
    }
}

/// The four kinds, with data.
pub fn all_kinds() -> Vec<PackageKind> {
    vec![
        PackageKind::Baseline(BaselineInfo {
            revoked_hotpatches: vec![Digest([3; 32]), Digest([4; 32])],
            security_floor: 5,
        }),
        PackageKind::Hotpatch(HotpatchInfo {
            baseline: Digest([9; 32]),
            sequence: 2,
            modules: vec![
                PatchedModule {
                    path: pname("System32/ntoskrnl.exe"),
                    digest_before: Digest([5; 32]),
                },
                PatchedModule {
                    path: pname("System32/win32k.sys"),
                    digest_before: Digest([6; 32]),
                },
            ],
        }),
        PackageKind::Standard,
        PackageKind::Recovery,
    ]
}

/// A standard-kind sample manifest.
pub fn standard_manifest() -> Manifest {
    sample_manifest(PackageKind::Standard)
}

/// A trusted Ed25519 key with this raw public key.
pub fn key(raw: u8) -> TrustedKey {
    TrustedKey {
        algorithm: 1,
        public_key: [raw; 32],
    }
}

/// A valid trust root with three keys.
pub fn sample_trust_root() -> TrustRoot {
    let mut keys = vec![key(1), key(2), key(3)];
    keys.sort_by_key(TrustedKey::key_id);
    let ids: Vec<KeyId> = keys.iter().map(TrustedKey::key_id).collect();
    let role = |threshold: u32, ids: &[KeyId]| Role {
        threshold,
        keys: ids.to_vec(),
    };
    TrustRoot {
        version: 1,
        created: 1_700_000_000,
        expires: 1_800_000_000,
        keys,
        roles: Roles {
            root: role(2, &ids),
            release: Some(role(1, &ids[..1])),
            hotpatch: Some(role(1, &ids[1..2])),
            recovery: Some(role(1, &ids[2..])),
            catalog: Some(role(1, &ids[..2])),
        },
        extensions: vec![],
    }
}

/// A catalog entry for a sample manifest.
pub fn sample_entry(digest: u8, kind: PackageKind) -> CatalogEntry {
    let m = sample_manifest(kind);
    CatalogEntry {
        name: m.name,
        version: m.version,
        kind: m.kind,
        security_version: m.security_version,
        restart_required: m.restart_required,
        targets: m.targets,
        manifest_digest: Digest([digest; 32]),
        size: 123_456,
        location: "packages/KB5051234.hpk".into(),
        delta: None,
    }
}

/// A valid catalog with one entry per kind.
pub fn sample_catalog() -> Catalog {
    Catalog {
        version: 3,
        created: 1_700_000_000,
        expires: 1_700_600_000,
        entries: all_kinds()
            .into_iter()
            .enumerate()
            .map(|(i, k)| sample_entry(i as u8 + 1, k))
            .collect(),
        extensions: vec![],
    }
}

// ---------------------------------------------------------------------------
// Strategies producing only valid values.
// ---------------------------------------------------------------------------

/// A registry token.
pub fn token() -> impl Strategy<Value = Token> {
    "[a-z0-9][a-z0-9._-]{0,11}".prop_map(|s| tok(&s))
}

/// A strictly ascending list of tokens.
pub fn token_list(min: usize, max: usize) -> impl Strategy<Value = Vec<Token>> {
    btree_set(token(), min..=max).prop_map(|s| s.into_iter().collect())
}

/// Whether a component is a Windows device name (`CON`, `nul.txt`, `COM1`…),
/// written independently of the crate's own check.
pub fn is_windows_device(part: &str) -> bool {
    let stem = part
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"].contains(&stem.as_str())
        || (0..=9).any(|d| stem == format!("COM{d}") || stem == format!("LPT{d}"))
}

/// A payload name: 1 to 4 safe components of printable ASCII; no
/// component ends in `.` or space or is a device name.
pub fn payload_name() -> impl Strategy<Value = PayloadName> {
    vec(
        "[A-Za-z0-9_~]([A-Za-z0-9_.~ $-]{0,6}[A-Za-z0-9_~$])?",
        1..=4,
    )
    .prop_filter("device name", |parts| {
        !parts.iter().any(|p| is_windows_device(p))
    })
    .prop_map(|parts| pname(&parts.join("/")))
}

/// Keeps the names (ascending) that stay distinct and non-overlapping on any
/// file system: no two equal ignoring case, none a folder of another.
pub fn portable(names: impl IntoIterator<Item = PayloadName>) -> Vec<PayloadName> {
    let mut kept: Vec<PayloadName> = Vec::new();
    for n in names {
        let name = n.as_str();
        let clash = kept.iter().any(|k| {
            let k = k.as_str();
            k == name || name.starts_with(&format!("{k}/")) || k.starts_with(&format!("{name}/"))
        });
        if !clash {
            kept.push(n);
        }
    }
    kept.sort();
    kept
}

/// A package name: starts with a letter or digit.
pub fn package_name() -> impl Strategy<Value = PackageName> {
    "[A-Za-z0-9][A-Za-z0-9._+-]{0,23}".prop_map(|s| PackageName::new(&s).unwrap())
}

/// A content version.
pub fn version() -> impl Strategy<Value = Version> {
    vec(any::<u32>(), 1..=8).prop_map(|p| Version::new(p).unwrap())
}

/// A digest.
pub fn digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(Digest)
}

/// Extensions with non-zero, strictly ascending ids.
pub fn extensions() -> impl Strategy<Value = Vec<Extension>> {
    let id = prop_oneof![1u32..16, 16u32.., Just(u32::MAX)];
    btree_map(id, (any::<bool>(), vec(any::<u8>(), 0..24)), 0..4).prop_map(|m| {
        m.into_iter()
            .map(|(id, (critical, data))| Extension { id, critical, data })
            .collect()
    })
}

/// Targets.
pub fn targets() -> impl Strategy<Value = Targets> {
    (
        token(),
        token_list(1, 3),
        token_list(0, 3),
        prop_oneof![Just(Channel::General), Just(Channel::Preview)],
        token_list(0, 3),
    )
        .prop_map(
            |(os, architectures, editions, channel, capabilities)| Targets {
                os,
                architectures,
                editions,
                channel,
                capabilities,
            },
        )
}

/// Size, chunk size and stored-size seed of one payload. Sizes stay below
/// 2^30 so that four payloads of 4 KiB chunks stay within the default
/// chunk-count limit.
fn descriptor_for(name: PayloadName) -> impl Strategy<Value = PayloadDescriptor> {
    let size = prop_oneof![
        Just(0u64),
        1u64..100_000,
        0u64..(1 << 30),
        (1u64..64).prop_map(|k| k * u64::from(MIN_CHUNK_SIZE)),
    ];
    let chunk_size = prop_oneof![
        Just(MIN_CHUNK_SIZE),
        MIN_CHUNK_SIZE..=hpk_format::MAX_CHUNK_SIZE,
        Just(hpk_format::MAX_CHUNK_SIZE),
    ];
    (
        (size, chunk_size, any::<bool>(), any::<bool>()),
        any::<u64>(),
        digest(),
        digest(),
    )
        .prop_map(
            move |((size, chunk_size, zstd, executable), seed, index_digest, content_digest)| {
                let chunk_count = size.div_ceil(u64::from(chunk_size));
                let (compression, stored_size) = if zstd {
                    // At least one stored byte per chunk, at most the content.
                    let span = size - chunk_count + 1;
                    (Compression::Zstd, chunk_count + seed % span)
                } else {
                    (Compression::None, size)
                };
                PayloadDescriptor {
                    name: name.clone(),
                    executable,
                    compression,
                    size,
                    stored_size,
                    chunk_size,
                    chunk_count,
                    index_digest,
                    content_digest,
                }
            },
        )
}

/// Payload descriptors with unique names, ascending.
pub fn payloads() -> impl Strategy<Value = Vec<PayloadDescriptor>> {
    entries().prop_map(|(payloads, _, _)| payloads)
}

/// The entries of a manifest: payloads, links and empty folders, each
/// list ascending, no name twice and none a folder of another (N9, N10).
pub fn entries() -> impl Strategy<Value = (Vec<PayloadDescriptor>, Vec<Link>, Vec<PayloadName>)> {
    (btree_set(payload_name(), 0..=6), vec(any::<u8>(), 6)).prop_flat_map(|(names, roles)| {
        let mut payloads = Vec::new();
        let mut links = Vec::new();
        let mut folders = Vec::new();
        for (name, role) in portable(names).into_iter().zip(roles) {
            match role % 4 {
                0 => links.push(name),
                1 => folders.push(name),
                _ => payloads.push(name),
            }
        }
        let payloads = payloads.into_iter().map(descriptor_for).collect::<Vec<_>>();
        let links = links
            .into_iter()
            .map(|name| {
                payload_name().prop_map(move |target| Link {
                    name: name.clone(),
                    target,
                })
            })
            .collect::<Vec<_>>();
        (payloads, links, Just(folders))
    })
}

/// A package kind; the security version bounds the baseline floor.
pub fn kind(security_version: u64) -> impl Strategy<Value = PackageKind> {
    prop_oneof![
        (btree_set(digest(), 0..4), any::<u64>()).prop_map(move |(revoked, floor)| {
            PackageKind::Baseline(BaselineInfo {
                revoked_hotpatches: revoked.into_iter().collect(),
                security_floor: floor % security_version.saturating_add(1).max(1),
            })
        }),
        (digest(), 1u32.., btree_map(payload_name(), digest(), 0..4)).prop_map(
            |(baseline, sequence, modules)| {
                PackageKind::Hotpatch(HotpatchInfo {
                    baseline,
                    sequence,
                    modules: modules
                        .into_iter()
                        .map(|(path, digest_before)| PatchedModule {
                            path,
                            digest_before,
                        })
                        .collect(),
                })
            }
        ),
        Just(PackageKind::Standard),
        Just(PackageKind::Recovery),
    ]
}

/// The restart flag a kind allows, with `free` for kinds that allow both.
pub fn restart_for(kind: &PackageKind, free: bool) -> bool {
    match kind {
        PackageKind::Baseline(_) => true,
        PackageKind::Hotpatch(_) => false,
        PackageKind::Standard => true,
        PackageKind::Recovery => free,
    }
}

/// Created time and optional expiry strictly after it.
fn created_expires() -> impl Strategy<Value = (u64, Option<u64>)> {
    (
        prop_oneof![Just(0u64), any::<u64>()],
        prop::option::of(prop_oneof![Just(1u64), any::<u64>()]),
    )
        .prop_filter_map("expiry overflows", |(created, delta)| match delta {
            None => Some((created, None)),
            Some(d) => created.checked_add(d.max(1)).map(|e| (created, Some(e))),
        })
}

/// A valid manifest.
pub fn manifest() -> impl Strategy<Value = Manifest> {
    prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()]
        .prop_flat_map(|sv| (Just(sv), kind(sv)))
        .prop_flat_map(|(security_version, kind)| {
            (
                package_name(),
                version(),
                Just(security_version),
                Just(kind),
                created_expires(),
                any::<bool>(),
                targets(),
                entries(),
                extensions(),
            )
        })
        .prop_map(
            |(
                name,
                version,
                security_version,
                kind,
                (created, expires),
                free,
                targets,
                (payloads, links, folders),
                extensions,
            )| {
                Manifest {
                    name,
                    version,
                    restart_required: restart_for(&kind, free),
                    kind,
                    security_version,
                    created,
                    expires,
                    targets,
                    payloads,
                    links,
                    folders,
                    extensions,
                }
            },
        )
}

/// A valid trust root: 1 to 6 distinct keys, every role a non-empty
/// ascending subset with a threshold from 1 to its size.
pub fn trust_root() -> impl Strategy<Value = TrustRoot> {
    (
        vec(any::<[u8; 32]>(), 1..=6),
        vec((any::<u8>(), any::<u32>()), 5),
        1u64..,
        any::<u64>(),
        1u64..,
        extensions(),
    )
        .prop_filter_map(
            "expiry overflows",
            |(raw_keys, role_seeds, version, created, delta, extensions)| {
                let expires = created.checked_add(delta)?;
                let mut keys: Vec<TrustedKey> = raw_keys
                    .into_iter()
                    .map(|public_key| TrustedKey {
                        algorithm: 1,
                        public_key,
                    })
                    .collect();
                keys.sort_by_key(|k| sha256(&k.public_key));
                keys.dedup_by_key(|k| sha256(&k.public_key));
                let ids: Vec<KeyId> = keys.iter().map(|k| KeyId(sha256(&k.public_key))).collect();
                let roles: Vec<(Role, bool)> = role_seeds
                    .into_iter()
                    .map(|(mask, t)| {
                        let mut chosen: Vec<KeyId> = ids
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| mask & (1 << i) != 0)
                            .map(|(_, id)| *id)
                            .collect();
                        if chosen.is_empty() {
                            chosen.push(ids[usize::from(mask) % ids.len()]);
                        }
                        let role = Role {
                            threshold: 1 + t % chosen.len() as u32,
                            keys: chosen,
                        };
                        (role, t % 7 == 0)
                    })
                    .collect();
                // A role whose seed is a multiple of 7 is left out (every
                // role but the root may be).
                let optional = |roles: &mut Vec<(Role, bool)>| {
                    roles
                        .pop()
                        .and_then(|(role, absent)| (!absent).then_some(role))
                };
                let mut roles: Vec<(Role, bool)> = roles;
                let catalog = optional(&mut roles);
                let recovery = optional(&mut roles);
                let hotpatch = optional(&mut roles);
                let release = optional(&mut roles);
                let root = roles.pop()?.0;
                Some(TrustRoot {
                    version,
                    created,
                    expires,
                    keys,
                    roles: Roles {
                        root,
                        release,
                        hotpatch,
                        recovery,
                        catalog,
                    },
                    extensions,
                })
            },
        )
}

/// A catalog entry location: 1 to 40 characters, none of them control.
pub fn location() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{1,40}", "\\PC{1,20}"]
}

/// A valid catalog: entries with unique manifest digests.
pub fn catalog() -> impl Strategy<Value = Catalog> {
    let entry = (
        package_name(),
        version(),
        any::<u64>().prop_flat_map(|sv| (Just(sv), kind(sv))),
        any::<bool>(),
        targets(),
        any::<u64>(),
        location(),
    );
    (
        1u64..,
        any::<u64>(),
        1u64..,
        btree_map(digest(), entry, 0..4),
        extensions(),
    )
        .prop_filter_map(
            "expiry overflows",
            |(version, created, delta, entries, extensions)| {
                Some(Catalog {
                    version,
                    created,
                    expires: created.checked_add(delta)?,
                    entries: entries
                        .into_iter()
                        .map(
                            |(
                                manifest_digest,
                                (name, version, (sv, kind), free, targets, size, location),
                            )| {
                                CatalogEntry {
                                    name,
                                    version,
                                    restart_required: restart_for(&kind, free),
                                    kind,
                                    security_version: sv,
                                    targets,
                                    delta: (size % 3 == 0).then_some(DeltaOf {
                                        base: Digest([manifest_digest.0[0]; 32]),
                                        full: Digest([!manifest_digest.0[0]; 32]),
                                    }),
                                    manifest_digest,
                                    size,
                                    location,
                                }
                            },
                        )
                        .collect(),
                    extensions,
                })
            },
        )
}
