//! `hpk-verify`: what update agents and recovery tools link.
//!
//! One [`Verifier`] per trust root checks everything signed under it:
//! packages ([`Verifier::open`], [`Verifier::package`],
//! [`Verifier::fetched`]), catalogs ([`Verifier::catalog`]), root
//! rotations ([`Verifier::rotate`]) and install plans
//! ([`Verifier::plan`]). What passes is a [`Verified`] document.
//!
//! The order of work follows one rule: authenticate before parse. Only the
//! fixed header and signature records are parsed before signatures are
//! checked; a body is decoded only once a role's threshold is met; a
//! package is judged by the device policy before any payload byte is read
//! (by type: only a [`Judged`] package reads payloads); chunk indexes are
//! parsed only after their digests match the manifest; chunks are
//! decompressed only after their digests match the index.
//!
//! ```no_run
//! use hpk_verify::{Clock, Depth, DeviceProfile, Limits, TrustedRoot, Verifier};
//! use std::path::Path;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Clock::system();
//! let root = TrustedRoot::load_from(std::fs::File::open("root.hpkroot")?, clock, &Limits::default())?;
//! let mut device = DeviceProfile::from_toml(&std::fs::read_to_string("device.toml")?)?;
//! let verifier = Verifier::new(root).clock(clock);
//!
//! // Authentic, then judged for this device, then extracted (full depth).
//! let package = verifier.open(Path::new("update.hpk"))?.judge(&device)?;
//! let extracted = package.extract(Path::new("staged-update"))?;
//! println!("{} {}: {} files", extracted.manifest.name, extracted.manifest.version, extracted.files.len());
//!
//! // Once installed, the device state moves on, and is written back.
//! device.record_installed(&extracted.manifest);
//! std::fs::write("device.toml", device.to_toml()?)?;
//! # Ok(()) }
//! ```
//!
//! Everything public is listed, with why it is public, in
//! `docs/verify-api.md`.
#![forbid(unsafe_code)]
// Input must never make this crate panic: no indexing that can go out of
// bounds, no arithmetic that can overflow (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod atomic_file;
mod bases;
mod catalog;
mod cleanup_registry;
mod clock;
mod device;
mod direct_writer;
mod document;
mod error;
mod extract;
mod package;
mod parallel;
mod policy;
mod resolve;
mod sink;
mod staging;
mod state_file;
mod threshold;
mod trust;
mod verifier;
mod write_behind;

pub use atomic_file::{AtomicFile, TEMP_SUFFIX, remove_temp_files, sync_dir, write_atomically};
pub use bases::{BaseDir, BaseFiles};
pub use catalog::FetchError;
pub use clock::Clock;
pub use device::{DeviceError, DeviceProfile, ProfileMode};
pub use direct_writer::DirectWriter;
pub use document::Verified;
pub use error::{
    CatalogError, DocumentError, DocumentKind, DocumentReason, ExtractError, NotApplicable, Reason,
    Rollback, RootError, VerifyError, WrongVersion,
};
pub use extract::Extracted;
pub use package::{Depth, Judged, Package, PayloadRead, Payloads, Refused, Unjudged};
pub use resolve::{Plan, PlanStatus, SkipReason, Skipped, Step, Track};
pub use sink::PayloadSink;
pub use staging::{INTERRUPTED_MESSAGE, STAGING_PREFIX, StagingDir, remove_staging_dirs};
pub use threshold::{SignerReport, Subject, ThresholdNotMet};
pub use trust::TrustedRoot;
pub use verifier::Verifier;
pub use write_behind::{WRITE_BEHIND, WriteBehind};

/// The types of `hpk-format` that appear in this crate's API, so that an
/// agent needs no other dependency.
pub use hpk_format::{
    Catalog, CatalogEntry, Channel, ChunkEncoding, ChunkEntry, ContainerError, DecodeError, Digest,
    ErrorClass, Header, KeyId, Limits, Manifest, PackageKind, PayloadDescriptor, PayloadError,
    RoleName, Section, TrustRoot,
};
