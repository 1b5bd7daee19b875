//! `hpk catalog …`: create, fill, sign and check catalogs.

use crate::commands::root::authoring_time;
use crate::commands::sign::sign_error;
use crate::exit::{CliError, CliResult};
use crate::inputs;
use crate::ui::Ui;
use clap::Subcommand;
use hpk_format::Catalog;
use hpk_sign::catalog;
use hpk_sign::metadata::SaveOutcome;
use std::path::{Path, PathBuf};

fn days_arg(s: &str) -> Result<u64, String> {
    inputs::parse_days(s)
}

fn time_arg(s: &str) -> Result<u64, String> {
    inputs::parse_time(s)
}

fn digest_arg(s: &str) -> Result<hpk_format::Digest, String> {
    hpk_format::Digest::from_hex(s).ok_or_else(|| format!("{s}: expected 64 hex digits"))
}

/// The `hpk catalog` subcommands.
#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Start an empty catalog (unsigned).
    #[command(
        after_help = "Example:\n  hpk catalog new --out catalog.hpkcat --version 42 --expires-in 7"
    )]
    New {
        /// Catalog file to write.
        #[arg(long, short)]
        out: PathBuf,
        /// Catalog version: clients refuse versions lower than the last they saw.
        #[arg(long, default_value_t = 1)]
        version: u64,
        /// Creation time (default: SOURCE_DATE_EPOCH or now).
        #[arg(long, value_parser = time_arg, value_name = "TIME")]
        created: Option<u64>,
        /// Days until it expires (keep it short: a catalog is re-signed often).
        #[arg(long, value_parser = days_arg, default_value = "7", value_name = "DAYS")]
        expires_in: u64,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Add packages to a catalog (a signed catalog becomes the next version, unsigned).
    #[command(
        after_help = "Example:\n  hpk catalog add catalog.hpkcat baseline.hpk hotpatch.hpk\n  hpk catalog add catalog.hpkcat kb1.hpk --location https://updates.example/kb1.hpk\n  hpk catalog add catalog.hpkcat q2-delta.hpk --delta-of q1.hpk --full q2.hpk"
    )]
    Add {
        /// The catalog.
        catalog: PathBuf,
        /// Package files to add.
        #[arg(required = true)]
        packages: Vec<PathBuf>,
        /// Where clients fetch the package (default: its file name). One package only.
        #[arg(long)]
        location: Option<String>,
        /// For a delta package (hpk pack --delta-from OLD.hpk): OLD.hpk, whose files it is
        /// rebuilt from. One package only, with --full.
        #[arg(long, value_name = "OLD.hpk", requires = "full")]
        delta_of: Option<PathBuf>,
        /// For a delta package: the full package with the same files, which devices without
        /// OLD.hpk's files fetch instead.
        #[arg(long, value_name = "FULL.hpk", requires = "delta_of")]
        full: Option<PathBuf>,
    },
    /// Remove an entry from a catalog (a signed catalog becomes the next version, unsigned).
    #[command(
        after_help = "Example:\n  hpk catalog remove catalog.hpkcat --name contoso-2026-02-hotpatch --version 10.0.26100.3100\n  hpk catalog remove catalog.hpkcat --digest 3f2a…"
    )]
    Remove {
        /// The catalog.
        catalog: PathBuf,
        /// The package name of the entry to remove (with --version).
        #[arg(long, requires = "version", required_unless_present = "digest")]
        name: Option<String>,
        /// The version of the entry to remove (with --name).
        #[arg(long, requires = "name")]
        version: Option<String>,
        /// The manifest digest of the entry to remove (64 hex digits).
        #[arg(long, conflicts_with_all = ["name", "version"])]
        digest: Option<String>,
    },
    /// Sign a catalog with a catalog-role key.
    #[command(
        after_help = "Example:\n  hpk catalog sign catalog.hpkcat --key catalog.key --root root.hpkroot\n  hpk catalog sign catalog.hpkcat --signer-cmd ./sign-with-kms \\\n    --pubkey catalog.pub --root root.hpkroot"
    )]
    Sign {
        /// The catalog.
        catalog: PathBuf,
        #[command(flatten)]
        signer: crate::commands::sign::SignerArgs,
        /// Refuse a key that is not in the trust root's catalog role.
        #[arg(long, short)]
        root: Option<PathBuf>,
        /// Write here instead of in place.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Verify a catalog: catalog-role signatures, freshness, version.
    #[command(
        after_help = "Example:\n  hpk catalog verify catalog.hpkcat --root root.hpkroot --last-seen 41 --json\n  curl -s https://updates.example/catalog.hpkcat | hpk catalog verify - --root root.hpkroot"
    )]
    Verify {
        /// The catalog (`-`: standard input).
        catalog: PathBuf,
        /// The trust root.
        #[arg(long, short)]
        root: PathBuf,
        /// The newest catalog version already accepted (rollback floor).
        #[arg(long, default_value_t = 0)]
        last_seen: u64,
        /// The catalog role (digest, as `catalog_role` in the JSON output)
        /// --last-seen was accepted under: if the trust root's catalog role
        /// differs, the floor resets to 0.
        #[arg(long, value_parser = digest_arg, value_name = "DIGEST")]
        last_seen_role: Option<hpk_format::Digest>,
        #[command(flatten)]
        time: crate::TimeArgs,
        /// Print a JSON document on stdout (hpk-catalog/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Write the statement an external signer must sign for a catalog (47 bytes).
    #[command(
        after_help = "Example:\n  hpk catalog tbs catalog.hpkcat --out catalog.msg\n  openssl pkeyutl -sign -rawin -inkey catalog.key -in catalog.msg -out catalog.sig\n  hpk catalog attach catalog.hpkcat --pubkey catalog.key.pub --signature catalog.sig"
    )]
    Tbs {
        /// The catalog.
        catalog: PathBuf,
        /// Message file to write.
        #[arg(long, short)]
        out: PathBuf,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Attach a raw 64-byte Ed25519 signature made elsewhere to a catalog.
    #[command(
        after_help = "Example:\n  hpk catalog attach catalog.hpkcat --pubkey catalog.key.pub --signature catalog.sig"
    )]
    Attach {
        /// The catalog.
        catalog: PathBuf,
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

impl CatalogCommand {
    /// For the subcommands that add a signature or write a message: the
    /// input file, the `--out` file and `--force`.
    pub fn output(&self) -> Option<(&Path, Option<&Path>, bool)> {
        match self {
            CatalogCommand::Sign {
                catalog,
                out,
                force,
                ..
            }
            | CatalogCommand::Attach {
                catalog,
                out,
                force,
                ..
            } => Some((catalog, out.as_deref(), *force)),
            CatalogCommand::Tbs {
                catalog,
                out,
                force,
            } => Some((catalog, Some(out), *force)),
            _ => None,
        }
    }
    /// Whether the command was asked for JSON output.
    pub fn wants_json(&self) -> bool {
        matches!(self, CatalogCommand::Verify { json: true, .. })
    }
}

/// Loads a catalog for editing: as it is if unsigned; a signed
/// (published) catalog changes only as its next version, with a new
/// creation time and the same lifetime.
fn load_for_edit(path: &Path) -> CliResult<Catalog> {
    inputs::regular_file(path, "catalog")?;
    let (head, mut c) = catalog::read_catalog_file(path).map_err(|e| sign_error(&e))?;
    if !head.signatures.is_empty() {
        let lifetime = c.expires.saturating_sub(c.created);
        c.version = c.version.saturating_add(1);
        c.created = authoring_time()?;
        c.expires = c.created.saturating_add(lifetime);
    }
    Ok(c)
}

/// Writes an edited catalog and says what happened.
fn save(path: &Path, c: &Catalog, ui: Ui) -> CliResult {
    match catalog::save_catalog(path, c).map_err(|e| sign_error(&e))? {
        SaveOutcome::Written { .. } => ui.note(format!(
            "wrote {} (version {}, {} entries, unsigned): sign it with `hpk catalog sign`",
            path.display(),
            c.version,
            c.entries.len()
        )),
        _ => ui.note(format!("{} unchanged", path.display())),
    }
    Ok(())
}

/// A refused catalog edit, as an error about the package `package`.
fn edit_error(package: &Path, e: &catalog::CatalogEditError) -> CliError {
    let err = CliError::usage(format!("{}: {e}", package.display()));
    match e {
        catalog::CatalogEditError::Duplicate { name, version, .. } => err.hint(format!(
            "to replace it, remove the old entry first: `hpk catalog remove CATALOG --name {name} --version {version}`"
        )),
        _ => err,
    }
}

/// Runs an `hpk catalog` subcommand.
pub fn run(cmd: CatalogCommand, ui: Ui) -> CliResult {
    match cmd {
        CatalogCommand::New {
            out,
            version,
            created,
            expires_in,
            force,
        } => {
            if out.exists() && !force {
                return Err(CliError::usage(format!("{} exists", out.display()))
                    .hint("pass --force to overwrite"));
            }
            let created = match created {
                Some(c) => c,
                None => authoring_time()?,
            };
            let c = catalog::new_catalog(version, created, created.saturating_add(expires_in));
            hpk_sign::metadata::write_unsigned(&out, hpk_format::FileType::Catalog, &c)
                .map_err(|e| sign_error(&e))?;
            ui.note(format!(
                "wrote {} (version {version}, empty, unsigned)",
                out.display()
            ));
            Ok(())
        }
        CatalogCommand::Add {
            catalog: path,
            packages,
            location,
            delta_of,
            full,
        } => {
            if location.is_some() && packages.len() > 1 {
                return Err(CliError::usage(
                    "--location applies to one package at a time",
                ));
            }
            if delta_of.is_some() && packages.len() > 1 {
                return Err(CliError::usage(
                    "--delta-of and --full apply to one package at a time",
                ));
            }
            let mut c = load_for_edit(&path)?;
            for p in &packages {
                let entry = match (&delta_of, &full) {
                    (Some(base), Some(full)) => {
                        catalog::delta_entry_for_package(p, location.as_deref(), base, full)
                    }
                    _ => catalog::entry_for_package(p, location.as_deref()),
                }
                .map_err(|e| sign_error(&e))?;
                let note = format!(
                    "added {} {} ({}, {} bytes) as {}",
                    entry.name,
                    entry.version,
                    entry.kind.name(),
                    entry.size,
                    entry.location
                );
                catalog::add_entry(&mut c, entry).map_err(|e| edit_error(p, &e))?;
                ui.note(note);
            }
            save(&path, &c, ui)
        }
        CatalogCommand::Remove {
            catalog: path,
            name,
            version,
            digest,
        } => {
            let which = match (name, version, digest) {
                (_, _, Some(hex)) => catalog::EntrySelector::Digest(
                    hpk_format::Digest::from_hex(&hex).ok_or_else(|| {
                        CliError::usage(format!("{hex}: expected a manifest digest, 64 hex digits"))
                    })?,
                ),
                (Some(name), Some(version), None) => {
                    catalog::EntrySelector::NameVersion { name, version }
                }
                _ => return Err(CliError::usage("give --name and --version, or --digest")),
            };
            let mut c = load_for_edit(&path)?;
            let removed = catalog::remove_entry(&mut c, &which).map_err(|e| {
                CliError::usage(format!("{}: {e}", path.display()))
                    .hint("`hpk inspect CATALOG` lists its entries")
            })?;
            ui.note(format!(
                "removed {} {} ({}, manifest {})",
                removed.name,
                removed.version,
                removed.kind.name(),
                removed.manifest_digest
            ));
            save(&path, &c, ui)
        }
        CatalogCommand::Sign {
            catalog: path,
            signer,
            root,
            out,
            ..
        } => crate::commands::sign::sign(&path, &signer, root.as_deref(), out.as_deref(), ui),
        CatalogCommand::Verify {
            catalog: path,
            root,
            last_seen,
            last_seen_role,
            time,
            json,
        } => crate::commands::plan::catalog_verify(
            &path,
            &root,
            last_seen,
            last_seen_role,
            time.now,
            json,
        ),
        CatalogCommand::Tbs {
            catalog: path, out, ..
        } => crate::commands::sign::tbs(&path, &out, Some(hpk_format::FileType::Catalog), ui),
        CatalogCommand::Attach {
            catalog: path,
            pubkey,
            signature,
            out,
            ..
        } => crate::commands::sign::attach(
            &path,
            &pubkey,
            &signature,
            out.as_deref(),
            Some(hpk_format::FileType::Catalog),
            ui,
        ),
    }
}
