//! `hpk`: the command-line front end over `hpk-sign` and `hpk-verify`.
//!
//! Results go to stdout (plain text, or JSON with `--json`); notes, progress
//! and errors go to stderr. Exit codes are listed in [`exit`].
#![forbid(unsafe_code)]

/// Writes a line to stdout; a closed stdout is not an error worth a panic.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::ui::write_out(format_args!($($arg)*)) };
}

/// Writes a line to stderr, ignoring a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::ui::write_err(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes to stderr, ignoring a closed stderr.
macro_rules! err {
    ($($arg:tt)*) => { $crate::ui::write_err(format_args!($($arg)*)) };
}

mod commands;
mod exit;
mod inputs;
mod json;
mod passphrase;
mod repository;
mod ui;

use clap::{Args, CommandFactory, Parser, Subcommand};
use exit::CliResult;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 invalid or tampered, 2 usage or bad input file,
3 valid but not applicable to this device, 4 I/O error, 130 interrupted.
Documentation: README.md, docs/, spec/SPEC.md.";

/// hpk: signed OS update packages (baselines, hotpatches, standard and
/// recovery updates): build, sign, verify, plan.
#[derive(Parser)]
#[command(name = "hpk", version, after_help = AFTER_HELP, max_term_width = 100)]
pub(crate) struct Cli {
    /// Print nothing but results and errors (no notes, no progress).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

fn time_arg(s: &str) -> Result<u64, String> {
    inputs::parse_time(s)
}

/// Options shared by the commands that judge time.
#[derive(Args)]
pub(crate) struct TimeArgs {
    /// Judge time at this instant (Unix seconds, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`)
    /// instead of the system clock; in the recovery profile, a lower bound.
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub(crate) now: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    // ---- authoring ----
    /// Generate an Ed25519 key pair (KEY and KEY.pub).
    #[command(
        after_help = "The secret key is encrypted: the passphrase is typed twice at the terminal,\nor comes from HPK_PASSPHRASE or --passphrase-file.\n\nExample:\n  hpk keygen --out release.key\n  HPK_PASSPHRASE=… hpk keygen --out root.key\n  hpk keygen --out test.key --unencrypted"
    )]
    Keygen {
        /// Secret key file to write; the public key goes to KEY.pub.
        #[arg(long, short, value_name = "KEY")]
        out: PathBuf,
        /// Write the secret key unencrypted (for tests and throwaway keys).
        #[arg(long, conflicts_with_all = ["encrypt", "passphrase_file"])]
        unencrypted: bool,
        /// Encrypt the secret key (the default).
        #[arg(long, hide = true)]
        encrypt: bool,
        /// Read the passphrase from this file (first line) instead of the terminal.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
        /// Print a JSON document on stdout (hpk-keygen/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Write the public key of a signer (a PKCS#11 key, a secret key file) as a
    /// public key file, and print its key id.
    #[command(
        after_help = "Example:\n  hpk pubkey --pkcs11 'pkcs11:token=release;object=release-2026' \\\n    --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file pin.txt --out release-2026.pub"
    )]
    Pubkey {
        #[command(flatten)]
        signer: commands::sign::SignerArgs,
        /// Public key file to write (SPKI PEM, as `hpk keygen` writes KEY.pub).
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Build a package from a description (TOML), unsigned or signed as it is written.
    #[command(
        after_help = "Example:\n  SOURCE_DATE_EPOCH=1767225600 hpk pack baseline.toml --out baseline.hpk\n  hpk pack baseline.toml --out baseline.hpk --key release.key --root root.hpkroot\n  hpk pack hotpatch.toml --out hotpatch-delta.hpk --delta-from baseline.hpk --key hotpatch.key\n\nWith a signer (--key, --pkcs11 or --signer-cmd), the package is signed as it is\nwritten: the same bytes as `hpk pack` then `hpk sign`, without rewriting the file.\nThe description format is in docs/package-description.md."
    )]
    Pack {
        /// The package description.
        description: PathBuf,
        /// Package file to write.
        #[arg(long, short, value_name = "PKG")]
        out: PathBuf,
        /// Compression threads (0: one per core). The output does not depend on it.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Overwrite an existing package.
        #[arg(long)]
        force: bool,
        /// Refuse target tokens that are not in the spec's well-known list
        /// (without it they are a warning, with a suggestion).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        signer: commands::sign::SignerArgs,
        /// With a signer: refuse a key that the trust root's role for this package kind does
        /// not hold (checked before anything is packed).
        #[arg(long, short)]
        root: Option<PathBuf>,
        /// Build a delta of this earlier package: each payload it also has is stored as a
        /// difference from it (or as unchanged), which devices rebuild from their own files.
        #[arg(long, value_name = "OLD.hpk")]
        delta_from: Option<PathBuf>,
    },
    /// Sign a package (or a trust root, or a catalog) with a local key, a PKCS#11
    /// token or a signer command.
    #[command(
        after_help = "Example:\n  hpk sign baseline.hpk --key release.key --root root.hpkroot\n  hpk sign baseline.hpk --pkcs11 'pkcs11:token=release;object=release-2026' \\\n    --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file pin.txt --root root.hpkroot\n  hpk sign baseline.hpk --signer-cmd ./sign-with-kms \\\n    --pubkey release.pub --root root.hpkroot"
    )]
    Sign {
        /// The package (or trust root, or catalog): a regular file, since it
        /// is read again and rewritten (not `-` or a pipe).
        package: PathBuf,
        #[command(flatten)]
        signer: commands::sign::SignerArgs,
        /// Refuse a key that the trust root's role for this package kind does not hold.
        #[arg(long, short)]
        root: Option<PathBuf>,
        /// Write the signed file here instead of in place.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Write the statement an external signer (HSM, KMS) must sign (47 or 50 bytes).
    #[command(
        after_help = "Example:\n  hpk tbs baseline.hpk --out baseline.msg\n  openssl pkeyutl -sign -rawin -inkey release.key -in baseline.msg -out baseline.sig\n  hpk attach baseline.hpk --pubkey release.key.pub --signature baseline.sig"
    )]
    Tbs {
        /// The package (or trust root, or catalog): a regular file (not `-`
        /// or a pipe).
        file: PathBuf,
        /// Message file to write.
        #[arg(long, short)]
        out: PathBuf,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Attach a raw 64-byte Ed25519 signature made elsewhere.
    #[command(
        after_help = "Example:\n  hpk attach baseline.hpk --pubkey release.key.pub --signature baseline.sig"
    )]
    Attach {
        /// The package (or trust root, or catalog): a regular file, since it
        /// is read again and rewritten (not `-` or a pipe).
        file: PathBuf,
        /// The signer's public key (SPKI PEM).
        #[arg(long)]
        pubkey: PathBuf,
        /// The raw 64-byte signature.
        #[arg(long)]
        signature: PathBuf,
        /// Write the result here instead of in place.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Create, edit, sign and check trust roots.
    #[command(subcommand)]
    Root(commands::root::RootCommand),
    /// Create, fill, sign and check catalogs.
    #[command(subcommand)]
    Catalog(commands::catalog::CatalogCommand),
    // ---- publishing ----
    /// Publish a repository: trust roots, packages and a catalog as static files for
    /// any HTTP server.
    #[command(subcommand)]
    Repo(commands::repo::RepoCommand),
    // ---- checking ----
    /// Verify a package's signatures, payloads and (with --device) applicability.
    #[command(
        after_help = "Example:\n  hpk verify baseline.hpk --root root.hpkroot --device device.toml\n  hpk verify baseline.hpk --root root.hpkroot --header-only --json\n  curl -s https://updates.example/kb1.hpk | hpk verify - --root root.hpkroot"
    )]
    Verify {
        /// The package (`-`: standard input).
        package: PathBuf,
        /// The trust root the device is configured with.
        #[arg(long, short)]
        root: PathBuf,
        /// Device profile (docs/device-profile.md) to check applicability against.
        #[arg(long, short)]
        device: Option<PathBuf>,
        /// Check signatures, manifest and policy only, not the payloads.
        #[arg(long, conflicts_with = "deep")]
        header_only: bool,
        /// Also decompress every chunk and check each payload's content
        /// SHA-256, as extraction does, without writing anything.
        #[arg(long)]
        deep: bool,
        /// With --deep: the device's files, by payload name, that a delta package's payloads
        /// are rebuilt from.
        #[arg(long, value_name = "DIR", requires = "deep")]
        base_dir: Option<PathBuf>,
        #[command(flatten)]
        time: TimeArgs,
        /// Print a JSON document on stdout (hpk-verify/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Verify a package and extract its payloads into a folder.
    #[command(
        after_help = "Example:\n  hpk extract baseline.hpk --root root.hpkroot --out ./files\n  hpk extract hotpatch-delta.hpk --root root.hpkroot --out ./staged --base-dir /opt/os"
    )]
    Extract {
        /// The package (`-`: standard input).
        package: PathBuf,
        /// The trust root.
        #[arg(long, short)]
        root: PathBuf,
        /// Folder to extract into (created if missing).
        #[arg(long, short)]
        out: PathBuf,
        /// Device profile to check applicability against.
        #[arg(long, short)]
        device: Option<PathBuf>,
        /// The device's files, by payload name, that a delta package's payloads are rebuilt
        /// from (for example the installed tree).
        #[arg(long, value_name = "DIR")]
        base_dir: Option<PathBuf>,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Show what a package, trust root or catalog holds (UNVERIFIED without --root).
    #[command(
        after_help = "Example:\n  hpk inspect baseline.hpk\n  hpk inspect baseline.hpk --root root.hpkroot --json\n  hpk inspect root-v2.hpkroot\n  hpk inspect catalog.hpkcat --json"
    )]
    Inspect {
        /// The package, trust root or catalog, signed or not (`-`: standard input).
        package: PathBuf,
        /// Verify the signatures with this trust root first (packages and catalogs).
        #[arg(long, short)]
        root: Option<PathBuf>,
        #[command(flatten)]
        time: TimeArgs,
        /// Print a JSON document on stdout (hpk-inspect/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Decide what a device should install from a catalog.
    #[command(
        after_help = "Example:\n  hpk plan --catalog catalog.hpkcat --root root.hpkroot --device device.toml --json"
    )]
    Plan {
        /// The catalog (`-`: standard input).
        #[arg(long, short)]
        catalog: PathBuf,
        /// The trust root.
        #[arg(long, short)]
        root: PathBuf,
        /// The device profile.
        #[arg(long, short)]
        device: PathBuf,
        #[command(flatten)]
        time: TimeArgs,
        /// Print a JSON document on stdout (hpk-plan/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Update from a repository over HTTP(S): trust roots, catalog, and every planned
    /// package, verified as it arrives; a rerun resumes.
    #[command(
        after_help = "Example:\n  hpk fetch https://updates.example/x64/ --root root.hpkroot --device device.toml --out downloads\n  hpk fetch https://cdn-a.example/x64/ https://cdn-b.example/x64/ \\\n    --root root.hpkroot --device device.toml --out downloads --json\n\nIn order: the trust-root chain (root/N.hpkroot, each verified as the next; the\nnewest replaces the --root file), the catalog (verified with the device's floor,\nthen recorded in the device profile), the plan, then each planned package as\nDIR/<manifest digest>.hpk: its head first, judged by the device policy, then its\nchunks by byte ranges, each checked against its signed SHA-256 before it is\nwritten. An interrupted fetch leaves DIR/.<digest>.hpk.part; a rerun keeps its\nverified bytes. Mirrors are tried in order; one that fails is named and skipped.\nProxies come from HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY."
    )]
    Fetch {
        /// Base URLs of the repository's mirrors (http://, https://, or file:// for a local
        /// folder), tried in order.
        #[arg(required = true, value_name = "URL")]
        mirrors: Vec<String>,
        /// The device's trust root: the walk starts from it, and it is replaced by the
        /// newest root accepted.
        #[arg(long, short)]
        root: PathBuf,
        /// The device profile: the accepted catalog is recorded in it.
        #[arg(long, short)]
        device: PathBuf,
        /// Folder for the packages (created if missing).
        #[arg(long, short, value_name = "DIR")]
        out: PathBuf,
        /// Drop a mirror that sends nothing for this many seconds.
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        timeout: u64,
        /// Drop a mirror whose body comes slower than this (bytes per second, measured
        /// over the --timeout span).
        #[arg(long, default_value_t = 1024, value_name = "BYTES")]
        min_rate: u64,
        /// The device's files by payload name (for example the installed baseline's
        /// tree): chunks of a payload whose file is there are rebuilt from it, and
        /// checked against their signed digests, instead of fetched.
        #[arg(long, value_name = "DIR")]
        seed: Option<PathBuf>,
        /// The zstd level the publisher packed at, to rebuild compressed chunks from
        /// --seed files.
        #[arg(long, default_value_t = hpk_format::DEFAULT_ZSTD_LEVEL, value_name = "LEVEL",
              value_parser = clap::value_parser!(i32).range(1..=19), requires = "seed")]
        seed_level: i32,
        /// Trust only these certificate authorities (a PEM file) for https mirrors,
        /// instead of the Mozilla roots: for a repository behind a private CA.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        #[command(flatten)]
        time: TimeArgs,
        /// Print a JSON document on stdout (hpk-fetch/1, see docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Record installed packages and accepted catalogs in a device profile.
    #[command(subcommand)]
    Device(commands::device::DeviceCommand),
    // ---- other ----
    /// Run the whole flow in a fresh folder: keys, root, packages, catalog, plans, a fetch.
    #[command(after_help = "Example:\n  hpk demo\n  hpk demo --dir ./hpk-demo")]
    Demo {
        /// Folder to work in (default: a new temporary folder, kept).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print shell completions.
    #[command(after_help = "Example:\n  hpk completions bash > /etc/bash_completion.d/hpk")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (hpk.1 and one per subcommand) into a folder.
    #[command(after_help = "Example:\n  hpk man --out ./man")]
    Man {
        /// Folder to write into.
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// Runs a parsed command line.
fn run(cli: Cli) -> CliResult {
    let ui = ui::Ui::new(cli.quiet);
    run_with(cli, ui)
}

/// Runs a parsed command line with this UI (the demo shares its own).
pub(crate) fn run_with(cli: Cli, ui: ui::Ui) -> CliResult {
    let ui = if cli.quiet { ui::Ui::new(true) } else { ui };
    if let Some((input, out, force)) = cli.command.output() {
        commands::sign::new_output(input, out, force)?;
    }
    match cli.command {
        Command::Keygen {
            out,
            unencrypted,
            encrypt: _,
            passphrase_file,
            force,
            json,
        } => commands::keygen::keygen(
            &out,
            unencrypted,
            passphrase_file.as_deref(),
            force,
            json,
            ui,
        ),
        Command::Pubkey { signer, out, force } => commands::sign::pubkey(&signer, &out, force, ui),
        Command::Pack {
            description,
            out,
            threads,
            force,
            strict,
            signer,
            root,
            delta_from,
        } => commands::pack::pack(
            &description,
            &out,
            commands::pack::PackOptions {
                threads,
                force,
                strict,
                signer: &signer,
                root: root.as_deref(),
                delta_from: delta_from.as_deref(),
            },
            ui,
        ),
        Command::Sign {
            package,
            signer,
            root,
            out,
            ..
        } => commands::sign::sign(&package, &signer, root.as_deref(), out.as_deref(), ui),
        Command::Tbs { file, out, .. } => commands::sign::tbs(&file, &out, None, ui),
        Command::Attach {
            file,
            pubkey,
            signature,
            out,
            ..
        } => commands::sign::attach(&file, &pubkey, &signature, out.as_deref(), None, ui),
        Command::Root(cmd) => commands::root::run(cmd, ui),
        Command::Catalog(cmd) => commands::catalog::run(cmd, ui),
        Command::Repo(cmd) => commands::repo::run(cmd, ui),
        Command::Verify {
            package,
            root,
            device,
            header_only,
            deep,
            base_dir,
            time,
            json,
        } => commands::check::verify(
            &commands::check::VerifyArgs {
                package,
                root,
                device,
                header_only,
                deep,
                base_dir,
                now: time.now,
                json,
            },
            ui,
        ),
        Command::Extract {
            package,
            root,
            out,
            device,
            base_dir,
            time,
        } => commands::check::extract(
            &commands::check::ExtractArgs {
                package,
                root,
                out,
                device,
                base_dir,
                now: time.now,
            },
            ui,
        ),
        Command::Inspect {
            package,
            root,
            time,
            json,
        } => commands::check::inspect(&commands::check::InspectArgs {
            package,
            root,
            now: time.now,
            json,
        }),
        Command::Plan {
            catalog,
            root,
            device,
            time,
            json,
        } => commands::plan::plan(&catalog, &root, &device, time.now, json),
        Command::Fetch {
            mirrors,
            root,
            device,
            out,
            timeout,
            min_rate,
            seed,
            seed_level,
            ca_file,
            time,
            json,
        } => commands::fetch::fetch(
            &commands::fetch::FetchArgs {
                mirrors,
                root,
                device,
                out,
                now: time.now,
                timeout,
                min_rate,
                seed,
                seed_level,
                ca_file,
                json,
            },
            &ui,
        ),
        Command::Device(cmd) => commands::device::run(cmd),
        Command::Demo { dir } => commands::demo::demo(dir.as_deref(), ui),
        Command::Completions { shell } => {
            let mut cmd = command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "hpk", &mut script);
            ui::write_out(format_args!(
                "{}",
                String::from_utf8_lossy(&script).trim_end()
            ));
            Ok(())
        }
        Command::Man { out } => commands::man::write_man_pages(Cli::command(), &out, ui),
    }
}

/// Which help group each subcommand is listed under.
const GROUPS: [(&str, &[&str]); 4] = [
    (
        "Authoring",
        &[
            "keygen", "pubkey", "pack", "sign", "tbs", "attach", "root", "catalog",
        ],
    ),
    ("Publishing", &["repo"]),
    (
        "Checking",
        &["verify", "extract", "inspect", "plan", "fetch", "device"],
    ),
    ("Other", &["demo", "completions", "man", "help"]),
];

/// The command definition, with subcommands grouped by audience in
/// `hpk --help` (clap lists them under one heading otherwise).
pub(crate) fn command() -> clap::Command {
    let cmd = Cli::command();
    let mut listing = String::new();
    for (heading, names) in GROUPS {
        listing.push_str(&format!("{heading}:\n"));
        for name in names {
            let about = cmd
                .find_subcommand(name)
                .and_then(|c| c.get_about())
                .map(|a| a.to_string())
                .unwrap_or_else(|| "Print help for a command".to_owned());
            listing.push_str(&format!("  {name:<12} {about}\n"));
        }
        listing.push('\n');
    }
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{listing}Options:\n{{options}}{{after-help}}"
    );
    cmd.help_template(template)
}

impl Command {
    /// Whether the command only reads and prints (no file written, no
    /// passphrase prompt): an interrupt can end it at any point.
    fn writes_nothing(&self) -> bool {
        matches!(
            self,
            Command::Verify { .. } | Command::Inspect { .. } | Command::Plan { .. }
        )
    }

    /// For the commands that add a signature or write a message: the input
    /// file, the `--out` file and `--force`.
    fn output(&self) -> Option<(&std::path::Path, Option<&std::path::Path>, bool)> {
        match self {
            Command::Sign {
                package,
                out,
                force,
                ..
            } => Some((package, out.as_deref(), *force)),
            Command::Tbs { file, out, force } => Some((file, Some(out), *force)),
            Command::Attach {
                file, out, force, ..
            } => Some((file, out.as_deref(), *force)),
            Command::Root(c) => c.output(),
            Command::Catalog(c) => c.output(),
            _ => None,
        }
    }
}

impl Cli {
    /// Whether the command was asked for JSON output.
    fn wants_json(&self) -> bool {
        match &self.command {
            Command::Keygen { json, .. }
            | Command::Verify { json, .. }
            | Command::Inspect { json, .. }
            | Command::Plan { json, .. }
            | Command::Fetch { json, .. } => *json,
            Command::Catalog(c) => c.wants_json(),
            Command::Root(c) => c.wants_json(),
            Command::Device(c) => c.wants_json(),
            Command::Repo(c) => c.wants_json(),
            _ => false,
        }
    }
}

/// The subcommand path named on the command line (`hpk catalog verify`),
/// for "see `… --help`" hints, and that subcommand's usage line.
fn invoked(cmd: &clap::Command, args: &[String]) -> (String, String) {
    let mut built = cmd.clone();
    built.build();
    let mut path = String::from("hpk");
    let mut current = &built;
    for arg in args {
        if !current.has_subcommands() {
            break;
        }
        if let Some(sub) = current.find_subcommand(arg) {
            path.push(' ');
            path.push_str(sub.get_name());
            current = sub;
        }
    }
    let usage = current.clone().render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim().to_owned();
    (path, usage)
}

/// A clap usage error in at most three lines: what is wrong, the usage,
/// and a hint (clap's tip if any, and where to read more).
fn compact_usage_error(rendered: &str, invoked: &str, default_usage: &str) -> String {
    let mut message = String::new();
    let mut usage = None;
    let mut tips = Vec::new();
    let mut items = Vec::new();
    for line in rendered.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("For more information") {
            continue;
        }
        if let Some(u) = trimmed.strip_prefix("Usage:") {
            if usage.is_none() {
                usage = Some(u.trim().to_owned());
            }
        } else if let Some(t) = trimmed.strip_prefix("tip:") {
            tips.push(t.trim().to_owned());
        } else if let Some(m) = trimmed.strip_prefix("error:") {
            message = m.trim().to_owned();
        } else if usage.is_none() && tips.is_empty() {
            items.push(trimmed.to_owned());
        }
    }
    if !items.is_empty() {
        let sep = if message.ends_with(':') { " " } else { "; " };
        message = format!("{message}{sep}{}", items.join(", "));
    }
    let usage = usage.unwrap_or_else(|| default_usage.to_owned());
    let mut out = format!("error: {message}\nusage: {usage}\n");
    tips.push(format!("see `{invoked} --help`"));
    out.push_str(&format!("hint: {}\n", tips.join("; ")));
    out
}

/// Prints a failure: the message on stderr, and with `--json` an
/// `hpk-error/1` document on stdout (unless the command printed its own).
fn report_failure(e: &exit::CliError, json: bool, command: &str) {
    if json && !e.reported {
        json::print(&json::error(e, command));
    }
    errln!("{e}");
}

fn main() -> ExitCode {
    let mut cmd = command();
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Parsed in place: a copy of the whole command tree costs more than
    // a short command's own work.
    let parsed = cmd
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            // Help and version go to stdout with success; a command named
            // without its arguments shows its help; real usage errors are
            // kept short and exit with the usage code.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = e.print();
            } else {
                let (path, usage) = invoked(&cmd, &args);
                err!(
                    "{}",
                    compact_usage_error(&e.render().to_string(), &path, &usage)
                );
            }
            return ExitCode::from(exit::Failure::Usage.code());
        }
    };
    let json = cli.wants_json();
    // A command that writes nothing has nothing to clean up: the signal's
    // default action ends it at once, without the handler's thread.
    if !cli.command.writes_nothing() {
        exit::exit_cleanly_on_interrupt();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let e = e.with_disk_full_hint();
            let (name, _) = invoked(&cmd, &args);
            report_failure(&e, json, name.strip_prefix("hpk ").unwrap_or(&name));
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_is_in_exactly_one_help_group() {
        let grouped: Vec<&str> = GROUPS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        for sub in Cli::command().get_subcommands() {
            let n = grouped.iter().filter(|g| **g == sub.get_name()).count();
            assert_eq!(n, 1, "{} is listed {n} times", sub.get_name());
        }
    }

    /// The `hpk …` lines of a help text's examples, continuation lines
    /// joined, each as the words clap would receive.
    fn example_lines(help: &str) -> Vec<Vec<String>> {
        let joined = help.replace("\\\n", " ");
        joined
            .lines()
            .map(str::trim)
            .filter_map(|line| {
                // Drop `VAR=value` prefixes, and shell redirections.
                let words: Vec<&str> = line
                    .split_whitespace()
                    .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                    .take_while(|w| !w.starts_with('>') && *w != "|")
                    .collect();
                (words.first() == Some(&"hpk"))
                    .then(|| words.iter().map(|w| (*w).to_owned()).collect())
            })
            .collect()
    }

    #[test]
    fn every_example_in_the_help_parses() {
        fn walk(cmd: &clap::Command, checked: &mut usize) {
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            for words in example_lines(&help) {
                if let Err(e) = command().try_get_matches_from(&words) {
                    assert!(
                        !e.use_stderr(),
                        "example `{}` of `{}` does not parse: {e}",
                        words.join(" "),
                        cmd.get_name()
                    );
                }
                *checked += 1;
            }
            for sub in cmd.get_subcommands() {
                walk(sub, checked);
            }
        }
        let mut checked = 0;
        walk(&command(), &mut checked);
        assert!(checked > 25, "only {checked} examples found");
    }

    #[test]
    fn usage_errors_are_cut_to_three_lines() {
        let rendered = "error: the following required arguments were not provided:\n  --root <ROOT>\n  <PACKAGE>\n\nUsage: hpk verify --root <ROOT> <PACKAGE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            compact_usage_error(rendered, "hpk verify", "unused"),
            "error: the following required arguments were not provided: --root <ROOT>, <PACKAGE>\nusage: hpk verify --root <ROOT> <PACKAGE>\nhint: see `hpk verify --help`\n"
        );
        let args: Vec<String> = ["-q", "catalog", "verify", "x"].map(String::from).to_vec();
        let (path, usage) = invoked(&command(), &args);
        assert_eq!(path, "hpk catalog verify");
        assert!(usage.starts_with("hpk catalog verify [OPTIONS]"), "{usage}");
    }

    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                let nested = sub.get_subcommands().count() > 0;
                assert!(
                    nested || help.contains("Example:\n"),
                    "`{name}` has no example"
                );
                walk(sub, &name);
            }
        }
        walk(&Cli::command(), "hpk");
    }
}
