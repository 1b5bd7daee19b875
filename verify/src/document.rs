//! The one signed-document check that trust roots, catalogs and packages
//! share, and what it yields: [`Verified`].
//!
//! Authenticate before parse: a document is read through its bound, its
//! body hashed once (the digest is both its identity and, with the signing
//! context, its signed statement), its signatures counted against a key
//! ring, and only when a role's threshold is met is its body decoded.
//! What each kind of document checks after that (versions, freshness,
//! lengths, policy) is in its own file.

use crate::error::DocumentError;
use crate::threshold::{KeyRing, SignerReport, Subject, ThresholdNotMet, require_any};
use hpk_format::{
    Canonical, ContainerError, DecodeError, Digest, Extension, FileType, Head, KeyId, Limits, Role,
    RoleName, decode, expect_end, read_head, statement_for_digest, unknown_critical,
};
use std::collections::BTreeSet;
use std::io::Read;
use std::ops::Deref;

/// Extension ids this verifier understands; any other critical extension
/// refuses its document (VT3, VC4, Y2).
pub(crate) const KNOWN_EXTENSIONS: &[u32] = &[hpk_format::EXT_NOTE];

/// The id of the first critical extension this verifier does not know.
pub(crate) fn unknown_critical_extension(extensions: &[Extension]) -> Option<u32> {
    unknown_critical(extensions, KNOWN_EXTENSIONS).map(|e| e.id)
}

/// A document read through its bound, its body hashed once.
pub(crate) struct Signed {
    /// Header, signature records and body.
    pub(crate) head: Head,
    /// SHA-256 of the body.
    pub(crate) digest: Digest,
}

impl Signed {
    /// Reads a head (header, exactly the signature block and body it
    /// declares, within `limits`) and leaves `input` right after it.
    pub(crate) fn read_head<R: Read>(
        input: &mut R,
        file_type: FileType,
        limits: &Limits,
    ) -> Result<Signed, ContainerError> {
        let head = read_head(input, file_type, limits)?;
        Ok(Signed::from_head(head))
    }

    /// Reads a trust root or catalog: its head, then at most one more
    /// byte, which must not exist (C16, C17). Memory stays bounded by the
    /// limits whatever follows in the input.
    pub(crate) fn read_whole<R: Read>(
        mut input: R,
        file_type: FileType,
        limits: &Limits,
    ) -> Result<Signed, ContainerError> {
        let signed = Signed::read_head(&mut input, file_type, limits)?;
        expect_end(&mut input)?;
        Ok(signed)
    }

    /// A head already read.
    pub(crate) fn from_head(head: Head) -> Signed {
        let digest = Digest::of(&head.body);
        Signed { head, digest }
    }

    /// Counts the signature records over this document's statement.
    pub(crate) fn signers(&self, ring: &KeyRing) -> SignerReport {
        let statement = statement_for_digest(self.head.header.file_type, &self.digest);
        SignerReport::check(&self.head.signatures, &statement, ring)
    }

    /// Authenticates, then decodes: the signers must meet the threshold
    /// of one of `roles` before a byte of the body is decoded.
    pub(crate) fn open<T: Canonical>(
        &self,
        ring: &KeyRing,
        roles: &[(RoleName, &Role)],
        subject: Subject,
        limits: &Limits,
    ) -> Result<Opened<T>, OpenError> {
        let report = self.signers(ring);
        require_any(&report, roles, subject).map_err(OpenError::Signature)?;
        let value = decode(&self.head.body, limits).map_err(OpenError::Decode)?;
        Ok(Opened { value, report })
    }
}

/// A document body decoded after its signatures met a threshold.
pub(crate) struct Opened<T> {
    /// The decoded body.
    pub(crate) value: T,
    /// Every signer, key by key.
    pub(crate) report: SignerReport,
}

/// Why a document could not be opened.
pub(crate) enum OpenError {
    /// No role's threshold was met; the body was not decoded.
    Signature(Box<ThresholdNotMet>),
    /// The body does not decode canonically.
    Decode(DecodeError),
}

impl<K> From<OpenError> for DocumentError<K> {
    fn from(e: OpenError) -> DocumentError<K> {
        match e {
            OpenError::Signature(e) => DocumentError::Signature(e),
            OpenError::Decode(e) => DocumentError::Decode(e),
        }
    }
}

/// SHA-256 of a role's encoding (`u32le threshold || u64le count || key
/// ids`, as in the trust-root body).
pub(crate) fn role_digest(role: &Role) -> Digest {
    let mut bytes = Vec::with_capacity(role.keys.len().saturating_mul(32).saturating_add(12));
    bytes.extend_from_slice(&role.threshold.to_le_bytes());
    bytes.extend_from_slice(&(role.keys.len() as u64).to_le_bytes());
    for k in &role.keys {
        bytes.extend_from_slice(k.as_bytes());
    }
    Digest::of(&bytes)
}

/// A trust root, catalog or manifest that passed every check of its kind:
/// signatures over its statement met the threshold of `role` before it
/// was decoded, and whatever its kind checks next (version, freshness,
/// lengths, for packages the kind's role) held.
///
/// Only this crate makes one. It dereferences to the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<T> {
    value: T,
    digest: Digest,
    role: RoleName,
    role_digest: Digest,
    signers: BTreeSet<KeyId>,
}

impl<T> Verified<T> {
    /// Only the checks of this crate call it: `value`, whose body has
    /// the SHA-256 `digest`, met the threshold of `role` (named `name`),
    /// with these distinct `signers`.
    pub(crate) fn new(
        value: T,
        digest: Digest,
        (name, role): (RoleName, &Role),
        signers: BTreeSet<KeyId>,
    ) -> Self {
        Verified {
            value,
            digest,
            role: name,
            role_digest: role_digest(role),
            signers,
        }
    }

    /// SHA-256 of the document's body: a package's manifest digest, how
    /// hotpatches, catalogs and revocations name it.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The role whose threshold the document met.
    pub fn role(&self) -> RoleName {
        self.role
    }

    /// SHA-256 of that role as the trust root encodes it (`u32le
    /// threshold || u64le key count || key ids`). For a catalog it is the
    /// `catalog_role` a device records with its catalog floor (VC8).
    pub fn role_digest(&self) -> Digest {
        self.role_digest
    }

    /// The distinct keys of that role whose signatures are valid.
    pub fn signers(&self) -> &BTreeSet<KeyId> {
        &self.signers
    }

    /// The document, no longer marked verified.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
