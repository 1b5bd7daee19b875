//! Device state: what a device is and what it has installed, loaded from
//! and saved to its TOML profile (`docs/device-profile.md`).

use crate::args::{
    self, HPK_CLOCK_LOWER_BOUND, HPK_CLOCK_SYSTEM, HPK_CLOCK_TRUSTED, hpk_clock, required,
};
use crate::error::{Failure, c_string, guard, guard_value, hpk_error, hpk_status};
use hpk_verify::{Clock, DeviceProfile};
use std::ffi::c_char;
use std::fs::File;
use std::io::Read;
use std::ptr;

/// The largest device profile read (1 MiB): a profile is a few hundred
/// bytes, plus 65 per revoked digest.
const MAX_PROFILE_LEN: u64 = 1 << 20;

/// A device as the policy sees it, and the state it keeps (installed
/// baseline, hotpatch sequence, rollback floors, revocations).
pub struct hpk_device {
    pub(crate) device: DeviceProfile,
}

/// Loads the device profile at `path` (TOML, `docs/device-profile.md`).
/// A profile that does not parse is `HPK_MALFORMED`. On success `*out` is
/// a new device (free it with `hpk_device_free`).
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_device_load(
    path: *const c_char,
    out: Option<&mut *mut hpk_device>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = args::out(out, "out")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { args::path(path, "path") }?;
        let file = File::open(args::as_path(path)).map_err(|e| Failure::io(path, &e))?;
        let mut bytes = Vec::new();
        file.take(MAX_PROFILE_LEN.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::io(path, &e))?;
        if bytes.len() as u64 > MAX_PROFILE_LEN {
            return Err(Failure::new(
                hpk_status::HPK_LIMIT,
                format!("{path}: a device profile is at most {MAX_PROFILE_LEN} bytes"),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Failure::new(hpk_status::HPK_MALFORMED, format!("{path}: not UTF-8")))?;
        let device = DeviceProfile::from_toml(&text).map_err(|e| Failure::from(e).in_file(path))?;
        out.set(hpk_device { device });
        Ok(())
    })
}

/// Saves the device profile to `path`, atomically: written to a temporary
/// file in the same folder, flushed to disk, renamed over `path`, then
/// the folder flushed. On failure `path` is left as it was and the
/// temporary file removed. A counter too large for TOML (above 2^63 - 1)
/// is `HPK_LIMIT`.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_device_save(
    device: Option<&hpk_device>,
    path: *const c_char,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let device = required(device, "device")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let path = unsafe { args::path(path, "path") }?;
        device
            .device
            .save(args::as_path(path))
            .map_err(|e| Failure::from(e).in_file(path))
    })
}

/// The device profile as TOML, in a new string `*out` (free it with
/// `hpk_string_free`).
#[unsafe(no_mangle)]
pub extern "C" fn hpk_device_to_toml(
    device: Option<&hpk_device>,
    out: Option<&mut *mut c_char>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = out.ok_or_else(|| Failure::invalid("out is NULL"))?;
        *out = ptr::null_mut();
        let device = required(device, "device")?;
        let text = device.device.to_toml().map_err(Failure::from)?;
        *out = c_string(text).into_raw();
        Ok(())
    })
}

/// The clock the profile implies, into `*out`: the system clock online,
/// its recorded time lower bound (or 0) in the recovery profile.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_device_default_clock(
    device: Option<&hpk_device>,
    out: Option<&mut hpk_clock>,
    err: Option<&mut *mut hpk_error>,
) -> hpk_status {
    guard(err, || {
        let out = out.ok_or_else(|| Failure::invalid("out is NULL"))?;
        let device = required(device, "device")?;
        *out = match device.device.default_clock() {
            Clock::System => hpk_clock {
                kind: HPK_CLOCK_SYSTEM,
                seconds: 0,
            },
            Clock::LowerBound(seconds) => hpk_clock {
                kind: HPK_CLOCK_LOWER_BOUND,
                seconds,
            },
            Clock::Trusted(seconds) => hpk_clock {
                kind: HPK_CLOCK_TRUSTED,
                seconds,
            },
        };
        Ok(())
    })
}

/// Frees a device. NULL is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_device_free(device: Option<Box<hpk_device>>) {
    guard_value((), || drop(device));
}
