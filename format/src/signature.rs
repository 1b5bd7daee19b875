//! Fixed-size signature records, parsed and written by hand.
//!
//! ```text
//! offset size field
//!  0     2    algorithm   u16 LE (1 = Ed25519)
//!  2     2    reserved    0
//!  4     32   key_id      SHA-256 of the raw public key
//! 36     64   signature
//! ```

use crate::digest::KeyId;
use crate::error::ContainerError;

/// Length of one signature record.
pub const SIGNATURE_RECORD_LEN: usize = 100;
/// Algorithm number of Ed25519 (RFC 8032, pure, verified strictly).
pub const ALG_ED25519: u16 = 1;

/// One signature record.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignatureRecord {
    /// Algorithm number (registry in the spec). Records with an algorithm a
    /// verifier does not know are skipped, never counted.
    pub algorithm: u16,
    /// Which key made the signature.
    pub key_id: KeyId,
    /// The signature bytes.
    pub signature: [u8; 64],
}

impl std::fmt::Debug for SignatureRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureRecord")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SignatureRecord {
    /// Parses one record.
    pub fn parse(bytes: &[u8; SIGNATURE_RECORD_LEN]) -> Result<SignatureRecord, ContainerError> {
        let [a0, a1, r0, r1, rest @ ..] = *bytes;
        if [r0, r1] != [0, 0] {
            return Err(ContainerError::ReservedNotZero {
                field: "signature record bytes 2-3",
            });
        }
        let mut record = SignatureRecord {
            algorithm: u16::from_le_bytes([a0, a1]),
            key_id: KeyId([0; 32]),
            signature: [0; 64],
        };
        record.key_id.0.copy_from_slice(&rest[..32]);
        record.signature.copy_from_slice(&rest[32..]);
        Ok(record)
    }

    /// Parses a whole signature block: `bytes.len()` must be a multiple of
    /// [`SIGNATURE_RECORD_LEN`].
    pub fn parse_block(bytes: &[u8]) -> Result<Vec<SignatureRecord>, ContainerError> {
        let chunks = bytes.chunks_exact(SIGNATURE_RECORD_LEN);
        if !chunks.remainder().is_empty() {
            return Err(ContainerError::Malformed {
                reason: "signature block is not a whole number of records",
            });
        }
        chunks
            .map(|c| {
                let mut rec = [0u8; SIGNATURE_RECORD_LEN];
                rec.copy_from_slice(c);
                SignatureRecord::parse(&rec)
            })
            .collect()
    }

    /// Encodes the record.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_RECORD_LEN] {
        let mut out = [0u8; SIGNATURE_RECORD_LEN];
        out[..2].copy_from_slice(&self.algorithm.to_le_bytes());
        out[4..36].copy_from_slice(&self.key_id.0);
        out[36..].copy_from_slice(&self.signature);
        out
    }

    /// The canonical order of records in a block: by key id, then
    /// algorithm. Writers sort so that signing order does not matter.
    pub fn sort_key(&self) -> (KeyId, u16) {
        (self.key_id, self.algorithm)
    }
}

/// Puts records in canonical order and drops repeats of the same key and
/// algorithm (keeping the first), so that the block does not depend on the
/// order in which signers signed nor on repeated signing.
pub fn canonicalize_signatures(records: &mut Vec<SignatureRecord>) {
    records.sort_by_key(SignatureRecord::sort_key);
    records.dedup_by_key(|r| r.sort_key());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_reserved() {
        let rec = SignatureRecord {
            algorithm: ALG_ED25519,
            key_id: KeyId([7; 32]),
            signature: [9; 64],
        };
        let bytes = rec.to_bytes();
        assert_eq!(SignatureRecord::parse(&bytes).unwrap(), rec);
        let mut bad = bytes;
        bad[3] = 1;
        assert!(SignatureRecord::parse(&bad).is_err());
        assert!(SignatureRecord::parse_block(&bytes[..99]).is_err());
        assert_eq!(SignatureRecord::parse_block(&[]).unwrap(), vec![]);
    }
}
