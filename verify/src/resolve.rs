//! The resolver: from a verified catalog and a device's state to an
//! ordered install plan (`spec/SPEC.md`, "Resolver", R1–R10).
//!
//! Tracks (R4). A device in the recovery profile is on the *recovery
//! track*. An online device is on the *hotpatch track* when at least one
//! baseline of the catalog is *applicable* to it: it passes every common
//! check (Y1–Y11), targeting, floor and revocations alike. A baseline that
//! merely targets the device but is below its floor or revoked does not
//! keep it on the hotpatch track. Every other online device is on the
//! *standard track*.
//!
//! - Hotpatch track (R5): the newest applicable baseline unless it is the
//!   installed one (restart), then the newest applicable hotpatch for that
//!   baseline whose sequence is above the installed one (0 after a new
//!   baseline), without restart. Revocations listed by any baseline of the
//!   catalog apply, whether or not the device has installed or could
//!   install that baseline (R1); the floor of a planned baseline applies to
//!   the hotpatches planned after it.
//! - Standard track (R6): the newest applicable standard update, unless the
//!   catalog entry whose digest is `installed_baseline` has at least its
//!   (content version, security version); the hotpatch sequence and the
//!   digest take no part in that comparison.
//! - Recovery track (R7): the newest applicable recovery package, and then
//!   no baseline is judged (they are `other-track`); with none, the newest
//!   applicable baseline unless it is the installed one. Hotpatches and
//!   standard updates are never planned.
//!
//! - Deltas (R10): delta entries take no part in the above; each step is
//!   then taken as the smallest delta of its package whose base is what
//!   the device has before that step (its installed baseline or standard
//!   update, or the baseline planned before), if the catalog has one.
//!
//! "Newest" (R3) means the greatest (content version, security version) —
//! for hotpatches (sequence, content version, security version) — and
//! among equals the entry with the smallest manifest digest, so plans are
//! deterministic whatever the catalog order.

use crate::clock::Clock;
use crate::device::{DeviceProfile, ProfileMode};
use crate::document::Verified;
use crate::error::{NotApplicable, Reason};
use crate::policy::{Candidate, check_common, check_lineage};
use hpk_format::{Catalog, CatalogEntry, Digest, PackageKind};
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
    /// A newer entry of the same kind was chosen, or is installed.
    Superseded,
    /// The resolver did not judge it on this device's track: another
    /// track's kind, or (on the recovery track) a baseline when a recovery
    /// package was chosen.
    OtherTrack,
    /// The device already has it.
    Installed,
    /// A delta package whose base is not what the device will have when
    /// it would install it (R10).
    MissingBase,
}

impl SkipReason {
    /// The stable name: a policy reason name, or `superseded`,
    /// `other-track`, `installed`, `missing-base`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotApplicable(r) => r.as_str(),
            SkipReason::Superseded => "superseded",
            SkipReason::OtherTrack => "other-track",
            SkipReason::Installed => "installed",
            SkipReason::MissingBase => "missing-base",
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

/// Computes the plan for `device` from `catalog` at `clock`.
pub(crate) fn resolve(catalog: &Verified<Catalog>, device: &DeviceProfile, clock: Clock) -> Plan {
    let entries = &catalog.entries;
    // Revocations any authentic baseline in the catalog carries apply
    // whether or not the device has installed that baseline yet.
    let mut view = device.clone();
    for e in entries {
        if let PackageKind::Baseline(b) = &e.kind {
            view.revoked.extend(b.revoked_hotpatches.iter().copied());
        }
    }
    // R10: delta entries take no part in R2–R9; they are decided at the
    // end, in the place of their full packages.
    let decided = entries
        .iter()
        .map(|e| e.delta.map(|_| Decision::Delta))
        .collect();
    let mut planner = Planner {
        entries,
        decided,
        clock,
    };
    let (track, steps) = match device.mode {
        ProfileMode::Recovery => (Track::Recovery, planner.recovery(&view)),
        ProfileMode::Online => {
            // R4: the hotpatch track needs a baseline that is applicable
            // (every common check), not one that merely targets the device.
            let baselines = planner.applicable(&view, |k| matches!(k, PackageKind::Baseline(_)));
            if baselines.is_empty() {
                (Track::Standard, planner.standard(&view))
            } else {
                (Track::Hotpatch, planner.hotpatch(&mut view, &baselines))
            }
        }
    };
    let steps = planner.deltas(device.installed_baseline, steps);
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
            // `deltas` decides every delta entry.
            Some(Decision::Delta) | None => Some(Skipped {
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
    /// A delta entry, left for R10.
    Delta,
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
        // The planned baseline, or the installed one when it is that one.
        let base_digest = view.installed_baseline;
        let hotpatches = self.applicable(view, |k| matches!(k, PackageKind::Hotpatch(_)));
        let mut newer_ones = Vec::new();
        for i in hotpatches {
            let Some(entry) = self.entries.get(i) else {
                continue;
            };
            match check_lineage(&entry.kind, base_digest, installed_sequence) {
                Ok(()) => newer_ones.push(i),
                Err(NotApplicable { reason, detail }) => {
                    self.skip(i, SkipReason::NotApplicable(reason), detail);
                }
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
        // R6: "as new" compares (content version, security version) only,
        // whatever the installed entry's kind: a hotpatch's sequence and the
        // digest take no part (the digest breaks ties between candidates,
        // and the installed package is not one).
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

    /// R10: each step is taken as the smallest delta of its package that
    /// the device can rebuild, one whose base is what the device has
    /// installed before that step; every other delta entry is decided by
    /// its full package.
    fn deltas(&mut self, installed: Option<Digest>, steps: Vec<usize>) -> Vec<usize> {
        let mut base = installed;
        let mut out = Vec::with_capacity(steps.len());
        for step in steps {
            let Some(full) = self.entries.get(step) else {
                continue;
            };
            let replacement = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    d.delta
                        .is_some_and(|of| of.full == full.manifest_digest && Some(of.base) == base)
                })
                .min_by_key(|(_, d)| (d.size, d.manifest_digest))
                .map(|(i, _)| i);
            match replacement.and_then(|i| self.entries.get(i).map(|d| (i, d))) {
                Some((i, d)) => {
                    let detail = format!(
                        "its delta {} ({} bytes) is rebuilt from the files this device has",
                        d.manifest_digest, d.size
                    );
                    if let Some(slot) = self.decided.get_mut(step) {
                        *slot = Some(Decision::Skip(SkipReason::Superseded, detail));
                    }
                    self.choose(i);
                    out.push(i);
                }
                None => out.push(step),
            }
            // The files the device has after this step: its package's.
            if matches!(full.kind, PackageKind::Baseline(_) | PackageKind::Standard) {
                base = Some(full.manifest_digest);
            }
        }
        for i in 0..self.entries.len() {
            if !matches!(self.decided.get(i), Some(Some(Decision::Delta))) {
                continue;
            }
            let Some(of) = self.entries.get(i).and_then(|e| e.delta) else {
                continue;
            };
            let twin = self
                .entries
                .iter()
                .position(|e| e.manifest_digest == of.full && e.delta.is_none());
            let chosen_delta = out.iter().any(|&s| {
                self.entries
                    .get(s)
                    .and_then(|e| e.delta)
                    .is_some_and(|d| d.full == of.full)
            });
            let decision = match twin.and_then(|t| self.decided.get(t).cloned().flatten()) {
                _ if chosen_delta => Decision::Skip(
                    SkipReason::Superseded,
                    "a smaller delta of the same package was chosen".into(),
                ),
                Some(Decision::Chosen) => Decision::Skip(
                    SkipReason::MissingBase,
                    format!(
                        "this device will not have the files of {} when it installs the package",
                        of.base
                    ),
                ),
                Some(Decision::Skip(reason, detail)) => {
                    Decision::Skip(reason, format!("as its full package: {detail}"))
                }
                Some(Decision::Delta) | None => Decision::Skip(
                    SkipReason::OtherTrack,
                    "its full package is not planned on this track".into(),
                ),
            };
            if let Some(slot) = self.decided.get_mut(i) {
                *slot = Some(decision);
            }
        }
        out
    }

    fn recovery(&mut self, view: &DeviceProfile) -> Vec<usize> {
        let recovery = self.applicable(view, |k| matches!(k, PackageKind::Recovery));
        if let Some(r) = self.pick_newest(&recovery) {
            // R7: baselines are not judged once a recovery package is
            // chosen; they stay undecided and are `other-track` (R8).
            self.choose(r);
            return vec![r];
        }
        let baselines = self.applicable(view, |k| matches!(k, PackageKind::Baseline(_)));
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
