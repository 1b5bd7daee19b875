//! Signers: a local key, a PKCS#11 token (HSM), or an external command (a
//! cloud KMS client), behind one [`Signer`] trait, and [`sign_file`], which
//! signs any hpk file's statement with one of them and attaches the
//! record.
//!
//! Whatever the signer, the signature it returns is verified strictly
//! against the public key it claims before anything is written: a
//! misbehaving signer (wrong key, wrong algorithm, damaged output) never
//! produces a file with a bad record, and the file is left unchanged.

use crate::error::SignError;
use crate::keys::{PublicKey, SecretKey};
use crate::pkcs11_uri::{Pin, Pkcs11Uri, UriError, UriPin};
use crate::signing::{SignOptions, SignOutcome, add_record, open_metadata, open_package};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use hpk_format::{Catalog, ErrorClass, FileType, RoleName, TrustRoot};
use hpk_verify::TrustedRoot;
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

/// Why an external signer could not be set up or did not sign.
///
/// Grouped: configuration (`Uri` to `PinFile`), the token's contents
/// (`TokenNotFound` to `NotEd25519`), the signer failing (`Module`,
/// `Device`, `CommandSpawn`, `CommandFailed`) and the signer misbehaving
/// (`CommandOutput`, `SignatureLength`). No variant holds a PIN.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignerError {
    /// The `pkcs11:` URI is refused.
    Uri(UriError),
    /// No PKCS#11 module was given.
    NoModule,
    /// The URI's `module-path` and the module given otherwise differ.
    ModuleConflict {
        /// From the URI.
        uri: PathBuf,
        /// Given otherwise (`--pkcs11-module`).
        given: PathBuf,
    },
    /// No PIN was given and the token has no protected authentication
    /// path (PIN pad).
    NoPin,
    /// The URI holds a PIN (`pin-value`/`pin-source`) and one was given
    /// otherwise too.
    PinConflict,
    /// The PIN file could not be read.
    PinFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The PKCS#11 module could not be loaded.
    Module {
        /// The module.
        path: PathBuf,
        /// What the loader said.
        detail: String,
    },
    /// No token matches the URI.
    TokenNotFound {
        /// The labels of the tokens present.
        available: Vec<String>,
    },
    /// Several tokens match the URI.
    AmbiguousToken {
        /// How many.
        count: usize,
    },
    /// The token does not offer CKM_EDDSA for signing.
    MechanismUnsupported {
        /// The token's label.
        token: String,
    },
    /// The token refused the PIN.
    WrongPin {
        /// The token's label.
        token: String,
    },
    /// The token's user PIN is locked after too many failures.
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// No private key in the token matches the URI.
    ObjectNotFound {
        /// The token's label.
        token: String,
        /// The key as the URI names it.
        key: String,
    },
    /// Several private keys match the URI.
    AmbiguousObject {
        /// The token's label.
        token: String,
        /// The key as the URI names it.
        key: String,
        /// How many.
        count: usize,
    },
    /// The private key has no public key object beside it (same `CKA_ID`
    /// or label) to read the public key from.
    PublicKeyNotFound {
        /// The key as the URI names it.
        key: String,
    },
    /// The key is not an Ed25519 key.
    NotEd25519 {
        /// The key as the URI names it.
        key: String,
        /// What was found.
        reason: String,
    },
    /// A PKCS#11 call failed.
    Device {
        /// What was being done.
        operation: &'static str,
        /// The PKCS#11 error.
        detail: String,
    },
    /// The signer command could not be started or fed.
    CommandSpawn {
        /// The command.
        command: String,
        /// Why.
        source: io::Error,
    },
    /// The signer command exited unsuccessfully.
    CommandFailed {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// The start of its standard error.
        stderr: String,
    },
    /// The signer command did not print exactly 64 bytes.
    CommandOutput {
        /// The command.
        command: String,
        /// How many bytes it printed; 65 stands for "more than 64" (the
        /// command is stopped at the 65th byte).
        len: usize,
    },
    /// The token returned a signature that is not 64 bytes.
    SignatureLength {
        /// Its length.
        len: usize,
    },
}

impl SignerError {
    /// The layer of this error: `Signature` for a signer that returned
    /// something other than a signature, `Io` otherwise.
    pub fn class(&self) -> ErrorClass {
        match self {
            SignerError::CommandOutput { .. } | SignerError::SignatureLength { .. } => {
                ErrorClass::Signature
            }
            _ => ErrorClass::Io,
        }
    }

    /// Whether the error is in what the caller gave (URI, module, PIN,
    /// key selection) rather than in the signer's operation.
    pub fn is_configuration(&self) -> bool {
        !matches!(
            self,
            SignerError::Device { .. }
                | SignerError::CommandSpawn { .. }
                | SignerError::CommandFailed { .. }
                | SignerError::CommandOutput { .. }
                | SignerError::SignatureLength { .. }
                | SignerError::PinFile { .. }
        )
    }
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignerError::Uri(e) => e.fmt(f),
            SignerError::NoModule => write!(
                f,
                "no PKCS#11 module: give --pkcs11-module FILE or module-path= in the URI"
            ),
            SignerError::ModuleConflict { uri, given } => write!(
                f,
                "the URI's module-path={} and --pkcs11-module {} differ; give one",
                uri.display(),
                given.display()
            ),
            SignerError::NoPin => write!(
                f,
                "no PIN for the token: give --pin-file FILE, set HPK_PKCS11_PIN, or add \
                 pin-source=FILE to the URI"
            ),
            SignerError::PinConflict => write!(
                f,
                "the URI holds a PIN (pin-value/pin-source) and --pin-file gives another; give one"
            ),
            SignerError::PinFile { path, source } => {
                write!(f, "{}: cannot read the PIN: {source}", path.display())
            }
            SignerError::Module { path, detail } => write!(
                f,
                "{}: cannot load the PKCS#11 module: {detail}",
                path.display()
            ),
            SignerError::TokenNotFound { available } => {
                if available.is_empty() {
                    write!(f, "no token matches the URI: the module shows no token")
                } else {
                    write!(
                        f,
                        "no token matches the URI; tokens present: {}",
                        available.join(", ")
                    )
                }
            }
            SignerError::AmbiguousToken { count } => write!(
                f,
                "{count} tokens match the URI: name one with token= (or serial=, slot-id=)"
            ),
            SignerError::MechanismUnsupported { token } => write!(
                f,
                "token `{token}` does not offer CKM_EDDSA signing (pure Ed25519)"
            ),
            SignerError::WrongPin { token } => write!(f, "token `{token}` refused the PIN"),
            SignerError::PinLocked { token } => {
                write!(f, "token `{token}`: the user PIN is locked")
            }
            SignerError::ObjectNotFound { token, key } => {
                write!(f, "token `{token}` holds no private key {key}")
            }
            SignerError::AmbiguousObject { token, key, count } => write!(
                f,
                "token `{token}` holds {count} private keys matching {key}: give both object= and id="
            ),
            SignerError::PublicKeyNotFound { key } => write!(
                f,
                "no public key object beside private key {key} (same id or label) to read \
                 the public key from"
            ),
            SignerError::NotEd25519 { key, reason } => {
                write!(f, "key {key} is not an Ed25519 key: {reason}")
            }
            SignerError::Device { operation, detail } => {
                write!(f, "PKCS#11 error while {operation}: {detail}")
            }
            SignerError::CommandSpawn { command, source } => {
                write!(f, "signer command `{command}` could not run: {source}")
            }
            SignerError::CommandFailed {
                command,
                status,
                stderr,
            } => {
                write!(f, "signer command `{command}` failed ({status})")?;
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
            SignerError::CommandOutput { command, len } => {
                let printed = if *len > 64 {
                    "more than 64 bytes".to_owned()
                } else {
                    format!("{len} bytes")
                };
                write!(
                    f,
                    "signer command `{command}` printed {printed}; it must print exactly the \
                     64 raw bytes of an Ed25519 signature (decode base64 or hex output in the \
                     command)"
                )
            }
            SignerError::SignatureLength { len } => write!(
                f,
                "the token returned a {len}-byte signature; an Ed25519 signature is 64 bytes"
            ),
        }
    }
}

impl std::error::Error for SignerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignerError::Uri(e) => Some(e),
            SignerError::PinFile { source, .. } | SignerError::CommandSpawn { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

impl From<UriError> for SignerError {
    fn from(e: UriError) -> Self {
        SignerError::Uri(e)
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

/// Signs the hpk file `path` (of type `file_type`) with `signer` and
/// writes the result to `out` (which may be `path`).
///
/// Before the signer is asked, the file is read and checked, and with
/// `root` the signer's key must be one that counts: for a package, a key
/// of the role its kind needs; for a catalog, a catalog key; for a trust
/// root, a root key of `root` or of the trust root being signed (a
/// rotation is signed by both). The signature returned is verified
/// strictly against the signer's public key before the record is added;
/// on any error the output is not written.
pub fn sign_file(
    path: &Path,
    file_type: FileType,
    signer: &dyn Signer,
    out: &Path,
    root: Option<&TrustedRoot>,
    options: &mut SignOptions<'_>,
) -> Result<SignOutcome, SignError> {
    let public_key = signer.public_key();
    let key_id = public_key.key_id();
    let not_in = |role: RoleName, kind: &'static str| SignError::NotInRole {
        path: path.to_path_buf(),
        key_id,
        role,
        kind,
    };
    let opened = match file_type {
        FileType::Package => {
            let (opened, manifest) = open_package(path, &options.limits)?;
            if let Some(root) = root {
                let role = manifest.kind.signing_role();
                if !root.root().roles.get(role).keys.contains(&key_id) {
                    return Err(not_in(role, manifest.kind.name()));
                }
            }
            opened
        }
        FileType::TrustRoot => {
            let (opened, own) = open_metadata::<TrustRoot>(path, file_type, &options.limits)?;
            if let Some(root) = root
                && !root.root().roles.root.keys.contains(&key_id)
                && !own.roles.root.keys.contains(&key_id)
            {
                return Err(not_in(RoleName::Root, "trust root"));
            }
            opened
        }
        FileType::Catalog => {
            let (opened, _) = open_metadata::<Catalog>(path, file_type, &options.limits)?;
            if let Some(root) = root
                && !root.root().roles.catalog.keys.contains(&key_id)
            {
                return Err(not_in(RoleName::Catalog, "catalog"));
            }
            opened
        }
    };
    let statement = opened.head.signed_statement();
    let signature = signer
        .sign_statement(&statement)
        .map_err(|source| SignError::Signer {
            path: path.to_path_buf(),
            source,
        })?;
    if public_key.verify_strict(&statement, &signature).is_err() {
        return Err(SignError::SignerMismatch {
            path: path.to_path_buf(),
            file_type,
            key_id,
        });
    }
    add_record(opened, &public_key, signature, out, options)
}

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
