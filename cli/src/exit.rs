//! Exit codes and the error type every command returns.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | invalid: malformed, tampered, badly signed, over a limit, unsupported |
//! | 2 | usage: bad arguments or a bad input file (description, device profile, key, passphrase) |
//! | 3 | valid but not applicable to this device (policy) |
//! | 4 | I/O error: a file could not be read or written |

use hpk_format::ErrorClass;
use std::fmt;
use std::process::ExitCode;

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
    /// One line: what failed.
    pub message: String,
    /// An optional second line: what to do.
    pub hint: Option<String>,
}

impl CliError {
    /// An error of this kind.
    pub fn new(failure: Failure, message: impl Into<String>) -> CliError {
        CliError {
            failure,
            message: message.into(),
            hint: None,
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

    /// An error from a library, classified by its layer, about `file`.
    pub fn from_class(
        class: ErrorClass,
        file: &std::path::Path,
        err: impl fmt::Display,
    ) -> CliError {
        CliError::new(
            Failure::of_class(class),
            format!("{}: {err}", file.display()),
        )
    }

    /// An I/O error on `file`.
    pub fn io(file: &std::path::Path, err: impl fmt::Display) -> CliError {
        CliError::new(Failure::Io, format!("{}: {err}", file.display()))
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.failure.code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

/// The result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;
