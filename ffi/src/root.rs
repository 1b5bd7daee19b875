//! Trust roots and verifiers.

use crate::args::{self, hpk_clock, required, required_mut};
use crate::error::{Failure, guard, guard_value, hpk_error, hpk_status};
use hpk_verify::{Limits, TrustedRoot, Verifier};
use std::ffi::c_char;
use std::fs::File;

/// A trust root the device trusts by configuration (pinned), loaded and
/// checked: self-signed by a threshold of its root keys, not expired.
pub struct hpk_root {
    root: TrustedRoot,
}

/// Verifies everything signed under one trust root, at one clock:
/// packages, catalogs, root rotations and plans.
///
/// With `HPK_CLOCK_SYSTEM` the system time is read at each check
/// ([`Clock::System`](hpk_verify::Clock::System)), so a verifier kept for days does not judge expiry
/// at the time it was made.
pub struct hpk_verifier {
    pub(crate) verifier: Verifier,
}

/// Loads the pinned trust root at `path`, judged at `clock`: it must be
/// signed by a threshold of its own root keys and not be expired. On
/// success `*out` is a new root (free it with `hpk_root_free`).
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_root_load(
    path: *const c_char,
    clock: hpk_clock,
    out: Option<&mut *mut hpk_root>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = args::out(out, "out")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { args::path(path, "path") }?;
        let clock = clock.to_clock()?;
        let file = File::open(args::as_path(path)).map_err(|e| Failure::io(path, &e))?;
        let root = TrustedRoot::load_from(file, clock, &Limits::default())
            .map_err(|e| Failure::from(e).in_file(path))?;
        out.set(hpk_root { root });
        Ok(())
    })
}

/// The root's version; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_root_version(root: Option<&hpk_root>) -> u64 {
    guard_value(0, || root.map_or(0, |r| r.root.root().version))
}

/// Frees a root. NULL is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_root_free(root: Option<Box<hpk_root>>) {
    guard_value((), || drop(root));
}

/// A verifier for everything signed under `root`, judging time by
/// `clock` (`HPK_CLOCK_SYSTEM`: the system time at each check), within
/// the default limits. `root` is copied: it can be freed
/// at once. On success `*out` is a new verifier (free it with
/// `hpk_verifier_free`).
#[unsafe(no_mangle)]
pub extern "C" fn hpk_verifier_new(
    root: Option<&hpk_root>,
    clock: hpk_clock,
    out: Option<&mut *mut hpk_verifier>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = args::out(out, "out")?;
        let root = required(root, "root")?;
        out.set(hpk_verifier {
            verifier: Verifier::new(root.root.clone()).clock(clock.to_clock()?),
        });
        Ok(())
    })
}

/// Moves the verifier to newer trust roots: the `count` files `paths[0]`
/// to `paths[count - 1]`, in order, each exactly one version above the one
/// before and signed by a threshold of the previous root keys and of its
/// own; the last must not be expired. All or nothing: on failure the
/// verifier keeps its root. `count` 0 only checks that the current root
/// has not expired.
///
/// # Safety
///
/// `paths` is NULL or points to `count` pointers, each NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_verifier_rotate(
    verifier: Option<&mut hpk_verifier>,
    paths: *const *const c_char,
    count: usize,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let verifier = required_mut(verifier, "verifier")?;
        let list: &[*const c_char] = if count == 0 {
            &[]
        } else if paths.is_null() {
            return Err(Failure::invalid("paths is NULL"));
        } else {
            // SAFETY: not NULL, and the caller promises `count` pointers.
            unsafe { std::slice::from_raw_parts(paths, count) }
        };
        let mut names = Vec::with_capacity(list.len());
        let mut files = Vec::with_capacity(list.len());
        for (i, &p) in list.iter().enumerate() {
            // SAFETY: the caller promises NULL or a NUL-terminated string.
            let path = unsafe { args::path(p, &format!("paths[{i}]")) }?;
            files.push(File::open(args::as_path(path)).map_err(|e| Failure::io(path, &e))?);
            names.push(path);
        }
        // Which root failed: the last one taken from the chain (for an
        // expired last root too).
        let mut taken = 0usize;
        let chain = files
            .into_iter()
            .inspect(|_| taken = taken.saturating_add(1));
        verifier.verifier.rotate(chain).map_err(|e| {
            let failure = Failure::from(e);
            match names.get(taken.saturating_sub(1)) {
                Some(path) if taken > 0 => failure.in_file(path),
                _ => failure,
            }
        })
    })
}

/// The version of the trust root in force; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_verifier_root_version(verifier: Option<&hpk_verifier>) -> u64 {
    guard_value(0, || {
        verifier.map_or(0, |v| v.verifier.root().root().version)
    })
}

/// Frees a verifier. NULL is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_verifier_free(verifier: Option<Box<hpk_verifier>>) {
    guard_value((), || drop(verifier));
}
