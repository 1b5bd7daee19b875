//! Arguments from C: strings, paths, out-parameters, clocks and depths,
//! each checked before use. The only raw pointers the C API takes are
//! strings; they are read here.

use crate::error::Failure;
use hpk_verify::{Clock, Depth};
use std::ffi::{CStr, c_char};
use std::path::Path;
use std::ptr;

/// What a verifier knows about the current time: one of `HPK_CLOCK_SYSTEM`,
/// `HPK_CLOCK_TRUSTED`, `HPK_CLOCK_LOWER_BOUND` (0 is not a clock, so a
/// zeroed `hpk_clock` is refused).
pub type hpk_clock_kind = u32;

/// The system time, trusted (an online agent). A verifier reads it again
/// at each check; `hpk_root_load` reads it once.
pub const HPK_CLOCK_SYSTEM: hpk_clock_kind = 1;
/// `seconds` (since the Unix epoch) is the current time, trusted: expiry
/// and not-yet-valid are both judged against it.
pub const HPK_CLOCK_TRUSTED: hpk_clock_kind = 2;
/// `seconds` is only a lower bound on the time, such as the newest
/// timestamp the device has seen (a recovery environment): expiry is
/// judged against it, not-yet-valid cannot be.
pub const HPK_CLOCK_LOWER_BOUND: hpk_clock_kind = 3;

/// A clock: its kind, and its time in seconds since the Unix epoch
/// (ignored for `HPK_CLOCK_SYSTEM`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct hpk_clock {
    /// `HPK_CLOCK_SYSTEM`, `HPK_CLOCK_TRUSTED` or `HPK_CLOCK_LOWER_BOUND`.
    pub kind: hpk_clock_kind,
    /// Seconds since the Unix epoch (UTC).
    pub seconds: u64,
}

impl hpk_clock {
    pub(crate) fn to_clock(self) -> Result<Clock, Failure> {
        match self.kind {
            HPK_CLOCK_SYSTEM => Ok(Clock::system()),
            HPK_CLOCK_TRUSTED => Ok(Clock::Trusted(self.seconds)),
            HPK_CLOCK_LOWER_BOUND => Ok(Clock::LowerBound(self.seconds)),
            other => Err(Failure::invalid(format!(
                "clock kind {other} is not HPK_CLOCK_SYSTEM, HPK_CLOCK_TRUSTED or HPK_CLOCK_LOWER_BOUND"
            ))),
        }
    }
}

/// How much of a package to verify: one of `HPK_DEPTH_HEADER`,
/// `HPK_DEPTH_STORED`, `HPK_DEPTH_FULL` (`spec/SPEC.md`, "Depth").
pub type hpk_depth = u32;

/// Signatures, manifest, policy and the file's length; no byte after the
/// head is read.
pub const HPK_DEPTH_HEADER: hpk_depth = 1;
/// Header depth, then every chunk index and stored chunk against its
/// digest, and the end of the file; nothing is decompressed.
pub const HPK_DEPTH_STORED: hpk_depth = 2;
/// Every check: stored chunks, their decoding and each payload's content
/// SHA-256. What an agent verifies before installing.
pub const HPK_DEPTH_FULL: hpk_depth = 3;

pub(crate) fn depth(depth: hpk_depth) -> Result<Depth, Failure> {
    match depth {
        HPK_DEPTH_HEADER => Ok(Depth::Header),
        HPK_DEPTH_STORED => Ok(Depth::Stored),
        HPK_DEPTH_FULL => Ok(Depth::Full),
        other => Err(Failure::invalid(format!(
            "depth {other} is not HPK_DEPTH_HEADER, HPK_DEPTH_STORED or HPK_DEPTH_FULL"
        ))),
    }
}

/// A string argument named `what`: NULL and non-UTF-8 are refused.
///
/// # Safety
///
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: not NULL, and the caller promises a NUL-terminated string
    // valid for 'a.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map_err(|_| Failure::invalid(format!("{what} is not UTF-8")))
}

/// A path argument named `what`: NULL, non-UTF-8 and empty are refused.
/// Returned as text too, to name the file in messages.
///
/// # Safety
///
/// As [`text`].
pub(crate) unsafe fn path<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: the caller's promise, passed on.
    let path = unsafe { text(ptr, what) }?;
    if path.is_empty() {
        return Err(Failure::invalid(format!("{what} is empty")));
    }
    Ok(path)
}

/// `path` as a `Path`.
pub(crate) fn as_path(path: &str) -> &Path {
    Path::new(path)
}

/// A handle argument named `what`: NULL is refused.
pub(crate) fn required<'a, T>(handle: Option<&'a T>, what: &str) -> Result<&'a T, Failure> {
    handle.ok_or_else(|| Failure::invalid(format!("{what} is NULL")))
}

/// A mutable handle argument named `what`: NULL is refused.
pub(crate) fn required_mut<'a, T>(
    handle: Option<&'a mut T>,
    what: &str,
) -> Result<&'a mut T, Failure> {
    handle.ok_or_else(|| Failure::invalid(format!("{what} is NULL")))
}

/// An out-parameter `T **out`, set to NULL until the call succeeds.
pub(crate) struct Out<'a, T>(&'a mut *mut T);

/// The out-parameter named `what`: NULL is refused, `*out` becomes NULL.
pub(crate) fn out<'a, T>(slot: Option<&'a mut *mut T>, what: &str) -> Result<Out<'a, T>, Failure> {
    let slot = slot.ok_or_else(|| Failure::invalid(format!("{what} is NULL")))?;
    *slot = ptr::null_mut();
    Ok(Out(slot))
}

impl<T> Out<'_, T> {
    /// Hands `value` to the caller, who frees it.
    pub(crate) fn set(self, value: T) {
        *self.0 = Box::into_raw(Box::new(value));
    }
}
