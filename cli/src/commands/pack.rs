//! `hpk pack`: build a package from a description, unsigned or signed as
//! it is written.

use crate::commands::sign::{SignerArgs, signer, signing_error};
use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::ui::Ui;
use hpk_sign::{
    BuildError, BuildOptions, DescriptionError, PackageDescription, build_package,
    source_date_epoch,
};
use std::path::Path;

/// A description that cannot be used, as an error about its file: the
/// parser's multi-line report is cut to `FILE:LINE:COLUMN: what`.
fn description_error(path: &Path, e: &DescriptionError) -> CliError {
    let hint = "the format is in docs/package-description.md";
    match e {
        DescriptionError::Read { source, .. } => CliError::io(path, source),
        DescriptionError::TooLarge { .. } => CliError::usage(format!("{}: {e}", path.display()))
            .with_class(hpk_format::ErrorClass::Limit)
            .hint(hint),
        DescriptionError::PayloadFile { .. } => {
            CliError::new(Failure::Io, format!("{}: {e}", path.display()))
                .hint("payload files are found relative to the description's folder")
        }
        DescriptionError::Syntax { message } => {
            let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or_default();
            let what = lines.next_back().unwrap_or(first);
            let at = first
                .strip_prefix("TOML parse error at line ")
                .and_then(|rest| rest.split_once(", column "))
                .map(|(line, col)| format!(":{line}:{col}"));
            match at {
                Some(at) => CliError::usage(format!("{}{at}: {what}", path.display())),
                None => CliError::usage(format!("{}: {message}", path.display())),
            }
            .hint(hint)
        }
        _ => CliError::usage(format!("{}: {e}", path.display())).hint(hint),
    }
}

/// An output that exists, as an error.
fn exists(out: &Path) -> CliError {
    CliError::usage(format!("{} exists", out.display()))
        .hint("pass --force to overwrite it, or write to another file")
}

/// How `hpk pack` runs.
pub struct PackOptions<'a> {
    /// Compression threads (0: one per core).
    pub threads: usize,
    /// Replace an existing package.
    pub force: bool,
    /// Refuse target tokens that are not well known.
    pub strict: bool,
    /// Who signs as the package is written, if anyone.
    pub signer: &'a SignerArgs,
    /// With a signer: the trust root whose role the key must be in.
    pub root: Option<&'a Path>,
    /// The earlier package to build a delta of.
    pub delta_from: Option<&'a Path>,
}

/// Runs `hpk pack`: refuses to replace an existing `out` unless `force`;
/// warns of target tokens that are not well known, and with `strict`
/// refuses them; with a signer, signs the package as it writes it.
pub fn pack(description: &Path, out: &Path, opts: PackOptions<'_>, ui: Ui) -> CliResult {
    let PackOptions {
        threads,
        force,
        strict,
        signer: signer_args,
        root,
        delta_from,
    } = opts;
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(exists(out));
    }
    if root.is_some() && !signer_args.given() {
        return Err(CliError::usage("--root needs a signer")
            .hint("give --key, --pkcs11 or --signer-cmd, or leave out --root"));
    }
    let trusted = match root {
        Some(r) => Some(inputs::trust_root(r, inputs::clock(None, None))?),
        None => None,
    };
    let signer = if signer_args.given() {
        Some(signer(signer_args)?)
    } else {
        None
    };
    let desc =
        PackageDescription::load(description).map_err(|e| description_error(description, &e))?;
    let delta_from = match delta_from {
        Some(path) => Some(
            hpk_sign::DeltaFrom::open(path, &hpk_format::Limits::default()).map_err(|e| {
                CliError::new(Failure::Usage, e.to_string())
                    .hint("--delta-from takes an earlier package (.hpk) built by hpk pack")
            })?,
        ),
        None => None,
    };
    let base = description
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let epoch = source_date_epoch().map_err(|e| CliError::usage(e.to_string()))?;
    let unknown = desc.unknown_tokens();
    for u in &unknown {
        errln!("hpk: {}: {u}", if strict { "error" } else { "warning" });
    }
    if strict && !unknown.is_empty() {
        return Err(CliError::usage(format!(
            "{}: {} target token(s) are not well known (--strict)",
            description.display(),
            unknown.len()
        ))
        .hint("use the registry's spelling (spec/SPEC.md, \"Well-known tokens\"), or drop --strict for a token devices really report"));
    }
    // The bar is drawn once the builder knows the total: folder trees are
    // read first.
    let mut progress = None;
    let mut report = |p: hpk_sign::BuildProgress| {
        progress
            .get_or_insert_with(|| ui.progress("packing", p.total))
            .set(p.done)
    };
    let signers: Vec<&dyn hpk_sign::Signer> = signer.iter().map(|s| s.as_ref()).collect();
    let mut options = BuildOptions {
        threads,
        source_date_epoch: epoch,
        progress: Some(&mut report),
        overwrite: force,
        signers: &signers,
        root: trusted.as_ref(),
        delta_from: delta_from.as_ref(),
        ..BuildOptions::default()
    };
    let result = build_package(&desc, base, out, &mut options);
    if let Some(progress) = progress {
        progress.finish();
    }
    let built = result.map_err(|e| {
        let failure = match &e {
            BuildError::Description(d) => return description_error(description, d),
            BuildError::Exists { path } => return exists(path),
            BuildError::Sign(e) => return signing_error(e),
            BuildError::SourceDateEpoch { .. } => Failure::Usage,
            BuildError::PayloadRead { .. } | BuildError::Output { .. } => Failure::Io,
            _ => Failure::Invalid,
        };
        CliError::new(failure, format!("{}: {e}", description.display())).caused_by(&e)
    })?;
    outln!("{}", built.manifest_digest);
    // Skipped entries are always reported (warnings are not notes): a
    // tree that lost files should never go unnoticed.
    for skipped in &built.skipped {
        errln!(
            "hpk: warning: left out {}: {}",
            skipped.path.display(),
            skipped.reason
        );
    }
    let m = &built.manifest;
    let what = format!(
        "{} ({} {} {}, {} payload(s), {} link(s), {} empty folder(s), {} bytes",
        built.path.display(),
        m.kind.name(),
        m.name,
        m.version,
        m.payloads.len(),
        m.links.len(),
        m.folders.len(),
        built.size,
    );
    match &signer {
        Some(signer) => ui.note(format!(
            "wrote {what}, signed with key {})",
            signer.public_key().key_id()
        )),
        None => ui.note(format!(
            "wrote {what}, unsigned): sign it with `hpk sign {} --key KEY`",
            built.path.display()
        )),
    }
    Ok(())
}
