//! The vector file format (`spec/vectors/README.md`): `key: value` lines, a
//! blank line, then the raw bytes of the file under test.

use std::fmt;

/// One test vector: its header fields, in order, and the file under test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vector {
    /// File name without `.vec`.
    pub name: String,
    /// Header fields in file order; a key may repeat (`payload_sha256`,
    /// `base`, …: `REPEATABLE`).
    pub fields: Vec<(String, String)>,
    /// The raw bytes of the file under test.
    pub bytes: Vec<u8>,
}

/// Why a vector file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorError(pub String);

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VectorError {}

/// The keys a vector header may use.
pub const KEYS: [&str; 18] = [
    "description",
    "file",
    "expect",
    "check",
    "root",
    "chain",
    "device",
    "time",
    "clock",
    "last_seen",
    "payload_sha256",
    "executable",
    "link",
    "folder",
    "expect_plan",
    "entry_size",
    "entry_manifest_digest",
    "base",
];

/// The keys that may appear on several lines.
pub const REPEATABLE: [&str; 5] = ["payload_sha256", "executable", "link", "folder", "base"];

impl Vector {
    /// Encodes the vector file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in &self.fields {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.bytes);
        out
    }

    /// Parses a vector file named `name` (without `.vec`).
    pub fn parse(name: &str, data: &[u8]) -> Result<Vector, VectorError> {
        let err = |m: String| VectorError(format!("{name}.vec: {m}"));
        let end = data
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| err("no blank line after the header".into()))?;
        let header = data
            .get(..end)
            .ok_or_else(|| err("header out of range".into()))?;
        let header = std::str::from_utf8(header).map_err(|e| err(format!("header: {e}")))?;
        let mut fields = Vec::new();
        for line in header.lines() {
            let (k, v) = line
                .split_once(": ")
                .ok_or_else(|| err(format!("line {line:?} is not `key: value`")))?;
            if !KEYS.contains(&k) {
                return Err(err(format!("unknown key {k:?}")));
            }
            if !REPEATABLE.contains(&k)
                && fields.iter().any(|(seen, _): &(String, String)| seen == k)
            {
                return Err(err(format!("key {k:?} appears twice")));
            }
            fields.push((k.to_owned(), v.to_owned()));
        }
        for required in ["description", "file", "expect", "root", "time", "clock"] {
            if !fields.iter().any(|(k, _)| k == required) {
                return Err(err(format!("missing key {required:?}")));
            }
        }
        let bytes = data
            .get(end + 2..)
            .ok_or_else(|| err("body out of range".into()))?
            .to_vec();
        Ok(Vector {
            name: name.to_owned(),
            fields,
            bytes,
        })
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The expected outcome.
    pub fn expect(&self) -> &str {
        self.get("expect").unwrap_or_default()
    }

    /// Whether the vector expects success.
    pub fn is_success(&self) -> bool {
        self.expect() == "success"
    }
}
