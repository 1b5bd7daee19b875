//! What every call returns (`hpk_status`), the details an optional
//! `hpk_error **err` out-parameter carries, and the one place where
//! panics are caught.

use hpk_verify::{
    DeviceError, DocumentError, DocumentKind, ErrorClass, ExtractError, FetchError, PayloadError,
    VerifyError,
};
use std::any::Any;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

/// What a call did: `HPK_OK`, or why it failed. The classes are those of
/// `spec/SPEC.md` ("Error classes"), then two of the C API.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum hpk_status {
    /// Success.
    HPK_OK = 0,
    /// The bytes do not follow the format: a package, trust root or
    /// catalog, or a device profile that does not parse.
    HPK_MALFORMED = 1,
    /// A format version, algorithm or critical extension this library does
    /// not know.
    HPK_UNSUPPORTED = 2,
    /// Signatures missing, invalid, or below the threshold of the role.
    HPK_SIGNATURE = 3,
    /// Bytes that do not match what the signed metadata commits to: a
    /// tampered or damaged payload, or a package that is not the one its
    /// catalog entry names.
    HPK_INTEGRITY = 4,
    /// A declared size or count beyond the local limits.
    HPK_LIMIT = 5,
    /// Authentic, but not acceptable here: not applicable to the device,
    /// expired, rolled back, or a delta package whose base files the
    /// device does not have. `hpk_error_reason` gives the stable name of
    /// the reason, e.g. `wrong-architecture` or `missing-base`.
    HPK_POLICY = 6,
    /// Reading or writing a file failed.
    HPK_IO = 7,
    /// A NULL pointer where one is required, a string that is not UTF-8,
    /// an unknown clock kind or depth, an index out of range, or a handle
    /// used out of order (a package verified twice).
    HPK_INVALID_ARGUMENT = 8,
    /// A bug in this library (a panic, caught at the boundary), or an error
    /// class this version of the C API does not know.
    HPK_INTERNAL = 9,
}

/// The details of a failed call: its status, a message for people and, for
/// `HPK_POLICY`, the stable name of the reason. Freed with
/// `hpk_error_free`.
pub struct hpk_error {
    status: hpk_status,
    message: CString,
    reason: Option<CString>,
}

/// A failure inside the library, before it becomes an `hpk_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    status: hpk_status,
    message: String,
    reason: Option<&'static str>,
}

impl Failure {
    pub(crate) fn new(status: hpk_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            reason: None,
        }
    }

    /// `HPK_INVALID_ARGUMENT`.
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(hpk_status::HPK_INVALID_ARGUMENT, message)
    }

    /// `HPK_IO` for `path`.
    pub(crate) fn io(path: &str, e: &std::io::Error) -> Failure {
        Failure::new(hpk_status::HPK_IO, format!("{path}: {e}"))
    }

    fn of_class(class: ErrorClass, message: String, reason: Option<&'static str>) -> Failure {
        Failure {
            status: status_of(class),
            message,
            reason,
        }
    }

    /// The same failure, its message prefixed with the file it concerns.
    pub(crate) fn in_file(mut self, path: &str) -> Failure {
        self.message = format!("{path}: {}", self.message);
        self
    }

    fn panicked(payload: &(dyn Any + Send)) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        Failure::new(
            hpk_status::HPK_INTERNAL,
            format!("internal error (a bug in hpk, please report it): {what}"),
        )
    }

    fn into_error(self) -> hpk_error {
        hpk_error {
            status: self.status,
            message: c_string(self.message),
            reason: self.reason.map(|r| c_string(r.to_owned())),
        }
    }
}

/// The status of an error class. `ErrorClass` may grow: a class this
/// version does not know fails closed, as `HPK_INTERNAL`.
fn status_of(class: ErrorClass) -> hpk_status {
    match class {
        ErrorClass::Malformed => hpk_status::HPK_MALFORMED,
        ErrorClass::Unsupported => hpk_status::HPK_UNSUPPORTED,
        ErrorClass::Limit => hpk_status::HPK_LIMIT,
        ErrorClass::Signature => hpk_status::HPK_SIGNATURE,
        ErrorClass::Policy => hpk_status::HPK_POLICY,
        ErrorClass::Integrity => hpk_status::HPK_INTEGRITY,
        ErrorClass::Io => hpk_status::HPK_IO,
        _ => hpk_status::HPK_INTERNAL,
    }
}

/// The stable name of a missing or different base (`spec/SPEC.md` D5).
const MISSING_BASE: &str = "missing-base";

/// The reason a verification failure gives through `hpk_error_reason`:
/// the policy's, or `missing-base`. A missing base is of class policy but
/// a payload error, without a [`hpk_verify::Reason`]: named here so that
/// an agent can tell it from the other policy failures.
fn verify_reason(e: &VerifyError) -> Option<&'static str> {
    match e {
        VerifyError::Payload(PayloadError::MissingBase { .. }) => Some(MISSING_BASE),
        _ => e.reason().map(|r| r.as_str()),
    }
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Failure {
        let reason = verify_reason(&e);
        Failure::of_class(e.class(), e.to_string(), reason)
    }
}

impl From<ExtractError> for Failure {
    fn from(e: ExtractError) -> Failure {
        // ExtractError has no reason() of its own: a policy failure can
        // only come from the verification inside.
        let reason = match &e {
            ExtractError::Verify(v) => verify_reason(v),
            _ => None,
        };
        Failure::of_class(e.class(), e.to_string(), reason)
    }
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Failure {
        let reason = match &e {
            FetchError::Verify(v) => verify_reason(v),
            _ => None,
        };
        Failure::of_class(e.class(), e.to_string(), reason)
    }
}

impl<K: DocumentKind> From<DocumentError<K>> for Failure {
    fn from(e: DocumentError<K>) -> Failure {
        let reason = e.reason().map(|r| r.as_str());
        Failure::of_class(e.class(), e.to_string(), reason)
    }
}

impl From<DeviceError> for Failure {
    fn from(e: DeviceError) -> Failure {
        Failure::of_class(e.class(), e.to_string(), None)
    }
}

/// `text` as a C string; a NUL byte inside (which no name, version or
/// digest can hold) is dropped rather than cutting the string short.
pub(crate) fn c_string(text: String) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// Runs the body of an entry point: catches a panic (`HPK_INTERNAL`),
/// stores the error in `*err` when `err` is not NULL, and returns the
/// status.
pub(crate) fn guard(
    err: Option<&mut *mut hpk_error>,
    body: impl FnOnce() -> Result<(), Failure>,
) -> hpk_status {
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(Failure::panicked(payload.as_ref())));
    let status = match &outcome {
        Ok(()) => hpk_status::HPK_OK,
        Err(failure) => failure.status,
    };
    if let Some(slot) = err {
        *slot = match outcome {
            Ok(()) => ptr::null_mut(),
            Err(failure) => Box::into_raw(Box::new(failure.into_error())),
        };
    }
    status
}

/// Runs the body of an accessor, which cannot fail: `fallback` if it
/// panics.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The status of an error; `HPK_INVALID_ARGUMENT` for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_error_status(err: Option<&hpk_error>) -> hpk_status {
    err.map_or(hpk_status::HPK_INVALID_ARGUMENT, |e| e.status)
}

/// The error's message, for people (one line, UTF-8). Owned by the error:
/// valid until `hpk_error_free`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_error_message(err: Option<&hpk_error>) -> *const c_char {
    err.map_or(ptr::null(), |e| e.message.as_ptr())
}

/// For `HPK_POLICY`, the stable name of the reason (e.g.
/// `wrong-architecture`, `expired`, `rollback`, `missing-base`;
/// `spec/SPEC.md` lists them);
/// NULL for other statuses and for NULL. Owned by the error: valid until
/// `hpk_error_free`.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_error_reason(err: Option<&hpk_error>) -> *const c_char {
    err.and_then(|e| e.reason.as_ref())
        .map_or(ptr::null(), |r| r.as_ptr())
}

/// Frees an error. NULL is allowed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_error_free(err: Option<Box<hpk_error>>) {
    guard_value((), || drop(err));
}

/// The name of a status, e.g. `"integrity"` for `HPK_INTEGRITY`: `"ok"`,
/// the error class names of the spec, `"invalid-argument"`, `"internal"`,
/// and `"unknown"` for any other value. A static string: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_status_name(status: c_int) -> *const c_char {
    let name: &'static CStr = match status {
        0 => c"ok",
        1 => c"malformed",
        2 => c"unsupported",
        3 => c"signature",
        4 => c"integrity",
        5 => c"limit",
        6 => c"policy",
        7 => c"io",
        8 => c"invalid-argument",
        9 => c"internal",
        _ => c"unknown",
    };
    name.as_ptr()
}

/// The version of this library, e.g. `"0.1.0"`. A static string: never
/// freed.
#[unsafe(no_mangle)]
pub extern "C" fn hpk_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Frees a string this library returned as `char *` (not `const char *`:
/// those belong to their handle). NULL is allowed.
///
/// # Safety
///
/// `s` is NULL or a string returned as `char *` by this library and not
/// freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hpk_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: the caller passes a string this library made with
    // `CString::into_raw` and has not freed.
    let owned = unsafe { CString::from_raw(s) };
    guard_value((), || drop(owned));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_panic_is_internal_with_its_message() {
        let mut err: *mut hpk_error = ptr::null_mut();
        let status = guard(Some(&mut err), || panic!("boom"));
        assert_eq!(status, hpk_status::HPK_INTERNAL);
        // SAFETY: guard stored an error made by Box::into_raw, freed once here.
        let e = unsafe { Box::from_raw(err) };
        assert!(e.message.to_str().unwrap().contains("boom"));
        assert!(e.reason.is_none());
    }

    #[test]
    fn success_clears_the_error_and_no_slot_is_fine() {
        let mut err: *mut hpk_error = ptr::dangling_mut();
        assert_eq!(guard(Some(&mut err), || Ok(())), hpk_status::HPK_OK);
        assert!(err.is_null());
        let status = guard(None, || Err(Failure::invalid("x")));
        assert_eq!(status, hpk_status::HPK_INVALID_ARGUMENT);
    }

    #[test]
    fn nul_bytes_are_dropped() {
        assert_eq!(c_string("a\0b".into()).to_str().unwrap(), "ab");
    }

    #[test]
    fn a_missing_base_is_policy_with_its_reason_however_it_comes() {
        use hpk_verify::Digest;
        let missing = || {
            VerifyError::Payload(PayloadError::MissingBase {
                payload: "System32/hal.dll".into(),
                base: Digest([7; 32]),
                reason: "the device has no such file".into(),
            })
        };
        for failure in [
            Failure::from(missing()),
            Failure::from(ExtractError::Verify(missing())),
            Failure::from(FetchError::Verify(missing())),
        ] {
            assert_eq!(failure.status, hpk_status::HPK_POLICY, "{failure:?}");
            assert_eq!(failure.reason, Some("missing-base"), "{failure:?}");
            assert!(failure.message.contains("System32/hal.dll"), "{failure:?}");
        }
        // Other payload failures keep no reason.
        let damaged = Failure::from(VerifyError::Payload(PayloadError::ContentDigest {
            payload: "System32/hal.dll".into(),
        }));
        assert_eq!(damaged.status, hpk_status::HPK_INTEGRITY);
        assert_eq!(damaged.reason, None);
    }

    #[test]
    fn status_names() {
        // SAFETY: hpk_status_name returns a static NUL-terminated string.
        let name = |s: c_int| unsafe { CStr::from_ptr(hpk_status_name(s)) };
        assert_eq!(name(hpk_status::HPK_OK as c_int), c"ok");
        assert_eq!(name(hpk_status::HPK_INTERNAL as c_int), c"internal");
        assert_eq!(name(99), c"unknown");
        assert_eq!(name(-1), c"unknown");
    }
}
