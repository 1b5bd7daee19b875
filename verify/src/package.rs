//! Verifying a package: authenticate the manifest before decoding it, then
//! the chunk indexes before parsing them, then every chunk before it is
//! decompressed or handed out.

use crate::device::{Clock, DeviceProfile};
use crate::error::{ThresholdNotMet, VerifyError};
use crate::parallel::{self, Consumer, Mode, Threads};
use crate::policy::{self, Candidate, NotApplicable, role_for};
use crate::threshold::{SignerReport, require_threshold};
use crate::trust::TrustedRoot;
use hpk_format::{
    ChunkEntry, Digest, FileType, Head, Header, KeyId, Limits, Manifest, PayloadDescriptor,
    PayloadError, RoleName, decode, expect_end, parse_chunk_index, read_head, statement_for_digest,
};
use std::collections::BTreeSet;
use std::io::{self, Read};

/// The package-signing roles: before the manifest is decoded, its
/// signatures must meet the threshold of at least one of them.
const PACKAGE_ROLES: [RoleName; 3] = [RoleName::Release, RoleName::Hotpatch, RoleName::Recovery];

/// How much more room a chunk index being read gets at a time.
const INDEX_READ_STEP: usize = 1 << 20;

/// A package head whose manifest is authentic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedHead {
    /// The fixed header.
    pub header: Header,
    /// The decoded, authenticated manifest.
    pub manifest: Manifest,
    /// SHA-256 of the manifest bytes: how hotpatches and catalogs name it.
    pub manifest_digest: Digest,
    /// The role whose threshold the package met.
    pub role: RoleName,
    /// Distinct keys of that role with a valid signature.
    pub signers: BTreeSet<KeyId>,
}

impl VerifiedHead {
    /// Applies the device policy to this package (VP9, Y1–Y13 in order).
    pub fn check_policy(&self, device: &DeviceProfile, clock: Clock) -> Result<(), NotApplicable> {
        policy::check(
            &Candidate::of_manifest(&self.manifest, self.manifest_digest),
            device,
            clock,
        )
    }

    /// Applies what of the policy needs no device (VP9 without a device
    /// profile: Y2, Y8 and Y9, in that order).
    pub fn check_intrinsic(&self, clock: Clock) -> Result<(), NotApplicable> {
        policy::check_intrinsic(
            &Candidate::of_manifest(&self.manifest, self.manifest_digest),
            clock,
        )
    }

    /// The last check of header depth (`spec/SPEC.md`, "Depth"), for a
    /// reader that knows the total length of its input (a file, not a
    /// pipe): the file must be exactly as long as its header declares
    /// (C16) [`malformed`]. Call it after the policy, before reading
    /// payloads; at full depth the end of the input is checked after the
    /// last payload byte instead.
    ///
    /// [`malformed`]: hpk_format::ErrorClass::Malformed
    pub fn check_file_len(&self, file_len: u64) -> Result<(), VerifyError> {
        let end = self.header.layout()?.end;
        match file_len.cmp(&end) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Less => Err(VerifyError::Container(
                hpk_format::ContainerError::Truncated {
                    section: if file_len < self.header.layout()?.payload {
                        hpk_format::Section::ChunkIndex
                    } else {
                        hpk_format::Section::PayloadArea
                    },
                },
            )),
            std::cmp::Ordering::Greater => Err(VerifyError::Container(
                hpk_format::ContainerError::TrailingBytes,
            )),
        }
    }
}

/// Checks a package head's signatures and decodes its manifest.
///
/// 1. Every signature record is checked against the keys of `root` over
///    the package's signed statement (signing context and manifest digest).
/// 2. The distinct valid signers must meet the threshold of a
///    package-signing role; only then is the manifest decoded.
/// 3. They must meet the threshold of the role the package's kind needs.
/// 4. The header's section lengths must equal what the manifest implies.
///
/// This is VP2–VP8 of `spec/SPEC.md`; the policy (VP9) comes next, before
/// any payload byte is read: [`VerifiedHead::check_policy`] with a device
/// profile, else [`VerifiedHead::check_intrinsic`]. (Reading payloads
/// refuses an unknown critical extension even when the caller skipped
/// the policy.)
pub fn verify_head(
    head: &Head,
    root: &TrustedRoot,
    limits: &Limits,
) -> Result<VerifiedHead, VerifyError> {
    // The manifest digest is the package's identity and, with the signing
    // context, its signed statement: hashed once, used for both.
    verify_head_with_digest(head, Digest::of(&head.body), root, limits)
}

/// [`verify_head`] for a caller that has already hashed the body
/// (`manifest_digest` MUST be `SHA-256(head.body)`), such as a fetch that
/// compared it with a catalog entry first (VF3).
pub(crate) fn verify_head_with_digest(
    head: &Head,
    manifest_digest: Digest,
    root: &TrustedRoot,
    limits: &Limits,
) -> Result<VerifiedHead, VerifyError> {
    let trust = root.root();
    let statement = statement_for_digest(FileType::Package, &manifest_digest);
    let report = SignerReport::check(&head.signatures, &statement, &trust.keys);
    if !PACKAGE_ROLES
        .iter()
        .any(|r| report.meets(trust.roles.get(*r)))
    {
        // Report the role that came closest (most valid signers, then the
        // lowest threshold), so that "got" and "needed" are of one role.
        let (got, needed) = PACKAGE_ROLES
            .iter()
            .map(|r| {
                let role = trust.roles.get(*r);
                (report.count_in(role), role.threshold)
            })
            .max_by_key(|&(got, needed)| (got, std::cmp::Reverse(needed)))
            .unwrap_or((0, 1));
        let other_role_keys = report.valid.iter().copied().collect();
        return Err(VerifyError::Signature(Box::new(ThresholdNotMet {
            what: "package".into(),
            role: None,
            needed,
            got,
            report,
            other_role_keys,
        })));
    }
    let manifest: Manifest = decode(&head.body, limits).map_err(VerifyError::Decode)?;
    let role = role_for(&manifest.kind);
    require_threshold(
        &report,
        role,
        trust.roles.get(role),
        &format!("{} package {}", manifest.kind.name(), manifest.name),
    )
    .map_err(VerifyError::Signature)?;
    // VP8 comes before the policy (VP9): unknown critical extensions are
    // a policy reason (Y2), judged after the lengths, in the order of the
    // policy (after Y1 when there is a device profile).
    if manifest.index_section_len() != Some(head.header.index_len) {
        return Err(VerifyError::Inconsistent {
            reason: format!(
                "header declares {} bytes of chunk indexes, the manifest implies {:?}",
                head.header.index_len,
                manifest.index_section_len()
            ),
        });
    }
    if manifest.payload_section_len() != Some(head.header.payload_len) {
        return Err(VerifyError::Inconsistent {
            reason: format!(
                "header declares {} payload bytes, the manifest implies {:?}",
                head.header.payload_len,
                manifest.payload_section_len()
            ),
        });
    }
    let role_keys = trust.roles.get(role);
    let signers = report
        .valid
        .iter()
        .filter(|k| role_keys.keys.contains(k))
        .copied()
        .collect();
    Ok(VerifiedHead {
        header: head.header,
        manifest_digest,
        manifest,
        role,
        signers,
    })
}

/// Receives a verified package's content, payload by payload.
pub trait PayloadSink {
    /// A payload starts.
    fn begin(&mut self, payload: &PayloadDescriptor) -> io::Result<()>;
    /// The next checked chunk of the current payload.
    fn data(&mut self, chunk: &[u8]) -> io::Result<()>;
    /// The current payload ended and its content SHA-256 matched.
    fn end(&mut self, payload: &PayloadDescriptor) -> io::Result<()>;
}

/// A package whose manifest is authentic, positioned at its chunk indexes.
///
/// It is the only type that hands out payload bytes, and only bytes of
/// chunks whose digests have matched the authenticated chunk index.
pub struct VerifiedPackage<R> {
    head: VerifiedHead,
    input: R,
}

impl<R: Read> VerifiedPackage<R> {
    /// Reads and verifies the head of a package from `input`.
    pub fn open(
        mut input: R,
        root: &TrustedRoot,
        limits: &Limits,
    ) -> Result<VerifiedPackage<R>, VerifyError> {
        let head = read_head(&mut input, FileType::Package, limits)?;
        let head = verify_head(&head, root, limits)?;
        Ok(VerifiedPackage { head, input })
    }

    /// Continues from a head verified by [`verify_head`], with `input`
    /// positioned right after it.
    pub fn from_verified(head: VerifiedHead, input: R) -> VerifiedPackage<R> {
        VerifiedPackage { head, input }
    }

    /// The verified head.
    pub fn head(&self) -> &VerifiedHead {
        &self.head
    }

    /// The authenticated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.head.manifest
    }

    /// No payload byte of a package with an unknown critical extension is
    /// ever read, even by a caller that did not apply the policy (which
    /// judges it in its place, Y2).
    fn refuse_unknown_critical(&self) -> Result<(), VerifyError> {
        policy::check_extensions(&self.head.manifest.extensions)?;
        Ok(())
    }

    /// Reads and authenticates every payload's chunk index.
    fn read_indexes(&mut self) -> Result<Vec<Vec<ChunkEntry>>, VerifyError> {
        let mut indexes = Vec::with_capacity(self.head.manifest.payloads.len());
        for desc in &self.head.manifest.payloads {
            let len = desc
                .index_len()
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| VerifyError::Inconsistent {
                    reason: format!("payload {}: chunk index too large", desc.name),
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
                    .map_err(|e| truncated(e, hpk_format::Section::ChunkIndex))?;
            }
            indexes.push(parse_chunk_index(&bytes, desc)?);
        }
        Ok(indexes)
    }

    /// Checks every stored byte against the authenticated chunk indexes and
    /// that nothing follows the payload area. `progress` is called with the
    /// stored bytes checked so far.
    ///
    /// This authenticates all of the package; it does not decompress. The
    /// uncompressed content and its SHA-256 are checked by
    /// [`VerifiedPackage::stream`] (and so by extraction).
    ///
    /// Chunks are hashed on every core (the calling thread reads ahead in
    /// large reads) and the results taken in order: progress, and the
    /// error for the first bad chunk, are those of a sequential check.
    pub fn verify_payloads(
        mut self,
        progress: &mut dyn FnMut(u64),
    ) -> Result<VerifiedHead, VerifyError> {
        self.refuse_unknown_critical()?;
        let indexes = self.read_indexes()?;
        let mut consumer = CheckProgress { done: 0, progress };
        parallel::run(
            &mut self.input,
            &self.head.manifest.payloads,
            &indexes,
            Mode::Check,
            Threads::Auto,
            &mut consumer,
        )?;
        expect_end(&mut self.input)?;
        Ok(self.head)
    }

    /// Streams every payload's content into `sink`, each chunk checked
    /// before it is decompressed, each payload's content SHA-256 checked
    /// before `sink.end`, and nothing allowed after the payload area.
    /// `progress` is called with the uncompressed bytes done so far.
    ///
    /// Chunks are checked and decompressed on every core and handed to
    /// `sink` in order, while another thread computes the content SHA-256;
    /// `sink` sees the same calls, and the caller the same error, as from
    /// a sequential reader.
    pub fn stream(
        mut self,
        sink: &mut dyn PayloadSink,
        progress: &mut dyn FnMut(u64),
    ) -> Result<VerifiedHead, VerifyError> {
        self.refuse_unknown_critical()?;
        let indexes = self.read_indexes()?;
        let payloads = &self.head.manifest.payloads;
        let mut consumer = StreamTo {
            payloads,
            sink,
            done: 0,
            progress,
        };
        parallel::run(
            &mut self.input,
            payloads,
            &indexes,
            Mode::Decode,
            Threads::Auto,
            &mut consumer,
        )?;
        expect_end(&mut self.input)?;
        Ok(self.head)
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
        .ok_or_else(|| VerifyError::Inconsistent {
            reason: format!("payload {payload} is not in the manifest"),
        })
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

fn truncated(e: io::Error, section: hpk_format::Section) -> VerifyError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            VerifyError::Container(hpk_format::ContainerError::Truncated { section })
        }
        _ => VerifyError::Container(hpk_format::ContainerError::Io(e)),
    }
}

/// Collects every payload in memory (for tests, fuzzing and small
/// packages): name and content, in manifest order.
#[derive(Default, Debug)]
pub struct MemorySink {
    /// Finished payloads.
    pub payloads: Vec<(String, Vec<u8>)>,
    current: Vec<u8>,
}

impl PayloadSink for MemorySink {
    fn begin(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        self.current.clear();
        Ok(())
    }
    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.current.extend_from_slice(chunk);
        Ok(())
    }
    fn end(&mut self, payload: &PayloadDescriptor) -> io::Result<()> {
        self.payloads
            .push((payload.name.to_string(), std::mem::take(&mut self.current)));
        Ok(())
    }
}
