//! `hpk repo …`: a repository, a folder of static files that any HTTP
//! server or CDN serves to agents (`spec/SPEC.md`, "Repositories"; the
//! layout is [`crate::repository`]).
//!
//! Nothing goes in unverified: a trust root must be a rotation devices
//! accept, a package must verify under the newest root, and a catalog
//! must verify and name only packages already there. Root versions and
//! packages are written before the catalog that needs them, each file
//! atomically, so a reader of the folder never sees a catalog naming a
//! missing package, nor a half-written file.

use crate::commands::check::{not_applicable_error, verify_error};
use crate::commands::plan::catalog_error;
use crate::commands::root::rotation_error;
use crate::commands::sign::sign_error;
use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::json;
use crate::repository::{
    self, CATALOG_FILE, PACKAGES_DIR, ROOT_DIR, Repository, RootVersions, package_location,
    read_metadata, root_file,
};
use crate::ui::{Ui, human_bytes};
use clap::Subcommand;
use hpk_format::{CatalogEntry, Digest, ErrorClass, FileType, Limits, Manifest};
use hpk_sign::{AtomicFile, RotationError};
use hpk_verify::{Clock, Depth, FetchError, RootError, TrustedRoot, Verified, Verifier};
use serde_json::json;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Read and write buffers for package copies: large reads, few system
/// calls.
const COPY_BUFFER: usize = 1 << 20;

/// The `hpk repo` subcommands.
#[derive(Subcommand)]
pub enum RepoCommand {
    /// Create a repository in a new or empty folder, from a trust root.
    #[command(
        after_help = "Example:\n  hpk repo init ./repo --root root.hpkroot\n\nA repository is a folder of static files any HTTP server or CDN can serve:\n  root/1.hpkroot, root/2.hpkroot, …   every trust-root version\n  packages/<manifest digest>.hpk       packages, never replaced\n  catalog.hpkcat                       the current catalog (hpk repo publish)"
    )]
    Init {
        /// The folder to create (or an empty one).
        dir: PathBuf,
        /// The trust root to start from: signed by its own root keys, not expired.
        #[arg(long, short)]
        root: PathBuf,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-repo-init/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Add the next trust-root version: a rotation from the newest one that devices accept.
    #[command(
        after_help = "Example:\n  hpk repo add-root ./repo root-v2.hpkroot\n\nNEW must be exactly the next version after the newest in root/, signed by a threshold\nof that version's root keys and of its own (`hpk root verify NEW --trusted OLD`).\nIt is written as root/<version>.hpkroot; no version is ever replaced or skipped."
    )]
    AddRoot {
        /// The repository.
        dir: PathBuf,
        /// The next trust-root version (`-`: standard input).
        #[arg(value_name = "NEW.hpkroot")]
        root: PathBuf,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-repo-add-root/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Add packages, verified under the newest trust root, as packages/<manifest digest>.hpk.
    #[command(
        after_help = "Example:\n  hpk repo add ./repo baseline.hpk hotpatch.hpk\n  hpk catalog add catalog.hpkcat baseline.hpk --location packages/3f2a….hpk\n\nPrints each package's location for the catalog, relative to catalog.hpkcat.\nAdding a package that is there already changes nothing."
    )]
    Add {
        /// The repository.
        dir: PathBuf,
        /// Package files to add.
        #[arg(required = true, value_name = "PKG")]
        packages: Vec<PathBuf>,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-repo-add/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Publish a catalog: verified, newer than the one published, and naming only packages
    /// in the repository; then it replaces catalog.hpkcat.
    #[command(
        after_help = "Example:\n  hpk repo publish ./repo catalog.hpkcat\n\nEvery entry's location must be packages/<its manifest digest>.hpk (as `hpk repo add`\nprints it), and that package must be in the repository."
    )]
    Publish {
        /// The repository.
        dir: PathBuf,
        /// The signed catalog (`-`: standard input).
        catalog: PathBuf,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-repo-publish/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
}

impl RepoCommand {
    /// Whether the command was asked for JSON output.
    pub fn wants_json(&self) -> bool {
        match self {
            RepoCommand::Init { json, .. }
            | RepoCommand::AddRoot { json, .. }
            | RepoCommand::Add { json, .. }
            | RepoCommand::Publish { json, .. } => *json,
        }
    }
}

/// Runs an `hpk repo` subcommand.
pub fn run(cmd: RepoCommand, ui: Ui) -> CliResult {
    match cmd {
        RepoCommand::Init {
            dir,
            root,
            time,
            json,
        } => init(&dir, &root, time.now, json, ui),
        RepoCommand::AddRoot {
            dir,
            root,
            time,
            json,
        } => add_root(&dir, &root, time.now, json, ui),
        RepoCommand::Add {
            dir,
            packages,
            time,
            json,
        } => add(&dir, &packages, time.now, json, ui),
        RepoCommand::Publish {
            dir,
            catalog,
            time,
            json,
        } => publish(&dir, &catalog, time.now, json, ui),
    }
}

/// An I/O error on `path`.
fn io_error(path: &Path) -> impl Fn(io::Error) -> CliError + '_ {
    move |e| CliError::io(path, &e)
}

/// Writes `bytes` as the new file `target`, atomically; an existing
/// `target` is never replaced (`AlreadyExists`).
fn write_new(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut out = AtomicFile::create(target)?;
    out.file()?.write_all(bytes)?;
    out.commit_new()
}

// ---- init ----

/// `hpk repo init`: checks everything first, then makes `root/`,
/// `packages/` and `root/<version>.hpkroot`; on failure removes what it
/// made.
fn init(dir: &Path, root: &Path, now: Option<u64>, as_json: bool, ui: Ui) -> CliResult {
    let limits = Limits::default();
    let clock = inputs::clock(now, None);
    let bytes = read_metadata(root, &limits)?;
    let trusted =
        TrustedRoot::load(&bytes, clock, &limits).map_err(|e| inputs::root_error(root, &e))?;
    let version = trusted.root().version;
    let inside = root_file(version);
    let existed = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            let mut entries = std::fs::read_dir(dir).map_err(io_error(dir))?;
            if entries.next().is_some() {
                // Run again on the repository it made: nothing to do, so
                // that a script (or the demo) may run it every time.
                let same_root = std::fs::read(dir.join(&inside)).is_ok_and(|b| b == bytes);
                if same_root && dir.join(PACKAGES_DIR).is_dir() {
                    report_init(dir, &inside, &trusted, false, as_json, ui);
                    return Ok(());
                }
                return Err(CliError::usage(format!(
                    "{}: not empty: a repository starts in a new or empty folder",
                    dir.display()
                ))
                .hint("give a new folder; to change a repository, use `hpk repo add`, `hpk repo add-root` or `hpk repo publish`"));
            }
            true
        }
        Ok(_) => {
            return Err(
                CliError::usage(format!("{}: exists and is not a folder", dir.display()))
                    .hint("give a new folder"),
            );
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(CliError::io(dir, &e)),
    };
    if !existed {
        // The parent is not created: a mistyped path is an error.
        std::fs::create_dir(dir).map_err(io_error(dir))?;
    }
    if let Err(e) = make_layout(dir, &inside, &bytes) {
        if existed {
            let _ = std::fs::remove_dir_all(dir.join(ROOT_DIR));
            let _ = std::fs::remove_dir_all(dir.join(PACKAGES_DIR));
        } else {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Err(e);
    }
    // The new folder's own name, durable too.
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    hpk_verify::sync_dir(parent);
    report_init(dir, &inside, &trusted, true, as_json, ui);
    Ok(())
}

/// What `repo init` says: the repository `dir` with its trust root
/// `inside`, `made` now or found made before.
fn report_init(dir: &Path, inside: &str, trusted: &TrustedRoot, made: bool, as_json: bool, ui: Ui) {
    let version = trusted.root().version;
    if as_json {
        json::print(&json!({
            "schema": "hpk-repo-init/1",
            "repository": dir.display().to_string(),
            "made": made,
            "root_file": inside,
            "root_version": version,
            "root_digest": trusted.digest().to_hex(),
            "root_expires": trusted.root().expires,
        }));
    }
    if made {
        ui.note(format!(
            "made repository {}: {inside} (trust root version {version}, expires {}), packages/ empty, no catalog yet",
            dir.display(),
            inputs::format_time(trusted.root().expires)
        ));
    } else {
        ui.note(format!(
            "{} is a repository with this trust root ({inside}) already: nothing to do",
            dir.display()
        ));
    }
    ui.note(format!(
        "next: `hpk repo add {} PKG…`, then `hpk repo publish {} CATALOG`",
        dir.display(),
        dir.display()
    ));
}

/// The folders of a repository and its first trust root, in `dir`.
fn make_layout(dir: &Path, inside: &str, root: &[u8]) -> CliResult {
    for sub in [ROOT_DIR, PACKAGES_DIR] {
        let path = dir.join(sub);
        std::fs::create_dir(&path).map_err(io_error(&path))?;
    }
    hpk_verify::sync_dir(dir);
    let target = dir.join(inside);
    write_new(&target, root).map_err(io_error(&target))
}

// ---- add-root ----

/// The newest trust root of `repo`, loaded and judged at `clock` (an
/// expired one verifies nothing devices would accept).
fn newest_root(
    repo: &Repository,
    clock: Clock,
    limits: &Limits,
) -> CliResult<(RootVersions, TrustedRoot)> {
    let versions = repo.root_versions()?;
    let path = repo.path(&root_file(versions.newest));
    let bytes = read_metadata(&path, limits)?;
    let root = TrustedRoot::load(&bytes, clock, limits).map_err(|e| {
        let err = inputs::root_error(&path, &e);
        match e {
            RootError::Expired { .. } => err.hint(format!(
                "add its next version first: `hpk repo add-root {} NEW.hpkroot`",
                repo.dir().display()
            )),
            _ => err,
        }
    })?;
    Ok((versions, root))
}

/// `hpk repo add-root`.
fn add_root(dir: &Path, new: &Path, now: Option<u64>, as_json: bool, ui: Ui) -> CliResult {
    let repo = Repository::open(dir)?;
    let limits = Limits::default();
    let clock = inputs::clock(now, None);
    let versions = repo.root_versions()?;
    let newest_path = repo.path(&root_file(versions.newest));
    let newest_bytes = read_metadata(&newest_path, &limits)?;
    // Only the signatures of the newest version are checked: rotating
    // away from an expired root is legitimate (VR7).
    let newest = TrustedRoot::load(&newest_bytes, Clock::LowerBound(0), &limits)
        .map_err(|e| inputs::root_error(&newest_path, &e))?;
    let bytes = read_metadata(new, &limits)?;
    let (root, written) = match newest.update(&bytes, &limits) {
        Ok(next) => {
            next.check_expiry(clock)
                .map_err(|e| inputs::root_error(new, &e))?;
            (next, true)
        }
        Err(e) => {
            let claimed = claimed_version(new, &e);
            match claimed.filter(|v| added_before(&repo, versions, *v, &bytes, &limits)) {
                // The same file again: nothing to do. Its bytes are the
                // repository's, checked when they were added.
                Some(_) => (
                    TrustedRoot::load(&bytes, Clock::LowerBound(0), &limits)
                        .map_err(|e| inputs::root_error(new, &e))?,
                    false,
                ),
                None => {
                    return Err(add_root_error(
                        new,
                        &newest_path,
                        versions.newest,
                        claimed,
                        e,
                    ));
                }
            }
        }
    };
    let version = root.root().version;
    let inside = root_file(version);
    if written {
        let target = repo.path(&inside);
        write_new(&target, &bytes).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                CliError::usage(format!(
                    "{}: appeared while this command ran: root versions are never replaced",
                    target.display()
                ))
                .hint("one publisher at a time: run `hpk repo add-root` again")
            } else {
                CliError::io(&target, &e)
            }
        })?;
    }
    if as_json {
        json::print(&json!({
            "schema": "hpk-repo-add-root/1",
            "repository": dir.display().to_string(),
            "file": new.display().to_string(),
            "root_file": inside,
            "version": version,
            "digest": root.digest().to_hex(),
            "expires": root.root().expires,
            "written": written,
        }));
    }
    if written {
        ui.note(format!(
            "added {inside} (trust root version {version}, a valid rotation from version {}, expires {})",
            versions.newest,
            inputs::format_time(root.root().expires)
        ));
    } else {
        ui.note(format!(
            "{} is already {inside}: nothing to do",
            new.display()
        ));
    }
    Ok(())
}

/// The version a root that is not the next one says it is: from the
/// error, else read from the file without checking it, only to phrase
/// the error or find the same file in the repository, never trusted.
fn claimed_version(new: &Path, e: &RootError) -> Option<u64> {
    match e {
        RootError::Version(v) => Some(v.found),
        _ => hpk_sign::root::read_root_file(new)
            .ok()
            .map(|(_, r)| r.version),
    }
}

/// Whether `root/<version>.hpkroot` is in the repository with exactly
/// `bytes`.
fn added_before(
    repo: &Repository,
    versions: RootVersions,
    version: u64,
    bytes: &[u8],
    limits: &Limits,
) -> bool {
    (versions.oldest..=versions.newest).contains(&version)
        && read_metadata(&repo.path(&root_file(version)), limits).is_ok_and(|b| b == bytes)
}

/// A next root that devices would refuse, as an error about `new`; a
/// version that is not the next one is said plainly.
fn add_root_error(
    new: &Path,
    newest_path: &Path,
    newest: u64,
    claimed: Option<u64>,
    e: RootError,
) -> CliError {
    let expected = newest.saturating_add(1);
    let err = rotation_error(&RotationError::Rejected {
        path: new.to_path_buf(),
        source: e,
    });
    match claimed {
        Some(found) if found > expected => CliError {
            message: format!(
                "{}: trust root version {found}, but the repository's newest is version {newest}: devices walk rotations one version at a time, so version {expected} comes first",
                new.display()
            ),
            ..err
        }
        .hint(format!("add the versions in order, version {expected} first")),
        Some(found) if found <= newest => CliError {
            message: format!(
                "{}: trust root version {found}, but the repository holds versions up to {newest}, and a published version never changes",
                new.display()
            ),
            ..err
        }
        .hint(format!(
            "make version {expected} from the newest, e.g. `hpk root renew {} --expires-in 365 --out NEW`, and sign it with the old and the new root keys",
            newest_path.display()
        )),
        _ => err,
    }
}

// ---- add ----

/// What adding one package did.
struct Added {
    /// The package file given.
    file: PathBuf,
    /// Its verified manifest.
    manifest: Verified<Manifest>,
    /// Its size in bytes.
    size: u64,
    /// Its path in the repository: its location for the catalog.
    location: String,
    /// Whether it was written (`false`: it was there already).
    written: bool,
}

/// `hpk repo add`: each package on its own, in order; a failure stops at
/// that package, and those before it stay (no catalog names them yet).
fn add(dir: &Path, packages: &[PathBuf], now: Option<u64>, as_json: bool, ui: Ui) -> CliResult {
    let repo = Repository::open(dir)?;
    let limits = Limits::default();
    let clock = inputs::clock(now, None);
    let (versions, root) = newest_root(&repo, clock, &limits)?;
    let verifier = Verifier::new(root).clock(clock).limits(limits.clone());
    let root_path = repo.path(&root_file(versions.newest));
    let mut done = Vec::with_capacity(packages.len());
    for path in packages {
        let added = add_package(&repo, &verifier, &limits, path, ui).map_err(|e| {
            if e.class == Some(ErrorClass::Signature) && e.hint.is_none() {
                e.hint(format!(
                    "a repository takes packages that verify under its newest trust root, {}: sign with a key of its role for this kind (`hpk sign PKG --key KEY --root {}`)",
                    root_path.display(),
                    root_path.display()
                ))
            } else {
                e
            }
        })?;
        if !as_json {
            outln!("{}", added.location);
        }
        ui.note(format!(
            "{} {} {} ({}, {}){}: add it to the catalog with `hpk catalog add CATALOG {} --location {}`",
            if added.written { "added" } else { "already there:" },
            added.manifest.name,
            added.manifest.version,
            added.manifest.kind.name(),
            human_bytes(added.size),
            if added.written {
                format!(" as {}", added.location)
            } else {
                String::new()
            },
            added.file.display(),
            added.location
        ));
        done.push(added);
    }
    if as_json {
        json::print(&json!({
            "schema": "hpk-repo-add/1",
            "repository": dir.display().to_string(),
            "root_version": versions.newest,
            "packages": done.iter().map(|a| json!({
                "file": a.file.display().to_string(),
                "name": a.manifest.name.as_str(),
                "version": a.manifest.version.to_string(),
                "kind": a.manifest.kind.name(),
                "manifest_digest": a.manifest.digest().to_hex(),
                "size": a.size,
                "location": a.location,
                "written": a.written,
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(())
}

/// Verifies the package at `path` (every stored byte, and what of the
/// policy needs no device) and copies it to `packages/<digest>.hpk`, as
/// one pass: the file written is exactly the bytes verified, committed
/// only once they have verified.
fn add_package(
    repo: &Repository,
    verifier: &Verifier,
    limits: &Limits,
    path: &Path,
    ui: Ui,
) -> CliResult<Added> {
    // Read twice (the head for its name, then the whole): a regular file.
    inputs::regular_file(path, "repo add")?;
    let size = std::fs::metadata(path).map_err(io_error(path))?.len();
    // The name comes from the head, so the temporary file can sit beside
    // it; the verified manifest's digest must then be the same.
    let digest = manifest_digest(path, limits)?;
    let location = package_location(&digest);
    let target = repo.path(&location);
    let added = |manifest, written| Added {
        file: path.to_path_buf(),
        manifest,
        size,
        location: location.clone(),
        written,
    };
    if std::fs::symlink_metadata(&target).is_ok() {
        let manifest = verify_copy(verifier, path, size, None, &target, ui)?;
        same_package(repo, path, &target, &location)?;
        return Ok(added(manifest, false));
    }
    let mut out = AtomicFile::create(&target).map_err(io_error(&target))?;
    let file = out.file().map_err(io_error(&target))?;
    let manifest = verify_copy(verifier, path, size, Some(file), &target, ui)?;
    if manifest.digest() != digest {
        return Err(
            CliError::usage(format!("{}: changed while it was read", path.display()))
                .hint("add it again once nothing writes it"),
        );
    }
    match out.commit_new() {
        Ok(()) => Ok(added(manifest, true)),
        // Added meanwhile by another run: the same bytes are no change.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            same_package(repo, path, &target, &location)?;
            Ok(added(manifest, false))
        }
        Err(e) => Err(CliError::io(&target, &e)),
    }
}

/// The manifest digest of the package at `path`, from its head (not
/// authenticated: it only names the file, and is compared with the
/// verified manifest's).
pub(crate) fn manifest_digest(path: &Path, limits: &Limits) -> CliResult<Digest> {
    let mut input = BufReader::new(File::open(path).map_err(io_error(path))?);
    let head = hpk_format::read_head(&mut input, FileType::Package, limits)
        .map_err(|e| verify_error(path, &hpk_verify::VerifyError::Container(e)))?;
    Ok(Digest::of(&head.body))
}

/// An existing `target` must hold the bytes of `path`: a package is
/// never replaced.
fn same_package(repo: &Repository, path: &Path, target: &Path, location: &str) -> CliResult {
    if repository::same_bytes(path, target).map_err(io_error(target))? {
        return Ok(());
    }
    let newest = repo
        .root_versions()
        .map(|v| repo.path(&root_file(v.newest)).display().to_string())
        .unwrap_or_else(|_| "ROOT".to_owned());
    Err(CliError::new(
        Failure::Invalid,
        format!(
            "{}: {location} is in the repository with other bytes: the same manifest with other signatures, or a damaged or tampered copy",
            path.display()
        ),
    )
    .with_class(ErrorClass::Integrity)
    .hint(format!(
        "packages are never replaced, since caches may hold them: check the copy with `hpk verify {} --root {newest}`",
        target.display()
    )))
}

/// A reader that copies every byte it reads into `copy`, so that what is
/// written is exactly what was verified. A write error is kept apart, to
/// be reported as the output's.
struct Tee<'a, R> {
    input: R,
    copy: Option<BufWriter<&'a mut File>>,
    write_error: Option<io::Error>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf)?;
        if let Some(copy) = &mut self.copy
            && let Err(e) = copy.write_all(buf.get(..n).unwrap_or_default())
        {
            let message = format!("writing the copy failed: {e}");
            self.write_error = Some(e);
            return Err(io::Error::other(message));
        }
        Ok(n)
    }
}

/// Verifies the package at `path` (`size` bytes) at stored depth, with
/// the policy that needs no device (critical extensions, time), copying
/// what it reads into `copy` (the temporary file of `target`).
fn verify_copy(
    verifier: &Verifier,
    path: &Path,
    size: u64,
    copy: Option<&mut File>,
    target: &Path,
    ui: Ui,
) -> CliResult<Verified<Manifest>> {
    let input = BufReader::with_capacity(COPY_BUFFER, File::open(path).map_err(io_error(path))?);
    let mut tee = Tee {
        input,
        copy: copy.map(|f| BufWriter::with_capacity(COPY_BUFFER, f)),
        write_error: None,
    };
    let verified = verify_stored(verifier, &mut tee, path, size, ui);
    if let Some(e) = tee.write_error.take() {
        return Err(CliError::io(target, &e));
    }
    let manifest = verified?;
    if let Some(mut copy) = tee.copy {
        copy.flush().map_err(io_error(target))?;
    }
    Ok(manifest)
}

/// Header, intrinsic policy, then every stored byte and the end of the
/// input.
fn verify_stored<R: Read>(
    verifier: &Verifier,
    input: R,
    path: &Path,
    size: u64,
    ui: Ui,
) -> CliResult<Verified<Manifest>> {
    let package = verifier
        .package_of_len(input, Some(size))
        .map_err(|e| verify_error(path, &e))?;
    let package = package.judge_without_device().map_err(|refused| {
        not_applicable_error(
            path,
            &refused.reason,
            refused.package.manifest(),
            verifier.time(),
            "; not added",
        )
    })?;
    let progress = ui.progress("verifying", package.header().payload_len);
    let result = package.verify_with_progress(Depth::Stored, &mut |done| progress.set(done));
    progress.finish();
    result.map_err(|e| verify_error(path, &e))
}

// ---- publish ----

/// `hpk repo publish`.
fn publish(dir: &Path, catalog: &Path, now: Option<u64>, as_json: bool, ui: Ui) -> CliResult {
    let repo = Repository::open(dir)?;
    let limits = Limits::default();
    let clock = inputs::clock(now, None);
    let (versions, root) = newest_root(&repo, clock, &limits)?;
    let verifier = Verifier::new(root).clock(clock).limits(limits.clone());
    let bytes = read_metadata(catalog, &limits)?;
    let verified = verifier
        .catalog_above(bytes.as_slice(), 0)
        .map_err(|e| catalog_error(catalog, &e))?;
    let target = repo.path(CATALOG_FILE);
    let previous = published_version(&target)?;
    let mut unchanged = false;
    if let Some(previous) = previous {
        if verified.version < previous {
            return Err(CliError::new(
                Failure::Invalid,
                format!(
                    "{}: catalog version {} is older than version {previous}, the one published: a repository never goes back",
                    catalog.display(),
                    verified.version
                ),
            )
            .with_class(ErrorClass::Policy)
            .with_reason(Some("rollback"))
            .hint(format!(
                "publish a version above {previous}: edit the published catalog (`hpk catalog add` or `remove` on a signed catalog makes its next version), then sign it"
            )));
        }
        if verified.version == previous {
            let published = read_metadata(&target, &limits)?;
            if published != bytes {
                return Err(CliError::new(
                    Failure::Invalid,
                    format!(
                        "{}: catalog version {previous} is published already, with other bytes: devices that saw one would accept the other",
                        catalog.display()
                    ),
                )
                .hint(format!("give it a version above {previous}, and sign it again")));
            }
            unchanged = true;
        }
    }
    for entry in &verified.entries {
        check_entry(&repo, &verifier, catalog, entry)?;
    }
    if !unchanged {
        let mut out = AtomicFile::create(&target).map_err(io_error(&target))?;
        out.file()
            .and_then(|f| f.write_all(&bytes))
            .map_err(io_error(&target))?;
        out.commit().map_err(io_error(&target))?;
    }
    if as_json {
        json::print(&json!({
            "schema": "hpk-repo-publish/1",
            "repository": dir.display().to_string(),
            "file": catalog.display().to_string(),
            "version": verified.version,
            "previous_version": previous,
            "expires": verified.expires,
            "digest": verified.digest().to_hex(),
            "catalog_role": verified.role_digest().to_hex(),
            "root_version": versions.newest,
            "written": !unchanged,
            "entries": verified.entries.iter().map(json::entry).collect::<Vec<_>>(),
        }));
    }
    if unchanged {
        ui.note(format!(
            "catalog version {} is published already: nothing to do",
            verified.version
        ));
    } else {
        ui.note(format!(
            "published catalog version {} ({} entr{}, expires {}) as {}",
            verified.version,
            verified.entries.len(),
            if verified.entries.len() == 1 {
                "y"
            } else {
                "ies"
            },
            inputs::format_time(verified.expires),
            target.display()
        ));
    }
    Ok(())
}

/// The version of the catalog published at `target`, if any. It was
/// verified when it was published; here it is only read, so that a
/// catalog whose role has since rotated still holds the repository's
/// floor.
fn published_version(target: &Path) -> CliResult<Option<u64>> {
    if std::fs::symlink_metadata(target).is_err() {
        return Ok(None);
    }
    let (_, published) = hpk_sign::catalog::read_catalog_file(target).map_err(|e| {
        let err = sign_error(&e);
        CliError {
            message: format!("the published catalog does not read: {}", err.message),
            ..err
        }
    })?;
    Ok(Some(published.version))
}

/// An entry of a catalog being published must name a package of the
/// repository: at `packages/<its manifest digest>.hpk` relative to the
/// catalog, with the entry's size, and verifying under the newest root
/// as a fetched package does (VF1–VF4, head only: every byte was checked
/// when it was added).
fn check_entry(
    repo: &Repository,
    verifier: &Verifier,
    catalog: &Path,
    entry: &CatalogEntry,
) -> CliResult {
    let expected = package_location(&entry.manifest_digest);
    let what = format!(
        "{}: entry {} {}",
        catalog.display(),
        entry.name,
        entry.version
    );
    if repository::location_in_repository(&entry.location).as_deref() != Some(expected.as_str()) {
        return Err(CliError::usage(format!(
            "{what}: location {} is not {expected} in this repository (a repository serves every package its catalog names)",
            entry.location
        ))
        .hint(format!(
            "`hpk repo add {} PKG` adds the package and prints its location; then `hpk catalog add CATALOG PKG --location {expected}` and sign the catalog again",
            repo.dir().display()
        )));
    }
    let path = repo.path(&expected);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(
                CliError::usage(format!("{what}: {expected} is not in the repository")).hint(
                    format!(
                        "add the package first: `hpk repo add {} PKG`",
                        repo.dir().display()
                    ),
                ),
            );
        }
        Err(e) => return Err(CliError::io(&path, &e)),
    };
    let len = file.metadata().map_err(io_error(&path))?.len();
    if len != entry.size {
        return Err(CliError::new(
            Failure::Invalid,
            format!(
                "{}: {len} bytes, but the catalog entry {} {} says {}",
                path.display(),
                entry.name,
                entry.version,
                entry.size
            ),
        )
        .with_class(ErrorClass::Integrity)
        .hint("the catalog was made from another file than the repository's: add the package from the repository's copy"));
    }
    verifier
        .fetched(entry, BufReader::new(file))
        .map(drop)
        .map_err(|e| match &e {
            FetchError::Verify(inner) => verify_error(&path, inner),
            _ => CliError::from_class(e.class(), &path, &e),
        })
}
