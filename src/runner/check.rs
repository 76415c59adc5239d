//! Runs one check: applicability, needs, then its steps in order, each step's findings graded at
//! its level. The worst finding is the verdict.
//!
//! The grading rules every check follows (the README's "How findings are graded" says the same
//! to users):
//!
//! | situation | where | verdict |
//! | --- | --- | --- |
//! | a set-up step (an unaltered request that only has to succeed) fails | [`StepDef::is_setup`] | skip, with what went wrong |
//! | the user agent stopped at a login or consent page | `stopped_at_login` | skip; one explanation for the run ([`NEEDS_LOGIN`]) |
//! | an altered authorization request whose unaltered twin got no code | `positive_control` | skip |
//! | a later step cannot run | `Graded::stop` | earlier findings still count |
//! | `given` does not hold (a 500 where a challenge is inspected) | `given` / `graded_by` | not graded here; the message names the check that grades it |
//! | a matcher or status with `graded_by` does not hold | `runner::expect` | a note naming that check |
//! | the error code of a refusal differs | `runner::expect::error_code_level` | SHOULD (warn) |
//! | a redirect to an unregistered URI | the `authorize` action | the step's `unregistered` level, MUST by default, even in set-up |
//!
//! Equivalent redirect URIs (RFC 3986 normalization) and silently used duplicates are graded
//! SHOULD by the suites themselves (`level = "should"` on those steps, with the reading named).

use std::time::Instant;

use super::ctx::RunCtx;
use super::event::{Event, Observer};
use super::expect;
pub use super::outcome::NEEDS_LOGIN;
use super::outcome::{CheckOutcome, ExpectationOutcome, StepOutcome, StepState};
use super::verdict::{Level, Verdict};
use crate::action::Finding;
use crate::action::{self, ActionCtx, StepError};
use crate::http::client::DEADLINE_PASSED;
use crate::suite::model::{ActionKind, StepDef, When};
use crate::suite::vars::{Scope, display};
use crate::suite::{Check, default_from};

/// The reason a check skips when its authorization stopped at a login or consent page: short,
/// pointing at the run's one explanation, when the preflight met the same page.
fn login_skip(ctx: &RunCtx, detail: String) -> String {
    match ctx.agent_blocked() {
        Some(b) => format!(
            "{NEEDS_LOGIN} {} (the start of the run says how to get past it)",
            b.page
        ),
        None => detail,
    }
}

fn stopped_at_login(seen: &crate::action::Observed) -> bool {
    seen.json.as_ref().ok().and_then(|j| j.get("outcome")) == Some(&serde_json::json!("login"))
}

/// Runs one check; each step's record goes to `observer` as the step ends.
pub async fn execute(ctx: &RunCtx, check: &Check, observer: &dyn Observer) -> CheckOutcome {
    let started = Instant::now();
    let level = check.level_for(ctx.revision);
    let mut exchanges = Vec::new();
    let mut steps = Steps {
        check,
        observer,
        done: Vec::new(),
    };
    let (verdict, message) = match ctx.http.deadline() {
        None => grade(ctx, check, level, &mut exchanges, &mut steps).await,
        Some(d) if Instant::now() >= d => (Verdict::Error, DEADLINE_PASSED.to_string()),
        Some(d) => {
            let graded = grade(ctx, check, level, &mut exchanges, &mut steps);
            match tokio::time::timeout_at(tokio::time::Instant::from_std(d), graded).await {
                Ok(v) => v,
                Err(_) => (Verdict::Error, DEADLINE_PASSED.to_string()),
            }
        }
    };
    // A check the deadline cut short is an error, whatever stopped it (a refused request, a
    // client that could not be registered).
    let verdict = if matches!(verdict, Verdict::Skip) && message.contains(DEADLINE_PASSED) {
        Verdict::Error
    } else {
        verdict
    };
    CheckOutcome {
        id: check.id.clone(),
        family: check.family.clone(),
        title: check.title.clone(),
        party: check.party,
        level,
        verdict,
        message,
        refs: check.refs.clone(),
        duration_ms: started.elapsed().as_millis() as u64,
        source: check.source.clone(),
        exchanges,
        why: check.why.clone(),
        fix: check.fix.clone(),
        steps: steps.done,
    }
}

/// The records of the steps a check got to, each announced as it is made.
struct Steps<'a> {
    check: &'a Check,
    observer: &'a dyn Observer,
    done: Vec<StepOutcome>,
}

impl Steps<'_> {
    /// Records the check's step at `index` (from 0).
    fn finish(
        &mut self,
        index: usize,
        url: Option<&str>,
        state: StepState,
        why: Option<String>,
        exchanges: std::ops::Range<usize>,
        expectations: Vec<ExpectationOutcome>,
    ) {
        let step = &self.check.steps[index];
        let label = action::describe(step, url)
            .unwrap_or_else(|| format!("{} (step {})", step.action.get_ref().as_str(), index + 1));
        let record = StepOutcome {
            index: index + 1,
            label,
            state,
            why,
            exchanges: exchanges.collect(),
            expectations,
        };
        self.observer.event(&Event::StepFinished {
            check: &self.check.id,
            step: &record,
        });
        self.done.push(record);
    }
}

/// What the action itself found, as expectations of its step (it has no matcher of its own).
fn action_expectations(step: &StepDef, found: &[Finding]) -> Vec<ExpectationOutcome> {
    found
        .iter()
        .map(|f| ExpectationOutcome {
            expected: format!(
                "what the {} action checks on its own",
                step.action.get_ref().as_str()
            ),
            passed: false,
            level: f.level,
            observed: None,
            problems: vec![f.text.clone()],
        })
        .collect()
}

async fn grade(
    ctx: &RunCtx,
    check: &Check,
    level: Level,
    exchanges: &mut Vec<crate::http::Exchange>,
    steps: &mut Steps<'_>,
) -> (Verdict, String) {
    // Waiting for its turn counts against the run's deadline like the check itself.
    let _turn = ctx.schedule.turn(check).await;
    if !check.revisions.contains(ctx.revision) {
        return (
            Verdict::Skip,
            format!(
                "applies to {}; this run grades {} (choose with --spec)",
                check.revisions, ctx.revision
            ),
        );
    }
    let mut scope = Scope::new(ctx.vars.clone());
    if let Some(w) = &check.applies {
        if !when_holds(w, &scope, ctx) {
            return (
                Verdict::Skip,
                format!(
                    "not applicable: {}",
                    w.why.as_deref().unwrap_or("the condition does not hold")
                ),
            );
        }
    }
    for need in &check.needs {
        if let Err(m) = scope.require(need) {
            return (Verdict::Skip, m.to_string());
        }
    }
    if let Some(why) = ordinary_flow_refused(ctx, check) {
        return (Verdict::Skip, why);
    }
    let actx = ActionCtx {
        http: &ctx.http,
        revision: ctx.revision,
        session: &ctx.session,
        check: &check.id,
    };
    let mut graded = Graded::default();
    let mut ran = 0usize;
    // Saved name → key of the shared step saved under it, for shared steps reading from it.
    let mut share_keys: std::collections::HashMap<&str, String> = Default::default();
    for (index, step) in check.steps.iter().enumerate() {
        let none = exchanges.len()..exchanges.len();
        if let Some(w) = &step.when {
            if !when_holds(w, &scope, ctx) {
                let why = w
                    .why
                    .clone()
                    .unwrap_or_else(|| "its condition does not hold".into());
                steps.finish(index, None, StepState::Skipped, Some(why), none, vec![]);
                continue;
            }
        }
        if let Some(why) = positive_control(ctx, &actx, check, step, &scope).await {
            let state = StepState::Stopped;
            steps.finish(index, None, state, Some(why.clone()), none, vec![]);
            return graded.stop(check, level, ctx.strict, Verdict::Skip, why);
        }
        // Where approvals replace grants, an answer shared from another check is dead by now.
        let result = if step.shared && !ctx.schedule.replaces_grants() {
            // Only a token step reads from an earlier one (the validator allows no other).
            let action = *step.action.get_ref();
            let from_key = (action == crate::suite::model::ActionKind::Token)
                .then(|| step.from.as_deref().unwrap_or(default_from(action)))
                .and_then(|from| share_keys.get(from).map(String::as_str));
            let key = super::shared::key(step, from_key);
            if let Some(name) = &step.save {
                share_keys.insert(name, key.clone());
            }
            ctx.shared
                .get_or_run(
                    &ctx.session,
                    check.party,
                    step,
                    key,
                    action::run(&actx, step, &scope),
                )
                .await
        } else {
            action::run(&actx, step, &scope).await
        };
        let first = exchanges.len();
        exchanges.extend(result.exchanges);
        let mine = first..exchanges.len();
        let (seen, url, action_findings) = match result.outcome {
            Ok(o) => o,
            Err(e) => {
                let (state, verdict) = match &e {
                    StepError::Missing(_) | StepError::Precondition(_) => {
                        (StepState::Stopped, Verdict::Skip)
                    }
                    StepError::NotApplicable(_) => (StepState::NotApplicable, Verdict::Skip),
                    StepError::Http(_) | StepError::RateLimited(_) => {
                        (StepState::Error, Verdict::Error)
                    }
                };
                let why = e.to_string();
                steps.finish(index, None, state, Some(why.clone()), mine, vec![]);
                if state == StepState::NotApplicable {
                    graded.notes.push(match action::describe(step, None) {
                        Some(l) if check.steps.len() > 1 => format!("{l}: not run: {why}"),
                        _ => format!("not run: {why}"),
                    });
                    continue;
                }
                return graded.stop(check, level, ctx.strict, verdict, why);
            }
        };
        let step_level = step.level.unwrap_or(level);
        let label = (check.steps.len() > 1)
            .then(|| action::describe(step, url.as_deref()))
            .flatten();
        let labelled = |text: &str| match &label {
            Some(l) => format!("{l}: {text}"),
            None => text.to_string(),
        };
        // `${this.…}` in an expectation's text reads the step's own observation.
        let value = seen.to_value(url.as_deref());
        scope.set("this", value.clone());
        // An authorization that stopped at a login page the user agent could not get past says
        // nothing about the request: the server had not looked at it yet, or the tool could not
        // log in. Either way it is not the server's answer to grade.
        if *step.action.get_ref() == ActionKind::Authorize
            && step.login != Some(false)
            && stopped_at_login(&seen)
        {
            scope.unset("this");
            let why = agent_stop(&seen).unwrap_or_else(|| "no login step matched".into());
            let detail = labelled(&format!(
                "the user agent stopped at a login page it could not get past ({why}); give a login script (`[agent] mode = \"form\"` in --config) or use --agent interactive"
            ));
            let why = login_skip(ctx, detail);
            let state = StepState::Stopped;
            steps.finish(
                index,
                url.as_deref(),
                state,
                Some(why.clone()),
                mine,
                vec![],
            );
            return graded.stop(check, level, ctx.strict, Verdict::Skip, why);
        }
        // `given`: what must hold for this step to be graded here at all.
        if let (Some(given), Some(other)) = (&step.given, &step.graded_by) {
            match expect::evaluate_each(given, &seen, &scope, step_level, ctx.judge) {
                Ok(ev) if !ev.findings.is_empty() => {
                    scope.unset("this");
                    let what: Vec<&str> = ev.findings.iter().map(|f| f.text.as_str()).collect();
                    let why = format!("not graded here: {} ({other} grades that)", what.join(", "));
                    graded.notes.push(labelled(&why));
                    let state = StepState::NotGraded;
                    let url = url.as_deref();
                    steps.finish(index, url, state, Some(why), mine, ev.expectations);
                    if let Some(name) = &step.save {
                        scope.set(name, value);
                    }
                    continue;
                }
                Ok(_) => {}
                Err(m) => {
                    scope.unset("this");
                    let why = m.to_string();
                    let state = StepState::Stopped;
                    let url = url.as_deref();
                    steps.finish(index, url, state, Some(why.clone()), mine, vec![]);
                    return graded.stop(check, level, ctx.strict, Verdict::Skip, why);
                }
            }
        }
        ran += 1;
        let evaluated = expect::evaluate_each(&step.expect, &seen, &scope, step_level, ctx.judge);
        scope.unset("this");
        let (evaluated, mut expectations) = match evaluated {
            Ok(ev) => (ev.findings, ev.expectations),
            Err(m) => {
                let why = m.to_string();
                let state = StepState::Stopped;
                let url = url.as_deref();
                steps.finish(index, url, state, Some(why.clone()), mine, vec![]);
                return graded.stop(check, level, ctx.strict, Verdict::Skip, why);
            }
        };
        // The action's own findings come first, as in the message.
        let mut records = action_expectations(step, &action_findings);
        records.append(&mut expectations);
        // A flow that did not come back explains itself: where the user agent stopped, and why.
        let stop_note = agent_stop(&seen)
            .filter(|_| !evaluated.is_empty())
            .map(|why| format!("user agent: {why}"));
        let label_all = |fs: Vec<Finding>| -> Vec<Finding> {
            fs.into_iter()
                .map(|mut f| {
                    f.text = labelled(&f.text);
                    f
                })
                .collect()
        };
        // What the action itself found (a redirect to an unregistered URI) is graded wherever
        // it happens, set-up or not.
        graded.findings.extend(label_all(action_findings));
        let step_findings = label_all(evaluated);
        // A set-up step that did not work says nothing about the requirement under test.
        if step.is_setup() && step_findings.iter().any(|f| f.level >= Level::Should) {
            let what: Vec<&str> = step_findings.iter().map(|f| f.text.as_str()).collect();
            let mut why = format!("could not set the check up: {}", what.join("; "));
            if let Some(n) = stop_note {
                why.push_str(&format!("; {n}"));
            }
            if stopped_at_login(&seen) {
                why = login_skip(ctx, why);
            }
            let state = StepState::Stopped;
            let url = url.as_deref();
            steps.finish(index, url, state, Some(why.clone()), mine, records);
            return graded.stop(check, level, ctx.strict, Verdict::Skip, why);
        }
        steps.finish(index, url.as_deref(), StepState::Ran, None, mine, records);
        if let Some(n) = stop_note {
            graded.notes.push(n);
        }
        graded.findings.extend(step_findings);
        if let Some(note) = &step.note {
            scope.set("this", value.clone());
            if let Ok(text) = scope.interpolate(note) {
                graded.notes.push(text);
            }
            scope.unset("this");
        }
        if let Some(name) = &step.save {
            scope.set(name, value);
        }
    }
    if ran == 0 {
        let why = if graded.notes.is_empty() {
            "no step of this check applies to this target".to_string()
        } else {
            graded.notes.join("; ")
        };
        return (Verdict::Skip, why);
    }
    conclude(check, level, ctx.strict, graded.findings, graded.notes)
}

/// What the steps so far found.
#[derive(Default)]
struct Graded {
    findings: Vec<Finding>,
    notes: Vec<String>,
}

impl Graded {
    /// The check cannot go on (`verdict`, `why`). What earlier steps found still counts: a
    /// defect they showed is not hidden by a later step that could not run.
    fn stop(
        self,
        check: &Check,
        level: Level,
        strict: bool,
        verdict: Verdict,
        why: String,
    ) -> (Verdict, String) {
        let broken = self
            .findings
            .iter()
            .any(|f| matches!(f.level.broken(strict), Verdict::Fail | Verdict::Warn));
        if !broken {
            return (verdict, why);
        }
        let mut notes = self.notes;
        notes.push(format!("the remaining steps could not run: {why}"));
        conclude(check, level, strict, self.findings, notes)
    }
}

/// One defect, one failure: when the run's ordinary authorization (made before any check) got
/// no code because the server refused it (an error page or an error redirect), every check that
/// needs a code would fail for that same reason. They skip; the check whose ordinary
/// authorization is graded (`precondition = false`, `authz.get-supported`) reports it. When the
/// user agent could not get past the login page, they all skip at once.
fn ordinary_flow_refused(ctx: &RunCtx, check: &Check) -> Option<String> {
    let p = &ctx.preflight;
    let authorizes = |s: &StepDef| *s.action.get_ref() == ActionKind::Authorize;
    let needs_code = check
        .steps
        .iter()
        .any(|s| authorizes(s) && s.login != Some(false));
    // The login page the run met first stops every authorization of this check too: no need to
    // send them (real servers rate-limit authorization requests).
    if needs_code && ctx.agent_blocked().is_some() {
        return Some(login_skip(ctx, String::new()));
    }
    if !matches!(
        p.outcome.as_str(),
        "page" | "error" | "redirect" | "elsewhere"
    ) {
        return None;
    }
    let grades_it = check
        .steps
        .iter()
        .any(|s| authorizes(s) && s.precondition == Some(false));
    // A check whose clients are all its own documents does not use the ordinary client: its
    // positive control (a valid document) tells whether it can run.
    let ordinary_client = check
        .steps
        .iter()
        .any(|s| authorizes(s) && s.login != Some(false) && s.document.is_none());
    if !ordinary_client || grades_it {
        return None;
    }
    let why = p
        .why_no_token
        .clone()
        .unwrap_or_else(|| format!("it ended `{}`", p.outcome));
    Some(format!(
        "needs an authorization code, and the run's ordinary authorization request got none ({why}); authz.get-supported grades that"
    ))
}

/// Why the user agent stopped instead of coming back, as the authorize action recorded it.
fn agent_stop(seen: &crate::action::Observed) -> Option<String> {
    seen.json
        .as_ref()
        .ok()
        .and_then(|j| j.get("stopped"))
        .map(display)
}

/// A refusal proves something only if the same request, unaltered, would have succeeded: before
/// an altered authorization request that may log in is graded, the unaltered one (shared by
/// every check of the run, per client) must reach a code. `Some(why)` when it did not.
async fn positive_control(
    ctx: &RunCtx,
    actx: &ActionCtx<'_>,
    check: &Check,
    step: &StepDef,
    scope: &Scope,
) -> Option<String> {
    let applies = *step.action.get_ref() == ActionKind::Authorize
        && step.is_altered()
        && step.login != Some(false)
        && step.control != Some(false);
    if !applies {
        return None;
    }
    let kind = step.client.unwrap_or(crate::session::ClientKind::Main);
    // A document case is controlled by a valid document: the same kind of URL client, fetched
    // from the same server, reaches a code.
    let control = control_step(kind, step.document.is_some())?;
    let key = super::shared::key(&control, None);
    let result = ctx
        .shared
        .get_or_run(
            &ctx.session,
            check.party,
            &control,
            key,
            action::run(actx, &control, scope),
        )
        .await;
    let seen = match &result.outcome {
        Ok((seen, _, _)) => seen,
        Err(e) => return Some(format!("positive control: {e}")),
    };
    let outcome = seen
        .json
        .as_ref()
        .ok()
        .and_then(|j| j.get("outcome"))
        .map(display)
        .unwrap_or_default();
    if outcome == "code" {
        return None;
    }
    let stop = agent_stop(seen)
        .map(|w| format!(": {w}"))
        .unwrap_or_default();
    let who = match step.document {
        Some(_) => "a URL client with a valid client metadata document".to_string(),
        None => format!("the {} client", kind.as_str()),
    };
    let mut detail = format!(
        "positive control failed: the unaltered authorization request of {who} ended in `{outcome}`{stop}, not a code, so a refusal here would prove nothing"
    );
    if step.document.is_some() && outcome != "login" {
        let base = ctx
            .vars
            .pointer("/run/cimd_base_url")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("its loopback address");
        detail.push_str(&format!(
            "; the server may not support client ID metadata documents (cimd.accepts-url-client grades that), or cannot fetch them from the tool at {base}: serve them over https (--cimd-https, trusting the CA the run writes) or at a public URL (--cimd-base-url), as the README's CIMD section shows"
        ));
    }
    Some(if outcome == "login" {
        login_skip(ctx, detail)
    } else {
        detail
    })
}

/// The unaltered, shared authorization request of a client: the same request as the suites'
/// `shared = true` ordinary grant, so the control costs no extra authorization for `main`. A
/// document case is controlled by a URL client whose document is valid.
fn control_step(kind: crate::session::ClientKind, document: bool) -> Option<StepDef> {
    let client = match kind {
        _ if document => "document = \"valid\"\n".to_string(),
        crate::session::ClientKind::Main => String::new(),
        k => format!("client = \"{}\"\n", k.as_str()),
    };
    StepDef::internal(&format!("action = \"authorize\"\nshared = true\n{client}")).ok()
}

fn when_holds(w: &When, scope: &Scope, ctx: &RunCtx) -> bool {
    if w.revisions
        .as_ref()
        .is_some_and(|r| !r.contains(ctx.revision))
    {
        return false;
    }
    if w.present.iter().any(|p| scope.get(p).is_none())
        || w.absent.iter().any(|p| scope.get(p).is_some())
    {
        return false;
    }
    let resolve = |v: &toml::Value| scope.resolve(v).ok();
    for (path, want) in &w.contains {
        let (Some(have), Some(want)) = (scope.get(path), resolve(want)) else {
            return false;
        };
        let holds = match have {
            serde_json::Value::Array(a) => a.contains(&want),
            serde_json::Value::String(s) => s.contains(&display(&want)),
            _ => false,
        };
        if !holds {
            return false;
        }
    }
    for (path, unwanted) in &w.lacks {
        if let (Some(have), Some(unwanted)) = (scope.get(path), resolve(unwanted)) {
            let has = match have {
                serde_json::Value::Array(a) => a.contains(&unwanted),
                serde_json::Value::String(s) => s.contains(&display(&unwanted)),
                _ => false,
            };
            if has {
                return false;
            }
        }
    }
    for (path, re) in &w.matches {
        let text = scope.get(path).map(display);
        if !text.is_some_and(|t| regex::Regex::new(re).is_ok_and(|r| r.is_match(&t))) {
            return false;
        }
    }
    w.equals.iter().all(|(path, want)| {
        scope
            .get(path)
            .is_some_and(|have| Some(have.clone()) == resolve(want))
    })
}

fn conclude(
    check: &Check,
    level: Level,
    strict: bool,
    mut findings: Vec<Finding>,
    notes: Vec<String>,
) -> (Verdict, String) {
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    let graded = findings.iter().map(|f| f.level.broken(strict)).max();
    let verdict = match graded {
        Some(v @ (Verdict::Fail | Verdict::Warn)) => v,
        // Only notes or informational findings: graded checks pass, informational ones inform.
        _ if level >= Level::Should => Verdict::Pass,
        _ => Verdict::Info,
    };
    let mut parts: Vec<String> = findings
        .iter()
        .map(|f| match f.level.broken(strict) {
            Verdict::Fail => f.text.clone(),
            Verdict::Warn => format!("{} (SHOULD)", f.text),
            _ => format!("note: {}", f.text),
        })
        .collect();
    parts.extend(notes);
    if parts.is_empty() {
        parts.push("as required".into());
    }
    let mut message = parts.join("; ");
    if let (Some(reading), Verdict::Fail | Verdict::Warn) = (&check.reading, verdict) {
        message.push_str(&format!(" [graded by: {reading}]"));
    }
    (verdict, message)
}
