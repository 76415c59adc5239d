//! HTTP Basic refused for want of `client_id` in the body (the reference's `basic-needs-client-id`
//! flaw; the Python MCP SDK's server does it): `token.basic-supported` reports it once, and the
//! rest of the run still tests what it is about.
//!
//! * Where the revocation endpoint takes only confidential clients (`revocation-confidential-only`)
//!   and offers `client_secret_post`, the revocation checks use the client registered for it
//!   instead of skipping.
//! * A client registered for Basic has every other request (token, revocation, the clean-up's
//!   revocations) sent again with `client_id` in the body as well.
//!
//! Either way the clean-up revokes every token the run was issued.

use mcp_oauth_conform::demo;
use mcp_oauth_conform::http::Exchange;
use mcp_oauth_conform::reference::{Options, PreRegistered, Reference};
use mcp_oauth_conform::runner::{self, RunSettings, verdict::Verdict};
use mcp_oauth_conform::session::ClientConfig;
use mcp_oauth_conform::suite::Suite;

const REVOCATION: &[&str] = &[
    "revocation.refresh",
    "revocation.access",
    "revocation.invalid-token-200",
    "revocation.cross-client",
    "revocation.cascade",
    "rs.revoked-token",
];

fn run(options: Options, settings: RunSettings, ids: &[&str]) -> (runner::RunRecord, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reference = Reference::start(Options {
            flaws: ["basic-needs-client-id".parse().unwrap()]
                .into_iter()
                .collect(),
            ..options
        })
        .await
        .unwrap();
        let target = demo::target(&reference).unwrap();
        let checks: Vec<_> = Suite::builtin()
            .unwrap()
            .checks
            .into_iter()
            .filter(|c| ids.contains(&c.id.as_str()))
            .collect();
        assert_eq!(checks.len(), ids.len());
        let run = runner::run_silent(&target, &settings, &checks, 8)
            .await
            .unwrap();
        let live = reference.live_tokens();
        reference.shutdown().await;
        (run, live)
    })
}

fn assert_cleaned_up(run: &runner::RunRecord, live_tokens: usize) {
    let f = &run.footprint;
    assert!(f.tokens_issued.refresh > 0, "{f:?}");
    assert_eq!(f.left_behind.tokens, 0, "{f:?}");
    assert_eq!(live_tokens, 0, "tokens still alive on the server: {f:?}");
}

fn is_revocation(x: &Exchange) -> bool {
    x.request.url.ends_with("/revoke")
}

fn basic_with_client_id(x: &Exchange) -> bool {
    x.request
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("authorization") && v.starts_with("Basic "))
        && x.request
            .body
            .as_deref()
            .is_some_and(|b| b.contains("client_id="))
}

#[test]
fn revocation_falls_back_to_the_client_secret_post_client() {
    let options = Options {
        variants: ["revocation-confidential-only".parse().unwrap()]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let mut ids = REVOCATION.to_vec();
    ids.push("token.basic-supported");
    let (run, live) = run(options, demo::settings().unwrap(), &ids);
    for o in &run.outcomes {
        let want = if o.id == "token.basic-supported" {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        assert_eq!(o.verdict, want, "{}: {}", o.id, o.message);
    }
    // The revocations the checks made authenticated with client_secret_post.
    let revocations: Vec<&Exchange> = run
        .outcomes
        .iter()
        .flat_map(|o| &o.exchanges)
        .filter(|x| is_revocation(x))
        .collect();
    assert!(!revocations.is_empty());
    assert!(
        revocations.iter().any(|x| x
            .request
            .body
            .as_deref()
            .is_some_and(|b| b.contains("client_secret="))),
        "no revocation by client_secret_post"
    );
    assert_cleaned_up(&run, live);
}

/// A main client registered for HTTP Basic (given with --client-id and --client-secret): its
/// token requests, and the clean-up's revocations of what it was issued, carry `client_id` in
/// the body as well.
#[test]
fn a_basic_client_sends_client_id_in_the_body_as_well() {
    let secret = "conform-basic-main-secret-0123456789";
    let options = Options {
        clients: vec![PreRegistered {
            client_id: "conform-basic-main".into(),
            secret: Some(secret.into()),
            auth_method: "client_secret_basic".into(),
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
        }],
        ..Default::default()
    };
    let settings = RunSettings {
        client: ClientConfig {
            id: Some("conform-basic-main".into()),
            secret: Some(secret.into()),
            ..Default::default()
        },
        ..demo::settings().unwrap()
    };
    let ids = [
        "pkce.s256",
        "rs.valid-token-accepted",
        "revocation.refresh",
        "revocation.access",
    ];
    let (run, live) = run(options, settings, &ids);
    for o in &run.outcomes {
        assert_eq!(o.verdict, Verdict::Pass, "{}: {}", o.id, o.message);
    }
    assert!(
        run.cleanup_exchanges
            .iter()
            .any(|x| is_revocation(x) && basic_with_client_id(x)),
        "no revocation by HTTP Basic with client_id in the clean-up"
    );
    assert_cleaned_up(&run, live);
}
