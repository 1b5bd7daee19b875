//! Loading what commands take as input: trust roots, device profiles,
//! public keys and times, each failure turned into a clear error. (Secret
//! keys, which may need a passphrase: [`crate::passphrase`].)
//!
//! Every input is opened once and read through its bound: hpk files by
//! their header (the library's bounded readers), the others through a
//! stated cap. Nothing is reopened to choose an error message, so a named
//! pipe or standard input works like a file and never hangs a command.

use crate::exit::{CliError, CliResult, Failure};
use hpk_format::{ErrorClass, Limits};
use hpk_sign::keys::{PublicKey, read_public_key_file};
use hpk_verify::{Clock, DeviceProfile, ProfileMode, RootError, TrustedRoot};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The path that names standard input where a package or catalog is read.
pub const STDIN: &str = "-";

/// The most bytes a device profile (TOML) may hold: 1 MiB.
pub const MAX_TOML_LEN: u64 = 1 << 20;

/// The most bytes a raw signature file may hold: 4 KiB (a signature is 64).
pub const MAX_SIGNATURE_FILE_LEN: u64 = 4096;

/// Read buffer for hpk files: large reads, few system calls.
const READ_BUFFER: usize = 1 << 20;

/// Whether `path` is `-`, standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// An input opened once, buffered: a file or standard input.
pub type Input = BufReader<Box<dyn Read>>;

/// Opens an input once: the file at `path`, or standard input for `-`.
pub fn open(path: &Path) -> CliResult<Input> {
    open_sized(path).map(|(input, _)| input)
}

/// Like [`open`], with the input's length when it is a regular file (from
/// the opened file itself); `None` for standard input, pipes and devices.
pub fn open_sized(path: &Path) -> CliResult<(Input, Option<u64>)> {
    if is_stdin(path) {
        let stdin: Box<dyn Read> = Box::new(std::io::stdin());
        return Ok((BufReader::with_capacity(READ_BUFFER, stdin), None));
    }
    let file = File::open(path).map_err(|e| CliError::io(path, &e))?;
    let len = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let file: Box<dyn Read> = Box::new(file);
    Ok((BufReader::with_capacity(READ_BUFFER, file), len))
}

/// Reads a whole non-hpk input through `cap`: opened once, at most
/// `cap + 1` bytes read. Longer (or endless) input is a usage error of
/// class `limit` (exit 2), like any bad input file that is not an hpk file.
pub fn read_capped(path: &Path, cap: u64, what: &str) -> CliResult<Vec<u8>> {
    let file = File::open(path).map_err(|e| CliError::io(path, &e))?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io(path, &e))?;
    if bytes.len() as u64 > cap {
        return Err(CliError::usage(format!(
            "{}: larger than {cap} bytes, the most a {what} may be",
            path.display()
        ))
        .with_class(ErrorClass::Limit));
    }
    Ok(bytes)
}

/// The file that `command` replaces in place once everything is checked
/// (`what`, given by `flag`: "the device profile", "--device FILE"):
/// `-` and anything but a regular file are refused. The path is
/// canonicalized, so that a symbolic link is followed and the file it
/// points to is replaced, not the link.
pub fn file_to_rewrite(path: &Path, command: &str, what: &str, flag: &str) -> CliResult<PathBuf> {
    if is_stdin(path) {
        return Err(CliError::usage(format!(
            "{}: `hpk {command}` rewrites {what}, which cannot be standard input",
            path.display()
        ))
        .hint(format!("give {what}'s file: {flag}")));
    }
    regular_file(path, command)?;
    std::fs::canonicalize(path).map_err(|e| CliError::io(path, &e))
}

/// Refuses `-` and anything but a regular file for a command that reads
/// `path` more than once or rewrites it (signing, attaching, editing).
/// (For a file the command replaces in place, see [`file_to_rewrite`].)
/// Checked from the file's metadata, without opening it.
pub fn regular_file(path: &Path, command: &str) -> CliResult<()> {
    // `-` is refused as such, whether or not a file of that name exists.
    let meta = if is_stdin(path) {
        None
    } else {
        Some(std::fs::metadata(path).map_err(|e| CliError::io(path, &e))?)
    };
    if !meta.is_some_and(|m| m.is_file()) {
        return Err(CliError::usage(format!(
            "{}: not a regular file: `hpk {command}` reads its file more than once or rewrites it",
            path.display()
        ))
        .hint("save the input to a file first"));
    }
    Ok(())
}

/// The clock to judge time by: `--now` if given, else the device profile's
/// (system time online, the recorded lower bound in recovery), else the
/// system time.
pub fn clock(now: Option<u64>, device: Option<&DeviceProfile>) -> Clock {
    match (now, device) {
        (Some(t), Some(d)) if d.mode == ProfileMode::Recovery => Clock::LowerBound(t),
        (Some(t), _) => Clock::Trusted(t),
        (None, Some(d)) => d.default_clock(),
        (None, None) => Clock::system(),
    }
}

/// Loads and checks the trust root a device is configured with, read
/// through its bound (header, then exactly what it declares, then the end).
pub fn trust_root(path: &Path, clock: Clock) -> CliResult<TrustedRoot> {
    let file = File::open(path).map_err(|e| CliError::io(path, &e))?;
    TrustedRoot::load_from(BufReader::new(file), clock, &Limits::default())
        .map_err(|e| root_error(path, &e))
}

/// A trust root that does not load, as an error about `path`.
pub fn root_error(path: &Path, e: &RootError) -> CliError {
    let failure = match e.class() {
        ErrorClass::Io => Failure::Io,
        _ => Failure::Invalid,
    };
    let at = |t: u64| format_time(t);
    let (message, hint) = match e {
        RootError::Signature(_) => (
            format!("{}: {e}", path.display()),
            Some("a trust root is signed by its root-role keys: `hpk root sign ROOT --key ROOT_KEY`".to_owned()),
        ),
        RootError::Expired { version, expires, at: now } => (
            format!(
                "{}: trust root version {version} expired at {} (judged at {})",
                path.display(),
                at(*expires),
                at(*now)
            ),
            Some(
                "publish its next version (`hpk root add-key … --out NEW`, signed with `hpk root sign`), or check the clock and --now"
                    .to_owned(),
            ),
        ),
        RootError::NotYetValid { version, created, now } => (
            format!(
                "{}: trust root version {version} was created at {}, after the current time {}",
                path.display(),
                at(*created),
                at(*now)
            ),
            Some("check the clock, or pass --now".to_owned()),
        ),
        RootError::Container(hpk_format::ContainerError::WrongFileType { .. })
        | RootError::Container(hpk_format::ContainerError::BadMagic { .. }) => (
            format!("{}: {e}", path.display()),
            Some("--root takes a trust root file (made by `hpk root init`), e.g. root.hpkroot".to_owned()),
        ),
        _ => (format!("{}: {e}", path.display()), None),
    };
    let err = CliError::new(failure, message)
        .with_class(e.class())
        .with_reason(e.reason().map(|r| r.as_str()))
        .caused_by(e);
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// Loads a device profile (at most [`MAX_TOML_LEN`] bytes).
pub fn device(path: &Path) -> CliResult<DeviceProfile> {
    let bytes = read_capped(path, MAX_TOML_LEN, "device profile")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::usage(format!("{}: not UTF-8 text", path.display()))
            .hint("the format is in docs/device-profile.md")
    })?;
    DeviceProfile::from_toml(&text).map_err(|e| {
        CliError::usage(format!("{}: {e}", path.display()))
            .hint("the format is in docs/device-profile.md")
    })
}

/// Reads a public key file.
pub fn public_key(path: &Path) -> CliResult<PublicKey> {
    read_public_key_file(path).map_err(|e| key_error(path, e))
}

/// A key file that cannot be used, as an error about `path`. (The hints
/// about passphrases are [`crate::passphrase::secret_key`]'s.)
pub fn key_error(path: &Path, e: hpk_sign::KeyError) -> CliError {
    use hpk_sign::KeyError;
    let err = CliError::usage(format!("{}: {e}", path.display()));
    match e {
        KeyError::Io { source, .. } => CliError::io(path, &source),
        KeyError::TooLarge { .. } => err.with_class(ErrorClass::Limit),
        KeyError::UnexpectedPemLabel { .. } => err.hint(
            "--key takes a secret key file (KEY); --pubkey and --ROLE-key take public key files (KEY.pub)",
        ),
        _ => err,
    }
}

/// Parses a time: Unix seconds, or an RFC 3339 UTC date such as
/// `2026-12-31` or `2026-12-31T23:59:59Z`.
pub fn parse_time(text: &str) -> Result<u64, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("{text}: time out of range"));
    }
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (
            d,
            t.strip_suffix('Z')
                .ok_or_else(|| format!("{text}: only UTC times ending in Z are accepted"))?,
        ),
        None => (text, "00:00:00"),
    };
    let nums = |s: &str, sep: char| -> Option<Vec<u64>> {
        s.split(sep).map(|p| p.parse::<u64>().ok()).collect()
    };
    let bad = || format!("{text}: expected Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    let d = nums(date, '-').filter(|v| v.len() == 3).ok_or_else(bad)?;
    let t = nums(time, ':').filter(|v| v.len() == 3).ok_or_else(bad)?;
    let (y, m, day) = (d[0], d[1], d[2]);
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || t[0] > 23
        || t[1] > 59
        || t[2] > 60
    {
        return Err(bad());
    }
    // Days from the civil date (proleptic Gregorian), after H. Hinnant.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2 / 400;
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2])
}

/// Formats Unix seconds as an RFC 3339 UTC time: `2026-01-01T00:00:00Z`.
pub fn format_time(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days (proleptic Gregorian), after H. Hinnant.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses a duration in days (`90`, `90d`) into seconds.
pub fn parse_days(text: &str) -> Result<u64, String> {
    let n = text.strip_suffix('d').unwrap_or(text);
    n.parse::<u64>()
        .ok()
        .and_then(|d| d.checked_mul(86_400))
        .ok_or_else(|| format!("{text}: expected a number of days, e.g. 90 or 90d"))
}

/// Seconds since the Unix epoch now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times() {
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("1970-01-01"), Ok(0));
        assert_eq!(parse_time("2026-01-01T00:00:00Z"), Ok(1_767_225_600));
        assert_eq!(parse_time("2000-03-01"), Ok(951_868_800));
        assert!(parse_time("2026-13-01").is_err());
        assert!(parse_time("2026-01-01T00:00:00+01:00").is_err());
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn formats_times_as_the_parser_reads_them() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(format_time(951_868_799), "2000-02-29T23:59:59Z");
        for t in [
            0,
            59,
            86_399,
            951_868_800,
            1_709_210_096,
            4_102_444_800,
            253_402_300_799,
        ] {
            assert_eq!(parse_time(&format_time(t)), Ok(t), "{t}");
        }
    }
}
