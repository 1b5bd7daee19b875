//! `hpk-tests`: workspace-level tests (conformance vectors, end-to-end
//! command line, attacks and properties) and the helpers they share.
#![forbid(unsafe_code)]
