//! Writes the seed corpora: `seeds OUT_DIR [VECTORS_DIR]` writes each seed
//! to `OUT_DIR/<target>/seed-<name>`.

// Linked for the coverage hooks that the instrumented build calls.
use libfuzzer_sys as _;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: seeds OUT_DIR [VECTORS_DIR]");
        return ExitCode::from(2);
    };
    let vectors = args.next().map(PathBuf::from);
    let seeds = hpk_fuzz::seeds::seeds(vectors.as_deref());
    for seed in &seeds {
        let dir = out.join(seed.target);
        let path = dir.join(format!("seed-{}", seed.name));
        if let Err(e) =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &seed.data))
        {
            eprintln!("seeds: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("seeds: wrote {} seeds under {}", seeds.len(), out.display());
    ExitCode::SUCCESS
}
