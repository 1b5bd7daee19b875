//! `hpk verify`, `hpk extract` and `hpk inspect`: what agents and people
//! run to check a package.

use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::json;
use crate::ui::Ui;
use hpk_format::{Digest, FileType, Limits, Manifest, decode, read_head};
use hpk_verify::{
    Candidate, Clock, DeviceProfile, ExtractError, VerifiedHead, VerifiedPackage, VerifyError,
    check_intrinsic, extract_to_dir,
};
use serde_json::json;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Read buffer for package files: large reads, few system calls.
const READ_BUFFER: usize = 1 << 20;

/// Options of `hpk verify`.
pub struct VerifyArgs {
    /// The package.
    pub package: PathBuf,
    /// The trust root.
    pub root: PathBuf,
    /// Device profile to check applicability against.
    pub device: Option<PathBuf>,
    /// Check only the head (signatures, manifest, policy).
    pub header_only: bool,
    /// Judge time at this instant.
    pub now: Option<u64>,
    /// JSON output.
    pub json: bool,
}

fn open(path: &Path) -> CliResult<(BufReader<File>, u64)> {
    let file = File::open(path).map_err(|e| CliError::io(path, e))?;
    let len = file.metadata().map_err(|e| CliError::io(path, e))?.len();
    Ok((BufReader::with_capacity(READ_BUFFER, file), len))
}

fn verify_error(path: &Path, e: &VerifyError) -> CliError {
    let err = CliError::from_class(e.class(), path, e);
    match e {
        VerifyError::Payload(_) => {
            err.hint("the package was damaged or tampered with: fetch it again")
        }
        VerifyError::Container(hpk_format::ContainerError::Truncated { .. }) => {
            err.hint("the download is incomplete: fetch it again")
        }
        _ => err,
    }
}

/// Policy: the full device policy with a device profile, else what can be
/// judged without one (critical extensions, time).
fn check_policy(
    head: &VerifiedHead,
    device: Option<&DeviceProfile>,
    clock: Clock,
) -> Result<(), hpk_verify::NotApplicable> {
    match device {
        Some(d) => head.check_policy(d, clock),
        None => check_intrinsic(
            &Candidate::of_manifest(&head.manifest, head.manifest_digest),
            clock,
        ),
    }
}

fn signers_json(head: &VerifiedHead) -> serde_json::Value {
    json!(head.signers.iter().map(|k| k.to_hex()).collect::<Vec<_>>())
}

fn summary(head: &VerifiedHead) -> String {
    let m = &head.manifest;
    let size: u64 = m.payloads.iter().map(|p| p.size).sum();
    format!(
        "{} {} ({}), {} payload(s), {}, signed by {} {} key(s)",
        m.name,
        m.version,
        m.kind.name(),
        m.payloads.len(),
        human_bytes(size),
        head.signers.len(),
        head.role
    )
}

/// Bytes for people: `1.5 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Runs `hpk verify`.
pub fn verify(args: &VerifyArgs, ui: Ui) -> CliResult {
    let result = verify_inner(args, ui);
    if args.json {
        let doc = match &result {
            Ok(out) => json!({
                "schema": "hpk-verify/1",
                "file": args.package.display().to_string(),
                "result": if out.not_applicable.is_some() { "not-applicable" } else { "valid" },
                "checked": if args.header_only { "header" } else { "full" },
                "reason": out.not_applicable.as_ref().map(|n| n.reason.as_str()),
                "detail": out.not_applicable.as_ref().map(|n| n.detail.clone()),
                "role": out.head.role.as_str(),
                "signers": signers_json(&out.head),
                "package": json::manifest(&out.head.manifest, &out.head.manifest_digest),
            }),
            Err(e) => json!({
                "schema": "hpk-verify/1",
                "file": args.package.display().to_string(),
                "result": e.failure.as_str(),
                "checked": if args.header_only { "header" } else { "full" },
                "error": e.message,
            }),
        };
        json::print(&doc);
    }
    let out = result?;
    match out.not_applicable {
        None => {
            if !args.json {
                println!(
                    "OK: {} {}",
                    summary(&out.head),
                    if args.header_only {
                        "(header only: payloads not checked)"
                    } else {
                        "(all payloads checked)"
                    }
                );
            }
            Ok(())
        }
        Some(n) => {
            let err = CliError::new(
                Failure::NotApplicable,
                format!("{}: authentic, but {n}", args.package.display()),
            );
            if args.json {
                // The JSON document already says why; keep stderr to one line.
                Err(CliError { hint: None, ..err })
            } else {
                Err(err)
            }
        }
    }
}

struct VerifyOutcome {
    head: VerifiedHead,
    not_applicable: Option<hpk_verify::NotApplicable>,
}

fn verify_inner(args: &VerifyArgs, ui: Ui) -> CliResult<VerifyOutcome> {
    let device = args.device.as_deref().map(inputs::device).transpose()?;
    let clock = inputs::clock(args.now, device.as_ref());
    let root = inputs::trust_root(&args.root, clock)?;
    let (reader, len) = open(&args.package)?;
    let limits = Limits::default();
    let package = VerifiedPackage::open(reader, &root, &limits)
        .map_err(|e| verify_error(&args.package, &e))?;
    let not_applicable = check_policy(package.head(), device.as_ref(), clock).err();
    let head = if args.header_only {
        let end = package
            .head()
            .header
            .layout()
            .map_err(|e| CliError::from_class(e.class(), &args.package, e))?;
        if end.end != len {
            return Err(CliError::new(
                Failure::Invalid,
                format!(
                    "{}: file is {len} bytes, its header says {}",
                    args.package.display(),
                    end.end
                ),
            )
            .hint("the download is incomplete or has extra bytes: fetch it again"));
        }
        package.head().clone()
    } else {
        let progress = ui.progress("verifying", package.head().header.payload_len);
        let result = package.verify_payloads(&mut |done| progress.set(done));
        progress.finish();
        result.map_err(|e| verify_error(&args.package, &e))?
    };
    Ok(VerifyOutcome {
        head,
        not_applicable,
    })
}

/// Options of `hpk extract`.
pub struct ExtractArgs {
    /// The package.
    pub package: PathBuf,
    /// The trust root.
    pub root: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Device profile.
    pub device: Option<PathBuf>,
    /// Judge time at this instant.
    pub now: Option<u64>,
}

/// Runs `hpk extract`.
pub fn extract(args: &ExtractArgs, ui: Ui) -> CliResult {
    let device = args.device.as_deref().map(inputs::device).transpose()?;
    let clock = inputs::clock(args.now, device.as_ref());
    let root = inputs::trust_root(&args.root, clock)?;
    let (reader, _) = open(&args.package)?;
    let limits = Limits::default();
    let package = VerifiedPackage::open(reader, &root, &limits)
        .map_err(|e| verify_error(&args.package, &e))?;
    if let Err(n) = check_policy(package.head(), device.as_ref(), clock) {
        return Err(CliError::new(
            Failure::NotApplicable,
            format!(
                "{}: authentic, but {n}; nothing extracted",
                args.package.display()
            ),
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| CliError::io(&args.out, e))?;
    let total: u64 = package.manifest().payloads.iter().map(|p| p.size).sum();
    let progress = ui.progress("extracting", total);
    let result = extract_to_dir(package, &args.out, &mut |done| progress.set(done));
    progress.finish();
    let extracted = result.map_err(|e| match &e {
        ExtractError::Verify(v) => verify_error(&args.package, v).hint("nothing was extracted"),
        ExtractError::Unsafe { .. } => CliError::new(Failure::Io, e.to_string()),
        _ => CliError::new(Failure::Io, e.to_string()),
    })?;
    ui.note(format!("OK: {}", summary(&extracted.head)));
    for f in &extracted.files {
        println!("{}", f.display());
    }
    Ok(())
}

/// Options of `hpk inspect`.
pub struct InspectArgs {
    /// The package.
    pub package: PathBuf,
    /// Trust root: with it, what is shown is verified.
    pub root: Option<PathBuf>,
    /// Judge time at this instant.
    pub now: Option<u64>,
    /// JSON output.
    pub json: bool,
}

/// Runs `hpk inspect`.
pub fn inspect(args: &InspectArgs) -> CliResult {
    let (mut reader, _) = open(&args.package)?;
    let limits = Limits::default();
    let (manifest, digest, header, signatures, verified): (
        Manifest,
        Digest,
        _,
        _,
        Option<VerifiedHead>,
    ) = match &args.root {
        Some(root_path) => {
            let root = inputs::trust_root(root_path, inputs::clock(args.now, None))?;
            let head = read_head(&mut reader, FileType::Package, &limits)
                .map_err(|e| CliError::from_class(e.class(), &args.package, e))?;
            let verified = hpk_verify::verify_head(&head, &root, &limits)
                .map_err(|e| verify_error(&args.package, &e))?;
            (
                verified.manifest.clone(),
                verified.manifest_digest,
                head.header,
                head.signatures,
                Some(verified),
            )
        }
        None => {
            let head = read_head(&mut reader, FileType::Package, &limits)
                .map_err(|e| CliError::from_class(e.class(), &args.package, e))?;
            let manifest: Manifest = decode(&head.body, &limits).map_err(|e| {
                CliError::from_class(e.class(), &args.package, format!("manifest: {e}"))
            })?;
            (
                manifest,
                Digest::of(&head.body),
                head.header,
                head.signatures,
                None,
            )
        }
    };
    if args.json {
        json::print(&json!({
            "schema": "hpk-inspect/1",
            "file": args.package.display().to_string(),
            "verified": verified.is_some(),
            "format_version": format!("{}.{}", hpk_format::FORMAT_MAJOR, header.minor),
            "signatures": signatures.iter().map(|s| json!({"algorithm": s.algorithm, "key_id": s.key_id.to_hex()})).collect::<Vec<_>>(),
            "role": verified.as_ref().map(|v| v.role.as_str()),
            "package": json::manifest(&manifest, &digest),
        }));
        return Ok(());
    }
    let mark = if verified.is_some() {
        "verified"
    } else {
        "UNVERIFIED"
    };
    println!("package      {} [{mark}]", args.package.display());
    if verified.is_none() {
        println!("             (no --root given: nothing below is authenticated)");
    }
    println!("name         {}", manifest.name);
    println!("version      {}", manifest.version);
    println!("kind         {}", manifest.kind.name());
    match &manifest.kind {
        hpk_format::PackageKind::Baseline(b) => {
            println!("floor        {}", b.security_floor);
            for d in &b.revoked_hotpatches {
                println!("revokes      {d}");
            }
        }
        hpk_format::PackageKind::Hotpatch(h) => {
            println!("baseline     {}", h.baseline);
            println!("sequence     {}", h.sequence);
            for m in &h.modules {
                println!("patches      {} (before: {})", m.path, m.digest_before);
            }
        }
        _ => {}
    }
    println!("security     {}", manifest.security_version);
    println!(
        "restart      {}",
        if manifest.restart_required {
            "required"
        } else {
            "not required"
        }
    );
    println!("created      {}", manifest.created);
    println!(
        "expires      {}",
        manifest
            .expires
            .map_or_else(|| "never".to_owned(), |e| e.to_string())
    );
    let t = &manifest.targets;
    println!("os           {}", t.os);
    println!("architectures {}", join(&t.architectures));
    println!(
        "editions     {}",
        if t.editions.is_empty() {
            "any".to_owned()
        } else {
            join(&t.editions)
        }
    );
    println!("channel      {}", t.channel.name());
    println!(
        "capabilities {}",
        if t.capabilities.is_empty() {
            "none".to_owned()
        } else {
            join(&t.capabilities)
        }
    );
    println!("manifest     {digest}");
    for s in &signatures {
        println!("signature    key {} (algorithm {})", s.key_id, s.algorithm);
    }
    for p in &manifest.payloads {
        println!(
            "payload      {} {} -> {} stored, {} chunk(s), sha256 {}",
            p.name,
            human_bytes(p.size),
            human_bytes(p.stored_size),
            p.chunk_count,
            p.content_digest
        );
    }
    for e in &manifest.extensions {
        println!(
            "extension    {} ({}), {} bytes",
            e.id,
            if e.critical {
                "critical"
            } else {
                "non-critical"
            },
            e.data.len()
        );
    }
    Ok(())
}

fn join(tokens: &[hpk_format::Token]) -> String {
    tokens
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
