//! The front door: one [`Verifier`] per trust root, with the clock and
//! limits it judges by, from which packages, catalogs, rotations and
//! plans are checked.

use crate::catalog::{FetchError, open_for_entry, verify_catalog};
use crate::clock::Clock;
use crate::device::DeviceProfile;
use crate::document::{Signed, Verified};
use crate::error::{CatalogError, RootError, VerifyError};
use crate::package::Package;
use crate::resolve::{Plan, resolve};
use crate::trust::TrustedRoot;
use hpk_format::{Catalog, CatalogEntry, ContainerError, FileType, Limits};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Verifies everything signed under one trust root, at one clock, within
/// one set of limits.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hpk_verify::{Clock, Depth, DeviceProfile, Limits, TrustedRoot, Verifier};
/// let limits = Limits::default();
/// let root = TrustedRoot::load_from(std::fs::File::open("root.hpkroot")?, Clock::system(), &limits)?;
/// let verifier = Verifier::new(root).clock(Clock::system()).limits(limits);
/// let device = DeviceProfile::from_toml(&std::fs::read_to_string("device.toml")?)?;
/// let manifest = verifier
///     .open(std::path::Path::new("update.hpk"))?
///     .judge(&device)?
///     .verify(Depth::Full)?;
/// println!("{} {} is authentic and applies", manifest.name, manifest.version);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Verifier {
    root: TrustedRoot,
    clock: Clock,
    limits: Limits,
}

impl Verifier {
    /// A verifier for everything signed under `root`, judging time by the
    /// system clock ([`Clock::system`]) within the default [`Limits`].
    pub fn new(root: TrustedRoot) -> Verifier {
        Verifier {
            root,
            clock: Clock::system(),
            limits: Limits::default(),
        }
    }

    /// Judges time by `clock` instead: in a recovery environment, a lower
    /// bound ([`Clock::LowerBound`], e.g.
    /// [`DeviceProfile::default_clock`]).
    pub fn clock(mut self, clock: Clock) -> Verifier {
        self.clock = clock;
        self
    }

    /// Bounds every length by `limits` instead.
    pub fn limits(mut self, limits: Limits) -> Verifier {
        self.limits = limits;
        self
    }

    /// The trust root in force.
    pub fn root(&self) -> &TrustedRoot {
        &self.root
    }

    /// The clock time is judged by.
    pub fn time(&self) -> Clock {
        self.clock
    }

    /// Moves to newer trust roots, given in order, each exactly one
    /// version above the one before and signed by a threshold of its root
    /// keys (VR1–VR6); the last must not be expired (VR7). All or
    /// nothing: on error the verifier keeps its root.
    pub fn rotate<R: Read>(&mut self, chain: impl IntoIterator<Item = R>) -> Result<(), RootError> {
        self.root = self.root.clone().rotate(chain, self.clock, &self.limits)?;
        Ok(())
    }

    /// Reads a package's head from `input` and authenticates it (VP1–VP8):
    /// nothing after the head is read. Judge it next
    /// ([`Package::judge`]); a reader of unknown length skips the length
    /// check of header depth.
    pub fn package<R: Read>(&self, input: R) -> Result<Package<R>, VerifyError> {
        self.package_of_len(input, None)
    }

    /// [`Verifier::package`] on a file, whose length header depth checks
    /// (C16).
    pub fn open(&self, path: &Path) -> Result<Package<File>, VerifyError> {
        let io_error = |e: io::Error| VerifyError::Container(ContainerError::Io(e));
        let file = File::open(path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        self.package_of_len(file, Some(len))
    }

    /// [`Verifier::package`] on an input of known total length (such as
    /// a complete download), which header depth checks (C16).
    pub fn package_of_len<R: Read>(
        &self,
        mut input: R,
        len: Option<u64>,
    ) -> Result<Package<R>, VerifyError> {
        let signed = Signed::read_head(&mut input, FileType::Package, &self.limits)?;
        Package::open(signed, input, len, &self.root, self.clock, &self.limits)
    }

    /// Opens a package fetched for a catalog entry (VF1–VF4): no byte
    /// past the entry's size is read, the package must declare exactly
    /// that size and carry exactly the entry's manifest (compared before
    /// its signatures are checked), then its head is authenticated.
    pub fn fetched<R: Read>(
        &self,
        entry: &CatalogEntry,
        input: R,
    ) -> Result<Package<io::Take<R>>, FetchError> {
        open_for_entry(entry, input, &self.root, self.clock, &self.limits)
    }

    /// Verifies a catalog for `device` (VC1–VC7), against the catalog
    /// floor in force for this root ([`DeviceProfile::catalog_floor`]).
    /// Record it with [`DeviceProfile::record_catalog`] once accepted.
    pub fn catalog<R: Read>(
        &self,
        input: R,
        device: &DeviceProfile,
    ) -> Result<Verified<Catalog>, CatalogError> {
        self.catalog_above(input, device.catalog_floor(&self.root))
    }

    /// Verifies a catalog against an explicit floor: its version must be
    /// at least `last_seen` (0: no floor).
    pub fn catalog_above<R: Read>(
        &self,
        input: R,
        last_seen: u64,
    ) -> Result<Verified<Catalog>, CatalogError> {
        verify_catalog(input, &self.root, self.clock, last_seen, &self.limits)
    }

    /// The install plan for `device` from a verified catalog (R1–R10).
    pub fn plan(&self, catalog: &Verified<Catalog>, device: &DeviceProfile) -> Plan {
        resolve(catalog, device, self.clock)
    }
}
