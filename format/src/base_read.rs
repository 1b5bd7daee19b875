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

/// A page of the base: what a miss reads at least, and what is kept.
const PAGE: usize = 4 * 1024;
/// The most a miss reads, while misses go on forward (readahead).
const MAX_READ: usize = 64 * 1024;
/// Pages kept per open base (1 MiB), each in the slot of its number
/// modulo this.
const SLOTS: usize = 256;

/// A base read in pages, recent pages kept, with readahead.
///
/// The copy and add operations of a delta read the base in pieces of tens
/// of bytes (one system call per piece costs more than the copy itself),
/// mostly forward, but also jumping about, more so in a large file with
/// many changes. So the base is kept as pages in 256 slots (page number
/// modulo 256, so a lookup costs nothing: 1 MiB, all of a small base),
/// and a miss reads one page, or, while
/// misses go on forward from the last one, twice as many as the last time
/// up to 64 KiB, as a file system's readahead does (a jump elsewhere
/// starts again from one page). Reads of 64 KiB or more go straight
/// through.
pub struct CachedBase<B: ?Sized> {
    cache: Mutex<Pages>,
    len: u64,
    inner: Box<B>,
}

/// What a [`CachedBase`] keeps.
struct Pages {
    /// Slot `n % SLOTS`: page `n` and its bytes (shorter for the last
    /// page), or nothing.
    slots: Vec<Option<(u64, Vec<u8>)>>,
    /// The pages the last miss read: first, and one past the last.
    last_first: u64,
    last_end: u64,
    /// How many pages the next miss reads if it goes on from the last.
    window: usize,
    /// Where a miss's pages are read before they are put in their slots.
    scratch: Vec<u8>,
}

impl<B: BaseRead + ?Sized> CachedBase<B> {
    /// Wraps `inner`, whose length is read once, now.
    pub fn new(inner: Box<B>) -> io::Result<CachedBase<B>> {
        Ok(CachedBase {
            cache: Mutex::new(Pages {
                slots: Vec::new(),
                last_first: 0,
                last_end: 0,
                window: 1,
                scratch: Vec::new(),
            }),
            len: inner.base_len()?,
            inner,
        })
    }

    /// Copies into `out` what page `number` holds from byte `skip` on
    /// (reading it first if it is not kept); returns how many bytes.
    fn copy_from_page(
        &self,
        pages: &mut Pages,
        number: u64,
        skip: usize,
        out: &mut [u8],
    ) -> io::Result<usize> {
        let slot = number.checked_rem(SLOTS as u64).unwrap_or(0) as usize;
        let kept = matches!(pages.slots.get(slot), Some(Some((n, _))) if *n == number);
        if !kept {
            self.read_pages(pages, number)?;
        }
        let Some(Some((_, bytes))) = pages.slots.get(slot) else {
            return Err(past_end());
        };
        let available = bytes.get(skip..).ok_or_else(past_end)?;
        let n = available.len().min(out.len());
        out.get_mut(..n)
            .ok_or_else(past_end)?
            .copy_from_slice(available.get(..n).ok_or_else(past_end)?);
        Ok(n)
    }

    /// Reads page `number`, and the pages after it that the readahead
    /// window takes, into their slots.
    fn read_pages(&self, pages: &mut Pages, number: u64) -> io::Result<()> {
        if pages.slots.is_empty() {
            pages.slots.resize_with(SLOTS, || None);
        }
        let forward = number >= pages.last_first && number <= pages.last_end;
        pages.window = if forward {
            pages.window.saturating_mul(2).min(MAX_READ / PAGE)
        } else {
            1
        };
        let start = number.saturating_mul(PAGE as u64);
        let size = self
            .len
            .saturating_sub(start)
            .min(pages.window.saturating_mul(PAGE) as u64) as usize;
        let mut scratch = std::mem::take(&mut pages.scratch);
        scratch.resize(size, 0);
        let read = self.inner.read_exact_at(start, &mut scratch);
        if read.is_ok() {
            for (i, page) in scratch.chunks(PAGE).enumerate() {
                let n = number.saturating_add(i as u64);
                let slot = n.checked_rem(SLOTS as u64).unwrap_or(0) as usize;
                if let Some(entry) = pages.slots.get_mut(slot) {
                    // The buffer of the page it replaces is reused.
                    let mut bytes = entry.take().map(|(_, b)| b).unwrap_or_default();
                    bytes.clear();
                    bytes.extend_from_slice(page);
                    *entry = Some((n, bytes));
                }
            }
            pages.last_first = number;
            pages.last_end = number.saturating_add(scratch.chunks(PAGE).len() as u64);
        }
        pages.scratch = scratch;
        read
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
        if buf.len() >= MAX_READ {
            return self.inner.read_exact_at(offset, buf);
        }
        // A poisoned lock only means another reader failed midway; what
        // it keeps is whole (each page is put in its slot once read).
        let mut pages = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = offset;
        let mut rest = buf;
        while !rest.is_empty() {
            let number = at.checked_div(PAGE as u64).unwrap_or(0);
            let skip = at.checked_rem(PAGE as u64).unwrap_or(0) as usize;
            let n = self.copy_from_page(&mut pages, number, skip, rest)?;
            if n == 0 {
                return Err(past_end());
            }
            at = at.saturating_add(n as u64);
            rest = rest.get_mut(n..).unwrap_or_default();
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

    fn counting(len: usize) -> CachedBase<Counting> {
        CachedBase::new(Box::new(Counting {
            bytes: base(len),
            reads: AtomicUsize::new(0),
        }))
        .unwrap()
    }

    #[test]
    fn forward_reads_grow_the_window() {
        let len = 1 << 20 | 1;
        let cached = counting(len);
        let mut buf = [0u8; 100];
        let mut at = 0u64;
        while at + 100 <= len as u64 {
            cached.read_exact_at(at, &mut buf).unwrap();
            assert_eq!(&buf[..], &base(len)[at as usize..at as usize + 100]);
            at += 100;
        }
        // 8, 16, 32 KiB, then 64 KiB at a time: 3 + 16 reads for 1 MiB,
        // where one a piece would have been 10,485.
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), 19);
        // Reads of 64 KiB or more go straight through.
        let mut big = vec![0u8; MAX_READ];
        cached.read_exact_at(7, &mut big).unwrap();
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), 20);
        assert_eq!(&big[..], &base(len)[7..7 + MAX_READ]);
    }

    #[test]
    fn a_small_base_is_read_once() {
        let len = PAGE * SLOTS - 5;
        let cached = counting(len);
        let mut buf = [0u8; 30];
        let offsets = [600_000u64, 10, 900_000, 300_000, 1_000_000];
        for _ in 0..3 {
            for at in offsets {
                cached.read_exact_at(at, &mut buf).unwrap();
                assert_eq!(&buf[..], &base(len)[at as usize..at as usize + 30]);
            }
        }
        // One page each, the first time only.
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), offsets.len());
    }

    #[test]
    fn kept_pieces_stay_within_their_budget() {
        let len = 16 << 20;
        let cached = counting(len);
        let mut buf = [0u8; 10];
        for i in 0..2_000u64 {
            // Forward runs that grow the window, and jumps.
            let at = (i * 7_919 * 4_099) % (len as u64 - 10);
            cached.read_exact_at(at, &mut buf).unwrap();
            assert_eq!(&buf[..], &base(len)[at as usize..at as usize + 10]);
            let held: usize = cached
                .cache
                .lock()
                .unwrap()
                .slots
                .iter()
                .flatten()
                .map(|(_, b)| b.len())
                .sum();
            assert!(held <= PAGE * SLOTS, "{held}");
        }
    }

    #[test]
    fn scattered_reads_read_a_page_each() {
        let len = 8 << 20;
        let cached = counting(len);
        let mut buf = [0u8; 30];
        // Jumps of about a megabyte, back and forth: a page each, never a
        // whole window.
        let offsets = [
            5_000_000u64,
            1_000_000,
            7_000_123,
            2_500_000,
            6_000_000,
            300,
        ];
        for &at in &offsets {
            cached.read_exact_at(at, &mut buf).unwrap();
            assert_eq!(&buf[..], &base(len)[at as usize..at as usize + 30]);
        }
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), offsets.len());
        // Each of them is kept: reading near them again costs nothing.
        for &at in &offsets {
            cached.read_exact_at(at + 1, &mut buf).unwrap();
        }
        assert_eq!(cached.inner.reads.load(Ordering::Relaxed), offsets.len());
    }
}
