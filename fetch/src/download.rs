//! Downloading one package for a catalog entry: the head first, judged by
//! the policy before any payload byte is asked for; then the payload area
//! by byte ranges, each chunk checked against its signed SHA-256 before a
//! byte of it is written; resumable from whatever verified bytes an
//! earlier run left (SPEC.md, "Fetching").
//!
//! The file being downloaded is `.<digest>.hpk.part` next to the final
//! `<digest>.hpk`. It only ever holds verified bytes, in package order
//! from the start, but may end in the middle of a chunk (or, after a
//! power cut, in bytes never written): a new run checks what it holds
//! again, chunk by chunk, keeps the verified prefix, and fetches the
//! rest.

use crate::error::{FetchError, MirrorFailure, MirrorProblem};
use crate::pipeline::{BATCH_BYTES, BATCHES, Batch, PIPELINE_MIN, Pipeline};
use crate::seed::Seeds;
use crate::transport::{Http, RangeReader};
use hpk_verify::{
    CatalogEntry, ChunkEntry, Depth, DeviceProfile, Digest, DirectWriter, ErrorClass,
    FetchError as HeadError, Manifest, Verified, Verifier, VerifyError, sync_dir,
};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The first piece of the head asked for; each next one is twice as
/// large, up to [`MAX_HEAD_PIECE`]. Most heads fit in the first.
const FIRST_HEAD_PIECE: u64 = 64 << 10;
const MAX_HEAD_PIECE: u64 = 8 << 20;
/// The most payload bytes one range request asks for (rounded up to the
/// end of a chunk): small enough that a mirror that fails midway costs
/// little, large enough that requests cost nothing.
const PAYLOAD_PIECE: u64 = 64 << 20;
/// Buffer for reading back what an earlier run left in the `.part` file.
const READ_BUFFER: usize = 1 << 20;

/// A package on disk, fetched and verified to stored depth.
#[derive(Debug)]
pub struct Downloaded {
    /// The package file (`DIR/<manifest digest>.hpk`).
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// Bytes kept from an earlier, interrupted run (or the whole file if
    /// it was already there).
    pub kept: u64,
    /// Bytes received from mirrors in this run and kept: the head (when
    /// the `.part` file had none) and each chunk that verified. A chunk
    /// cut short or refused is not counted.
    pub received: u64,
    /// Bytes rebuilt from the device's own files (seeds) in this run and
    /// kept: chunks that matched their digests and were not fetched.
    pub rebuilt: u64,
    /// The base URLs of the mirrors that served bytes in this run (bytes
    /// from a mirror that failed later are kept if they verified).
    pub mirrors: Vec<String>,
    /// The mirrors dropped on the way, and why.
    pub skipped: Vec<MirrorFailure>,
    /// The package's authenticated manifest.
    pub manifest: Verified<Manifest>,
}

/// What a download reports as it goes: bytes of the package that are
/// verified and written (kept ones included), of `total`.
pub type Progress<'a> = dyn FnMut(u64, u64) + 'a;

/// One package, from a list of URLs (one per mirror).
pub(crate) struct PackageDownload<'a> {
    pub(crate) http: &'a Http,
    pub(crate) verifier: &'a Verifier,
    pub(crate) device: &'a DeviceProfile,
    pub(crate) entry: &'a CatalogEntry,
    /// (mirror base, package URL), in the order to try them.
    pub(crate) urls: Vec<(String, String)>,
    /// The device's files by payload name, to rebuild chunks from, and
    /// the zstd level to compress them at (HF9).
    pub(crate) seeds: Option<(&'a Path, i32)>,
}

/// The verified head of the package and where its payload area starts.
struct Head {
    bytes: Vec<u8>,
    /// Bytes received after the head with it (unverified): the start of
    /// the payload area, checked chunk by chunk like any other.
    spill: Vec<u8>,
    indexes: Vec<Vec<ChunkEntry>>,
    /// Payload names, for messages.
    names: Vec<String>,
    manifest: Verified<Manifest>,
}

/// Why a step failed: a mirror (try the next) or this machine (stop).
enum Failed {
    Mirror(MirrorProblem),
    Local(FetchError),
}

impl<'a> PackageDownload<'a> {
    fn what(&self) -> String {
        format!("package {} {}", self.entry.name, self.entry.version)
    }

    fn first_url(&self) -> String {
        self.urls
            .first()
            .map(|(_, u)| u.clone())
            .unwrap_or_default()
    }

    /// Downloads into `dir`, which must exist.
    pub(crate) fn run(
        &self,
        dir: &Path,
        progress: &mut Progress<'_>,
    ) -> Result<Downloaded, FetchError> {
        let name = format!("{}.hpk", self.entry.manifest_digest);
        let final_path = dir.join(&name);
        let part_path = dir.join(format!(".{name}.part"));
        let total = self.entry.size;
        if let Some(done) = self.already_there(&final_path)? {
            progress(total, total);
            return Ok(done);
        }
        let mut part = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&part_path)
            .map_err(|e| FetchError::io(&part_path, e))?;
        lock(&part, &part_path)?;
        let mut mirrors_used = Vec::new();
        let mut failures = Vec::new();
        // The first mirror asked for chunks: one that served a head that
        // does not verify is not asked for them.
        let mut mirror = 0usize;
        // The head counts as kept if it came from the .part file, as
        // received if it came from a mirror.
        let mut fetched_head = 0u64;
        // The head: from the .part file if it holds a good one, else from
        // the mirrors, in order.
        let head = match self.head_from_part(&mut part, &part_path)? {
            Some(head) => head,
            None => {
                let (head, from) = self.head_from_mirrors(&mut failures)?;
                fetched_head = head.bytes.len() as u64;
                mirror = from;
                if let Some((base, _)) = self.urls.get(from) {
                    mirrors_used.push(base.clone());
                }
                part.set_len(0)
                    .and_then(|()| part.seek(SeekFrom::Start(0)).map(drop))
                    .and_then(|()| part.write_all(&head.bytes))
                    .map_err(|e| FetchError::io(&part_path, e))?;
                head
            }
        };
        // The chunks an earlier run left: kept if they verify, up to the
        // first that does not.
        let mut cursor = Cursor::start(head.bytes.len() as u64);
        let kept = self
            .keep_verified(&mut part, &part_path, &head, &mut cursor)?
            .saturating_sub(fetched_head);
        let mut received = fetched_head;
        part.set_len(cursor.offset)
            .and_then(|()| part.seek(SeekFrom::Start(cursor.offset)).map(drop))
            .map_err(|e| FetchError::io(&part_path, e))?;
        // The whole chunks that came with the head, if they verify.
        let mut spill = head.spill.as_slice();
        while let Some(entry) = cursor.entry(&head.indexes) {
            let Some((chunk, rest)) = spill.split_at_checked(entry.stored_len as usize) else {
                break;
            };
            if Digest::of(chunk) != entry.digest {
                break;
            }
            part.write_all(chunk)
                .map_err(|e| FetchError::io(&part_path, e))?;
            spill = rest;
            cursor.advance(&head.indexes);
            received = received.saturating_add(chunk.len() as u64);
        }
        progress(cursor.offset, total);
        // Verified chunks go to the disk directly where they can (the page
        // cache copy cost as much as hashing them).
        let mut writer = DirectWriter::new(&part, &part_path, cursor.offset);
        // The rest: from seeds where they serve, else mirror by mirror.
        let mut seeds = self
            .seeds
            .map(|(root, level)| Seeds::new(root, level, &head.manifest.payloads));
        let mut rebuilt = 0u64;
        let mut attempt = 0u32;
        while !cursor.done(&head.indexes) {
            if let Some(seeds) = seeds.as_mut()
                && seeds.usable(cursor.payload)
            {
                let before = cursor.offset;
                let end = cursor.payload_end(&head.indexes);
                let mut out = PartFile {
                    file: &mut part,
                    path: &part_path,
                    writer: &mut writer,
                };
                let result = self.transfer(seeds, &head, &mut cursor, end, &mut out, progress);
                rebuilt = rebuilt.saturating_add(cursor.offset.saturating_sub(before));
                match result {
                    Ok(()) => {}
                    Err(Failed::Local(e)) => return Err(e),
                    // The rest of this payload comes from the mirrors.
                    Err(Failed::Mirror(_)) => seeds.give_up(cursor.payload),
                }
                continue;
            }
            let Some((base, url)) = self.urls.get(mirror) else {
                // What verified stays for the next run.
                let _ = writer.flush(&mut part);
                return Err(FetchError::Mirrors {
                    what: self.what(),
                    failures,
                });
            };
            let before = cursor.offset;
            let mut out = PartFile {
                file: &mut part,
                path: &part_path,
                writer: &mut writer,
            };
            // A range ends before the next payload a seed may rebuild.
            let end = cursor.piece_end(&head.indexes, PAYLOAD_PIECE, |p| {
                seeds.as_mut().is_some_and(|s| s.usable(p))
            });
            let result = self.fetch_piece(url, &head, &mut cursor, end, &mut out, progress);
            let got = cursor.offset.saturating_sub(before);
            received = received.saturating_add(got);
            if got > 0 && !mirrors_used.contains(base) {
                mirrors_used.push(base.clone());
            }
            match result {
                Ok(()) => attempt = 0,
                Err(Failed::Local(e)) => return Err(e),
                Err(Failed::Mirror(problem)) => {
                    // Only a whole range resets the count: a mirror that
                    // stalls or drops every time, a little further each
                    // time, is dropped all the same.
                    attempt = attempt.saturating_add(1);
                    if self.ask_again(attempt, problem, url, &mut failures) {
                        continue;
                    }
                    mirror = mirror.saturating_add(1);
                    attempt = 0;
                }
            }
        }
        writer
            .flush(&mut part)
            .map_err(|e| FetchError::io(&part_path, e))?;
        // VP14: the payload area ends where the header says the file does.
        if cursor.offset != total {
            return Err(FetchError::Mirrors {
                what: self.what(),
                failures: vec![MirrorFailure {
                    url: self.first_url(),
                    problem: MirrorProblem::Invalid(format!(
                        "the chunks end at byte {}, the catalog entry says the package has {total}",
                        cursor.offset
                    )),
                }],
            });
        }
        part.sync_all().map_err(|e| FetchError::io(&part_path, e))?;
        // Renamed while still open and locked: no other fetch can take
        // the .part file between the flush and the rename.
        fs::rename(&part_path, &final_path).map_err(|e| FetchError::io(&final_path, e))?;
        drop(part);
        sync_dir(dir);
        Ok(Downloaded {
            path: final_path,
            size: total,
            kept,
            received,
            rebuilt,
            mirrors: mirrors_used,
            skipped: failures,
            manifest: head.manifest,
        })
    }

    /// After attempt number `attempt` at `url` failed with `problem`:
    /// `true`, after a pause, to ask the same mirror again (a transient
    /// failure, attempts left); else `false`, with the failure recorded.
    fn ask_again(
        &self,
        attempt: u32,
        problem: MirrorProblem,
        url: &str,
        failures: &mut Vec<MirrorFailure>,
    ) -> bool {
        if problem.transient() && attempt < self.http.options.attempts {
            self.http.options.pause_after(attempt);
            return true;
        }
        failures.push(MirrorFailure {
            url: url.to_owned(),
            problem,
        });
        false
    }

    /// A package already fetched: verified again to stored depth (it may
    /// have been damaged since); `None` (and the file removed) if it does
    /// not verify, a policy refusal stops.
    fn already_there(&self, path: &Path) -> Result<Option<Downloaded>, FetchError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(FetchError::io(path, e)),
        };
        let checked = self.verifier.fetched(self.entry, file).and_then(|p| {
            p.judge(self.device)
                .map_err(VerifyError::from)
                .and_then(|p| p.verify(Depth::Stored))
                .map_err(HeadError::Verify)
        });
        match checked {
            Ok(manifest) => Ok(Some(Downloaded {
                path: path.to_path_buf(),
                size: self.entry.size,
                kept: self.entry.size,
                received: 0,
                rebuilt: 0,
                mirrors: Vec::new(),
                skipped: Vec::new(),
                manifest,
            })),
            Err(e) if e.class() == ErrorClass::Policy => Err(FetchError::Package {
                url: path.display().to_string(),
                error: e,
            }),
            Err(_) => {
                fs::remove_file(path).map_err(|e| FetchError::io(path, e))?;
                Ok(None)
            }
        }
    }

    /// The head held by the `.part` file of an earlier run, if it is
    /// whole and verifies.
    fn head_from_part(&self, part: &mut File, path: &Path) -> Result<Option<Head>, FetchError> {
        part.seek(SeekFrom::Start(0))
            .map_err(|e| FetchError::io(path, e))?;
        let mut reader = Recording::new(&mut *part);
        match self.read_head(&mut reader) {
            Ok((indexes, manifest, head_len)) => {
                let mut bytes = reader.bytes;
                bytes.truncate(usize::try_from(head_len).unwrap_or(usize::MAX));
                Ok(Some(Head {
                    bytes,
                    spill: Vec::new(),
                    indexes,
                    names: payload_names(&manifest),
                    manifest,
                }))
            }
            Err(e) if e.class() == ErrorClass::Policy => Err(FetchError::Package {
                url: self.first_url(),
                error: e,
            }),
            // Anything else (an empty file, a partial head): fetch it.
            Err(_) => Ok(None),
        }
    }

    /// The head from the first mirror that serves one that verifies,
    /// and the mirror's number.
    fn head_from_mirrors(
        &self,
        failures: &mut Vec<MirrorFailure>,
    ) -> Result<(Head, usize), FetchError> {
        for (number, (_, url)) in self.urls.iter().enumerate() {
            let mut attempt = 0u32;
            loop {
                attempt = attempt.saturating_add(1);
                let mut reader = Recording::new(RangedHead::new(self.http, url, self.entry.size));
                let result = self.read_head(&mut reader);
                let problem = match (result, reader.inner.problem.take()) {
                    // A transport failure explains whatever the reader
                    // made of the missing bytes.
                    (_, Some(problem)) => problem,
                    (Ok((indexes, manifest, head_len)), None) => {
                        // What the ranges brought past the head: read
                        // ahead by the verifier, or not read at all.
                        let mut bytes = reader.bytes;
                        let head_len = usize::try_from(head_len).unwrap_or(usize::MAX);
                        let mut spill = bytes.split_off(head_len.min(bytes.len()));
                        spill.extend_from_slice(
                            reader
                                .inner
                                .buffer
                                .get(reader.inner.read_at..)
                                .unwrap_or_default(),
                        );
                        return Ok((
                            Head {
                                bytes,
                                spill,
                                indexes,
                                names: payload_names(&manifest),
                                manifest,
                            },
                            number,
                        ));
                    }
                    (Err(e), None) if e.class() == ErrorClass::Policy => {
                        return Err(FetchError::Package {
                            url: url.clone(),
                            error: e,
                        });
                    }
                    (Err(e), None) => MirrorProblem::Invalid(e.to_string()),
                };
                if self.ask_again(attempt, problem, url, &mut *failures) {
                    continue;
                }
                break;
            }
        }
        Err(FetchError::Mirrors {
            what: self.what(),
            failures: std::mem::take(failures),
        })
    }

    /// VF1–VF4 up to the index section, and the policy: the head read
    /// from `input`; the chunk entries, payload names and head length.
    #[allow(clippy::type_complexity)]
    fn read_head<R: Read>(
        &self,
        input: &mut R,
    ) -> Result<(Vec<Vec<ChunkEntry>>, Verified<Manifest>, u64), HeadError> {
        let package = self.verifier.fetched(self.entry, input)?;
        let head_len = package
            .header()
            .layout()
            .map_err(|e| HeadError::Verify(e.into()))?
            .payload;
        let package = package
            .judge(self.device)
            .map_err(|e| HeadError::Verify(e.into()))?;
        let (manifest, indexes) = package.chunk_indexes().map_err(HeadError::Verify)?;
        Ok((indexes, manifest, head_len))
    }

    /// Checks the chunks an earlier run wrote after the head, moving
    /// `cursor` past each that verifies; returns the bytes kept.
    fn keep_verified(
        &self,
        part: &mut File,
        path: &Path,
        head: &Head,
        cursor: &mut Cursor,
    ) -> Result<u64, FetchError> {
        let len = part.metadata().map_err(|e| FetchError::io(path, e))?.len();
        part.seek(SeekFrom::Start(cursor.offset))
            .map_err(|e| FetchError::io(path, e))?;
        let mut input = io::BufReader::with_capacity(READ_BUFFER, &mut *part);
        let mut buf = Vec::new();
        while let Some(entry) = cursor.entry(&head.indexes) {
            let end = cursor.offset.saturating_add(u64::from(entry.stored_len));
            if end > len {
                break;
            }
            buf.resize(entry.stored_len as usize, 0);
            input
                .read_exact(&mut buf)
                .map_err(|e| FetchError::io(path, e))?;
            if Digest::of(&buf) != entry.digest {
                break;
            }
            cursor.advance(&head.indexes);
        }
        Ok(cursor.offset)
    }

    /// Fetches the whole chunks from the cursor to `end` from `url` into
    /// `out`, each verified before it is written; stops at the first
    /// fault, with every chunk before it written.
    fn fetch_piece(
        &self,
        url: &str,
        head: &Head,
        cursor: &mut Cursor,
        end: u64,
        out: &mut PartFile<'_>,
        progress: &mut Progress<'_>,
    ) -> Result<(), Failed> {
        let mut body = self
            .http
            .get_range(url, cursor.offset, end, self.entry.size)
            .map_err(Failed::Mirror)?;
        self.transfer(&mut body, head, cursor, end, out, progress)?;
        body.finish().map_err(Failed::Mirror)
    }

    /// Moves the chunks from the cursor to `end` from `source` into `out`,
    /// each chunk verified before it is written (on other threads, while
    /// the next chunks arrive: see `pipeline`); stops at the first fault
    /// of the source (a chunk it cannot give, or one that does not match),
    /// with every chunk before it written.
    fn transfer(
        &self,
        source: &mut dyn ChunkSource,
        head: &Head,
        cursor: &mut Cursor,
        end: u64,
        out: &mut PartFile<'_>,
        progress: &mut Progress<'_>,
    ) -> Result<(), Failed> {
        if end.saturating_sub(cursor.offset) < PIPELINE_MIN {
            return self.transfer_here(source, head, cursor, end, out, progress);
        }
        // `received` runs ahead of `cursor`, which only moves past chunks
        // that matched and were written.
        let mut received = *cursor;
        // The first fault of the source of each kind: a chunk that does
        // not match comes before any fault of receiving found after it.
        let mut wrong = None;
        let mut cut = None;
        let path = out.path;
        let local = |e| Failed::Local(FetchError::io(path, e));
        let mut sink = |bytes: &[u8]| out.write(bytes);
        std::thread::scope(|scope| {
            let mut pipeline = Pipeline::start(scope, &mut sink).map_err(local)?;
            let mut spare: Vec<Batch> = (0..BATCHES).map(|_| Batch::default()).collect();
            let outcome = loop {
                let receiving = wrong.is_none() && cut.is_none() && received.offset < end;
                if receiving && let Some(mut batch) = spare.pop() {
                    batch.clear();
                    cut = receive(source, &mut batch, head, &mut received, end);
                    if batch.is_empty() {
                        spare.push(batch);
                    } else if let Err(e) = pipeline.send(batch) {
                        break Err(local(e));
                    }
                    continue;
                }
                if pipeline.in_flight() == 0 {
                    break Ok(());
                }
                let mut batch = match pipeline.next() {
                    Ok(batch) => batch,
                    Err(e) => break Err(local(e)),
                };
                match self.take_back(&mut batch, head, cursor, progress) {
                    Err(e) => break Err(local(e)),
                    // The writer writes nothing after a chunk that did not
                    // match: the first such chunk is where the cursor stops.
                    Ok(Some(problem)) if wrong.is_none() => wrong = Some(problem),
                    Ok(_) => {}
                }
                spare.push(batch);
            };
            pipeline.stop().map_err(local)?;
            outcome
        })?;
        match wrong.or(cut) {
            Some(problem) => Err(Failed::Mirror(problem)),
            None => Ok(()),
        }
    }

    /// [`PackageDownload::transfer`] on the caller's thread alone, batch
    /// by batch: the same checks, the same writes, in the same order.
    fn transfer_here(
        &self,
        source: &mut dyn ChunkSource,
        head: &Head,
        cursor: &mut Cursor,
        end: u64,
        out: &mut PartFile<'_>,
        progress: &mut Progress<'_>,
    ) -> Result<(), Failed> {
        let path = out.path;
        let mut sink = |bytes: &[u8]| out.write(bytes);
        let mut received = *cursor;
        let mut batch = Batch::default();
        while received.offset < end {
            batch.clear();
            let cut = receive(source, &mut batch, head, &mut received, end);
            batch.check_and_write(&mut sink);
            match self.take_back(&mut batch, head, cursor, progress) {
                Err(e) => return Err(Failed::Local(FetchError::io(path, e))),
                Ok(Some(problem)) => return Err(Failed::Mirror(problem)),
                Ok(None) => {}
            }
            if let Some(problem) = cut {
                return Err(Failed::Mirror(problem));
            }
        }
        Ok(())
    }

    /// A batch back from checking and writing: the cursor moves past the
    /// chunks written, and progress is reported. Returns the write's
    /// failure, else the fault of a chunk that did not match (where the
    /// cursor now stands).
    fn take_back(
        &self,
        batch: &mut Batch,
        head: &Head,
        cursor: &mut Cursor,
        progress: &mut Progress<'_>,
    ) -> io::Result<Option<MirrorProblem>> {
        for _ in 0..batch.written() {
            cursor.advance(&head.indexes);
        }
        if batch.written() > 0 {
            progress(cursor.offset, self.entry.size);
        }
        if let Some(e) = batch.take_write_error() {
            return Err(e);
        }
        Ok(batch.mismatch().then(|| MirrorProblem::WrongChunk {
            payload: head.names.get(cursor.payload).cloned().unwrap_or_default(),
            chunk: cursor.chunk as u64,
        }))
    }
}

/// Where the stored bytes of the next chunks come from: a mirror's
/// response to a range request, or the device's own files.
trait ChunkSource {
    /// Fills `buf` with the stored bytes of the chunk `entry` at `at`, or
    /// says why it cannot.
    fn fill(
        &mut self,
        at: &Cursor,
        entry: &ChunkEntry,
        buf: &mut [u8],
    ) -> Result<(), MirrorProblem>;
}

impl ChunkSource for RangeReader {
    fn fill(&mut self, _: &Cursor, _: &ChunkEntry, buf: &mut [u8]) -> Result<(), MirrorProblem> {
        RangeReader::fill(self, buf)
    }
}

impl ChunkSource for Seeds<'_> {
    fn fill(
        &mut self,
        at: &Cursor,
        entry: &ChunkEntry,
        buf: &mut [u8],
    ) -> Result<(), MirrorProblem> {
        Seeds::fill(self, at.payload, at.chunk, entry, buf)
    }
}

/// Receives the next whole chunks from `source` into `batch`, up to
/// [`BATCH_BYTES`] (at least one chunk) or `end`, moving `received` past
/// each; a chunk cut short is left out. Returns the source's fault, if
/// receiving stopped on one.
fn receive(
    source: &mut dyn ChunkSource,
    batch: &mut Batch,
    head: &Head,
    received: &mut Cursor,
    end: u64,
) -> Option<MirrorProblem> {
    while received.offset < end {
        let at = *received;
        let Some(entry) = received.entry(&head.indexes) else {
            break;
        };
        let fits = batch.len().saturating_add(entry.stored_len as usize) <= BATCH_BYTES;
        if !batch.is_empty() && !fits {
            break;
        }
        if let Err(problem) = source.fill(&at, entry, batch.push(entry)) {
            batch.pop();
            return Some(problem);
        }
        received.advance(&head.indexes);
    }
    None
}

/// The `.part` file, written chunk by chunk as chunks are verified.
struct PartFile<'a> {
    file: &'a mut File,
    path: &'a Path,
    writer: &'a mut DirectWriter,
}

impl PartFile<'_> {
    /// Appends verified bytes.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write(self.file, bytes)
    }
}

/// Takes the `.part` file for this process: two fetches of the same
/// package into the same folder (two agents, or a rerun while the first
/// run goes on) would otherwise truncate each other's verified bytes.
/// The lock goes with the file when the process ends, however it ends.
/// A file system without locks is used without.
fn lock(part: &File, path: &Path) -> Result<(), FetchError> {
    match part.try_lock() {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => Err(FetchError::io(
            path,
            io::Error::new(
                io::ErrorKind::WouldBlock,
                "another fetch is writing this package here; wait for it to end",
            ),
        )),
        Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => Ok(()),
        Err(fs::TryLockError::Error(e)) => Err(FetchError::io(path, e)),
    }
}

fn payload_names(manifest: &Manifest) -> Vec<String> {
    manifest
        .payloads
        .iter()
        .map(|p| p.name.to_string())
        .collect()
}

/// Where the download stands: the next chunk and its offset in the file.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    payload: usize,
    chunk: usize,
    offset: u64,
}

impl Cursor {
    fn start(payload_area: u64) -> Cursor {
        Cursor {
            payload: 0,
            chunk: 0,
            offset: payload_area,
        }
    }

    /// The next chunk's entry; `None` when every chunk is done.
    fn entry<'i>(&mut self, indexes: &'i [Vec<ChunkEntry>]) -> Option<&'i ChunkEntry> {
        // Payloads without chunks (empty ones) are stepped over.
        while let Some(index) = indexes.get(self.payload) {
            if let Some(entry) = index.get(self.chunk) {
                return Some(entry);
            }
            self.payload = self.payload.saturating_add(1);
            self.chunk = 0;
        }
        None
    }

    fn done(&mut self, indexes: &[Vec<ChunkEntry>]) -> bool {
        self.entry(indexes).is_none()
    }

    fn advance(&mut self, indexes: &[Vec<ChunkEntry>]) {
        if let Some(entry) = self.entry(indexes) {
            self.offset = self.offset.saturating_add(u64::from(entry.stored_len));
            self.chunk = self.chunk.saturating_add(1);
        }
    }

    /// The end of the chunk in which the byte `piece` bytes from here
    /// falls (or of the last chunk), or the start of the first later
    /// payload for which `stop` says yes, whichever comes first.
    fn piece_end(
        &self,
        indexes: &[Vec<ChunkEntry>],
        piece: u64,
        mut stop: impl FnMut(usize) -> bool,
    ) -> u64 {
        let mut probe = *self;
        let limit = self.offset.saturating_add(piece);
        while probe.offset < limit && !probe.done(indexes) {
            probe.advance(indexes);
            // `done` steps over to the next payload's first chunk.
            if !probe.done(indexes)
                && probe.payload != self.payload
                && probe.chunk == 0
                && stop(probe.payload)
            {
                break;
            }
        }
        probe.offset
    }

    /// The end of the current payload.
    fn payload_end(&self, indexes: &[Vec<ChunkEntry>]) -> u64 {
        let mut probe = *self;
        while probe.payload == self.payload && !probe.done(indexes) {
            probe.advance(indexes);
        }
        probe.offset
    }
}

/// A reader that keeps a copy of everything read through it.
struct Recording<R> {
    inner: R,
    bytes: Vec<u8>,
}

impl<R> Recording<R> {
    fn new(inner: R) -> Recording<R> {
        Recording {
            inner,
            bytes: Vec::new(),
        }
    }
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes
            .extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// The head of a package on a mirror, read through range requests of
/// growing size, only as far as the verifier reads.
struct RangedHead<'a> {
    http: &'a Http,
    url: &'a str,
    total: u64,
    /// Bytes received and not yet read.
    buffer: Vec<u8>,
    read_at: usize,
    /// The file offset of the next range.
    next: u64,
    piece: u64,
    /// Why the mirror could not serve a range; the verifier sees an I/O
    /// error.
    problem: Option<MirrorProblem>,
}

impl<'a> RangedHead<'a> {
    fn new(http: &'a Http, url: &'a str, total: u64) -> RangedHead<'a> {
        RangedHead {
            http,
            url,
            total,
            buffer: Vec::new(),
            read_at: 0,
            next: 0,
            piece: FIRST_HEAD_PIECE,
            problem: None,
        }
    }
}

impl Read for RangedHead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read_at >= self.buffer.len() {
            let end = self.next.saturating_add(self.piece).min(self.total);
            if end <= self.next {
                return Ok(0);
            }
            let fetched = self
                .http
                .get_range(self.url, self.next, end, self.total)
                .and_then(|mut body| {
                    let mut bytes =
                        vec![0u8; usize::try_from(end.saturating_sub(self.next)).unwrap_or(0)];
                    body.fill(&mut bytes)?;
                    body.finish()?;
                    Ok(bytes)
                });
            match fetched {
                Ok(bytes) => {
                    self.buffer = bytes;
                    self.read_at = 0;
                    self.next = end;
                    self.piece = self.piece.saturating_mul(2).min(MAX_HEAD_PIECE);
                }
                Err(problem) => {
                    let message = problem.to_string();
                    self.problem = Some(problem);
                    return Err(io::Error::other(message));
                }
            }
        }
        let rest = self.buffer.get(self.read_at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.read_at = self.read_at.saturating_add(n);
        Ok(n)
    }
}
