//! Writing a payload: split the input into chunks, compress them on all
//! cores, write them in order and build the chunk index.
//!
//! Memory stays bounded whatever the payload size: at most
//! `2 × threads + 2` chunks are in flight between the reader, the
//! compressors and the writer.

use hpk_format::{
    ChunkEncoding, ChunkEntry, Compression, DEFAULT_CHUNK_SIZE, Digest, LimitExceeded, Limits,
    MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, PayloadDescriptor, PayloadName, WriteError, read_partial,
};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Most compression threads, whatever is asked.
const MAX_THREADS: usize = 64;

/// How to cut and store a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkingOptions {
    /// Uncompressed chunk size, from [`MIN_CHUNK_SIZE`] to the limits'
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

struct StoredChunk {
    seq: u64,
    raw_len: u64,
    bytes: Vec<u8>,
    encoding: ChunkEncoding,
    digest: Digest,
}

fn store_chunk(
    compressor: Option<&mut zstd::bulk::Compressor<'static>>,
    seq: u64,
    raw: Vec<u8>,
) -> io::Result<StoredChunk> {
    let raw_len = raw.len() as u64;
    if let Some(c) = compressor {
        let packed = c.compress(&raw)?;
        if packed.len() < raw.len() {
            return Ok(StoredChunk {
                seq,
                raw_len,
                digest: Digest::of(&packed),
                bytes: packed,
                encoding: ChunkEncoding::Zstd,
            });
        }
    }
    Ok(StoredChunk {
        seq,
        raw_len,
        digest: Digest::of(&raw),
        bytes: raw,
        encoding: ChunkEncoding::Raw,
    })
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
    if options.chunk_size < MIN_CHUNK_SIZE || options.chunk_size > limits.chunk_size() {
        return Err(WriteError::Invalid {
            reason: format!(
                "chunk size {} is outside {MIN_CHUNK_SIZE}..={}",
                options.chunk_size,
                limits.chunk_size()
            ),
        });
    }
    if !(1..=19).contains(&options.level) {
        return Err(WriteError::Invalid {
            reason: format!("zstd level {} is outside 1..=19", options.level),
        });
    }
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, MAX_THREADS);
    // threads ≤ MAX_THREADS, so this cannot overflow.
    let in_flight = threads.saturating_mul(2).saturating_add(2);
    let chunk_size = options.chunk_size as usize;
    let compress = options.compression == Compression::Zstd;

    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        // Cannot fail: the channel has room for every token and is open.
        let _ = token_tx.send(());
    }
    let (work_tx, work_rx) = sync_channel::<(u64, Vec<u8>)>(threads);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<io::Result<StoredChunk>>(in_flight);

    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_chunks(input, chunk_size, limits, token_rx, work_tx));
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = Arc::clone(&work_rx);
            scope.spawn(move || compress_chunks(&work_rx, done_tx, compress, options.level));
        }
        // Only the workers hold the work queue, so that the reader's sends
        // fail once every worker has stopped.
        drop(work_rx);
        drop(done_tx);

        let written = write_in_order(output, &done_rx, &token_tx, progress);
        // Unblock the reader and the workers if the writer stopped early.
        drop(done_rx);
        drop(token_tx);
        let read = reader
            .join()
            .map_err(|_| WriteError::Io(io::Error::other("payload reader thread failed")))?;
        let (size, content_digest) = read?;
        let (index, stored_size, chunk_count) = written?;
        if chunk_count != size.div_ceil(u64::from(options.chunk_size)) {
            return Err(WriteError::Io(io::Error::other(
                "compression thread stopped before the end of the payload",
            )));
        }
        Ok(WrittenPayload {
            descriptor: PayloadDescriptor {
                name,
                executable: false,
                compression: options.compression,
                size,
                stored_size,
                chunk_size: options.chunk_size,
                chunk_count,
                index_digest: Digest::of(&index),
                content_digest,
            },
            index,
        })
    })
}

/// The reader: cuts the input into chunks, hashing the content as it goes.
fn read_chunks<R: Read>(
    mut input: R,
    chunk_size: usize,
    limits: &Limits,
    tokens: Receiver<()>,
    work: SyncSender<(u64, Vec<u8>)>,
) -> Result<(u64, Digest), WriteError> {
    let mut content = Sha256::new();
    let mut size = 0u64;
    let mut seq = 0u64;
    loop {
        if tokens.recv().is_err() {
            // The writer stopped; it reports why.
            return Ok((size, Digest(content.finalize().into())));
        }
        let mut chunk = vec![0u8; chunk_size];
        let got = match read_partial(&mut input, &mut chunk) {
            (got, None) => got,
            (_, Some(e)) => return Err(WriteError::Io(e)),
        };
        chunk.truncate(got);
        if got == 0 {
            return Ok((size, Digest(content.finalize().into())));
        }
        content.update(&chunk);
        size = size.saturating_add(got as u64);
        if size > limits.max_total_size {
            return Err(WriteError::Limit(LimitExceeded {
                what: "payload size",
                value: size,
                max: limits.max_total_size,
            }));
        }
        if seq >= limits.max_chunks {
            return Err(WriteError::Limit(LimitExceeded {
                what: "chunk count",
                value: seq.saturating_add(1),
                max: limits.max_chunks,
            }));
        }
        if work.send((seq, chunk)).is_err() {
            return Ok((size, Digest(content.finalize().into())));
        }
        seq = seq.saturating_add(1);
        if got < chunk_size {
            return Ok((size, Digest(content.finalize().into())));
        }
    }
}

/// A zstd compressor whose frames are single-segment (SPEC.md Z2, W3): a
/// window as large as the largest chunk, which zstd shrinks to the chunk
/// it compresses, so that Window_Size is the chunk's length. The frames
/// also carry Frame_Content_Size and no dictionary id (zstd's defaults).
fn new_compressor(level: i32) -> io::Result<zstd::bulk::Compressor<'static>> {
    let mut c = zstd::bulk::Compressor::new(level)?;
    c.set_parameter(zstd::zstd_safe::CParameter::WindowLog(
        MAX_CHUNK_SIZE.ilog2(),
    ))?;
    Ok(c)
}

/// A compression worker.
fn compress_chunks(
    work: &Mutex<Receiver<(u64, Vec<u8>)>>,
    done: SyncSender<io::Result<StoredChunk>>,
    compress: bool,
    level: i32,
) {
    let mut compressor = if compress {
        match new_compressor(level) {
            Ok(c) => Some(c),
            Err(e) => {
                let _ = done.send(Err(e));
                return;
            }
        }
    } else {
        None
    };
    loop {
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, raw)) = next else { return };
        let stored = store_chunk(compressor.as_mut(), seq, raw);
        if done.send(stored).is_err() {
            return;
        }
    }
}

/// The writer: puts chunks back in order, writes them and builds the index.
fn write_in_order<W: Write>(
    output: &mut W,
    done: &Receiver<io::Result<StoredChunk>>,
    tokens: &SyncSender<()>,
    progress: &mut dyn FnMut(u64),
) -> Result<(Vec<u8>, u64, u64), WriteError> {
    let mut pending: BTreeMap<u64, StoredChunk> = BTreeMap::new();
    let mut index = Vec::new();
    let mut next = 0u64;
    let mut stored_size = 0u64;
    let mut input_done = 0u64;
    for result in done.iter() {
        let chunk = result.map_err(WriteError::Compression)?;
        pending.insert(chunk.seq, chunk);
        while let Some(chunk) = pending.remove(&next) {
            output.write_all(&chunk.bytes)?;
            let stored_len = u32::try_from(chunk.bytes.len()).map_err(|_| WriteError::Invalid {
                reason: "chunk larger than 4 GiB".into(),
            })?;
            index.extend_from_slice(
                &ChunkEntry {
                    stored_len,
                    encoding: chunk.encoding,
                    digest: chunk.digest,
                }
                .to_bytes(),
            );
            stored_size = stored_size.saturating_add(u64::from(stored_len));
            input_done = input_done.saturating_add(chunk.raw_len);
            progress(input_done);
            next = next.saturating_add(1);
            let _ = tokens.send(());
        }
    }
    if !pending.is_empty() {
        return Err(WriteError::Io(io::Error::other(
            "a compression thread stopped early",
        )));
    }
    Ok((index, stored_size, next))
}
