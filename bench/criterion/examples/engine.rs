//! Times `verify_payloads` and `stream` (into a sink that discards) on a
//! package file: `cargo run --release -p hpk-bench --example engine --
//! PACKAGE ROOT [RUNS]`. For looking at the engine without the cost of
//! writing files.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hpk_format::{Limits, PayloadDescriptor};
use hpk_verify::{Clock, PayloadSink, TrustedRoot, VerifiedPackage};
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
    let open = || {
        let file = BufReader::with_capacity(1 << 20, File::open(&args[1]).unwrap());
        VerifiedPackage::open(file, &root, &limits).unwrap()
    };
    for _ in 0..runs {
        let t = Instant::now();
        open().verify_payloads(&mut |_| {}).unwrap();
        let v = t.elapsed();
        let t = Instant::now();
        open().stream(&mut Discard, &mut |_| {}).unwrap();
        let s = t.elapsed();
        println!("verify_payloads {v:.3?}  stream {s:.3?}");
    }
}
