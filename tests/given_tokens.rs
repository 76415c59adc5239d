//! An MCP server behind a single sign-on no script gets past: the user obtains tokens beforehand
//! and gives them to the run (`[tokens]`, `--access-token`). The checks of the MCP server run
//! with them, and the authorization server receives no authorization, token or registration
//! request from the run. The tokens are secrets: no output holds one whole.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_oauth_conform::demo;
use mcp_oauth_conform::discovery::Target;
use mcp_oauth_conform::reference::{Options, Reference};
use mcp_oauth_conform::runner::{self, RunSettings, verdict::Verdict};
use mcp_oauth_conform::session::{ClientConfig, GivenTokens};
use mcp_oauth_conform::suite::Suite;
use serde_json::Value;

/// A full run takes seconds; only a hang reaches this.
const DEADLINE: Duration = Duration::from_secs(180);

/// The tokens a user would get with an ordinary client beforehand: the reference's
/// pre-registered public client, an auto-approving authorization, the code redeemed.
struct Obtained {
    access: String,
    refresh: String,
    other_resource_access: String,
    narrow_scope_access: String,
}

impl Obtained {
    fn all(&self) -> [&str; 4] {
        [
            &self.access,
            &self.refresh,
            &self.other_resource_access,
            &self.narrow_scope_access,
        ]
    }
}

async fn ordinary_flow(reference: &Reference, resource: &str, scope: &str) -> Value {
    use base64::Engine as _;
    use sha2::Digest as _;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let base = reference.base_url();
    let verifier = "a-verifier-of-the-test-0123456789-0123456789-abcdef";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1/callback";
    let resp = http
        .get(format!("{base}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "conform-public"),
            ("redirect_uri", redirect),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s"),
            ("scope", scope),
            ("resource", resource),
        ])
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {location}"));
    http.post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("client_id", "conform-public"),
            ("resource", resource),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn obtain(reference: &Reference) -> Obtained {
    let prm: Value = reqwest::get(format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        reference.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let scopes: Vec<&str> = prm["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let rs = reference.rs_url();
    let other = format!("{}/mcp-other", reference.base_url());
    let main = ordinary_flow(reference, &rs, &scopes.join(" ")).await;
    let other = ordinary_flow(reference, &other, &scopes.join(" ")).await;
    let narrow = ordinary_flow(reference, &rs, scopes[0]).await;
    let text = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    Obtained {
        access: text(&main, "access_token"),
        refresh: text(&main, "refresh_token"),
        other_resource_access: text(&other, "access_token"),
        narrow_scope_access: text(&narrow, "access_token"),
    }
}

/// What the authorization server saw: registrations, authorization and token requests.
fn as_requests(reference: &Reference) -> (u64, u64, u64) {
    (
        reference.registrations_seen(),
        reference.authorizations_seen(),
        reference.token_requests_seen(),
    )
}

#[test]
fn the_mcp_server_checks_run_on_given_tokens_without_the_authorization_server() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (run, before, after) = rt.block_on(async {
        let reference = Reference::start(Options {
            auto_approve: true,
            ..Default::default()
        })
        .await
        .unwrap();
        let t = obtain(&reference).await;
        let before = as_requests(&reference);
        let target = Target {
            other_resource: Some("${rs.origin}/mcp-other".into()),
            ..demo::target(&reference).unwrap()
        };
        let settings = RunSettings {
            client: ClientConfig {
                tokens: Some(GivenTokens {
                    access: Some(t.access.clone()),
                    refresh: Some(t.refresh.clone()),
                    other_resource_access: Some(t.other_resource_access.clone()),
                    narrow_scope_access: Some(t.narrow_scope_access.clone()),
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let checks: Vec<_> = Suite::builtin()
            .unwrap()
            .checks
            .into_iter()
            .filter(|c| c.id.starts_with("rs.") || c.id.starts_with("scope."))
            .collect();
        let run = runner::run_silent(&target, &settings, &checks, 8)
            .await
            .unwrap();
        let after = as_requests(&reference);
        reference.shutdown().await;
        (run, before, after)
    });
    assert_eq!(
        before, after,
        "requests reached the authorization server (registrations, authorizations, token requests)"
    );
    assert_eq!(run.preflight.outcome, mcp_oauth_conform::preflight::GIVEN);
    // Only the checks that make an authorization of their own skip, and say why.
    let needs_as = [
        "rs.revoked-token",
        "scope.step-up-succeeds",
        "scope.single-challenge",
    ];
    let mut passed = 0;
    for o in &run.outcomes {
        if needs_as.contains(&o.id.as_str()) {
            assert_eq!(o.verdict, Verdict::Skip, "{}: {}", o.id, o.message);
            assert!(o.message.contains("[tokens]"), "{}: {}", o.id, o.message);
        } else {
            assert!(
                matches!(o.verdict, Verdict::Pass | Verdict::Info),
                "{} {}: {}",
                o.id,
                o.verdict,
                o.message
            );
            passed += 1;
        }
    }
    for id in [
        "rs.valid-token-accepted",
        "rs.audience",
        "rs.refresh-token-rejected",
        "rs.tampered-token-401",
        "scope.insufficient-403",
    ] {
        let o = run.outcomes.iter().find(|o| o.id == id).unwrap();
        assert_eq!(o.verdict, Verdict::Pass, "{id}: {}", o.message);
    }
    assert!(passed > 20, "{passed}");
    // Given tokens were not issued to the run: nothing to revoke.
    assert_eq!(run.footprint.tokens_issued.access, 0);
    assert!(run.cleanup_exchanges.is_empty());
}

/// Without the other tokens, the checks that need them skip naming the key that enables them.
#[test]
fn a_missing_token_is_named_by_its_key() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = rt.block_on(async {
        let reference = Reference::start(Options {
            auto_approve: true,
            ..Default::default()
        })
        .await
        .unwrap();
        let t = obtain(&reference).await;
        let target = Target {
            other_resource: Some("${rs.origin}/mcp-other".into()),
            ..demo::target(&reference).unwrap()
        };
        let settings = RunSettings {
            client: ClientConfig {
                tokens: Some(GivenTokens {
                    access: Some(t.access.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let ids = [
            "rs.valid-token-accepted",
            "rs.audience",
            "rs.refresh-token-rejected",
            "scope.insufficient-403",
        ];
        let checks: Vec<_> = Suite::builtin()
            .unwrap()
            .checks
            .into_iter()
            .filter(|c| ids.contains(&c.id.as_str()))
            .collect();
        let run = runner::run_silent(&target, &settings, &checks, 8)
            .await
            .unwrap();
        reference.shutdown().await;
        run
    });
    let find = |id: &str| run.outcomes.iter().find(|o| o.id == id).unwrap();
    assert_eq!(find("rs.valid-token-accepted").verdict, Verdict::Pass);
    for (id, key) in [
        ("rs.audience", "other_resource_access"),
        ("scope.insufficient-403", "narrow_scope_access"),
    ] {
        let o = find(id);
        assert_eq!(o.verdict, Verdict::Skip, "{id}: {}", o.message);
        assert!(o.message.contains(key), "{id}: {}", o.message);
    }
    // Without `refresh` there is no refresh token to present, and the skip names the key.
    let o = find("rs.refresh-token-rejected");
    assert_eq!(o.verdict, Verdict::Skip, "{}", o.message);
    assert!(
        o.message.contains("`refresh` under [tokens]"),
        "{}",
        o.message
    );
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The whole suite, as a user runs it: `--access-token` from the environment, the other tokens
/// from the profile's `${env.NAME}`. None of them appears whole in any encoding in results.json,
/// junit.xml, report.html or the console.
#[test]
fn given_tokens_never_appear_in_any_output() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reference = rt
        .block_on(Reference::start(Options {
            auto_approve: true,
            ..Default::default()
        }))
        .unwrap();
    let t = rt.block_on(obtain(&reference));
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conform-given-tokens-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let reports = dir.join("reports");
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        r#"[target]
other_resource = "${rs.origin}/mcp-other"

[tokens]
refresh = "${env.MCP_CONFORM_TEST_REFRESH}"
other_resource_access = "${env.MCP_CONFORM_TEST_OTHER}"
narrow_scope_access = "${env.MCP_CONFORM_TEST_NARROW}"
"#,
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .args(["--rs", &reference.rs_url()])
        .arg("--config")
        .arg(&profile)
        .arg("--report-dir")
        .arg(&reports)
        .env("MCP_CONFORM_ACCESS_TOKEN", &t.access)
        .env("MCP_CONFORM_TEST_REFRESH", &t.refresh)
        .env("MCP_CONFORM_TEST_OTHER", &t.other_resource_access)
        .env("MCP_CONFORM_TEST_NARROW", &t.narrow_scope_access)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let started = Instant::now();
    let output = loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(o) => break o.unwrap(),
            Err(_) if started.elapsed() > DEADLINE => {
                let _ = Command::new("kill").arg(pid.to_string()).status();
                panic!("the run did not end within {DEADLINE:?}");
            }
            Err(_) => {}
        }
    };
    rt.block_on(reference.shutdown());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("preflight: none"), "{stdout}");
    let mut outputs = vec![
        ("stdout".to_string(), stdout),
        ("stderr".to_string(), stderr),
    ];
    for f in files_under(&reports) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        outputs.push((f.display().to_string(), text));
    }
    assert_eq!(
        outputs.len(),
        5,
        "results.json, junit.xml, report.html and the console"
    );
    let mut leaks = Vec::new();
    for (name, text) in &outputs {
        for token in t.all() {
            for e in mcp_oauth_conform::http::redact::encodings(token) {
                if let Some(at) = text.find(e.as_str()) {
                    let line = text[..at].matches('\n').count() + 1;
                    leaks.push(format!("{name}:{line}: {}…", &token[..6]));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "given tokens appear whole:\n{}",
        leaks.join("\n")
    );
    // The tokens were used (and shortened where they were shown).
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results.json")).unwrap())
            .unwrap();
    let verdict = |id: &str| {
        results["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["verdict"].clone())
    };
    for id in [
        "rs.valid-token-accepted",
        "rs.audience",
        "scope.insufficient-403",
    ] {
        assert_eq!(verdict(id), Some(Value::from("pass")), "{id}");
    }
    let text = results.to_string();
    for token in [&t.access, &t.refresh, &t.narrow_scope_access] {
        let short = mcp_oauth_conform::http::redact::shorten(token);
        assert!(text.contains(&short), "{short} is not in results.json");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
