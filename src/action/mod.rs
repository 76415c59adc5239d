//! Actions: the protocol moves a check step can make. A step names one; the action builds the
//! request from the step's parameters and the check's variables, sends it, and reports what it
//! observed. Expectations are evaluated by the caller.

mod authorize;
mod http;
mod mcp;
mod register;
mod step;
mod token;

// The step's types and helpers live in `step`, which the actions share, so that no action imports
// this file (which imports every action).
use step::text;
pub use step::{ActionCtx, Finding, Observed, StepError, StepResult};

use crate::suite::model::{ActionKind, StepDef};
use crate::suite::vars::{Missing, Scope};

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    match step.action.get_ref() {
        ActionKind::Inspect => {
            let outcome = inspect(step, scope)
                .map(|o| (o, None, Vec::new()))
                .map_err(StepError::from);
            StepResult {
                exchanges: Vec::new(),
                outcome,
            }
        }
        ActionKind::Http => http::run(ctx, step, scope).await,
        ActionKind::Mcp => mcp::run(ctx, step, scope).await,
        ActionKind::Authorize => authorize::run(ctx, step, scope).await,
        ActionKind::Register => register::run(ctx, step, scope).await,
        ActionKind::Token | ActionKind::Revoke | ActionKind::Introspect => {
            token::run(ctx, step, scope).await
        }
        ActionKind::Wait => StepResult {
            exchanges: Vec::new(),
            outcome: wait(step, scope).await.map(|o| (o, None, Vec::new())),
        },
        // The loader puts the sequence's own steps in its place; one left means a check built
        // in code skipped the loader.
        ActionKind::Use => StepResult {
            exchanges: Vec::new(),
            outcome: Err(StepError::Precondition(
                "a `use` step was not expanded: the check did not come from the suite loader"
                    .into(),
            )),
        },
    }
}

/// The request a `token`, `revoke` or `introspect` step would send, unsent, and the client it
/// authenticates as: the live fuzzer starts from it.
pub async fn oauth_request(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
) -> Result<(crate::http::Request, std::sync::Arc<crate::session::Client>), StepError> {
    token::request(ctx, step, scope).await
}

/// The longest a `wait` step waits: a grace window or a lifetime longer than this is not
/// something a conformance run should sit through.
const MAX_WAIT_SECS: f64 = 300.0;

async fn wait(step: &StepDef, scope: &Scope) -> Result<Observed, StepError> {
    let text = scope.interpolate(step.seconds.as_deref().unwrap_or("0"))?;
    let secs: f64 = text.trim().parse().map_err(|_| {
        StepError::Precondition(format!("`seconds = \"{text}\"` is not a number of seconds"))
    })?;
    let secs = secs.clamp(0.0, MAX_WAIT_SECS);
    tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
    Ok(Observed {
        json: Ok(serde_json::json!({ "waited": secs })),
        ..Default::default()
    })
}

/// A short description of a step for messages: its `name`, else what it sent.
pub fn describe(step: &StepDef, url: Option<&str>) -> Option<String> {
    if let Some(n) = &step.name {
        return Some(n.clone());
    }
    match step.action.get_ref() {
        ActionKind::Inspect => None,
        ActionKind::Use => step
            .sequence
            .as_ref()
            .map(|s| format!("the steps `{}`", s.get_ref())),
        ActionKind::Wait => Some(format!(
            "waiting {} s",
            step.seconds.as_deref().unwrap_or("0")
        )),
        ActionKind::Http => {
            let method = step.method.clone().unwrap_or_else(|| {
                if step.body.is_some() || step.json.is_some() || step.form.is_some() {
                    "POST".into()
                } else {
                    "GET".into()
                }
            });
            let path = url
                .and_then(|u| url::Url::parse(u).ok())
                .map(|u| u.path().to_string())
                .unwrap_or_default();
            Some(format!("{method} {path}"))
        }
        ActionKind::Mcp => Some(mcp::describe(step)),
        ActionKind::Register => {
            let kind = step
                .client
                .unwrap_or(crate::session::ClientKind::Main)
                .as_str();
            Some(if register::changes_metadata(step) {
                format!("a registration like the {kind} client's, changed")
            } else {
                format!("the {kind} client's registration")
            })
        }
        ActionKind::Authorize | ActionKind::Token | ActionKind::Revoke | ActionKind::Introspect => {
            None
        }
    }
}

fn inspect(step: &StepDef, scope: &Scope) -> Result<Observed, Missing> {
    let path = step.value.as_deref().unwrap_or_default();
    // `value` is a single `${path}`: the variable's JSON value is what the step observes.
    let v = scope.resolve(&toml::Value::String(path.to_string()))?;
    if step.decode == Some(crate::suite::model::Decode::Jwt) {
        let json = crate::oauth::jwt::inspect(&text(&v))
            .map(|jwt| serde_json::json!({"header": jwt.header, "payload": jwt.payload}))
            .map_err(|e| format!("not a JWT: {e}"));
        return Ok(Observed {
            json,
            ..Default::default()
        });
    }
    if step.decode == Some(crate::suite::model::Decode::Base64) {
        let decoded = crate::oauth::jwt::decoded_text(&text(&v));
        return Ok(Observed {
            json: Ok(serde_json::Value::String(decoded)),
            ..Default::default()
        });
    }
    Ok(Observed {
        json: Ok(v),
        ..Default::default()
    })
}
