//! `init-profile` against the reference server: the profile it writes for the login page loads,
//! names the page, keeps the password out and, once its placeholders are filled in and the
//! consent step added, gets a run past login and consent; an auto-approving server gets a
//! `follow` profile; the command's exit codes.

use std::process::{Command, Output};

use mcp_oauth_conform::config::{self, Profile};
use mcp_oauth_conform::discovery::Target;
use mcp_oauth_conform::init_profile::{self, Generated, PASSWORD_ENV, PLACEHOLDER};
use mcp_oauth_conform::reference::{Options, Reference};
use mcp_oauth_conform::runner::{self, RunSettings, verdict::Verdict};
use mcp_oauth_conform::suite::Suite;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn target(reference: &Reference, with_as: bool) -> Target {
    Target {
        rs_raw: reference.rs_url(),
        rs: url::Url::parse(&reference.rs_url()).unwrap(),
        as_raw: with_as.then(|| reference.issuer()),
        spec: None,
        other_resource: None,
    }
}

/// Loads `text` as `config::load_profile` loads a file.
fn load(text: &str, tag: &str) -> Profile {
    let path = std::env::temp_dir().join(format!(
        "mcp-oauth-conform-init-{tag}-{}.toml",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    let profile = config::load_profile(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let _ = std::fs::remove_file(&path);
    profile
}

const CONSENT_STEP: &str = r#"
[[agent.login]]
url = "/consent"
submit = { decision = "approve" }
optional = true
"#;

#[test]
fn a_login_page_gives_a_profile_that_gets_a_run_past_it() {
    let rt = rt();
    let reference = rt.block_on(Reference::start(Options::default())).unwrap();
    // No --as: the issuer comes from discovery.
    let g: Generated = rt
        .block_on(init_profile::generate(
            &target(&reference, false),
            &RunSettings::default(),
            "2026-01-02",
        ))
        .unwrap();
    let text = g.text.clone();
    assert_eq!(g.stop, None, "{text}");
    assert!(
        text.starts_with(&format!(
            "# Target profile for {}, written by `mcp-oauth-conform init-profile` on 2026-01-02.",
            reference.rs_url()
        )),
        "{text}"
    );
    assert!(text.contains("(hidden: request_id, kept as is)"), "{text}");
    for (user, password) in reference.users() {
        assert!(!text.contains(&password), "{user}'s password in {text}");
    }

    let profile = load(&text, "login");
    assert_eq!(
        profile.target.rs.as_deref(),
        Some(reference.rs_url().as_str())
    );
    assert_eq!(
        profile.target.as_url.as_deref(),
        Some(reference.issuer().as_str())
    );
    assert_eq!(profile.agent.mode, mcp_oauth_conform::agent::Mode::Form);
    assert_eq!(profile.agent.steps.len(), 1, "{text}");
    let step = &profile.agent.steps[0];
    assert_eq!(step.url.as_deref(), Some("/authorize"), "{text}");
    assert_eq!(
        step.contains.as_deref(),
        Some("type=\"password\""),
        "{text}"
    );
    assert_eq!(step.fields["username"], PLACEHOLDER);
    assert_eq!(step.fields["password"], format!("${{env.{PASSWORD_ENV}}}"));
    assert!(!step.fields.contains_key("request_id"), "{text}");
    assert!(text.contains("# A consent page usually follows"), "{text}");

    // The proof: the placeholders filled in, the consent step added, a run gets past both.
    let (user, password) = reference.users().remove(0);
    // SAFETY: the only environment change of this test binary; nothing else here reads this
    // variable, and it is set before the run that reads it starts.
    unsafe { std::env::set_var(PASSWORD_ENV, &password) };
    let filled = format!(
        "{}{CONSENT_STEP}",
        text.replace(PLACEHOLDER, &user.replace('"', "\\\""))
    );
    let profile = load(&filled, "filled");
    let ids = ["authz.state-echo", "rs.valid-token-accepted"];
    let checks: Vec<_> = Suite::builtin()
        .unwrap()
        .checks
        .into_iter()
        .filter(|c| ids.contains(&c.id.as_str()))
        .collect();
    assert_eq!(checks.len(), ids.len());
    let settings = RunSettings {
        agent: profile.agent,
        client: profile.client,
        ..Default::default()
    };
    let run = rt
        .block_on(runner::run_silent(
            &target(&reference, true),
            &settings,
            &checks,
            2,
        ))
        .unwrap();
    rt.block_on(reference.shutdown());
    assert!(run.preflight.got_token, "{:?}", run.preflight.why_no_token);
    for o in &run.outcomes {
        assert_eq!(o.verdict, Verdict::Pass, "{}: {}", o.id, o.message);
    }
    assert_eq!(run.outcomes.len(), ids.len());
}

#[test]
fn an_auto_approving_server_gives_a_follow_profile() {
    let rt = rt();
    let reference = rt
        .block_on(Reference::start(Options {
            auto_approve: true,
            ..Default::default()
        }))
        .unwrap();
    let g = rt
        .block_on(init_profile::generate(
            &target(&reference, true),
            &RunSettings::default(),
            "2026-01-02",
        ))
        .unwrap();
    rt.block_on(reference.shutdown());
    assert_eq!(g.stop, None, "{}", g.text);
    assert!(g.text.contains("no login page was"), "{}", g.text);
    let profile = load(&g.text, "follow");
    assert_eq!(profile.agent.mode, mcp_oauth_conform::agent::Mode::Follow);
    assert!(profile.agent.steps.is_empty());
}

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .arg("init-profile")
        .args(args)
        .env_remove("MCP_CONFORM_RS")
        .env_remove("MCP_CONFORM_AS")
        .env_remove("MCP_CONFORM_CLIENT_ID")
        .env_remove("MCP_CONFORM_CLIENT_SECRET")
        .output()
        .unwrap()
}

#[test]
fn the_command_prints_the_profile_and_exits_0() {
    let rt = rt();
    let reference = rt.block_on(Reference::start(Options::default())).unwrap();
    let o = tool(&["--rs", &reference.rs_url(), "--as", &reference.issuer()]);
    let users = reference.users();
    rt.block_on(reference.shutdown());
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let profile = load(&out, "cli");
    assert_eq!(profile.agent.steps[0].url.as_deref(), Some("/authorize"));
    assert!(err.contains("a login page at /authorize"), "{err}");
    for (_, password) in users {
        assert!(!out.contains(&password), "{out}");
    }
}

#[test]
fn the_command_exit_codes() {
    let o = tool(&[]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = tool(&["--rs", "not a url"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = tool(&["--rs", "http://127.0.0.1:9/mcp", "--agent", "form"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = tool(&["--rs", "http://127.0.0.1:9/mcp", "--timeout", "5"]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("unreachable"),
        "{o:?}"
    );
}
