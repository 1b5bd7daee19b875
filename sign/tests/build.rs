//! Package descriptions and `build_package`: round trips through the
//! format crate's readers, determinism, hotpatch lineage, and failures
//! that must leave the output folder as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::mixed_bytes;
use hpk_format::{
    Channel, Compression, ContainerView, Digest, FileType, Limits, Manifest, PackageKind,
    PayloadReader, Token, decode, parse_chunk_index,
};
use hpk_sign::{
    BaselineRef, BuildError, BuildOptions, BuildProgress, BuiltPackage, DescriptionError,
    KindDescription, PackageDescription, build_package, source_date_epoch,
};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const EPOCH: u64 = 1_700_000_000;

fn options<'a>(threads: usize) -> BuildOptions<'a> {
    BuildOptions {
        threads,
        source_date_epoch: Some(EPOCH),
        overwrite: true,
        ..BuildOptions::default()
    }
}

#[test]
fn an_existing_output_is_replaced_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.hpk");
    fs::write(&out, b"a signed package").unwrap();
    let mut opts = BuildOptions {
        source_date_epoch: Some(EPOCH),
        ..BuildOptions::default()
    };
    let err = build_text(&minimal("", ""), dir.path(), &out, &mut opts).unwrap_err();
    assert!(
        matches!(&err, BuildError::Exists { path } if *path == out),
        "{err:?}"
    );
    assert_eq!(fs::read(&out).unwrap(), b"a signed package");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    let built = build_text(&minimal("", ""), dir.path(), &out, &mut options(1)).unwrap();
    assert_eq!(fs::metadata(&out).unwrap().len(), built.size);
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Files in `dir` (not recursive), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const TARGETS: &str = r#"
[targets]
os = "windows"
architectures = ["x64", "arm64", "x64"]
editions = ["enterprise", "education"]
capabilities = ["vbs"]
"#;

/// A baseline description with several payloads, plus its files.
fn baseline_fixture(dir: &Path) -> (String, BTreeMap<String, Vec<u8>>) {
    let mut files = BTreeMap::new();
    for (name, file, bytes) in [
        (
            "System32/ntoskrnl.exe",
            "payload/ntoskrnl.exe",
            mixed_bytes(1, 300_000),
        ),
        (
            "System32/drivers/empty.sys",
            "payload/empty.sys",
            Vec::new(),
        ),
        ("readme.txt", "payload/readme.txt", b"hello\n".repeat(5000)),
        ("boot/raw.bin", "payload/raw.bin", mixed_bytes(2, 10_000)),
    ] {
        write(dir, file, &bytes);
        files.insert(name.to_owned(), bytes);
    }
    let text = format!(
        r#"
name = "kb5051234-baseline"
kind = "baseline"
version = "10.0.26100.4349"
security_version = 12
created = 2026-01-14T00:00:00Z
expires = 2027-01-14T00:00:00Z
{TARGETS}
[baseline]
security_floor = 10
revoke = ["{b}", "{a}", "{b}"]

[[payloads]]
name = "System32/ntoskrnl.exe"
file = "payload/ntoskrnl.exe"
chunk_size = 4096
level = 5

[[payloads]]
name = "readme.txt"
file = "payload/readme.txt"

[[payloads]]
name = "boot/raw.bin"
file = "payload/raw.bin"
compression = "none"
chunk_size = 4096

[[payloads]]
name = "System32/drivers/empty.sys"
file = "payload/empty.sys"

[[extensions]]
id = 2
critical = false
hex = "00ff"

[[extensions]]
id = 1
text = "Release notes"
"#,
        a = "aa".repeat(32),
        b = "0B".repeat(32),
    );
    (text, files)
}

/// Reads a package back with the format crate's readers.
fn read_back(path: &Path) -> (Manifest, Digest, BTreeMap<String, Vec<u8>>) {
    let bytes = fs::read(path).unwrap();
    let limits = Limits::default();
    let view = ContainerView::parse(&bytes, FileType::Package, &limits).unwrap();
    assert!(view.signatures.is_empty());
    let manifest: Manifest = decode(view.body, &limits).unwrap();
    let mut index = view.index;
    let mut payload = view.payload;
    let mut out = BTreeMap::new();
    for desc in &manifest.payloads {
        let (this_index, rest) = index.split_at(desc.index_len().unwrap() as usize);
        index = rest;
        let (stored, rest) = payload.split_at(desc.stored_size as usize);
        payload = rest;
        let entries = parse_chunk_index(this_index, desc).unwrap();
        let mut reader = PayloadReader::new(desc, &entries, stored).unwrap();
        let mut content = Vec::new();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            content.extend_from_slice(chunk);
        }
        out.insert(desc.name.to_string(), content);
    }
    assert!(index.is_empty() && payload.is_empty());
    (manifest, Digest::of(view.body), out)
}

fn build_text(
    text: &str,
    dir: &Path,
    out: &Path,
    options: &mut BuildOptions<'_>,
) -> Result<BuiltPackage, BuildError> {
    let desc = PackageDescription::parse(text).map_err(BuildError::Description)?;
    build_package(&desc, dir, out, options)
}

fn tokens(list: &[&str]) -> Vec<Token> {
    list.iter().map(|t| Token::new(t).unwrap()).collect()
}

#[test]
fn baseline_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (text, files) = baseline_fixture(dir.path());
    let out = dir.path().join("kb.hpk");
    let mut events: Vec<BuildProgress> = Vec::new();
    let mut record = |p: BuildProgress| events.push(p);
    let mut opts = BuildOptions {
        progress: Some(&mut record),
        ..options(2)
    };
    let built = build_text(&text, dir.path(), &out, &mut opts).unwrap();

    let (manifest, digest, contents) = read_back(&out);
    assert_eq!(contents, files);
    assert_eq!(manifest, built.manifest);
    assert_eq!(digest, built.manifest_digest);
    assert_eq!(built.size, fs::metadata(&out).unwrap().len());
    assert_eq!(built.path, out);

    assert_eq!(manifest.name.as_str(), "kb5051234-baseline");
    assert_eq!(manifest.version.to_string(), "10.0.26100.4349");
    assert_eq!(manifest.security_version, 12);
    assert_eq!(manifest.created, 1_768_348_800);
    assert_eq!(manifest.expires, Some(1_768_348_800 + 365 * 86_400));
    assert!(manifest.restart_required);
    assert_eq!(manifest.targets.os.as_str(), "windows");
    assert_eq!(manifest.targets.architectures, tokens(&["arm64", "x64"]));
    assert_eq!(
        manifest.targets.editions,
        tokens(&["education", "enterprise"])
    );
    assert_eq!(manifest.targets.capabilities, tokens(&["vbs"]));
    assert_eq!(manifest.targets.channel, Channel::General);
    let PackageKind::Baseline(info) = &manifest.kind else {
        panic!("not a baseline: {:?}", manifest.kind);
    };
    assert_eq!(info.security_floor, 10);
    assert_eq!(
        info.revoked_hotpatches,
        vec![
            Digest::from_hex(&"0b".repeat(32)).unwrap(),
            Digest::from_hex(&"aa".repeat(32)).unwrap()
        ]
    );
    let names: Vec<&str> = manifest.payloads.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "System32/drivers/empty.sys",
            "System32/ntoskrnl.exe",
            "boot/raw.bin",
            "readme.txt"
        ]
    );
    let by_name = |n: &str| {
        manifest
            .payloads
            .iter()
            .find(|p| p.name.as_str() == n)
            .unwrap()
    };
    assert_eq!(by_name("boot/raw.bin").compression, Compression::None);
    assert_eq!(by_name("boot/raw.bin").chunk_size, 4096);
    assert_eq!(by_name("System32/ntoskrnl.exe").chunk_count, 74);
    assert!(by_name("readme.txt").stored_size < 30_000);
    let ids: Vec<u32> = manifest.extensions.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(manifest.extensions[0].data, b"Release notes");
    assert_eq!(manifest.extensions[1].data, [0x00, 0xff]);

    // Progress: monotonic, ends at the total, names every payload.
    let total: u64 = files.values().map(|f| f.len() as u64).sum();
    assert!(events.iter().all(|e| e.total == total && e.payloads == 4));
    assert!(events.windows(2).all(|w| w[0].done <= w[1].done));
    assert_eq!(events.last().unwrap().done, total);
    let mut seen: Vec<usize> = events.iter().map(|e| e.payload).collect();
    seen.dedup();
    assert_eq!(seen, [0, 1, 2, 3]);

    // Nothing but the fixture and the package in the folder.
    assert_eq!(listing(dir.path()), ["kb.hpk", "payload"]);
}

#[test]
fn builds_are_deterministic_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = baseline_fixture(dir.path());
    let mut packages = Vec::new();
    for (i, threads) in [1, 4, 0, 1].into_iter().enumerate() {
        let out = dir.path().join(format!("p{i}.hpk"));
        build_text(&text, dir.path(), &out, &mut options(threads)).unwrap();
        packages.push(fs::read(out).unwrap());
    }
    assert!(packages.windows(2).all(|w| w[0] == w[1]));
}

fn hotpatch_text(baseline_line: &str) -> String {
    format!(
        r#"
name = "kb5052000-hotpatch"
kind = "hotpatch"
version = "10.0.26100.4400"
security_version = 13
{TARGETS}
[hotpatch]
{baseline_line}
sequence = 2

[[hotpatch.modules]]
path = "System32/ntoskrnl.exe"
digest_before = "{d}"

[[hotpatch.modules]]
path = "System32/hal.dll"
digest_before = "{d}"

[[payloads]]
name = "patch/ntoskrnl.hp"
file = "hp.bin"
"#,
        d = "12".repeat(32)
    )
}

#[test]
fn hotpatch_names_its_baseline_by_file_or_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = baseline_fixture(dir.path());
    let base = build_text(
        &text,
        dir.path(),
        &dir.path().join("base.hpk"),
        &mut options(0),
    )
    .unwrap();
    write(dir.path(), "hp.bin", &mixed_bytes(9, 5000));

    let by_file = build_text(
        &hotpatch_text(r#"baseline = "base.hpk""#),
        dir.path(),
        &dir.path().join("hp1.hpk"),
        &mut options(0),
    )
    .unwrap();
    let by_digest = build_text(
        &hotpatch_text(&format!(
            r#"baseline_digest = "{}""#,
            base.manifest_digest.to_hex().to_uppercase()
        )),
        dir.path(),
        &dir.path().join("hp2.hpk"),
        &mut options(0),
    )
    .unwrap();

    let PackageKind::Hotpatch(info) = &by_file.manifest.kind else {
        panic!("not a hotpatch");
    };
    assert_eq!(info.baseline, base.manifest_digest);
    assert_eq!(info.sequence, 2);
    let paths: Vec<&str> = info.modules.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["System32/hal.dll", "System32/ntoskrnl.exe"]);
    assert!(!by_file.manifest.restart_required);
    assert_eq!(by_file.manifest.created, EPOCH);
    assert_eq!(by_file.manifest_digest, by_digest.manifest_digest);
    assert_eq!(
        fs::read(dir.path().join("hp1.hpk")).unwrap(),
        fs::read(dir.path().join("hp2.hpk")).unwrap()
    );
    let (_, _, contents) = read_back(&dir.path().join("hp1.hpk"));
    assert_eq!(contents["patch/ntoskrnl.hp"], mixed_bytes(9, 5000));

    // The description knows how it named the baseline.
    let desc = PackageDescription::parse(&hotpatch_text(r#"baseline = "base.hpk""#)).unwrap();
    assert!(matches!(
        desc.kind(),
        KindDescription::Hotpatch { baseline: BaselineRef::File(f), .. } if f == Path::new("base.hpk")
    ));
    assert_eq!(
        desc.baseline_digest(dir.path(), &Limits::default())
            .unwrap(),
        Some(base.manifest_digest)
    );
}

#[test]
fn hotpatch_on_a_package_that_is_not_a_baseline_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "hp.bin", b"patch");
    build_text(
        &hotpatch_text(&format!(r#"baseline_digest = "{}""#, "ab".repeat(32))),
        dir.path(),
        &dir.path().join("other-hotpatch.hpk"),
        &mut options(1),
    )
    .unwrap();
    let standard = format!(
        "name = \"std\"\nkind = \"standard\"\nversion = \"1\"\nsecurity_version = 1\n{TARGETS}"
    );
    build_text(
        &standard,
        dir.path(),
        &dir.path().join("std.hpk"),
        &mut options(1),
    )
    .unwrap();
    fs::write(
        dir.path().join("garbage.hpk"),
        b"not a package at all".repeat(4),
    )
    .unwrap();

    for (file, kind) in [("other-hotpatch.hpk", "hotpatch"), ("std.hpk", "standard")] {
        let out = dir.path().join("out.hpk");
        let err = build_text(
            &hotpatch_text(&format!("baseline = \"{file}\"")),
            dir.path(),
            &out,
            &mut options(1),
        )
        .unwrap_err();
        assert!(
            matches!(&err, BuildError::Description(DescriptionError::NotABaseline { kind: k, .. }) if *k == kind),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .ends_with(&format!("{file} is a {kind} package, not a baseline")),
            "{err}"
        );
        assert!(!out.exists());
    }
    for (file, expect) in [("garbage.hpk", "magic"), ("missing.hpk", "No such file")] {
        let err = build_text(
            &hotpatch_text(&format!("baseline = \"{file}\"")),
            dir.path(),
            &dir.path().join("out.hpk"),
            &mut options(1),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                BuildError::Description(DescriptionError::BaselineFile { .. })
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(file) && msg.contains(expect), "{msg}");
    }
}

fn minimal(extra_top: &str, extra_tables: &str) -> String {
    format!(
        "name = \"p\"\nkind = \"standard\"\nversion = \"1.0\"\nsecurity_version = 1\n{extra_top}\n{TARGETS}\n{extra_tables}"
    )
}

fn parse_err(text: &str) -> DescriptionError {
    PackageDescription::parse(text).unwrap_err()
}

#[test]
fn unknown_fields_are_errors_naming_the_field() {
    for (text, field) in [
        (minimal("colour = \"red\"", ""), "colour"),
        (
            minimal("", "[[payloads]]\nname = \"a\"\nfile = \"a\"\nlevl = 3\n"),
            "levl",
        ),
        (
            "name = \"p\"\nkind = \"standard\"\nversion = \"1\"\nsecurity_version = 1\n[targets]\nos = \"linux\"\narchitectures = [\"x64\"]\narch = \"x\"\n".to_owned(),
            "arch",
        ),
        (
            hotpatch_text("baseline = \"b.hpk\"\nbaseline_version = 3"),
            "baseline_version",
        ),
        (
            minimal("", "[[extensions]]\nid = 5\ntext = \"x\"\ncritcal = true\n"),
            "critcal",
        ),
    ] {
        let err = parse_err(&text);
        assert!(
            matches!(err, DescriptionError::Syntax { .. }),
            "{field}: {err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("unknown field `{field}`")),
            "{err}"
        );
    }
    let err = parse_err(&minimal("", "").replace("standard", "weekly"));
    assert!(err.to_string().contains("weekly"), "{err}");
    let err = parse_err("name = \"p\"\n");
    assert!(err.to_string().contains("missing field"), "{err}");
}

#[test]
fn missing_payload_file_fails_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "payload/a.bin", b"a");
    let text = minimal(
        "",
        "[[payloads]]\nname = \"a\"\nfile = \"payload/a.bin\"\n[[payloads]]\nname = \"b\"\nfile = \"payload/missing.bin\"\n",
    );
    let out = dir.path().join("out.hpk");
    let err = build_text(&text, dir.path(), &out, &mut options(1)).unwrap_err();
    let BuildError::Description(DescriptionError::PayloadFile { name, file, source }) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(name, "b");
    assert_eq!(file, &dir.path().join("payload/missing.bin"));
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    let msg = err.to_string();
    assert!(
        msg.starts_with("payload \"b\" file ") && msg.contains("payload/missing.bin: "),
        "{msg}"
    );
    assert!(!out.exists());
    assert_eq!(listing(dir.path()), ["payload"]);
}

#[test]
fn duplicate_payload_names_are_refused() {
    let text = minimal(
        "",
        "[[payloads]]\nname = \"x/a\"\nfile = \"1\"\n[[payloads]]\nname = \"b\"\nfile = \"2\"\n[[payloads]]\nname = \"x/a\"\nfile = \"3\"\n",
    );
    let err = parse_err(&text);
    assert!(
        matches!(
            &err,
            DescriptionError::DuplicatePayload { name, first: 0, second: 2 } if name == "x/a"
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("payloads[0] and payloads[2]"),
        "{err}"
    );
}

#[test]
fn unsafe_payload_names_are_refused() {
    for (bad, why) in [
        ("../x", "'..'"),
        ("a\\b", "backslash"),
        ("C:x", "drive letter"),
        ("/abs", "absolute"),
        ("a//b", "empty path component"),
        ("caf\u{e9}.txt", "U+00E9"),
        ("e\u{301}", "U+0301"),
        ("com1.txt", "device"),
        ("x/LPT9", "device"),
        (&"a".repeat(256), "256 bytes"),
    ] {
        let text = minimal(
            "",
            &format!(
                "[[payloads]]\nname = \"ok\"\nfile = \"f\"\n[[payloads]]\nname = '{bad}'\nfile = \"f\"\n"
            ),
        );
        let err = parse_err(&text);
        assert!(
            matches!(&err, DescriptionError::PayloadName { index: 1, name, .. } if name == bad),
            "{bad}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("payloads[1].name") && msg.contains(why) && msg.contains("rename it"),
            "{bad}: {msg}"
        );
    }
    // Names that differ only by ASCII case are two entries (N9 compares
    // bytes; a case-insensitive file system refuses them on extraction).
    let text = minimal(
        "",
        "[[payloads]]\nname = \"README\"\nfile = \"f\"\n[[payloads]]\nname = \"readme\"\nfile = \"f\"\n",
    );
    assert_eq!(
        PackageDescription::parse(&text).unwrap().payloads().len(),
        2
    );
    // An entry inside another that is not a folder is refused once the
    // entries are known, naming both.
    let text = minimal(
        "",
        "[[payloads]]\nname = \"lib/x.so\"\nfile = \"f\"\n[[payloads]]\nname = \"lib\"\nfile = \"f\"\n",
    );
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f"), b"x").unwrap();
    let err = PackageDescription::parse(&text)
        .unwrap()
        .entries(dir.path())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("would be inside \"lib\", which is not a folder"),
        "{err}"
    );
    // Module paths follow the same rules.
    let err =
        parse_err(&hotpatch_text("baseline = \"b.hpk\"").replace("System32/hal.dll", "../hal.dll"));
    assert!(
        err.to_string().starts_with("hotpatch.modules[1].path"),
        "{err}"
    );
}

/// Builds `text` over an existing `out` and checks that it fails and
/// leaves the folder exactly as it was.
fn assert_fails_cleanly(dir: &Path, text: &str) -> BuildError {
    let out = dir.join("out.hpk");
    fs::write(&out, b"previous package").unwrap();
    let before = listing(dir);
    let err = build_text(text, dir, &out, &mut options(2)).unwrap_err();
    assert_eq!(fs::read(&out).unwrap(), b"previous package");
    assert_eq!(listing(dir), before);
    err
}

#[test]
fn failed_builds_leave_the_output_and_folder_untouched() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.bin", &mixed_bytes(3, 100_000));
    fs::create_dir(dir.path().join("folder")).unwrap();

    // A payload path that is a folder.
    let err = assert_fails_cleanly(
        dir.path(),
        &minimal(
            "",
            "[[payloads]]\nname = \"a\"\nfile = \"a.bin\"\n[[payloads]]\nname = \"z\"\nfile = \"folder\"\n",
        ),
    );
    assert!(err.to_string().contains("is a folder"), "{err}");

    // A file that grows while it is read, after another payload has been
    // written: /proc files say they are empty.
    #[cfg(target_os = "linux")]
    {
        let err = assert_fails_cleanly(
            dir.path(),
            &minimal(
                "",
                "[[payloads]]\nname = \"a\"\nfile = \"a.bin\"\n[[payloads]]\nname = \"z\"\nfile = \"/proc/self/status\"\n",
            ),
        );
        assert!(
            matches!(&err, BuildError::PayloadChanged { name, expected: 0, .. } if name == "z"),
            "{err:?}"
        );
    }

    // An unreadable file (only meaningful when not running as root).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        write(dir.path(), "secret.bin", b"secret");
        let secret = dir.path().join("secret.bin");
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::File::open(&secret).is_err() {
            let err = assert_fails_cleanly(
                dir.path(),
                &minimal(
                    "",
                    "[[payloads]]\nname = \"a\"\nfile = \"a.bin\"\n[[payloads]]\nname = \"z\"\nfile = \"secret.bin\"\n",
                ),
            );
            assert!(
                matches!(&err, BuildError::PayloadRead { name, .. } if name == "z"),
                "{err:?}"
            );
        }
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    }

    // A manifest that cannot be encoded within the limits, found before
    // any payload is written.
    let out = dir.path().join("out.hpk");
    let before = listing(dir.path());
    let text = minimal("", "[[payloads]]\nname = \"a\"\nfile = \"a.bin\"\n");
    let mut opts = BuildOptions {
        limits: Limits {
            max_body_len: 100,
            ..Limits::default()
        },
        ..options(1)
    };
    let err = build_text(&text, dir.path(), &out, &mut opts).unwrap_err();
    assert!(matches!(err, BuildError::Manifest(_)), "{err:?}");
    assert_eq!(fs::read(&out).unwrap(), b"previous package");
    assert_eq!(listing(dir.path()), before);

    // An output folder that does not exist.
    let err = build_text(
        &text,
        dir.path(),
        &dir.path().join("nowhere/out.hpk"),
        &mut options(1),
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::Output { .. }), "{err:?}");
}

#[test]
fn times_are_datetimes_with_offsets_or_integers() {
    let created = |line: &str| {
        PackageDescription::parse(&minimal(line, ""))
            .map(|d| d.created())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        created("created = 2026-01-14T00:00:00Z"),
        Ok(Some(1_768_348_800))
    );
    assert_eq!(
        created("created = 2026-01-14T02:00:00+02:00"),
        Ok(Some(1_768_348_800))
    );
    assert_eq!(created("created = 1768348800"), Ok(Some(1_768_348_800)));
    assert_eq!(created(""), Ok(None));
    for (line, expect) in [
        ("created = 2026-01-14T00:00:00", "no UTC offset"),
        ("created = 2026-01-14", "not a full date and time"),
        ("created = -5", "negative"),
        ("created = \"2026-01-14T00:00:00Z\"", "without quotes"),
        ("created = 1.5", "integer"),
        (
            "created = 2026-01-14T00:00:00Z\nexpires = 2026-01-13T00:00:00Z",
            "expires: 2026-01-13T00:00:00Z is not after created",
        ),
    ] {
        let err = created(line).unwrap_err();
        assert!(err.contains(expect), "{line}: {err}");
    }

    // expires without created is checked against the creation time used.
    let dir = tempfile::tempdir().unwrap();
    let text = minimal("expires = 1000", "");
    let err = build_text(
        &text,
        dir.path(),
        &dir.path().join("o.hpk"),
        &mut options(1),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("is not after the creation time"),
        "{err}"
    );
    let text = minimal(&format!("expires = {}", EPOCH + 1), "");
    let built = build_text(
        &text,
        dir.path(),
        &dir.path().join("o.hpk"),
        &mut options(1),
    )
    .unwrap();
    assert_eq!(
        (built.manifest.created, built.manifest.expires),
        (EPOCH, Some(EPOCH + 1))
    );
}

#[test]
fn source_date_epoch_option_is_used_only_without_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.hpk");
    let built = build_text(&minimal("", ""), dir.path(), &out, &mut options(1)).unwrap();
    assert_eq!(built.manifest.created, EPOCH);
    let built = build_text(
        &minimal("created = 1234", ""),
        dir.path(),
        &out,
        &mut options(1),
    )
    .unwrap();
    assert_eq!(built.manifest.created, 1234);
}

/// Runs one test of this binary in a child process with `env` set.
fn run_child(test: &str, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new(exe)
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env("HPK_BUILD_TEST_CHILD", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child {test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn source_date_epoch_env_is_used_when_no_option_is_given() {
    run_child(
        "child_reads_source_date_epoch",
        &[("SOURCE_DATE_EPOCH", "1234567890")],
    );
    run_child(
        "child_refuses_bad_source_date_epoch",
        &[("SOURCE_DATE_EPOCH", "yesterday")],
    );
}

#[test]
fn child_reads_source_date_epoch() {
    if std::env::var_os("HPK_BUILD_TEST_CHILD").is_none() {
        return;
    }
    assert_eq!(source_date_epoch().unwrap(), Some(1_234_567_890));
    let dir = tempfile::tempdir().unwrap();
    let mut opts = BuildOptions {
        overwrite: true,
        ..BuildOptions::default()
    };
    let built = build_text(
        &minimal("", ""),
        dir.path(),
        &dir.path().join("o.hpk"),
        &mut opts,
    )
    .unwrap();
    assert_eq!(built.manifest.created, 1_234_567_890);
    // An explicit option wins over the environment.
    let built = build_text(
        &minimal("", ""),
        dir.path(),
        &dir.path().join("o.hpk"),
        &mut options(1),
    )
    .unwrap();
    assert_eq!(built.manifest.created, EPOCH);
}

#[test]
fn child_refuses_bad_source_date_epoch() {
    if std::env::var_os("HPK_BUILD_TEST_CHILD").is_none() {
        return;
    }
    let err = source_date_epoch().unwrap_err();
    assert!(
        err.to_string().contains("SOURCE_DATE_EPOCH=\"yesterday\""),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = build_text(
        &minimal("", ""),
        dir.path(),
        &dir.path().join("o.hpk"),
        &mut BuildOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::SourceDateEpoch { .. }), "{err:?}");
    // Not consulted when the description has a creation time.
    build_text(
        &minimal("created = 5", ""),
        dir.path(),
        &dir.path().join("o.hpk"),
        &mut BuildOptions::default(),
    )
    .unwrap();
}

#[test]
fn tables_must_match_the_kind() {
    let d = "cd".repeat(32);
    for (text, expect) in [
        (
            hotpatch_text("baseline = \"b.hpk\"") + "[baseline]\nsecurity_floor = 1\n",
            "the [baseline] table is only allowed with kind = \"baseline\", and kind is \"hotpatch\"",
        ),
        (
            minimal("", "[hotpatch]\nbaseline = \"b.hpk\"\nsequence = 1\n"),
            "the [hotpatch] table is only allowed with kind = \"hotpatch\"",
        ),
        (
            minimal("", "").replace("standard", "hotpatch"),
            "needs a [hotpatch] table",
        ),
        (
            hotpatch_text(&format!("baseline = \"b.hpk\"\nbaseline_digest = \"{d}\"")),
            "not both",
        ),
        (hotpatch_text(""), "name the baseline"),
        (
            hotpatch_text("baseline_digest = \"abc\""),
            "hotpatch.baseline_digest: \"abc\" is not a SHA-256 digest",
        ),
        (
            hotpatch_text("baseline = \"b.hpk\"").replace("sequence = 2", "sequence = 0"),
            "hotpatch.sequence: sequences start at 1",
        ),
        (
            hotpatch_text("baseline = \"b.hpk\"")
                .replace("System32/hal.dll", "System32/ntoskrnl.exe"),
            "hotpatch.modules[1]: module \"System32/ntoskrnl.exe\" is already listed as hotpatch.modules[0]",
        ),
        (
            hotpatch_text("baseline = \"b.hpk\"")
                .replace("[targets]", "restart_required = true\n[targets]"),
            "restart_required: a hotpatch never needs a restart",
        ),
        (
            minimal("restart_required = false", "").replace("standard", "baseline"),
            "restart_required: a baseline always needs a restart",
        ),
        (
            minimal("", "[baseline]\nsecurity_floor = 2\n").replace("standard", "baseline"),
            "baseline.security_floor: 2 is above the package's own security_version 1",
        ),
        (
            minimal("", "[baseline]\nrevoke = [\"xyz\"]\n").replace("standard", "baseline"),
            "baseline.revoke[0]",
        ),
        (
            minimal("", "").replace("\"x64\", \"arm64\", \"x64\"", "\"x64\", \"ARM64\""),
            "targets.architectures[1]: \"ARM64\"",
        ),
        (
            minimal("", "").replace("[\"x64\", \"arm64\", \"x64\"]", "[]"),
            "targets.architectures: list at least one",
        ),
        (
            minimal("", "").replace("version = \"1.0\"", "version = \"1.x\""),
            "version: \"1.x\"",
        ),
        (
            minimal(
                "",
                "[[payloads]]\nname = \"a\"\nfile = \"a\"\ncompression = \"none\"\nlevel = 3\n",
            ),
            "payloads[0].level",
        ),
        (
            minimal(
                "",
                "[[payloads]]\nname = \"a\"\nfile = \"a\"\nchunk_size = 100\n",
            ),
            "payloads[0].chunk_size: 100 is outside",
        ),
        (
            minimal("", "[[extensions]]\nid = 3\n"),
            "extensions[0]: give the data as exactly one",
        ),
        (
            minimal(
                "",
                "[[extensions]]\nid = 3\ntext = \"a\"\n[[extensions]]\nid = 3\nhex = \"00\"\n",
            ),
            "extensions[1].id: id 3 is already used by extensions[0]",
        ),
    ] {
        let err = parse_err(&text);
        assert!(
            err.to_string().contains(expect),
            "expected {expect:?}, got: {err}"
        );
    }

    // Defaults per kind.
    let desc = PackageDescription::parse(&minimal("", "")).unwrap();
    assert!(desc.restart_required());
    assert_eq!(desc.targets().channel, Channel::General);
    let desc = PackageDescription::parse(
        &minimal("restart_required = false", "").replace("standard", "recovery"),
    )
    .unwrap();
    assert!(!desc.restart_required());
    assert_eq!(desc.kind(), &KindDescription::Recovery);
    let desc = PackageDescription::parse(&minimal("", "").replace("standard", "baseline")).unwrap();
    assert!(
        matches!(desc.kind(), KindDescription::Baseline(b) if b.security_floor == 0 && b.revoked_hotpatches.is_empty())
    );
}

#[test]
fn load_reports_the_file() {
    let err = PackageDescription::load(Path::new("/nonexistent/desc.toml")).unwrap_err();
    assert!(matches!(err, DescriptionError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/desc.toml"), "{err}");
}

/// Every complete example in the documentation parses.
#[test]
fn documented_examples_parse() {
    let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/package-description.md");
    let text = fs::read_to_string(doc).unwrap();
    let mut examples = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                examples.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(examples.len() >= 3, "found {} examples", examples.len());
    let mut kinds = Vec::new();
    for example in &examples {
        let desc = PackageDescription::parse(example).unwrap_or_else(|e| panic!("{e}\n{example}"));
        kinds.push(match desc.kind() {
            KindDescription::Baseline(_) => "baseline",
            KindDescription::Hotpatch { .. } => "hotpatch",
            KindDescription::Standard => "standard",
            KindDescription::Recovery => "recovery",
            _ => "other",
        });
    }
    for kind in ["baseline", "hotpatch", "standard"] {
        assert!(kinds.contains(&kind), "no {kind} example in the docs");
    }
}
