//! Extension records: data a future version may add without a major bump.

use crate::codec::{check_len, check_sorted};
use crate::error::DecodeError;
use crate::limits::Limits;
use serde::{Deserialize, Serialize};

/// Registered extension id: a human-readable note (UTF-8), non-critical.
pub const EXT_NOTE: u32 = 1;
/// First extension id of the private-use range.
pub const EXT_PRIVATE_START: u32 = 0x8000_0000;

/// One extension record.
///
/// A reader that does not know `id` ignores the record when `critical` is
/// false and refuses the whole structure when it is true.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Extension id (registry in the spec; 0 is reserved).
    pub id: u32,
    /// Whether a reader that does not know `id` must refuse the structure.
    pub critical: bool,
    /// Extension data, meaning defined by `id`.
    pub data: Vec<u8>,
}

/// Checks a list of extensions: bounded, ids non-zero and strictly ascending.
pub(crate) fn validate_extensions(list: &[Extension], limits: &Limits) -> Result<(), DecodeError> {
    check_len(list, "extension count", limits)?;
    check_sorted(list, "extensions", |e| &e.id)?;
    if list.iter().any(|e| e.id == 0) {
        return Err(DecodeError::invalid(
            "extensions",
            "extension id 0 is reserved",
        ));
    }
    Ok(())
}

/// The first critical extension whose id is not in `known`, if any.
pub fn unknown_critical<'a>(list: &'a [Extension], known: &[u32]) -> Option<&'a Extension> {
    list.iter().find(|e| e.critical && !known.contains(&e.id))
}
