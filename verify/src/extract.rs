//! Extracting a verified package into a folder.
//!
//! Every payload is written under a temporary name next to its final one;
//! only when every payload's content and SHA-256 have been checked are
//! they all renamed. A failure leaves no payload under its final name.
//! Payload names cannot escape the folder (they are validated relative
//! paths), and no existing symbolic link is followed.

use crate::error::{ExtractError, VerifyError};
use crate::package::{PayloadSink, VerifiedHead, VerifiedPackage};
use hpk_format::{AtomicFile, PayloadDescriptor, PayloadError, StagedFile};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// Bytes written to a payload file between two requests to write its
/// pages back (32 MiB).
const WRITE_BEHIND: u64 = 32 * 1024 * 1024;

/// Writes a payload file's pages to disk on another thread while the
/// extraction goes on, so that the flush before the file is staged finds
/// little left to do: the disk works while the processor decompresses.
///
/// It only starts a thread once a file is larger than [`WRITE_BEHIND`].
/// An error it meets is returned by [`WriteBehind::finish`]: it must not
/// be lost, since the file's final flush may then no longer report it.
#[derive(Default)]
struct WriteBehind {
    unsynced: u64,
    worker: Option<(SyncSender<()>, JoinHandle<io::Result<()>>)>,
}

impl WriteBehind {
    /// Notes `n` more bytes written to `file`; asks for a flush every
    /// [`WRITE_BEHIND`] bytes.
    fn wrote(&mut self, n: usize, file: &File) -> io::Result<()> {
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
    fn finish(&mut self) -> io::Result<()> {
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

/// What an extraction wrote.
#[derive(Debug)]
pub struct Extracted {
    /// The verified head of the package.
    pub head: VerifiedHead,
    /// The files written, in manifest order.
    pub files: Vec<PathBuf>,
}

struct DirSink<'a> {
    dir: &'a Path,
    current: Option<AtomicFile>,
    write_behind: WriteBehind,
    staged: Vec<StagedFile>,
    unsafe_path: Option<ExtractError>,
    /// Folders this extraction created, in creation order, so that a
    /// failed extraction can remove them again.
    created: Vec<PathBuf>,
}

impl DirSink<'_> {
    /// Removes the temporary files, then the folders this extraction
    /// created (deepest first); folders that are not empty stay.
    fn remove_created_folders(&mut self) {
        let _ = self.write_behind.finish();
        self.current = None;
        self.staged.clear();
        for dir in self.created.drain(..).rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Creates the folders leading to `name` under `dir`, refusing to pass
/// through anything but real folders.
fn prepare_parent(
    dir: &Path,
    desc: &PayloadDescriptor,
    created: &mut Vec<PathBuf>,
) -> Result<PathBuf, ExtractError> {
    let mut path = dir.to_path_buf();
    let mut parts = desc.name.components().peekable();
    while let Some(part) = parts.next() {
        path.push(part);
        let meta = std::fs::symlink_metadata(&path);
        if parts.peek().is_none() {
            return match meta {
                Ok(m) if m.is_dir() => Err(ExtractError::Unsafe {
                    path,
                    reason: "a folder is in the way",
                }),
                _ => Ok(path),
            };
        }
        match meta {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ExtractError::Unsafe {
                    path,
                    reason: "it is a symbolic link",
                });
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(ExtractError::Unsafe {
                    path,
                    reason: "a file is in the way of a folder",
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir(&path).map_err(|source| ExtractError::Io {
                    path: path.clone(),
                    source,
                })?;
                created.push(path.clone());
            }
            Err(source) => return Err(ExtractError::Io { path, source }),
        }
    }
    Err(ExtractError::Unsafe {
        path,
        reason: "empty payload name",
    })
}

impl PayloadSink for DirSink<'_> {
    fn begin(&mut self, desc: &PayloadDescriptor) -> io::Result<()> {
        let target = match prepare_parent(self.dir, desc, &mut self.created) {
            Ok(t) => t,
            Err(e) => {
                let msg = e.to_string();
                self.unsafe_path = Some(e);
                return Err(io::Error::other(msg));
            }
        };
        self.current = Some(AtomicFile::create(&target)?);
        Ok(())
    }

    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        match self.current.as_mut() {
            Some(f) => {
                let file = f.file()?;
                file.write_all(chunk)?;
                self.write_behind.wrote(chunk.len(), file)
            }
            None => Err(io::Error::other("data outside a payload")),
        }
    }

    fn end(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        let file = self
            .current
            .take()
            .ok_or_else(|| io::Error::other("end outside a payload"))?;
        self.write_behind.finish()?;
        self.staged.push(file.stage()?);
        Ok(())
    }
}

/// Verifies and extracts every payload of `package` into `dir`, which must
/// exist. `progress` is called with the uncompressed bytes done so far.
pub fn extract_to_dir<R: Read>(
    package: VerifiedPackage<R>,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Extracted, ExtractError> {
    let meta = std::fs::metadata(dir).map_err(|source| ExtractError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ExtractError::Unsafe {
            path: dir.to_path_buf(),
            reason: "not a folder",
        });
    }
    let mut sink = DirSink {
        dir,
        current: None,
        write_behind: WriteBehind::default(),
        staged: Vec::new(),
        unsafe_path: None,
        created: Vec::new(),
    };
    let head = match package.stream(&mut sink, progress) {
        Ok(head) => head,
        Err(e) => {
            // Removes every temporary file, then the folders made for them.
            sink.remove_created_folders();
            if let Some(u) = sink.unsafe_path.take() {
                return Err(u);
            }
            return Err(match e {
                VerifyError::Payload(PayloadError::Io(source)) => ExtractError::Io {
                    path: dir.to_path_buf(),
                    source,
                },
                other => ExtractError::Verify(other),
            });
        }
    };
    let mut files = Vec::with_capacity(sink.staged.len());
    for staged in sink.staged.drain(..) {
        let path = staged.target().to_path_buf();
        staged.commit().map_err(|source| ExtractError::Io {
            path: path.clone(),
            source,
        })?;
        files.push(path);
    }
    Ok(Extracted { head, files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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
