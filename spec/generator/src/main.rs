//! `hpk-vectors`: writes the hpk conformance test vectors, or checks them.
//!
//! ```text
//! cargo run -p hpk-vectors -- spec/vectors          # (re)write the vectors
//! cargo run -p hpk-vectors -- --check spec/vectors  # compare, exit 1 on any difference
//! ```
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: hpk-vectors [--check] DIR\n\
  DIR        the vectors folder, normally spec/vectors\n\
  --check    regenerate in memory and compare byte for byte; exit 1 on any difference";

fn main() -> ExitCode {
    let mut check = false;
    let mut dir: Option<PathBuf> = None;
    for arg in std::env::args_os().skip(1) {
        if arg == "--check" {
            check = true;
        } else if arg == "--help" || arg == "-h" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        } else if dir.is_none() {
            dir = Some(PathBuf::from(arg));
        } else {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let Some(dir) = dir else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if check {
        match hpk_vectors::check(&dir) {
            Ok(n) => {
                println!("{}: {n} files up to date", dir.display());
                ExitCode::SUCCESS
            }
            Err(diffs) => {
                for d in &diffs {
                    eprintln!("{d}");
                }
                eprintln!(
                    "{}: {} difference(s); run `cargo run -p hpk-vectors -- {}`",
                    dir.display(),
                    diffs.len(),
                    dir.display()
                );
                ExitCode::FAILURE
            }
        }
    } else {
        match hpk_vectors::write(&dir) {
            Ok((changed, total)) => {
                for c in &changed {
                    println!("{c}");
                }
                println!(
                    "{}: {} file(s) changed, {} generated",
                    dir.display(),
                    changed.len(),
                    total
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", dir.display());
                ExitCode::FAILURE
            }
        }
    }
}
