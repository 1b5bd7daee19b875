//! The C ABI from C: `tests/c/agent.c`, a small update agent, compiled
//! with the system C compiler against the `libhpk.a` cargo built next to
//! this test, run on fixtures made here, then run again under valgrind,
//! which must find no memory error and no definite or indirect leak.
//!
//! Without `cc` or `valgrind` the tests that need them are skipped with a
//! message, unless `CI` is set: then they fail and say what to install.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_tests::{
    DAY, Keys, PackageSpec, T0, catalog_entry, catalog_file, hpk_binary, root_file, sample_data,
    standard_root, tok,
};
use hpk_verify::Catalog;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The trusted time the agent runs at: fixtures are made at `T0` and
/// valid for 90 days (packages) to a year (roots).
const NOW: u64 = T0 + DAY;

const NTOSKRNL_LEN: usize = 20_000;
const HAL_LEN: usize = 5_000;

/// What the fixtures are, for the checks on the agent's output.
struct Fixtures {
    baseline_digest: String,
    /// The manifest digest of the next baseline in full, which the device
    /// records when it installs the delta package.
    next_full_digest: String,
    /// The kernel of the next baseline, which `delta.hpk` rebuilds from
    /// the first one's.
    next_ntoskrnl: Vec<u8>,
}

/// `Keys::standard().release` (seed 32 × 0x02) as the unencrypted PKCS#8
/// PEM `hpk pack --key` reads: the DER prefix of an Ed25519 private key,
/// then the seed.
const RELEASE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
    MC4CAQAwBQYDK2VwBCIEIAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC\n\
    -----END PRIVATE KEY-----\n";

/// `Keys::standard().catalog` (seed 32 × 0x05), in the same form.
const CATALOG_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
    MC4CAQAwBQYDK2VwBCIEIAUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUF\n\
    -----END PRIVATE KEY-----\n";

/// The description `hpk pack` makes the next baseline from (the files of
/// `next/`), created at `T0` like the other fixtures.
const NEXT_BASELINE: &str = r#"name = "contoso-baseline"
kind = "baseline"
version = "10.0.26100.4000"
security_version = 10
created = 2026-01-01T00:00:00Z

[targets]
os = "windows"
architectures = ["x64"]
editions = ["enterprise"]

[[payloads]]
dir = "next"
"#;

/// The kernel of the next baseline: the first one's with a few bytes
/// changed and a few inserted, so that it is stored as delta chunks.
fn next_ntoskrnl() -> Vec<u8> {
    let mut next = sample_data(NTOSKRNL_LEN, 1);
    for at in (500..next.len()).step_by(4_000) {
        next[at] ^= 0x5a;
    }
    next.splice(10_000..10_000, *b"10.0.26100.4000");
    next
}

/// Runs the workspace's `hpk` (built on first use, or `HPK_BIN`) in `dir`;
/// returns its standard output.
fn hpk(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(hpk_binary())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run hpk");
    assert!(
        output.status.success(),
        "hpk {} failed:\n{}",
        args.join(" "),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// `delta.hpk`: the next baseline, packed by `hpk pack --delta-from` as a
/// delta of `baseline.hpk` (its kernel changed: delta chunks; its HAL the
/// same: unchanged), signed by the release key. Its files are left in
/// `next/` for the agent to compare, and `no-bases/` is an empty folder.
/// `delta-catalog.hpkcat` (version 2) offers the next baseline in full
/// (`next-full.hpk`) and as `delta.hpk`, a delta of `baseline.hpk`.
/// Returns the full package's manifest digest.
fn make_delta(dir: &Path, next_ntoskrnl: &[u8]) -> String {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write("next/System32/ntoskrnl.exe", next_ntoskrnl);
    write("next/System32/hal.dll", &sample_data(HAL_LEN, 2));
    write("next.toml", NEXT_BASELINE.as_bytes());
    write("release.key", RELEASE_KEY_PEM.as_bytes());
    std::fs::create_dir(dir.join("no-bases")).unwrap();
    hpk(
        dir,
        &[
            "pack",
            "next.toml",
            "--out",
            "delta.hpk",
            "--delta-from",
            "baseline.hpk",
            "--key",
            "release.key",
            "--root",
            "root.hpkroot",
        ],
    );
    // What the agent relies on: both kinds of payload that need a base.
    let shown = hpk(dir, &["inspect", "delta.hpk", "--json"]);
    for compression in ["delta", "unchanged"] {
        assert!(
            shown.contains(&format!("\"compression\": \"{compression}\"")),
            "delta.hpk has no {compression} payload:\n{shown}"
        );
    }
    write("catalog.key", CATALOG_KEY_PEM.as_bytes());
    hpk(
        dir,
        &[
            "pack",
            "next.toml",
            "--out",
            "next-full.hpk",
            "--key",
            "release.key",
            "--root",
            "root.hpkroot",
        ],
    );
    let created = T0.to_string();
    let cat = "delta-catalog.hpkcat";
    hpk(
        dir,
        &[
            "catalog",
            "new",
            "--out",
            cat,
            "--version",
            "2",
            "--created",
            &created,
        ],
    );
    hpk(dir, &["catalog", "add", cat, "next-full.hpk"]);
    hpk(
        dir,
        &[
            "catalog",
            "add",
            cat,
            "delta.hpk",
            "--delta-of",
            "baseline.hpk",
            "--full",
            "next-full.hpk",
        ],
    );
    hpk(dir, &["catalog", "sign", cat, "--key", "catalog.key"]);
    let shown = hpk(dir, &["inspect", "next-full.hpk", "--json"]);
    let key = "\"manifest_digest\": \"";
    let at = shown.find(key).expect("inspect shows the manifest digest") + key.len();
    let full_digest = shown[at..at + 64].to_owned();
    // Only the agent's inputs stay.
    for name in ["release.key", "catalog.key", "next.toml"] {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    full_digest
}

/// Writes the agent's inputs into `dir` (see the head of agent.c).
fn make_fixtures(dir: &Path) -> Fixtures {
    let keys = Keys::standard();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    let root = standard_root(&keys);
    write("root.hpkroot", &root_file(&root, &[&keys.root]));
    let mut next = root.clone();
    next.version = 2;
    write("root-v2.hpkroot", &root_file(&next, &[&keys.root]));

    let baseline = PackageSpec::baseline("contoso-baseline")
        .version("10.0.26100.3000")
        .with_payload("System32/ntoskrnl.exe", sample_data(NTOSKRNL_LEN, 1))
        .with_payload("System32/hal.dll", sample_data(HAL_LEN, 2))
        .build();
    let baseline_file = baseline.file(&[&keys.release]);
    write("baseline.hpk", &baseline_file);

    // The same package with one payload byte changed: its head (and so
    // its size and manifest) is authentic, a chunk is not.
    let mut tampered = baseline_file.clone();
    let at = baseline.payload_offset(1) + 100;
    tampered[at] ^= 0x01;
    write("tampered.hpk", &tampered);

    let mut arm64 = PackageSpec::baseline("contoso-baseline-arm64")
        .version("10.0.26100.3000")
        .with_payload("System32/ntoskrnl.exe", sample_data(4_000, 3));
    arm64.manifest.targets.architectures = vec![tok("arm64")];
    let arm64 = arm64.build();
    let arm64_file = arm64.file(&[&keys.release]);
    write("arm64.hpk", &arm64_file);

    let catalog = Catalog {
        version: 1,
        created: T0,
        expires: T0 + 30 * DAY,
        entries: vec![
            catalog_entry(&baseline, &baseline_file, "baseline.hpk"),
            catalog_entry(&arm64, &arm64_file, "arm64.hpk"),
        ],
        extensions: Vec::new(),
    };
    write("catalog.hpkcat", &catalog_file(&catalog, &[&keys.catalog]));

    write(
        "device.toml",
        b"os = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\n",
    );
    let next_ntoskrnl = next_ntoskrnl();
    let next_full_digest = make_delta(dir, &next_ntoskrnl);
    Fixtures {
        baseline_digest: baseline.digest().to_hex(),
        next_full_digest,
        next_ntoskrnl,
    }
}

/// Whether `tool` runs; if not, skips (returns false) or, under CI, fails
/// saying what to install.
fn have(tool: &str, package: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let message = format!(
            "`{tool}` is not installed: install it (Debian: `apt-get install {package}`) to run the C ABI tests"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// The folder cargo built this crate's libraries into: this test runs
/// from `<target>/<profile>/deps/`, and the libraries are uplifted to
/// `<target>/<profile>/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>/deps/TEST")
        .to_path_buf()
}

/// The static library (self-contained: the agent runs without a library
/// path), wherever cargo left it. `deps/` first: that is where `cargo
/// test` builds it, and it does not refresh the copy in `<profile>/`,
/// which an earlier `cargo build` may have left stale.
fn static_library() -> PathBuf {
    let dir = profile_dir();
    [dir.join("deps/libhpk.a"), dir.join("libhpk.a")]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no libhpk.a in {} nor its deps/: is `staticlib` still in ffi/Cargo.toml's crate-type?",
                dir.display()
            )
        })
}

/// The system libraries Rust's standard library needs in a static link on
/// this platform (`rustc --print native-static-libs`).
const SYSTEM_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// Compiles agent.c once, with every warning an error.
fn agent() -> &'static Path {
    static AGENT: OnceLock<PathBuf> = OnceLock::new();
    AGENT.get_or_init(|| {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = profile_dir().join("hpk-ffi-agent");
        let output = Command::new("cc")
            .args([
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-g",
                "-I",
            ])
            .arg(crate_dir.join("include"))
            .arg(crate_dir.join("tests/c/agent.c"))
            .arg(static_library())
            .args(SYSTEM_LIBS)
            .arg("-o")
            .arg(&out)
            .output()
            .expect("run cc");
        assert!(
            output.status.success(),
            "cc failed to build tests/c/agent.c:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        out
    })
}

/// Runs the agent (under `wrapper`, if any) on fresh fixtures; returns its
/// output, the fixtures and their folder.
fn run_agent(wrapper: &[&str]) -> (Output, Fixtures, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = make_fixtures(dir.path());
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(agent());
            c
        }
        None => Command::new(agent()),
    };
    let output = command
        .arg(dir.path())
        .arg(NOW.to_string())
        .output()
        .expect("run the agent");
    (output, fixtures, dir)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_agent_in_c_verifies_plans_extracts_and_records() {
    if !have("cc", "gcc") {
        return;
    }
    let (output, fixtures, dir) = run_agent(&[]);
    let stdout = text(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the agent found unexpected outcomes (exit {:?}):\n{stdout}\n{}",
        output.status.code(),
        text(&output.stderr)
    );
    assert!(stdout.contains("agent: every outcome as expected"));
    assert!(!stdout.contains("FAIL"));
    let digest = &fixtures.baseline_digest;
    assert!(stdout.contains(&format!(
        "verified contoso-baseline 10.0.26100.3000 (baseline), manifest {digest}, 2 payloads"
    )));
    assert!(
        stdout
            .contains("ok   open a package for another architecture: policy [wrong-architecture]")
    );
    assert!(stdout.contains("ok   verify the tampered package at full depth: integrity"));
    // The delta package: it needs the device's files, and without them
    // (none given, an empty folder, other files) it is the policy failure
    // missing-base.
    assert!(stdout.contains("ok   the delta package needs bases: 1"));
    for what in [
        "verify it at full depth without bases",
        "extract it without a base folder",
        "extract it with an empty base folder",
        "extract it with other files as bases",
    ] {
        assert!(
            stdout.contains(&format!("ok   {what}: policy [missing-base]")),
            "{what}"
        );
    }
    assert!(stdout.contains("ok   give it a base folder once extracted: invalid-argument"));
    assert!(stdout.contains(
        "ok   record a delta package opened without its catalog entry: invalid-argument"
    ));
    // Planned from a catalog that offers it beside its full package, the
    // delta is the step; once installed, the device names the full one.
    let after_delta = stdout
        .split("--- device.toml after the delta")
        .nth(1)
        .expect("the agent printed the device after the delta");
    assert!(
        after_delta.contains(&format!(
            "installed_baseline = \"{}\"",
            fixtures.next_full_digest
        )),
        "{after_delta}"
    );
    assert!(stdout.contains("ok   record it as its full package: ok"));

    // The extraction, the device state it saved, and nothing half-done.
    let dir = dir.path();
    let staged = dir.join("staged/System32");
    assert_eq!(
        std::fs::read(staged.join("ntoskrnl.exe")).unwrap(),
        sample_data(NTOSKRNL_LEN, 1)
    );
    assert_eq!(
        std::fs::read(staged.join("hal.dll")).unwrap(),
        sample_data(HAL_LEN, 2)
    );
    assert!(!dir.join("staged-tampered").exists());
    // Rebuilt from the files in staged/, byte for byte; nothing of the
    // refused attempts.
    let rebuilt = dir.join("staged-delta/System32");
    assert_eq!(
        std::fs::read(rebuilt.join("ntoskrnl.exe")).unwrap(),
        fixtures.next_ntoskrnl
    );
    assert_eq!(
        std::fs::read(rebuilt.join("hal.dll")).unwrap(),
        sample_data(HAL_LEN, 2)
    );
    assert!(!dir.join("staged-delta-refused").exists());
    let device = std::fs::read_to_string(dir.join("device.toml")).unwrap();
    assert!(
        device.contains(&format!("installed_baseline = \"{digest}\"")),
        "{device}"
    );
    assert!(device.contains("catalog_version = 1"), "{device}");
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    assert!(!dir.join("missing").exists());
}

#[test]
fn the_agent_under_valgrind_has_no_memory_errors_nor_leaks() {
    if !have("cc", "gcc") || !have("valgrind", "valgrind") {
        return;
    }
    let (output, _, _dir) = run_agent(&[
        "valgrind",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=99",
    ]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    let summary: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.contains("ERROR SUMMARY")
                || l.contains("definitely lost")
                || l.contains("indirectly lost")
                || l.contains("possibly lost")
                || l.contains("still reachable")
                || l.contains("All heap blocks were freed")
                || l.contains("in use at exit")
        })
        .collect();
    println!("valgrind:\n{}", summary.join("\n"));
    assert!(
        output.status.success(),
        "under valgrind the agent exited with {:?} (99: valgrind found errors or leaks):\n{stderr}\n{stdout}",
        output.status.code()
    );
    assert!(
        stdout.contains("agent: every outcome as expected"),
        "{stdout}"
    );
    assert!(
        stderr.contains("ERROR SUMMARY: 0 errors"),
        "valgrind reported errors:\n{stderr}"
    );
}

/// The fenced blocks of `lang` in `text`, with the line each starts at.
fn fenced(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == format!("```{lang}") => {
                current = Some((n + 2, String::new()))
            }
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Compiles `source` (after `#include "hpk.h"`) with `compiler` and
/// `flags`, checking syntax and types against the committed header.
fn compiles(compiler: &str, flags: &[&str], source: &str, origin: &str) {
    use std::io::Write as _;
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let mut child = Command::new(compiler)
        .args(flags)
        .args([
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-I",
        ])
        .arg(include)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("#include \"hpk.h\"\n{source}").as_bytes())
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the example of {origin} does not compile against ffi/include/hpk.h:\n{}",
        text(&output.stderr)
    );
}

#[test]
fn the_c_and_cpp_examples_of_the_docs_compile() {
    if !have("cc", "gcc") || !have("c++", "g++") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("## Embedding in an agent")
        .expect("README.md has a section \"Embedding in an agent\"");
    let end = readme[start + 1..]
        .find("\n## ")
        .map_or(readme.len(), |i| start + 1 + i);
    let c_api = std::fs::read_to_string(root.join("docs/c-api.md")).unwrap();

    let readme_c = fenced(&readme[start..end], "c");
    let docs_c = fenced(&c_api, "c");
    let docs_cpp = fenced(&c_api, "cpp");
    assert_eq!(readme_c.len(), 1, "one C example in the README");
    assert_eq!(docs_c.len(), 2, "two C examples in docs/c-api.md");
    assert_eq!(docs_cpp.len(), 1, "one C++ example in docs/c-api.md");
    let offset = readme[..start].lines().count();
    for (line, source) in &readme_c {
        let origin = format!("README.md line {}", offset + line);
        compiles("cc", &["-std=c11", "-x", "c"], source, &origin);
    }
    for (line, source) in &docs_c {
        compiles(
            "cc",
            &["-std=c11", "-x", "c"],
            source,
            &format!("docs/c-api.md line {line}"),
        );
    }
    for (line, source) in &docs_cpp {
        compiles(
            "c++",
            &["-std=c++17", "-x", "c++"],
            source,
            &format!("docs/c-api.md line {line}"),
        );
    }
}
