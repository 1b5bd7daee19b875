//! `hpk fetch`: what an update agent runs to update from a repository
//! over HTTP(S): the trust-root chain, the catalog, the plan, and each
//! planned package, verified as it arrives and resumable (`spec/SPEC.md`,
//! "Repositories" and "Fetching").

use crate::commands::device::{profile_file, save};
use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::json;
use crate::ui::{Ui, human_bytes};
use hpk_fetch::{Downloaded, FetchError, Options, PlanEvent, Repository};
use hpk_format::Limits;
use hpk_verify::{PlanStatus, TrustedRoot, Verifier, write_atomically};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest `--ca-file` read (a bundle of every public root is about
/// 200 KiB).
const MAX_CA_FILE_LEN: u64 = 4 << 20;

/// Options of `hpk fetch`.
pub struct FetchArgs {
    /// Mirrors of the repository, tried in order.
    pub mirrors: Vec<String>,
    /// The device's trust root: read, and replaced by the newest root of
    /// the chain.
    pub root: PathBuf,
    /// The device profile: read, and updated with the accepted catalog.
    pub device: PathBuf,
    /// Folder for the packages.
    pub out: PathBuf,
    /// Judge time at this instant.
    pub now: Option<u64>,
    /// Longest silence from a mirror, in seconds.
    pub timeout: u64,
    /// Slowest acceptable body, in bytes per second.
    pub min_rate: u64,
    /// The device's files, to rebuild chunks from instead of fetching them.
    pub seed: Option<PathBuf>,
    /// The zstd level to rebuild compressed chunks at.
    pub seed_level: i32,
    /// PEM certificates of the authorities to trust for https mirrors.
    pub ca_file: Option<PathBuf>,
    /// JSON output.
    pub json: bool,
}

/// Runs `hpk fetch`.
pub fn fetch(args: &FetchArgs, ui: &Ui) -> CliResult {
    let command = "fetch";
    let device_file = profile_file(&args.device, command)?;
    let root_file = inputs::file_to_rewrite(&args.root, command, "the trust root", "--root FILE")?;
    let before = inputs::device(&args.device)?;
    let clock = inputs::clock(args.now, Some(&before));
    let limits = Limits::default();
    let pinned_bytes = inputs::read_capped(&args.root, limits.max_document_len(), "trust root")?;
    let pinned = TrustedRoot::load_untimed(pinned_bytes.as_slice(), &limits)
        .map_err(|e| inputs::root_error(&args.root, &e))?;
    // One patience for both: silence, and the span the rate is
    // measured over.
    let patience = Duration::from_secs(args.timeout.max(1));
    let ca_certificates = match &args.ca_file {
        Some(path) => Some(inputs::read_capped(path, MAX_CA_FILE_LEN, "CA file")?),
        None => None,
    };
    let options = Options {
        read_timeout: patience,
        min_rate: args.min_rate,
        rate_window: patience,
        ca_certificates,
        ..Options::default()
    };
    // A mirror that is not an http(s) URL, or a CA file without a
    // certificate, is a bad argument.
    let repo = Repository::new(&args.mirrors, options).map_err(|e| match e {
        FetchError::Certificates(_) => CliError::usage(format!(
            "--ca-file {}: {e}",
            args.ca_file.as_deref().unwrap_or(Path::new("")).display()
        ))
        .hint("give a PEM file of the certificate authorities' certificates"),
        _ => CliError::usage(e.to_string())
            .hint("give each mirror as a base URL: https://updates.example/x64/"),
    })?;
    let repo = match &args.seed {
        Some(dir) if !dir.is_dir() => {
            return Err(
                CliError::usage(format!("--seed {}: not a folder", dir.display()))
                    .hint("give the folder of the device's installed files, by payload name"),
            );
        }
        Some(dir) => repo.with_seeds(dir, args.seed_level),
        None => repo,
    };

    // 1. The trust-root chain; the newest root replaces the device's.
    let roots = repo
        .update_root(pinned, &limits, clock)
        .map_err(|e| fetch_error(&e))?;
    if let Some((version, bytes)) = roots.accepted.last() {
        write_atomically(&root_file, bytes).map_err(|e| CliError::io(&args.root, &e))?;
        ui.note(format!(
            "trust root: now version {version} ({})",
            args.root.display()
        ));
    }
    let verifier = Verifier::new(roots.root).clock(clock);

    // 2. The catalog, recorded in the device profile once accepted.
    let fetched = repo
        .catalog(&verifier, &before, &limits)
        .map_err(|e| fetch_error(&e))?;
    for failure in &fetched.failures {
        ui.note(format!("skipped a mirror: {failure}"));
    }
    let mut after = before.clone();
    after.record_catalog(&fetched.catalog);
    save(&device_file, &args.device, &before, &after)?;

    // 3. The plan, and each package it names.
    let plan = verifier.plan(&fetched.catalog, &before);
    if !plan.steps.is_empty() {
        std::fs::create_dir_all(&args.out).map_err(|e| CliError::io(&args.out, &e))?;
    }
    // One progress bar per package, made when its first byte is counted.
    let mut bar: Option<crate::ui::Progress> = None;
    let result = repo.download_plan(
        &verifier,
        &before,
        &plan,
        &args.out,
        &mut |event| match event {
            PlanEvent::Progress { entry, done, total } => {
                let bar = bar.get_or_insert_with(|| {
                    ui.progress(&format!("fetching {} {}", entry.name, entry.version), total)
                });
                bar.set(done);
            }
            PlanEvent::Done { entry, downloaded } => {
                if let Some(b) = bar.take() {
                    b.finish();
                }
                for failure in &downloaded.skipped {
                    ui.note(format!("skipped a mirror: {failure}"));
                }
                if !args.json {
                    outln!("{}", describe(entry, downloaded));
                }
            }
        },
    );
    if let Some(b) = bar {
        b.finish();
    }
    let downloaded = result.map_err(|e| fetch_error(&e))?;
    if args.json {
        json::print(&json!({
            "schema": "hpk-fetch/1",
            "mirrors": repo.mirrors(),
            "root": {
                "version": verifier.root().root().version,
                "accepted": roots.accepted.iter().map(|(v, _)| v).collect::<Vec<_>>(),
            },
            "catalog": {
                "version": fetched.catalog.version,
                "mirror": fetched.mirror,
                "skipped_mirrors": fetched.failures.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            },
            "plan": json::plan(&plan, &fetched.mirror, fetched.catalog.version),
            "packages": plan.steps.iter().zip(&downloaded).map(|(step, got)| json!({
                "name": step.entry.name.to_string(),
                "version": step.entry.version.to_string(),
                "manifest_digest": step.entry.manifest_digest.to_hex(),
                "path": got.path.display().to_string(),
                "size": got.size,
                "kept": got.kept,
                "received": got.received,
                "rebuilt": got.rebuilt,
                "mirrors": got.mirrors,
                "skipped_mirrors": got.skipped.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    if plan.steps.is_empty() {
        outln!(
            "nothing to fetch: {} (catalog version {})",
            match plan.status {
                PlanStatus::UpToDate => "the device is up to date",
                PlanStatus::Update => "no step",
                PlanStatus::NotEligible => "no package in the catalog applies to this device",
            },
            fetched.catalog.version
        );
    }
    Ok(())
}

/// One line about a fetched package.
fn describe(entry: &hpk_format::CatalogEntry, got: &Downloaded) -> String {
    let mut how = if got.received == 0 && got.rebuilt == 0 && got.kept == got.size {
        "already there".to_owned()
    } else if got.kept > 0 {
        format!(
            "resumed: {} kept, {} received",
            human_bytes(got.kept),
            human_bytes(got.received)
        )
    } else {
        format!("{} received", human_bytes(got.received))
    };
    if got.rebuilt > 0 {
        how.push_str(&format!(
            ", {} rebuilt from seeds",
            human_bytes(got.rebuilt)
        ));
    }
    format!(
        "fetched {} {} -> {} ({}, {how})",
        entry.name,
        entry.version,
        got.path.display(),
        human_bytes(got.size)
    )
}

fn fetch_error(e: &FetchError) -> CliError {
    let class = e.class();
    let error = CliError::new(Failure::of_class(class), e.to_string()).with_class(class);
    match e {
        FetchError::Mirrors { .. } => {
            error.hint("check the repository URLs and the network; a rerun resumes where this one stopped")
        }
        FetchError::Root { .. } => error.hint(
            "the repository serves a trust root that does not follow the device's: nothing after it was fetched",
        ),
        FetchError::Catalog { .. } => error,
        _ => error,
    }
}
