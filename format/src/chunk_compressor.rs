//! The zstd compressor of hpk's packer, shared with whoever wants to
//! produce the same stored bytes again: a fetcher that rebuilds chunks
//! from files the device already has (SPEC.md HF9) gets byte-identical
//! chunks only by compressing exactly as the packer did.

use crate::limits::MAX_CHUNK_SIZE;
use std::io;

/// The zstd level of a payload whose description names none.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// A zstd compressor at `level` whose frames are single-segment (SPEC.md
/// Z2, W3): a window as large as the largest chunk, which zstd shrinks to
/// the chunk it compresses, so that Window_Size is the chunk's length.
/// The frames also carry Frame_Content_Size and no dictionary id (zstd's
/// defaults).
pub fn chunk_compressor(level: i32) -> io::Result<zstd::bulk::Compressor<'static>> {
    let mut c = zstd::bulk::Compressor::new(level)?;
    c.set_parameter(zstd::zstd_safe::CParameter::WindowLog(
        MAX_CHUNK_SIZE.ilog2(),
    ))?;
    Ok(c)
}
