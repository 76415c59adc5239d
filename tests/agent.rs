//! The user-authorization step in each mode, against the reference server: the login and consent
//! forms (`form`), an auto-approving server (`follow`), an external program (`command`), a person
//! (`interactive`, simulated), and a pre-registered client instead of DCR.

use mcp_oauth_conform::agent::{Agent, AgentConfig, CallbackListener, Mode, Run};
use mcp_oauth_conform::demo;
use mcp_oauth_conform::discovery::Target;
use mcp_oauth_conform::reference::{Options, Reference};
use mcp_oauth_conform::runner::{self, RunSettings, verdict::Verdict};
use mcp_oauth_conform::session::ClientConfig;
use mcp_oauth_conform::suite::Suite;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs the checks whose ID starts with one of `prefixes` against a reference server.
async fn run(
    options: Options,
    settings: RunSettings,
    prefixes: &[&str],
) -> Vec<(String, Verdict, String)> {
    let reference = Reference::start(options).await.unwrap();
    let target = demo::target(&reference).unwrap();
    let suite = Suite::builtin().unwrap();
    let checks: Vec<_> = suite
        .checks
        .into_iter()
        .filter(|c| prefixes.iter().any(|p| c.id.starts_with(p)))
        .collect();
    let out = runner::run_silent(&target, &settings, &checks, 8)
        .await
        .unwrap();
    reference.shutdown().await;
    out.outcomes
        .into_iter()
        .map(|o| (o.id, o.verdict, o.message))
        .collect()
}

/// Every check against a reference server, as a user with only `--rs` would run it.
async fn whole_suite(options: Options, settings: RunSettings) -> runner::RunRecord {
    let reference = Reference::start(options).await.unwrap();
    let target = Target {
        rs_raw: reference.rs_url(),
        rs: url::Url::parse(&reference.rs_url()).unwrap(),
        as_raw: None,
        spec: None,
        other_resource: None,
    };
    let suite = Suite::builtin().unwrap();
    let out = runner::run_silent(&target, &settings, &suite.checks, 8)
        .await
        .unwrap();
    reference.shutdown().await;
    out
}

fn assert_all_pass(results: &[(String, Verdict, String)]) {
    assert!(!results.is_empty());
    for (id, v, m) in results {
        assert_eq!(*v, Verdict::Pass, "{id}: {m}");
    }
}

const FLOW_CHECKS: &[&str] = &[
    "pkce.s256",
    "token.response-format",
    "token.code-single-use",
    "authz.state-echo",
];

#[test]
fn the_form_agent_gets_past_login_and_consent() {
    let profile = demo::profile().unwrap();
    let settings = RunSettings {
        agent: profile.agent,
        ..Default::default()
    };
    assert_all_pass(&rt().block_on(run(Options::default(), settings, FLOW_CHECKS)));
}

/// A newcomer's first run: no profile, so the `follow` agent stops at the login page. That is
/// the tool's inability, never the server's failure: no check may fail or warn, the checks that
/// need a code skip pointing at the one explanation, and the run names the page and the fix.
#[test]
fn without_a_login_script_nothing_fails_and_the_run_says_what_it_needs() {
    let run = rt().block_on(whole_suite(Options::default(), RunSettings::default()));
    let bad: Vec<String> = run
        .outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error))
        .map(|o| format!("{} {}: {}", o.id, o.verdict, o.message))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let blocked = run.agent_blocked.expect("the run names the login page");
    assert!(blocked.page.ends_with("/authorize"), "{}", blocked.page);
    assert!(blocked.fields.iter().any(|f| f == "password"));
    assert!(blocked.fix.contains("init-profile"), "{}", blocked.fix);
    let needing_code: Vec<_> = run
        .outcomes
        .iter()
        .filter(|o| o.message.starts_with(runner::check::NEEDS_LOGIN))
        .collect();
    assert!(needing_code.len() > 40, "{}", needing_code.len());
    assert!(needing_code.iter().all(|o| o.verdict == Verdict::Skip));
    // The checks that need no code still ran.
    let ran = |id: &str| {
        run.outcomes
            .iter()
            .any(|o| o.id == id && o.verdict == Verdict::Pass)
    };
    assert!(ran("rs.401-no-token") && ran("prm.resource-matches"));
}

#[test]
fn the_follow_agent_suffices_for_an_auto_approving_server() {
    let options = Options {
        auto_approve: true,
        ..Default::default()
    };
    assert_all_pass(&rt().block_on(run(options, RunSettings::default(), FLOW_CHECKS)));
}

#[test]
fn a_pre_registered_client_replaces_registration() {
    let profile = demo::profile().unwrap();
    let client = ClientConfig {
        id: Some("conform-public".into()),
        ..Default::default()
    };
    let settings = RunSettings {
        agent: profile.agent,
        client,
        ..Default::default()
    };
    assert_all_pass(&rt().block_on(run(Options::default(), settings, FLOW_CHECKS)));
}

#[test]
fn an_unregistered_redirect_is_caught_and_named() {
    let profile = demo::profile().unwrap();
    let settings = RunSettings {
        agent: profile.agent,
        ..Default::default()
    };
    let flaws = ["redirect-prefix-match".parse().unwrap()]
        .into_iter()
        .collect();
    let results = rt().block_on(run(
        Options {
            flaws,
            ..Default::default()
        },
        settings,
        &["redirect.exact-match"],
    ));
    let (_, v, m) = &results[0];
    assert_eq!(*v, Verdict::Fail);
    let named = regex::Regex::new(r"sent the browser to http://127\.0\.0\.1:\d+/callback/extra\?\S*, a redirect URI this client never registered").unwrap();
    assert!(named.is_match(m), "{m}");
}

#[test]
fn the_command_agent_takes_the_url_from_a_program() {
    // The program plays the browser of an auto-approving server: one GET, print the Location.
    let script = r#"import sys, urllib.request
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
opener = urllib.request.build_opener(NoRedirect)
try:
    opener.open(sys.argv[1])
except urllib.error.HTTPError as e:
    print(e.headers["Location"])
"#;
    let agent = AgentConfig {
        mode: Mode::Command,
        command: vec!["python3".into(), "-c".into(), script.into()],
        ..Default::default()
    };
    let options = Options {
        auto_approve: true,
        ..Default::default()
    };
    let settings = RunSettings {
        agent,
        ..Default::default()
    };
    assert_all_pass(&rt().block_on(run(options, settings, &["pkce.s256"])));
}

#[test]
fn the_interactive_agent_waits_for_the_browser_on_the_loopback_listener() {
    rt().block_on(async {
        let listener = std::sync::Arc::new(CallbackListener::start().await.unwrap());
        let callback = listener.uri("/callback?code=c0de&state=s1");
        // The "person": a browser that arrives at the redirect URI a little later.
        let browser = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let _ = reqwest::get(callback).await;
        });
        let agent = Agent {
            config: AgentConfig {
                mode: Mode::Interactive,
                timeout_secs: Some(20),
                ..Default::default()
            },
            callback: Some(listener.clone()),
        };
        let http = mcp_oauth_conform::http::HttpClient::new(Default::default(), Default::default())
            .unwrap();
        let landing = agent
            .authorize(Run {
                http: &http,
                url: "http://127.0.0.1:9/authorize?state=s1",
                origins: vec![],
                allow_login: true,
                state: Some("s1"),
            })
            .await
            .unwrap();
        browser.await.unwrap();
        let landed = landing.landed.unwrap();
        assert!(
            landed.contains("code=c0de") && landed.contains("state=s1"),
            "{landed}"
        );
    });
}

/// An error page is the server's answer, not a login page the tool cannot pass: an AS that
/// confirms a registration and then does not know the client is told apart, said once, and
/// graded by the one check of the ordinary authorization.
#[test]
fn an_error_page_for_a_fresh_client_is_the_servers_finding() {
    let options = Options {
        flaws: [mcp_oauth_conform::reference::Flaw::RegisteredClientLost]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let profile = demo::profile().unwrap();
    // The lost client is a registered one (a URL client would be fetched again).
    let settings = RunSettings {
        agent: profile.agent,
        client: mcp_oauth_conform::session::ClientConfig {
            mode: Some(mcp_oauth_conform::session::ClientMode::Dcr),
            ..Default::default()
        },
        ..Default::default()
    };
    let run = rt().block_on(whole_suite(options, settings));
    assert!(run.agent_blocked.is_none());
    let note = run.run_notes.join("\n");
    assert!(
        note.contains("error page") && note.contains("did not keep the client"),
        "{note}"
    );
    let failed: Vec<&str> = run
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Fail)
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(failed, ["authz.get-supported"]);
}
