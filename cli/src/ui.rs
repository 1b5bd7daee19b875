//! What the user sees besides results: notes and progress on stderr, and
//! sizes written for people ([`human_bytes`]).
//!
//! With stderr on a terminal, long work (32 MiB or more) draws a progress
//! bar (bytes, rate, time left). Otherwise only plain lines are written,
//! never escape codes, so logs stay clean. `--quiet` silences both.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt;
use std::io::{IsTerminal, Write};

/// Writes a line to stdout. A reader that went away (`hpk … | head -1`)
/// is not worth a panic: the rest of the output is dropped.
pub fn write_out(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{args}").and_then(|()| out.flush());
}

/// Writes to stderr, ignoring a closed stderr.
pub fn write_err(args: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Bytes for people: `1.5 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Where notes and progress go.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    quiet: bool,
    terminal: bool,
}

/// Work smaller than this gets no progress bar.
const BAR_THRESHOLD: u64 = 32 * 1024 * 1024;

impl Ui {
    /// A UI for this process's stderr.
    pub fn new(quiet: bool) -> Ui {
        Ui {
            quiet,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Writes a note line to stderr unless quiet.
    pub fn note(&self, line: impl AsRef<str>) {
        if !self.quiet {
            errln!("{}", line.as_ref());
        }
    }

    /// A progress reporter for `total` bytes of `what` (`verifying`, …).
    /// On a terminal, large work draws a bar; elsewhere it gets one plain
    /// line, so logs show what a long pause is.
    pub fn progress(&self, what: &str, total: u64) -> Progress {
        let bar = if self.quiet || total < BAR_THRESHOLD {
            None
        } else if !self.terminal {
            self.note(format!("{what} {}…", human_bytes(total)));
            None
        } else {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what.to_owned());
            Some(bar)
        };
        Progress { bar }
    }
}

/// Reports progress of one piece of work.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `done` bytes are finished.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// The work ended (either way): remove the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
