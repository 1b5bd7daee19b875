//! Tests of package signing: local keys, external signers (the real
//! `openssl` binary), idempotence, order independence, refusals, damaged
//! inputs and atomic output.
//!
//! The OpenSSL test runs the real `openssl` binary (OpenSSL 3). When it is
//! missing it fails with a clear message instead of passing silently; set
//! `HPK_OPENSSL` to use a binary that is not on `PATH`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{DAY, T0, manifest, mixed_bytes, random_bytes};
use hpk_format::{
    BaselineInfo, Compression, Digest, FileType, HEADER_LEN, HotpatchInfo, Limits, MIN_CHUNK_SIZE,
    Manifest, PackageKind, PayloadName, RoleName, encode, encode_head,
};
use hpk_sign::keys::{PublicKey, SecretKey, write_secret_key_file};
use hpk_sign::root::{RoleKeys, RoleSpec, init};
use hpk_sign::{
    BuildError, BuildOptions, BuiltPackage, ChunkingOptions, CommandSigner, PackageDescription,
    SignError, SignOptions, SignOutcome, Signer, add_signature, attach, build_package,
    sign_package, tbs, write_payload,
};
use hpk_verify::{Clock, Depth, TrustedRoot, Verified, Verifier, VerifyError};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn root_key() -> SecretKey {
    key(1)
}
fn release_a() -> SecretKey {
    key(2)
}
fn release_b() -> SecretKey {
    key(3)
}
fn hotpatch_key() -> SecretKey {
    key(4)
}
fn other_key() -> SecretKey {
    key(9)
}

/// A root with one key per role except release, which has two keys and
/// threshold 1.
fn trusted_root() -> TrustedRoot {
    let one = |k: SecretKey| RoleSpec::new(vec![k.public_key()], 1);
    let keys = RoleKeys {
        root: one(root_key()),
        release: RoleSpec::new(vec![release_a().public_key(), release_b().public_key()], 1),
        hotpatch: one(hotpatch_key()),
        recovery: one(key(5)),
        catalog: one(key(6)),
    };
    let root = init(&keys, T0, T0 + 365 * DAY).unwrap();
    let body = encode(&root, &Limits::default()).unwrap();
    let msg = hpk_format::signed_statement(FileType::TrustRoot, &body);
    let record = hpk_format::SignatureRecord {
        algorithm: hpk_format::ALG_ED25519,
        key_id: hpk_format::KeyId::of_public_key(root_key().public_key().as_bytes()),
        signature: root_key().sign(&msg),
    };
    let bytes = encode_head(FileType::TrustRoot, &[record], &body, 0, 0).unwrap();
    TrustedRoot::load(&bytes, Clock::Trusted(T0 + DAY), &Limits::default()).unwrap()
}

/// Writes an unsigned package of `kind` with one payload of `data`.
fn write_package(path: &Path, kind: PackageKind, data: &[u8], compression: Compression) {
    let limits = Limits::default();
    let mut index = Vec::new();
    let mut area = Vec::new();
    let written = write_payload(
        PayloadName::new("System32/kernel.bin").unwrap(),
        data,
        &mut area,
        &ChunkingOptions {
            chunk_size: MIN_CHUNK_SIZE.max(if data.len() > 1 << 20 { 1 << 20 } else { 0 }),
            compression,
            threads: 1,
            ..ChunkingOptions::default()
        },
        &limits,
        &mut |_| {},
    )
    .unwrap();
    index.extend_from_slice(&written.index);
    let manifest = manifest(kind, vec![written.descriptor]);
    let body = encode(&manifest, &limits).unwrap();
    let mut file = encode_head(
        FileType::Package,
        &[],
        &body,
        index.len() as u64,
        area.len() as u64,
    )
    .unwrap();
    file.extend_from_slice(&index);
    file.extend_from_slice(&area);
    fs::write(path, file).unwrap();
}

fn baseline() -> PackageKind {
    PackageKind::Baseline(BaselineInfo {
        revoked_hotpatches: Vec::new(),
        security_floor: 0,
    })
}

fn hotpatch() -> PackageKind {
    PackageKind::Hotpatch(HotpatchInfo {
        baseline: Digest([7; 32]),
        sequence: 1,
        modules: Vec::new(),
    })
}

struct Fixture {
    dir: tempfile::TempDir,
    package: PathBuf,
}

impl Fixture {
    fn new(kind: PackageKind) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("update.hpk");
        write_package(&package, kind, &mixed_bytes(1, 20_000), Compression::Zstd);
        Fixture { dir, package }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The names in the folder, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn opts() -> SignOptions<'static> {
    SignOptions::default()
}

/// Verifies the package at `path` (signatures, then every stored byte) for
/// no device at a lower bound of 0 on the time: of the policy, only an
/// unknown critical extension is refused.
fn verify(path: &Path, root: &TrustedRoot) -> Result<Verified<Manifest>, VerifyError> {
    Verifier::new(root.clone())
        .clock(Clock::LowerBound(0))
        .limits(Limits::default())
        .open(path)?
        .judge_without_device()?
        .verify(Depth::Stored)
}

fn sign(path: &Path, k: &SecretKey, out: &Path) -> SignOutcome {
    sign_package(path, k, out, None, &mut opts()).unwrap()
}

#[test]
fn signed_package_verifies() {
    let f = Fixture::new(baseline());
    let root = trusted_root();
    assert!(matches!(
        verify(&f.package, &root),
        Err(VerifyError::Signature(_))
    ));

    let out = f.path("signed.hpk");
    let outcome = sign_package(&f.package, &release_a(), &out, Some(&root), &mut opts()).unwrap();
    assert!(
        matches!(outcome, SignOutcome::Added { signatures: 1, .. }),
        "{outcome:?}"
    );
    let head = verify(&out, &root).unwrap();
    assert_eq!(head.role(), RoleName::Release);
    assert_eq!(head.signers().len(), 1);
    // The input is untouched when the output is another file.
    assert!(verify(&f.package, &root).is_err());
    assert_eq!(f.listing(), ["signed.hpk", "update.hpk"]);
}

#[test]
fn signing_in_place_is_idempotent() {
    let f = Fixture::new(baseline());
    let root = trusted_root();
    let first = sign(&f.package, &release_a(), &f.package);
    assert!(matches!(first, SignOutcome::Added { .. }), "{first:?}");
    let once = fs::read(&f.package).unwrap();
    let modified = fs::metadata(&f.package).unwrap().modified().unwrap();

    let again = sign(&f.package, &release_a(), &f.package);
    assert!(
        matches!(again, SignOutcome::AlreadySigned { signatures: 1, .. }),
        "{again:?}"
    );
    assert_eq!(fs::read(&f.package).unwrap(), once);
    // Not rewritten at all.
    assert_eq!(
        fs::metadata(&f.package).unwrap().modified().unwrap(),
        modified
    );

    // Into another file: a byte-identical copy.
    let copy = f.path("copy.hpk");
    let outcome = sign(&f.package, &release_a(), &copy);
    assert!(matches!(outcome, SignOutcome::AlreadySigned { .. }));
    assert_eq!(fs::read(&copy).unwrap(), once);
    verify(&f.package, &root).unwrap();
    assert_eq!(f.listing(), ["copy.hpk", "update.hpk"]);
}

#[test]
fn signing_order_does_not_matter_and_signed_bytes_do_not_change() {
    let f = Fixture::new(baseline());
    let limits = Limits::default();
    let message = tbs(&f.package, &limits).unwrap();
    assert!(message.starts_with(b"hpk v1 package\n"));

    let ab = f.path("ab.hpk");
    sign(&f.package, &release_a(), &ab);
    assert_eq!(tbs(&ab, &limits).unwrap(), message);
    let outcome = sign(&ab, &release_b(), &ab);
    assert!(matches!(outcome, SignOutcome::Added { signatures: 2, .. }));
    assert_eq!(tbs(&ab, &limits).unwrap(), message);

    let ba = f.path("ba.hpk");
    sign(&f.package, &release_b(), &ba);
    sign(&ba, &release_a(), &ba);
    assert_eq!(tbs(&ba, &limits).unwrap(), message);

    assert_eq!(fs::read(&ab).unwrap(), fs::read(&ba).unwrap());
    // Everything after the head is the same bytes as in the unsigned file.
    let unsigned = fs::read(&f.package).unwrap();
    let signed = fs::read(&ab).unwrap();
    assert_eq!(signed.len(), unsigned.len() + 200);
    assert_eq!(signed[HEADER_LEN + 200..], unsigned[HEADER_LEN..]);

    let head = verify(&ab, &trusted_root()).unwrap();
    assert_eq!(head.signers().len(), 2);
}

#[test]
fn key_not_in_role_is_refused_with_root() {
    let f = Fixture::new(hotpatch());
    let root = trusted_root();
    let before = fs::read(&f.package).unwrap();
    let out = f.path("signed.hpk");
    let err = sign_package(&f.package, &release_a(), &out, Some(&root), &mut opts())
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            SignError::NotInRole {
                role: RoleName::Hotpatch,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("hotpatch role"), "{text}");
    assert!(text.contains("hpk root add-key"), "{text}");
    assert!(text.contains("update.hpk"), "{text}");
    assert_eq!(fs::read(&f.package).unwrap(), before);
    assert!(!out.exists());

    // The right key is accepted.
    sign_package(&f.package, &hotpatch_key(), &out, Some(&root), &mut opts()).unwrap();
    assert_eq!(verify(&out, &root).unwrap().role(), RoleName::Hotpatch);

    // A baseline with a catalog key.
    let b = Fixture::new(baseline());
    let err = sign_package(&b.package, &key(6), &b.package, Some(&root), &mut opts())
        .err()
        .unwrap();
    assert!(err.to_string().contains("release role"), "{err}");
}

fn openssl_bin() -> String {
    std::env::var("HPK_OPENSSL").unwrap_or_else(|_| "openssl".to_owned())
}

#[test]
fn external_signer_with_openssl() {
    let f = Fixture::new(baseline());
    let secret = release_b();
    let key_file = f.path("release.pem");
    write_secret_key_file(&key_file, &secret, None, false).unwrap();

    let msg = f.path("update.tbs");
    fs::write(&msg, tbs(&f.package, &Limits::default()).unwrap()).unwrap();
    let sig = f.path("update.sig");
    let output = Command::new(openssl_bin())
        .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
        .arg(&key_file)
        .arg("-in")
        .arg(&msg)
        .arg("-out")
        .arg(&sig)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` ({e}): this test needs OpenSSL 3 on PATH \
                 (or HPK_OPENSSL set to its path)",
                openssl_bin()
            )
        });
    assert!(
        output.status.success(),
        "openssl pkeyutl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signature = fs::read(&sig).unwrap();
    assert_eq!(signature.len(), 64);

    let outcome = attach(
        &f.package,
        &secret.public_key(),
        &signature,
        &f.package,
        &mut opts(),
    )
    .unwrap();
    assert!(matches!(outcome, SignOutcome::Added { .. }));
    verify(&f.package, &trusted_root()).unwrap();

    // The same bytes as signing with the key directly (Ed25519 is
    // deterministic).
    let direct = f.path("direct.hpk");
    write_package(
        &direct,
        baseline(),
        &mixed_bytes(1, 20_000),
        Compression::Zstd,
    );
    sign(&direct, &secret, &direct);
    assert_eq!(fs::read(&direct).unwrap(), fs::read(&f.package).unwrap());
}

#[test]
fn bad_detached_signatures_are_refused() {
    let f = Fixture::new(baseline());
    let public = release_a().public_key();
    let message = tbs(&f.package, &Limits::default()).unwrap();
    let before = fs::read(&f.package).unwrap();

    let good = release_a().sign(&message);
    let err = attach(&f.package, &public, &good[..63], &f.package, &mut opts())
        .err()
        .unwrap();
    assert!(
        matches!(err, SignError::SignatureLength { len: 63 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("64 raw bytes"), "{err}");

    let by_other = other_key().sign(&message);
    let err = attach(&f.package, &public, &by_other, &f.package, &mut opts())
        .err()
        .unwrap();
    assert!(
        matches!(err, SignError::SignatureMismatch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("hpk tbs"), "{err}");

    let over_other_bytes = release_a().sign(b"hpk v1 package\nsomething else");
    let err = add_signature(
        &f.package,
        &public,
        over_other_bytes,
        &f.package,
        &mut opts(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, SignError::SignatureMismatch { .. }),
        "{err:?}"
    );

    // Over the manifest alone, without the signing context.
    let no_context = release_a().sign(&message[b"hpk v1 package\n".len()..]);
    assert!(attach(&f.package, &public, &no_context, &f.package, &mut opts()).is_err());

    assert_eq!(fs::read(&f.package).unwrap(), before);
    assert_eq!(f.listing(), ["update.hpk"]);

    attach(&f.package, &public, &good, &f.package, &mut opts()).unwrap();
}

/// Damages the file with `damage`, then checks that signing and `tbs`
/// refuse it with an error of the expected kind and leave it unchanged.
fn refuses_damage(damage: impl Fn(&mut Vec<u8>), expect: impl Fn(&SignError) -> bool) {
    let f = Fixture::new(baseline());
    sign(&f.package, &release_a(), &f.package);
    let mut bytes = fs::read(&f.package).unwrap();
    damage(&mut bytes);
    fs::write(&f.package, &bytes).unwrap();

    let err = sign_package(&f.package, &release_b(), &f.package, None, &mut opts())
        .err()
        .unwrap();
    assert!(expect(&err), "{err:?}");
    assert!(err.to_string().contains("update.hpk"), "{err}");
    let err = tbs(&f.package, &Limits::default()).err().unwrap();
    assert!(expect(&err), "{err:?}");
    assert_eq!(fs::read(&f.package).unwrap(), bytes);
    assert_eq!(f.listing(), ["update.hpk"]);
}

#[test]
fn damaged_signature_block_is_refused() {
    refuses_damage(
        |b| b[HEADER_LEN + 2] = 1,
        |e| {
            matches!(
                e,
                SignError::Container {
                    source: hpk_format::ContainerError::ReservedNotZero { .. },
                    ..
                }
            )
        },
    );
}

#[test]
fn damaged_manifest_is_refused() {
    // The manifest starts with the name's u64 length prefix.
    refuses_damage(
        |b| b[HEADER_LEN + 100 + 7] = 0x40,
        |e| matches!(e, SignError::Body { .. }),
    );
}

#[test]
fn truncated_or_extended_file_is_refused() {
    refuses_damage(
        |b| {
            b.pop();
        },
        |e| {
            matches!(
                e,
                SignError::Container {
                    source: hpk_format::ContainerError::Truncated { .. },
                    ..
                }
            )
        },
    );
    refuses_damage(
        |b| b.push(0),
        |e| {
            matches!(
                e,
                SignError::Container {
                    source: hpk_format::ContainerError::TrailingBytes,
                    ..
                }
            )
        },
    );
    // Cut inside the head.
    refuses_damage(
        |b| b.truncate(HEADER_LEN + 50),
        |e| matches!(e, SignError::Container { .. }),
    );
}

#[test]
fn failed_writes_leave_the_old_file_and_no_temporary_file() {
    let f = Fixture::new(baseline());
    let before = fs::read(&f.package).unwrap();

    // Output in a folder that does not exist.
    let missing = f.path("no-such-folder").join("out.hpk");
    let err = sign_package(&f.package, &release_a(), &missing, None, &mut opts())
        .err()
        .unwrap();
    assert!(matches!(err, SignError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-folder"), "{err}");

    // Output that is a folder: the final rename fails.
    let folder = f.path("a-folder");
    fs::create_dir(&folder).unwrap();
    let err = sign_package(&f.package, &release_a(), &folder, None, &mut opts())
        .err()
        .unwrap();
    assert!(matches!(err, SignError::Io { .. }), "{err:?}");
    assert!(folder.is_dir());

    // An existing output is untouched by a failed signing.
    let out = f.path("signed.hpk");
    fs::write(&out, b"previous").unwrap();
    let bad = other_key().sign(b"x");
    assert!(
        add_signature(
            &f.package,
            &release_a().public_key(),
            bad,
            &out,
            &mut opts()
        )
        .is_err()
    );
    assert_eq!(fs::read(&out).unwrap(), b"previous");

    assert_eq!(fs::read(&f.package).unwrap(), before);
    assert_eq!(f.listing(), ["a-folder", "signed.hpk", "update.hpk"]);
    assert_eq!(fs::read_dir(&folder).unwrap().count(), 0);
}

#[test]
fn progress_is_reported_in_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("big.hpk");
    // Incompressible, stored raw: about 17 MiB of payload area.
    let data = random_bytes(0x1234_5678_9abc_def1, 17 << 20);
    write_package(&package, baseline(), &data, Compression::None);
    let unsigned_len = fs::metadata(&package).unwrap().len();

    let mut calls = Vec::new();
    let mut progress = |done: u64, total: u64| calls.push((done, total));
    let mut options = SignOptions {
        progress: Some(&mut progress),
        ..SignOptions::default()
    };
    sign_package(&package, &release_a(), &package, None, &mut options).unwrap();

    assert!(calls.len() >= 3, "{calls:?}");
    let total = calls[0].1;
    assert!(calls.iter().all(|&(_, t)| t == total));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(calls.last().unwrap().0, total);
    assert!(total > 17 << 20 && total < unsigned_len);
    verify(&package, &trusted_root()).unwrap();
}

#[test]
fn public_key_type_round_trips_through_the_root() {
    // The key ids used by the signer match those of the trust root.
    let root = trusted_root();
    let id = hpk_format::KeyId::of_public_key(release_a().public_key().as_bytes());
    assert!(
        root.root()
            .roles
            .release
            .as_ref()
            .expect("role")
            .keys
            .contains(&id)
    );
    let again = PublicKey::from_bytes(*release_a().public_key().as_bytes()).unwrap();
    assert_eq!(again, release_a().public_key());
}

#[test]
fn wrong_file_type_and_too_many_signatures_are_refused() {
    let f = Fixture::new(baseline());
    let root_file = f.path("root.hpkroot");
    let root = init(
        &RoleKeys {
            root: RoleSpec::new(vec![root_key().public_key()], 1),
            release: RoleSpec::new(vec![release_a().public_key()], 1),
            hotpatch: RoleSpec::new(vec![hotpatch_key().public_key()], 1),
            recovery: RoleSpec::new(vec![key(5).public_key()], 1),
            catalog: RoleSpec::new(vec![key(6).public_key()], 1),
        },
        T0,
        T0 + DAY,
    )
    .unwrap();
    hpk_sign::root::write_unsigned_root(&root_file, &root).unwrap();
    let err = sign_package(&root_file, &release_a(), &root_file, None, &mut opts())
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            SignError::Container {
                source: hpk_format::ContainerError::WrongFileType { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("give a package file"), "{err}");

    let max = Limits::default().max_signatures;
    for seed in 100..100 + max {
        sign(&f.package, &key(seed as u8), &f.package);
    }
    let before = fs::read(&f.package).unwrap();
    let err = sign_package(&f.package, &key(99), &f.package, None, &mut opts())
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            SignError::TooManySignatures {
                count: 33,
                max: 32,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fs::read(&f.package).unwrap(), before);
    // Signing again with a key that already signed is still fine.
    let again = sign(&f.package, &key(100), &f.package);
    assert!(matches!(
        again,
        SignOutcome::AlreadySigned { signatures: 32, .. }
    ));
}

/// A description of a standard update with a file and a small tree, and
/// the folder it lives in.
fn described_package() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.bin"), mixed_bytes(7, 300_000)).unwrap();
    fs::create_dir_all(dir.path().join("tree/sub")).unwrap();
    for i in 0..40 {
        fs::write(
            dir.path().join(format!("tree/sub/f{i:02}.txt")),
            random_bytes(i, 100 * i as usize),
        )
        .unwrap();
    }
    let text = "name = \"one-step\"\nkind = \"standard\"\nversion = \"1.0\"\n\
                security_version = 1\ncreated = 1767225600\n\n[targets]\nos = \"windows\"\n\
                architectures = [\"x64\"]\n\n[[payloads]]\nname = \"a.bin\"\nfile = \"a.bin\"\n\n\
                [[payloads]]\ndir = \"tree\"\nprefix = \"t\"\n";
    let path = dir.path().join("one-step.toml");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn build_signed(
    description: &Path,
    out: &Path,
    signers: &[&dyn Signer],
    root: Option<&TrustedRoot>,
) -> Result<BuiltPackage, BuildError> {
    let desc = PackageDescription::load(description).unwrap();
    let mut options = BuildOptions {
        signers,
        root,
        ..BuildOptions::default()
    };
    build_package(&desc, description.parent().unwrap(), out, &mut options)
}

#[test]
fn signing_while_packing_writes_the_bytes_of_packing_then_signing() {
    let (dir, description) = described_package();
    let root = trusted_root();
    let (a, b) = (release_a(), release_b());

    let two_steps = dir.path().join("two-steps.hpk");
    build_signed(&description, &two_steps, &[], None).unwrap();
    sign(&two_steps, &b, &two_steps);
    sign(&two_steps, &a, &two_steps);

    // Either order, a key given twice signing once.
    let one_step = dir.path().join("one-step.hpk");
    let built = build_signed(&description, &one_step, &[&a, &b, &a], Some(&root)).unwrap();
    assert_eq!(fs::read(&one_step).unwrap(), fs::read(&two_steps).unwrap());
    assert_eq!(built.size, fs::metadata(&one_step).unwrap().len());
    let verified = verify(&one_step, &root).unwrap();
    assert_eq!(verified.payloads.len(), 41);
    assert_eq!(
        built.manifest_digest,
        Digest::of(&encode(&built.manifest, &Limits::default()).unwrap())
    );
}

#[test]
fn a_signer_that_cannot_sign_for_the_package_leaves_nothing_behind() {
    let (dir, description) = described_package();
    let root = trusted_root();
    let before = common::names(dir.path());
    let out = dir.path().join("p.hpk");

    // A hotpatch key for a standard update: refused before anything is
    // read, naming the role.
    let err = build_signed(&description, &out, &[&hotpatch_key()], Some(&root)).unwrap_err();
    assert!(
        matches!(&err, BuildError::Sign(SignError::NotInRole { role, .. }) if *role == RoleName::Release),
        "{err:?}"
    );
    assert_eq!(common::names(dir.path()), before);

    // A signer command that fails, and one that signs with another key.
    let failing = CommandSigner::new("exit 3", release_a().public_key());
    let err = build_signed(&description, &out, &[&failing], None).unwrap_err();
    assert!(
        matches!(&err, BuildError::Sign(SignError::Signer { .. })),
        "{err:?}"
    );
    let liar = CommandSigner::new("head -c 64 /dev/zero", release_a().public_key());
    let err = build_signed(&description, &out, &[&liar], None).unwrap_err();
    assert!(
        matches!(&err, BuildError::Sign(SignError::SignerMismatch { .. })),
        "{err:?}"
    );
    assert_eq!(common::names(dir.path()), before);
    assert!(err.to_string().contains("p.hpk"), "{err}");
}
