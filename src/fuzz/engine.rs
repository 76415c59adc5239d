//! The fuzzing loop: endpoints seeded and timed, every single mutation in the seed's order
//! (endpoints taking turns), then pairs; each answer judged, each finding minimized and
//! deduplicated. Everything a probe sends counts against the budget.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::Value;

use super::curl;
use super::findings::{Finding, Fuzzed};
use super::mutate::{self, Extra, Mutation, Op, Part};
use super::options::Options;
use super::oracle::{self, Hit, Pace};
use super::seeds::{Endpoint, Seed, Seeder};
use super::template::Template;
use crate::http::{Exchange, HttpError, Request, Response};
use crate::runner::RunCtx;
use crate::session::Client;
use crate::suite::model::Level;

/// Fresh codes that may fail in a row before the endpoint is given up.
const SEED_FAILURES: u32 = 3;

/// One valid request under fuzzing.
struct Aim {
    endpoint: Endpoint,
    /// The valid request (for a token request: its shape; each probe gets a fresh code).
    template: Template,
    pace: Pace,
    /// Whether the unaltered request succeeded (the positive control of `malformed-accepted`).
    succeeds: bool,
    /// The unaltered answer already carries text that looks like a stack trace (a tool
    /// description quoting one, say): such text in a mutated answer tells nothing.
    trace_in_baseline: bool,
    singles: Vec<Mutation>,
    next: usize,
}

/// One probe sent: what the oracles saw, the request before and after its mutations.
struct Sent {
    hits: Vec<Hit>,
    exchange: Exchange,
    base: Template,
    mutated: Template,
    response: Option<Response>,
}

pub(super) struct Fuzzer<'a> {
    ctx: &'a RunCtx,
    seeder: Seeder<'a>,
    opts: Options,
    started: Instant,
    start_requests: u64,
    probes: u64,
    findings: BTreeMap<(&'static str, Endpoint, Part), Finding>,
    notes: Vec<String>,
    /// Oracles that judged at least one answer they could apply to.
    exercised: BTreeSet<&'static str>,
    /// Parameters whose absence the token endpoint refuses (the control of
    /// `malformed-accepted`), learned on demand.
    required: BTreeMap<String, bool>,
    /// Endpoints no longer fuzzed, and why (rate-limited, no fresh code to be had).
    stopped: BTreeMap<Endpoint, String>,
    /// Fresh codes that could not be had in a row, per endpoint.
    seed_failures: BTreeMap<Endpoint, u32>,
    /// The server stopped answering even the unaltered request: the run ends, and says why.
    dead: Option<String>,
}

impl<'a> Fuzzer<'a> {
    pub(super) fn new(ctx: &'a RunCtx, opts: &Options) -> Fuzzer<'a> {
        Fuzzer {
            ctx,
            seeder: Seeder::new(ctx),
            opts: opts.clone(),
            started: Instant::now(),
            start_requests: ctx.http.requests_sent(),
            probes: 0,
            findings: BTreeMap::new(),
            notes: Vec::new(),
            exercised: BTreeSet::new(),
            required: BTreeMap::new(),
            stopped: BTreeMap::new(),
            seed_failures: BTreeMap::new(),
            dead: None,
        }
    }

    pub(super) async fn run(mut self) -> Fuzzed {
        let mut rng = StdRng::seed_from_u64(self.opts.seed);
        let mut aims = self.aim(&mut rng).await;
        // Every single mutation first, endpoints taking turns, so that a small budget still
        // reaches every endpoint; then pairs.
        loop {
            let mut any = false;
            for aim in aims.iter_mut() {
                if self.spent() {
                    break;
                }
                if self.stopped.contains_key(&aim.endpoint) {
                    continue;
                }
                let Some(m) = aim.singles.get(aim.next).cloned() else {
                    continue;
                };
                aim.next += 1;
                any = true;
                self.probe(aim, vec![m]).await;
            }
            if !any || self.spent() {
                break;
            }
        }
        // Bounded however few requests the rounds send (a server that refuses every fresh code).
        for _ in 0..self.opts.budget.saturating_mul(2) {
            aims.retain(|a| !self.stopped.contains_key(&a.endpoint));
            if self.spent() {
                break;
            }
            let Some(aim) = aims.choose(&mut rng) else {
                break;
            };
            let Some(first) = aim.singles.choose(&mut rng).cloned() else {
                continue;
            };
            let others: Vec<&Mutation> = aim
                .singles
                .iter()
                .filter(|m| m.part != first.part)
                .collect();
            let Some(second) = others.choose(&mut rng).map(|m| (*m).clone()) else {
                continue;
            };
            self.probe(aim, vec![first, second]).await;
        }
        self.finish()
    }

    fn requests(&self) -> u64 {
        self.ctx.http.requests_sent() - self.start_requests
    }

    fn spent(&self) -> bool {
        self.dead.is_some()
            || self.requests() >= self.opts.budget
            || self
                .opts
                .max_findings
                .is_some_and(|n| self.findings.len() >= n)
            || self
                .opts
                .duration
                .is_some_and(|d| self.started.elapsed() >= d)
            || self
                .ctx
                .http
                .deadline()
                .is_some_and(|d| Instant::now() >= d)
    }

    /// Seeds each endpoint, times its unaltered request, and lists its single mutations in the
    /// seed's order.
    async fn aim(&mut self, rng: &mut StdRng) -> Vec<Aim> {
        let mut aims = Vec::new();
        for endpoint in self.opts.endpoints.clone() {
            if self.spent() {
                break;
            }
            if let Some(why) = self.not_here(endpoint) {
                self.notes.push(format!(
                    "{} requests were not fuzzed: {why}",
                    endpoint.as_str()
                ));
                continue;
            }
            let seeds = match endpoint {
                Endpoint::Mcp => self.seeder.mcp_seeds().await,
                e => self.seeder.seed(e).await.map(|s| vec![s]),
            };
            let seeds = match seeds {
                Ok(s) => s,
                Err(why) => {
                    self.notes.push(format!(
                        "{} requests were not fuzzed: {}",
                        endpoint.as_str(),
                        self.ctx.http.redactor().scrub(&why)
                    ));
                    continue;
                }
            };
            for seed in seeds {
                let (pace, last) = self.baseline(endpoint, &seed).await;
                let succeeds = last
                    .as_ref()
                    .is_some_and(|r| (200..300).contains(&r.status));
                if endpoint == Endpoint::Register && !self.opts.register_without_delete {
                    if let Some(why) = undeletable(last.as_ref()) {
                        self.notes.push(format!(
                            "register requests were not fuzzed: {why}; each accepted probe would leave a client behind (name `register` in --endpoints to fuzz them anyway)"
                        ));
                        continue;
                    }
                }
                let mut singles = mutate::singles(&seed.template, endpoint.in_form());
                // A JSON-RPC request keeps its method: a mutation must never turn a harmless
                // request into a tool call.
                singles.retain(|m| m.part != Part::Member("method".into()) || m.op == Op::Drop);
                singles.shuffle(rng);
                aims.push(Aim {
                    endpoint,
                    template: seed.template,
                    pace,
                    succeeds,
                    trace_in_baseline: last
                        .as_ref()
                        .is_some_and(|r| oracle::stack_trace(&r.body).is_some()),
                    singles,
                    next: 0,
                });
            }
        }
        aims
    }

    /// Why an endpoint is not fuzzed in this run at all.
    fn not_here(&self, endpoint: Endpoint) -> Option<String> {
        let interactive = self.ctx.session.agent.config.mode == crate::agent::Mode::Interactive;
        (endpoint.needs_fresh_code() && interactive).then(|| {
            "every token request needs a fresh authorization code, and with `--agent interactive` each would need a person to log in (give the tool a login script: [agent] mode = \"form\")".to_string()
        })
    }

    /// The unaltered request, sent (for a token request: the seed's own code redeemed): how
    /// long it takes, and its last answer.
    async fn baseline(&mut self, endpoint: Endpoint, seed: &Seed) -> (Pace, Option<Response>) {
        let mut times = Vec::new();
        let mut last = None;
        let tries = if endpoint.needs_fresh_code() || endpoint == Endpoint::Register {
            1
        } else {
            3
        };
        for _ in 0..tries {
            let (ex, result) = self.ctx.http.send(&seed.template.to_request()).await;
            times.push(Duration::from_millis(ex.elapsed_ms));
            self.account(endpoint, seed.client.as_deref(), &result);
            last = result.ok();
        }
        times.sort();
        let baseline = times.get(times.len() / 2).copied().unwrap_or_default();
        (Pace { baseline }, last)
    }

    /// What the run created: tokens issued, clients registered (the clean-up takes them away).
    fn account(
        &self,
        endpoint: Endpoint,
        client: Option<&Client>,
        result: &Result<Response, HttpError>,
    ) {
        let Ok(resp) = result else { return };
        let doc: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        let footprint = &self.ctx.session.footprint;
        match endpoint {
            Endpoint::Token => {
                footprint.token_request();
                footprint.token_response(resp.status, &doc, client);
            }
            Endpoint::Register => {
                footprint.registration();
                footprint.registered(resp.status, &doc);
            }
            _ => {}
        }
    }

    /// The request for one probe (a fresh code for a token request), before and after its
    /// mutations.
    async fn request_for(
        &mut self,
        aim: &Aim,
        muts: &[Mutation],
        marker: &str,
    ) -> Option<(Template, Template, Option<Arc<Client>>)> {
        let (base, client) = if aim.endpoint.needs_fresh_code() {
            match self.seeder.seed(aim.endpoint).await {
                Ok(s) => {
                    self.seed_failures.remove(&aim.endpoint);
                    (s.template, s.client)
                }
                Err(why) => {
                    let n = self.seed_failures.entry(aim.endpoint).or_insert(0);
                    *n += 1;
                    if *n >= SEED_FAILURES {
                        let why = self.ctx.http.redactor().scrub(&why);
                        self.stopped.insert(
                            aim.endpoint,
                            format!(
                                "{} requests stopped after {} probes: {SEED_FAILURES} fresh authorization codes in a row could not be had (the last: {why})",
                                aim.endpoint.as_str(),
                                self.probes
                            ),
                        );
                    }
                    return None;
                }
            }
        } else {
            (aim.template.clone(), None)
        };
        let mutated = mutate::apply(&base, muts, aim.endpoint.in_form(), marker)?;
        Some((base, mutated, client))
    }

    /// Sends one probe and judges it.
    async fn send(&mut self, aim: &Aim, muts: &[Mutation]) -> Option<Sent> {
        self.probes += 1;
        let marker = format!("mcpfz{}", self.probes);
        let (base, mutated, client) = self.request_for(aim, muts, &marker).await?;
        let req = mutated.to_request();
        let (exchange, result) = self.ctx.http.send(&req).await;
        self.account(aim.endpoint, client.as_deref(), &result);
        if let Some(r) = result.as_ref().ok().filter(|r| r.status == 429) {
            // The server asks for less: the rest of the budget goes to the other endpoints.
            self.stopped.insert(
                aim.endpoint,
                format!(
                    "{} requests stopped after {} probes: the server rate-limits them (HTTP 429{})",
                    aim.endpoint.as_str(),
                    self.probes,
                    r.header("retry-after")
                        .map(|v| format!(", Retry-After: {v}"))
                        .unwrap_or_default()
                ),
            );
            return None;
        }
        if matches!(
            result,
            Err(HttpError::Build { .. } | HttpError::Refused { .. })
        ) {
            // Not sent (a header value no HTTP library will write): nothing was judged.
            return None;
        }
        if let Ok(resp) = &result {
            self.end_session(aim, &mutated, resp).await;
        }
        self.exercised.insert(oracle::NO_5XX);
        self.exercised.insert(oracle::OVERSIZE);
        let carries = |extra: Extra| {
            muts.iter()
                .any(|m| m.op == Op::Append(extra) || m.op == Op::Replace(extra))
        };
        if carries(Extra::Html) {
            self.exercised.insert(oracle::NO_REFLECTION);
        }
        if carries(Extra::HeaderLine) {
            self.exercised.insert(oracle::HEADER_INJECTION);
        }
        let size = req.url.len()
            + req
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + req.body.as_ref().map_or(0, Vec::len);
        let mut hits = oracle::judge(
            &result,
            Duration::from_millis(exchange.elapsed_ms),
            aim.pace,
            &marker,
            size > oracle::LARGE_REQUEST,
        );
        if aim.trace_in_baseline {
            hits.retain(|h| !h.what.contains("stack trace"));
        }
        if result.is_err() && !hits.is_empty() {
            self.check_alive(aim, muts).await;
        }
        Some(Sent {
            hits,
            exchange,
            base,
            mutated,
            response: result.ok(),
        })
    }

    /// A mutated opening request that opened an MCP session: the session is ended at once, as
    /// a client that is done with it does.
    async fn end_session(&self, aim: &Aim, mutated: &Template, resp: &Response) {
        let Some(id) = resp.header("mcp-session-id") else {
            return;
        };
        if aim.endpoint != Endpoint::Mcp || aim.template.header("mcp-session-id") == Some(id) {
            return;
        }
        let mut req = Request {
            method: "DELETE".into(),
            url: mutated.base.clone(),
            headers: crate::mcp::protocol_headers(self.ctx.revision, None),
            body: None,
        };
        req.headers.extend(
            aim.template
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                .cloned(),
        );
        req.headers.push(("Mcp-Session-Id".into(), id.to_string()));
        let _ = self.ctx.http.send(&req).await;
    }

    /// After a probe got no answer: does the unaltered request still get one? If not, the
    /// server is down (perhaps that probe brought it down) and every further probe would only
    /// repeat it.
    async fn check_alive(&mut self, aim: &Aim, muts: &[Mutation]) {
        let (_, result) = self.ctx.http.send(&aim.template.to_request()).await;
        if let Err(e) = result {
            let what: Vec<String> = muts.iter().map(|m| m.to_string()).collect();
            self.dead = Some(format!(
                "the server stopped answering after probe {} ({} request, {}): the unaltered request gets no answer either ({}); fuzzing ended there",
                self.probes,
                aim.endpoint.as_str(),
                what.join(" and "),
                e.brief()
            ));
        }
    }

    async fn probe(&mut self, aim: &Aim, muts: Vec<Mutation>) {
        let Some(sent) = self.send(aim, &muts).await else {
            return;
        };
        let mut exchanges = vec![sent.exchange.clone()];
        let mut hits = sent.hits.clone();
        if let Some(hit) = self
            .malformed_accepted(aim, &muts, sent.response.as_ref(), &mut exchanges)
            .await
        {
            hits.push(hit);
        }
        for hit in hits {
            self.record(aim, &muts, hit, &sent, exchanges.clone()).await;
        }
    }

    /// Tokens issued for a malformed value of a parameter the endpoint requires (it refuses the
    /// request without it): judged for single mutations of token requests whose unaltered form
    /// succeeds.
    async fn malformed_accepted(
        &mut self,
        aim: &Aim,
        muts: &[Mutation],
        resp: Option<&Response>,
        exchanges: &mut Vec<Exchange>,
    ) -> Option<Hit> {
        if aim.endpoint != Endpoint::Token || !aim.succeeds {
            return None;
        }
        let [m] = muts else { return None };
        let Part::Param(name) = &m.part else {
            return None;
        };
        if !m.op.malformed() || url_equivalent(&aim.template, name, m.op) {
            return None;
        }
        self.exercised.insert(oracle::MALFORMED_ACCEPTED);
        let resp = resp?;
        let issued = (200..300).contains(&resp.status)
            && serde_json::from_slice::<Value>(&resp.body)
                .ok()
                .is_some_and(|d| d.get("access_token").is_some());
        if !issued {
            return None;
        }
        if !self.required.contains_key(name) {
            let without = Mutation {
                part: m.part.clone(),
                op: Op::Drop,
            };
            // The control's own answer is judged where the sweep sends the same request.
            let control = self.send(aim, std::slice::from_ref(&without)).await?;
            exchanges.push(control.exchange);
            let refused = control
                .response
                .is_some_and(|r| (400..500).contains(&r.status));
            self.required.insert(name.clone(), refused);
        }
        self.required.get(name).copied().unwrap_or(false).then(|| Hit {
            oracle: oracle::MALFORMED_ACCEPTED,
            level: Level::Must,
            what: format!(
                "HTTP {} with an access token, where the same request without {name} is refused",
                resp.status
            ),
        })
    }

    async fn record(
        &mut self,
        aim: &Aim,
        muts: &[Mutation],
        hit: Hit,
        sent: &Sent,
        exchanges: Vec<Exchange>,
    ) {
        let what = self.ctx.http.redactor().scrub(&hit.what);
        // A pair that shows what a finding of one of its parts shows adds nothing (and is not
        // worth the requests minimizing it would take).
        let known = muts
            .iter()
            .map(|m| (hit.oracle, aim.endpoint, m.part.clone()))
            .find(|k| self.findings.contains_key(k));
        if let Some(key) = known {
            let curl = self.reproducer(&sent.mutated, &sent.base);
            if let Some(f) = self.findings.get_mut(&key) {
                f.seen += 1;
                // A simpler change with the same effect makes the better reproducer (the
                // answer to any bad code, shown with a space appended rather than a NUL byte).
                if let ([m], [old]) = (muts, f.mutations.as_slice()) {
                    if m.op.rank() < old.op.rank() && what == f.what {
                        f.mutations = vec![m.clone()];
                        f.exchanges = exchanges;
                        f.curl = curl;
                    }
                }
            }
            return;
        }
        let after_requests = self.requests();
        let after = self.started.elapsed();
        let first = (
            muts.to_vec(),
            hit,
            sent.mutated.clone(),
            sent.base.clone(),
            exchanges,
        );
        let (muts, hit, mutated, base, exchanges) = self.minimize(aim, first).await;
        let key = (hit.oracle, aim.endpoint, muts[0].part.clone());
        if self.findings.contains_key(&key) {
            return;
        }
        let curl = self.reproducer(&mutated, &base);
        let what = self.ctx.http.redactor().scrub(&hit.what);
        self.findings.insert(
            key,
            Finding {
                oracle: hit.oracle,
                level: hit.level,
                endpoint: aim.endpoint,
                mutations: muts,
                what,
                curl,
                exchanges,
                seen: 1,
                after_requests,
                after,
            },
        );
    }

    /// The `curl` command for a mutated request, its placeholders explained, redacted.
    fn reproducer(&self, mutated: &Template, base: &Template) -> String {
        let (mut cmd, used) = curl::render(&mutated.to_request(), &base.to_request());
        if !used.is_empty() {
            let help: Vec<String> = used
                .iter()
                .map(|p| format!("{p} = {}", curl::placeholder_help(p)))
                .collect();
            cmd.push_str(&format!("   # {}", help.join("; ")));
        }
        self.ctx.http.redactor().scrub(&cmd)
    }

    /// The fewest mutations, then the smallest size, that still make the same oracle speak.
    async fn minimize(&mut self, aim: &Aim, first: Candidate) -> Candidate {
        let mut best = first;
        if best.1.oracle == oracle::MALFORMED_ACCEPTED {
            return best;
        }
        if best.0.len() > 1 {
            for m in best.0.clone() {
                if self.spent() {
                    break;
                }
                let one = vec![m];
                if let Some(found) = self.again(aim, &one, best.1.oracle).await {
                    best = found;
                    break;
                }
            }
        }
        // Halve a size while the finding holds: a 1 KiB reproducer reads better than 64 KiB.
        for _ in 0..8 {
            if self.spent() || best.0.len() != 1 {
                break;
            }
            let smaller = match best.0[0].op {
                Op::Oversize(n) if n > 256 => Op::Oversize(n / 2),
                Op::DeepNest(n) if n > 16 => Op::DeepNest(n / 2),
                Op::Nest(n) if n > 4 => Op::Nest(n / 2),
                Op::HugeMember(n) if n > 1024 => Op::HugeMember(n / 4),
                _ => break,
            };
            let one = vec![Mutation {
                part: best.0[0].part.clone(),
                op: smaller,
            }];
            match self.again(aim, &one, best.1.oracle).await {
                Some(found) => best = found,
                None => break,
            }
        }
        best
    }

    async fn again(&mut self, aim: &Aim, muts: &[Mutation], oracle_id: &str) -> Option<Candidate> {
        let sent = self.send(aim, muts).await?;
        let hit = sent.hits.into_iter().find(|h| h.oracle == oracle_id)?;
        Some((
            muts.to_vec(),
            hit,
            sent.mutated,
            sent.base,
            vec![sent.exchange],
        ))
    }

    fn finish(mut self) -> Fuzzed {
        self.notes
            .extend(std::mem::take(&mut self.stopped).into_values());
        self.notes.extend(self.dead.take());
        let elapsed = self.started.elapsed();
        let requests = self.requests();
        let findings: Vec<Finding> = self.findings.into_values().collect();
        let outcomes = super::oracle::ORACLES
            .iter()
            .map(|o| super::report::outcome(o, &findings, &self.exercised, self.opts.strict))
            .collect();
        Fuzzed {
            findings,
            outcomes,
            notes: self.notes,
            requests,
            probes: self.probes,
            elapsed,
        }
    }
}

/// A finding on its way to being minimized: its mutations, what the oracle saw, the request
/// after and before the mutations, and the exchanges that show it.
type Candidate = (Vec<Mutation>, Hit, Template, Template, Vec<Exchange>);

/// Why the clients accepted registrations create could not be taken away again: the
/// registration answer names no RFC 7592 management URI and token.
fn undeletable(resp: Option<&Response>) -> Option<String> {
    let doc: Value = resp
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .unwrap_or_default();
    let manageable = doc.get("registration_client_uri").is_some()
        && doc.get("registration_access_token").is_some();
    (!manageable).then(|| {
        "the server's registration answer names no registration_client_uri and registration_access_token (RFC 7592), so the clients it registers cannot be deleted".to_string()
    })
}

/// Spaces and control characters at the ends of a URL, which URL parsers remove (WHATWG URL):
/// a server that compares `redirect_uri` as URLs sees the same value.
fn url_equivalent(t: &Template, name: &str, op: Op) -> bool {
    let is_url = t
        .param(true, name)
        .is_some_and(|v| url::Url::parse(v).is_ok_and(|u| u.has_host()));
    is_url && matches!(op, Op::Append(Extra::Space | Extra::Tab | Extra::Nul))
}
