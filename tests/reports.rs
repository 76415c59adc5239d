//! The report files as their consumers see them: junit.xml read by junitparser (an independent,
//! widely used JUnit reader), report.html opened in headless chromium, `--expect` gating and
//! `compare` through the binary.
//!
//! junitparser lives in a venv at target/ci-venv and chromium at /usr/bin/chromium; .ci/run
//! installs both. Locally a test without its tool is skipped with a printed reason; with CI=true
//! a missing tool fails the test.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mcp_oauth_conform::http::Exchange;
use mcp_oauth_conform::http::exchange::{RequestRecord, ResponseRecord};
use mcp_oauth_conform::report::{self, RunReport};
use mcp_oauth_conform::runner::outcome::{
    CheckOutcome, ExpectationOutcome, StepOutcome, StepState,
};
use mcp_oauth_conform::runner::verdict::{Level, Verdict};
use mcp_oauth_conform::suite::Party;
use serde_json::Value;

/// Any one child process (the tool, python, chromium) gets this long; only a hang reaches it.
const DEADLINE: Duration = Duration::from_secs(120);

const FLAW: &str = "prm-resource-origin";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A test whose tool is missing: a failure in CI, a skip with a visible reason elsewhere.
fn missing(tool: &str, how: &str) {
    assert!(
        !in_ci(),
        "{tool} is missing and CI=true: {how} (bash .ci/run does this)"
    );
    // Straight to the process's stderr, past the test harness's capture, so the skip is seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {tool} is missing ({how}); CI=true makes this a failure"
    );
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcp-oauth-conform-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs a program to its end or the deadline, whichever is first.
fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn tool(args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform")).args(args))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct DemoRun {
    dir: PathBuf,
    results: Value,
}

/// One `demo --flaw` run, shared by the tests of this file.
fn flaw_demo() -> &'static DemoRun {
    static RUN: OnceLock<DemoRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = temp_dir("reports");
        let o = tool(&[
            "demo",
            "--flaw",
            FLAW,
            "--report-dir",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let results: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert!(results["summary"]["fail"].as_u64().unwrap() >= 1);
        DemoRun { dir, results }
    })
}

// ---------------------------------------------------------------------------------------------
// junit.xml, read by junitparser

fn junitparser() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-venv/bin/python");
    let ok = python.exists()
        && run(Command::new(&python).args(["-c", "import junitparser"]))
            .status
            .success();
    if ok {
        Some(python)
    } else {
        missing(
            "junitparser (target/ci-venv)",
            "python3 -m venv target/ci-venv && target/ci-venv/bin/pip install junitparser==5.0.3",
        );
        None
    }
}

/// What junitparser reads from a junit.xml, as JSON.
const READ_JUNIT: &str = r#"
import json, sys
from junitparser import JUnitXml, Properties
xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        results = [{"kind": type(r).__name__, "message": r.message, "type": r.type, "text": r.text}
                   for r in case.result]
        props = case.child(Properties)
        cases.append({
            "name": case.name, "classname": case.classname, "time": case.time,
            "results": results,
            "properties": [[p.name, p.value] for p in props] if props is not None else [],
            "system_out": case.system_out,
        })
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                   "errors": suite.errors, "skipped": suite.skipped, "cases": cases})
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "errors": xml.errors,
                  "skipped": xml.skipped, "suites": suites}))
"#;

fn read_junit(python: &Path, file: &Path) -> Value {
    let o = run(Command::new(python).args(["-c", READ_JUNIT]).arg(file));
    assert!(o.status.success(), "junitparser failed: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn props(case: &Value, name: &str) -> Vec<String> {
    case["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[0] == name)
        .map(|p| p[1].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn junit_of_a_flaw_demo_reads_back_in_junitparser() {
    let Some(python) = junitparser() else { return };
    let run = flaw_demo();
    let j = read_junit(&python, &run.dir.join("junit.xml"));
    let r = &run.results;
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(j["tests"], checks.len());
    assert_eq!(j["failures"], r["summary"]["fail"]);
    assert_eq!(j["errors"], r["summary"]["error"]);
    assert_eq!(j["skipped"], r["summary"]["skip"]);

    // One suite per family, in order, with the family's checks.
    let mut families: Vec<&str> = Vec::new();
    for c in checks {
        let f = c["family"].as_str().unwrap();
        if !families.contains(&f) {
            families.push(f);
        }
    }
    let suites = j["suites"].as_array().unwrap();
    let names: Vec<&str> = suites.iter().map(|s| s["name"].as_str().unwrap()).collect();
    similar_asserts::assert_eq!(names, families);

    let cases: BTreeMap<&str, &Value> = suites
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .map(|c| (c["name"].as_str().unwrap(), c))
        .collect();
    assert_eq!(cases.len(), checks.len());
    let mut seen_fail = 0;
    for c in checks {
        let id = c["id"].as_str().unwrap();
        let case = cases[id];
        let message = c["message"].as_str().unwrap();
        assert_eq!(case["classname"], c["family"], "{id}");
        assert_eq!(
            props(case, "verdict"),
            [c["verdict"].as_str().unwrap()],
            "{id}"
        );
        assert_eq!(props(case, "level"), [c["level"].as_str().unwrap()], "{id}");
        assert_eq!(
            props(case, "revision"),
            [r["spec"].as_str().unwrap()],
            "{id}"
        );
        let refs: Vec<String> = c["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        assert_eq!(props(case, "ref"), refs, "{id}");
        let out = case["system_out"].as_str().unwrap_or_default();
        assert!(
            out.contains(message),
            "{id}: system-out lacks the message:\n{out}"
        );
        let results = case["results"].as_array().unwrap();
        match c["verdict"].as_str().unwrap() {
            "fail" => {
                seen_fail += 1;
                // system-out begins with the step that failed and what it expected and saw,
                // as results.json records them.
                let (step, failed) = c["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["state"] == "ran")
                    .find_map(|s| {
                        let failed = s["expectations"].as_array().unwrap().iter().find(|e| {
                            e["passed"] == false && (e["level"] == "must" || e["level"] == "should")
                        })?;
                        Some((s, failed))
                    })
                    .unwrap_or_else(|| panic!("{id}: no failing step in {:#}", c["steps"]));
                let head = format!(
                    "fail at step {}: {}\n  expected: {} ({})\n",
                    step["index"],
                    step["label"].as_str().unwrap(),
                    failed["expected"].as_str().unwrap(),
                    failed["level"].as_str().unwrap()
                );
                assert!(
                    out.starts_with(&head),
                    "{id}: system-out does not begin with {head:?}:\n{out}"
                );
                assert_eq!(results.len(), 1, "{id}");
                assert_eq!(results[0]["kind"], "Failure", "{id}");
                assert_eq!(results[0]["message"], message, "{id}");
                assert_eq!(
                    results[0]["type"],
                    c["level"].as_str().unwrap().to_uppercase(),
                    "{id}"
                );
            }
            "error" => assert_eq!(results[0]["kind"], "Error", "{id}"),
            "skip" => {
                assert_eq!(results[0]["kind"], "Skipped", "{id}");
                assert_eq!(results[0]["message"], message, "{id}");
            }
            _ => assert!(results.is_empty(), "{id}: a success has no result element"),
        }
        // The exchanges are in the transcript.
        for x in c["exchanges"].as_array().unwrap() {
            let line = format!(
                "> {} {}",
                x["request"]["method"].as_str().unwrap(),
                x["request"]["url"].as_str().unwrap()
            );
            assert!(out.contains(&line), "{id}: no `{line}` in system-out");
        }
    }
    assert!(seen_fail >= 1);
    assert!(
        cases["prm.resource-matches"]["results"][0]["message"]
            .as_str()
            .unwrap()
            .contains("JSON /resource is"),
        "the failure message of the flaw's check"
    );
}

fn outcome(id: &str, level: Level, verdict: Verdict, message: &str) -> CheckOutcome {
    CheckOutcome {
        id: id.into(),
        family: id.split('.').next().unwrap().into(),
        title: format!("title of {id}"),
        party: Party::Rs,
        level,
        verdict,
        message: message.into(),
        refs: vec!["RFC6750-3".into()],
        duration_ms: 1500,
        source: "suites/x.toml:1".into(),
        exchanges: Vec::new(),
        why: None,
        fix: None,
        steps: Vec::new(),
    }
}

#[test]
fn junit_with_every_verdict_and_hostile_text_reads_back_in_junitparser() {
    let Some(python) = junitparser() else { return };
    // Text a server controls: markup, quotes, a CDATA end, control and ANSI characters.
    let hostile = "<b>\"x\" & 'y'</b> ]]> \u{1b}[31mred\u{1b}[0m \u{7} end";
    let mut error = outcome("rs.b", Level::Must, Verdict::Error, "timed out after 2 s");
    error.exchanges.push(Exchange {
        request: RequestRecord {
            method: "GET".into(),
            url: "http://127.0.0.1:9/mcp?x=<y>".into(),
            headers: vec![("accept".into(), "*/*".into())],
            body: None,
        },
        response: Some(ResponseRecord {
            status: 500,
            headers: vec![],
            body: hostile.into(),
            body_truncated: true,
        }),
        error: None,
        elapsed_ms: 2000,
    });
    let mut fail = outcome("rs.a", Level::Must, Verdict::Fail, hostile);
    fail.steps.push(StepOutcome {
        index: 2,
        label: "a <forged> token".into(),
        state: StepState::Ran,
        why: None,
        exchanges: vec![],
        expectations: vec![ExpectationOutcome {
            expected: "status 401".into(),
            passed: false,
            level: Level::Must,
            observed: Some(hostile.into()),
            problems: vec![hostile.into()],
        }],
    });
    let r = RunReport {
        target_rs: "http://127.0.0.1:9/mcp".into(),
        target_as: None,
        spec: "2025-11-25".into(),
        spec_reason: "given".into(),
        negotiation: None,
        agent_blocked: None,
        run_notes: Vec::new(),
        duration_ms: 9000,
        requests: 1,
        footprint: Default::default(),
        discovery_notes: vec![],
        discovery_exchanges: vec![],
        outcomes: vec![
            fail,
            error,
            outcome("rs.c", Level::Should, Verdict::Warn, "a SHOULD"),
            outcome("meta.a", Level::Info, Verdict::Info, "seen"),
            outcome(
                "meta.b",
                Level::Must,
                Verdict::Skip,
                "not applicable: no AS",
            ),
            outcome("meta.c", Level::Must, Verdict::Pass, "as required"),
        ],
        jwts: vec![],
    };
    let dir = temp_dir("junit-hostile");
    let file = dir.join("junit.xml");
    std::fs::write(&file, report::junit::render(&r)).unwrap();
    let j = read_junit(&python, &file);
    assert_eq!(
        (&j["tests"], &j["failures"], &j["errors"], &j["skipped"]),
        (&6.into(), &1.into(), &1.into(), &1.into())
    );
    let rs = &j["suites"][0];
    assert_eq!((&rs["name"], &rs["tests"]), (&"rs".into(), &3.into()));
    let fail = &rs["cases"][0]["results"][0];
    assert_eq!(fail["kind"], "Failure");
    // XML cannot carry ESC or BEL: quick-junit drops them (and the ANSI sequence); the rest of
    // the message arrives intact.
    assert_eq!(fail["message"], "<b>\"x\" & 'y'</b> ]]> red  end");
    // The failing step and its expectation first, hostile text intact but for what XML cannot
    // carry.
    let out = rs["cases"][0]["system_out"].as_str().unwrap();
    assert!(
        out.starts_with(
            "fail at step 2: a <forged> token\n  expected: status 401 (must)\n  observed: <b>\"x\" & 'y'</b> ]]> red  end\n"
        ),
        "{out}"
    );
    let err = &rs["cases"][1];
    assert_eq!(err["results"][0]["kind"], "Error");
    assert_eq!(err["results"][0]["message"], "timed out after 2 s");
    assert_eq!(err["time"], 1.5);
    let out = err["system_out"].as_str().unwrap();
    assert!(out.contains("> GET http://127.0.0.1:9/mcp?x=<y>"), "{out}");
    assert!(out.contains("< 500"), "{out}");
    assert!(out.contains("< [body cut here]"), "{out}");
    let warn = &rs["cases"][2];
    assert!(warn["results"].as_array().unwrap().is_empty());
    assert_eq!(props(warn, "verdict"), ["warn"]);
    assert!(warn["system_out"].as_str().unwrap().contains("a SHOULD"));
    let meta = &j["suites"][1];
    assert_eq!(props(&meta["cases"][0], "verdict"), ["info"]);
    assert_eq!(meta["cases"][1]["results"][0]["kind"], "Skipped");
    assert_eq!(
        meta["cases"][1]["results"][0]["message"],
        "not applicable: no AS"
    );
}

// ---------------------------------------------------------------------------------------------
// report.html, opened in headless chromium

fn chromium() -> Option<PathBuf> {
    let found = std::iter::once(PathBuf::from("/usr/bin/chromium"))
        .chain(
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("chromium"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
        .find(|p| p.is_file());
    if found.is_none() {
        missing("chromium", "apt-get install -y chromium");
    }
    found
}

/// What a page did in the browser.
#[derive(Debug)]
struct PageRun {
    /// The DOM after the scripts ran.
    dom: String,
    /// Console messages (errors, uncaught exceptions, logs) from chromium's log.
    console: Vec<String>,
}

/// Loads a page headless and dumps its DOM. The host resolver refuses every name, so nothing
/// leaves the machine even if a page (or the browser itself) tries.
fn open_page(browser: &Path, url: &str) -> PageRun {
    let profile = temp_dir(&format!("chromium-{}", url.len()));
    let o = run(Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=3000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(o.status.success(), "chromium failed: {}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    PageRun {
        dom: String::from_utf8_lossy(&o.stdout).into_owned(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_string)
            .collect(),
    }
}

/// The URLs a page fetched, read from the Resource Timing API by a probe added to a copy.
fn fetched_by(browser: &Path, page: &Path) -> Vec<String> {
    const PROBE: &str = r#"<script>addEventListener("load", function () { document.documentElement.setAttribute("data-fetched", JSON.stringify(performance.getEntriesByType("resource").map(function (e) { return e.name; }))); });</script>"#;
    let html = std::fs::read_to_string(page).unwrap();
    let probed = page.with_extension("probe.html");
    std::fs::write(
        &probed,
        html.replacen("</head>", &format!("{PROBE}</head>"), 1),
    )
    .unwrap();
    let run = open_page(browser, &format!("file://{}", probed.display()));
    let attr = regex::Regex::new(r#"<html[^>]* data-fetched="([^"]*)""#)
        .unwrap()
        .captures(&run.dom)
        .unwrap_or_else(|| panic!("the probe did not run: {:?}", run.console))[1]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&attr).unwrap()
}

/// The summary tiles as the browser shows them.
fn tiles(dom: &str) -> BTreeMap<String, u64> {
    let re = regex::Regex::new(r#"<span class="n" id="count-([a-z]+)">(\d+)</span>"#).unwrap();
    re.captures_iter(dom)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap()))
        .collect()
}

fn ready(dom: &str) -> bool {
    regex::Regex::new(r#"<body[^>]* data-ready="true""#)
        .unwrap()
        .is_match(dom)
}

#[test]
fn the_flaw_demo_report_opens_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let run = flaw_demo();
    let page = run.dir.join("report.html");
    let url = format!("file://{}", page.display());
    let loaded = open_page(&browser, &url);
    assert!(
        loaded.console.is_empty(),
        "console messages: {:#?}",
        loaded.console
    );
    assert!(ready(&loaded.dom), "the page script did not run to its end");
    // The summary: every verdict's count and the total, as results.json has them.
    let shown = tiles(&loaded.dom);
    let mut want: BTreeMap<String, u64> = run.results["summary"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    let total = run.results["checks"].as_array().unwrap().len() as u64;
    want.insert("total".into(), total);
    similar_asserts::assert_eq!(shown, want);
    assert!(
        loaded
            .dom
            .contains(&format!("showing {total} of {total} checks"))
    );
    assert!(loaded.dom.contains(r#"id="check-prm.resource-matches""#));
    // Nothing fetched.
    assert_eq!(fetched_by(&browser, &page), Vec::<String>::new());
    // The verdict filter, driven by the URL: only the failure stays visible.
    let filtered = open_page(&browser, &format!("{url}#verdict=fail"));
    assert!(filtered.console.is_empty(), "{:#?}", filtered.console);
    let fails = run.results["summary"]["fail"].as_u64().unwrap();
    assert!(
        filtered
            .dom
            .contains(&format!("showing {fails} of {total} checks")),
        "the filter did not apply"
    );
    let visible =
        regex::Regex::new(r#"<details class="check v-(\w+)"[^>]*data-verdict="\w+"(?: open="")?>"#)
            .unwrap()
            .captures_iter(&filtered.dom)
            .map(|c| c[1].to_string())
            .collect::<Vec<_>>();
    assert_eq!(
        visible,
        vec!["fail".to_string(); fails as usize],
        "visible checks"
    );
}

#[test]
fn the_browser_check_catches_broken_pages() {
    let Some(browser) = chromium() else { return };
    let run = flaw_demo();
    let html = std::fs::read_to_string(run.dir.join("report.html")).unwrap();
    let dir = temp_dir("broken-pages");
    let variant = |name: &str, from: &str, to: &str| {
        assert!(html.contains(from), "{from}");
        let p = dir.join(format!("{name}.html"));
        std::fs::write(&p, html.replacen(from, to, 1)).unwrap();
        p
    };
    // An uncaught exception in a script of its own: logged, though the page script still ran.
    let p = variant(
        "throws",
        "</body>",
        "<script>undefinedFunction();</script></body>",
    );
    let r = open_page(&browser, &format!("file://{}", p.display()));
    assert!(
        r.console.iter().any(|l| l.contains("undefinedFunction")),
        "{:#?}",
        r.console
    );
    // The page script broken half-way: logged, and it never marks the page ready.
    let p = variant(
        "script-broken",
        r#"document.getElementById("filter")"#,
        r#"document.getElementById("no-such-form")"#,
    );
    let r = open_page(&browser, &format!("file://{}", p.display()));
    assert!(!r.console.is_empty());
    assert!(!ready(&r.dom));
    // A fetch: an image and a stylesheet from elsewhere.
    let p = variant(
        "fetches",
        "</body>",
        r#"<img src="https://example.invalid/x.png" alt=""><link rel="stylesheet" href="https://example.invalid/a.css"></body>"#,
    );
    let mut fetched = fetched_by(&browser, &p);
    fetched.sort();
    assert_eq!(
        fetched,
        [
            "https://example.invalid/a.css",
            "https://example.invalid/x.png"
        ]
    );
    // Wrong numbers in the summary.
    let fails = run.results["summary"]["fail"].as_u64().unwrap();
    let p = variant(
        "miscounted",
        &format!(r#"id="count-fail">{fails}<"#),
        &format!(r#"id="count-fail">{}<"#, fails + 1),
    );
    let r = open_page(&browser, &format!("file://{}", p.display()));
    assert_eq!(tiles(&r.dom).get("fail"), Some(&(fails + 1)));
}

// ---------------------------------------------------------------------------------------------
// --expect

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn demo_with(dir: &Path, expect: &str) -> Output {
    let d = dir.join("reports");
    tool(&[
        "demo",
        "--flaw",
        FLAW,
        "--report-dir",
        d.to_str().unwrap(),
        "--expect",
        expect,
    ])
}

#[test]
fn expected_failures_exit_0_and_new_ones_get_a_ready_entry() {
    let dir = temp_dir("expect");
    // No entries: the failure is unexpected; the output says what to paste.
    let empty = write(&dir, "empty.toml", "# nothing accepted yet\n");
    let o = demo_with(&dir, &empty);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("unexpected results:"), "{out}");
    let paste = out
        .split("give each a reason:\n\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no entries to paste:\n{out}"));
    assert!(
        paste.contains("[[expect]]\nid = \"prm.resource-matches\"\nverdict = \"fail\"\n"),
        "{paste}"
    );
    // Pasted as printed, the same run matches: exit 0 although a check fails.
    let accepted = write(&dir, "accepted.toml", paste);
    let o = demo_with(&dir, &accepted);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("every result is as expected"),
        "{}",
        text(&o)
    );
    // The same file against the clean server: the expected failure no longer happens.
    let o = tool(&[
        "demo",
        "--report-dir",
        dir.join("clean").to_str().unwrap(),
        "--expect",
        &accepted,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("stale entries (the expected result no longer happens)"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("prm.resource-matches  expected fail, got pass: remove the entry"));
}

#[test]
fn an_entry_that_names_no_check_exits_1() {
    let dir = temp_dir("expect-unknown");
    let f = write(
        &dir,
        "e.toml",
        "[[expect]]\nid = \"prm.resource-matches\"\nverdict = \"fail\"\nreason = \"known\"\n\n[[expect]]\nid = \"prm.resource-matchez\"\nverdict = \"fail\"\nreason = \"typo\"\n",
    );
    let o = demo_with(&dir, &f);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{f}:7:6  `prm.resource-matchez` is not a check (did you mean `prm.resource-matches`?)"
        )),
        "{}",
        text(&o)
    );
}

#[test]
fn a_bad_expectations_file_is_located_and_exits_2() {
    let dir = temp_dir("expect-bad");
    for (name, body, at, needle) in [
        (
            "unknown-key.toml",
            "[[expect]]\nid = \"prm.resource-matches\"\nverdict = \"fail\"\nreason = \"x\"\nticket = \"A-1\"\n",
            ":5:1:",
            "unknown field `ticket`",
        ),
        (
            "no-reason.toml",
            "[[expect]]\nid = \"prm.resource-matches\"\nverdict = \"fail\"\n",
            ":1:1:",
            "missing field `reason`",
        ),
        (
            "empty-reason.toml",
            "[[expect]]\nid = \"prm.resource-matches\"\nverdict = \"fail\"\nreason = \"\"\n",
            ":4:10:",
            "needs a `reason`",
        ),
    ] {
        let f = write(&dir, name, body);
        let o = demo_with(&dir, &f);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        let want = format!("{f}{at}");
        assert!(
            text(&o).contains(&want),
            "{name}: want {want} in {}",
            text(&o)
        );
        assert!(text(&o).contains(needle), "{name}: {}", text(&o));
        assert!(
            !dir.join("reports").join("results.json").exists(),
            "{name}: a bad file stops the run before any request"
        );
    }
    let o = demo_with(&dir, dir.join("absent.toml").to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

// ---------------------------------------------------------------------------------------------
// compare

#[test]
fn compare_reports_changes_and_exits_1_when_worse() {
    let run = flaw_demo();
    let dir = temp_dir("compare");
    let clean = dir.join("clean");
    let o = tool(&["demo", "--report-dir", clean.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let old = clean.join("results.json");
    let new = run.dir.join("results.json");
    let o = tool(&["compare", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    let worse = out
        .split("worse:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        worse
            .lines()
            .any(|l| l.trim_start().starts_with("prm.resource-matches")
                && l.ends_with("pass → fail")),
        "{out}"
    );
    // The other way round it got better: exit 0.
    let o = tool(&["compare", new.to_str().unwrap(), old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("better:\n"), "{}", text(&o));
    assert!(!text(&o).contains("worse:"), "{}", text(&o));
    // New and gone checks.
    let mut edited: Value = serde_json::from_str(&std::fs::read_to_string(&old).unwrap()).unwrap();
    let checks = edited["checks"].as_array_mut().unwrap();
    checks.retain(|c| c["id"] != "rs.401-no-token");
    checks.push(serde_json::json!({"id": "zz.new-check", "verdict": "pass"}));
    let edited_path = write(&dir, "edited.json", &edited.to_string());
    let o = tool(&["compare", old.to_str().unwrap(), &edited_path]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("new:\n    zz.new-check"), "{}", text(&o));
    assert!(
        text(&o).contains("gone:\n    rs.401-no-token"),
        "{}",
        text(&o)
    );
    // Not a results.json: a usage error.
    let bogus = write(&dir, "bogus.json", r#"{"schema": 7, "checks": []}"#);
    let o = tool(&["compare", old.to_str().unwrap(), &bogus]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("schema 7"), "{}", text(&o));
}

// ---------------------------------------------------------------------------------------------
// The README's CI section

fn readme_block<'a>(readme: &'a str, opening: &str) -> &'a str {
    let start = readme
        .find(opening)
        .unwrap_or_else(|| panic!("the README has no block starting {opening:?}"))
        + opening.find('\n').unwrap()
        + 1;
    &readme[start..start + readme[start..].find("```").unwrap()]
}

#[test]
fn the_readme_ci_example_is_consistent() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let expect = readme_block(&readme, "```toml\n# ci/mcp-expect.toml");
    let parsed = mcp_oauth_conform::expectations::parse("README.md", expect)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.entries.len(), 1);
    let id = &parsed.entries[0].id;
    let o = tool(&["--rs", "http://127.0.0.1:9/mcp", "--list", "--exact", id]);
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with(id.as_str()),
        "the README's example names no check: {}",
        text(&o)
    );
    let job = readme_block(&readme, "```yaml\n# .github/workflows/");
    for needle in [
        "--expect ci/mcp-expect.toml",
        "--report-dir reports",
        "actions/upload-artifact",
        "if: always()",
        "reports/junit.xml",
        "reports/report.html",
    ] {
        assert!(job.contains(needle), "the workflow lacks {needle}:\n{job}");
    }
}

#[test]
fn help_shows_expect_and_compare() {
    let o = tool(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let h = text(&o);
    assert!(h.contains("--expect <FILE>"), "{h}");
    assert!(h.contains("compare"), "{h}");
    let o = tool(&["compare", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains("<OLD.json> <NEW.json>"), "{}", text(&o));
    let o = tool(&["compare", "only-one.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
