//! `hpk demo`: the whole flow in a fresh folder, every step printed as the
//! command that performs it and run through the same code as that command,
//! so a newcomer can repeat each step by hand.

use crate::commands::repo::manifest_digest;
use crate::commands::root::authoring_time;
use crate::exit::{CliError, CliResult};
use crate::inputs::format_time;
use crate::repository::package_location;
use crate::ui::Ui;
use hpk_format::Digest;
use std::path::{Path, PathBuf};

/// Deterministic sample content that compresses like real binaries do:
/// runs of structure mixed with noise. Each 64 bytes are 40 of an
/// executable's header followed by 24 of noise: the SHA-256 of `seed` and
/// the block's number (SHA-256 in counter mode).
fn sample_bytes(len: usize, seed: u8) -> Vec<u8> {
    const STRUCTURE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
    let mut out = Vec::with_capacity(len + 64);
    let mut block = 0u64;
    while out.len() < len {
        out.extend(STRUCTURE.iter().cycle().take(40));
        let noise = Digest::of(&[&[seed][..], &block.to_le_bytes()].concat());
        out.extend_from_slice(&noise.0[..24]);
        block += 1;
    }
    out.truncate(len);
    out
}

fn write(path: &Path, bytes: &[u8]) -> CliResult {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CliError::io(parent, &e))?;
    }
    hpk_sign::write_atomically(path, bytes).map_err(|e| CliError::io(path, &e))
}

const BASELINE: &str = r#"# A quarterly baseline for x64 devices eligible for hotpatching.
name = "demo-2026-q1-baseline-x64"
kind = "baseline"
version = "10.0.26100.3000"
security_version = 30

[targets]
os = "windows"
architectures = ["x64"]
editions = ["education", "enterprise", "windows365-enterprise"]
channel = "general"
capabilities = ["vbs"]

[baseline]
security_floor = 30

[[payloads]]
name = "System32/ntoskrnl.exe"
file = "payload/ntoskrnl.exe"

[[payloads]]
name = "System32/hal.dll"
file = "payload/hal.dll"
"#;

const BASELINE_ARM64: &str = r#"# The same baseline for arm64: hotpatching on arm64 is preview only.
name = "demo-2026-q1-baseline-arm64"
kind = "baseline"
version = "10.0.26100.3000"
security_version = 30

[targets]
os = "windows"
architectures = ["arm64"]
editions = ["education", "enterprise", "windows365-enterprise"]
channel = "preview"
capabilities = ["vbs"]

[baseline]
security_floor = 30

[[payloads]]
name = "System32/ntoskrnl.exe"
file = "payload/ntoskrnl.exe"
"#;

const HOTPATCH: &str = r#"# A hotpatch on the x64 baseline: applied in memory, no restart.
name = "demo-2026-02-hotpatch-x64"
kind = "hotpatch"
version = "10.0.26100.3100"
security_version = 31

[targets]
os = "windows"
architectures = ["x64"]
editions = ["education", "enterprise", "windows365-enterprise"]
channel = "general"
capabilities = ["vbs"]

[hotpatch]
baseline = "baseline-x64.hpk"
sequence = 1

[[hotpatch.modules]]
path = "System32/ntoskrnl.exe"
digest_before = "NTOSKRNL_DIGEST"

[[payloads]]
name = "hotpatch/ntoskrnl.hp"
file = "payload/ntoskrnl.hp"
"#;

const STANDARD: &str = r#"# The monthly cumulative update for every other device: needs a restart.
name = "demo-2026-02-standard"
kind = "standard"
version = "10.0.26100.3100"
security_version = 31

[targets]
os = "windows"
architectures = ["arm64", "x64"]
channel = "general"

[[payloads]]
name = "System32/ntoskrnl.exe"
file = "payload/ntoskrnl.exe"

[[payloads]]
name = "System32/hal.dll"
file = "payload/hal.dll"
"#;

const DEVICES: [(&str, &str); 3] = [
    (
        "devices/x64-enterprise.toml",
        "# An x64 Enterprise device with virtualization-based security.\nos = \"windows\"\narchitecture = \"x64\"\nedition = \"enterprise\"\ncapabilities = [\"vbs\"]\n",
    ),
    (
        "devices/arm64-enterprise-preview.toml",
        "# An arm64 Enterprise device that opted into the preview channel.\nos = \"windows\"\narchitecture = \"arm64\"\nedition = \"enterprise\"\nchannels = [\"general\", \"preview\"]\ncapabilities = [\"vbs\"]\n",
    ),
    (
        "devices/x64-home.toml",
        "# An x64 Home device: not eligible for hotpatches.\nos = \"windows\"\narchitecture = \"x64\"\nedition = \"home\"\n",
    ),
];

/// Prints a command and runs it through the same dispatcher as the CLI.
fn step(args: &[&str], ui: Ui) -> CliResult {
    outln!("\n$ hpk {}", args.join(" "));
    let argv = std::iter::once("hpk").chain(args.iter().copied());
    let cli = crate::command()
        .try_get_matches_from(argv)
        .and_then(|m| <crate::Cli as clap::FromArgMatches>::from_arg_matches(&m))
        .map_err(|e| CliError::usage(format!("demo step is invalid: {e}")))?;
    crate::run_with(cli, ui)
}

fn say(text: &str) {
    outln!("\n# {text}");
}

/// Runs the demo in `dir` (default: a new temporary folder, kept).
pub fn demo(dir: Option<&Path>, ui: Ui) -> CliResult {
    let dir: PathBuf = match dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| CliError::io(d, &e))?;
            d.to_path_buf()
        }
        None => tempfile::Builder::new()
            .prefix("hpk-demo-")
            .tempdir()
            .map_err(|e| CliError::io(Path::new("temporary folder"), &e))?
            .keep(),
    };
    std::env::set_current_dir(&dir).map_err(|e| CliError::io(&dir, &e))?;
    outln!("# hpk demo in {}", dir.display());
    outln!("# Every step below is a command you can run yourself in that folder.");

    say("1. Keys: one per role, unencrypted for the demo (hpk keygen encrypts by default).");
    for role in ["root", "release", "hotpatch", "recovery", "catalog"] {
        let out = format!("keys/{role}.key");
        std::fs::create_dir_all("keys").map_err(|e| CliError::io(Path::new("keys"), &e))?;
        step(&["keygen", "--out", &out, "--unencrypted", "--force"], ui)?;
    }

    say("2. A trust root naming them, signed by the root key.");
    step(
        &[
            "root",
            "init",
            "--out",
            "root.hpkroot",
            "--force",
            "--root-key",
            "keys/root.key.pub",
            "--release-key",
            "keys/release.key.pub",
            "--hotpatch-key",
            "keys/hotpatch.key.pub",
            "--recovery-key",
            "keys/recovery.key.pub",
            "--catalog-key",
            "keys/catalog.key.pub",
        ],
        ui,
    )?;
    step(
        &["root", "sign", "root.hpkroot", "--key", "keys/root.key"],
        ui,
    )?;
    step(&["root", "verify", "root.hpkroot"], ui)?;

    say("3. Sample payloads and package descriptions (see docs/package-description.md).");
    let kernel = sample_bytes(3 << 20, 1);
    write(Path::new("payload/ntoskrnl.exe"), &kernel)?;
    write(Path::new("payload/hal.dll"), &sample_bytes(512 << 10, 2))?;
    write(Path::new("payload/ntoskrnl.hp"), &sample_bytes(96 << 10, 3))?;
    let kernel_digest = Digest::of(&kernel).to_hex();
    // Each description names its creation time (the demo's start), so
    // that packing again, by hand, makes the same packages: the same
    // manifest digests, and so the same repository locations (step 9).
    let created = authoring_time()?;
    let dated = |text: &str| {
        text.replacen(
            "\nkind = ",
            &format!("\ncreated = {}\nkind = ", format_time(created)),
            1,
        )
    };
    write(Path::new("baseline-x64.toml"), dated(BASELINE).as_bytes())?;
    write(
        Path::new("baseline-arm64.toml"),
        dated(BASELINE_ARM64).as_bytes(),
    )?;
    write(
        Path::new("hotpatch-x64.toml"),
        dated(HOTPATCH)
            .replace("NTOSKRNL_DIGEST", &kernel_digest)
            .as_bytes(),
    )?;
    write(Path::new("standard.toml"), dated(STANDARD).as_bytes())?;
    for (path, text) in DEVICES {
        write(Path::new(path), text.as_bytes())?;
    }
    outln!(
        "wrote payload/, baseline-x64.toml, baseline-arm64.toml, hotpatch-x64.toml, standard.toml, devices/"
    );

    say("4. Build and sign the packages, each with its role's key.");
    for (desc, pkg, key) in [
        ("baseline-x64.toml", "baseline-x64.hpk", "keys/release.key"),
        (
            "baseline-arm64.toml",
            "baseline-arm64.hpk",
            "keys/release.key",
        ),
        ("hotpatch-x64.toml", "hotpatch-x64.hpk", "keys/hotpatch.key"),
        ("standard.toml", "standard.hpk", "keys/release.key"),
    ] {
        step(&["pack", desc, "--out", pkg, "--force"], ui)?;
        step(&["sign", pkg, "--key", key, "--root", "root.hpkroot"], ui)?;
    }

    say("5. Verify on a device: signatures, every payload byte, and applicability.");
    step(
        &[
            "verify",
            "baseline-x64.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
        ],
        ui,
    )?;
    step(
        &["inspect", "hotpatch-x64.hpk", "--root", "root.hpkroot"],
        ui,
    )?;
    outln!(
        "\n# The hotpatch is authentic but not for this device yet (its baseline is not installed):"
    );
    match step(
        &[
            "verify",
            "hotpatch-x64.hpk",
            "--root",
            "root.hpkroot",
            "--device",
            "devices/x64-enterprise.toml",
            "--header-only",
        ],
        ui,
    ) {
        Err(e) if e.failure == crate::exit::Failure::NotApplicable => {
            outln!("{e}\n(exit code 3)")
        }
        Err(e) => return Err(e),
        Ok(()) => outln!("(unexpectedly applicable)"),
    }

    say("6. Extract a verified package.");
    step(
        &[
            "extract",
            "baseline-x64.hpk",
            "--root",
            "root.hpkroot",
            "--out",
            "extracted",
        ],
        ui,
    )?;

    say("7. A catalog of everything on offer, signed by the catalog key.");
    step(
        &[
            "catalog",
            "new",
            "--out",
            "catalog.hpkcat",
            "--version",
            "1",
            "--force",
        ],
        ui,
    )?;
    step(
        &[
            "catalog",
            "add",
            "catalog.hpkcat",
            "baseline-x64.hpk",
            "baseline-arm64.hpk",
            "hotpatch-x64.hpk",
            "standard.hpk",
        ],
        ui,
    )?;
    step(
        &[
            "catalog",
            "sign",
            "catalog.hpkcat",
            "--key",
            "keys/catalog.key",
            "--root",
            "root.hpkroot",
        ],
        ui,
    )?;
    step(
        &[
            "catalog",
            "verify",
            "catalog.hpkcat",
            "--root",
            "root.hpkroot",
        ],
        ui,
    )?;

    say("8. What each device should install.");
    for (device, _) in DEVICES {
        step(
            &[
                "plan",
                "--catalog",
                "catalog.hpkcat",
                "--root",
                "root.hpkroot",
                "--device",
                device,
            ],
            ui,
        )?;
    }

    say(
        "9. A repository: static files any web server or CDN can serve (every trust root, \
         packages named by manifest digest, the catalog). An update agent fetches from it: \
         here from the folder itself, a file:// mirror, as a recovery environment reads a \
         USB stick; over HTTP(S) the same command takes the server's URL. (`hpk repo init` \
         starts a repository in a new folder: to run these steps again, remove repo/ first.)",
    );
    step(&["repo", "init", "repo", "--root", "root.hpkroot"], ui)?;
    let published = ["baseline-x64.hpk", "hotpatch-x64.hpk"];
    let mut add = vec!["repo", "add", "repo"];
    add.extend(published);
    step(&add, ui)?;
    // The demo's start as the creation time (not "now" again) makes the
    // catalog the same file when the steps are run again, which `repo
    // publish` accepts as no change.
    let created = created.to_string();
    step(
        &[
            "catalog",
            "new",
            "--out",
            "published.hpkcat",
            "--version",
            "1",
            "--created",
            &created,
            "--force",
        ],
        ui,
    )?;
    for package in published {
        let location = package_location(&manifest_digest(
            Path::new(package),
            &hpk_format::Limits::default(),
        )?);
        step(
            &[
                "catalog",
                "add",
                "published.hpkcat",
                package,
                "--location",
                &location,
            ],
            ui,
        )?;
    }
    step(
        &[
            "catalog",
            "sign",
            "published.hpkcat",
            "--key",
            "keys/catalog.key",
            "--root",
            "root.hpkroot",
        ],
        ui,
    )?;
    step(&["repo", "publish", "repo", "published.hpkcat"], ui)?;
    let (device, profile) = DEVICES[0];
    write(Path::new("agent/device.toml"), profile.as_bytes())?;
    outln!(
        "\n# wrote agent/device.toml: the profile of an x64 Enterprise device's agent (a copy \
         of {device}); the agent trusts root.hpkroot"
    );
    let here = std::env::current_dir().map_err(|e| CliError::io(&dir, &e))?;
    let mirror = url::Url::from_directory_path(here.join("repo"))
        .map_err(|()| CliError::usage(format!("{}: not an absolute folder", here.display())))?;
    step(
        &[
            "fetch",
            mirror.as_str(),
            "--root",
            "root.hpkroot",
            "--device",
            "agent/device.toml",
            "--out",
            "agent/downloads",
        ],
        ui,
    )?;

    outln!("\n# Done. Everything is in {}", dir.display());
    Ok(())
}
