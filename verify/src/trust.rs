//! Trust roots as a device holds them: loaded from a pinned file, then
//! rotated one version at a time.

use crate::device::Clock;
use crate::error::RootError;
use crate::policy::KNOWN_EXTENSIONS;
use crate::threshold::{SignerReport, require_threshold};
use hpk_format::{
    ContainerError, DecodeError, Digest, FileType, Head, Limits, Role, RoleName, TrustRoot, decode,
    expect_end, read_head, statement_for_digest, unknown_critical,
};
use std::io::Read;

/// A trust root whose signatures have been checked: self-signed by a
/// threshold of its own root keys and, when it came by rotation, by a
/// threshold of the previous version's root keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedRoot {
    root: TrustRoot,
    digest: Digest,
}

struct Parsed {
    head: Head,
    /// SHA-256 of the body: the root's digest and part of its statement.
    digest: Digest,
    statement: Vec<u8>,
}

/// Reads a trust root or catalog through its bound: the 40-byte header
/// first, then exactly the signature block and body it declares (bounded
/// by `limits` before anything is allocated), then at most one more byte
/// to require the end of the input (C16, C17). Memory stays bounded by the
/// limits whatever follows in the input.
pub(crate) fn read_document<R: Read>(
    mut input: R,
    file_type: FileType,
    limits: &Limits,
) -> Result<Head, ContainerError> {
    let head = read_head(&mut input, file_type, limits)?;
    expect_end(&mut input)?;
    Ok(head)
}

fn parse<R: Read>(input: R, limits: &Limits) -> Result<Parsed, RootError> {
    let head = read_document(input, FileType::TrustRoot, limits).map_err(RootError::Container)?;
    let digest = Digest::of(&head.body);
    let statement = statement_for_digest(FileType::TrustRoot, &digest);
    Ok(Parsed {
        head,
        digest,
        statement,
    })
}

/// SHA-256 of a role's encoding (`u32le threshold || u64le count ||
/// key ids`, as in the trust-root body): what a device records with its
/// catalog floor.
pub(crate) fn role_digest(role: &Role) -> Digest {
    let mut bytes = Vec::with_capacity(role.keys.len().saturating_mul(32).saturating_add(12));
    bytes.extend_from_slice(&role.threshold.to_le_bytes());
    bytes.extend_from_slice(&(role.keys.len() as u64).to_le_bytes());
    for k in &role.keys {
        bytes.extend_from_slice(k.as_bytes());
    }
    Digest::of(&bytes)
}

/// Every key must be a valid Ed25519 point of large order: a weak key
/// could make signatures verify that its holder never made.
fn check_keys(root: &TrustRoot) -> Result<(), RootError> {
    for key in &root.keys {
        let usable = ed25519_dalek::VerifyingKey::from_bytes(&key.public_key)
            .map(|k| !k.is_weak())
            .unwrap_or(false);
        if !usable {
            return Err(RootError::Decode(DecodeError::Invalid {
                field: "keys",
                reason: format!("key {} is not a usable Ed25519 public key", key.key_id()),
            }));
        }
    }
    Ok(())
}

fn check_extensions(root: &TrustRoot) -> Result<(), RootError> {
    match unknown_critical(&root.extensions, KNOWN_EXTENSIONS) {
        Some(e) => Err(RootError::UnknownCriticalExtension {
            version: root.version,
            id: e.id,
        }),
        None => Ok(()),
    }
}

fn self_signed(parsed: &Parsed, root: &TrustRoot) -> Result<(), RootError> {
    let report = SignerReport::check(&parsed.head.signatures, &parsed.statement, &root.keys);
    require_threshold(
        &report,
        RoleName::Root,
        &root.roles.root,
        &format!("trust root version {}", root.version),
    )
    .map_err(RootError::Signature)
}

impl TrustedRoot {
    /// Loads a trust root that the device trusts by configuration (shipped
    /// with it, or pinned). It must be signed by a threshold of its own
    /// root keys and not be expired at `clock`.
    ///
    /// The same as [`TrustedRoot::load_from`] over the bytes.
    pub fn load(bytes: &[u8], clock: Clock, limits: &Limits) -> Result<TrustedRoot, RootError> {
        TrustedRoot::load_from(bytes, clock, limits)
    }

    /// Loads a pinned trust root from a stream, read through its bound:
    /// the header first, then exactly the signature block and body it
    /// declares (within `limits`), then at most one more byte, which must
    /// not exist (C16). Whatever follows in the stream, memory stays
    /// bounded by the limits and nothing after that byte is read.
    pub fn load_from<R: Read>(
        input: R,
        clock: Clock,
        limits: &Limits,
    ) -> Result<TrustedRoot, RootError> {
        let trusted = TrustedRoot::load_untimed(input, limits)?;
        trusted.check_expiry(clock)?;
        Ok(trusted)
    }

    /// Loads a pinned root and walks a chain of newer roots from it, as an
    /// agent catches up (VT1–VT5 on `pinned`, VR1–VR6 on each root of
    /// `chain` in order, then VT6 on the last root only, VR7): a root in
    /// the middle of the chain, or the pinned one, may have expired.
    pub fn load_chain<'a>(
        pinned: &[u8],
        chain: impl IntoIterator<Item = &'a [u8]>,
        clock: Clock,
        limits: &Limits,
    ) -> Result<TrustedRoot, RootError> {
        TrustedRoot::load_untimed(pinned, limits)?.rotate(chain, clock, limits)
    }

    /// VT1–VT5: a pinned root, its time not judged.
    fn load_untimed<R: Read>(input: R, limits: &Limits) -> Result<TrustedRoot, RootError> {
        let parsed = parse(input, limits)?;
        // A pinned root is trusted by configuration, so its body can be
        // decoded before its keys are known; its self-signature is still
        // required so that a damaged or hand-edited root fails closed.
        let root: TrustRoot = decode(&parsed.head.body, limits).map_err(RootError::Decode)?;
        // VT3 before VT4.
        check_extensions(&root)?;
        check_keys(&root)?;
        self_signed(&parsed, &root)?;
        Ok(TrustedRoot {
            digest: parsed.digest,
            root,
        })
    }

    /// Accepts the next version of the root: exactly version + 1, signed by
    /// a threshold of this root's root keys (checked before its body is
    /// decoded) and of its own. Expiry is not checked here: check the last
    /// root of a chain with [`TrustedRoot::check_expiry`] or use
    /// [`TrustedRoot::rotate`].
    ///
    /// The same as [`TrustedRoot::update_from`] over the bytes.
    pub fn update(&self, next: &[u8], limits: &Limits) -> Result<TrustedRoot, RootError> {
        self.update_from(next, limits)
    }

    /// Like [`TrustedRoot::update`], reading the next root from a stream
    /// through its bound, as [`TrustedRoot::load_from`] does.
    pub fn update_from<R: Read>(&self, next: R, limits: &Limits) -> Result<TrustedRoot, RootError> {
        let parsed = parse(next, limits)?;
        let expected = self.root.version.saturating_add(1);
        let by_old =
            SignerReport::check(&parsed.head.signatures, &parsed.statement, &self.root.keys);
        require_threshold(
            &by_old,
            RoleName::Root,
            &self.root.roles.root,
            &format!(
                "trust root rotation from version {} (old root keys)",
                self.root.version
            ),
        )
        .map_err(RootError::Signature)?;
        let root: TrustRoot = decode(&parsed.head.body, limits).map_err(RootError::Decode)?;
        // At u64::MAX there is no next version: `expected` saturates, so
        // the overflow itself must refuse (else the same version would pass).
        if self.root.version.checked_add(1) != Some(root.version) {
            return Err(RootError::Version {
                expected,
                found: root.version,
            });
        }
        // VR5: VT3, then VT4.
        check_extensions(&root)?;
        check_keys(&root)?;
        self_signed(&parsed, &root)?;
        Ok(TrustedRoot {
            digest: parsed.digest,
            root,
        })
    }

    /// Walks a chain of newer roots, in order, and checks that the last one
    /// is not expired at `clock`.
    pub fn rotate<'a>(
        self,
        chain: impl IntoIterator<Item = &'a [u8]>,
        clock: Clock,
        limits: &Limits,
    ) -> Result<TrustedRoot, RootError> {
        let mut current = self;
        for next in chain {
            current = current.update(next, limits)?;
        }
        current.check_expiry(clock)?;
        Ok(current)
    }

    /// Fails if the root is expired at `clock`, or, with a trusted clock,
    /// created after it.
    pub fn check_expiry(&self, clock: Clock) -> Result<(), RootError> {
        if clock.is_not_yet_valid(self.root.created) {
            return Err(RootError::NotYetValid {
                version: self.root.version,
                created: self.root.created,
                now: clock.at_least(),
            });
        }
        if clock.is_expired(self.root.expires) {
            return Err(RootError::Expired {
                version: self.root.version,
                expires: self.root.expires,
                at: clock.at_least(),
            });
        }
        Ok(())
    }

    /// The root's content.
    pub fn root(&self) -> &TrustRoot {
        &self.root
    }

    /// SHA-256 of the root's body.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The digest of this root's `catalog` role (its threshold and key
    /// ids): SHA-256 of `u32le(threshold) || u64le(key count) || key ids`.
    /// A device records it with its catalog floor; a root whose catalog
    /// role differs resets that floor (see
    /// [`DeviceProfile::catalog_floor`](crate::DeviceProfile::catalog_floor)).
    pub fn catalog_role(&self) -> Digest {
        role_digest(&self.root.roles.catalog)
    }
}
