//! `hpk pack`: build an unsigned package from a description.

use crate::exit::{CliError, CliResult, Failure};
use crate::ui::Ui;
use hpk_sign::{BuildError, BuildOptions, PackageDescription, build_package, source_date_epoch};
use std::path::Path;

/// Runs `hpk pack`.
pub fn pack(description: &Path, out: &Path, threads: usize, ui: Ui) -> CliResult {
    let desc = PackageDescription::load(description)
        .map_err(|e| CliError::usage(format!("{}: {e}", description.display())))?;
    let base = description
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let epoch = source_date_epoch().map_err(|e| CliError::usage(e.to_string()))?;
    let total: u64 = desc
        .payloads()
        .iter()
        .filter_map(|p| std::fs::metadata(base.join(&p.file)).ok())
        .map(|m| m.len())
        .sum();
    let progress = ui.progress("packing", total);
    let mut report = |p: hpk_sign::BuildProgress| progress.set(p.done);
    let mut options = BuildOptions {
        threads,
        source_date_epoch: epoch,
        progress: Some(&mut report),
        ..BuildOptions::default()
    };
    let result = build_package(&desc, base, out, &mut options);
    progress.finish();
    let built = result.map_err(|e| {
        let failure = match &e {
            BuildError::Description(_) | BuildError::SourceDateEpoch { .. } => Failure::Usage,
            BuildError::PayloadRead { .. }
            | BuildError::Spool { .. }
            | BuildError::Output { .. } => Failure::Io,
            _ => Failure::Invalid,
        };
        CliError::new(failure, format!("{}: {e}", description.display()))
    })?;
    println!("{}", built.manifest_digest);
    ui.note(format!(
        "wrote {} ({} {} {}, {} bytes, unsigned): sign it with `hpk sign {} --key KEY`",
        built.path.display(),
        built.manifest.kind.name(),
        built.manifest.name,
        built.manifest.version,
        built.size,
        built.path.display()
    ));
    Ok(())
}
