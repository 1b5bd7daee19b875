//! What can go wrong while fetching, and whose fault it is: a mirror's
//! (the fetch moves on to the next one) or the update's (it stops).

use hpk_verify::{CatalogError, ErrorClass, RootError};
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why one mirror could not serve one file. The fetch drops the mirror
/// for that file and goes on with the next one; nothing it sent that was
/// not verified is kept.
#[derive(Debug)]
#[non_exhaustive]
pub enum MirrorProblem {
    /// No connection, a TLS failure, a timeout, a connection that broke.
    Transport(String),
    /// An HTTP status other than the one asked for (404 where a file must
    /// be, 416, 5xx, …).
    Status(u16),
    /// A 200 with the whole file where a 206 with a byte range was asked:
    /// the server ignores `Range`.
    IgnoresRange,
    /// A 206 for another range than the one asked for, or without a
    /// usable `Content-Range`.
    WrongRange(String),
    /// More bytes than the file or range can hold.
    TooLong {
        /// The most that was acceptable.
        limit: u64,
    },
    /// The body ended before the range did.
    Truncated {
        /// Bytes expected.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// Bytes came slower than the minimum rate.
    TooSlow {
        /// Bytes per second over the last window.
        rate: u64,
        /// The minimum.
        minimum: u64,
    },
    /// A chunk whose SHA-256 is not the one its signed index names.
    WrongChunk {
        /// Payload name.
        payload: String,
        /// Chunk number within the payload.
        chunk: u64,
    },
    /// A file that does not verify (a trust root, a catalog or a
    /// package's head): what the mirror serves is not what was signed.
    Invalid(String),
    /// A file of a mirror in a local folder (`file://`) that is missing
    /// or cannot be read.
    Unreadable(String),
}

impl MirrorProblem {
    /// Whether asking the same mirror again may help (a broken
    /// connection, a 5xx, a timeout), as opposed to a mirror that answers
    /// wrongly.
    pub fn transient(&self) -> bool {
        match self {
            MirrorProblem::Transport(_) | MirrorProblem::Truncated { .. } => true,
            MirrorProblem::Status(s) => *s >= 500 || *s == 408 || *s == 429,
            _ => false,
        }
    }
}

impl fmt::Display for MirrorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MirrorProblem::Transport(e) => write!(f, "{e}"),
            MirrorProblem::Status(s) => write!(f, "HTTP status {s}"),
            MirrorProblem::IgnoresRange => {
                write!(
                    f,
                    "answered a byte-range request with the whole file (HTTP 200 instead of 206)"
                )
            }
            MirrorProblem::WrongRange(e) => write!(f, "answered with the wrong range: {e}"),
            MirrorProblem::TooLong { limit } => {
                write!(f, "sent more than the {limit} bytes expected")
            }
            MirrorProblem::Truncated { expected, received } => {
                write!(f, "the body ended after {received} of {expected} bytes")
            }
            MirrorProblem::TooSlow { rate, minimum } => write!(
                f,
                "too slow: {rate} bytes/s, below the minimum of {minimum} bytes/s"
            ),
            MirrorProblem::WrongChunk { payload, chunk } => write!(
                f,
                "sent wrong bytes: chunk {chunk} of payload {payload} does not match its SHA-256 in the signed index"
            ),
            MirrorProblem::Invalid(e) => write!(f, "served a file that does not verify: {e}"),
            MirrorProblem::Unreadable(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

/// One mirror's failure for one URL.
#[derive(Debug)]
pub struct MirrorFailure {
    /// The URL asked for.
    pub url: String,
    /// What went wrong.
    pub problem: MirrorProblem,
}

impl fmt::Display for MirrorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.url, self.problem)
    }
}

/// A fetch that failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchError {
    /// Every mirror failed for a file (each failure, in the order the
    /// mirrors were tried).
    Mirrors {
        /// What was being fetched ("trust root version 3", "catalog",
        /// "package NAME VERSION").
        what: String,
        /// Each mirror's failure.
        failures: Vec<MirrorFailure>,
    },
    /// A mirror URL or a catalog location that is not a usable URL.
    Url(String),
    /// The catalog verifies on no mirror (each mirror's reason is in
    /// `failures`); the last verification error decides the class.
    Catalog {
        /// The last verification error.
        error: CatalogError,
        /// Each mirror's failure.
        failures: Vec<MirrorFailure>,
    },
    /// A trust-root version that a mirror serves does not verify as the
    /// next version: the walk stops there, before the catalog.
    Root {
        /// The version asked for.
        version: u64,
        /// The URL.
        url: String,
        /// Why it was refused.
        error: RootError,
    },
    /// The package is authentic but does not apply to this device, or
    /// is otherwise refused by the policy: no mirror can change that.
    Package {
        /// The package file's URL (the first mirror's).
        url: String,
        /// The verification error.
        error: hpk_verify::FetchError,
    },
    /// The certificate authorities given to trust for HTTPS could not be
    /// read as PEM certificates.
    Certificates(String),
    /// A local file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
}

impl FetchError {
    /// The layer of this error ([`ErrorClass`]): `io` for mirrors that
    /// all failed to serve and for local files, the verification's class
    /// otherwise.
    pub fn class(&self) -> ErrorClass {
        match self {
            FetchError::Mirrors { failures, .. } => {
                // Every mirror served bytes that do not verify: that is
                // the package's (or the repository's) fault, not the
                // network's.
                if !failures.is_empty()
                    && failures.iter().all(|f| {
                        matches!(
                            f.problem,
                            MirrorProblem::WrongChunk { .. } | MirrorProblem::Invalid(_)
                        )
                    })
                {
                    ErrorClass::Integrity
                } else {
                    ErrorClass::Io
                }
            }
            FetchError::Url(_) | FetchError::Certificates(_) => ErrorClass::Malformed,
            FetchError::Catalog { error, .. } => error.class(),
            FetchError::Root { error, .. } => error.class(),
            FetchError::Package { error, .. } => error.class(),
            FetchError::Io { .. } => ErrorClass::Io,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, error: io::Error) -> FetchError {
        FetchError::Io {
            path: path.into(),
            error,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Mirrors { what, failures } => {
                write!(f, "no mirror could serve the {what}")?;
                for failure in failures {
                    write!(f, "; {failure}")?;
                }
                Ok(())
            }
            FetchError::Url(e) => write!(f, "{e}"),
            FetchError::Certificates(e) => write!(f, "the certificate authorities to trust: {e}"),
            FetchError::Catalog { error, failures } => {
                write!(f, "no mirror serves a catalog that verifies: {error}")?;
                for failure in failures {
                    write!(f, "; {failure}")?;
                }
                Ok(())
            }
            FetchError::Root {
                version,
                url,
                error,
            } => write!(
                f,
                "{url}: trust root version {version} does not verify ({error}); the update stops before the catalog"
            ),
            FetchError::Package { url, error } => write!(f, "{url}: {error}"),
            FetchError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for FetchError {}
