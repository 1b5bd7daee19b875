//! Times verifying to `Depth::Stored` and `stream` (into a sink that
//! discards) on a package file, each opened and judged for no device at a
//! lower bound of 0 on the time: `cargo run --release -p hpk-bench
//! --example engine -- PACKAGE ROOT [RUNS]`. For looking at the engine
//! without the cost of writing files.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{Limits, PayloadDescriptor};
use hpk_verify::{Clock, Depth, PayloadSink, TrustedRoot, Verifier};
use std::fs::File;
use std::io::{self, BufReader};
use std::time::Instant;

struct Discard;

impl PayloadSink for Discard {
    fn begin(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        std::hint::black_box(chunk);
        Ok(())
    }
    fn end(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let limits = Limits::default();
    let root =
        TrustedRoot::load(&std::fs::read(&args[2]).unwrap(), Clock::system(), &limits).unwrap();
    let runs: usize = args.get(3).map_or(3, |r| r.parse().unwrap());
    let verifier = Verifier::new(root)
        .clock(Clock::LowerBound(0))
        .limits(limits);
    let open = || {
        let file = BufReader::with_capacity(1 << 20, File::open(&args[1]).unwrap());
        let package = verifier.package(file).unwrap();
        package.judge_without_device().unwrap()
    };
    for _ in 0..runs {
        let t = Instant::now();
        open().verify(Depth::Stored).unwrap();
        let v = t.elapsed();
        let t = Instant::now();
        open().stream(&mut Discard, &mut |_| {}).unwrap();
        let s = t.elapsed();
        println!("verify(Stored) {v:.3?}  stream {s:.3?}");
    }
}
