//! The runner: discovery results + checks → outcomes. Checks run as libtest-mimic trials (the
//! console, filters and `--list` behave like `cargo test`), or all at once in-process for the demo
//! test suite; both go through [`check::execute`].

pub mod check;
pub mod outcome;
pub mod shared;
pub mod verdict;

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use libtest_mimic::{Completion, Failed, Trial};

use crate::http::HttpClient;
use crate::revision::Revision;
use crate::suite::Check;
use crate::suite::expect::Judge;
use outcome::CheckOutcome;
use verdict::Verdict;

/// Everything a check can read. Built once, after discovery; never written during the run.
pub struct RunCtx {
    pub http: HttpClient,
    pub session: crate::session::Session,
    pub vars: Arc<serde_json::Value>,
    pub revision: Revision,
    pub strict: bool,
    pub judge: Judge,
    pub shared: shared::SharedSteps,
    /// The ordinary authorization made before any check.
    pub preflight: crate::preflight::Preflight,
    /// How the revision graded was chosen.
    pub grading: crate::preflight::Grading,
}

/// Runs checks concurrently without the libtest harness (tests and library callers).
pub async fn run_all(ctx: Arc<RunCtx>, checks: &[Check], concurrency: usize) -> Vec<CheckOutcome> {
    let mut outcomes: Vec<CheckOutcome> = futures_util::stream::iter(checks.iter().map(|c| {
        let ctx = ctx.clone();
        async move { check::execute(&ctx, c).await }
    }))
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    sort(&mut outcomes, checks);
    outcomes
}

/// Outcomes in suite order, whatever order they finished in.
pub fn sort(outcomes: &mut [CheckOutcome], checks: &[Check]) {
    let pos = |id: &str| checks.iter().position(|c| c.id == id).unwrap_or(usize::MAX);
    outcomes.sort_by_key(|o| pos(&o.id));
}

/// One libtest trial per check. Each trial blocks on the shared runtime (rust-notes §4: one
/// runtime, `Handle::block_on` per trial) and records its outcome; libtest only prints.
pub fn trials(
    ctx: Arc<RunCtx>,
    checks: &[Check],
    handle: tokio::runtime::Handle,
    sink: Arc<Mutex<Vec<CheckOutcome>>>,
) -> Vec<Trial> {
    checks
        .iter()
        .map(|c| {
            let (ctx, check, handle, sink) = (ctx.clone(), c.clone(), handle.clone(), sink.clone());
            let kind = c.level_for(ctx.revision).as_str().to_string();
            Trial::ignorable_test(c.id.clone(), move || {
                let outcome = handle.block_on(check::execute(&ctx, &check));
                let message = ctx.http.redactor().scrub(&outcome.message);
                let verdict = outcome.verdict;
                if let Ok(mut s) = sink.lock() {
                    s.push(outcome);
                }
                match verdict {
                    Verdict::Fail => Err(Failed::from(message)),
                    Verdict::Error => Err(Failed::from(format!("error: {message}"))),
                    Verdict::Skip => Ok(Completion::ignored_with(message)),
                    Verdict::Pass | Verdict::Warn | Verdict::Info => Ok(Completion::Completed),
                }
            })
            .with_kind(kind)
        })
        .collect()
}

/// Discovery plus every check, in-process, without the libtest console: what the demo's test
/// suite and library callers use.
pub struct InProcessRun {
    /// What discovery found; `revision` and `revision_reason` are the revision graded.
    pub discovery: crate::discovery::Discovery,
    /// The revision graded (as `discovery.revision`).
    pub revision: Revision,
    /// The preflight's ordinary authorization.
    pub preflight: crate::preflight::Preflight,
    /// How the revision was chosen (negotiated, or `--spec`).
    pub grading: crate::preflight::Grading,
    pub outcomes: Vec<CheckOutcome>,
    pub redactor: Arc<crate::http::Redactor>,
    pub requests: u64,
}

/// What a run needs besides its target: how to reach and authorize against it.
#[derive(Clone, Debug, Default)]
pub struct RunSettings {
    pub http: crate::http::HttpSettings,
    pub strict: bool,
    pub agent: crate::agent::AgentConfig,
    pub client: crate::session::ClientConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error("cannot listen on a loopback port for the redirect URI: {0}")]
    Listener(std::io::Error),
    #[error("{0}")]
    Client(String),
}

pub async fn run_target(
    target: &crate::discovery::Target,
    settings: RunSettings,
    checks: &[Check],
    concurrency: usize,
) -> Result<InProcessRun, SetupError> {
    let redactor = Arc::new(crate::http::Redactor::new());
    let http = HttpClient::new(settings.http.clone(), redactor.clone())?;
    let mut discovery = crate::discovery::discover(&http, target).await;
    let ctx = Arc::new(RunCtx::new(http, &mut discovery, &settings).await?);
    let outcomes = run_all(ctx.clone(), checks, concurrency).await;
    let requests = ctx.http.requests_sent();
    Ok(InProcessRun {
        discovery,
        revision: ctx.revision,
        preflight: ctx.preflight.clone(),
        grading: ctx.grading.clone(),
        outcomes,
        redactor,
        requests,
    })
}

impl RunCtx {
    /// Builds the run's context after discovery: the session, then the preflight (one ordinary
    /// authorization) and the revision negotiated with the MCP server (unless `--spec` chose
    /// it), which `found` then holds (`revision`, `revision_reason`, `run.spec` in its vars).
    pub async fn new(
        http: HttpClient,
        found: &mut crate::discovery::Discovery,
        settings: &RunSettings,
    ) -> Result<RunCtx, SetupError> {
        let loopback = found
            .vars
            .pointer("/run/loopback")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let callback = Arc::new(
            crate::agent::CallbackListener::start()
                .await
                .map_err(SetupError::Listener)?,
        );
        let agent = crate::agent::Agent {
            config: settings.agent.clone(),
            callback: Some(callback.clone()),
        };
        // The preflight's authorization goes by the provisional revision (chosen, or the
        // evidence's); the checks' by the one graded.
        let mut session = crate::session::Session::new(
            agent,
            callback,
            &settings.client,
            &found.vars,
            resource_for(found, found.revision),
        )
        .map_err(SetupError::Client)?;
        let (preflight, grading) = crate::preflight::prepare(&http, &session, found).await;
        found.grade(grading.revision, grading.reason.clone());
        session.resource = resource_for(found, grading.revision);
        Ok(RunCtx {
            http,
            session,
            vars: Arc::new(found.vars.clone()),
            revision: grading.revision,
            strict: settings.strict,
            shared: shared::SharedSteps::default(),
            judge: Judge {
                allow_loopback_http: loopback,
            },
            preflight,
            grading,
        })
    }
}

/// MCP clients send the canonical server URI as `resource` from 2025-06-18 on.
fn resource_for(found: &crate::discovery::Discovery, revision: Revision) -> Option<String> {
    (revision >= Revision::R2025_06_18)
        .then(|| {
            found
                .vars
                .pointer("/rs/url")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        })
        .flatten()
}
