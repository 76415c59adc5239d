//! The redirect-URI checks take their variants from the client's own redirect URI: with a
//! pre-registered client whose redirect URI is not the tool's `http://127.0.0.1:PORT/callback`
//! (the reference's `conform-public`, registered for `http://127.0.0.1/callback` and
//! `http://[::1]/callback`), a correct server still passes them all.

use mcp_oauth_conform::demo;
use mcp_oauth_conform::reference::{Options, Reference};
use mcp_oauth_conform::runner::{self, RunSettings, outcome::CheckOutcome, verdict::Verdict};
use mcp_oauth_conform::session::ClientConfig;
use mcp_oauth_conform::suite::Suite;

async fn redirect_checks(redirect_uri: &str) -> Vec<CheckOutcome> {
    let reference = Reference::start(Options::default()).await.unwrap();
    let target = demo::target(&reference).unwrap();
    let settings = demo::settings().unwrap();
    let settings = RunSettings {
        client: ClientConfig {
            id: Some("conform-public".into()),
            redirect_uris: vec![redirect_uri.to_string()],
            ..settings.client.clone()
        },
        ..settings
    };
    let checks: Vec<_> = Suite::builtin()
        .unwrap()
        .checks
        .into_iter()
        .filter(|c| c.id.starts_with("redirect."))
        .collect();
    let out = runner::run_silent(&target, &settings, &checks, 8)
        .await
        .unwrap();
    reference.shutdown().await;
    out.outcomes
}

fn verdicts(redirect_uri: &str) -> Vec<(String, Verdict, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(redirect_checks(redirect_uri))
        .into_iter()
        .map(|o| (o.id, o.verdict, o.message))
        .collect()
}

#[test]
fn an_ipv6_loopback_client_passes_the_redirect_checks() {
    let seen = verdicts("http://[::1]/callback");
    for (id, verdict, message) in &seen {
        assert!(
            matches!(verdict, Verdict::Pass | Verdict::Info),
            "{id}: {verdict:?}: {message}"
        );
    }
    let port = seen.iter().find(|(id, ..)| id == "redirect.loopback-port");
    assert!(matches!(port, Some((_, Verdict::Pass, _))), "{port:?}");
}

#[test]
fn a_loopback_client_without_a_port_passes_the_redirect_checks() {
    for (id, verdict, message) in verdicts("http://127.0.0.1/callback") {
        assert!(
            matches!(verdict, Verdict::Pass | Verdict::Info),
            "{id}: {verdict:?}: {message}"
        );
    }
}
