//! Signers: a local key, a PKCS#11 token (HSM), or an external command (a
//! cloud KMS client), behind one [`Signer`] trait.
//! [`crate::signing::sign_file`] signs any hpk file's statement with one
//! of them and attaches the record.
//!
//! Whatever the signer, the signature it returns is verified strictly
//! against the public key it claims before anything is written: a
//! misbehaving signer (wrong key, wrong algorithm, damaged output) never
//! produces a file with a bad record, and the file is left unchanged.

pub use crate::error::SignerError;
use crate::keys::{PublicKey, SecretKey};
use crate::pkcs11_uri::{Pin, Pkcs11Uri, UriPin};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Something that signs a signed statement with Ed25519 and knows its
/// public key.
pub trait Signer {
    /// The public key the signatures must verify under.
    fn public_key(&self) -> PublicKey;

    /// Signs `statement` (pure Ed25519, RFC 8032) and returns the 64-byte
    /// signature. The caller verifies it; a signer need not.
    fn sign_statement(&self, statement: &[u8]) -> Result<[u8; 64], SignerError>;
}

impl Signer for SecretKey {
    fn public_key(&self) -> PublicKey {
        SecretKey::public_key(self)
    }

    fn sign_statement(&self, statement: &[u8]) -> Result<[u8; 64], SignerError> {
        Ok(self.sign(statement))
    }
}

// ---------------------------------------------------------------------------
// A command
// ---------------------------------------------------------------------------

/// Most bytes of a signer command's standard error kept for the message.
const STDERR_KEPT: usize = 2000;

/// Environment variable that names, for a signer command, a file holding
/// the statement (for clients that read the message from a file, such as
/// OpenSSL 3.0's `pkeyutl -rawin`, which cannot sign Ed25519 from a pipe).
pub const STATEMENT_FILE_ENV: &str = "HPK_STATEMENT_FILE";

/// A temporary file holding the statement, removed when dropped.
struct StatementFile(PathBuf);

impl StatementFile {
    fn create(statement: &[u8]) -> io::Result<StatementFile> {
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
        let path = std::env::temp_dir().join(format!("hpk-statement-{}", hex::encode(random)));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        // From here on the guard removes the file, whatever happens.
        let guard = StatementFile(path);
        file.write_all(statement)?;
        file.sync_all()?;
        Ok(guard)
    }
}

impl Drop for StatementFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A signer that runs a command (`sh -c CMD`): the statement on its
/// standard input (and in the file named by `HPK_STATEMENT_FILE`), the 64
/// raw signature bytes expected on its standard output. Any cloud KMS or
/// HSM client that signs raw Ed25519 messages fits.
#[derive(Debug, Clone)]
pub struct CommandSigner {
    command: String,
    public_key: PublicKey,
}

impl CommandSigner {
    /// A signer running `command` through `sh -c`, whose signatures must
    /// verify under `public_key`.
    pub fn new(command: impl Into<String>, public_key: PublicKey) -> CommandSigner {
        CommandSigner {
            command: command.into(),
            public_key,
        }
    }
}

impl Signer for CommandSigner {
    fn public_key(&self) -> PublicKey {
        self.public_key
    }

    fn sign_statement(&self, statement: &[u8]) -> Result<[u8; 64], SignerError> {
        let spawn_err = |source| SignerError::CommandSpawn {
            command: self.command.clone(),
            source,
        };
        let statement_file = StatementFile::create(statement).map_err(spawn_err)?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env(STATEMENT_FILE_ENV, &statement_file.0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        // The statement (at most 64 bytes) fits in a pipe's buffer, so this
        // cannot block; a command that exits without reading it closes the
        // pipe, which is not an error by itself (its output is judged).
        if let Some(mut stdin) = child.stdin.take() {
            match stdin.write_all(statement) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(spawn_err(e));
                }
                _ => {}
            }
        }
        // Standard error in a thread, standard output here, each bounded in
        // memory and drained to the end so that the command never blocks.
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let _ = Read::by_ref(&mut e)
                    .take(STDERR_KEPT as u64)
                    .read_to_end(&mut kept);
                let _ = io::copy(&mut e, &mut io::sink());
                kept
            })
        });
        // At most 65 bytes are read: a 65th byte already makes the output
        // wrong, and the command is stopped then (it may print forever).
        let mut out = Vec::with_capacity(65);
        if let Some(stdout) = child.stdout.take()
            && let Err(e) = stdout.take(65).read_to_end(&mut out)
        {
            let _ = child.kill();
            let _ = child.wait();
            return Err(spawn_err(e));
        }
        if out.len() > 64 {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SignerError::CommandOutput {
                command: self.command.clone(),
                len: out.len(),
            });
        }
        let status = child.wait().map_err(spawn_err)?;
        drop(statement_file);
        let stderr = stderr
            .and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        if !status.success() {
            return Err(SignerError::CommandFailed {
                command: self.command.clone(),
                status: status.to_string(),
                stderr,
            });
        }
        out.as_slice()
            .try_into()
            .map_err(|_| SignerError::CommandOutput {
                command: self.command.clone(),
                len: out.len(),
            })
    }
}

// ---------------------------------------------------------------------------
// PKCS#11
// ---------------------------------------------------------------------------

/// DER of the Ed25519 curve in `CKA_EC_PARAMS`: the OID 1.3.101.112, or
/// the printable string `edwards25519` that PKCS#11 3.0 also allows.
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";

fn device(operation: &'static str) -> impl FnOnce(CkError) -> SignerError {
    move |e| SignerError::Device {
        operation,
        detail: match e {
            CkError::Pkcs11(rv, function) => format!("{function:?} returned {rv:?}"),
            other => other.to_string(),
        },
    }
}

/// The 32-byte point of an Ed25519 key from `CKA_EC_POINT`: a DER OCTET
/// STRING holding it (PKCS#11 3.0), or the 32 bytes themselves (some
/// tokens).
fn ec_point(bytes: &[u8]) -> Option<[u8; 32]> {
    match bytes.len() {
        34 => bytes.strip_prefix(&[0x04, 0x20])?.try_into().ok(),
        32 => bytes.try_into().ok(),
        _ => None,
    }
}

/// A PKCS#11 module this process initialised: finalised when dropped,
/// after its sessions (declared before it) are closed.
struct Module(Option<Pkcs11>);

impl Drop for Module {
    fn drop(&mut self) {
        if let Some(pkcs11) = self.0.take() {
            let _ = pkcs11.finalize();
        }
    }
}

/// A signer holding a logged-in session with a PKCS#11 token and the
/// handle of an Ed25519 private key in it (CKM_EDDSA, pure Ed25519).
///
/// Dropping it closes the session (which logs out) and finalises the
/// module.
pub struct Pkcs11Signer {
    // Field order is drop order: the session is closed before the module
    // is finalised.
    session: Session,
    key: ObjectHandle,
    public_key: PublicKey,
    _module: Module,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("public_key", &self.public_key.key_id())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Loads the module, finds the token and the key the URI names, logs
    /// in and reads the public key.
    ///
    /// `module` is the module when the URI has no `module-path` (both
    /// given must agree). `pin` is the PIN when the URI has none (giving
    /// both is refused); with no PIN at all, the token must have a
    /// protected authentication path.
    pub fn open(
        uri: &Pkcs11Uri,
        module: Option<&Path>,
        pin: Option<Pin>,
    ) -> Result<Pkcs11Signer, SignerError> {
        let module = match (&uri.module_path, module) {
            (Some(a), Some(b)) if a != b => {
                return Err(SignerError::ModuleConflict {
                    uri: a.clone(),
                    given: b.to_path_buf(),
                });
            }
            (Some(a), _) => a.clone(),
            (None, Some(b)) => b.to_path_buf(),
            (None, None) => return Err(SignerError::NoModule),
        };
        let pin = match (&uri.pin, pin) {
            (Some(_), Some(_)) => return Err(SignerError::PinConflict),
            (Some(UriPin::Value(p)), None) => Some(p.clone()),
            (Some(UriPin::Source(path)), None) => {
                let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|source| {
                    SignerError::PinFile {
                        path: path.clone(),
                        source,
                    }
                })?);
                Some(Pin::from_file_bytes(&bytes)?)
            }
            (None, p) => p,
        };

        let pkcs11 = Pkcs11::new(&module).map_err(|e| SignerError::Module {
            path: module.clone(),
            detail: e.to_string(),
        })?;
        // Finalised on every return from here (and with the signer) if
        // this call initialised it.
        let module = match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        {
            Ok(()) => Module(Some(pkcs11.clone())),
            Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Module(None),
            Err(e) => return Err(device("initializing the module")(e)),
        };

        // The token.
        let mut available = Vec::new();
        let mut matches = Vec::new();
        for slot in pkcs11
            .get_slots_with_initialized_token()
            .map_err(device("listing slots"))?
        {
            let info = pkcs11
                .get_token_info(slot)
                .map_err(device("reading token information"))?;
            available.push(info.label().trim().to_owned());
            let fits = |want: &Option<String>, have: &str| {
                want.as_deref().is_none_or(|w| w == have.trim())
            };
            if uri.slot_id.is_none_or(|id| id == slot.id())
                && fits(&uri.token, info.label())
                && fits(&uri.manufacturer, info.manufacturer_id())
                && fits(&uri.serial, info.serial_number())
                && fits(&uri.model, info.model())
            {
                matches.push((slot, info));
            }
        }
        let (slot, info) = match matches.len() {
            0 => return Err(SignerError::TokenNotFound { available }),
            1 => matches.remove(0),
            count => return Err(SignerError::AmbiguousToken { count }),
        };
        let token = info.label().trim().to_owned();
        let mechanisms = pkcs11
            .get_mechanism_list(slot)
            .map_err(device("listing mechanisms"))?;
        if !mechanisms.contains(&MechanismType::EDDSA) {
            return Err(SignerError::MechanismUnsupported { token });
        }

        // Log in.
        let session = pkcs11
            .open_ro_session(slot)
            .map_err(device("opening a session"))?;
        let login = match &pin {
            Some(pin) => {
                let auth = AuthPin::from(pin.expose().to_owned());
                session.login(UserType::User, Some(&auth))
            }
            None if info.protected_authentication_path() => session.login(UserType::User, None),
            None => return Err(SignerError::NoPin),
        };
        match login {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                return Err(SignerError::WrongPin { token });
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(SignerError::PinLocked { token });
            }
            Err(e) => return Err(device("logging in")(e)),
        }

        // The private key.
        let key_name = uri.key_name();
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(object) = &uri.object {
            template.push(Attribute::Label(object.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = session
            .find_objects(&template)
            .map_err(device("finding the key"))?;
        let key = match found.as_slice() {
            [] => {
                return Err(SignerError::ObjectNotFound {
                    token,
                    key: key_name,
                });
            }
            [one] => *one,
            more => {
                return Err(SignerError::AmbiguousObject {
                    token,
                    key: key_name,
                    count: more.len(),
                });
            }
        };
        let attrs = session
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )
            .map_err(device("reading the key's attributes"))?;
        let mut key_id = Vec::new();
        let mut label = Vec::new();
        for attr in attrs {
            match attr {
                Attribute::KeyType(t) if t != KeyType::EC_EDWARDS => {
                    return Err(SignerError::NotEd25519 {
                        key: key_name,
                        reason: format!("its key type is {t}"),
                    });
                }
                Attribute::Id(id) => key_id = id,
                Attribute::Label(l) => label = l,
                _ => {}
            }
        }

        // The public key, from the public key object beside it.
        let mut template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
        ];
        if !key_id.is_empty() {
            template.push(Attribute::Id(key_id));
        } else if !label.is_empty() {
            template.push(Attribute::Label(label));
        } else {
            return Err(SignerError::PublicKeyNotFound { key: key_name });
        }
        let public = match session
            .find_objects(&template)
            .map_err(device("finding the public key"))?
            .as_slice()
        {
            [one] => *one,
            _ => return Err(SignerError::PublicKeyNotFound { key: key_name }),
        };
        let attrs = session
            .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
            .map_err(device("reading the public key"))?;
        let mut point = None;
        for attr in attrs {
            match attr {
                Attribute::EcParams(p) if p != ED25519_OID && p != ED25519_NAME => {
                    return Err(SignerError::NotEd25519 {
                        key: key_name,
                        reason: format!("its curve is {}", hex::encode(p)),
                    });
                }
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        let point = point
            .as_deref()
            .and_then(ec_point)
            .ok_or_else(|| SignerError::NotEd25519 {
                key: key_name.clone(),
                reason: "its CKA_EC_POINT is not a 32-byte point".into(),
            })?;
        let public_key = PublicKey::from_bytes(point).map_err(|_| SignerError::NotEd25519 {
            key: key_name,
            reason: "its public point is not a valid Ed25519 key".into(),
        })?;
        Ok(Pkcs11Signer {
            session,
            key,
            public_key,
            _module: module,
        })
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> PublicKey {
        self.public_key
    }

    fn sign_statement(&self, statement: &[u8]) -> Result<[u8; 64], SignerError> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let signature = self
            .session
            .sign(&mechanism, self.key, statement)
            .map_err(device("signing"))?;
        signature
            .as_slice()
            .try_into()
            .map_err(|_| SignerError::SignatureLength {
                len: signature.len(),
            })
    }
}

// ---------------------------------------------------------------------------
// Signing a file
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::ec_point;

    #[test]
    fn ec_point_takes_the_der_octet_string_or_the_raw_point() {
        let mut der = vec![0x04, 0x20];
        der.extend([0x04; 32]);
        assert_eq!(ec_point(&der), Some([0x04; 32]));
        // A raw point may itself start with 04 20.
        let mut raw = vec![0x04, 0x20];
        raw.extend([7; 30]);
        assert_eq!(ec_point(&raw).map(|p| p[2]), Some(7));
        assert_eq!(ec_point(&der[..33]), None);
        let mut wrong = der.clone();
        wrong[1] = 0x21;
        assert_eq!(ec_point(&wrong), None);
        assert_eq!(ec_point(&[]), None);
    }
}
