//! The files a device already has: the bases of delta payloads, and the
//! content of unchanged ones (SPEC.md D5).
//!
//! A base is located by the payload's name (as on the device) and
//! accepted only if its size and SHA-256 are those the signed manifest
//! names; anything else is a missing base, which says that the package
//! does not apply to this device, never that it is damaged. Whatever is
//! read from a base later is covered again by the payload's content
//! SHA-256, so a base that changes after its check cannot make a wrong
//! file either.

use hpk_format::{
    BaseRead, CachedBase, DeltaBase, Digest, PayloadDescriptor, PayloadError, PayloadName,
};
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// How much of a base is read at a time while it is hashed: small enough
/// that the buffer stays in the processor's cache.
const HASH_STEP: usize = 128 << 10;

/// Where an agent finds the files its device already has.
///
/// hpk-verify asks for a base by payload name, with the digest and size
/// the manifest names (an agent that keeps files by digest can use
/// those), and checks what it gets before using it.
pub trait BaseFiles: Send + Sync {
    /// The file the device has for payload `name`, expected to be `base`;
    /// `None` if it has none.
    fn open(&self, name: &PayloadName, base: &DeltaBase) -> io::Result<Option<Box<dyn BaseRead>>>;
}

/// The device's files laid out by payload name under one folder (for
/// example the installed tree a delta package was built against).
#[derive(Clone, Debug)]
pub struct BaseDir {
    root: PathBuf,
}

impl BaseDir {
    /// Bases are `root/NAME` for each payload name.
    pub fn new(root: impl Into<PathBuf>) -> BaseDir {
        BaseDir { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the file of payload `name` is: `root/NAME`. Payload names
    /// are relative, `/`-separated, without `..`: the path stays under
    /// the folder.
    pub fn path_of(&self, name: &PayloadName) -> PathBuf {
        name.components()
            .fold(self.root.clone(), |p, part| p.join(part))
    }
}

impl BaseFiles for BaseDir {
    fn open(&self, name: &PayloadName, _: &DeltaBase) -> io::Result<Option<Box<dyn BaseRead>>> {
        let path = self.path_of(name);
        match File::open(&path) {
            Ok(file) if file.metadata()?.is_file() => Ok(Some(Box::new(file))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("cannot open {}: {e}", path.display()),
            )),
        }
    }
}

/// A missing or wrong base for `desc`.
pub(crate) fn missing(desc: &PayloadDescriptor, base: &DeltaBase, reason: String) -> PayloadError {
    PayloadError::MissingBase {
        payload: desc.name.to_string(),
        base: base.digest,
        reason,
    }
}

/// Opens the base `desc` needs, without checking it (the payload's
/// content SHA-256 covers it); `None` if the payload needs none.
pub(crate) fn open_base(
    bases: Option<&dyn BaseFiles>,
    desc: &PayloadDescriptor,
) -> Result<Option<Box<dyn BaseRead>>, PayloadError> {
    let Some(base) = desc.base() else {
        return Ok(None);
    };
    let Some(bases) = bases else {
        return Err(missing(
            desc,
            &base,
            "no base files were given (the package was built as a delta of files this device must have)".into(),
        ));
    };
    match bases.open(&desc.name, &base) {
        Ok(Some(file)) => match CachedBase::new(file) {
            Ok(cached) => Ok(Some(Box::new(cached))),
            Err(e) => Err(missing(desc, &base, e.to_string())),
        },
        Ok(None) => Err(missing(desc, &base, "the device has no such file".into())),
        Err(e) => Err(missing(desc, &base, e.to_string())),
    }
}

/// Opens and checks the base `desc` needs: its size and SHA-256 must be
/// those of the manifest. `None` if the payload needs none.
pub(crate) fn check_base(
    bases: Option<&dyn BaseFiles>,
    desc: &PayloadDescriptor,
) -> Result<Option<Box<dyn BaseRead>>, PayloadError> {
    let (Some(base), Some(file)) = (desc.base(), open_base(bases, desc)?) else {
        return Ok(None);
    };
    let len = file
        .base_len()
        .map_err(|e| missing(desc, &base, e.to_string()))?;
    if len != base.size {
        return Err(missing(
            desc,
            &base,
            format!(
                "the device's file is {len} bytes, the base is {}",
                base.size
            ),
        ));
    }
    let read_error = |e: io::Error| missing(desc, &base, format!("reading it failed: {e}"));
    let digest = hash(file.as_ref(), len, &mut |_| Ok(()), &read_error)?;
    if digest != base.digest {
        return Err(missing(
            desc,
            &base,
            format!("the device's file has another SHA-256 ({digest})"),
        ));
    }
    Ok(Some(file))
}

/// SHA-256 of the first `len` bytes of `file`, each piece also handed to
/// `each`; a failed read is turned into an error by `read_error`.
pub(crate) fn hash<E>(
    file: &dyn BaseRead,
    len: u64,
    each: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    read_error: &dyn Fn(io::Error) -> E,
) -> Result<Digest, E> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(HASH_STEP).min(HASH_STEP)];
    let mut at = 0u64;
    while at < len {
        let n = usize::try_from(len.saturating_sub(at))
            .unwrap_or(HASH_STEP)
            .min(HASH_STEP);
        let piece = buf.get_mut(..n).unwrap_or_default();
        file.read_exact_at(at, piece).map_err(read_error)?;
        hasher.update(&*piece);
        each(piece)?;
        at = at.saturating_add(n as u64);
    }
    Ok(Digest(hasher.finalize().into()))
}
