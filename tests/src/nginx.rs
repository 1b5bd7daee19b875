//! A real nginx serving a folder as static files on loopback, for tests of
//! HTTP download code against a server that behaves like production ones
//! (ranges, validators, `Content-Length`), with an access log the test can
//! read back to count requests and bytes.
//!
//! Each [`Nginx`] runs its own nginx in the foreground as a child process,
//! with everything it writes (configuration, pid, logs, temporary folders)
//! in a fresh folder of its own, so tests may run many in parallel and as
//! any user.

use std::fs;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long nginx may take to accept connections before the start fails.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How many ports to try when the chosen one was taken meanwhile.
const START_ATTEMPTS: u32 = 5;
/// How long [`Nginx::wait_requests`] waits for the log lines it expects.
const LOG_WAIT: Duration = Duration::from_secs(5);

/// Names each instance's folder uniquely within this process.
static FOLDER_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A running nginx serving one folder on `127.0.0.1`; stopped on drop.
pub struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// Whether it serves HTTPS.
    tls: bool,
}

/// One line of the access log: a request nginx finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The request method, e.g. `GET`.
    pub method: String,
    /// The request target as the client sent it (path and query).
    pub path: String,
    /// The response status.
    pub status: u16,
    /// The body bytes nginx sent (fewer than the body's length when the
    /// client went away early).
    pub body_bytes_sent: u64,
    /// The request's `Range` header, if it had one.
    pub range: Option<String>,
}

impl Nginx {
    /// Starts nginx serving `root` (a folder) as static files on a free
    /// loopback port and waits until it accepts connections.
    ///
    /// Panics if nginx is not installed, `root` is not a folder, or nginx
    /// does not start (with its error log in the message).
    pub fn serve(root: &Path) -> Nginx {
        Nginx::start(root, None)
    }

    /// Starts nginx serving `root` over HTTPS only, with the certificate
    /// chain `cert` and its private key `key` (PEM files, for example a
    /// [`crate::tls::TestCa`]'s), like [`Nginx::serve`] otherwise.
    pub fn serve_tls(root: &Path, cert: &Path, key: &Path) -> Nginx {
        Nginx::start(root, Some((cert, key)))
    }

    fn start(root: &Path, tls: Option<(&Path, &Path)>) -> Nginx {
        let binary = find_nginx().unwrap_or_else(|| {
            panic!(
                "nginx not found: install the Debian package `nginx-light` (or `nginx`); \
                 .ci/run installs it"
            )
        });
        let root =
            fs::canonicalize(root).unwrap_or_else(|e| panic!("nginx root {}: {e}", root.display()));
        assert!(
            root.is_dir(),
            "nginx root {} is not a folder",
            root.display()
        );
        // nginx expands `$` in `root` as a variable.
        assert!(
            !root.to_string_lossy().contains('$'),
            "nginx root {} contains `$`",
            root.display()
        );
        let dir = make_folder();

        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            write_config(&dir, &root, port, tls);
            let mut child = spawn(&binary, &dir);
            match wait_ready(&mut child, port, &dir) {
                Ok(()) => {
                    return Nginx {
                        child,
                        port,
                        dir,
                        tls: tls.is_some(),
                    };
                }
                Err(failure) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_failure = failure;
                    // Another process took the port between our probe and
                    // nginx's bind: try another one.
                    if last_failure.contains("Address already in use") {
                        let _ = fs::write(dir.join("error.log"), b"");
                        continue;
                    }
                    break;
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!("nginx did not start: {last_failure}");
    }

    /// The base URL, `http://127.0.0.1:PORT` (`https://` when it serves
    /// HTTPS; no trailing slash).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The port nginx listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The requests nginx finished since the start or the last
    /// [`Nginx::clear_log`], oldest first.
    ///
    /// nginx writes a request's line before closing its connection, so a
    /// client that read a `Connection: close` response to its end finds it
    /// here; one that keeps connections alive should use
    /// [`Nginx::wait_requests`].
    pub fn requests(&self) -> Vec<LogEntry> {
        // The access log is unbuffered (no `buffer=`): each line is written
        // as its request finishes.
        let text = fs::read_to_string(self.access_log()).unwrap_or_default();
        text.lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                parse_log_line(line)
                    .unwrap_or_else(|| panic!("unexpected nginx access log line {line:?}"))
            })
            .collect()
    }

    /// Waits (up to 5 s) until the log holds at least `n` requests, then
    /// returns them all; panics if they do not come.
    pub fn wait_requests(&self, n: usize) -> Vec<LogEntry> {
        let deadline = Instant::now() + LOG_WAIT;
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if Instant::now() >= deadline {
                panic!(
                    "nginx logged {} requests, expected at least {n}: {requests:?}",
                    requests.len()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The body bytes sent by all logged requests.
    pub fn body_bytes_sent_total(&self) -> u64 {
        self.requests().iter().map(|r| r.body_bytes_sent).sum()
    }

    /// Empties the access log, so that the counts that follow cover only
    /// what happens after this call.
    pub fn clear_log(&self) {
        // nginx opens its logs for appending, so its next line lands at the
        // new end rather than at its old offset.
        fs::write(self.access_log(), b"").expect("truncate the nginx access log");
    }

    /// The error log's content (for diagnostics).
    pub fn error_log(&self) -> String {
        read_logs(&self.dir)
    }

    fn access_log(&self) -> PathBuf {
        self.dir.join("access.log")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A single nginx process (`master_process off`): killing it leaves
        // no worker behind holding the port.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `/usr/sbin/nginx`, else the first `nginx` on `PATH`.
fn find_nginx() -> Option<PathBuf> {
    let standard = PathBuf::from("/usr/sbin/nginx");
    if standard.is_file() {
        return Some(standard);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// A fresh, empty folder under the system's temporary folder.
fn make_folder() -> PathBuf {
    loop {
        let n = FOLDER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hpk-nginx-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            // Left by an earlier process with the same pid.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let _ = fs::remove_dir_all(&dir);
            }
            Err(e) => panic!("create {}: {e}", dir.display()),
        }
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a probe port");
    listener.local_addr().expect("probe port address").port()
}

/// A double-quoted nginx string.
fn quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn write_config(dir: &Path, root: &Path, port: u16, tls: Option<(&Path, &Path)>) {
    let p = |name: &str| quoted(&dir.join(name));
    let listen = match tls {
        None => format!("listen 127.0.0.1:{port};"),
        Some((cert, key)) => format!(
            "listen 127.0.0.1:{port} ssl;\n        ssl_certificate {};\n        ssl_certificate_key {};",
            quoted(cert),
            quoted(key)
        ),
    };
    // `master_process off` runs everything in the one process we started:
    // nothing switches to `nobody` when the tests run as root (which could
    // not read a private root folder), and `Child::kill` stops it all.
    // Tabs separate the log fields: nginx escapes control characters in
    // logged values, so a tab can only be a separator.
    let config = format!(
        "daemon off;
master_process off;
pid {pid};
error_log {error_log} warn;
events {{
    worker_connections 512;
}}
http {{
    client_body_temp_path {client_body};
    proxy_temp_path {proxy};
    fastcgi_temp_path {fastcgi};
    uwsgi_temp_path {uwsgi};
    scgi_temp_path {scgi};
    default_type application/octet-stream;
    log_format hpk \"$request_method\\t$request_uri\\t$status\\t$body_bytes_sent\\t$http_range\";
    access_log {access_log} hpk;
    server {{
        {listen}
        root {root};
    }}
}}
",
        pid = p("nginx.pid"),
        error_log = p("error.log"),
        client_body = p("client_body_temp"),
        proxy = p("proxy_temp"),
        fastcgi = p("fastcgi_temp"),
        uwsgi = p("uwsgi_temp"),
        scgi = p("scgi_temp"),
        access_log = p("access.log"),
        root = quoted(root),
    );
    fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
}

fn spawn(binary: &Path, dir: &Path) -> Child {
    let stderr = fs::File::create(dir.join("stderr.log")).expect("create nginx stderr log");
    let mut prefix = dir.as_os_str().to_owned();
    prefix.push("/");
    Command::new(binary)
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        // The log for errors before the configuration is read (the built-in
        // one may be unwritable).
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
}

/// Waits until nginx accepts connections on `port`; on failure, says why.
fn wait_ready(child: &mut Child, port: u16, dir: &Path) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("nginx exited ({status}): {}", read_logs(dir)));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            // A failed bind is retried inside nginx for a while: a connection
            // then reached whoever took the port, not nginx.
            let logs = read_logs(dir);
            if logs.contains("bind()") {
                return Err(logs);
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "nginx did not accept connections on port {port} within {START_TIMEOUT:?}: {}",
                read_logs(dir)
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The error log and nginx's standard error, together.
fn read_logs(dir: &Path) -> String {
    let error_log = fs::read_to_string(dir.join("error.log")).unwrap_or_default();
    let stderr = fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    match (error_log.trim().is_empty(), stderr.trim().is_empty()) {
        (true, true) => "(error log empty)".to_string(),
        (false, true) => error_log,
        (true, false) => stderr,
        (false, false) => format!("{error_log}\n(stderr) {stderr}"),
    }
}

fn parse_log_line(line: &str) -> Option<LogEntry> {
    let mut fields = line.split('\t');
    let method = fields.next()?.to_string();
    let path = fields.next()?.to_string();
    let status = fields.next()?.parse().ok()?;
    let body_bytes_sent = fields.next()?.parse().ok()?;
    let range = match fields.next()? {
        "-" => None,
        range => Some(range.to_string()),
    };
    if fields.next().is_some() {
        return None;
    }
    Some(LogEntry {
        method,
        path,
        status,
        body_bytes_sent,
        range,
    })
}
