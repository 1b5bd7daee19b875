//! Whether an authentic package applies to a device: targeting, time,
//! rollback, revocation, hotpatch lineage, kind (`spec/SPEC.md`, "Policy").

use crate::clock::{Clock, TimeFault};
use crate::device::{DeviceProfile, ProfileMode};
use crate::document::unknown_critical_extension;
use crate::error::{NotApplicable, Reason};
use hpk_format::{Channel, Digest, Extension, Manifest, PackageKind};

fn no(reason: Reason, detail: impl Into<String>) -> Result<(), NotApplicable> {
    Err(NotApplicable {
        reason,
        detail: detail.into(),
    })
}

/// Whether a profile installs packages of this kind.
fn kind_allowed(mode: ProfileMode, kind: &PackageKind) -> bool {
    match mode {
        ProfileMode::Online => !matches!(kind, PackageKind::Recovery),
        ProfileMode::Recovery => {
            matches!(kind, PackageKind::Recovery | PackageKind::Baseline(_))
        }
    }
}

/// Y2 refusing extension `id`.
pub(crate) fn unknown_extension(id: u32) -> NotApplicable {
    NotApplicable {
        reason: Reason::UnknownCriticalExtension,
        detail: format!("critical extension {id} is not supported by this verifier"),
    }
}

/// Y2: the first unknown critical extension, as a policy failure.
fn check_extensions(extensions: &[Extension]) -> Result<(), NotApplicable> {
    match unknown_critical_extension(extensions) {
        Some(id) => Err(unknown_extension(id)),
        None => Ok(()),
    }
}

/// The fields of a package the policy looks at; a manifest and a catalog
/// entry both provide them, so packages and catalog entries are judged by
/// the same rules.
pub(crate) struct Candidate<'a> {
    /// Kind with its data.
    pub(crate) kind: &'a PackageKind,
    /// Targets.
    pub(crate) targets: &'a hpk_format::Targets,
    /// Anti-rollback counter.
    pub(crate) security_version: u64,
    /// Creation time.
    pub(crate) created: u64,
    /// Expiry time.
    pub(crate) expires: Option<u64>,
    /// Manifest digest.
    pub(crate) digest: Digest,
    /// Extensions (empty for a catalog entry, whose package is checked on
    /// its own when fetched).
    pub(crate) extensions: &'a [Extension],
}

impl<'a> Candidate<'a> {
    /// The candidate a catalog entry describes. Its package's own times and
    /// extensions are checked when it is fetched.
    pub(crate) fn of_entry(entry: &'a hpk_format::CatalogEntry) -> Candidate<'a> {
        Candidate {
            kind: &entry.kind,
            targets: &entry.targets,
            security_version: entry.security_version,
            created: 0,
            expires: None,
            digest: entry.manifest_digest,
            extensions: &[],
        }
    }

    /// The candidate a manifest describes.
    pub(crate) fn of_manifest(manifest: &'a Manifest, digest: Digest) -> Candidate<'a> {
        Candidate {
            kind: &manifest.kind,
            targets: &manifest.targets,
            security_version: manifest.security_version,
            created: manifest.created,
            expires: manifest.expires,
            digest,
            extensions: &manifest.extensions,
        }
    }
}

/// Applies the policy, in the order of [`Reason::ALL`], and returns the
/// first reason that fails.
pub(crate) fn check(
    c: &Candidate<'_>,
    device: &DeviceProfile,
    clock: Clock,
) -> Result<(), NotApplicable> {
    check_common(c, device, clock)?;
    check_lineage(
        c.kind,
        device.installed_baseline,
        device.installed_hotpatch_sequence,
    )
}

/// Every check but hotpatch lineage: kind, extensions, targets, time,
/// security floor, revocation.
pub(crate) fn check_common(
    c: &Candidate<'_>,
    device: &DeviceProfile,
    clock: Clock,
) -> Result<(), NotApplicable> {
    if !kind_allowed(device.mode, c.kind) {
        return no(
            Reason::KindNotAllowed,
            format!(
                "the {} profile does not install {} packages",
                device.mode.as_str(),
                c.kind.name()
            ),
        );
    }
    check_extensions(c.extensions)?;
    check_targets(c, device)?;
    check_time(c, clock)?;
    check_rollback(c, device)
}

/// What can be judged without a device: critical extensions and time.
pub(crate) fn check_intrinsic(c: &Candidate<'_>, clock: Clock) -> Result<(), NotApplicable> {
    check_extensions(c.extensions)?;
    check_time(c, clock)
}

fn check_targets(c: &Candidate<'_>, device: &DeviceProfile) -> Result<(), NotApplicable> {
    let t = c.targets;
    if t.os != device.os {
        return no(
            Reason::WrongOs,
            format!("package is for {}, device runs {}", t.os, device.os),
        );
    }
    if !t.architectures.contains(&device.architecture) {
        return no(
            Reason::WrongArchitecture,
            format!(
                "package is for {}, device is {}",
                join(&t.architectures),
                device.architecture
            ),
        );
    }
    let edition_listed = device
        .edition
        .as_ref()
        .is_some_and(|e| t.editions.contains(e));
    if !t.editions.is_empty() && !edition_listed {
        return no(
            Reason::WrongEdition,
            format!(
                "package is for {}, device is {}",
                join(&t.editions),
                device
                    .edition
                    .as_ref()
                    .map_or("of no edition", |e| e.as_str())
            ),
        );
    }
    // Every device takes general packages; preview ones only when it
    // opted in (a device listing only `preview` has not opted out of
    // `general`).
    if t.channel != Channel::General && !device.channels.contains(&t.channel) {
        return no(
            Reason::WrongChannel,
            format!(
                "package is on the {} channel, which the device has not opted into",
                t.channel.name()
            ),
        );
    }
    if let Some(missing) = t
        .capabilities
        .iter()
        .find(|c| !device.capabilities.contains(c))
    {
        return no(
            Reason::MissingCapability,
            format!("device lacks capability {missing}"),
        );
    }
    Ok(())
}

fn check_time(c: &Candidate<'_>, clock: Clock) -> Result<(), NotApplicable> {
    match clock.judge(c.created, c.expires) {
        Ok(()) => Ok(()),
        Err(TimeFault::Expired { expires, at }) => no(
            Reason::Expired,
            format!("expired at {expires} (time is {at} or later)"),
        ),
        Err(TimeFault::NotYetValid { created, now }) => no(
            Reason::NotYetValid,
            format!("created at {created}, after the current time {now}"),
        ),
    }
}

fn check_rollback(c: &Candidate<'_>, device: &DeviceProfile) -> Result<(), NotApplicable> {
    if c.security_version < device.security_floor {
        return no(
            Reason::BelowSecurityFloor,
            format!(
                "security version {} is below the device's floor {}",
                c.security_version, device.security_floor
            ),
        );
    }
    if device.revoked.contains(&c.digest) {
        return no(Reason::Revoked, format!("package {} is revoked", c.digest));
    }
    Ok(())
}

/// Y12 and Y13, for a hotpatch: it must be for `baseline` (the installed
/// one, or the one a plan installs first) and its sequence above
/// `sequence` (the installed one, 0 after a new baseline). Other kinds
/// pass.
pub(crate) fn check_lineage(
    kind: &PackageKind,
    baseline: Option<Digest>,
    sequence: u32,
) -> Result<(), NotApplicable> {
    if let PackageKind::Hotpatch(h) = kind {
        if baseline != Some(h.baseline) {
            return no(
                Reason::WrongBaseline,
                format!(
                    "hotpatch is for baseline {}, the device's is {}",
                    h.baseline,
                    baseline.map_or_else(|| "unknown".to_owned(), |d| d.to_hex())
                ),
            );
        }
        if h.sequence <= sequence {
            return no(
                Reason::SequenceNotNewer,
                format!(
                    "hotpatch sequence {} is not above the installed {sequence}",
                    h.sequence
                ),
            );
        }
    }
    Ok(())
}

fn join(tokens: &[hpk_format::Token]) -> String {
    tokens
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
