//! The fixed 40-byte header, parsed and written by hand.
//!
//! ```text
//! offset size field
//!  0     8    magic            89 48 50 4B 0D 0A 1A 0A  ("\x89HPK\r\n\x1a\n")
//!  8     2    major            u16 LE, 1
//! 10     2    minor            u16 LE, 0
//! 12     1    file_type        1 package, 2 trust root, 3 catalog
//! 13     1    reserved         0
//! 14     2    signature_count  u16 LE
//! 16     8    body_len         u64 LE (manifest, trust root or catalog)
//! 24     8    index_len        u64 LE (chunk indexes; 0 unless a package)
//! 32     8    payload_len      u64 LE (payload area; 0 unless a package)
//! ```

use crate::error::{ContainerError, LimitExceeded};
use crate::limits::Limits;
use crate::signature::SIGNATURE_RECORD_LEN;
use std::fmt;

/// The 8 magic bytes. Like PNG's: a high-bit byte catches 7-bit transfers,
/// CR LF catches line-ending conversion, ^Z stops `type` on DOS, a final LF
/// catches LF→CRLF.
pub const MAGIC: [u8; 8] = [0x89, b'H', b'P', b'K', 0x0D, 0x0A, 0x1A, 0x0A];
/// Length of the fixed header in bytes.
pub const HEADER_LEN: usize = 40;
/// The major format version this crate reads and writes.
pub const FORMAT_MAJOR: u16 = 1;
/// The minor format version this crate writes.
pub const FORMAT_MINOR: u16 = 0;

/// What a file holds. Each type has its own signature domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A package: manifest, chunk indexes, payloads.
    Package = 1,
    /// A trust root.
    TrustRoot = 2,
    /// A catalog of packages.
    Catalog = 3,
}

impl FileType {
    /// The file type for a header byte.
    pub fn from_byte(b: u8) -> Option<FileType> {
        match b {
            1 => Some(FileType::Package),
            2 => Some(FileType::TrustRoot),
            3 => Some(FileType::Catalog),
            _ => None,
        }
    }

    /// The domain-separation prefix of signatures over this type's body
    /// (`spec/SPEC.md`, "Signed messages").
    pub fn signing_context(self) -> &'static [u8] {
        match self {
            FileType::Package => b"hpk v1 package\n",
            FileType::TrustRoot => b"hpk v1 trust-root\n",
            FileType::Catalog => b"hpk v1 catalog\n",
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileType::Package => "package",
            FileType::TrustRoot => "trust root",
            FileType::Catalog => "catalog",
        })
    }
}

/// The decoded fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Minor version. Informative only: readers must not change behaviour
    /// on it (it is not covered by signatures).
    pub minor: u16,
    /// What the file holds.
    pub file_type: FileType,
    /// Number of 100-byte signature records after the header.
    pub signature_count: u16,
    /// Length of the metadata body.
    pub body_len: u64,
    /// Length of the chunk-index section.
    pub index_len: u64,
    /// Length of the payload area.
    pub payload_len: u64,
}

/// Byte offsets of each section, from the start of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Start of the signature block (always [`HEADER_LEN`]).
    pub signatures: u64,
    /// Start of the body.
    pub body: u64,
    /// Start of the chunk indexes.
    pub index: u64,
    /// Start of the payload area.
    pub payload: u64,
    /// Total file length: the end of the payload area.
    pub end: u64,
}

fn le_u16(b: &[u8; HEADER_LEN], at: usize) -> u16 {
    let field = b.get(at..).and_then(|s| s.first_chunk::<2>());
    u16::from_le_bytes(field.copied().unwrap_or_default())
}

fn le_u64(b: &[u8; HEADER_LEN], at: usize) -> u64 {
    let field = b.get(at..).and_then(|s| s.first_chunk::<8>());
    u64::from_le_bytes(field.copied().unwrap_or_default())
}

fn limit(what: &'static str, value: u64, max: u64) -> Result<(), ContainerError> {
    if value > max {
        Err(ContainerError::Limit(LimitExceeded { what, value, max }))
    } else {
        Ok(())
    }
}

impl Header {
    /// Parses and bounds-checks a header. Does not look at anything after it.
    pub fn parse(bytes: &[u8; HEADER_LEN], limits: &Limits) -> Result<Header, ContainerError> {
        if bytes[..8] != MAGIC {
            return Err(ContainerError::BadMagic {
                hint: magic_hint(bytes),
            });
        }
        let major = le_u16(bytes, 8);
        let minor = le_u16(bytes, 10);
        if major != FORMAT_MAJOR {
            return Err(ContainerError::UnsupportedVersion { major, minor });
        }
        let file_type =
            FileType::from_byte(bytes[12]).ok_or(ContainerError::UnknownFileType(bytes[12]))?;
        if bytes[13] != 0 {
            return Err(ContainerError::ReservedNotZero {
                field: "header byte 13",
            });
        }
        let header = Header {
            minor,
            file_type,
            signature_count: le_u16(bytes, 14),
            body_len: le_u64(bytes, 16),
            index_len: le_u64(bytes, 24),
            payload_len: le_u64(bytes, 32),
        };
        limit(
            "signature count",
            u64::from(header.signature_count),
            u64::from(limits.max_signatures),
        )?;
        if header.body_len == 0 {
            return Err(ContainerError::Malformed {
                reason: "body length is zero",
            });
        }
        limit("body length", header.body_len, limits.body_len())?;
        if file_type != FileType::Package && (header.index_len != 0 || header.payload_len != 0) {
            return Err(ContainerError::Malformed {
                reason: "only packages have chunk indexes and payloads",
            });
        }
        limit(
            "chunk index length",
            header.index_len,
            limits
                .max_chunks
                .saturating_mul(crate::CHUNK_ENTRY_LEN as u64),
        )?;
        limit(
            "payload area length",
            header.payload_len,
            limits.max_total_size,
        )?;
        header.layout()?;
        Ok(header)
    }

    /// The offsets of every section. Fails if they overflow a u64.
    pub fn layout(&self) -> Result<Layout, ContainerError> {
        // At most 65535 × 100: cannot overflow.
        let sig_len = u64::from(self.signature_count).saturating_mul(SIGNATURE_RECORD_LEN as u64);
        let body = (HEADER_LEN as u64)
            .checked_add(sig_len)
            .ok_or_else(overflow_err)?;
        let index = body.checked_add(self.body_len).ok_or_else(overflow_err)?;
        let payload = index.checked_add(self.index_len).ok_or_else(overflow_err)?;
        let end = payload
            .checked_add(self.payload_len)
            .ok_or_else(overflow_err)?;
        Ok(Layout {
            signatures: HEADER_LEN as u64,
            body,
            index,
            payload,
            end,
        })
    }

    /// Encodes the header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&FORMAT_MAJOR.to_le_bytes());
        out[10..12].copy_from_slice(&self.minor.to_le_bytes());
        out[12] = self.file_type as u8;
        out[14..16].copy_from_slice(&self.signature_count.to_le_bytes());
        out[16..24].copy_from_slice(&self.body_len.to_le_bytes());
        out[24..32].copy_from_slice(&self.index_len.to_le_bytes());
        out[32..40].copy_from_slice(&self.payload_len.to_le_bytes());
        out
    }
}

fn overflow_err() -> ContainerError {
    ContainerError::Malformed {
        reason: "section lengths overflow",
    }
}

/// Recognises the usual ways a transfer damages the magic.
fn magic_hint(bytes: &[u8; HEADER_LEN]) -> Option<&'static str> {
    if bytes[0] == 0x09 && bytes[1..4] == *b"HPK" {
        return Some("the high bit of the first byte was cleared: transferred as 7-bit text?");
    }
    if bytes[1..4] == *b"HPK" && bytes[4..6] == *b"\n\x1a" {
        return Some("CR LF became LF: transferred in text mode?");
    }
    // A converter that skips existing CR LF turns only the last LF into
    // CR LF; a naive one also turns the first CR LF into CR CR LF.
    if bytes[1..4] == *b"HPK" && (bytes[4..8] == *b"\r\n\x1a\r" || bytes[4..8] == *b"\r\r\n\x1a") {
        return Some("LF became CR LF: transferred in text mode?");
    }
    if bytes[1..4] == *b"HPK" {
        return Some("the magic is damaged");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            minor: 0,
            file_type: FileType::Package,
            signature_count: 2,
            body_len: 100,
            index_len: 40,
            payload_len: 1000,
        }
    }

    #[test]
    fn round_trips() {
        let h = header();
        let parsed = Header::parse(&h.to_bytes(), &Limits::default()).unwrap();
        assert_eq!(parsed, h);
        let layout = parsed.layout().unwrap();
        assert_eq!(layout.body, 40 + 200);
        assert_eq!(layout.end, 40 + 200 + 100 + 40 + 1000);
    }

    #[test]
    fn rejects_bad_magic_with_hints() {
        let mut b = header().to_bytes();
        b[0] = 0x09;
        assert!(matches!(
            Header::parse(&b, &Limits::default()),
            Err(ContainerError::BadMagic { hint: Some(_) })
        ));
        let mut b = header().to_bytes();
        b[1] = b'X';
        assert!(matches!(
            Header::parse(&b, &Limits::default()),
            Err(ContainerError::BadMagic { hint: None })
        ));
    }

    #[test]
    fn rejects_unknown_major_and_types() {
        let mut b = header().to_bytes();
        b[8] = 2;
        assert!(matches!(
            Header::parse(&b, &Limits::default()),
            Err(ContainerError::UnsupportedVersion { major: 2, .. })
        ));
        let mut b = header().to_bytes();
        b[12] = 9;
        assert!(matches!(
            Header::parse(&b, &Limits::default()),
            Err(ContainerError::UnknownFileType(9))
        ));
        let mut b = header().to_bytes();
        b[13] = 1;
        assert!(matches!(
            Header::parse(&b, &Limits::default()),
            Err(ContainerError::ReservedNotZero { .. })
        ));
    }

    #[test]
    fn accepts_newer_minor() {
        let mut b = header().to_bytes();
        b[10] = 7;
        assert_eq!(Header::parse(&b, &Limits::default()).unwrap().minor, 7);
    }

    #[test]
    fn rejects_lengths_over_limits_or_overflowing() {
        let limits = Limits::default();
        for h in [
            Header {
                body_len: limits.max_body_len + 1,
                ..header()
            },
            Header {
                body_len: 0,
                ..header()
            },
            Header {
                signature_count: 33,
                ..header()
            },
            Header {
                payload_len: u64::MAX,
                ..header()
            },
            Header {
                index_len: u64::MAX - 10,
                ..header()
            },
            Header {
                file_type: FileType::TrustRoot,
                ..header()
            },
        ] {
            assert!(Header::parse(&h.to_bytes(), &limits).is_err(), "{h:?}");
        }
        let unlimited = Limits {
            max_total_size: u64::MAX,
            max_chunks: u64::MAX,
            ..Limits::default()
        };
        let h = Header {
            payload_len: u64::MAX,
            ..header()
        };
        assert!(matches!(
            Header::parse(&h.to_bytes(), &unlimited),
            Err(ContainerError::Malformed { .. })
        ));
    }
}
