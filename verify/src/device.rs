//! The device profile: what a device is and what it has installed, as the
//! policy sees it. Written as TOML by agents and recovery tools
//! (`docs/device-profile.md`).

use crate::clock::Clock;
use crate::document::Verified;
use crate::trust::{TrustedRoot, floor_under};
use hpk_format::{Catalog, Channel, Digest, ErrorClass, Manifest, PackageKind, Token};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which verification profile applies (`spec/SPEC.md`, "Profiles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProfileMode {
    /// An update agent on a running device: trusted clock, expiry enforced,
    /// baseline, hotpatch and standard packages.
    #[default]
    Online,
    /// A recovery environment: no trusted clock (only a lower bound on the
    /// time), rollback floor from the last good boot, recovery and baseline
    /// packages only.
    Recovery,
}

impl ProfileMode {
    /// `online` or `recovery`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileMode::Online => "online",
            ProfileMode::Recovery => "recovery",
        }
    }
}

/// A device as the policy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceProfile {
    /// Online agent or offline recovery.
    pub mode: ProfileMode,
    /// OS family, e.g. `windows`.
    pub os: Token,
    /// CPU architecture, e.g. `x64`.
    pub architecture: Token,
    /// Edition, e.g. `enterprise`; none for a device without editions
    /// (most Linux devices), which takes only packages for every edition.
    pub edition: Option<Token>,
    /// Channels the device takes packages from (`general` at least).
    pub channels: Vec<Channel>,
    /// Capabilities the device has, e.g. `vbs`.
    pub capabilities: Vec<Token>,
    /// Manifest digest of the installed baseline, if known.
    pub installed_baseline: Option<Digest>,
    /// Sequence of the newest hotpatch installed on that baseline (0 = none).
    pub installed_hotpatch_sequence: u32,
    /// The security-version floor the device keeps (from the last good boot
    /// in recovery).
    pub security_floor: u64,
    /// Manifest digests the device knows to be revoked.
    pub revoked: Vec<Digest>,
    /// A lower bound on the current time, for the recovery profile.
    pub time_lower_bound: Option<u64>,
    /// The newest catalog version the device has accepted (rollback floor).
    pub catalog_version: u64,
    /// The digest of the `catalog` role ([`TrustedRoot::catalog_role`])
    /// under which `catalog_version` was accepted. When the trusted root's
    /// catalog role differs, the floor no longer holds
    /// ([`DeviceProfile::catalog_floor`]). `None` (not recorded): the floor
    /// always holds.
    pub catalog_role: Option<Digest>,
}

/// Why a device profile could not be read, written or saved.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeviceError {
    /// The text is not a valid device profile (`docs/device-profile.md`).
    Invalid {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A counter is above what TOML can hold (`i64::MAX`).
    Unrepresentable {
        /// The field.
        field: &'static str,
    },
    /// Saving the file failed; the file is as it was.
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl DeviceError {
    /// The layer of this error: `malformed` for a profile that does not
    /// read, `limit` for one that cannot be written, `io` for a save.
    pub fn class(&self) -> ErrorClass {
        match self {
            DeviceError::Invalid { .. } => ErrorClass::Malformed,
            DeviceError::Unrepresentable { .. } => ErrorClass::Limit,
            DeviceError::Io { .. } => ErrorClass::Io,
        }
    }
}

fn invalid(reason: String) -> DeviceError {
    DeviceError::Invalid { reason }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::Invalid { reason } => write!(f, "invalid device profile: {reason}"),
            DeviceError::Unrepresentable { field } => write!(
                f,
                "device profile cannot be written: {field} is above what TOML can hold (2^63 - 1)"
            ),
            DeviceError::Io { path, source } => {
                write!(
                    f,
                    "cannot save the device profile {}: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for DeviceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeviceError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    #[serde(default)]
    profile: Option<String>,
    os: String,
    architecture: String,
    #[serde(default)]
    edition: Option<String>,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    installed_baseline: Option<String>,
    #[serde(default)]
    installed_hotpatch_sequence: u32,
    #[serde(default)]
    security_floor: u64,
    #[serde(default)]
    revoked: Vec<String>,
    #[serde(default)]
    time_lower_bound: Option<u64>,
    #[serde(default)]
    catalog_version: u64,
    #[serde(default)]
    catalog_role: Option<String>,
}

fn token(field: &str, text: &str) -> Result<Token, DeviceError> {
    Token::new(text).map_err(|e| invalid(format!("{field} {text:?}: {e}")))
}

fn digest(field: &str, text: &str) -> Result<Digest, DeviceError> {
    Digest::from_hex(text)
        .ok_or_else(|| invalid(format!("{field} {text:?}: expected 64 hex digits")))
}

impl DeviceProfile {
    /// Parses a device profile from TOML (`docs/device-profile.md`).
    pub fn from_toml(text: &str) -> Result<DeviceProfile, DeviceError> {
        let raw: RawDevice = toml::from_str(text).map_err(|e| invalid(e.message().to_owned()))?;
        let mode = match raw.profile.as_deref() {
            None | Some("online") => ProfileMode::Online,
            Some("recovery") => ProfileMode::Recovery,
            Some(other) => {
                return Err(invalid(format!(
                    "profile {other:?}: expected \"online\" or \"recovery\""
                )));
            }
        };
        let channels = match raw.channels {
            None => vec![Channel::General],
            Some(list) => list
                .iter()
                .map(|c| {
                    Channel::from_name(c).ok_or_else(|| {
                        invalid(format!(
                            "channel {c:?}: expected \"general\" or \"preview\""
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(DeviceProfile {
            mode,
            os: token("os", &raw.os)?,
            architecture: token("architecture", &raw.architecture)?,
            edition: raw
                .edition
                .as_deref()
                .map(|e| token("edition", e))
                .transpose()?,
            channels,
            capabilities: raw
                .capabilities
                .iter()
                .map(|c| token("capability", c))
                .collect::<Result<_, _>>()?,
            installed_baseline: raw
                .installed_baseline
                .as_deref()
                .map(|d| digest("installed_baseline", d))
                .transpose()?,
            installed_hotpatch_sequence: raw.installed_hotpatch_sequence,
            security_floor: raw.security_floor,
            revoked: raw
                .revoked
                .iter()
                .map(|d| digest("revoked", d))
                .collect::<Result<_, _>>()?,
            time_lower_bound: raw.time_lower_bound,
            catalog_version: raw.catalog_version,
            catalog_role: raw
                .catalog_role
                .as_deref()
                .map(|d| digest("catalog_role", d))
                .transpose()?,
        })
    }

    /// The catalog floor (`last_seen` of VC5) in force under `root`: the
    /// recorded `catalog_version` while the root's `catalog` role is the one
    /// it was recorded under (or none was recorded), else 0. A new trust
    /// root that changes the catalog role's keys or threshold so undoes a
    /// fast-forward signed by a catalog key it rotated out (as TUF resets
    /// the timestamp and snapshot versions when their keys rotate), while a
    /// rotation that leaves the catalog role alone keeps the floor.
    pub fn catalog_floor(&self, root: &TrustedRoot) -> u64 {
        root.catalog_floor(self.catalog_version, self.catalog_role)
    }

    /// Records an accepted catalog (VC8): `catalog_version` becomes the
    /// larger of the floor in force and the catalog's version, and
    /// `catalog_role` the role it was verified under; in the recovery
    /// profile, `time_lower_bound` is raised to its creation time.
    /// `catalog` must have been verified under the root the floor was
    /// judged with.
    pub fn record_catalog(&mut self, catalog: &Verified<Catalog>) {
        let role = catalog.role_digest();
        let floor = floor_under(role, self.catalog_version, self.catalog_role);
        self.catalog_version = floor.max(catalog.version);
        self.catalog_role = Some(role);
        self.record_time_seen(catalog.created);
    }

    /// Records an installed package (`spec/SPEC.md`, "Keeping the device
    /// state"): a baseline becomes `installed_baseline`, resets the
    /// hotpatch sequence, raises `security_floor` to its floor and adds its
    /// revoked hotpatches to `revoked`; a hotpatch sets
    /// `installed_hotpatch_sequence`; a standard update becomes
    /// `installed_baseline` with sequence 0. Nothing is ever lowered or
    /// removed. In the recovery profile, `time_lower_bound` is raised to
    /// the package's creation time.
    pub fn record_installed(&mut self, package: &Verified<Manifest>) {
        self.record_installed_as(package, package.digest());
    }

    /// [`DeviceProfile::record_installed`] for a package installed in the
    /// place of another with the same files: a delta package, whose
    /// catalog entry names its full form (`CatalogEntry::delta`). The
    /// device records `identity`, the full package's manifest digest, which
    /// is what hotpatches name as their baseline and the resolver compares.
    pub fn record_installed_as(&mut self, package: &Verified<Manifest>, identity: Digest) {
        match &package.kind {
            PackageKind::Baseline(b) => {
                self.installed_baseline = Some(identity);
                self.installed_hotpatch_sequence = 0;
                self.security_floor = self.security_floor.max(b.security_floor);
                for digest in &b.revoked_hotpatches {
                    if !self.revoked.contains(digest) {
                        self.revoked.push(*digest);
                    }
                }
            }
            PackageKind::Hotpatch(h) => {
                self.installed_hotpatch_sequence = self.installed_hotpatch_sequence.max(h.sequence);
            }
            PackageKind::Standard => {
                self.installed_baseline = Some(identity);
                self.installed_hotpatch_sequence = 0;
            }
            PackageKind::Recovery => {}
        }
        self.record_time_seen(package.created);
    }

    /// In the recovery profile, raises `time_lower_bound` to `created`, the
    /// creation time of an authentic trust root, catalog or package (never
    /// lowers it). Online, the system clock is trusted and nothing changes.
    pub fn record_time_seen(&mut self, created: u64) {
        if self.mode == ProfileMode::Recovery {
            self.time_lower_bound = Some(self.time_lower_bound.unwrap_or(0).max(created));
        }
    }

    /// The profile as TOML, in the form [`DeviceProfile::from_toml`] reads
    /// (`docs/device-profile.md`): what an agent writes back after
    /// [`DeviceProfile::record_installed`] or
    /// [`DeviceProfile::record_catalog`]. Written atomically by the caller.
    ///
    /// TOML integers are signed 64-bit: a counter above `i64::MAX` (only
    /// reachable from a package or catalog that declares one) cannot be
    /// written, and is an error rather than a lost field.
    pub fn to_toml(&self) -> Result<String, DeviceError> {
        let too_large = [
            ("security_floor", Some(self.security_floor)),
            ("catalog_version", Some(self.catalog_version)),
            ("time_lower_bound", self.time_lower_bound),
        ];
        if let Some((field, _)) = too_large
            .iter()
            .find(|(_, v)| v.is_some_and(|v| i64::try_from(v).is_err()))
        {
            return Err(DeviceError::Unrepresentable { field });
        }
        let tokens = |list: &[Token]| list.iter().map(|t| t.as_str().to_owned()).collect();
        let raw = RawDevice {
            profile: Some(self.mode.as_str().to_owned()),
            os: self.os.as_str().to_owned(),
            architecture: self.architecture.as_str().to_owned(),
            edition: self.edition.as_ref().map(|e| e.as_str().to_owned()),
            channels: Some(self.channels.iter().map(|c| c.name().to_owned()).collect()),
            capabilities: tokens(&self.capabilities),
            installed_baseline: self.installed_baseline.map(|d| d.to_hex()),
            installed_hotpatch_sequence: self.installed_hotpatch_sequence,
            security_floor: self.security_floor,
            revoked: self.revoked.iter().map(|d| d.to_hex()).collect(),
            time_lower_bound: self.time_lower_bound,
            catalog_version: self.catalog_version,
            catalog_role: self.catalog_role.map(|d| d.to_hex()),
        };
        toml::to_string(&raw).map_err(|e| invalid(format!("cannot be written as TOML: {e}")))
    }

    /// Writes the profile to `path` atomically ([`DeviceProfile::to_toml`],
    /// then `spec/SPEC.md`'s rule for state: a temporary file beside it,
    /// flushed, renamed over it, the folder flushed). A failure or a crash
    /// leaves the old file or the new one, never a mix, and no temporary
    /// file after a failure.
    pub fn save(&self, path: &std::path::Path) -> Result<(), DeviceError> {
        let text = self.to_toml()?;
        crate::state_file::write_atomically(path, text.as_bytes()).map_err(|source| {
            DeviceError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// The clock this profile implies when the caller has no other: the
    /// system time online, the recorded lower bound (or 0) in recovery.
    pub fn default_clock(&self) -> Clock {
        match self.mode {
            ProfileMode::Online => Clock::system(),
            ProfileMode::Recovery => Clock::LowerBound(self.time_lower_bound.unwrap_or(0)),
        }
    }
}
