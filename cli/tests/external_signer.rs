//! External signing at scale: the statement `hpk tbs` writes has the same
//! length for a package of one payload and of 20,000, and OpenSSL, playing
//! an HSM or a cloud KMS that signs only small messages with plain Ed25519
//! (`openssl pkeyutl -sign -rawin`), signs packages, trust roots and
//! catalogs that then verify.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, hpk_in, scratch, world};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Signs `message` with the PKCS #8 key file `key` through OpenSSL.
fn openssl_sign(dir: &Path, key: &str, message: &str, signature: &str) {
    let out = Command::new("openssl")
        .args([
            "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", message, "-out", signature,
        ])
        .current_dir(dir)
        .output()
        .expect("openssl (OpenSSL 3) must be installed: .ci/run installs it");
    assert!(
        out.status.success(),
        "openssl pkeyutl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Packs a standard package of `count` one-line payloads in `dir` and
/// returns its file name.
fn pack(dir: &Path, count: usize) -> String {
    let payloads = dir.join(format!("p{count}"));
    std::fs::create_dir_all(&payloads).unwrap();
    let mut toml = format!(
        "name = \"contoso-{count}\"\nkind = \"standard\"\nversion = \"1.0\"\n\
         security_version = 1\nrestart_required = true\n\n[targets]\nos = \"windows\"\n\
         architectures = [\"x64\"]\n"
    );
    for i in 0..count {
        let name = format!("f{i:05}.txt");
        std::fs::write(payloads.join(&name), format!("line {i}\n")).unwrap();
        write!(
            toml,
            "\n[[payloads]]\nname = \"Files/{name}\"\nfile = \"p{count}/{name}\"\n"
        )
        .unwrap();
    }
    let description = format!("p{count}.toml");
    std::fs::write(dir.join(&description), toml).unwrap();
    let package = format!("p{count}.hpk");
    hpk_in(dir, &["pack", &description, "--out", &package]).ok();
    package
}

#[test]
fn a_package_of_20000_payloads_signs_through_openssl_like_one_of_one() {
    let w = world();
    let dir = scratch("twenty-thousand");
    for f in ["root.hpkroot", "keys/release.key", "keys/release.key.pub"] {
        std::fs::create_dir_all(dir.join(f).parent().unwrap()).unwrap();
        std::fs::copy(w.dir.join(f), dir.join(f)).unwrap();
    }
    let mut lengths = Vec::new();
    for count in [1, 20_000] {
        let package = pack(&dir, count);
        let message = format!("{package}.msg");
        let signature = format!("{package}.sig");
        hpk_in(&dir, &["tbs", &package, "--out", &message]).ok();
        let statement = std::fs::read(dir.join(&message)).unwrap();
        assert!(statement.starts_with(b"hpk v1 package\n"));
        lengths.push(statement.len());
        // Unsigned, the package is refused.
        hpk_in(
            &dir,
            &["verify", &package, "--root", "root.hpkroot", "--now", NOW],
        )
        .expect_code(1);
        openssl_sign(&dir, "keys/release.key", &message, &signature);
        hpk_in(
            &dir,
            &[
                "attach",
                &package,
                "--pubkey",
                "keys/release.key.pub",
                "--signature",
                &signature,
            ],
        )
        .ok();
        let run = hpk_in(
            &dir,
            &["verify", &package, "--root", "root.hpkroot", "--now", NOW],
        )
        .ok();
        assert!(
            run.stdout.contains(&format!("{count} payload(s)")),
            "{}",
            run.stdout
        );
    }
    assert_eq!(
        lengths,
        [47, 47],
        "the statement's length depends on nothing but the file type"
    );
}

#[test]
fn trust_roots_and_catalogs_sign_through_openssl() {
    let w = world();
    let dir = scratch("roots-and-catalogs");
    for f in [
        "root.hpkroot",
        "keys/root.key",
        "keys/catalog.key",
        "keys/catalog.key.pub",
        "keys/root.key.pub",
        "keys/stray.key.pub",
    ] {
        std::fs::create_dir_all(dir.join(f).parent().unwrap()).unwrap();
        std::fs::copy(w.dir.join(f), dir.join(f)).unwrap();
    }
    // The next version of the trust root, signed by the root key through
    // OpenSSL: 18 + 32 bytes.
    hpk_in(
        &dir,
        &[
            "root",
            "add-key",
            "root.hpkroot",
            "--role",
            "release",
            "--pubkey",
            "keys/stray.key.pub",
            "--out",
            "root-v2.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        &dir,
        &["root", "tbs", "root-v2.hpkroot", "--out", "root.msg"],
    )
    .ok();
    let statement = std::fs::read(dir.join("root.msg")).unwrap();
    assert_eq!(statement.len(), 50);
    assert!(statement.starts_with(b"hpk v1 trust-root\n"));
    openssl_sign(&dir, "keys/root.key", "root.msg", "root.sig");
    hpk_in(
        &dir,
        &[
            "root",
            "attach",
            "root-v2.hpkroot",
            "--pubkey",
            "keys/root.key.pub",
            "--signature",
            "root.sig",
        ],
    )
    .ok();
    hpk_in(
        &dir,
        &[
            "root",
            "verify",
            "root-v2.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();

    // A catalog, signed by the catalog key through OpenSSL: 15 + 32 bytes.
    hpk_in(
        &dir,
        &[
            "catalog",
            "new",
            "--out",
            "c.hpkcat",
            "--version",
            "1",
            "--expires-in",
            "365",
        ],
    )
    .ok();
    hpk_in(&dir, &["catalog", "tbs", "c.hpkcat", "--out", "c.msg"]).ok();
    let statement = std::fs::read(dir.join("c.msg")).unwrap();
    assert_eq!(statement.len(), 47);
    assert!(statement.starts_with(b"hpk v1 catalog\n"));
    openssl_sign(&dir, "keys/catalog.key", "c.msg", "c.sig");
    hpk_in(
        &dir,
        &[
            "catalog",
            "attach",
            "c.hpkcat",
            "--pubkey",
            "keys/catalog.key.pub",
            "--signature",
            "c.sig",
        ],
    )
    .ok();
    hpk_in(
        &dir,
        &[
            "catalog",
            "verify",
            "c.hpkcat",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();
}
