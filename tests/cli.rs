//! The binary's contract at the command line: usage errors, suite errors, listing, help.

use std::process::{Command, Output};

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_suite_typo_is_located_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("mcp-oauth-conform-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/suites/rs.toml")).unwrap();
    let bad = good.replacen("expect.status = [401]", "expect.staus = [401]", 1);
    let line = bad
        .lines()
        .position(|l| l.contains("expect.staus"))
        .unwrap()
        + 1;
    std::fs::write(dir.join("rs.toml"), bad).unwrap();
    let o = tool(&[
        "--rs",
        "http://127.0.0.1:9/mcp",
        "--suite-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let want = format!("{}:{line}:", dir.join("rs.toml").display());
    assert!(text(&o).contains(&want), "expected {want} in {}", text(&o));
    assert!(text(&o).contains("unknown field `staus`"), "{}", text(&o));
}

#[test]
fn a_missing_target_is_a_usage_error() {
    let o = tool(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing --rs"), "{}", text(&o));
    let o = tool(&["--rs", "not a url"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not an absolute URL"), "{}", text(&o));
}

#[test]
fn a_bad_config_file_is_located() {
    let path =
        std::env::temp_dir().join(format!("mcp-oauth-conform-cfg-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[target]\nrs = \"http://127.0.0.1:9/mcp\"\ntimeout = 3\n",
    )
    .unwrap();
    let o = tool(&["--config", path.to_str().unwrap(), "--list"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{}:3:1", path.display())),
        "{}",
        text(&o)
    );
}

#[test]
fn list_shows_id_level_and_title() {
    let o = tool(&["--rs", "http://127.0.0.1:9/mcp", "--list", "rs.401"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with("rs.401-no-token"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("must") && line.contains("answered 401"),
        "{line}"
    );
    assert_eq!(
        out.lines().count(),
        1,
        "the filter selects one check: {out}"
    );
}

#[test]
fn help_and_version_work() {
    let o = tool(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let h = text(&o);
    for needle in [
        "--rs <URL>",
        "--as <URL>",
        "--spec",
        "--report-dir",
        "Check selection",
        "Exit codes",
        "demo",
    ] {
        assert!(h.contains(needle), "--help lacks {needle}:\n{h}");
    }
    assert!(
        !h.contains("--nocapture"),
        "no-op libtest flags stay hidden"
    );
    let o = tool(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains(env!("CARGO_PKG_VERSION")));
}

fn report_dir(tag: &str) -> String {
    let d = std::env::temp_dir().join(format!(
        "mcp-oauth-conform-demo-{tag}-{}",
        std::process::id()
    ));
    d.display().to_string()
}

#[test]
fn the_clean_demo_passes_and_writes_the_contract_shape() {
    let dir = report_dir("clean");
    let o = tool(&["demo", "--report-dir", &dir]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/results.json")).unwrap())
            .unwrap();
    assert_eq!(r["schema"], 1);
    assert_eq!(r["tool"]["name"], "mcp-oauth-conform");
    assert!(
        r["target"]["rs"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let checks = r["checks"].as_array().unwrap();
    let ran = checks.iter().filter(|c| c["verdict"] != "skip").count();
    assert!(ran >= 60, "only {ran} checks ran");
    assert_eq!(r["summary"]["fail"], 0);
    assert_eq!(r["summary"]["error"], 0);
    for c in checks {
        for key in [
            "id",
            "title",
            "party",
            "level",
            "verdict",
            "message",
            "refs",
            "duration_ms",
            "exchanges",
        ] {
            assert!(c.get(key).is_some(), "{} lacks {key}", c["id"]);
        }
    }
}

#[test]
fn a_flaw_that_only_costs_a_should_still_exits_1() {
    let o = tool(&[
        "demo",
        "--flaw",
        "prm-no-scopes",
        "--report-dir",
        &report_dir("warn"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("prm.scopes-supported  warn (clean: pass)"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_revision_specific_flaw_is_graded_under_its_revision() {
    let o = tool(&[
        "demo",
        "--flaw",
        "no-resource-metadata",
        "--report-dir",
        &report_dir("rev"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("spec: 2025-06-18"), "{}", text(&o));
}

#[test]
fn flaws_are_listed_and_unknown_ones_refused() {
    let o = tool(&["demo", "--list-flaws"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        out.lines().count(),
        mcp_oauth_conform::reference::FLAWS.len()
    );
    for line in out.lines() {
        let (name, description) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("`{line}` is not NAME  description"));
        assert!(
            !name.contains(' ') && !description.trim().is_empty(),
            "{line}"
        );
    }
    let o = tool(&["demo", "--flaw", "no-such-flaw"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn the_readme_profile_example_is_a_valid_profile() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("```toml\n[target]")
        .expect("the README shows a target profile")
        + "```toml\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let path = std::env::temp_dir().join(format!(
        "mcp-oauth-conform-readme-{}.toml",
        std::process::id()
    ));
    std::fs::write(&path, block).unwrap();
    let profile = mcp_oauth_conform::config::load_profile(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(profile.agent.steps.len(), 2);
    assert_eq!(profile.client.id.as_deref(), Some("my-test-client"));
}

/// `--dry-run` discovers and says what a run would do, and hands out nothing: the reference
/// server has issued no code, token or client secret afterwards.
#[test]
fn a_dry_run_sends_nothing_after_discovery() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let reference = rt
        .block_on(mcp_oauth_conform::reference::Reference::start(
            Default::default(),
        ))
        .unwrap();
    let out = tool(&["--rs", &reference.rs_url(), "--dry-run", "rs."]);
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("dry run: discovery only"), "{stdout}");
    assert!(stdout.contains("rs.401-no-token"), "{stdout}");
    assert!(
        !stdout.contains("token.code-single-use"),
        "the filter applies: {stdout}"
    );
    assert!(stdout.contains("/register"), "{stdout}");
    // Only the users' passwords: nothing was registered, authorized or issued.
    assert_eq!(reference.secrets().len(), reference.users().len());
    rt.block_on(reference.shutdown());
}

#[test]
fn fuzz_reports_a_minimized_finding_with_curl_and_exits_1() {
    let dir = report_dir("fuzz");
    let o = tool(&[
        "fuzz",
        "--demo",
        "--flaw",
        "fuzz-state-header-injection",
        "--endpoints",
        "authorize",
        "--max-findings",
        "1",
        "--report-dir",
        &dir,
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("fuzz.header-injection ... fail"), "{out}");
    assert!(out.contains("parameter state"), "{out}");
    assert!(out.contains("reproduce: curl -i "), "{out}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/results.json")).unwrap())
            .unwrap();
    let check = results["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "fuzz.header-injection")
        .unwrap();
    assert_eq!(check["verdict"], "fail");
    assert!(!check["exchanges"].as_array().unwrap().is_empty());
    // The finding is the failing step the reports show first, with its reproducer.
    let junit = std::fs::read_to_string(format!("{dir}/junit.xml")).unwrap();
    let html = std::fs::read_to_string(format!("{dir}/report.html")).unwrap();
    for (name, text) in [("junit.xml", &junit), ("report.html", &html)] {
        assert!(text.contains("parameter state"), "{name}");
        assert!(text.contains("reproduce: curl -i "), "{name}");
    }
}

#[test]
fn fuzz_names_an_unknown_endpoint() {
    let o = tool(&[
        "fuzz",
        "--rs",
        "http://127.0.0.1:9/mcp",
        "--endpoints",
        "tokens",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("unknown endpoint \"tokens\""),
        "{}",
        text(&o)
    );
}
