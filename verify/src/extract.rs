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
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

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
    staged: Vec<StagedFile>,
    unsafe_path: Option<ExtractError>,
}

/// Creates the folders leading to `name` under `dir`, refusing to pass
/// through anything but real folders.
fn prepare_parent(dir: &Path, desc: &PayloadDescriptor) -> Result<PathBuf, ExtractError> {
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
        let target = match prepare_parent(self.dir, desc) {
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
            Some(f) => f.file()?.write_all(chunk),
            None => Err(io::Error::other("data outside a payload")),
        }
    }

    fn end(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        let file = self
            .current
            .take()
            .ok_or_else(|| io::Error::other("end outside a payload"))?;
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
        staged: Vec::new(),
        unsafe_path: None,
    };
    let head = match package.stream(&mut sink, progress) {
        Ok(head) => head,
        Err(e) => {
            // Dropping the sink removes every temporary file.
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
