//! Secrets never leave the process whole (DESIGN.md §5). The reference deployment runs inside
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

fn run_against_reference(tag: &str, flaws: &[&str]) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let options = Options {
        flaws: flaws.iter().map(|f| f.parse().unwrap()).collect(),
        ..Options::default()
    };
    let reference = rt.block_on(Reference::start(options)).unwrap();
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
            if let Some(at) = text.find(s.as_str()) {
                let line = text[..at].matches('\n').count() + 1;
                let head: String = s.chars().take(4).collect();
                leaks.push(format!("{name}:{line}: {head}…({} chars)", s.len()));
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
