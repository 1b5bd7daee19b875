//! `hpk-probe`: runs one verification of a package in a process of its own
//! and reports its outcome, how many bytes it read and the process's peak
//! resident memory, so that the robustness tests (`tests/bombs.rs`) can
//! bound the memory a hostile package costs without a counting allocator.
//!
//! ```text
//! hpk-probe ROOT PACKAGE MODE [--endless] [--unlimited]
//!
//! MODE      head | verify | stream | entry:SIZE:DIGEST | entry-stream:SIZE:DIGEST
//!   head          Verifier::package only (the head authenticated)
//!   verify        Verifier::package, judge_without_device, verify to
//!                 Depth::Stored (stored bytes)
//!   stream        Verifier::package, judge_without_device, stream into a
//!                 sink that discards
//!   entry…        Verifier::fetched for a catalog entry of SIZE bytes and
//!                 manifest DIGEST (hex), judge_without_device, then verify
//!                 to Depth::Stored (or stream)
//! --endless       after the file, an endless stream of 0x5A bytes
//! --unlimited     limits raised to the maximum (no local caps on counts)
//! ```
//!
//! It prints one line, `key=value` pairs separated by spaces, the message
//! last: `result=ok|err class=CLASS consumed=N vmhwm_kib=N message=TEXT`.
//! The trust root is judged at `T0 + 1 day`, the time of the test kit;
//! packages at `hpk_tests::verify::NO_TIME`, for no device (of the policy,
//! only an unknown critical extension is refused).
#![forbid(unsafe_code)]
// A test helper: failing loudly on bad arguments is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{Digest, ErrorClass, Limits, PayloadDescriptor};
use hpk_tests::verify::{NO_TIME, open, verifier_at};
use hpk_verify::{Clock, Depth, PayloadSink, TrustedRoot, VerifyError};
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// An input that never ends.
struct Endless;

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        buf.fill(0x5A);
        Ok(buf.len())
    }
}

/// Discards content, counting it.
#[derive(Default)]
struct Discard {
    bytes: u64,
}

impl PayloadSink for Discard {
    fn begin(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.bytes += chunk.len() as u64;
        Ok(())
    }
    fn end(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
}

/// The peak resident set size of this process in KiB (`VmHWM`).
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root_path, package_path, mode, flags @ ..] = args.as_slice() else {
        eprintln!("usage: hpk-probe ROOT PACKAGE MODE [--endless] [--unlimited]");
        std::process::exit(2);
    };
    let endless = flags.iter().any(|f| f == "--endless");
    let limits = if flags.iter().any(|f| f == "--unlimited") {
        Limits {
            max_payloads: u32::MAX,
            max_chunks: u64::MAX,
            max_total_size: u64::MAX,
            ..Limits::default()
        }
    } else {
        Limits::default()
    };
    let root = TrustedRoot::load(
        &std::fs::read(root_path).expect("read trust root"),
        Clock::Trusted(hpk_tests::T0 + hpk_tests::DAY),
        &Limits::default(),
    )
    .expect("load trust root");
    let file = std::fs::File::open(package_path).expect("open package");
    let count = Rc::new(Cell::new(0u64));
    let tail: Box<dyn Read> = if endless {
        Box::new(Endless)
    } else {
        Box::new(io::empty())
    };
    let input = Counting {
        inner: file.chain(tail),
        count: Rc::clone(&count),
    };

    let result: Result<(), (ErrorClass, String)> = match mode.split(':').collect::<Vec<_>>()[..] {
        ["head"] => verifier_at(&root, NO_TIME, &limits)
            .package(input)
            .map(|_| ())
            .map_err(|e| (e.class(), e.to_string())),
        ["verify"] => open(input, &root, &limits)
            .and_then(|p| p.verify(Depth::Stored))
            .map(|_| ())
            .map_err(|e| (e.class(), e.to_string())),
        ["stream"] => open(input, &root, &limits)
            .and_then(|p| p.stream(&mut Discard::default(), &mut |_| {}))
            .map(|_| ())
            .map_err(|e| (e.class(), e.to_string())),
        [how @ ("entry" | "entry-stream"), size, digest] => {
            let digest = Digest::from_hex(digest).expect("digest");
            let entry = hpk_tests::entry_for(digest, size.parse().expect("size"));
            match verifier_at(&root, NO_TIME, &limits).fetched(&entry, input) {
                Err(e) => Err((e.class(), e.to_string())),
                Ok(p) => {
                    let r = p
                        .judge_without_device()
                        .map_err(VerifyError::from)
                        .and_then(|p| {
                            if how == "entry" {
                                p.verify(Depth::Stored)
                            } else {
                                p.stream(&mut Discard::default(), &mut |_| {})
                            }
                        });
                    r.map(|_| ()).map_err(|e| (e.class(), e.to_string()))
                }
            }
        }
        _ => {
            eprintln!("unknown mode {mode}");
            std::process::exit(2);
        }
    };
    let (outcome, class, message) = match result {
        Ok(()) => ("ok", "none", String::new()),
        Err((class, message)) => ("err", class.as_str(), message.replace('\n', " ")),
    };
    println!(
        "result={outcome} class={class} consumed={} vmhwm_kib={} message={message}",
        count.get(),
        vm_hwm_kib()
    );
}
