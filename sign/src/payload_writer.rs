//! Writing one payload: split the input into chunks, compress them on all
//! cores, write them in order and build the chunk index. A package's
//! payloads go through the same pipeline together ([`crate::pipeline`]).
//!
//! Memory stays bounded whatever the payload size: at most
//! `2 × threads + 3` batches of chunks (about 1 MiB each, or one larger
//! chunk) are in flight between the reader, the compressors and the
//! writer.

use crate::pipeline::{Against, Job, PipelineError, write_payloads};
use hpk_format::{
    Compression, DEFAULT_CHUNK_SIZE, Limits, PayloadDescriptor, PayloadName, WriteError,
};
use std::io::{self, Read, Write};

/// How to cut and store a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkingOptions {
    /// Uncompressed chunk size, from [`hpk_format::MIN_CHUNK_SIZE`] to the limits'
    /// chunk size. Default: [`DEFAULT_CHUNK_SIZE`].
    pub chunk_size: u32,
    /// Whether to try zstd on each chunk. Default: zstd.
    pub compression: Compression,
    /// zstd level (1 to 19). Default: 3.
    pub level: i32,
    /// Compression threads; 0 = one per core; at most 64. Default: 0.
    pub threads: usize,
}

impl Default for ChunkingOptions {
    fn default() -> Self {
        ChunkingOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            compression: Compression::Zstd,
            level: 3,
            threads: 0,
        }
    }
}

/// What [`write_payload`] produced: the descriptor for the manifest and the
/// chunk index that goes into the index section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenPayload {
    /// The payload's descriptor.
    pub descriptor: PayloadDescriptor,
    /// The payload's chunk index bytes.
    pub index: Vec<u8>,
}

/// Reads `input` to its end and writes the payload's stored bytes to
/// `output`, calling `progress` with the number of input bytes done after
/// each chunk.
///
/// The result is deterministic: it depends on the input and the options'
/// chunk size, compression and level, never on the thread count.
pub fn write_payload<R: Read + Send, W: Write>(
    name: PayloadName,
    input: R,
    output: &mut W,
    options: &ChunkingOptions,
    limits: &Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<WrittenPayload, WriteError> {
    let job = Job {
        name: &name,
        chunking: options.clone(),
        size_hint: u64::from(options.chunk_size),
        against: Against::Nothing,
    };
    let mut input = Some(input);
    let open = |_: usize| {
        input
            .take()
            .ok_or_else(|| io::Error::other("the payload was opened twice"))
    };
    let mut written = None;
    let result = write_payloads(
        std::slice::from_ref(&job),
        open,
        None,
        output,
        options.threads,
        limits,
        &mut |_, done| progress(done),
        &mut |_, payload| written = Some(payload),
    );
    match result {
        Ok(()) => written.ok_or_else(|| WriteError::Io(io::Error::other("no payload was written"))),
        Err(PipelineError::Read { source, .. })
        | Err(PipelineError::Base { source, .. })
        | Err(PipelineError::Write(source)) => Err(WriteError::Io(source)),
        Err(PipelineError::Payload { source, .. }) => Err(source),
        Err(PipelineError::Inconsistent(reason)) => Err(WriteError::Io(io::Error::other(reason))),
    }
}
