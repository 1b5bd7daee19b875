//! Fuzz regressions: every input saved under `fuzz/regressions/<target>/`
//! is replayed through the very code of that fuzz target
//! (`fuzz/src/targets.rs`, compiled in here), so a crash found once is
//! tested forever, without cargo-fuzz. The seeds the fuzzer starts from are
//! run too, and must stay valid inputs (packages that verify, roots that
//! load), or fuzzing would silently stop reaching the code behind them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The fuzz crate's shared code, not all of which these tests call.
#![allow(dead_code)]

#[path = "../../fuzz/src/targets.rs"]
mod targets;

#[path = "../../fuzz/src/seeds.rs"]
mod seeds;

use hpk_format::{Catalog, FileType, decode};
use hpk_tests::verify::MemorySink;
use hpk_verify::{Depth, TrustedRoot};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions")
}

/// Every regular file under `dir`, skipping dot files (`.gitkeep`) and
/// READMEs, sorted.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|list| {
            list.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    !name.starts_with('.') && !name.starts_with("README")
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Runs `data` through `target`, returning the panic message if it panics.
fn replay(target: fn(&[u8]), data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| target(data))).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "(non-text panic)".to_owned())
    })
}

#[test]
fn every_regression_input_passes() {
    let dir = regressions_dir();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|list| {
            list.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    folders.sort();
    let mut count = 0usize;
    let mut failures = Vec::new();
    for folder in folders {
        let name = folder
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some(target) = targets::target(&name) else {
            failures.push(format!(
                "{}: no fuzz target is called {name:?}",
                folder.display()
            ));
            continue;
        };
        for path in inputs(&folder) {
            let data = std::fs::read(&path).expect("read regression input");
            count += 1;
            if let Err(message) = replay(target, &data) {
                failures.push(format!("{name}/{}: {message}", path.display()));
            }
        }
    }
    if count == 0 {
        println!(
            "no fuzz regression inputs under {} (nothing to replay)",
            dir.display()
        );
    } else {
        println!("replayed {count} fuzz regression input(s)");
    }
    assert!(
        failures.is_empty(),
        "fuzz regressions fail ({count} input(s) replayed):\n{}",
        failures.join("\n")
    );
}

#[test]
fn replay_reports_a_panicking_input() {
    // The harness above must catch what a target reports.
    fn broken(data: &[u8]) {
        assert!(data.is_empty(), "input is not empty");
    }
    assert_eq!(replay(broken, b""), Ok(()));
    assert_eq!(replay(broken, b"x"), Err("input is not empty".to_owned()));
}

#[test]
fn every_target_has_seeds_and_seeds_pass() {
    // With the conformance vectors too, when they are there.
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    let all = seeds::seeds(Some(&vectors));
    for (name, target) in targets::TARGETS {
        let mine: Vec<_> = all.iter().filter(|s| s.target == *name).collect();
        assert!(!mine.is_empty(), "no seed for target {name}");
        for seed in mine {
            if let Err(message) = replay(*target, &seed.data) {
                panic!("seed {name}/{} fails: {message}", seed.name);
            }
        }
    }
}

#[test]
fn seeds_are_valid_inputs() {
    let f = targets::fixture();
    let all = seeds::seeds(None);
    let of = |target: &'static str| all.iter().filter(move |s| s.target == target);
    for seed in of("package") {
        let package = f
            .payload_verifier
            .package(&seed.data[..])
            .and_then(|p| Ok(p.judge_without_device()?))
            .unwrap_or_else(|e| panic!("package seed {} does not open: {e}", seed.name));
        package
            .verify(Depth::Stored)
            .unwrap_or_else(|e| panic!("package seed {} does not verify: {e}", seed.name));
    }
    for target in ["package_signed", "extract"] {
        for seed in of(target).filter(|s| s.name != "bomb") {
            let (limits, verifier) = if target == "extract" {
                (&f.small_limits, &f.small_payload_verifier)
            } else {
                (&f.limits, &f.payload_verifier)
            };
            let file = targets::signed_package(&seed.data, limits)
                .unwrap_or_else(|| panic!("{target} seed {} builds no file", seed.name));
            let package = verifier
                .package(&file[..])
                .and_then(|p| Ok(p.judge_without_device()?))
                .unwrap_or_else(|e| panic!("{target} seed {} does not open: {e}", seed.name));
            package
                .stream(&mut MemorySink::default(), &mut |_| {})
                .unwrap_or_else(|e| panic!("{target} seed {} does not stream: {e}", seed.name));
        }
    }
    for seed in of("trust_root").filter(|s| s.name.ends_with(".hpkroot")) {
        TrustedRoot::load(&seed.data, f.clock, &f.limits)
            .unwrap_or_else(|e| panic!("trust root seed {} does not load: {e}", seed.name));
    }
    let v2 = of("trust_root")
        .find(|s| s.name == "v2.body")
        .expect("a version 2 root body");
    let file = hpk_tests::signed_file(
        FileType::TrustRoot,
        &v2.data,
        &[f.keys.root.record(FileType::TrustRoot, &v2.data)],
    );
    f.root
        .update(&file, &f.limits)
        .expect("the version 2 seed rotates from the fixture root");
    for seed in of("catalog") {
        if seed.name.ends_with(".body") {
            decode::<Catalog>(&seed.data, &f.limits).expect("catalog seed body decodes");
        } else {
            f.online_verifier
                .catalog_above(&seed.data[..], 0)
                .unwrap_or_else(|e| panic!("catalog seed {} does not verify: {e}", seed.name));
        }
    }
}
