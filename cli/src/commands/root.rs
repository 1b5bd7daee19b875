//! `hpk root …`: create, edit, sign and check trust roots.
//!
//! Editing an unsigned root changes it in place. Editing a signed (that is,
//! published) root makes the next version, written to `--out`, which must
//! then be signed by a threshold of the old root keys and of its own.

use crate::commands::sign::sign_error;
use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::ui::Ui;
use clap::Subcommand;
use hpk_format::{KeyId, RoleName, TrustRoot};
use hpk_sign::root::{self, RoleKeys, RoleSpec, RotationError, SaveOutcome};
use std::path::{Path, PathBuf};

fn role_arg(s: &str) -> Result<RoleName, String> {
    RoleName::parse(s)
        .ok_or_else(|| format!("{s}: expected root, release, hotpatch, recovery or catalog"))
}

fn time_arg(s: &str) -> Result<u64, String> {
    inputs::parse_time(s)
}

fn days_arg(s: &str) -> Result<u64, String> {
    inputs::parse_days(s)
}

fn threshold_arg(s: &str) -> Result<(RoleName, u32), String> {
    let (role, n) = s
        .split_once('=')
        .ok_or_else(|| format!("{s}: expected ROLE=N, e.g. root=2"))?;
    let n = n
        .parse::<u32>()
        .map_err(|_| format!("{s}: N must be a number"))?;
    Ok((role_arg(role)?, n))
}

/// The `hpk root` subcommands.
#[derive(Subcommand)]
pub enum RootCommand {
    /// Create version 1 of a trust root (unsigned; sign it with `hpk root sign`).
    #[command(
        after_help = "Example:\n  hpk root init --out root.hpkroot --root-key root.key.pub \\\n    --release-key release.key.pub --hotpatch-key hotpatch.key.pub \\\n    --recovery-key recovery.key.pub --catalog-key catalog.key.pub --expires-in 365"
    )]
    Init {
        /// Trust root file to write.
        #[arg(long, short)]
        out: PathBuf,
        /// Public key of the root role (repeat for several).
        #[arg(long = "root-key", value_name = "PUB", required = true)]
        root_keys: Vec<PathBuf>,
        /// Public key of the release role: baselines and standard updates.
        /// Leave out a role (other than root) you do not use: the trust root
        /// then has no such role, and files that need it are refused.
        #[arg(long = "release-key", value_name = "PUB")]
        release_keys: Vec<PathBuf>,
        /// Public key of the hotpatch role.
        #[arg(long = "hotpatch-key", value_name = "PUB")]
        hotpatch_keys: Vec<PathBuf>,
        /// Public key of the recovery role.
        #[arg(long = "recovery-key", value_name = "PUB")]
        recovery_keys: Vec<PathBuf>,
        /// Public key of the catalog role.
        #[arg(long = "catalog-key", value_name = "PUB")]
        catalog_keys: Vec<PathBuf>,
        /// A role's threshold (default 1), e.g. root=2. Repeatable.
        #[arg(long, value_parser = threshold_arg, value_name = "ROLE=N")]
        threshold: Vec<(RoleName, u32)>,
        /// Creation time (default: SOURCE_DATE_EPOCH or now).
        #[arg(long, value_parser = time_arg, value_name = "TIME")]
        created: Option<u64>,
        /// Days until it expires.
        #[arg(long, value_parser = days_arg, default_value = "365", value_name = "DAYS")]
        expires_in: u64,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Add a key to a role.
    #[command(
        after_help = "Example:\n  hpk root add-key root.hpkroot --role hotpatch --pubkey hotpatch2.key.pub --out root-v2.hpkroot"
    )]
    AddKey {
        /// The trust root.
        root: PathBuf,
        /// The role.
        #[arg(long, value_parser = role_arg)]
        role: RoleName,
        /// The public key to add.
        #[arg(long)]
        pubkey: PathBuf,
        #[command(flatten)]
        edit: EditArgs,
    },
    /// Remove a key from a role.
    #[command(
        after_help = "Example:\n  hpk root remove-key root.hpkroot --role release --key-id 3f2a… --out root-v2.hpkroot"
    )]
    RemoveKey {
        /// The trust root.
        root: PathBuf,
        /// The role.
        #[arg(long, value_parser = role_arg)]
        role: RoleName,
        /// The key, by public key file.
        #[arg(long, conflicts_with = "key_id", required_unless_present = "key_id")]
        pubkey: Option<PathBuf>,
        /// The key, by key id (64 hex digits).
        #[arg(long)]
        key_id: Option<String>,
        #[command(flatten)]
        edit: EditArgs,
    },
    /// Set a role's threshold.
    #[command(
        after_help = "Example:\n  hpk root set-threshold root.hpkroot --role root --threshold 2 --out root-v2.hpkroot"
    )]
    SetThreshold {
        /// The trust root.
        root: PathBuf,
        /// The role.
        #[arg(long, value_parser = role_arg)]
        role: RoleName,
        /// Distinct keys that must sign.
        #[arg(long)]
        threshold: u32,
        #[command(flatten)]
        edit: EditArgs,
    },
    /// Renew a trust root: its next version with a new expiry (unsigned).
    #[command(
        after_help = "Example:\n  hpk root renew root-v2.hpkroot --expires-in 365 --out root-v3.hpkroot\n  hpk root renew root-v2.hpkroot --expires 2027-12-31 --out root-v3.hpkroot"
    )]
    Renew {
        /// The trust root.
        root: PathBuf,
        /// Days until the new version expires, from its creation (now, or SOURCE_DATE_EPOCH).
        #[arg(long, value_parser = days_arg, value_name = "DAYS", required_unless_present = "expires")]
        expires_in: Option<u64>,
        /// When the new version expires (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).
        #[arg(long, value_parser = time_arg, value_name = "TIME", conflicts_with = "expires_in")]
        expires: Option<u64>,
        /// Write the new version here. Required when ROOT is signed.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Sign a trust root (for a rotation: with old and new root keys).
    #[command(
        after_help = "Example:\n  hpk root sign root-v2.hpkroot --key old-root.key\n  hpk root sign root-v2.hpkroot --pkcs11 'pkcs11:token=root;object=root-2026' \\\n    --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file pin.txt"
    )]
    Sign {
        /// The trust root.
        root: PathBuf,
        #[command(flatten)]
        signer: crate::commands::sign::SignerArgs,
        /// Write here instead of in place.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Check a trust root, or a rotation chain from a trusted one.
    #[command(
        after_help = "Example:\n  hpk root verify root.hpkroot\n  hpk root verify root-v2.hpkroot --trusted root.hpkroot\n  hpk root verify root-v2.hpkroot root-v3.hpkroot --trusted root.hpkroot --json"
    )]
    Verify {
        /// The trust root to check; several: a chain, each the next
        /// version of the one before (with --trusted, of the trusted root
        /// first). Time is judged on the last one only.
        #[arg(required = true, value_name = "ROOT")]
        roots: Vec<PathBuf>,
        /// The root currently trusted: check that the ROOTs are, in order,
        /// its valid next versions.
        #[arg(long)]
        trusted: Option<PathBuf>,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-root/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Write the statement an external signer must sign for a trust root (50 bytes).
    #[command(
        after_help = "Example:\n  hpk root tbs root-v2.hpkroot --out root-v2.msg\n  openssl pkeyutl -sign -rawin -inkey root.key -in root-v2.msg -out root-v2.sig\n  hpk root attach root-v2.hpkroot --pubkey root.key.pub --signature root-v2.sig"
    )]
    Tbs {
        /// The trust root.
        root: PathBuf,
        /// Message file to write.
        #[arg(long, short)]
        out: PathBuf,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Attach a raw 64-byte Ed25519 signature made elsewhere to a trust root.
    #[command(
        after_help = "Example:\n  hpk root attach root-v2.hpkroot --pubkey root.key.pub --signature root-v2.sig"
    )]
    Attach {
        /// The trust root.
        root: PathBuf,
        /// The signer's public key (SPKI PEM).
        #[arg(long)]
        pubkey: PathBuf,
        /// The raw 64-byte signature.
        #[arg(long)]
        signature: PathBuf,
        /// Write here instead of in place.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
}

impl RootCommand {
    /// For the subcommands that add a signature or write a message: the
    /// input file, the `--out` file and `--force`.
    pub fn output(&self) -> Option<(&Path, Option<&Path>, bool)> {
        match self {
            RootCommand::Sign {
                root, out, force, ..
            }
            | RootCommand::Attach {
                root, out, force, ..
            } => Some((root, out.as_deref(), *force)),
            RootCommand::Tbs { root, out, force } => Some((root, Some(out), *force)),
            _ => None,
        }
    }
}

/// Where an edit goes.
#[derive(clap::Args)]
pub struct EditArgs {
    /// Write the edited root here. Required when ROOT is signed: the edit
    /// then makes its next version.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Days until the edited root expires, from its creation time
    /// (default: keep the old expiry, or 365 days for a next version).
    #[arg(long, value_parser = days_arg, value_name = "DAYS")]
    expires_in: Option<u64>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    force: bool,
}

impl EditArgs {
    fn load(&self, path: &Path) -> CliResult<(TrustRoot, PathBuf)> {
        load_for_edit(
            path,
            self.out.as_deref(),
            NewExpiry::of(self.expires_in, None),
            self.force,
        )
    }
}

/// Authoring time: `SOURCE_DATE_EPOCH` if set, else now.
pub fn authoring_time() -> CliResult<u64> {
    Ok(hpk_sign::source_date_epoch()
        .map_err(|e| CliError::usage(e.to_string()))?
        .unwrap_or_else(inputs::now))
}

fn edit_error(path: &Path, e: root::RootEditError) -> CliError {
    match e {
        root::RootEditError::Expiry { created, expires } => CliError::usage(format!(
            "{}: expiry {} is not after the creation time {}",
            path.display(),
            inputs::format_time(expires),
            inputs::format_time(created)
        ))
        .hint("give a later --expires, or a positive --expires-in"),
        e => CliError::usage(format!("{}: {e}", path.display())),
    }
}

/// The expiry an edit gives the root.
#[derive(Clone, Copy)]
enum NewExpiry {
    /// Keep it (a next version: 365 days after its creation).
    Keep,
    /// This many seconds after the (new) root's creation time.
    After(u64),
    /// At this time.
    At(u64),
}

impl NewExpiry {
    fn of(expires_in: Option<u64>, expires: Option<u64>) -> NewExpiry {
        match (expires, expires_in) {
            (Some(t), _) => NewExpiry::At(t),
            (None, Some(d)) => NewExpiry::After(d),
            (None, None) => NewExpiry::Keep,
        }
    }

    fn time(self, created: u64, old: u64) -> u64 {
        match self {
            NewExpiry::Keep => old,
            NewExpiry::After(d) => created.saturating_add(d),
            NewExpiry::At(t) => t,
        }
    }
}

/// Loads `path` for editing: the root as it is if unsigned, else its next
/// version (which needs `--out`, a new file unless `force`).
fn load_for_edit(
    path: &Path,
    out: Option<&Path>,
    expiry: NewExpiry,
    force: bool,
) -> CliResult<(TrustRoot, PathBuf)> {
    inputs::regular_file(path, "root")?;
    let (head, current) = root::read_root_file(path).map_err(|e| sign_error(&e))?;
    let now = authoring_time()?;
    if head.signatures.is_empty() {
        let mut r = current;
        if !matches!(expiry, NewExpiry::Keep) {
            let expires = expiry.time(r.created, r.expires);
            root::set_expiry(&mut r, expires).map_err(|e| edit_error(path, e))?;
        }
        let out = out.unwrap_or(path);
        if out != path && !force && std::fs::symlink_metadata(out).is_ok() {
            return Err(exists(out));
        }
        return Ok((r, out.to_path_buf()));
    }
    let out = out.ok_or_else(|| {
        CliError::usage(format!("{} is signed (published): an edit makes version {}", path.display(), current.version.saturating_add(1)))
            .hint("write it to a new file with --out NEW, then sign NEW with the old and the new root keys")
    })?;
    if out == path {
        return Err(CliError::usage(format!(
            "{}: --out must differ from the signed root: devices need the old version to check the new one",
            path.display()
        ))
        .hint("write the next version to a new file, e.g. --out root-v2.hpkroot"));
    }
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(exists(out));
    }
    let expires = match expiry {
        NewExpiry::Keep => now.saturating_add(365 * 86_400),
        other => other.time(now, current.expires),
    };
    let next = root::next_version(&current, now, expires).map_err(|e| edit_error(path, e))?;
    Ok((next, out.to_path_buf()))
}

/// An output that exists, as an error.
fn exists(out: &Path) -> CliError {
    CliError::usage(format!("{} exists", out.display()))
        .hint("pass --force to overwrite it, or write to another file")
}

fn save(out: &Path, r: &TrustRoot, ui: Ui) -> CliResult {
    let outcome = root::save_root(out, r).map_err(|e| sign_error(&e))?;
    match outcome {
        SaveOutcome::Unchanged { .. } => ui.note(format!("{} unchanged", out.display())),
        SaveOutcome::Written { dropped_signatures } => {
            ui.note(format!(
                "wrote {} (version {}, unsigned{}){}",
                out.display(),
                r.version,
                if dropped_signatures > 0 {
                    format!("; {dropped_signatures} old signature(s) dropped")
                } else {
                    String::new()
                },
                if r.version > 1 {
                    format!(
                        ": sign it with root keys of version {} and of its own (`hpk root sign`)",
                        r.version - 1
                    )
                } else {
                    ": sign it with `hpk root sign`".to_owned()
                }
            ));
        }
        _ => {}
    }
    Ok(())
}

fn keys(paths: &[PathBuf]) -> CliResult<Vec<hpk_sign::PublicKey>> {
    paths.iter().map(|p| inputs::public_key(p)).collect()
}

/// A rotation that devices would refuse, as an error.
pub(crate) fn rotation_error(e: &RotationError) -> CliError {
    match e {
        RotationError::Io { path, source } => CliError::io(path, source),
        RotationError::Current { path, source } => {
            let inner = inputs::root_error(path, source);
            CliError {
                message: format!("the trusted root does not load: {}", inner.message),
                ..inner
            }
        }
        RotationError::Rejected { path, source } => {
            let inner = inputs::root_error(path, source);
            let hint = match source {
                hpk_verify::RootError::Signature(_) => Some(
                    "sign the new version with a threshold of the old root keys and of its own: `hpk root sign NEW --key ROOT_KEY`",
                ),
                hpk_verify::RootError::Version(_) => Some(
                    "make the next version by editing the trusted root with --out NEW (`hpk root add-key`, `remove-key`, `set-threshold`)",
                ),
                _ => None,
            };
            let err = CliError {
                message: format!("devices would refuse this rotation: {}", inner.message),
                ..inner
            };
            match hint {
                Some(h) => err.hint(h),
                None => err,
            }
        }
        _ => CliError::new(Failure::Invalid, e.to_string()).caused_by(e),
    }
}

impl RootCommand {
    /// Whether the command was asked for JSON output.
    pub fn wants_json(&self) -> bool {
        matches!(self, RootCommand::Verify { json: true, .. })
    }
}

/// `hpk root verify`: a pinned root, or a chain applied to it one version
/// at a time (VR1–VR6 per step), the time judged on the last root only
/// (VR7), as an agent catches up.
fn verify(roots: &[PathBuf], trusted: Option<&Path>, now: Option<u64>, json: bool) -> CliResult {
    let clock = inputs::clock(now, None);
    let limits = hpk_format::Limits::default();
    // The pinned root: --trusted, else the first ROOT.
    let (pinned, chain) = match trusted {
        Some(t) => (t, roots),
        None => match roots.split_first() {
            Some((first, rest)) => (first.as_path(), rest),
            None => return Err(CliError::usage("give a trust root")),
        },
    };
    let last = roots.last().map_or(pinned, PathBuf::as_path);
    // Each root is read once, through its bound (C17). A lower bound of 0
    // judges no time: only the last root's time is.
    let mut current = hpk_verify::TrustedRoot::load_from(
        inputs::open(pinned)?,
        hpk_verify::Clock::LowerBound(0),
        &limits,
    )
    .map_err(|e| {
        let inner = inputs::root_error(pinned, &e);
        if chain.is_empty() {
            inner
        } else {
            CliError {
                message: format!("the trusted root does not load: {}", inner.message),
                ..inner
            }
        }
    })?;
    for next in chain {
        current = current
            .update_from(inputs::open(next)?, &limits)
            .map_err(|source| {
                rotation_error(&RotationError::Rejected {
                    path: next.clone(),
                    source,
                })
            })?;
    }
    current
        .check_expiry(clock)
        .map_err(|e| inputs::root_error(last, &e))?;
    let r = current.root();
    if json {
        crate::json::print(&serde_json::json!({
            "schema": "hpk-root/1",
            "file": last.display().to_string(),
            "trusted": pinned.display().to_string(),
            "chain": chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "version": r.version,
            "created": r.created,
            "expires": r.expires,
            "digest": current.digest().to_hex(),
            "roles": r.roles.present().map(|(name, role)| {
                serde_json::json!({
                    "name": name.as_str(),
                    "threshold": role.threshold,
                    "keys": role.keys.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
                })
            }).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    outln!(
        "OK: trust root version {}{}, expires {}, {} key(s)",
        r.version,
        match chain.len() {
            0 => String::new(),
            1 => " (a valid rotation)".to_owned(),
            n => format!(" (a valid rotation, {n} versions)"),
        },
        inputs::format_time(r.expires),
        r.keys.len()
    );
    for name in RoleName::ALL {
        let Some(role) = r.roles.get(name) else {
            outln!(
                "  {:<9} none (files that need it are refused)",
                name.as_str()
            );
            continue;
        };
        outln!(
            "  {:<9} threshold {} of {}: {}",
            name.as_str(),
            role.threshold,
            role.keys.len(),
            role.keys
                .iter()
                .map(|k| k.short())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Runs an `hpk root` subcommand.
pub fn run(cmd: RootCommand, ui: Ui) -> CliResult {
    match cmd {
        RootCommand::Init {
            out,
            root_keys,
            release_keys,
            hotpatch_keys,
            recovery_keys,
            catalog_keys,
            threshold,
            created,
            expires_in,
            force,
        } => {
            if out.exists() && !force {
                return Err(CliError::usage(format!("{} exists", out.display()))
                    .hint("pass --force to overwrite"));
            }
            let mut role_keys = RoleKeys {
                root: RoleSpec::new(keys(&root_keys)?, 1),
                release: RoleSpec::new(keys(&release_keys)?, 1),
                hotpatch: RoleSpec::new(keys(&hotpatch_keys)?, 1),
                recovery: RoleSpec::new(keys(&recovery_keys)?, 1),
                catalog: RoleSpec::new(keys(&catalog_keys)?, 1),
            };
            for (role, n) in threshold {
                role_keys.get_mut(role).threshold = n;
            }
            let created = match created {
                Some(c) => c,
                None => authoring_time()?,
            };
            let r = root::init(&role_keys, created, created.saturating_add(expires_in))
                .map_err(|e| edit_error(&out, e))?;
            root::write_unsigned_root(&out, &r).map_err(|e| sign_error(&e))?;
            ui.note(format!(
                "wrote {} (version 1, {} keys, unsigned): sign it with `hpk root sign {} --key ROOT_KEY`",
                out.display(),
                r.keys.len(),
                out.display()
            ));
            Ok(())
        }
        RootCommand::AddKey {
            root: path,
            role,
            pubkey,
            edit,
        } => {
            let key = inputs::public_key(&pubkey)?;
            let (mut r, out) = edit.load(&path)?;
            root::add_key(&mut r, role, &key).map_err(|e| edit_error(&path, e))?;
            save(&out, &r, ui)
        }
        RootCommand::RemoveKey {
            root: path,
            role,
            pubkey,
            key_id,
            edit,
        } => {
            let id = match (pubkey, key_id) {
                (Some(p), _) => inputs::public_key(&p)?.key_id(),
                (None, Some(hex)) => KeyId::from_hex(&hex)
                    .ok_or_else(|| CliError::usage(format!("{hex}: expected 64 hex digits")))?,
                (None, None) => return Err(CliError::usage("give --pubkey or --key-id")),
            };
            let (mut r, out) = edit.load(&path)?;
            root::remove_key(&mut r, role, &id).map_err(|e| edit_error(&path, e))?;
            save(&out, &r, ui)
        }
        RootCommand::SetThreshold {
            root: path,
            role,
            threshold,
            edit,
        } => {
            let (mut r, out) = edit.load(&path)?;
            root::set_threshold(&mut r, role, threshold).map_err(|e| edit_error(&path, e))?;
            save(&out, &r, ui)
        }
        RootCommand::Renew {
            root: path,
            expires_in,
            expires,
            out,
            force,
        } => {
            let (r, out) = load_for_edit(
                &path,
                out.as_deref(),
                NewExpiry::of(expires_in, expires),
                force,
            )?;
            save(&out, &r, ui)
        }
        RootCommand::Sign {
            root: path,
            signer,
            out,
            ..
        } => crate::commands::sign::sign(&path, &signer, None, out.as_deref(), ui),
        RootCommand::Verify {
            roots,
            trusted,
            time,
            json,
        } => verify(&roots, trusted.as_deref(), time.now, json),
        RootCommand::Tbs {
            root: path, out, ..
        } => crate::commands::sign::tbs(&path, &out, Some(hpk_format::FileType::TrustRoot), ui),
        RootCommand::Attach {
            root: path,
            pubkey,
            signature,
            out,
            ..
        } => crate::commands::sign::attach(
            &path,
            &pubkey,
            &signature,
            out.as_deref(),
            Some(hpk_format::FileType::TrustRoot),
            ui,
        ),
    }
}
