//! The runner: one pipeline for every caller, the binary and the tests alike. [`run`] does
//! discovery, builds the run's context (preflight, revision negotiation), runs the checks
//! concurrently through [`check::execute`], and cleans up; it says what happens as it goes
//! through [`event::Event`]s to an observer (the console prints them), and returns one
//! [`RunRecord`], from which [`RunRecord::report`] builds the report.

pub mod check;
pub mod ctx;
pub mod event;
pub mod expect;
pub mod outcome;
pub mod schedule;
pub mod shared;
pub mod verdict;

use std::sync::Arc;
use std::time::Instant;

use crate::discovery::{Discovery, Target};
use crate::http::{HttpClient, Redactor};
use crate::revision::Revision;
use crate::suite::Check;
use event::{Event, Observer};
use expect::Judge;
// The context lives in its own file so that the checks and the clean-up, which this file runs,
// read it without importing this file.
pub use ctx::RunCtx;
use outcome::CheckOutcome;
use verdict::Verdict;

/// How a run goes, besides its target and settings.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Checks in flight at once (`--test-threads`).
    pub concurrency: usize,
    /// Stop after discovery (`--dry-run`): nothing else is sent.
    pub discovery_only: bool,
    /// Learns every secret the run meets; its caller scrubs what it prints with it.
    pub redactor: Arc<Redactor>,
}

impl RunOptions {
    /// `concurrency` checks at once; otherwise the defaults.
    pub fn concurrent(concurrency: usize) -> RunOptions {
        RunOptions {
            concurrency,
            ..RunOptions::default()
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: 8,
            discovery_only: false,
            redactor: Arc::new(Redactor::new()),
        }
    }
}

/// What a run found and did: discovery, the revision graded and how, every check's outcome,
/// the clean-up. Unredacted: [`RunRecord::report`] builds the report, which is redacted once
/// ([`crate::report::RunReport::redacted`]).
pub struct RunRecord {
    /// What discovery found; `revision` and `revision_reason` are the revision graded.
    pub discovery: Discovery,
    /// The revision graded (as `discovery.revision`).
    pub revision: Revision,
    /// Whether the run stopped after discovery (`--dry-run`): then there is no preflight,
    /// negotiation, check or clean-up, and the fields that hold them are empty.
    pub discovery_only: bool,
    /// The preflight's ordinary authorization.
    pub preflight: crate::preflight::Preflight,
    /// How the revision was chosen (negotiated, or `--spec`).
    pub grading: crate::preflight::Grading,
    /// In suite order.
    pub outcomes: Vec<CheckOutcome>,
    /// The login page the user agent could not get past, if any (see [`RunCtx::agent_blocked`]).
    pub agent_blocked: Option<crate::report::AgentBlocked>,
    /// What the run learned before the checks ([`RunCtx::run_notes`]).
    pub run_notes: Vec<String>,
    pub redactor: Arc<Redactor>,
    /// Every request the run sent, the clean-up's included.
    pub requests: u64,
    /// What the run did to the deployment, after the clean-up ([`crate::cleanup`]).
    pub footprint: crate::footprint::FootprintReport,
    /// Requests made outside any one check, after discovery's: client registrations (made on
    /// first use), the preflight, the negotiation, the schedule probe.
    pub setup_exchanges: Vec<crate::http::Exchange>,
    /// The clean-up's exchanges.
    pub cleanup_exchanges: Vec<crate::http::Exchange>,
    pub duration_ms: u64,
}

impl RunRecord {
    /// The run's report, unredacted (see [`crate::report::RunReport::redacted`]).
    pub fn report(&self, target: &Target) -> crate::report::RunReport {
        let mut report = report_of(
            target,
            &self.discovery,
            (!self.discovery_only).then(|| self.grading.record.clone()),
            self.outcomes.clone(),
            self.duration_ms,
            self.requests,
        );
        report.agent_blocked = self.agent_blocked.clone();
        report.run_notes = self.run_notes.clone();
        report.footprint = self.footprint.clone();
        report
            .discovery_exchanges
            .extend(self.setup_exchanges.iter().cloned());
        report
            .discovery_exchanges
            .extend(self.cleanup_exchanges.iter().cloned());
        report
    }
}

/// A report of what a run learned from discovery (and, with `negotiation`, how it chose the
/// revision), with `outcomes`; the rest empty. `found` holds the revision graded once the run's
/// context is built ([`RunCtx::new`]).
pub fn report_of(
    target: &Target,
    found: &Discovery,
    negotiation: Option<crate::report::Negotiation>,
    outcomes: Vec<CheckOutcome>,
    duration_ms: u64,
    requests: u64,
) -> crate::report::RunReport {
    crate::report::RunReport {
        target_rs: target.rs_raw.clone(),
        target_as: target.as_raw.clone(),
        spec: found.revision.to_string(),
        spec_reason: found.revision_reason.clone(),
        negotiation,
        agent_blocked: None,
        run_notes: Vec::new(),
        duration_ms,
        requests,
        footprint: Default::default(),
        discovery_notes: found.notes.clone(),
        discovery_exchanges: found.exchanges.clone(),
        outcomes,
        jwts: Vec::new(),
    }
}

/// A run against `target`: discovery, then (unless `discovery_only`) the context, `checks`
/// (at most `concurrency` at once) and the clean-up, whatever the checks did. Fails only when
/// the run cannot be set up (no listener for the redirect URI, no usable client).
pub async fn run(
    target: &Target,
    settings: &RunSettings,
    checks: &[Check],
    options: &RunOptions,
    observer: Arc<dyn Observer>,
) -> Result<RunRecord, SetupError> {
    let concurrency = options.concurrency;
    run_with(target, settings, options, observer, move |ctx, observer| {
        Box::pin(async move {
            let checks_started = Instant::now();
            observer.event(&Event::Running {
                count: checks.len(),
            });
            let outcomes = run_checks(&ctx, checks, concurrency, &observer).await;
            observer.event(&Event::ChecksFinished {
                outcomes: &outcomes,
                elapsed: checks_started.elapsed(),
            });
            outcomes
        })
    })
    .await
}

/// [`run`] with nothing watching its events (tests and library callers that read the record).
pub async fn run_silent(
    target: &Target,
    settings: &RunSettings,
    checks: &[Check],
    concurrency: usize,
) -> Result<RunRecord, SetupError> {
    let options = RunOptions::concurrent(concurrency);
    run(target, settings, checks, &options, Arc::new(event::Silent)).await
}

/// What a run does between setting up and cleaning up: the checks, or the live fuzzer
/// (`crate::fuzz`), given the run's context; it returns the outcomes the reports show.
pub type Work<'w> = futures_util::future::BoxFuture<'w, Vec<CheckOutcome>>;

/// A run with `work` in place of the checks: the same discovery, context, clean-up and record.
pub async fn run_with<'w>(
    target: &Target,
    settings: &RunSettings,
    options: &RunOptions,
    observer: Arc<dyn Observer>,
    work: impl FnOnce(Arc<RunCtx>, Arc<dyn Observer>) -> Work<'w>,
) -> Result<RunRecord, SetupError> {
    let started = Instant::now();
    let redactor = options.redactor.clone();
    // The target's own hosts may be reached whatever addresses they have (the guard).
    let http_settings = settings.http_for(target);
    let http = HttpClient::new(http_settings.clone(), redactor.clone())?;
    let mut discovery = crate::discovery::discover(&http, target).await;
    observer.event(&Event::Discovered {
        target,
        discovery: &discovery,
    });
    if options.discovery_only {
        return Ok(RunRecord {
            revision: discovery.revision,
            discovery_only: true,
            preflight: Default::default(),
            grading: crate::preflight::Grading {
                revision: discovery.revision,
                reason: discovery.revision_reason.clone(),
                record: Default::default(),
                exchanges: Vec::new(),
            },
            outcomes: Vec::new(),
            agent_blocked: None,
            run_notes: Vec::new(),
            redactor,
            requests: http.requests_sent(),
            footprint: Default::default(),
            setup_exchanges: Vec::new(),
            cleanup_exchanges: Vec::new(),
            duration_ms: started.elapsed().as_millis() as u64,
            discovery,
        });
    }
    let ctx = Arc::new(RunCtx::new(http, &mut discovery, settings).await?);
    observer.event(&Event::Graded {
        discovery: &discovery,
        ctx: &ctx,
    });
    let outcomes = work(ctx.clone(), observer.clone()).await;
    // Whatever the checks did (errors, the deadline), what the run created is taken away.
    let cleanup = crate::cleanup::run(&ctx, &http_settings, settings.keep).await;
    observer.event(&Event::CleanupDone(&cleanup));
    // Client registrations happen on first use, outside any one check's record; the preflight,
    // the negotiation and the schedule probe before any check.
    let mut setup_exchanges = ctx.session.exchanges();
    setup_exchanges.extend(ctx.preflight.exchanges.iter().cloned());
    setup_exchanges.extend(ctx.grading.exchanges.iter().cloned());
    setup_exchanges.extend(ctx.schedule.exchanges.iter().cloned());
    Ok(RunRecord {
        revision: ctx.revision,
        discovery_only: false,
        preflight: ctx.preflight.clone(),
        grading: ctx.grading.clone(),
        outcomes,
        agent_blocked: ctx.agent_blocked(),
        run_notes: ctx.run_notes(),
        redactor,
        requests: ctx.http.requests_sent() + cleanup.requests,
        footprint: ctx.session.footprint.report(),
        setup_exchanges,
        cleanup_exchanges: cleanup.exchanges,
        duration_ms: started.elapsed().as_millis() as u64,
        discovery,
    })
}

/// Every check, at most `concurrency` at once, each as a task of its own (so that checks use
/// the runtime's threads, and a check that panics is one check in error, not a lost run).
/// Outcomes in suite order, whatever order they finished in.
async fn run_checks(
    ctx: &Arc<RunCtx>,
    checks: &[Check],
    concurrency: usize,
    observer: &Arc<dyn Observer>,
) -> Vec<CheckOutcome> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut outcomes: Vec<Option<CheckOutcome>> = vec![None; checks.len()];
    let mut pending = checks.iter().enumerate();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some((i, check)) = pending.next() else {
                break;
            };
            let (ctx, check, observer) = (ctx.clone(), check.clone(), observer.clone());
            tasks.spawn(async move {
                observer.event(&Event::CheckStarted { id: &check.id });
                let outcome = check::execute(&ctx, &check, observer.as_ref()).await;
                observer.event(&Event::CheckFinished(&outcome));
                (i, outcome)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        // A task that panicked said why on stderr; its check is filled in below.
        if let Ok((i, outcome)) = joined {
            outcomes[i] = Some(outcome);
        }
    }
    checks
        .iter()
        .zip(outcomes)
        .map(|(check, o)| {
            o.unwrap_or_else(|| {
                let o = broken(ctx, check);
                observer.event(&Event::CheckFinished(&o));
                o
            })
        })
        .collect()
}

/// The outcome of a check whose task ended without one: a bug in the tool, an error.
fn broken(ctx: &RunCtx, check: &Check) -> CheckOutcome {
    CheckOutcome {
        id: check.id.clone(),
        family: check.family.clone(),
        title: check.title.clone(),
        party: check.party,
        level: check.level_for(ctx.revision),
        verdict: Verdict::Error,
        message: "the check stopped unexpectedly (an internal error of the tool; its message is on stderr)".into(),
        refs: check.refs.clone(),
        duration_ms: 0,
        source: check.source.clone(),
        exchanges: Vec::new(),
        why: check.why.clone(),
        fix: check.fix.clone(),
        steps: Vec::new(),
    }
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
