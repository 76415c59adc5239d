//! `register`: the registration of one of the session's clients (RFC 7591), as the server
//! answered it. The session registers each kind of client once per run, so checks on what a
//! registration returns cost no registration of their own.

use serde_json::json;

use super::{ActionCtx, StepError, StepResult};
use crate::session::ClientKind;
use crate::suite::expect::Observed;
use crate::suite::model::StepDef;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef) -> StepResult {
    let kind = step.client.unwrap_or(ClientKind::Main);
    let outcome = match ctx.session.registration(ctx.http, kind).await {
        Err(why) => Err(StepError::Precondition(why)),
        Ok(reg) => {
            let json = if reg.body.is_empty() {
                Err("the body is empty".to_string())
            } else {
                serde_json::from_slice(&reg.body).map_err(|e| e.to_string())
            };
            let seen = Observed {
                status: Some(reg.status),
                headers: reg.headers.clone(),
                body: Some(String::from_utf8_lossy(&reg.body).into_owned()),
                json,
                meta: json!({"client_kind": kind, "sent": reg.sent}),
            };
            return StepResult {
                exchanges: vec![reg.exchange.clone()],
                outcome: Ok((seen, Some(reg.exchange.request.url.clone()), Vec::new())),
            };
        }
    };
    StepResult {
        exchanges: Vec::new(),
        outcome,
    }
}
