//! `--signer-cmd`: any program that signs raw Ed25519 messages (a cloud
//! KMS client; here OpenSSL) signs packages, trust roots and catalogs;
//! a command that prints the wrong number of bytes, fails, or signs with
//! another key than `--pubkey` is refused and the file is left unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, copy_world, hpk_in};
use std::path::Path;

/// OpenSSL signing the statement with a key file of the fixture. OpenSSL
/// 3.0 cannot sign Ed25519 from a pipe, so it reads the statement from
/// the file `HPK_STATEMENT_FILE` names.
fn openssl(key: &str) -> String {
    format!("openssl pkeyutl -sign -rawin -inkey {key} -in \"$HPK_STATEMENT_FILE\"")
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

/// Packs an unsigned standard package `unsigned.hpk` in `dir`.
fn pack(dir: &Path) {
    std::fs::write(dir.join("note.txt"), "note\n").unwrap();
    std::fs::write(
        dir.join("unsigned.toml"),
        "name = \"unsigned\"\nkind = \"standard\"\nversion = \"1.0\"\nsecurity_version = 1\n\n\
         [targets]\nos = \"windows\"\narchitectures = [\"x64\"]\n\n\
         [[payloads]]\nname = \"Files/note.txt\"\nfile = \"note.txt\"\n",
    )
    .unwrap();
    hpk_in(dir, &["pack", "unsigned.toml", "--out", "unsigned.hpk"]).ok();
}

#[test]
fn openssl_as_signer_command_signs_packages_trust_roots_and_catalogs() {
    let dir = copy_world("signer-cmd");
    let d = dir.as_path();
    pack(d);
    // A package, checked against the trust root before signing.
    hpk_in(
        d,
        &[
            "sign",
            "unsigned.hpk",
            "--signer-cmd",
            &openssl("keys/release.key"),
            "--pubkey",
            "keys/release.key.pub",
            "--root",
            "root.hpkroot",
            "--out",
            "signed.hpk",
        ],
    )
    .ok();
    hpk_in(
        d,
        &[
            "verify",
            "signed.hpk",
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();

    // The statement reaches the command on stdin too: here a shell that
    // copies stdin to a file and signs that.
    let via_stdin =
        "cat > stdin.msg && openssl pkeyutl -sign -rawin -inkey keys/release.key -in stdin.msg";
    hpk_in(
        d,
        &[
            "sign",
            "unsigned.hpk",
            "--signer-cmd",
            via_stdin,
            "--pubkey",
            "keys/release.key.pub",
            "--out",
            "signed2.hpk",
        ],
    )
    .ok();
    assert_eq!(read(d, "signed.hpk"), read(d, "signed2.hpk"));
    assert_eq!(read(d, "stdin.msg").len(), 47);

    // A trust root: the next version, signed by the root key through the
    // command.
    hpk_in(
        d,
        &[
            "root",
            "add-key",
            "root.hpkroot",
            "--role",
            "release",
            "--pubkey",
            "keys/stray.key.pub",
            "--out",
            "v2.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        d,
        &[
            "root",
            "sign",
            "v2.hpkroot",
            "--signer-cmd",
            &openssl("keys/root.key"),
            "--pubkey",
            "keys/root.key.pub",
        ],
    )
    .ok();
    hpk_in(
        d,
        &[
            "root",
            "verify",
            "v2.hpkroot",
            "--trusted",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();

    // A catalog.
    hpk_in(
        d,
        &[
            "catalog",
            "new",
            "--out",
            "c.hpkcat",
            "--version",
            "9",
            "--created",
            "2026-05-30",
            "--expires-in",
            "7",
        ],
    )
    .ok();
    hpk_in(d, &["catalog", "add", "c.hpkcat", "signed.hpk"]).ok();
    hpk_in(
        d,
        &[
            "catalog",
            "sign",
            "c.hpkcat",
            "--signer-cmd",
            &openssl("keys/catalog.key"),
            "--pubkey",
            "keys/catalog.key.pub",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        d,
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

#[test]
fn a_misbehaving_signer_command_is_refused_and_the_file_unchanged() {
    let dir = copy_world("signer-cmd-bad");
    let d = dir.as_path();
    pack(d);
    let before = read(d, "unsigned.hpk");
    let sign = |cmd: &str, code: i32| {
        hpk_in(
            d,
            &[
                "sign",
                "unsigned.hpk",
                "--signer-cmd",
                cmd,
                "--pubkey",
                "keys/release.key.pub",
            ],
        )
        .expect_code(code)
    };

    // 63 bytes, 65 bytes, endless output: refused (exit 1).
    let run = sign("head -c 63 /dev/zero", 1);
    assert!(run.stderr.contains("printed 63 bytes"), "{}", run.stderr);
    let run = sign("head -c 65 /dev/zero", 1);
    assert!(
        run.stderr.contains("printed more than 64 bytes"),
        "{}",
        run.stderr
    );
    let run = sign("yes", 1);
    assert!(
        run.stderr.contains("printed more than 64 bytes"),
        "{}",
        run.stderr
    );
    // 64 bytes that are not a signature.
    let run = sign("head -c 64 /dev/zero", 1);
    assert!(
        run.stderr.contains("does not verify under key"),
        "{}",
        run.stderr
    );

    // A failing command: its exit status and its stderr (exit 4).
    let run = sign("echo 'kms: permission denied' >&2; exit 1", 4);
    assert!(run.stderr.contains("exit status: 1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("kms: permission denied"),
        "{}",
        run.stderr
    );
    // A command that does not exist.
    let run = sign("/nonexistent/kms-cli sign", 4);
    assert!(run.stderr.contains("exit status: 127"), "{}", run.stderr);

    // A valid signature by another key than --pubkey: refused.
    let run = sign(&openssl("keys/stray.key"), 1);
    assert!(
        run.stderr.contains("does not verify under key"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("unchanged"), "{}", run.stderr);

    // With --root, a --pubkey outside the role is refused before the
    // command runs (the command would leave a file behind).
    hpk_in(
        d,
        &[
            "sign",
            "unsigned.hpk",
            "--signer-cmd",
            "touch ran; exit 1",
            "--pubkey",
            "keys/stray.key.pub",
            "--root",
            "root.hpkroot",
        ],
    )
    .expect_code(2);
    assert!(!d.join("ran").exists());

    // --signer-cmd needs --pubkey, and --pubkey needs --signer-cmd.
    hpk_in(d, &["sign", "unsigned.hpk", "--signer-cmd", "true"]).expect_code(2);
    hpk_in(
        d,
        &[
            "sign",
            "unsigned.hpk",
            "--key",
            "keys/release.key",
            "--pubkey",
            "keys/release.key.pub",
        ],
    )
    .expect_code(2);

    // `hpk pubkey` gives the public key file of a signer, and does not
    // overwrite one.
    hpk_in(
        d,
        &[
            "pubkey",
            "--key",
            "keys/release.key",
            "--out",
            "release.pub",
        ],
    )
    .ok();
    assert_eq!(read(d, "release.pub"), read(d, "keys/release.key.pub"));
    let run = hpk_in(
        d,
        &["pubkey", "--key", "keys/stray.key", "--out", "release.pub"],
    )
    .expect_code(2);
    assert!(run.stderr.contains("exists"), "{}", run.stderr);
    assert_eq!(read(d, "release.pub"), read(d, "keys/release.key.pub"));

    assert_eq!(before, read(d, "unsigned.hpk"));
    assert!(
        std::fs::read_dir(d).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp")),
        "no temporary file left behind"
    );
}
