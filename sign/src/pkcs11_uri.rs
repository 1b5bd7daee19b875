//! `pkcs11:` URIs (RFC 7512) naming a signing key in a token.
//!
//! Written by hand rather than with a crate: no maintained Rust crate
//! parses RFC 7512 URIs, and the subset hpk needs is small. The parser is
//! strict: an attribute hpk does not know (including vendor `x-`
//! attributes), an attribute given twice, an empty name, a bad
//! percent-encoding or a character outside the URI syntax is refused with
//! an error that says which, so that a typo never silently selects
//! another key.
//!
//! Path attributes (separated by `;`): `token`, `manufacturer`, `serial`,
//! `model` (which token), `slot-id` (which slot), `object`, `id`, `type`
//! (which key: `type` may only be `private`). Query attributes (after `?`,
//! separated by `&`): `module-path`, `pin-value`, `pin-source`.
//! `module-name` is refused: give `module-path`.

use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// A PIN (or the contents of a PIN file), kept zeroized and never printed.
///
/// It has no `Debug` or `Display`, so it cannot end up in a log or an
/// error message by accident.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// A PIN from its text.
    pub fn new(text: String) -> Pin {
        Pin(Zeroizing::new(text))
    }

    /// A PIN from the contents of a PIN file: its first line, without the
    /// line ending (`\n` or `\r\n`). Refuses bytes that are not UTF-8.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Pin, UriError> {
        let bytes = Zeroizing::new(bytes.to_vec());
        let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = std::str::from_utf8(line).map_err(|_| UriError::PinNotUtf8)?;
        Ok(Pin::new(text.to_owned()))
    }

    /// The PIN's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Where the URI says the PIN is.
#[derive(Clone)]
pub enum UriPin {
    /// `pin-value=`: the PIN itself.
    Value(Pin),
    /// `pin-source=`: a file holding it (a path or a `file:` URI).
    Source(PathBuf),
}

/// A parsed `pkcs11:` URI.
#[derive(Clone, Default)]
pub struct Pkcs11Uri {
    /// `token=`: the token's label.
    pub token: Option<String>,
    /// `manufacturer=`: the token's manufacturer.
    pub manufacturer: Option<String>,
    /// `serial=`: the token's serial number.
    pub serial: Option<String>,
    /// `model=`: the token's model.
    pub model: Option<String>,
    /// `slot-id=`: the slot's number.
    pub slot_id: Option<u64>,
    /// `object=`: the key's label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id=`: the key's id (`CKA_ID`), raw bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path=`: the PKCS#11 module to load.
    pub module_path: Option<PathBuf>,
    /// `pin-value=` or `pin-source=`.
    pub pin: Option<UriPin>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("manufacturer", &self.manufacturer)
            .field("serial", &self.serial)
            .field("model", &self.model)
            .field("slot_id", &self.slot_id)
            .field("object", &self.object)
            .field("id", &self.id.as_deref().map(hex::encode))
            .field("module_path", &self.module_path)
            .field(
                "pin",
                &match &self.pin {
                    None => "none",
                    Some(UriPin::Value(_)) => "pin-value (hidden)",
                    Some(UriPin::Source(_)) => "pin-source",
                },
            )
            .finish()
    }
}

/// Why a `pkcs11:` URI was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// It does not start with `pkcs11:`.
    Scheme,
    /// An attribute hpk does not know (or a query attribute in the path,
    /// or the reverse).
    UnknownAttribute {
        /// Its name.
        name: String,
    },
    /// An attribute given twice (`pin-value` and `pin-source` count as
    /// one).
    Duplicate {
        /// Its name.
        name: String,
    },
    /// An attribute without `=`, or with an empty name.
    Malformed {
        /// The offending part.
        part: String,
    },
    /// A `%` not followed by two hex digits, or a character the URI syntax
    /// does not allow.
    BadEncoding {
        /// The attribute.
        name: String,
    },
    /// A value that is not valid for its attribute (e.g. `type=cert`,
    /// `slot-id=x`, a label that is not UTF-8).
    BadValue {
        /// The attribute.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The URI names no key: it needs `object=` or `id=`.
    NoObject,
    /// A PIN file that is not UTF-8.
    PinNotUtf8,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::Scheme => write!(f, "a PKCS#11 URI starts with `pkcs11:`"),
            UriError::UnknownAttribute { name } => write!(
                f,
                "unknown PKCS#11 URI attribute `{name}` (known: token, manufacturer, serial, \
                 model, slot-id, object, id, type in the path; module-path, pin-value, \
                 pin-source after `?`)"
            ),
            UriError::Duplicate { name } => {
                write!(f, "PKCS#11 URI attribute `{name}` is given twice")
            }
            UriError::Malformed { part } => write!(
                f,
                "PKCS#11 URI part `{part}` is not NAME=VALUE (path attributes are separated \
                 by `;`, query attributes by `&`)"
            ),
            UriError::BadEncoding { name } => write!(
                f,
                "PKCS#11 URI attribute `{name}`: bad percent-encoding or a character that \
                 must be percent-encoded"
            ),
            UriError::BadValue { name, reason } => {
                write!(f, "PKCS#11 URI attribute `{name}`: {reason}")
            }
            UriError::NoObject => write!(
                f,
                "the PKCS#11 URI names no key: add `object=LABEL` or `id=%01`"
            ),
            UriError::PinNotUtf8 => write!(f, "the PIN is not UTF-8 text"),
        }
    }
}

impl std::error::Error for UriError {}

/// Characters allowed unencoded in a value: RFC 3986 unreserved, plus the
/// sub-delimiters and `:`/`@` that RFC 7512's `pk11-pchar` and
/// `pk11-qchar` allow; `/`, `?` and `|` only in the query.
fn allowed(c: u8, query: bool) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'='
        )
        || (!query && c == b'&')
        || (query && matches!(c, b'/' | b'?' | b'|' | b';'))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `value`, refusing characters that must be encoded.
fn decode(name: &str, value: &str, query: bool) -> Result<Vec<u8>, UriError> {
    let bad = || UriError::BadEncoding {
        name: name.to_owned(),
    };
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(c) = bytes.next() {
        if c == b'%' {
            let hi = bytes.next().and_then(hex_digit).ok_or_else(bad)?;
            let lo = bytes.next().and_then(hex_digit).ok_or_else(bad)?;
            out.push(hi << 4 | lo);
        } else if allowed(c, query) {
            out.push(c);
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

fn text(name: &str, bytes: Vec<u8>) -> Result<String, UriError> {
    String::from_utf8(bytes).map_err(|_| UriError::BadValue {
        name: name.to_owned(),
        reason: "not UTF-8",
    })
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), UriError> {
    if slot.is_some() {
        return Err(UriError::Duplicate {
            name: name.to_owned(),
        });
    }
    *slot = Some(value);
    Ok(())
}

/// The path of a `pin-source` value: a plain path or a `file:` URI.
fn pin_source_path(value: &str) -> Result<PathBuf, UriError> {
    let path = match value.strip_prefix("file:") {
        // file:///abs/path or file://localhost/abs/path
        Some(rest) if rest.starts_with("//") => {
            let rest = rest.trim_start_matches("//");
            let rest = rest.strip_prefix("localhost").unwrap_or(rest);
            if !rest.starts_with('/') {
                return Err(UriError::BadValue {
                    name: "pin-source".into(),
                    reason: "a file: URI must name a local absolute path (file:///path)",
                });
            }
            rest
        }
        Some(rest) => rest,
        None => value,
    };
    if path.is_empty() {
        return Err(UriError::BadValue {
            name: "pin-source".into(),
            reason: "empty path",
        });
    }
    Ok(PathBuf::from(path))
}

/// The path attributes hpk knows.
const PATH_NAMES: &[&str] = &[
    "token",
    "manufacturer",
    "serial",
    "model",
    "slot-id",
    "object",
    "id",
    "type",
];

/// The query attributes hpk knows (`module-name` is refused later, with
/// its own message).
const QUERY_NAMES: &[&str] = &["module-path", "module-name", "pin-value", "pin-source"];

/// Refuses an empty or unknown attribute name before its value is looked
/// at, so that the error names what is wrong.
fn check_name(name: &str, part: &str, known: &[&str]) -> Result<(), UriError> {
    if name.is_empty() {
        return Err(UriError::Malformed {
            part: part.to_owned(),
        });
    }
    if !known.contains(&name) {
        return Err(UriError::UnknownAttribute {
            name: name.to_owned(),
        });
    }
    Ok(())
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI (RFC 7512), strictly.
    ///
    /// A URI that names no key (neither `object=` nor `id=`) is refused,
    /// so that a token's only key is never picked by accident.
    pub fn parse(uri: &str) -> Result<Pkcs11Uri, UriError> {
        let rest = uri
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| uri.get(7..))
            .ok_or(UriError::Scheme)?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        let mut seen_type = false;
        for part in path.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| UriError::Malformed {
                part: part.to_owned(),
            })?;
            check_name(name, part, PATH_NAMES)?;
            let raw = decode(name, value, false)?;
            match name {
                "token" => set(&mut out.token, name, text(name, raw)?)?,
                "manufacturer" => set(&mut out.manufacturer, name, text(name, raw)?)?,
                "serial" => set(&mut out.serial, name, text(name, raw)?)?,
                "model" => set(&mut out.model, name, text(name, raw)?)?,
                "object" => set(&mut out.object, name, text(name, raw)?)?,
                "id" => {
                    if raw.is_empty() {
                        return Err(UriError::BadValue {
                            name: name.into(),
                            reason: "empty id",
                        });
                    }
                    set(&mut out.id, name, raw)?
                }
                "slot-id" => {
                    let n = text(name, raw)?
                        .parse::<u64>()
                        .map_err(|_| UriError::BadValue {
                            name: name.into(),
                            reason: "not a decimal number",
                        })?;
                    set(&mut out.slot_id, name, n)?
                }
                "type" => {
                    if seen_type {
                        return Err(UriError::Duplicate { name: name.into() });
                    }
                    seen_type = true;
                    if raw != b"private" {
                        return Err(UriError::BadValue {
                            name: name.into(),
                            reason: "hpk signs with a private key: type may only be `private`",
                        });
                    }
                }
                "" => {
                    return Err(UriError::Malformed {
                        part: part.to_owned(),
                    });
                }
                _ => {
                    return Err(UriError::UnknownAttribute {
                        name: name.to_owned(),
                    });
                }
            }
        }
        for part in query.into_iter().flat_map(|q| q.split('&')) {
            if part.is_empty() {
                continue;
            }
            let (name, value) = part.split_once('=').ok_or_else(|| UriError::Malformed {
                part: part.to_owned(),
            })?;
            check_name(name, part, QUERY_NAMES)?;
            let raw = decode(name, value, true)?;
            match name {
                "module-path" => {
                    let path = text(name, raw)?;
                    if path.is_empty() {
                        return Err(UriError::BadValue {
                            name: name.into(),
                            reason: "empty path",
                        });
                    }
                    set(&mut out.module_path, name, PathBuf::from(path))?
                }
                "pin-value" => {
                    let pin = Pin::new(text(name, raw)?);
                    set(&mut out.pin, "pin-value/pin-source", UriPin::Value(pin))?
                }
                "pin-source" => {
                    let path = pin_source_path(&text(name, raw)?)?;
                    set(&mut out.pin, "pin-value/pin-source", UriPin::Source(path))?
                }
                "module-name" => {
                    return Err(UriError::BadValue {
                        name: name.into(),
                        reason: "not supported: give module-path=/path/to/module.so \
                                 (or --pkcs11-module)",
                    });
                }
                "" => {
                    return Err(UriError::Malformed {
                        part: part.to_owned(),
                    });
                }
                _ => {
                    return Err(UriError::UnknownAttribute {
                        name: name.to_owned(),
                    });
                }
            }
        }
        if out.object.is_none() && out.id.is_none() {
            return Err(UriError::NoObject);
        }
        Ok(out)
    }

    /// The key as the URI names it, for messages: `object=…;id=…`.
    pub fn key_name(&self) -> String {
        let mut parts = Vec::new();
        if let Some(object) = &self.object {
            parts.push(format!("object={object}"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", hex::encode(id)));
        }
        parts.join(";")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn err(uri: &str) -> UriError {
        Pkcs11Uri::parse(uri).expect_err("must be refused")
    }

    #[test]
    fn parses_the_attributes_hpk_uses() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=hpk%20release;object=rel%3Bkey;id=%01%a0;type=private;slot-id=7\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:///run/pin",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("hpk release"));
        assert_eq!(u.object.as_deref(), Some("rel;key"));
        assert_eq!(u.id.as_deref(), Some(&[0x01, 0xa0][..]));
        assert_eq!(u.slot_id, Some(7));
        assert_eq!(
            u.module_path.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        match u.pin {
            Some(UriPin::Source(p)) => assert_eq!(p, PathBuf::from("/run/pin")),
            _ => panic!("pin-source expected"),
        }
        let u = Pkcs11Uri::parse("pkcs11:object=k?pin-value=12%2634").unwrap();
        match &u.pin {
            Some(UriPin::Value(p)) => assert_eq!(p.expose(), "12&34"),
            _ => panic!("pin-value expected"),
        }
        // The debug form never shows the PIN.
        assert!(!format!("{u:?}").contains("12&34"));
        let u = Pkcs11Uri::parse("PKCS11:id=%02?pin-source=/tmp/p").unwrap();
        assert_eq!(u.id.as_deref(), Some(&[2][..]));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert_eq!(err("pkcs12:object=a"), UriError::Scheme);
        assert_eq!(err("pkcs11"), UriError::Scheme);
        assert!(
            matches!(err("pkcs11:objekt=a"), UriError::UnknownAttribute { name } if name == "objekt")
        );
        assert!(matches!(
            err("pkcs11:object=a;x-vendor=1"),
            UriError::UnknownAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a?token=b"),
            UriError::UnknownAttribute { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a;module-path=/x"),
            UriError::UnknownAttribute { .. }
        ));
        assert!(
            matches!(err("pkcs11:object=a;object=b"), UriError::Duplicate { name } if name == "object")
        );
        assert!(matches!(
            err("pkcs11:object=a?pin-value=1&pin-source=/p"),
            UriError::Duplicate { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a;type=private;type=private"),
            UriError::Duplicate { .. }
        ));
        assert!(matches!(err("pkcs11:object"), UriError::Malformed { .. }));
        assert!(matches!(
            err("pkcs11:=a;object=b"),
            UriError::Malformed { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a%2"),
            UriError::BadEncoding { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a%zz"),
            UriError::BadEncoding { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a b"),
            UriError::BadEncoding { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a/b"),
            UriError::BadEncoding { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=%ff"),
            UriError::BadValue { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a;type=cert"),
            UriError::BadValue { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a;slot-id=x"),
            UriError::BadValue { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a?module-name=softhsm2"),
            UriError::BadValue { .. }
        ));
        assert!(matches!(
            err("pkcs11:object=a?pin-source=file://host/p"),
            UriError::BadValue { .. }
        ));
        assert!(matches!(err("pkcs11:id="), UriError::BadValue { .. }));
        assert_eq!(err("pkcs11:token=t"), UriError::NoObject);
        assert_eq!(err("pkcs11:"), UriError::NoObject);
    }

    #[test]
    fn a_pin_file_gives_its_first_line() {
        assert_eq!(Pin::from_file_bytes(b"1234\r\nx").unwrap().expose(), "1234");
        assert_eq!(Pin::from_file_bytes(b"1234").unwrap().expose(), "1234");
        assert_eq!(Pin::from_file_bytes(b"").unwrap().expose(), "");
        assert!(Pin::from_file_bytes(b"\xff\n").is_err());
    }
}
