//! An HTTP/1.1 proxy on loopback that forwards `GET` and `HEAD` requests to
//! an upstream server and misbehaves on demand: corrupts, truncates, stalls,
//! slows, lengthens or replaces responses. Tests put it between a download
//! client and [`crate::nginx::Nginx`] to see how the client copes with a
//! bad network or a bad server.
//!
//! Deliberately simple: one request per connection (every response says
//! `Connection: close`), one thread per connection, one upstream connection
//! per request.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The largest request or response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The size of the pieces a body is read and written in.
const CHUNK: usize = 16 * 1024;
/// How long a connection may stay silent before the proxy gives up on it.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// What [`Fault::Endless`] and [`Fault::Oversize`] send beyond the real
/// body: recognisable, and never mistaken for a short read of zeros.
const FILLER: u8 = b'~';

/// The upstream response headers passed on to the client.
const PASSED_RESPONSE_HEADERS: [&str; 8] = [
    "content-length",
    "content-range",
    "content-type",
    "etag",
    "last-modified",
    "accept-ranges",
    // Only for an upstream that sends no length; nginx serving files
    // never does.
    "transfer-encoding",
    "location",
];

/// The request headers passed on to upstream (the conditional ones make
/// resumption with `If-Range` testable).
const PASSED_REQUEST_HEADERS: [&str; 6] = [
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
];

/// How the proxy treats the requests that follow [`FaultProxy::set_fault`].
///
/// Body offsets count from the start of this response's body (for a `206`,
/// from the first byte of the range, not of the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward faithfully.
    None,
    /// Flip the lowest bit of the body byte at offset `at` (no change when
    /// the body is shorter).
    Corrupt {
        /// The body offset of the byte to change.
        at: u64,
    },
    /// Send the headers and the first `bytes` body bytes, then close the
    /// connection.
    DropAfter {
        /// How many body bytes to send.
        bytes: u64,
    },
    /// Send the headers and the first `bytes` body bytes, then nothing for
    /// `for_ms` milliseconds, then close the connection.
    StallAfter {
        /// How many body bytes to send before stalling.
        bytes: u64,
        /// How long to stall, in milliseconds.
        for_ms: u64,
    },
    /// Send the body at `bytes_per_sec`: the last byte leaves no earlier
    /// than `len / bytes_per_sec` seconds after the headers.
    Slow {
        /// The rate, in bytes per second (0 is taken as 1).
        bytes_per_sec: u64,
    },
    /// Forward the request without its `Range` (and `If-Range`) header, so
    /// the answer is `200` with the whole body.
    IgnoreRange,
    /// Answer this status with a short plain-text body, without contacting
    /// upstream.
    Status(u16),
    /// Answer upstream's status and headers less `Content-Length` (so a
    /// `206` keeps its `Content-Range`), send upstream's body, then filler
    /// bytes until the client closes the connection.
    Endless,
    /// Keep upstream's `Content-Length` and `Content-Range` but send `extra`
    /// filler bytes after the body.
    Oversize {
        /// How many bytes to send beyond the declared length.
        extra: u64,
    },
    /// Declare a `Content-Length` `extra` larger than upstream's (keeping
    /// its `Content-Range`, which then disagrees) and send that many:
    /// the body followed by `extra` filler bytes.
    InflatedLength {
        /// How many bytes to add to the declared and sent length.
        extra: u64,
    },
    /// Answer the next `n` requests with `503`, then behave like `then`.
    FailFirst {
        /// How many requests still fail.
        n: u32,
        /// The behaviour afterwards.
        then: Box<Fault>,
    },
}

impl Fault {
    /// The fault for the request arriving now, counting down
    /// [`Fault::FailFirst`].
    fn take(&mut self) -> Fault {
        match self {
            Fault::FailFirst { n, then } => {
                if *n > 0 {
                    *n -= 1;
                    Fault::Status(503)
                } else {
                    then.take()
                }
            }
            other => other.clone(),
        }
    }
}

/// A running fault-injecting proxy; stopped on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// What the proxy's threads share.
struct Shared {
    upstream: Upstream,
    fault: Mutex<Fault>,
    requests: AtomicU64,
    body_bytes_sent: AtomicU64,
    stopped: AtomicBool,
}

/// Where requests go.
struct Upstream {
    /// `host:port`, to connect to.
    authority: String,
    /// The `Host` header.
    host: String,
    /// A path prefix (without a trailing slash) put before request paths.
    prefix: String,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream`, a
    /// base URL such as `http://127.0.0.1:8080` (a path after it becomes a
    /// prefix of every forwarded path).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream = Upstream::parse(upstream);
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the fault proxy's port");
        let addr = listener.local_addr().expect("fault proxy address");
        let shared = Arc::new(Shared {
            upstream,
            fault: Mutex::new(Fault::None),
            requests: AtomicU64::new(0),
            body_bytes_sent: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("fault-proxy".to_string())
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn the fault proxy")
        };
        FaultProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Applies `fault` to every request that arrives from now on.
    pub fn set_fault(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }

    /// How many requests arrived (whatever was answered).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// How many body bytes were sent to clients, over all responses.
    pub fn body_bytes_sent(&self) -> u64 {
        self.shared.body_bytes_sent.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the acceptor so that it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Upstream {
    fn parse(url: &str) -> Upstream {
        let rest = url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("fault proxy upstream {url:?} is not an http:// URL"));
        let (host, prefix) = match rest.find('/') {
            Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
            None => (rest, ""),
        };
        assert!(!host.is_empty(), "fault proxy upstream {url:?} has no host");
        let authority = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Upstream {
            authority,
            host: host.to_string(),
            prefix: prefix.to_string(),
        }
    }

    fn connect(&self) -> io::Result<TcpStream> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "upstream has no address");
        for addr in self.authority.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, IO_TIMEOUT) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        // Detached: a connection thread holds only its own sockets, never
        // the listener, and ends at the client's close or the stop flag.
        let _ = thread::Builder::new()
            .name("fault-proxy-conn".to_string())
            .spawn(move || {
                // Errors here are the client or upstream going away, which
                // is what these tests provoke.
                let _ = handle(stream, &shared);
            });
    }
}

/// A parsed message head: the start line and the headers.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a head up to its blank line (the body, if any, stays in `reader`).
fn read_head(reader: &mut impl BufRead) -> io::Result<Head> {
    let mut start = String::new();
    let mut headers = Vec::new();
    let mut total = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        let n = reader.take(MAX_HEAD as u64).read_line(&mut line)?;
        total += n;
        if n == 0 || total > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad head"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if first {
            start = line.to_string();
            first = false;
        } else if line.is_empty() {
            return Ok(Head { start, headers });
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}

fn handle(client: TcpStream, shared: &Shared) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut client_reader = BufReader::new(client.try_clone()?);
    let request = read_head(&mut client_reader)?;
    let mut client = client;
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let fault = shared
        .fault
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();

    let mut parts = request.start.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return answer_status(&mut client, shared, 501, false);
    }
    if let Fault::Status(code) = fault {
        return answer_status(&mut client, shared, code, head_only);
    }

    let upstream = match forward(&shared.upstream, &method, &target, &request, &fault) {
        Ok(upstream) => upstream,
        Err(_) => return answer_status(&mut client, shared, 502, head_only),
    };
    let mut upstream_reader = BufReader::new(upstream);
    let response = match read_head(&mut upstream_reader) {
        Ok(response) => response,
        Err(_) => return answer_status(&mut client, shared, 502, head_only),
    };
    let status: u16 = response
        .start
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let declared: Option<u64> = response.get("content-length").and_then(|v| v.parse().ok());
    let has_body = !head_only && status >= 200 && status != 204 && status != 304;

    // The head sent to the client.
    let mut head = format!("{}\r\n", response.start);
    for (name, value) in &response.headers {
        let lower = name.to_ascii_lowercase();
        if !PASSED_RESPONSE_HEADERS.contains(&lower.as_str()) {
            continue;
        }
        if lower == "content-length" {
            match fault {
                Fault::Endless => continue,
                Fault::InflatedLength { extra } => {
                    let length = declared.unwrap_or(0) + extra;
                    head.push_str(&format!("{name}: {length}\r\n"));
                    continue;
                }
                _ => {}
            }
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    client.write_all(head.as_bytes())?;
    if !has_body {
        drain(upstream_reader);
        return finish(&client);
    }

    // The body: upstream's (all of it when it declares no length), then
    // whatever the fault adds, cut where the fault cuts.
    let mut body = upstream_reader.take(declared.unwrap_or(u64::MAX));
    let limit = match fault {
        Fault::DropAfter { bytes } | Fault::StallAfter { bytes, .. } => bytes,
        _ => u64::MAX,
    };
    let start = Instant::now();
    let mut sent = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let mut complete = false;
    loop {
        if shared.stopped.load(Ordering::SeqCst) || sent >= limit {
            break;
        }
        let want = chunk_len(&fault, limit - sent);
        let n = body.read(&mut buf[..want])?;
        if n == 0 {
            complete = true;
            break;
        }
        if let Fault::Corrupt { at } = fault
            && at >= sent
            && at < sent + n as u64
        {
            buf[(at - sent) as usize] ^= 0x01;
        }
        pace(&fault, start, sent + n as u64, shared);
        client.write_all(&buf[..n])?;
        sent += n as u64;
        shared.body_bytes_sent.fetch_add(n as u64, Ordering::SeqCst);
    }
    if complete {
        drain(body.into_inner());
    }

    match fault {
        Fault::StallAfter { for_ms, .. } => {
            client.flush()?;
            sleep_unless_stopped(Duration::from_millis(for_ms), shared);
        }
        Fault::Oversize { extra } | Fault::InflatedLength { extra } => {
            send_filler(&mut client, extra, shared)?;
        }
        Fault::Endless => {
            send_filler(&mut client, u64::MAX, shared)?;
        }
        _ => {}
    }
    finish(&client)
}

/// Reads upstream to its close. nginx logs a request before closing its
/// connection, so waiting for that close before closing the client's makes
/// the request's log line visible to a client that read to the end.
fn drain(mut upstream: impl Read) {
    let _ = io::copy(&mut upstream, &mut io::sink());
}

/// Sends the request upstream, as one `Connection: close` request.
fn forward(
    upstream: &Upstream,
    method: &str,
    target: &str,
    request: &Head,
    fault: &Fault,
) -> io::Result<TcpStream> {
    let mut stream = upstream.connect()?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = format!(
        "{method} {}{target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        upstream.prefix, upstream.host
    );
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if !PASSED_REQUEST_HEADERS.contains(&lower.as_str()) {
            continue;
        }
        if *fault == Fault::IgnoreRange && (lower == "range" || lower == "if-range") {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    Ok(stream)
}

/// How many bytes to move next: small pieces when slowed, so the rate is
/// smooth, and never past a cut.
fn chunk_len(fault: &Fault, until_cut: u64) -> usize {
    let piece = match fault {
        Fault::Slow { bytes_per_sec } => (*bytes_per_sec / 20).clamp(1, CHUNK as u64) as usize,
        _ => CHUNK,
    };
    piece.min(usize::try_from(until_cut).unwrap_or(usize::MAX))
}

/// For [`Fault::Slow`], waits until `after` bytes may have been sent.
fn pace(fault: &Fault, start: Instant, after: u64, shared: &Shared) {
    if let Fault::Slow { bytes_per_sec } = fault {
        let rate = (*bytes_per_sec).max(1);
        let due = Duration::from_nanos(
            u64::try_from(u128::from(after) * 1_000_000_000 / u128::from(rate)).unwrap_or(u64::MAX),
        );
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            sleep_unless_stopped(wait, shared);
        }
    }
}

/// Sleeps `total`, waking early if the proxy stops.
fn sleep_unless_stopped(total: Duration, shared: &Shared) {
    let deadline = Instant::now() + total;
    while !shared.stopped.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}

/// Sends `count` filler bytes (until the client leaves or the proxy stops).
fn send_filler(client: &mut TcpStream, count: u64, shared: &Shared) -> io::Result<()> {
    let buf = [FILLER; CHUNK];
    let mut left = count;
    while left > 0 && !shared.stopped.load(Ordering::SeqCst) {
        let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        client.write_all(&buf[..n])?;
        left -= n as u64;
        shared.body_bytes_sent.fetch_add(n as u64, Ordering::SeqCst);
    }
    Ok(())
}

/// Answers `code` with a short body, without asking upstream.
fn answer_status(
    client: &mut TcpStream,
    shared: &Shared,
    code: u16,
    head_only: bool,
) -> io::Result<()> {
    let body = format!("fault proxy: {code}\n");
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(code),
        body.len()
    );
    client.write_all(head.as_bytes())?;
    if !head_only {
        client.write_all(body.as_bytes())?;
        shared
            .body_bytes_sent
            .fetch_add(body.len() as u64, Ordering::SeqCst);
    }
    finish(client)
}

/// Closes the connection after what was written, without discarding it.
fn finish(client: &TcpStream) -> io::Result<()> {
    client.shutdown(Shutdown::Write)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Injected",
    }
}
