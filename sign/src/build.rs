//! Building a package from a [`PackageDescription`], unsigned or signed as
//! it is written.
//!
//! Every payload file is checked before anything is written. The package
//! is then written through an [`AtomicFile`]: payloads are cut, compressed
//! and hashed (in manifest order, by one pipeline for all of them, in
//! `pipeline.rs`) straight into the payload area, at its final
//! offset, so memory stays independent of payload size and no byte is
//! copied twice; the header, the signature records, the manifest and the
//! chunk indexes, whose lengths were known in advance, go in front last.
//! A failure leaves nothing under the output name (an existing file there
//! is untouched) and no temporary file behind.
//!
//! The result is deterministic: the same description, payload bytes and
//! creation time give the same bytes, whatever the thread count.

use crate::delta_from::DeltaFrom;
use crate::description::{DescriptionError, PackageDescription, PayloadSource};
use crate::error::SignError;
use crate::keys::PublicKey;
use crate::payload_writer::{ChunkingOptions, WrittenPayload};
use crate::pipeline::{Against, Job, PipelineError, write_payloads};
use crate::signer::Signer;
use crate::signing::{checked_signature, in_role};
use crate::time;
use crate::tree::{Entries, Skipped};
use hpk_format::{
    ALG_ED25519, CHUNK_ENTRY_LEN, Compression, DecodeError, DeltaBase, Digest, FORMAT_MINOR,
    FileType, HEADER_LEN, Header, LimitExceeded, Limits, Manifest, PayloadDescriptor,
    SIGNATURE_RECORD_LEN, SignatureRecord, WriteError, canonicalize_signatures, encode_into,
    encoded_len, statement_for_digest,
};
use hpk_verify::TrustedRoot;
use hpk_verify::{AtomicFile, WriteBehind};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes of payload area gathered before each write to the package file.
const OUTPUT_BUFFER: usize = 1 << 20;

/// Name of the environment variable that fixes the creation time of
/// reproducible builds (<https://reproducible-builds.org/specs/source-date-epoch/>).
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// Options of [`build_package`].
#[derive(Default)]
pub struct BuildOptions<'a> {
    /// Compression threads per payload; 0 = one per core. Does not change
    /// the output.
    pub threads: usize,
    /// Limits the package must respect (also used to read a hotpatch's
    /// baseline package).
    pub limits: Limits,
    /// Creation time (Unix seconds) used when the description has no
    /// `created`. `None`: the `SOURCE_DATE_EPOCH` environment variable if
    /// set (see [`source_date_epoch`]), else the current time.
    pub source_date_epoch: Option<u64>,
    /// Called as payload bytes are processed, e.g. to draw a progress bar.
    pub progress: Option<&'a mut dyn FnMut(BuildProgress)>,
    /// Replace an existing file at the output path. `false` (the default):
    /// an existing file is never replaced, not even one that appears while
    /// the package is being built ([`BuildError::Exists`]).
    pub overwrite: bool,
    /// Signers whose signatures go into the package as it is written: the
    /// same bytes as building it unsigned and then signing it with each
    /// ([`crate::sign_package`]), without reading and rewriting the whole
    /// file a second time. A key given twice signs once.
    pub signers: &'a [&'a dyn Signer],
    /// With signers: the trust root whose role for the package's kind every
    /// signer's key must be in, checked before anything is read or written.
    pub root: Option<&'a TrustedRoot>,
    /// The earlier release this package is a delta of: each payload with a
    /// payload of the same name there is stored against it (SPEC.md W6),
    /// as unchanged if it is the same bytes, else as a delta payload whose
    /// chunks are each the smallest of raw, zstd and a delta chunk.
    pub delta_from: Option<&'a DeltaFrom>,
}

impl fmt::Debug for BuildOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildOptions")
            .field("threads", &self.threads)
            .field("limits", &self.limits)
            .field("source_date_epoch", &self.source_date_epoch)
            .field("progress", &self.progress.is_some())
            .field("overwrite", &self.overwrite)
            .field("signers", &self.signers.len())
            .field("root", &self.root.map(|r| r.root().version))
            .field("delta_from", &self.delta_from)
            .finish()
    }
}

/// How far a build is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildProgress {
    /// The payload being written: an index into
    /// the files of [`PackageDescription::entries`].
    pub payload: usize,
    /// How many payloads there are.
    pub payloads: usize,
    /// Payload bytes read so far, over all payloads.
    pub done: u64,
    /// Size of all payload files together.
    pub total: u64,
}

/// A package that [`build_package`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltPackage {
    /// Its manifest.
    pub manifest: Manifest,
    /// SHA-256 of the encoded manifest: what hotpatches name as their
    /// baseline, what baselines revoke and catalogs list.
    pub manifest_digest: Digest,
    /// File size in bytes.
    pub size: u64,
    /// Where it was written.
    pub path: PathBuf,
    /// Entries of folder trees left out (`unsupported = "skip"`).
    pub skipped: Vec<Skipped>,
}

/// The creation time `SOURCE_DATE_EPOCH` asks for: `None` when the
/// variable is unset or empty, an error when it is not a decimal number of
/// seconds.
pub fn source_date_epoch() -> Result<Option<u64>, BuildError> {
    let Some(value) = std::env::var_os(SOURCE_DATE_EPOCH) else {
        return Ok(None);
    };
    let text = value.to_string_lossy();
    if text.is_empty() {
        return Ok(None);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BuildError::SourceDateEpoch {
            value: text.into_owned(),
        });
    }
    text.parse::<u64>()
        .map(Some)
        .map_err(|_| BuildError::SourceDateEpoch {
            value: text.into_owned(),
        })
}

/// Builds the unsigned package `desc` describes and writes it atomically
/// to `out`. Relative paths in the description start from `base_dir`
/// (normally the description's folder).
pub fn build_package(
    desc: &PackageDescription,
    base_dir: &Path,
    out: &Path,
    options: &mut BuildOptions<'_>,
) -> Result<BuiltPackage, BuildError> {
    let limits = options.limits.clone();
    if out.file_name().is_none() {
        return Err(BuildError::Output {
            path: out.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        });
    }
    // Fail early, before reading or compressing anything; the final step
    // checks again.
    if !options.overwrite && std::fs::symlink_metadata(out).is_ok() {
        return Err(BuildError::Exists {
            path: out.to_path_buf(),
        });
    }
    let default_created = match (desc.created(), options.source_date_epoch) {
        (Some(_), _) => 0,
        (None, Some(t)) => t,
        (None, None) => source_date_epoch()?.unwrap_or_else(time::now),
    };
    let mut manifest = desc.to_manifest(base_dir, default_created, &limits)?;
    let signers = distinct_signers(options.signers, options.root, &manifest, &limits, out)?;
    let signatures_len = (signers.len() as u64).saturating_mul(SIGNATURE_RECORD_LEN as u64);

    // Read the folder trees and check every payload file before writing
    // anything.
    let Entries {
        files: sources,
        links,
        folders,
        skipped,
    } = desc.entries(base_dir)?;
    let count = (sources.len() as u64)
        .saturating_add(links.len() as u64)
        .saturating_add(folders.len() as u64);
    if count > u64::from(limits.max_payloads) {
        return Err(BuildError::Limit(LimitExceeded {
            what: "entry count (payloads, links and folders)",
            value: count,
            max: u64::from(limits.max_payloads),
        }));
    }
    // Each file's size and executable bit; its path stays in `sources`.
    let mut files = Vec::with_capacity(sources.len());
    let mut total = 0u64;
    let mut chunks = 0u64;
    for p in &sources {
        let (size, executable) = payload_file(p, &p.file)?;
        if p.chunk_size > limits.chunk_size() {
            return Err(BuildError::Limit(LimitExceeded {
                what: "chunk size",
                value: u64::from(p.chunk_size),
                max: u64::from(limits.chunk_size()),
            }));
        }
        total = total.saturating_add(size);
        chunks = chunks.saturating_add(size.div_ceil(u64::from(p.chunk_size)));
        files.push((size, executable));
    }
    if total > limits.max_total_size {
        return Err(BuildError::Limit(LimitExceeded {
            what: "total payload size",
            value: total,
            max: limits.max_total_size,
        }));
    }
    if chunks > limits.max_chunks {
        return Err(BuildError::Limit(LimitExceeded {
            what: "total chunk count",
            value: chunks,
            max: limits.max_chunks,
        }));
    }

    // The payload area is written in place, behind room left for the head
    // and the chunk indexes: their lengths are known now, since every
    // field of a payload descriptor but the name has a fixed width (the
    // placeholders below only stand in for widths, and each is replaced
    // by the payload's real descriptor once it is written) and an index
    // has 40 bytes per chunk. The head is written last, once the digests
    // are.
    manifest.links = links;
    manifest.folders = folders;
    manifest.payloads = Vec::with_capacity(sources.len());
    // What each payload is stored against, and where its base is in the
    // earlier release.
    let mut against = Vec::with_capacity(sources.len());
    let mut base_at = Vec::with_capacity(sources.len());
    for (p, (size, _)) in sources.iter().zip(&files) {
        let (a, at) = match options.delta_from {
            Some(from) => plan_against(from, p, *size)?,
            None => (Against::Nothing, None),
        };
        against.push(a);
        base_at.push(at);
    }
    let mut planned_index_len = 0u64;
    for ((p, (size, executable)), against) in sources.iter().zip(&files).zip(&against) {
        let (compression, chunk_count) = match *against {
            Against::Nothing => (p.compression, size.div_ceil(u64::from(p.chunk_size))),
            Against::Base(base) => (
                Compression::Delta(base),
                size.div_ceil(u64::from(p.chunk_size)),
            ),
            Against::Unchanged { .. } => (Compression::Unchanged, 0),
        };
        planned_index_len =
            planned_index_len.saturating_add(chunk_count.saturating_mul(CHUNK_ENTRY_LEN as u64));
        manifest.payloads.push(PayloadDescriptor {
            name: p.name.clone(),
            executable: *executable,
            compression,
            size: *size,
            stored_size: 0,
            chunk_size: p.chunk_size,
            chunk_count,
            index_digest: Digest([0; 32]),
            content_digest: Digest([0; 32]),
        });
    }
    let planned_body_len = encoded_len(&manifest).map_err(BuildError::Manifest)?;
    if planned_body_len > limits.body_len() {
        return Err(BuildError::Manifest(DecodeError::Limit(LimitExceeded {
            what: "encoded body length",
            value: planned_body_len,
            max: limits.body_len(),
        })));
    }
    let body_start = (HEADER_LEN as u64).saturating_add(signatures_len);
    let payload_start = body_start
        .saturating_add(planned_body_len)
        .saturating_add(planned_index_len);

    let output_error = |source: io::Error| BuildError::Output {
        path: out.to_path_buf(),
        source,
    };
    let mut package = AtomicFile::create(out).map_err(output_error)?;
    let file = package.file().map_err(output_error)?;
    file.seek(SeekFrom::Start(payload_start))
        .map_err(output_error)?;
    let jobs: Vec<Job<'_>> = sources
        .iter()
        .zip(&files)
        .zip(&against)
        .map(|((p, (size, _)), against)| Job {
            name: &p.name,
            chunking: ChunkingOptions {
                chunk_size: p.chunk_size,
                compression: p.compression,
                level: p.level,
                threads: options.threads,
            },
            size_hint: *size,
            against: *against,
        })
        .collect();
    // Where each payload's bytes start in the running total, for progress.
    let mut starts = Vec::with_capacity(files.len());
    let mut start = 0u64;
    for (size, _) in &files {
        starts.push(start);
        start = start.saturating_add(*size);
    }
    let mut report = |payload: usize, done: u64| {
        if let Some(cb) = options.progress.as_deref_mut() {
            let before = starts.get(payload).copied().unwrap_or(total);
            cb(BuildProgress {
                payload,
                payloads: sources.len(),
                done: before.saturating_add(done).min(total),
                total,
            });
        }
    };
    report(0, 0);
    let open = |i: usize| match sources.get(i) {
        Some(p) => File::open(&p.file),
        None => Err(io::Error::other("no such payload")),
    };
    // The chunk indexes, in payload order, as they will be in the file.
    let mut index_section = Vec::with_capacity(usize::try_from(planned_index_len).unwrap_or(0));
    let mut finished = |i: usize, written: WrittenPayload| {
        if let Some(slot) = manifest.payloads.get_mut(i) {
            let executable = slot.executable;
            *slot = written.descriptor;
            slot.executable = executable;
        }
        index_section.extend_from_slice(&written.index);
    };
    // Small payloads make small writes: buffer them into large ones. The
    // disk writes the payload area back as it comes, so that the flush
    // at the commit waits for the last pages only.
    let mut write_behind = WriteBehind::default();
    let mut output = BufWriter::with_capacity(
        OUTPUT_BUFFER,
        WritingBehind {
            file: &mut *file,
            write_behind: &mut write_behind,
        },
    );
    let delta_from = options.delta_from;
    let base_of = |i: usize| match (delta_from, base_at.get(i).copied().flatten()) {
        (Some(from), Some(at)) => from.content(at),
        _ => Err(io::Error::other("no base for this payload")),
    };
    let written = write_payloads(
        &jobs,
        open,
        Some(&base_of),
        &mut output,
        options.threads,
        &limits,
        &mut report,
        &mut finished,
    );
    let name_of = |i: usize| {
        sources
            .get(i)
            .map_or_else(String::new, |p| p.name.to_string())
    };
    let path_of = |i: usize| sources.get(i).map_or_else(PathBuf::new, |p| p.file.clone());
    written.map_err(|e| match e {
        PipelineError::Read { payload, source } => BuildError::PayloadRead {
            name: name_of(payload),
            file: path_of(payload),
            source,
        },
        PipelineError::Payload { payload, source } => BuildError::Payload {
            name: name_of(payload),
            source,
        },
        PipelineError::Base { payload, source } => BuildError::DeltaBase {
            name: name_of(payload),
            source,
        },
        PipelineError::Write(source) => output_error(source),
        PipelineError::Inconsistent(reason) => BuildError::Inconsistent {
            reason: reason.into(),
        },
    })?;
    output.flush().map_err(output_error)?;
    drop(output);
    write_behind.finish().map_err(output_error)?;
    for (i, (descriptor, (size, _))) in manifest.payloads.iter().zip(&files).enumerate() {
        if descriptor.size != *size {
            return Err(BuildError::PayloadChanged {
                name: name_of(i),
                file: path_of(i),
                expected: *size,
                found: descriptor.size,
            });
        }
    }
    // Only the manifest is needed from here on.
    drop(jobs);
    drop(starts);
    drop(files);
    drop(sources);

    let end = file.stream_position().map_err(output_error)?;
    let payload_len = end.saturating_sub(payload_start);
    let index_len = index_section.len() as u64;
    if index_len != planned_index_len
        || Some(index_len) != manifest.index_section_len()
        || Some(payload_len) != manifest.payload_section_len()
    {
        return Err(BuildError::Inconsistent {
            reason: "section lengths do not match the manifest or the planned layout".into(),
        });
    }
    // The manifest goes straight from its encoder into the file and its
    // digest: a manifest of 100,000 payloads is never held twice.
    file.seek(SeekFrom::Start(body_start))
        .map_err(output_error)?;
    let mut head = BufWriter::with_capacity(OUTPUT_BUFFER, &mut *file);
    let mut digest = Sha256::new();
    let mut write_error = None;
    let body_len = encode_into(&manifest, &limits, &mut |part| {
        digest.update(part);
        if write_error.is_none() {
            write_error = head.write_all(part).err();
        }
    })
    .map_err(BuildError::Manifest)?;
    if let Some(source) = write_error {
        return Err(output_error(source));
    }
    if body_len != planned_body_len {
        return Err(BuildError::Inconsistent {
            reason: "the manifest's length is not the planned one".into(),
        });
    }
    head.write_all(&index_section).map_err(output_error)?;
    head.flush().map_err(output_error)?;
    drop(head);
    if file.stream_position().map_err(output_error)? != payload_start {
        return Err(BuildError::Inconsistent {
            reason: "the head and indexes do not end where the payload area starts".into(),
        });
    }
    let manifest_digest = Digest(digest.finalize().into());
    let records = signature_records(&signers, &manifest_digest, out)?;
    let header = Header {
        minor: FORMAT_MINOR,
        file_type: FileType::Package,
        signature_count: u16::try_from(records.len()).unwrap_or(u16::MAX),
        body_len: planned_body_len,
        index_len,
        payload_len,
    };
    header.layout().map_err(|e| BuildError::Inconsistent {
        reason: e.to_string(),
    })?;
    file.seek(SeekFrom::Start(0)).map_err(output_error)?;
    let mut front = header.to_bytes().to_vec();
    for record in &records {
        front.extend_from_slice(&record.to_bytes());
    }
    if front.len() as u64 != body_start {
        return Err(BuildError::Inconsistent {
            reason: "the signature block is not the planned size".into(),
        });
    }
    file.write_all(&front).map_err(output_error)?;
    if options.overwrite {
        package.commit().map_err(output_error)?;
    } else {
        package.commit_new().map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                BuildError::Exists {
                    path: out.to_path_buf(),
                }
            } else {
                output_error(source)
            }
        })?;
    }

    Ok(BuiltPackage {
        manifest_digest,
        size: end,
        path: out.to_path_buf(),
        manifest,
        skipped,
    })
}

/// The signers, each key once, after checking with `root` that each key
/// is in the role `manifest`'s kind needs.
fn distinct_signers<'s>(
    signers: &[&'s dyn Signer],
    root: Option<&TrustedRoot>,
    manifest: &Manifest,
    limits: &Limits,
    out: &Path,
) -> Result<Vec<(&'s dyn Signer, PublicKey)>, BuildError> {
    let role = manifest.kind.signing_role();
    let mut distinct: Vec<(&'s dyn Signer, PublicKey)> = Vec::with_capacity(signers.len());
    for signer in signers {
        let public_key = signer.public_key();
        let key_id = public_key.key_id();
        if let Some(root) = root
            && !in_role(root, role, &key_id)
        {
            return Err(BuildError::Sign(SignError::NotInRole {
                path: out.to_path_buf(),
                key_id,
                role,
                kind: manifest.kind.name(),
            }));
        }
        if !distinct.iter().any(|(_, k)| k.key_id() == key_id) {
            distinct.push((*signer, public_key));
        }
    }
    // Never more records than every reader accepts.
    let max = limits.max_signatures.min(Limits::default().max_signatures);
    if distinct.len() > usize::from(max) {
        return Err(BuildError::Sign(SignError::TooManySignatures {
            path: out.to_path_buf(),
            count: distinct.len(),
            max,
        }));
    }
    Ok(distinct)
}

/// Each signer's record over the package's signed statement, checked
/// strictly against its public key as `hpk sign` checks it, in canonical
/// order.
fn signature_records(
    signers: &[(&dyn Signer, PublicKey)],
    manifest_digest: &Digest,
    out: &Path,
) -> Result<Vec<SignatureRecord>, BuildError> {
    let statement = statement_for_digest(FileType::Package, manifest_digest);
    let mut records = Vec::with_capacity(signers.len());
    for (signer, public_key) in signers {
        let signature = checked_signature(*signer, public_key, &statement, out, FileType::Package)
            .map_err(BuildError::Sign)?;
        records.push(SignatureRecord {
            algorithm: ALG_ED25519,
            key_id: public_key.key_id(),
            signature,
        });
    }
    canonicalize_signatures(&mut records);
    Ok(records)
}

/// What payload `p` (a file of `size` bytes) is stored against in a delta
/// build, and where its base is in `from`: unchanged if `from` has a
/// payload of the same name with the same bytes (by size, then SHA-256);
/// a delta of it if that payload's content is stored there; else
/// nothing.
fn plan_against(
    from: &DeltaFrom,
    p: &PayloadSource,
    size: u64,
) -> Result<(Against, Option<usize>), BuildError> {
    let Some((at, old)) = from.find(&p.name) else {
        return Ok((Against::Nothing, None));
    };
    if old.size == size {
        let digest = file_digest(&p.file).map_err(|source| BuildError::PayloadRead {
            name: p.name.to_string(),
            file: p.file.clone(),
            source,
        })?;
        if digest == old.content_digest {
            return Ok((Against::Unchanged { digest }, None));
        }
    }
    if !from.has_content(at) {
        // Itself a delta of an older file, which is not at hand here.
        return Ok((Against::Nothing, None));
    }
    let base = DeltaBase {
        digest: old.content_digest,
        size: old.size,
    };
    Ok((Against::Base(base), Some(at)))
}

/// SHA-256 of a file's content.
fn file_digest(path: &Path) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(Digest(hasher.finalize().into()));
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
}

/// The size of a payload file, which must exist and be a regular file,
/// and whether the payload is executable (as the description says, else
/// as the file's mode does).
fn payload_file(p: &PayloadSource, file: &Path) -> Result<(u64, bool), DescriptionError> {
    let error = |source: io::Error| DescriptionError::PayloadFile {
        name: p.name.to_string(),
        file: file.to_path_buf(),
        source,
    };
    let meta = fs::metadata(file).map_err(error)?;
    if meta.is_dir() {
        return Err(error(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a folder, not a file: to pack a folder tree, write dir = \"FOLDER\" (without name and file)",
        )));
    }
    if !meta.is_file() {
        return Err(error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is not a regular file",
        )));
    }
    let executable = match p.executable {
        Some(x) => x,
        None => crate::tree::file_is_executable(file).map_err(error)?,
    };
    Ok((meta.len(), executable))
}

/// Why a package could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The description is invalid, a payload file is missing, or the
    /// hotpatch's baseline cannot be used.
    Description(DescriptionError),
    /// `SOURCE_DATE_EPOCH` is set but is not a number of seconds.
    SourceDateEpoch {
        /// Its value.
        value: String,
    },
    /// The payloads are over the build's limits.
    Limit(LimitExceeded),
    /// Reading a payload file failed.
    PayloadRead {
        /// The payload's name.
        name: String,
        /// The file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A payload file changed size while the package was being built.
    PayloadChanged {
        /// The payload's name.
        name: String,
        /// The file.
        file: PathBuf,
        /// Its size when the build started.
        expected: u64,
        /// The number of bytes read.
        found: u64,
    },
    /// Cutting or compressing a payload failed.
    Payload {
        /// The payload's name.
        name: String,
        /// Why.
        source: WriteError,
    },
    /// The finished manifest breaks a rule of the format or a limit.
    Manifest(hpk_format::DecodeError),
    /// Writing the package failed.
    Output {
        /// The package path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The output file exists and [`BuildOptions::overwrite`] is not set;
    /// it is left as it was.
    Exists {
        /// The package path.
        path: PathBuf,
    },
    /// A signer given in [`BuildOptions::signers`] is not in the role the
    /// package needs, could not sign, or signed with another key.
    Sign(SignError),
    /// The base of a payload, in the release given as
    /// [`BuildOptions::delta_from`], could not be read.
    DeltaBase {
        /// The payload's name.
        name: String,
        /// Why.
        source: io::Error,
    },
    /// A bug: the parts of the package do not fit together.
    Inconsistent {
        /// What does not fit.
        reason: String,
    },
}

impl From<DescriptionError> for BuildError {
    fn from(e: DescriptionError) -> Self {
        BuildError::Description(e)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Description(e) => e.fmt(f),
            BuildError::SourceDateEpoch { value } => write!(
                f,
                "{SOURCE_DATE_EPOCH}={value:?} is not a number of seconds since 1970-01-01T00:00:00Z"
            ),
            BuildError::Limit(l) => write!(f, "package over the limits: {l}"),
            BuildError::PayloadRead { name, file, source } => {
                write!(f, "payload {name:?} file {}: {source}", file.display())
            }
            BuildError::PayloadChanged {
                name,
                file,
                expected,
                found,
            } => write!(
                f,
                "payload {name:?} file {} changed during the build: it had {expected} bytes, {found} were read",
                file.display()
            ),
            BuildError::Payload { name, source } => write!(f, "payload {name:?}: {source}"),
            BuildError::Manifest(e) => write!(f, "the manifest would be invalid: {e}"),
            BuildError::Output { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            BuildError::Exists { path } => {
                write!(f, "{} exists; pass --force to overwrite", path.display())
            }
            BuildError::Sign(e) => e.fmt(f),
            BuildError::DeltaBase { name, source } => {
                write!(f, "payload {name:?}: its base cannot be read: {source}")
            }
            BuildError::Inconsistent { reason } => {
                write!(f, "internal error while building the package: {reason}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Description(e) => Some(e),
            BuildError::PayloadRead { source, .. }
            | BuildError::Output { source, .. }
            | BuildError::DeltaBase { source, .. } => Some(source),
            BuildError::Payload { source, .. } => Some(source),
            BuildError::Manifest(e) => Some(e),
            BuildError::Sign(e) => Some(e),
            _ => None,
        }
    }
}

/// The package file, with its pages written back as the payload area is
/// written.
struct WritingBehind<'a> {
    file: &'a mut File,
    write_behind: &'a mut WriteBehind,
}

impl Write for WritingBehind<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.write_behind.wrote(n, self.file)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
