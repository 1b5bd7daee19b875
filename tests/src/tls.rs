//! A certificate authority of its own for HTTPS tests: a CA certificate,
//! and a server certificate for `127.0.0.1` signed by it, made by the
//! `openssl` command (Debian package `openssl`) in a folder of the test's.
//! A client that trusts the CA's certificate trusts the server; one that
//! trusts only the public roots does not.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of a test CA, all PEM.
pub struct TestCa {
    /// The CA's certificate: what a client must trust.
    pub ca_cert: PathBuf,
    /// The server's certificate, for the IP address `127.0.0.1`.
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
}

impl TestCa {
    /// Makes a CA and a server certificate in `dir` (which must exist).
    ///
    /// Panics if `openssl` is missing or fails, with its output.
    pub fn new(dir: &Path) -> TestCa {
        let path = |name: &str| dir.join(name);
        fs::write(
            path("server.ext"),
            "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n\
             keyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n",
        )
        .expect("write server.ext");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            dir,
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "30",
                    "-subj",
                    "/CN=hpk test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ],
        );
        openssl(
            dir,
            &[
                &["req"],
                &ec[..],
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ],
        );
        openssl(
            dir,
            &[&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "30",
                "-extfile",
                "server.ext",
            ]],
        );
        TestCa {
            ca_cert: path("ca.pem"),
            server_cert: path("server.pem"),
            server_key: path("server.key"),
        }
    }
}

fn openssl(dir: &Path, parts: &[&[&str]]) {
    let args: Vec<&str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let out = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl not found ({e}): install the Debian package `openssl`")
        });
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
