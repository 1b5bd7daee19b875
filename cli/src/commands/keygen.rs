//! `hpk keygen`: a new Ed25519 key pair.

use crate::exit::{CliError, CliResult};
use crate::json;
use crate::passphrase;
use crate::ui::Ui;
use hpk_sign::keys::{SecretKey, write_public_key_file, write_secret_key_file};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The public key file that goes with a secret key file: `KEY.pub`.
pub fn public_path(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Runs `hpk keygen`: the secret key is encrypted unless `unencrypted`,
/// with a passphrase from `--passphrase-file`, `HPK_PASSPHRASE` or typed
/// twice at the terminal.
pub fn keygen(
    out: &Path,
    unencrypted: bool,
    passphrase_file: Option<&Path>,
    force: bool,
    as_json: bool,
    ui: Ui,
) -> CliResult {
    let pub_path = public_path(out);
    // Refuse existing files before asking for a passphrase.
    for path in [out, pub_path.as_path()] {
        if !force && std::fs::symlink_metadata(path).is_ok() {
            return Err(CliError::usage(format!("{} exists", path.display()))
                .hint("pass --force to overwrite"));
        }
    }
    let passphrase = if unencrypted {
        None
    } else {
        Some(passphrase::for_new_key(out, passphrase_file)?)
    };
    let encrypt = passphrase.is_some();
    let key = SecretKey::generate().map_err(|e| CliError::io(out, &e))?;
    let public = key.public_key();
    write_secret_key_file(out, &key, passphrase.as_ref().map(|p| p.as_bytes()), force).map_err(
        |e| match e {
            hpk_sign::KeyError::Exists { .. } => {
                CliError::usage(format!("{e}")).hint("pass --force to overwrite")
            }
            other => CliError::io(out, &other),
        },
    )?;
    write_public_key_file(&pub_path, &public, force).map_err(|e| CliError::io(&pub_path, &e))?;
    let id = public.key_id().to_hex();
    if as_json {
        json::print(&json!({
            "schema": "hpk-keygen/1",
            "secret_key": out.display().to_string(),
            "public_key": pub_path.display().to_string(),
            "key_id": id,
            "encrypted": encrypt,
        }));
    } else {
        outln!("{id}");
        ui.note(format!(
            "wrote {} (secret{}) and {}",
            out.display(),
            if encrypt { ", encrypted" } else { "" },
            pub_path.display()
        ));
    }
    Ok(())
}
