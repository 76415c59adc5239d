//! The live fuzzer (`mcp-oauth-conform fuzz`): mutations of the valid requests a run can make,
//! sent to the deployment under test and judged by protocol oracles. (The fuzzing of this
//! tool's own parsers is elsewhere: `fuzz/` and the `fuzzing` feature.)
//!
//! A run goes: seeds (one valid request per endpoint, via the checks' own actions) → the
//! unaltered request timed → every single mutation of every part, in an order the seed decides,
//! endpoints taking turns → random pairs of mutations while budget and time last. Each answer is
//! judged ([`oracle::judge`]); a finding is minimized (the fewest mutations, the smallest size
//! that still shows it), deduplicated by oracle, endpoint and part, and reported with a `curl`
//! command. The result is one check outcome per oracle, as in a normal run's reports.

pub mod curl;
pub mod mutate;
pub mod oracle;
pub mod seeds;
pub mod target;
pub mod template;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::{IndexedMutRandom, IndexedRandom, SliceRandom};
use serde_json::Value;

use crate::http::{Exchange, HttpError, Response};
use crate::runner::RunCtx;
use crate::runner::outcome::{CheckOutcome, ExpectationOutcome, StepOutcome, StepState};
use crate::runner::verdict::Verdict;
use crate::suite::Party;
use crate::suite::model::Level;
use mutate::{Mutation, Op, Part};
use oracle::{Hit, Pace};
pub use seeds::Endpoint;
use seeds::{Seed, Seeder};
use template::Template;

/// Requests a run may send when `--budget` is not given: enough for every single mutation of
/// every endpoint of a usual deployment, with a fresh code for each token request.
pub const DEFAULT_BUDGET: u64 = 2500;

#[derive(Clone, Debug)]
pub struct Options {
    /// Requests the run may send, seeds, controls and minimization included.
    pub budget: u64,
    pub duration: Option<Duration>,
    pub seed: u64,
    pub endpoints: Vec<Endpoint>,
    pub strict: bool,
    /// Stop once this many findings are made (`--max-findings`): a gate that only needs to know
    /// whether there is one.
    pub max_findings: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            budget: DEFAULT_BUDGET,
            duration: None,
            seed: 0,
            endpoints: Endpoint::ALL.to_vec(),
            strict: false,
            max_findings: None,
        }
    }
}

/// One defect, minimized.
#[derive(Clone, Debug)]
pub struct Finding {
    pub oracle: &'static str,
    pub level: Level,
    pub endpoint: Endpoint,
    pub mutations: Vec<Mutation>,
    pub what: String,
    /// The `curl` command, with its placeholders explained.
    pub curl: String,
    pub exchanges: Vec<Exchange>,
    /// How many probes showed it (before deduplication).
    pub seen: u64,
    /// Requests sent and time passed when it was first seen.
    pub after_requests: u64,
    pub after: Duration,
}

impl Finding {
    pub fn title(&self) -> String {
        let what: Vec<String> = self.mutations.iter().map(|m| m.to_string()).collect();
        format!("{} request, {}", self.endpoint.as_str(), what.join(" and "))
    }
}

/// What a fuzzing run did and found.
pub struct Fuzzed {
    pub findings: Vec<Finding>,
    pub outcomes: Vec<CheckOutcome>,
    pub notes: Vec<String>,
    pub requests: u64,
    pub probes: u64,
    pub elapsed: Duration,
}

impl Fuzzed {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    /// The line the console and the report carry.
    pub fn summary(&self) -> String {
        let first = self
            .findings
            .iter()
            .min_by_key(|f| f.after_requests)
            .map(|f| {
                format!(
                    "; first finding after {} requests ({:.1} s)",
                    f.after_requests,
                    f.after.as_secs_f64()
                )
            })
            .unwrap_or_default();
        format!(
            "fuzz: {} probes, {} requests in {:.1} s ({:.0} requests/s), {} finding(s){first}",
            self.probes,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.requests_per_second(),
            self.findings.len()
        )
    }
}

/// One endpoint under fuzzing.
struct Aim {
    endpoint: Endpoint,
    /// The valid request (for a token request: its shape; each probe gets a fresh code).
    template: Template,
    pace: Pace,
    /// Whether the unaltered request succeeded (the positive control of `malformed-accepted`).
    succeeds: bool,
    singles: Vec<Mutation>,
    next: usize,
}

struct Fuzzer<'a> {
    ctx: &'a RunCtx,
    seeder: Seeder<'a>,
    opts: Options,
    started: Instant,
    start_requests: u64,
    probes: u64,
    findings: BTreeMap<(&'static str, Endpoint, Part), Finding>,
    notes: Vec<String>,
    /// Oracles that judged at least one answer they could apply to.
    exercised: std::collections::BTreeSet<&'static str>,
    /// Parameters whose absence the token endpoint refuses (the control of
    /// `malformed-accepted`), learned on demand.
    required: BTreeMap<String, bool>,
    /// Endpoints no longer fuzzed, and why (rate-limited, no fresh code to be had).
    stopped: BTreeMap<Endpoint, String>,
    /// Fresh codes that could not be had in a row, per endpoint.
    seed_failures: BTreeMap<Endpoint, u32>,
}

/// Fresh codes that may fail in a row before the endpoint is given up.
const SEED_FAILURES: u32 = 3;

pub async fn run(ctx: &RunCtx, opts: &Options) -> Fuzzed {
    let mut f = Fuzzer {
        ctx,
        seeder: Seeder::new(ctx),
        opts: opts.clone(),
        started: Instant::now(),
        start_requests: ctx.http.requests_sent(),
        probes: 0,
        findings: BTreeMap::new(),
        notes: Vec::new(),
        exercised: Default::default(),
        required: BTreeMap::new(),
        stopped: BTreeMap::new(),
        seed_failures: BTreeMap::new(),
    };
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut aims = f.aim(&mut rng).await;
    // Every single mutation first, endpoints taking turns, so that a small budget still reaches
    // every endpoint; then pairs.
    loop {
        let mut any = false;
        for aim in aims.iter_mut() {
            if f.spent() {
                break;
            }
            if f.stopped.contains_key(&aim.endpoint) {
                continue;
            }
            let Some(m) = aim.singles.get(aim.next).cloned() else {
                continue;
            };
            aim.next += 1;
            any = true;
            f.probe(aim, vec![m]).await;
        }
        if !any || f.spent() {
            break;
        }
    }
    let mut rounds = 0u64;
    while !f.spent() && rounds < opts.budget {
        rounds += 1;
        aims.retain(|a| !f.stopped.contains_key(&a.endpoint));
        let Some(aim) = aims.choose_mut(&mut rng) else {
            break;
        };
        let picks: Vec<Mutation> = aim.singles.choose_multiple(&mut rng, 2).cloned().collect();
        if picks.len() < 2 || picks[0].part == picks[1].part {
            continue;
        }
        f.probe(aim, picks).await;
    }
    f.finish()
}

impl<'a> Fuzzer<'a> {
    fn requests(&self) -> u64 {
        self.ctx.http.requests_sent() - self.start_requests
    }

    fn spent(&self) -> bool {
        self.requests() >= self.opts.budget
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
                let (pace, succeeds) = self.baseline(endpoint, &seed).await;
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
                    singles,
                    next: 0,
                });
            }
        }
        aims
    }

    /// The unaltered request, sent (for a token request: the seed's own code redeemed): how
    /// long it takes, and whether it succeeds.
    async fn baseline(&mut self, endpoint: Endpoint, seed: &Seed) -> (Pace, bool) {
        let mut times = Vec::new();
        let mut succeeds = false;
        let tries = if endpoint.needs_fresh_code() || endpoint == Endpoint::Register {
            1
        } else {
            3
        };
        for _ in 0..tries {
            let req = seed.template.to_request();
            let started = Instant::now();
            let (_, result) = self.ctx.http.send(&req).await;
            times.push(started.elapsed());
            self.account(endpoint, seed.client.as_deref(), &result);
            succeeds = result
                .as_ref()
                .is_ok_and(|r| (200..300).contains(&r.status));
        }
        times.sort();
        let baseline = times.get(times.len() / 2).copied().unwrap_or_default();
        (Pace { baseline }, succeeds)
    }

    /// What the run created: tokens issued, clients registered (the clean-up takes them away).
    fn account(
        &self,
        endpoint: Endpoint,
        client: Option<&crate::session::Client>,
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

    /// The request for one probe: a fresh code for a token request.
    async fn request_for(
        &mut self,
        aim: &Aim,
        muts: &[Mutation],
        marker: &str,
    ) -> Option<(Template, Option<std::sync::Arc<crate::session::Client>>)> {
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
        mutate::apply(&base, muts, aim.endpoint.in_form(), marker).map(|t| (t, client))
    }

    /// Sends one probe and judges it: what the oracles saw.
    async fn send(
        &mut self,
        aim: &Aim,
        muts: &[Mutation],
    ) -> Option<(Vec<Hit>, Exchange, Template, Option<Response>)> {
        self.probes += 1;
        let marker = format!("mcpfz{}", self.probes);
        let (t, client) = self.request_for(aim, muts, &marker).await?;
        let req = t.to_request();
        let started = Instant::now();
        let (ex, result) = self.ctx.http.send(&req).await;
        let took = started.elapsed();
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
        self.exercised.insert(oracle::NO_5XX);
        self.exercised.insert(oracle::OVERSIZE);
        if muts.iter().any(|m| {
            matches!(
                m.op,
                Op::Append(mutate::Extra::Html) | Op::Replace(mutate::Extra::Html)
            )
        }) {
            self.exercised.insert(oracle::NO_REFLECTION);
        }
        if muts.iter().any(|m| {
            matches!(
                m.op,
                Op::Append(mutate::Extra::HeaderLine) | Op::Replace(mutate::Extra::HeaderLine)
            )
        }) {
            self.exercised.insert(oracle::HEADER_INJECTION);
        }
        let size = req.url.len()
            + req
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + req.body.as_ref().map_or(0, Vec::len);
        let hits = oracle::judge(
            &result,
            took,
            aim.pace,
            &marker,
            size > oracle::LARGE_REQUEST,
        );
        Some((hits, ex, t, result.ok()))
    }

    async fn probe(&mut self, aim: &Aim, muts: Vec<Mutation>) {
        let Some((mut hits, ex, t, resp)) = self.send(aim, &muts).await else {
            return;
        };
        let mut exchanges = vec![ex];
        if let Some(hit) = self
            .malformed_accepted(aim, &muts, resp.as_ref(), &mut exchanges)
            .await
        {
            hits.push(hit);
        }
        for hit in hits {
            self.record(aim, &muts, hit, &t, exchanges.clone()).await;
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
        let without = Mutation {
            part: m.part.clone(),
            op: Op::Drop,
        };
        if !self.required.contains_key(name) {
            let (hits, ex, _, control) = self.send(aim, std::slice::from_ref(&without)).await?;
            let _ = hits;
            exchanges.push(ex);
            let refused = control.is_some_and(|r| (400..500).contains(&r.status));
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
        t: &Template,
        exchanges: Vec<Exchange>,
    ) {
        let key = (hit.oracle, aim.endpoint, muts[0].part.clone());
        if let Some(f) = self.findings.get_mut(&key) {
            f.seen += 1;
            // A simpler change with the same effect makes the better reproducer (the answer
            // to any bad code, shown with a space appended rather than a NUL byte).
            if let ([m], [old]) = (muts, f.mutations.as_slice()) {
                if m.op.rank() < old.op.rank() && hit.what == f.what {
                    f.mutations = vec![m.clone()];
                    f.exchanges = exchanges;
                    let curl = self.reproducer(t);
                    if let Some(f) = self.findings.get_mut(&key) {
                        f.curl = curl;
                    }
                }
            }
            return;
        }
        // Minimizing is one oracle's matter: other parts of a pair may make their own findings.
        let after_requests = self.requests();
        let after = self.started.elapsed();
        let (muts, hit, t, exchanges) = self.minimize(aim, muts, hit, t, exchanges).await;
        let key = (hit.oracle, aim.endpoint, muts[0].part.clone());
        if self.findings.contains_key(&key) {
            return;
        }
        let curl = self.reproducer(&t);
        let scrub = |s: &str| self.ctx.http.redactor().scrub(s);
        self.findings.insert(
            key,
            Finding {
                oracle: hit.oracle,
                level: hit.level,
                endpoint: aim.endpoint,
                mutations: muts,
                what: scrub(&hit.what),
                curl,
                exchanges,
                seen: 1,
                after_requests,
                after,
            },
        );
    }

    /// The `curl` command for a request, its placeholders explained, redacted.
    fn reproducer(&self, t: &Template) -> String {
        let (mut cmd, used) = curl::render(&t.to_request());
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
    async fn minimize(
        &mut self,
        aim: &Aim,
        muts: &[Mutation],
        hit: Hit,
        t: &Template,
        exchanges: Vec<Exchange>,
    ) -> (Vec<Mutation>, Hit, Template, Vec<Exchange>) {
        let mut best = (muts.to_vec(), hit, t.clone(), exchanges);
        if best.1.oracle == oracle::MALFORMED_ACCEPTED {
            return best;
        }
        if muts.len() > 1 {
            for m in muts {
                if self.spent() {
                    break;
                }
                let one = vec![m.clone()];
                if let Some(found) = self.again(aim, &one, best.1.oracle).await {
                    best = (one, found.0, found.1, found.2);
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
                Some(found) => best = (one, found.0, found.1, found.2),
                None => break,
            }
        }
        best
    }

    async fn again(
        &mut self,
        aim: &Aim,
        muts: &[Mutation],
        oracle_id: &str,
    ) -> Option<(Hit, Template, Vec<Exchange>)> {
        let (hits, ex, t, _) = self.send(aim, muts).await?;
        let hit = hits.into_iter().find(|h| h.oracle == oracle_id)?;
        Some((hit, t, vec![ex]))
    }

    fn finish(mut self) -> Fuzzed {
        self.notes
            .extend(std::mem::take(&mut self.stopped).into_values());
        let elapsed = self.started.elapsed();
        let requests = self.requests();
        let findings: Vec<Finding> = self.findings.into_values().collect();
        let outcomes = oracle::ORACLES
            .iter()
            .map(|o| outcome(o, &findings, &self.exercised, self.opts.strict, elapsed))
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

/// Spaces and control characters at the ends of a URL, which URL parsers remove (WHATWG URL):
/// a server that compares `redirect_uri` as URLs sees the same value.
fn url_equivalent(t: &Template, name: &str, op: Op) -> bool {
    let is_url = t
        .param(true, name)
        .is_some_and(|v| url::Url::parse(v).is_ok_and(|u| u.has_host()));
    is_url
        && matches!(
            op,
            Op::Append(mutate::Extra::Space | mutate::Extra::Tab | mutate::Extra::Nul)
        )
}

/// The findings of one oracle, those with the same answer at the same endpoint as one entry: a
/// parser that fails on any member nested too deep shows it once, naming the other members.
fn grouped(mine: &[&Finding]) -> String {
    let mut groups: Vec<(&Finding, Vec<String>, u64)> = Vec::new();
    for f in mine {
        match groups
            .iter_mut()
            .find(|(g, _, _)| g.endpoint == f.endpoint && g.what == f.what)
        {
            Some((_, also, seen)) => {
                also.push(
                    f.mutations
                        .iter()
                        .map(|m| m.part.to_string())
                        .collect::<Vec<_>>()
                        .join(" and "),
                );
                *seen += f.seen;
            }
            None => groups.push((f, Vec::new(), f.seen)),
        }
    }
    groups
        .iter()
        .map(|(f, also, seen)| {
            let also = if also.is_empty() {
                String::new()
            } else {
                format!("; the same with {}", also.join(", "))
            };
            format!(
                "{}: {} (seen {seen}x{also})\n  reproduce: {}",
                f.title(),
                f.what,
                f.curl
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each finding as a step of the oracle's check, its one expectation failed, so that the
/// reports show the minimized request and what came back first, as for any failing check.
fn steps(o: &oracle::Oracle, mine: &[&Finding]) -> Vec<StepOutcome> {
    let mut at = 0;
    mine.iter()
        .enumerate()
        .map(|(index, f)| {
            let exchanges = (at..at + f.exchanges.len()).collect();
            at += f.exchanges.len();
            StepOutcome {
                index,
                label: f.title(),
                state: StepState::Ran,
                why: None,
                exchanges,
                expectations: vec![ExpectationOutcome {
                    expected: o.title.to_string(),
                    passed: false,
                    level: f.level,
                    observed: Some(f.what.clone()),
                    problems: vec![format!("reproduce: {}", f.curl)],
                }],
            }
        })
        .collect()
}

/// One oracle's result as a check outcome: its findings in the message (each with its `curl`)
/// and their exchanges.
fn outcome(
    o: &oracle::Oracle,
    findings: &[Finding],
    exercised: &std::collections::BTreeSet<&'static str>,
    strict: bool,
    elapsed: Duration,
) -> CheckOutcome {
    let mine: Vec<&Finding> = findings.iter().filter(|f| f.oracle == o.id).collect();
    let verdict = mine
        .iter()
        .map(|f| f.level.broken(strict))
        .max_by_key(|v| v.badness())
        .unwrap_or(if exercised.contains(o.id) {
            Verdict::Pass
        } else {
            Verdict::Skip
        });
    let message = if mine.is_empty() && verdict == Verdict::Skip {
        match o.id {
            oracle::MALFORMED_ACCEPTED => "not judged: no token request was fuzzed whose unaltered form gets tokens (the token endpoint needs an authorization code: see the run notes)".to_string(),
            _ => "not judged: no probe this oracle applies to was sent (see the run notes for endpoints that were not fuzzed)".to_string(),
        }
    } else if mine.is_empty() {
        "no finding".to_string()
    } else {
        grouped(&mine)
    };
    let party = if mine.iter().all(|f| f.endpoint == Endpoint::Mcp) && !mine.is_empty() {
        Party::Rs
    } else if o.id == oracle::NO_5XX || o.id == oracle::OVERSIZE {
        Party::Both
    } else {
        Party::As
    };
    CheckOutcome {
        id: o.id.to_string(),
        family: "fuzz".into(),
        title: o.title.to_string(),
        party,
        level: o.level,
        verdict,
        message,
        refs: o.refs.iter().map(|r| r.to_string()).collect(),
        duration_ms: elapsed.as_millis() as u64,
        source: "src/fuzz/oracle.rs".into(),
        steps: steps(o, &mine),
        exchanges: mine.iter().flat_map(|f| f.exchanges.clone()).collect(),
        why: Some(o.why.to_string()),
        fix: Some(o.fix.to_string()),
    }
}
