//! Catalogs and install plans.

use crate::args::{self, required, required_mut};
use crate::device::hpk_device;
use crate::error::{Failure, c_string, guard, guard_value, hpk_error, hpk_status};
use crate::root::hpk_verifier;
use hpk_verify::{Catalog, Plan, Step, Verified};
use std::ffi::{CString, c_char};
use std::fs::File;
use std::ptr;

/// A catalog verified for a device: signed by the catalog role, not
/// expired, not older than the newest one the device has accepted.
pub struct hpk_catalog {
    pub(crate) catalog: Verified<Catalog>,
}

/// What a device should install, in order, from a verified catalog.
pub struct hpk_plan {
    plan: Plan,
    status: CString,
    track: CString,
    steps: Vec<StepText>,
}

/// The strings of a step, owned by the plan.
struct StepText {
    name: CString,
    version: CString,
    kind: CString,
    location: CString,
    digest: CString,
}

/// One step of a plan: install this catalog entry. The strings are owned
/// by the plan: valid until `hpk_plan_free`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hpk_plan_step {
    /// Package name.
    pub name: *const c_char,
    /// Content version.
    pub version: *const c_char,
    /// `baseline`, `hotpatch`, `standard` or `recovery`.
    pub kind: *const c_char,
    /// Where to fetch it: a path relative to the catalog, or a URL.
    pub location: *const c_char,
    /// The manifest digest the fetched package must carry (64 lowercase
    /// hexadecimal digits).
    pub manifest_digest: *const c_char,
    /// The exact size of the package file, in bytes.
    pub size: u64,
    /// Whether the device restarts after this step.
    pub restart: bool,
}

impl hpk_plan {
    /// Step `index`, or `HPK_INVALID_ARGUMENT`.
    pub(crate) fn step(&self, index: usize) -> Result<&Step, Failure> {
        self.plan.steps.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "step {index} is out of range: the plan has {} step(s)",
                self.plan.steps.len()
            ))
        })
    }
}

/// Verifies the catalog file at `path` for `device`: signed by a
/// threshold of the catalog role, not expired, and not older than the
/// newest catalog the device has accepted (its catalog floor; `device` is
/// required). Record it with `hpk_device_record_catalog` once accepted. On
/// success `*out` is a new catalog (free it with `hpk_catalog_free`).
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_verifier_catalog(
    verifier: Option<&hpk_verifier>,
    path: *const c_char,
    device: Option<&hpk_device>,
    out: Option<&mut *mut hpk_catalog>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = args::out(out, "out")?;
        let verifier = required(verifier, "verifier")?;
        let device = required(device, "device")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { args::path(path, "path") }?;
        let file = File::open(args::as_path(path)).map_err(|e| Failure::io(path, &e))?;
        let catalog = verifier
            .verifier
            .catalog(file, &device.device)
            .map_err(|e| Failure::from(e).in_file(path))?;
        out.set(hpk_catalog { catalog });
        Ok(())
    })
}

/// The catalog's version; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_catalog_version(catalog: Option<&hpk_catalog>) -> u64 {
    guard_value(0, || catalog.map_or(0, |c| c.catalog.version))
}

/// How many packages the catalog offers; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_catalog_entry_count(catalog: Option<&hpk_catalog>) -> usize {
    guard_value(0, || catalog.map_or(0, |c| c.catalog.entries.len()))
}

/// Frees a catalog. NULL is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_catalog_free(catalog: Option<Box<hpk_catalog>>) {
    guard_value((), || drop(catalog));
}

/// The install plan for `device` from `catalog`, which must have been
/// verified by this verifier's root. Nothing is downloaded. On success
/// `*out` is a new plan (free it with `hpk_plan_free`).
#[unsafe(no_mangle)]
pub extern "C" fn hpk_verifier_plan(
    verifier: Option<&hpk_verifier>,
    catalog: Option<&hpk_catalog>,
    device: Option<&hpk_device>,
    out: Option<&mut *mut hpk_plan>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = args::out(out, "out")?;
        let verifier = required(verifier, "verifier")?;
        let catalog = required(catalog, "catalog")?;
        let device = required(device, "device")?;
        let plan = verifier.verifier.plan(&catalog.catalog, &device.device);
        let steps = plan
            .steps
            .iter()
            .map(|s| StepText {
                name: c_string(s.entry.name.to_string()),
                version: c_string(s.entry.version.to_string()),
                kind: c_string(s.entry.kind.name().to_owned()),
                location: c_string(s.entry.location.clone()),
                digest: c_string(s.entry.manifest_digest.to_hex()),
            })
            .collect();
        out.set(hpk_plan {
            status: c_string(plan.status.as_str().to_owned()),
            track: c_string(plan.track.as_str().to_owned()),
            steps,
            plan,
        });
        Ok(())
    })
}

/// The plan's outcome: `update` (there are steps), `up-to-date` or
/// `not-eligible`. Owned by the plan: valid until `hpk_plan_free`. NULL
/// for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_plan_status(plan: Option<&hpk_plan>) -> *const c_char {
    guard_value(ptr::null(), || {
        plan.map_or(ptr::null(), |p| p.status.as_ptr())
    })
}

/// The device's track: `hotpatch`, `standard` or `recovery`. Owned by the
/// plan. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_plan_track(plan: Option<&hpk_plan>) -> *const c_char {
    guard_value(ptr::null(), || {
        plan.map_or(ptr::null(), |p| p.track.as_ptr())
    })
}

/// How many steps the plan has, in install order; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_plan_step_count(plan: Option<&hpk_plan>) -> usize {
    guard_value(0, || plan.map_or(0, |p| p.plan.steps.len()))
}

/// Step `index` (from 0) of the plan, into `*out`; its strings are owned
/// by the plan. `HPK_INVALID_ARGUMENT` when `index` is out of range.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_plan_get_step(
    plan: Option<&hpk_plan>,
    index: usize,
    out: Option<&mut hpk_plan_step>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = out.ok_or_else(|| Failure::invalid("out is NULL"))?;
        let plan = required(plan, "plan")?;
        let step = plan.step(index)?;
        let text = plan
            .steps
            .get(index)
            .ok_or_else(|| Failure::invalid(format!("step {index} is out of range")))?;
        *out = hpk_plan_step {
            name: text.name.as_ptr(),
            version: text.version.as_ptr(),
            kind: text.kind.as_ptr(),
            location: text.location.as_ptr(),
            manifest_digest: text.digest.as_ptr(),
            size: step.entry.size,
            restart: step.restart,
        };
        Ok(())
    })
}

/// Frees a plan. NULL is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_plan_free(plan: Option<Box<hpk_plan>>) {
    guard_value((), || drop(plan));
}

/// Records an accepted catalog: the device's catalog floor becomes its
/// version, under the catalog role it was verified with. Save the device
/// afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_device_record_catalog(
    device: Option<&mut hpk_device>,
    catalog: Option<&hpk_catalog>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let device = required_mut(device, "device")?;
        let catalog = required(catalog, "catalog")?;
        device.device.record_catalog(&catalog.catalog);
        Ok(())
    })
}
