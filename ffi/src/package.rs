//! Packages: opened (head authenticated), judged for a device, then
//! verified to a depth or extracted, once.

use crate::args::{self, hpk_depth, required, required_mut};
use crate::catalog::hpk_plan;
use crate::device::hpk_device;
use crate::error::{Failure, c_string, guard, guard_value, hpk_error, hpk_status};
use crate::root::hpk_verifier;
use hpk_verify::{
    BaseDir, BaseFiles, Depth, Digest, ExtractError, Extracted, Judged, Manifest, Package,
    Unjudged, Verified, VerifyError,
};
use std::ffi::{CString, c_char, c_int};
use std::fs::File;
use std::io::{Read, Take};
use std::path::Path;
use std::ptr;
use std::sync::Arc;

/// A package whose head is authentic (signatures, manifest, lengths) and
/// which the policy has judged for a device: ready to be verified to a
/// depth or extracted, once. Its manifest facts stay readable until it is
/// freed.
pub struct hpk_package {
    state: State,
    name: CString,
    version: CString,
    kind: CString,
    digest: CString,
    payload_count: usize,
    security_version: u64,
    needs_bases: bool,
    /// The manifest digest to record once installed when it is not the
    /// package's own: a delta package opened for a plan step whose catalog
    /// entry names its full package (`delta.full`).
    recorded_as: Option<Digest>,
}

/// Where a package is in its one pass over the file.
enum State {
    /// Judged, nothing after the head read yet.
    Ready(Ready),
    /// Verified (to full depth when `full`, which extraction is too): the
    /// manifest to record once installed.
    Checked {
        manifest: Verified<Manifest>,
        full: bool,
    },
    /// A verification or extraction failed, or a panic interrupted one:
    /// the file was consumed.
    Spent,
}

/// A judged package, opened from a file or for a catalog entry.
enum Ready {
    File(Package<File, Judged>),
    Fetched(Package<Take<File>, Judged>),
}

impl Ready {
    fn manifest(&self) -> &Verified<Manifest> {
        match self {
            Ready::File(p) => p.manifest(),
            Ready::Fetched(p) => p.manifest(),
        }
    }

    fn needs_bases(&self) -> bool {
        match self {
            Ready::File(p) => p.needs_bases(),
            Ready::Fetched(p) => p.needs_bases(),
        }
    }

    fn with_bases(self, bases: Arc<dyn BaseFiles>) -> Ready {
        match self {
            Ready::File(p) => Ready::File(p.with_bases(bases)),
            Ready::Fetched(p) => Ready::Fetched(p.with_bases(bases)),
        }
    }

    fn verify(self, depth: Depth) -> Result<Verified<Manifest>, VerifyError> {
        match self {
            Ready::File(p) => p.verify(depth),
            Ready::Fetched(p) => p.verify(depth),
        }
    }

    fn extract(self, dir: &Path) -> Result<Extracted, ExtractError> {
        match self {
            Ready::File(p) => p.extract(dir),
            Ready::Fetched(p) => p.extract(dir),
        }
    }
}

impl hpk_package {
    fn new(ready: Ready) -> hpk_package {
        let manifest = ready.manifest();
        hpk_package {
            name: c_string(manifest.name.to_string()),
            version: c_string(manifest.version.to_string()),
            kind: c_string(manifest.kind.name().to_owned()),
            digest: c_string(manifest.digest().to_hex()),
            payload_count: manifest.payloads.len(),
            security_version: manifest.security_version,
            needs_bases: ready.needs_bases(),
            recorded_as: None,
            state: State::Ready(ready),
        }
    }

    /// The manifest of a package verified to full depth or extracted.
    pub(crate) fn installable(&self) -> Result<&Verified<Manifest>, Failure> {
        match &self.state {
            State::Checked {
                manifest,
                full: true,
            } => Ok(manifest),
            _ => Err(Failure::invalid(format!(
                "package {} {} has not been verified to full depth (HPK_DEPTH_FULL) nor extracted",
                self.name.to_string_lossy(),
                self.version.to_string_lossy()
            ))),
        }
    }

    /// The judged package, taken for its one pass.
    fn take(&mut self) -> Result<Ready, Failure> {
        match std::mem::replace(&mut self.state, State::Spent) {
            State::Ready(ready) => Ok(ready),
            other => {
                self.state = other;
                Err(Failure::invalid(format!(
                    "package {} {} was verified or extracted already: open it again",
                    self.name.to_string_lossy(),
                    self.version.to_string_lossy()
                )))
            }
        }
    }
}

/// Judges `package` for `device`, or for no device in particular.
fn judge<R: Read>(
    package: Package<R, Unjudged>,
    device: Option<&hpk_device>,
) -> Result<Package<R, Judged>, VerifyError> {
    Ok(match device {
        Some(d) => package.judge(&d.device)?,
        None => package.judge_without_device()?,
    })
}

/// Opens the package file at `path`, authenticates its head and judges it
/// for `device` (targeting, expiry, rollback floor, revocations, hotpatch
/// lineage). With `device` NULL only the checks that need no device are
/// made (critical extensions, expiry): for tools, not for agents. Nothing
/// after the head is read. On success `*out` is a new package (free it
/// with `hpk_package_free`).
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_verifier_open(
    verifier: Option<&hpk_verifier>,
    path: *const c_char,
    device: Option<&hpk_device>,
    out: Option<&mut *mut hpk_package>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = args::out(out, "out")?;
        let verifier = required(verifier, "verifier")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { args::path(path, "path") }?;
        let in_file = |e: VerifyError| Failure::from(e).in_file(path);
        let opened = verifier
            .verifier
            .open(args::as_path(path))
            .map_err(in_file)?;
        let judged = judge(opened, device).map_err(in_file)?;
        out.set(hpk_package::new(Ready::File(judged)));
        Ok(())
    })
}

/// Opens the file at `path`, fetched for step `index` of `plan`, and
/// judges it for `device` (NULL: no device, as `hpk_verifier_open`). No
/// byte past the size the catalog entry gives is read; the package must
/// have exactly that size and carry exactly the manifest the entry names
/// (else `HPK_INTEGRITY`), then its head is authenticated. On success
/// `*out` is a new package (free it with `hpk_package_free`).
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_verifier_open_step(
    verifier: Option<&hpk_verifier>,
    plan: Option<&hpk_plan>,
    index: usize,
    path: *const c_char,
    device: Option<&hpk_device>,
    out: Option<&mut *mut hpk_package>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = args::out(out, "out")?;
        let verifier = required(verifier, "verifier")?;
        let plan = required(plan, "plan")?;
        let step = plan.step(index)?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { args::path(path, "path") }?;
        let file = File::open(args::as_path(path)).map_err(|e| Failure::io(path, &e))?;
        let opened = verifier
            .verifier
            .fetched(&step.entry, file)
            .map_err(|e| Failure::from(e).in_file(path))?;
        let judged = judge(opened, device).map_err(|e| Failure::from(e).in_file(path))?;
        let mut package = hpk_package::new(Ready::Fetched(judged));
        package.recorded_as = step.entry.delta.map(|d| d.full);
        out.set(package);
        Ok(())
    })
}

/// Gives the folder `dir` where the device's own files are, laid out by
/// payload name as on the device (e.g. `dir/System32/hal.dll` for the
/// payload `System32/hal.dll`): the bases from which the package's delta
/// and unchanged payloads are rebuilt (`spec/SPEC.md`, "Delta chunks").
/// Call it after opening the package and before `hpk_package_verify` at
/// `HPK_DEPTH_FULL` or `hpk_package_extract`. Those check each base's
/// size and SHA-256 against the manifest before using it: a base that is
/// missing or differs fails them with `HPK_POLICY`, reason
/// `missing-base`, and nothing is extracted. The folder is read only by
/// those calls (a relative path, from the working directory of that
/// time). Giving it to a package that needs no bases does no harm; a
/// second call replaces the folder. After the package was verified or
/// extracted: `HPK_INVALID_ARGUMENT`, as for a second verification.
///
/// # Safety
///
/// `dir` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_package_set_base_dir(
    package: Option<&mut hpk_package>,
    dir: *const c_char,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let package = required_mut(package, "package")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let dir = unsafe { args::path(dir, "dir") }?;
        let ready = package.take()?;
        let bases: Arc<dyn BaseFiles> = Arc::new(BaseDir::new(dir));
        package.state = State::Ready(ready.with_bases(bases));
        Ok(())
    })
}

/// Verifies the package to `depth` (`HPK_DEPTH_FULL` before installing).
/// At full depth a package with delta or unchanged payloads needs the
/// device's files (`hpk_package_set_base_dir`); header and stored depth
/// need none. Once per package: a package verified or extracted already
/// gives `HPK_INVALID_ARGUMENT`; open it again to check it again.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_verify(
    package: Option<&mut hpk_package>,
    depth: hpk_depth,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let package = required_mut(package, "package")?;
        let depth = args::depth(depth)?;
        let ready = package.take()?;
        let manifest = ready.verify(depth)?;
        package.state = State::Checked {
            manifest,
            full: depth == Depth::Full,
        };
        Ok(())
    })
}

/// Verifies every payload and writes it into the folder `dir`, all or
/// nothing: the payloads are written into a private folder beside `dir`,
/// which is renamed to `dir` only once everything verified. `dir` must not
/// exist or be an empty folder, and its parent must exist. Extraction is
/// full depth: delta and unchanged payloads are rebuilt from the device's
/// files (`hpk_package_set_base_dir`). Once per package, as
/// `hpk_package_verify`.
///
/// # Safety
///
/// `dir` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_package_extract(
    package: Option<&mut hpk_package>,
    dir: *const c_char,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let package = required_mut(package, "package")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let dir = unsafe { args::path(dir, "dir") }?;
        let ready = package.take()?;
        let extracted = ready.extract(args::as_path(dir))?;
        package.state = State::Checked {
            manifest: extracted.manifest,
            full: true,
        };
        Ok(())
    })
}

/// The package's name. Owned by the package: valid until
/// `hpk_package_free`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_name(package: Option<&hpk_package>) -> *const c_char {
    guard_value(ptr::null(), || {
        package.map_or(ptr::null(), |p| p.name.as_ptr())
    })
}

/// The package's content version, e.g. `10.0.26100.3000`. Owned by the
/// package. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_version(package: Option<&hpk_package>) -> *const c_char {
    guard_value(ptr::null(), || {
        package.map_or(ptr::null(), |p| p.version.as_ptr())
    })
}

/// The package's kind: `baseline`, `hotpatch`, `standard` or `recovery`.
/// Owned by the package. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_kind(package: Option<&hpk_package>) -> *const c_char {
    guard_value(ptr::null(), || {
        package.map_or(ptr::null(), |p| p.kind.as_ptr())
    })
}

/// The package's manifest digest, its identity: 64 lowercase hexadecimal
/// digits. Owned by the package. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_digest(package: Option<&hpk_package>) -> *const c_char {
    guard_value(ptr::null(), || {
        package.map_or(ptr::null(), |p| p.digest.as_ptr())
    })
}

/// How many payloads (files) the package holds; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_payload_count(package: Option<&hpk_package>) -> usize {
    guard_value(0, || package.map_or(0, |p| p.payload_count))
}

/// The package's security version (its anti-rollback counter); 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_security_version(package: Option<&hpk_package>) -> u64 {
    guard_value(0, || package.map_or(0, |p| p.security_version))
}

/// 1 if some payload of the package is stored as a difference from (or
/// as) a file the device must already have, so that full-depth
/// verification and extraction need `hpk_package_set_base_dir`; 0
/// otherwise, and 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_needs_bases(package: Option<&hpk_package>) -> c_int {
    guard_value(0, || package.map_or(0, |p| c_int::from(p.needs_bases)))
}

/// Frees a package, closing its file. NULL is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_package_free(package: Option<Box<hpk_package>>) {
    guard_value((), || drop(package));
}

/// Records an installed package: a baseline becomes the installed
/// baseline and raises the rollback floor, a hotpatch its sequence, and
/// so on (`spec/SPEC.md`, "Keeping the device state"). Nothing is ever
/// lowered. The package must have been verified to full depth or
/// extracted (else `HPK_INVALID_ARGUMENT`). A delta package is recorded
/// as the full package its catalog entry names (`delta.full`), which is
/// what hotpatches name as their baseline: it must have been opened with
/// `hpk_verifier_open_step` for a step whose entry names one (else
/// `HPK_INVALID_ARGUMENT`). Save the device afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_device_record_installed(
    device: Option<&mut hpk_device>,
    package: Option<&hpk_package>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let device = required_mut(device, "device")?;
        let package = required(package, "package")?;
        let manifest = package.installable()?;
        match package.recorded_as {
            Some(full) => device.device.record_installed_as(manifest, full),
            // Recorded under its own digest, a delta package would leave
            // the device naming a baseline no hotpatch names.
            None if package.needs_bases => {
                return Err(Failure::invalid(format!(
                    "package {} {} is a delta package: it is recorded as the full package its \
                     catalog entry names, so open it with hpk_verifier_open_step",
                    package.name.to_string_lossy(),
                    package.version.to_string_lossy()
                )));
            }
            None => device.device.record_installed(manifest),
        }
        Ok(())
    })
}
