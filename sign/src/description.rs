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
use crate::tree::Entries;
use hpk_format::{
    BaselineInfo, Canonical, Channel, Compression, ContainerError, DEFAULT_CHUNK_SIZE, DecodeError,
    Digest, Extension, FileType, HotpatchInfo, Limits, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, Manifest,
    NameError, PackageKind, PackageName, PatchedModule, PayloadName, Targets, Token, TokenCategory,
    Version, decode, read_head,
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

pub use hpk_format::DEFAULT_ZSTD_LEVEL;

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
    name: Option<String>,
    file: Option<String>,
    dir: Option<String>,
    prefix: Option<String>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    unsupported: Option<Unsupported>,
    executable: Option<bool>,
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
    trees: Vec<TreeSource>,
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
    /// Whether the payload is executable; `None`: as the file's mode says
    /// (any execute bit, on Unix; never elsewhere).
    pub executable: Option<bool>,
}

/// A target token of a description that is not in the spec's registry of
/// well-known tokens ([`PackageDescription::unknown_tokens`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownToken {
    /// Where it is, e.g. `targets.architectures`.
    pub field: &'static str,
    /// The token.
    pub token: Token,
    /// What it names.
    pub category: TokenCategory,
    /// The well-known token it likely stands for, if any.
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:?} is not a well-known {}",
            self.field,
            self.token.as_str(),
            self.category.name()
        )?;
        match self.suggestion {
            Some(known) => write!(f, "; did you mean {known:?}?"),
            None => write!(
                f,
                "; only devices that report exactly {:?} will take the package",
                self.token.as_str()
            ),
        }
    }
}

/// A folder tree of a description (`dir = ...`): every file, link and
/// empty folder under it becomes an entry (see [`crate::tree`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeSource {
    /// The folder, relative to the description's folder.
    pub dir: PathBuf,
    /// The name the tree's entries go under in the package, if any.
    pub prefix: Option<PayloadName>,
    /// Paths under the tree an entry must match, if given; else every
    /// entry is taken.
    pub include: Option<Globs>,
    /// Paths under the tree that are left out (a folder that matches is
    /// left out with everything in it).
    pub exclude: Option<Globs>,
    /// What to do with an entry the package cannot carry.
    pub unsupported: Unsupported,
    /// Whether the files' chunks are zstd-compressed.
    pub compression: Compression,
    /// zstd level, 1 to 19 (ignored without compression).
    pub level: i32,
    /// Uncompressed chunk size in bytes.
    pub chunk_size: u32,
}

impl TreeSource {
    /// Whether the entry at `rel` (its path under the tree) is taken.
    pub fn takes(&self, rel: &str) -> bool {
        self.include.as_ref().is_none_or(|g| g.set.is_match(rel)) && !self.excluded(rel)
    }

    /// Whether `rel` matches an `exclude` pattern.
    pub fn excluded(&self, rel: &str) -> bool {
        self.exclude.as_ref().is_some_and(|g| g.set.is_match(rel))
    }
}

/// Glob patterns, as written and compiled. `*` and `?` stay within one
/// path component, `**` spans any number, `{a,b}` is either and `[ab]`
/// a set (the `globset` crate's syntax, with `/` as the separator).
#[derive(Clone, Debug)]
pub struct Globs {
    /// The patterns as written.
    pub patterns: Vec<String>,
    set: globset::GlobSet,
}

impl PartialEq for Globs {
    fn eq(&self, other: &Globs) -> bool {
        self.patterns == other.patterns
    }
}

impl Eq for Globs {}

/// What a folder tree does with an entry the package cannot carry: a name
/// that is not a valid payload name, a link that leads outside the
/// package, a FIFO, socket or device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unsupported {
    /// Refuse the description, naming the entry (the default).
    #[default]
    Error,
    /// Leave the entry out, and report it.
    Skip,
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

    /// The payloads given one file at a time (`file = ...`), ascending by
    /// name.
    pub fn payloads(&self) -> &[PayloadSource] {
        &self.payloads
    }

    /// The folder trees (`dir = ...`), in description order.
    pub fn trees(&self) -> &[TreeSource] {
        &self.trees
    }

    /// Every entry the package will hold: the payloads given one by one
    /// and everything the folder trees hold, each list ascending by name.
    /// Reads the trees (relative to `base_dir`); refuses two entries with
    /// one name, and an entry inside another that is not a folder.
    pub fn entries(&self, base_dir: &Path) -> Result<Entries, DescriptionError> {
        let mut all = Entries {
            files: self
                .payloads
                .iter()
                .map(|p| PayloadSource {
                    file: base_dir.join(&p.file),
                    ..p.clone()
                })
                .collect(),
            ..Entries::default()
        };
        for tree in &self.trees {
            let found = crate::tree::walk(tree, base_dir)?;
            all.files.extend(found.files);
            all.links.extend(found.links);
            all.folders.extend(found.folders);
            all.skipped.extend(found.skipped);
        }
        all.files.sort_by(|a, b| a.name.cmp(&b.name));
        all.links.sort_by(|a, b| a.name.cmp(&b.name));
        all.folders.sort();
        check_entry_names(&all)?;
        Ok(all)
    }

    /// Extensions, ascending by id.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The target tokens that are not in the spec's registry of
    /// well-known tokens, with a suggestion where one is likely meant
    /// (`x86_64`: `x64`). They are valid, but a device matches tokens
    /// byte for byte, so a misspelt one makes every device refuse the
    /// package.
    pub fn unknown_tokens(&self) -> Vec<UnknownToken> {
        let t = &self.targets;
        let lists: [(&'static str, TokenCategory, &[Token]); 4] = [
            ("targets.os", TokenCategory::Os, std::slice::from_ref(&t.os)),
            (
                "targets.architectures",
                TokenCategory::Architecture,
                &t.architectures,
            ),
            ("targets.editions", TokenCategory::Edition, &t.editions),
            (
                "targets.capabilities",
                TokenCategory::Capability,
                &t.capabilities,
            ),
        ];
        lists
            .into_iter()
            .flat_map(|(field, category, tokens)| {
                tokens
                    .iter()
                    .filter(move |token| !category.is_well_known(token.as_str()))
                    .map(move |token| UnknownToken {
                        field,
                        token: token.clone(),
                        category,
                        suggestion: category.suggest(token.as_str()),
                    })
            })
            .collect()
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
            links: Vec::new(),
            folders: Vec::new(),
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

    let (payloads, trees) = check_payloads(&raw.payloads)?;
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
        trees,
        extensions,
    })
}

/// How a `[[payloads]]` table stores its chunks.
struct Storage {
    compression: Compression,
    level: i32,
    chunk_size: u32,
}

fn check_storage(
    p: &RawPayload,
    field: &dyn Fn(&str) -> String,
) -> Result<Storage, DescriptionError> {
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
    Ok(Storage {
        compression,
        level,
        chunk_size,
    })
}

fn globs(field: String, patterns: &Option<Vec<String>>) -> Result<Option<Globs>, DescriptionError> {
    let Some(patterns) = patterns else {
        return Ok(None);
    };
    let mut builder = globset::GlobSetBuilder::new();
    for (i, pattern) in patterns.iter().enumerate() {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| invalid(format!("{field}[{i}]"), format!("{pattern:?}: {e}")))?;
        builder.add(glob);
    }
    let set = builder.build().map_err(|e| invalid(field, e.to_string()))?;
    Ok(Some(Globs {
        patterns: patterns.clone(),
        set,
    }))
}

fn check_tree(
    p: &RawPayload,
    dir: &str,
    storage: Storage,
    field: &dyn Fn(&str) -> String,
) -> Result<TreeSource, DescriptionError> {
    for (present, name, why) in [
        (
            p.name.is_some(),
            "name",
            "entries are named by their path under the folder (use prefix to put them under a folder)",
        ),
        (
            p.file.is_some(),
            "file",
            "give either file (one file) or dir (a folder tree)",
        ),
        (
            p.executable.is_some(),
            "executable",
            "each file's own mode says whether it is executable",
        ),
    ] {
        if present {
            return Err(invalid(field(name), format!("not allowed with dir: {why}")));
        }
    }
    if dir.is_empty() {
        return Err(invalid(
            field("dir"),
            "must not be empty (use \".\" for the description's folder)",
        ));
    }
    let prefix = p
        .prefix
        .as_deref()
        .map(|text| {
            PayloadName::new(text.trim_end_matches('/'))
                .map_err(|e| invalid(field("prefix"), format!("{text:?}: {e}")))
        })
        .transpose()?;
    Ok(TreeSource {
        dir: PathBuf::from(dir),
        prefix,
        include: globs(field("include"), &p.include)?,
        exclude: globs(field("exclude"), &p.exclude)?,
        unsupported: p.unsupported.unwrap_or_default(),
        compression: storage.compression,
        level: storage.level,
        chunk_size: storage.chunk_size,
    })
}

fn check_payloads(
    raw: &[RawPayload],
) -> Result<(Vec<PayloadSource>, Vec<TreeSource>), DescriptionError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut trees = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let field = |f: &str| format!("payloads[{i}].{f}");
        let storage = check_storage(p, &field)?;
        if let Some(dir) = &p.dir {
            trees.push(check_tree(p, dir, storage, &field)?);
            continue;
        }
        for (present, name) in [
            (p.prefix.is_some(), "prefix"),
            (p.include.is_some(), "include"),
            (p.exclude.is_some(), "exclude"),
            (p.unsupported.is_some(), "unsupported"),
        ] {
            if present {
                return Err(invalid(field(name), "only allowed with dir = \"FOLDER\""));
            }
        }
        let (Some(name), Some(file)) = (&p.name, &p.file) else {
            return Err(invalid(
                format!("payloads[{i}]"),
                "give name and file for one file, or dir for a folder tree",
            ));
        };
        let name = PayloadName::new(name).map_err(|source| DescriptionError::PayloadName {
            index: i,
            name: name.clone(),
            source,
        })?;
        if file.is_empty() {
            return Err(invalid(field("file"), "must not be empty"));
        }
        out.push((
            i,
            PayloadSource {
                name,
                file: PathBuf::from(file),
                compression: storage.compression,
                level: storage.level,
                chunk_size: storage.chunk_size,
                executable: p.executable,
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
    Ok((out.into_iter().map(|(_, p)| p).collect(), trees))
}

/// N9 and N10 over every entry: no name twice, and no entry inside
/// another that is not a folder (`lib` a file or link, and `lib/x.so`).
/// Names compare byte for byte; the error names the files on disk.
fn check_entry_names(entries: &Entries) -> Result<(), DescriptionError> {
    let mut seen: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let sources = entries
        .files
        .iter()
        .map(|f| (f.name.as_str(), format!("file {}", f.file.display())))
        .chain(
            entries
                .links
                .iter()
                .map(|l| (l.name.as_str(), format!("link to {}", l.target))),
        )
        .chain(
            entries
                .folders
                .iter()
                .map(|f| (f.as_str(), "empty folder".to_owned())),
        );
    for (name, source) in sources {
        if let Some(other) = seen.insert(name, source.clone()) {
            return Err(invalid(
                "payloads",
                format!("{name:?} names two entries ({other}, and {source}); leave one out"),
            ));
        }
    }
    for (name, source) in &seen {
        for (at, _) in name.match_indices('/') {
            let folder = name.get(..at).unwrap_or_default();
            if let Some(other) = seen.get(folder) {
                return Err(invalid(
                    "payloads",
                    format!(
                        "{name:?} ({source}) would be inside {folder:?}, which is not a folder ({other}); rename one of them"
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
    /// A folder tree (`dir = ...`) cannot be read, or holds an entry the
    /// package cannot carry.
    Tree {
        /// The folder or entry on disk.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
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
            DescriptionError::Tree { path, reason } => write!(f, "{}: {reason}", path.display()),
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
