//! Answers shared between checks (`shared = true` steps): one per distinct request, made by the
//! first check that needs it, read by the others.
//!
//! A run given its tokens (`[tokens]`, `--access-token`) makes none of these requests: the shared
//! ordinary authorization and its token stand for the given access token (and refresh token),
//! the one asking for `resource = ${target.other_resource}` for `other_resource_access`, the one
//! asking for `scope = ${prm.scopes_supported.0}` for `narrow_scope_access`. Only set-up steps of
//! checks of the MCP server read them: a check of the authorization server grades its answers
//! (the redirect back, the token response), which given tokens are not, and a step that grades
//! one (the ordinary code's redemption) has nothing to grade; they skip, saying so. So does every
//! other shared authorization or token request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::OnceCell;

use crate::action::{Finding, Observed, StepError, StepResult};
use crate::session::{ClientKind, GivenTokens, Session};
use crate::suite::model::{ActionKind, Party, StepDef};

#[derive(Default)]
pub struct SharedSteps {
    cells: Mutex<HashMap<String, Arc<OnceCell<StepResult>>>>,
    /// With given tokens: the key of a token step reading a shared authorization that a given
    /// token stands for, and which token that is.
    given: Mutex<HashMap<String, Given>>,
}

/// Which given token a shared authorization stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Given {
    /// The ordinary one: `access` (and `refresh`).
    Ordinary,
    /// `resource = ${target.other_resource}`: `other_resource_access`.
    OtherResource,
    /// `scope = ${prm.scopes_supported.0}`: `narrow_scope_access`.
    NarrowScope,
}

/// The code a given token's authorization "returned": a set-up step only asks that there is one,
/// and no step can redeem a shared code.
const GIVEN_CODE: &str = "mcp-oauth-conform-given-token-no-code";

impl SharedSteps {
    /// The answer to the request `key` names: `run`'s, when this is the first asker. A check
    /// cancelled mid-request (the deadline) leaves the cell empty for the next one. With given
    /// tokens, authorization and token requests are answered from them instead (or skip).
    pub async fn get_or_run(
        &self,
        session: &Session,
        party: Party,
        step: &StepDef,
        key: String,
        run: impl std::future::Future<Output = StepResult>,
    ) -> StepResult {
        if let Some(tokens) = session.given_tokens() {
            if matches!(
                step.action.get_ref(),
                ActionKind::Authorize | ActionKind::Token
            ) {
                return StepResult {
                    exchanges: Vec::new(),
                    outcome: self.answer_given(tokens, party, step, key),
                };
            }
        }
        // The lock is released before any await: a check's future may move between threads.
        let cell = self
            .cells
            .lock()
            .ok()
            .map(|mut cells| cells.entry(key).or_default().clone());
        let Some(cell) = cell else {
            return run.await;
        };
        cell.get_or_init(|| run).await.clone()
    }

    fn answer_given(
        &self,
        tokens: &GivenTokens,
        party: Party,
        step: &StepDef,
        key: String,
    ) -> Result<(Observed, Option<String>, Vec<Finding>), StepError> {
        let skip = |why: String| Err(StepError::Precondition(why));
        let given = match step.action.get_ref() {
            ActionKind::Authorize => classify(step),
            _ => self.given.lock().ok().and_then(|g| g.get(&key).copied()),
        };
        let Some(given) = given else {
            return skip(format!("needs {}", needs_as()));
        };
        // A check of the authorization server reads its answers (the page, the redirect back,
        // the token response's members): given tokens are none of those.
        if !step.is_setup() || party == Party::As {
            return skip(format!(
                "grades the authorization server's own answer, which needs {}",
                needs_as()
            ));
        }
        let token = match given {
            Given::Ordinary => tokens.access.as_deref(),
            Given::OtherResource => tokens.other_resource_access.as_deref(),
            Given::NarrowScope => tokens.narrow_scope_access.as_deref(),
        };
        let Some(token) = token else {
            return skip(match given {
                Given::OtherResource => "needs an access token the authorization server issued for the other resource ([target] other_resource): this run was given its tokens; add that one as `other_resource_access` under [tokens] in --config".to_string(),
                Given::NarrowScope => "needs an access token with only the narrowest scope (the first of the resource's scopes_supported): this run was given its tokens; add one as `narrow_scope_access` under [tokens] in --config".to_string(),
                Given::Ordinary => "needs an access token: give --access-token, or `access` under [tokens] in --config".to_string(),
            });
        };
        let meta = json!({"client_kind": ClientKind::Main, "given": true});
        if *step.action.get_ref() == ActionKind::Authorize {
            // The token step that reads this authorization is the one the token stands for.
            if let (Ok(token_step), Ok(mut map)) = (
                StepDef::internal("action = \"token\"\nshared = true"),
                self.given.lock(),
            ) {
                map.insert(self::key(&token_step, Some(&key)), given);
            }
            let seen = Observed {
                json: Ok(json!({
                    "outcome": "code",
                    "code": GIVEN_CODE,
                    "given": true,
                    "request": {"client_kind": ClientKind::Main},
                })),
                meta,
                ..Observed::default()
            };
            return Ok((seen, None, Vec::new()));
        }
        let refresh = tokens
            .refresh
            .as_deref()
            .filter(|_| given == Given::Ordinary);
        if step.expect.json.contains_key("/refresh_token") && refresh.is_none() {
            return skip("needs a refresh token: this run was given its tokens; add the refresh token as `refresh` under [tokens] in --config (it is only presented to the MCP server, never redeemed)".into());
        }
        let mut doc = json!({"access_token": token, "token_type": "Bearer"});
        if let Some(r) = refresh {
            doc["refresh_token"] = json!(r);
        }
        let seen = Observed {
            status: Some(200),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(doc.to_string()),
            json: Ok(doc),
            meta,
        };
        Ok((seen, None, Vec::new()))
    }
}

fn needs_as() -> &'static str {
    "the authorization server, and this run was given its tokens (--access-token, [tokens] in --config): it sends no authorization or token request; run without them, with a client and a login, to grade this"
}

/// The given token a shared authorization request stands for: the ordinary request of the main
/// client, or it with only `resource` or `scope` set as the suites ask for the other resource
/// and the narrowest scope.
fn classify(step: &StepDef) -> Option<Given> {
    let plain = step.client.is_none_or(|k| k == ClientKind::Main)
        && step.omit.is_empty()
        && step.add.is_empty()
        && step.flip.is_empty()
        && step.method.is_none()
        && step.auth.is_none()
        && step.login != Some(false)
        && step.headers.is_empty()
        && step.query.is_empty();
    if !plain {
        return None;
    }
    let set: Vec<(&str, &str)> = step
        .set
        .iter()
        .map(|(k, v)| (k.as_str(), v.trim()))
        .collect();
    match set.as_slice() {
        [] => Some(Given::Ordinary),
        [("resource", "${target.other_resource}")] => Some(Given::OtherResource),
        [("scope", "${prm.scopes_supported.0}")] => Some(Given::NarrowScope),
        _ => None,
    }
}

/// What makes two shared steps the same request: everything the step sends, as written, and the
/// key of the shared step it reads from. The loader lets a shared step read discovery results and
/// its own flow values only, so the written text means the same in every check of a run.
pub fn key(step: &StepDef, from_key: Option<&str>) -> String {
    let action = *step.action.get_ref();
    let client = match action {
        // A token step acts as the client of the step it reads from (in `from_key`).
        ActionKind::Authorize => Some(step.client.unwrap_or(crate::session::ClientKind::Main)),
        _ => step.client,
    };
    format!(
        "{:?}",
        (
            action,
            client,
            (
                &step.set,
                &step.omit,
                &step.add,
                step.login,
                &step.grant,
                step.document
            ),
            from_key,
            (&step.method, &step.url, &step.query, &step.headers),
            (
                &step.body,
                step.json.as_ref().map(|j| j.to_string()),
                &step.form
            ),
        )
    )
}
