//! Rebuilding chunks from files the device already has instead of
//! fetching them (SPEC.md HF9).
//!
//! A *seed* folder holds the device's files by payload name, for example
//! the tree of the baseline it runs. When a package has a payload of the
//! same name and size, its chunks are produced from that file: a raw
//! chunk is the file's bytes at the chunk's offset; a zstd chunk is those
//! bytes compressed as hpk's packer compresses them (its compressor, at
//! the level the caller gives). Rebuilt bytes are checked and written like
//! received ones (HF5): only a chunk whose rebuilt bytes match its signed
//! digest is kept. At the first chunk of a payload that does not match
//! (the file changed, or the publisher compressed otherwise) its seed is
//! given up and the rest of the payload is fetched; a wrong seed costs
//! the time to try it, never a wrong byte.

use crate::error::MirrorProblem;
use hpk_format::chunk_compressor;
use hpk_verify::{BaseDir, ChunkEncoding, ChunkEntry, PayloadDescriptor};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Where rebuilt chunks come from, with what was learned about each
/// payload's seed.
pub(crate) struct Seeds<'a> {
    files: BaseDir,
    level: i32,
    payloads: &'a [PayloadDescriptor],
    /// Per payload: whether its seed is worth trying (`None`: not looked
    /// at yet).
    usable: Vec<Option<bool>>,
    /// The seed file being read, and its payload.
    open: Option<(usize, File)>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    raw: Vec<u8>,
}

impl<'a> Seeds<'a> {
    /// Seeds under `root` for `payloads`, zstd chunks compressed at
    /// `level`.
    pub(crate) fn new(root: &Path, level: i32, payloads: &'a [PayloadDescriptor]) -> Seeds<'a> {
        Seeds {
            files: BaseDir::new(root),
            level,
            payloads,
            usable: vec![None; payloads.len()],
            open: None,
            compressor: None,
            raw: Vec::new(),
        }
    }

    /// Whether payload `p` has a seed to try: a regular file of its name
    /// and size under the folder, whose chunks have not failed before.
    /// A delta payload has none (its chunks need its base and the
    /// publisher's choices).
    pub(crate) fn usable(&mut self, p: usize) -> bool {
        let Some(slot) = self.usable.get_mut(p) else {
            return false;
        };
        if let Some(known) = *slot {
            return known;
        }
        let known = self.payloads.get(p).is_some_and(|desc| {
            desc.base().is_none()
                && std::fs::metadata(self.files.path_of(&desc.name))
                    .is_ok_and(|m| m.is_file() && m.len() == desc.size)
        });
        *slot = Some(known);
        known
    }

    /// Stops using payload `p`'s seed.
    pub(crate) fn give_up(&mut self, p: usize) {
        if let Some(slot) = self.usable.get_mut(p) {
            *slot = Some(false);
        }
        if self.open.as_ref().is_some_and(|(at, _)| *at == p) {
            self.open = None;
        }
    }

    /// Fills `buf` with the stored bytes of chunk `chunk` of payload
    /// `payload` (entry `entry`) as rebuilt from the seed; a problem if
    /// they cannot be (the digest is checked afterwards, as for bytes
    /// from a mirror).
    pub(crate) fn fill(
        &mut self,
        payload: usize,
        chunk: usize,
        entry: &ChunkEntry,
        buf: &mut [u8],
    ) -> Result<(), MirrorProblem> {
        let unusable = |why: String| MirrorProblem::Invalid(format!("seed: {why}"));
        let desc = self
            .payloads
            .get(payload)
            .ok_or_else(|| unusable("no such payload".into()))?;
        let len = desc
            .chunk_len(chunk as u64)
            .ok_or_else(|| unusable("no such chunk".into()))? as usize;
        let offset = (chunk as u64).saturating_mul(u64::from(desc.chunk_size));
        let file = open(&mut self.open, &self.files, payload, desc)
            .map_err(|e| unusable(e.to_string()))?;
        match entry.encoding {
            ChunkEncoding::Raw if len == buf.len() => read_at(file, offset, buf),
            ChunkEncoding::Zstd => {
                self.raw.resize(len, 0);
                read_at(file, offset, &mut self.raw)?;
                let compressor = match self.compressor.as_mut() {
                    Some(c) => c,
                    None => self
                        .compressor
                        .insert(chunk_compressor(self.level).map_err(|e| unusable(e.to_string()))?),
                };
                let packed = compressor
                    .compress(&self.raw)
                    .map_err(|e| unusable(e.to_string()))?;
                if packed.len() != buf.len() {
                    return Err(unusable("compressed to another length".into()));
                }
                buf.copy_from_slice(&packed);
                Ok(())
            }
            _ => Err(unusable("this chunk cannot be rebuilt".into())),
        }
    }
}

/// The seed file of `payload`: the one in `open` if it is that payload's,
/// else opened there.
fn open<'f>(
    open: &'f mut Option<(usize, File)>,
    files: &BaseDir,
    payload: usize,
    desc: &PayloadDescriptor,
) -> io::Result<&'f mut File> {
    if open.as_ref().is_none_or(|(at, _)| *at != payload) {
        *open = Some((payload, File::open(files.path_of(&desc.name))?));
    }
    match open.as_mut() {
        Some((_, file)) => Ok(file),
        None => Err(io::Error::other("no seed file open")),
    }
}

fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> Result<(), MirrorProblem> {
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| MirrorProblem::Invalid(format!("seed: {e}")))
}
