//! `hpk sign`, `hpk tbs`, `hpk attach`: signatures on packages, trust roots
//! and catalogs, with a local key or an external signer.

use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::ui::Ui;
use hpk_format::{FileType, HEADER_LEN, Header, Limits, MAGIC};
use hpk_sign::{SignError, SignOptions, SignOutcome};
use std::io::Read;
use std::path::Path;

/// The error of a signing operation, classified by its layer.
pub fn sign_error(e: &SignError) -> CliError {
    let failure = match e.class() {
        hpk_format::ErrorClass::Io => Failure::Io,
        hpk_format::ErrorClass::Signature => match e {
            SignError::NotInRole { .. } | SignError::SignatureLength { .. } => Failure::Usage,
            _ => Failure::Invalid,
        },
        _ => Failure::Invalid,
    };
    CliError::new(failure, e.to_string())
}

/// Which kind of hpk file `path` is, from its header.
pub fn file_type(path: &Path) -> CliResult<FileType> {
    let mut fixed = Vec::with_capacity(HEADER_LEN);
    std::fs::File::open(path)
        .and_then(|f| f.take(HEADER_LEN as u64).read_to_end(&mut fixed))
        .map_err(|e| CliError::io(path, e))?;
    let n = fixed.len().min(MAGIC.len());
    if fixed.get(..n) != MAGIC.get(..n) || fixed.is_empty() {
        return Err(CliError::new(
            Failure::Invalid,
            format!("{}: not an hpk file (bad magic bytes)", path.display()),
        )
        .with_class(hpk_format::ErrorClass::Malformed)
        .hint("give a package, trust root or catalog file"));
    }
    let fixed: [u8; HEADER_LEN] = fixed.try_into().map_err(|_| {
        CliError::new(
            Failure::Invalid,
            format!(
                "{}: file is truncated: it ends inside the header",
                path.display()
            ),
        )
        .with_class(hpk_format::ErrorClass::Malformed)
    })?;
    Header::parse(&fixed, &Limits::default())
        .map(|h| h.file_type)
        .map_err(|e| CliError::from_class(e.class(), path, e))
}

fn report(ui: Ui, out: &Path, outcome: &SignOutcome) {
    match outcome {
        SignOutcome::AlreadySigned { key_id, signatures } => ui.note(format!(
            "{} already holds a signature by key {key_id}; unchanged ({signatures} signature(s))",
            out.display()
        )),
        SignOutcome::Added { key_id, signatures } => ui.note(format!(
            "signed {} with key {key_id} ({signatures} signature(s))",
            out.display()
        )),
        _ => {}
    }
}

/// Refuses an `--out` file that exists, other than the input itself,
/// unless `force`.
pub fn new_output(input: &Path, out: Option<&Path>, force: bool) -> CliResult {
    match out {
        Some(out) if !force && out != input && std::fs::symlink_metadata(out).is_ok() => {
            Err(CliError::usage(format!("{} exists", out.display()))
                .hint("pass --force to overwrite it, or write to another file"))
        }
        _ => Ok(()),
    }
}

/// Runs `hpk sign`.
pub fn sign(
    file: &Path,
    key: &Path,
    root: Option<&Path>,
    out: Option<&Path>,
    passphrase_file: Option<&Path>,
    ui: Ui,
) -> CliResult {
    let out = out.unwrap_or(file);
    let secret = inputs::secret_key(key, passphrase_file)?;
    let kind = file_type(file)?;
    let outcome = match kind {
        FileType::Package => {
            let trusted = match root {
                Some(r) => Some(inputs::trust_root(r, inputs::clock(None, None))?),
                None => None,
            };
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            let progress = ui.progress("signing", size);
            let mut cb = |done: u64, _total: u64| progress.set(done);
            let mut options = SignOptions {
                progress: Some(&mut cb),
                ..SignOptions::default()
            };
            let r = hpk_sign::sign_package(file, &secret, out, trusted.as_ref(), &mut options);
            progress.finish();
            r
        }
        FileType::TrustRoot => {
            if root.is_some() {
                return Err(CliError::usage(format!(
                    "{}: --root does not apply to a trust root (its own root keys sign it)",
                    file.display()
                ))
                .hint("leave out --root"));
            }
            hpk_sign::root::sign_root_file(file, &secret, out)
        }
        FileType::Catalog => {
            if let Some(r) = root {
                let trusted = inputs::trust_root(r, inputs::clock(None, None))?;
                let id = secret.public_key().key_id();
                if !trusted.root().roles.catalog.keys.contains(&id) {
                    return Err(CliError::usage(format!(
                        "{}: key {}… is not in the trust root's catalog role",
                        file.display(),
                        id.short()
                    ))
                    .hint("sign with a catalog key or add this key with `hpk root add-key --role catalog`"));
                }
            }
            hpk_sign::catalog::sign_catalog_file(file, &secret, out)
        }
    }
    .map_err(|e| sign_error(&e))?;
    report(ui, out, &outcome);
    Ok(())
}

/// The file's type, checked against what a `root …` or `catalog …`
/// subcommand expects.
fn typed(file: &Path, expect: Option<FileType>) -> CliResult<FileType> {
    let found = file_type(file)?;
    match expect {
        Some(want) if want != found => Err(CliError::usage(format!(
            "{}: expected a {want}, found a {found}",
            file.display()
        ))
        .hint(match found {
            FileType::Package => "use `hpk tbs` / `hpk attach` for packages",
            FileType::TrustRoot => "use `hpk root tbs` / `hpk root attach` for trust roots",
            FileType::Catalog => "use `hpk catalog tbs` / `hpk catalog attach` for catalogs",
        })),
        _ => Ok(found),
    }
}

/// Runs `hpk tbs` (and `hpk root tbs`, `hpk catalog tbs`).
pub fn tbs(file: &Path, out: &Path, expect: Option<FileType>, ui: Ui) -> CliResult {
    let message = match typed(file, expect)? {
        FileType::Package => hpk_sign::tbs(file, &Limits::default()),
        FileType::TrustRoot => hpk_sign::root::root_tbs(file),
        FileType::Catalog => hpk_sign::catalog::catalog_tbs(file),
    }
    .map_err(|e| sign_error(&e))?;
    hpk_format::write_atomically(out, &message).map_err(|e| CliError::io(out, e))?;
    ui.note(format!(
        "wrote the {}-byte message to sign to {}: sign it with Ed25519 (e.g. `openssl pkeyutl -sign -rawin -inkey KEY -in {} -out SIG`), then `hpk attach`",
        message.len(),
        out.display(),
        out.display()
    ));
    Ok(())
}

/// Runs `hpk attach` (and `hpk root attach`, `hpk catalog attach`).
pub fn attach(
    file: &Path,
    pubkey: &Path,
    signature: &Path,
    out: Option<&Path>,
    expect: Option<FileType>,
    ui: Ui,
) -> CliResult {
    let out = out.unwrap_or(file);
    let kind = typed(file, expect)?;
    let public = inputs::public_key(pubkey)?;
    let sig = inputs::read(signature)?;
    let outcome = match kind {
        FileType::Package => {
            hpk_sign::attach(file, &public, &sig, out, &mut SignOptions::default())
        }
        FileType::TrustRoot => hpk_sign::root::attach_root_signature(file, &public, &sig, out),
        FileType::Catalog => hpk_sign::catalog::attach_catalog_signature(file, &public, &sig, out),
    }
    .map_err(|e| match e {
        // The library's message names no file: name the signature file.
        SignError::SignatureLength { .. } => {
            CliError::usage(format!("{}: {e}", signature.display()))
        }
        _ => sign_error(&e),
    })?;
    report(ui, out, &outcome);
    Ok(())
}
