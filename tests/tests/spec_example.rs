//! The worked example of `spec/SPEC.md`, read from the spec text itself:
//! the hex dumps of the package and of the trust root are turned back into
//! files, every digest and signature value the text states is recomputed,
//! and the package verifies with the trust root as the text says. So the
//! example can never drift from what the implementation does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::{Signer as _, SigningKey};
use hpk_format::{Digest, FileType, Limits, signed_statement};
use hpk_tests::verify::MemorySink;
use hpk_verify::{Clock, DeviceProfile, RootError, TrustedRoot, Verifier};
use std::path::Path;

fn spec() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/SPEC.md"))
        .expect("spec/SPEC.md")
}

/// The text of the section that starts with `heading`, up to the next
/// heading of any level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let body = &text[start + heading.len() + 2..];
    let end = body.find("\n#").unwrap_or(body.len());
    &body[..end]
}

/// The bytes of the offset-prefixed hex dump (`0000  89 48 …`) in
/// `text` that starts at offset 0 with `first`.
fn dump(text: &str, first: &str) -> Vec<u8> {
    let start = text
        .find(&format!("0000  {first}"))
        .unwrap_or_else(|| panic!("no dump starting {first}"));
    let mut out = Vec::new();
    for line in text[start..].lines() {
        let Some((offset, hex)) = line.split_once("  ") else {
            break;
        };
        if offset.len() != 4 || usize::from_str_radix(offset, 16).ok() != Some(out.len()) {
            break;
        }
        for byte in hex.split_whitespace() {
            out.push(u8::from_str_radix(byte, 16).expect("hex byte"));
        }
    }
    out
}

/// The first run of 64 hexadecimal digits after `label` in `text`.
fn value_after(text: &str, label: &str) -> [u8; 32] {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in the example"));
    let rest = &text[at + label.len()..];
    let hex = rest
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|run| run.len() == 64)
        .unwrap_or_else(|| panic!("no 64-digit value after {label:?}"));
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex, &mut out).unwrap_or_else(|e| panic!("{label}: {e}"));
    out
}

const JUNE_2026: u64 = 1_780_272_000; // 2026-06-01T00:00:00Z

#[test]
fn the_worked_example_is_what_the_implementation_makes_and_accepts() {
    let text = spec();
    let whole = section(&text, "### The whole package");
    let package = dump(whole, "89 48 50 4b 0d 0a 1a 0a 01 00 00 00 01 00");
    assert_eq!(package.len(), 463);
    assert_eq!(
        Digest::of(&package).0,
        value_after(whole, "whose `SHA-256` is"),
        "SHA-256 of the package dump"
    );
    let root_section = section(&text, "### The trust root");
    let root = dump(root_section, "89 48 50 4b 0d 0a 1a 0a 01 00 00 00 02 00");
    assert_eq!(root.len(), 438);
    assert_eq!(
        Digest::of(&root).0,
        value_after(root_section, "with `SHA-256`"),
        "SHA-256 of the trust-root dump"
    );

    // The manifest digest and the signed statement.
    let body = &package[140..417];
    let manifest = section(&text, "### The manifest");
    assert_eq!(Digest::of(body).0, value_after(manifest, "manifest digest"));
    let statement = signed_statement(FileType::Package, body);
    assert_eq!(statement.len(), 47);
    assert_eq!(&statement[..15], b"hpk v1 package\n");
    assert_eq!(&statement[15..], Digest::of(body).as_bytes());

    // The signature the text states is the one in the file, and Ed25519
    // over the statement with the example's seed gives exactly it.
    let signature = section(&text, "### The signature");
    let r = value_after(signature, "R = ");
    let s = value_after(signature, "S = ");
    assert_eq!(package[76..108], r);
    assert_eq!(package[108..140], s);
    let key = SigningKey::from_bytes(&[1; 32]);
    let made = key.sign(&statement);
    assert_eq!(made.to_bytes()[..32], r);
    assert_eq!(made.to_bytes()[32..], s);

    // The trust root's own statement and signature.
    let root_body = &root[140..438];
    assert_eq!(
        Digest::of(root_body).0,
        value_after(
            root_section,
            "Its body digest, `SHA-256` of these 298 bytes, is"
        )
    );
    let root_made = key.sign(&signed_statement(FileType::TrustRoot, root_body));
    assert_eq!(
        root_made.to_bytes()[..32],
        value_after(root_section, "R = ")
    );
    assert_eq!(
        root_made.to_bytes()[32..],
        value_after(root_section, "S = ")
    );
    assert_eq!(root[76..140], root_made.to_bytes());

    // It verifies as "Verifying it" says: within the root's lifetime, for
    // the device profile the text gives, the policy passes and the package
    // gives hello.txt = "hello\n"; from 2027-01-01 the root has expired.
    let limits = Limits::default();
    let trusted = TrustedRoot::load(&root, Clock::Trusted(JUNE_2026), &limits).unwrap();
    let device =
        DeviceProfile::from_toml("os = \"windows\"\narchitecture = \"x64\"\nedition = \"pro\"\n")
            .unwrap();
    let verifier = Verifier::new(trusted)
        .clock(Clock::Trusted(JUNE_2026))
        .limits(limits.clone());
    let mut sink = MemorySink::default();
    let manifest = verifier
        .package(&package[..])
        .unwrap()
        .judge(&device)
        .unwrap()
        .stream(&mut sink, &mut |_| {})
        .unwrap();
    assert_eq!(manifest.digest(), Digest::of(body));
    assert_eq!(
        sink.payloads,
        vec![("hello.txt".to_string(), b"hello\n".to_vec())]
    );
    assert!(matches!(
        TrustedRoot::load(&root, Clock::Trusted(1_798_761_600), &limits),
        Err(RootError::Expired { .. })
    ));
}
