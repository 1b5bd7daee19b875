//! One pipeline for every payload of a package: a reader thread opens the
//! payloads in manifest order and cuts them into chunks, compression
//! workers store the chunks, and the calling thread writes them back in
//! order and builds each payload's chunk index.
//!
//! The threads and the zstd contexts live for the whole package, not for
//! one payload, so a package of 100,000 small files costs 100,000 file
//! reads and compressions, not 100,000 thread starts and context
//! allocations; small payloads from consecutive files compress on every
//! core at once. Memory stays bounded whatever the payload sizes or count:
//! every message between the threads holds a token, and there are
//! `2 × threads + 2` tokens (and the reader fills one batch more while it
//! waits for one); a message is a batch of at most [`BATCH_ITEMS`] chunks
//! and payload ends, holding about [`BATCH_BYTES`] of content (at most
//! that plus one chunk).
//!
//! The output is deterministic: it depends on the inputs and each
//! payload's chunk size, compression and level, never on the thread count
//! or on which worker stored which chunk.

use crate::delta::{ChunkOps, DeltaEncoder};
use crate::delta_streams::{RANKING_LEVEL, STREAM_LEVEL, StreamWriter};
use crate::payload_writer::{ChunkingOptions, WrittenPayload};
use hpk_format::{
    ChunkEncoding, ChunkEntry, Compression, DeltaBase, Digest, LimitExceeded, Limits,
    PayloadDescriptor, PayloadName, WriteError, chunk_compressor,
};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Most compression threads, whatever is asked.
const MAX_THREADS: usize = 64;

/// The reader sends chunks and payload ends in batches of about this much
/// raw content (one chunk of a large file is a batch of its own), so that
/// a thousand small files cost a few hand-overs between threads, not a
/// thousand.
const BATCH_BYTES: usize = 1 << 20;

/// Most items in one batch (a small file is two: its chunk and its end).
const BATCH_ITEMS: usize = 256;

/// One payload for [`write_payloads`].
#[derive(Clone, Debug)]
pub(crate) struct Job<'a> {
    /// Its name in the manifest.
    pub name: &'a PayloadName,
    /// How to cut and store it (`threads` is ignored: the pipeline's own
    /// thread count applies).
    pub chunking: ChunkingOptions,
    /// The size it is expected to have (from the file's metadata), to size
    /// read buffers; the content read decides the payload's size.
    pub size_hint: u64,
    /// What it is stored against (decided before the manifest is
    /// planned, since it changes the descriptor's length).
    pub against: Against,
}

/// Why [`write_payloads`] stopped. Every failure names the payload it
/// happened in, except a failed write, which belongs to the output.
#[derive(Debug)]
pub(crate) enum PipelineError {
    /// Opening or reading payload `payload` failed.
    Read {
        /// Index into the jobs.
        payload: usize,
        /// Why.
        source: io::Error,
    },
    /// Payload `payload` is over a limit, or its options are invalid, or
    /// compressing it failed.
    Payload {
        /// Index into the jobs.
        payload: usize,
        /// Why.
        source: WriteError,
    },
    /// Reading the base of payload `payload` (in the release it is a
    /// delta of) failed.
    Base {
        /// Index into the jobs.
        payload: usize,
        /// Why.
        source: io::Error,
    },
    /// Writing the output failed.
    Write(io::Error),
    /// A bug: the threads disagree on what was sent.
    Inconsistent(&'static str),
}

/// A stored chunk, ready for the payload area.
struct StoredChunk {
    raw_len: u64,
    bytes: Vec<u8>,
    encoding: ChunkEncoding,
    digest: Digest,
}

/// What travels from the reader, through a worker, to the writer.
enum Item {
    /// A chunk of the current payload: raw on the way to a worker (with
    /// the zstd level to try, if any), stored after it.
    Raw(Vec<u8>, Option<i32>),
    /// A chunk of a delta payload on its way to a worker: its content, the
    /// zstd level to try on it, and its candidate delta ops (none if it
    /// cannot be a delta chunk).
    Delta(Vec<u8>, Option<i32>, Vec<ChunkOps>),
    Stored(StoredChunk),
    /// The end of payload `payload`: its size and content digest.
    End {
        payload: usize,
        size: u64,
        content_digest: Digest,
    },
    /// The reader stops here.
    Failed(PipelineError),
    /// A worker could not compress the chunk at this place.
    CompressionFailed(io::Error),
}

/// What a payload is stored against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Against {
    /// Nothing: stored whole.
    Nothing,
    /// A base: a delta payload, whose chunks may be delta chunks.
    Base(DeltaBase),
    /// A file the device has, byte for byte: an unchanged payload, with
    /// no chunk. Its content is not read again.
    Unchanged {
        /// The content's SHA-256, as checked when the build was planned.
        digest: Digest,
    },
}

/// The bytes of the base of job `i` (a job stored against a base): the
/// content of the payload of the same name in the release the package is
/// a delta of.
pub(crate) type BaseOf<'a> = dyn Fn(usize) -> io::Result<Vec<u8>> + Sync + 'a;

/// Writes the stored bytes of every job, in order, to `output`, opening
/// job `i` with `open(i)` on the reader thread, and hands what job `i`
/// produced to `finished(i, …)` as soon as it is written (so that a
/// package of many payloads never holds two copies of their descriptors).
/// `progress(i, done)` is called with the number of bytes of job `i` read
/// so far, after each chunk is written.
///
/// `threads` compression workers run (0 = one per core; at most 64).
/// Stops at the first failure, in job order: nothing after it is read.
///
/// Each job is stored as its `against` says (SPEC.md W6): a job against a
/// base takes the base's bytes from `base_of(i)` and stores each chunk as
/// the smallest of raw, zstd and a delta chunk; an unchanged job is not
/// read at all.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_payloads<R, O, W>(
    jobs: &[Job<'_>],
    open: O,
    base_of: Option<&BaseOf<'_>>,
    output: &mut W,
    threads: usize,
    limits: &Limits,
    progress: &mut dyn FnMut(usize, u64),
    finished: &mut dyn FnMut(usize, WrittenPayload),
) -> Result<(), PipelineError>
where
    R: Read,
    O: FnMut(usize) -> io::Result<R> + Send,
    W: Write,
{
    for (payload, job) in jobs.iter().enumerate() {
        check_options(&job.chunking, limits)
            .map_err(|source| PipelineError::Payload { payload, source })?;
    }
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, MAX_THREADS);
    // threads ≤ MAX_THREADS, so this cannot overflow.
    let in_flight = threads.saturating_mul(2).saturating_add(2);

    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        // Cannot fail: the channel has room for every token and is open.
        let _ = token_tx.send(());
    }
    let (work_tx, work_rx) = sync_channel::<(u64, Vec<Item>)>(threads);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<(u64, Vec<Item>)>(in_flight);

    std::thread::scope(|scope| {
        scope.spawn(move || read_jobs(jobs, open, base_of, limits, &token_rx, &work_tx));
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = Arc::clone(&work_rx);
            scope.spawn(move || store_chunks(&work_rx, &done_tx));
        }
        // Only the workers hold the work queue, so that the reader's sends
        // fail once every worker has stopped.
        drop(work_rx);
        drop(done_tx);
        let written = write_in_order(jobs, output, &done_rx, &token_tx, progress, finished);
        // Unblock the reader and the workers if the writer stopped early.
        drop(done_rx);
        drop(token_tx);
        written
    })
}

/// The chunk size and level must be in range (SPEC.md W2).
fn check_options(options: &ChunkingOptions, limits: &Limits) -> Result<(), WriteError> {
    if options.chunk_size < hpk_format::MIN_CHUNK_SIZE || options.chunk_size > limits.chunk_size() {
        return Err(WriteError::Invalid {
            reason: format!(
                "chunk size {} is outside {}..={}",
                options.chunk_size,
                hpk_format::MIN_CHUNK_SIZE,
                limits.chunk_size()
            ),
        });
    }
    if !(1..=19).contains(&options.level) {
        return Err(WriteError::Invalid {
            reason: format!("zstd level {} is outside 1..=19", options.level),
        });
    }
    Ok(())
}

/// The reader: opens each job in turn, cuts it into chunks and hashes its
/// content, and sends the chunks and payload ends in batches. Every batch
/// takes a token; it stops when the tokens or the workers are gone (the
/// writer stopped) or after sending a failure.
fn read_jobs<R: Read, O: FnMut(usize) -> io::Result<R>>(
    jobs: &[Job<'_>],
    mut open: O,
    base_of: Option<&BaseOf<'_>>,
    limits: &Limits,
    tokens: &Receiver<()>,
    work: &SyncSender<(u64, Vec<Item>)>,
) {
    let mut seq = 0u64;
    let mut batch: Vec<Item> = Vec::new();
    let mut bytes = 0usize;
    let mut flush = |batch: &mut Vec<Item>| -> bool {
        if batch.is_empty() {
            return true;
        }
        if tokens.recv().is_err() {
            return false;
        }
        let sent = work.send((seq, std::mem::take(batch))).is_ok();
        seq = seq.saturating_add(1);
        sent
    };
    let mut send = |item: Item| -> bool {
        let last = matches!(item, Item::Failed(_));
        if let Item::Raw(raw, _) | Item::Delta(raw, _, _) = &item {
            bytes = bytes.saturating_add(raw.len());
        }
        batch.push(item);
        if last || bytes >= BATCH_BYTES || batch.len() >= BATCH_ITEMS {
            bytes = 0;
            return flush(&mut batch) && !last;
        }
        true
    };
    for (payload, job) in jobs.iter().enumerate() {
        let ok = match job.against {
            Against::Nothing => match open(payload) {
                Ok(input) => read_one(payload, job, input, limits, &mut send),
                Err(source) => send(Item::Failed(PipelineError::Read { payload, source })),
            },
            Against::Unchanged { digest } => send(Item::End {
                payload,
                size: job.size_hint,
                content_digest: digest,
            }),
            Against::Base(base) => {
                let bytes = match base_of.map(|b| b(payload)) {
                    Some(Ok(bytes)) if Digest::of(&bytes) == base.digest => Ok(bytes),
                    Some(Ok(_)) => Err(io::Error::other(
                        "the base read differs from the one planned",
                    )),
                    Some(Err(e)) => Err(e),
                    None => Err(io::Error::other("no base was given")),
                };
                match (open(payload), bytes) {
                    (Ok(input), Ok(bytes)) => {
                        read_against(payload, job, input, &bytes, limits, &mut send)
                    }
                    (Err(source), _) => send(Item::Failed(PipelineError::Read { payload, source })),
                    (_, Err(source)) => send(Item::Failed(PipelineError::Base { payload, source })),
                }
            }
        };
        if !ok {
            return;
        }
    }
    flush(&mut batch);
}

/// Cuts one payload into chunks and sends them, then its end. `false`:
/// the pipeline stops (a failure was sent, or the writer is gone).
fn read_one<R: Read>(
    payload: usize,
    job: &Job<'_>,
    input: R,
    limits: &Limits,
    send: &mut dyn FnMut(Item) -> bool,
) -> bool {
    let chunk_size = u64::from(job.chunking.chunk_size);
    let level = (job.chunking.compression == Compression::Zstd).then_some(job.chunking.level);
    let mut input = input.take(u64::MAX);
    let mut content = Sha256::new();
    let mut size = 0u64;
    let mut chunks = 0u64;
    loop {
        // Sized from the expected size, so a small file costs no 1 MiB
        // buffer; a file that grew still reads whole chunks (the build
        // then reports that it changed).
        let expected_left = job.size_hint.saturating_sub(size);
        let capacity = expected_left.clamp(1, chunk_size);
        let mut chunk = Vec::with_capacity(usize::try_from(capacity).unwrap_or(1));
        input.set_limit(chunk_size);
        if let Err(source) = input.read_to_end(&mut chunk) {
            send(Item::Failed(PipelineError::Read { payload, source }));
            return false;
        }
        if chunk.is_empty() {
            break;
        }
        content.update(&chunk);
        size = size.saturating_add(chunk.len() as u64);
        if size > limits.max_total_size {
            send(Item::Failed(PipelineError::Payload {
                payload,
                source: WriteError::Limit(LimitExceeded {
                    what: "payload size",
                    value: size,
                    max: limits.max_total_size,
                }),
            }));
            return false;
        }
        if chunks >= limits.max_chunks {
            send(Item::Failed(PipelineError::Payload {
                payload,
                source: WriteError::Limit(LimitExceeded {
                    what: "chunk count",
                    value: chunks.saturating_add(1),
                    max: limits.max_chunks,
                }),
            }));
            return false;
        }
        chunks = chunks.saturating_add(1);
        let full = chunk.len() as u64 == chunk_size;
        if !send(Item::Raw(chunk, level)) {
            return false;
        }
        if !full {
            break;
        }
    }
    send(Item::End {
        payload,
        size,
        content_digest: Digest(content.finalize().into()),
    })
}

/// Reads one payload whole and cuts it into chunks, each sent with its
/// candidate delta ops against `base_bytes` for a worker to choose the smallest
/// encoding. `false`: the pipeline stops.
fn read_against<R: Read>(
    payload: usize,
    job: &Job<'_>,
    input: R,
    base_bytes: &[u8],
    limits: &Limits,
    send: &mut dyn FnMut(Item) -> bool,
) -> bool {
    let fail = |source: WriteError| PipelineError::Payload { payload, source };
    let mut content = Vec::new();
    // One byte more than the limit: enough to know it is over.
    let mut input = input.take(limits.max_total_size.saturating_add(1));
    if let Err(source) = input.read_to_end(&mut content) {
        send(Item::Failed(PipelineError::Read { payload, source }));
        return false;
    }
    let size = content.len() as u64;
    let chunk_size = job.chunking.chunk_size;
    let chunk_count = size.div_ceil(u64::from(chunk_size));
    let over = if size > limits.max_total_size {
        Some(("payload size", size, limits.max_total_size))
    } else if chunk_count > limits.max_chunks {
        Some(("chunk count", chunk_count, limits.max_chunks))
    } else {
        None
    };
    if let Some((what, value, max)) = over {
        let limit = WriteError::Limit(LimitExceeded { what, value, max });
        send(Item::Failed(fail(limit)));
        return false;
    }
    let content_digest = Digest::of(&content);
    let level = (job.chunking.compression != Compression::None).then_some(job.chunking.level);
    let encoder = DeltaEncoder::new(base_bytes);
    // Each chunk's ops are cut from the whole file's matches as it goes to
    // the workers: only the chunks in flight are held.
    let mut candidates = encoder.chunk_candidates(&content, chunk_size);
    for raw in content.chunks(chunk_size as usize) {
        let Some(ops) = candidates.next() else {
            send(Item::Failed(PipelineError::Inconsistent(
                "the delta encoder cut the payload into other chunks",
            )));
            return false;
        };
        if !send(Item::Delta(raw.to_vec(), level, ops)) {
            return false;
        }
    }
    if candidates.next().is_some() {
        send(Item::Failed(PipelineError::Inconsistent(
            "the delta encoder cut the payload into other chunks",
        )));
        return false;
    }
    send(Item::End {
        payload,
        size,
        content_digest,
    })
}

/// Stores one chunk: zstd at `level` when that is smaller, else raw.
fn store_chunk(
    compressors: &mut Vec<(i32, zstd::bulk::Compressor<'static>)>,
    raw: Vec<u8>,
    level: Option<i32>,
) -> io::Result<StoredChunk> {
    let raw_len = raw.len() as u64;
    if let Some(level) = level {
        let at = match compressors.iter().position(|(l, _)| *l == level) {
            Some(at) => at,
            None => {
                compressors.push((level, chunk_compressor(level)?));
                compressors.len().saturating_sub(1)
            }
        };
        if let Some((_, c)) = compressors.get_mut(at) {
            let packed = c.compress(&raw)?;
            if packed.len() < raw.len() {
                return Ok(StoredChunk {
                    raw_len,
                    digest: Digest::of(&packed),
                    bytes: packed,
                    encoding: ChunkEncoding::Zstd,
                });
            }
        }
    }
    Ok(StoredChunk {
        raw_len,
        digest: Digest::of(&raw),
        bytes: raw,
        encoding: ChunkEncoding::Raw,
    })
}

/// The stream writers of one worker: one at the level delta chunks are
/// written at, one to rank candidates quickly.
struct StreamWriters {
    final_level: StreamWriter,
    ranking: StreamWriter,
}

/// Stores one chunk of a delta payload: the smallest of raw, zstd at
/// `level` and its best delta chunk (SPEC.md W6); at equal size the
/// earlier, so zstd before delta (it needs no base). With more than one
/// candidate, the best is the smallest written at the ranking level (the
/// first on a tie), then written again at the final level.
fn store_delta_chunk(
    compressors: &mut Vec<(i32, zstd::bulk::Compressor<'static>)>,
    writers: &mut Option<StreamWriters>,
    raw: Vec<u8>,
    level: Option<i32>,
    candidates: Vec<ChunkOps>,
) -> io::Result<StoredChunk> {
    let plain = store_chunk(compressors, raw, level)?;
    if candidates.is_empty() {
        return Ok(plain);
    }
    let writers = match writers {
        Some(w) => w,
        None => writers.insert(StreamWriters {
            final_level: StreamWriter::new(STREAM_LEVEL)?,
            ranking: StreamWriter::new(RANKING_LEVEL)?,
        }),
    };
    let mut best: Option<(usize, &ChunkOps)> = None;
    if let [only] = &candidates[..] {
        best = Some((0, only));
    } else {
        for ops in &candidates {
            let len = writers.ranking.write(ops)?.len();
            if best.is_none_or(|(shortest, _)| len < shortest) {
                best = Some((len, ops));
            }
        }
    }
    let Some((_, ops)) = best else {
        return Ok(plain);
    };
    let stored = writers.final_level.write(ops)?;
    if stored.len() < plain.bytes.len() {
        return Ok(StoredChunk {
            raw_len: plain.raw_len,
            digest: Digest::of(&stored),
            bytes: stored,
            encoding: ChunkEncoding::Delta,
        });
    }
    Ok(plain)
}

/// A worker: stores the raw chunks of each batch and passes everything
/// else on. Its zstd contexts (one per level seen) live as long as it
/// does.
fn store_chunks(work: &Mutex<Receiver<(u64, Vec<Item>)>>, done: &SyncSender<(u64, Vec<Item>)>) {
    let mut compressors = Vec::new();
    let mut streams = None;
    loop {
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, mut batch)) = next else { return };
        for item in &mut batch {
            let stored = match item {
                Item::Raw(raw, level) => store_chunk(&mut compressors, std::mem::take(raw), *level),
                Item::Delta(raw, level, candidates) => store_delta_chunk(
                    &mut compressors,
                    &mut streams,
                    std::mem::take(raw),
                    *level,
                    std::mem::take(candidates),
                ),
                _ => continue,
            };
            *item = match stored {
                Ok(stored) => Item::Stored(stored),
                Err(e) => Item::CompressionFailed(e),
            };
        }
        if done.send((seq, batch)).is_err() {
            return;
        }
    }
}

/// One payload's stored chunks so far.
#[derive(Default)]
struct Building {
    index: Vec<u8>,
    stored_size: u64,
    chunk_count: u64,
    read: u64,
}

/// The writer: puts the items back in order, writes the chunks and builds
/// each payload's index; returns a token for every item it has used.
fn write_in_order<W: Write>(
    jobs: &[Job<'_>],
    output: &mut W,
    done: &Receiver<(u64, Vec<Item>)>,
    tokens: &SyncSender<()>,
    progress: &mut dyn FnMut(usize, u64),
    finished: &mut dyn FnMut(usize, WrittenPayload),
) -> Result<(), PipelineError> {
    let mut pending: BTreeMap<u64, Vec<Item>> = BTreeMap::new();
    let mut written = 0usize;
    let mut current = Building::default();
    let mut next = 0u64;
    for (seq, batch) in done.iter() {
        pending.insert(seq, batch);
        while let Some(batch) = pending.remove(&next) {
            next = next.saturating_add(1);
            for item in batch {
                let payload = written;
                match item {
                    Item::Stored(chunk) => {
                        output
                            .write_all(&chunk.bytes)
                            .map_err(PipelineError::Write)?;
                        let stored_len = u32::try_from(chunk.bytes.len()).map_err(|_| {
                            PipelineError::Payload {
                                payload,
                                source: WriteError::Invalid {
                                    reason: "chunk larger than 4 GiB".into(),
                                },
                            }
                        })?;
                        current.index.extend_from_slice(
                            &ChunkEntry {
                                stored_len,
                                encoding: chunk.encoding,
                                digest: chunk.digest,
                            }
                            .to_bytes(),
                        );
                        current.stored_size =
                            current.stored_size.saturating_add(u64::from(stored_len));
                        current.chunk_count = current.chunk_count.saturating_add(1);
                        current.read = current.read.saturating_add(chunk.raw_len);
                        progress(payload, current.read);
                    }
                    Item::End {
                        payload: ended,
                        size,
                        content_digest,
                    } => {
                        let job = jobs
                            .get(ended)
                            .filter(|_| ended == payload)
                            .ok_or(PipelineError::Inconsistent("payloads ended out of order"))?;
                        let building = std::mem::take(&mut current);
                        let (chunks, read) = match job.against {
                            Against::Unchanged { .. } => (0, 0),
                            _ => (size.div_ceil(u64::from(job.chunking.chunk_size)), size),
                        };
                        if building.chunk_count != chunks || building.read != read {
                            return Err(PipelineError::Inconsistent(
                                "a payload's chunks do not add up to its size",
                            ));
                        }
                        let compression = match job.against {
                            Against::Unchanged { .. } => {
                                progress(payload, size);
                                Compression::Unchanged
                            }
                            // Even with no delta chunk: the build planned
                            // the descriptor's length with the base in it.
                            Against::Base(base) => Compression::Delta(base),
                            Against::Nothing => job.chunking.compression,
                        };
                        finished(
                            payload,
                            WrittenPayload {
                                descriptor: PayloadDescriptor {
                                    name: job.name.clone(),
                                    executable: false,
                                    compression,
                                    size,
                                    stored_size: building.stored_size,
                                    chunk_size: job.chunking.chunk_size,
                                    chunk_count: building.chunk_count,
                                    index_digest: Digest::of(&building.index),
                                    content_digest,
                                },
                                index: building.index,
                            },
                        );
                        written = written.saturating_add(1);
                    }
                    Item::Failed(e) => return Err(e),
                    Item::CompressionFailed(e) => {
                        return Err(PipelineError::Payload {
                            payload,
                            source: WriteError::Compression(e),
                        });
                    }
                    Item::Raw(..) | Item::Delta(..) => {
                        return Err(PipelineError::Inconsistent(
                            "a chunk reached the writer unstored",
                        ));
                    }
                }
            }
            let _ = tokens.send(());
        }
    }
    if written != jobs.len() {
        return Err(PipelineError::Inconsistent(
            "a pipeline thread stopped before the last payload",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn names(count: usize) -> Vec<PayloadName> {
        (0..count)
            .map(|i| PayloadName::new(&format!("p/{i:05}")).unwrap())
            .collect()
    }

    fn job(
        names: &[PayloadName],
        i: usize,
        size: usize,
        chunk_size: u32,
        compression: Compression,
    ) -> Job<'_> {
        Job {
            name: &names[i],
            chunking: ChunkingOptions {
                chunk_size,
                compression,
                level: 1 + (i % 3) as i32,
                threads: 0,
            },
            size_hint: size as u64,
            against: Against::Nothing,
        }
    }

    /// Bytes of payload `i`: text-like (compressible) or noise, of
    /// `size` bytes.
    fn content(i: usize, size: usize) -> Vec<u8> {
        let mut state = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..size)
            .map(|k| {
                if i.is_multiple_of(2) {
                    b"the quick brown fox "[k % 20]
                } else {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                }
            })
            .collect()
    }

    fn sizes() -> Vec<usize> {
        (0..400)
            .map(|i| [0, 1, 100, 4096, 5000, 9000, 20_000][i % 7] + i)
            .collect()
    }

    /// Runs the pipeline without progress or results, for its error.
    fn failure<R, O, W>(
        jobs: &[Job<'_>],
        open: O,
        output: &mut W,
        threads: usize,
        limits: &Limits,
    ) -> PipelineError
    where
        R: Read,
        O: FnMut(usize) -> io::Result<R> + Send,
        W: Write,
    {
        write_payloads(
            jobs,
            open,
            None,
            output,
            threads,
            limits,
            &mut |_, _| {},
            &mut |_, _| {},
        )
        .expect_err("the pipeline should fail")
    }

    fn run(threads: usize) -> (Vec<WrittenPayload>, Vec<u8>, Vec<(usize, u64)>) {
        let sizes = sizes();
        let names = names(sizes.len());
        let jobs: Vec<Job> = sizes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let compression = if i % 5 == 0 {
                    Compression::None
                } else {
                    Compression::Zstd
                };
                job(&names, i, *s, 4096, compression)
            })
            .collect();
        let data: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, s)| content(i, *s))
            .collect();
        let mut out = Vec::new();
        let mut events = Vec::new();
        let mut written = Vec::new();
        write_payloads(
            &jobs,
            |i| Ok(data[i].as_slice()),
            None,
            &mut out,
            threads,
            &Limits::default(),
            &mut |p, done| events.push((p, done)),
            &mut |i, w| {
                assert_eq!(i, written.len());
                written.push(w);
            },
        )
        .unwrap();
        (written, out, events)
    }

    #[test]
    fn many_payloads_are_stored_in_order_and_the_same_whatever_the_thread_count() {
        let (one, bytes, events) = run(1);
        for threads in [2, 3, 8] {
            let (other, other_bytes, _) = run(threads);
            assert_eq!(one, other, "{threads} threads");
            assert_eq!(bytes, other_bytes, "{threads} threads");
        }
        // Each payload: the right size, chunk count and content digest, and
        // its stored bytes follow the previous payload's.
        let sizes = sizes();
        let mut offset = 0u64;
        for (i, w) in one.iter().enumerate() {
            let d = &w.descriptor;
            assert_eq!(d.name.as_str(), format!("p/{i:05}"));
            assert_eq!(d.size, sizes[i] as u64);
            assert_eq!(d.chunk_count, d.size.div_ceil(4096));
            assert_eq!(d.content_digest, Digest::of(&content(i, sizes[i])));
            assert_eq!(w.index.len() as u64, d.chunk_count * 40);
            assert_eq!(d.index_digest, Digest::of(&w.index));
            offset += d.stored_size;
        }
        assert_eq!(offset, bytes.len() as u64);
        // Progress: payloads in order, bytes growing within each.
        assert!(
            events
                .windows(2)
                .all(|w| w[0].0 < w[1].0 || w[0].1 < w[1].1)
        );
        let last = events.last().unwrap();
        assert_eq!(last.1, *sizes.last().unwrap() as u64);
    }

    /// A writer that blocks nothing but records how far the reader had got
    /// when the first bytes arrived.
    struct Watching<'a> {
        opened: &'a AtomicUsize,
        at_first_write: Option<usize>,
        sink: Vec<u8>,
    }

    impl Write for Watching<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.at_first_write.is_none() {
                // Give the reader every chance to run ahead.
                std::thread::sleep(std::time::Duration::from_millis(50));
                self.at_first_write = Some(self.opened.load(Ordering::SeqCst));
            }
            self.sink.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_reader_runs_no_more_than_the_tokens_ahead_of_the_writer() {
        let names = names(3000);
        let jobs: Vec<Job> = (0..3000)
            .map(|i| job(&names, i, 10, 4096, Compression::Zstd))
            .collect();
        let opened = AtomicUsize::new(0);
        let mut out = Watching {
            opened: &opened,
            at_first_write: None,
            sink: Vec::new(),
        };
        let bytes = [7u8; 10];
        let mut written = 0;
        write_payloads(
            &jobs,
            |_| {
                opened.fetch_add(1, Ordering::SeqCst);
                Ok(&bytes[..])
            },
            None,
            &mut out,
            2,
            &Limits::default(),
            &mut |_, _| {},
            &mut |_, _| written += 1,
        )
        .unwrap();
        assert_eq!(written, 3000);
        // Two items (a chunk and an end) per payload, batches of
        // BATCH_ITEMS items, 2 × 2 + 2 tokens: before the first write the
        // reader can have sent six batches and filled a seventh (waiting
        // for a token to send it), and opened one payload more.
        let ahead = out.at_first_write.unwrap();
        let bound = 7 * BATCH_ITEMS / 2 + 1;
        assert!(
            ahead <= bound,
            "{ahead} payloads opened before the first write"
        );
        assert!(bound < 3000);
    }

    #[test]
    fn the_first_failure_in_payload_order_is_reported_and_nothing_after_it_is_opened() {
        let names = names(50);
        let jobs: Vec<Job> = (0..50)
            .map(|i| job(&names, i, 5000, 4096, Compression::Zstd))
            .collect();
        let data: Vec<Vec<u8>> = (0..50).map(|i| content(i, 5000)).collect();
        let opened = AtomicUsize::new(0);
        let mut out = Vec::new();
        let err = failure(
            &jobs,
            |i| {
                opened.fetch_add(1, Ordering::SeqCst);
                if i == 20 {
                    Err(io::Error::from(io::ErrorKind::PermissionDenied))
                } else {
                    Ok(data[i].as_slice())
                }
            },
            &mut out,
            3,
            &Limits::default(),
        );
        assert!(
            matches!(&err, PipelineError::Read { payload: 20, source } if source.kind() == io::ErrorKind::PermissionDenied),
            "{err:?}"
        );
        assert_eq!(opened.load(Ordering::SeqCst), 21);

        // A read that fails after some bytes (payload 7, after 4,500 of
        // its 5,000 bytes).
        struct Failing<'a> {
            left: &'a [u8],
            fails: bool,
        }
        impl Read for Failing<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.left.is_empty() && self.fails {
                    return Err(io::Error::from_raw_os_error(5));
                }
                let n = buf.len().min(self.left.len()).min(1000);
                buf[..n].copy_from_slice(&self.left[..n]);
                self.left = &self.left[n..];
                Ok(n)
            }
        }
        let err = failure(
            &jobs,
            |i| {
                Ok(Failing {
                    left: &data[i][..if i == 7 { 4500 } else { 5000 }],
                    fails: i == 7,
                })
            },
            &mut Vec::new(),
            2,
            &Limits::default(),
        );
        assert!(
            matches!(&err, PipelineError::Read { payload: 7, source } if source.raw_os_error() == Some(5)),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_options_and_limits_name_their_payload() {
        let names = names(5);
        let mut jobs: Vec<Job> = (0..5)
            .map(|i| job(&names, i, 10, 4096, Compression::Zstd))
            .collect();
        jobs[3].chunking.level = 20;
        let err = failure(
            &jobs,
            |_| Ok(&b"0123456789"[..]),
            &mut Vec::new(),
            1,
            &Limits::default(),
        );
        assert!(
            matches!(
                err,
                PipelineError::Payload {
                    payload: 3,
                    source: WriteError::Invalid { .. }
                }
            ),
            "{err:?}"
        );

        let jobs: Vec<Job> = (0..5)
            .map(|i| job(&names, i, 9000, 4096, Compression::Zstd))
            .collect();
        let limits = Limits {
            max_chunks: 2,
            ..Limits::default()
        };
        let big = content(0, 9000);
        let err = failure(
            &jobs,
            |i| Ok(if i == 2 { big.as_slice() } else { &big[..8000] }),
            &mut Vec::new(),
            2,
            &limits,
        );
        assert!(
            matches!(
                err,
                PipelineError::Payload {
                    payload: 2,
                    source: WriteError::Limit(_)
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_failing_output_stops_the_pipeline_with_a_write_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let names = names(100);
        let jobs: Vec<Job> = (0..100)
            .map(|i| job(&names, i, 5000, 4096, Compression::Zstd))
            .collect();
        let data = content(0, 5000);
        let err = failure(
            &jobs,
            |_| Ok(data.as_slice()),
            &mut Full,
            2,
            &Limits::default(),
        );
        assert!(
            matches!(&err, PipelineError::Write(e) if e.raw_os_error() == Some(28)),
            "{err:?}"
        );
    }
}
