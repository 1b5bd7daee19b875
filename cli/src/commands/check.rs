//! `hpk verify`, `hpk extract` and `hpk inspect`: what agents and people
//! run to check a package.

use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::json;
use crate::ui::{Ui, human_bytes};
use hpk_format::{Digest, FileType, Limits, Manifest, decode, read_head};
use hpk_verify::{
    BaseDir, Clock, Depth, DeviceProfile, ExtractError, Judged, NotApplicable, Package, Reason,
    Refused, Verified, Verifier, VerifyError,
};
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};

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
    /// Also decompress and check content digests.
    pub deep: bool,
    /// The device's files, for delta payloads (with `deep`).
    pub base_dir: Option<PathBuf>,
    /// Judge time at this instant.
    pub now: Option<u64>,
    /// JSON output.
    pub json: bool,
}

/// Opens the package once (`-`: standard input), with its length when it
/// is a regular file.
fn open(path: &Path) -> CliResult<(inputs::Input, Option<u64>)> {
    inputs::open_sized(path)
}

/// The stable name of a missing or different base (SPEC.md D5).
const MISSING_BASE: &str = "missing-base";

/// A package that does not verify, as an error about `path`, with what to
/// do about it.
pub(crate) fn verify_error(path: &Path, e: &VerifyError) -> CliError {
    let err = CliError::from_class(e.class(), path, e).with_reason(e.reason().map(|r| r.as_str()));
    match e {
        VerifyError::Payload(hpk_format::PayloadError::MissingBase { .. }) => {
            err.with_reason(Some(MISSING_BASE)).hint(
                "this delta package rebuilds files from the ones the device already has: \
                 give them with --base-dir DIR (the installed tree, by payload name), \
                 or use the full package",
            )
        }
        VerifyError::Payload(_) => {
            err.hint("the package was damaged or tampered with: fetch it again")
        }
        VerifyError::Container(hpk_format::ContainerError::Truncated { .. }) => {
            err.hint("the download is incomplete: fetch it again")
        }
        VerifyError::Container(hpk_format::ContainerError::TrailingBytes) => {
            err.hint("the file has bytes after the package's end: fetch it again")
        }
        VerifyError::Container(hpk_format::ContainerError::WrongFileType { found, .. }) => {
            match found {
                FileType::TrustRoot => err.hint("check a trust root with `hpk root verify`"),
                FileType::Catalog => err.hint("check a catalog with `hpk catalog verify`"),
                FileType::Package => err,
            }
        }
        VerifyError::Container(hpk_format::ContainerError::BadMagic { .. }) => {
            err.hint("give a package file (made by `hpk pack`)")
        }
        _ => err,
    }
}

/// A not-applicable verdict for people, with times as dates.
pub fn describe(n: &NotApplicable, manifest: &Manifest, clock: Clock) -> String {
    format!(
        "not applicable ({}): {}",
        n.reason,
        detail(n, manifest, clock)
    )
}

/// The specifics of a not-applicable verdict, with times as dates.
fn detail(n: &NotApplicable, manifest: &Manifest, clock: Clock) -> String {
    match n.reason {
        Reason::Expired => match manifest.expires {
            Some(e) => format!(
                "expired at {} (judged at {})",
                inputs::format_time(e),
                inputs::format_time(clock.at_least())
            ),
            None => n.detail.clone(),
        },
        Reason::NotYetValid => format!(
            "created at {}, after the current time {}",
            inputs::format_time(manifest.created),
            inputs::format_time(clock.at_least())
        ),
        _ => n.detail.clone(),
    }
}

/// An authentic package the policy refuses, as an error about `path`:
/// exit 3, class `policy` with the reason's stable name, the verdict for
/// people, then `tail` (what was not done, e.g. `; nothing extracted`).
pub(crate) fn not_applicable_error(
    path: &Path,
    n: &NotApplicable,
    manifest: &Manifest,
    clock: Clock,
    tail: &str,
) -> CliError {
    let err = CliError::new(
        Failure::NotApplicable,
        format!(
            "{}: authentic, but {}{tail}",
            path.display(),
            describe(n, manifest, clock)
        ),
    )
    .with_class(hpk_format::ErrorClass::Policy)
    .with_reason(Some(n.reason.as_str()));
    match not_applicable_hint(n) {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// What to do about a not-applicable verdict, when there is something.
fn not_applicable_hint(n: &NotApplicable) -> Option<&'static str> {
    match n.reason {
        Reason::WrongBaseline => Some(
            "install its baseline first, and record it with `hpk device record-install` \
             (installed_baseline in the device profile)",
        ),
        Reason::Expired | Reason::NotYetValid => Some("check the clock, or pass --now"),
        Reason::KindNotAllowed => {
            Some("the recovery profile takes recovery and baseline packages only")
        }
        _ => None,
    }
}

/// Policy (VP9): the full device policy with a device profile, else what
/// can be judged without one (critical extensions, time).
fn judge<R: Read>(
    package: Package<R>,
    device: Option<&DeviceProfile>,
) -> Result<Package<R, Judged>, Box<Refused<R>>> {
    match device {
        Some(d) => package.judge(d),
        None => package.judge_without_device(),
    }
}

fn signers_json(head: &Verified<Manifest>) -> serde_json::Value {
    json!(
        head.signers()
            .iter()
            .map(|k| k.to_hex())
            .collect::<Vec<_>>()
    )
}

fn summary(head: &Verified<Manifest>) -> String {
    let m = head;
    let size: u64 = m.payloads.iter().map(|p| p.size).sum();
    format!(
        "{} {} ({}), {} payload(s), {}, signed by {} {} key(s)",
        m.name,
        m.version,
        m.kind.name(),
        m.payloads.len(),
        human_bytes(size),
        head.signers().len(),
        head.role()
    )
}

/// The package with the device's files under `base_dir` as the bases of
/// its delta payloads, if a folder is given.
fn with_bases<R>(package: Package<R, Judged>, base_dir: Option<&Path>) -> Package<R, Judged> {
    match base_dir {
        Some(dir) => package.with_bases(std::sync::Arc::new(BaseDir::new(dir))),
        None => package,
    }
}

/// Runs `hpk verify`.
pub fn verify(args: &VerifyArgs, ui: Ui) -> CliResult {
    let out = verify_inner(args, ui)?;
    let verdict = out
        .not_applicable
        .as_ref()
        .map(|n| (n, detail(n, &out.head, out.clock)));
    if args.json {
        json::print(&json!({
            "schema": "hpk-verify/1",
            "file": args.package.display().to_string(),
            "result": if verdict.is_some() { "not-applicable" } else { "valid" },
            "checked": checked(args),
            "policy": if args.device.is_some() { "device" } else { "intrinsic" },
            "reason": verdict.as_ref().map(|(n, _)| n.reason.as_str()),
            "detail": verdict.as_ref().map(|(_, d)| d.clone()),
            "role": out.head.role().as_str(),
            "signers": signers_json(&out.head),
            "package": json::manifest(&out.head, &out.head.digest()),
        }));
    }
    match verdict {
        None => {
            if !args.json {
                outln!(
                    "OK: {} {}",
                    summary(&out.head),
                    match checked(args) {
                        "header" => "(header only: payloads not checked)",
                        "deep" =>
                            "(every stored byte authenticated; content decompressed and its SHA-256 checked)",
                        _ =>
                            "(every stored byte authenticated; --deep also checks decompressed content)",
                    }
                );
            }
            Ok(())
        }
        Some((n, _)) => {
            let err = not_applicable_error(&args.package, n, &out.head, out.clock, "");
            Err(CliError {
                reported: args.json,
                ..err
            })
        }
    }
}

struct VerifyOutcome {
    head: Verified<Manifest>,
    clock: Clock,
    not_applicable: Option<NotApplicable>,
}

fn verify_inner(args: &VerifyArgs, ui: Ui) -> CliResult<VerifyOutcome> {
    let device = args.device.as_deref().map(inputs::device).transpose()?;
    let clock = inputs::clock(args.now, device.as_ref());
    let root = inputs::trust_root(&args.root, clock)?;
    let (reader, len) = open(&args.package)?;
    let verifier = Verifier::new(root).clock(clock);
    let package = verifier
        .package_of_len(reader, len)
        .map_err(|e| verify_error(&args.package, &e))?;
    // VP9: the policy is judged before any payload byte is read, at every
    // depth (`spec/SPEC.md`, "Packages"): a package that is not for this
    // device is not read further.
    let package = match judge(package, device.as_ref()) {
        Ok(package) => package,
        Err(refused) => {
            let Refused { reason, package } = *refused;
            return Ok(VerifyOutcome {
                head: package.manifest().clone(),
                clock,
                not_applicable: Some(reason),
            });
        }
    };
    let head = if args.header_only {
        // Header depth ends with the file's length (C16): a regular file's
        // is known; a stream's is counted.
        package.verify(Depth::HeaderCounted)
    } else if args.deep {
        let package = with_bases(package, args.base_dir.as_deref());
        let total: u64 = package.manifest().payloads.iter().map(|p| p.size).sum();
        let progress = ui.progress("verifying", total);
        let result = package.verify_with_progress(Depth::Full, &mut |done| progress.set(done));
        progress.finish();
        result
    } else {
        let progress = ui.progress("verifying", package.header().payload_len);
        let result = package.verify_with_progress(Depth::Stored, &mut |done| progress.set(done));
        progress.finish();
        result
    }
    .map_err(|e| verify_error(&args.package, &e))?;
    Ok(VerifyOutcome {
        head,
        clock,
        not_applicable: None,
    })
}

/// How deep `hpk verify` checks: `header`, `full` (every stored byte) or
/// `deep` (also decompressed content), as JSON names it.
fn checked(args: &VerifyArgs) -> &'static str {
    if args.header_only {
        "header"
    } else if args.deep {
        "deep"
    } else {
        "full"
    }
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
    /// The device's files, for delta payloads.
    pub base_dir: Option<PathBuf>,
    /// Judge time at this instant.
    pub now: Option<u64>,
}

/// Runs `hpk extract`.
pub fn extract(args: &ExtractArgs, ui: Ui) -> CliResult {
    let device = args.device.as_deref().map(inputs::device).transpose()?;
    let clock = inputs::clock(args.now, device.as_ref());
    let root = inputs::trust_root(&args.root, clock)?;
    let (reader, len) = open(&args.package)?;
    let verifier = Verifier::new(root).clock(clock);
    let package = verifier
        .package_of_len(reader, len)
        .map_err(|e| verify_error(&args.package, &e))?;
    let package = match judge(package, device.as_ref()) {
        Ok(package) => package,
        Err(refused) => {
            return Err(not_applicable_error(
                &args.package,
                &refused.reason,
                refused.package.manifest(),
                clock,
                "; nothing extracted",
            ));
        }
    };
    let package = with_bases(package, args.base_dir.as_deref());
    let total: u64 = package.manifest().payloads.iter().map(|p| p.size).sum();
    let progress = ui.progress("extracting", total);
    let result = package.extract_with_progress(&args.out, &mut |done| progress.set(done));
    progress.finish();
    let extracted = result.map_err(|e| match &e {
        ExtractError::Verify(v) => {
            let mut err = verify_error(&args.package, v);
            let hint = match err.hint.take() {
                Some(h) => format!("nothing was extracted; {h}"),
                None => "nothing was extracted".to_owned(),
            };
            err.hint(hint)
        }
        ExtractError::Target { .. } => CliError::new(Failure::Io, e.to_string())
            .with_class(hpk_format::ErrorClass::Io)
            .caused_by(&e)
            .hint(
                "--out must name a new folder, or an empty one, in a folder that exists; \
                 nothing is overwritten and no parent folder is created",
            ),
        ExtractError::Unsafe { .. } => CliError::new(Failure::Io, e.to_string())
            .with_class(hpk_format::ErrorClass::Io)
            .caused_by(&e)
            .hint("extract into an empty folder, or remove what is in the way"),
        _ => CliError::new(Failure::Io, e.to_string())
            .with_class(hpk_format::ErrorClass::Io)
            .caused_by(&e),
    })?;
    ui.note(format!("OK: {}", summary(&extracted.manifest)));
    for f in &extracted.files {
        outln!("{}", f.display());
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

/// Runs `hpk inspect` on a package, a trust root or a catalog.
pub fn inspect(args: &InspectArgs) -> CliResult {
    // A pipe or `-` can be read only once (C17), so its type cannot be
    // looked up first: it is inspected as a package.
    let regular = !inputs::is_stdin(&args.package)
        && std::fs::metadata(&args.package).is_ok_and(|m| m.is_file());
    if !regular {
        return inspect_package(args);
    }
    match crate::commands::sign::file_type(&args.package, "inspect")? {
        FileType::Package => inspect_package(args),
        FileType::TrustRoot => inspect_root(args),
        FileType::Catalog => inspect_catalog(args),
    }
}

/// The first lines of `hpk inspect`: what the file is, and whether what
/// follows was authenticated.
fn print_title(what: &str, path: &Path, verified: bool) {
    let mark = if verified { "verified" } else { "UNVERIFIED" };
    outln!("{what:<13} {} [{mark}]", path.display());
    if !verified {
        outln!("              (no --root given: nothing below is authenticated)");
    }
}

fn signatures_json(signatures: &[hpk_format::SignatureRecord]) -> serde_json::Value {
    signatures
        .iter()
        .map(|s| json!({"algorithm": s.algorithm, "key_id": s.key_id.to_hex()}))
        .collect()
}

fn extensions_json(extensions: &[hpk_format::Extension]) -> serde_json::Value {
    extensions
        .iter()
        .map(|e| json!({"id": e.id, "critical": e.critical, "data_hex": hex::encode(&e.data)}))
        .collect()
}

fn print_extensions(extensions: &[hpk_format::Extension]) {
    for e in extensions {
        outln!(
            "extension     {} ({}), {} bytes",
            e.id,
            if e.critical {
                "critical"
            } else {
                "non-critical"
            },
            e.data.len()
        );
    }
}

fn print_signatures(signatures: &[hpk_format::SignatureRecord]) {
    if signatures.is_empty() {
        outln!("signatures    none (unsigned)");
    }
    for s in signatures {
        outln!("signature     key {} (algorithm {})", s.key_id, s.algorithm);
    }
}

/// `hpk inspect` on a trust root: what it claims, never authenticated
/// (`hpk root verify` checks one).
fn inspect_root(args: &InspectArgs) -> CliResult {
    if args.root.is_some() {
        return Err(CliError::usage(format!(
            "{}: --root does not apply to a trust root",
            args.package.display()
        ))
        .hint("check a trust root with `hpk root verify ROOT [--trusted OLD]`"));
    }
    let (head, r) = hpk_sign::root::read_root_file(&args.package)
        .map_err(|e| crate::commands::sign::sign_error(&e))?;
    let digest = Digest::of(&head.body);
    if args.json {
        let roles: serde_json::Map<String, serde_json::Value> = hpk_format::RoleName::ALL
            .iter()
            .map(|name| {
                let role = r.roles.get(*name).map(|role| {
                    json!({
                        "threshold": role.threshold,
                        "keys": role.keys.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
                    })
                });
                (
                    name.as_str().to_owned(),
                    role.unwrap_or(serde_json::Value::Null),
                )
            })
            .collect();
        json::print(&json!({
            "schema": "hpk-inspect-root/1",
            "file": args.package.display().to_string(),
            "verified": false,
            "format_version": format!("{}.{}", hpk_format::FORMAT_MAJOR, head.header.minor),
            "signatures": signatures_json(&head.signatures),
            "digest": digest.to_hex(),
            "version": r.version,
            "created": r.created,
            "expires": r.expires,
            "keys": r.keys.iter().map(|k| json!({"key_id": k.key_id().to_hex(), "algorithm": k.algorithm})).collect::<Vec<_>>(),
            "roles": roles,
            "extensions": extensions_json(&r.extensions),
        }));
        return Ok(());
    }
    outln!("trust root    {} [UNVERIFIED]", args.package.display());
    outln!("              (check it with `hpk root verify`: nothing below is authenticated)");
    outln!("version       {}", r.version);
    outln!("created       {}", inputs::format_time(r.created));
    outln!("expires       {}", inputs::format_time(r.expires));
    for name in hpk_format::RoleName::ALL {
        let Some(role) = r.roles.get(name) else {
            outln!(
                "role          {} none (files that need it are refused)",
                name.as_str()
            );
            continue;
        };
        outln!(
            "role          {} threshold {} of {}: {}",
            name.as_str(),
            role.threshold,
            role.keys.len(),
            role.keys
                .iter()
                .map(|k| k.to_hex())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    outln!("digest        {digest}");
    print_signatures(&head.signatures);
    print_extensions(&r.extensions);
    Ok(())
}

/// `hpk inspect` on a catalog: with `--root`, verified as `hpk catalog
/// verify` does; without, what it claims.
fn inspect_catalog(args: &InspectArgs) -> CliResult {
    let (head, unverified) = hpk_sign::catalog::read_catalog_file(&args.package)
        .map_err(|e| crate::commands::sign::sign_error(&e))?;
    let verified = match &args.root {
        Some(root_path) => {
            let clock = inputs::clock(args.now, None);
            let root = inputs::trust_root(root_path, clock)?;
            let verifier = Verifier::new(root).clock(clock);
            Some(crate::commands::plan::load_catalog(
                &args.package,
                &verifier,
                0,
            )?)
        }
        None => None,
    };
    let c = verified.as_ref().map_or(&unverified, |v| &**v);
    let digest = Digest::of(&head.body);
    if args.json {
        json::print(&json!({
            "schema": "hpk-inspect-catalog/1",
            "file": args.package.display().to_string(),
            "verified": verified.is_some(),
            "format_version": format!("{}.{}", hpk_format::FORMAT_MAJOR, head.header.minor),
            "signatures": signatures_json(&head.signatures),
            "digest": digest.to_hex(),
            "version": c.version,
            "created": c.created,
            "expires": c.expires,
            "entries": c.entries.iter().map(json::entry).collect::<Vec<_>>(),
            "extensions": extensions_json(&c.extensions),
        }));
        return Ok(());
    }
    print_title("catalog", &args.package, verified.is_some());
    outln!("version       {}", c.version);
    outln!("created       {}", inputs::format_time(c.created));
    outln!("expires       {}", inputs::format_time(c.expires));
    outln!("digest        {digest}");
    print_signatures(&head.signatures);
    if c.entries.is_empty() {
        outln!("entries       none");
    }
    for e in &c.entries {
        outln!(
            "entry         {} {} ({}), manifest {}, {} bytes at {}",
            e.name,
            e.version,
            e.kind.name(),
            e.manifest_digest,
            e.size,
            e.location
        );
        if let Some(d) = e.delta {
            outln!("              delta of {}, full package {}", d.base, d.full);
        }
    }
    print_extensions(&c.extensions);
    Ok(())
}

/// `hpk inspect` on a package.
fn inspect_package(args: &InspectArgs) -> CliResult {
    let (mut reader, _) = open(&args.package)?;
    let limits = Limits::default();
    let (manifest, digest, header, signatures, verified): (
        Manifest,
        Digest,
        _,
        _,
        Option<Verified<Manifest>>,
    ) = match &args.root {
        Some(root_path) => {
            let clock = inputs::clock(args.now, None);
            let root = inputs::trust_root(root_path, clock)?;
            let package = Verifier::new(root)
                .clock(clock)
                .package(reader)
                .map_err(|e| verify_error(&args.package, &e))?;
            let verified = package.manifest().clone();
            (
                (*verified).clone(),
                verified.digest(),
                *package.header(),
                package.signatures().to_vec(),
                Some(verified),
            )
        }
        None => {
            let head = read_head(&mut reader, FileType::Package, &limits)
                .map_err(|e| verify_error(&args.package, &VerifyError::from(e)))?;
            let manifest: Manifest = decode(&head.body, &limits).map_err(|e| {
                CliError::new(
                    Failure::of_class(e.class()),
                    format!("{}: manifest: {e}", args.package.display()),
                )
                .with_class(e.class())
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
            "signatures": signatures_json(&signatures),
            "role": verified.as_ref().map(|v| v.role().as_str()),
            "package": json::manifest(&manifest, &digest),
        }));
        return Ok(());
    }
    print_title("package", &args.package, verified.is_some());
    outln!("name          {}", manifest.name);
    outln!("version       {}", manifest.version);
    outln!("kind          {}", manifest.kind.name());
    match &manifest.kind {
        hpk_format::PackageKind::Baseline(b) => {
            outln!("floor         {}", b.security_floor);
            for d in &b.revoked_hotpatches {
                outln!("revokes       {d}");
            }
        }
        hpk_format::PackageKind::Hotpatch(h) => {
            outln!("baseline      {}", h.baseline);
            outln!("sequence      {}", h.sequence);
            for m in &h.modules {
                outln!("patches       {} (before: {})", m.path, m.digest_before);
            }
        }
        _ => {}
    }
    outln!("security      {}", manifest.security_version);
    outln!(
        "restart       {}",
        if manifest.restart_required {
            "required"
        } else {
            "not required"
        }
    );
    outln!("created       {}", inputs::format_time(manifest.created));
    outln!(
        "expires       {}",
        manifest
            .expires
            .map_or_else(|| "never".to_owned(), inputs::format_time)
    );
    let t = &manifest.targets;
    outln!("os            {}", t.os);
    outln!("architectures {}", join(&t.architectures));
    outln!(
        "editions      {}",
        if t.editions.is_empty() {
            "any".to_owned()
        } else {
            join(&t.editions)
        }
    );
    outln!("channel       {}", t.channel.name());
    outln!(
        "capabilities  {}",
        if t.capabilities.is_empty() {
            "none".to_owned()
        } else {
            join(&t.capabilities)
        }
    );
    outln!("manifest      {digest}");
    for s in &signatures {
        outln!("signature     key {} (algorithm {})", s.key_id, s.algorithm);
    }
    for p in &manifest.payloads {
        outln!(
            "payload       {}{} {} -> {} stored, {} chunk(s), sha256 {}",
            p.name,
            if p.executable { " (executable)" } else { "" },
            human_bytes(p.size),
            human_bytes(p.stored_size),
            p.chunk_count,
            p.content_digest
        );
    }
    for l in &manifest.links {
        outln!(
            "link          {} -> {} (from the package's root)",
            l.name,
            l.target
        );
    }
    for f in &manifest.folders {
        outln!("folder        {f}/ (empty)");
    }
    print_extensions(&manifest.extensions);
    Ok(())
}

fn join(tokens: &[hpk_format::Token]) -> String {
    tokens
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
