//! `hpk catalog …`: create, fill, sign and check catalogs.

use crate::commands::root::authoring_time;
use crate::commands::sign::sign_error;
use crate::exit::{CliError, CliResult};
use crate::inputs;
use crate::ui::Ui;
use clap::Subcommand;
use hpk_sign::catalog;
use hpk_sign::metadata::SaveOutcome;
use std::path::PathBuf;

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
        after_help = "Example:\n  hpk catalog add catalog.hpkcat baseline.hpk hotpatch.hpk\n  hpk catalog add catalog.hpkcat kb1.hpk --location https://updates.example/kb1.hpk"
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
    },
}

impl CatalogCommand {
    /// Whether the command was asked for JSON output.
    pub fn wants_json(&self) -> bool {
        matches!(self, CatalogCommand::Verify { json: true, .. })
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
        } => {
            if location.is_some() && packages.len() > 1 {
                return Err(CliError::usage(
                    "--location applies to one package at a time",
                ));
            }
            inputs::regular_file(&path, "catalog add")?;
            let (head, mut c) = catalog::read_catalog_file(&path).map_err(|e| sign_error(&e))?;
            if !head.signatures.is_empty() {
                // A published catalog changes only as a new version.
                let lifetime = c.expires.saturating_sub(c.created);
                c.version = c.version.saturating_add(1);
                c.created = authoring_time()?;
                c.expires = c.created.saturating_add(lifetime);
            }
            for p in &packages {
                let entry = catalog::entry_for_package(p, location.as_deref())
                    .map_err(|e| sign_error(&e))?;
                ui.note(format!(
                    "added {} {} ({}, {} bytes) as {}",
                    entry.name,
                    entry.version,
                    entry.kind.name(),
                    entry.size,
                    entry.location
                ));
                catalog::add_entry(&mut c, entry);
            }
            match catalog::save_catalog(&path, &c).map_err(|e| sign_error(&e))? {
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
        CatalogCommand::Sign {
            catalog: path,
            signer,
            root,
            out,
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
        CatalogCommand::Tbs { catalog: path, out } => {
            crate::commands::sign::tbs(&path, &out, Some(hpk_format::FileType::Catalog), ui)
        }
        CatalogCommand::Attach {
            catalog: path,
            pubkey,
            signature,
            out,
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
