//! Authoring trust roots: creating and editing them, writing them out,
//! signing them (with a local key or an external signer) and checking a
//! rotation before publishing it.
//!
//! A trust-root file is the hpk container with file type `TrustRoot`: the
//! encoded [`TrustRoot`] as body, no chunk index nor payload, and
//! signatures over [`hpk_format::signed_statement`]`(FileType::TrustRoot,
//! body)`.
//!
//! The workflow: edit a [`TrustRoot`] value with [`init`], [`add_key`],
//! [`remove_key`], [`set_threshold`], [`set_expiry`] or [`next_version`];
//! write it with [`save_root`] (which drops signatures when the body
//! changed, since they no longer cover it); have a threshold of root keys
//! sign it with [`sign_root_file`] or [`root_tbs`] and
//! [`attach_root_signature`] (for a rotation: a threshold of the previous
//! version's root keys as well); check it with [`check_rotation`] or
//! [`hpk_verify::TrustedRoot::load`].
//!
//! Every file function reads and writes within [`Limits::default`], the
//! profile every reader accepts.

use crate::error::SignError;
use crate::keys::{PublicKey, SecretKey};
use crate::metadata;
pub use crate::metadata::SaveOutcome;
use crate::signing::{SignOutcome, trusted_key};
use hpk_format::{
    Canonical, DecodeError, FileType, Head, KeyId, Limits, Role, RoleName, Roles, TrustRoot,
};
use hpk_verify::{Clock, RootError, TrustedRoot};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Editing
// ---------------------------------------------------------------------------

/// The keys and threshold of one role, for [`init`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSpec {
    /// The role's keys; repeats count once.
    pub keys: Vec<PublicKey>,
    /// How many distinct keys of the role must sign: 1 to the number of
    /// keys.
    pub threshold: u32,
}

impl RoleSpec {
    /// A role with these keys and threshold.
    pub fn new(keys: Vec<PublicKey>, threshold: u32) -> RoleSpec {
        RoleSpec { keys, threshold }
    }
}

/// The keys and threshold of every role, for [`init`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleKeys {
    /// Signs trust roots.
    pub root: RoleSpec,
    /// Signs baseline and standard packages.
    pub release: RoleSpec,
    /// Signs hotpatch packages.
    pub hotpatch: RoleSpec,
    /// Signs recovery packages.
    pub recovery: RoleSpec,
    /// Signs catalogs.
    pub catalog: RoleSpec,
}

impl RoleKeys {
    /// The role called `name`.
    pub fn get(&self, name: RoleName) -> &RoleSpec {
        match name {
            RoleName::Root => &self.root,
            RoleName::Release => &self.release,
            RoleName::Hotpatch => &self.hotpatch,
            RoleName::Recovery => &self.recovery,
            RoleName::Catalog => &self.catalog,
        }
    }

    /// The role called `name`, to change it.
    pub fn get_mut(&mut self, name: RoleName) -> &mut RoleSpec {
        match name {
            RoleName::Root => &mut self.root,
            RoleName::Release => &mut self.release,
            RoleName::Hotpatch => &mut self.hotpatch,
            RoleName::Recovery => &mut self.recovery,
            RoleName::Catalog => &mut self.catalog,
        }
    }
}

/// Why a trust-root edit was refused. The root is left as it was.
#[derive(Debug)]
#[non_exhaustive]
pub enum RootEditError {
    /// A threshold outside 1 to the number of the role's keys.
    Threshold {
        /// The role.
        role: RoleName,
        /// The threshold asked for.
        threshold: u32,
        /// The role's distinct keys.
        keys: usize,
    },
    /// The trust root has no such role (only the root role is always
    /// there): add a key to the role to create it.
    NoSuchRole {
        /// The role.
        role: RoleName,
    },
    /// The key is not in the role.
    KeyNotInRole {
        /// The role.
        role: RoleName,
        /// The key.
        key_id: KeyId,
    },
    /// Removing the key would leave the role with fewer keys than its
    /// threshold.
    BelowThreshold {
        /// The role.
        role: RoleName,
        /// Its threshold.
        threshold: u32,
        /// The keys that would remain.
        remaining: usize,
    },
    /// The expiry time is not after the creation time.
    Expiry {
        /// Creation time.
        created: u64,
        /// Expiry time asked for.
        expires: u64,
    },
    /// The version cannot be incremented.
    VersionOverflow,
    /// The result would break another rule of the format (e.g. too many
    /// keys).
    Invalid(DecodeError),
}

impl fmt::Display for RootEditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootEditError::Threshold {
                role,
                threshold,
                keys,
            } => write!(
                f,
                "threshold {threshold} for the {role} role must be between 1 and its {keys} key(s); \
                 add keys with `hpk root add-key` first"
            ),
            RootEditError::NoSuchRole { role } => write!(
                f,
                "the trust root has no {role} role; create it with `hpk root add-key --role {role}`"
            ),
            RootEditError::KeyNotInRole { role, key_id } => {
                write!(f, "key {}… is not in the {role} role", key_id.short())
            }
            RootEditError::BelowThreshold {
                role,
                threshold,
                remaining,
            } => write!(
                f,
                "removing the key would leave the {role} role with {remaining} key(s), below its \
                 threshold of {threshold}; lower the threshold with `hpk root set-threshold` or add \
                 another key first"
            ),
            RootEditError::Expiry { created, expires } => write!(
                f,
                "expiry {expires} is not after the creation time {created}"
            ),
            RootEditError::VersionOverflow => f.write_str("the trust root version cannot grow"),
            RootEditError::Invalid(e) => write!(f, "invalid trust root: {e}"),
        }
    }
}

impl std::error::Error for RootEditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RootEditError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

fn check_threshold(role_name: RoleName, role: &Role) -> Result<(), RootEditError> {
    if role.threshold == 0 || role.threshold as usize > role.keys.len() {
        return Err(RootEditError::Threshold {
            role: role_name,
            threshold: role.threshold,
            keys: role.keys.len(),
        });
    }
    Ok(())
}

fn check_expiry(created: u64, expires: u64) -> Result<(), RootEditError> {
    if expires <= created {
        return Err(RootEditError::Expiry { created, expires });
    }
    Ok(())
}

fn validate(root: &TrustRoot) -> Result<(), RootEditError> {
    root.validate(&Limits::default())
        .map_err(RootEditError::Invalid)
}

/// Inserts `id` into a sorted list of ids unless it is there.
fn insert_sorted(ids: &mut Vec<KeyId>, id: KeyId) -> bool {
    match ids.binary_search(&id) {
        Ok(_) => false,
        Err(at) => {
            ids.insert(at, id);
            true
        }
    }
}

/// Creates version 1 of a trust root: every role with its keys (sorted by
/// key id, repeats removed) and threshold, and the list of all keys. A
/// role other than `root` with no keys is left out of the root (files
/// that need it are then refused); the root role needs a key.
pub fn init(keys: &RoleKeys, created: u64, expires: u64) -> Result<TrustRoot, RootEditError> {
    check_expiry(created, expires)?;
    let mut all = Vec::new();
    let mut role = |name: RoleName| -> Result<Role, RootEditError> {
        let spec = keys.get(name);
        let mut ids = Vec::new();
        for key in &spec.keys {
            insert_sorted(&mut ids, key.key_id());
            all.push(trusted_key(key));
        }
        let role = Role {
            threshold: spec.threshold,
            keys: ids,
        };
        check_threshold(name, &role)?;
        Ok(role)
    };
    // A role with no keys and the default threshold is left out; a
    // threshold asked for a role without keys is an error.
    let mut optional = |name: RoleName| {
        let spec = keys.get(name);
        match spec.keys.is_empty() && spec.threshold == 1 {
            true => Ok(None),
            false => role(name).map(Some),
        }
    };
    let roles = Roles {
        release: optional(RoleName::Release)?,
        hotpatch: optional(RoleName::Hotpatch)?,
        recovery: optional(RoleName::Recovery)?,
        catalog: optional(RoleName::Catalog)?,
        root: role(RoleName::Root)?,
    };
    all.sort_by_key(|k| k.key_id());
    all.dedup_by_key(|k| k.key_id());
    let root = TrustRoot {
        version: 1,
        created,
        expires,
        keys: all,
        roles,
        extensions: Vec::new(),
    };
    validate(&root)?;
    Ok(root)
}

/// Adds `key` to `role` (and to the root's key list), creating the role
/// with a threshold of 1 if the root has none. Returns whether the root
/// changed: adding a key that is already in the role does nothing.
pub fn add_key(
    root: &mut TrustRoot,
    role: RoleName,
    key: &PublicKey,
) -> Result<bool, RootEditError> {
    let mut edited = root.clone();
    let id = key.key_id();
    let target = match edited.roles.slot_mut(role) {
        Some(slot) => slot.get_or_insert_with(|| Role {
            threshold: 1,
            keys: Vec::new(),
        }),
        None => &mut edited.roles.root,
    };
    if !insert_sorted(&mut target.keys, id) {
        return Ok(false);
    }
    if edited.key(&id).is_none() {
        let at = edited.keys.partition_point(|k| k.key_id() < id);
        edited.keys.insert(at, trusted_key(key));
    }
    validate(&edited)?;
    *root = edited;
    Ok(true)
}

/// Removes the key `key_id` from `role`, and from the root's key list if
/// no other role uses it. Refuses to leave the role with fewer keys than
/// its threshold.
pub fn remove_key(
    root: &mut TrustRoot,
    role: RoleName,
    key_id: &KeyId,
) -> Result<(), RootEditError> {
    let mut edited = root.clone();
    let r = edited
        .roles
        .get_mut(role)
        .ok_or(RootEditError::NoSuchRole { role })?;
    let at = r
        .keys
        .binary_search(key_id)
        .map_err(|_| RootEditError::KeyNotInRole {
            role,
            key_id: *key_id,
        })?;
    r.keys.remove(at);
    if (r.threshold as usize) > r.keys.len() {
        return Err(RootEditError::BelowThreshold {
            role,
            threshold: r.threshold,
            remaining: r.keys.len(),
        });
    }
    let still_used = edited.roles.present().any(|(_, r)| r.keys.contains(key_id));
    if !still_used {
        edited.keys.retain(|k| k.key_id() != *key_id);
    }
    validate(&edited)?;
    *root = edited;
    Ok(())
}

/// Sets how many distinct keys of `role` must sign: 1 to the role's keys.
pub fn set_threshold(
    root: &mut TrustRoot,
    role: RoleName,
    threshold: u32,
) -> Result<(), RootEditError> {
    let current = root
        .roles
        .get_mut(role)
        .ok_or(RootEditError::NoSuchRole { role })?;
    let mut edited = current.clone();
    edited.threshold = threshold;
    check_threshold(role, &edited)?;
    *current = edited;
    Ok(())
}

/// Sets the expiry time, which must be after the creation time.
pub fn set_expiry(root: &mut TrustRoot, expires: u64) -> Result<(), RootEditError> {
    check_expiry(root.created, expires)?;
    root.expires = expires;
    Ok(())
}

/// The next version of `root`: the same keys and roles, version + 1, new
/// creation and expiry times. Edit it, then have it signed by a threshold
/// of the root keys of `root` and of its own.
pub fn next_version(
    root: &TrustRoot,
    created: u64,
    expires: u64,
) -> Result<TrustRoot, RootEditError> {
    check_expiry(created, expires)?;
    let version = root
        .version
        .checked_add(1)
        .ok_or(RootEditError::VersionOverflow)?;
    Ok(TrustRoot {
        version,
        created,
        expires,
        ..root.clone()
    })
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// Reads a trust-root file and decodes it **without** checking its
/// signatures, for editing. Use [`hpk_verify::TrustedRoot::load`] to trust
/// one.
pub fn read_root_file(path: &Path) -> Result<(Head, TrustRoot), SignError> {
    metadata::read_file(path, FileType::TrustRoot)
}

/// Writes `root` to `path` atomically, without signatures.
pub fn write_unsigned_root(path: &Path, root: &TrustRoot) -> Result<(), SignError> {
    metadata::write_unsigned(path, FileType::TrustRoot, root)
}

/// Writes an edited `root` to `path`: if `path` already holds exactly this
/// root, it is left untouched with its signatures; otherwise `root` is
/// written without signatures (signatures over another body would not
/// verify), and must be signed again.
pub fn save_root(path: &Path, root: &TrustRoot) -> Result<SaveOutcome, SignError> {
    metadata::save(path, FileType::TrustRoot, root)
}

/// The statement a signer must sign for the trust-root file `path`: the
/// trust-root signing context followed by SHA-256 of the body.
pub fn root_tbs(path: &Path) -> Result<Vec<u8>, SignError> {
    metadata::tbs::<TrustRoot>(path, FileType::TrustRoot)
}

/// Signs the trust-root file `path` with `key` and writes the result to
/// `out` (which may be `path`), records in canonical order. Signing twice
/// with the same key changes nothing.
///
/// The key is not required to be in the root's root role: a rotation must
/// also be signed by the previous version's root keys.
pub fn sign_root_file(path: &Path, key: &SecretKey, out: &Path) -> Result<SignOutcome, SignError> {
    metadata::sign::<TrustRoot>(path, FileType::TrustRoot, key, out)
}

/// Attaches a raw 64-byte signature made by an external signer over
/// [`root_tbs`]'s message, after checking it against `public_key`.
pub fn attach_root_signature(
    path: &Path,
    public_key: &PublicKey,
    signature: &[u8],
    out: &Path,
) -> Result<SignOutcome, SignError> {
    metadata::attach::<TrustRoot>(path, FileType::TrustRoot, public_key, signature, out)
}

// ---------------------------------------------------------------------------
// Checking a rotation
// ---------------------------------------------------------------------------

/// Why a rotation check failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RotationError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The current root does not load (damaged, or not signed by a
    /// threshold of its own root keys).
    Current {
        /// The file.
        path: PathBuf,
        /// Why.
        source: RootError,
    },
    /// Devices holding the current root would refuse the new one.
    Rejected {
        /// The new root's file.
        path: PathBuf,
        /// Why.
        source: RootError,
    },
}

impl fmt::Display for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RotationError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            RotationError::Current { path, source } => {
                write!(
                    f,
                    "{}: the current root does not load: {source}",
                    path.display()
                )
            }
            RotationError::Rejected { path, source } => write!(
                f,
                "{}: devices would refuse this rotation: {source}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for RotationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RotationError::Io { source, .. } => Some(source),
            RotationError::Current { source, .. } | RotationError::Rejected { source, .. } => {
                Some(source)
            }
        }
    }
}

/// Checks, before publishing, that devices holding the root in `current`
/// would accept the root in `next`: `next` must be exactly the next
/// version, signed by a threshold of the current root keys and of its own,
/// and not expired at `clock`.
///
/// The current root's own expiry is not checked (rotating away from an
/// expired root is legitimate); its self-signature is.
pub fn check_rotation(
    current: &Path,
    next: &Path,
    clock: Clock,
) -> Result<TrustedRoot, RotationError> {
    let limits = Limits::default();
    let open = |path: &Path| {
        std::fs::File::open(path)
            .map(io::BufReader::new)
            .map_err(|source| RotationError::Io {
                path: path.to_path_buf(),
                source,
            })
    };
    // Each file is opened once and read through its bound.
    let current_file = open(current)?;
    // A lower bound of 0 never expires anything: only the signatures of the
    // current root are checked.
    let trusted =
        TrustedRoot::load_from(current_file, Clock::LowerBound(0), &limits).map_err(|source| {
            RotationError::Current {
                path: current.to_path_buf(),
                source,
            }
        })?;
    let rejected = |source| RotationError::Rejected {
        path: next.to_path_buf(),
        source,
    };
    let next_file = open(next)?;
    let rotated = trusted.update_from(next_file, &limits).map_err(rejected)?;
    rotated.check_expiry(clock).map_err(rejected)?;
    Ok(rotated)
}
