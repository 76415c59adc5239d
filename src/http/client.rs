//! The one HTTP client of a run: no automatic redirects (checks must see a 302 and its
//! Location), a timeout on every request, a cap on every body, and every exchange recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::exchange::{Exchange, RequestRecord, ResponseRecord, evidence_headers, evidence_text};
use super::guard::{Egress, Guard, GuardResolver};
use super::redact::Redactor;

/// How long a `text/event-stream` answer is read: a stream may never end, and the first event
/// is all a check needs.
const STREAM_READ_WINDOW: Duration = Duration::from_millis(1500);

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub url: String,
    /// Sent in order; a name may repeat (two `Authorization` headers is a test case).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A request to an OAuth endpoint (token, revocation, introspection): `query` appended to the
    /// URL; for a POST `params` form-encoded in the body, for a GET appended to the query too.
    pub fn form(
        method: &str,
        endpoint: &str,
        mut headers: Vec<(String, String)>,
        mut query: Vec<(String, String)>,
        params: Vec<(String, String)>,
    ) -> Request {
        let encode = |pairs: &[(String, String)]| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        };
        let body = if method == "GET" {
            query.extend(params);
            None
        } else {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            Some(encode(&params).into_bytes())
        };
        let query = encode(&query);
        let url = if query.is_empty() {
            endpoint.to_string()
        } else {
            let sep = if endpoint.contains('?') { '&' } else { '?' };
            format!("{endpoint}{sep}{query}")
        };
        Request {
            method: method.to_string(),
            url,
            headers,
            body,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Response {
    pub url: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// All values of a header, in order (names compare case-insensitively).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.header_values(name).next()
    }
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
    /// The media type without parameters, lower-cased.
    pub fn media_type(&self) -> Option<String> {
        self.content_type().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{method} {url}: invalid request: {detail}")]
    Build {
        method: String,
        url: String,
        detail: String,
    },
    #[error("{method} {url}: no answer within {secs} s")]
    Timeout {
        method: String,
        url: String,
        secs: u64,
    },
    #[error("{method} {url}: connection failed: {detail}")]
    Connect {
        method: String,
        url: String,
        detail: String,
    },
    #[error("{method} {url}: the response body exceeds the {limit}-byte limit")]
    TooLarge {
        method: String,
        url: String,
        limit: usize,
    },
    #[error("{method} {url}: the run's deadline passed")]
    Deadline { method: String, url: String },
    /// The guard kept the request in: its host is a special-use address the user did not give.
    #[error("{method} {url} was not sent: it {detail}")]
    Refused {
        method: String,
        url: String,
        /// "resolves to 127.0.0.2, a loopback address the target does not use; pass …".
        detail: String,
    },
    #[error("{method} {url}: {detail}")]
    Other {
        method: String,
        url: String,
        detail: String,
    },
}

impl HttpError {
    /// The error without the method and URL, for messages that name the URL already.
    pub fn brief(&self) -> String {
        match self {
            HttpError::Build { detail, .. } => format!("invalid request: {detail}"),
            HttpError::Timeout { secs, .. } => format!("no answer within {secs} s"),
            HttpError::Connect { detail, .. } => format!("connection failed: {detail}"),
            HttpError::TooLarge { limit, .. } => {
                format!("the response body exceeds the {limit}-byte limit")
            }
            HttpError::Deadline { .. } => DEADLINE_PASSED.to_string(),
            HttpError::Refused { url, detail, .. } => format!("not sent: {url} {detail}"),
            HttpError::Other { detail, .. } => detail.clone(),
        }
    }
}

/// The message of everything the run's deadline (`--deadline`) cut short.
pub const DEADLINE_PASSED: &str = "the run's deadline passed";

#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub timeout: Duration,
    pub max_body: usize,
    /// The end of the whole run (`--deadline`): no request is sent after it, and none waits
    /// past it.
    pub deadline: Option<Instant>,
    /// At most this many requests per second across the whole run (`--max-rps`).
    pub max_rps: Option<f64>,
    /// A 429 whose `Retry-After` is at most this long is waited out once and the request sent
    /// again (`--wait-retry-after`).
    pub wait_retry_after: Option<Duration>,
    /// Where requests may go: the user's own hosts and `--allow-host` besides public addresses.
    pub egress: Egress,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(10),
            max_body: 2 * 1024 * 1024,
            deadline: None,
            max_rps: None,
            wait_retry_after: None,
            egress: Egress::default(),
        }
    }
}

/// `mcp-oauth-conform/VERSION`, and the project's address when Cargo.toml names one.
pub fn user_agent() -> String {
    let name = concat!("mcp-oauth-conform/", env!("CARGO_PKG_VERSION"));
    let home = [env!("CARGO_PKG_REPOSITORY"), env!("CARGO_PKG_HOMEPAGE")]
        .into_iter()
        .find(|u| !u.is_empty());
    match home {
        Some(u) => format!("{name} (+{u})"),
        None => name.to_string(),
    }
}

/// Spaced permits: request *n* may start `n / max_rps` seconds after the first, whichever check
/// sends it. Waiting is a timer, never a busy loop.
struct Pacer {
    interval: Duration,
    next: std::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    fn new(rps: f64) -> Option<Pacer> {
        (rps.is_finite() && rps > 0.0).then(|| Pacer {
            interval: Duration::from_secs_f64(1.0 / rps),
            next: std::sync::Mutex::new(tokio::time::Instant::now()),
        })
    }

    /// Waits for this request's slot; `false` when the slot lies past the run's deadline.
    async fn wait(&self, deadline: Option<Instant>) -> bool {
        let slot = {
            let Ok(mut next) = self.next.lock() else {
                return true;
            };
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.interval;
            slot
        };
        let wait = slot.saturating_duration_since(tokio::time::Instant::now());
        if deadline.is_some_and(|d| Instant::now() + wait >= d) {
            return false;
        }
        tokio::time::sleep_until(slot).await;
        true
    }
}

pub struct HttpClient {
    inner: reqwest::Client,
    settings: HttpSettings,
    redactor: Arc<Redactor>,
    sent: AtomicU64,
    guard: Arc<Guard>,
    pacer: Option<Pacer>,
}

impl HttpClient {
    /// How long the run waits for any one answer.
    pub fn timeout(&self) -> std::time::Duration {
        self.settings.timeout
    }

    pub fn new(settings: HttpSettings, redactor: Arc<Redactor>) -> Result<Self, HttpError> {
        // reqwest is built without a default crypto provider; installing ring twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let guard = Arc::new(Guard::new(&settings.egress));
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(user_agent())
            // Names resolve through the guard: the connection goes to the addresses it judged.
            .dns_resolver(GuardResolver(guard.clone()))
            .build()
            .map_err(|e| HttpError::Other {
                method: String::new(),
                url: String::new(),
                detail: e.to_string(),
            })?;
        Ok(HttpClient {
            inner,
            redactor,
            sent: AtomicU64::new(0),
            pacer: settings.max_rps.and_then(Pacer::new),
            guard,
            settings,
        })
    }

    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
    }

    /// The end of the run (`--deadline`), if it has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.settings.deadline
    }

    /// Requests sent so far in this run.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends one request. The exchange is returned whether or not an answer arrived.
    pub async fn send(&self, req: &Request) -> (Exchange, Result<Response, HttpError>) {
        let started = Instant::now();
        self.learn_request(req);
        // The answer's own time: from when the request went out (after `--max-rps` spacing),
        // not counting a wait for Retry-After.
        let mut sent_at = None;
        let mut result = self.send_inner(req, &mut sent_at).await;
        if let Some(wait) = self.retry_wait(&result) {
            tokio::time::sleep(wait).await;
            result = self.send_inner(req, &mut sent_at).await;
        }
        let elapsed_ms = sent_at.unwrap_or(started).elapsed().as_millis() as u64;
        let request = RequestRecord {
            method: req.method.clone(),
            url: req.url.clone(),
            headers: req.headers.clone(),
            body: req.body.as_ref().map(|b| evidence_text(b).0),
        };
        let (response, error) = match &result {
            Ok(resp) => {
                let (body, body_truncated) = evidence_text(&resp.body);
                (
                    Some(ResponseRecord {
                        status: resp.status,
                        headers: evidence_headers(&resp.headers),
                        body,
                        body_truncated,
                    }),
                    None,
                )
            }
            Err((partial, e)) => (partial.clone(), Some(e.to_string())),
        };
        (
            Exchange {
                request,
                response,
                error,
                elapsed_ms,
            },
            result.map_err(|(_, e)| e),
        )
    }

    /// How long to wait before sending a request again: a 429 whose `Retry-After` is within
    /// `--wait-retry-after` and ends before the run's deadline. Otherwise the 429 stands.
    fn retry_wait(
        &self,
        result: &Result<Response, (Option<ResponseRecord>, HttpError)>,
    ) -> Option<Duration> {
        let bound = self.settings.wait_retry_after?;
        let resp = result.as_ref().ok().filter(|r| r.status == 429)?;
        let wait = retry_after(resp.header("retry-after")?, std::time::SystemTime::now())?;
        let fits = self
            .settings
            .deadline
            .is_none_or(|d| Instant::now() + wait < d);
        (wait <= bound && fits).then_some(wait)
    }

    fn learn_request(&self, req: &Request) {
        for (k, v) in &req.headers {
            self.redactor.learn_header(k, v);
        }
        self.redactor.learn_url(&req.url);
        if let Some(b) = &req.body {
            self.redactor.learn_body(b);
        }
    }

    async fn send_inner(
        &self,
        req: &Request,
        sent_at: &mut Option<Instant>,
    ) -> Result<Response, (Option<ResponseRecord>, HttpError)> {
        let (method, url) = (req.method.clone(), req.url.clone());
        let build_err = |detail: String| {
            (
                None,
                HttpError::Build {
                    method: method.clone(),
                    url: url.clone(),
                    detail,
                },
            )
        };
        let m = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| build_err(e.to_string()))?;
        // Nothing leaves before the guard has judged where it goes (a name is resolved for
        // that, within the answer's timeout).
        match tokio::time::timeout(self.settings.timeout, self.guard.check(&req.url)).await {
            Ok(Ok(())) => {}
            Ok(Err(r)) => {
                let detail = r.reason();
                return Err((
                    None,
                    HttpError::Refused {
                        method,
                        url,
                        detail,
                    },
                ));
            }
            Err(_) => {
                let secs = self.settings.timeout.as_secs().max(1);
                return Err((None, HttpError::Timeout { method, url, secs }));
            }
        }
        if let Some(p) = &self.pacer {
            if !p.wait(self.settings.deadline).await {
                return Err((None, HttpError::Deadline { method, url }));
            }
        }
        let mut builder = self.inner.request(m, &req.url);
        if let Some(d) = self.settings.deadline {
            // Whatever the per-answer timeout, no request outlives the run.
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err((None, HttpError::Deadline { method, url }));
            }
            builder = builder.timeout(left.min(self.settings.timeout));
        }
        for (k, v) in &req.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| build_err(e.to_string()))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| build_err(format!("header {k}: {e}")))?;
            builder = builder.header(name, value);
        }
        if let Some(b) = &req.body {
            builder = builder.body(b.clone());
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        *sent_at = Some(Instant::now());
        let mut resp = builder
            .send()
            .await
            .map_err(|e| (None, self.classify(&method, &url, &e)))?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        for (k, v) in &headers {
            self.redactor.learn_header(k, v);
        }
        let streaming = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type")
                && v.to_ascii_lowercase().starts_with("text/event-stream")
        });
        let deadline = streaming.then(|| tokio::time::Instant::now() + STREAM_READ_WINDOW);
        let mut body = Vec::new();
        loop {
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d, resp.chunk()).await {
                    Ok(r) => r,
                    Err(_) => break, // an open event stream: keep what arrived
                },
                None => resp.chunk().await,
            };
            match next {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.settings.max_body {
                        let take = self.settings.max_body - body.len();
                        body.extend_from_slice(&chunk[..take]);
                        return Err((
                            Some(partial_record(status, headers, &body)),
                            HttpError::TooLarge {
                                method,
                                url,
                                limit: self.settings.max_body,
                            },
                        ));
                    }
                    body.extend_from_slice(&chunk);
                    // A stream is read until it carries the JSON-RPC answer: servers open with
                    // a priming event (an id and empty data) before it.
                    if streaming && chunk.contains(&b'\n') && super::sse::stream_answered(&body) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return Err((
                        Some(partial_record(status, headers, &body)),
                        self.classify(&method, &url, &e),
                    ));
                }
            }
        }
        self.redactor.learn_body(&body);
        Ok(Response {
            url,
            status,
            headers,
            body,
        })
    }

    fn classify(&self, method: &str, url: &str, e: &reqwest::Error) -> HttpError {
        let (method, url) = (method.to_string(), url.to_string());
        // The guard refused the addresses a name resolved to when reqwest connected.
        if let Some(r) = super::guard::refusal_in(e) {
            return HttpError::Refused {
                method,
                url,
                detail: r.reason(),
            };
        }
        if e.is_timeout() && self.settings.deadline.is_some_and(|d| Instant::now() >= d) {
            return HttpError::Deadline { method, url };
        }
        if e.is_timeout() {
            return HttpError::Timeout {
                method,
                url,
                secs: self.settings.timeout.as_secs().max(1),
            };
        }
        let detail = error_chain(e);
        if e.is_connect() {
            HttpError::Connect {
                method,
                url,
                detail,
            }
        } else {
            HttpError::Other {
                method,
                url,
                detail,
            }
        }
    }
}

/// A `Retry-After` value as a wait from `now`: delta-seconds, or an IMF-fixdate
/// ("Sun, 06 Nov 1994 08:49:37 GMT", the form HTTP senders must use). `None` for anything else.
pub fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().ok().map(Duration::from_secs);
    }
    let at = imf_fixdate(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn imf_fixdate(v: &str) -> Option<std::time::SystemTime> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let (_, rest) = v.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, s] = hms[..] else {
        return None;
    };
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + mi * 60 + s).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Evidence of an answer that was cut off (too large, or broken mid-body).
fn partial_record(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> ResponseRecord {
    let (body, _) = evidence_text(body);
    ResponseRecord {
        status,
        headers: evidence_headers(&headers),
        body,
        body_truncated: true,
    }
}

/// What went wrong, briefly: reqwest's outer messages repeat the URL the caller already names,
/// so the root cause is what counts ("Connection refused (os error 111)").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut root = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        root = s.to_string();
        cur = s.source();
    }
    root
}

impl HttpClient {
    /// Sends a request and follows up to `max` redirects (as GETs, except 307/308 which keep the
    /// method and body). Every hop is recorded; a redirect loop ends at `max`.
    pub async fn send_following(
        &self,
        req: &Request,
        max: u8,
    ) -> (Vec<Exchange>, Result<Response, HttpError>) {
        let mut exchanges = Vec::new();
        let mut current = req.clone();
        let mut hops = 0u8;
        loop {
            let (ex, result) = self.send(&current).await;
            exchanges.push(ex);
            let resp = match result {
                Ok(r) => r,
                Err(e) => return (exchanges, Err(e)),
            };
            let location = resp.header("location").map(str::to_string);
            let (true, Some(loc)) = ((300..400).contains(&resp.status) && hops < max, location)
            else {
                return (exchanges, Ok(resp));
            };
            let Ok(next) = url::Url::parse(&current.url).and_then(|base| base.join(&loc)) else {
                return (exchanges, Ok(resp));
            };
            hops += 1;
            if !matches!(resp.status, 307 | 308) {
                current.method = "GET".into();
                current.body = None;
                current
                    .headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            }
            current.url = next.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = UNIX_EPOCH_PLUS(784_111_770); // Sun, 06 Nov 1994 08:49:30 GMT
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        // A date in the past means now.
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after("Thu, 01 Jan 1970 00:00:00 GMT", std::time::UNIX_EPOCH),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(
                "Tue, 29 Feb 2000 00:00:10 GMT",
                UNIX_EPOCH_PLUS(951_782_400)
            ),
            Some(Duration::from_secs(10))
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[allow(non_snake_case)]
    fn UNIX_EPOCH_PLUS(secs: u64) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn the_user_agent_names_the_tool_and_its_version() {
        let ua = user_agent();
        assert!(
            ua.starts_with(concat!("mcp-oauth-conform/", env!("CARGO_PKG_VERSION"))),
            "{ua}"
        );
        assert!(!ua.contains("(+)"), "{ua}");
    }

    /// Permits are spaced `1 / rps` apart across every caller; a slot past the deadline is
    /// refused at once instead of slept towards.
    #[tokio::test]
    async fn the_pacer_spaces_requests_and_respects_the_deadline() {
        let p = Pacer::new(50.0).unwrap();
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            assert!(p.wait(None).await);
        }
        // Five permits: the first at once, four more 20 ms apart.
        assert!(
            start.elapsed() >= Duration::from_millis(80),
            "{:?}",
            start.elapsed()
        );
        assert!(Pacer::new(0.0).is_none() && Pacer::new(f64::NAN).is_none());
        let p = Pacer::new(0.5).unwrap();
        assert!(p.wait(None).await);
        // The next slot is 2 s away, the deadline 1 s: refused at once, without sleeping.
        let before = tokio::time::Instant::now();
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(!p.wait(Some(deadline)).await);
        assert!(before.elapsed() < Duration::from_millis(500));
    }
}
