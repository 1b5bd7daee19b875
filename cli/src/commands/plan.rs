//! `hpk plan` and `hpk catalog verify`: what an update agent runs to decide
//! what to install.

use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::json;
use hpk_format::{Catalog, Digest, ErrorClass};
use hpk_verify::{CatalogError, PlanStatus, Verified, Verifier};
use serde_json::json;
use std::path::Path;

pub(crate) fn load_catalog(
    path: &Path,
    verifier: &Verifier,
    last_seen: u64,
) -> CliResult<Verified<Catalog>> {
    // Opened once (`-`: standard input) and read through its bound.
    let input = inputs::open(path)?;
    verifier
        .catalog_above(input, last_seen)
        .map_err(|e| catalog_error(path, &e))
}

/// A catalog that does not verify, as an error about `path`.
pub(crate) fn catalog_error(path: &Path, e: &CatalogError) -> CliError {
    let failure = match e.class() {
        ErrorClass::Io => Failure::Io,
        _ => Failure::Invalid,
    };
    let at = inputs::format_time;
    let (message, hint) = match e {
        CatalogError::Signature(_) => (
            format!("{}: {e}", path.display()),
            Some(
                "catalogs are signed by catalog-role keys: `hpk catalog sign CATALOG --key CATALOG_KEY`",
            ),
        ),
        CatalogError::Expired {
            version,
            expires,
            at: now,
        } => (
            format!(
                "{}: catalog version {version} expired at {} (judged at {})",
                path.display(),
                at(*expires),
                at(*now)
            ),
            Some(
                "fetch a fresh catalog (publishers re-sign it with `hpk catalog add` and `hpk catalog sign`)",
            ),
        ),
        CatalogError::NotYetValid {
            version, created, ..
        } => (
            format!(
                "{}: catalog version {version} was created at {}, in the future",
                path.display(),
                at(*created)
            ),
            Some("check the clock, or pass --now"),
        ),
        CatalogError::Version(_) => (
            format!("{}: {e}", path.display()),
            Some("a replayed or stale catalog: fetch the current one"),
        ),
        CatalogError::Container(hpk_format::ContainerError::WrongFileType { .. }) => (
            format!("{}: {e}", path.display()),
            Some("give a catalog file here (made by `hpk catalog new`), e.g. catalog.hpkcat"),
        ),
        _ => (format!("{}: {e}", path.display()), None),
    };
    let err = CliError::new(failure, message)
        .with_class(e.class())
        .with_reason(e.reason().map(|r| r.as_str()))
        .caused_by(e);
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// Runs `hpk catalog verify`. `last_seen` holds only while the root's
/// catalog role is `last_seen_role` (when given): a new catalog role
/// resets it to 0.
pub fn catalog_verify(
    catalog: &Path,
    root: &Path,
    last_seen: u64,
    last_seen_role: Option<Digest>,
    now: Option<u64>,
    as_json: bool,
) -> CliResult {
    let clock = inputs::clock(now, None);
    let root = inputs::trust_root(root, clock)?;
    let floor = root.catalog_floor(last_seen, last_seen_role);
    let verifier = Verifier::new(root).clock(clock);
    let verified = load_catalog(catalog, &verifier, floor)?;
    let c = &verified;
    if as_json {
        json::print(&json!({
            "schema": "hpk-catalog/1",
            "file": catalog.display().to_string(),
            "version": c.version,
            "created": c.created,
            "expires": c.expires,
            "digest": verified.digest().to_hex(),
            "catalog_role": verified.role_digest().to_hex(),
            "entries": c.entries.iter().map(json::entry).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    outln!(
        "OK: catalog version {} with {} entr{}, expires {}",
        c.version,
        c.entries.len(),
        if c.entries.len() == 1 { "y" } else { "ies" },
        inputs::format_time(c.expires)
    );
    for e in &c.entries {
        outln!(
            "  {} {} ({}) {} bytes at {}",
            e.name,
            e.version,
            e.kind.name(),
            e.size,
            e.location
        );
    }
    Ok(())
}

/// Runs `hpk plan`.
pub fn plan(
    catalog: &Path,
    root: &Path,
    device: &Path,
    now: Option<u64>,
    as_json: bool,
) -> CliResult {
    let device = inputs::device(device)?;
    let clock = inputs::clock(now, Some(&device));
    let root = inputs::trust_root(root, clock)?;
    // The floor holds only under the catalog role it was recorded with.
    let verifier = Verifier::new(root).clock(clock);
    let input = inputs::open(catalog)?;
    let verified = verifier
        .catalog(input, &device)
        .map_err(|e| catalog_error(catalog, &e))?;
    let plan = verifier.plan(&verified, &device);
    if as_json {
        let mut doc = json::plan(&plan, &catalog.display().to_string(), verified.version);
        if let serde_json::Value::Object(map) = &mut doc {
            map.insert(
                "catalog_role".to_owned(),
                verified.role_digest().to_hex().into(),
            );
        }
        json::print(&doc);
        return Ok(());
    }
    match plan.status {
        PlanStatus::UpToDate => outln!("up to date ({} track)", plan.track.as_str()),
        PlanStatus::NotEligible => outln!(
            "nothing in catalog version {} applies to this device",
            verified.version
        ),
        PlanStatus::Update => {
            outln!("plan ({} track):", plan.track.as_str());
            for (i, s) in plan.steps.iter().enumerate() {
                outln!(
                    "  {}. install {} {} {} ({}) from {}",
                    i + 1,
                    s.entry.kind.name(),
                    s.entry.name,
                    s.entry.version,
                    if s.restart { "restart" } else { "no restart" },
                    s.entry.location
                );
            }
        }
    }
    for s in &plan.skipped {
        outln!(
            "  skipped {} {}: {} ({})",
            s.entry.name,
            s.entry.version,
            s.reason,
            s.detail
        );
    }
    Ok(())
}
