//! The tool is safe to point at a deployment: it only reaches special-use addresses (loopback,
//! private, link-local, …) that the user's own URLs use or `--allow-host` names, it paces itself
//! (`--max-rps`), waits out a short `Retry-After` when asked to (`--wait-retry-after`), and says
//! who it is (User-Agent).
//!
//! Every server here listens on 127.0.0.1; the refused addresses are other loopback addresses
//! (127.0.0.2 is loopback on Linux too), and the tests show the refusal happens before any
//! connection: nothing answers there, yet the error is the guard's, not a refused connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mcp_oauth_conform::demo;
use mcp_oauth_conform::http::{Egress, HttpClient, HttpError, HttpSettings, Request};
use mcp_oauth_conform::reference::{Flaw, Options, Reference};
use mcp_oauth_conform::runner::{self, RunRecord, verdict::Verdict};
use mcp_oauth_conform::suite::Suite;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The checks whose ID starts with one of `prefixes`, against the reference with `flaws`.
async fn run(flaws: &[Flaw], prefixes: &[&str]) -> (RunRecord, u16) {
    let reference = Reference::start(Options {
        flaws: flaws.iter().copied().collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    let port = url::Url::parse(&reference.base_url())
        .unwrap()
        .port()
        .unwrap();
    let target = demo::target(&reference).unwrap();
    let settings = demo::settings().unwrap();
    let checks: Vec<_> = Suite::builtin()
        .unwrap()
        .checks
        .into_iter()
        .filter(|c| prefixes.iter().any(|p| c.id.starts_with(p)))
        .collect();
    let out = runner::run_silent(&target, &settings, &checks, 4)
        .await
        .unwrap();
    reference.shutdown().await;
    (out, port)
}

fn outcome<'a>(run: &'a RunRecord, id: &str) -> &'a runner::outcome::CheckOutcome {
    run.outcomes
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("{id} did not run"))
}

#[test]
fn an_internal_jwks_uri_is_refused_before_any_connection_and_reported() {
    let (run, port) = rt().block_on(run(
        &[Flaw::InternalJwksUri],
        &["meta.", "introspection.", "rs.forged-token-401"],
    ));
    let jwks = format!("http://127.0.0.2:{port}/jwks");
    let why = "resolves to 127.0.0.2, a loopback address the target does not use; pass --allow-host 127.0.0.2 to allow it";

    // The check that needs the JWK Set cannot have it: an error naming the URL and the fix.
    let sane = outcome(&run, "meta.jwks-sane");
    assert_eq!(sane.verdict, Verdict::Error, "{}", sane.message);
    assert!(sane.message.contains(&jwks), "{}", sane.message);
    assert!(sane.message.contains(why), "{}", sane.message);
    let forged = outcome(&run, "rs.forged-token-401");
    assert_eq!(forged.verdict, Verdict::Error, "{}", forged.message);

    // The finding: both endpoints, at the SHOULD level.
    let finding = outcome(&run, "meta.no-internal-endpoints");
    assert_eq!(finding.verdict, Verdict::Warn, "{}", finding.message);
    for member in ["/jwks_uri", "/introspection_endpoint"] {
        assert!(
            finding
                .message
                .contains(&format!("JSON {member} (http://127.0.0.2:{port}/")),
            "{member}: {}",
            finding.message
        );
    }
    assert!(
        finding
            .message
            .contains("a loopback address the target does not use"),
        "{}",
        finding.message
    );
    assert!(
        !finding.message.contains("token_endpoint"),
        "{}",
        finding.message
    );
    // http on loopback is still accepted for a loopback target: one defect, one finding.
    assert_eq!(outcome(&run, "meta.endpoints-https").verdict, Verdict::Pass);

    // Nothing reached 127.0.0.2: every exchange addressed there has no answer and the guard's
    // error ("was not sent"), never a refused connection (nothing listens there either).
    let mut refused = 0;
    for o in &run.outcomes {
        for ex in &o.exchanges {
            if ex.request.url.starts_with("http://127.0.0.2") {
                refused += 1;
                assert!(ex.response.is_none(), "{}: {:?}", o.id, ex.response);
                let err = ex.error.as_deref().unwrap_or_default();
                assert!(
                    err.contains("was not sent: it ") && err.contains(why),
                    "{}: {err}",
                    o.id
                );
                assert!(!err.contains("connection"), "{}: {err}", o.id);
            }
        }
    }
    assert!(
        refused >= 2,
        "the JWKS fetches were not recorded ({refused})"
    );
    // Introspection is refused too: its checks end as error (or skip for want of a token),
    // never pass.
    for o in run
        .outcomes
        .iter()
        .filter(|o| o.id.starts_with("introspection."))
    {
        assert!(
            matches!(o.verdict, Verdict::Error | Verdict::Skip),
            "{} {}: {}",
            o.id,
            o.verdict,
            o.message
        );
    }
}

#[test]
fn the_clean_reference_advertises_nothing_internal() {
    let (run, _) = rt().block_on(run(&[], &["meta.no-internal-endpoints", "meta.jwks-sane"]));
    for id in ["meta.no-internal-endpoints", "meta.jwks-sane"] {
        let o = outcome(&run, id);
        assert_eq!(o.verdict, Verdict::Pass, "{id}: {}", o.message);
    }
}

fn client(trusted: &[&str], allow: &[&str]) -> HttpClient {
    let mut egress = Egress::default();
    egress.trust(trusted);
    egress.allow_hosts = allow.iter().map(|s| s.to_string()).collect();
    HttpClient::new(
        HttpSettings {
            timeout: Duration::from_secs(5),
            egress,
            ..Default::default()
        },
        Default::default(),
    )
    .unwrap()
}

/// The guard works on the address, whatever the spelling: decimal, octal, hex, IPv4-mapped.
#[test]
fn every_spelling_of_a_refused_address_is_refused_unsent() {
    rt().block_on(async {
        let http = client(&["http://127.0.0.1:9/mcp"], &[]);
        for url in [
            "http://127.0.0.2:9/jwks",
            "http://2130706434:9/jwks",
            "http://0177.0.0.2:9/jwks",
            "http://0x7f.0.0.2:9/jwks",
            "http://127.2:9/jwks",
            "http://[::ffff:127.0.0.2]:9/jwks",
            "http://[::1]:9/",
            // Only loopback addresses here: were the guard broken, the request must not leave
            // the machine. Private, link-local and the other special-use ranges are classified
            // without connecting in src/http/guard.rs's unit tests.
        ] {
            let (ex, result) = http.send(&Request::get(url)).await;
            let err = result.expect_err(url);
            assert!(matches!(err, HttpError::Refused { .. }), "{url}: {err}");
            assert!(ex.response.is_none(), "{url}");
            assert!(
                err.to_string().contains("was not sent: it resolves to"),
                "{url}: {err}"
            );
        }
        assert_eq!(http.requests_sent(), 0);
        // localhost stands for 127.0.0.1 and ::1: the target's own address here, not there.
        let elsewhere = client(&["http://127.0.0.3:9/mcp"], &[]);
        let err = elsewhere
            .send(&Request::get("http://localhost.:9/"))
            .await
            .1
            .unwrap_err();
        assert!(
            err.to_string().contains("resolves to 127.0.0.1, a loopback address"),
            "{err}"
        );
        assert_eq!(elsewhere.requests_sent(), 0);
        let err = http
            .send(&Request::get("http://0x7f.0.0.2:9/jwks"))
            .await
            .1
            .unwrap_err();
        assert_eq!(
            err.brief(),
            "not sent: http://0x7f.0.0.2:9/jwks resolves to 127.0.0.2, a loopback address the target does not use; pass --allow-host 127.0.0.2 to allow it"
        );
    });
}

/// `--allow-host` lets the request out: then the connection itself fails (nothing listens on
/// 127.0.0.2), which shows the refusal above came before any connection.
#[test]
fn allow_host_lets_a_named_address_through() {
    rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let http = client(&["http://127.0.0.1:9/mcp"], &["127.0.0.2"]);
        let url = format!("http://127.0.0.2:{port}/jwks");
        let err = http.send(&Request::get(&url)).await.1.unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
        assert_eq!(http.requests_sent(), 1);
        // The target's own address is reachable without any flag.
        let err = http
            .send(&Request::get(format!("http://127.0.0.1:{port}/")))
            .await
            .1
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
    });
}

/// A small server: `/limited` answers 429 (with `Retry-After` from the query) the first time
/// and 200 after; every path records the User-Agent it saw.
struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
    agents: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn server() -> Server {
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    #[derive(Clone)]
    struct St {
        hits: Arc<AtomicUsize>,
        agents: Arc<std::sync::Mutex<Vec<String>>>,
    }
    async fn limited(
        State(st): State<St>,
        headers: HeaderMap,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> axum::response::Response {
        let ua = headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        st.agents.lock().unwrap().push(ua);
        let n = st.hits.fetch_add(1, Ordering::SeqCst);
        if n == 0 || q.contains_key("always") {
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
            if let Some(after) = q.get("after") {
                resp.headers_mut()
                    .insert("retry-after", after.parse().unwrap());
            }
            return resp;
        }
        (StatusCode::OK, "ok").into_response()
    }
    let st = St {
        hits: Arc::new(AtomicUsize::new(0)),
        agents: Arc::new(std::sync::Mutex::new(Vec::new())),
    };
    let app = axum::Router::new()
        .route("/limited", axum::routing::get(limited))
        .with_state(st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base,
        hits: st.hits,
        agents: st.agents,
    }
}

fn polite(
    base: &str,
    wait: Option<u64>,
    rps: Option<f64>,
    deadline: Option<Duration>,
) -> HttpClient {
    let mut egress = Egress::default();
    egress.trust([base]);
    HttpClient::new(
        HttpSettings {
            timeout: Duration::from_secs(5),
            wait_retry_after: wait.map(Duration::from_secs),
            max_rps: rps,
            deadline: deadline.map(|d| Instant::now() + d),
            egress,
            ..Default::default()
        },
        Default::default(),
    )
    .unwrap()
}

#[test]
fn a_short_retry_after_is_waited_out_once() {
    rt().block_on(async {
        let s = server().await;
        let http = polite(&s.base, Some(2), None, None);
        let started = Instant::now();
        let (ex, resp) = http
            .send(&Request::get(format!("{}/limited?after=1", s.base)))
            .await;
        let resp = resp.unwrap();
        assert_eq!(resp.status, 200);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(s.hits.load(Ordering::SeqCst), 2);
        assert_eq!(http.requests_sent(), 2);
        assert_eq!(ex.response.unwrap().status, 200);
        // Every request says who sends it.
        for ua in s.agents.lock().unwrap().iter() {
            assert!(
                ua.starts_with(concat!("mcp-oauth-conform/", env!("CARGO_PKG_VERSION"))),
                "{ua}"
            );
        }
    });
}

#[test]
fn a_long_missing_or_repeated_retry_after_stands() {
    rt().block_on(async {
        // Beyond the bound: the 429 is the answer, at once.
        let s = server().await;
        let http = polite(&s.base, Some(2), None, None);
        let started = Instant::now();
        let resp = http
            .send(&Request::get(format!("{}/limited?after=30", s.base)))
            .await
            .1
            .unwrap();
        assert_eq!(resp.status, 429);
        assert_eq!(resp.header("retry-after"), Some("30"));
        assert!(started.elapsed() < Duration::from_secs(1));
        // No header: nothing to wait for.
        let s = server().await;
        let http = polite(&s.base, Some(2), None, None);
        let resp = http
            .send(&Request::get(format!("{}/limited", s.base)))
            .await
            .1
            .unwrap();
        assert_eq!(resp.status, 429);
        assert_eq!(s.hits.load(Ordering::SeqCst), 1);
        // Once only: a second 429 stands.
        let s = server().await;
        let http = polite(&s.base, Some(2), None, None);
        let resp = http
            .send(&Request::get(format!("{}/limited?after=0&always", s.base)))
            .await
            .1
            .unwrap();
        assert_eq!(resp.status, 429);
        assert_eq!(s.hits.load(Ordering::SeqCst), 2);
        // Without --wait-retry-after nothing waits.
        let s = server().await;
        let http = polite(&s.base, None, None, None);
        let resp = http
            .send(&Request::get(format!("{}/limited?after=1", s.base)))
            .await
            .1
            .unwrap();
        assert_eq!(resp.status, 429);
        // The wait counts against the deadline: one that would pass it is not started.
        let s = server().await;
        let http = polite(&s.base, Some(5), None, Some(Duration::from_millis(1500)));
        let started = Instant::now();
        let resp = http
            .send(&Request::get(format!("{}/limited?after=3", s.base)))
            .await
            .1
            .unwrap();
        assert_eq!(resp.status, 429);
        assert!(started.elapsed() < Duration::from_secs(1));
    });
}

#[test]
fn max_rps_spaces_concurrent_requests() {
    rt().block_on(async {
        let s = server().await;
        let http = Arc::new(polite(&s.base, None, Some(10.0), None));
        let started = Instant::now();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (http, url) = (http.clone(), format!("{}/limited", s.base));
                tokio::spawn(async move { http.send(&Request::get(url)).await.1.unwrap().status })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // Six permits at 10 per second: the last starts 500 ms after the first.
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(s.hits.load(Ordering::SeqCst), 6);
    });
}

#[test]
fn flags_and_profile_keys_reach_the_settings() {
    use mcp_oauth_conform::{cli, config};
    let parse = |args: &[&str], profile: &str| {
        let cli = cli::parse_from(
            ["mcp-oauth-conform", "--rs", "http://127.0.0.1:9/mcp"]
                .iter()
                .chain(args),
        )
        .unwrap();
        let profile = config::parse_profile("t.toml", profile).unwrap();
        config::build(cli.rs, cli.as_url, cli.client, profile, cli.run)
    };
    let cfg = parse(
        &[
            "--max-rps",
            "2.5",
            "--wait-retry-after",
            "30",
            "--allow-host",
            "0x7f.0.0.2",
            "--allow-host",
            "Internal.Example",
        ],
        "",
    )
    .unwrap();
    let h = &cfg.settings.http;
    assert_eq!(h.max_rps, Some(2.5));
    assert_eq!(h.wait_retry_after, Some(Duration::from_secs(30)));
    assert_eq!(h.egress.allow_hosts, ["127.0.0.2", "internal.example"]);
    assert!(
        h.egress
            .trusted
            .iter()
            .any(|t| t == "http://127.0.0.1:9/mcp")
    );
    let cfg = parse(
        &[],
        "[http]\nmax_rps = 1\nwait_retry_after_secs = 5\nallow_hosts = [\"10.0.0.7\"]\n[agent]\norigins = [\"http://192.168.1.5:8080\"]\n",
    )
    .unwrap();
    let h = &cfg.settings.http;
    assert_eq!(h.max_rps, Some(1.0));
    assert_eq!(h.wait_retry_after, Some(Duration::from_secs(5)));
    assert_eq!(h.egress.allow_hosts, ["10.0.0.7"]);
    assert!(
        h.egress
            .trusted
            .iter()
            .any(|t| t == "http://192.168.1.5:8080")
    );
    for bad in [
        &["--max-rps", "0"][..],
        &["--allow-host", "http://x/"],
        &["--allow-host", "x:80"],
    ] {
        assert!(parse(bad, "").is_err(), "{bad:?}");
    }
}
