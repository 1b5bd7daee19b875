//! `include/hpk.h` is what cbindgen makes of the crate today: a stale
//! header fails here. `HPK_BLESS=1 cargo test -p hpk-ffi --test header`
//! rewrites it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn the_committed_header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("ffi/cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen cannot read ffi/src: {e}"));
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("cbindgen writes UTF-8");

    let path = crate_dir.join("include/hpk.h");
    if std::env::var_os("HPK_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write ffi/include/hpk.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "ffi/include/hpk.h is stale: it differs from what cbindgen makes of ffi/src \
             from line {} on.\nRegenerate it with `HPK_BLESS=1 cargo test -p hpk-ffi --test header` \
             and commit it.",
            first + 1
        );
    }
}
