//! Catalogs and the resolver: a catalog is verified against the catalog
//! role, for freshness (online and offline) and against rollback; a package
//! fetched for an entry is held to the entry's exact size and manifest
//! digest, never read past that size, and still verified on its own. Then
//! the resolver on small catalogs: deterministic tie-breaks whatever the
//! catalog order, the reason given for every entry left out, `up-to-date`
//! against `not-eligible`, eligibility read from signed targeting only, and
//! the recovery track.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{
    Catalog, CatalogEntry, Channel, ContainerError, Digest, EXT_NOTE, EXT_PRIVATE_START,
    ErrorClass, Extension, FileType, Limits, PackageKind, PayloadError, RoleName, encode,
};
use hpk_sign::catalog::{
    CatalogEditError, EntrySelector, add_entry, entry_for_package, new_catalog, remove_entry,
};
use hpk_tests::verify::{self, MemorySink};
use hpk_tests::*;
use hpk_verify::{
    CatalogError, Clock, Depth, DeviceProfile, FetchError, Package, Plan, PlanStatus, ProfileMode,
    Track, TrustedRoot, Verified, VerifyError,
};
use std::collections::BTreeMap;
use std::io::{self, Read};

const NOW: Clock = Clock::Trusted(T0 + DAY);

fn limits() -> Limits {
    Limits::default()
}

fn root() -> TrustedRoot {
    standard_trusted_root(&Keys::standard())
}

/// Opens `input` as the package fetched for `entry` (VF1–VF4).
fn fetch<R: Read>(entry: &CatalogEntry, input: R) -> Result<Package<io::Take<R>>, FetchError> {
    verify::verifier(&root()).fetched(entry, input)
}

/// The install plan for `device` from `catalog`, judged at `clock`.
fn resolve(catalog: &Verified<Catalog>, device: &DeviceProfile, clock: Clock) -> Plan {
    verify::plan(catalog, &root(), device, clock)
}

// ---------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------

/// A package signed by its role's key, and its catalog entry.
struct Pkg {
    built: BuiltPackage,
    file: Vec<u8>,
    entry: CatalogEntry,
}

impl Pkg {
    fn digest(&self) -> Digest {
        self.built.digest()
    }
}

fn publish(spec: PackageSpec) -> Pkg {
    let keys = Keys::standard();
    let built = spec.build();
    let file = built.file(&[keys.of(built.manifest.kind.signing_role())]);
    let entry = catalog_entry(&built, &file, &format!("{}.hpk", built.manifest.name));
    Pkg { built, file, entry }
}

/// Sets the content and security versions; the payload is the name.
fn versioned(spec: PackageSpec, version: &str, security_version: u64) -> PackageSpec {
    let name = spec.manifest.name.to_string();
    spec.version(version)
        .security_version(security_version)
        .with_payload("update.bin", name.into_bytes())
}

fn baseline(name: &str, version: &str, sv: u64) -> PackageSpec {
    versioned(PackageSpec::baseline(name), version, sv)
}

fn hotpatch(name: &str, base: &Pkg, sequence: u32, version: &str, sv: u64) -> PackageSpec {
    versioned(
        PackageSpec::hotpatch(name, base.digest(), sequence),
        version,
        sv,
    )
}

/// A baseline that revokes `revoked` and raises the floor to `floor`.
fn revoking(name: &str, version: &str, sv: u64, revoked: &[Digest], floor: u64) -> PackageSpec {
    versioned(
        PackageSpec::baseline_revoking(name, revoked, floor),
        version,
        sv,
    )
}

/// A standard update for every edition.
fn standard(name: &str, version: &str, sv: u64) -> PackageSpec {
    versioned(PackageSpec::standard(name).every_edition(), version, sv)
}

fn recovery(name: &str, version: &str, sv: u64) -> PackageSpec {
    versioned(PackageSpec::recovery(name), version, sv)
}

/// A catalog of these entries, in this order.
fn catalog_of(version: u64, entries: &[&CatalogEntry]) -> Catalog {
    let mut catalog = new_catalog(version, T0, T0 + 7 * DAY);
    catalog.entries = entries.iter().map(|e| (*e).clone()).collect();
    catalog
}

fn signed(catalog: &Catalog) -> Vec<u8> {
    catalog_file(catalog, &[&Keys::standard().catalog])
}

/// The catalog of these entries (in this order), signed and verified.
fn verified(entries: &[&CatalogEntry]) -> Verified<Catalog> {
    verify::catalog(&signed(&catalog_of(1, entries)), &root(), NOW, 0, &limits()).unwrap()
}

fn recovery_device() -> DeviceProfile {
    DeviceProfile {
        mode: ProfileMode::Recovery,
        time_lower_bound: Some(T0),
        ..online_device()
    }
}

/// The reason of every skipped entry, by package name.
fn reasons(plan: &Plan) -> BTreeMap<String, &'static str> {
    plan.skipped
        .iter()
        .map(|s| {
            assert!(!s.detail.is_empty(), "{}: no detail", s.entry.name);
            (s.entry.name.to_string(), s.reason.as_str())
        })
        .collect()
}

/// The names of the steps, with their restart flags.
fn steps(plan: &Plan) -> Vec<(String, bool)> {
    plan.steps
        .iter()
        .map(|s| (s.entry.name.to_string(), s.restart))
        .collect()
}

fn map(pairs: &[(&str, &'static str)]) -> BTreeMap<String, &'static str> {
    pairs.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect()
}

// ---------------------------------------------------------------------------
// Catalog verification.
// ---------------------------------------------------------------------------

fn verify_err(bytes: &[u8], clock: Clock, last_seen: u64) -> CatalogError {
    verify::catalog(bytes, &root(), clock, last_seen, &limits()).expect_err("catalog refused")
}

fn sample_catalog(version: u64) -> (Pkg, Catalog) {
    let b = publish(baseline("contoso-os", "10.0.26100.100", 10));
    let catalog = catalog_of(version, &[&b.entry]);
    (b, catalog)
}

#[test]
fn a_fresh_catalog_verifies() {
    let (b, catalog) = sample_catalog(3);
    let bytes = signed(&catalog);
    let v = verify::catalog(&bytes, &root(), NOW, 2, &limits()).unwrap();
    assert_eq!(*v, catalog);
    assert_eq!(v.entries, vec![b.entry.clone()]);
    assert_eq!(
        v.digest(),
        Digest::of(&encode(&catalog, &limits()).unwrap())
    );
}

#[test]
fn an_expired_catalog_is_refused_online() {
    let (_, catalog) = sample_catalog(3);
    let bytes = signed(&catalog);
    let expires = catalog.expires;
    // Valid up to the second before it expires, expired from then on.
    verify::catalog(&bytes, &root(), Clock::Trusted(expires - 1), 0, &limits()).unwrap();
    for at in [expires, expires + 30 * DAY] {
        match verify_err(&bytes, Clock::Trusted(at), 0) {
            e @ CatalogError::Expired { .. } => {
                assert_eq!(e.class(), ErrorClass::Policy);
                assert!(e.to_string().contains("expired"), "{e}");
                let CatalogError::Expired {
                    version,
                    expires: x,
                    at: a,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!((version, x, a), (3, expires, at));
            }
            e => panic!("expected Expired, got {e:?}"),
        }
    }
}

#[test]
fn a_catalog_created_in_the_future_is_refused_online() {
    let (_, mut catalog) = sample_catalog(3);
    catalog.created = T0 + 2 * DAY;
    catalog.expires = T0 + 9 * DAY;
    let bytes = signed(&catalog);
    match verify_err(&bytes, NOW, 0) {
        e @ CatalogError::NotYetValid { .. } => {
            assert_eq!(e.class(), ErrorClass::Policy);
            assert!(matches!(
                e,
                CatalogError::NotYetValid {
                    version: 3,
                    created,
                    now,
                } if created == T0 + 2 * DAY && now == T0 + DAY
            ));
        }
        e => panic!("expected NotYetValid, got {e:?}"),
    }
    // Created exactly now is fine.
    verify::catalog(&bytes, &root(), Clock::Trusted(T0 + 2 * DAY), 0, &limits()).unwrap();
}

#[test]
fn an_older_catalog_is_a_rollback_and_the_same_version_is_accepted() {
    let (_, catalog) = sample_catalog(3);
    let bytes = signed(&catalog);
    match verify_err(&bytes, NOW, 4) {
        e @ CatalogError::Version(_) => {
            assert_eq!(e.class(), ErrorClass::Policy);
            assert!(matches!(
                e,
                CatalogError::Version(hpk_verify::Rollback {
                    version: 3,
                    last_seen: 4
                })
            ));
            assert!(e.to_string().contains("rollback"), "{e}");
        }
        e => panic!("expected Rollback, got {e:?}"),
    }
    // The same version again (a re-fetch), and any newer one, are fine.
    verify::catalog(&bytes, &root(), NOW, 3, &limits()).unwrap();
    verify::catalog(&bytes, &root(), NOW, 2, &limits()).unwrap();
}

#[test]
fn a_catalog_needs_the_catalog_role() {
    let keys = Keys::standard();
    let (_, catalog) = sample_catalog(3);
    let body = encode(&catalog, &limits()).unwrap();
    let file = |signers: &[&TestKey]| {
        let records: Vec<_> = signers
            .iter()
            .map(|k| k.record(FileType::Catalog, &body))
            .collect();
        signed_file(FileType::Catalog, &body, &records)
    };
    for signers in [
        vec![&keys.release],
        vec![&keys.root],
        vec![&keys.hotpatch, &keys.recovery],
        vec![],
        vec![&TestKey::from_seed(99)],
    ] {
        match verify_err(&file(&signers), NOW, 0) {
            CatalogError::Signature(e) => {
                assert_eq!(e.role, Some(RoleName::Catalog));
                assert_eq!((e.got, e.needed), (0, 1));
            }
            e => panic!("expected Signature, got {e:?}"),
        }
    }
    let e = verify_err(&file(&[&keys.release]), NOW, 0);
    assert_eq!(e.class(), ErrorClass::Signature);
    // A catalog signature over other bytes does not count either.
    let other = encode(&sample_catalog(4).1, &limits()).unwrap();
    let moved = signed_file(
        FileType::Catalog,
        &body,
        &[keys.catalog.record(FileType::Catalog, &other)],
    );
    assert!(matches!(
        verify_err(&moved, NOW, 0),
        CatalogError::Signature(_)
    ));
    // A package signature by the catalog key is not a catalog signature.
    let wrong_context = signed_file(
        FileType::Catalog,
        &body,
        &[keys.catalog.record(FileType::Package, &body)],
    );
    assert!(matches!(
        verify_err(&wrong_context, NOW, 0),
        CatalogError::Signature(_)
    ));
    // The catalog key, with or without other keys, is enough.
    verify::catalog(&file(&[&keys.catalog]), &root(), NOW, 0, &limits()).unwrap();
    verify::catalog(
        &file(&[&keys.release, &keys.catalog]),
        &root(),
        NOW,
        0,
        &limits(),
    )
    .unwrap();
}

#[test]
fn a_catalog_is_authenticated_before_it_is_decoded() {
    let keys = Keys::standard();
    let garbage = b"not a catalog at all".to_vec();
    let by = |k: &TestKey| {
        signed_file(
            FileType::Catalog,
            &garbage,
            &[k.record(FileType::Catalog, &garbage)],
        )
    };
    // Signed by the wrong key: refused for the signature, never decoded.
    assert!(matches!(
        verify_err(&by(&keys.release), NOW, 0),
        CatalogError::Signature(_)
    ));
    // Signed by the catalog key: decoded, and refused as malformed.
    let e = verify_err(&by(&keys.catalog), NOW, 0);
    assert!(matches!(e, CatalogError::Decode(_)), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Malformed);
}

#[test]
fn an_unknown_critical_extension_refuses_the_catalog() {
    let (_, mut catalog) = sample_catalog(3);
    let id = EXT_PRIVATE_START + 7;
    catalog.extensions = vec![Extension {
        id,
        critical: true,
        data: b"must understand".to_vec(),
    }];
    let e = verify_err(&signed(&catalog), NOW, 0);
    assert!(
        matches!(e, CatalogError::UnknownCriticalExtension { version: 3, id: x } if x == id),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Unsupported);
    // Unknown but not critical: ignored.
    catalog.extensions[0].critical = false;
    verify::catalog(&signed(&catalog), &root(), NOW, 0, &limits()).unwrap();
    // Known and critical: understood.
    catalog.extensions = vec![Extension {
        id: EXT_NOTE,
        critical: true,
        data: b"a note".to_vec(),
    }];
    verify::catalog(&signed(&catalog), &root(), NOW, 0, &limits()).unwrap();
}

#[test]
fn offline_a_catalog_is_expired_only_when_it_expired_by_the_lower_bound() {
    let (_, catalog) = sample_catalog(3);
    let bytes = signed(&catalog);
    let expires = catalog.expires;
    // Expiring after the bound: accepted (the real time is unknown).
    verify::catalog(
        &bytes,
        &root(),
        Clock::LowerBound(expires - 1),
        0,
        &limits(),
    )
    .unwrap();
    // Expiring at or before the bound: refused.
    for bound in [expires, expires + DAY] {
        assert!(matches!(
            verify_err(&bytes, Clock::LowerBound(bound), 0),
            CatalogError::Expired { at, .. } if at == bound
        ));
    }
    // Created after the bound: the bound cannot tell the future, accepted.
    let (_, mut later) = sample_catalog(3);
    later.created = T0 + 5 * DAY;
    later.expires = T0 + 12 * DAY;
    verify::catalog(
        &signed(&later),
        &root(),
        Clock::LowerBound(T0),
        0,
        &limits(),
    )
    .unwrap();
    // Rollback is judged offline too.
    assert!(matches!(
        verify_err(&bytes, Clock::LowerBound(T0), 4),
        CatalogError::Version(_)
    ));
}

// ---------------------------------------------------------------------------
// Fetching a package for an entry.
// ---------------------------------------------------------------------------

/// The error opening `input` for `entry` (the package type has no `Debug`).
fn fetch_err<R: Read>(entry: &CatalogEntry, input: R) -> FetchError {
    match fetch(entry, input) {
        Ok(_) => panic!("{}: the fetch was accepted", entry.name),
        Err(e) => e,
    }
}

fn big_baseline(name: &str, version: &str, seed: u64) -> Pkg {
    publish(
        PackageSpec::baseline(name)
            .version(version)
            .with_payload("os.bin", sample_data(10_000, seed)),
    )
}

#[test]
fn a_correct_fetch_verifies_and_streams() {
    let p = big_baseline("contoso-os", "10.0.26100.100", 1);
    let mut reader = CountingReader::new(p.file.as_slice());
    let package = fetch(&p.entry, &mut reader).unwrap();
    assert_eq!(package.manifest().digest(), p.entry.manifest_digest);
    assert_eq!(**package.manifest(), p.built.manifest);
    let mut sink = MemorySink::default();
    let package = package.judge_without_device().unwrap();
    package.stream(&mut sink, &mut |_| {}).unwrap();
    assert_eq!(
        sink.payloads,
        vec![("os.bin".to_owned(), sample_data(10_000, 1))]
    );
    assert_eq!(reader.count, p.entry.size);
    // And checked without decompressing.
    let package = fetch(&p.entry, p.file.as_slice()).unwrap();
    let package = package.judge_without_device().unwrap();
    package.verify(Depth::Stored).unwrap();
}

#[test]
fn a_package_fetched_for_another_entry_is_refused() {
    // Two packages of exactly the same size: only the digest tells them
    // apart.
    let a = big_baseline("contoso-os", "10.0.26100.100", 1);
    let b = big_baseline("contoso-os", "10.0.26100.200", 1);
    assert_eq!(a.file.len(), b.file.len());
    assert_ne!(a.digest(), b.digest());
    let mut reader = CountingReader::new(a.file.as_slice());
    match fetch_err(&b.entry, &mut reader) {
        e @ FetchError::Digest { .. } => {
            assert_eq!(e.class(), ErrorClass::Integrity);
            assert!(matches!(
                e,
                FetchError::Digest { expected, found }
                    if expected == b.digest() && found == a.digest()
            ));
        }
        e => panic!("expected Digest, got {e:?}"),
    }
    // The manifest was compared before anything past the head was read.
    assert!(reader.count < a.entry.size);
    // A package of another size for the entry: refused by its size.
    let small = publish(baseline("contoso-os", "10.0.26100.200", 10));
    assert!(matches!(
        fetch_err(&b.entry, small.file.as_slice()),
        FetchError::Size { .. }
    ));
}

#[test]
fn a_package_longer_than_its_entry_is_refused_without_reading_past_the_entry() {
    let p = big_baseline("contoso-os", "10.0.26100.100", 1);
    let len = p.file.len() as u64;
    let mut entry = p.entry.clone();
    entry.size = len - 1;
    let mut reader = CountingReader::new(p.file.as_slice());
    match fetch_err(&entry, &mut reader) {
        e @ FetchError::Size { .. } => {
            assert_eq!(e.class(), ErrorClass::Integrity);
            assert!(matches!(
                e,
                FetchError::Size { expected, declared } if expected == len - 1 && declared == len
            ));
        }
        e => panic!("expected Size, got {e:?}"),
    }
    assert!(reader.count <= entry.size, "read {} bytes", reader.count);

    // Bytes after the package are never read: the agent verifies exactly
    // the entry's bytes and stops there.
    let mut served = p.file.clone();
    served.extend_from_slice(&[0xAA; 5000]);
    let mut reader = CountingReader::new(served.as_slice());
    let package = fetch(&p.entry, &mut reader).unwrap();
    let package = package.judge_without_device().unwrap();
    let mut sink = MemorySink::default();
    package.stream(&mut sink, &mut |_| {}).unwrap();
    assert_eq!(reader.count, len);

    // An entry too small even for the head: refused, still within it.
    let mut tiny = p.entry.clone();
    tiny.size = 40;
    let mut reader = CountingReader::new(p.file.as_slice());
    assert!(matches!(
        fetch_err(&tiny, &mut reader),
        FetchError::Verify(VerifyError::Container(ContainerError::Truncated { .. }))
    ));
    assert!(reader.count <= 40);
}

#[test]
fn a_package_shorter_than_its_entry_is_refused() {
    let p = big_baseline("contoso-os", "10.0.26100.100", 1);
    let len = p.file.len() as u64;
    // The entry promises more than the package declares.
    let mut entry = p.entry.clone();
    entry.size = len + 1;
    assert!(matches!(
        fetch_err(&entry, p.file.as_slice()),
        FetchError::Size { expected, declared } if expected == len + 1 && declared == len
    ));
    // The download stops short: the head verifies, the payload does not.
    let cut = &p.file[..p.file.len() - 10];
    let package = fetch(&p.entry, cut).unwrap();
    let e = package
        .judge_without_device()
        .unwrap()
        .stream(&mut MemorySink::default(), &mut |_| {})
        .expect_err("truncated payload");
    assert!(
        matches!(e, VerifyError::Payload(PayloadError::Truncated { .. })),
        "{e:?}"
    );
    let package = fetch(&p.entry, cut).unwrap();
    let package = package.judge_without_device().unwrap();
    assert!(package.verify(Depth::Stored).is_err());
    // Cut inside the head: refused when opened.
    assert!(matches!(
        fetch_err(&p.entry, &p.file[..100]),
        FetchError::Verify(VerifyError::Container(ContainerError::Truncated { .. }))
    ));
}

#[test]
fn a_fetched_package_is_still_verified_on_its_own() {
    let keys = Keys::standard();
    let p = big_baseline("contoso-os", "10.0.26100.100", 1);
    // The entry's manifest and size, signed by the hotpatch key: a baseline
    // needs the release role.
    let forged = p.built.file(&[&keys.hotpatch]);
    assert_eq!(forged.len(), p.file.len());
    match fetch_err(&p.entry, forged.as_slice()) {
        FetchError::Verify(VerifyError::Signature(e)) => {
            assert_eq!(e.role, Some(RoleName::Release));
        }
        e => panic!("expected a signature error, got {e:?}"),
    }
    // Unsigned.
    let unsigned = p.built.file(&[]);
    let mut entry = p.entry.clone();
    entry.size = unsigned.len() as u64;
    let e = fetch_err(&entry, unsigned.as_slice());
    assert_eq!(e.class(), ErrorClass::Signature);
}

#[test]
fn the_kit_entry_is_the_one_hpk_sign_makes() {
    let p = big_baseline("contoso-os", "10.0.26100.100", 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contoso-os.hpk");
    std::fs::write(&path, &p.file).unwrap();
    let made = entry_for_package(&path, None).unwrap();
    assert_eq!(made, p.entry);
    let made = entry_for_package(&path, Some("https://example.invalid/os.hpk")).unwrap();
    assert_eq!(made.location, "https://example.invalid/os.hpk");
    // add_entry keeps one entry per package, in a deterministic order.
    let s = publish(standard("contoso-cu", "10.0.26100.100", 10));
    let mut c1 = new_catalog(1, T0, T0 + DAY);
    assert!(add_entry(&mut c1, p.entry.clone()).unwrap());
    assert!(add_entry(&mut c1, s.entry.clone()).unwrap());
    assert!(!add_entry(&mut c1, s.entry.clone()).unwrap());
    let mut c2 = new_catalog(1, T0, T0 + DAY);
    assert!(add_entry(&mut c2, s.entry.clone()).unwrap());
    assert!(add_entry(&mut c2, p.entry.clone()).unwrap());
    assert_eq!(c1, c2);
}

#[test]
fn a_name_and_version_name_one_package_in_a_catalog() {
    let s = publish(standard("contoso-cu", "10.0.26100.100", 10));
    let mut c = new_catalog(1, T0, T0 + DAY);
    assert!(add_entry(&mut c, s.entry.clone()).unwrap());
    // The same package again with a new location: its entry is updated.
    let mut moved = s.entry.clone();
    moved.location = "mirror/contoso-cu.hpk".to_owned();
    assert!(add_entry(&mut c, moved.clone()).unwrap());
    assert_eq!(c.entries, vec![moved.clone()]);
    // Another package (another manifest digest), same name and version.
    let mut other = moved.clone();
    other.manifest_digest = hpk_format::Digest::of(b"another manifest");
    let before = c.clone();
    let err = add_entry(&mut c, other.clone()).unwrap_err();
    assert!(
        matches!(&err, CatalogEditError::Duplicate { existing, added, .. }
            if *existing == moved.manifest_digest && *added == other.manifest_digest),
        "{err:?}"
    );
    assert_eq!(c, before);
    // Removed by name and version, or by digest; a missing entry is an error.
    let by_name = EntrySelector::NameVersion {
        name: "contoso-cu".to_owned(),
        version: "10.0.26100.100".to_owned(),
    };
    assert_eq!(remove_entry(&mut c, &by_name).unwrap(), moved);
    assert!(c.entries.is_empty());
    assert!(matches!(
        remove_entry(&mut c, &by_name),
        Err(CatalogEditError::NotFound { .. })
    ));
    assert!(add_entry(&mut c, other.clone()).unwrap());
    let by_digest = EntrySelector::Digest(other.manifest_digest);
    assert_eq!(remove_entry(&mut c, &by_digest).unwrap(), other);
    assert!(matches!(
        remove_entry(&mut c, &by_digest),
        Err(CatalogEditError::NotFound { .. })
    ));
}

// ---------------------------------------------------------------------------
// The resolver.
// ---------------------------------------------------------------------------

/// A deterministic shuffle.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    let mut rng = Rng::new(seed);
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(0..i + 1));
    }
    out
}

/// Resolves the entries in many orders and checks the plan is the same:
/// the same steps, the same reasons, skipped entries in catalog order.
fn same_plan_in_any_order(entries: &[&CatalogEntry], device: &DeviceProfile) -> Plan {
    let reference = resolve(&verified(entries), device, NOW);
    let sorted_skips = |plan: &Plan| {
        let mut s: Vec<_> = plan
            .skipped
            .iter()
            .map(|s| (s.entry.manifest_digest, s.reason))
            .collect();
        s.sort_by_key(|(d, _)| *d);
        s
    };
    let mut orders: Vec<Vec<&CatalogEntry>> = (0..40).map(|i| shuffled(entries, i)).collect();
    orders.push(entries.iter().rev().copied().collect());
    for order in orders {
        let plan = resolve(&verified(&order), device, NOW);
        assert_eq!(plan.steps, reference.steps);
        assert_eq!(plan.status, reference.status);
        assert_eq!(plan.track, reference.track);
        assert_eq!(sorted_skips(&plan), sorted_skips(&reference));
        // Skipped entries come in catalog order.
        let position = |d: Digest| order.iter().position(|e| e.manifest_digest == d);
        let positions: Vec<_> = plan
            .skipped
            .iter()
            .map(|s| position(s.entry.manifest_digest))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
    }
    reference
}

#[test]
fn ties_are_broken_the_same_way_whatever_the_catalog_order() {
    let device = online_device();
    // Two baselines equal in content and security version: the smaller
    // manifest digest wins.
    let bx = publish(baseline("os-x", "10.0.26100.500", 5));
    let by = publish(baseline("os-y", "10.0.26100.500", 5));
    let bz = publish(baseline("os-z", "10.0.26100.400", 4));
    let (win, lose) = if bx.digest() < by.digest() {
        (&bx, &by)
    } else {
        (&by, &bx)
    };
    let h1 = publish(hotpatch("hp-1", win, 1, "10.0.26100.600", 6));
    let h2a = publish(hotpatch("hp-2a", win, 2, "10.0.26100.700", 7));
    let h2b = publish(hotpatch("hp-2b", win, 2, "10.0.26100.700", 7));
    let hl = publish(hotpatch("hp-lose", lose, 3, "10.0.26100.800", 8));
    let h2 = if h2a.digest() < h2b.digest() {
        &h2a
    } else {
        &h2b
    };
    let entries = [
        &bx.entry, &by.entry, &bz.entry, &h1.entry, &h2a.entry, &h2b.entry, &hl.entry,
    ];
    let plan = same_plan_in_any_order(&entries, &device);
    assert_eq!(
        steps(&plan),
        [
            (win.entry.name.to_string(), true),
            (h2.entry.name.to_string(), false)
        ]
    );
    let r = reasons(&plan);
    assert_eq!(r[&lose.entry.name.to_string()], "superseded");
    assert_eq!(r["os-z"], "superseded");
    assert_eq!(r["hp-1"], "superseded");
    assert_eq!(r["hp-lose"], "wrong-baseline");

    // The sequence decides among hotpatches before the content version;
    // the security version decides among equal content versions.
    let h3 = publish(hotpatch("hp-3", win, 3, "10.0.26100.650", 6));
    let bs = publish(baseline("os-s", "10.0.26100.500", 6));
    let hs = publish(hotpatch("hp-s", &bs, 1, "10.0.26100.900", 9));
    let plan = same_plan_in_any_order(&[&bx.entry, &by.entry, &h2a.entry, &h3.entry], &device);
    assert_eq!(
        steps(&plan),
        [(win.entry.name.to_string(), true), ("hp-3".into(), false)]
    );
    let plan = same_plan_in_any_order(
        &[&bx.entry, &by.entry, &bs.entry, &h1.entry, &hs.entry],
        &device,
    );
    assert_eq!(
        steps(&plan),
        [("os-s".into(), true), ("hp-s".into(), false)]
    );
    // Standard updates and recovery packages break ties the same way.
    let sa = publish(standard("cu-a", "10.0.26100.300", 3));
    let sb = publish(standard("cu-b", "10.0.26100.300", 3));
    let s_win = if sa.digest() < sb.digest() {
        "cu-a"
    } else {
        "cu-b"
    };
    let home = DeviceProfile {
        edition: Some(tok("home")),
        ..online_device()
    };
    let plan = same_plan_in_any_order(&[&sa.entry, &sb.entry, &bx.entry], &home);
    assert_eq!(steps(&plan), [(s_win.to_owned(), true)]);
    let ra = publish(recovery("fix-a", "1.0", 3));
    let rb = publish(recovery("fix-b", "1.0", 3));
    let r_win = if ra.digest() < rb.digest() {
        "fix-a"
    } else {
        "fix-b"
    };
    let plan = same_plan_in_any_order(&[&ra.entry, &rb.entry, &bx.entry], &recovery_device());
    assert_eq!(steps(&plan)[0].0, r_win);
}

/// The fixture of the skip-reason tests: one entry per reason the
/// resolver can give a device of `online_device()` with `vbs`.
struct Reasons {
    b_old: Pkg,
    b_installed: Pkg,
    b_new: Pkg,
    h_installed: Pkg,
    h_new_1: Pkg,
    h_new_2: Pkg,
    h_new_3: Pkg,
    all: Vec<Pkg>,
}

fn reasons_fixture() -> Reasons {
    let targeted = |mut spec: PackageSpec, f: &dyn Fn(&mut hpk_format::Targets)| {
        f(&mut spec.manifest.targets);
        spec
    };
    let vbs = |t: &mut hpk_format::Targets| t.capabilities = vec![tok("vbs")];
    let b_old = publish(targeted(baseline("b-old", "10.0.26100.100", 3), &vbs));
    let b_installed = publish(targeted(baseline("b-installed", "10.0.26100.200", 6), &vbs));
    let b_new = publish(targeted(
        revoking("b-new", "10.0.26100.300", 8, &[], 6),
        &vbs,
    ));
    let h_installed = publish(targeted(
        hotpatch("h-installed", &b_installed, 1, "10.0.26100.250", 7),
        &vbs,
    ));
    let h_new_1 = publish(targeted(
        hotpatch("h-new-1", &b_new, 1, "10.0.26100.310", 9),
        &vbs,
    ));
    let h_new_2 = publish(targeted(
        hotpatch("h-new-2", &b_new, 2, "10.0.26100.320", 10),
        &vbs,
    ));
    let h_new_3 = publish(targeted(
        hotpatch("h-new-3", &b_new, 3, "10.0.26100.330", 11),
        &vbs,
    ));
    let h_low = publish(targeted(
        hotpatch("h-low", &b_new, 4, "10.0.26100.340", 5),
        &vbs,
    ));
    // An arm64 baseline revokes h-new-3 (revocations in any baseline of
    // the catalog count).
    let b_arm = publish(targeted(
        revoking("b-arm64", "10.0.26100.900", 20, &[h_new_3.digest()], 0),
        &|t| {
            t.architectures = vec![tok("arm64")];
            t.capabilities = vec![tok("vbs")];
        },
    ));
    let b_iot = publish(targeted(baseline("b-iot", "10.0.26100.900", 20), &|t| {
        t.editions = vec![tok("iot")];
        t.capabilities = vec![tok("vbs")];
    }));
    let b_preview = publish(targeted(
        baseline("b-preview", "10.0.26100.900", 20),
        &|t| {
            t.channel = Channel::Preview;
            t.capabilities = vec![tok("vbs")];
        },
    ));
    let b_hsm = publish(targeted(baseline("b-hsm", "10.0.26100.900", 20), &|t| {
        t.capabilities = vec![tok("hsm"), tok("vbs")];
    }));
    let b_linux = publish(targeted(baseline("b-linux", "10.0.26100.900", 20), &|t| {
        t.os = tok("linux");
        t.capabilities = vec![tok("vbs")];
    }));
    let s = publish(standard("cu", "10.0.26100.900", 20));
    let r = publish(recovery("fix", "10.0.26100.900", 20));
    let all = vec![b_arm, b_iot, b_preview, b_hsm, b_linux, h_low, s, r];
    Reasons {
        b_old,
        b_installed,
        b_new,
        h_installed,
        h_new_1,
        h_new_2,
        h_new_3,
        all,
    }
}

impl Reasons {
    fn entries(&self) -> Vec<&CatalogEntry> {
        let mut out = vec![
            &self.b_old.entry,
            &self.b_installed.entry,
            &self.b_new.entry,
            &self.h_installed.entry,
            &self.h_new_1.entry,
            &self.h_new_2.entry,
            &self.h_new_3.entry,
        ];
        out.extend(self.all.iter().map(|p| &p.entry));
        out
    }
}

fn vbs_device() -> DeviceProfile {
    DeviceProfile {
        capabilities: vec![tok("vbs")],
        ..online_device()
    }
}

#[test]
fn every_skipped_entry_says_why() {
    let f = reasons_fixture();
    let entries = f.entries();
    // On b-installed with its first hotpatch, floor 5.
    let device = DeviceProfile {
        installed_baseline: Some(f.b_installed.digest()),
        installed_hotpatch_sequence: 1,
        security_floor: 5,
        ..vbs_device()
    };
    let plan = resolve(&verified(&entries), &device, NOW);
    assert_eq!(plan.track, Track::Hotpatch);
    assert_eq!(plan.status, PlanStatus::Update);
    assert!(plan.restart_required());
    assert_eq!(
        steps(&plan),
        [("b-new".into(), true), ("h-new-2".into(), false)]
    );
    assert_eq!(
        reasons(&plan),
        map(&[
            ("b-old", "below-security-floor"),
            ("b-installed", "superseded"),
            ("h-installed", "wrong-baseline"),
            ("h-new-1", "superseded"),
            ("h-new-3", "revoked"),
            ("b-arm64", "wrong-architecture"),
            ("b-iot", "wrong-edition"),
            ("b-preview", "wrong-channel"),
            ("b-hsm", "missing-capability"),
            ("b-linux", "wrong-os"),
            ("h-low", "below-security-floor"),
            ("cu", "other-track"),
            ("fix", "other-track"),
        ])
    );
    let detail = |name: &str| {
        plan.skipped
            .iter()
            .find(|s| s.entry.name.as_str() == name)
            .map(|s| s.detail.clone())
            .unwrap()
    };
    assert!(
        detail("h-new-1").contains("10.0.26100.320"),
        "{}",
        detail("h-new-1")
    );
    assert!(detail("cu").contains("hotpatch track"), "{}", detail("cu"));

    // Once b-new and h-new-1 are installed: b-new is installed, h-new-1 is
    // not newer, and h-new-2 is the only step, with no restart.
    let device = DeviceProfile {
        installed_baseline: Some(f.b_new.digest()),
        installed_hotpatch_sequence: 1,
        security_floor: 6,
        ..vbs_device()
    };
    let plan = resolve(&verified(&entries), &device, NOW);
    assert_eq!(steps(&plan), [("h-new-2".into(), false)]);
    assert!(!plan.restart_required());
    let r = reasons(&plan);
    assert_eq!(r["b-new"], "installed");
    assert_eq!(r["b-installed"], "superseded");
    assert_eq!(r["h-new-1"], "sequence-not-newer");
    assert_eq!(r["h-new-3"], "revoked");

    // With h-new-2 installed too: up to date.
    let device = DeviceProfile {
        installed_hotpatch_sequence: 2,
        ..device
    };
    let plan = resolve(&verified(&entries), &device, NOW);
    assert_eq!(plan.status, PlanStatus::UpToDate);
    assert_eq!(plan.track, Track::Hotpatch);
    assert!(plan.steps.is_empty());
    let r = reasons(&plan);
    assert_eq!(r["b-new"], "installed");
    assert_eq!(r["h-new-1"], "sequence-not-newer");
    assert_eq!(r["h-new-2"], "sequence-not-newer");
    assert_eq!(plan.skipped.len(), entries.len());
}

#[test]
fn a_device_without_an_eligible_baseline_takes_standard_updates() {
    let f = reasons_fixture();
    let s_old = publish(standard("cu-old", "10.0.26100.800", 19));
    let mut entries = f.entries();
    entries.push(&s_old.entry);
    // Without vbs, no baseline targets the device.
    let device = online_device();
    let plan = resolve(&verified(&entries), &device, NOW);
    assert_eq!(plan.track, Track::Standard);
    assert_eq!(plan.status, PlanStatus::Update);
    assert_eq!(steps(&plan), [("cu".into(), true)]);
    let r = reasons(&plan);
    for b in ["b-old", "b-installed", "b-new", "b-hsm"] {
        assert_eq!(r[b], "missing-capability", "{b}");
    }
    // The channel is checked before the capabilities.
    assert_eq!(r["b-preview"], "wrong-channel");
    assert_eq!(r["b-arm64"], "wrong-architecture");
    assert_eq!(r["b-iot"], "wrong-edition");
    assert_eq!(r["b-linux"], "wrong-os");
    for h in [
        "h-installed",
        "h-new-1",
        "h-new-2",
        "h-new-3",
        "h-low",
        "fix",
    ] {
        assert_eq!(r[h], "other-track", "{h}");
    }
    assert_eq!(r["cu-old"], "superseded");
    let cu = entries
        .iter()
        .find(|e| e.name.as_str() == "cu")
        .unwrap()
        .manifest_digest;

    // The standard track records the installed update in
    // installed_baseline: with the newest installed, up to date.
    let installed = DeviceProfile {
        installed_baseline: Some(cu),
        ..online_device()
    };
    let plan = resolve(&verified(&entries), &installed, NOW);
    assert_eq!(plan.status, PlanStatus::UpToDate);
    assert_eq!(plan.track, Track::Standard);
    let r = reasons(&plan);
    assert_eq!(r["cu"], "installed");
    assert_eq!(r["cu-old"], "superseded");
    // With the older one installed, the newer one.
    let older = DeviceProfile {
        installed_baseline: Some(s_old.digest()),
        ..online_device()
    };
    let plan = resolve(&verified(&entries), &older, NOW);
    assert_eq!(steps(&plan), [("cu".into(), true)]);
}

#[test]
fn up_to_date_is_not_the_same_as_not_eligible() {
    let f = reasons_fixture();
    let entries = f.entries();
    // Another OS: nothing applies.
    let linux_arm = DeviceProfile {
        os: tok("freebsd"),
        ..vbs_device()
    };
    let plan = resolve(&verified(&entries), &linux_arm, NOW);
    assert_eq!(plan.status, PlanStatus::NotEligible);
    assert_eq!(plan.track, Track::Standard);
    assert!(plan.steps.is_empty());
    for s in &plan.skipped {
        let want = match s.entry.kind {
            PackageKind::Baseline(_) | PackageKind::Standard => "wrong-os",
            _ => "other-track",
        };
        assert_eq!(s.reason.as_str(), want, "{}", s.entry.name);
    }
    // An empty catalog: nothing applies either.
    let plan = resolve(&verified(&[]), &vbs_device(), NOW);
    assert_eq!(plan.status, PlanStatus::NotEligible);
    assert!(plan.steps.is_empty() && plan.skipped.is_empty());
    // A home device and a catalog with only baselines and hotpatches.
    let home = DeviceProfile {
        edition: Some(tok("home")),
        ..vbs_device()
    };
    let plan = resolve(&verified(&[&f.b_new.entry, &f.h_new_1.entry]), &home, NOW);
    assert_eq!(plan.status, PlanStatus::NotEligible);
    assert_eq!(
        reasons(&plan),
        map(&[("b-new", "wrong-edition"), ("h-new-1", "other-track")])
    );
    // Up to date: the newest of everything applicable is installed.
    let done = DeviceProfile {
        installed_baseline: Some(f.b_new.digest()),
        installed_hotpatch_sequence: 2,
        security_floor: 6,
        ..vbs_device()
    };
    let plan = resolve(&verified(&entries), &done, NOW);
    assert_eq!(plan.status, PlanStatus::UpToDate);
    assert_eq!(plan.status.as_str(), "up-to-date");
    assert_eq!(PlanStatus::NotEligible.as_str(), "not-eligible");
}

#[test]
fn the_hotpatch_track_needs_an_applicable_baseline_not_one_that_merely_targets_the_device() {
    // R4: a baseline that targets the device but is below its floor (say
    // it installed a newer baseline than this catalog lists) or revoked
    // does not put it on the hotpatch track: it takes standard updates.
    let b = publish(baseline("b", "10.0.26100.100", 5));
    let h = publish(hotpatch("h", &b, 1, "10.0.26100.110", 6));
    let s = publish(standard("cu", "10.0.26100.900", 20));
    let entries = [&b.entry, &h.entry, &s.entry];
    let high_floor = DeviceProfile {
        installed_baseline: Some(Digest::of(b"a baseline this catalog does not list")),
        security_floor: 9,
        ..online_device()
    };
    let plan = resolve(&verified(&entries), &high_floor, NOW);
    assert_eq!(plan.track, Track::Standard);
    assert_eq!(steps(&plan), [("cu".into(), true)]);
    assert_eq!(
        reasons(&plan),
        map(&[("b", "below-security-floor"), ("h", "other-track")])
    );
    // Its hotpatches are not judged, even one for the baseline it has.
    let bx = publish(baseline("bx", "10.0.26100.300", 10));
    let hx = publish(hotpatch("hx", &bx, 1, "10.0.26100.310", 11));
    let on_bx = DeviceProfile {
        installed_baseline: Some(bx.digest()),
        security_floor: 9,
        ..online_device()
    };
    let plan = resolve(&verified(&[&b.entry, &hx.entry, &s.entry]), &on_bx, NOW);
    assert_eq!(plan.track, Track::Standard);
    assert_eq!(steps(&plan), [("cu".into(), true)]);
    assert_eq!(
        reasons(&plan),
        map(&[("b", "below-security-floor"), ("hx", "other-track")])
    );
    // The same when the device knows the only baseline to be revoked.
    let revoked = DeviceProfile {
        revoked: vec![b.digest()],
        ..online_device()
    };
    let plan = resolve(&verified(&entries), &revoked, NOW);
    assert_eq!(plan.track, Track::Standard);
    assert_eq!(steps(&plan), [("cu".into(), true)]);
    assert_eq!(reasons(&plan)["b"], "revoked");
    assert_eq!(reasons(&plan)["h"], "other-track");
    // One applicable baseline is enough, whatever the others.
    let plan = resolve(&verified(&[&b.entry, &bx.entry, &s.entry]), &on_bx, NOW);
    assert_eq!(plan.track, Track::Hotpatch);
    assert_eq!(plan.status, PlanStatus::UpToDate);
    let r = reasons(&plan);
    assert_eq!(r["bx"], "installed");
    assert_eq!(r["b"], "below-security-floor");
    assert_eq!(r["cu"], "other-track");
}

#[test]
fn a_revocation_counts_before_its_baseline_is_installed() {
    // The general-channel devices are on b1; a preview baseline revokes
    // b1's second hotpatch: they get the first one, not the revoked one.
    let b1 = publish(baseline("b1", "10.0.26100.100", 1));
    let h1 = publish(hotpatch("h1", &b1, 1, "10.0.26100.110", 2));
    let h2 = publish(hotpatch("h2", &b1, 2, "10.0.26100.120", 3));
    let mut b2 = revoking("b2", "10.0.26100.200", 4, &[h2.digest()], 3);
    b2.manifest.targets.channel = Channel::Preview;
    let b2 = publish(b2);
    let entries = [&b1.entry, &h1.entry, &h2.entry, &b2.entry];
    let plan = resolve(&verified(&entries), &online_device(), NOW);
    assert_eq!(steps(&plan), [("b1".into(), true), ("h1".into(), false)]);
    assert_eq!(reasons(&plan)["h2"], "revoked");
    assert_eq!(reasons(&plan)["b2"], "wrong-channel");
    // A preview device moves to b2 instead.
    let preview = DeviceProfile {
        channels: vec![Channel::General, Channel::Preview],
        installed_baseline: Some(b1.digest()),
        installed_hotpatch_sequence: 1,
        ..online_device()
    };
    let plan = resolve(&verified(&entries), &preview, NOW);
    assert_eq!(steps(&plan), [("b2".into(), true)]);
    let r = reasons(&plan);
    assert_eq!(r["h2"], "revoked");
    assert_eq!(r["h1"], "below-security-floor");
    assert_eq!(r["b1"], "superseded");
}

#[test]
fn a_device_leaving_the_hotpatch_track_keeps_a_baseline_as_new_as_the_standard_update() {
    // A device on baseline .700 loses vbs: the standard update of the same
    // build and security version is as new as what it has, whichever of
    // the two has the smaller digest.
    let mut b = baseline("b", "10.0.26100.700", 7);
    b.manifest.targets.capabilities = vec![tok("vbs")];
    let b = publish(b);
    let mut smaller = None;
    let mut larger = None;
    for i in 0.. {
        let s = publish(standard(&format!("cu-{i}"), "10.0.26100.700", 7));
        if s.digest() < b.digest() {
            smaller.get_or_insert(s);
        } else {
            larger.get_or_insert(s);
        }
        if smaller.is_some() && larger.is_some() {
            break;
        }
    }
    let newer = publish(standard("cu-next", "10.0.26100.800", 8));
    let device = DeviceProfile {
        installed_baseline: Some(b.digest()),
        ..online_device()
    };
    for s in [smaller.unwrap(), larger.unwrap()] {
        let plan = resolve(&verified(&[&b.entry, &s.entry]), &device, NOW);
        assert_eq!(plan.track, Track::Standard);
        assert_eq!(plan.status, PlanStatus::UpToDate, "{}", s.entry.name);
        assert_eq!(reasons(&plan)[s.entry.name.as_str()], "installed");
        // A newer build is installed.
        let plan = resolve(&verified(&[&b.entry, &s.entry, &newer.entry]), &device, NOW);
        assert_eq!(steps(&plan), [("cu-next".into(), true)]);
    }
}

#[test]
fn the_recovery_track_prefers_recovery_packages_then_a_newer_baseline() {
    let b1 = publish(baseline("b1", "10.0.26100.100", 1));
    let b2 = publish(baseline("b2", "10.0.26100.200", 2));
    let h = publish(hotpatch("h", &b2, 1, "10.0.26100.210", 3));
    let s = publish(standard("cu", "10.0.26100.900", 9));
    let r1 = publish(recovery("fix-1", "1.0", 1));
    let r2 = publish(recovery("fix-2", "2.0", 2));
    let clock = Clock::LowerBound(T0);
    let device = recovery_device();
    let catalog = |entries: &[&CatalogEntry]| {
        // Offline, the catalog is judged against the lower bound.
        verify::catalog(
            &signed(&catalog_of(1, entries)),
            &root(),
            clock,
            0,
            &limits(),
        )
        .unwrap()
    };
    let all = [
        &b1.entry, &b2.entry, &h.entry, &s.entry, &r1.entry, &r2.entry,
    ];
    // A recovery package first, the newest one, and only that.
    let plan = resolve(&catalog(&all), &device, clock);
    assert_eq!(plan.track, Track::Recovery);
    assert_eq!(plan.status, PlanStatus::Update);
    assert_eq!(steps(&plan), [("fix-2".into(), true)]);
    let r = reasons(&plan);
    assert_eq!(r["fix-1"], "superseded");
    // R7: once a recovery package is chosen, baselines are not judged.
    assert_eq!(r["b1"], "other-track");
    assert_eq!(r["b2"], "other-track");
    assert_eq!(r["h"], "other-track");
    assert_eq!(r["cu"], "other-track");
    assert!(!r.contains_key("fix-2"));
    assert_eq!(r.len(), all.len() - 1);
    // No recovery package: the newest baseline.
    let no_fix = [&b1.entry, &b2.entry, &h.entry, &s.entry];
    let plan = resolve(&catalog(&no_fix), &device, clock);
    assert_eq!(steps(&plan), [("b2".into(), true)]);
    let r = reasons(&plan);
    assert_eq!(r["b1"], "superseded");
    assert_eq!(r["h"], "other-track");
    assert_eq!(r["cu"], "other-track");
    // The newest baseline installed: up to date.
    let on_b2 = DeviceProfile {
        installed_baseline: Some(b2.digest()),
        ..recovery_device()
    };
    let plan = resolve(&catalog(&no_fix), &on_b2, clock);
    assert_eq!(plan.status, PlanStatus::UpToDate);
    assert_eq!(reasons(&plan)["b2"], "installed");
    // The floor from the last good boot rules out b1 and b2: nothing.
    let high_floor = DeviceProfile {
        security_floor: 3,
        ..recovery_device()
    };
    let plan = resolve(&catalog(&no_fix), &high_floor, clock);
    assert_eq!(plan.status, PlanStatus::NotEligible);
    assert_eq!(reasons(&plan)["b2"], "below-security-floor");
    // Only hotpatches and standard updates: never planned offline.
    let plan = resolve(&catalog(&[&h.entry, &s.entry]), &device, clock);
    assert_eq!(plan.status, PlanStatus::NotEligible);
    assert!(plan.steps.is_empty());
    // Whatever the catalog, a recovery plan holds recovery packages and
    // baselines only.
    for seed in 0..8 {
        let order = shuffled(&all, seed);
        for n in 1..=order.len() {
            let plan = resolve(&catalog(&order[..n]), &device, clock);
            assert!(plan.steps.iter().all(|s| matches!(
                s.entry.kind,
                PackageKind::Recovery | PackageKind::Baseline(_)
            )));
            assert!(plan.steps.len() <= 1);
        }
    }
    // An online device never plans a recovery package.
    let plan = resolve(&verified(&[&r2.entry]), &online_device(), NOW);
    assert_eq!(plan.status, PlanStatus::NotEligible);
    assert!(plan.steps.is_empty());
}
