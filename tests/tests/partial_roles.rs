//! Trust roots that hold only the roles their publisher uses (SPEC
//! "Roles"): an absent role is never met, so every file that needs it
//! fails closed with the class `signature`, whoever signed it; and a
//! device without an edition takes only packages for every edition.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{Catalog, ErrorClass, Limits, RoleName, Roles, TrustRoot};
use hpk_tests::verify::verifier_at;
use hpk_tests::{
    DAY, Keys, PackageSpec, T0, catalog_file, entry_for, online_device, role, standard_root,
    trusted_root,
};
use hpk_verify::{Clock, Reason, VerifyError};

const NOW: Clock = Clock::Trusted(T0 + DAY);

/// The standard root without its hotpatch and catalog roles: a publisher
/// of baselines that serves no catalog.
fn baselines_only(keys: &Keys) -> TrustRoot {
    let mut root = standard_root(keys);
    root.roles.hotpatch = None;
    root.roles.catalog = None;
    root
}

#[test]
fn a_root_without_some_roles_round_trips_and_loads() {
    let keys = Keys::standard();
    let root = baselines_only(&keys);
    let body = hpk_format::encode(&root, &Limits::default()).unwrap();
    assert_eq!(
        hpk_format::decode::<TrustRoot>(&body, &Limits::default()).unwrap(),
        root
    );
    // Each absent role is one byte (Option none) where a role was.
    let full = hpk_format::encode(&standard_root(&keys), &Limits::default()).unwrap();
    assert!(body.len() < full.len());
    let trusted = trusted_root(&root, &keys);
    assert_eq!(trusted.root().roles.hotpatch, None);
}

#[test]
fn a_package_whose_role_is_absent_fails_closed_whoever_signed_it() {
    let keys = Keys::standard();
    let trusted = trusted_root(&baselines_only(&keys), &keys);
    let verifier = verifier_at(&trusted, NOW, &Limits::default());
    let hotpatch = PackageSpec::hotpatch("hp", hpk_format::Digest([7; 32]), 1)
        .with_payload("patch.bin", vec![1; 100])
        .build();
    // Signed by the (former) hotpatch key, by the release key, by both.
    for signers in [
        vec![&keys.hotpatch],
        vec![&keys.release],
        vec![&keys.release, &keys.hotpatch],
    ] {
        let file = hotpatch.file(&signers);
        let err = verifier.package(file.as_slice()).map(|_| ()).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Signature, "{err}");
        let VerifyError::Signature(t) = &err else {
            panic!("{err:?}");
        };
        if signers.iter().any(|k| k.id() == keys.release.id()) {
            // The release key opens the body (VP2), then the kind needs
            // the hotpatch role (VP5), which the root does not have.
            assert_eq!(t.role, Some(RoleName::Hotpatch));
            assert_eq!(t.needed, 0);
            assert!(err.to_string().contains("the trust root has none"), "{err}");
        }
    }
    // A baseline still verifies under the same root.
    let baseline = PackageSpec::baseline("base")
        .with_payload("a.bin", vec![2; 100])
        .build();
    let file = baseline.file(&[&keys.release]);
    let package = verifier.package(file.as_slice()).unwrap();
    assert_eq!(package.manifest().name.as_str(), "base");
}

#[test]
fn a_root_without_a_catalog_role_verifies_no_catalog() {
    let keys = Keys::standard();
    let trusted = trusted_root(&baselines_only(&keys), &keys);
    let catalog = Catalog {
        version: 1,
        created: T0,
        expires: T0 + 7 * DAY,
        entries: vec![entry_for(hpk_format::Digest([1; 32]), 100)],
        extensions: Vec::new(),
    };
    let file = catalog_file(&catalog, &[&keys.catalog]);
    let err = verifier_at(&trusted, NOW, &Limits::default())
        .catalog_above(file.as_slice(), 0)
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Signature, "{err}");
    assert!(err.to_string().contains("catalog role"), "{err}");
}

#[test]
fn a_root_with_only_its_root_role_verifies_no_package() {
    let keys = Keys::standard();
    let mut root = standard_root(&keys);
    root.roles = Roles {
        root: role(1, &[&keys.root]),
        release: None,
        hotpatch: None,
        recovery: None,
        catalog: None,
    };
    let trusted = trusted_root(&root, &keys);
    assert!(
        trusted
            .root()
            .roles
            .present()
            .eq([(RoleName::Root, &role(1, &[&keys.root]))])
    );
    let file = PackageSpec::baseline("base").build().file(&[&keys.root]);
    let err = verifier_at(&trusted, NOW, &Limits::default())
        .package(file.as_slice())
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Signature);
}

#[test]
fn a_device_without_an_edition_takes_only_packages_for_every_edition() {
    let keys = Keys::standard();
    let trusted = trusted_root(&standard_root(&keys), &keys);
    let verifier = verifier_at(&trusted, NOW, &Limits::default());
    let mut device = online_device();
    device.edition = None;
    let for_enterprise = PackageSpec::baseline("ent").build();
    assert!(!for_enterprise.manifest.targets.editions.is_empty());
    let file = for_enterprise.file(&[&keys.release]);
    let refused = verifier
        .package(file.as_slice())
        .unwrap()
        .judge(&device)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(refused.reason.reason, Reason::WrongEdition);
    assert!(
        refused.reason.detail.contains("of no edition"),
        "{}",
        refused.reason
    );
    let every = PackageSpec::baseline("every").every_edition().build();
    assert!(
        verifier
            .package(every.file(&[&keys.release]).as_slice())
            .unwrap()
            .judge(&device)
            .is_ok()
    );
    // The profile file may leave the edition out, and writes none back.
    let text = "os = \"linux\"\narchitecture = \"x64\"\n";
    let parsed = hpk_verify::DeviceProfile::from_toml(text).unwrap();
    assert_eq!(parsed.edition, None);
    assert!(!parsed.to_toml().unwrap().contains("edition"));
}
