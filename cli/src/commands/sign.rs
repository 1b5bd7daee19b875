//! `hpk sign`, `hpk tbs`, `hpk attach`: signatures on packages, trust roots
//! and catalogs, with a local key or an external signer.

use crate::exit::{CliError, CliResult, Failure};
use crate::inputs;
use crate::passphrase;
use crate::ui::Ui;
use hpk_format::{ContainerError, FileType, HEADER_LEN, Header, Limits, MAGIC, Section};
use hpk_sign::{
    CommandSigner, Pin, Pkcs11Signer, Pkcs11Uri, SignError, SignOptions, SignOutcome, Signer,
    SignerError,
};
use std::io::Read;
use std::path::{Path, PathBuf};

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
    CliError::new(failure, e.to_string()).caused_by(e)
}

/// Which kind of hpk file `path` is, from its header. `path` must be a
/// regular file: `command` reads it again (or rewrites it) afterwards.
pub fn file_type(path: &Path, command: &str) -> CliResult<FileType> {
    inputs::regular_file(path, command)?;
    let mut fixed = Vec::with_capacity(HEADER_LEN);
    std::fs::File::open(path)
        .and_then(|f| f.take(HEADER_LEN as u64).read_to_end(&mut fixed))
        .map_err(|e| CliError::io(path, &e))?;
    let n = fixed.len().min(MAGIC.len());
    if fixed.get(..n) != MAGIC.get(..n) || fixed.is_empty() {
        let e = ContainerError::BadMagic { hint: None };
        return Err(CliError::from_class(e.class(), path, &e)
            .hint("give a package, trust root or catalog file"));
    }
    let fixed: [u8; HEADER_LEN] = fixed.try_into().map_err(|_| {
        let e = ContainerError::Truncated {
            section: Section::Header,
        };
        CliError::from_class(e.class(), path, &e)
    })?;
    Header::parse(&fixed, &Limits::default())
        .map(|h| h.file_type)
        .map_err(|e| CliError::from_class(e.class(), path, &e))
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

/// Environment variable holding the PIN of a PKCS#11 token, when neither
/// `--pin-file` nor the URI gives one.
pub const PIN_ENV: &str = "HPK_PKCS11_PIN";

/// Who signs: exactly one of a local key file, a PKCS#11 key, or a signer
/// command with its public key. Shared by `hpk sign`, `hpk root sign` and
/// `hpk catalog sign`.
///
/// The group is optional for clap so that `hpk pack` can take a signer or
/// none; [`signer`] refuses arguments that name no signer.
#[derive(clap::Args, Debug)]
#[command(group(
    clap::ArgGroup::new("signer")
        .multiple(false)
        .args(["key", "pkcs11", "signer_cmd"])
))]
pub struct SignerArgs {
    /// Secret key file.
    #[arg(long, short)]
    pub key: Option<PathBuf>,
    /// Read the key passphrase from this file (else HPK_PASSPHRASE).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Sign with an Ed25519 key in a PKCS#11 token (HSM), named by an RFC 7512
    /// URI: `pkcs11:token=LABEL;object=LABEL` (or `id=%01`).
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
    /// The PKCS#11 module (shared library) to load, unless the URI has module-path=.
    #[arg(long, value_name = "FILE")]
    pub pkcs11_module: Option<PathBuf>,
    /// Read the token's user PIN from this file (its first line). Without it: the URI's
    /// pin-source= or pin-value=, else HPK_PKCS11_PIN.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// Sign by running CMD (`sh -c CMD`): the statement on its stdin, the 64 raw
    /// signature bytes on its stdout. Needs --pubkey.
    #[arg(long, value_name = "CMD")]
    pub signer_cmd: Option<String>,
    /// The public key the signer command signs with (SPKI PEM): its signatures are
    /// checked against it.
    #[arg(long, value_name = "FILE")]
    pub pubkey: Option<PathBuf>,
}

impl SignerArgs {
    /// Whether any signer option was given.
    pub fn given(&self) -> bool {
        self.key.is_some()
            || self.passphrase_file.is_some()
            || self.pkcs11.is_some()
            || self.pkcs11_module.is_some()
            || self.pin_file.is_some()
            || self.signer_cmd.is_some()
            || self.pubkey.is_some()
    }
}

/// The error of setting up or running an external signer.
fn signer_error(e: &SignerError) -> CliError {
    let failure = if e.is_configuration() {
        Failure::Usage
    } else {
        match e.class() {
            hpk_format::ErrorClass::Signature => Failure::Invalid,
            _ => Failure::Io,
        }
    };
    let err = CliError::new(failure, e.to_string()).caused_by(e);
    match e {
        SignerError::Module { .. } => {
            err.hint("give the module's path, e.g. --pkcs11-module /usr/lib/softhsm/libsofthsm2.so")
        }
        SignerError::WrongPin { .. } => err.hint(format!(
            "check --pin-file, {PIN_ENV} or the URI's pin-source"
        )),
        SignerError::ObjectNotFound { .. } => err.hint(
            "list the token's keys (e.g. `pkcs11-tool --module MODULE --login --list-objects`) \
             and check object= and id=",
        ),
        _ => err,
    }
}

/// The signer the arguments name. The PIN comes from `--pin-file`, else
/// from the URI, else from `HPK_PKCS11_PIN`.
pub fn signer(args: &SignerArgs) -> CliResult<Box<dyn Signer>> {
    // Options of one signer given with another: refused rather than ignored.
    let stray = [
        (
            args.passphrase_file.is_some() && args.key.is_none(),
            "--passphrase-file",
            "--key",
        ),
        (
            args.pkcs11_module.is_some() && args.pkcs11.is_none(),
            "--pkcs11-module",
            "--pkcs11",
        ),
        (
            args.pin_file.is_some() && args.pkcs11.is_none(),
            "--pin-file",
            "--pkcs11",
        ),
        (
            args.pubkey.is_some() && args.signer_cmd.is_none(),
            "--pubkey",
            "--signer-cmd",
        ),
        (
            args.signer_cmd.is_some() && args.pubkey.is_none(),
            "--signer-cmd",
            "--pubkey",
        ),
    ];
    if let Some((_, flag, needs)) = stray.iter().find(|(bad, _, _)| *bad) {
        return Err(CliError::usage(format!("{flag} needs {needs}")).hint(
            "give one signer: --key FILE [--passphrase-file FILE], --pkcs11 URI \
             [--pkcs11-module FILE] [--pin-file FILE], or --signer-cmd CMD --pubkey FILE",
        ));
    }
    if let Some(key) = &args.key {
        return Ok(Box::new(passphrase::secret_key(
            key,
            args.passphrase_file.as_deref(),
        )?));
    }
    if let Some(uri) = &args.pkcs11 {
        let parsed = Pkcs11Uri::parse(uri).map_err(|e| {
            CliError::usage(format!("--pkcs11: {e}"))
                .hint("e.g. --pkcs11 'pkcs11:token=release;object=release-2026' --pin-file PIN")
        })?;
        let pin = match &args.pin_file {
            Some(path) => {
                let bytes = zeroize::Zeroizing::new(inputs::read_capped(path, 4096, "PIN file")?);
                Some(
                    Pin::from_file_bytes(&bytes)
                        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?,
                )
            }
            None if parsed.pin.is_none() => std::env::var(PIN_ENV).ok().map(Pin::new),
            None => None,
        };
        let signer = Pkcs11Signer::open(&parsed, args.pkcs11_module.as_deref(), pin)
            .map_err(|e| signer_error(&e))?;
        return Ok(Box::new(signer));
    }
    match (&args.signer_cmd, &args.pubkey) {
        (Some(cmd), Some(pubkey)) => {
            let public = inputs::public_key(pubkey)?;
            Ok(Box::new(CommandSigner::new(cmd.clone(), public)))
        }
        _ => Err(CliError::usage(
            "give one signer: --key FILE, --pkcs11 URI, or --signer-cmd CMD --pubkey FILE",
        )),
    }
}

/// Runs `hpk pubkey`: writes the signer's public key to `out` and prints
/// its key id.
pub fn pubkey(args: &SignerArgs, out: &Path, force: bool, ui: Ui) -> CliResult {
    let public = signer(args)?.public_key();
    hpk_sign::keys::write_public_key_file(out, &public, force).map_err(|e| match e {
        hpk_sign::KeyError::Exists { .. } => CliError::usage(e.to_string()),
        other => CliError::io(out, &other),
    })?;
    outln!("{}", public.key_id().to_hex());
    ui.note(format!("wrote {}", out.display()));
    Ok(())
}

/// The error of signing with a signer: the signer's own errors as
/// [`signer_error`], the rest as [`sign_error`].
pub fn signing_error(e: &SignError) -> CliError {
    match e {
        SignError::Signer { path, source } => {
            let mut err = signer_error(source);
            err.message = format!("{}: {}", path.display(), err.message);
            err
        }
        _ => sign_error(e),
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

/// Runs `hpk sign` (and `hpk root sign`, `hpk catalog sign`), with the
/// signer the arguments name.
pub fn sign(
    file: &Path,
    signer_args: &SignerArgs,
    root: Option<&Path>,
    out: Option<&Path>,
    ui: Ui,
) -> CliResult {
    let out = out.unwrap_or(file);
    let kind = file_type(file, "sign")?;
    let trusted = match (kind, root) {
        (FileType::TrustRoot, Some(_)) => {
            return Err(CliError::usage(format!(
                "{}: --root does not apply to a trust root (its own root keys sign it)",
                file.display()
            ))
            .hint("leave out --root"));
        }
        (_, Some(r)) => Some(inputs::trust_root(r, inputs::clock(None, None))?),
        (_, None) => None,
    };
    let signer = signer(signer_args)?;
    if let (FileType::Catalog, Some(trusted)) = (kind, &trusted) {
        let id = signer.public_key().key_id();
        let in_catalog_role = trusted
            .root()
            .roles
            .catalog
            .as_ref()
            .is_some_and(|r| r.keys.contains(&id));
        if !in_catalog_role {
            return Err(CliError::usage(format!(
                "{}: key {}… is not in the trust root's catalog role",
                file.display(),
                id.short()
            ))
            .hint(
                "sign with a catalog key or add this key with `hpk root add-key --role catalog`",
            ));
        }
    }
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let progress = (kind == FileType::Package).then(|| ui.progress("signing", size));
    let r = {
        let mut cb = |done: u64, _total: u64| {
            if let Some(p) = &progress {
                p.set(done)
            }
        };
        let mut options = SignOptions {
            progress: Some(&mut cb),
            ..SignOptions::default()
        };
        hpk_sign::sign_file(
            file,
            kind,
            signer.as_ref(),
            out,
            trusted.as_ref(),
            &mut options,
        )
    };
    if let Some(p) = progress {
        p.finish();
    }
    let outcome = r.map_err(|e| signing_error(&e))?;
    report(ui, out, &outcome);
    Ok(())
}

/// The file's type, checked against what a `root …` or `catalog …`
/// subcommand expects.
fn typed(file: &Path, expect: Option<FileType>, command: &str) -> CliResult<FileType> {
    let found = file_type(file, command)?;
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
    let message = match typed(file, expect, "tbs")? {
        FileType::Package => hpk_sign::tbs(file, &Limits::default()),
        FileType::TrustRoot => hpk_sign::root::root_tbs(file),
        FileType::Catalog => hpk_sign::catalog::catalog_tbs(file),
    }
    .map_err(|e| sign_error(&e))?;
    hpk_sign::write_atomically(out, &message).map_err(|e| CliError::io(out, &e))?;
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
    let kind = typed(file, expect, "attach")?;
    let public = inputs::public_key(pubkey)?;
    let sig = inputs::read_capped(signature, inputs::MAX_SIGNATURE_FILE_LEN, "signature file")?;
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
