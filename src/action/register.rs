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
        Err(why) => StepResult {
            exchanges: Vec::new(),
            outcome: Err(StepError::Precondition(why)),
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
