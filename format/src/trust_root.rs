//! The trust root: versioned, expiring metadata naming the keys and the
//! thresholds of each role.

use crate::codec::{Canonical, check_len, check_sorted};
use crate::digest::KeyId;
use crate::error::DecodeError;
use crate::extension::{Extension, validate_extensions};
use crate::limits::Limits;
use crate::signature::ALG_ED25519;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A trust root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRoot {
    /// Version, from 1; each new root has exactly the previous version + 1.
    pub version: u64,
    /// Creation time, seconds since the Unix epoch.
    pub created: u64,
    /// Expiry time, seconds since the Unix epoch.
    pub expires: u64,
    /// Every key any role uses, ascending by key id.
    pub keys: Vec<TrustedKey>,
    /// The keys and threshold of each role.
    pub roles: Roles,
    /// Extension records, ascending by id.
    pub extensions: Vec<Extension>,
}

/// A public key named in a trust root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// Signature algorithm number (1 = Ed25519).
    pub algorithm: u16,
    /// The raw public key.
    pub public_key: [u8; 32],
}

impl TrustedKey {
    /// The key id: SHA-256 of the raw public key.
    pub fn key_id(&self) -> KeyId {
        KeyId::of_public_key(&self.public_key)
    }
}

/// The roles, each with its keys and threshold. The root role is always
/// there; each other role is there only if the publisher uses it, and a
/// file that needs an absent role is refused (fail closed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    /// Signs trust roots.
    pub root: Role,
    /// Signs baseline and standard packages.
    pub release: Option<Role>,
    /// Signs hotpatch packages.
    pub hotpatch: Option<Role>,
    /// Signs recovery packages.
    pub recovery: Option<Role>,
    /// Signs catalogs.
    pub catalog: Option<Role>,
}

/// The name of a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleName {
    /// Signs trust roots.
    Root,
    /// Signs baseline and standard packages.
    Release,
    /// Signs hotpatch packages.
    Hotpatch,
    /// Signs recovery packages.
    Recovery,
    /// Signs catalogs.
    Catalog,
}

impl RoleName {
    /// Every role, in encoding order.
    pub const ALL: [RoleName; 5] = [
        RoleName::Root,
        RoleName::Release,
        RoleName::Hotpatch,
        RoleName::Recovery,
        RoleName::Catalog,
    ];

    /// The role's name in lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleName::Root => "root",
            RoleName::Release => "release",
            RoleName::Hotpatch => "hotpatch",
            RoleName::Recovery => "recovery",
            RoleName::Catalog => "catalog",
        }
    }

    /// Parses a lowercase role name.
    pub fn parse(text: &str) -> Option<RoleName> {
        RoleName::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Roles {
    /// The role called `name`, if the root has it (the root role always).
    pub fn get(&self, name: RoleName) -> Option<&Role> {
        match name {
            RoleName::Root => Some(&self.root),
            RoleName::Release => self.release.as_ref(),
            RoleName::Hotpatch => self.hotpatch.as_ref(),
            RoleName::Recovery => self.recovery.as_ref(),
            RoleName::Catalog => self.catalog.as_ref(),
        }
    }

    /// The slot of the role called `name`, to set, change or remove it.
    /// `None` for the root role, which cannot be removed: use
    /// [`Roles::root`] to change it.
    pub fn slot_mut(&mut self, name: RoleName) -> Option<&mut Option<Role>> {
        match name {
            RoleName::Root => None,
            RoleName::Release => Some(&mut self.release),
            RoleName::Hotpatch => Some(&mut self.hotpatch),
            RoleName::Recovery => Some(&mut self.recovery),
            RoleName::Catalog => Some(&mut self.catalog),
        }
    }

    /// The role called `name`, to change it, if the root has it.
    pub fn get_mut(&mut self, name: RoleName) -> Option<&mut Role> {
        match name {
            RoleName::Root => Some(&mut self.root),
            RoleName::Release => self.release.as_mut(),
            RoleName::Hotpatch => self.hotpatch.as_mut(),
            RoleName::Recovery => self.recovery.as_mut(),
            RoleName::Catalog => self.catalog.as_mut(),
        }
    }

    /// The roles the root has, with their names, in encoding order.
    pub fn present(&self) -> impl Iterator<Item = (RoleName, &Role)> {
        RoleName::ALL
            .into_iter()
            .filter_map(|name| self.get(name).map(|role| (name, role)))
    }
}

/// The keys of one role and how many of them must sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// How many distinct keys of the role must sign; at least 1.
    pub threshold: u32,
    /// The role's key ids, ascending; each must be in [`TrustRoot::keys`].
    pub keys: Vec<KeyId>,
}

impl TrustRoot {
    /// The key with this id, if the root names it.
    pub fn key(&self, id: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key_id() == *id)
    }
}

impl Canonical for TrustRoot {
    fn validate(&self, limits: &Limits) -> Result<(), DecodeError> {
        if self.version == 0 {
            return Err(DecodeError::invalid(
                "version",
                "trust root versions start at 1",
            ));
        }
        if self.expires <= self.created {
            return Err(DecodeError::invalid("expires", "must be after created"));
        }
        check_len(&self.keys, "key count", limits)?;
        // Hash each key once: the lookups below are then binary searches,
        // so a root with thousands of keys validates in linear time.
        let ids: Vec<KeyId> = self.keys.iter().map(TrustedKey::key_id).collect();
        check_sorted(&ids, "keys", |id| id)?;
        if let Some(k) = self.keys.iter().find(|k| k.algorithm != ALG_ED25519) {
            return Err(DecodeError::invalid(
                "keys",
                format!("unknown algorithm {}", k.algorithm),
            ));
        }
        for (name, role) in self.roles.present() {
            check_len(&role.keys, "role key count", limits)?;
            check_sorted(&role.keys, "role keys", |k| k)?;
            if role.threshold == 0 {
                return Err(DecodeError::invalid(
                    "threshold",
                    format!("role {name} has threshold 0"),
                ));
            }
            if role.threshold as usize > role.keys.len() {
                return Err(DecodeError::invalid(
                    "threshold",
                    format!(
                        "role {name} needs {} signatures but has {} keys",
                        role.threshold,
                        role.keys.len()
                    ),
                ));
            }
            if let Some(missing) = role.keys.iter().find(|id| ids.binary_search(id).is_err()) {
                return Err(DecodeError::invalid(
                    "role keys",
                    format!("role {name} names key {missing} that the root does not list"),
                ));
            }
        }
        validate_extensions(&self.extensions, limits)
    }
}
