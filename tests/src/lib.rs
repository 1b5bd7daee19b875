//! `hpk-tests`: workspace-level tests (conformance vectors, end-to-end
//! command line, attacks and properties) and the kit they share to build
//! keys, trust roots and packages in memory, valid or deliberately not.
//!
//! The kit uses `hpk-format` and Ed25519 directly rather than `hpk-sign`'s
//! package builder and signing (of `hpk-sign` it uses only the payload
//! writer), so that tests can build exactly the bytes they need, including
//! bytes no honest signer would produce.
#![forbid(unsafe_code)]
// A test-support crate: a failed expectation here is a test failure, so
// unwrap/expect/panic are the right tools.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::{Signer, SigningKey};
use hpk_format::{
    ALG_ED25519, BaselineInfo, Channel, Digest, Extension, FileType, HotpatchInfo, KeyId, Limits,
    Manifest, PackageKind, PackageName, PayloadName, Role, RoleName, Roles, SignatureRecord,
    Targets, Token, TrustRoot, TrustedKey, Version, encode, encode_head, signed_statement,
};
use hpk_sign::{ChunkingOptions, write_payload};

pub mod fault_proxy;
pub mod nginx;
pub mod tls;
pub mod verify;

/// 2026-01-01T00:00:00Z: the time every fixture is created at.
pub const T0: u64 = 1_767_225_600;
/// One day in seconds.
pub const DAY: u64 = 86_400;

/// A deterministic test key.
pub struct TestKey {
    signing: SigningKey,
}

impl TestKey {
    /// The key made from a 32-byte seed of `seed` repeated.
    pub fn from_seed(seed: u8) -> TestKey {
        TestKey {
            signing: SigningKey::from_bytes(&[seed; 32]),
        }
    }

    /// The raw public key.
    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        KeyId::of_public_key(&self.public())
    }

    /// The key as a trust root lists it.
    pub fn trusted(&self) -> TrustedKey {
        TrustedKey {
            algorithm: ALG_ED25519,
            public_key: self.public(),
        }
    }

    /// A raw signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// A forged signature over `message` whose `R` is the identity point
    /// (encoded `01 00 … 00`), a point of small order, with
    /// `S = k·a mod L` where `k = SHA-512(R || A || message)` and `a` is
    /// the secret scalar. Then `[S]B − [k]A` is the identity, so the
    /// cofactorless RFC 8032 equation holds: a verifier that checks only
    /// the equation accepts it, and one that refuses small-order `R`
    /// (`spec/SPEC.md`, S3) does not.
    pub fn sign_with_small_order_r(&self, message: &[u8]) -> [u8; 64] {
        use sha2::{Digest as _, Sha512};
        let mut r = [0u8; 32];
        r[0] = 1;
        let mut h = Sha512::new();
        h.update(r);
        h.update(self.public());
        h.update(message);
        let k = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = k * self.signing.to_scalar();
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&r);
        signature[32..].copy_from_slice(&s.to_bytes());
        signature
    }

    /// A signature record over a body of `file_type`.
    pub fn record(&self, file_type: FileType, body: &[u8]) -> SignatureRecord {
        SignatureRecord {
            algorithm: ALG_ED25519,
            key_id: self.id(),
            signature: self.sign(&signed_statement(file_type, body)),
        }
    }
}

/// The keys of the standard fixture, one role each.
pub struct Keys {
    /// Root role key.
    pub root: TestKey,
    /// Release role key (baseline, standard).
    pub release: TestKey,
    /// Hotpatch role key.
    pub hotpatch: TestKey,
    /// Recovery role key.
    pub recovery: TestKey,
    /// Catalog role key.
    pub catalog: TestKey,
}

impl Keys {
    /// The standard keys: seeds 1 to 5.
    pub fn standard() -> Keys {
        Keys {
            root: TestKey::from_seed(1),
            release: TestKey::from_seed(2),
            hotpatch: TestKey::from_seed(3),
            recovery: TestKey::from_seed(4),
            catalog: TestKey::from_seed(5),
        }
    }

    /// The key of a role.
    pub fn of(&self, role: RoleName) -> &TestKey {
        match role {
            RoleName::Root => &self.root,
            RoleName::Release => &self.release,
            RoleName::Hotpatch => &self.hotpatch,
            RoleName::Recovery => &self.recovery,
            RoleName::Catalog => &self.catalog,
        }
    }
}

/// A role with these keys and threshold (keys sorted as the encoding needs).
pub fn role(threshold: u32, keys: &[&TestKey]) -> Role {
    let mut ids: Vec<KeyId> = keys.iter().map(|k| k.id()).collect();
    ids.sort();
    ids.dedup();
    Role {
        threshold,
        keys: ids,
    }
}

/// A trust root with the given roles, listing every key they use.
pub fn trust_root(version: u64, expires: u64, roles: Roles, keys: &[&TestKey]) -> TrustRoot {
    let mut listed: Vec<TrustedKey> = keys.iter().map(|k| k.trusted()).collect();
    listed.sort_by_key(TrustedKey::key_id);
    listed.dedup_by_key(|k| k.key_id());
    TrustRoot {
        version,
        created: T0,
        expires,
        keys: listed,
        roles,
        extensions: Vec::new(),
    }
}

/// The standard trust root: version 1, one key per role, threshold 1,
/// valid for a year.
pub fn standard_root(keys: &Keys) -> TrustRoot {
    root_with_roles(keys, 1, T0 + 365 * DAY, &[])
}

/// A trust root of `version`, created at `T0` and expiring at `expires`,
/// whose roles are the standard ones (each its key of `keys`, threshold 1)
/// except those `changed` names: each of these is given its threshold and
/// keys instead. It lists exactly the keys its roles use.
pub fn root_with_roles(
    keys: &Keys,
    version: u64,
    expires: u64,
    changed: &[(RoleName, u32, &[&TestKey])],
) -> TrustRoot {
    let mut listed: Vec<&TestKey> = Vec::new();
    let mut role_of = |name: RoleName| match changed.iter().find(|(n, _, _)| *n == name) {
        Some((_, threshold, role_keys)) => {
            listed.extend_from_slice(role_keys);
            role(*threshold, role_keys)
        }
        None => {
            listed.push(keys.of(name));
            role(1, &[keys.of(name)])
        }
    };
    let roles = Roles {
        root: role_of(RoleName::Root),
        release: Some(role_of(RoleName::Release)),
        hotpatch: Some(role_of(RoleName::Hotpatch)),
        recovery: Some(role_of(RoleName::Recovery)),
        catalog: Some(role_of(RoleName::Catalog)),
    };
    trust_root(version, expires, roles, &listed)
}

/// A signed metadata file (trust root or catalog) with these records.
pub fn signed_file(file_type: FileType, body: &[u8], records: &[SignatureRecord]) -> Vec<u8> {
    encode_head(file_type, records, body, 0, 0).expect("encode head")
}

/// The encoded trust root signed by `signers`.
pub fn root_file(root: &TrustRoot, signers: &[&TestKey]) -> Vec<u8> {
    let body = encode(root, &Limits::default()).expect("encode root");
    let records: Vec<SignatureRecord> = signers
        .iter()
        .map(|k| k.record(FileType::TrustRoot, &body))
        .collect();
    signed_file(FileType::TrustRoot, &body, &records)
}

/// A payload to put in a test package.
#[derive(Clone)]
pub struct TestPayload {
    /// Payload name.
    pub name: String,
    /// Content.
    pub data: Vec<u8>,
    /// Chunking and compression.
    pub options: ChunkingOptions,
    /// Whether the payload is marked executable.
    pub executable: bool,
}

impl TestPayload {
    /// A zstd payload with 4 KiB chunks.
    pub fn new(name: &str, data: Vec<u8>) -> TestPayload {
        TestPayload {
            name: name.to_owned(),
            data,
            options: ChunkingOptions {
                chunk_size: hpk_format::MIN_CHUNK_SIZE,
                threads: 1,
                ..ChunkingOptions::default()
            },
            executable: false,
        }
    }
}

/// The test kit's one deterministic pseudo-random generator (xorshift64,
/// Marsaglia 2003): fixed seeds make every generated byte and every random
/// choice of a test the same on every run. For tests only.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `range`, which must not be empty (modulo bias is
    /// negligible for test ranges).
    pub fn below(&mut self, range: std::ops::Range<usize>) -> usize {
        assert!(!range.is_empty(), "empty range");
        range.start + (self.next_u64() % (range.end - range.start) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `len` incompressible bytes, one per step (bits 24 to 31).
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u64() >> 24) as u8).collect()
    }
}

/// `len` incompressible bytes from `seed`: [`Rng::bytes`].
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(len)
}

/// Deterministic, compressible but not trivial test data: one byte in
/// three is one of four letters, the others random. (The conformance
/// vectors are made of it: its output must not change.)
pub fn sample_data(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len)
        .map(|i| {
            let x = rng.next_u64();
            if i % 3 == 0 {
                b'a' + (x % 4) as u8
            } else {
                (x >> 32) as u8
            }
        })
        .collect()
}

/// Targets of every fixture unless a test changes them: windows, x64,
/// enterprise and education, general channel, no capability.
pub fn default_targets() -> Targets {
    Targets {
        os: tok("windows"),
        architectures: vec![tok("x64")],
        editions: vec![tok("education"), tok("enterprise")],
        channel: Channel::General,
        capabilities: Vec::new(),
    }
}

/// A token (test literals only).
pub fn tok(s: &str) -> Token {
    Token::new(s).expect("valid token")
}

/// A package under construction: a manifest and its payloads, then
/// signed by any keys into a file.
#[derive(Clone)]
pub struct PackageSpec {
    /// The manifest; its payload list is filled from `payloads`.
    pub manifest: Manifest,
    /// The payloads, in any order (sorted by name when built).
    pub payloads: Vec<TestPayload>,
}

/// The built pieces of a package.
#[derive(Clone)]
pub struct BuiltPackage {
    /// Manifest with payload descriptors.
    pub manifest: Manifest,
    /// Encoded manifest.
    pub body: Vec<u8>,
    /// Chunk-index section.
    pub index: Vec<u8>,
    /// Payload area.
    pub payload: Vec<u8>,
}

impl BuiltPackage {
    /// SHA-256 of the manifest bytes.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.body)
    }

    /// The package file with these signature records.
    pub fn file_with(&self, records: &[SignatureRecord]) -> Vec<u8> {
        let mut out = encode_head(
            FileType::Package,
            records,
            &self.body,
            self.index.len() as u64,
            self.payload.len() as u64,
        )
        .expect("encode head");
        out.extend_from_slice(&self.index);
        out.extend_from_slice(&self.payload);
        out
    }

    /// The package file signed by `signers`.
    pub fn file(&self, signers: &[&TestKey]) -> Vec<u8> {
        let records: Vec<SignatureRecord> = signers
            .iter()
            .map(|k| k.record(FileType::Package, &self.body))
            .collect();
        self.file_with(&records)
    }
}

impl PackageSpec {
    /// A package of this kind with default fields and no payload.
    pub fn new(name: &str, kind: PackageKind) -> PackageSpec {
        let restart_required = !matches!(kind, PackageKind::Hotpatch(_));
        PackageSpec {
            manifest: Manifest {
                name: PackageName::new(name).expect("valid name"),
                version: "10.0.26100.1".parse().expect("version"),
                kind,
                security_version: 10,
                created: T0,
                expires: Some(T0 + 90 * DAY),
                restart_required,
                targets: default_targets(),
                payloads: Vec::new(),
                links: Vec::new(),
                folders: Vec::new(),
                extensions: Vec::new(),
            },
            payloads: Vec::new(),
        }
    }

    /// A baseline with no revocations and floor 0.
    pub fn baseline(name: &str) -> PackageSpec {
        PackageSpec::new(
            name,
            PackageKind::Baseline(BaselineInfo {
                revoked_hotpatches: Vec::new(),
                security_floor: 0,
            }),
        )
    }

    /// A baseline that revokes `revoked` (in any order) and raises the
    /// security floor to `floor`.
    pub fn baseline_revoking(name: &str, revoked: &[Digest], floor: u64) -> PackageSpec {
        let mut revoked_hotpatches = revoked.to_vec();
        revoked_hotpatches.sort();
        PackageSpec::new(
            name,
            PackageKind::Baseline(BaselineInfo {
                revoked_hotpatches,
                security_floor: floor,
            }),
        )
    }

    /// A standard (cumulative, restart) update.
    pub fn standard(name: &str) -> PackageSpec {
        PackageSpec::new(name, PackageKind::Standard)
    }

    /// A recovery package.
    pub fn recovery(name: &str) -> PackageSpec {
        PackageSpec::new(name, PackageKind::Recovery)
    }

    /// A hotpatch on `baseline` with this sequence.
    pub fn hotpatch(name: &str, baseline: Digest, sequence: u32) -> PackageSpec {
        PackageSpec::new(
            name,
            PackageKind::Hotpatch(HotpatchInfo {
                baseline,
                sequence,
                modules: Vec::new(),
            }),
        )
    }

    /// Adds a payload.
    pub fn with_payload(mut self, name: &str, data: Vec<u8>) -> PackageSpec {
        self.payloads.push(TestPayload::new(name, data));
        self
    }

    /// Adds an executable zstd payload with 4 KiB chunks.
    pub fn with_executable(mut self, name: &str, data: Vec<u8>) -> PackageSpec {
        let mut payload = TestPayload::new(name, data);
        payload.executable = true;
        self.payloads.push(payload);
        self
    }

    /// Adds a symbolic link `name` to `target` (a name relative to the
    /// package's root); links are kept in name order.
    pub fn with_link(mut self, name: &str, target: &str) -> PackageSpec {
        self.manifest.links.push(hpk_format::Link {
            name: PayloadName::new(name).expect("link name"),
            target: PayloadName::new(target).expect("link target"),
        });
        self.manifest.links.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }

    /// Adds an empty folder; folders are kept in name order.
    pub fn with_folder(mut self, name: &str) -> PackageSpec {
        self.manifest
            .folders
            .push(PayloadName::new(name).expect("folder name"));
        self.manifest.folders.sort();
        self
    }

    /// Sets the content version.
    pub fn version(mut self, v: &str) -> PackageSpec {
        self.manifest.version = v.parse::<Version>().expect("version");
        self
    }

    /// Sets the security version.
    pub fn security_version(mut self, security_version: u64) -> PackageSpec {
        self.manifest.security_version = security_version;
        self
    }

    /// Targets every edition (an empty edition list).
    pub fn every_edition(mut self) -> PackageSpec {
        self.manifest.targets.editions = Vec::new();
        self
    }

    /// Adds an extension record.
    pub fn with_extension(mut self, id: u32, critical: bool, data: &[u8]) -> PackageSpec {
        self.manifest.extensions.push(Extension {
            id,
            critical,
            data: data.to_vec(),
        });
        self.manifest.extensions.sort_by_key(|e| e.id);
        self
    }

    /// Encodes the manifest and writes the payloads.
    pub fn build(&self) -> BuiltPackage {
        let mut payloads = self.payloads.clone();
        payloads.sort_by(|a, b| a.name.cmp(&b.name));
        let mut manifest = self.manifest.clone();
        manifest.payloads.clear();
        let mut index = Vec::new();
        let mut area = Vec::new();
        for p in &payloads {
            let written = write_payload(
                PayloadName::new(&p.name).expect("payload name"),
                p.data.as_slice(),
                &mut area,
                &p.options,
                &Limits::default(),
                &mut |_| {},
            )
            .expect("write payload");
            index.extend_from_slice(&written.index);
            let mut descriptor = written.descriptor;
            descriptor.executable = p.executable;
            manifest.payloads.push(descriptor);
        }
        let body = encode(&manifest, &Limits::default()).expect("encode manifest");
        BuiltPackage {
            manifest,
            body,
            index,
            payload: area,
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers of the threat, rotation, policy and extraction tests.
// ---------------------------------------------------------------------------

/// The wire encoding of a trust root, written by hand and without the
/// checks that `encode` makes, so that tests can build roots an honest
/// writer refuses to produce (a key listed twice, threshold 0, a role
/// without keys). For a valid root it equals `encode`.
pub fn encode_root_unchecked(root: &TrustRoot) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&root.version.to_le_bytes());
    out.extend_from_slice(&root.created.to_le_bytes());
    out.extend_from_slice(&root.expires.to_le_bytes());
    out.extend_from_slice(&(root.keys.len() as u64).to_le_bytes());
    for key in &root.keys {
        out.extend_from_slice(&key.algorithm.to_le_bytes());
        out.extend_from_slice(&key.public_key);
    }
    for name in RoleName::ALL {
        // The root role is always there; the others are options (a tag
        // byte, then the role if it is 1).
        let Some(role) = root.roles.get(name) else {
            out.push(0);
            continue;
        };
        if name != RoleName::Root {
            out.push(1);
        }
        out.extend_from_slice(&role.threshold.to_le_bytes());
        out.extend_from_slice(&(role.keys.len() as u64).to_le_bytes());
        for id in &role.keys {
            out.extend_from_slice(&id.0);
        }
    }
    out.extend_from_slice(&(root.extensions.len() as u64).to_le_bytes());
    for ext in &root.extensions {
        out.extend_from_slice(&ext.id.to_le_bytes());
        out.push(u8::from(ext.critical));
        out.extend_from_slice(&(ext.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&ext.data);
    }
    out
}

/// A trust-root file around a body given as bytes, signed by `signers`.
pub fn root_file_from_body(body: &[u8], signers: &[&TestKey]) -> Vec<u8> {
    let records: Vec<SignatureRecord> = signers
        .iter()
        .map(|k| k.record(FileType::TrustRoot, body))
        .collect();
    signed_file(FileType::TrustRoot, body, &records)
}

impl BuiltPackage {
    /// A package from hand-made pieces: `manifest` (with its payload
    /// descriptors) is encoded under `limits`, `index` and `payload` are
    /// taken as they are.
    pub fn from_parts(
        manifest: Manifest,
        index: Vec<u8>,
        payload: Vec<u8>,
        limits: &Limits,
    ) -> BuiltPackage {
        let body = encode(&manifest, limits).expect("encode manifest");
        BuiltPackage {
            manifest,
            body,
            index,
            payload,
        }
    }

    /// Where the chunk-index section starts in a file of this package with
    /// `signatures` records.
    pub fn index_offset(&self, signatures: usize) -> usize {
        hpk_format::HEADER_LEN + signatures * hpk_format::SIGNATURE_RECORD_LEN + self.body.len()
    }

    /// Where the payload area starts in a file of this package with
    /// `signatures` records.
    pub fn payload_offset(&self, signatures: usize) -> usize {
        self.index_offset(signatures) + self.index.len()
    }
}

/// The device every policy fixture fits: online, windows, x64, enterprise,
/// general channel only, no capability, nothing installed, floor 0.
pub fn online_device() -> hpk_verify::DeviceProfile {
    hpk_verify::DeviceProfile {
        mode: hpk_verify::ProfileMode::Online,
        os: tok("windows"),
        architecture: tok("x64"),
        edition: Some(tok("enterprise")),
        channels: vec![Channel::General],
        capabilities: Vec::new(),
        installed_baseline: None,
        installed_hotpatch_sequence: 0,
        security_floor: 0,
        revoked: Vec::new(),
        time_lower_bound: None,
        catalog_version: 0,
        catalog_role: None,
    }
}

/// A zstd frame written by hand (RFC 8878): single-segment, declaring
/// `blocks` × 128 KiB, then `blocks` RLE blocks of 128 KiB of `byte` each.
/// It is 4 bytes per block and expands to `blocks` × 128 KiB: a
/// decompression bomb in any chunk shorter than that.
pub fn zstd_rle_bomb(byte: u8, blocks: usize) -> Vec<u8> {
    zstd_rle_frame(byte, &vec![128 * 1024; blocks])
}

/// A zstd frame written by hand (RFC 8878), as SPEC.md Z1–Z7 want it:
/// single-segment, declaring the sum of `sizes` as its Frame_Content_Size,
/// then one RLE block of `byte` per entry of `sizes` (each 0 to 128 KiB).
pub fn zstd_rle_frame(byte: u8, sizes: &[u32]) -> Vec<u8> {
    let total = sizes.iter().map(|&s| u64::from(s)).sum();
    let mut out = zstd_frame_header(total, 0);
    out.extend(zstd_rle_blocks(byte, sizes));
    out
}

/// The magic number and Frame_Header of a single-segment zstd frame
/// declaring `content_size`, in the smallest Frame_Content_Size field (as
/// zstd writes it); `flags` are or-ed into the Frame_Header_Descriptor.
pub fn zstd_frame_header(content_size: u64, flags: u8) -> Vec<u8> {
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD];
    if content_size < 256 {
        out.push(0x20 | flags);
        out.push(content_size as u8);
    } else if content_size < 65536 + 256 {
        out.push(0x60 | flags);
        out.extend_from_slice(&((content_size - 256) as u16).to_le_bytes());
    } else if content_size <= u64::from(u32::MAX) {
        out.push(0xA0 | flags);
        out.extend_from_slice(&(content_size as u32).to_le_bytes());
    } else {
        out.push(0xE0 | flags);
        out.extend_from_slice(&content_size.to_le_bytes());
    }
    out
}

/// One zstd block (RFC 8878, 3.1.1.2): its 3-byte header (`kind` 0 Raw,
/// 1 RLE, 2 Compressed, 3 Reserved; Block_Size `size`) and `content`.
pub fn zstd_block(kind: u32, size: u32, last: bool, content: &[u8]) -> Vec<u8> {
    assert!(size < 1 << 21 && kind < 4, "block header fields");
    let header = (size << 3) | (kind << 1) | u32::from(last);
    let mut out = header.to_le_bytes()[..3].to_vec();
    out.extend_from_slice(content);
    out
}

/// RLE blocks of `byte`, one per entry of `sizes`, the last one marked
/// last.
pub fn zstd_rle_blocks(byte: u8, sizes: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        out.extend(zstd_block(1, size, i + 1 == sizes.len(), &[byte]));
    }
    out
}

/// XXH64 of `data` with seed 0, whose low 32 bits are a zstd frame's
/// Content_Checksum (RFC 8878, 3.1.1).
pub fn xxh64(data: &[u8]) -> u64 {
    const P1: u64 = 0x9E37_79B1_85EB_CA87;
    const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    const P3: u64 = 0x1656_67B1_9E37_79F9;
    const P4: u64 = 0x85EB_CA77_C2B2_AE63;
    const P5: u64 = 0x27D4_EB2F_1656_67C5;
    fn round(acc: u64, input: u64) -> u64 {
        acc.wrapping_add(input.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    }
    fn merge(acc: u64, v: u64) -> u64 {
        (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
    }
    let u64_at = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let mut rest = data;
    let mut h = if data.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, u64_at(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = merge(h, lane);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(data.len() as u64);
    while rest.len() >= 8 {
        h ^= round(0, u64_at(rest));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        let k = u64::from(u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")));
        h ^= k.wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h ^= u64::from(b).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// Every entry under `dir` that is not a folder (files, symbolic links),
/// relative to `dir`, sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Helpers of the catalog and year tests.
// ---------------------------------------------------------------------------

/// The catalog entry for `built` as signed into `file`: what its manifest
/// says, its manifest digest, the file's exact size, and `location` (what
/// `hpk_sign::entry_for_package` makes from a file on disk).
pub fn catalog_entry(
    built: &BuiltPackage,
    file: &[u8],
    location: &str,
) -> hpk_format::CatalogEntry {
    let m = &built.manifest;
    hpk_format::CatalogEntry {
        name: m.name.clone(),
        version: m.version.clone(),
        kind: m.kind.clone(),
        security_version: m.security_version,
        restart_required: m.restart_required,
        targets: m.targets.clone(),
        manifest_digest: built.digest(),
        size: file.len() as u64,
        location: location.to_owned(),
        delta: None,
    }
}

/// A catalog entry for the manifest `digest` and a file of `size` bytes,
/// its other fields a default baseline's (`probe`, at `probe.hpk`): the
/// two that matter to `hpk_verify::open_for_entry`.
pub fn entry_for(digest: Digest, size: u64) -> hpk_format::CatalogEntry {
    let m = PackageSpec::baseline("probe").manifest;
    hpk_format::CatalogEntry {
        name: m.name,
        version: m.version,
        kind: m.kind,
        security_version: m.security_version,
        restart_required: m.restart_required,
        targets: m.targets,
        manifest_digest: digest,
        size,
        location: "probe.hpk".into(),
        delta: None,
    }
}

/// The encoded catalog signed by `signers`.
pub fn catalog_file(catalog: &hpk_format::Catalog, signers: &[&TestKey]) -> Vec<u8> {
    let body = encode(catalog, &Limits::default()).expect("encode catalog");
    let records: Vec<SignatureRecord> = signers
        .iter()
        .map(|k| k.record(FileType::Catalog, &body))
        .collect();
    signed_file(FileType::Catalog, &body, &records)
}

/// `root`, signed by the standard root key, as a device holds it (loaded
/// at `T0 + DAY`).
pub fn trusted_root(root: &TrustRoot, keys: &Keys) -> hpk_verify::TrustedRoot {
    hpk_verify::TrustedRoot::load(
        &root_file(root, &[&keys.root]),
        hpk_verify::Clock::Trusted(T0 + DAY),
        &Limits::default(),
    )
    .expect("trust root loads")
}

/// The standard trust root as a device holds it (loaded at `T0 + DAY`).
pub fn standard_trusted_root(keys: &Keys) -> hpk_verify::TrustedRoot {
    trusted_root(&standard_root(keys), keys)
}

/// A reader that counts the bytes it hands out, to check that a consumer
/// never reads further than it may.
pub struct CountingReader<R> {
    inner: R,
    /// Bytes handed out so far.
    pub count: u64,
}

impl<R> CountingReader<R> {
    /// Counts the bytes read from `inner`.
    pub fn new(inner: R) -> CountingReader<R> {
        CountingReader { inner, count: 0 }
    }
}

impl<R: std::io::Read> std::io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Helpers of the robustness tests (corruption, bombs, crash safety).
// ---------------------------------------------------------------------------

/// The `hpk` binary the command-line tests run: `HPK_BIN` if set (another
/// build or another implementation of the same command line), else this
/// workspace's, built on first use into the target folder and profile the
/// calling test was built with (`<target>/<profile>/deps/TEST` →
/// `<target>/<profile>/hpk`).
pub fn hpk_binary() -> &'static std::path::Path {
    use std::path::{Path, PathBuf};
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("HPK_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("current exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("<target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("<target>");
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("profile folder");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .args(["build", "--quiet", "-p", "hpk-cli", "--bin", "hpk"])
            .arg("--target-dir")
            .arg(target_dir);
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build -p hpk-cli");
        assert!(status.success(), "cargo build -p hpk-cli failed");
        let bin = profile_dir.join(format!("hpk{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "no hpk binary at {}", bin.display());
        bin
    })
}
