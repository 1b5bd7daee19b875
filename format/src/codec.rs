//! Canonical encoding of metadata bodies: the bincode wire format with
//! fixed-width little-endian integers (`spec/SPEC.md`, "Encoding").
//!
//! Decoding is strict: a size limit is set before decoding, trailing bytes
//! are refused, the value must re-encode to exactly the input, and the
//! structure's own rules ([`Canonical::validate`]) must hold.

use crate::error::{DecodeError, LimitExceeded};
use crate::limits::{Limits, MAX_BODY_LEN};
use bincode::config::{Configuration, Fixint, Limit, LittleEndian};
use serde::Serialize;
use serde::de::DeserializeOwned;

const DECODE_LIMIT: usize = MAX_BODY_LEN as usize;

type WireConfig = Configuration<LittleEndian, Fixint, Limit<DECODE_LIMIT>>;

fn config() -> WireConfig {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<DECODE_LIMIT>()
}

/// A metadata structure with a canonical encoding and rules of its own.
pub trait Canonical: Serialize + DeserializeOwned {
    /// Checks the rules the encoding alone cannot express (orderings,
    /// bounds, consistency). Called by [`decode`] after decoding and by
    /// [`encode`] before encoding.
    fn validate(&self, limits: &Limits) -> Result<(), DecodeError>;
}

/// The length of `value`'s canonical encoding, without checking its rules
/// or the body limit: for planning a file's layout before every field is
/// known (a field of fixed width may hold a placeholder, since only its
/// width counts).
pub fn encoded_len<T: Serialize>(value: &T) -> Result<u64, DecodeError> {
    let mut counter = LenCounter(0);
    bincode::serde::encode_into_writer(value, &mut counter, config()).map_err(|e| {
        DecodeError::Malformed {
            reason: e.to_string(),
        }
    })?;
    Ok(counter.0)
}

/// A bincode writer that keeps only the count of bytes written.
struct LenCounter(u64);

impl bincode::enc::write::Writer for LenCounter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0 = self.0.saturating_add(bytes.len() as u64);
        Ok(())
    }
}

/// Encodes `value` canonically after validating it against `limits`.
pub fn encode<T: Canonical>(value: &T, limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    let len = checked_len(value, limits)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    write_encoding(value, len, &mut |part| bytes.extend_from_slice(part))?;
    Ok(bytes)
}

/// Encodes `value` canonically after validating it against `limits`,
/// handing the encoding to `out` piece by piece instead of holding it in
/// memory (a writer of a large manifest streams it into the file and its
/// digest); returns its length. Nothing reaches `out` unless `value` is
/// valid and its encoding within the limits.
pub fn encode_into<T: Canonical>(
    value: &T,
    limits: &Limits,
    out: &mut dyn FnMut(&[u8]),
) -> Result<u64, DecodeError> {
    let len = checked_len(value, limits)?;
    write_encoding(value, len, out)?;
    Ok(len)
}

/// Validates `value` and returns the length of its encoding, which must
/// be within the limits: checked before a byte is allocated or written.
fn checked_len<T: Canonical>(value: &T, limits: &Limits) -> Result<u64, DecodeError> {
    value.validate(limits)?;
    let len = encoded_len(value)?;
    if len > limits.body_len() {
        return Err(DecodeError::Limit(LimitExceeded {
            what: "encoded body length",
            value: len,
            max: limits.body_len(),
        }));
    }
    Ok(len)
}

/// Hands the encoding of `value`, `len` bytes long, to `out`.
fn write_encoding<T: Canonical>(
    value: &T,
    len: u64,
    out: &mut dyn FnMut(&[u8]),
) -> Result<(), DecodeError> {
    let mut sink = Sink { out, written: 0 };
    bincode::serde::encode_into_writer(value, &mut sink, config()).map_err(|e| {
        DecodeError::Malformed {
            reason: e.to_string(),
        }
    })?;
    if sink.written != len {
        return Err(DecodeError::Malformed {
            reason: "the encoding changed length between two passes".into(),
        });
    }
    Ok(())
}

/// A bincode writer that hands the bytes on.
struct Sink<'a> {
    out: &'a mut dyn FnMut(&[u8]),
    written: u64,
}

impl bincode::enc::write::Writer for Sink<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        (self.out)(bytes);
        self.written = self.written.saturating_add(bytes.len() as u64);
        Ok(())
    }
}

/// Decodes a canonical encoding of `T` and checks its rules.
pub fn decode<T: Canonical>(bytes: &[u8], limits: &Limits) -> Result<T, DecodeError> {
    let len = bytes.len() as u64;
    if len > limits.body_len() {
        return Err(DecodeError::Limit(LimitExceeded {
            what: "body length",
            value: len,
            max: limits.body_len(),
        }));
    }
    let (value, read): (T, usize) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| DecodeError::Malformed {
            reason: e.to_string(),
        })?;
    if read != bytes.len() {
        return Err(DecodeError::TrailingBytes {
            extra: bytes.len().saturating_sub(read) as u64,
        });
    }
    let again =
        bincode::serde::encode_to_vec(&value, config()).map_err(|e| DecodeError::Malformed {
            reason: e.to_string(),
        })?;
    if again != bytes {
        return Err(DecodeError::NonCanonical);
    }
    value.validate(limits)?;
    Ok(value)
}

/// Checks that a list is no longer than the limit.
pub(crate) fn check_len<T>(
    list: &[T],
    what: &'static str,
    limits: &Limits,
) -> Result<(), DecodeError> {
    let max = u64::from(limits.max_list_len);
    let value = list.len() as u64;
    if value > max {
        return Err(DecodeError::Limit(LimitExceeded { what, value, max }));
    }
    Ok(())
}

/// Checks that a list is strictly ascending by `key` (sorted, no repeats).
pub(crate) fn check_sorted<T, K: Ord + ?Sized>(
    list: &[T],
    field: &'static str,
    key: impl Fn(&T) -> &K,
) -> Result<(), DecodeError> {
    for pair in list.windows(2) {
        if let [a, b] = pair
            && key(a) >= key(b)
        {
            return Err(DecodeError::invalid(
                field,
                "entries must be in strictly ascending order without repeats",
            ));
        }
    }
    Ok(())
}
