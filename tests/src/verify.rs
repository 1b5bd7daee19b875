//! The verification calls the tests repeat, on the front door of
//! `hpk-verify` ([`Verifier`]).
//!
//! Most tests check one layer at a time: a package's signatures, lengths
//! and payloads, for no device in particular. Their verifier judges time
//! at [`NO_TIME`], a lower bound of 0: nothing is expired and "not yet
//! valid" cannot be judged, so [`Package::judge_without_device`] refuses
//! only an unknown critical extension (Y2), the one policy check that
//! reading payloads has always made. Tests of the policy use a device and
//! a clock of their own.

use hpk_format::{Catalog, Limits, Manifest, PayloadDescriptor};
use hpk_verify::{
    CatalogError, Clock, DeviceProfile, Judged, Package, PayloadSink, Plan, TrustedRoot, Verified,
    Verifier, VerifyError,
};
use std::io::{self, Read};

/// The clock of tests that judge no time: a lower bound of 0, at which
/// nothing has expired and nothing is from the future.
pub const NO_TIME: Clock = Clock::LowerBound(0);

/// A verifier for `root` at [`NO_TIME`] within the default limits.
pub fn verifier(root: &TrustedRoot) -> Verifier {
    Verifier::new(root.clone()).clock(NO_TIME)
}

/// A verifier for `root` at `clock` within `limits`.
pub fn verifier_at(root: &TrustedRoot, clock: Clock, limits: &Limits) -> Verifier {
    Verifier::new(root.clone())
        .clock(clock)
        .limits(limits.clone())
}

/// Authenticates a package's head (VP1–VP8) read from `input` within
/// `limits`, then judges it for no device at [`NO_TIME`] (Y2 only, in
/// effect): a package ready to have its payloads verified, streamed or
/// extracted.
pub fn open<R: Read>(
    input: R,
    root: &TrustedRoot,
    limits: &Limits,
) -> Result<Package<R, Judged>, VerifyError> {
    Ok(verifier_at(root, NO_TIME, limits)
        .package(input)?
        .judge_without_device()?)
}

/// [`open`], then every chunk index and stored chunk against its digest
/// and the end of the input ([`Depth::Stored`](hpk_verify::Depth::Stored)):
/// nothing is decompressed.
pub fn verify_stored(
    bytes: &[u8],
    root: &TrustedRoot,
    limits: &Limits,
) -> Result<Verified<Manifest>, VerifyError> {
    open(bytes, root, limits)?.verify(hpk_verify::Depth::Stored)
}

/// Each payload's name and content, in manifest order.
pub type Contents = Vec<(String, Vec<u8>)>;

/// [`open`], then every payload streamed to full depth into a
/// [`MemorySink`]: the manifest and each payload's name and content.
pub fn verify_full(
    bytes: &[u8],
    root: &TrustedRoot,
    limits: &Limits,
) -> Result<(Verified<Manifest>, Contents), VerifyError> {
    let mut sink = MemorySink::default();
    let manifest = open(bytes, root, limits)?.stream(&mut sink, &mut |_| {})?;
    Ok((manifest, sink.payloads))
}

/// Verifies a catalog for `root` at `clock` within `limits`, whose version
/// must be at least `last_seen` (0: no floor).
pub fn catalog(
    bytes: &[u8],
    root: &TrustedRoot,
    clock: Clock,
    last_seen: u64,
    limits: &Limits,
) -> Result<Verified<Catalog>, CatalogError> {
    verifier_at(root, clock, limits).catalog_above(bytes, last_seen)
}

/// The install plan for `device` from a catalog verified under `root`,
/// judged at `clock`.
pub fn plan(
    catalog: &Verified<Catalog>,
    root: &TrustedRoot,
    device: &DeviceProfile,
    clock: Clock,
) -> Plan {
    verifier_at(root, clock, &Limits::default()).plan(catalog, device)
}

/// A [`PayloadSink`] that keeps every payload in memory.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// Finished payloads: name and content, in the order they ended.
    pub payloads: Contents,
    /// Content of the payload being received.
    current: Vec<u8>,
}

impl PayloadSink for MemorySink {
    fn begin(&mut self, _: &PayloadDescriptor) -> io::Result<()> {
        self.current.clear();
        Ok(())
    }

    fn data(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.current.extend_from_slice(chunk);
        Ok(())
    }

    fn end(&mut self, payload: &PayloadDescriptor) -> io::Result<()> {
        self.payloads
            .push((payload.name.to_string(), std::mem::take(&mut self.current)));
        Ok(())
    }
}
