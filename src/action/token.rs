//! `token`, `revoke` and `introspect`: requests to the token, revocation (RFC 7009) and
//! introspection (RFC 7662) endpoints, authenticated as the client registered (or as `auth`
//! says). The defaults come from the step named by `from`:
//!
//! * `token`, grant `authorization_code`: the authorize step's code, verifier, redirect URI,
//!   resource and client;
//! * `token`, grant `refresh_token`: the token step's refresh token;
//! * `revoke` and `introspect`: the token step's `access_token` (or `token_type`).
//!
//! `set`, `omit` and `add` change the parameters, `flip` alters one, `method` switches to GET
//! (everything in the query).

use super::authorize::edit_params;
use super::{ActionCtx, StepError, StepResult, observe_with_json, text};
use crate::http::Request;
use crate::session::{Client, ClientKind};
use crate::suite::default_from;
use crate::suite::model::{ActionKind, ClientAuth, StepDef};
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let (req, kind, client) = match build(ctx, step, scope).await {
        Ok(r) => r,
        Err(e) => {
            return StepResult {
                exchanges: Vec::new(),
                outcome: Err(e),
            };
        }
    };
    let grant = *step.action.get_ref() == ActionKind::Token;
    if grant {
        ctx.session.footprint.token_request();
    }
    let (ex, result) = ctx.http.send(&req).await;
    let outcome = match result {
        Err(e) => Err(StepError::Http(e)),
        Ok(resp) => {
            if grant {
                // Tokens issued are the run's to revoke at the end, as the client that got them.
                let doc = serde_json::from_slice(&resp.body).unwrap_or_default();
                ctx.session
                    .footprint
                    .token_response(resp.status, &doc, Some(&client));
            }
            observe_with_json(step, resp).map(|(mut seen, url, findings)| {
                // Later steps (a refresh, a revocation) act as the same client.
                seen.meta = serde_json::json!({"client_kind": kind});
                (seen, url, findings)
            })
        }
    };
    StepResult {
        exchanges: vec![ex],
        outcome,
    }
}

/// The last character changed: the value keeps its shape and length.
fn flipped(v: &str) -> String {
    let mut chars: Vec<char> = v.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

async fn build(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
) -> Result<(Request, ClientKind, std::sync::Arc<Client>), StepError> {
    let action = *step.action.get_ref();
    let endpoint_var = match action {
        ActionKind::Revoke => "as.revocation_endpoint",
        ActionKind::Introspect => "as.introspection_endpoint",
        _ => "as.token_endpoint",
    };
    let endpoint = text(scope.require(endpoint_var)?);
    let from = step.from.as_deref().unwrap_or(default_from(action));
    let kind = match step.client {
        Some(k) => k,
        None => [
            format!("{from}.meta.client_kind"),
            format!("{from}.json.request.client_kind"),
        ]
        .iter()
        .find_map(|p| scope.get(p))
        .and_then(|v| serde_json::from_value::<ClientKind>(v.clone()).ok())
        .unwrap_or(ClientKind::Main),
    };
    let client = ctx
        .session
        .client(ctx.http, kind)
        .await
        .map_err(StepError::Precondition)?;
    let mut scope = scope.clone();
    scope.set("client", client.to_value());
    let get = |path: &str| scope.get(&format!("{from}.{path}")).map(text);
    // A parameter the step sets or omits is not read from `from`: a check can send a bogus code
    // without any authorization before it.
    let given = |name: &str| step.set.contains_key(name) || step.omit.iter().any(|o| o == name);
    let require = |path: &str| scope.require(&format!("{from}.{path}")).map(text);
    let mut params: Vec<(String, String)> = Vec::new();
    match action {
        ActionKind::Revoke | ActionKind::Introspect => {
            let which = step.token_type.as_deref().unwrap_or("access_token");
            if !given("token") {
                params.push(("token".into(), require(&format!("json.{which}"))?));
            }
            params.push(("token_type_hint".into(), which.to_string()));
        }
        _ => {
            let grant = step.grant.as_deref().unwrap_or("authorization_code");
            params.push(("grant_type".into(), grant.to_string()));
            match grant {
                "authorization_code" => {
                    if !given("code") {
                        params.push(("code".into(), require("json.code")?));
                    }
                    for (name, path) in [
                        ("redirect_uri", "json.request.redirect_uri"),
                        ("code_verifier", "json.request.code_verifier"),
                        ("resource", "json.request.resource"),
                    ] {
                        if let Some(v) = get(path) {
                            params.push((name.into(), v));
                        }
                    }
                }
                "refresh_token" if !given("refresh_token") => {
                    params.push(("refresh_token".into(), require("json.refresh_token")?));
                }
                _ => {}
            }
        }
    }
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    let mut query: Vec<(String, String)> = Vec::new();
    client.authenticate(
        step.auth.unwrap_or(ClientAuth::Registered),
        &mut headers,
        &mut params,
        &mut query,
    );
    edit_params(&mut params, step, &scope)?;
    for (name, value) in params.iter_mut() {
        if step.flip.contains(name) {
            *value = flipped(value);
        }
    }
    let method = step.method.as_deref().unwrap_or("POST");
    let mut req = Request::form(method, &endpoint, headers, query, params);
    for (name, values) in &step.headers {
        req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        for v in values.values() {
            req.headers.push((name.clone(), scope.interpolate(v)?));
        }
    }
    Ok((req, kind, client))
}
