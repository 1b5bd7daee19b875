//! Multi-part numeric content versions such as `10.0.26100.4349`.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Most parts in a version.
pub const MAX_VERSION_PARTS: usize = 8;

/// A content version: 1 to 8 unsigned 32-bit parts, compared part by part
/// from the left; a missing part counts as 0 (so `1.2` equals `1.2.0` in
/// order, though the two encode differently).
///
/// The content version says what a package contains; anti-rollback uses the
/// separate `security_version`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<u32>", into = "Vec<u32>")]
pub struct Version(Vec<u32>);

/// Why a version was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError(&'static str);

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid version: {}", self.0)
    }
}

impl std::error::Error for VersionError {}

impl Version {
    /// A version from its parts.
    pub fn new(parts: Vec<u32>) -> Result<Version, VersionError> {
        if parts.is_empty() {
            return Err(VersionError("no parts"));
        }
        if parts.len() > MAX_VERSION_PARTS {
            return Err(VersionError("more than 8 parts"));
        }
        Ok(Version(parts))
    }

    /// The parts, most significant first.
    pub fn parts(&self) -> &[u32] {
        &self.0
    }
}

impl TryFrom<Vec<u32>> for Version {
    type Error = VersionError;
    fn try_from(parts: Vec<u32>) -> Result<Self, Self::Error> {
        Version::new(parts)
    }
}

impl From<Version> for Vec<u32> {
    fn from(v: Version) -> Vec<u32> {
        v.0
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(text: &str) -> Result<Version, VersionError> {
        let parts = text
            .split('.')
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(VersionError("parts must be decimal numbers"));
                }
                if p.len() > 1 && p.starts_with('0') {
                    return Err(VersionError("parts must not have leading zeros"));
                }
                p.parse::<u32>()
                    .map_err(|_| VersionError("part larger than 4294967295"))
            })
            .collect::<Result<Vec<u32>, _>>()?;
        Version::new(parts)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.0.len().max(other.0.len());
        for i in 0..len {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        // Equal by value: fall back to the encoding so that Ord agrees with Eq.
        self.0.len().cmp(&other.0.len())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for part in &self.0 {
            if !first {
                f.write_str(".")?;
            }
            first = false;
            write!(f, "{part}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn compares_part_by_part() {
        assert!(v("10.0.26100.4349") > v("10.0.26100.999"));
        assert!(v("10.0.26100.4349") < v("10.0.26200.1"));
        assert!(v("2") > v("1.99"));
        assert!(v("1.2") < v("1.2.0"));
        assert!(v("1.2.0") < v("1.2.1"));
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(v("10.0.26100.4349").to_string(), "10.0.26100.4349");
        for bad in [
            "",
            "1..2",
            "a",
            "1.-2",
            "4294967296",
            "1.2.3.4.5.6.7.8.9",
            "+1",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
    }
}
