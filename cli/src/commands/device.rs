//! `hpk device record-install` and `hpk device record-catalog`: what an
//! update agent runs to keep its device profile current once the platform
//! installed a package or the agent accepted a catalog (`spec/SPEC.md`,
//! "Keeping the device state"). Every check comes first; the profile is
//! then written atomically, or left as it was.

use crate::commands::check::{not_applicable_error, verify_error};
use crate::commands::plan::load_catalog;
use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::json;
use clap::Subcommand;
use hpk_format::{Digest, ErrorClass, Manifest, PackageKind};
use hpk_verify::{Depth, DeviceError, DeviceProfile, Reason, Verified, Verifier};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The `hpk device` subcommands.
#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Record a package the platform installed in the device profile
    /// (installed baseline, hotpatch sequence, security floor, revocations).
    #[command(
        after_help = "Example:\n  hpk device record-install baseline.hpk --root root.hpkroot --device device.toml\n  hpk device record-install q2-delta.hpk --root root.hpkroot --device device.toml \\\n    --catalog catalog.hpkcat --json\n\nRun it once the package is installed. The package is checked as\n`hpk verify --header-only --device` checks it: one the device policy refuses is not\nrecorded (exit 3). A delta package is recorded as the full package its catalog\nentry names, so it needs --catalog. The device profile is rewritten atomically,\nand left as it was on any failure."
    )]
    RecordInstall {
        /// The package that was installed (`-`: standard input).
        package: PathBuf,
        /// The trust root.
        #[arg(long, short)]
        root: PathBuf,
        /// The device profile to update: a regular file, rewritten in place.
        #[arg(long, short)]
        device: PathBuf,
        /// The catalog the package was planned from: needed for a delta package, which is
        /// recorded as the full package its entry names (`-`: standard input).
        #[arg(long, short)]
        catalog: Option<PathBuf>,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-device-record-install/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Record an accepted catalog in the device profile (its version becomes the
    /// rollback floor).
    #[command(
        after_help = "Example:\n  hpk device record-catalog catalog.hpkcat --root root.hpkroot --device device.toml\n  hpk device record-catalog catalog.hpkcat --root root.hpkroot --device device.toml --json\n\nThe catalog is checked as `hpk plan` does (not older than the device's floor).\nThe device profile is rewritten atomically, and left as it was on any failure."
    )]
    RecordCatalog {
        /// The catalog (`-`: standard input).
        catalog: PathBuf,
        /// The trust root.
        #[arg(long, short)]
        root: PathBuf,
        /// The device profile to update: a regular file, rewritten in place.
        #[arg(long, short)]
        device: PathBuf,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-device-record-catalog/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
}

impl DeviceCommand {
    /// Whether the command was asked for JSON output.
    pub fn wants_json(&self) -> bool {
        match self {
            DeviceCommand::RecordInstall { json, .. }
            | DeviceCommand::RecordCatalog { json, .. } => *json,
        }
    }
}

/// Runs an `hpk device` subcommand.
pub fn run(cmd: DeviceCommand) -> CliResult {
    match cmd {
        DeviceCommand::RecordInstall {
            package,
            root,
            device,
            catalog,
            time,
            json,
        } => record_install(&RecordInstallArgs {
            package,
            root,
            device,
            catalog,
            now: time.now,
            json,
        }),
        DeviceCommand::RecordCatalog {
            catalog,
            root,
            device,
            time,
            json,
        } => record_catalog(&catalog, &root, &device, time.now, json),
    }
}

/// Options of `hpk device record-install`.
pub struct RecordInstallArgs {
    /// The installed package.
    pub package: PathBuf,
    /// The trust root.
    pub root: PathBuf,
    /// The device profile to update.
    pub device: PathBuf,
    /// The catalog the package was planned from.
    pub catalog: Option<PathBuf>,
    /// Judge time at this instant.
    pub now: Option<u64>,
    /// JSON output.
    pub json: bool,
}

/// Runs `hpk device record-install`.
pub fn record_install(args: &RecordInstallArgs) -> CliResult {
    let command = "device record-install";
    let target = profile_file(&args.device, command)?;
    if inputs::is_stdin(&args.package) && args.catalog.as_deref().is_some_and(inputs::is_stdin) {
        return Err(CliError::usage(
            "the package and the catalog cannot both be read from standard input (`-`)",
        )
        .hint("save one of them to a file first"));
    }
    let before = inputs::device(&args.device)?;
    let clock = inputs::clock(args.now, Some(&before));
    let root = inputs::trust_root(&args.root, clock)?;
    let verifier = Verifier::new(root).clock(clock);
    let head = installed_package(&args.package, &verifier, &before)?;
    let recorded = identity(args, &head, &verifier, &before)?;
    let mut after = before.clone();
    after.record_installed_as(&head, recorded);
    let written = save(&target, &args.device, &before, &after)?;
    let changes = changes(&before, &after);
    let delta = recorded != head.digest();
    if args.json {
        json::print(&json!({
            "schema": "hpk-device-record-install/1",
            "file": args.package.display().to_string(),
            "device": args.device.display().to_string(),
            "catalog": args.catalog.as_ref().map(|c| c.display().to_string()),
            "package": json::manifest(&head, &head.digest()),
            "recorded_as": recorded.to_hex(),
            "delta": delta,
            "written": written,
            "changed": changes.iter().map(|c| c.field).collect::<Vec<_>>(),
            "before": state(&before),
            "after": state(&after),
        }));
        return Ok(());
    }
    let what = format!(
        "{} {} {}{}",
        head.kind.name(),
        head.name,
        head.version,
        if delta {
            format!(" (a delta package, as its full package {recorded})")
        } else {
            String::new()
        }
    );
    outln!("{}", summary(&what, &args.device, &changes));
    Ok(())
}

/// Runs `hpk device record-catalog`.
pub fn record_catalog(
    catalog: &Path,
    root: &Path,
    device: &Path,
    now: Option<u64>,
    as_json: bool,
) -> CliResult {
    let target = profile_file(device, "device record-catalog")?;
    let before = inputs::device(device)?;
    let clock = inputs::clock(now, Some(&before));
    let root = inputs::trust_root(root, clock)?;
    // As `hpk plan`: the floor holds only under the catalog role it was
    // recorded with (VC9).
    let floor = before.catalog_floor(&root);
    let verifier = Verifier::new(root).clock(clock);
    let verified = load_catalog(catalog, &verifier, floor)?;
    let mut after = before.clone();
    after.record_catalog(&verified);
    let written = save(&target, device, &before, &after)?;
    let changes = changes(&before, &after);
    if as_json {
        json::print(&json!({
            "schema": "hpk-device-record-catalog/1",
            "file": catalog.display().to_string(),
            "device": device.display().to_string(),
            "version": verified.version,
            "digest": verified.digest().to_hex(),
            "catalog_role": verified.role_digest().to_hex(),
            "written": written,
            "changed": changes.iter().map(|c| c.field).collect::<Vec<_>>(),
            "before": state(&before),
            "after": state(&after),
        }));
        return Ok(());
    }
    let what = format!("catalog version {}", verified.version);
    outln!("{}", summary(&what, device, &changes));
    Ok(())
}

/// The file to write the device profile back to
/// ([`inputs::file_to_rewrite`]).
pub(crate) fn profile_file(path: &Path, command: &str) -> CliResult<PathBuf> {
    inputs::file_to_rewrite(path, command, "the device profile", "--device FILE")
}

/// The installed package's head, authentic under the trust root and
/// accepted by the device's policy. Recording is about the signed
/// manifest: no payload is read (header depth).
fn installed_package(
    path: &Path,
    verifier: &Verifier,
    device: &DeviceProfile,
) -> CliResult<Verified<Manifest>> {
    let (reader, len) = inputs::open_sized(path)?;
    let package = verifier
        .package_of_len(reader, len)
        .map_err(|e| verify_error(path, &e))?;
    // An agent installs only what the policy allows, so a package it
    // refuses was not installed by one: recording it would be a mistake.
    let package = match package.judge(device) {
        Ok(package) => package,
        // An agent that crashed after recording and runs again: the state
        // already holds this very hotpatch. Its head is authentic (checked
        // above), and recording it again changes nothing.
        Err(refused) if already_recorded(refused.package.manifest(), device) => {
            return Ok(refused.package.manifest().clone());
        }
        Err(refused) => {
            let n = &refused.reason;
            let err = not_applicable_error(
                path,
                n,
                refused.package.manifest(),
                verifier.time(),
                "; nothing recorded",
            );
            return Err(match n.reason {
                Reason::SequenceNotNewer if err.hint.is_none() => {
                    err.hint("the device profile already records a newer hotpatch on its baseline")
                }
                _ => err,
            });
        }
    };
    package
        .verify(Depth::HeaderCounted)
        .map_err(|e| verify_error(path, &e))
}

/// Whether `manifest` is the hotpatch the device already records: its
/// baseline is the installed one and its sequence the installed sequence.
fn already_recorded(manifest: &Manifest, device: &DeviceProfile) -> bool {
    match &manifest.kind {
        PackageKind::Hotpatch(h) => {
            device.installed_baseline == Some(h.baseline)
                && device.installed_hotpatch_sequence == h.sequence
        }
        _ => false,
    }
}

/// The manifest digest to record for the installed package: its own, or
/// for a delta package the full package its catalog entry names
/// (`CatalogEntry::delta`), which hotpatches name as their baseline.
fn identity(
    args: &RecordInstallArgs,
    head: &Verified<Manifest>,
    verifier: &Verifier,
    device: &DeviceProfile,
) -> CliResult<Digest> {
    let path = &args.package;
    let delta = head.needs_bases();
    let Some(catalog) = &args.catalog else {
        if delta {
            return Err(CliError::usage(format!(
                "{}: a delta package is recorded as the full package its catalog entry names, \
                 and no catalog was given",
                path.display()
            ))
            .hint("give the catalog it was planned from: --catalog CATALOG"));
        }
        return Ok(head.digest());
    };
    let verified = load_catalog(catalog, verifier, device.catalog_floor(verifier.root()))?;
    let digest = head.digest();
    let Some(entry) = verified
        .entries
        .iter()
        .find(|e| e.manifest_digest == digest)
    else {
        return Err(CliError::usage(format!(
            "{}: catalog version {} has no entry for this package (manifest {digest})",
            catalog.display(),
            verified.version
        ))
        .hint("give the catalog the package was planned from (`hpk inspect CATALOG` lists its entries)"));
    };
    match entry.delta {
        // SPEC.md, "Keeping the device state": a step whose entry has
        // `delta` is recorded as `delta.full`.
        Some(of) => Ok(of.full),
        None if delta => Err(CliError::usage(format!(
            "{}: catalog version {} lists {} {} as a full package, but it is a delta package",
            catalog.display(),
            verified.version,
            entry.name,
            entry.version
        ))
        .hint(
            "the catalog must name its full package: `hpk catalog add CATALOG DELTA --delta-of OLD --full FULL`",
        )),
        None => Ok(digest),
    }
}

/// Writes `after` to `target` atomically when it differs from `before`
/// (a profile with nothing new is left as it was, comments included), and
/// says whether it wrote. `shown` is the path as the user gave it.
pub(crate) fn save(
    target: &Path,
    shown: &Path,
    before: &DeviceProfile,
    after: &DeviceProfile,
) -> CliResult<bool> {
    if before == after {
        return Ok(false);
    }
    after.save(target).map_err(|e| match &e {
        DeviceError::Io { source, .. } => CliError::new(
            Failure::Io,
            format!(
                "{}: cannot save the device profile: {source}; it is as it was",
                shown.display()
            ),
        )
        .with_class(ErrorClass::Io)
        .caused_by(&e),
        _ => CliError::from_class(e.class(), shown, &e),
    })?;
    Ok(true)
}

/// One field of the device state that recording changed.
struct Change {
    /// The field, as the profile file names it.
    field: &'static str,
    /// Its value before, for people.
    before: String,
    /// Its value after, for people.
    after: String,
}

/// The fields recording may change, in the order of the profile file:
/// name, value as JSON, value for people.
fn fields(d: &DeviceProfile) -> [(&'static str, Value, String); 7] {
    let digest = |d: Option<Digest>| {
        (
            json!(d.map(|d| d.to_hex())),
            d.map_or_else(|| "none".to_owned(), |d| d.to_hex()),
        )
    };
    let (baseline, baseline_text) = digest(d.installed_baseline);
    let (role, role_text) = digest(d.catalog_role);
    let revoked = d.revoked.len();
    [
        ("installed_baseline", baseline, baseline_text),
        (
            "installed_hotpatch_sequence",
            json!(d.installed_hotpatch_sequence),
            d.installed_hotpatch_sequence.to_string(),
        ),
        (
            "security_floor",
            json!(d.security_floor),
            d.security_floor.to_string(),
        ),
        (
            "revoked",
            json!(d.revoked.iter().map(|r| r.to_hex()).collect::<Vec<_>>()),
            format!("{revoked} digest{}", if revoked == 1 { "" } else { "s" }),
        ),
        (
            "time_lower_bound",
            json!(d.time_lower_bound),
            d.time_lower_bound
                .map_or_else(|| "none".to_owned(), inputs::format_time),
        ),
        (
            "catalog_version",
            json!(d.catalog_version),
            d.catalog_version.to_string(),
        ),
        ("catalog_role", role, role_text),
    ]
}

/// The device state as JSON (the device state object of docs/json.md).
fn state(d: &DeviceProfile) -> Value {
    Value::Object(
        fields(d)
            .into_iter()
            .map(|(name, value, _)| (name.to_owned(), value))
            .collect(),
    )
}

/// What differs between two states, in file order.
fn changes(before: &DeviceProfile, after: &DeviceProfile) -> Vec<Change> {
    fields(before)
        .into_iter()
        .zip(fields(after))
        .filter(|((_, b, _), (_, a, _))| a != b)
        .map(|((field, _, before), (_, _, after))| Change {
            field,
            before,
            after,
        })
        .collect()
}

/// The one line for people: what was recorded where, and what changed.
fn summary(what: &str, device: &Path, changes: &[Change]) -> String {
    if changes.is_empty() {
        return format!(
            "recorded {what}: {} already had it (unchanged)",
            device.display()
        );
    }
    let list: Vec<String> = changes
        .iter()
        .map(|c| format!("{} {} -> {}", c.field, c.before, c.after))
        .collect();
    format!(
        "recorded {what} in {}: {}",
        device.display(),
        list.join(", ")
    )
}
