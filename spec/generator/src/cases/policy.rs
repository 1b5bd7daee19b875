//! Policy: authentic packages that do not apply, one reason each
//! (`hpk_verify::Reason`).

use super::{Case, Device, Gen};
use hpk_format::{Channel, Digest, EXT_PRIVATE_START};
use hpk_tests::{DAY, PackageSpec, T0, tok};

pub fn add(g: &mut Gen) {
    let b = g.small("baseline").build();
    let file = g.signed(&b);

    let linux = g.device(
        "online-linux.toml",
        &Device {
            os: "linux",
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-wrong-os",
            "A windows package on a linux device.",
            file.clone(),
        )
        .device(&linux)
        .expect("policy:wrong-os"),
    );
    g.add(
        Case::package(
            "policy-wrong-architecture",
            "An x64 package on an arm64 device.",
            file.clone(),
        )
        .device("online-arm64.toml")
        .expect("policy:wrong-architecture"),
    );
    g.add(
        Case::package(
            "policy-wrong-edition",
            "A package for education and enterprise on a pro device.",
            file.clone(),
        )
        .device("online-pro.toml")
        .expect("policy:wrong-edition"),
    );

    let mut spec = g.small("baseline");
    spec.manifest.targets.channel = Channel::Preview;
    let preview = spec.build();
    g.add(
        Case::package(
            "policy-wrong-channel",
            "A preview-channel package on a device that takes the general channel only.",
            g.signed(&preview),
        )
        .expect("policy:wrong-channel"),
    );

    let mut spec = g.small("baseline");
    spec.manifest.targets.capabilities = vec![tok("hotpatch"), tok("vbs")];
    let caps = spec.build();
    g.add(
        Case::package(
            "policy-missing-capability",
            "A package requiring capabilities hotpatch and vbs on a device with secure-boot and vbs.",
            g.signed(&caps),
        )
        .device("online-vbs.toml")
        .expect("policy:missing-capability"),
    );

    g.add(
        Case::package(
            "policy-expired",
            "A package that expired at T0 + 90 days, judged at T0 + 100 days.",
            file.clone(),
        )
        .time(T0 + 100 * DAY)
        .expect("policy:expired"),
    );
    g.add(
        Case::package(
            "policy-expired-at-expiry-time",
            "Judged at exactly the package's expiry time: an object expires at its expires time.",
            file.clone(),
        )
        .time(T0 + 90 * DAY)
        .expect("policy:expired"),
    );
    g.add(
        Case::package(
            "policy-expired-lower-bound",
            "A baseline under the recovery profile whose lower bound on the time (T0 + 100 days) is past its expiry.",
            file.clone(),
        )
        .device("recovery.toml")
        .lower_bound()
        .time(T0 + 100 * DAY)
        .expect("policy:expired"),
    );
    g.add(
        Case::package(
            "policy-expired-no-device",
            "An expired package checked without a device profile: time is judged anyway.",
            file.clone(),
        )
        .no_device()
        .time(T0 + 100 * DAY)
        .expect("policy:expired"),
    );

    let mut spec = g.small("baseline");
    spec.manifest.created = T0 + 10 * DAY;
    spec.manifest.expires = Some(T0 + 100 * DAY);
    let future = spec.build();
    g.add(
        Case::package(
            "policy-not-yet-valid",
            "A package created at T0 + 10 days, judged with a trusted clock at T0 + 1 day.",
            g.signed(&future),
        )
        .expect("policy:not-yet-valid"),
    );

    let floor = g.device(
        "online-floor-20.toml",
        &Device {
            security_floor: 20,
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-below-security-floor",
            "Security version 10 on a device whose floor is 20 (rollback to an old valid package).",
            file.clone(),
        )
        .device(&floor)
        .expect("policy:below-security-floor"),
    );

    let revoked = g.device(
        "online-revoked.toml",
        &Device {
            revoked: vec![b.digest()],
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-revoked",
            "A package whose manifest digest the device lists as revoked.",
            file.clone(),
        )
        .device(&revoked)
        .expect("policy:revoked"),
    );

    // Hotpatch lineage.
    let hp = g.small("hotpatch").build();
    let hp_file = g.signed(&hp);
    let other = g.device(
        "online-other-baseline.toml",
        &Device {
            installed_baseline: Some(Digest::of(b"another baseline manifest")),
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-wrong-baseline",
            "A hotpatch for the reference baseline on a device with another baseline installed.",
            hp_file.clone(),
        )
        .device(&other)
        .expect("policy:wrong-baseline"),
    );
    g.add(
        Case::package(
            "policy-hotpatch-without-baseline",
            "A hotpatch on a device that does not know its installed baseline.",
            hp_file.clone(),
        )
        .expect("policy:wrong-baseline"),
    );
    let seq2 = PackageSpec::hotpatch("example-hotpatch-2", g.baseline.digest(), 2)
        .with_payload("System32/kernel.dll.hp", b"hotpatch 2\n".to_vec())
        .build();
    g.add(
        Case::package(
            "policy-sequence-not-newer",
            "Hotpatch 2 on a device that already has hotpatch 2 of the same baseline.",
            g.signed(&seq2),
        )
        .device("online-hotpatch-2-installed.toml")
        .expect("policy:sequence-not-newer"),
    );
    g.add(
        Case::package(
            "policy-sequence-older",
            "Hotpatch 1 on a device that already has hotpatch 2 of the same baseline.",
            hp_file.clone(),
        )
        .device("online-hotpatch-2-installed.toml")
        .expect("policy:sequence-not-newer"),
    );

    // Kinds per profile.
    let recovery_installed = g.device(
        "recovery-baseline-installed.toml",
        &Device {
            profile: "recovery",
            installed_baseline: Some(g.baseline.digest()),
            ..Device::online()
        },
    );
    g.add(
        Case::package(
            "policy-kind-not-allowed-hotpatch-in-recovery",
            "A hotpatch under the recovery profile (recovery and baseline packages only), even with its baseline installed.",
            hp_file,
        )
        .device(&recovery_installed)
        .lower_bound()
        .expect("policy:kind-not-allowed"),
    );
    let std = g.small("standard").build();
    g.add(
        Case::package(
            "policy-kind-not-allowed-standard-in-recovery",
            "A standard package under the recovery profile.",
            g.signed(&std),
        )
        .device("recovery.toml")
        .lower_bound()
        .expect("policy:kind-not-allowed"),
    );
    let rec = g.small("recovery").build();
    g.add(
        Case::package(
            "policy-kind-not-allowed-recovery-online",
            "A recovery package under the online profile.",
            g.signed(&rec),
        )
        .expect("policy:kind-not-allowed"),
    );

    // Extensions.
    let crit = g
        .small("baseline")
        .with_extension(EXT_PRIVATE_START + 2, true, b"must understand")
        .build();
    g.add(
        Case::package(
            "policy-unknown-critical-extension",
            "A manifest with an unknown critical extension (id 0x80000002).",
            g.signed(&crit),
        )
        .expect("policy:unknown-critical-extension"),
    );
    g.add(
        Case::package(
            "policy-unknown-critical-extension-no-device",
            "The same package checked without a device profile: critical extensions are judged anyway.",
            g.signed(&crit),
        )
        .no_device()
        .expect("policy:unknown-critical-extension"),
    );
}
