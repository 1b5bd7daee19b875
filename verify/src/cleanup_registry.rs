//! The registry of what this process is writing and has neither committed
//! nor removed yet: temporary files ([`crate::AtomicFile`]) and staging
//! folders ([`crate::StagingDir`]). An interrupt handler, which ends the
//! process without running destructors, empties it first
//! ([`crate::remove_temp_files`], [`crate::remove_staging_dirs`]). A commit
//! and that removal take the same lock, so they exclude each other: a path
//! is either committed or removed, never half of each.

use crate::staging::INTERRUPTED_MESSAGE;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// One registry: its paths, and whether it was closed.
pub(crate) struct Registry {
    paths: Vec<PathBuf>,
    /// Set by [`Registry::close`]: nothing is created or committed after.
    closed: bool,
}

/// A registry shared by the threads of the process.
pub(crate) struct Live(Mutex<Registry>);

impl Live {
    /// An empty, open registry (for a `static`).
    pub(crate) const fn new() -> Live {
        Live(Mutex::new(Registry {
            paths: Vec::new(),
            closed: false,
        }))
    }

    /// The registry, even if a thread panicked while holding it (it stays
    /// valid: every change to it is a single push, removal or flag).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Registry> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Registry {
    /// An error once the registry is closed: the process is being
    /// interrupted, so nothing new is created or committed.
    pub(crate) fn check_open(&self) -> io::Result<()> {
        if self.closed {
            // Not `ErrorKind::Interrupted`: by convention that one asks
            // the caller to retry.
            return Err(io::Error::other(INTERRUPTED_MESSAGE));
        }
        Ok(())
    }

    /// Lists `path` as being written.
    pub(crate) fn add(&mut self, path: PathBuf) {
        self.paths.push(path);
    }

    /// Takes `path` off the list (committed or removed).
    pub(crate) fn forget(&mut self, path: &Path) {
        if let Some(i) = self.paths.iter().position(|p| p == path) {
            self.paths.swap_remove(i);
        }
    }

    /// Closes the registry and hands over every path still listed, for
    /// the caller to remove under the same lock.
    pub(crate) fn close(&mut self) -> Vec<PathBuf> {
        self.closed = true;
        std::mem::take(&mut self.paths)
    }
}
