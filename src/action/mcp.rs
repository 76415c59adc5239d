//! `mcp`: a JSON-RPC request to the MCP endpoint (default `${rs.url}`), valid for the revision
//! under test, carrying the credential variant the step names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::http::{apply_headers, with_query};
use super::{ActionCtx, StepError, StepResult, observe};
use crate::http::Request;
use crate::mcp;
use crate::oauth::forge::{Defaults, forge};
use crate::suite::model::{StepDef, TokenKind};
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    if step.find_refused_tool == Some(true) {
        return find_refused_tool(ctx, step, scope).await;
    }
    let req = match build(ctx, step, scope, None) {
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
        Ok(resp) => {
            let json = mcp::decode(&resp);
            observe(step, resp, json)
        }
    };
    StepResult {
        exchanges: vec![ex],
        outcome,
    }
}

/// How many tools the probe calls at most: a server with hundreds of tools is sampled, not
/// exhausted.
const MAX_TOOLS: usize = 25;

/// Lists the tools with the step's credential and calls each (empty arguments) until one is
/// refused with 401 or 403: the operation that needs more than the token grants.
async fn find_refused_tool(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let mut exchanges = Vec::new();
    // Before the stateless protocol a server may answer tools only inside a session.
    let session = if ctx.revision.is_stateless() {
        None
    } else {
        match open_session(ctx, step, scope, &mut exchanges).await {
            Ok(s) => s,
            Err(e) => {
                return StepResult {
                    exchanges,
                    outcome: Err(e),
                };
            }
        }
    };
    let in_session = |mut req: Request| {
        if let Some(id) = &session {
            req.headers.push(("Mcp-Session-Id".into(), id.clone()));
        }
        req
    };
    let list = match build(
        ctx,
        step,
        scope,
        Some(("tools/list", serde_json::json!({}))),
    ) {
        Ok(r) => in_session(r),
        Err(e) => {
            return StepResult {
                exchanges,
                outcome: Err(e),
            };
        }
    };
    let (ex, result) = ctx.http.send(&list).await;
    exchanges.push(ex);
    let names: Vec<String> = match result {
        Err(e) => {
            return StepResult {
                exchanges,
                outcome: Err(StepError::Http(e)),
            };
        }
        Ok(resp) => mcp::decode(&resp)
            .ok()
            .and_then(|v| {
                v.pointer("/result/tools")
                    .and_then(serde_json::Value::as_array)
                    .cloned()
            })
            .unwrap_or_default()
            .iter()
            .filter_map(|t| {
                t.get("name")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            })
            .take(MAX_TOOLS)
            .collect(),
    };
    for name in &names {
        let params = serde_json::json!({"name": name, "arguments": {}});
        let req = match build(ctx, step, scope, Some(("tools/call", params))) {
            Ok(r) => in_session(r),
            Err(e) => {
                return StepResult {
                    exchanges,
                    outcome: Err(e),
                };
            }
        };
        let (ex, result) = ctx.http.send(&req).await;
        exchanges.push(ex);
        match result {
            Err(e) => {
                return StepResult {
                    exchanges,
                    outcome: Err(StepError::Http(e)),
                };
            }
            Ok(resp) if matches!(resp.status, 401 | 403) => {
                let response = mcp::decode(&resp).unwrap_or(serde_json::Value::Null);
                // The challenge's parameters, for a step-up that follows: `${name.json.challenge.scope}`.
                let challenge: serde_json::Map<String, serde_json::Value> =
                    crate::oauth::www_authenticate::parse_all(
                        resp.header_values("www-authenticate"),
                    )
                    .ok()
                    .and_then(|cs| cs.into_iter().find(|c| c.is_bearer()))
                    .map(|b| {
                        b.params
                            .into_iter()
                            .map(|(k, v)| (k.to_ascii_lowercase(), v.into()))
                            .collect()
                    })
                    .unwrap_or_default();
                let json = Ok(
                    serde_json::json!({"tool": name, "status": resp.status, "challenge": challenge, "response": response}),
                );
                return StepResult {
                    exchanges,
                    outcome: observe(step, resp, json),
                };
            }
            Ok(_) => {}
        }
    }
    let why = if names.is_empty() {
        "the server lists no tools, so no operation needing more scope could be found".to_string()
    } else {
        format!(
            "every tool ({}) answered the narrow token; no operation needs more scope",
            names.join(", ")
        )
    };
    StepResult {
        exchanges,
        outcome: Err(StepError::Precondition(why)),
    }
}

/// `initialize` with the step's credential and, when the server names a session,
/// `notifications/initialized` in it: the session id, if any.
async fn open_session(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
    exchanges: &mut Vec<crate::http::Exchange>,
) -> Result<Option<String>, StepError> {
    let params = mcp::default_params(ctx.revision, "initialize");
    let req = build(ctx, step, scope, Some(("initialize", params)))?;
    let (ex, result) = ctx.http.send(&req).await;
    exchanges.push(ex);
    let resp = result.map_err(StepError::Http)?;
    let Some(id) = resp.header("mcp-session-id").map(str::to_string) else {
        return Ok(None);
    };
    let (headers, body) = mcp::notification(ctx.revision, "notifications/initialized");
    let mut note = Request {
        method: "POST".into(),
        url: req.url.clone(),
        headers,
        body: Some(body),
    };
    // The same credential as the initialize request.
    note.headers.extend(
        req.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .cloned(),
    );
    note.headers.push(("Mcp-Session-Id".into(), id.clone()));
    let (ex, result) = ctx.http.send(&note).await;
    exchanges.push(ex);
    result.map_err(StepError::Http)?;
    Ok(Some(id))
}

/// The request a step describes; `call` replaces its JSON-RPC method and params.
fn build(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
    call: Option<(&str, serde_json::Value)>,
) -> Result<Request, StepError> {
    let base = match &step.url {
        Some(u) => scope.interpolate(u)?,
        None => scope.interpolate("${rs.url}")?,
    };
    let url = with_query(&base, step, scope)?;
    let method = step.method.clone().unwrap_or_else(|| "POST".into());
    let rpc = step
        .rpc
        .clone()
        .unwrap_or_else(|| mcp::probe_method(ctx.revision).to_string());
    let (mut headers, body) = if method == "POST" {
        let (rpc, params) = match call {
            Some((m, p)) => (m.to_string(), Some(p)),
            None => (
                rpc,
                step.params.as_ref().map(|p| scope.resolve(p)).transpose()?,
            ),
        };
        let (h, b) = mcp::rpc_request(ctx.revision, &rpc, params, 1);
        (h, Some(b))
    } else {
        // GET opens the server's event stream; DELETE ends a session. Neither has a body.
        let mut h = vec![("Accept".to_string(), "text/event-stream".to_string())];
        h.extend(mcp::protocol_headers(ctx.revision, None));
        (h, None)
    };
    if let Some(b) = &step.bearer {
        headers.push((
            "Authorization".into(),
            format!("Bearer {}", presented(ctx, step, scope, b)?),
        ));
    }
    match (step.token, &step.authorization) {
        (Some(kind), _) => {
            if let Some(t) = token(kind) {
                headers.push(("Authorization".into(), format!("Bearer {t}")));
            }
        }
        (None, Some(raw)) => {
            for v in raw.values() {
                headers.push(("Authorization".into(), scope.interpolate(v)?));
            }
        }
        (None, None) => {}
    }
    if let Some(s) = &step.session {
        headers.push(("Mcp-Session-Id".into(), scope.interpolate(s)?));
    }
    apply_headers(&mut headers, step, scope)?;
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

/// "tools/list, no token", "GET, random token", …
pub fn describe(step: &StepDef) -> String {
    let mut parts = Vec::new();
    if let Some(m) = step.method.as_deref().filter(|m| *m != "POST") {
        parts.push(m.to_string());
    }
    if let Some(r) = &step.rpc {
        parts.push(r.clone());
    }
    let credential = match (step.token, &step.authorization) {
        (None, None) if step.forge.is_some() => "a forged token".to_string(),
        (None, None) if step.bearer.is_some() => "a real token".to_string(),
        (Some(TokenKind::None), _) | (None, None) => "no token".to_string(),
        (Some(TokenKind::Random), _) => "random token".into(),
        (Some(TokenKind::JwtGarbage), _) => "JWT-shaped garbage token".into(),
        (Some(TokenKind::OneChar), _) => "1-character token".into(),
        (Some(TokenKind::Oversize), _) => "16 KiB token".into(),
        (None, Some(raw)) => format!("Authorization: {}", raw.values().join(" + ")),
    };
    parts.push(credential);
    if step.session.is_some() {
        parts.push("made-up session".into());
    }
    if let Some(origin) = step
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("origin"))
    {
        parts.push(format!("Origin {}", origin.1.values().join(", ")));
    }
    parts.join(", ")
}

/// The token a `bearer` step presents: the variable's value, forged if the step says so.
fn presented(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
    bearer: &str,
) -> Result<String, StepError> {
    let token = scope.interpolate(bearer)?;
    let Some(kind) = step.forge else {
        return Ok(token);
    };
    let claims: serde_json::Map<String, serde_json::Value> = step
        .claims
        .iter()
        .map(|(k, v)| Ok((k.clone(), scope.resolve(v)?)))
        .collect::<Result<_, StepError>>()?;
    let jwk = match &step.jwk {
        Some(j) => Some(scope.resolve(&toml::Value::String(j.clone()))?),
        None => None,
    };
    let issuer = scope
        .get("as.issuer")
        .map(crate::suite::vars::display)
        .unwrap_or_default();
    let audience = scope
        .get("rs.url")
        .map(crate::suite::vars::display)
        .unwrap_or_default();
    let defaults = Defaults {
        issuer: &issuer,
        audience: &audience,
        scope: ctx.session.scope.as_deref(),
    };
    forge(kind, &token, &claims, jwk.as_ref(), &defaults)
        .map_err(|e| StepError::Precondition(e.to_string()))
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Invented credentials: none of them can have been issued by the server under test.
fn token(kind: TokenKind) -> Option<String> {
    match kind {
        TokenKind::None => None,
        TokenKind::Random => Some(random_b64(32)),
        TokenKind::JwtGarbage => {
            let header = URL_SAFE_NO_PAD
                .encode(br#"{"alg":"RS256","typ":"at+jwt","kid":"mcp-oauth-conform"}"#);
            Some(format!("{header}.{}.{}", random_b64(48), random_b64(64)))
        }
        TokenKind::OneChar => Some("x".into()),
        TokenKind::Oversize => Some(random_b64(12 * 1024)),
    }
}
