//! The manifest: the signed description of a package.

use crate::codec::{Canonical, check_len, check_sorted};
use crate::digest::Digest;
use crate::error::{DecodeError, LimitExceeded};
use crate::extension::{Extension, validate_extensions};
use crate::limits::{Limits, MIN_CHUNK_SIZE};
use crate::names::{PackageName, PayloadName, Token};
use crate::trust_root::RoleName;
use crate::version::Version;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The signed description of a package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Package name.
    pub name: PackageName,
    /// Content version, e.g. `10.0.26100.4349`.
    pub version: Version,
    /// What kind of package this is, with the data of that kind.
    pub kind: PackageKind,
    /// Anti-rollback counter, separate from the content version: a device
    /// refuses packages below the floor it keeps.
    pub security_version: u64,
    /// Creation time, seconds since the Unix epoch (UTC).
    pub created: u64,
    /// Expiry time, seconds since the Unix epoch; none = never.
    pub expires: Option<u64>,
    /// Whether installing needs a restart.
    pub restart_required: bool,
    /// Which devices the package is for.
    pub targets: Targets,
    /// The payloads (files with content), in ascending name order; their
    /// chunk indexes and stored bytes follow the manifest in this order.
    pub payloads: Vec<PayloadDescriptor>,
    /// Symbolic links, in ascending name order.
    pub links: Vec<Link>,
    /// Empty folders, in ascending name order. Folders that hold a
    /// payload, a link or another folder are implied by those names and
    /// never listed.
    pub folders: Vec<PayloadName>,
    /// Extension records, ascending by id.
    pub extensions: Vec<Extension>,
}

/// The kind of a package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PackageKind {
    /// Cumulative, needs a restart.
    Baseline(BaselineInfo),
    /// Applied in memory on top of one exact baseline, no restart.
    Hotpatch(HotpatchInfo),
    /// Cumulative update for devices not eligible for hotpatches.
    Standard,
    /// Applied offline from a recovery environment.
    Recovery,
}

impl PackageKind {
    /// The trust-root role whose threshold a package of this kind needs
    /// (VP5): `release` for baselines and standard updates, `hotpatch`,
    /// `recovery`.
    pub fn signing_role(&self) -> RoleName {
        match self {
            PackageKind::Baseline(_) | PackageKind::Standard => RoleName::Release,
            PackageKind::Hotpatch(_) => RoleName::Hotpatch,
            PackageKind::Recovery => RoleName::Recovery,
        }
    }

    /// The kind's name: `baseline`, `hotpatch`, `standard` or `recovery`.
    pub fn name(&self) -> &'static str {
        match self {
            PackageKind::Baseline(_) => "baseline",
            PackageKind::Hotpatch(_) => "hotpatch",
            PackageKind::Standard => "standard",
            PackageKind::Recovery => "recovery",
        }
    }
}

/// What a baseline carries beyond the common fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineInfo {
    /// Manifest digests of hotpatches this baseline revokes, ascending.
    pub revoked_hotpatches: Vec<Digest>,
    /// The security-version floor a device raises itself to when it
    /// installs this baseline (at most this baseline's security version).
    pub security_floor: u64,
}

/// What a hotpatch carries beyond the common fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotpatchInfo {
    /// Digest of the manifest of the one baseline this hotpatch applies to.
    pub baseline: Digest,
    /// Position among the hotpatches of that baseline, from 1. Hotpatches
    /// are cumulative: a higher sequence contains all lower ones.
    pub sequence: u32,
    /// Modules patched in memory, ascending by path.
    pub modules: Vec<PatchedModule>,
}

/// A module a hotpatch patches, with the digest it must have beforehand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchedModule {
    /// Module path, e.g. `System32/ntoskrnl.exe`.
    pub path: PayloadName,
    /// SHA-256 the module must have before patching.
    pub digest_before: Digest,
}

/// The release channel of a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    /// Generally available.
    General,
    /// Preview: only for devices that opted in.
    Preview,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 2] = [Channel::General, Channel::Preview];

    /// `general` or `preview`.
    pub fn name(self) -> &'static str {
        match self {
            Channel::General => "general",
            Channel::Preview => "preview",
        }
    }

    /// The channel with this name.
    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Which devices a package is for. All of it is signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// OS family, e.g. `windows`, `linux`.
    pub os: Token,
    /// CPU architectures, ascending; at least one.
    pub architectures: Vec<Token>,
    /// Editions, ascending; empty = every edition.
    pub editions: Vec<Token>,
    /// Release channel.
    pub channel: Channel,
    /// Capabilities the device must all have, ascending.
    pub capabilities: Vec<Token>,
}

/// How a payload's chunks may be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    /// Every chunk is stored raw.
    None,
    /// Each chunk is an independent zstd frame, or raw where zstd does not
    /// make it smaller.
    Zstd,
    /// Each chunk is a delta chunk against the base (a file the device
    /// already has), a zstd frame or raw, whichever is smallest. Reading
    /// the content needs the base.
    Delta(DeltaBase),
    /// The content is a file the device already has, byte for byte: its
    /// SHA-256 is the payload's `content_digest` and its size the
    /// payload's `size`. The package stores no byte of it (no chunk).
    Unchanged,
}

impl Compression {
    /// `none`, `zstd`, `delta` or `unchanged`.
    pub fn name(&self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zstd => "zstd",
            Compression::Delta(_) => "delta",
            Compression::Unchanged => "unchanged",
        }
    }
}

/// The file a delta payload is the difference from, as the device has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeltaBase {
    /// SHA-256 of the base file.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A symbolic link: a name in the package that points at another.
///
/// The target is a name relative to the package's root, like every
/// payload name, not to the link's folder: so it is validated like a
/// payload name and cannot point outside the package. An extractor
/// writes it as the relative path from the link's folder to the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Where the link is.
    pub name: PayloadName,
    /// What it points at, relative to the package's root. It need not be
    /// in the package (a file the device already has, for example).
    pub target: PayloadName,
}

/// Describes one payload and commits to its chunk index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadDescriptor {
    /// Payload name: a safe relative path.
    pub name: PayloadName,
    /// Whether the file is a program: extracted with execute permission
    /// where the platform has one.
    pub executable: bool,
    /// How chunks may be stored.
    pub compression: Compression,
    /// Uncompressed size in bytes.
    pub size: u64,
    /// Stored size in bytes: the sum of the chunks' stored lengths.
    pub stored_size: u64,
    /// Uncompressed size of every chunk but the last.
    pub chunk_size: u32,
    /// Number of chunks: `ceil(size / chunk_size)`.
    pub chunk_count: u64,
    /// SHA-256 of this payload's chunk index.
    pub index_digest: Digest,
    /// SHA-256 of the uncompressed content.
    pub content_digest: Digest,
}

impl PayloadDescriptor {
    /// Uncompressed length of chunk `i`, or `None` if `i` is out of range.
    pub fn chunk_len(&self, i: u64) -> Option<u32> {
        if i >= self.chunk_count {
            return None;
        }
        let start = i.checked_mul(u64::from(self.chunk_size))?;
        let left = self.size.checked_sub(start)?;
        u32::try_from(left.min(u64::from(self.chunk_size))).ok()
    }

    /// The file the device must supply to rebuild this payload's content:
    /// the base of a delta payload, the file itself for an unchanged one,
    /// `None` for a payload stored whole.
    pub fn base(&self) -> Option<DeltaBase> {
        match self.compression {
            Compression::Delta(base) => Some(base),
            Compression::Unchanged => Some(DeltaBase {
                digest: self.content_digest,
                size: self.size,
            }),
            Compression::None | Compression::Zstd => None,
        }
    }

    /// Length of this payload's chunk index in bytes.
    pub fn index_len(&self) -> Option<u64> {
        self.chunk_count.checked_mul(crate::CHUNK_ENTRY_LEN as u64)
    }

    fn validate(&self, limits: &Limits) -> Result<(), DecodeError> {
        let field = "payload descriptor";
        if self.chunk_size < MIN_CHUNK_SIZE {
            return Err(DecodeError::invalid(
                field,
                format!(
                    "{}: chunk size {} is below {MIN_CHUNK_SIZE}",
                    self.name, self.chunk_size
                ),
            ));
        }
        if self.chunk_size > limits.chunk_size() {
            return Err(DecodeError::Limit(LimitExceeded {
                what: "chunk size",
                value: u64::from(self.chunk_size),
                max: u64::from(limits.chunk_size()),
            }));
        }
        if let Compression::Delta(base) = self.compression
            && base.size > limits.max_total_size
        {
            return Err(DecodeError::Limit(LimitExceeded {
                what: "delta base size",
                value: base.size,
                max: limits.max_total_size,
            }));
        }
        if self.compression == Compression::Unchanged {
            // Nothing stored: no chunk, an empty index.
            if self.chunk_count != 0 || self.stored_size != 0 || self.index_digest != empty_index()
            {
                return Err(DecodeError::invalid(
                    field,
                    format!(
                        "{}: an unchanged payload has no chunk, no stored byte and an empty index",
                        self.name
                    ),
                ));
            }
            return Ok(());
        }
        let expected_count = self.size.div_ceil(u64::from(self.chunk_size));
        if self.chunk_count != expected_count {
            return Err(DecodeError::invalid(
                field,
                format!(
                    "{}: chunk count {} but size {} needs {expected_count}",
                    self.name, self.chunk_count, self.size
                ),
            ));
        }
        if self.stored_size > self.size {
            return Err(DecodeError::invalid(
                field,
                format!("{}: stored size is larger than the content", self.name),
            ));
        }
        if self.compression == Compression::None && self.stored_size != self.size {
            return Err(DecodeError::invalid(
                field,
                format!(
                    "{}: uncompressed payload with a different stored size",
                    self.name
                ),
            ));
        }
        if self.size > 0 && self.stored_size == 0 {
            return Err(DecodeError::invalid(
                field,
                format!("{}: non-empty payload with no stored bytes", self.name),
            ));
        }
        Ok(())
    }
}

/// SHA-256 of an empty chunk index: the `index_digest` of a payload with
/// no chunk.
fn empty_index() -> Digest {
    Digest::of(&[])
}

impl Canonical for Manifest {
    fn validate(&self, limits: &Limits) -> Result<(), DecodeError> {
        if let Some(expires) = self.expires
            && expires <= self.created
        {
            return Err(DecodeError::invalid("expires", "must be after created"));
        }
        validate_targets(&self.targets, limits)?;
        validate_kind(
            &self.kind,
            self.security_version,
            self.restart_required,
            limits,
        )?;
        let count = (self.payloads.len() as u64)
            .saturating_add(self.links.len() as u64)
            .saturating_add(self.folders.len() as u64);
        if count > u64::from(limits.max_payloads) {
            return Err(DecodeError::Limit(LimitExceeded {
                what: "entry count (payloads, links and folders)",
                value: count,
                max: u64::from(limits.max_payloads),
            }));
        }
        check_sorted(&self.payloads, "payloads", |p| &p.name)?;
        check_sorted(&self.links, "links", |l| &l.name)?;
        check_sorted(&self.folders, "folders", |f| f)?;
        check_entry_names(self)?;
        let mut chunks = 0u64;
        let mut total = 0u64;
        for p in &self.payloads {
            p.validate(limits)?;
            chunks = chunks.saturating_add(p.chunk_count);
            total = total.saturating_add(p.size);
        }
        if chunks > limits.max_chunks {
            return Err(DecodeError::Limit(LimitExceeded {
                what: "total chunk count",
                value: chunks,
                max: limits.max_chunks,
            }));
        }
        if total > limits.max_total_size {
            return Err(DecodeError::Limit(LimitExceeded {
                what: "total payload size",
                value: total,
                max: limits.max_total_size,
            }));
        }
        validate_extensions(&self.extensions, limits)
    }
}

impl Manifest {
    /// Whether some payload is rebuilt from a file the device must
    /// already have (a delta or unchanged payload: [`PayloadDescriptor::base`]),
    /// which makes this a delta package.
    pub fn needs_bases(&self) -> bool {
        self.payloads.iter().any(|p| p.base().is_some())
    }

    /// Total length of the chunk-index section: the sum of every payload's
    /// index length. `None` on overflow.
    pub fn index_section_len(&self) -> Option<u64> {
        self.payloads
            .iter()
            .try_fold(0u64, |acc, p| acc.checked_add(p.index_len()?))
    }

    /// Total length of the payload area: the sum of stored sizes. `None` on
    /// overflow.
    pub fn payload_section_len(&self) -> Option<u64> {
        self.payloads
            .iter()
            .try_fold(0u64, |acc, p| acc.checked_add(p.stored_size))
    }
}

/// The rules of each kind, shared by manifests and catalog entries.
pub(crate) fn validate_kind(
    kind: &PackageKind,
    security_version: u64,
    restart_required: bool,
    limits: &Limits,
) -> Result<(), DecodeError> {
    match kind {
        PackageKind::Baseline(b) => {
            check_len(&b.revoked_hotpatches, "revoked hotpatch count", limits)?;
            check_sorted(&b.revoked_hotpatches, "revoked_hotpatches", |d| d)?;
            if b.security_floor > security_version {
                return Err(DecodeError::invalid(
                    "security_floor",
                    "above the baseline's own security version",
                ));
            }
            if !restart_required {
                return Err(DecodeError::invalid(
                    "restart_required",
                    "a baseline always needs a restart",
                ));
            }
        }
        PackageKind::Hotpatch(h) => {
            if h.sequence == 0 {
                return Err(DecodeError::invalid(
                    "sequence",
                    "hotpatch sequences start at 1",
                ));
            }
            check_len(&h.modules, "patched module count", limits)?;
            check_sorted(&h.modules, "modules", |m| &m.path)?;
            if restart_required {
                return Err(DecodeError::invalid(
                    "restart_required",
                    "a hotpatch never needs a restart",
                ));
            }
        }
        PackageKind::Standard => {
            if !restart_required {
                return Err(DecodeError::invalid(
                    "restart_required",
                    "a standard update always needs a restart",
                ));
            }
        }
        PackageKind::Recovery => {}
    }
    Ok(())
}

/// N9 and N10: every entry (payload, link, empty folder) has its own
/// name, and no entry's name is a folder of another's (`a` and `a/b`), so
/// that extraction never meets a name twice and no link or file stands
/// where a folder must be. Names compare byte for byte: a tree whose names
/// differ only by case (common on Linux) is a valid package, and on a file
/// system that ignores case, extraction's exclusive creation refuses it
/// (X2) instead of merging two files into one.
fn check_entry_names(m: &Manifest) -> Result<(), DecodeError> {
    let names = m
        .payloads
        .iter()
        .map(|p| &p.name)
        .chain(m.links.iter().map(|l| &l.name))
        .chain(m.folders.iter());
    let mut entries = HashSet::new();
    let mut parents = HashSet::new();
    for name in names {
        let text = name.as_str();
        for (i, _) in text.match_indices('/') {
            parents.insert(text.get(..i).unwrap_or_default());
        }
        if !entries.insert(text) {
            return Err(DecodeError::invalid(
                "payloads",
                format!("{name} names two entries"),
            ));
        }
    }
    if let Some(clash) = entries.iter().find(|e| parents.contains(*e)) {
        return Err(DecodeError::invalid(
            "payloads",
            format!("{clash} is an entry and a folder of another"),
        ));
    }
    Ok(())
}

pub(crate) fn validate_targets(t: &Targets, limits: &Limits) -> Result<(), DecodeError> {
    check_len(&t.architectures, "architecture count", limits)?;
    check_len(&t.editions, "edition count", limits)?;
    check_len(&t.capabilities, "capability count", limits)?;
    if t.architectures.is_empty() {
        return Err(DecodeError::invalid(
            "architectures",
            "at least one is required",
        ));
    }
    check_sorted(&t.architectures, "architectures", |x| x)?;
    check_sorted(&t.editions, "editions", |x| x)?;
    check_sorted(&t.capabilities, "capabilities", |x| x)
}
