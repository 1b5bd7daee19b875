//! `hpk plan` and `hpk catalog verify`: what an update agent runs to decide
//! what to install.

use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::json;
use hpk_format::Limits;
use hpk_verify::{
    CatalogError, Clock, PlanStatus, TrustedRoot, VerifiedCatalog, resolve, verify_catalog,
};
use serde_json::json;
use std::path::Path;

fn load_catalog(
    path: &Path,
    root: &TrustedRoot,
    clock: Clock,
    last_seen: u64,
) -> CliResult<VerifiedCatalog> {
    let bytes = inputs::read(path)?;
    verify_catalog(&bytes, root, clock, last_seen, &Limits::default()).map_err(|e| {
        let err = CliError::new(
            match e.class() {
                hpk_format::ErrorClass::Io => Failure::Io,
                _ => Failure::Invalid,
            },
            format!("{}: {e}", path.display()),
        );
        match e {
            CatalogError::Signature(_) => err.hint("catalogs are signed by catalog-role keys: `hpk catalog sign CAT --key CATALOG_KEY`"),
            _ => err,
        }
    })
}

/// Runs `hpk catalog verify`.
pub fn catalog_verify(
    catalog: &Path,
    root: &Path,
    last_seen: u64,
    now: Option<u64>,
    as_json: bool,
) -> CliResult {
    let clock = inputs::clock(now, None);
    let root = inputs::trust_root(root, clock)?;
    let verified = load_catalog(catalog, &root, clock, last_seen)?;
    let c = verified.catalog();
    if as_json {
        json::print(&json!({
            "schema": "hpk-catalog/1",
            "file": catalog.display().to_string(),
            "version": c.version,
            "created": c.created,
            "expires": c.expires,
            "digest": verified.digest().to_hex(),
            "entries": c.entries.iter().map(json::entry).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!(
        "OK: catalog version {} with {} entr{}, expires {}",
        c.version,
        c.entries.len(),
        if c.entries.len() == 1 { "y" } else { "ies" },
        c.expires
    );
    for e in &c.entries {
        println!(
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
    let verified = load_catalog(catalog, &root, clock, device.catalog_version)?;
    let plan = resolve(&verified, &device, clock);
    if as_json {
        json::print(&json::plan(&plan, verified.catalog().version));
        return Ok(());
    }
    match plan.status {
        PlanStatus::UpToDate => println!("up to date ({} track)", plan.track.as_str()),
        PlanStatus::NotEligible => println!(
            "nothing in catalog version {} applies to this device",
            verified.catalog().version
        ),
        PlanStatus::Update => {
            println!("plan ({} track):", plan.track.as_str());
            for (i, s) in plan.steps.iter().enumerate() {
                println!(
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
        println!(
            "  skipped {} {}: {} ({})",
            s.entry.name, s.entry.version, s.reason, s.detail
        );
    }
    Ok(())
}
