//! Runs one check: applicability, needs, then its steps in order, each step's findings graded at
//! its level. The worst finding is the verdict.

use std::time::Instant;

use super::RunCtx;
use super::outcome::CheckOutcome;
use super::verdict::{Level, Verdict};
use crate::action::{self, ActionCtx, StepError};
use crate::http::client::DEADLINE_PASSED;
use crate::suite::expect::{self, Finding};
use crate::suite::model::When;
use crate::suite::vars::{Scope, display};
use crate::suite::{Check, default_from};

pub async fn execute(ctx: &RunCtx, check: &Check) -> CheckOutcome {
    let started = Instant::now();
    let level = check.level_for(ctx.revision);
    let mut exchanges = Vec::new();
    let (verdict, message) = match ctx.http.deadline() {
        None => grade(ctx, check, level, &mut exchanges).await,
        Some(d) if Instant::now() >= d => (Verdict::Error, DEADLINE_PASSED.to_string()),
        Some(d) => {
            let graded = grade(ctx, check, level, &mut exchanges);
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
    }
}

async fn grade(
    ctx: &RunCtx,
    check: &Check,
    level: Level,
    exchanges: &mut Vec<crate::http::Exchange>,
) -> (Verdict, String) {
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
    let actx = ActionCtx {
        http: &ctx.http,
        revision: ctx.revision,
        session: &ctx.session,
    };
    let mut findings: Vec<Finding> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut ran = 0usize;
    // Saved name → key of the shared step saved under it, for shared steps reading from it.
    let mut share_keys: std::collections::HashMap<&str, String> = Default::default();
    for step in &check.steps {
        if let Some(w) = &step.when {
            if !when_holds(w, &scope, ctx) {
                continue;
            }
        }
        ran += 1;
        let result = if step.shared {
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
                .get_or_run(key, action::run(&actx, step, &scope))
                .await
        } else {
            action::run(&actx, step, &scope).await
        };
        exchanges.extend(result.exchanges);
        let (seen, url, action_findings) = match result.outcome {
            Ok(o) => o,
            Err(StepError::Missing(m)) => return (Verdict::Skip, m.to_string()),
            Err(StepError::Precondition(why)) => return (Verdict::Skip, why),
            Err(e) => return (Verdict::Error, e.to_string()),
        };
        let step_level = step.level.unwrap_or(level);
        let label = (check.steps.len() > 1)
            .then(|| action::describe(step, url.as_deref()))
            .flatten();
        // `${this.…}` in an expectation's text reads the step's own observation.
        let value = seen.to_value(url.as_deref());
        scope.set("this", value.clone());
        let evaluated = expect::evaluate(&step.expect, &seen, &scope, step_level, ctx.judge);
        scope.unset("this");
        // A flow that did not come back explains itself: where the user agent stopped, and why.
        if let (Ok(f), Some(why)) = (
            &evaluated,
            seen.json.as_ref().ok().and_then(|j| j.get("stopped")),
        ) {
            if !f.is_empty() {
                notes.push(format!("user agent: {}", crate::suite::vars::display(why)));
            }
        }
        let step_findings: Vec<Finding> = match evaluated {
            Ok(f) => action_findings
                .into_iter()
                .chain(f)
                .map(|mut f| {
                    if let Some(l) = &label {
                        f.text = format!("{l}: {}", f.text);
                    }
                    f
                })
                .collect(),
            Err(m) => return (Verdict::Skip, m.to_string()),
        };
        // A set-up step that did not work says nothing about the requirement under test.
        if step.precondition && step_findings.iter().any(|f| f.level >= Level::Should) {
            let what: Vec<&str> = step_findings.iter().map(|f| f.text.as_str()).collect();
            let mut why = format!("could not set the check up: {}", what.join("; "));
            if let Some(n) = notes.last().filter(|n| n.starts_with("user agent:")) {
                why.push_str(&format!("; {n}"));
            }
            return (Verdict::Skip, why);
        }
        findings.extend(step_findings);
        if let Some(note) = &step.note {
            scope.set("this", value.clone());
            if let Ok(text) = scope.interpolate(note) {
                notes.push(text);
            }
            scope.unset("this");
        }
        if let Some(name) = &step.save {
            scope.set(name, value);
        }
    }
    if ran == 0 {
        return (
            Verdict::Skip,
            "no step of this check applies to this target".into(),
        );
    }
    conclude(check, level, ctx.strict, findings, notes)
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
