//! `hpk-verify`: what update agents and recovery tools link.
//!
//! It checks trust roots, signature thresholds and policy (targeting,
//! applicability, rollback, expiry, revocation), streams verified payloads
//! and resolves catalogs into update plans. It depends on `hpk-format` only.
#![forbid(unsafe_code)]
