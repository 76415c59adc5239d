//! The runner: discovery results + checks → outcomes. Checks run as libtest-mimic trials (the
//! console, filters and `--list` behave like `cargo test`), or all at once in-process for the demo
//! test suite; both go through [`check::execute`].

pub mod check;
pub mod ctx;
pub mod expect;
pub mod outcome;
pub mod schedule;
pub mod shared;
pub mod verdict;

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use libtest_mimic::{Completion, Failed, Trial};

use crate::http::HttpClient;
use crate::revision::Revision;
use crate::suite::Check;
use expect::Judge;
// The context lives in its own file so that the checks and the clean-up, which this file runs,
// read it without importing this file.
pub use ctx::RunCtx;
use outcome::CheckOutcome;
use verdict::Verdict;

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

/// One libtest trial per check. Each trial blocks on the shared runtime (one
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
    /// The login page the user agent could not get past, if any (see [`RunCtx::agent_blocked`]).
    pub agent_blocked: Option<crate::report::AgentBlocked>,
    /// What the run learned before the checks ([`RunCtx::run_notes`]).
    pub run_notes: Vec<String>,
    pub redactor: Arc<crate::http::Redactor>,
    pub requests: u64,
    /// What the run did to the deployment, after the clean-up ([`crate::cleanup`]).
    pub footprint: crate::footprint::FootprintReport,
    /// The clean-up's exchanges.
    pub cleanup_exchanges: Vec<crate::http::Exchange>,
}

/// What a run needs besides its target: how to reach and authorize against it.
#[derive(Clone, Debug, Default)]
pub struct RunSettings {
    pub http: crate::http::HttpSettings,
    pub strict: bool,
    pub agent: crate::agent::AgentConfig,
    pub client: crate::session::ClientConfig,
    /// The server's refresh-token grace window, if known (`[target] refresh_grace_secs`).
    pub refresh_grace_secs: Option<u64>,
    /// Which of the server's tools the run may call (`--call-tools`; default read-only).
    pub call_tools: crate::session::CallTools,
    /// `[[target.tool]]`: tools the profile says are safe to call, with their arguments.
    pub tools: Vec<crate::session::NamedTool>,
    /// Leave what the run created (clients, tokens) on the server: no clean-up (`--keep`).
    pub keep: bool,
    /// Where the client metadata document server listens and is reached.
    pub cimd: crate::cimd::Settings,
}

impl RunSettings {
    /// The HTTP settings for a run against `target`: its own hosts (and `[agent] origins`) may
    /// be reached whatever addresses they have (the request guard, `crate::http::guard`).
    pub fn http_for(&self, target: &crate::discovery::Target) -> crate::http::HttpSettings {
        let mut http = self.http.clone();
        http.egress.trust(
            [Some(&target.rs_raw), target.as_raw.as_ref()]
                .into_iter()
                .flatten()
                .chain(&self.agent.origins),
        );
        http
    }
}

/// As long as the longest grace windows providers let their operators configure.
pub const DEFAULT_REFRESH_GRACE_SECS: u64 = 60;

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
    // The target's own hosts may be reached whatever addresses they have (the guard).
    let http_settings = settings.http_for(target);
    let http = HttpClient::new(http_settings.clone(), redactor.clone())?;
    let mut discovery = crate::discovery::discover(&http, target).await;
    let ctx = Arc::new(RunCtx::new(http, &mut discovery, &settings).await?);
    let outcomes = run_all(ctx.clone(), checks, concurrency).await;
    let requests = ctx.http.requests_sent();
    let cleanup = crate::cleanup::run(&ctx, &http_settings, settings.keep).await;
    Ok(InProcessRun {
        discovery,
        revision: ctx.revision,
        preflight: ctx.preflight.clone(),
        grading: ctx.grading.clone(),
        outcomes,
        agent_blocked: ctx.agent_blocked(),
        run_notes: ctx.run_notes(),
        redactor,
        requests,
        footprint: ctx.session.footprint.report(),
        cleanup_exchanges: cleanup.exchanges,
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
        let documents = start_documents(&http, found, settings).await?;
        // The preflight's authorization goes by the provisional revision (chosen, or the
        // evidence's); the checks' by the one graded.
        let mut session = crate::session::Session::new(
            agent,
            callback,
            &settings.client,
            &found.vars,
            resource_for(found, found.revision),
            found.revision,
            documents,
        )
        .map_err(SetupError::Client)?;
        session.tools =
            crate::session::ToolPolicy::new(settings.call_tools, settings.tools.clone());
        // `run.given_clients`: the roles of clients registered beforehand (checks about clients
        // the run registers itself do not apply to them).
        if let Some(run) = found.vars.get_mut("run").and_then(|r| r.as_object_mut()) {
            run.insert(
                "given_clients".into(),
                serde_json::json!(session.configured_roles()),
            );
        }
        let (preflight, grading) = crate::preflight::prepare(&http, &session, found).await;
        found.grade(grading.revision, grading.reason.clone());
        session.resource = resource_for(found, grading.revision);
        let schedule = schedule::detect(
            &http,
            &session,
            &found.vars,
            grading.revision,
            preflight.outcome == "code",
        )
        .await;
        // A replay after the grace window, plus a margin for clocks and latency.
        let grace = settings
            .refresh_grace_secs
            .unwrap_or(DEFAULT_REFRESH_GRACE_SECS);
        if let Some(run) = found.vars.get_mut("run").and_then(|r| r.as_object_mut()) {
            run.insert(
                "refresh_replay_after_secs".into(),
                serde_json::json!(grace + 2),
            );
        }
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
            schedule,
        })
    }
}

/// The client metadata document server. When the authorization server is on this machine it
/// also listens on loopback addresses that are not the server's own (special-address cases).
/// Its `as_host`, `drip` and recorded base URL come from the run.
async fn start_documents(
    http: &HttpClient,
    found: &mut crate::discovery::Discovery,
    settings: &RunSettings,
) -> Result<Option<Arc<crate::cimd::DocumentServer>>, SetupError> {
    let mut cimd = settings.cimd.clone();
    cimd.as_host = found
        .vars
        .pointer("/as/authorization_endpoint")
        .or_else(|| found.vars.pointer("/as/issuer"))
        .and_then(serde_json::Value::as_str)
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| crate::oauth::redirect::is_loopback_host(h));
    // A slow drip outlasts the run's wait for any answer three times over.
    let drip = http.timeout() * 3;
    let server = crate::cimd::DocumentServer::start(&cimd, drip)
        .await
        .map_err(|e| SetupError::Client(e.to_string()))?;
    if let Some(run) = found.vars.get_mut("run").and_then(|r| r.as_object_mut()) {
        run.insert(
            "cimd_base_url".into(),
            serde_json::json!(server.base().as_str()),
        );
        run.insert(
            "cimd_cache_floor_secs".into(),
            serde_json::json!(cimd.cache_floor_secs.unwrap_or(0)),
        );
    }
    Ok(Some(Arc::new(server)))
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
