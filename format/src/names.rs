//! Validated names: payload names (relative paths that can never escape
//! their folder), package names and registry tokens.
//!
//! Each is a newtype that can only hold a valid value: decoding an invalid
//! one fails, so no later code has to re-check.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest payload name in bytes.
pub const MAX_PAYLOAD_NAME_LEN: usize = 1024;
/// Longest component of a payload name in bytes: what common file systems
/// (ext4, XFS, Btrfs, APFS, NTFS in UTF-16 units) hold in one file name.
pub const MAX_PAYLOAD_COMPONENT_LEN: usize = 255;
/// Most `/`-separated components in a payload name.
pub const MAX_PAYLOAD_NAME_DEPTH: usize = 32;
/// Longest package name in bytes.
pub const MAX_PACKAGE_NAME_LEN: usize = 128;
/// Longest token in bytes.
pub const MAX_TOKEN_LEN: usize = 64;

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than allowed.
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A character that is not allowed here.
    BadCharacter {
        /// The character.
        ch: char,
    },
    /// A component of a payload name is longer than allowed.
    ComponentTooLong {
        /// Its length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A payload name that is not a plain relative path.
    UnsafePath {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("name is empty"),
            NameError::TooLong { len, max } => {
                write!(f, "name is {len} bytes long, at most {max} allowed")
            }
            NameError::BadCharacter { ch } => {
                write!(
                    f,
                    "character {ch:?} (U+{:04X}) is not allowed in this name",
                    u32::from(*ch)
                )
            }
            NameError::ComponentTooLong { len, max } => write!(
                f,
                "a component of the name is {len} bytes long, at most {max} allowed"
            ),
            NameError::UnsafePath { reason } => write!(f, "unsafe payload name: {reason}"),
        }
    }
}

impl std::error::Error for NameError {}

/// Characters no payload name may hold: path separators and drive or
/// stream markers of any platform, and the characters Windows forbids.
const FORBIDDEN_IN_PATHS: [char; 8] = ['\\', ':', '*', '?', '"', '<', '>', '|'];

/// Whether a path component names a Windows device (`CON`, `nul.txt`,
/// `COM1`…), which Windows opens instead of a file.
///
/// The stem (the part before the first `.`, trailing spaces removed) is
/// compared with ASCII case folding against `CON`, `PRN`, `AUX`, `NUL`,
/// `CONIN$`, `CONOUT$`, `COM0`–`COM9` and `LPT0`–`LPT9`. Payload names are
/// ASCII, so the superscript digits Windows also accepts (`COM¹`) never
/// reach this check.
fn is_windows_device(part: &str) -> bool {
    let stem = part.split('.').next().unwrap_or(part).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    match upper.as_bytes() {
        b"CON" | b"PRN" | b"AUX" | b"NUL" | b"CONIN$" | b"CONOUT$" => true,
        [b'C', b'O', b'M', d] | [b'L', b'P', b'T', d] => d.is_ascii_digit(),
        _ => false,
    }
}

/// The name of a payload: a relative, `/`-separated path.
///
/// Rules (spec "Payload names"): 1 to 1024 bytes, each a printable ASCII
/// character (0x20–0x7E) other than `\ : * ? " < > |` (so no control
/// character, no NUL, no drive letters, alternate streams or backslash
/// separators, and nothing a Unicode normalization or case mapping could
/// merge); not starting with `/`; every component 1 to 255 bytes, neither
/// `.` nor `..`, not ending in `.` or space, not a Windows device name; at
/// most 32 components. Joined under any folder, on any platform, it stays
/// in that folder.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PayloadName(String);

impl PayloadName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<PayloadName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAX_PAYLOAD_NAME_LEN {
            return Err(NameError::TooLong {
                len: name.len(),
                max: MAX_PAYLOAD_NAME_LEN,
            });
        }
        if let Some(ch) = name
            .chars()
            .find(|c| !matches!(c, ' '..='~') || FORBIDDEN_IN_PATHS.contains(c))
        {
            return Err(match ch {
                '\\' => NameError::UnsafePath {
                    reason: "contains a backslash",
                },
                ':' => NameError::UnsafePath {
                    reason: "contains ':' (drive letter or stream)",
                },
                _ => NameError::BadCharacter { ch },
            });
        }
        if name.starts_with('/') {
            return Err(NameError::UnsafePath {
                reason: "absolute path",
            });
        }
        let mut depth = 0usize;
        for part in name.split('/') {
            depth = depth.saturating_add(1);
            match part {
                "" => {
                    return Err(NameError::UnsafePath {
                        reason: "empty path component",
                    });
                }
                _ if part.len() > MAX_PAYLOAD_COMPONENT_LEN => {
                    return Err(NameError::ComponentTooLong {
                        len: part.len(),
                        max: MAX_PAYLOAD_COMPONENT_LEN,
                    });
                }
                "." | ".." => {
                    return Err(NameError::UnsafePath {
                        reason: "'.' or '..' component",
                    });
                }
                _ if part.ends_with('.') || part.ends_with(' ') => {
                    return Err(NameError::UnsafePath {
                        reason: "component ends with '.' or ' ' (Windows drops them)",
                    });
                }
                _ if is_windows_device(part) => {
                    return Err(NameError::UnsafePath {
                        reason: "component is a Windows device name (CON, NUL, COM1, LPT0…)",
                    });
                }
                _ => {}
            }
        }
        if depth > MAX_PAYLOAD_NAME_DEPTH {
            return Err(NameError::UnsafePath {
                reason: "more than 32 path components",
            });
        }
        Ok(PayloadName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `/`-separated components, each safe to use as one file name.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl TryFrom<String> for PayloadName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PayloadName::new(&value)
    }
}

impl From<PayloadName> for String {
    fn from(value: PayloadName) -> String {
        value.0
    }
}

impl fmt::Display for PayloadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PayloadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayloadName({:?})", self.0)
    }
}

fn check_charset(text: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<(), NameError> {
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    if text.len() > max {
        return Err(NameError::TooLong {
            len: text.len(),
            max,
        });
    }
    match text.chars().find(|c| !allowed(*c)) {
        Some(ch) => Err(NameError::BadCharacter { ch }),
        None => Ok(()),
    }
}

/// The name of a package: 1 to 128 characters from `A-Z a-z 0-9 . _ + -`,
/// starting with a letter or digit.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageName(String);

impl PackageName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<PackageName, NameError> {
        check_charset(name, MAX_PACKAGE_NAME_LEN, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')
        })?;
        match name.chars().next() {
            Some(c) if c.is_ascii_alphanumeric() => Ok(PackageName(name.to_owned())),
            Some(ch) => Err(NameError::BadCharacter { ch }),
            None => Err(NameError::Empty),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PackageName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PackageName::new(&value)
    }
}

impl From<PackageName> for String {
    fn from(value: PackageName) -> String {
        value.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackageName({:?})", self.0)
    }
}

/// A registry token: an OS family, architecture, edition or capability.
///
/// 1 to 64 characters from `a-z 0-9 . _ -`, starting with a letter or
/// digit. Well-known values are listed in the spec's registries; any other
/// valid token is allowed, so new platforms need no format change.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Token(String);

impl Token {
    /// Validates `token`.
    pub fn new(token: &str) -> Result<Token, NameError> {
        check_charset(token, MAX_TOKEN_LEN, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
        })?;
        match token.chars().next() {
            Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => Ok(Token(token.to_owned())),
            Some(ch) => Err(NameError::BadCharacter { ch }),
            None => Err(NameError::Empty),
        }
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Token {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Token::new(&value)
    }
}

impl From<Token> for String {
    fn from(value: Token) -> String {
        value.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_names_that_escape_are_refused() {
        for bad in [
            "",
            "../x",
            "a/../b",
            "a\\b",
            "C:x",
            "c:\\win",
            "/etc/passwd",
            "a//b",
            "a/",
            "./a",
            "a\0b",
            "..",
            ".",
            "a/.",
            "x\ny",
            "CON",
            "dir/nul.txt",
            "com1",
            "a./b",
            "b ",
            "a*b",
            "a?b",
            "a|b",
            "a<b",
            "a\"b",
            // Printable ASCII only: no Unicode look-alikes, no
            // normalization or case-mapping pairs.
            "\u{e9}",
            "e\u{301}",
            "\u{17f}",
            "\u{3c3}",
            "\u{131}",
            "a\u{a0}b",
            "a\u{7f}b",
            "a\tb",
            // Device names: COM0–COM9 and LPT0–LPT9 too, any case, with
            // an extension or trailing spaces before it.
            "com1.txt",
            "LPT9",
            "com0",
            "Lpt0.log",
            "aux .c",
            "CONIN$",
            "conout$.x",
            "x/prn.tar.gz",
        ] {
            assert!(PayloadName::new(bad).is_err(), "{bad:?} accepted");
        }
        // Components: 255 bytes, not 256, wherever they are.
        assert_eq!(
            PayloadName::new(&"a".repeat(256)),
            Err(NameError::ComponentTooLong { len: 256, max: 255 })
        );
        assert!(PayloadName::new(&format!("d/{}", "b".repeat(256))).is_err());
        assert!(PayloadName::new(&format!("{}/f", "c".repeat(256))).is_err());
        assert!(PayloadName::new(&"a".repeat(255)).is_ok());
        let four = vec!["x".repeat(255); 4].join("/");
        assert_eq!(four.len(), 1023);
        assert!(PayloadName::new(&four).is_ok());
        assert!(PayloadName::new(&format!("{four}/y")).is_err());
        let deep = vec!["d"; 33].join("/");
        assert!(PayloadName::new(&deep).is_err());
        assert!(PayloadName::new(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn ordinary_payload_names_are_accepted() {
        for good in [
            "a",
            "System32/ntoskrnl.exe",
            "lib/x86_64/libc.so.6",
            "..a",
            "console",
            "com10",
            "lpt10",
            "com",
            "xcon",
            ".con",
            "con_",
            "a b/c d.txt",
            " lead",
            "~$x&(y)!'#%+,;=@[]^`{}",
            ".x.1.1.hpk-tmp",
            ".hpk-extract-0123",
        ] {
            assert_eq!(PayloadName::new(good).map(|n| n.0), Ok(good.to_owned()));
        }
    }

    #[test]
    fn tokens_are_lowercase_identifiers() {
        assert!(Token::new("x64").is_ok());
        assert!(Token::new("windows365-enterprise").is_ok());
        for bad in ["", "X64", "-x", "a b", "a/b", &"a".repeat(65)] {
            assert!(Token::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn package_names_are_restricted() {
        assert!(PackageName::new("KB5051234-x64_1.0+hp").is_ok());
        assert!(PackageName::new("a/b").is_err());
        assert!(PackageName::new("").is_err());
        assert!(PackageName::new("..").is_err());
        assert!(PackageName::new("-rf").is_err());
    }
}
