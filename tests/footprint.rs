//! A run's footprint and its clean-up, against the reference server's own account: what the run
//! says it sent and was issued is what the server saw, and what it says it left behind is what
//! is still alive there.

use mcp_oauth_conform::demo;
use mcp_oauth_conform::footprint::{FootprintReport, LeftBehind};
use mcp_oauth_conform::reference::{Options, Reference, Variant};
use mcp_oauth_conform::runner::{self, RunSettings};
use mcp_oauth_conform::suite::Suite;

/// The server's counts after a run.
#[derive(Debug)]
struct Server {
    live_clients: usize,
    live_tokens: usize,
    registrations: u64,
    authorizations: u64,
    token_requests: u64,
    tokens_issued: (u64, u64),
}

/// The whole suite against a reference server with the demo profile (as `demo` runs it).
fn whole_suite(variants: &[Variant], keep: bool) -> (runner::RunRecord, Server) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reference = Reference::start(Options {
            variants: variants.iter().copied().collect(),
            ..Default::default()
        })
        .await
        .unwrap();
        let target = demo::target(&reference).unwrap();
        let settings = RunSettings {
            keep,
            ..demo::settings().unwrap()
        };
        let suite = Suite::builtin().unwrap();
        let run = runner::run_silent(&target, &settings, &suite.checks, 16)
            .await
            .unwrap();
        let server = Server {
            live_clients: reference.live_clients(),
            live_tokens: reference.live_tokens(),
            registrations: reference.registrations_seen(),
            authorizations: reference.authorizations_seen(),
            token_requests: reference.token_requests_seen(),
            tokens_issued: reference.tokens_issued(),
        };
        reference.shutdown().await;
        (run, server)
    })
}

/// What the run sent and was issued is exactly what the server saw and issued.
fn assert_counts_match(f: &FootprintReport, s: &Server) {
    assert_eq!(f.registrations, s.registrations, "{f:?} vs {s:?}");
    assert_eq!(f.authorizations, s.authorizations, "{f:?} vs {s:?}");
    assert_eq!(f.token_requests, s.token_requests, "{f:?} vs {s:?}");
    assert_eq!(
        (f.tokens_issued.access, f.tokens_issued.refresh),
        s.tokens_issued,
        "{f:?} vs {s:?}"
    );
    assert!(f.registrations > 0 && f.authorizations > 0 && f.token_requests > 0);
    assert!(f.logins > 0 && f.logins <= f.authorizations, "{f:?}");
    assert!(
        f.tokens_issued.access > 0 && f.tokens_issued.refresh > 0,
        "{f:?}"
    );
    assert!(f.requests > f.authorizations + f.token_requests, "{f:?}");
}

#[test]
fn a_run_cleans_up_after_itself_and_accounts_for_everything() {
    let (run, server) = whole_suite(&[], false);
    let f = &run.footprint;
    assert_counts_match(f, &server);
    assert_eq!(server.live_clients, 0, "clients left on the server: {f:?}");
    assert_eq!(server.live_tokens, 0, "tokens left on the server: {f:?}");
    assert_eq!(f.left_behind, LeftBehind::default(), "{f:?}");
    // Every token revoked, every client deleted, through the run's HTTP client.
    let revocations = run
        .cleanup_exchanges
        .iter()
        .filter(|x| x.request.url.ends_with("/revoke"))
        .count() as u64;
    let deletions = run
        .cleanup_exchanges
        .iter()
        .filter(|x| x.request.method == "DELETE")
        .count();
    assert_eq!(
        revocations,
        f.tokens_issued.access + f.tokens_issued.refresh
    );
    assert!(deletions > 0 && deletions as u64 <= f.registrations);
    // The run's count includes the clean-up's requests, as the footprint's does.
    assert_eq!(f.requests, run.requests);
    assert!(run.cleanup_exchanges.len() as u64 >= revocations + deletions as u64);
    // Refresh tokens go first: revoking one ends its grant on most servers.
    let hints: Vec<bool> = run
        .cleanup_exchanges
        .iter()
        .filter_map(|x| x.request.body.as_deref())
        .filter(|b| b.contains("token_type_hint="))
        .map(|b| b.contains("token_type_hint=refresh_token"))
        .collect();
    assert!(hints.windows(2).all(|w| w[0] || !w[1]), "{hints:?}");
}

#[test]
fn clients_that_cannot_be_deleted_are_reported_as_left_behind() {
    let (run, server) = whole_suite(&[Variant::NoClientManagement], false);
    let f = &run.footprint;
    assert_counts_match(f, &server);
    assert!(server.live_clients > 0);
    assert_eq!(f.left_behind.clients, server.live_clients as u64, "{f:?}");
    // Tokens are still revoked.
    assert_eq!(server.live_tokens, 0);
    assert_eq!(f.left_behind.tokens, 0, "{f:?}");
    assert!(
        !run.cleanup_exchanges
            .iter()
            .any(|x| x.request.method == "DELETE")
    );
}

#[test]
fn keep_leaves_everything_and_says_so() {
    let (run, server) = whole_suite(&[], true);
    let f = &run.footprint;
    assert_counts_match(f, &server);
    assert!(run.cleanup_exchanges.is_empty());
    assert!(server.live_clients > 0 && server.live_tokens > 0);
    assert_eq!(f.left_behind.clients, server.live_clients as u64, "{f:?}");
    assert_eq!(
        f.left_behind.tokens,
        f.tokens_issued.access + f.tokens_issued.refresh,
        "{f:?}"
    );
    // The checks themselves revoke and rotate some: what is still alive is among what was left.
    assert!(server.live_tokens as u64 <= f.left_behind.tokens);
}

#[test]
fn the_demo_prints_the_footprint_and_records_it() {
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conform-footprint-{}",
        std::process::id()
    ));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .args(["demo", "--report-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("footprint: "))
        .unwrap_or_else(|| panic!("no footprint line in:\n{out}"));
    for part in [
        " registrations, ",
        " authorizations (",
        " logins), ",
        " token requests, ",
        " tokens issued (",
        " requests; left behind: 0 clients, 0 tokens",
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let f: FootprintReport = serde_json::from_value(r["footprint"].clone()).unwrap();
    assert!(f.registrations > 0 && f.tokens_issued.access > 0, "{f:?}");
    assert_eq!(f.left_behind, LeftBehind::default());
    assert_eq!(Some(f.requests), r["requests"].as_u64());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<dt>Footprint</dt>") && html.contains("<dt>Left behind</dt>"));
    let _ = std::fs::remove_dir_all(&dir);
}
