//! Ed25519 keys and key files.
//!
//! hpk signs with Ed25519 only. Keys are stored in the formats that OpenSSL
//! uses, so that keys can move freely between hpk, `openssl` and HSM tooling:
//!
//! * secret keys: PKCS#8 v1 (RFC 5208 / RFC 8410) in PEM with the label
//!   `PRIVATE KEY`, byte for byte what `openssl genpkey -algorithm ed25519`
//!   writes; or, protected by a passphrase, the standard encrypted PKCS#8
//!   form with the label `ENCRYPTED PRIVATE KEY` (PBES2 with
//!   PBKDF2-HMAC-SHA256 and AES-256-CBC, readable by
//!   `openssl pkey -passin pass:...`). Encrypted keys written by OpenSSL
//!   (PBES2 with PBKDF2 or scrypt, AES-CBC or AES-GCM) are read as well.
//!   PKCS#8 v2 keys (with the public key embedded) are accepted when the
//!   embedded public key matches the secret key;
//! * public keys: SubjectPublicKeyInfo in PEM with the label `PUBLIC KEY`,
//!   what `openssl pkey -pubout` writes.
//!
//! The key id of a public key is the SHA-256 of its raw 32 bytes.
//!
//! Files are written atomically: a temporary file in the target folder is
//! written, flushed to disk and renamed over the target, so that a reader
//! never sees a half-written key and a failed write leaves the old file as
//! it was. Secret key files are created with mode 0600, public key files
//! with mode 0644 (on Unix; the process umask still applies).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hpk_verify::AtomicFile;
use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::pem::{self, LineEnding};
use pkcs8::der::{AnyRef, Decode, Encode};
use pkcs8::pkcs5::pbes2;
use pkcs8::{
    AlgorithmIdentifierRef, EncryptedPrivateKeyInfoRef, ObjectIdentifier, PrivateKeyInfoRef,
    SubjectPublicKeyInfoRef,
};
use zeroize::Zeroizing;

/// Largest key file, in bytes, that the readers accept. Real Ed25519 key
/// files are a few hundred bytes.
pub const MAX_KEY_FILE_LEN: usize = 64 * 1024;

/// PBKDF2-HMAC-SHA256 iteration count used when writing encrypted keys
/// (the OWASP recommendation for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Largest PBKDF2 iteration count accepted when reading an encrypted key,
/// so that a hostile key file cannot make the reader spin for hours.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Largest scrypt memory use (`128 * r * N` bytes) accepted when reading an
/// encrypted key.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;

/// Largest scrypt work (`128 * r * N * p` bytes processed) accepted when
/// reading an encrypted key.
pub const MAX_SCRYPT_WORK: u64 = 1 << 33;

/// PEM label of an unencrypted PKCS#8 private key.
const LABEL_PRIVATE: &str = "PRIVATE KEY";
/// PEM label of an encrypted PKCS#8 private key.
const LABEL_ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";
/// PEM label of a SubjectPublicKeyInfo.
const LABEL_PUBLIC: &str = "PUBLIC KEY";

/// id-Ed25519 (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// rsaEncryption (PKCS #1).
const OID_RSA: &str = "1.2.840.113549.1.1.1";
/// id-ecPublicKey (RFC 5480).
const OID_EC: &str = "1.2.840.10045.2.1";
/// id-dsa.
const OID_DSA: &str = "1.2.840.10040.4.1";

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Everything that can go wrong while creating, reading, writing or using a
/// key.
///
/// Grouped by layer: malformed input (`MalformedPem`, `UnexpectedPemLabel`,
/// `MalformedKey`, `NotEd25519`, `InvalidPublicKey`), encryption
/// (`PassphraseRequired`, `WrongPassphrase`, `EmptyPassphrase`,
/// `UnsupportedEncryption`), signatures (`BadSignature`) and the system
/// (`Randomness`, `Exists`, `Io`).
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not a well-formed PEM document (bad boundaries, invalid
    /// base64, PEM headers, truncated, too large).
    MalformedPem {
        /// What is wrong with it.
        detail: String,
    },
    /// The PEM document is well formed but holds something other than what
    /// was asked for (e.g. a public key where a secret key was expected).
    UnexpectedPemLabel {
        /// The label found in the document.
        found: String,
        /// The label(s) that were expected.
        expected: &'static str,
    },
    /// The PEM document decodes, but its content is not a valid key
    /// structure (bad DER, wrong lengths, mismatched embedded public key).
    MalformedKey {
        /// What is wrong with it.
        detail: String,
    },
    /// The key is valid but is not an Ed25519 key.
    NotEd25519 {
        /// The dotted OID of the key's algorithm.
        algorithm_oid: String,
        /// For EC keys: the dotted OID of the named curve, when present.
        curve_oid: Option<String>,
    },
    /// 32 bytes that are not a usable Ed25519 public key (not a point on
    /// the curve, or a point of small order).
    InvalidPublicKey,
    /// The key is encrypted and no passphrase was given.
    PassphraseRequired,
    /// The passphrase does not decrypt the key (or the encrypted key is
    /// damaged; the two cannot be told apart).
    WrongPassphrase,
    /// An empty passphrase was given for encrypting a key.
    EmptyPassphrase,
    /// The key is encrypted with a scheme or parameters hpk does not
    /// support.
    UnsupportedEncryption {
        /// Which scheme or parameter.
        detail: String,
    },
    /// A signature did not verify under the public key.
    BadSignature,
    /// The operating system's random number generator failed.
    Randomness {
        /// The underlying error.
        source: io::Error,
    },
    /// The target file exists and overwriting was not asked for.
    Exists {
        /// The file that exists.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file (or folder) concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A key file is longer than [`MAX_KEY_FILE_LEN`]: refused after
    /// reading one byte more than that, whatever follows.
    TooLarge {
        /// The key file.
        path: PathBuf,
        /// The cap, in bytes.
        limit: usize,
    },
}

/// A human name for a key algorithm OID, if we know it.
fn algorithm_name(oid: &str, curve_oid: Option<&str>) -> Option<&'static str> {
    Some(match (oid, curve_oid) {
        (OID_RSA, _) => "RSA",
        ("1.2.840.113549.1.1.10", _) => "RSA-PSS",
        (OID_EC, Some("1.2.840.10045.3.1.7")) => "EC P-256",
        (OID_EC, Some("1.3.132.0.34")) => "EC P-384",
        (OID_EC, Some("1.3.132.0.35")) => "EC P-521",
        (OID_EC, Some("1.3.132.0.10")) => "EC secp256k1",
        (OID_EC, _) => "EC",
        (OID_DSA, _) => "DSA",
        ("1.3.101.110", _) => "X25519",
        ("1.3.101.111", _) => "X448",
        ("1.3.101.113", _) => "Ed448",
        _ => return None,
    })
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::MalformedPem { detail } => {
                write!(f, "not a valid PEM key file: {detail}")
            }
            KeyError::UnexpectedPemLabel { found, expected } => {
                write!(f, "PEM block is labelled \"{found}\", expected {expected}")
            }
            KeyError::MalformedKey { detail } => {
                write!(f, "malformed key: {detail}")
            }
            KeyError::NotEd25519 {
                algorithm_oid,
                curve_oid,
            } => {
                match algorithm_name(algorithm_oid, curve_oid.as_deref()) {
                    Some(name) => write!(f, "key is {name} ({algorithm_oid})")?,
                    None => write!(f, "key algorithm is {algorithm_oid}")?,
                }
                f.write_str(", hpk needs an Ed25519 key; generate one with `hpk keygen`")
            }
            KeyError::InvalidPublicKey => {
                f.write_str("not a usable Ed25519 public key (invalid or small-order point)")
            }
            KeyError::PassphraseRequired => {
                f.write_str("the secret key is encrypted; a passphrase is required")
            }
            KeyError::WrongPassphrase => f.write_str(
                "wrong passphrase: the secret key could not be decrypted \
                 (or the encrypted key file is damaged)",
            ),
            KeyError::EmptyPassphrase => f.write_str(
                "refusing to encrypt a key with an empty passphrase; \
                 give a passphrase or write the key unencrypted",
            ),
            KeyError::UnsupportedEncryption { detail } => write!(
                f,
                "unsupported key encryption: {detail}; re-encrypt the key with \
                 `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256`"
            ),
            KeyError::BadSignature => f.write_str("signature does not verify"),
            KeyError::Randomness { .. } => {
                f.write_str("the operating system's random number generator failed")
            }
            KeyError::Exists { path } => {
                write!(f, "{} exists; pass --force to overwrite", path.display())
            }
            KeyError::Io { path, .. } => write!(f, "I/O error on {}", path.display()),
            KeyError::TooLarge { limit, .. } => {
                write!(f, "larger than {limit} bytes, the most a key file may be")
            }
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::Randomness { source } | KeyError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn malformed_pem(e: impl fmt::Display) -> KeyError {
    KeyError::MalformedPem {
        detail: e.to_string(),
    }
}

fn malformed_key(e: impl fmt::Display) -> KeyError {
    KeyError::MalformedKey {
        detail: e.to_string(),
    }
}

fn io_err(path: &Path, source: io::Error) -> KeyError {
    KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn fill_random(buf: &mut [u8]) -> Result<(), KeyError> {
    getrandom::fill(buf).map_err(|e| KeyError::Randomness {
        source: io::Error::other(e.to_string()),
    })
}

// ---------------------------------------------------------------------------
// Key id
// ---------------------------------------------------------------------------

pub use hpk_format::KeyId;

// ---------------------------------------------------------------------------
// Public key
// ---------------------------------------------------------------------------

/// An Ed25519 public key (32 raw bytes, known to be a valid curve point of
/// large order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Checks and wraps 32 raw bytes.
    ///
    /// # Errors
    /// [`KeyError::InvalidPublicKey`] if the bytes are not a point on the
    /// curve or are a point of small order (such a key could never verify a
    /// signature under `verify_strict`).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        let vk = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPublicKey)?;
        if vk.is_weak() {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(PublicKey(vk))
    }

    /// The raw 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key id: SHA-256 of the raw 32 bytes.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        KeyId::of_public_key(self.as_bytes())
    }

    /// Verifies an Ed25519 signature over `msg` with the strict rules of
    /// ed25519-dalek's `verify_strict` (no small-order components, canonical
    /// `S`).
    ///
    /// # Errors
    /// [`KeyError::BadSignature`] if the signature does not verify.
    pub fn verify_strict(&self, msg: &[u8], sig: &[u8; 64]) -> Result<(), KeyError> {
        let sig = Signature::from_bytes(sig);
        self.0
            .verify_strict(msg, &sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Reads a public key from an SPKI PEM document (`-----BEGIN PUBLIC
    /// KEY-----`), as written by `openssl pkey -pubout`.
    ///
    /// # Errors
    /// [`KeyError::MalformedPem`], [`KeyError::UnexpectedPemLabel`],
    /// [`KeyError::MalformedKey`], [`KeyError::NotEd25519`] or
    /// [`KeyError::InvalidPublicKey`].
    pub fn from_spki_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(text)?;
        if label != LABEL_PUBLIC {
            if let Some(err) = legacy_label_error(label) {
                return Err(err);
            }
            return Err(KeyError::UnexpectedPemLabel {
                found: label.to_owned(),
                expected: "\"PUBLIC KEY\"",
            });
        }
        Self::from_spki_der(&der)
    }

    /// Reads a public key from DER-encoded SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// As [`PublicKey::from_spki_pem`], without the PEM errors.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(malformed_key)?;
        check_algorithm(&spki.algorithm)?;
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| malformed_key("public key BIT STRING has unused bits"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            malformed_key(format_args!(
                "Ed25519 public key is {} bytes, expected 32",
                bytes.len()
            ))
        })?;
        Self::from_bytes(bytes)
    }

    /// DER-encoded SubjectPublicKeyInfo (44 bytes).
    #[must_use]
    pub fn to_spki_der(&self) -> Vec<u8> {
        // SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (0 unused) key }
        let mut der = Vec::with_capacity(44);
        der.extend_from_slice(&[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ]);
        der.extend_from_slice(self.as_bytes());
        der
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, LF line
    /// endings, trailing newline), byte for byte what `openssl pkey -pubout`
    /// writes.
    #[must_use]
    pub fn to_spki_pem(&self) -> String {
        pem_encode(LABEL_PUBLIC, &self.to_spki_der())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.as_bytes()))
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

// ---------------------------------------------------------------------------
// Secret key
// ---------------------------------------------------------------------------

/// An Ed25519 signing key.
///
/// The key material is wiped from memory when the value is dropped. The
/// type deliberately implements neither `Debug`, `Display` nor `Clone`, so
/// that it cannot end up in logs or be copied around by accident.
pub struct SecretKey(Box<SigningKey>);

impl SecretKey {
    /// Generates a new key from the operating system's random number
    /// generator.
    ///
    /// # Errors
    /// [`KeyError::Randomness`] if the random number generator fails.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        fill_random(seed.as_mut_slice())?;
        Ok(Self::from_seed(&seed))
    }

    /// Builds the key from its 32-byte seed (the RFC 8032 private key).
    /// Meant for deterministic test keys; use [`SecretKey::generate`] for
    /// real keys.
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SecretKey(Box::new(SigningKey::from_bytes(seed)))
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `msg` (pure Ed25519, RFC 8032). The result verifies with
    /// `openssl pkeyutl -verify -rawin` and with
    /// [`PublicKey::verify_strict`].
    #[must_use]
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }

    /// Reads a secret key from PKCS#8 PEM: `-----BEGIN PRIVATE KEY-----`
    /// (the passphrase, if any, is ignored) or `-----BEGIN ENCRYPTED
    /// PRIVATE KEY-----` (the passphrase is required). Text before the
    /// `-----BEGIN` line is ignored.
    ///
    /// # Errors
    /// [`KeyError::MalformedPem`], [`KeyError::UnexpectedPemLabel`],
    /// [`KeyError::MalformedKey`], [`KeyError::NotEd25519`],
    /// [`KeyError::PassphraseRequired`], [`KeyError::WrongPassphrase`] or
    /// [`KeyError::UnsupportedEncryption`].
    pub fn from_pkcs8_pem(text: &str, passphrase: Option<&[u8]>) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(text)?;
        match label {
            LABEL_PRIVATE => Self::from_pkcs8_der(&der),
            LABEL_ENCRYPTED => {
                let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let plain = decrypt_pkcs8(&der, passphrase)?;
                Self::from_pkcs8_der(&plain).map_err(|e| match e {
                    // A wrong key that happens to leave valid CBC padding
                    // decrypts to garbage.
                    KeyError::MalformedKey { .. } => KeyError::WrongPassphrase,
                    other => other,
                })
            }
            other => {
                Err(
                    legacy_label_error(other).unwrap_or_else(|| KeyError::UnexpectedPemLabel {
                        found: other.to_owned(),
                        expected: "\"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\"",
                    }),
                )
            }
        }
    }

    /// Reads a secret key from unencrypted DER PKCS#8 (v1, or v2 with a
    /// matching public key).
    ///
    /// # Errors
    /// [`KeyError::MalformedKey`] or [`KeyError::NotEd25519`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(malformed_key)?;
        check_algorithm(&info.algorithm)?;
        // RFC 8410: CurvePrivateKey ::= OCTET STRING, inside the privateKey
        // OCTET STRING.
        let seed: &[u8; 32] = match info.private_key.as_bytes() {
            [0x04, 0x20, rest @ ..] => rest
                .try_into()
                .map_err(|_| malformed_key("Ed25519 private key is not 32 bytes"))?,
            _ => {
                return Err(malformed_key(
                    "Ed25519 private key is not a 32-byte OCTET STRING",
                ));
            }
        };
        let key = Self::from_seed(seed);
        if let Some(embedded) = info.public_key
            && embedded.as_bytes() != Some(key.public_key().as_bytes().as_slice())
        {
            return Err(malformed_key(
                "the public key embedded in the PKCS#8 v2 key does not match the secret key",
            ));
        }
        Ok(key)
    }

    /// Writes the key as PKCS#8 PEM.
    ///
    /// Without a passphrase: PKCS#8 v1, `-----BEGIN PRIVATE KEY-----`,
    /// identical to what `openssl genpkey -algorithm ed25519` writes. With
    /// a passphrase: `-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2 with
    /// PBKDF2-HMAC-SHA256 ([`PBKDF2_ITERATIONS`] iterations, random 16-byte
    /// salt) and AES-256-CBC (random IV). The result is zeroized on drop.
    ///
    /// # Errors
    /// [`KeyError::EmptyPassphrase`] for `Some(b"")`,
    /// [`KeyError::Randomness`] if salt or IV cannot be drawn.
    pub fn to_pkcs8_pem(&self, passphrase: Option<&[u8]>) -> Result<Zeroizing<String>, KeyError> {
        self.to_pkcs8_pem_with_iterations(passphrase, PBKDF2_ITERATIONS)
    }

    fn to_pkcs8_pem_with_iterations(
        &self,
        passphrase: Option<&[u8]>,
        iterations: u32,
    ) -> Result<Zeroizing<String>, KeyError> {
        let plain = self.to_pkcs8_der();
        match passphrase {
            None => Ok(Zeroizing::new(pem_encode(LABEL_PRIVATE, &plain))),
            Some([]) => Err(KeyError::EmptyPassphrase),
            Some(passphrase) => {
                let der = encrypt_pkcs8(&plain, passphrase, iterations)?;
                Ok(Zeroizing::new(pem_encode(LABEL_ENCRYPTED, &der)))
            }
        }
    }

    /// Unencrypted DER PKCS#8 v1 (48 bytes), zeroized on drop.
    fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 },
        //            OCTET STRING { OCTET STRING seed } }
        let mut der = Zeroizing::new(Vec::with_capacity(48));
        der.extend_from_slice(&[
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ]);
        der.extend_from_slice(self.0.as_bytes());
        der
    }
}

// ---------------------------------------------------------------------------
// PEM and PKCS#8 helpers
// ---------------------------------------------------------------------------

/// Decodes a PEM document, returning its label and (zeroized on drop)
/// contents. Text before the `-----BEGIN` line is skipped.
fn decode_pem(text: &str) -> Result<(&str, Zeroizing<Vec<u8>>), KeyError> {
    if text.len() > MAX_KEY_FILE_LEN {
        return Err(malformed_pem(format_args!(
            "larger than {MAX_KEY_FILE_LEN} bytes"
        )));
    }
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| malformed_pem("no \"-----BEGIN\" line found"))?;
    let text = text.get(start..).unwrap_or(text);
    let label = pem::decode_label(text.as_bytes()).map_err(malformed_pem)?;
    // Legacy OpenSSL formats carry RFC 1421 headers that RFC 7468 forbids;
    // recognise them by label before trying to decode the body.
    if let Some(err) = legacy_label_error(label) {
        return Err(err);
    }
    let (label, der) = pem::decode_vec(text.as_bytes()).map_err(malformed_pem)?;
    Ok((label, Zeroizing::new(der)))
}

/// PEM-encodes with LF line endings and 64-character lines, as OpenSSL
/// does.
fn pem_encode(label: &str, der: &[u8]) -> String {
    // The label is one of our constants and the input is small, so encoding
    // cannot fail; fall back to an empty string rather than panicking.
    pem::encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// The error for legacy (pre-PKCS#8) OpenSSL PEM labels.
fn legacy_label_error(label: &str) -> Option<KeyError> {
    let oid = match label {
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => OID_RSA,
        "EC PRIVATE KEY" => OID_EC,
        "DSA PRIVATE KEY" => OID_DSA,
        _ => return None,
    };
    Some(KeyError::NotEd25519 {
        algorithm_oid: oid.to_owned(),
        curve_oid: None,
    })
}

/// Checks that an AlgorithmIdentifier is id-Ed25519 without parameters.
fn check_algorithm(alg: &AlgorithmIdentifierRef<'_>) -> Result<(), KeyError> {
    if alg.oid != OID_ED25519 {
        let curve_oid = alg
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .map(|oid| oid.to_string());
        return Err(KeyError::NotEd25519 {
            algorithm_oid: alg.oid.to_string(),
            curve_oid,
        });
    }
    if alg.parameters.is_some() {
        return Err(malformed_key(
            "Ed25519 AlgorithmIdentifier must not have parameters (RFC 8410)",
        ));
    }
    Ok(())
}

/// Encrypts DER PKCS#8 into DER EncryptedPrivateKeyInfo.
fn encrypt_pkcs8(plain: &[u8], passphrase: &[u8], iterations: u32) -> Result<Vec<u8>, KeyError> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    fill_random(&mut salt)?;
    fill_random(&mut iv)?;
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
        .map_err(|e| malformed_key(format_args!("PBES2 parameters: {e}")))?;

    // Encrypt in a buffer that is wiped on drop, with room for the padding.
    let mut buf = Zeroizing::new(Vec::with_capacity(plain.len() + 16));
    buf.extend_from_slice(plain);
    buf.resize(plain.len() + 16, 0);
    let ciphertext = params
        .encrypt_in_place(passphrase, &mut buf, plain.len())
        .map_err(|e| malformed_key(format_args!("encryption failed: {e}")))?;
    let encrypted_data = OctetStringRef::new(ciphertext).map_err(malformed_key)?;
    EncryptedPrivateKeyInfoRef {
        encryption_algorithm: params.into(),
        encrypted_data,
    }
    .to_der()
    .map_err(malformed_key)
}

/// Names a PBES2 component OID for error messages.
fn describe_oid(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.5.3" => "PBES1 pbeWithMD5AndDES-CBC",
        "1.2.840.113549.1.5.10" => "PBES1 pbeWithSHA1AndDES-CBC",
        "1.2.840.113549.1.12.1.3" => "PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC",
        "1.2.840.113549.1.12.1.6" => "PKCS#12 pbeWithSHAAnd40BitRC2-CBC",
        "1.2.840.113549.3.7" => "DES-EDE3-CBC",
        "1.3.14.3.2.7" => "DES-CBC",
        "1.2.840.113549.2.7" => "PBKDF2 with HMAC-SHA1",
        _ => return oid.to_string(),
    };
    format!("{name} ({oid})")
}

/// Checks the scheme of an EncryptedPrivateKeyInfo before handing it to
/// the PBES2 implementation, so that unsupported schemes get a clear error
/// instead of a DER error, and so that hostile KDF parameters are refused
/// before any work is done.
fn check_encryption_scheme(der: &[u8]) -> Result<(), KeyError> {
    // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
    let outer = AnyRef::from_der(der).map_err(malformed_key)?;
    let alg = outer
        .sequence(|r| {
            let alg = AlgorithmIdentifierRef::decode(r)?;
            let _data = <&OctetStringRef>::decode(r)?;
            Ok::<_, pkcs8::der::Error>(alg)
        })
        .map_err(malformed_key)?;
    if alg.oid != pbes2::PBES2_OID {
        return Err(KeyError::UnsupportedEncryption {
            detail: describe_oid(alg.oid),
        });
    }
    let params = alg
        .parameters
        .ok_or_else(|| malformed_key("PBES2 without parameters"))?;
    let (kdf, cipher) = params
        .sequence(|r| {
            let kdf = AlgorithmIdentifierRef::decode(r)?;
            let cipher = AlgorithmIdentifierRef::decode(r)?;
            Ok::<_, pkcs8::der::Error>((kdf, cipher))
        })
        .map_err(malformed_key)?;
    if kdf.oid != pbes2::PBKDF2_OID && kdf.oid != pbes2::SCRYPT_OID {
        return Err(KeyError::UnsupportedEncryption {
            detail: format!("key derivation {}", describe_oid(kdf.oid)),
        });
    }
    let supported_ciphers = [
        pbes2::AES_128_CBC_OID,
        pbes2::AES_192_CBC_OID,
        pbes2::AES_256_CBC_OID,
        pbes2::AES_128_GCM_OID,
        pbes2::AES_256_GCM_OID,
    ];
    if !supported_ciphers.contains(&cipher.oid) {
        return Err(KeyError::UnsupportedEncryption {
            detail: format!("cipher {}", describe_oid(cipher.oid)),
        });
    }
    Ok(())
}

/// Refuses KDF parameters that would take unreasonable time or memory.
fn check_kdf_cost(kdf: &pbes2::Kdf) -> Result<(), KeyError> {
    if let Some(p) = kdf.pbkdf2()
        && p.iteration_count > MAX_PBKDF2_ITERATIONS
    {
        return Err(KeyError::UnsupportedEncryption {
            detail: format!(
                "PBKDF2 iteration count {} exceeds hpk's limit of {MAX_PBKDF2_ITERATIONS}",
                p.iteration_count
            ),
        });
    }
    if let Some(s) = kdf.scrypt() {
        let n = s.cost_parameter;
        let r = u64::from(s.block_size);
        let p = u64::from(s.parallelization);
        let memory = n.checked_mul(r).and_then(|x| x.checked_mul(128));
        let work = memory.and_then(|m| m.checked_mul(p));
        let ok = matches!((memory, work), (Some(m), Some(w)) if m <= MAX_SCRYPT_MEMORY && w <= MAX_SCRYPT_WORK);
        if !ok {
            return Err(KeyError::UnsupportedEncryption {
                detail: format!("scrypt parameters N={n}, r={r}, p={p} exceed hpk's limits"),
            });
        }
    }
    Ok(())
}

/// Decrypts DER EncryptedPrivateKeyInfo into DER PKCS#8 (zeroized on
/// drop).
fn decrypt_pkcs8(der: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    check_encryption_scheme(der)?;
    let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(malformed_key)?;
    let params =
        info.encryption_algorithm
            .pbes2()
            .ok_or_else(|| KeyError::UnsupportedEncryption {
                detail: describe_oid(info.encryption_algorithm.oid()),
            })?;
    check_kdf_cost(&params.kdf)?;
    let mut buf = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let len = match params.decrypt_in_place(passphrase, &mut buf) {
        Ok(plain) => plain.len(),
        Err(pkcs8::pkcs5::Error::DecryptFailed) => return Err(KeyError::WrongPassphrase),
        Err(pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            return Err(KeyError::UnsupportedEncryption {
                detail: describe_oid(oid),
            });
        }
        Err(e) => return Err(malformed_key(format_args!("encrypted key: {e}"))),
    };
    buf.truncate(len);
    Ok(buf)
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// Writes `key` to `path` as PKCS#8 PEM (encrypted if `passphrase` is
/// given), atomically, with mode 0600 on Unix.
///
/// # Errors
/// [`KeyError::Exists`] if `path` exists and `force` is false (the file is
/// left untouched), [`KeyError::Io`] if writing fails (any existing file is
/// left untouched and no temporary file remains), and the errors of
/// [`SecretKey::to_pkcs8_pem`].
pub fn write_secret_key_file(
    path: &Path,
    key: &SecretKey,
    passphrase: Option<&[u8]>,
    force: bool,
) -> Result<(), KeyError> {
    // Fail early, before spending time on the key derivation.
    check_not_exists(path, force)?;
    let pem = key.to_pkcs8_pem(passphrase)?;
    write_atomic(path, pem.as_bytes(), 0o600, force)
}

/// Writes `key` to `path` as SPKI PEM, atomically, with mode 0644 on Unix.
///
/// # Errors
/// [`KeyError::Exists`] if `path` exists and `force` is false,
/// [`KeyError::Io`] if writing fails (any existing file is left untouched
/// and no temporary file remains).
pub fn write_public_key_file(path: &Path, key: &PublicKey, force: bool) -> Result<(), KeyError> {
    check_not_exists(path, force)?;
    write_atomic(path, key.to_spki_pem().as_bytes(), 0o644, force)
}

/// Reads a secret key file written by [`write_secret_key_file`] or by
/// OpenSSL (see [`SecretKey::from_pkcs8_pem`]).
///
/// # Errors
/// [`KeyError::Io`] if the file cannot be read, [`KeyError::TooLarge`]
/// if it is larger than [`MAX_KEY_FILE_LEN`], [`KeyError::MalformedPem`]
/// if it is not UTF-8, and the errors
/// of [`SecretKey::from_pkcs8_pem`].
pub fn read_secret_key_file(path: &Path, passphrase: Option<&[u8]>) -> Result<SecretKey, KeyError> {
    let bytes = read_limited(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed_pem("file is not UTF-8 text"))?;
    SecretKey::from_pkcs8_pem(text, passphrase)
}

/// Reads a public key file (SPKI PEM, see [`PublicKey::from_spki_pem`]).
///
/// # Errors
/// [`KeyError::Io`] if the file cannot be read, [`KeyError::TooLarge`]
/// if it is larger than [`MAX_KEY_FILE_LEN`], [`KeyError::MalformedPem`]
/// if it is not UTF-8, and the errors
/// of [`PublicKey::from_spki_pem`].
pub fn read_public_key_file(path: &Path) -> Result<PublicKey, KeyError> {
    let bytes = read_limited(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed_pem("file is not UTF-8 text"))?;
    PublicKey::from_spki_pem(text)
}

/// Reads at most [`MAX_KEY_FILE_LEN`] bytes into a buffer that is wiped on
/// drop (allocated once, so no unwiped copies are left by reallocation).
fn read_limited(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE_LEN + 1));
    // `take` bounds the read, so the capacity above is never exceeded.
    file.take(MAX_KEY_FILE_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io_err(path, e))?;
    if buf.len() > MAX_KEY_FILE_LEN {
        return Err(KeyError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_KEY_FILE_LEN,
        });
    }
    Ok(buf)
}

fn check_not_exists(path: &Path, force: bool) -> Result<(), KeyError> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(KeyError::Exists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes `contents` to `path` atomically with [`AtomicFile`]: a temporary
/// file in the same folder is created with `mode`, written, flushed to disk
/// and then moved into place. Without `force`, an existing `path` is never
/// replaced, even if it appears while we write. On failure the temporary
/// file is removed and any existing `path` is untouched.
fn write_atomic(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<(), KeyError> {
    let mut file = AtomicFile::create_with_mode(path, mode).map_err(|e| io_err(path, e))?;
    file.file()
        .and_then(|f| f.write_all(contents))
        .map_err(|e| io_err(path, e))?;
    let committed = if force {
        file.commit()
    } else {
        file.commit_new()
    };
    committed.map_err(|e| {
        if !force && e.kind() == io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io_err(path, e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_round_trip_with_cheap_kdf() {
        let key = SecretKey::from_seed(&[7; 32]);
        let pem = key.to_pkcs8_pem_with_iterations(Some(b"pw"), 1000).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        let back = SecretKey::from_pkcs8_pem(&pem, Some(b"pw")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert!(matches!(
            SecretKey::from_pkcs8_pem(&pem, Some(b"px")),
            Err(KeyError::WrongPassphrase)
        ));
    }

    #[test]
    fn kdf_cost_limits() {
        let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
            MAX_PBKDF2_ITERATIONS + 1,
            &[1; 16],
            [2; 16],
        )
        .unwrap();
        let der = EncryptedPrivateKeyInfoRef {
            encryption_algorithm: params.into(),
            encrypted_data: OctetStringRef::new(&[0; 48]).unwrap(),
        }
        .to_der()
        .unwrap();
        let pem = pem_encode(LABEL_ENCRYPTED, &der);
        let start = std::time::Instant::now();
        let err = SecretKey::from_pkcs8_pem(&pem, Some(b"pw")).err().unwrap();
        assert!(
            matches!(err, KeyError::UnsupportedEncryption { .. }),
            "{err}"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn write_atomic_never_replaces_without_force() {
        // Bypasses the early existence check: the final link step itself
        // must refuse to replace a file that appeared meanwhile.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, "old").unwrap();
        let err = write_atomic(&path, b"new", 0o600, false).err().unwrap();
        assert!(matches!(err, KeyError::Exists { .. }), "{err:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&path, b"new", 0o600, true).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
    }
}
