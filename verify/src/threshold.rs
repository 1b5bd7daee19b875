//! Counting signatures: the one place that decides how many distinct keys
//! of a role have validly signed a message.

use crate::error::ThresholdNotMet;
use ed25519_dalek::{Signature, VerifyingKey};
use hpk_format::{ALG_ED25519, KeyId, Role, RoleName, SignatureRecord, TrustedKey};
use std::collections::BTreeSet;

/// What the signature records over one message amount to, key by key.
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
    /// Checks every record against `message` with the keys in `keys`.
    ///
    /// Ed25519 records are checked with `verify_strict` (RFC 8032 with
    /// canonical S and no small-order keys or R). A key with one valid
    /// record is valid even if another record of it is not.
    pub fn check(records: &[SignatureRecord], message: &[u8], keys: &[TrustedKey]) -> SignerReport {
        let mut report = SignerReport::default();
        for record in records {
            if record.algorithm != ALG_ED25519 {
                report.unsupported_algorithm = report.unsupported_algorithm.saturating_add(1);
                continue;
            }
            let Some(key) = keys
                .iter()
                .find(|k| k.algorithm == ALG_ED25519 && k.key_id() == record.key_id)
            else {
                report.unknown.insert(record.key_id);
                continue;
            };
            if report.valid.contains(&record.key_id) {
                continue;
            }
            let ok = VerifyingKey::from_bytes(&key.public_key)
                .map(|vk| {
                    vk.verify_strict(message, &Signature::from_bytes(&record.signature))
                        .is_ok()
                })
                .unwrap_or(false);
            if ok {
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

    /// Valid signers that are not in `role`.
    pub fn valid_outside(&self, role: &Role) -> Vec<KeyId> {
        self.valid
            .iter()
            .filter(|k| !role.keys.contains(k))
            .copied()
            .collect()
    }
}

/// Requires `role`'s threshold of distinct valid signers.
pub fn require_threshold(
    report: &SignerReport,
    role_name: RoleName,
    role: &Role,
    what: &str,
) -> Result<(), Box<ThresholdNotMet>> {
    if report.meets(role) {
        return Ok(());
    }
    Err(Box::new(ThresholdNotMet {
        what: what.to_owned(),
        role: Some(role_name),
        needed: role.threshold,
        got: report.count_in(role),
        report: report.clone(),
        other_role_keys: report.valid_outside(role),
    }))
}
