//! `register`: the registration of one of the session's clients (RFC 7591), as the server
//! answered it. The session registers each kind of client once per run, so checks on what a
//! registration returns cost no registration of their own.

use serde_json::json;

use super::{ActionCtx, StepError, StepResult, observe_with_json};
use crate::session::ClientKind;
use crate::suite::model::StepDef;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef) -> StepResult {
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
                outcome: Err(StepError::Precondition(format!(
                    "the registration endpoint answered {}: it requires an initial access token (RFC 7591 §3 allows that), which the tool does not have; give a pre-registered client (--client-id)",
                    response.status
                ))),
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
