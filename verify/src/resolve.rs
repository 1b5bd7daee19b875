//! The resolver: from a verified catalog and a device's state to an
//! ordered install plan (`spec/SPEC.md`, "Resolver").
//!
//! Tracks. A device is on the *hotpatch track* when at least one baseline
//! in the catalog targets it (OS, architecture, edition, channel,
//! capabilities): baselines are only ever targeted at eligible devices, so
//! eligibility lives in signed targeting, not in the resolver. A targeted
//! baseline that the device refuses for its security floor or a revocation
//! still keeps the device on the hotpatch track: an eligible device never
//! takes standard updates. Every other online device is on the *standard
//! track*. A recovery environment is on the *recovery track*.
//!
//! - Hotpatch track: the newest applicable baseline unless it is the
//!   installed one (restart), then the newest applicable hotpatch for that
//!   baseline whose sequence is above the installed one (0 after a new
//!   baseline), without restart. With no applicable baseline, hotpatches
//!   are judged against the installed baseline. Revocations listed by any
//!   baseline of the catalog apply, whether or not the device has
//!   installed or could install that baseline; the floor of a planned
//!   baseline applies to the hotpatches planned after it.
//! - Standard track: the newest applicable standard update, unless the
//!   installed package (`installed_baseline`, found in the catalog by its
//!   digest) has at least its (content version, security version).
//! - Recovery track: the newest applicable recovery package; with none,
//!   the newest applicable baseline unless it is the installed one.
//!   Applicable baselines are reported `superseded` when a recovery package
//!   is preferred. Hotpatches and standard updates are never planned.
//!
//! "Newest" means the greatest (content version, security version) — for
//! hotpatches (sequence, content version, security version) — and among
//! equals the entry with the smallest manifest digest, so plans are
//! deterministic whatever the catalog order. The digest only breaks ties
//! between candidates: whether the installed package is "as new" as a
//! candidate compares versions only.

use crate::catalog::VerifiedCatalog;
use crate::device::{Clock, DeviceProfile, ProfileMode};
use crate::policy::{Candidate, NotApplicable, Reason, check_common};
use hpk_format::{CatalogEntry, Digest, PackageKind};
use std::cmp::{Ordering, Reverse};
use std::fmt;

/// Which kind of updates a device takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// Baselines (restart) and hotpatches on them (no restart).
    Hotpatch,
    /// Standard cumulative updates, each with a restart.
    Standard,
    /// Recovery and baseline packages, offline.
    Recovery,
}

impl Track {
    /// `hotpatch`, `standard` or `recovery`.
    pub fn as_str(self) -> &'static str {
        match self {
            Track::Hotpatch => "hotpatch",
            Track::Standard => "standard",
            Track::Recovery => "recovery",
        }
    }
}

/// The outcome of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanStatus {
    /// There are steps to take.
    Update,
    /// The device already has the newest applicable packages.
    UpToDate,
    /// No package in the catalog applies to this device.
    NotEligible,
}

impl PlanStatus {
    /// `update`, `up-to-date` or `not-eligible`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Update => "update",
            PlanStatus::UpToDate => "up-to-date",
            PlanStatus::NotEligible => "not-eligible",
        }
    }
}

/// One step of a plan: install this entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The catalog entry to fetch and install.
    pub entry: CatalogEntry,
    /// Whether the device restarts after this step.
    pub restart: bool,
}

/// Why an entry is not part of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The policy refuses it for this device.
    NotApplicable(Reason),
    /// A newer entry of the same kind was chosen (or, on the recovery
    /// track, a recovery package is preferred to this baseline).
    Superseded,
    /// It belongs to a track this device is not on.
    OtherTrack,
    /// The device already has it.
    Installed,
}

impl SkipReason {
    /// The stable name: a policy reason name, or `superseded`,
    /// `other-track`, `installed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotApplicable(r) => r.as_str(),
            SkipReason::Superseded => "superseded",
            SkipReason::OtherTrack => "other-track",
            SkipReason::Installed => "installed",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry left out of the plan, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The entry.
    pub entry: CatalogEntry,
    /// Why it was left out.
    pub reason: SkipReason,
    /// The specifics, for people.
    pub detail: String,
}

/// What a device should install, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The device's track.
    pub track: Track,
    /// Overall outcome.
    pub status: PlanStatus,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Every other entry, in catalog order, with its reason.
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// Whether any step needs a restart.
    pub fn restart_required(&self) -> bool {
        self.steps.iter().any(|s| s.restart)
    }
}

fn newest_key(e: &CatalogEntry) -> (u32, &hpk_format::Version, u64, Reverse<Digest>) {
    let seq = match &e.kind {
        PackageKind::Hotpatch(h) => h.sequence,
        _ => 0,
    };
    (
        seq,
        &e.version,
        e.security_version,
        Reverse(e.manifest_digest),
    )
}

fn newer(a: &CatalogEntry, b: &CatalogEntry) -> Ordering {
    newest_key(a).cmp(&newest_key(b))
}

/// Whether `reason` says the package is not targeted at the device (as
/// opposed to refused by the device's own state: floor, revocation).
fn is_targeting(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::KindNotAllowed
            | Reason::UnknownCriticalExtension
            | Reason::WrongOs
            | Reason::WrongArchitecture
            | Reason::WrongEdition
            | Reason::WrongChannel
            | Reason::MissingCapability
    )
}

/// Computes the plan for `device` from `catalog` at `clock`.
pub fn resolve(catalog: &VerifiedCatalog, device: &DeviceProfile, clock: Clock) -> Plan {
    let entries = &catalog.catalog().entries;
    // Revocations any authentic baseline in the catalog carries apply
    // whether or not the device has installed that baseline yet.
    let mut view = device.clone();
    for e in entries {
        if let PackageKind::Baseline(b) = &e.kind {
            view.revoked.extend(b.revoked_hotpatches.iter().copied());
        }
    }
    let mut planner = Planner {
        entries,
        decided: vec![None; entries.len()],
        clock,
    };
    let (track, steps) = match device.mode {
        ProfileMode::Recovery => (Track::Recovery, planner.recovery(&view)),
        ProfileMode::Online => {
            let baselines = planner.applicable(&view, |k| matches!(k, PackageKind::Baseline(_)));
            if planner.any_baseline_targets_device() {
                (Track::Hotpatch, planner.hotpatch(&mut view, &baselines))
            } else {
                (Track::Standard, planner.standard(&view))
            }
        }
    };
    let any_applicable = planner.decided.iter().any(|d| {
        matches!(
            d,
            Some(Decision::Chosen)
                | Some(Decision::Skip(
                    SkipReason::Superseded | SkipReason::Installed,
                    _
                ))
        )
    });
    let status = if !steps.is_empty() {
        PlanStatus::Update
    } else if any_applicable {
        PlanStatus::UpToDate
    } else {
        PlanStatus::NotEligible
    };
    let skipped = entries
        .iter()
        .zip(planner.decided)
        .filter_map(|(e, d)| match d {
            Some(Decision::Skip(reason, detail)) => Some(Skipped {
                entry: e.clone(),
                reason,
                detail,
            }),
            Some(Decision::Chosen) => None,
            None => Some(Skipped {
                entry: e.clone(),
                reason: SkipReason::OtherTrack,
                detail: format!("the device is on the {} track", track.as_str()),
            }),
        })
        .collect();
    Plan {
        track,
        status,
        steps: steps
            .into_iter()
            .filter_map(|i| entries.get(i))
            .map(|e| Step {
                entry: e.clone(),
                restart: e.restart_required,
            })
            .collect(),
        skipped,
    }
}

#[derive(Clone, Debug)]
enum Decision {
    Chosen,
    Skip(SkipReason, String),
}

struct Planner<'a> {
    entries: &'a [CatalogEntry],
    decided: Vec<Option<Decision>>,
    clock: Clock,
}

impl Planner<'_> {
    fn skip(&mut self, i: usize, reason: SkipReason, detail: String) {
        if let Some(slot) = self.decided.get_mut(i)
            && slot.is_none()
        {
            *slot = Some(Decision::Skip(reason, detail));
        }
    }

    fn choose(&mut self, i: usize) {
        if let Some(slot) = self.decided.get_mut(i) {
            *slot = Some(Decision::Chosen);
        }
    }

    /// Entries of the kinds `want` that pass the common policy checks; the
    /// others of those kinds are marked skipped with the policy reason.
    fn applicable(
        &mut self,
        device: &DeviceProfile,
        want: impl Fn(&PackageKind) -> bool,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if !want(&e.kind) || self.decided.get(i).is_some_and(Option::is_some) {
                continue;
            }
            match check_common(&Candidate::of_entry(e), device, self.clock) {
                Ok(()) => out.push(i),
                Err(NotApplicable { reason, detail }) => {
                    self.skip(i, SkipReason::NotApplicable(reason), detail);
                }
            }
        }
        out
    }

    /// Whether a baseline of the catalog targets the device: applicable,
    /// or refused only for the device's floor, revocations or time. Call
    /// after [`Planner::applicable`] has judged the baselines.
    fn any_baseline_targets_device(&self) -> bool {
        self.entries
            .iter()
            .zip(&self.decided)
            .any(|(e, d)| match (&e.kind, d) {
                (PackageKind::Baseline(_), None) => true,
                (
                    PackageKind::Baseline(_),
                    Some(Decision::Skip(SkipReason::NotApplicable(r), _)),
                ) => !is_targeting(*r),
                _ => false,
            })
    }

    /// The newest of `candidates`; marks the others superseded.
    fn pick_newest(&mut self, candidates: &[usize]) -> Option<usize> {
        let best = candidates.iter().copied().max_by(|a, b| {
            match (self.entries.get(*a), self.entries.get(*b)) {
                (Some(x), Some(y)) => newer(x, y),
                _ => Ordering::Equal,
            }
        })?;
        let name = self
            .entries
            .get(best)
            .map(|e| format!("{} {}", e.name, e.version))
            .unwrap_or_default();
        for &i in candidates {
            if i != best {
                self.skip(i, SkipReason::Superseded, format!("{name} is newer"));
            }
        }
        Some(best)
    }

    fn hotpatch(&mut self, view: &mut DeviceProfile, baselines: &[usize]) -> Vec<usize> {
        let mut steps = Vec::new();
        let mut installed_sequence = view.installed_hotpatch_sequence;
        if let Some(b) = self.pick_newest(baselines)
            && let Some(baseline) = self.entries.get(b)
        {
            if view.installed_baseline == Some(baseline.manifest_digest) {
                self.skip(
                    b,
                    SkipReason::Installed,
                    "this baseline is installed".into(),
                );
            } else {
                self.choose(b);
                steps.push(b);
                if let PackageKind::Baseline(info) = &baseline.kind {
                    view.security_floor = view.security_floor.max(info.security_floor);
                }
                view.installed_baseline = Some(baseline.manifest_digest);
                installed_sequence = 0;
            }
        }
        // With no applicable baseline, the installed one (if any).
        let base_digest = view.installed_baseline;
        let hotpatches = self.applicable(view, |k| matches!(k, PackageKind::Hotpatch(_)));
        let mut newer_ones = Vec::new();
        for i in hotpatches {
            let Some(PackageKind::Hotpatch(h)) = self.entries.get(i).map(|e| &e.kind) else {
                continue;
            };
            if Some(h.baseline) != base_digest {
                self.skip(
                    i,
                    SkipReason::NotApplicable(Reason::WrongBaseline),
                    format!(
                        "for baseline {}, the plan's baseline is {}",
                        h.baseline,
                        base_digest.map_or_else(|| "unknown".to_owned(), |d| d.to_hex())
                    ),
                );
            } else if h.sequence <= installed_sequence {
                self.skip(
                    i,
                    SkipReason::NotApplicable(Reason::SequenceNotNewer),
                    format!(
                        "sequence {} is not above the installed {installed_sequence}",
                        h.sequence
                    ),
                );
            } else {
                newer_ones.push(i);
            }
        }
        if let Some(h) = self.pick_newest(&newer_ones) {
            self.choose(h);
            steps.push(h);
        }
        steps
    }

    fn standard(&mut self, view: &DeviceProfile) -> Vec<usize> {
        let standards = self.applicable(view, |k| matches!(k, PackageKind::Standard));
        let Some(s) = self.pick_newest(&standards) else {
            return Vec::new();
        };
        let installed = self
            .entries
            .iter()
            .find(|e| Some(e.manifest_digest) == view.installed_baseline);
        let chosen = self.entries.get(s);
        // "As new" compares versions only: the digest merely breaks ties
        // between candidates, and the installed package is not one.
        let as_new = |inst: &CatalogEntry, c: &CatalogEntry| {
            (&inst.version, inst.security_version) >= (&c.version, c.security_version)
        };
        match (installed, chosen) {
            (Some(inst), Some(c)) if as_new(inst, c) => {
                let detail = if inst.manifest_digest == c.manifest_digest {
                    "this update is installed".to_owned()
                } else {
                    format!("the installed {} {} is as new", inst.name, inst.version)
                };
                self.skip(s, SkipReason::Installed, detail);
                Vec::new()
            }
            _ => {
                self.choose(s);
                vec![s]
            }
        }
    }

    fn recovery(&mut self, view: &DeviceProfile) -> Vec<usize> {
        let recovery = self.applicable(view, |k| matches!(k, PackageKind::Recovery));
        let baselines = self.applicable(view, |k| matches!(k, PackageKind::Baseline(_)));
        if let Some(r) = self.pick_newest(&recovery) {
            self.choose(r);
            let name = self
                .entries
                .get(r)
                .map(|e| format!("{} {}", e.name, e.version))
                .unwrap_or_default();
            for b in baselines {
                self.skip(
                    b,
                    SkipReason::Superseded,
                    format!("the recovery package {name} is preferred"),
                );
            }
            return vec![r];
        }
        let Some(b) = self.pick_newest(&baselines) else {
            return Vec::new();
        };
        if self.entries.get(b).map(|e| e.manifest_digest) == view.installed_baseline {
            self.skip(
                b,
                SkipReason::Installed,
                "this baseline is installed".into(),
            );
            return Vec::new();
        }
        self.choose(b);
        vec![b]
    }
}
