//! Counting signatures: the one place that decides how many distinct keys
//! of a role have validly signed a statement, with the keys of a trust
//! root decoded once (its [`KeyRing`]).

use ed25519_dalek::{Signature, VerifyingKey};
use hpk_format::{ALG_ED25519, KeyId, Role, RoleName, Roles, SignatureRecord, TrustedKey};
use std::collections::BTreeSet;
use std::fmt;

/// The usable keys of one trust root, each decoded once: what every
/// signature over a package, catalog or rotation is checked against.
#[derive(Clone, Debug)]
pub(crate) struct KeyRing {
    keys: Vec<(KeyId, VerifyingKey)>,
}

impl KeyRing {
    /// Decodes every key; the id of the first key that is not a valid
    /// Ed25519 point of large order is the error (VT4): a weak key could
    /// make signatures verify that its holder never made.
    pub(crate) fn new(keys: &[TrustedKey]) -> Result<KeyRing, KeyId> {
        let mut ring = Vec::with_capacity(keys.len());
        for key in keys {
            let id = key.key_id();
            match VerifyingKey::from_bytes(&key.public_key) {
                Ok(vk) if key.algorithm == ALG_ED25519 && !vk.is_weak() => ring.push((id, vk)),
                _ => return Err(id),
            }
        }
        Ok(KeyRing { keys: ring })
    }

    fn get(&self, id: &KeyId) -> Option<&VerifyingKey> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, vk)| vk)
    }
}

/// What stands for a role a trust root does not have: no keys and a
/// threshold of 0, which [`SignerReport::meets`] never counts as met, so
/// a file that needs the role fails closed.
static ABSENT: Role = Role {
    threshold: 0,
    keys: Vec::new(),
};

/// The role called `name` in `roles`, or [`ABSENT`] if the trust root
/// leaves it out (SPEC "Roles").
pub(crate) fn role_of(roles: &Roles, name: RoleName) -> &Role {
    roles.get(name).unwrap_or(&ABSENT)
}

/// What the signature records over one statement amount to, key by key.
///
/// Every set holds distinct key ids: a key that signed twice, or a record
/// repeated, counts once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignerReport {
    /// Keys known to the trust root whose signature verified.
    pub valid: BTreeSet<KeyId>,
    /// Keys known to the trust root whose signature did not verify.
    pub invalid: BTreeSet<KeyId>,
    /// Key ids the trust root does not name.
    pub unknown: BTreeSet<KeyId>,
    /// Records with an algorithm number this verifier does not implement.
    pub unsupported_algorithm: usize,
}

impl SignerReport {
    /// Checks every record against `statement` with the keys of `ring`.
    ///
    /// Ed25519 records are checked with `verify_strict` (RFC 8032 with
    /// canonical S and no small-order keys or R). A key with one valid
    /// record is valid even if another record of it is not.
    pub(crate) fn check(
        records: &[SignatureRecord],
        statement: &[u8],
        ring: &KeyRing,
    ) -> SignerReport {
        let mut report = SignerReport::default();
        for record in records {
            if record.algorithm != ALG_ED25519 {
                report.unsupported_algorithm = report.unsupported_algorithm.saturating_add(1);
                continue;
            }
            let Some(key) = ring.get(&record.key_id) else {
                report.unknown.insert(record.key_id);
                continue;
            };
            if report.valid.contains(&record.key_id) {
                continue;
            }
            let signature = Signature::from_bytes(&record.signature);
            if key.verify_strict(statement, &signature).is_ok() {
                report.invalid.remove(&record.key_id);
                report.valid.insert(record.key_id);
            } else {
                report.invalid.insert(record.key_id);
            }
        }
        report
    }

    /// How many distinct keys of `role` signed validly.
    pub fn count_in(&self, role: &Role) -> u32 {
        let in_role: BTreeSet<&KeyId> = role.keys.iter().collect();
        let n = self.valid.iter().filter(|k| in_role.contains(k)).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Whether the role's threshold is met. A threshold of 0 is never met:
    /// a role without keys or threshold fails closed.
    pub fn meets(&self, role: &Role) -> bool {
        role.threshold > 0 && self.count_in(role) >= role.threshold
    }

    /// The valid signers that are keys of `role`.
    pub fn signers_in(&self, role: &Role) -> BTreeSet<KeyId> {
        self.valid
            .iter()
            .filter(|k| role.keys.contains(k))
            .copied()
            .collect()
    }

    fn valid_outside(&self, role: &Role) -> Vec<KeyId> {
        self.valid
            .iter()
            .filter(|k| !role.keys.contains(k))
            .copied()
            .collect()
    }
}

/// What a signature threshold was required of.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// A package before its manifest is decoded (any package-signing role).
    Package,
    /// A decoded package of this kind and name (the role its kind needs).
    PackageOfKind {
        /// The kind's name, e.g. `hotpatch`.
        kind: &'static str,
        /// The package name.
        name: String,
    },
    /// A trust root, by its own root keys.
    TrustRoot {
        /// Its version.
        version: u64,
    },
    /// The next trust root, by the root keys of the one it follows.
    Rotation {
        /// The version it follows.
        from: u64,
    },
    /// A catalog.
    Catalog,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Package => f.write_str("package"),
            Subject::PackageOfKind { kind, name } => write!(f, "{kind} package {name}"),
            Subject::TrustRoot { version } => write!(f, "trust root version {version}"),
            Subject::Rotation { from } => {
                write!(f, "trust root rotation from version {from} (old root keys)")
            }
            Subject::Catalog => f.write_str("catalog"),
        }
    }
}

/// Signatures that do not reach a role's threshold, with what each key
/// amounted to, so the message can say what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdNotMet {
    /// What was being verified.
    pub subject: Subject,
    /// The role whose threshold applies; `None` before a manifest is
    /// decoded, when any package-signing role would do.
    pub role: Option<RoleName>,
    /// Signatures needed.
    pub needed: u32,
    /// Distinct valid signatures from the role.
    pub got: u32,
    /// Every signer, key by key.
    pub report: SignerReport,
    /// Valid signers that belong to other roles only.
    pub other_role_keys: Vec<KeyId>,
}

impl fmt::Display for ThresholdNotMet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(r), 0) = (self.role, self.needed) {
            // Only an absent role has no threshold (a present one has at
            // least 1).
            return write!(
                f,
                "{} needs the {r} role, and the trust root has none: this publisher signs no such file",
                self.subject
            );
        }
        let role = self.role.map_or_else(
            || "any package-signing role".to_owned(),
            |r| format!("the {r} role"),
        );
        write!(
            f,
            "{} has {} valid signature(s) from {role}, needs {}",
            self.subject, self.got, self.needed
        )?;
        let unsigned = self.report.valid.is_empty()
            && self.report.invalid.is_empty()
            && self.report.unknown.is_empty()
            && self.report.unsupported_algorithm == 0;
        if unsigned {
            return write!(f, "; it is unsigned: sign it with `hpk sign`");
        }
        if let (Some(k), Some(r)) = (self.other_role_keys.first(), self.role) {
            write!(
                f,
                "; key {}… is not in the trust root's {r} role: sign with a {r} key or add this key with `hpk root add-key`",
                k.short()
            )?;
        }
        if let Some(k) = self.report.unknown.iter().next() {
            write!(f, "; key {}… is not in the trust root", k.short())?;
        }
        if let Some(k) = self.report.invalid.iter().next() {
            write!(
                f,
                "; the signature of key {}… does not verify (damaged, or made over other bytes)",
                k.short()
            )?;
        }
        Ok(())
    }
}

/// Requires the threshold of at least one of `roles` (in order). With one
/// role, a failure names it; with several, it names none and reports the
/// role that came closest (most valid signers, then the lowest
/// threshold), so that "got" and "needed" are of one role.
pub(crate) fn require_any(
    report: &SignerReport,
    roles: &[(RoleName, &Role)],
    subject: Subject,
) -> Result<RoleName, Box<ThresholdNotMet>> {
    if let Some((name, _)) = roles.iter().find(|(_, role)| report.meets(role)) {
        return Ok(*name);
    }
    // An absent role (threshold 0) is never the closest: the message
    // names a role that could be met.
    let closest = roles
        .iter()
        .filter(|(_, role)| role.threshold > 0)
        .max_by_key(|(_, role)| (report.count_in(role), std::cmp::Reverse(role.threshold)));
    let (role, needed, got, other_role_keys) = match (roles, closest) {
        ([(name, role)], _) => (
            Some(*name),
            role.threshold,
            report.count_in(role),
            report.valid_outside(role),
        ),
        (_, Some((_, role))) => (
            None,
            role.threshold,
            report.count_in(role),
            report.valid.iter().copied().collect(),
        ),
        (_, None) => (None, 1, 0, Vec::new()),
    };
    Err(Box::new(ThresholdNotMet {
        subject,
        role,
        needed,
        got,
        report: report.clone(),
        other_role_keys,
    }))
}
