//! The catalogue of checks at the command line: `explain ID`, `list --format json|markdown`,
//! `--list --format json`, and docs/checks.md kept in step with the suites.

use std::process::{Command, Output};

use mcp_oauth_conform::catalogue::REGENERATE;
use serde_json::Value;

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn explain_prints_level_revisions_why_fix_reading_and_linked_refs() {
    let o = tool(&["explain", "rs.audience"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "rs.audience\n",
        "party:      rs",
        "level:      must (2025-03-26: should)",
        "revisions:  all",
        "defined in: suites/rs.toml:",
        "\nWhy it matters\n  ",
        "\nHow to fix a server that fails it\n  ",
        "\nHow it is graded\n  ",
        "\nReferences\n",
        "RFC8707-2",
        "https://www.rfc-editor.org/rfc/rfc8707.html#section-2",
    ] {
        assert!(out.contains(needle), "no {needle:?} in:\n{out}");
    }
    assert!(
        !out.contains("not written"),
        "rs.audience has its why and fix:\n{out}"
    );
}

#[test]
fn an_unknown_id_exits_2_with_the_closest() {
    let o = tool(&["explain", "rs.audiance"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("`rs.audiance`"), "{err}");
    assert!(err.contains("closest: rs.audience"), "{err}");
    assert!(stdout(&o).is_empty());
}

const KEYS: [&str; 12] = [
    "id",
    "family",
    "title",
    "party",
    "level",
    "levels",
    "revisions",
    "refs",
    "why",
    "fix",
    "reading",
    "source",
];

fn catalogue(o: &Output) -> Vec<Value> {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    let v: Value = serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}"));
    v.as_array().cloned().unwrap_or_default()
}

#[test]
fn list_json_gives_every_check_to_machines() {
    let all = catalogue(&tool(&["list", "--format", "json"]));
    let text = stdout(&tool(&["list"]));
    assert_eq!(all.len(), text.lines().count(), "one entry per check");
    assert!(all.len() > 100, "{}", all.len());
    for e in &all {
        for k in KEYS {
            assert!(e.get(k).is_some(), "no {k} in {e}");
        }
        let revs = e["revisions"].as_array().unwrap();
        assert_eq!(e["levels"].as_object().unwrap().len(), revs.len(), "{e}");
        assert!(
            e["id"]
                .as_str()
                .unwrap()
                .starts_with(e["family"].as_str().unwrap())
        );
        assert!(e["source"].as_str().unwrap().starts_with("suites/"), "{e}");
    }
    let aud = all.iter().find(|e| e["id"] == "rs.audience").unwrap();
    assert!(aud["why"].is_string() && aud["fix"].is_string(), "{aud}");
    assert!(
        aud["refs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ref"] == "RFC8707-2"
                && r["url"] == "https://www.rfc-editor.org/rfc/rfc8707.html#section-2"),
        "{aud}"
    );
}

#[test]
fn the_run_listing_takes_libtests_format_json() {
    let o = tool(&[
        "--rs",
        "http://127.0.0.1:9/mcp",
        "--list",
        "--format",
        "json",
        "rs.401",
    ]);
    let got = catalogue(&o);
    assert_eq!(got.len(), 1, "the filter selects one check: {got:?}");
    assert_eq!(got[0]["id"], "rs.401-no-token");
    let filtered = catalogue(&tool(&["list", "--format", "json", "rs.401"]));
    assert_eq!(got, filtered);
}

#[test]
fn docs_checks_md_is_current() {
    let o = tool(&["list", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let want = stdout(&o);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md");
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "docs/checks.md is stale (first difference at line {}): regenerate it with `{REGENERATE}`",
            line + 1
        );
    }
}
