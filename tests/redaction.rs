//! Secrets never leave the process whole. The reference deployment runs inside
//! this test, so every credential it hands out is known (`Reference::secrets`: tokens, codes,
//! client secrets, registration tokens, and the users' passwords). The tool runs against it as
//! `demo` does (the reference's default options and the demo's target profile), and no file in
//! the report folder, nor anything the tool prints, may hold one of them whole.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_oauth_conform::reference::{Options, Reference};

/// A full run takes seconds; only a hang reaches this.
const DEADLINE: Duration = Duration::from_secs(180);

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

struct Run {
    /// Every output: (where, text).
    outputs: Vec<(String, String)>,
    secrets: Vec<String>,
    users: usize,
}

/// The reference with these flaws and legitimate variants switched on (named as on the command
/// line).
fn options(names: &[&str]) -> Options {
    let mut o = Options::default();
    for n in names {
        match n.parse() {
            Ok(flaw) => {
                o.flaws.insert(flaw);
            }
            Err(_) => {
                o.variants.insert(n.parse().unwrap());
            }
        }
    }
    o
}

fn run_against_reference(tag: &str, flaws: &[&str]) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reference = rt.block_on(Reference::start(options(flaws))).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "mcp-oauth-conform-redaction-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let reports = dir.join("reports");
    // The demo's target profile: the user agent signs in with the reference's login form, so
    // passwords, session cookies, codes and tokens all pass through the tool.
    let profile = dir.join("profile.toml");
    std::fs::write(&profile, mcp_oauth_conform::demo::PROFILE).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mcp-oauth-conform"))
        .args(["--rs", &reference.rs_url(), "--as", &reference.issuer()])
        .arg("--config")
        .arg(&profile)
        .arg("--report-dir")
        .arg(&reports)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child is waited for on a thread (the reference keeps serving on the runtime's
    // workers meanwhile); the deadline bounds the wait.
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
                panic!("the run against the reference did not end within {DEADLINE:?}");
            }
            Err(_) => {}
        }
    };
    let secrets = reference.secrets();
    let users = reference.users().len();
    rt.block_on(reference.shutdown());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the run did not complete:\n{stdout}\n{stderr}"
    );
    let mut outputs = vec![
        ("stdout".to_string(), stdout),
        ("stderr".to_string(), stderr),
    ];
    let files = files_under(&reports);
    for name in ["results.json", "junit.xml", "report.html"] {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "no {name} in {}",
            reports.display()
        );
    }
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        outputs.push((f.display().to_string(), text));
    }
    Run {
        outputs,
        secrets,
        users,
    }
}

fn assert_no_secret_whole(run: &Run) {
    assert!(
        run.secrets.len() > run.users,
        "the server handed out no credential, so this run proves nothing: {} secrets",
        run.secrets.len()
    );
    let mut leaks = Vec::new();
    for (name, text) in &run.outputs {
        for s in &run.secrets {
            // In every encoding a secret can take: raw, percent- or form-encoded, JSON-escaped.
            for e in mcp_oauth_conform::http::redact::encodings(s) {
                if let Some(at) = text.find(e.as_str()) {
                    let line = text[..at].matches('\n').count() + 1;
                    let head: String = s.chars().take(4).collect();
                    leaks.push(format!("{name}:{line}: {head}…({} chars)", s.len()));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} secret(s) appear whole:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    // And the run did see secrets: it shortened some.
    let results = run
        .outputs
        .iter()
        .find(|(name, _)| name.ends_with("results.json"))
        .map(|(_, t)| t.as_str())
        .unwrap();
    assert!(
        results.contains("chars»"),
        "nothing in results.json was shortened: the run never saw a secret"
    );
}

#[test]
fn no_secret_appears_whole_in_any_output_of_a_clean_run() {
    assert_no_secret_whole(&run_against_reference("clean", &[]));
}

#[test]
fn no_secret_appears_whole_in_any_output_of_a_flawed_run() {
    assert_no_secret_whole(&run_against_reference(
        "flawed",
        &["prm-resource-origin", "unknown-client-redirect"],
    ));
}

// ---------------------------------------------------------------------------------------------
// Credentials by name. The tool need not recognise a credential to keep it out of its reports:
// the run below happens in process, so its exchanges are at hand unredacted, and every value a
// credential's name marks in them (URL query and fragment, form body, JSON member at any depth,
// secret header) is collected, whatever its shape. None may appear whole, in any encoding, in
// results.json, junit.xml, report.html or the console text.

use mcp_oauth_conform::http::Exchange;
use mcp_oauth_conform::http::redact::{SECRET_FIELDS, encodings};
use mcp_oauth_conform::report;
use mcp_oauth_conform::report::progress::{Progress, Style};
use mcp_oauth_conform::{demo, runner, suite};

/// What the console observer printed during a run.
#[derive(Clone, Default)]
struct Printed(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Printed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn by_name_in_pairs<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    out: &mut Vec<String>,
) {
    for (k, v) in pairs {
        if SECRET_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(&k)) {
            out.push(v.into_owned());
        }
    }
}

fn by_name_in_url(url: &str, out: &mut Vec<String>) {
    let base = url::Url::parse("http://relative.invalid/").unwrap();
    if let Ok(u) = url::Url::parse(url).or_else(|_| base.join(url)) {
        by_name_in_pairs(u.query_pairs(), out);
        if let Some(f) = u.fragment() {
            by_name_in_pairs(url::form_urlencoded::parse(f.as_bytes()), out);
        }
    }
}

fn by_name_in_json(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match v {
                    serde_json::Value::String(s) if SECRET_FIELDS.contains(&k.as_str()) => {
                        out.push(s.clone())
                    }
                    other => by_name_in_json(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| by_name_in_json(i, out)),
        _ => {}
    }
}

fn by_name_in_body(body: &str, out: &mut Vec<String>) {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        by_name_in_json(&v, out);
    } else if body.contains('=') && !body.contains('<') {
        by_name_in_pairs(url::form_urlencoded::parse(body.as_bytes()), out);
    }
}

fn by_name_in_headers(headers: &[(String, String)], out: &mut Vec<String>) {
    use base64::Engine as _;
    for (k, v) in headers {
        match k.to_ascii_lowercase().as_str() {
            "authorization" | "proxy-authorization" => {
                if let Some((scheme, creds)) = v.trim().split_once(' ') {
                    out.push(creds.trim().to_string());
                    if scheme.eq_ignore_ascii_case("basic") {
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(creds.trim())
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok());
                        if let Some((_, secret)) =
                            decoded.as_deref().and_then(|d| d.split_once(':'))
                        {
                            out.push(secret.to_string());
                        }
                    }
                }
            }
            "cookie" => out.extend(
                v.split(';')
                    .filter_map(|p| p.split_once('='))
                    .map(|(_, v)| v.trim().to_string()),
            ),
            "set-cookie" => out.extend(
                v.split(';')
                    .next()
                    .and_then(|p| p.split_once('='))
                    .map(|(_, v)| v.trim().to_string()),
            ),
            "mcp-session-id" => out.push(v.trim().to_string()),
            "location" | "content-location" => by_name_in_url(v, out),
            _ => {}
        }
    }
}

fn by_name_in_exchange(x: &Exchange, out: &mut Vec<String>) {
    by_name_in_url(&x.request.url, out);
    by_name_in_headers(&x.request.headers, out);
    if let Some(b) = &x.request.body {
        by_name_in_body(b, out);
    }
    if let Some(r) = &x.response {
        by_name_in_headers(&r.headers, out);
        by_name_in_body(&r.body, out);
    }
}

/// The whole suite against the reference with `flaws`, in process: the unredacted exchanges'
/// credentials (by name) plus the reference's own, and every output the reports would hold.
fn by_name_run(flaws: &[&str]) -> (Vec<String>, Vec<(String, String)>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let suite = suite::Suite::builtin().unwrap();
    let printed = Printed::default();
    let (run, target, mut credentials) = rt.block_on(async {
        let reference = Reference::start(options(flaws)).await.unwrap();
        let target = demo::target(&reference).unwrap();
        let settings = demo::settings().unwrap();
        let options = runner::RunOptions::concurrent(8);
        // The console's progress lines, as the binary prints them.
        let progress = Progress::new(
            Box::new(printed.clone()),
            Style::Pretty,
            false,
            options.redactor.clone(),
            &suite.checks,
            0,
        );
        let run = tokio::time::timeout(
            DEADLINE,
            runner::run(
                &target,
                &settings,
                &suite.checks,
                &options,
                std::sync::Arc::new(progress),
            ),
        )
        .await
        .expect("the run ended in time")
        .unwrap();
        let secrets = reference.secrets();
        reference.shutdown().await;
        (run, target, secrets)
    });
    let mut exchanges: Vec<Exchange> = run.discovery.exchanges.clone();
    // Registrations, the preflight, the negotiation: everything the report holds.
    exchanges.extend(run.setup_exchanges.iter().cloned());
    exchanges.extend(run.cleanup_exchanges.iter().cloned());
    for o in &run.outcomes {
        exchanges.extend(o.exchanges.iter().cloned());
    }
    let from_reference = credentials.len();
    for x in &exchanges {
        by_name_in_exchange(x, &mut credentials);
    }
    credentials.retain(|c| c.chars().count() >= 8 && !c.contains('«'));
    credentials.sort();
    credentials.dedup();
    assert!(
        credentials.len() > from_reference,
        "no credential by name in the exchanges: the collection is broken"
    );
    // The report as the binary builds it, redacted once.
    let red = run.report(&target).redacted(&run.redactor);
    let outputs = vec![
        (
            "results.json".to_string(),
            serde_json::to_string_pretty(&report::json::render(&red)).unwrap(),
        ),
        ("junit.xml".to_string(), report::junit::render(&red)),
        ("report.html".to_string(), report::html::render(&red)),
        (
            "console".to_string(),
            run.redactor.scrub(&report::console::render(&red, &[])),
        ),
        (
            "progress".to_string(),
            String::from_utf8_lossy(&printed.0.lock().unwrap()).into_owned(),
        ),
    ];
    (credentials, outputs)
}

fn assert_no_credential_whole(flaws: &[&str]) {
    let (credentials, outputs) = by_name_run(flaws);
    let mut leaks = Vec::new();
    for c in &credentials {
        for e in encodings(c) {
            for (name, text) in &outputs {
                if let Some(at) = text.find(e.as_str()) {
                    let line = text[..at].matches('\n').count() + 1;
                    let head: String = c.chars().take(6).collect();
                    leaks.push(format!(
                        "{name}:{line}: {head}…({} chars) as {:?}",
                        c.len(),
                        &e[..e.len().min(12)]
                    ));
                }
            }
        }
    }
    leaks.sort();
    leaks.dedup();
    assert!(
        leaks.is_empty(),
        "{} credential(s) appear whole under {flaws:?}:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    assert!(outputs[0].1.contains("chars»"), "nothing was shortened");
}

#[test]
fn no_credential_by_name_appears_whole_with_colon_credentials() {
    assert_no_credential_whole(&["colon-credentials"]);
}

#[test]
fn no_credential_by_name_appears_whole_when_errors_echo_secrets() {
    assert_no_credential_whole(&["token-error-echoes-secret", "colon-credentials"]);
}

#[test]
fn no_credential_by_name_appears_whole_with_implicit_fragment_tokens() {
    assert_no_credential_whole(&["implicit-fragment-tokens"]);
}

#[test]
fn no_secret_appears_whole_in_any_output_with_the_new_flaws() {
    assert_no_secret_whole(&run_against_reference(
        "unrecognised",
        &[
            "colon-credentials",
            "token-error-echoes-secret",
            "implicit-fragment-tokens",
        ],
    ));
}
