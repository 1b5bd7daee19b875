//! Writing a large file's pages to disk while it is still being written.
//!
//! A command that writes a file and then flushes it would otherwise wait,
//! at the end, for every page it wrote: for 1 GB, most of a second with
//! the processor idle. Asking for the flush every few tens of MiB, on
//! another thread, lets the disk work while the processor produces the
//! next bytes (decompresses them, or receives and checks them), so the
//! final flush finds only the tail left.

use std::fs::File;
use std::io;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// Bytes written to a file between two requests to write its pages back
/// (32 MiB).
pub const WRITE_BEHIND: u64 = 32 * 1024 * 1024;

/// Writes a file's pages to disk on another thread while the file is
/// still being written, so that the flush before it is committed finds
/// little left to do.
///
/// Call [`WriteBehind::wrote`] after each write and [`WriteBehind::finish`]
/// when the file is complete, then flush the file as before: write-behind
/// makes the final flush short, never unnecessary. A thread is started
/// only once a file is larger than [`WRITE_BEHIND`]. An error the thread
/// meets is returned by `finish`: it must not be lost, since the file's
/// final flush may then no longer report it.
#[derive(Default)]
pub struct WriteBehind {
    unsynced: u64,
    worker: Option<(SyncSender<()>, JoinHandle<io::Result<()>>)>,
}

impl WriteBehind {
    /// Notes `n` more bytes written to `file`; asks for a flush every
    /// [`WRITE_BEHIND`] bytes.
    pub fn wrote(&mut self, n: usize, file: &File) -> io::Result<()> {
        self.unsynced = self.unsynced.saturating_add(n as u64);
        if self.unsynced < WRITE_BEHIND {
            return Ok(());
        }
        self.unsynced = 0;
        if self.worker.is_none() {
            let file = file.try_clone()?;
            let (tx, rx) = sync_channel::<()>(1);
            let handle = std::thread::Builder::new()
                .name("hpk-write-behind".into())
                .spawn(move || {
                    for () in rx.iter() {
                        file.sync_data()?;
                    }
                    Ok(())
                })?;
            self.worker = Some((tx, handle));
        }
        if let Some((tx, _)) = &self.worker {
            match tx.try_send(()) {
                // A flush is already waiting: it will take these bytes too.
                Ok(()) | Err(TrySendError::Full(())) => {}
                // The thread stopped on an error: `finish` reports it.
                Err(TrySendError::Disconnected(())) => {}
            }
        }
        Ok(())
    }

    /// Waits for the thread and returns the first error it met.
    pub fn finish(&mut self) -> io::Result<()> {
        self.unsynced = 0;
        match self.worker.take() {
            None => Ok(()),
            Some((tx, handle)) => {
                drop(tx);
                handle
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("write-behind thread failed")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn write_behind_flushes_a_large_file_on_its_thread_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let mut file = File::create(&path).unwrap();
        let mut wb = WriteBehind::default();
        let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        let chunks = 3 * WRITE_BEHIND as usize / chunk.len() + 1;
        for _ in 0..chunks {
            file.write_all(&chunk).unwrap();
            wb.wrote(chunk.len(), &file).unwrap();
        }
        assert!(
            wb.worker.is_some(),
            "a file over the threshold gets a thread"
        );
        wb.finish().unwrap();
        assert!(wb.worker.is_none());
        file.sync_all().unwrap();
        let mut back = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back.len(), chunks * chunk.len());
        assert!(back.chunks(chunk.len()).all(|c| c == chunk.as_slice()));
    }

    #[test]
    fn write_behind_starts_no_thread_for_a_small_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = File::create(dir.path().join("small.bin")).unwrap();
        let mut wb = WriteBehind::default();
        file.write_all(b"small").unwrap();
        wb.wrote(5, &file).unwrap();
        assert!(wb.worker.is_none());
        wb.finish().unwrap();
    }
}
