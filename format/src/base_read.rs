//! Reading the base of a delta payload (SPEC.md, "Delta chunks", D4):
//! the file the device already has, read by offset, never held whole.

use std::io;

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

fn past_end() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the base ends early")
}
