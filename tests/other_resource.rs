//! The audience checks with a configured other resource: another MCP server of the same
//! authorization server (the reference's /mcp-other), as a real deployment's profile names one.
//! `demo` names none, so the recorded verdicts never take these paths: a step that presents a
//! token which was refused, say, would skip a check whose reading counts the refusal as correct.

use std::collections::BTreeMap;

use mcp_oauth_conform::demo;
use mcp_oauth_conform::discovery::Target;
use mcp_oauth_conform::reference::{Options, Reference};
use mcp_oauth_conform::revision::Revision;
use mcp_oauth_conform::runner::{self, verdict::Verdict};
use mcp_oauth_conform::suite::Suite;

/// The verdicts of the audience checks (`resource.`, `rs.audience`) against the reference with
/// these switches.
fn resource_checks(flaws: &[&str], variants: &[&str]) -> BTreeMap<String, (Verdict, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reference = Reference::start(Options {
            flaws: flaws.iter().map(|f| f.parse().unwrap()).collect(),
            variants: variants.iter().map(|v| v.parse().unwrap()).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
        let target = Target {
            spec: Some(Revision::R2025_11_25),
            other_resource: Some("${rs.origin}/mcp-other".into()),
            ..demo::target(&reference).unwrap()
        };
        let checks: Vec<_> = Suite::builtin()
            .unwrap()
            .checks
            .into_iter()
            .filter(|c| c.id.starts_with("resource.") || c.id == "rs.audience")
            .collect();
        let run = runner::run_silent(&target, &demo::settings().unwrap(), &checks, 8)
            .await
            .unwrap();
        reference.shutdown().await;
        run.outcomes
            .into_iter()
            .map(|o| (o.id, (o.verdict, o.message)))
            .collect()
    })
}

fn verdict(run: &BTreeMap<String, (Verdict, String)>, id: &str) -> Verdict {
    let (v, message) = &run[id];
    eprintln!("{id}: {v} {message}");
    *v
}

#[test]
fn the_clean_reference_passes_every_audience_check() {
    let run = resource_checks(&[], &[]);
    assert!(run.len() >= 6, "{run:?}");
    for (id, (v, message)) in &run {
        assert!(
            matches!(v, Verdict::Pass | Verdict::Info),
            "{id}: {v} {message}"
        );
    }
    assert_eq!(
        verdict(&run, "resource.refresh-binding"),
        Verdict::Pass,
        "refused with invalid_target, as the reading allows"
    );
}

/// Refusing to refresh for another resource is the correct answer, whatever else is seen of
/// the tokens: the check grades the authorization server.
#[test]
fn a_refused_refresh_for_the_other_resource_passes() {
    // Opaque tokens: nothing but the refresh answer shows the audience.
    let run = resource_checks(&[], &["opaque-access-tokens"]);
    assert_eq!(verdict(&run, "resource.refresh-binding"), Verdict::Pass);
    // The other server takes this resource's own token: only the refusal says anything.
    let run = resource_checks(&["audience-not-checked"], &[]);
    assert_eq!(verdict(&run, "resource.refresh-binding"), Verdict::Pass);
}

#[test]
fn a_refresh_moved_to_the_other_resource_fails() {
    let run = resource_checks(&["refresh-resource-widening"], &[]);
    assert_eq!(verdict(&run, "resource.refresh-binding"), Verdict::Fail);
}
