//! HTTP(S) requests with every answer held to what was asked: the status,
//! the exact byte range, a bounded length and a minimum rate.
//!
//! The client is `ureq` with rustls; proxies come from the environment
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`). A `file://`
//! URL is read from the local folder it names, under the same rules
//! (see `local`).

use crate::error::{FetchError, MirrorProblem};
use crate::local;
use std::io::{self, Read};
use std::time::{Duration, Instant};
use ureq::tls::{PemItem, RootCerts, TlsConfig, parse_pem};

/// How patient the client is with mirrors.
#[derive(Clone, Debug)]
pub struct Options {
    /// Longest wait for a connection (and TLS handshake).
    pub connect_timeout: Duration,
    /// Longest silence, for the response's headers or any read of its
    /// body: a mirror that stalls this long is dropped.
    pub read_timeout: Duration,
    /// Bytes per second below which a body is too slow, measured over
    /// `rate_window`.
    pub min_rate: u64,
    /// How long the rate is measured over before it is judged.
    pub rate_window: Duration,
    /// Attempts per mirror for a transient failure (a broken connection,
    /// a 5xx, a timeout) before the next mirror is tried.
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each next one.
    pub backoff: Duration,
    /// Certificates (PEM) of the authorities to trust for HTTPS mirrors
    /// instead of the Mozilla roots, for example a company's own CA;
    /// `None`: the Mozilla roots.
    pub ca_certificates: Option<Vec<u8>>,
}

impl Options {
    /// Waits before attempt `attempt + 1` of the same request, after a
    /// transient failure: `backoff`, doubled for each attempt after the
    /// first.
    pub(crate) fn pause_after(&self, attempt: u32) {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        std::thread::sleep(self.backoff.saturating_mul(factor));
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            min_rate: 1024,
            rate_window: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_millis(500),
            ca_certificates: None,
        }
    }
}

/// The HTTP client.
pub(crate) struct Http {
    agent: ureq::Agent,
    pub(crate) options: Options,
}

impl Http {
    pub(crate) fn new(options: Options) -> Result<Http, FetchError> {
        let mut config = ureq::Agent::config_builder()
            // Statuses are judged here, one by one.
            .http_status_as_error(false)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_recv_response(Some(options.read_timeout))
            .timeout_per_read(Some(options.read_timeout))
            .user_agent(concat!("hpk/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.ca_certificates {
            let roots = certificates(pem)?;
            config = config.tls_config(TlsConfig::builder().root_certs(roots).build());
        }
        let agent = config.build().new_agent();
        Ok(Http { agent, options })
    }

    /// GETs a whole small file of at most `limit` bytes; `None` if the
    /// server says it does not exist (404 or 410).
    pub(crate) fn get_small(
        &self,
        url: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, MirrorProblem> {
        if let Some(path) = local::path_of(url) {
            return local::read_small(&path, limit);
        }
        let response = self.agent.get(url).call().map_err(transport)?;
        let status = response.status().as_u16();
        if status == 404 || status == 410 {
            return Ok(None);
        }
        if status != 200 {
            return Err(MirrorProblem::Status(status));
        }
        if response
            .body()
            .content_length()
            .is_some_and(|len| len > limit)
        {
            return Err(MirrorProblem::TooLong { limit });
        }
        let mut body = Vec::new();
        let reader = Box::new(response.into_body().into_reader());
        self.paced(reader, limit.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(read_problem)?;
        if body.len() as u64 > limit {
            return Err(MirrorProblem::TooLong { limit });
        }
        Ok(Some(body))
    }

    /// GETs bytes `[start, end)` of a file of `total` bytes: the answer
    /// must be a 206 for exactly that range. The reader yields exactly
    /// `end - start` bytes and then checks that nothing follows.
    pub(crate) fn get_range(
        &self,
        url: &str,
        start: u64,
        end: u64,
        total: u64,
    ) -> Result<RangeReader, MirrorProblem> {
        let len = end.saturating_sub(start);
        if let Some(path) = local::path_of(url) {
            return Ok(RangeReader {
                inner: self.paced(local::open_range(&path, start, end, total)?, len),
                left: len,
                expected: len,
            });
        }
        let last = end.saturating_sub(1);
        let response = self
            .agent
            .get(url)
            .header("Range", format!("bytes={start}-{last}"))
            .call()
            .map_err(transport)?;
        match response.status().as_u16() {
            206 => {}
            200 => return Err(MirrorProblem::IgnoresRange),
            other => return Err(MirrorProblem::Status(other)),
        }
        let expected = format!("bytes {start}-{last}/{total}");
        let range = response
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        // The right range of a file of another size: another file (VF2).
        let asked = format!("bytes {start}-{last}/");
        if let Some(other) = range
            .and_then(|r| r.strip_prefix(asked.as_str()))
            .filter(|t| *t != total.to_string())
        {
            return Err(MirrorProblem::Invalid(format!(
                "it serves a file of {other} bytes where the catalog entry names one of {total}"
            )));
        }
        if range != Some(expected.as_str()) {
            return Err(MirrorProblem::WrongRange(format!(
                "asked for {expected}, got {}",
                range.unwrap_or("no Content-Range")
            )));
        }
        if let Some(declared) = response.body().content_length()
            && declared != len
        {
            return Err(MirrorProblem::WrongRange(format!(
                "Content-Length {declared} for a range of {len} bytes"
            )));
        }
        let reader = Box::new(response.into_body().into_reader());
        Ok(RangeReader {
            inner: self.paced(reader, len.saturating_add(1)),
            left: len,
            expected: len,
        })
    }

    fn paced(&self, reader: Box<dyn Read>, limit: u64) -> Paced {
        Paced {
            inner: reader.take(limit),
            min_rate: self.options.min_rate,
            window: self.options.rate_window,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }
}

/// The certificates of a PEM file, as the only roots to trust; other
/// PEM items (a key, say) are ignored, and a file without a certificate
/// is an error.
fn certificates(pem: &[u8]) -> Result<RootCerts, FetchError> {
    let bad = |why: String| FetchError::Certificates(why);
    let mut certs = Vec::new();
    for item in parse_pem(pem) {
        if let PemItem::Certificate(cert) = item.map_err(|e| bad(e.to_string()))? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(RootCerts::new_with_certs(&certs))
}

/// A body that must keep at least a minimum rate.
pub(crate) struct Paced {
    inner: io::Take<Box<dyn Read>>,
    min_rate: u64,
    window: Duration,
    window_start: Instant,
    window_bytes: u64,
}

impl Read for Paced {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.window_bytes = self.window_bytes.saturating_add(n as u64);
        let elapsed = self.window_start.elapsed();
        if elapsed >= self.window && !self.window.is_zero() {
            let rate = u128::from(self.window_bytes)
                .saturating_mul(1000)
                .checked_div(elapsed.as_millis().max(1))
                .map_or(u64::MAX, |r| u64::try_from(r).unwrap_or(u64::MAX));
            if rate < self.min_rate {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    SlowBody {
                        rate,
                        minimum: self.min_rate,
                    },
                ));
            }
            self.window_start = Instant::now();
            self.window_bytes = 0;
        }
        Ok(n)
    }
}

/// The error a [`Paced`] read fails with.
#[derive(Debug)]
struct SlowBody {
    rate: u64,
    minimum: u64,
}

impl std::fmt::Display for SlowBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes/s, below {} bytes/s", self.rate, self.minimum)
    }
}

impl std::error::Error for SlowBody {}

/// The body of a 206: exactly its range, then nothing.
pub(crate) struct RangeReader {
    inner: Paced,
    left: u64,
    expected: u64,
}

impl RangeReader {
    /// Fills `buf` entirely from the body.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Result<(), MirrorProblem> {
        let mut done = 0usize;
        while done < buf.len() {
            let want = buf
                .len()
                .saturating_sub(done)
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            if want == 0 {
                return Err(MirrorProblem::Truncated {
                    expected: self.expected,
                    received: self.expected.saturating_sub(self.left),
                });
            }
            let piece = buf
                .get_mut(done..done.saturating_add(want))
                .unwrap_or_default();
            match self.inner.read(piece) {
                Ok(0) => {
                    return Err(MirrorProblem::Truncated {
                        expected: self.expected,
                        received: self.expected.saturating_sub(self.left),
                    });
                }
                Ok(n) => {
                    done = done.saturating_add(n);
                    self.left = self.left.saturating_sub(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_problem(e)),
            }
        }
        Ok(())
    }

    /// After the whole range: one more byte is a body longer than its
    /// range (an endless or oversize body), refused without reading on.
    pub(crate) fn finish(mut self) -> Result<(), MirrorProblem> {
        if self.left != 0 {
            return Err(MirrorProblem::Truncated {
                expected: self.expected,
                received: self.expected.saturating_sub(self.left),
            });
        }
        let mut one = [0u8; 1];
        match self.inner.read(&mut one) {
            Ok(0) => Ok(()),
            Ok(_) => Err(MirrorProblem::TooLong {
                limit: self.expected,
            }),
            // The range was whole; a connection that breaks after it is
            // not the mirror's fault worth dropping it for.
            Err(_) => Ok(()),
        }
    }
}

fn transport(e: ureq::Error) -> MirrorProblem {
    MirrorProblem::Transport(e.to_string())
}

fn read_problem(e: io::Error) -> MirrorProblem {
    if let Some(slow) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<SlowBody>())
    {
        return MirrorProblem::TooSlow {
            rate: slow.rate,
            minimum: slow.minimum,
        };
    }
    MirrorProblem::Transport(e.to_string())
}
