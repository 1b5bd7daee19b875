//! Secret key files and their passphrases: from `--passphrase-file`, from
//! `HPK_PASSPHRASE`, or typed at the terminal (without echo).
//!
//! A terminal is used only when standard input is one: a person is there.
//! The prompt is read from and written to the controlling terminal
//! (`/dev/tty`), never from a pipe. Without a terminal and without a
//! passphrase, commands fail with a usage error (exit 2) that names the
//! ways to give one.

use crate::exit::{CliError, CliResult, PROMPTING};
use crate::inputs::{key_error, read_capped};
use hpk_sign::KeyError;
use hpk_sign::keys::{SecretKey, read_secret_key_file};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::Ordering;
use zeroize::Zeroizing;

/// Environment variable holding a key passphrase.
pub const PASSPHRASE_ENV: &str = "HPK_PASSPHRASE";

/// The most bytes a passphrase file may hold: 4 KiB.
pub const MAX_PASSPHRASE_LEN: u64 = 4096;

/// How many times a person may type the passphrase of an existing key.
const TRIES: usize = 3;

/// A passphrase, wiped from memory when dropped. Deliberately without
/// `Debug`, `Display` or `Clone`.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// The passphrase's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Whether a person is there to type a passphrase: standard input is a
/// terminal.
pub fn terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// The passphrase given without a terminal: the first line of
/// `--passphrase-file`, else `HPK_PASSPHRASE`, else none.
pub fn given(file: Option<&Path>) -> CliResult<Option<Passphrase>> {
    if let Some(path) = file {
        let text = Zeroizing::new(read_capped(path, MAX_PASSPHRASE_LEN, "passphrase file")?);
        let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return Ok(Some(Passphrase(Zeroizing::new(line.to_vec()))));
    }
    Ok(
        std::env::var_os(PASSPHRASE_ENV)
            .map(|v| Passphrase(Zeroizing::new(v.into_encoded_bytes()))),
    )
}

/// Reads one line without echo from the terminal.
fn prompt(text: &str) -> CliResult<Passphrase> {
    PROMPTING.store(true, Ordering::SeqCst);
    let typed = rpassword::prompt_password(text);
    PROMPTING.store(false, Ordering::SeqCst);
    match typed {
        Ok(s) => Ok(Passphrase(Zeroizing::new(s.into_bytes()))),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            // Ctrl-C at the prompt: the terminal is restored by now, and
            // nothing has been written yet.
            errln!("\nhpk: interrupted");
            std::process::exit(crate::exit::INTERRUPTED)
        }
        Err(e) => Err(
            CliError::usage(format!("cannot read a passphrase from the terminal: {e}")).hint(
                format!("set {PASSPHRASE_ENV} or pass --passphrase-file FILE"),
            ),
        ),
    }
}

/// Opens an existing encrypted key: `open` tries a passphrase, given or
/// else typed at the terminal, where a person gets [`TRIES`] attempts
/// while `open` answers [`KeyError::WrongPassphrase`]. `fail` turns the
/// last error into the command's error.
pub fn for_key<T>(
    key: &Path,
    file: Option<&Path>,
    mut open: impl FnMut(&Passphrase) -> Result<T, KeyError>,
    fail: impl Fn(KeyError) -> CliError,
) -> CliResult<T> {
    if let Some(p) = given(file)? {
        return open(&p).map_err(fail);
    }
    if !terminal() {
        return Err(CliError::usage(format!(
            "{}: the secret key is encrypted, and there is no terminal to type its passphrase",
            key.display()
        ))
        .hint(format!(
            "set {PASSPHRASE_ENV} or pass --passphrase-file FILE"
        )));
    }
    let mut attempt = 1;
    loop {
        let p = prompt(&format!("Passphrase for {}: ", key.display()))?;
        match open(&p) {
            Err(KeyError::WrongPassphrase) if attempt < TRIES => {
                errln!("wrong passphrase, try again");
                attempt += 1;
            }
            other => return other.map_err(fail),
        }
    }
}

/// The passphrase of a new key: given, else typed twice at the terminal
/// (both must match). Refuses an empty one.
pub fn for_new_key(key: &Path, file: Option<&Path>) -> CliResult<Passphrase> {
    let empty = || {
        CliError::usage(format!(
            "{}: refusing to encrypt a key with an empty passphrase",
            key.display()
        ))
        .hint("give a passphrase, or pass --unencrypted to write the key unencrypted")
    };
    if let Some(p) = given(file)? {
        if p.as_bytes().is_empty() {
            return Err(empty());
        }
        return Ok(p);
    }
    if !terminal() {
        return Err(CliError::usage(format!(
            "{}: secret keys are encrypted with a passphrase, and there is no terminal to type one",
            key.display()
        ))
        .hint(format!(
            "set {PASSPHRASE_ENV} or pass --passphrase-file FILE; or --unencrypted to write the key unencrypted"
        )));
    }
    let first = prompt(&format!("Passphrase for the new key {}: ", key.display()))?;
    if first.as_bytes().is_empty() {
        return Err(empty());
    }
    let again = prompt("Same passphrase again: ")?;
    if first.as_bytes() != again.as_bytes() {
        return Err(CliError::usage(format!(
            "{}: the two passphrases differ; nothing written",
            key.display()
        ))
        .hint("run the command again and type the same passphrase twice"));
    }
    Ok(first)
}

/// Reads a secret key file; an encrypted one with the passphrase from
/// `--passphrase-file`, `HPK_PASSPHRASE` or the terminal.
pub fn secret_key(path: &Path, passphrase_file: Option<&Path>) -> CliResult<SecretKey> {
    let fail = |e: KeyError| {
        let hint = match e {
            KeyError::PassphraseRequired => Some(format!(
                "set {PASSPHRASE_ENV} or pass --passphrase-file FILE"
            )),
            KeyError::WrongPassphrase => Some(format!(
                "check {PASSPHRASE_ENV} or the --passphrase-file (its first line is the passphrase)"
            )),
            _ => None,
        };
        let err = key_error(path, e);
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    };
    match read_secret_key_file(path, None) {
        Err(KeyError::PassphraseRequired) => for_key(
            path,
            passphrase_file,
            |p| read_secret_key_file(path, Some(p.as_bytes())),
            fail,
        ),
        other => other.map_err(fail),
    }
}
