//! The container as a whole: reading the authenticated-before-parsed head
//! (header, signature records, body) from a stream or a byte slice, and
//! writing it.
//!
//! Sections tile the file exactly: header, signature block, body, chunk
//! indexes, payload area, with no gap, overlap or trailing byte.

use crate::digest::Digest;
use crate::error::{ContainerError, Section, WriteError};
use crate::header::{FORMAT_MINOR, FileType, HEADER_LEN, Header, Layout, MAGIC};
use crate::limits::Limits;
use crate::signature::{SIGNATURE_RECORD_LEN, SignatureRecord};
use std::io::{self, Read};

/// The head of a file: what must be read to check its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The fixed header.
    pub header: Header,
    /// The signature records, in file order.
    pub signatures: Vec<SignatureRecord>,
    /// The metadata body. Not yet authenticated: decode it only after the
    /// signatures over [`Head::signed_statement`] have been checked.
    pub body: Vec<u8>,
}

impl Head {
    /// The exact bytes the signatures cover: the file type's signing
    /// context followed by SHA-256 of the body.
    pub fn signed_statement(&self) -> Vec<u8> {
        signed_statement(self.header.file_type, &self.body)
    }

    /// Offsets of the sections.
    pub fn layout(&self) -> Result<Layout, ContainerError> {
        self.header.layout()
    }
}

/// The bytes signatures cover for a body of type `file_type`: the
/// statement "this is an hpk file of this type whose body has this
/// SHA-256", `context || SHA-256(body)`.
///
/// Its length depends on the file type alone (at most
/// [`MAX_STATEMENT_LEN`] bytes), so an HSM or a cloud KMS that signs only
/// small messages with plain Ed25519 signs a package of 100,000 payloads
/// like one of one.
pub fn signed_statement(file_type: FileType, body: &[u8]) -> Vec<u8> {
    statement_for_digest(file_type, &Digest::of(body))
}

/// The signed statement for a body whose SHA-256 is already known (for a
/// package, its manifest digest).
pub fn statement_for_digest(file_type: FileType, body_digest: &Digest) -> Vec<u8> {
    let context = file_type.signing_context();
    let mut statement = Vec::with_capacity(MAX_STATEMENT_LEN);
    statement.extend_from_slice(context);
    statement.extend_from_slice(body_digest.as_bytes());
    statement
}

/// Length of the longest signed statement in bytes: the longest signing
/// context (18 bytes, trust roots) followed by a 32-byte digest.
pub const MAX_STATEMENT_LEN: usize = 50;

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_up_to<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    match read_partial(input, buf) {
        (filled, None) => Ok(filled),
        (_, Some(e)) => Err(e),
    }
}

/// Reads until `buf` is full or the input ends, retrying interrupted
/// reads: the bytes read, and the error that stopped the reading early, if
/// any. The count is kept with the error for callers that must still use
/// what arrived complete before it.
pub fn read_partial<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match input.read(rest) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

fn read_section<R: Read>(
    input: &mut R,
    buf: &mut [u8],
    section: Section,
) -> Result<(), ContainerError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ContainerError::Truncated { section },
        _ => ContainerError::Io(e),
    })
}

/// Reads the head of a file of type `expected` from a stream, leaving the
/// stream at the start of the chunk-index section.
///
/// Allocates only what the bounds-checked header declares.
pub fn read_head<R: Read>(
    input: &mut R,
    expected: FileType,
    limits: &Limits,
) -> Result<Head, ContainerError> {
    let mut fixed = [0u8; HEADER_LEN];
    let got = read_up_to(input, &mut fixed).map_err(ContainerError::Io)?;
    if got < HEADER_LEN {
        // A short file that does not even start like hpk is not an hpk
        // file, rather than a truncated one.
        let prefix = got.min(MAGIC.len());
        if fixed.get(..prefix) != MAGIC.get(..prefix) {
            return Err(ContainerError::BadMagic { hint: None });
        }
        return Err(ContainerError::Truncated {
            section: Section::Header,
        });
    }
    let header = Header::parse(&fixed, limits)?;
    if header.file_type != expected {
        return Err(ContainerError::WrongFileType {
            expected,
            found: header.file_type,
        });
    }
    let mut sig_block = vec![0u8; usize::from(header.signature_count) * SIGNATURE_RECORD_LEN];
    read_section(input, &mut sig_block, Section::SignatureBlock)?;
    let signatures = SignatureRecord::parse_block(&sig_block)?;
    let body_len = usize::try_from(header.body_len).map_err(|_| ContainerError::Malformed {
        reason: "body length does not fit in memory",
    })?;
    let mut body = vec![0u8; body_len];
    read_section(input, &mut body, Section::Body)?;
    Ok(Head {
        header,
        signatures,
        body,
    })
}

/// A whole file held in memory, split into its sections without copying.
#[derive(Clone, Debug)]
pub struct ContainerView<'a> {
    /// The fixed header.
    pub header: Header,
    /// The signature records.
    pub signatures: Vec<SignatureRecord>,
    /// The metadata body (not yet authenticated).
    pub body: &'a [u8],
    /// The chunk-index section.
    pub index: &'a [u8],
    /// The payload area.
    pub payload: &'a [u8],
}

impl<'a> ContainerView<'a> {
    /// Splits `bytes` into sections. The file must be exactly as long as
    /// its header says.
    ///
    /// For trust roots and catalogs this is C1–C16 in the normative order.
    /// For a package it checks the length (C16) before any signature,
    /// which the normative order puts after the policy: a package verifier
    /// reads the head first ([`read_head`]), verifies it and applies the
    /// policy, and only then splits the rest (`spec/SPEC.md`, "Check
    /// order").
    pub fn parse(
        bytes: &'a [u8],
        expected: FileType,
        limits: &Limits,
    ) -> Result<ContainerView<'a>, ContainerError> {
        let mut input = bytes;
        let head = read_head(&mut input, expected, limits)?;
        let layout = head.layout()?;
        let len = bytes.len() as u64;
        if len < layout.end {
            return Err(ContainerError::Truncated {
                section: if len < layout.payload {
                    Section::ChunkIndex
                } else {
                    Section::PayloadArea
                },
            });
        }
        if len > layout.end {
            return Err(ContainerError::TrailingBytes);
        }
        let slice = |from: u64, to: u64| -> Result<&'a [u8], ContainerError> {
            let from = usize::try_from(from).ok();
            let to = usize::try_from(to).ok();
            from.zip(to)
                .and_then(|(f, t)| bytes.get(f..t))
                .ok_or(ContainerError::Malformed {
                    reason: "section out of range",
                })
        };
        Ok(ContainerView {
            header: head.header,
            signatures: head.signatures,
            body: slice(layout.body, layout.index)?,
            index: slice(layout.index, layout.payload)?,
            payload: slice(layout.payload, layout.end)?,
        })
    }
}

/// Encodes a head: header, signature block and body. The chunk indexes
/// (`index_len` bytes) and payload area (`payload_len` bytes) must follow.
///
/// Signature records are written in the order given; use
/// [`crate::canonicalize_signatures`] first for a canonical block.
pub fn encode_head(
    file_type: FileType,
    signatures: &[SignatureRecord],
    body: &[u8],
    index_len: u64,
    payload_len: u64,
) -> Result<Vec<u8>, WriteError> {
    let signature_count = u16::try_from(signatures.len()).map_err(|_| WriteError::Invalid {
        reason: "more than 65535 signatures".into(),
    })?;
    let header = Header {
        minor: FORMAT_MINOR,
        file_type,
        signature_count,
        body_len: body.len() as u64,
        index_len,
        payload_len,
    };
    header.layout().map_err(|e| WriteError::Invalid {
        reason: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(
        signatures
            .len()
            .saturating_mul(SIGNATURE_RECORD_LEN)
            .saturating_add(HEADER_LEN)
            .saturating_add(body.len()),
    );
    out.extend_from_slice(&header.to_bytes());
    for s in signatures {
        out.extend_from_slice(&s.to_bytes());
    }
    out.extend_from_slice(body);
    Ok(out)
}

/// Checks that a stream has no byte left.
pub fn expect_end<R: Read>(input: &mut R) -> Result<(), ContainerError> {
    let mut probe = [0u8; 1];
    loop {
        match input.read(&mut probe) {
            Ok(0) => return Ok(()),
            Ok(_) => return Err(ContainerError::TrailingBytes),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ContainerError::Io(e)),
        }
    }
}
