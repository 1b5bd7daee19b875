//! Verifying a package, the one owner of its stream: authenticate the
//! manifest before decoding it, judge it by the policy before reading a
//! payload byte, then the chunk indexes before parsing them, then every
//! chunk before it is decompressed or handed out, then the end.
//!
//! The policy comes first by type: a [`Package`] is [`Unjudged`] when its
//! head is authentic, and only a [`Judged`] one verifies its payloads,
//! streams them or extracts them.

use crate::bases::{self, BaseFiles, check_base, open_base};
use crate::clock::Clock;
use crate::device::DeviceProfile;
use crate::document::{OpenError, Signed, Verified};
use crate::error::{NotApplicable, VerifyError};
use crate::extract::{Extracted, extract_to_dir};
use crate::parallel::{self, Consumer, Mode, Threads};
use crate::policy::{self, Candidate};
use crate::sink::PayloadSink;
use crate::threshold::{Subject, require_any, role_of};
use crate::trust::TrustedRoot;
use crate::{ExtractError, document};
use hpk_format::{
    BaseRead, ChunkDecoder, ChunkEntry, Compression, ContainerError, Digest, Header, Limits,
    Manifest, PayloadDescriptor, PayloadError, RoleName, Section, SignatureRecord, expect_end,
    parse_chunk_index,
};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

/// The package-signing roles: before the manifest is decoded, its
/// signatures must meet the threshold of at least one of them.
const PACKAGE_ROLES: [RoleName; 3] = [RoleName::Release, RoleName::Hotpatch, RoleName::Recovery];

/// How much of an unchanged payload's base [`Payloads`] hands out at a
/// time.
const UNCHANGED_STEP: usize = 1 << 20;

/// How much more room a chunk index being read gets at a time.
const INDEX_READ_STEP: usize = 1 << 20;

/// How much of a package to verify (`spec/SPEC.md`, "Depth").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Signatures, manifest, policy and, when the input's length is known
    /// (a file, [`Verifier::open`](crate::Verifier::open)), that length
    /// (C16). No byte after the head is read.
    Header,
    /// Header depth with the length checked even when it was not known in
    /// advance (a pipe): what follows the head is read, not parsed, up to
    /// one byte past the end the header declares, and counted.
    HeaderCounted,
    /// Header depth, then every chunk index and every stored chunk
    /// against its digest, and the end of the input; nothing is
    /// decompressed.
    Stored,
    /// Every check: stored chunks, their decoding and each payload's
    /// content SHA-256, then the end of the input. Extraction is full
    /// depth.
    Full,
}

/// The state of a [`Package`] whose head is authentic but whose policy has
/// not been applied: it can be looked at and judged, not read.
#[derive(Debug)]
pub struct Unjudged(());

/// The state of a [`Package`] the policy has accepted: its payloads can be
/// verified, streamed and extracted.
#[derive(Debug)]
pub struct Judged(());

/// A package whose manifest is authentic, positioned at its chunk indexes.
///
/// It is the only type that hands out payload bytes, and only bytes of
/// chunks whose digests have matched the authenticated chunk index, of a
/// package the policy has judged ([`Judged`]). A package that has not
/// been judged cannot be read or extracted: that does not compile.
///
/// ```compile_fail
/// fn install(package: hpk_verify::Package<std::fs::File>) {
///     // `extract` exists only on `Package<R, Judged>`.
///     let _ = package.extract(std::path::Path::new("staged"));
/// }
/// ```
///
/// ```
/// fn install(
///     package: hpk_verify::Package<std::fs::File>,
///     device: &hpk_verify::DeviceProfile,
/// ) -> Result<(), Box<dyn std::error::Error>> {
///     package.judge(device)?.extract(std::path::Path::new("staged"))?;
///     Ok(())
/// }
/// ```
pub struct Package<R, S = Unjudged> {
    manifest: Verified<Manifest>,
    header: Header,
    signatures: Vec<SignatureRecord>,
    input: R,
    input_len: Option<u64>,
    clock: Clock,
    /// The device's files, for delta and unchanged payloads.
    bases: Option<Arc<dyn BaseFiles>>,
    state: PhantomData<S>,
}

impl<R, S> Package<R, S> {
    /// The authenticated manifest, with its digest and signers.
    pub fn manifest(&self) -> &Verified<Manifest> {
        &self.manifest
    }

    /// The fixed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Every signature record, in file order, valid or not (which keys
    /// counted: [`Verified::signers`]).
    pub fn signatures(&self) -> &[SignatureRecord] {
        &self.signatures
    }

    fn into_state<T>(self) -> Package<R, T> {
        Package {
            manifest: self.manifest,
            header: self.header,
            signatures: self.signatures,
            input: self.input,
            input_len: self.input_len,
            clock: self.clock,
            bases: self.bases,
            state: PhantomData,
        }
    }

    /// Where the files the device already has are: needed to rebuild the
    /// content of delta and unchanged payloads (full depth, streaming,
    /// extraction), which without them fail with
    /// [`PayloadError::MissingBase`]. Each base is checked against the
    /// size and SHA-256 the manifest names before any payload is read.
    pub fn with_bases(mut self, bases: Arc<dyn BaseFiles>) -> Self {
        self.bases = Some(bases);
        self
    }

    /// Whether some payload is stored as a difference from (or as) a file
    /// the device must already have.
    pub fn needs_bases(&self) -> bool {
        self.manifest.needs_bases()
    }
}

impl From<OpenError> for VerifyError {
    fn from(e: OpenError) -> VerifyError {
        match e {
            OpenError::Signature(e) => VerifyError::Signature(e),
            OpenError::Decode(e) => VerifyError::Decode(e),
        }
    }
}

impl<R: Read> Package<R, Unjudged> {
    /// VP1–VP8 on a head already read (`signed`), with `input` right after
    /// it:
    ///
    /// 1. the signature records are counted over the package's statement;
    /// 2. the distinct valid signers must meet the threshold of a
    ///    package-signing role; only then is the manifest decoded;
    /// 3. they must meet the threshold of the role the package's kind
    ///    needs;
    /// 4. the header's section lengths must equal what the manifest
    ///    implies.
    pub(crate) fn open(
        signed: Signed,
        input: R,
        input_len: Option<u64>,
        root: &TrustedRoot,
        clock: Clock,
        limits: &Limits,
    ) -> Result<Package<R, Unjudged>, VerifyError> {
        let roles = root.root().roles.clone();
        let any = PACKAGE_ROLES.map(|r| (r, role_of(&roles, r)));
        let opened = signed.open::<Manifest>(root.ring(), &any, Subject::Package, limits)?;
        let manifest = opened.value;
        let role = manifest.kind.signing_role();
        let role_keys = role_of(&roles, role);
        let subject = Subject::PackageOfKind {
            kind: manifest.kind.name(),
            name: manifest.name.to_string(),
        };
        require_any(&opened.report, &[(role, role_keys)], subject)
            .map_err(VerifyError::Signature)?;
        // VP8 comes before the policy (VP9): unknown critical extensions
        // are a policy reason (Y2), judged after the lengths.
        let header = signed.head.header;
        check_section(
            Section::ChunkIndex,
            header.index_len,
            manifest.index_section_len(),
        )?;
        check_section(
            Section::PayloadArea,
            header.payload_len,
            manifest.payload_section_len(),
        )?;
        let signers = opened.report.signers_in(role_keys);
        Ok(Package {
            manifest: Verified::new(manifest, signed.digest, (role, role_keys), signers),
            header,
            signatures: signed.head.signatures,
            input,
            input_len,
            clock,
            bases: None,
            state: PhantomData,
        })
    }

    /// Applies the device policy (VP9: Y1–Y13 in order) at the verifier's
    /// clock. Nothing of the payloads has been read. A refusal hands the
    /// package back ([`Refused`]), to report it or judge it again.
    pub fn judge(self, device: &DeviceProfile) -> Result<Package<R, Judged>, Box<Refused<R>>> {
        let candidate = Candidate::of_manifest(&self.manifest, self.manifest.digest());
        match policy::check(&candidate, device, self.clock) {
            Ok(()) => Ok(self.into_state()),
            Err(reason) => Err(Box::new(Refused {
                reason,
                package: self,
            })),
        }
    }

    /// Applies what of the policy needs no device (VP9 without a device
    /// profile: Y2, Y8 and Y9, in that order), for tools that check a
    /// package for no device in particular.
    pub fn judge_without_device(self) -> Result<Package<R, Judged>, Box<Refused<R>>> {
        let candidate = Candidate::of_manifest(&self.manifest, self.manifest.digest());
        match policy::check_intrinsic(&candidate, self.clock) {
            Ok(()) => Ok(self.into_state()),
            Err(reason) => Err(Box::new(Refused {
                reason,
                package: self,
            })),
        }
    }
}

/// An authentic package the policy refused, handed back with the reason:
/// to report it with its manifest, or to judge it for another device
/// without reading and checking its head again.
pub struct Refused<R> {
    /// Why it does not apply.
    pub reason: NotApplicable,
    /// The package, still unjudged.
    pub package: Package<R>,
}

impl<R> fmt::Debug for Refused<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refused")
            .field("reason", &self.reason)
            .field("package", &self.package.manifest.name)
            .finish()
    }
}

impl<R> fmt::Display for Refused<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

impl<R> std::error::Error for Refused<R> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

impl<R> From<Box<Refused<R>>> for VerifyError {
    fn from(refused: Box<Refused<R>>) -> VerifyError {
        VerifyError::NotApplicable(refused.reason)
    }
}

fn check_section(section: Section, declared: u64, implied: Option<u64>) -> Result<(), VerifyError> {
    if implied == Some(declared) {
        return Ok(());
    }
    Err(VerifyError::Inconsistent {
        section,
        declared,
        implied,
    })
}

impl<R: Read> Package<R, Judged> {
    /// Reads the index section (P1–P4) and returns every payload's chunk
    /// entries, in manifest order, with the manifest. Nothing after the
    /// index section is read.
    ///
    /// For a reader that fetches the payload area itself (by byte ranges,
    /// resuming, as `hpk-fetch` does): it must then check each chunk's
    /// SHA-256 against its entry (P5) before it uses a byte of it, and
    /// that the payload area ends where the header says (VP14).
    pub fn chunk_indexes(
        mut self,
    ) -> Result<(Verified<Manifest>, Vec<Vec<ChunkEntry>>), VerifyError> {
        let indexes = self.read_indexes()?;
        Ok((self.manifest, indexes))
    }

    /// Verifies the package to `depth` and returns its manifest.
    pub fn verify(self, depth: Depth) -> Result<Verified<Manifest>, VerifyError> {
        self.verify_with_progress(depth, &mut |_| {})
    }

    /// [`Package::verify`], calling `progress` with the bytes done so far:
    /// stored bytes at [`Depth::Stored`], uncompressed bytes at
    /// [`Depth::Full`].
    ///
    /// Chunks are hashed (and decoded) on every core and the results
    /// taken in order: progress, and the error for the first bad chunk,
    /// are those of a sequential check.
    pub fn verify_with_progress(
        self,
        depth: Depth,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Verified<Manifest>, VerifyError> {
        match depth {
            Depth::Header => {
                if let Some(len) = self.input_len {
                    check_input_len(&self.header, len)?;
                }
                Ok(self.manifest)
            }
            Depth::HeaderCounted => {
                let len = match self.input_len {
                    Some(len) => len,
                    None => {
                        let layout = self.header.layout()?;
                        let rest = layout.end.saturating_sub(layout.index).saturating_add(1);
                        let mut input = self.input;
                        let more = io::copy(&mut (&mut input).take(rest), &mut io::sink())
                            .map_err(ContainerError::Io)?;
                        layout.index.saturating_add(more)
                    }
                };
                check_input_len(&self.header, len)?;
                Ok(self.manifest)
            }
            Depth::Stored => {
                let mut consumer = CheckProgress { done: 0, progress };
                self.run(Mode::Check, &mut consumer)
            }
            Depth::Full => self.stream(&mut Discard, progress),
        }
    }

    /// Verifies every payload and writes it into the folder `dir`, all or
    /// nothing (see [`Extracted`] and `spec/SPEC.md`, "Extraction").
    pub fn extract(self, dir: &Path) -> Result<Extracted, ExtractError> {
        self.extract_with_progress(dir, &mut |_| {})
    }

    /// [`Package::extract`], calling `progress` with the uncompressed
    /// bytes done so far.
    pub fn extract_with_progress(
        self,
        dir: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Extracted, ExtractError> {
        let count = self.manifest.payloads.len();
        extract_to_dir(dir, count, |sink| self.stream(sink, progress))
    }

    /// Streams every payload's content into `sink`, each chunk checked
    /// before it is decompressed, each payload's content SHA-256 checked
    /// before `sink.end`, and nothing allowed after the payload area.
    /// `progress` is called with the uncompressed bytes done so far.
    ///
    /// Chunks are checked and decompressed on every core and handed to
    /// `sink` in order, while another thread computes the content
    /// SHA-256; `sink` sees the same calls, and the caller the same error,
    /// as from a sequential reader.
    pub fn stream(
        mut self,
        sink: &mut dyn PayloadSink,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Verified<Manifest>, VerifyError> {
        let indexes = self.read_indexes()?;
        // The sink is handed the manifest's own descriptors: no copy of
        // them, which for 100,000 payloads would be 12 MB.
        let mut consumer = StreamTo {
            payloads: &self.manifest.payloads,
            sink,
            done: 0,
            progress,
        };
        payload_area(
            &mut self.input,
            &self.manifest.payloads,
            &indexes,
            Mode::Decode,
            self.bases.as_deref(),
            &mut consumer,
        )?;
        Ok(self.manifest)
    }

    /// The payloads one at a time, each as a [`Read`] (on the calling
    /// thread alone): see [`Payloads`].
    pub fn payloads(mut self) -> Result<Payloads<R>, VerifyError> {
        let indexes = self.read_indexes()?;
        // D5: every base before any stored byte, as `stream` does.
        for desc in &self.manifest.payloads {
            check_base(self.bases.as_deref(), desc)?;
        }
        Ok(Payloads {
            decoder: ChunkDecoder::new()?,
            bases: self.bases,
            manifest: self.manifest,
            input: self.input,
            indexes,
            current: None,
            next: 0,
            stored: Vec::new(),
        })
    }

    fn run(
        mut self,
        mode: Mode,
        consumer: &mut dyn Consumer,
    ) -> Result<Verified<Manifest>, VerifyError> {
        let indexes = self.read_indexes()?;
        payload_area(
            &mut self.input,
            &self.manifest.payloads,
            &indexes,
            mode,
            self.bases.as_deref(),
            consumer,
        )?;
        Ok(self.manifest)
    }

    /// Reads and authenticates every payload's chunk index (VP10). No
    /// payload byte of a package with an unknown critical extension is
    /// ever read: the policy refused it (Y2), and this is checked again
    /// here so that it holds by construction.
    fn read_indexes(&mut self) -> Result<Vec<Vec<ChunkEntry>>, VerifyError> {
        if let Some(id) = document::unknown_critical_extension(&self.manifest.extensions) {
            return Err(policy::unknown_extension(id).into());
        }
        let mut indexes = Vec::with_capacity(self.manifest.payloads.len());
        for desc in &self.manifest.payloads {
            let len = desc
                .index_len()
                .and_then(|l| usize::try_from(l).ok())
                .ok_or(VerifyError::Inconsistent {
                    section: Section::ChunkIndex,
                    declared: self.header.index_len,
                    implied: None,
                })?;
            // Grow the buffer as bytes arrive (1 MiB at a time) instead of
            // allocating the declared length first: with raised local
            // limits, a signed manifest may declare more than memory holds,
            // and an input that ends early must be an error, not an abort.
            let mut bytes = Vec::new();
            while bytes.len() < len {
                let start = bytes.len();
                let step = len.saturating_sub(start).min(INDEX_READ_STEP);
                bytes.resize(start.saturating_add(step), 0);
                self.input
                    .read_exact(bytes.get_mut(start..).unwrap_or_default())
                    .map_err(|e| truncated(e, Section::ChunkIndex))?;
            }
            indexes.push(parse_chunk_index(&bytes, desc)?);
        }
        Ok(indexes)
    }
}

/// The last check of header depth (C16) for an input of known length:
/// exactly as long as its header declares [`malformed`].
///
/// [`malformed`]: hpk_format::ErrorClass::Malformed
fn check_input_len(header: &Header, input_len: u64) -> Result<(), VerifyError> {
    let layout = header.layout()?;
    match input_len.cmp(&layout.end) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(VerifyError::Container(ContainerError::Truncated {
            section: if input_len < layout.payload {
                Section::ChunkIndex
            } else {
                Section::PayloadArea
            },
        })),
        std::cmp::Ordering::Greater => Err(VerifyError::Container(ContainerError::TrailingBytes)),
    }
}

/// A sink that keeps nothing: full depth without output.
struct Discard;

impl PayloadSink for Discard {
    fn begin(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
    fn data(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn end(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
}

/// Reports the stored bytes checked so far.
struct CheckProgress<'a> {
    done: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl Consumer for CheckProgress<'_> {
    fn begin(&mut self, _: usize) -> Result<(), VerifyError> {
        Ok(())
    }
    fn chunk(&mut self, _: usize, stored: &[u8]) -> Result<(), VerifyError> {
        self.done = self.done.saturating_add(stored.len() as u64);
        (self.progress)(self.done);
        Ok(())
    }
    fn end(&mut self, _: usize, _: Option<Digest>) -> Result<(), VerifyError> {
        Ok(())
    }
}

/// Runs the payload area (the input positioned at its start) through
/// `consumer` on every core, then checks that nothing follows it.
///
/// When decoding, every base the payloads need is checked first (D5),
/// before a stored byte is read: a device without them learns it before
/// anything is written. Unchanged payloads are read from their bases.
fn payload_area<R: Read>(
    input: &mut R,
    payloads: &[PayloadDescriptor],
    indexes: &[Vec<ChunkEntry>],
    mode: Mode,
    bases: Option<&dyn BaseFiles>,
    consumer: &mut dyn Consumer,
) -> Result<(), VerifyError> {
    // Checking stored bytes needs no base.
    let bases = if mode == Mode::Decode { bases } else { None };
    let mut from_bases;
    let consumer: &mut dyn Consumer = if mode == Mode::Decode {
        for desc in payloads {
            check_base(bases, desc)?;
        }
        from_bases = FromBases {
            payloads,
            bases,
            inner: consumer,
            digest: None,
        };
        &mut from_bases
    } else {
        consumer
    };
    parallel::run(
        input,
        payloads,
        indexes,
        mode,
        Threads::Auto,
        bases,
        consumer,
    )?;
    expect_end(input)?;
    Ok(())
}

/// Hands out the content of unchanged payloads, read from their bases,
/// between their `begin` and `end`, with its SHA-256; passes everything
/// else through.
struct FromBases<'a> {
    payloads: &'a [PayloadDescriptor],
    bases: Option<&'a dyn BaseFiles>,
    inner: &'a mut dyn Consumer,
    /// SHA-256 of the unchanged payload just handed out.
    digest: Option<Digest>,
}

impl Consumer for FromBases<'_> {
    fn begin(&mut self, payload: usize) -> Result<(), VerifyError> {
        self.inner.begin(payload)?;
        let desc = descriptor(self.payloads, payload)?;
        if desc.compression != Compression::Unchanged {
            return Ok(());
        }
        let file = open_base(self.bases, desc)?;
        let inner = &mut *self.inner;
        let digest = match file {
            Some(file) => {
                let read_error = |e: io::Error| -> VerifyError {
                    PayloadError::MissingBase {
                        payload: desc.name.to_string(),
                        base: desc.content_digest,
                        reason: format!("reading it failed: {e}"),
                    }
                    .into()
                };
                bases::hash(
                    file.as_ref(),
                    desc.size,
                    &mut |piece| inner.chunk(payload, piece),
                    &read_error,
                )?
            }
            None => Digest::of(&[]),
        };
        self.digest = Some(digest);
        Ok(())
    }
    fn chunk(&mut self, payload: usize, bytes: &[u8]) -> Result<(), VerifyError> {
        self.inner.chunk(payload, bytes)
    }
    fn end(&mut self, payload: usize, content: Option<Digest>) -> Result<(), VerifyError> {
        let content = self.digest.take().or(content);
        self.inner.end(payload, content)
    }
}

/// Passes checked content to a [`PayloadSink`] and checks each payload's
/// content SHA-256 before its end.
struct StreamTo<'a> {
    payloads: &'a [PayloadDescriptor],
    sink: &'a mut dyn PayloadSink,
    done: u64,
    progress: &'a mut dyn FnMut(u64),
}

fn descriptor(
    payloads: &[PayloadDescriptor],
    payload: usize,
) -> Result<&PayloadDescriptor, VerifyError> {
    payloads
        .get(payload)
        .ok_or_else(|| not_in_manifest(payload))
}

/// A payload number past the manifest's: the reader's own mistake, never
/// the input's.
fn not_in_manifest(payload: usize) -> VerifyError {
    VerifyError::Payload(PayloadError::Io(io::Error::other(format!(
        "payload {payload} is not in the manifest"
    ))))
}

impl Consumer for StreamTo<'_> {
    fn begin(&mut self, payload: usize) -> Result<(), VerifyError> {
        let desc = descriptor(self.payloads, payload)?;
        self.sink.begin(desc).map_err(PayloadError::Io)?;
        Ok(())
    }
    fn chunk(&mut self, _: usize, content: &[u8]) -> Result<(), VerifyError> {
        self.sink.data(content).map_err(PayloadError::Io)?;
        self.done = self.done.saturating_add(content.len() as u64);
        (self.progress)(self.done);
        Ok(())
    }
    fn end(&mut self, payload: usize, content: Option<Digest>) -> Result<(), VerifyError> {
        let desc = descriptor(self.payloads, payload)?;
        if content != Some(desc.content_digest) {
            return Err(PayloadError::ContentDigest {
                payload: desc.name.to_string(),
            }
            .into());
        }
        self.sink.end(desc).map_err(PayloadError::Io)?;
        Ok(())
    }
}

fn truncated(e: io::Error, section: Section) -> VerifyError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            VerifyError::Container(ContainerError::Truncated { section })
        }
        _ => VerifyError::Container(ContainerError::Io(e)),
    }
}

/// The payloads of a judged package, one at a time, each read through a
/// [`PayloadRead`], sequentially on the calling thread.
///
/// Every byte handed out comes from a chunk whose digest matched the
/// authenticated index; a payload's last read reports a content SHA-256
/// mismatch as an error instead of the end. A payload left before its end
/// is read and checked to its end by the next call. The package is
/// verified only when [`Payloads::finish`] returns its manifest: until
/// then, treat what was read as unverified as a whole.
pub struct Payloads<R> {
    manifest: Verified<Manifest>,
    bases: Option<Arc<dyn BaseFiles>>,
    input: R,
    indexes: Vec<Vec<ChunkEntry>>,
    decoder: ChunkDecoder,
    /// The payload being read.
    current: Option<Current>,
    /// The next payload to start.
    next: usize,
    /// The stored bytes of the chunk being decoded.
    stored: Vec<u8>,
}

/// Where the payload being read stands.
struct Current {
    payload: usize,
    /// Its base, if it is a delta or unchanged (checked before the first
    /// payload was read).
    base: Option<Box<dyn BaseRead>>,
    /// The next chunk to read.
    chunk: usize,
    /// Decoded content of the last chunk, and how much of it was handed out.
    content: Vec<u8>,
    pos: usize,
    hasher: Sha256,
    /// The content SHA-256 has matched.
    done: bool,
}

impl<R: Read> Payloads<R> {
    /// The next payload, or `None` after the last. The previous payload,
    /// if it was not read to its end, is read and checked to its end
    /// first.
    pub fn next_payload(&mut self) -> Result<Option<PayloadRead<'_, R>>, VerifyError> {
        self.drain_current()?;
        if self.next >= self.manifest.payloads.len() {
            return Ok(None);
        }
        // Checked when the payloads were opened; what is read from it is
        // covered by the content SHA-256.
        let base = match self.manifest.payloads.get(self.next) {
            Some(desc) => open_base(self.bases.as_deref(), desc)?,
            None => None,
        };
        self.current = Some(Current {
            payload: self.next,
            base,
            chunk: 0,
            content: Vec::new(),
            pos: 0,
            hasher: Sha256::new(),
            done: false,
        });
        self.next = self.next.saturating_add(1);
        Ok(Some(PayloadRead { payloads: self }))
    }

    /// Reads and checks whatever is left, then requires the end of the
    /// input (VP14): the package is verified to full depth.
    pub fn finish(mut self) -> Result<Verified<Manifest>, VerifyError> {
        while self.next_payload()?.is_some() {}
        expect_end(&mut self.input)?;
        Ok(self.manifest)
    }

    fn drain_current(&mut self) -> Result<(), VerifyError> {
        while self.fill()?.is_some() {
            // Consumed unread: the next fill decodes the next chunk.
            if let Some(current) = self.current.as_mut() {
                current.pos = current.content.len();
            }
        }
        self.current = None;
        Ok(())
    }

    /// The unread content of the current chunk, decoding the next chunk
    /// when it is used up; `None` at the payload's end (content SHA-256
    /// checked) or when no payload is open.
    fn fill(&mut self) -> Result<Option<&[u8]>, VerifyError> {
        let Some(current) = self.current.as_mut() else {
            return Ok(None);
        };
        let desc = descriptor(&self.manifest.payloads, current.payload)?;
        while current.pos >= current.content.len() {
            if current.done {
                return Ok(None);
            }
            let entries = self
                .indexes
                .get(current.payload)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if desc.compression == Compression::Unchanged && !current.done {
                // The content is the base, checked when it was opened:
                // handed out whole, in pieces, and hashed again.
                if let Some(base) = current.base.as_deref() {
                    let at = (current.chunk as u64).saturating_mul(UNCHANGED_STEP as u64);
                    let n = desc.size.saturating_sub(at).min(UNCHANGED_STEP as u64) as usize;
                    if n > 0 {
                        current.content.resize(n, 0);
                        base.read_exact_at(at, &mut current.content).map_err(|e| {
                            PayloadError::MissingBase {
                                payload: desc.name.to_string(),
                                base: desc.content_digest,
                                reason: format!("reading it failed: {e}"),
                            }
                        })?;
                        current.hasher.update(&current.content);
                        current.pos = 0;
                        current.chunk = current.chunk.saturating_add(1);
                        continue;
                    }
                }
            }
            let Some(entry) = entries.get(current.chunk) else {
                let digest = Digest(std::mem::take(&mut current.hasher).finalize().into());
                if digest != desc.content_digest {
                    return Err(PayloadError::ContentDigest {
                        payload: desc.name.to_string(),
                    }
                    .into());
                }
                current.done = true;
                return Ok(None);
            };
            let chunk = current.chunk as u64;
            self.stored.resize(entry.stored_len as usize, 0);
            self.input
                .read_exact(&mut self.stored)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => PayloadError::Truncated {
                        payload: desc.name.to_string(),
                        chunk,
                    },
                    _ => PayloadError::Io(e),
                })?;
            self.decoder.decode_with_base(
                desc,
                chunk,
                entry,
                &self.stored,
                &mut current.content,
                current.base.as_deref(),
            )?;
            current.hasher.update(&current.content);
            current.pos = 0;
            current.chunk = current.chunk.saturating_add(1);
        }
        Ok(current.content.get(current.pos..))
    }
}

/// One payload of [`Payloads`], read as a byte stream. Read errors carry
/// the [`VerifyError`] (`io::Error::get_ref` and downcast).
pub struct PayloadRead<'a, R> {
    payloads: &'a mut Payloads<R>,
}

impl<R: Read> PayloadRead<'_, R> {
    /// What the manifest says of this payload: name, size, content digest.
    pub fn descriptor(&self) -> Option<&PayloadDescriptor> {
        let current = self.payloads.current.as_ref()?;
        self.payloads.manifest.payloads.get(current.payload)
    }
}

impl<R: Read> Read for PayloadRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = match self.payloads.fill() {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(0),
            Err(e) => return Err(io::Error::other(e)),
        };
        let n = available.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        if let Some(current) = self.payloads.current.as_mut() {
            current.pos = current.pos.saturating_add(n);
        }
        Ok(n)
    }
}
