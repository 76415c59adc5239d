//! The revision graded is the one the MCP server speaks (negotiated), not the one the AS's
//! metadata suggests; and event-stream answers that open with a priming event are read whole.

use mcp_oauth_conform::demo;
use mcp_oauth_conform::discovery::Target;
use mcp_oauth_conform::reference::{Options, Reference, Variant};
use mcp_oauth_conform::revision::Revision;
use mcp_oauth_conform::runner::{self, RunRecord, verdict::Verdict};
use mcp_oauth_conform::suite::Suite;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The checks whose ID is in `ids`, against a reference server with `variants`.
async fn run(variants: &[Variant], spec: Option<Revision>, ids: &[&str]) -> RunRecord {
    let reference = Reference::start(Options {
        variants: variants.iter().copied().collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    let target = Target {
        spec,
        ..demo::target(&reference).unwrap()
    };
    let settings = demo::settings().unwrap();
    let checks: Vec<_> = Suite::builtin()
        .unwrap()
        .checks
        .into_iter()
        .filter(|c| ids.contains(&c.id.as_str()))
        .collect();
    assert_eq!(checks.len(), ids.len(), "unknown check among {ids:?}");
    let out = runner::run_silent(&target, &settings, &checks, 4)
        .await
        .unwrap();
    reference.shutdown().await;
    out
}

fn verdict(run: &RunRecord, id: &str) -> (Verdict, String) {
    let o = run.outcomes.iter().find(|o| o.id == id).unwrap();
    (o.verdict, o.message.clone())
}

#[test]
fn a_2025_11_25_server_behind_an_iss_advertising_as_is_graded_2025_11_25() {
    let run = rt().block_on(run(
        &[Variant::Mcp20251125Only],
        None,
        &["rs.valid-token-accepted"],
    ));
    assert_eq!(run.preflight.outcome, "code", "{:?}", run.preflight);
    assert!(run.preflight.got_token, "{:?}", run.preflight);
    assert_eq!(
        run.revision,
        Revision::R2025_11_25,
        "{}",
        run.grading.reason
    );
    assert_eq!(run.discovery.revision, Revision::R2025_11_25);
    assert_eq!(
        run.discovery.vars["run"]["spec"], "2025-11-25",
        "checks read the graded revision"
    );
    assert_eq!(run.discovery.vars["run"]["probe_method"], "initialize");
    // The AS's evidence says more; it confirms, never raises.
    assert_eq!(run.discovery.evidence.revision, Revision::R2026_07_28);
    let reason = &run.discovery.revision_reason;
    assert!(
        reason.contains("MCP server speaks 2025-11-25")
            && reason.contains("the AS's metadata suggests 2026-07-28"),
        "{reason}"
    );
    let n = &run.grading.record;
    assert_eq!(n.server_speaks.as_deref(), Some("2025-11-25"), "{n:?}");
    assert!(n.how.contains("with the preflight's access token"), "{n:?}");
    let (v, m) = verdict(&run, "rs.valid-token-accepted");
    assert_eq!(v, Verdict::Pass, "{m}");
}

#[test]
fn the_clean_reference_negotiates_2026_07_28() {
    let run = rt().block_on(run(&[], None, &["rs.valid-token-accepted"]));
    assert_eq!(
        run.revision,
        Revision::R2026_07_28,
        "{}",
        run.grading.reason
    );
    let n = &run.grading.record;
    assert_eq!(n.server_speaks.as_deref(), Some("2026-07-28"), "{n:?}");
    assert!(
        n.how
            .contains("server/discover as 2026-07-28 answered a result"),
        "{n:?}"
    );
    assert!(
        run.discovery.revision_reason.contains("agrees"),
        "{}",
        run.discovery.revision_reason
    );
    let (v, m) = verdict(&run, "rs.valid-token-accepted");
    assert_eq!(v, Verdict::Pass, "{m}");
}

#[test]
fn with_spec_there_is_no_negotiation_but_a_preflight() {
    let run = rt().block_on(run(
        &[Variant::SsePriming],
        Some(Revision::R2025_11_25),
        &["rs.valid-token-accepted"],
    ));
    assert_eq!(run.revision, Revision::R2025_11_25);
    assert_eq!(run.discovery.revision_reason, "chosen with --spec");
    assert!(run.grading.exchanges.is_empty());
    assert_eq!(run.preflight.outcome, "code", "{:?}", run.preflight);
    // The answers are event streams that open with a priming event.
    let (v, m) = verdict(&run, "rs.valid-token-accepted");
    assert_eq!(v, Verdict::Pass, "{m}");
}

#[test]
fn without_a_token_the_evidence_decides_and_says_why() {
    let run = rt().block_on(async {
        let reference = Reference::start(Options::default()).await.unwrap();
        let target = Target {
            rs_raw: reference.rs_url(),
            rs: url::Url::parse(&reference.rs_url()).unwrap(),
            as_raw: Some(reference.issuer()),
            spec: None,
            other_resource: None,
        };
        // No login script: the agent stops at the login page. Clients by registration, whose
        // timing the preflight reports (at 2026-07-28 the default would be a URL client).
        let settings = runner::RunSettings {
            client: mcp_oauth_conform::session::ClientConfig {
                mode: Some(mcp_oauth_conform::session::ClientMode::Dcr),
                ..Default::default()
            },
            ..Default::default()
        };
        let out = runner::run_silent(&target, &settings, &[], 1)
            .await
            .unwrap();
        reference.shutdown().await;
        out
    });
    let p = &run.preflight;
    assert_eq!(p.outcome, "login", "{p:?}");
    assert!(p.client_registered && p.since_registration_secs.is_some());
    let page = p.page.as_ref().unwrap();
    assert_eq!(page.status, 200);
    assert!(page.fields.iter().any(|f| f == "password"), "{page:?}");
    assert!(!page.excerpt.is_empty() && page.excerpt.chars().count() <= 200);
    assert!(!p.got_token && p.why_no_token.is_some());
    assert_eq!(run.revision, Revision::R2026_07_28);
    let reason = &run.discovery.revision_reason;
    assert!(
        reason.starts_with("could not negotiate with the MCP server: ")
            && reason.contains("inferred: the AS advertises"),
        "{reason}"
    );
    assert_eq!(run.grading.record.server_speaks, None);
}
