//! The hpk fuzz targets' shared code: `targets` holds the body of every
//! target, `seeds` builds their starting corpora. See `README.md`.
#![forbid(unsafe_code)]

pub mod seeds;
pub mod targets;
