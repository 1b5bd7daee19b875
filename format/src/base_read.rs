//! Reading the base of a delta payload (SPEC.md, "Delta chunks", D4):
//! the file the device already has, read by offset, never held whole.

use std::io;
use std::sync::Mutex;

/// Random read access to the base of a delta payload: the file the device
/// already has. Implemented for files and byte slices.
pub trait BaseRead: Send + Sync {
    /// Fills `buf` with the base's bytes from `offset`; an error if the
    /// base ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// The base's length in bytes.
    fn base_len(&self) -> io::Result<u64>;
}

impl BaseRead for [u8] {
    fn base_len(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| past_end())?;
        let end = start.checked_add(buf.len()).ok_or_else(past_end)?;
        buf.copy_from_slice(self.get(start..end).ok_or_else(past_end)?);
        Ok(())
    }
}

impl BaseRead for Vec<u8> {
    fn base_len(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.as_slice().read_exact_at(offset, buf)
    }
}

impl BaseRead for std::fs::File {
    fn base_len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    #[cfg(unix)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let at = offset.saturating_add(done as u64);
            match std::os::windows::fs::FileExt::seek_read(self, rest, at) {
                Ok(0) => return Err(past_end()),
                Ok(n) => done = done.saturating_add(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// How much of the base one cached block holds.
const BLOCK: usize = 64 * 1024;
/// How many blocks a [`CachedBase`] keeps: 256 KiB per open base.
const BLOCKS: usize = 4;

/// A base read in aligned blocks, the last few of them kept.
///
/// The copy and add operations of a delta read the base mostly forward,
/// in pieces of tens of bytes: one system call per piece costs more than
/// the copy itself. Reads as large as a block go straight through.
pub struct CachedBase<B: ?Sized> {
    /// Most recently used first: (block number, its bytes).
    blocks: Mutex<Vec<(u64, Vec<u8>)>>,
    len: u64,
    inner: Box<B>,
}

impl<B: BaseRead + ?Sized> CachedBase<B> {
    /// Wraps `inner`, whose length is read once, now.
    pub fn new(inner: Box<B>) -> io::Result<CachedBase<B>> {
        Ok(CachedBase {
            blocks: Mutex::new(Vec::with_capacity(BLOCKS)),
            len: inner.base_len()?,
            inner,
        })
    }

    /// Copies the bytes of block `number` from `skip` into `out`, reading
    /// the block first if it is not kept.
    fn copy_from_block(
        &self,
        blocks: &mut Vec<(u64, Vec<u8>)>,
        number: u64,
        skip: usize,
        out: &mut [u8],
    ) -> io::Result<()> {
        let kept = match blocks.iter().position(|(n, _)| *n == number) {
            Some(i) => blocks.remove(i),
            None => {
                let start = number.saturating_mul(BLOCK as u64);
                let size = self.len.saturating_sub(start).min(BLOCK as u64) as usize;
                // The oldest block's buffer is reused once all are kept.
                let mut bytes = if blocks.len() >= BLOCKS {
                    blocks.pop().map(|(_, b)| b).unwrap_or_default()
                } else {
                    Vec::new()
                };
                bytes.resize(size, 0);
                self.inner.read_exact_at(start, &mut bytes)?;
                (number, bytes)
            }
        };
        let end = skip.checked_add(out.len()).ok_or_else(past_end)?;
        out.copy_from_slice(kept.1.get(skip..end).ok_or_else(past_end)?);
        blocks.insert(0, kept);
        Ok(())
    }
}

impl<B: BaseRead + ?Sized> BaseRead for CachedBase<B> {
    fn base_len(&self) -> io::Result<u64> {
        Ok(self.len)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.checked_add(buf.len() as u64).ok_or_else(past_end)?;
        if end > self.len {
            return Err(past_end());
        }
        if buf.len() >= BLOCK {
            return self.inner.read_exact_at(offset, buf);
        }
        // A poisoned lock only means another reader failed midway; the
        // blocks it holds are whole (each is filled before it is kept).
        let mut blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = offset;
        let mut rest = buf;
        while !rest.is_empty() {
            let number = at.checked_div(BLOCK as u64).unwrap_or(0);
            let skip = at.checked_rem(BLOCK as u64).unwrap_or(0) as usize;
            let n = rest.len().min(BLOCK.saturating_sub(skip));
            let (piece, tail) = rest.split_at_mut(n);
            self.copy_from_block(&mut blocks, number, skip, piece)?;
            at = at.saturating_add(n as u64);
            rest = tail;
        }
        Ok(())
    }
}

fn past_end() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the base ends early")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A base that counts the reads that reach it.
    struct Counting {
        bytes: Vec<u8>,
        reads: AtomicUsize,
    }

    impl BaseRead for Counting {
        fn base_len(&self) -> io::Result<u64> {
            Ok(self.bytes.len() as u64)
        }

        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.bytes.as_slice().read_exact_at(offset, buf)
        }
    }

    fn base(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    proptest! {
        /// Whatever the offsets and lengths, a cached read gives the
        /// base's bytes, and a read past the end fails.
        #[test]
        fn cached_reads_are_the_bases_bytes(
            len in 0usize..300_000,
            reads in prop::collection::vec((0u64..320_000, 0usize..140_000), 1..40),
        ) {
            let bytes = base(len);
            let cached = CachedBase::new(Box::new(bytes.clone())).unwrap();
            prop_assert_eq!(cached.base_len().unwrap(), len as u64);
            for (offset, n) in reads {
                let mut buf = vec![0u8; n];
                let result = cached.read_exact_at(offset, &mut buf);
                let end = offset as usize + n;
                if end <= len {
                    prop_assert!(result.is_ok());
                    prop_assert_eq!(&buf[..], &bytes[offset as usize..end]);
                } else {
                    prop_assert_eq!(result.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
                }
            }
        }
    }

    #[test]
    fn small_forward_reads_cost_one_read_per_block() {
        let len = 5 * BLOCK + 123;
        let cached = CachedBase::new(Box::new(Counting {
            bytes: base(len),
            reads: AtomicUsize::new(0),
        }))
        .unwrap();
        let mut buf = [0u8; 100];
        let mut at = 0u64;
        while at + 100 <= len as u64 {
            cached.read_exact_at(at, &mut buf).unwrap();
            at += 100;
        }
        // Six blocks, each read once.
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), 6);
        // Reads of a block or more go straight through.
        let mut big = vec![0u8; BLOCK];
        cached.read_exact_at(7, &mut big).unwrap();
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), 7);
        assert_eq!(&big[..], &base(len)[7..7 + BLOCK]);
    }
}
