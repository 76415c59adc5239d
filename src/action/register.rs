//! `register`: a registration (RFC 7591). Unchanged, it is the registration of one of the
//! session's clients, as the server answered it: the session registers each kind of client once
//! per run, so checks on what a registration returns cost no registration of their own.
//!
//! Changed (`json` sets metadata members, `omit` removes them, `headers` replace the request's),
//! it is a registration of its own, sent now: the metadata the session registers for that kind of
//! client, with only those changes. A server may refuse a registration for a reason of its own
//! policy (no `client_name`, a loopback redirect URI for a `web` application); a request that
//! differs from the accepted one in the property under test alone is refused for that property.

use serde_json::{Value, json};

use super::http::apply_headers;
use super::step::{ActionCtx, StepError, StepResult, observe_with_json};
use crate::http::Request;
use crate::session::ClientKind;
use crate::suite::model::StepDef;
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    if changes_metadata(step) {
        return send_changed(ctx, step, scope).await;
    }
    let kind = step.client.unwrap_or(ClientKind::Main);
    match ctx.session.registration(ctx.http, kind).await {
        // The check that grades registration itself reads the refusal; for every other check a
        // client that cannot be had is a missing precondition. So is a 401 or 403: the endpoint
        // wants an initial access token, which RFC 7591 §3 allows.
        Err(why) => match ctx.session.refused_registration(kind) {
            Some((exchange, response))
                if !step.is_setup() && !matches!(response.status, 401 | 403) =>
            {
                StepResult {
                    exchanges: vec![exchange],
                    outcome: observe_with_json(step, response),
                }
            }
            Some((_, response)) if matches!(response.status, 401 | 403) => StepResult {
                exchanges: Vec::new(),
                outcome: Err(needs_initial_token(response.status)),
            },
            _ => StepResult {
                exchanges: Vec::new(),
                outcome: Err(StepError::Precondition(why)),
            },
        },
        Ok(reg) => StepResult {
            exchanges: vec![reg.exchange.clone()],
            outcome: observe_with_json(step, reg.response.clone()).map(
                |(mut seen, url, findings)| {
                    seen.meta = json!({"client_kind": kind, "sent": reg.sent});
                    (seen, url, findings)
                },
            ),
        },
    }
}

/// Whether the step sends a registration of its own instead of reading the session's.
pub fn changes_metadata(step: &StepDef) -> bool {
    step.json.is_some() || !step.omit.is_empty() || !step.headers.is_empty()
}

fn needs_initial_token(status: u16) -> StepError {
    StepError::Precondition(format!(
        "the registration endpoint answered {status}: it requires an initial access token (RFC 7591 §3 allows that), which the tool does not have; give a pre-registered client (--client-id)"
    ))
}

/// The session's metadata for the step's kind of client with the step's changes.
fn changed_metadata(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
) -> Result<Value, StepError> {
    let kind = step.client.unwrap_or(ClientKind::Main);
    let mut body = ctx.session.metadata(kind);
    let Value::Object(members) = &mut body else {
        return Err(StepError::Precondition(
            "internal error: the session's client metadata is not an object".into(),
        ));
    };
    for name in &step.omit {
        members.remove(name);
    }
    if let Some(changes) = &step.json {
        match scope.resolve(changes)? {
            Value::Object(set) => members.extend(set),
            other => {
                return Err(StepError::Precondition(format!(
                    "a `register` step's `json` sets metadata members, so it is a table; got {other}"
                )));
            }
        }
    }
    Ok(body)
}

async fn send_changed(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let request = || -> Result<(Request, Value), StepError> {
        let endpoint = super::step::text(scope.require("as.registration_endpoint")?);
        let body = changed_metadata(ctx, step, scope)?;
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        apply_headers(&mut headers, step, scope)?;
        let req = Request {
            method: "POST".into(),
            url: endpoint,
            headers,
            body: Some(body.to_string().into_bytes()),
        };
        Ok((req, body))
    };
    let (req, body) = match request() {
        Ok(r) => r,
        Err(e) => {
            return StepResult {
                exchanges: Vec::new(),
                outcome: Err(e),
            };
        }
    };
    let footprint = &ctx.session.footprint;
    footprint.registration();
    let (exchange, result) = ctx.http.send(&req).await;
    let outcome = match result {
        Err(e) => Err(StepError::Http(e)),
        Ok(resp) => {
            let doc: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
            footprint.registered(resp.status, &doc);
            if matches!(resp.status, 401 | 403) {
                Err(needs_initial_token(resp.status))
            } else {
                observe_with_json(step, resp).map(|(mut seen, url, findings)| {
                    let kind = step.client.unwrap_or(ClientKind::Main);
                    seen.meta = json!({"client_kind": kind, "sent": body});
                    (seen, url, findings)
                })
            }
        }
    };
    StepResult {
        exchanges: vec![exchange],
        outcome,
    }
}
