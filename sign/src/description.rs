//! Package descriptions: the TOML file a release engineer writes to say
//! what a package is, whom it is for and which files it carries.
//!
//! [`PackageDescription::parse`] checks everything that can be checked
//! without touching the file system (names, tokens, digests, versions,
//! times, which tables go with which kind) and puts every list in the order
//! the canonical encoding requires. [`PackageDescription::to_manifest`]
//! then reads the files the description refers to (a hotpatch's baseline
//! package) and produces the [`Manifest`]; the package builder
//! ([`crate::build::build_package`]) adds the payload descriptors.
//!
//! The format is documented in `docs/package-description.md`.

use crate::time;
use hpk_format::{
    BaselineInfo, Canonical, Channel, Compression, ContainerError, DEFAULT_CHUNK_SIZE, DecodeError,
    Digest, Extension, FileType, HotpatchInfo, Limits, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, Manifest,
    NameError, PackageKind, PackageName, PatchedModule, PayloadName, Targets, Token, Version,
    decode, read_head,
};
use serde::Deserialize;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// The most bytes a package description file may hold (64 MiB, room for
/// 100,000 payloads listed one by one): a longer
/// file is refused before it is parsed.
pub const MAX_DESCRIPTION_LEN: usize = 64 << 20;

/// Default zstd level of a payload.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

// ---------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDescription {
    name: String,
    kind: RawKind,
    version: String,
    security_version: u64,
    created: Option<toml::Value>,
    expires: Option<toml::Value>,
    restart_required: Option<bool>,
    targets: RawTargets,
    baseline: Option<RawBaseline>,
    hotpatch: Option<RawHotpatch>,
    #[serde(default)]
    payloads: Vec<RawPayload>,
    #[serde(default)]
    extensions: Vec<RawExtension>,
}

#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Baseline,
    Hotpatch,
    Standard,
    Recovery,
}

impl RawKind {
    fn name(self) -> &'static str {
        match self {
            RawKind::Baseline => "baseline",
            RawKind::Hotpatch => "hotpatch",
            RawKind::Standard => "standard",
            RawKind::Recovery => "recovery",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    os: String,
    architectures: Vec<String>,
    #[serde(default)]
    editions: Vec<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    capabilities: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    #[serde(default)]
    security_floor: u64,
    #[serde(default)]
    revoke: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHotpatch {
    baseline: Option<String>,
    baseline_digest: Option<String>,
    sequence: u32,
    #[serde(default)]
    modules: Vec<RawModule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    path: String,
    digest_before: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    name: String,
    file: String,
    compression: Option<RawCompression>,
    level: Option<i32>,
    chunk_size: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawCompression {
    Zstd,
    None,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtension {
    id: u32,
    #[serde(default)]
    critical: bool,
    text: Option<String>,
    hex: Option<String>,
}

// ---------------------------------------------------------------------------
// The checked description.

/// A checked package description.
///
/// Every name, token, digest and version in it is valid, its lists are in
/// canonical order, and the tables match its kind. What depends on other
/// files (payload contents, a hotpatch's baseline package) is checked when
/// the manifest is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageDescription {
    name: PackageName,
    version: Version,
    kind: KindDescription,
    security_version: u64,
    created: Option<u64>,
    expires: Option<u64>,
    restart_required: bool,
    targets: Targets,
    payloads: Vec<PayloadSource>,
    extensions: Vec<Extension>,
}

/// The kind of the package, with the data of that kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KindDescription {
    /// A baseline: its floor and revocations (revocations ascending).
    Baseline(BaselineInfo),
    /// A hotpatch on top of one baseline.
    Hotpatch {
        /// The baseline it applies to.
        baseline: BaselineRef,
        /// Position among the hotpatches of that baseline, from 1.
        sequence: u32,
        /// Patched modules, ascending by path.
        modules: Vec<PatchedModule>,
    },
    /// A standard cumulative update.
    Standard,
    /// A recovery package.
    Recovery,
}

/// How a hotpatch description names its baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaselineRef {
    /// A baseline package file, relative to the description's folder; the
    /// digest of its manifest is used.
    File(PathBuf),
    /// The digest of the baseline's manifest.
    Digest(Digest),
}

/// One payload of a description: where its content comes from and how to
/// store it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadSource {
    /// The payload's name in the package.
    pub name: PayloadName,
    /// The file holding its content, relative to the description's folder.
    pub file: PathBuf,
    /// Whether chunks are zstd-compressed.
    pub compression: Compression,
    /// zstd level, 1 to 19 (ignored without compression).
    pub level: i32,
    /// Uncompressed chunk size in bytes.
    pub chunk_size: u32,
}

impl PackageDescription {
    /// Parses and checks the text of a description.
    pub fn parse(text: &str) -> Result<PackageDescription, DescriptionError> {
        let raw: RawDescription = toml::from_str(text).map_err(|e| DescriptionError::Syntax {
            message: e.to_string().trim_end().to_owned(),
        })?;
        check(raw)
    }

    /// Reads, parses and checks a description file. The file is opened
    /// once and read through [`MAX_DESCRIPTION_LEN`]: a longer one (or an
    /// endless stream) is refused with [`DescriptionError::TooLarge`]
    /// after reading one byte more than the cap.
    pub fn load(path: &Path) -> Result<PackageDescription, DescriptionError> {
        let read_error = |source| DescriptionError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.take(MAX_DESCRIPTION_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() > MAX_DESCRIPTION_LEN {
            return Err(DescriptionError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_DESCRIPTION_LEN,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            read_error(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })?;
        PackageDescription::parse(&text)
    }

    /// Package name.
    pub fn name(&self) -> &PackageName {
        &self.name
    }

    /// Content version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Kind, with the data of that kind.
    pub fn kind(&self) -> &KindDescription {
        &self.kind
    }

    /// Anti-rollback counter.
    pub fn security_version(&self) -> u64 {
        self.security_version
    }

    /// Creation time given in the description (Unix seconds), if any.
    pub fn created(&self) -> Option<u64> {
        self.created
    }

    /// Expiry time (Unix seconds), if any.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// Whether installing needs a restart.
    pub fn restart_required(&self) -> bool {
        self.restart_required
    }

    /// Targeting, with lists ascending and without repeats.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Payloads in manifest order (ascending name).
    pub fn payloads(&self) -> &[PayloadSource] {
        &self.payloads
    }

    /// Extensions, ascending by id.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The digest of the baseline manifest a hotpatch applies to, reading
    /// the baseline package if the description names a file (relative to
    /// `base_dir`). `None` for other kinds.
    ///
    /// Only the baseline's head is read and its signatures are not checked:
    /// the hotpatch commits to whatever manifest that file holds.
    pub fn baseline_digest(
        &self,
        base_dir: &Path,
        limits: &Limits,
    ) -> Result<Option<Digest>, DescriptionError> {
        match &self.kind {
            KindDescription::Hotpatch {
                baseline: BaselineRef::Digest(d),
                ..
            } => Ok(Some(*d)),
            KindDescription::Hotpatch {
                baseline: BaselineRef::File(file),
                ..
            } => read_baseline_digest(&base_dir.join(file), limits).map(Some),
            _ => Ok(None),
        }
    }

    /// The manifest of this package **without payloads** (the builder adds
    /// their descriptors once it has written them).
    ///
    /// `base_dir` is the folder relative paths start from (normally the
    /// description's folder); `default_created` is the creation time used
    /// when the description gives none (see
    /// [`crate::build::source_date_epoch`]). Checks every rule of the
    /// manifest that does not depend on the payloads, against `limits`.
    pub fn to_manifest(
        &self,
        base_dir: &Path,
        default_created: u64,
        limits: &Limits,
    ) -> Result<Manifest, DescriptionError> {
        let created = self.created.unwrap_or(default_created);
        if let Some(expires) = self.expires
            && expires <= created
        {
            return Err(invalid(
                "expires",
                format!(
                    "{} is not after the creation time {}",
                    time::rfc3339(expires),
                    time::rfc3339(created)
                ),
            ));
        }
        let kind = match &self.kind {
            KindDescription::Baseline(info) => PackageKind::Baseline(info.clone()),
            KindDescription::Hotpatch {
                baseline,
                sequence,
                modules,
            } => PackageKind::Hotpatch(HotpatchInfo {
                baseline: match baseline {
                    BaselineRef::Digest(d) => *d,
                    BaselineRef::File(file) => read_baseline_digest(&base_dir.join(file), limits)?,
                },
                sequence: *sequence,
                modules: modules.clone(),
            }),
            KindDescription::Standard => PackageKind::Standard,
            KindDescription::Recovery => PackageKind::Recovery,
        };
        let manifest = Manifest {
            name: self.name.clone(),
            version: self.version.clone(),
            kind,
            security_version: self.security_version,
            created,
            expires: self.expires,
            restart_required: self.restart_required,
            targets: self.targets.clone(),
            payloads: Vec::new(),
            extensions: self.extensions.clone(),
        };
        manifest
            .validate(limits)
            .map_err(DescriptionError::Manifest)?;
        Ok(manifest)
    }
}

/// Reads the head of a baseline package and returns its manifest digest.
fn read_baseline_digest(path: &Path, limits: &Limits) -> Result<Digest, DescriptionError> {
    let file_error = |source: ContainerError| DescriptionError::BaselineFile {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| file_error(ContainerError::Io(e)))?;
    let head =
        read_head(&mut BufReader::new(file), FileType::Package, limits).map_err(file_error)?;
    let manifest: Manifest =
        decode(&head.body, limits).map_err(|source| DescriptionError::BaselineManifest {
            path: path.to_path_buf(),
            source,
        })?;
    match manifest.kind {
        PackageKind::Baseline(_) => Ok(Digest::of(&head.body)),
        other => Err(DescriptionError::NotABaseline {
            path: path.to_path_buf(),
            kind: other.name(),
        }),
    }
}

// ---------------------------------------------------------------------------
// Checking.

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DescriptionError {
    DescriptionError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn token(field: &str, text: &str) -> Result<Token, DescriptionError> {
    Token::new(text).map_err(|e| invalid(field, format!("{text:?}: {e}")))
}

/// Tokens of a list, ascending, repeats dropped.
fn tokens(field: &str, list: &[String]) -> Result<Vec<Token>, DescriptionError> {
    let mut out = list
        .iter()
        .enumerate()
        .map(|(i, t)| token(&format!("{field}[{i}]"), t))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn digest(field: &str, text: &str) -> Result<Digest, DescriptionError> {
    let bad = || {
        invalid(
            field,
            format!("{text:?} is not a SHA-256 digest (64 hexadecimal characters)"),
        )
    };
    if text.len() != 64 {
        return Err(bad());
    }
    Digest::from_hex(text).ok_or_else(bad)
}

fn time_value(field: &str, value: &toml::Value) -> Result<u64, DescriptionError> {
    match value {
        toml::Value::Datetime(dt) => {
            time::unix_seconds(dt).map_err(|reason| invalid(field, reason))
        }
        toml::Value::Integer(n) => u64::try_from(*n).map_err(|_| {
            invalid(
                field,
                format!("{n} is negative; give seconds since 1970-01-01T00:00:00Z"),
            )
        }),
        toml::Value::String(s) => Err(invalid(
            field,
            format!(
                "{s:?} is a string; write the date without quotes (e.g. 2026-01-14T00:00:00Z) or an integer number of seconds"
            ),
        )),
        other => Err(invalid(
            field,
            format!(
                "expected a date-time with offset (e.g. 2026-01-14T00:00:00Z) or an integer number of seconds, found a {}",
                other.type_str()
            ),
        )),
    }
}

fn check(raw: RawDescription) -> Result<PackageDescription, DescriptionError> {
    let name =
        PackageName::new(&raw.name).map_err(|e| invalid("name", format!("{:?}: {e}", raw.name)))?;
    let version: Version = raw
        .version
        .parse()
        .map_err(|e| invalid("version", format!("{:?}: {e}", raw.version)))?;
    let created = raw
        .created
        .as_ref()
        .map(|v| time_value("created", v))
        .transpose()?;
    let expires = raw
        .expires
        .as_ref()
        .map(|v| time_value("expires", v))
        .transpose()?;
    if let (Some(c), Some(e)) = (created, expires)
        && e <= c
    {
        return Err(invalid(
            "expires",
            format!(
                "{} is not after created ({})",
                time::rfc3339(e),
                time::rfc3339(c)
            ),
        ));
    }

    let kind_name = raw.kind.name();
    let misplaced = |table: &str| {
        invalid(
            table,
            format!(
                "the [{table}] table is only allowed with kind = \"{table}\", and kind is \"{kind_name}\""
            ),
        )
    };
    if raw.baseline.is_some() && raw.kind != RawKind::Baseline {
        return Err(misplaced("baseline"));
    }
    if raw.hotpatch.is_some() && raw.kind != RawKind::Hotpatch {
        return Err(misplaced("hotpatch"));
    }
    let kind = match raw.kind {
        RawKind::Baseline => {
            let b = raw.baseline.unwrap_or(RawBaseline {
                security_floor: 0,
                revoke: Vec::new(),
            });
            if b.security_floor > raw.security_version {
                return Err(invalid(
                    "baseline.security_floor",
                    format!(
                        "{} is above the package's own security_version {}",
                        b.security_floor, raw.security_version
                    ),
                ));
            }
            let mut revoked = b
                .revoke
                .iter()
                .enumerate()
                .map(|(i, d)| digest(&format!("baseline.revoke[{i}]"), d))
                .collect::<Result<Vec<_>, _>>()?;
            revoked.sort();
            revoked.dedup();
            KindDescription::Baseline(BaselineInfo {
                revoked_hotpatches: revoked,
                security_floor: b.security_floor,
            })
        }
        RawKind::Hotpatch => {
            let Some(h) = raw.hotpatch else {
                return Err(invalid(
                    "hotpatch",
                    "kind = \"hotpatch\" needs a [hotpatch] table with the baseline and the sequence",
                ));
            };
            let baseline = match (h.baseline, h.baseline_digest) {
                (Some(file), None) => BaselineRef::File(PathBuf::from(file)),
                (None, Some(d)) => BaselineRef::Digest(digest("hotpatch.baseline_digest", &d)?),
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "hotpatch",
                        "give either baseline (a package file) or baseline_digest, not both",
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        "hotpatch",
                        "name the baseline with baseline = \"FILE.hpk\" or baseline_digest = \"<64 hex>\"",
                    ));
                }
            };
            if h.sequence == 0 {
                return Err(invalid("hotpatch.sequence", "sequences start at 1"));
            }
            let mut modules = Vec::with_capacity(h.modules.len());
            for (i, m) in h.modules.iter().enumerate() {
                let path = PayloadName::new(&m.path).map_err(|e| {
                    invalid(
                        format!("hotpatch.modules[{i}].path"),
                        format!("{:?}: {e}", m.path),
                    )
                })?;
                let digest_before = digest(
                    &format!("hotpatch.modules[{i}].digest_before"),
                    &m.digest_before,
                )?;
                modules.push((
                    i,
                    PatchedModule {
                        path,
                        digest_before,
                    },
                ));
            }
            modules.sort_by(|a, b| a.1.path.cmp(&b.1.path).then(a.0.cmp(&b.0)));
            for pair in modules.windows(2) {
                if let [(i, a), (j, b)] = pair
                    && a.path == b.path
                {
                    let (first, second) = ((*i).min(*j), (*i).max(*j));
                    return Err(invalid(
                        format!("hotpatch.modules[{second}]"),
                        format!(
                            "module {:?} is already listed as hotpatch.modules[{first}]",
                            a.path.as_str()
                        ),
                    ));
                }
            }
            KindDescription::Hotpatch {
                baseline,
                sequence: h.sequence,
                modules: modules.into_iter().map(|(_, m)| m).collect(),
            }
        }
        RawKind::Standard => KindDescription::Standard,
        RawKind::Recovery => KindDescription::Recovery,
    };

    let restart_required = match (raw.kind, raw.restart_required) {
        (RawKind::Baseline, Some(false)) => {
            return Err(invalid(
                "restart_required",
                "a baseline always needs a restart; remove the field or set it to true",
            ));
        }
        (RawKind::Hotpatch, Some(true)) => {
            return Err(invalid(
                "restart_required",
                "a hotpatch never needs a restart (use kind = \"standard\" for an update that does)",
            ));
        }
        (_, Some(r)) => r,
        (RawKind::Hotpatch, None) => false,
        (_, None) => true,
    };

    let t = &raw.targets;
    let architectures = tokens("targets.architectures", &t.architectures)?;
    if architectures.is_empty() {
        return Err(invalid(
            "targets.architectures",
            "list at least one architecture, e.g. [\"x64\"]",
        ));
    }
    let targets = Targets {
        os: token("targets.os", &t.os)?,
        architectures,
        editions: tokens("targets.editions", &t.editions)?,
        channel: match t.channel.as_deref() {
            None => Channel::General,
            Some(name) => Channel::from_name(name).ok_or_else(|| {
                invalid(
                    "targets.channel",
                    format!("{name:?}: expected \"general\" or \"preview\""),
                )
            })?,
        },
        capabilities: tokens("targets.capabilities", &t.capabilities)?,
    };

    let payloads = check_payloads(&raw.payloads)?;
    let extensions = check_extensions(&raw.extensions)?;

    Ok(PackageDescription {
        name,
        version,
        kind,
        security_version: raw.security_version,
        created,
        expires,
        restart_required,
        targets,
        payloads,
        extensions,
    })
}

fn check_payloads(raw: &[RawPayload]) -> Result<Vec<PayloadSource>, DescriptionError> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let name = PayloadName::new(&p.name).map_err(|source| DescriptionError::PayloadName {
            index: i,
            name: p.name.clone(),
            source,
        })?;
        let field = |f: &str| format!("payloads[{i}].{f}");
        if p.file.is_empty() {
            return Err(invalid(field("file"), "must not be empty"));
        }
        let compression = match p.compression {
            None | Some(RawCompression::Zstd) => Compression::Zstd,
            Some(RawCompression::None) => Compression::None,
        };
        let level = match (compression, p.level) {
            (Compression::None, Some(_)) => {
                return Err(invalid(
                    field("level"),
                    "a zstd level makes no sense with compression = \"none\"",
                ));
            }
            (_, Some(l)) if !(1..=19).contains(&l) => {
                return Err(invalid(field("level"), format!("{l} is outside 1..=19")));
            }
            (_, Some(l)) => l,
            (_, None) => DEFAULT_ZSTD_LEVEL,
        };
        let chunk_size = p.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(invalid(
                field("chunk_size"),
                format!("{chunk_size} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE}"),
            ));
        }
        out.push((
            i,
            PayloadSource {
                name,
                file: PathBuf::from(&p.file),
                compression,
                level,
                chunk_size,
            },
        ));
    }
    out.sort_by(|a, b| a.1.name.cmp(&b.1.name).then(a.0.cmp(&b.0)));
    for pair in out.windows(2) {
        if let [(first, a), (second, b)] = pair
            && a.name == b.name
        {
            return Err(DescriptionError::DuplicatePayload {
                name: a.name.to_string(),
                first: *first,
                second: *second,
            });
        }
    }
    check_portable_names(&out)?;
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

/// Names that one case-insensitive file system would hold as one file
/// (`README` and `readme`), or as a file and a folder (`Lib` and
/// `lib/x.so`): the manifest refuses them (N9, N10); say so here, naming
/// both entries.
fn check_portable_names(sorted: &[(usize, PayloadSource)]) -> Result<(), DescriptionError> {
    let mut files: std::collections::HashMap<String, (usize, &str)> =
        std::collections::HashMap::with_capacity(sorted.len());
    for (i, p) in sorted {
        let folded = p.name.as_str().to_ascii_lowercase();
        if let Some((j, other)) = files.insert(folded, (*i, p.name.as_str())) {
            return Err(invalid(
                format!("payloads[{i}].name"),
                format!(
                    "{:?} differs from payloads[{j}].name {other:?} only by case, and a \
                     case-insensitive file system holds one file for both; rename one of them",
                    p.name.as_str()
                ),
            ));
        }
    }
    for (i, p) in sorted {
        let folded = p.name.as_str().to_ascii_lowercase();
        for (at, _) in folded.match_indices('/') {
            let folder = folded.get(..at).unwrap_or_default();
            if let Some((j, other)) = files.get(folder) {
                return Err(invalid(
                    format!("payloads[{i}].name"),
                    format!(
                        "{:?} puts a file inside payloads[{j}].name {other:?}, which is a file \
                         (names compare with ASCII case folding); rename one of them",
                        p.name.as_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_extensions(raw: &[RawExtension]) -> Result<Vec<Extension>, DescriptionError> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, e) in raw.iter().enumerate() {
        let field = |f: &str| format!("extensions[{i}]{f}");
        if e.id == 0 {
            return Err(invalid(field(".id"), "extension id 0 is reserved"));
        }
        let data = match (&e.text, &e.hex) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(h)) => hex::decode(h.trim())
                .map_err(|err| invalid(field(".hex"), format!("not hexadecimal: {err}")))?,
            _ => {
                return Err(invalid(
                    field(""),
                    "give the data as exactly one of text = \"…\" or hex = \"…\"",
                ));
            }
        };
        out.push((
            i,
            Extension {
                id: e.id,
                critical: e.critical,
                data,
            },
        ));
    }
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id).then(a.0.cmp(&b.0)));
    for pair in out.windows(2) {
        if let [(first, a), (second, b)] = pair
            && a.id == b.id
        {
            return Err(invalid(
                format!("extensions[{second}].id"),
                format!("id {} is already used by extensions[{first}]", a.id),
            ));
        }
    }
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

// ---------------------------------------------------------------------------
// Errors.

/// Why a package description was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum DescriptionError {
    /// The description file could not be read.
    Read {
        /// The description file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The description file is longer than [`MAX_DESCRIPTION_LEN`].
    TooLarge {
        /// The description file.
        path: PathBuf,
        /// The cap, in bytes.
        limit: usize,
    },
    /// Not TOML, or not the expected shape: a missing or unknown field, a
    /// value of the wrong type, an unknown kind. The message names the
    /// field and its line.
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A field has a value that is not allowed.
    Invalid {
        /// The field, e.g. `targets.architectures[1]` or `payloads[2].level`.
        field: String,
        /// Why, and what to write instead.
        reason: String,
    },
    /// A payload name is malformed or unsafe.
    PayloadName {
        /// Position of the entry among `[[payloads]]`, from 0.
        index: usize,
        /// The name as written.
        name: String,
        /// What is wrong with it.
        source: NameError,
    },
    /// Two payloads have the same name.
    DuplicatePayload {
        /// The name.
        name: String,
        /// Position of the first entry among `[[payloads]]`, from 0.
        first: usize,
        /// Position of the second entry.
        second: usize,
    },
    /// A payload's file is missing or is not a regular file.
    PayloadFile {
        /// The payload's name.
        name: String,
        /// The file, as resolved against the base folder.
        file: PathBuf,
        /// Why it cannot be used.
        source: io::Error,
    },
    /// The baseline package named by `hotpatch.baseline` could not be read
    /// or is not a package.
    BaselineFile {
        /// The baseline file, as resolved against the base folder.
        path: PathBuf,
        /// Why.
        source: ContainerError,
    },
    /// The baseline package's manifest does not decode.
    BaselineManifest {
        /// The baseline file.
        path: PathBuf,
        /// Why.
        source: DecodeError,
    },
    /// `hotpatch.baseline` names a package that is not a baseline.
    NotABaseline {
        /// The file.
        path: PathBuf,
        /// Its kind: `hotpatch`, `standard` or `recovery`.
        kind: &'static str,
    },
    /// The manifest the description gives breaks a rule of the format or
    /// a limit.
    Manifest(DecodeError),
}

impl fmt::Display for DescriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DescriptionError::Read { path, source } => {
                write!(
                    f,
                    "cannot read package description {}: {source}",
                    path.display()
                )
            }
            DescriptionError::TooLarge { path, limit } => write!(
                f,
                "package description {} is larger than {limit} bytes, the most a description may be",
                path.display()
            ),
            DescriptionError::Syntax { message } => {
                write!(f, "invalid package description: {message}")
            }
            DescriptionError::Invalid { field, reason } => write!(f, "{field}: {reason}"),
            DescriptionError::PayloadName {
                index,
                name,
                source,
            } => write!(
                f,
                "payloads[{index}].name {name:?}: {source}; rename it: a payload name is printable \
                 ASCII without \\ : * ? \" < > |, in components of 1 to 255 bytes that are not \
                 '.', '..', Windows device names (CON, NUL, COM1.txt…) or ending in '.' or ' '"
            ),
            DescriptionError::DuplicatePayload {
                name,
                first,
                second,
            } => write!(
                f,
                "payloads[{first}] and payloads[{second}] are both named {name:?}; payload names must be unique"
            ),
            DescriptionError::PayloadFile { name, file, source } => {
                write!(f, "payload {name:?} file {}: {source}", file.display())
            }
            DescriptionError::BaselineFile { path, source } => {
                write!(f, "hotpatch.baseline {}: {source}", path.display())
            }
            DescriptionError::BaselineManifest { path, source } => write!(
                f,
                "hotpatch.baseline {}: the manifest does not decode: {source}",
                path.display()
            ),
            DescriptionError::NotABaseline { path, kind } => write!(
                f,
                "hotpatch.baseline {} is a {kind} package, not a baseline",
                path.display()
            ),
            DescriptionError::Manifest(e) => write!(f, "the package would be invalid: {e}"),
        }
    }
}

impl std::error::Error for DescriptionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DescriptionError::Read { source, .. }
            | DescriptionError::PayloadFile { source, .. } => Some(source),
            DescriptionError::PayloadName { source, .. } => Some(source),
            DescriptionError::BaselineFile { source, .. } => Some(source),
            DescriptionError::BaselineManifest { source, .. }
            | DescriptionError::Manifest(source) => Some(source),
            _ => None,
        }
    }
}
