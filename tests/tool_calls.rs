//! The tool-call policy (`--call-tools`, `[[target.tool]]`): the scope probe calls only the tools
//! the server marks read-only (or the profile names) unless told otherwise, and never a
//! destructive one unasked. Against the reference server, whose `delete_everything` is marked
//! `destructiveHint` and counted.

use mcp_oauth_conform::cli;
use mcp_oauth_conform::config;
use mcp_oauth_conform::demo;
use mcp_oauth_conform::reference::{Options, Reference};
use mcp_oauth_conform::runner::{self, RunSettings, outcome::CheckOutcome, verdict::Verdict};
use mcp_oauth_conform::session::{CallTools, NamedTool};
use mcp_oauth_conform::suite::Suite;
use serde_json::{Value, json};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The scope checks that need an operation refused for scope.
const PROBING: &[&str] = &[
    "scope.insufficient-403",
    "scope.insufficient-params",
    "scope.step-up-succeeds",
    "scope.single-challenge",
];

/// The `scope.` checks against a fresh reference server (the demo's profile, so the form agent
/// logs in), and how many times its destructive tool was called.
async fn scope_checks(call_tools: CallTools, tools: Vec<NamedTool>) -> (Vec<CheckOutcome>, u64) {
    let reference = Reference::start(Options::default()).await.unwrap();
    let target = demo::target(&reference).unwrap();
    let settings = RunSettings {
        call_tools,
        tools,
        ..demo::settings().unwrap()
    };
    let checks: Vec<_> = Suite::builtin()
        .unwrap()
        .checks
        .into_iter()
        .filter(|c| c.id.starts_with("scope."))
        .collect();
    let out = runner::run_silent(&target, &settings, &checks, 8)
        .await
        .unwrap();
    let destructive = reference.destructive_calls();
    reference.shutdown().await;
    (out.outcomes, destructive)
}

/// Every `tools/call` the checks sent: (tool, arguments).
fn tool_calls(outcomes: &[CheckOutcome]) -> Vec<(String, Value)> {
    outcomes
        .iter()
        .flat_map(|o| &o.exchanges)
        .filter_map(|e| serde_json::from_str::<Value>(e.request.body.as_deref()?).ok())
        .filter(|b| b["method"] == "tools/call")
        .map(|b| {
            (
                b["params"]["name"].as_str().unwrap_or_default().to_string(),
                b["params"]["arguments"].clone(),
            )
        })
        .collect()
}

fn outcome<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("{id} did not run"))
}

#[test]
fn by_default_only_read_only_tools_are_called() {
    let (outcomes, destructive) = rt().block_on(scope_checks(CallTools::ReadOnly, Vec::new()));
    for id in PROBING {
        let o = outcome(&outcomes, id);
        assert_eq!(o.verdict, Verdict::Pass, "{id}: {}", o.message);
    }
    assert_eq!(destructive, 0, "the destructive tool was called");
    let calls = tool_calls(&outcomes);
    assert!(
        calls.iter().all(|(t, _)| t != "delete_everything"),
        "{calls:?}"
    );
    // The read-only tools were called, write_note with the least arguments its schema accepts,
    // and called again after the step-up with the same ones.
    assert!(calls.iter().any(|(t, _)| t == "whoami"), "{calls:?}");
    let notes: Vec<_> = calls.iter().filter(|(t, _)| t == "write_note").collect();
    assert!(notes.len() >= 2, "{calls:?}");
    assert!(
        notes.iter().all(|(_, a)| *a == json!({"text": "x"})),
        "{calls:?}"
    );
}

#[test]
fn with_none_no_tool_is_called_and_the_probing_checks_say_how_to_allow_one() {
    let named = NamedTool {
        name: "write_note".into(),
        arguments: serde_json::Map::new(),
    };
    let (outcomes, destructive) = rt().block_on(scope_checks(CallTools::None, vec![named]));
    assert_eq!(destructive, 0);
    let calls = tool_calls(&outcomes);
    assert!(calls.is_empty(), "{calls:?}");
    for id in PROBING {
        let o = outcome(&outcomes, id);
        assert_eq!(o.verdict, Verdict::Skip, "{id}: {}", o.message);
        for part in [
            "--call-tools none",
            "3 listed: whoami, delete_everything, write_note",
            "[[target.tool]]",
            "--call-tools all",
        ] {
            assert!(o.message.contains(part), "{id}: {part:?} in {}", o.message);
        }
    }
    // The checks that call no tool still ran.
    let hint = outcome(&outcomes, "scope.401-scope-hint");
    assert_eq!(hint.verdict, Verdict::Pass, "{}", hint.message);
}

#[test]
fn a_tool_the_profile_names_is_called_with_its_arguments() {
    // The user vouches for the destructive tool, with arguments that make it harmless.
    let named = NamedTool {
        name: "delete_everything".into(),
        arguments: json!({"confirm": false}).as_object().unwrap().clone(),
    };
    let (outcomes, destructive) = rt().block_on(scope_checks(CallTools::ReadOnly, vec![named]));
    for id in PROBING {
        let o = outcome(&outcomes, id);
        assert_eq!(o.verdict, Verdict::Pass, "{id}: {}", o.message);
    }
    let calls = tool_calls(&outcomes);
    let deletes: Vec<_> = calls
        .iter()
        .filter(|(t, _)| t == "delete_everything")
        .collect();
    assert!(!deletes.is_empty(), "{calls:?}");
    assert!(
        deletes.iter().all(|(_, a)| *a == json!({"confirm": false})),
        "{calls:?}"
    );
    assert_eq!(destructive, deletes.len() as u64);
    // It comes before write_note in the server's list: it is the operation refused.
    let refused = outcome(&outcomes, "scope.insufficient-403");
    assert!(
        refused.message.contains("delete_everything"),
        "{}",
        refused.message
    );
}

#[test]
fn with_all_every_tool_is_called() {
    // `all` calls every listed tool in the server's order: the destructive one comes second.
    let (outcomes, destructive) = rt().block_on(scope_checks(CallTools::All, Vec::new()));
    for id in PROBING {
        let o = outcome(&outcomes, id);
        assert_eq!(o.verdict, Verdict::Pass, "{id}: {}", o.message);
    }
    assert!(destructive > 0, "--call-tools all calls every tool");
    let calls = tool_calls(&outcomes);
    assert!(
        calls
            .iter()
            .any(|(t, a)| t == "delete_everything" && *a == json!({"confirm": false})),
        "{calls:?}"
    );
}

#[test]
fn the_policy_comes_from_the_flag_or_the_profile() {
    let profile = config::parse_profile(
        "target.toml",
        r#"
[target]
call_tools = "none"

[[target.tool]]
name = "search"
arguments = { q = "x", limit = 3, filters = { lang = ["en"] } }
"#,
    )
    .unwrap();
    let cli = cli::parse_from(["mcp-oauth-conform", "--rs", "http://127.0.0.1:9/mcp"]).unwrap();
    let cfg = config::build(cli.rs, cli.as_url, cli.client, profile, cli.run).unwrap();
    assert_eq!(cfg.settings.call_tools, CallTools::None);
    assert_eq!(cfg.settings.tools.len(), 1);
    assert_eq!(cfg.settings.tools[0].name, "search");
    assert_eq!(
        Value::Object(cfg.settings.tools[0].arguments.clone()),
        json!({"q": "x", "limit": 3, "filters": {"lang": ["en"]}})
    );
    // The flag wins over the profile.
    let profile = config::parse_profile("t.toml", "[target]\ncall_tools = \"none\"\n").unwrap();
    let cli = cli::parse_from([
        "mcp-oauth-conform",
        "--rs",
        "http://127.0.0.1:9/mcp",
        "--call-tools",
        "all",
    ])
    .unwrap();
    let cfg = config::build(cli.rs, cli.as_url, cli.client, profile, cli.run).unwrap();
    assert_eq!(cfg.settings.call_tools, CallTools::All);
    // The default is read-only, from the flag's absence and from `RunSettings::default()`.
    let cli = cli::parse_from(["mcp-oauth-conform", "--rs", "http://127.0.0.1:9/mcp"]).unwrap();
    let cfg = config::build(
        cli.rs,
        cli.as_url,
        cli.client,
        config::Profile::default(),
        cli.run,
    )
    .unwrap();
    assert_eq!(cfg.settings.call_tools, CallTools::ReadOnly);
    assert_eq!(RunSettings::default().call_tools, CallTools::ReadOnly);
    assert!(
        cli::parse_from([
            "mcp-oauth-conform",
            "--rs",
            "http://127.0.0.1:9/mcp",
            "--call-tools",
            "some"
        ])
        .is_err()
    );
    assert!(config::parse_profile("t.toml", "[target]\ncall_tools = \"some\"\n").is_err());
}
