//! `hpk fetch` end to end, against a real HTTP server: nginx serves a
//! repository made with `hpk repo`, and a fault-injecting proxy in front
//! of it plays the mirror that drops, lies, stalls or never ends.
//!
//! What must hold: the head is asked for first, by a byte range; only
//! verified bytes are ever written; a rerun after a kill keeps them and
//! fetches only the rest; a bad mirror is named and the next one used;
//! the trust-root chain is walked and kept; the catalog is recorded.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, Run, copy_world, hpk_bin, hpk_in, manifest_digest};
use hpk_tests::fault_proxy::{Fault, FaultProxy};
use hpk_tests::nginx::Nginx;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The package's payload: 3 MB that do not compress, in 4 KiB chunks (so that
/// the first range for the head also brings whole chunks).
const PAYLOAD_LEN: usize = 3_000_000;

const BIG_TOML: &str = r#"name = "fetch-baseline"
kind = "baseline"
version = "10.0.2.0"
security_version = 40
created = 2026-01-01T00:00:00Z

[targets]
os = "windows"
architectures = ["x64"]
editions = ["enterprise"]
capabilities = ["vbs"]

[baseline]
security_floor = 40

[[payloads]]
name = "System32/big.bin"
file = "payload/big.bin"
compression = "none"
chunk_size = 4096
"#;

/// What every fetch of the device gives: its trust root and profile, the
/// downloads folder, the time.
const DEVICE_ARGS: [&str; 8] = [
    "--root",
    "device-root.hpkroot",
    "--device",
    "device.toml",
    "--out",
    "dl",
    "--now",
    NOW,
];

/// A repository with one large baseline, served by nginx, and a device
/// (its own copies of the trust root and profile) that wants it.
struct Site {
    dir: PathBuf,
    nginx: Nginx,
    /// `packages/<digest>.hpk`.
    location: String,
    /// The package's size.
    size: u64,
}

impl Site {
    fn new(name: &str) -> Site {
        Site::with(
            name,
            BIG_TOML,
            &[("payload/big.bin", hpk_tests::noise(PAYLOAD_LEN, 9))],
        )
    }

    /// A site whose package is described by `toml`, with these payload
    /// files.
    fn with(name: &str, toml: &str, files: &[(&str, Vec<u8>)]) -> Site {
        let dir = copy_world(name);
        let d = dir.as_path();
        for (path, bytes) in files {
            fs::write(d.join(path), bytes).unwrap();
        }
        fs::write(d.join("big.toml"), toml).unwrap();
        hpk_in(
            d,
            &[
                "pack",
                "big.toml",
                "--out",
                "big.hpk",
                "--key",
                "keys/release.key",
                "--root",
                "root.hpkroot",
            ],
        )
        .ok();
        hpk_in(
            d,
            &[
                "repo",
                "init",
                "repo",
                "--root",
                "root.hpkroot",
                "--now",
                NOW,
            ],
        )
        .ok();
        hpk_in(d, &["repo", "add", "repo", "big.hpk", "--now", NOW]).ok();
        let location = format!("packages/{}.hpk", manifest_digest(d, "big.hpk"));
        publish(d, 5, &location);
        fs::copy(d.join("root.hpkroot"), d.join("device-root.hpkroot")).unwrap();
        fs::copy(d.join("devices/x64-enterprise.toml"), d.join("device.toml")).unwrap();
        let size = fs::metadata(d.join("big.hpk")).unwrap().len();
        let nginx = Nginx::serve(&d.join("repo"));
        Site {
            dir,
            nginx,
            location,
            size,
        }
    }

    fn d(&self) -> &Path {
        &self.dir
    }

    /// `hpk fetch MIRRORS… --json` for the device, into `dl`.
    fn fetch(&self, mirrors: &[String], extra: &[&str]) -> Run {
        let mut args = vec!["fetch"];
        args.extend(mirrors.iter().map(String::as_str));
        args.extend(DEVICE_ARGS);
        args.push("--json");
        args.extend(extra);
        hpk_in(self.d(), &args)
    }

    /// Starts `hpk fetch` from a proxy that trickles at 1 MB/s (slow
    /// enough to act on in the middle) and returns once the `.part` file
    /// holds more than `at_least` bytes, with the proxy (kept alive by
    /// the caller).
    fn slow_fetch(&self, at_least: u64) -> (Child, FaultProxy) {
        let proxy = FaultProxy::start(&self.nginx.url());
        proxy.set_fault(Fault::Slow {
            bytes_per_sec: 1_000_000,
        });
        let mut child = Command::new(hpk_bin())
            .current_dir(self.d())
            .args(["fetch", &proxy.url()])
            .args(DEVICE_ARGS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while fs::metadata(self.part()).map(|m| m.len()).unwrap_or(0) <= at_least {
            assert!(
                started.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none(),
                "the fetch ended or stalled before {at_least} bytes"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        (child, proxy)
    }

    /// The fetched package's path.
    fn fetched(&self) -> PathBuf {
        self.d()
            .join("dl")
            .join(self.location.strip_prefix("packages/").unwrap())
    }

    /// The `.part` file of an interrupted fetch.
    fn part(&self) -> PathBuf {
        let name = self
            .fetched()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        self.d().join("dl").join(format!(".{name}.part"))
    }

    /// Bytes of the package nginx sent since its log was cleared.
    fn package_bytes_sent(&self) -> u64 {
        self.nginx
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(".hpk"))
            .map(|r| r.body_bytes_sent)
            .sum()
    }

    fn assert_fetched_whole(&self) {
        assert!(
            fs::read(self.fetched()).unwrap() == fs::read(self.d().join("big.hpk")).unwrap(),
            "the fetched package differs from the published one"
        );
        assert!(!self.part().exists(), "the .part file is left");
    }
}

/// Signs and publishes a catalog of `version` naming the package.
fn publish(d: &Path, version: u64, location: &str) {
    let out = format!("cat{version}.hpkcat");
    hpk_in(
        d,
        &[
            "catalog",
            "new",
            "--out",
            &out,
            "--version",
            &version.to_string(),
            "--created",
            "2026-01-01",
            "--expires-in",
            "365",
        ],
    )
    .ok();
    hpk_in(
        d,
        &["catalog", "add", &out, "big.hpk", "--location", location],
    )
    .ok();
    hpk_in(
        d,
        &[
            "catalog",
            "sign",
            &out,
            "--key",
            "keys/catalog.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    hpk_in(d, &["repo", "publish", "repo", &out, "--now", NOW]).ok();
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "`{}` printed no JSON ({e}):\n{}\n{}",
            run.line, run.stdout, run.stderr
        )
    })
}

#[test]
fn a_device_fetches_its_plan_head_first_and_records_the_catalog() {
    let site = Site::new("fetch-plan");
    let run = site.fetch(&[site.nginx.url()], &[]).ok();
    let doc = json_of(&run);
    assert_eq!(doc["schema"], "hpk-fetch/1");
    assert_eq!(doc["catalog"]["version"], 5);
    let package = &doc["packages"][0];
    assert_eq!(package["name"], "fetch-baseline");
    assert_eq!(package["size"], site.size);
    assert_eq!(package["kept"], 0);
    site.assert_fetched_whole();

    // The first request for the package is one range for its head; the
    // payload follows in ranges. What came with the head is used where it
    // holds whole chunks, so at most that first range is asked for twice.
    let package_requests: Vec<_> = site
        .nginx
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".hpk"))
        .collect();
    assert_eq!(package_requests[0].range.as_deref(), Some("bytes=0-65535"));
    assert!(
        package_requests.iter().all(|r| r.status == 206),
        "{package_requests:?}"
    );
    let sent = site.package_bytes_sent();
    assert!(
        sent >= site.size && sent <= site.size + 65_536,
        "sent {sent} for {}",
        site.size
    );

    // The catalog is recorded: its version is the device's floor now.
    let profile = fs::read_to_string(site.d().join("device.toml")).unwrap();
    assert!(profile.contains("catalog_version = 5"), "{profile}");

    // A second run finds the package there, verifies it, fetches nothing.
    site.nginx.clear_log();
    let run = site.fetch(&[site.nginx.url()], &[]).ok();
    let doc = json_of(&run);
    assert_eq!(doc["packages"][0]["received"], 0, "{doc}\n{}", run.stderr);
    assert_eq!(doc["packages"][0]["kept"], site.size);
    assert_eq!(site.package_bytes_sent(), 0);

    // The downloaded file is the package, and verifies.
    hpk_in(
        site.d(),
        &[
            "verify",
            site.fetched().to_str().unwrap(),
            "--root",
            "root.hpkroot",
            "--now",
            NOW,
        ],
    )
    .ok();
}

#[test]
fn a_fetch_killed_midway_resumes_from_its_verified_bytes() {
    let site = Site::new("fetch-resume");
    let (mut child, _proxy) = site.slow_fetch(site.size / 3);
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    let left = fs::metadata(site.part()).unwrap().len();
    assert!(left < site.size, "killed after the end");
    // What was left is a prefix of the package: only verified bytes.
    let whole = fs::read(site.d().join("big.hpk")).unwrap();
    let part = fs::read(site.part()).unwrap();
    assert!(
        whole.starts_with(&part),
        "the .part file holds bytes that are not the package's"
    );
    // Garbage after them, as a power cut can leave, is found and dropped.
    let mut damaged = part.clone();
    damaged.extend_from_slice(&[0u8; 100_000]);
    fs::write(site.part(), &damaged).unwrap();

    site.nginx.clear_log();
    let doc = json_of(&site.fetch(&[site.nginx.url()], &[]).ok());
    let kept = doc["packages"][0]["kept"].as_u64().unwrap();
    // Whole chunks of what was left are kept (the head is fetched again).
    assert!(
        kept > left.saturating_sub(65_536 + 40) && kept <= left,
        "kept {kept} of {left}"
    );
    site.assert_fetched_whole();
    // nginx sent the head again and the rest, and nothing of what was kept.
    let head_len = kept.min(65_536);
    let sent = site.package_bytes_sent();
    assert!(
        sent <= site.size - kept + head_len + 65_536,
        "sent {sent} for a package of {} with {kept} kept",
        site.size
    );
}

#[test]
fn bad_mirrors_are_named_and_the_next_one_serves() {
    let site = Site::new("fetch-mirrors");
    let proxy = FaultProxy::start(&site.nginx.url());
    let faults = [
        // A flipped bit in the payload area (past the head).
        (
            Fault::Corrupt { at: 1_000_000 },
            "does not match its SHA-256",
        ),
        // A flipped bit in the head.
        (Fault::Corrupt { at: 300 }, "does not verify"),
        (Fault::IgnoreRange, "whole file"),
        (Fault::Status(503), "HTTP status 503"),
        (Fault::Status(416), "HTTP status 416"),
        (Fault::Endless, "more than"),
        (Fault::InflatedLength { extra: 10 }, "Content-Length"),
        (Fault::DropAfter { bytes: 0 }, ""),
    ];
    for (fault, says) in faults {
        let _ = fs::remove_dir_all(site.d().join("dl"));
        fs::copy(
            site.d().join("root.hpkroot"),
            site.d().join("device-root.hpkroot"),
        )
        .unwrap();
        fs::copy(
            site.d().join("devices/x64-enterprise.toml"),
            site.d().join("device.toml"),
        )
        .unwrap();
        proxy.set_fault(fault.clone());
        let run = site.fetch(&[proxy.url(), site.nginx.url()], &[]).ok();
        let doc = json_of(&run);
        site.assert_fetched_whole();
        // The bad mirror is named, with what it did; the good one served
        // the rest.
        let skipped = doc["packages"][0]["skipped_mirrors"].to_string();
        assert!(
            skipped.contains(&proxy.url()) && skipped.contains(says),
            "{fault:?}: {skipped}\n{}",
            run.stderr
        );
        let served = doc["packages"][0]["mirrors"].to_string();
        assert!(served.contains(&site.nginx.url()), "{fault:?}: {served}");
    }

    // Bytes after the end of a body framed by its Content-Length are not
    // part of it: the body is whole, and nothing after it is read.
    let _ = fs::remove_dir_all(site.d().join("dl"));
    proxy.set_fault(Fault::Oversize { extra: 10 });
    site.fetch(&[proxy.url()], &[]).ok();
    site.assert_fetched_whole();

    // A mirror that is not an http(s) URL is a usage error; one that
    // cannot be reached is an I/O error, named.
    let run = site
        .fetch(&["ftp://mirror.example/".into()], &[])
        .expect_code(2);
    assert!(
        run.stderr.contains("ftp://mirror.example/"),
        "{}",
        run.stderr
    );
    let run = site
        .fetch(&["http://127.0.0.1:1/".into()], &[])
        .expect_code(4);
    assert!(
        run.stderr.contains("http://127.0.0.1:1/root/2.hpkroot"),
        "{}",
        run.stderr
    );

    // With no good mirror left, the error names each mirror and why.
    proxy.set_fault(Fault::Corrupt { at: 1_000_000 });
    let _ = fs::remove_dir_all(site.d().join("dl"));
    let run = site.fetch(&[proxy.url()], &[]).expect_code(1);
    assert!(run.stderr.contains(&proxy.url()), "{}", run.stderr);
    assert!(
        run.stderr.contains("does not match its SHA-256"),
        "{}",
        run.stderr
    );
    // Only verified chunks were written: the .part file is a prefix.
    let whole = fs::read(site.d().join("big.hpk")).unwrap();
    let part = fs::read(site.part()).unwrap();
    assert!(whole.starts_with(&part));
    assert!((part.len() as u64) < site.size);
}

#[test]
fn a_second_fetch_into_the_same_folder_waits_for_the_first() {
    let site = Site::new("fetch-lock");
    let (mut first, _proxy) = site.slow_fetch(200_000);
    // The second run leaves the first's file alone and says why.
    let run = site.fetch(&[site.nginx.url()], &[]).expect_code(4);
    assert!(run.stderr.contains("another fetch"), "{}", run.stderr);
    assert!(first.wait().unwrap().success());
    site.assert_fetched_whole();
    // Once the first is done, a rerun finds the package there.
    let doc = json_of(&site.fetch(&[site.nginx.url()], &[]).ok());
    assert_eq!(doc["packages"][0]["received"], 0);
}

#[test]
fn an_https_mirror_is_trusted_through_the_ca_given_and_only_through_it() {
    let site = Site::new("fetch-https");
    let certs = site.d().join("certs");
    fs::create_dir_all(&certs).unwrap();
    let ca = hpk_tests::tls::TestCa::new(&certs);
    let https = Nginx::serve_tls(&site.d().join("repo"), &ca.server_cert, &ca.server_key);
    assert!(https.url().starts_with("https://"));
    let ca_file = ca.ca_cert.to_str().unwrap();

    // With the CA: the whole fetch over TLS, as over plain HTTP.
    let run = site.fetch(&[https.url()], &["--ca-file", ca_file]).ok();
    let doc = json_of(&run);
    assert_eq!(doc["packages"][0]["received"], site.size);
    site.assert_fetched_whole();
    let package_requests: Vec<_> = https
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".hpk"))
        .collect();
    assert!(
        !package_requests.is_empty() && package_requests.iter().all(|r| r.status == 206),
        "{package_requests:?}"
    );

    // Without it, the public roots do not vouch for the server: the
    // mirror fails on its certificate and nothing is fetched from it.
    fs::remove_dir_all(site.d().join("dl")).unwrap();
    fs::copy(
        site.d().join("root.hpkroot"),
        site.d().join("device-root.hpkroot"),
    )
    .unwrap();
    https.clear_log();
    let run = site.fetch(&[https.url()], &[]).expect_code(4);
    assert!(
        run.stderr.contains(&https.url()) && run.stderr.to_lowercase().contains("certificate"),
        "{}",
        run.stderr
    );
    assert!(https.requests().is_empty(), "{:?}", https.requests());
    assert!(!site.fetched().exists());

    // A CA file without a certificate is a usage error.
    fs::write(certs.join("empty.pem"), "not a certificate\n").unwrap();
    let run = site
        .fetch(
            &[https.url()],
            &["--ca-file", certs.join("empty.pem").to_str().unwrap()],
        )
        .expect_code(2);
    assert!(run.stderr.contains("no PEM certificate"), "{}", run.stderr);
}

#[test]
fn a_stalled_mirror_is_dropped_after_the_timeout() {
    let site = Site::new("fetch-stall");
    let proxy = FaultProxy::start(&site.nginx.url());
    proxy.set_fault(Fault::StallAfter {
        bytes: 100_000,
        for_ms: 20_000,
    });
    let started = Instant::now();
    let run = site
        .fetch(&[proxy.url(), site.nginx.url()], &["--timeout", "1"])
        .ok();
    let doc = json_of(&run);
    site.assert_fetched_whole();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}: {doc}",
        started.elapsed()
    );
}

#[test]
fn the_trust_root_chain_is_walked_and_the_newest_kept() {
    let site = Site::new("fetch-rotation");
    let d = site.d();
    hpk_in(
        d,
        &[
            "root",
            "renew",
            "root.hpkroot",
            "--expires-in",
            "730",
            "--out",
            "root-v2.hpkroot",
        ],
    )
    .ok();
    hpk_in(
        d,
        &["root", "sign", "root-v2.hpkroot", "--key", "keys/root.key"],
    )
    .ok();
    hpk_in(
        d,
        &["repo", "add-root", "repo", "root-v2.hpkroot", "--now", NOW],
    )
    .ok();
    let doc = json_of(&site.fetch(&[site.nginx.url()], &[]).ok());
    assert_eq!(doc["root"]["accepted"], serde_json::json!([2]));
    assert_eq!(
        fs::read(d.join("device-root.hpkroot")).unwrap(),
        fs::read(d.join("root-v2.hpkroot")).unwrap()
    );
    site.assert_fetched_whole();

    // A repository whose next root does not verify stops the update
    // before the catalog: nothing else is fetched.
    fs::write(
        d.join("repo/root/3.hpkroot"),
        b"\x89HPK\r\n\x1a\nnot a root",
    )
    .unwrap();
    site.nginx.clear_log();
    let run = site.fetch(&[site.nginx.url()], &[]).expect_code(1);
    assert!(
        run.stderr.contains("trust root version 3"),
        "{}",
        run.stderr
    );
    assert!(
        site.nginx
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("catalog.hpkcat")),
        "the catalog was fetched after a bad root"
    );
    assert_eq!(
        fs::read(d.join("device-root.hpkroot")).unwrap(),
        fs::read(d.join("root-v2.hpkroot")).unwrap()
    );
}

#[test]
fn an_older_catalog_on_a_mirror_is_refused_for_a_newer_one() {
    let site = Site::new("fetch-rollback");
    let d = site.d();
    // The device has seen catalog version 5; a stale mirror still has 4.
    site.fetch(&[site.nginx.url()], &[]).ok();
    let stale = d.join("stale");
    fs::create_dir_all(stale.join("root")).unwrap();
    fs::copy(d.join("repo/root/1.hpkroot"), stale.join("root/1.hpkroot")).unwrap();
    fs::create_dir_all(stale.join("packages")).unwrap();
    hpk_in(
        d,
        &[
            "catalog",
            "new",
            "--out",
            "old.hpkcat",
            "--version",
            "4",
            "--created",
            "2026-01-01",
            "--expires-in",
            "365",
        ],
    )
    .ok();
    hpk_in(
        d,
        &[
            "catalog",
            "sign",
            "old.hpkcat",
            "--key",
            "keys/catalog.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    fs::copy(d.join("old.hpkcat"), stale.join("catalog.hpkcat")).unwrap();
    let stale_server = Nginx::serve(&stale);
    let run = site
        .fetch(&[stale_server.url(), site.nginx.url()], &[])
        .ok();
    let doc = json_of(&run);
    assert_eq!(doc["catalog"]["version"], 5);
    assert_eq!(doc["catalog"]["mirror"], format!("{}/", site.nginx.url()));
    let skipped = doc["catalog"]["skipped_mirrors"][0].as_str().unwrap();
    assert!(skipped.contains("rollback"), "{skipped}");
    // Alone, the stale mirror fails the update: a rollback is refused by
    // the device's policy (exit 3).
    let run = site.fetch(&[stale_server.url()], &[]).expect_code(3);
    assert!(run.stderr.contains("rollback"), "{}", run.stderr);
}

#[test]
fn a_mirror_slower_than_the_minimum_rate_is_dropped() {
    let site = Site::new("fetch-slow");
    let proxy = FaultProxy::start(&site.nginx.url());
    proxy.set_fault(Fault::Slow {
        bytes_per_sec: 100_000,
    });
    let started = Instant::now();
    let run = site
        .fetch(
            &[proxy.url(), site.nginx.url()],
            &["--timeout", "1", "--min-rate", "500000"],
        )
        .ok();
    let doc = json_of(&run);
    site.assert_fetched_whole();
    let skipped = doc["packages"][0]["skipped_mirrors"].to_string();
    assert!(skipped.contains("too slow"), "{skipped}");
    // At 100 kB/s the package alone would take 30 s.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Copies the files of folder `from` (and its folders) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_mirror_serving_another_signed_package_under_the_name_is_refused() {
    // Mix and match: a mirror puts another authentic package (signed by
    // the same release key, under the same root) where the catalog's
    // entry points. The entry's size (in the range's total, HF4) or its
    // manifest digest (VF3) refuses it before any of it is trusted.
    let site = Site::new("fetch-mix");
    let d = site.d();
    // Another package of exactly the same size (only its version differs,
    // by one digit), and one of another size.
    fs::write(
        d.join("other.toml"),
        BIG_TOML.replace("10.0.2.0", "10.0.2.1"),
    )
    .unwrap();
    hpk_in(
        d,
        &[
            "pack",
            "other.toml",
            "--out",
            "other.hpk",
            "--key",
            "keys/release.key",
            "--root",
            "root.hpkroot",
        ],
    )
    .ok();
    assert_eq!(fs::metadata(d.join("other.hpk")).unwrap().len(), site.size);
    let baseline_len = fs::metadata(d.join("baseline.hpk")).unwrap().len();
    for (impostor, says) in [
        ("other.hpk", "does not verify".to_owned()),
        (
            "baseline.hpk",
            format!("serves a file of {baseline_len} bytes"),
        ),
    ] {
        let swapped = d.join(format!("swapped-{impostor}"));
        copy_tree(&d.join("repo"), &swapped);
        fs::copy(d.join(impostor), swapped.join(&site.location)).unwrap();
        let bad = Nginx::serve(&swapped);

        let _ = fs::remove_dir_all(d.join("dl"));
        let run = site.fetch(&[bad.url(), site.nginx.url()], &[]).ok();
        let doc = json_of(&run);
        site.assert_fetched_whole();
        let skipped = doc["packages"][0]["skipped_mirrors"].to_string();
        assert!(
            skipped.contains(&bad.url()) && skipped.contains(&says),
            "{impostor}: {skipped}"
        );

        // Alone, it fails the fetch (exit 1), and nothing of it is kept.
        let _ = fs::remove_dir_all(d.join("dl"));
        let run = site.fetch(&[bad.url()], &[]).expect_code(1);
        assert!(run.stderr.contains(&bad.url()), "{}", run.stderr);
        assert!(!site.fetched().exists());
        assert_eq!(fs::metadata(site.part()).map(|m| m.len()).unwrap_or(0), 0);
    }
}

/// A baseline of three payloads: one stored raw, one compressed, one
/// the device does not have.
const SEEDED_TOML: &str = r#"name = "fetch-baseline"
kind = "baseline"
version = "10.0.2.0"
security_version = 40
created = 2026-01-01T00:00:00Z

[targets]
os = "windows"
architectures = ["x64"]
editions = ["enterprise"]
capabilities = ["vbs"]

[baseline]
security_floor = 40

[[payloads]]
name = "System32/kernel.bin"
file = "payload/kernel.bin"
compression = "none"
chunk_size = 65536

[[payloads]]
name = "System32/drivers/net.sys"
file = "payload/net.sys"
chunk_size = 65536

[[payloads]]
name = "System32/new.dll"
file = "payload/new.dll"
compression = "none"
chunk_size = 65536
"#;

/// Text that compresses, like most of an OS image.
fn compressible(len: usize) -> Vec<u8> {
    (0..)
        .map(|i: u64| format!("line {i} of a driver table: {}\n", i * 7919 % 1000))
        .flat_map(String::into_bytes)
        .take(len)
        .collect()
}

#[test]
fn chunks_the_device_already_has_are_rebuilt_from_its_files_not_fetched() {
    let kernel = hpk_tests::noise(1_000_000, 21);
    let net = compressible(1_500_000);
    let new = hpk_tests::noise(400_000, 22);
    let site = Site::with(
        "fetch-seed",
        SEEDED_TOML,
        &[
            ("payload/kernel.bin", kernel.clone()),
            ("payload/net.sys", net.clone()),
            ("payload/new.dll", new.clone()),
        ],
    );
    let d = site.d();
    // The device's files: the raw and the compressed payload as they are
    // in the package; an older new.dll of another size (not tried).
    let seed = d.join("installed");
    fs::create_dir_all(seed.join("System32/drivers")).unwrap();
    fs::write(seed.join("System32/kernel.bin"), &kernel).unwrap();
    fs::write(seed.join("System32/drivers/net.sys"), &net).unwrap();
    fs::write(seed.join("System32/new.dll"), &new[..100_000]).unwrap();

    site.nginx.clear_log();
    let run = site
        .fetch(&[site.nginx.url()], &["--seed", "installed"])
        .ok();
    let doc = json_of(&run);
    site.assert_fetched_whole();
    let got = &doc["packages"][0];
    let (received, rebuilt) = (
        got["received"].as_u64().unwrap(),
        got["rebuilt"].as_u64().unwrap(),
    );
    assert_eq!(received + rebuilt, site.size, "{doc}");
    // Everything but the head's first range and new.dll came from the
    // device's files: kernel.bin's 1 MB raw, net.sys compressed.
    let sent = site.package_bytes_sent();
    assert!(sent <= 65_536 + 400_000 + 65_536, "sent {sent}");
    assert!(rebuilt >= 1_000_000 - 65_536, "rebuilt {rebuilt}");
    assert!(sent >= 400_000, "new.dll must be fetched: sent {sent}");
    // What came with the head past it and was not a whole chunk is the
    // only waste.
    assert!(
        received <= sent && sent <= received + 65_536,
        "sent {sent}, kept {received}"
    );

    // A device file that differs from the package from its middle on:
    // the chunks before the difference are rebuilt, the rest fetched, and
    // the package is still exactly the published one.
    let mut changed = kernel.clone();
    for b in &mut changed[600_000..] {
        *b ^= 0x5a;
    }
    fs::write(seed.join("System32/kernel.bin"), &changed).unwrap();
    fs::remove_dir_all(d.join("dl")).unwrap();
    site.nginx.clear_log();
    let run = site
        .fetch(&[site.nginx.url()], &["--seed", "installed"])
        .ok();
    let doc = json_of(&run);
    site.assert_fetched_whole();
    let sent = site.package_bytes_sent();
    assert!(
        (400_000 + 400_000..=65_536 + 460_000 + 400_000 + 65_536).contains(&sent),
        "sent {sent}"
    );
    assert_eq!(
        doc["packages"][0]["received"].as_u64().unwrap()
            + doc["packages"][0]["rebuilt"].as_u64().unwrap(),
        site.size
    );

    // The wrong zstd level: no compressed chunk matches its digest, so
    // net.sys is fetched whole; the raw payload is still rebuilt.
    fs::write(seed.join("System32/kernel.bin"), &kernel).unwrap();
    fs::remove_dir_all(d.join("dl")).unwrap();
    site.nginx.clear_log();
    let run = site
        .fetch(
            &[site.nginx.url()],
            &["--seed", "installed", "--seed-level", "19"],
        )
        .ok();
    let doc = json_of(&run);
    site.assert_fetched_whole();
    let sent = site.package_bytes_sent();
    let rebuilt = doc["packages"][0]["rebuilt"].as_u64().unwrap();
    assert!(
        (1_000_000 - 65_536..=1_000_000).contains(&rebuilt),
        "rebuilt {rebuilt}"
    );
    let received = doc["packages"][0]["received"].as_u64().unwrap();
    assert_eq!(received + rebuilt, site.size);
    assert!(received <= sent && sent <= received + 65_536, "sent {sent}");

    // A seed folder that is not there is a usage error.
    site.fetch(&[site.nginx.url()], &["--seed", "no-such-folder"])
        .expect_code(2);
}
