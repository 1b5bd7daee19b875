//! Trust roots as a device holds them: loaded from a pinned file, then
//! rotated one version at a time (`spec/SPEC.md`, VT1–VT6, VR1–VR7).

use crate::clock::Clock;
use crate::document::{Signed, Verified, role_digest, unknown_critical_extension};
use crate::error::{RootError, WrongVersion};
use crate::threshold::{KeyRing, Subject, require_any, role_of};
use hpk_format::{DecodeError, Digest, FileType, Limits, RoleName, TrustRoot, decode};
use std::io::Read;

/// A trust root whose signatures have been checked, self-signed by a
/// threshold of its own root keys and, when it came by rotation, by a
/// threshold of the previous version's root keys; with its keys decoded
/// once, to check everything signed under it.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    root: Verified<TrustRoot>,
    ring: KeyRing,
}

impl PartialEq for TrustedRoot {
    fn eq(&self, other: &TrustedRoot) -> bool {
        // The ring is decoded from the root's keys.
        self.root == other.root
    }
}

impl Eq for TrustedRoot {}

/// VT3, VT4 and VT5 on a decoded root (VR5 and VR6 for a rotation): no
/// unknown critical extension, usable keys, and a threshold of its own
/// root keys.
fn accept(signed: &Signed, root: TrustRoot) -> Result<TrustedRoot, RootError> {
    if let Some(id) = unknown_critical_extension(&root.extensions) {
        return Err(RootError::UnknownCriticalExtension {
            version: root.version,
            id,
        });
    }
    let ring = KeyRing::new(&root.keys).map_err(|id| {
        RootError::Decode(DecodeError::Invalid {
            field: "keys",
            reason: format!("key {id} is not a usable Ed25519 public key"),
        })
    })?;
    let report = signed.signers(&ring);
    let own = [(RoleName::Root, &root.roles.root)];
    require_any(
        &report,
        &own,
        Subject::TrustRoot {
            version: root.version,
        },
    )
    .map_err(RootError::Signature)?;
    let signers = report.signers_in(&root.roles.root);
    let role = root.roles.root.clone();
    Ok(TrustedRoot {
        root: Verified::new(root, signed.digest, (RoleName::Root, &role), signers),
        ring,
    })
}

/// VC9, the one place: the floor `version`, recorded under catalog role
/// `recorded`, in force under catalog role `current`.
pub(crate) fn floor_under(current: Digest, version: u64, recorded: Option<Digest>) -> u64 {
    match recorded {
        Some(role) if role != current => 0,
        _ => version,
    }
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
    pub fn load_chain<R: Read>(
        pinned: &[u8],
        chain: impl IntoIterator<Item = R>,
        clock: Clock,
        limits: &Limits,
    ) -> Result<TrustedRoot, RootError> {
        TrustedRoot::load_untimed(pinned, limits)?.rotate(chain, clock, limits)
    }

    /// VT1–VT5 on a pinned root, its time not judged: for an agent that
    /// walks the chain from it before judging time, which it then MUST
    /// do on the last root with [`TrustedRoot::check_expiry`] (VR7).
    pub fn load_untimed<R: Read>(input: R, limits: &Limits) -> Result<TrustedRoot, RootError> {
        let signed =
            Signed::read_whole(input, FileType::TrustRoot, limits).map_err(RootError::Container)?;
        // A pinned root is trusted by configuration, so its body can be
        // decoded before its keys are known; its self-signature is still
        // required so that a damaged or hand-edited root fails closed.
        let root: TrustRoot = decode(&signed.head.body, limits).map_err(RootError::Decode)?;
        accept(&signed, root)
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
        let signed =
            Signed::read_whole(next, FileType::TrustRoot, limits).map_err(RootError::Container)?;
        let old = [(RoleName::Root, &self.root.roles.root)];
        let subject = Subject::Rotation {
            from: self.root.version,
        };
        let root: TrustRoot = signed.open(&self.ring, &old, subject, limits)?.value;
        // At u64::MAX there is no next version: the overflow itself must
        // refuse (else the same version would pass).
        if self.root.version.checked_add(1) != Some(root.version) {
            return Err(RootError::Version(WrongVersion {
                expected: self.root.version.saturating_add(1),
                found: root.version,
            }));
        }
        accept(&signed, root)
    }

    /// Walks a chain of newer roots, in order, and checks that the last one
    /// is not expired at `clock` (VR1–VR7).
    pub fn rotate<R: Read>(
        self,
        chain: impl IntoIterator<Item = R>,
        clock: Clock,
        limits: &Limits,
    ) -> Result<TrustedRoot, RootError> {
        let mut current = self;
        for next in chain {
            current = current.update_from(next, limits)?;
        }
        current.check_expiry(clock)?;
        Ok(current)
    }

    /// Fails if the root is expired at `clock`, or, with a trusted clock,
    /// created after it (VT6).
    pub fn check_expiry(&self, clock: Clock) -> Result<(), RootError> {
        clock
            .judge(self.root.created, Some(self.root.expires))
            .map_err(|fault| RootError::of_time(self.root.version, fault))
    }

    /// The root's content.
    pub fn root(&self) -> &TrustRoot {
        &self.root
    }

    /// The root as verified: its content, digest and signers.
    pub fn verified(&self) -> &Verified<TrustRoot> {
        &self.root
    }

    /// SHA-256 of the root's body.
    pub fn digest(&self) -> Digest {
        self.root.digest()
    }

    /// The keys of this root, decoded.
    pub(crate) fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The digest of this root's `catalog` role (its threshold and key
    /// ids): SHA-256 of `u32le(threshold) || u64le(key count) || key ids`.
    /// A device records it with its catalog floor; a root whose catalog
    /// role differs resets that floor (see
    /// [`DeviceProfile::catalog_floor`](crate::DeviceProfile::catalog_floor)).
    pub fn catalog_role(&self) -> Digest {
        role_digest(role_of(&self.root.roles, RoleName::Catalog))
    }

    /// The catalog floor in force under this root (VC9): `version`, the
    /// newest catalog version accepted, while this root's catalog role is
    /// `role`, the one it was accepted under (or none was recorded); else
    /// 0, since a new catalog role undoes a fast-forward signed by a key
    /// it rotated out.
    pub fn catalog_floor(&self, version: u64, role: Option<Digest>) -> u64 {
        floor_under(self.catalog_role(), version, role)
    }
}
