//! A client of a repository served by one or more mirrors: the trust-root
//! walk, the catalog, and package downloads (SPEC.md, "Repositories" and
//! "Fetching").

use crate::download::{Downloaded, PackageDownload, Progress};
use crate::error::{FetchError, MirrorFailure, MirrorProblem};
use crate::mirror::Mirror;
use crate::transport::{Http, Options};
use hpk_verify::{
    Catalog, CatalogEntry, Clock, DeviceProfile, Limits, Plan, TrustedRoot, Verified, Verifier,
};
use std::path::{Path, PathBuf};

/// A repository, as served by mirrors tried in the order given.
pub struct Repository {
    http: Http,
    mirrors: Vec<Mirror>,
    /// The device's files to rebuild chunks from, and the zstd level.
    seeds: Option<(PathBuf, i32)>,
}

/// The outcome of walking the trust-root chain.
pub struct RootUpdate {
    /// The newest root accepted (the one given if there was none).
    pub root: TrustedRoot,
    /// Each root accepted, oldest first: its version and its file, to be
    /// kept by the device.
    pub accepted: Vec<(u64, Vec<u8>)>,
}

/// What [`Repository::download_plan`] reports as it goes.
pub enum PlanEvent<'a> {
    /// Bytes of a step's package verified so far (kept ones included).
    Progress {
        /// The step's catalog entry.
        entry: &'a CatalogEntry,
        /// Bytes done.
        done: u64,
        /// The package's size.
        total: u64,
    },
    /// A step's package is in place.
    Done {
        /// The step's catalog entry.
        entry: &'a CatalogEntry,
        /// Where it is and how it was fetched.
        downloaded: &'a Downloaded,
    },
}

/// A catalog that verified, and the mirror it came from.
pub struct FetchedCatalog {
    /// The catalog.
    pub catalog: Verified<Catalog>,
    /// The base URL of the mirror that served it.
    pub mirror: String,
    /// Mirrors that failed before it, and why.
    pub failures: Vec<MirrorFailure>,
}

impl Repository {
    /// A repository at these base URLs (at least one).
    pub fn new(mirrors: &[String], options: Options) -> Result<Repository, FetchError> {
        if mirrors.is_empty() {
            return Err(FetchError::Url("no repository URL given".into()));
        }
        let mirrors = mirrors
            .iter()
            .map(|m| Mirror::parse(m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Repository {
            http: Http::new(options)?,
            mirrors,
            seeds: None,
        })
    }

    /// Rebuilds chunks from the device's own files instead of fetching
    /// them where it can (SPEC.md HF9): `dir` holds them by payload name
    /// (for example the tree of the installed baseline); a zstd chunk is
    /// rebuilt by compressing at `level` as hpk's packer does
    /// ([`hpk_format::DEFAULT_ZSTD_LEVEL`] unless the publisher chose
    /// another). Every rebuilt chunk must match its signed digest, like a
    /// fetched one; a payload whose file does not match is fetched.
    pub fn with_seeds(mut self, dir: impl Into<PathBuf>, level: i32) -> Repository {
        self.seeds = Some((dir.into(), level));
        self
    }

    /// The mirrors' base URLs, in order.
    pub fn mirrors(&self) -> Vec<String> {
        self.mirrors.iter().map(|m| m.base().to_owned()).collect()
    }

    /// Walks the trust-root chain from `root`: version N+1, N+2, … each
    /// verified as the next, until no mirror has the next version (every
    /// mirror that answers says it does not exist, and none serves one
    /// that verifies). A version that every mirror fails to serve, or
    /// serves only in a form that does not verify, ends the walk with an
    /// error: the caller MUST NOT go on to the catalog. Then VR7: the
    /// newest root must not have expired at `clock`.
    pub fn update_root(
        &self,
        root: TrustedRoot,
        limits: &Limits,
        clock: Clock,
    ) -> Result<RootUpdate, FetchError> {
        let mut current = root;
        let mut accepted = Vec::new();
        let limit = limits.max_document_len();
        loop {
            let version = current.root().version.saturating_add(1);
            let mut absent = false;
            let mut failures = Vec::new();
            let mut refused = None;
            let mut next = None;
            for mirror in &self.mirrors {
                let url = mirror.root_url(version);
                match self.get_with_retries(&url, limit) {
                    Ok(None) => absent = true,
                    Ok(Some(bytes)) => match current.update(&bytes, limits) {
                        Ok(root) => {
                            next = Some((root, bytes));
                            break;
                        }
                        Err(error) => {
                            failures.push(MirrorFailure {
                                url: url.clone(),
                                problem: MirrorProblem::Invalid(error.to_string()),
                            });
                            refused = Some((url, error));
                        }
                    },
                    Err(problem) => failures.push(MirrorFailure { url, problem }),
                }
            }
            match next {
                Some((root, bytes)) => {
                    accepted.push((version, bytes));
                    current = root;
                }
                None if absent => break,
                None => {
                    return Err(match refused {
                        Some((url, error)) => FetchError::Root {
                            version,
                            url,
                            error,
                        },
                        None => FetchError::Mirrors {
                            what: format!("trust root version {version}"),
                            failures,
                        },
                    });
                }
            }
        }
        current
            .check_expiry(clock)
            .map_err(|error| FetchError::Root {
                version: current.root().version,
                url: String::new(),
                error,
            })?;
        Ok(RootUpdate {
            root: current,
            accepted,
        })
    }

    /// The catalog from the first mirror whose catalog verifies for
    /// `device` (VC1–VC7 and its catalog floor), read within the bound of
    /// any signed document.
    pub fn catalog(
        &self,
        verifier: &Verifier,
        device: &DeviceProfile,
        limits: &Limits,
    ) -> Result<FetchedCatalog, FetchError> {
        let limit = limits.max_document_len();
        let mut failures = Vec::new();
        let mut last_error = None;
        for mirror in &self.mirrors {
            let url = mirror.catalog_url();
            match self.get_with_retries(&url, limit) {
                Ok(Some(bytes)) => match verifier.catalog(bytes.as_slice(), device) {
                    Ok(catalog) => {
                        return Ok(FetchedCatalog {
                            catalog,
                            mirror: mirror.base().to_owned(),
                            failures,
                        });
                    }
                    Err(error) => {
                        failures.push(MirrorFailure {
                            url,
                            problem: MirrorProblem::Invalid(error.to_string()),
                        });
                        last_error = Some(error);
                    }
                },
                Ok(None) => failures.push(MirrorFailure {
                    url,
                    problem: MirrorProblem::Status(404),
                }),
                Err(problem) => failures.push(MirrorFailure { url, problem }),
            }
        }
        Err(match last_error {
            Some(error) => FetchError::Catalog { error, failures },
            None => FetchError::Mirrors {
                what: "catalog".into(),
                failures,
            },
        })
    }

    /// Downloads the package of `entry` into `dir` (which must exist) as
    /// `<manifest digest>.hpk`, verified to stored depth and judged for
    /// `device`, resuming from what an interrupted run left there.
    /// `progress` gets the bytes verified so far and the total.
    pub fn download(
        &self,
        verifier: &Verifier,
        device: &DeviceProfile,
        entry: &CatalogEntry,
        dir: &Path,
        progress: &mut Progress<'_>,
    ) -> Result<Downloaded, FetchError> {
        let urls = self
            .mirrors
            .iter()
            .map(|m| Ok((m.base().to_owned(), m.package_url(&entry.location)?)))
            .collect::<Result<Vec<_>, FetchError>>()?;
        PackageDownload {
            http: &self.http,
            verifier,
            device,
            entry,
            urls,
            seeds: self
                .seeds
                .as_ref()
                .map(|(dir, level)| (dir.as_path(), *level)),
        }
        .run(dir, progress)
    }

    /// Downloads every step of `plan` into `dir`, in order, each package
    /// judged for the device as it will be once the steps before it are
    /// installed (a hotpatch planned on a baseline planned before it is
    /// judged with that baseline installed), as the resolver planned
    /// them. `events` hears of each step's progress and end.
    pub fn download_plan(
        &self,
        verifier: &Verifier,
        device: &DeviceProfile,
        plan: &Plan,
        dir: &Path,
        events: &mut dyn FnMut(PlanEvent<'_>),
    ) -> Result<Vec<Downloaded>, FetchError> {
        let mut view = device.clone();
        let mut fetched = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            let entry = &step.entry;
            let got = self.download(verifier, &view, entry, dir, &mut |done, total| {
                events(PlanEvent::Progress { entry, done, total })
            })?;
            events(PlanEvent::Done {
                entry,
                downloaded: &got,
            });
            // A delta package installs the files of its full form, which
            // is what the device then records.
            let identity = entry
                .delta
                .as_ref()
                .map_or(entry.manifest_digest, |d| d.full);
            view.record_installed_as(&got.manifest, identity);
            fetched.push(got);
        }
        Ok(fetched)
    }

    /// A small file, asked again after a transient failure.
    fn get_with_retries(&self, url: &str, limit: u64) -> Result<Option<Vec<u8>>, MirrorProblem> {
        let mut attempt = 1u32;
        loop {
            match self.http.get_small(url, limit) {
                Err(problem) if problem.transient() && attempt < self.http.options.attempts => {
                    self.http.options.pause_after(attempt);
                    attempt = attempt.saturating_add(1);
                }
                other => return other,
            }
        }
    }
}
