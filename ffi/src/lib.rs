//! `hpk-ffi`: the C ABI of [`hpk_verify`], for update agents and recovery
//! tools written in C or C++.
//!
//! The library is built as `libhpk.so` (cdylib) and `libhpk.a`
//! (staticlib); its header, `include/hpk.h`, is generated from this crate
//! by cbindgen and committed (`tests/header.rs` fails when it is stale).
//! `docs/c-api.md` explains how to build and link, the ownership and
//! threading rules, and lists every function.
//!
//! The C API is one-to-one with the Rust front door: a trust root
//! (`hpk_root`), a verifier (`hpk_verifier`, [`hpk_verify::Verifier`]),
//! a package authenticated and judged for a device (`hpk_package`), a
//! verified catalog (`hpk_catalog`), an install plan (`hpk_plan`) and the
//! device state (`hpk_device`, [`hpk_verify::DeviceProfile`]).
//!
//! Rules every function follows:
//!
//! - it returns an `hpk_status` (accessors, which cannot fail, return their
//!   value, and NULL or 0 for a NULL handle);
//! - its last parameter, `hpk_error **err`, may be NULL; when it is not,
//!   `*err` is set to NULL on success and to a new error on failure, to be
//!   freed with `hpk_error_free`;
//! - every pointer is checked for NULL (`HPK_INVALID_ARGUMENT`), every
//!   string must be NUL-terminated UTF-8;
//! - no panic crosses the boundary: a panic is caught and reported as
//!   `HPK_INTERNAL`.
//!
//! Handles are passed as `Option<&T>` / `Option<&mut T>` / `Option<Box<T>>`
//! (a nullable pointer in C), so only C strings need `unsafe` here.
// The exported names are the C names (`hpk_root`, `HPK_OK`), so that the
// header cbindgen writes is the C API as documented.
#![allow(non_camel_case_types)]

// cbindgen lists items in the order it reads the modules: errors, trust
// roots and verifiers, devices, packages, catalogs and plans. (One group
// each, so that rustfmt leaves the order alone.)
mod error;

mod root;

mod device;

mod package;

mod catalog;

mod args;

pub use args::{
    HPK_CLOCK_LOWER_BOUND, HPK_CLOCK_SYSTEM, HPK_CLOCK_TRUSTED, HPK_DEPTH_FULL, HPK_DEPTH_HEADER,
    HPK_DEPTH_STORED, hpk_clock, hpk_clock_kind, hpk_depth,
};
pub use catalog::{
    hpk_catalog, hpk_catalog_entry_count, hpk_catalog_free, hpk_catalog_version,
    hpk_device_record_catalog, hpk_plan, hpk_plan_free, hpk_plan_get_step, hpk_plan_status,
    hpk_plan_step, hpk_plan_step_count, hpk_plan_track, hpk_verifier_catalog, hpk_verifier_plan,
};
pub use device::{
    hpk_device, hpk_device_default_clock, hpk_device_free, hpk_device_load, hpk_device_save,
    hpk_device_to_toml,
};
pub use error::{
    hpk_error, hpk_error_free, hpk_error_message, hpk_error_reason, hpk_error_status, hpk_status,
    hpk_status_name, hpk_string_free, hpk_version,
};
pub use package::{
    hpk_device_record_installed, hpk_package, hpk_package_digest, hpk_package_extract,
    hpk_package_free, hpk_package_kind, hpk_package_name, hpk_package_needs_bases,
    hpk_package_payload_count, hpk_package_security_version, hpk_package_set_base_dir,
    hpk_package_verify, hpk_package_version, hpk_verifier_open, hpk_verifier_open_step,
};
pub use root::{
    hpk_root, hpk_root_free, hpk_root_load, hpk_root_version, hpk_verifier, hpk_verifier_free,
    hpk_verifier_new, hpk_verifier_root_version, hpk_verifier_rotate,
};

/// Every handle can be moved to another thread, and every handle can be
/// read (through a `const` pointer) from several threads at once.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<hpk_root>();
    send_and_sync::<hpk_verifier>();
    send_and_sync::<hpk_package>();
    send_and_sync::<hpk_catalog>();
    send_and_sync::<hpk_plan>();
    send_and_sync::<hpk_device>();
    send_and_sync::<hpk_error>();
};

/// The Rust example of the README ("Embedding in an agent") is compiled
/// as a doctest of this crate (the C one by `tests/c_abi.rs`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
