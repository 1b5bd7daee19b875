//! Checking and decoding a package's chunks on every core, with the
//! results taken back in order.
//!
//! The caller's thread reads the payload area in batches of consecutive
//! chunks (one large read each: a run of one payload's chunks, or several
//! small payloads whole, so that many small files do not cost a hand-over
//! between threads each), worker threads check each chunk's digest
//! (and, when decoding, decompress it right after its digest matched) and
//! the caller's thread hands the results out in payload and chunk order.
//! When decoding, the worker that decodes a payload whole computes its
//! content SHA-256; for a payload that spans batches a further thread
//! computes it while the caller's thread writes the same bytes out.
//!
//! What a caller observes is exactly what a sequential reader gives: the
//! same calls in the same order, and the same error, the first one in
//! payload and chunk order (a bad chunk before a truncation after it, a
//! truncation before a bad chunk that was read after it). No byte of a
//! chunk is handed out before that chunk's digest matched.
//!
//! Memory is bounded whatever the payload size, the chunk size and the
//! core count: a fixed number of batches exists (one per worker and three
//! more, fewer if they would hold more than [`IN_FLIGHT_BYTES`], at least
//! one), each holding at most [`BATCH_BYTES`] of stored bytes (and as much
//! of decoded bytes), or one chunk if a chunk is larger.
//!
//! Small payload areas are processed on the caller's thread alone, by the
//! same code minus the threads.

use crate::bases::{BaseFiles, open_base};
use crate::error::VerifyError;
use hpk_format::{
    ChunkDecoder, ChunkEntry, Digest, PayloadDescriptor, PayloadError, check_chunk, read_partial,
};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

// Fuzz builds (`cfg(fuzzing)`, which cargo-fuzz sets) use the same code
// with small sizes, so that inputs of a few chunks reach the threaded
// paths, several batches and the in-flight cap: at the real sizes they
// need 8 MiB of work per input, which makes every such execution slow.

/// Target size of a batch: its stored bytes, and its decoded bytes when
/// decoding (at least one chunk, whatever its size).
#[cfg(not(fuzzing))]
const BATCH_BYTES: usize = 2 << 20;
#[cfg(fuzzing)]
const BATCH_BYTES: usize = 16 << 10;

/// What the batches in existence may hold at most, unless one batch of a
/// single chunk holds more (a 16 MiB chunk, decoded: 32 MiB). On two cores
/// with 1 MiB chunks the pipeline needs far less (five batches: 20 MiB
/// when decoding); the cap matters on many cores and with large chunks,
/// where it trades parallelism for memory.
#[cfg(not(fuzzing))]
const IN_FLIGHT_BYTES: usize = 40 << 20;
#[cfg(fuzzing)]
const IN_FLIGHT_BYTES: usize = 64 << 10;

/// Below this much work (stored bytes, plus content bytes when decoding)
/// no thread is started.
#[cfg(not(fuzzing))]
const PARALLEL_MIN: u64 = 8 << 20;
#[cfg(fuzzing)]
const PARALLEL_MIN: u64 = 64 << 10;

/// Most worker threads, whatever the core count.
const MAX_THREADS: usize = 16;

/// How long the caller's thread waits for a result before it takes a
/// batch that no worker has picked up yet and works on it itself. Longer
/// than a woken worker needs to start on an idle core (tens of
/// microseconds), shorter than the work of one batch (about a millisecond
/// to hash 2 MiB, two to decompress it). Taking batches back at once
/// instead left the workers idle: the caller's thread, which also reads
/// and writes, ended up decompressing nearly everything itself.
const LEND_A_HAND_AFTER: Duration = Duration::from_micros(500);

/// What the workers do with each chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Check the stored bytes' digest only.
    Check,
    /// Check the digest, then decode; compute each payload's content
    /// SHA-256.
    Decode,
}

/// How to run: on the caller's thread alone, or with worker threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// One worker per core if the payload area is large enough, else none.
    Auto,
    /// Exactly this many workers (0: none), in batches of this many bytes.
    #[cfg_attr(not(test), allow(dead_code))]
    Exactly(usize, usize),
}

/// Receives the results on the caller's thread, in payload and chunk
/// order.
pub(crate) trait Consumer {
    /// Payload `payload` starts; called before any of its chunks.
    fn begin(&mut self, payload: usize) -> Result<(), VerifyError>;
    /// The next chunk of the current payload, which passed its checks:
    /// its decoded content (`Mode::Decode`) or its stored bytes
    /// (`Mode::Check`).
    fn chunk(&mut self, payload: usize, bytes: &[u8]) -> Result<(), VerifyError>;
    /// Payload `payload` ended; `content` is the SHA-256 of its decoded
    /// content (`Mode::Decode`), `None` in `Mode::Check`.
    fn end(&mut self, payload: usize, content: Option<Digest>) -> Result<(), VerifyError>;
}

/// Consecutive chunks of one payload, within a batch.
#[derive(Default)]
struct Segment {
    payload: usize,
    /// Index of the first chunk in its payload.
    first: usize,
    /// Chunks whose stored bytes were read in full.
    count: usize,
    first_of_payload: bool,
    last_of_payload: bool,
    /// Chunks, from the first, that passed their checks.
    ok: usize,
    /// Why chunk `first + ok` failed, if it did.
    error: Option<PayloadError>,
    /// The content SHA-256 of a payload wholly in this segment, computed
    /// by the worker that decoded it (`Mode::Decode`).
    digest: Option<Digest>,
}

impl Segment {
    /// Whether the whole payload is in this segment.
    fn whole(&self) -> bool {
        self.first_of_payload && self.last_of_payload
    }
}

/// Chunks read in one go: a run of chunks of one payload, or several
/// small payloads whole (so that a package of many small files costs a
/// few hand-overs between threads, not one per file).
#[derive(Default)]
struct Batch {
    /// Position in delivery order.
    seq: u64,
    /// In payload and chunk order; only the last may have stopped early.
    segments: Vec<Segment>,
    stored: Vec<u8>,
    decoded: Vec<u8>,
    /// Why reading stopped after the chunks of `segments`, if it did.
    read_error: Option<PayloadError>,
}

/// The next run of chunks to read: one payload's, or whole payloads.
struct Span {
    segments: Vec<Segment>,
    stored_len: usize,
    decoded_len: usize,
}

/// Most payloads in one batch: bounds the work of a batch in payloads
/// (each costs a consumer call or three) as the byte size bounds it in
/// bytes.
const MAX_SEGMENTS: usize = 1024;

/// Cuts the payloads into batches.
struct Planner<'a> {
    descs: &'a [PayloadDescriptor],
    indexes: &'a [Vec<ChunkEntry>],
    mode: Mode,
    batch_bytes: usize,
    payload: usize,
    next: usize,
}

fn chunk_len(desc: &PayloadDescriptor, i: usize) -> usize {
    desc.chunk_len(i as u64).unwrap_or(0) as usize
}

impl Planner<'_> {
    /// Stored and decoded bytes of payload `p`'s chunks from `first`, as
    /// many as fit in a batch beside `stored`/`decoded` bytes already
    /// there (at least one, when the batch is empty): (count, stored,
    /// decoded).
    fn fit(&self, p: usize, first: usize, stored: usize, decoded: usize) -> (usize, usize, usize) {
        let (Some(desc), Some(entries)) = (self.descs.get(p), self.indexes.get(p)) else {
            return (0, 0, 0);
        };
        let (mut count, mut s, mut d) = (0usize, 0usize, 0usize);
        for (i, entry) in entries.iter().enumerate().skip(first) {
            let more_s = entry.stored_len as usize;
            let more_d = match self.mode {
                Mode::Check => 0,
                Mode::Decode => chunk_len(desc, i),
            };
            let empty = count == 0 && stored == 0 && decoded == 0;
            if !empty
                && (stored.saturating_add(s).saturating_add(more_s) > self.batch_bytes
                    || decoded.saturating_add(d).saturating_add(more_d) > self.batch_bytes)
            {
                break;
            }
            count = count.saturating_add(1);
            s = s.saturating_add(more_s);
            d = d.saturating_add(more_d);
        }
        (count, s, d)
    }
}

impl Iterator for Planner<'_> {
    type Item = Span;

    fn next(&mut self) -> Option<Span> {
        let entries = self.indexes.get(self.payload)?;
        self.descs.get(self.payload)?;
        let first = self.next;
        let (count, stored_len, decoded_len) = self.fit(self.payload, first, 0, 0);
        let mut span = Span {
            segments: vec![Segment {
                payload: self.payload,
                first,
                count,
                first_of_payload: first == 0,
                last_of_payload: false,
                ..Segment::default()
            }],
            stored_len,
            decoded_len,
        };
        self.next = first.saturating_add(count);
        if self.next < entries.len() {
            return Some(span);
        }
        // The payload ends in this batch. If it began there too, whole
        // payloads that follow join it while they fit.
        if let Some(segment) = span.segments.last_mut() {
            segment.last_of_payload = true;
        }
        self.payload = self.payload.saturating_add(1);
        self.next = 0;
        if first != 0 {
            return Some(span);
        }
        while span.segments.len() < MAX_SEGMENTS {
            let Some(entries) = self.indexes.get(self.payload) else {
                break;
            };
            let (count, stored, decoded) =
                self.fit(self.payload, 0, span.stored_len, span.decoded_len);
            // Only a payload that fits whole; the others start a batch
            // of their own.
            if count < entries.len() || (count == 0 && !entries.is_empty()) {
                break;
            }
            span.segments.push(Segment {
                payload: self.payload,
                count,
                first_of_payload: true,
                last_of_payload: true,
                ..Segment::default()
            });
            span.stored_len = span.stored_len.saturating_add(stored);
            span.decoded_len = span.decoded_len.saturating_add(decoded);
            self.payload = self.payload.saturating_add(1);
        }
        Some(span)
    }
}

/// Resizes `buf` to `len` without growing its capacity past what is
/// needed (batches are kept and reused, so their size is their cost).
fn set_len(buf: &mut Vec<u8>, len: usize) {
    if len > buf.capacity() {
        buf.reserve_exact(len.saturating_sub(buf.len()));
    }
    buf.resize(len, 0);
}

/// Reads the stored bytes of `span` into `batch`.
fn read_batch<R: Read + ?Sized>(
    input: &mut R,
    batch: &mut Batch,
    span: Span,
    descs: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
) {
    batch.segments = span.segments;
    batch.read_error = None;
    set_len(&mut batch.stored, span.stored_len);
    let (got, error) = read_partial(input, &mut batch.stored);
    if got < span.stored_len || error.is_some() {
        // Keep the chunks read in full: a sequential reader would have
        // checked them before meeting the end of the input.
        let mut end = 0usize;
        let mut kept = 0usize;
        let mut stop = None;
        'segments: for segment in &mut batch.segments {
            let entries = indexes
                .get(segment.payload)
                .and_then(|e| e.get(segment.first..segment.first.saturating_add(segment.count)))
                .unwrap_or(&[]);
            let mut complete = 0usize;
            for entry in entries {
                let next = end.saturating_add(entry.stored_len as usize);
                if next > got {
                    segment.count = complete;
                    // The payload does not end here: its reading failed.
                    segment.last_of_payload = false;
                    stop = Some((segment.payload, segment.first.saturating_add(complete)));
                    kept = kept.saturating_add(1);
                    break 'segments;
                }
                end = next;
                complete = complete.saturating_add(1);
            }
            kept = kept.saturating_add(1);
        }
        // Everything read in full, yet an error: it belongs after the
        // last chunk of the batch.
        let (payload, chunk) = stop.unwrap_or_else(|| {
            batch
                .segments
                .last()
                .map_or((0, 0), |s| (s.payload, s.first.saturating_add(s.count)))
        });
        batch.segments.truncate(kept);
        batch.stored.truncate(end);
        let name = || {
            descs
                .get(payload)
                .map(|d| d.name.to_string())
                .unwrap_or_default()
        };
        let truncated = || PayloadError::Truncated {
            payload: name(),
            chunk: chunk as u64,
        };
        batch.read_error = Some(match error {
            Some(e) if e.kind() == io::ErrorKind::UnexpectedEof => truncated(),
            Some(e) => PayloadError::Io(e),
            None => truncated(),
        });
    }
}

/// Checks (and decodes) the chunks of `batch`, stopping at the first
/// failure; hashes the content of each payload wholly in the batch.
fn work(
    batch: &mut Batch,
    descs: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
    mut decoder: Option<&mut ChunkDecoder>,
    bases: Option<&dyn BaseFiles>,
) {
    if decoder.is_some() {
        let total = batch
            .segments
            .iter()
            .map(|seg| {
                let desc = descs.get(seg.payload);
                (seg.first..seg.first.saturating_add(seg.count))
                    .map(|i| desc.map_or(0, |d| chunk_len(d, i)))
                    .fold(0usize, usize::saturating_add)
            })
            .fold(0usize, usize::saturating_add);
        set_len(&mut batch.decoded, total);
    }
    let mut stored_at = 0usize;
    let mut decoded_at = 0usize;
    for segment in &mut batch.segments {
        segment.ok = 0;
        segment.error = None;
        segment.digest = None;
        let Some(desc) = descs.get(segment.payload) else {
            return;
        };
        let entries = indexes
            .get(segment.payload)
            .and_then(|e| e.get(segment.first..segment.first.saturating_add(segment.count)))
            .unwrap_or(&[]);
        let decoded_start = decoded_at;
        // A delta payload's base, opened once per segment (checked
        // beforehand, and covered by the content SHA-256 after).
        let base = match decoder {
            Some(_) if !entries.is_empty() => match open_base(bases, desc) {
                Ok(base) => base,
                Err(e) => {
                    segment.error = Some(e);
                    return;
                }
            },
            _ => None,
        };
        for (j, entry) in entries.iter().enumerate() {
            let i = segment.first.saturating_add(j);
            let stored_end = stored_at.saturating_add(entry.stored_len as usize);
            let stored = batch.stored.get(stored_at..stored_end).unwrap_or(&[]);
            let result = match decoder.as_deref_mut() {
                None => check_chunk(desc, i as u64, entry, stored),
                Some(d) => {
                    let end = decoded_at.saturating_add(chunk_len(desc, i));
                    let out = batch.decoded.get_mut(decoded_at..end).unwrap_or(&mut []);
                    decoded_at = end;
                    d.decode_to_slice_with_base(desc, i as u64, entry, stored, out, base.as_deref())
                }
            };
            if let Err(e) = result {
                segment.error = Some(e);
                return;
            }
            segment.ok = segment.ok.saturating_add(1);
            stored_at = stored_end;
        }
        if decoder.is_some() && segment.whole() && segment.count == entries.len() {
            let content = batch.decoded.get(decoded_start..decoded_at).unwrap_or(&[]);
            segment.digest = Some(Digest::of(content));
        }
    }
}

/// Messages to the caller's thread.
enum Event {
    /// A worker finished a batch.
    Done(Batch),
    /// The content hasher is done with a batch.
    Free(Arc<Batch>),
    /// A payload's content SHA-256.
    Digest(usize, Digest),
    /// A thread stopped unexpectedly (it panicked).
    Stopped,
}

/// Messages to the content hasher.
enum HashJob {
    Data(Arc<Batch>),
    End(usize),
}

/// The batches waiting for a worker. Unlike a channel, it lets the
/// caller's thread take a batch back and work on it itself when no worker
/// has picked it up within [`LEND_A_HAND_AFTER`] (on a busy machine a
/// woken worker may wait milliseconds for a core).
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Batch>,
    closed: bool,
}

impl Queue {
    fn push(&self, batch: Batch) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        state.jobs.push_back(batch);
        drop(state);
        self.ready.notify_one();
        true
    }

    /// The oldest waiting batch, if any.
    fn try_pop(&self) -> Option<Batch> {
        self.state.lock().ok()?.jobs.pop_front()
    }

    /// The oldest waiting batch, waiting for one; `None` once closed
    /// (what is left then is never needed).
    fn pop_wait(&self) -> Option<Batch> {
        let mut state = self.state.lock().ok()?;
        loop {
            if state.closed {
                return None;
            }
            if let Some(batch) = state.jobs.pop_front() {
                return Some(batch);
            }
            state = self.ready.wait(state).ok()?;
        }
    }

    fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
        }
        self.ready.notify_all();
    }
}

/// Closes the queue when the caller's thread is done, however it ends,
/// so that the workers stop.
struct CloseOnDrop<'a>(&'a Queue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Tells the caller's thread when a thread unwinds, so that it never
/// waits for a result that will not come.
struct StopGuard<'a>(&'a Sender<Event>);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Event::Stopped);
        }
    }
}

fn worker(
    bases: Option<&dyn BaseFiles>,
    jobs: &Queue,
    events: &Sender<Event>,
    descs: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
    mut decoder: Option<ChunkDecoder>,
) {
    let _guard = StopGuard(events);
    while let Some(mut batch) = jobs.pop_wait() {
        work(&mut batch, descs, indexes, decoder.as_mut(), bases);
        if events.send(Event::Done(batch)).is_err() {
            return;
        }
    }
}

fn hasher(jobs: &Receiver<HashJob>, events: &Sender<Event>) {
    let _guard = StopGuard(events);
    let mut content = Sha256::new();
    for job in jobs.iter() {
        let event = match job {
            HashJob::Data(batch) => {
                content.update(&batch.decoded);
                Event::Free(batch)
            }
            HashJob::End(payload) => {
                Event::Digest(payload, Digest(content.finalize_reset().into()))
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// How the work is carried out.
enum Exec<'a> {
    /// On the caller's thread.
    Inline {
        decoder: Option<ChunkDecoder>,
        content: Sha256,
        done: Vec<Batch>,
    },
    /// By worker threads, with the caller's thread lending a hand.
    Threads {
        jobs: &'a Queue,
        hash: Option<Sender<HashJob>>,
        events: &'a Receiver<Event>,
        decoder: Option<ChunkDecoder>,
    },
}

/// Reads the payload area from `input` (positioned at its start), checks
/// (and decodes) every chunk and hands the results to `consumer` in
/// order. Stops at the first error in payload and chunk order, or the
/// first error of the consumer. Leaves `input` after the last chunk when
/// everything passed.
///
/// In `Mode::Decode`, delta payloads are rebuilt from their bases in
/// `bases` (opened by each worker that needs one); the caller has checked
/// them beforehand.
pub(crate) fn run<R: Read + ?Sized>(
    input: &mut R,
    descs: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
    mode: Mode,
    threads: Threads,
    bases: Option<&dyn BaseFiles>,
    consumer: &mut dyn Consumer,
) -> Result<(), VerifyError> {
    let work_bytes: u64 = descs
        .iter()
        .map(|d| match mode {
            Mode::Check => d.stored_size,
            Mode::Decode => d.stored_size.saturating_add(d.size),
        })
        .fold(0, u64::saturating_add);
    let (threads, batch_bytes) = match threads {
        Threads::Exactly(n, batch) => (n.min(MAX_THREADS), batch),
        Threads::Auto if work_bytes < PARALLEL_MIN => (0, BATCH_BYTES),
        Threads::Auto => (
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, MAX_THREADS),
            BATCH_BYTES,
        ),
    };
    let new_decoder = || -> Result<Option<ChunkDecoder>, VerifyError> {
        Ok(match mode {
            Mode::Check => None,
            Mode::Decode => Some(ChunkDecoder::new()?),
        })
    };
    if threads == 0 {
        let mut exec = Exec::Inline {
            decoder: new_decoder()?,
            content: Sha256::new(),
            done: Vec::new(),
        };
        return drive(
            input,
            descs,
            indexes,
            mode,
            batch_bytes,
            1,
            bases,
            &mut exec,
            consumer,
        );
    }
    let decoders = (0..threads)
        .map(|_| new_decoder())
        .collect::<Result<Vec<_>, _>>()?;
    let own_decoder = new_decoder()?;
    let queue = Queue::default();
    let (event_tx, event_rx) = channel::<Event>();
    std::thread::scope(|scope| {
        // Declared first, dropped last: the workers stop even when the
        // caller's thread returns early with an error.
        let _close = CloseOnDrop(&queue);
        for decoder in decoders {
            let events = event_tx.clone();
            let jobs = &queue;
            scope.spawn(move || worker(bases, jobs, &events, descs, indexes, decoder));
        }
        let hash = match mode {
            Mode::Check => None,
            Mode::Decode => {
                let (hash_tx, hash_rx) = channel::<HashJob>();
                let events = event_tx.clone();
                scope.spawn(move || hasher(&hash_rx, &events));
                Some(hash_tx)
            }
        };
        // Only the threads hold senders of events: if they all stop, the
        // caller's thread stops waiting.
        drop(event_tx);
        let mut exec = Exec::Threads {
            jobs: &queue,
            hash,
            events: &event_rx,
            decoder: own_decoder,
        };
        // Batches in existence: one being read, one per worker, two on
        // their way out (hashed and written), one waiting for its turn;
        // fewer when chunks are so large that this would hold more than
        // IN_FLIGHT_BYTES (one batch at a time, at worst: slower, but
        // within the bound).
        let largest_chunk = descs
            .iter()
            .map(|d| d.chunk_size as usize)
            .max()
            .unwrap_or(0);
        let per_batch = batch_bytes
            .max(largest_chunk)
            .saturating_mul(if mode == Mode::Decode { 2 } else { 1 });
        let slots = threads
            .saturating_add(3)
            .min(IN_FLIGHT_BYTES.checked_div(per_batch).unwrap_or(0))
            .max(1);
        drive(
            input,
            descs,
            indexes,
            mode,
            batch_bytes,
            slots,
            bases,
            &mut exec,
            consumer,
        )
        // Dropping `exec` and `_close` closes the hash and job queues: the
        // threads finish what they hold and stop.
    })
}

fn stopped() -> VerifyError {
    VerifyError::Payload(PayloadError::Io(io::Error::other(
        "a payload verification thread stopped",
    )))
}

/// The loop of the caller's thread: read, dispatch, deliver in order.
#[allow(clippy::too_many_arguments)]
fn drive<R: Read + ?Sized>(
    input: &mut R,
    descs: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
    mode: Mode,
    batch_bytes: usize,
    slots: usize,
    bases: Option<&dyn BaseFiles>,
    exec: &mut Exec<'_>,
    consumer: &mut dyn Consumer,
) -> Result<(), VerifyError> {
    let mut planner = Planner {
        descs,
        indexes,
        mode,
        batch_bytes,
        payload: 0,
        next: 0,
    }
    .peekable();
    let mut free: Vec<Batch> = (0..slots.max(1)).map(|_| Batch::default()).collect();
    let mut pending: BTreeMap<u64, Batch> = BTreeMap::new();
    let mut read_seq = 0u64;
    let mut deliver_seq = 0u64;
    let mut input_failed = false;
    // The payload whose content digest is on its way from the hasher:
    // nothing more is delivered until it is there.
    let mut awaiting: Option<usize> = None;
    loop {
        // Deliver what is ready, in order.
        while awaiting.is_none() {
            let Some(batch) = pending.remove(&deliver_seq) else {
                break;
            };
            deliver_seq = deliver_seq.saturating_add(1);
            if let Some(batch) =
                deliver(batch, descs, indexes, mode, exec, consumer, &mut awaiting)?
            {
                free.push(batch);
            }
        }
        if awaiting.is_none()
            && pending.is_empty()
            && deliver_seq == read_seq
            && (input_failed || planner.peek().is_none())
        {
            return Ok(());
        }
        // Read and dispatch while there is room.
        let mut dispatched = false;
        while !input_failed {
            if free.is_empty() || planner.peek().is_none() {
                break;
            }
            let (Some(mut batch), Some(span)) = (free.pop(), planner.next()) else {
                break;
            };
            read_batch(input, &mut batch, span, descs, indexes);
            input_failed = batch.read_error.is_some();
            batch.seq = read_seq;
            read_seq = read_seq.saturating_add(1);
            dispatched = true;
            match exec {
                Exec::Inline { decoder, done, .. } => {
                    work(&mut batch, descs, indexes, decoder.as_mut(), bases);
                    done.push(batch);
                    // Deliver at once: one batch at a time.
                    break;
                }
                Exec::Threads { jobs, .. } => {
                    if !jobs.push(batch) {
                        return Err(stopped());
                    }
                }
            }
        }
        // Wait for results.
        match exec {
            Exec::Inline { done, .. } => {
                if done.is_empty() && !dispatched {
                    // Nothing to deliver, read or wait for: cannot happen.
                    return Err(stopped());
                }
                for batch in done.drain(..) {
                    pending.insert(batch.seq, batch);
                }
            }
            Exec::Threads {
                events,
                jobs,
                decoder,
                ..
            } => {
                if awaiting.is_none() && pending.contains_key(&deliver_seq) {
                    continue;
                }
                let event = match events.recv_timeout(LEND_A_HAND_AFTER) {
                    Ok(event) => event,
                    // No result yet: rather than wait longer, work on the
                    // oldest batch no worker has taken.
                    Err(RecvTimeoutError::Timeout) => {
                        if let Some(mut batch) = jobs.try_pop() {
                            work(&mut batch, descs, indexes, decoder.as_mut(), bases);
                            pending.insert(batch.seq, batch);
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return Err(stopped()),
                };
                match event {
                    Event::Done(batch) => {
                        pending.insert(batch.seq, batch);
                    }
                    Event::Free(batch) => {
                        free.push(Arc::try_unwrap(batch).unwrap_or_default());
                    }
                    Event::Digest(payload, digest) => {
                        if awaiting != Some(payload) {
                            return Err(stopped());
                        }
                        awaiting = None;
                        consumer.end(payload, Some(digest))?;
                    }
                    Event::Stopped => return Err(stopped()),
                }
            }
        }
    }
}

/// Hands one batch to the consumer. Returns the batch if it can be
/// reused at once (else the content hasher gives it back).
fn deliver(
    mut batch: Batch,
    descs: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
    mode: Mode,
    exec: &mut Exec<'_>,
    consumer: &mut dyn Consumer,
    awaiting: &mut Option<usize>,
) -> Result<Option<Batch>, VerifyError> {
    // A bad chunk comes before the end of the input that followed it.
    let failure = batch
        .segments
        .iter_mut()
        .find_map(|s| s.error.take())
        .or_else(|| batch.read_error.take());
    // Content the hasher must see: a payload that spans batches. (Only a
    // batch of one payload's chunks has such a segment.)
    let streamed = mode == Mode::Decode && batch.segments.iter().any(|s| !s.whole());
    let batch = match exec {
        Exec::Threads { hash: Some(h), .. } if failure.is_none() && streamed => {
            // The content hasher reads the batch while it is written out,
            // then gives it back.
            let shared = Arc::new(batch);
            if h.send(HashJob::Data(Arc::clone(&shared))).is_err() {
                return Err(stopped());
            }
            hand_out(&shared, descs, indexes, mode, consumer)?;
            let last = shared.segments.last();
            if let Some(p) = last.filter(|s| s.last_of_payload).map(|s| s.payload) {
                if h.send(HashJob::End(p)).is_err() {
                    return Err(stopped());
                }
                *awaiting = Some(p);
            }
            return Ok(None);
        }
        Exec::Inline { content, .. } => {
            if streamed && failure.is_none() {
                content.update(&batch.decoded);
            }
            batch
        }
        Exec::Threads { .. } => batch,
    };
    hand_out(&batch, descs, indexes, mode, consumer)?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    if let Exec::Inline { content, .. } = exec
        && streamed
        && let Some(p) = batch.segments.last().filter(|s| s.last_of_payload)
    {
        consumer.end(p.payload, Some(Digest(content.finalize_reset().into())))?;
    }
    Ok(Some(batch))
}

/// Passes the batch's good chunks to the consumer, one by one, each
/// payload's between its `begin` and (when the payload ends in the batch
/// and its content digest is known here) its `end`.
fn hand_out(
    batch: &Batch,
    descs: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
    mode: Mode,
    consumer: &mut dyn Consumer,
) -> Result<(), VerifyError> {
    let mut at = 0usize;
    for segment in &batch.segments {
        let p = segment.payload;
        if segment.first_of_payload {
            consumer.begin(p)?;
        }
        let desc = descs.get(p);
        let entries = indexes
            .get(p)
            .and_then(|e| e.get(segment.first..segment.first.saturating_add(segment.ok)))
            .unwrap_or(&[]);
        for (j, entry) in entries.iter().enumerate() {
            let (buf, len) = match mode {
                Mode::Check => (&batch.stored, entry.stored_len as usize),
                Mode::Decode => (
                    &batch.decoded,
                    desc.map_or(0, |d| chunk_len(d, segment.first.saturating_add(j))),
                ),
            };
            let end = at.saturating_add(len);
            consumer.chunk(p, buf.get(at..end).unwrap_or(&[]))?;
            at = end;
        }
        if segment.ok < segment.count || !segment.last_of_payload {
            // Failed here, or the payload goes on in the next batch.
            return Ok(());
        }
        match mode {
            Mode::Check => consumer.end(p, None)?,
            // Hashed by the worker; otherwise the caller ends it.
            Mode::Decode => {
                if let Some(digest) = segment.digest {
                    consumer.end(p, Some(digest))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The parallel engine against a sequential reference (the code it
    //! replaced): same consumer calls, same error, for every thread count
    //! and batch size, on damaged, truncated and failing inputs.
    use super::*;
    use hpk_format::{
        ChunkEncoding, Compression, Limits, MIN_CHUNK_SIZE, PayloadName, PayloadReader,
        parse_chunk_index,
    };
    use hpk_sign::{ChunkingOptions, write_payload};

    const CS: usize = MIN_CHUNK_SIZE as usize;

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }

    fn text(len: usize, seed: u64) -> Vec<u8> {
        let words = ["alpha ", "beta ", "gamma ", "delta ", "kernel ", "driver "];
        let mut out = Vec::with_capacity(len + 8);
        let mut n = seed;
        while out.len() < len {
            n = n.wrapping_mul(31).wrapping_add(7);
            out.extend_from_slice(words[(n % 6) as usize].as_bytes());
        }
        out.truncate(len);
        out
    }

    #[derive(Clone)]
    struct Fixture {
        descs: Vec<PayloadDescriptor>,
        indexes: Vec<Vec<ChunkEntry>>,
        stored: Vec<u8>,
    }

    fn write(
        name: &str,
        data: &[u8],
        compression: Compression,
    ) -> (PayloadDescriptor, Vec<ChunkEntry>, Vec<u8>) {
        let mut stored = Vec::new();
        let options = ChunkingOptions {
            chunk_size: MIN_CHUNK_SIZE,
            compression,
            level: 3,
            threads: 1,
        };
        let written = write_payload(
            PayloadName::new(name).unwrap(),
            data,
            &mut stored,
            &options,
            &Limits::default(),
            &mut |_| {},
        )
        .unwrap();
        let entries = parse_chunk_index(&written.index, &written.descriptor).unwrap();
        (written.descriptor, entries, stored)
    }

    fn fixture() -> Fixture {
        let payloads = [
            ("a/empty", Vec::new(), Compression::Zstd),
            ("b/text", text(25 * CS, 1), Compression::Zstd),
            ("c/raw", noise(7 * CS + 100, 2), Compression::None),
            (
                "d/mixed",
                [text(5 * CS, 3), noise(2 * CS, 4), text(CS / 2, 5)].concat(),
                Compression::Zstd,
            ),
            ("e/empty", Vec::new(), Compression::None),
            ("f/one", text(100, 6), Compression::Zstd),
        ];
        let mut f = Fixture {
            descs: Vec::new(),
            indexes: Vec::new(),
            stored: Vec::new(),
        };
        for (name, data, compression) in payloads {
            let (desc, entries, stored) = write(name, &data, compression);
            f.descs.push(desc);
            f.indexes.push(entries);
            f.stored.extend_from_slice(&stored);
        }
        f
    }

    /// Records every call; fails with an I/O error at call `fail_at`.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        fail_at: Option<usize>,
        expected: Vec<(String, Digest)>,
    }

    impl Recorder {
        fn call(&mut self, what: String) -> Result<(), VerifyError> {
            if self.fail_at == Some(self.calls.len()) {
                return Err(
                    PayloadError::Io(io::Error::other(format!("sink failed at {what}"))).into(),
                );
            }
            self.calls.push(what);
            Ok(())
        }
    }

    impl Consumer for Recorder {
        fn begin(&mut self, payload: usize) -> Result<(), VerifyError> {
            self.call(format!("begin {payload}"))
        }
        fn chunk(&mut self, payload: usize, bytes: &[u8]) -> Result<(), VerifyError> {
            self.call(format!(
                "chunk {payload} {} {}",
                bytes.len(),
                Digest::of(bytes)
            ))
        }
        fn end(&mut self, payload: usize, content: Option<Digest>) -> Result<(), VerifyError> {
            if let (Some(d), Some((name, expected))) = (content, self.expected.get(payload))
                && d != *expected
            {
                return Err(PayloadError::ContentDigest {
                    payload: name.clone(),
                }
                .into());
            }
            self.call(format!("end {payload}"))
        }
    }

    fn map_read(e: io::Error, desc: &PayloadDescriptor, chunk: usize) -> PayloadError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => PayloadError::Truncated {
                payload: desc.name.to_string(),
                chunk: chunk as u64,
            },
            _ => PayloadError::Io(e),
        }
    }

    /// The sequential algorithm the engine replaced.
    fn reference(
        input: &mut dyn Read,
        f: &Fixture,
        mode: Mode,
        consumer: &mut Recorder,
    ) -> Result<(), VerifyError> {
        for (p, (desc, entries)) in f.descs.iter().zip(&f.indexes).enumerate() {
            consumer.begin(p)?;
            match mode {
                Mode::Check => {
                    let mut buf = Vec::new();
                    for (i, entry) in entries.iter().enumerate() {
                        buf.resize(entry.stored_len as usize, 0);
                        input
                            .read_exact(&mut buf)
                            .map_err(|e| map_read(e, desc, i))?;
                        check_chunk(desc, i as u64, entry, &buf)?;
                        consumer.chunk(p, &buf)?;
                    }
                    consumer.end(p, None)?;
                }
                Mode::Decode => {
                    // PayloadReader checks the content digest itself; the
                    // recorder expects what the descriptor says.
                    let mut reader = PayloadReader::new(desc, entries, &mut *input)?;
                    while let Some(chunk) = reader.next_chunk()? {
                        consumer.chunk(p, chunk)?;
                    }
                    consumer.end(p, Some(desc.content_digest))?;
                }
            }
        }
        Ok(())
    }

    /// Reads a byte slice a few bytes at a time, failing at `fail_at`.
    struct Awkward<'a> {
        data: &'a [u8],
        at: usize,
        step: usize,
        fail_at: Option<usize>,
    }

    impl Read for Awkward<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if let Some(f) = self.fail_at
                && self.at >= f
            {
                return Err(io::Error::other("disk on fire"));
            }
            self.step = self.step % 7 + 1;
            if self.step == 3 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let mut n = buf
                .len()
                .min(self.data.len() - self.at)
                .min(self.step * 997);
            if let Some(f) = self.fail_at {
                n = n.min(f - self.at);
            }
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    struct Case {
        f: Fixture,
        input: Vec<u8>,
        fail_read_at: Option<usize>,
        fail_sink_at: Option<usize>,
    }

    fn outcome(r: Result<(), VerifyError>, rec: Recorder, rest: &[u8]) -> (Vec<String>, String) {
        let result = match r {
            Ok(()) => format!("ok, {} bytes left", rest.len()),
            Err(e) => format!("error: {e:?}"),
        };
        (rec.calls, result)
    }

    // Large batches take several whole payloads each (the fixture's
    // payloads are small), small ones split payloads.
    const SETTINGS: [Threads; 9] = [
        Threads::Exactly(0, BATCH_BYTES),
        Threads::Exactly(0, 64 * CS),
        Threads::Exactly(2, 64 * CS),
        Threads::Exactly(0, 1),
        Threads::Exactly(1, 3 * CS),
        Threads::Exactly(2, 1),
        Threads::Exactly(2, 5 * CS),
        Threads::Exactly(3, 2 * CS + 1),
        Threads::Auto,
    ];

    fn compare(case: &Case) {
        for mode in [Mode::Check, Mode::Decode] {
            let recorder = || Recorder {
                fail_at: case.fail_sink_at,
                expected: case
                    .f
                    .descs
                    .iter()
                    .map(|d| (d.name.to_string(), d.content_digest))
                    .collect(),
                ..Recorder::default()
            };
            let expected = {
                let mut rec = recorder();
                let mut input = Awkward {
                    data: &case.input,
                    at: 0,
                    step: 0,
                    fail_at: case.fail_read_at,
                };
                let r = reference(&mut input, &case.f, mode, &mut rec);
                let at = input.at;
                outcome(r, rec, &case.input[at..])
            };
            for threads in SETTINGS {
                let mut rec = recorder();
                let mut input = Awkward {
                    data: &case.input,
                    at: 0,
                    step: 0,
                    fail_at: case.fail_read_at,
                };
                let r = run(
                    &mut input,
                    &case.f.descs,
                    &case.f.indexes,
                    mode,
                    threads,
                    None,
                    &mut rec,
                );
                let at = input.at;
                let got = outcome(r, rec, &case.input[at..]);
                assert_eq!(got, expected, "{mode:?} with {threads:?}");
            }
        }
    }

    fn case(f: &Fixture, input: Vec<u8>) -> Case {
        Case {
            f: f.clone(),
            input,
            fail_read_at: None,
            fail_sink_at: None,
        }
    }

    /// Offsets where things break most easily: around every chunk start.
    fn interesting_offsets(f: &Fixture) -> Vec<usize> {
        let mut offsets = vec![0];
        let mut at = 0usize;
        for entries in &f.indexes {
            for e in entries {
                at += e.stored_len as usize;
                offsets.extend([at.saturating_sub(1), at, at + 1]);
            }
        }
        offsets.retain(|&o| o <= f.stored.len());
        offsets.sort_unstable();
        offsets.dedup();
        offsets
    }

    #[test]
    fn an_intact_payload_area_gives_the_same_calls() {
        let f = fixture();
        let mut input = f.stored.clone();
        compare(&case(&f, input.clone()));
        // Bytes after the payload area are left for the caller.
        input.extend_from_slice(b"trailing");
        compare(&case(&f, input));
    }

    #[test]
    fn a_flipped_bit_anywhere_gives_the_same_error_after_the_same_calls() {
        let f = fixture();
        for offset in interesting_offsets(&f) {
            if offset >= f.stored.len() {
                continue;
            }
            let mut input = f.stored.clone();
            input[offset] ^= 0x10;
            compare(&case(&f, input));
        }
    }

    #[test]
    fn a_truncation_anywhere_gives_the_same_error_after_the_same_calls() {
        let f = fixture();
        for len in interesting_offsets(&f) {
            compare(&case(&f, f.stored[..len].to_vec()));
        }
    }

    #[test]
    fn a_read_error_anywhere_gives_the_same_error_after_the_same_calls() {
        let f = fixture();
        for at in interesting_offsets(&f) {
            let mut c = case(&f, f.stored.clone());
            c.fail_read_at = Some(at);
            compare(&c);
        }
    }

    #[test]
    fn a_failing_consumer_stops_everything_at_the_same_call() {
        let f = fixture();
        let calls = f.indexes.iter().map(|e| e.len() + 2).sum::<usize>();
        for fail_at in 0..=calls {
            let mut c = case(&f, f.stored.clone());
            c.fail_sink_at = Some(fail_at);
            compare(&c);
        }
    }

    #[test]
    fn a_bad_chunk_before_a_truncation_or_read_error_is_reported_first() {
        let f = fixture();
        let starts: Vec<usize> = interesting_offsets(&f).into_iter().step_by(3).collect();
        for pair in starts.windows(3) {
            // A bit flipped in one chunk, the input cut or failing in the
            // chunk after it (often in the same batch), or two further on.
            let flip = pair[0];
            if flip >= f.stored.len() {
                continue;
            }
            for cut in [pair[1] + 1, pair[2] + 1] {
                let mut input = f.stored.clone();
                input[flip] ^= 1;
                let mut c = case(&f, input.clone());
                c.fail_read_at = Some(cut);
                compare(&c);
                input.truncate(cut.min(input.len()));
                compare(&case(&f, input));
            }
        }
    }

    #[test]
    fn a_wrong_content_digest_is_reported_at_the_end_of_its_payload() {
        for p in 0..6 {
            let mut f = fixture();
            f.descs[p].content_digest.0[0] ^= 1;
            let input = f.stored.clone();
            compare(&case(&f, input));
        }
    }

    #[test]
    fn a_chunk_of_the_wrong_size_is_reported_in_order() {
        // Chunk 3 of payload 3 becomes an authentic zstd frame one byte
        // short of the chunk's length.
        let mut f = fixture();
        let (_, short_entries, short) = write("x", &text(CS - 1, 9), Compression::Zstd);
        assert_eq!(short_entries[0].encoding, ChunkEncoding::Zstd);
        let before: usize = f.indexes[..3]
            .iter()
            .flatten()
            .chain(&f.indexes[3][..3])
            .map(|e| e.stored_len as usize)
            .fold(0usize, usize::saturating_add);
        let old = f.indexes[3][3].stored_len as usize;
        f.stored.splice(before..before + old, short.iter().copied());
        f.indexes[3][3] = short_entries[0];
        let input = f.stored.clone();
        compare(&case(&f, input));
    }
}
