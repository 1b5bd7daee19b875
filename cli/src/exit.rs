//! Exit codes and the error type every command returns.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | invalid: malformed, tampered, badly signed, over a limit, unsupported |
//! | 2 | usage: bad arguments or a bad input file (description, device profile, key, passphrase) |
//! | 3 | valid but not applicable to this device (policy) |
//! | 4 | I/O error: a file could not be read or written |
//! | 130 | interrupted by SIGINT, SIGTERM or SIGHUP ([`exit_cleanly_on_interrupt`]) |
//!
//! `verify`, `inspect` and `plan` write nothing, so they install no
//! handler: a signal ends them by its default action (a shell reports
//! 128 + its number: 130 for SIGINT).

use hpk_format::ErrorClass;
use std::error::Error;
use std::fmt;
use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// What kind of failure ended a command; each has its own exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Malformed, tampered, badly signed, over a limit, unsupported.
    Invalid,
    /// Bad arguments or input files.
    Usage,
    /// Authentic but not applicable here.
    NotApplicable,
    /// Reading or writing failed.
    Io,
}

impl Failure {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Failure::Invalid => 1,
            Failure::Usage => 2,
            Failure::NotApplicable => 3,
            Failure::Io => 4,
        }
    }

    /// The failure that an error of `class` means.
    pub fn of_class(class: ErrorClass) -> Failure {
        match class {
            ErrorClass::Policy => Failure::NotApplicable,
            ErrorClass::Io => Failure::Io,
            _ => Failure::Invalid,
        }
    }

    /// The stable name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Invalid => "invalid",
            Failure::Usage => "usage",
            Failure::NotApplicable => "not-applicable",
            Failure::Io => "io",
        }
    }
}

/// A failed command: what failed, on which file, and what to do.
#[derive(Debug)]
pub struct CliError {
    /// Which exit code.
    pub failure: Failure,
    /// The library's error class, when a library error caused this.
    pub class: Option<ErrorClass>,
    /// The stable name of a policy failure (class `policy`), as the
    /// library names it: a not-applicable reason of a package, or
    /// `expired`, `not-yet-valid`, `wrong-version`, `rollback` for trust
    /// roots and catalogs.
    pub reason: Option<&'static str>,
    /// One line: what failed (a multi-line text is joined into one).
    pub message: String,
    /// An optional second line: what to do.
    pub hint: Option<String>,
    /// The command already printed its own `--json` document about this
    /// failure (so no `hpk-error/1` document follows).
    pub reported: bool,
    /// The error that caused this one reports a full disk or quota
    /// ([`is_disk_full`]): set by [`CliError::io`], [`CliError::from_class`]
    /// and [`CliError::caused_by`], read by
    /// [`CliError::with_disk_full_hint`].
    pub disk_full: bool,
}

impl CliError {
    /// An error of this kind.
    pub fn new(failure: Failure, message: impl Into<String>) -> CliError {
        CliError {
            failure,
            class: None,
            reason: None,
            message: message.into(),
            hint: None,
            reported: false,
            disk_full: false,
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(Failure::Usage, message)
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// Records the library's error class.
    pub fn with_class(mut self, class: ErrorClass) -> CliError {
        self.class = Some(class);
        self
    }

    /// Records the stable name of a policy failure.
    pub fn with_reason(mut self, reason: Option<&'static str>) -> CliError {
        self.reason = reason;
        self
    }

    /// Records the library error `err` that caused this one, so that a
    /// full disk among its causes is recognised ([`is_disk_full`]).
    pub fn caused_by(mut self, err: &(dyn Error + 'static)) -> CliError {
        self.disk_full |= is_disk_full(err);
        self
    }

    /// An error from a library, classified by its layer, about `file`.
    pub fn from_class(
        class: ErrorClass,
        file: &std::path::Path,
        err: &(dyn Error + 'static),
    ) -> CliError {
        CliError::new(
            Failure::of_class(class),
            format!("{}: {err}", file.display()),
        )
        .with_class(class)
        .caused_by(err)
    }

    /// An I/O error on `file`.
    pub fn io(file: &std::path::Path, err: &(dyn Error + 'static)) -> CliError {
        CliError::new(Failure::Io, format!("{}: {err}", file.display()))
            .with_class(ErrorClass::Io)
            .caused_by(err)
    }

    /// Adds the hint of a full disk to an I/O error that has no hint and
    /// whose cause is the operating system's "no space left on device" or
    /// "disk quota exceeded" ([`is_disk_full`]).
    pub fn with_disk_full_hint(mut self) -> CliError {
        if self.failure == Failure::Io && self.hint.is_none() && self.disk_full {
            self.hint = Some(DISK_FULL_HINT.to_owned());
        }
        self
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.failure.code())
    }

    /// The message on one line.
    pub fn line(&self) -> String {
        one_line(&self.message)
    }

    /// The hint on one line, if any.
    pub fn hint_line(&self) -> Option<String> {
        self.hint.as_deref().map(one_line)
    }
}

/// The hint given when a write failed because the disk is full.
pub const DISK_FULL_HINT: &str = "no space left on device: free space or write elsewhere";

/// Whether `err` or one of its causes ([`Error::source`], and the error an
/// [`io::Error`] wraps) is an [`io::Error`] of a full disk or quota:
/// [`io::ErrorKind::StorageFull`] (ENOSPC on Unix) or
/// [`io::ErrorKind::QuotaExceeded`] (EDQUOT).
pub fn is_disk_full(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        next = match e.downcast_ref::<io::Error>() {
            Some(io) => {
                if matches!(
                    io.kind(),
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                ) {
                    return true;
                }
                // An io::Error's source() skips the error it wraps.
                match io.get_ref() {
                    Some(inner) => Some(inner as &(dyn Error + 'static)),
                    None => e.source(),
                }
            }
            None => e.source(),
        };
    }
    false
}

/// Joins a multi-line text into one line: `a\n  b` becomes `a; b`.
pub fn one_line(text: &str) -> String {
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    parts.join("; ")
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.line())?;
        if let Some(h) = self.hint_line() {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

/// The result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Exit code of a command ended by SIGINT, SIGTERM or SIGHUP: 128 + 2, what
/// shells report for Ctrl-C.
pub const INTERRUPTED: i32 = 130;

/// Set while a passphrase prompt holds the terminal: the interrupt handler
/// ([`exit_cleanly_on_interrupt`]) then lets the prompt end the process
/// itself, once it has given the terminal its echo back.
pub static PROMPTING: AtomicBool = AtomicBool::new(false);

/// Installs the handler that ends the process on SIGINT, SIGTERM or
/// SIGHUP: it first removes the temporary files of the files being written
/// (packages, keys, device profiles: [`hpk_verify::remove_temp_files`])
/// and the staging folders of extractions
/// ([`hpk_verify::remove_staging_dirs`]), since destructors do
/// not run when the process ends this way, so that an interrupted command
/// leaves nothing unfinished behind, then exits with [`INTERRUPTED`].
pub fn exit_cleanly_on_interrupt() {
    // Without a handler (it cannot be installed), the default action still
    // ends the process; only the cleanup is lost.
    let _ = ctrlc::set_handler(|| {
        if PROMPTING.load(Ordering::SeqCst) {
            // A passphrase prompt turns Ctrl-C into its own exit once it
            // has given the terminal its echo back; let it.
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let removed =
            hpk_verify::remove_temp_files().saturating_add(hpk_verify::remove_staging_dirs());
        let what = match removed {
            0 => String::new(),
            1 => "; removed 1 unfinished file".to_owned(),
            n => format!("; removed {n} unfinished files"),
        };
        // A progress bar may hold the line.
        eprintln!("\nhpk: interrupted{what}");
        std::process::exit(INTERRUPTED);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_print_on_at_most_two_lines() {
        let e = CliError::usage("a.toml: bad\n  |\n  ^ here\n").hint("fix it\nnow");
        assert_eq!(
            e.to_string(),
            "error: a.toml: bad; |; ^ here\nhint: fix it; now"
        );
        assert_eq!(Failure::NotApplicable.code(), 3);
    }

    #[test]
    fn a_full_disk_gets_a_hint() {
        let full = std::io::Error::from_raw_os_error(28);
        let e = CliError::io(std::path::Path::new("out.hpk"), &full).with_disk_full_hint();
        assert_eq!(e.hint.as_deref(), Some(DISK_FULL_HINT));
        assert!(e.line().starts_with("out.hpk: No space left on device"));
        // Not for another error, nor over a hint already given.
        let other = std::io::Error::from_raw_os_error(5);
        let e = CliError::io(std::path::Path::new("out.hpk"), &other).with_disk_full_hint();
        assert_eq!(e.hint, None);
        let full = std::io::Error::from_raw_os_error(28);
        let e = CliError::io(std::path::Path::new("x"), &full)
            .hint("mine")
            .with_disk_full_hint();
        assert_eq!(e.hint.as_deref(), Some("mine"));
    }

    /// A library error that wraps `io` as its source.
    #[derive(Debug)]
    struct Wrapper(io::Error);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "writing failed: {}", self.0)
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_full_disk_is_found_among_the_causes_not_in_the_text() {
        let kind = io::Error::from(io::ErrorKind::StorageFull);
        assert!(is_disk_full(&kind));
        assert!(is_disk_full(&io::Error::from(io::ErrorKind::QuotaExceeded)));
        // Behind a library error, and inside an io::Error that wraps one.
        let wrapped = Wrapper(io::Error::from_raw_os_error(28));
        assert!(is_disk_full(&wrapped));
        assert!(is_disk_full(&io::Error::other(wrapped)));
        let e = CliError::new(Failure::Io, "out.hpk: writing failed")
            .caused_by(&Wrapper(io::Error::from_raw_os_error(28)))
            .with_disk_full_hint();
        assert_eq!(e.hint.as_deref(), Some(DISK_FULL_HINT));
        // Words alone are not a cause.
        let text = io::Error::other("No space left on device (os error 28)");
        assert!(!is_disk_full(&text));
        assert!(!is_disk_full(&Wrapper(io::Error::from_raw_os_error(5))));
        // Only an I/O failure gets the hint.
        let e = CliError::new(Failure::Invalid, "x")
            .caused_by(&io::Error::from_raw_os_error(28))
            .with_disk_full_hint();
        assert_eq!(e.hint, None);
    }
}
