//! The HTTP test kit itself: nginx serves files and ranges and logs them,
//! and the fault proxy forwards faithfully or misbehaves exactly as asked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hpk_tests::fault_proxy::{Fault, FaultProxy};
use hpk_tests::nginx::{LogEntry, Nginx};

/// The served file's size.
const SIZE: usize = 100_000;

/// A served folder holding `data.bin` (`SIZE` bytes of a fixed pattern
/// with no repeats at short periods).
fn fixture() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x1234_5678_u32;
    let data: Vec<u8> = (0..SIZE)
        .map(|_| {
            // xorshift32
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(dir.path().join("data.bin"), &data).unwrap();
    (dir, data)
}

/// A response head.
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A whole response, its body read to the connection's end.
struct Response {
    head: Head,
    body: Vec<u8>,
}

/// Sends one `Connection: close` request and reads the response head; the
/// body is left in the returned reader.
fn open(
    method: &str,
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (Head, BufReader<TcpStream>) {
    let authority = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();

    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"))
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    (Head { status, headers }, reader)
}

fn get(base: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let (head, mut reader) = open("GET", base, path, headers);
    let mut body = Vec::new();
    reader.read_to_end(&mut body).unwrap();
    Response { head, body }
}

fn range(from: usize, to_inclusive: usize) -> String {
    format!("bytes={from}-{to_inclusive}")
}

#[test]
fn nginx_serves_whole_files_and_ranges_and_logs_them() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    assert!(nginx.url().starts_with("http://127.0.0.1:"));

    let whole = get(&nginx.url(), "/data.bin", &[]);
    assert_eq!(whole.head.status, 200);
    assert_eq!(whole.head.header("content-length"), Some("100000"));
    assert_eq!(whole.head.header("accept-ranges"), Some("bytes"));
    assert!(whole.head.header("etag").is_some());
    assert!(whole.body == data);

    let part = get(&nginx.url(), "/data.bin", &[("Range", &range(1000, 1999))]);
    assert_eq!(part.head.status, 206);
    assert_eq!(
        part.head.header("content-range"),
        Some("bytes 1000-1999/100000")
    );
    assert_eq!(part.head.header("content-length"), Some("1000"));
    assert!(part.body == data[1000..2000]);

    let missing = get(&nginx.url(), "/missing.bin", &[]);
    assert_eq!(missing.head.status, 404);

    let log = nginx.requests();
    assert_eq!(
        log[..2],
        [
            LogEntry {
                method: "GET".into(),
                path: "/data.bin".into(),
                status: 200,
                body_bytes_sent: SIZE as u64,
                range: None,
            },
            LogEntry {
                method: "GET".into(),
                path: "/data.bin".into(),
                status: 206,
                body_bytes_sent: 1000,
                range: Some("bytes=1000-1999".into()),
            },
        ]
    );
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].status, 404);
    assert_eq!(
        nginx.body_bytes_sent_total(),
        SIZE as u64 + 1000 + log[2].body_bytes_sent
    );
}

#[test]
fn nginx_clear_log_resets_the_byte_count() {
    let (dir, _) = fixture();
    let nginx = Nginx::serve(dir.path());
    get(&nginx.url(), "/data.bin", &[]);
    assert_eq!(nginx.body_bytes_sent_total(), SIZE as u64);

    nginx.clear_log();
    assert!(nginx.requests().is_empty());
    assert_eq!(nginx.body_bytes_sent_total(), 0);

    get(&nginx.url(), "/data.bin", &[("Range", &range(0, 99))]);
    assert_eq!(nginx.wait_requests(1).len(), 1);
    assert_eq!(nginx.body_bytes_sent_total(), 100);
}

#[test]
fn nginx_stops_on_drop() {
    let (dir, _) = fixture();
    let nginx = Nginx::serve(dir.path());
    let authority = nginx.url().strip_prefix("http://").unwrap().to_string();
    drop(nginx);
    assert!(TcpStream::connect(authority).is_err());
}

#[test]
fn proxy_forwards_faithfully() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());

    let direct = get(&nginx.url(), "/data.bin", &[]);
    let whole = get(&proxy.url(), "/data.bin", &[]);
    assert_eq!(whole.head.status, 200);
    assert!(whole.body == data);
    for name in [
        "content-length",
        "content-type",
        "etag",
        "last-modified",
        "accept-ranges",
    ] {
        assert_eq!(whole.head.header(name), direct.head.header(name), "{name}");
    }
    assert_eq!(whole.head.header("connection"), Some("close"));

    let etag = whole.head.header("etag").unwrap().to_string();
    let part = get(
        &proxy.url(),
        "/data.bin",
        &[("Range", &range(50_000, 50_099)), ("If-Range", &etag)],
    );
    assert_eq!(part.head.status, 206);
    assert_eq!(
        part.head.header("content-range"),
        Some("bytes 50000-50099/100000")
    );
    assert!(part.body == data[50_000..50_100]);

    let (head, mut reader) = open("HEAD", &proxy.url(), "/data.bin", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("100000"));
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    assert_eq!(get(&proxy.url(), "/missing.bin", &[]).head.status, 404);

    assert_eq!(proxy.requests(), 4);
    let log = nginx.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[2].range.as_deref(), Some("bytes=50000-50099"));
    assert_eq!(log[3].method, "HEAD");
    // The 404's body came from nginx too.
    assert_eq!(
        proxy.body_bytes_sent(),
        SIZE as u64 + 100 + log[4].body_bytes_sent
    );
}

#[test]
fn proxy_corrupts_exactly_one_byte() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());

    // Past the first read chunk, to cover the offset arithmetic.
    proxy.set_fault(Fault::Corrupt { at: 54_321 });
    let whole = get(&proxy.url(), "/data.bin", &[]);
    assert_eq!(whole.body.len(), SIZE);
    let differing: Vec<usize> = (0..SIZE).filter(|&i| whole.body[i] != data[i]).collect();
    assert_eq!(differing, [54_321]);
    assert_eq!((whole.body[54_321] ^ data[54_321]).count_ones(), 1);

    // The offset counts within the range's body.
    let part = get(
        &proxy.url(),
        "/data.bin",
        &[("Range", &range(54_000, 54_999))],
    );
    assert!(part.body == data[54_000..55_000]);
    proxy.set_fault(Fault::Corrupt { at: 10 });
    let part = get(
        &proxy.url(),
        "/data.bin",
        &[("Range", &range(54_000, 54_999))],
    );
    let differing: Vec<usize> = (0..1000)
        .filter(|&i| part.body[i] != data[54_000 + i])
        .collect();
    assert_eq!(differing, [10]);
}

#[test]
fn proxy_drops_after_n_bytes() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    proxy.set_fault(Fault::DropAfter { bytes: 12_345 });
    let cut = get(&proxy.url(), "/data.bin", &[]);
    assert_eq!(cut.head.status, 200);
    assert_eq!(cut.head.header("content-length"), Some("100000"));
    assert_eq!(cut.body.len(), 12_345);
    assert!(cut.body == data[..12_345]);
    assert_eq!(proxy.body_bytes_sent(), 12_345);
}

#[test]
fn proxy_stalls_then_closes() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    proxy.set_fault(Fault::StallAfter {
        bytes: 500,
        for_ms: 400,
    });
    let (head, mut reader) = open("GET", &proxy.url(), "/data.bin", &[]);
    assert_eq!(head.status, 200);
    let mut first = vec![0u8; 500];
    reader.read_exact(&mut first).unwrap();
    let stalled_at = Instant::now();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    let stall = stalled_at.elapsed();
    assert!(first == data[..500]);
    assert!(rest.is_empty(), "{} bytes after the stall", rest.len());
    assert!(
        stall >= Duration::from_millis(300),
        "stalled only {stall:?}"
    );
}

#[test]
fn proxy_slows_the_body() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    // 2,000 bytes at 8,000 bytes per second: at least 250 ms.
    proxy.set_fault(Fault::Slow {
        bytes_per_sec: 8_000,
    });
    let started = Instant::now();
    let part = get(&proxy.url(), "/data.bin", &[("Range", &range(0, 1999))]);
    let took = started.elapsed();
    assert!(part.body == data[..2000]);
    assert!(took >= Duration::from_millis(250), "took only {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn proxy_ignores_range() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    proxy.set_fault(Fault::IgnoreRange);
    let response = get(&proxy.url(), "/data.bin", &[("Range", &range(10, 19))]);
    assert_eq!(response.head.status, 200);
    assert_eq!(response.head.header("content-range"), None);
    assert!(response.body == data);
    assert_eq!(nginx.requests()[0].range, None);
}

#[test]
fn proxy_answers_a_status_without_upstream() {
    let (dir, _) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    for code in [416, 500, 503] {
        proxy.set_fault(Fault::Status(code));
        let response = get(&proxy.url(), "/data.bin", &[("Range", &range(0, 9))]);
        assert_eq!(response.head.status, code);
        assert!(!response.body.is_empty());
    }
    assert_eq!(proxy.requests(), 3);
    assert!(nginx.requests().is_empty());
}

#[test]
fn proxy_fails_first_requests_then_recovers() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    proxy.set_fault(Fault::FailFirst {
        n: 2,
        then: Box::new(Fault::None),
    });
    assert_eq!(get(&proxy.url(), "/data.bin", &[]).head.status, 503);
    assert_eq!(get(&proxy.url(), "/data.bin", &[]).head.status, 503);
    let response = get(&proxy.url(), "/data.bin", &[]);
    assert_eq!(response.head.status, 200);
    assert!(response.body == data);
    assert_eq!(nginx.requests().len(), 1);
}

#[test]
fn proxy_streams_endlessly() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    proxy.set_fault(Fault::Endless);

    let (head, reader) = open("GET", &proxy.url(), "/data.bin", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), None);
    let mut body = Vec::new();
    let limit = 3 * SIZE as u64;
    reader.take(limit).read_to_end(&mut body).unwrap();
    assert_eq!(body.len() as u64, limit);
    assert!(body[..SIZE] == data);

    let (head, reader) = open(
        "GET",
        &proxy.url(),
        "/data.bin",
        &[("Range", &range(100, 199))],
    );
    assert_eq!(head.status, 206);
    assert_eq!(head.header("content-range"), Some("bytes 100-199/100000"));
    assert_eq!(head.header("content-length"), None);
    let mut body = Vec::new();
    reader.take(10_000).read_to_end(&mut body).unwrap();
    assert_eq!(body.len(), 10_000);
    assert!(body[..100] == data[100..200]);
}

#[test]
fn proxy_sends_more_than_declared() {
    let (dir, data) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());

    proxy.set_fault(Fault::Oversize { extra: 777 });
    let response = get(&proxy.url(), "/data.bin", &[]);
    assert_eq!(response.head.header("content-length"), Some("100000"));
    assert_eq!(response.body.len(), SIZE + 777);
    assert!(response.body[..SIZE] == data);

    let response = get(&proxy.url(), "/data.bin", &[("Range", &range(0, 99))]);
    assert_eq!(response.head.status, 206);
    assert_eq!(
        response.head.header("content-range"),
        Some("bytes 0-99/100000")
    );
    assert_eq!(response.head.header("content-length"), Some("100"));
    assert_eq!(response.body.len(), 877);

    proxy.set_fault(Fault::InflatedLength { extra: 50 });
    let response = get(&proxy.url(), "/data.bin", &[("Range", &range(0, 99))]);
    assert_eq!(response.head.status, 206);
    assert_eq!(
        response.head.header("content-range"),
        Some("bytes 0-99/100000")
    );
    assert_eq!(response.head.header("content-length"), Some("150"));
    assert_eq!(response.body.len(), 150);
    assert!(response.body[..100] == data[..100]);
}

#[test]
fn proxy_stops_on_drop() {
    let (dir, _) = fixture();
    let nginx = Nginx::serve(dir.path());
    let proxy = FaultProxy::start(&nginx.url());
    let authority = proxy.url().strip_prefix("http://").unwrap().to_string();
    assert_eq!(get(&proxy.url(), "/data.bin", &[]).head.status, 200);
    drop(proxy);
    assert!(TcpStream::connect(authority).is_err());
}
