//! `hpk-verify`: what update agents and recovery tools link.
//!
//! It checks trust roots and their rotation, signature thresholds (counting
//! distinct keys, in one place: [`SignerReport`]), and policy against a
//! [`DeviceProfile`] (targeting, applicability, rollback, expiry,
//! revocation, hotpatch lineage), streams verified payloads and extracts
//! them. It depends on `hpk-format` only.
//!
//! The order of work follows one rule: authenticate before parse. Only the
//! fixed header and signature records are parsed before signatures are
//! checked; the manifest is decoded only once a package-signing role's
//! threshold is met; chunk indexes are parsed only after their digests
//! match the manifest; chunks are decompressed only after their digests
//! match the index.
//!
//! ```no_run
//! use hpk_verify::{Clock, DeviceProfile, TrustedRoot, VerifiedPackage};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let limits = hpk_format::Limits::default();
//! let clock = Clock::system();
//! // Read through its bound: header, exactly what it declares, then the end.
//! let root = TrustedRoot::load_from(std::fs::File::open("root.hpkroot")?, clock, &limits)?;
//! let device = DeviceProfile::from_toml(&std::fs::read_to_string("device.toml")?)?;
//! let package = VerifiedPackage::open(std::fs::File::open("update.hpk")?, &root, &limits)?;
//! // The policy is judged before any payload byte is read.
//! package.head().check_policy(&device, clock)?;
//! let head = package.verify_payloads(&mut |_| {})?;
//! println!("{} {} is authentic and applies", head.manifest.name, head.manifest.version);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
// Input must never make this crate panic: no indexing that can go out of
// bounds, no arithmetic that can overflow (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod catalog;
mod device;
mod error;
mod extract;
mod package;
mod parallel;
mod policy;
mod resolve;
mod staging;
mod threshold;
mod trust;

pub use catalog::{
    CatalogError, FetchError, VerifiedCatalog, open_for_entry, verify_catalog, verify_catalog_from,
};
pub use device::{Clock, DeviceError, DeviceProfile, ProfileMode, parse_channel};
pub use error::{DocumentReason, ExtractError, RootError, ThresholdNotMet, VerifyError};
pub use extract::{Extracted, extract_to_dir};
pub use package::{MemorySink, PayloadSink, VerifiedHead, VerifiedPackage, verify_head};
pub use policy::{
    Candidate, KNOWN_EXTENSIONS, NotApplicable, Reason, check as check_policy, check_common,
    check_extensions, check_intrinsic, check_lineage, kind_allowed, role_for,
};
pub use resolve::{Plan, PlanStatus, SkipReason, Skipped, Step, Track, resolve};
pub use staging::{INTERRUPTED_MESSAGE, STAGING_PREFIX, StagingDir, remove_staging_dirs};
pub use threshold::{SignerReport, require_threshold};
pub use trust::TrustedRoot;
