//! `token`: a token request. The defaults come from the step named by `from`: for
//! `authorization_code`, the authorize step's code, verifier, redirect URI, resource and client;
//! for `refresh_token`, the token step's refresh token. `set`, `omit` and `add` change the
//! parameters, `auth` the client authentication, `method` the HTTP method (GET puts everything
//! in the query).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::authorize::edit_params;
use super::{ActionCtx, StepError, StepResult, observe_with_json, text};
use crate::http::Request;
use crate::session::ClientKind;
use crate::suite::model::{ClientAuth, StepDef};
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let req = match build(ctx, step, scope).await {
        Ok(r) => r,
        Err(e) => {
            return StepResult {
                exchanges: Vec::new(),
                outcome: Err(e),
            };
        }
    };
    let (ex, result) = ctx.http.send(&req).await;
    let outcome = match result {
        Err(e) => Err(StepError::Http(e)),
        Ok(resp) => observe_with_json(step, resp),
    };
    StepResult {
        exchanges: vec![ex],
        outcome,
    }
}

/// `application/x-www-form-urlencoded` Basic credentials (RFC 6749 §2.3.1).
fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

async fn build(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> Result<Request, StepError> {
    let endpoint = text(scope.require("as.token_endpoint")?);
    let from = step.from.as_deref().unwrap_or("auth");
    let grant = step.grant.as_deref().unwrap_or("authorization_code");
    let kind = match step.client {
        Some(k) => k,
        None => scope
            .get(&format!("{from}.json.request.client_kind"))
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
    let mut params: Vec<(String, String)> = vec![("grant_type".into(), grant.to_string())];
    match grant {
        "authorization_code" => {
            if !given("code") {
                params.push((
                    "code".into(),
                    text(scope.require(&format!("{from}.json.code"))?),
                ));
            }
            if let Some(r) = get("json.request.redirect_uri") {
                params.push(("redirect_uri".into(), r));
            }
            if let Some(v) = get("json.request.code_verifier") {
                params.push(("code_verifier".into(), v));
            }
            if let Some(r) = get("json.request.resource") {
                params.push(("resource".into(), r));
            }
        }
        "refresh_token" if !given("refresh_token") => {
            params.push((
                "refresh_token".into(),
                text(scope.require(&format!("{from}.json.refresh_token"))?),
            ));
        }
        _ => {}
    }
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    let mut query: Vec<(String, String)> = Vec::new();
    let secret = client.client_secret.clone().unwrap_or_default();
    let auth = match step.auth.unwrap_or(ClientAuth::Registered) {
        ClientAuth::Registered => match client.auth_method.as_str() {
            "client_secret_basic" => ClientAuth::Basic,
            "client_secret_post" => ClientAuth::Post,
            _ => ClientAuth::None,
        },
        other => other,
    };
    match auth {
        ClientAuth::None | ClientAuth::Registered => {
            params.push(("client_id".into(), client.client_id.clone()))
        }
        ClientAuth::Basic => {
            headers.push(("Authorization".into(), basic(&client.client_id, &secret)))
        }
        ClientAuth::BasicBogus => headers.push((
            "Authorization".into(),
            basic(&client.client_id, "mcp-oauth-conform-wrong-secret"),
        )),
        ClientAuth::Post => {
            params.push(("client_id".into(), client.client_id.clone()));
            params.push(("client_secret".into(), secret));
        }
        ClientAuth::Both => {
            headers.push(("Authorization".into(), basic(&client.client_id, &secret)));
            params.push(("client_id".into(), client.client_id.clone()));
            params.push(("client_secret".into(), secret));
        }
        ClientAuth::Query => {
            query.push(("client_id".into(), client.client_id.clone()));
            query.push(("client_secret".into(), secret));
        }
    }
    edit_params(&mut params, step, &scope)?;
    let method = step.method.clone().unwrap_or_else(|| "POST".into());
    let encode = |pairs: &[(String, String)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let (url, body) = if method == "GET" {
        query.extend(params);
        (with_query(&endpoint, &encode(&query)), None)
    } else {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        (
            with_query(&endpoint, &encode(&query)),
            Some(encode(&params).into_bytes()),
        )
    };
    for (name, values) in &step.headers {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        for v in values.values() {
            headers.push((name.clone(), scope.interpolate(v)?));
        }
    }
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}
