//! Appending a large file's bytes without copying them into the page
//! cache.
//!
//! Writing 1 GB through the page cache costs about as much processor time
//! as hashing it (the copy into freshly allocated cache pages, which on
//! this project's VMs also varies by up to 2x from run to run), and the
//! pages must then be written back before the final flush. On Linux a
//! [`DirectWriter`] therefore writes with `O_DIRECT` where the file system
//! allows it: bytes are staged in an aligned buffer and, each time bytes
//! are handed over, every whole aligned block is written straight from
//! it, with no cache copy and nothing left to write back. The bytes after
//! the last whole block (less than one block) wait in the buffer, as the
//! start of the next block, and are written through the ordinary file
//! when the writer is flushed. Where direct writes are refused (another
//! system, a file system without them, such as tmpfs), bytes go through
//! the ordinary file, with their pages written back as they come
//! ([`WriteBehind`]).
//!
//! Either way, only the bytes handed over are written, in file order
//! from the offset the writer starts at, so a file assembled from
//! verified pieces (a download, an extraction) only ever holds verified
//! bytes; bytes still staged when the process dies are less than a block.

use crate::write_behind::WriteBehind;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// Alignment of direct writes: offsets, lengths and memory (the largest
/// logical block size in common use).
const ALIGN: usize = 4096;
/// The staging buffer: how much a direct write carries at most (a batch
/// is 2 MiB; a larger chunk is written in several).
const STAGE: usize = 4 << 20;

/// Appends to one file from a given offset, directly where it can.
pub struct DirectWriter {
    /// Where the next byte handed over goes.
    offset: u64,
    direct: Option<Direct>,
    write_behind: WriteBehind,
}

impl DirectWriter {
    /// A writer appending to `part` (the file at `path`) from `offset`,
    /// where the file ends; it opens `path` a second time for direct
    /// writes if it can. `part` must be open for writing, and for
    /// reading too when `offset` is not on a 4 KiB boundary (the bytes of
    /// that block before it are read back, to write whole blocks).
    pub fn new(part: &File, path: &Path, offset: u64) -> DirectWriter {
        DirectWriter {
            offset,
            direct: Direct::open(part, path, offset),
            write_behind: WriteBehind::default(),
        }
    }

    /// A writer appending to a file from `offset` through the ordinary
    /// file only (for small files, where a second open costs more than
    /// the copy it saves).
    pub fn buffered(offset: u64) -> DirectWriter {
        DirectWriter {
            offset,
            direct: None,
            write_behind: WriteBehind::default(),
        }
    }

    /// Whether bytes go to the disk directly.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Appends `bytes` to the file (`part`, the file given to
    /// [`DirectWriter::new`]).
    pub fn write(&mut self, part: &mut File, bytes: &[u8]) -> io::Result<()> {
        if let Some(direct) = self.direct.as_mut() {
            match direct.write(bytes) {
                Ok(()) => {
                    self.offset = self.offset.saturating_add(bytes.len() as u64);
                    return Ok(());
                }
                // Refused by the file system after all: what is staged,
                // then everything else, goes through the ordinary file.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    if let Some(direct) = self.direct.take() {
                        let (at, staged) = direct.tail();
                        write_buffered(&mut self.write_behind, part, at, staged)?;
                    }
                    let at = self.offset;
                    self.offset = self.offset.saturating_add(bytes.len() as u64);
                    return write_buffered(&mut self.write_behind, part, at, bytes);
                }
                Err(e) => return Err(e),
            }
        }
        let at = self.offset;
        self.offset = self.offset.saturating_add(bytes.len() as u64);
        write_buffered(&mut self.write_behind, part, at, bytes)
    }

    /// Writes everything handed over so far into the file, and waits for
    /// the write-behind thread (not to stable storage: the caller flushes
    /// the file, or its file system, afterwards). Call it before that
    /// flush, and before giving up on the file if what was written is to
    /// be kept.
    pub fn flush(&mut self, part: &mut File) -> io::Result<()> {
        if let Some(direct) = self.direct.as_mut() {
            direct.write_blocks()?;
            // The bytes after the last whole block go through the file;
            // they stay staged as the start of the next block, which a
            // later direct write writes again, the same bytes.
            let (at, tail) = direct.tail();
            write_buffered(&mut self.write_behind, part, at, tail)?;
        }
        self.write_behind.finish()
    }
}

/// Writes `bytes` at `at` through the ordinary file (the page cache).
fn write_buffered(
    write_behind: &mut WriteBehind,
    part: &mut File,
    at: u64,
    bytes: &[u8],
) -> io::Result<()> {
    part.seek(SeekFrom::Start(at))?;
    part.write_all(bytes)?;
    write_behind.wrote(bytes.len(), part)
}

/// The file opened for direct writes, and its aligned staging buffer.
struct Direct {
    file: File,
    /// `STAGE + ALIGN` bytes: the aligned part starts at `start`.
    buf: Vec<u8>,
    start: usize,
    /// Bytes staged, from `start`.
    filled: usize,
    /// The file offset of the first staged byte (a multiple of `ALIGN`).
    at: u64,
}

impl Direct {
    /// Opens `path` for direct writes, staging the bytes of the last
    /// partial block before `offset` (read from `part`) so that writes
    /// start on a block boundary; `None` where direct writes are not
    /// available.
    #[cfg(target_os = "linux")]
    fn open(part: &File, path: &Path, offset: u64) -> Option<Direct> {
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let flags = i32::try_from(rustix::fs::OFlags::DIRECT.bits()).ok()?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(flags)
            .open(path)
            .ok()?;
        let buf = vec![0u8; STAGE.saturating_add(ALIGN)];
        let misaligned = buf.as_ptr() as usize % ALIGN;
        let start = (ALIGN.saturating_sub(misaligned)) % ALIGN;
        let at = offset.saturating_sub(offset.checked_rem(ALIGN as u64).unwrap_or(0));
        let mut direct = Direct {
            file,
            buf,
            start,
            filled: usize::try_from(offset.saturating_sub(at)).ok()?,
            at,
        };
        let head = direct.staged_mut();
        part.read_exact_at(head, at).ok()?;
        Some(direct)
    }

    #[cfg(not(target_os = "linux"))]
    fn open(_: &File, _: &Path, _: u64) -> Option<Direct> {
        None
    }

    fn staged_mut(&mut self) -> &mut [u8] {
        let end = self.start.saturating_add(self.filled);
        self.buf.get_mut(self.start..end).unwrap_or_default()
    }

    /// Stages `bytes` and writes every whole block staged: all but the
    /// last partial block is in the file when it returns, so that a kill
    /// loses less than a block of verified bytes.
    fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = STAGE.saturating_sub(self.filled);
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            let from = self.start.saturating_add(self.filled);
            self.buf
                .get_mut(from..from.saturating_add(now.len()))
                .ok_or_else(|| io::Error::other("staging buffer overrun"))?
                .copy_from_slice(now);
            self.filled = self.filled.saturating_add(now.len());
            bytes = later;
            if self.filled == STAGE {
                self.write_blocks()?;
            }
        }
        self.write_blocks()
    }

    /// Writes the staged whole blocks directly; keeps the rest staged.
    fn write_blocks(&mut self) -> io::Result<()> {
        let whole = self.filled.saturating_sub(self.filled % ALIGN);
        if whole == 0 {
            return Ok(());
        }
        let blocks = self
            .buf
            .get(self.start..self.start.saturating_add(whole))
            .ok_or_else(|| io::Error::other("staging buffer overrun"))?;
        write_all_at(&self.file, blocks, self.at)?;
        let rest = self.filled.saturating_sub(whole);
        let from = self.start.saturating_add(whole);
        self.buf
            .copy_within(from..from.saturating_add(rest), self.start);
        self.filled = rest;
        self.at = self.at.saturating_add(whole as u64);
        Ok(())
    }

    /// The staged bytes (less than a block after `write_blocks`) and
    /// their file offset.
    fn tail(&self) -> (u64, &[u8]) {
        let end = self.start.saturating_add(self.filled);
        (self.at, self.buf.get(self.start..end).unwrap_or_default())
    }
}

#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, at)
}

#[cfg(not(unix))]
fn write_all_at(_: &File, _: &[u8], _: u64) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::fs::OpenOptions;

    /// Writes `data` after a `prefix` already in the file, in pieces of
    /// awkward sizes, with or without direct writes; returns the file.
    fn append(direct: bool, prefix: &[u8], data: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.part");
        std::fs::write(&path, prefix).unwrap();
        let mut part = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut writer = DirectWriter::new(&part, &path, prefix.len() as u64);
        if !direct {
            writer = DirectWriter::buffered(prefix.len() as u64);
        }
        let mut rest = data;
        let mut size = 1usize;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(size.min(rest.len()));
            writer.write(&mut part, now).unwrap();
            rest = later;
            size = size * 7 % 3_000_001 + 1;
        }
        writer.flush(&mut part).unwrap();
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn appended_bytes_land_after_the_prefix_with_and_without_direct_writes() {
        let prefix: Vec<u8> = (0..1000u32).map(|i| (i % 253) as u8).collect();
        let data: Vec<u8> = (0..(2 * STAGE + 12_345) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let mut whole = prefix.clone();
        whole.extend_from_slice(&data);
        for direct in [true, false] {
            assert!(append(direct, &prefix, &data) == whole, "direct: {direct}");
        }
        // From a block boundary, and less than a block in all.
        assert!(append(true, &[], &data[..100]) == data[..100]);
        let aligned = vec![7u8; ALIGN];
        let mut both = aligned.clone();
        both.extend_from_slice(&data[..ALIGN + 1]);
        assert!(append(true, &aligned, &data[..ALIGN + 1]) == both);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn direct_writes_are_used_where_the_file_system_allows_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.part");
        std::fs::write(&path, b"head").unwrap();
        let part = File::open(&path).unwrap();
        // Whether this file system takes O_DIRECT (tmpfs does not; ext4
        // and xfs do), asked without the writer.
        use std::os::unix::fs::OpenOptionsExt;
        let takes_direct = OpenOptions::new()
            .write(true)
            .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
            .open(&path)
            .is_ok();
        let writer = DirectWriter::new(&part, &path, 4);
        assert_eq!(writer.is_direct(), takes_direct);
        if let Some(direct) = &writer.direct {
            // Staged from the block boundary before the offset, with the
            // bytes already there; the buffer aligned.
            assert_eq!(direct.tail(), (0, &b"head"[..]));
            assert_eq!((direct.buf.as_ptr() as usize + direct.start) % ALIGN, 0);
        }
    }
}
