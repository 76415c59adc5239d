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
}

fn run_tool(rs: &str) -> Outcome {
    let dir = tempdir();
    let child = Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .args(["--rs", rs, "--timeout", "2", "--report-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Output is drained while the tool runs (it can print more than a pipe holds).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(DEADLINE) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("mcp-oauth-conform --rs {rs} did not finish within {DEADLINE:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked"),
        "a panic:\n{stdout}\n{stderr}"
    );
    let text = std::fs::read_to_string(dir.join("results.json"))
        .unwrap_or_else(|e| panic!("no results.json ({e}):\n{stdout}\n{stderr}"));
    let results = serde_json::from_str(&text).unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        results,
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
