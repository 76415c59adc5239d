//! How checks that obtain codes and tokens may overlap. Most authorization servers let a client
//! hold many grants at once, and checks run concurrently. Some (a widely used provider by
//! default) revoke a client's earlier codes and tokens when the same user approves it again:
//! there, concurrent checks would kill each other's codes before redemption and fail a correct
//! server. The run finds out once, before any check, and then runs checks that authorize one at
//! a time, each with grants of its own.

use std::sync::Arc;

use serde_json::Value;

use crate::action::{self, ActionCtx};
use crate::http::{Exchange, HttpClient};
use crate::revision::Revision;
use crate::session::Session;
use crate::suite::Check;
use crate::suite::model::{ActionKind, StepDef};
use crate::suite::vars::Scope;

#[derive(Default)]
pub struct Schedule {
    /// Held for the whole of a check that authorizes, when approvals replace grants.
    exclusive: Option<tokio::sync::Mutex<()>>,
    /// What the run learned, for the console and the report.
    pub note: Option<String>,
    pub exchanges: Vec<Exchange>,
}

impl Schedule {
    /// Whether approvals replace earlier grants (checks that authorize run one at a time, and
    /// share no code or token).
    pub fn replaces_grants(&self) -> bool {
        self.exclusive.is_some()
    }

    /// The turn of a check: `None` when it may run alongside the others.
    pub async fn turn(&self, check: &Check) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        let lock = self.exclusive.as_ref()?;
        let authorizes = check
            .steps
            .iter()
            .any(|s| *s.action.get_ref() == ActionKind::Authorize);
        if authorizes {
            Some(lock.lock().await)
        } else {
            None
        }
    }
}

/// Two approvals of the main client in a row, then the first code redeemed: refused while the
/// ordinary flow works (`preflight_got_code`) means the second approval replaced the first grant.
pub async fn detect(
    http: &HttpClient,
    session: &Session,
    vars: &Value,
    revision: Revision,
    preflight_got_code: bool,
) -> Schedule {
    let mut schedule = Schedule::default();
    if !preflight_got_code {
        return schedule;
    }
    let (Ok(authorize), Ok(redeem)) = (
        StepDef::internal("action = \"authorize\""),
        StepDef::internal("action = \"token\"\nfrom = \"first\""),
    ) else {
        return schedule;
    };
    let ctx = ActionCtx {
        http,
        revision,
        session,
        check: "schedule",
    };
    let mut scope = Scope::new(Arc::new(vars.clone()));
    let mut codes = Vec::new();
    for _ in 0..2 {
        let result = action::run(&ctx, &authorize, &scope).await;
        schedule.exchanges.extend(result.exchanges);
        match result.outcome {
            Ok((seen, url, _)) => {
                let got_code = seen
                    .json
                    .as_ref()
                    .ok()
                    .and_then(|j| j.get("code"))
                    .is_some();
                if !got_code {
                    return schedule;
                }
                codes.push(seen.to_value(url.as_deref()));
            }
            Err(_) => return schedule,
        }
    }
    scope.set("first", codes.swap_remove(0));
    let result = action::run(&ctx, &redeem, &scope).await;
    schedule.exchanges.extend(result.exchanges);
    let refused = match result.outcome {
        Ok((seen, _, _)) => {
            let error = seen
                .json
                .as_ref()
                .ok()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str)
                .map(str::to_string);
            seen.status.is_some_and(|s| (400..500).contains(&s))
                && error.as_deref() == Some("invalid_grant")
        }
        Err(_) => false,
    };
    if refused {
        schedule.exclusive = Some(tokio::sync::Mutex::new(()));
        schedule.note = Some(
            "a second approval of the same client revoked the first one's code (the authorization server replaces a client's grant on re-approval): checks that authorize run one at a time, each with its own code and token".into(),
        );
    }
    schedule
}
