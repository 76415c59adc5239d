//! A live loopback server answering with broken things: the tool must end within its timeouts
//! with fail/error verdicts and clear messages, exit 1 or 3, write results.json, never panic.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::routing::any;

/// Generous: the runs below take a few seconds; only a hang reaches this.
const DEADLINE: Duration = Duration::from_secs(90);

fn response(status: u16, headers: &[(&str, &str)], body: &'static str) -> Response<Body> {
    let mut r = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(body)).unwrap()
}

/// Starts a server on its own thread and runtime; it lives until the test process ends.
fn serve(router: fn(SocketAddr) -> Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tx.send(addr).unwrap();
            axum::serve(listener, router(addr)).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    results: serde_json::Value,
    /// Peak resident memory of the tool, in KiB (getrusage's ru_maxrss).
    max_rss_kib: i64,
    elapsed: Duration,
}

/// Memory a run may use whatever the server sends: 16 checks at a time, each holding at most
/// one body of `max_body` (2 MiB). Without the caps a 100 MB answer alone exceeds it.
const RSS_LIMIT_KIB: i64 = 300 * 1024;

fn run_tool(rs: &str) -> Outcome {
    run_tool_with(rs, &["--timeout", "2"])
}

fn run_tool_with(rs: &str, args: &[&str]) -> Outcome {
    let dir = tempdir();
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .args(["--rs", rs])
        .args(args)
        .arg("--report-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Output is drained while the tool runs (it can print more than a pipe holds).
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    // wait4 rather than Child::wait: it also reports the child's peak memory.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: plain syscall on our own child; `usage` is a zeroed out-parameter.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        assert_eq!(r, pid as libc::pid_t, "wait4 failed");
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -libc::WTERMSIG(status)
        };
        let _ = tx.send((code, usage.ru_maxrss));
    });
    let (code, max_rss_kib) = match rx.recv_timeout(DEADLINE) {
        Ok(r) => r,
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("mcp-oauth-conform --rs {rs} did not finish within {DEADLINE:?}");
        }
    };
    let elapsed = started.elapsed();
    eprintln!("{rs}: exit {code}, {elapsed:?}, peak memory {max_rss_kib} KiB");
    drop(child);
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked") && code >= 0,
        "a panic or a signal ({code}):\n{stdout}\n{stderr}"
    );
    assert!(
        max_rss_kib < RSS_LIMIT_KIB,
        "the tool used {max_rss_kib} KiB (limit {RSS_LIMIT_KIB}):\n{stdout}"
    );
    let text = std::fs::read_to_string(dir.join("results.json"))
        .unwrap_or_else(|e| panic!("no results.json ({e}):\n{stdout}\n{stderr}"));
    let results = serde_json::from_str(&text).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        code,
        stdout,
        stderr,
        results,
        max_rss_kib,
        elapsed,
    }
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conform-hostile-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn verdict(o: &Outcome, id: &str) -> (String, String) {
    let c = o.results["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in results"));
    (
        c["verdict"].as_str().unwrap().to_string(),
        c["message"].as_str().unwrap().to_string(),
    )
}

fn assert_contract_shape(o: &Outcome) {
    for key in ["tool", "target", "spec", "duration_ms", "summary", "checks"] {
        assert!(o.results.get(key).is_some(), "results.json lacks {key}");
    }
    assert!(o.results["checks"].as_array().unwrap().len() > 40);
}

#[test]
fn html_everywhere_fails_with_clear_messages() {
    let addr = serve(|_| {
        Router::new().fallback(any(|| async {
            response(
                200,
                &[("content-type", "text/html")],
                "<html><body>Welcome</body></html>",
            )
        }))
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_contract_shape(&o);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(
        (v.as_str(), m.as_str()),
        ("fail", "status 200, expected 401")
    );
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail");
    assert!(m.contains("not JSON"), "{m}");
}

#[test]
fn an_array_where_an_object_belongs_is_named() {
    let addr = serve(|addr| {
        let _ = addr;
        Router::new()
            .route("/mcp", any(|| async { response(401, &[("www-authenticate", "Bearer resource_metadata=\"/.well-known/oauth-protected-resource/mcp\"")], "") }))
            .route("/.well-known/oauth-protected-resource/mcp", any(|| async { response(200, &[("content-type", "application/json")], "[\"resource\", \"authorization_servers\"]") }))
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 1);
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail");
    assert!(
        m.contains("expected a JSON object, got a JSON array"),
        "{m}"
    );
    // The relative resource_metadata is not an absolute URL: named as such.
    let (v, m) = verdict(&o, "rs.resource-metadata-param");
    assert_eq!(v, "fail", "{m}");
}

#[test]
fn a_500_on_the_metadata_and_a_redirect_loop_end_cleanly() {
    let addr = serve(|addr| {
        let _ = addr;
        Router::new()
            .route(
                "/mcp",
                any(|| async { response(401, &[("www-authenticate", "Bearer realm=\"x\"")], "") }),
            )
            .route(
                "/.well-known/oauth-protected-resource/mcp",
                any(|| async { response(500, &[], "boom") }),
            )
            .route(
                "/.well-known/oauth-protected-resource",
                any(|| async {
                    response(
                        302,
                        &[("location", "/.well-known/oauth-protected-resource")],
                        "",
                    )
                }),
            )
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 1);
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail");
    assert!(m.contains("HTTP 500") && m.contains("redirect"), "{m}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let addr = serve(|_| {
        Router::new().fallback(any(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            response(200, &[], "")
        }))
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 3, "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "error");
    assert!(m.contains("no answer within 2 s"), "{m}");
}

#[test]
fn a_closed_port_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = run_tool(&format!("http://127.0.0.1:{port}/mcp"));
    assert_eq!(o.code, 3);
    assert!(o.stdout.contains("unreachable"), "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "error");
    assert!(m.contains("connection failed"), "{m}");
}

// Servers below the HTTP library's level: raw bytes on a socket.

/// Reads one request (head and any Content-Length body, so that closing sends no reset unless a
/// scenario wants one) and returns its path.
fn read_request(s: &mut std::net::TcpStream) -> Option<String> {
    use std::io::Read;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    head.split(' ').nth(1).map(str::to_string)
}

/// A server answering each request on its own connection with `answer(path, socket)`.
fn serve_raw(answer: fn(&str, std::net::TcpStream)) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                if let Some(path) = read_request(&mut s) {
                    answer(&path, s);
                }
            });
        }
    });
    addr
}

fn write_raw(mut s: std::net::TcpStream, bytes: &[u8]) {
    use std::io::Write;
    let _ = s.write_all(bytes);
    let _ = s.flush();
    let _ = s.shutdown(std::net::Shutdown::Write);
    // Let the client read before the socket closes.
    std::thread::sleep(Duration::from_millis(100));
}

/// The 401 a conforming MCP endpoint sends, pointing at the server's own metadata.
const CHALLENGE_401: &[u8] = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer resource_metadata=\"/.well-known/oauth-protected-resource/mcp\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

fn messages(o: &Outcome) -> Vec<(String, String, String)> {
    o.results["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn no_check_passes_or_fails_silently(o: &Outcome) {
    for (id, v, m) in messages(o) {
        assert!(!m.trim().is_empty(), "{id}: {v} without a message");
    }
}

#[test]
fn a_100_mb_body_is_cut_at_the_size_cap() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SENT: AtomicU64 = AtomicU64::new(0);
    const HUGE: u64 = 100 * 1024 * 1024;
    let addr = serve(|_| {
        Router::new().fallback(any(|| async {
            let chunk = bytes_of(64 * 1024);
            let stream = futures_util::stream::iter((0..HUGE / (64 * 1024)).map(move |_| {
                SENT.fetch_add(64 * 1024, Ordering::Relaxed);
                Ok::<_, std::io::Error>(chunk.clone())
            }));
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .unwrap()
        }))
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 3, "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "error");
    assert!(
        m.contains("exceeds the 2097152-byte limit"),
        "{m}\n{}",
        o.stdout
    );
    // The tool stopped reading: the server could not write even one whole body per request.
    let requests = o.results["requests"].as_u64().unwrap();
    let sent = SENT.load(Ordering::Relaxed);
    assert!(
        sent < requests.max(1) * 16 * 1024 * 1024,
        "{sent} bytes sent for {requests} requests"
    );
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b' '; n])
}

#[test]
fn a_body_dripped_slowly_times_out() {
    let addr = serve_raw(|_, mut s| {
        use std::io::Write;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n[");
        // One byte every 100 ms: always something arriving, never the end.
        for _ in 0..100_000 {
            std::thread::sleep(Duration::from_millis(100));
            if s.write_all(b" ").is_err() {
                return;
            }
        }
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 3, "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "error");
    assert!(m.contains("no answer within 2 s"), "{m}");
}

#[test]
fn a_reset_connection_is_an_error() {
    let addr = serve_raw(|_, s| {
        // SO_LINGER 0: close() sends a reset instead of a FIN.
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a socket this thread owns, with a correctly sized struct.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        drop(s);
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 3, "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "error");
    assert!(m.contains("reset") || m.contains("closed"), "{m}");
    no_check_passes_or_fails_silently(&o);
}

#[test]
fn a_redirect_loop_everywhere_ends() {
    let addr = serve(|_| {
        Router::new().fallback(any(|uri: axum::http::Uri| async move {
            let here = uri.path().to_string();
            Response::builder()
                .status(302)
                .header("location", here)
                .body(Body::empty())
                .unwrap()
        }))
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert_eq!(o.code, 1, "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(
        (v.as_str(), m.as_str()),
        ("fail", "status 302, expected 401")
    );
    let (v, _) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail");
}

#[test]
fn invalid_bytes_in_headers_are_named_not_fatal() {
    let addr = serve_raw(|path, s| {
        let answer: &[u8] = if path == "/mcp" {
            // obs-text (bytes above 0x7f, not UTF-8) in a challenge: legal on the wire.
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"\xff\xfe\", resource_metadata=\"/.well-known/oauth-protected-resource/mcp\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        } else {
            // A NUL in a header value: not HTTP at all.
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Broken: a\x00b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        };
        write_raw(s, answer);
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert!(matches!(o.code, 1 | 3), "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "pass", "{m}");
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail", "{m}");
    assert!(m.to_lowercase().contains("header"), "{m}");
    no_check_passes_or_fails_silently(&o);
}

#[test]
fn duplicate_and_oversized_headers_stay_bounded() {
    let addr = serve_raw(|path, s| {
        let mut answer = Vec::new();
        if path == "/mcp" {
            answer.extend_from_slice(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer resource_metadata=\"/.well-known/oauth-protected-resource/mcp\"\r\nWWW-Authenticate: Bearer resource_metadata=\"/.well-known/oauth-protected-resource/other\"\r\nContent-Type: application/json\r\nContent-Type: text/html\r\n");
            for i in 0..4 {
                answer.extend_from_slice(format!("X-Large-{i}: ").as_bytes());
                answer.extend(std::iter::repeat_n(b'b', 90_000));
                answer.extend_from_slice(b"\r\n");
            }
        } else if path.starts_with("/.well-known/oauth-protected-resource") {
            // 2 MB of header: more than any HTTP client should accept.
            answer.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Huge: ",
            );
            answer.extend(std::iter::repeat_n(b'a', 2 << 20));
            answer.extend_from_slice(b"\r\n");
        } else {
            // 200 KB of header on every other answer: accepted, but not copied into every record.
            answer.extend_from_slice(b"HTTP/1.1 404 Not Found\r\n");
            for i in 0..4 {
                answer.extend_from_slice(format!("X-Large-{i}: ").as_bytes());
                answer.extend(std::iter::repeat_n(b'b', 50_000));
                answer.extend_from_slice(b"\r\n");
            }
        }
        answer.extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
        write_raw(s, &answer);
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert!(matches!(o.code, 1 | 3), "{}", o.stdout);
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail", "{m}");
    // The evidence keeps header values short: results.json stays small.
    let size = o.results.to_string().len();
    assert!(size < 2 << 20, "results.json is {size} bytes");
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "pass", "{m}");
    no_check_passes_or_fails_silently(&o);
}

#[test]
fn deeply_nested_json_is_refused_without_a_stack_overflow() {
    let addr = serve(|_| {
        Router::new()
            .route(
                "/mcp",
                any(|| async {
                    response(
                        401,
                        &[(
                            "www-authenticate",
                            "Bearer resource_metadata=\"/.well-known/oauth-protected-resource/mcp\"",
                        )],
                        "",
                    )
                }),
            )
            .route(
                "/.well-known/oauth-protected-resource/mcp",
                any(|| async {
                    // 500 000 levels: far past serde_json's recursion limit of 128.
                    let body = "[".repeat(500_000) + &"]".repeat(500_000);
                    Response::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .body(Body::from(body))
                        .unwrap()
                }),
            )
            .route(
                "/.well-known/oauth-protected-resource",
                any(|| async { response(404, &[], "") }),
            )
            .fallback(any(|| async {
                // 100 levels: valid, and every reader of it must cope.
                let body = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap()
            }))
    });
    let o = run_tool_with(
        &format!("http://{addr}/mcp"),
        &["--timeout", "2", "--spec", "2025-11-25"],
    );
    assert_eq!(o.code, 1, "{}", o.stdout);
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail", "{m}");
    assert!(m.contains("recursion limit"), "{m}");
}

#[test]
fn a_truncated_body_is_an_error() {
    let addr = serve_raw(|path, s| {
        if path == "/mcp" {
            write_raw(s, CHALLENGE_401);
        } else {
            write_raw(s, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n{\"resource\":\"http://127.0.0.1/mcp\",");
        }
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert!(matches!(o.code, 1 | 3), "{}", o.stdout);
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail", "{m}");
    let (v, m) = verdict(&o, "prm.http-shape");
    assert!(v == "error" || v == "skip", "{v}: {m}");
    let discovery = o.results["discovery"].to_string();
    assert!(
        discovery.contains("message length") || discovery.contains("closed"),
        "the truncation is not named: {discovery}"
    );
}

#[test]
fn a_429_with_retry_after_is_an_error_and_not_waited_for() {
    let addr = serve(|_| {
        Router::new().fallback(any(|| async {
            response(
                429,
                &[("retry-after", "3600"), ("content-type", "text/plain")],
                "slow down",
            )
        }))
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert!(matches!(o.code, 1 | 3), "{}", o.stdout);
    assert!(o.elapsed < Duration::from_secs(60), "{:?}", o.elapsed);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "error", "{m}");
    assert!(
        m.contains("429 Too Many Requests, Retry-After: 3600"),
        "{m}"
    );
}

#[test]
fn no_compression_is_invited() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static REQUESTS: AtomicU64 = AtomicU64::new(0);
    static INVITED: AtomicU64 = AtomicU64::new(0);
    let addr = serve(|_| {
        Router::new().fallback(any(|headers: axum::http::HeaderMap| async move {
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            let invites = headers
                .get_all("accept-encoding")
                .iter()
                .any(|v| v.to_str().map_or(true, |v| v.trim() != "identity"));
            if invites {
                INVITED.fetch_add(1, Ordering::Relaxed);
            }
            // A gzip member the tool must not inflate: it is just bytes that are not JSON.
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(Body::from(&b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"[..]))
                .unwrap()
        }))
    });
    let o = run_tool(&format!("http://{addr}/mcp"));
    assert!(matches!(o.code, 1 | 3), "{}", o.stdout);
    assert!(REQUESTS.load(Ordering::Relaxed) > 0);
    assert_eq!(
        INVITED.load(Ordering::Relaxed),
        0,
        "requests carried Accept-Encoding"
    );
    let (v, m) = verdict(&o, "prm.discoverable");
    assert_eq!(v, "fail");
    assert!(m.contains("not JSON"), "{m}");
}

#[test]
fn the_run_deadline_ends_a_run_that_would_wait() {
    let addr = serve(|_| {
        Router::new().fallback(any(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            response(200, &[], "")
        }))
    });
    // Each answer may take 30 s; the whole run only 4.
    let o = run_tool_with(
        &format!("http://{addr}/mcp"),
        &["--timeout", "30", "--deadline", "4"],
    );
    assert!(o.elapsed < Duration::from_secs(25), "{:?}", o.elapsed);
    assert_eq!(o.code, 3, "{}", o.stdout);
    let (v, m) = verdict(&o, "rs.401-no-token");
    assert_eq!(v, "error");
    assert!(m.contains("the run's deadline passed"), "{m}");
    let errors = messages(&o)
        .into_iter()
        .filter(|(_, v, m)| v == "error" && m.contains("the run's deadline passed"))
        .count();
    assert!(errors > 10, "{}", o.stdout);
    assert!(o.max_rss_kib > 0);
}
