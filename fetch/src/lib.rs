//! `hpk-fetch`: what an update agent uses to fetch from a repository
//! over HTTP(S), or from a local folder (`file://`, e.g. a USB stick in
//! a recovery environment) under the same rules (SPEC.md, "Repositories"
//! and "Fetching").
//!
//! Mirrors are not trusted. The trust-root chain is walked one version at
//! a time, each verified as the next; the catalog is read within the
//! bound of any signed document and verified with the device's floor; a
//! package's head is fetched first (one or a few byte ranges) and judged
//! by the policy before a payload byte is asked for; then the payload
//! area comes by ranges, each chunk checked against its signed SHA-256
//! before a byte of it is written. An interrupted download resumes from
//! the verified bytes it left. A mirror that fails (no answer, a wrong
//! status, the whole file for a range, wrong or too many bytes, too slow)
//! is dropped for the next one, and the error names it. Chunks the
//! device can rebuild from its own files ([`Repository::with_seeds`]) are
//! not fetched at all, and only kept if they match their digests too.
//!
//! ```no_run
//! use hpk_fetch::{Options, Repository};
//! use hpk_verify::{Clock, DeviceProfile, Limits, TrustedRoot, Verifier};
//!
//! fn update(root: TrustedRoot, device: &DeviceProfile) -> Result<(), Box<dyn std::error::Error>> {
//!     let limits = Limits::default();
//!     let clock = device.default_clock();
//!     let repo = Repository::new(&["https://updates.example/x64/".into()], Options::default())?;
//!     let roots = repo.update_root(root, &limits, clock)?;
//!     let verifier = Verifier::new(roots.root).clock(clock);
//!     let catalog = repo.catalog(&verifier, device, &limits)?;
//!     let plan = verifier.plan(&catalog.catalog, device);
//!     // Each package judged for the device as the steps before it leave it.
//!     let fetched = repo.download_plan(&verifier, device, &plan, "downloads".as_ref(), &mut |_| {})?;
//!     for got in &fetched {
//!         println!("{}", got.path.display());
//!     }
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
// What mirrors send must never make this crate panic: no indexing that
// can go out of bounds, no arithmetic that can overflow (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod download;
mod error;
mod local;
mod mirror;
mod pipeline;
mod repository;
mod seed;
mod transport;

pub use download::{Downloaded, Progress};
pub use error::{FetchError, MirrorFailure, MirrorProblem};
pub use repository::{FetchedCatalog, PlanEvent, Repository, RootUpdate};
pub use transport::Options;
