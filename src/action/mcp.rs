//! `mcp`: a JSON-RPC request to the MCP endpoint (default `${rs.url}`), valid for the revision
//! under test, carrying the credential variant the step names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::http::{apply_headers, with_query};
use super::{ActionCtx, StepError, StepResult, observe};
use crate::http::Request;
use crate::mcp;
use crate::suite::model::{StepDef, TokenKind};
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let req = match build(ctx, step, scope) {
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

fn build(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> Result<Request, StepError> {
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
        let params = step.params.as_ref().map(|p| scope.resolve(p)).transpose()?;
        let (h, b) = mcp::rpc_request(ctx.revision, &rpc, params, 1);
        (h, Some(b))
    } else {
        // GET opens the server's event stream; DELETE ends a session. Neither has a body.
        let mut h = vec![("Accept".to_string(), "text/event-stream".to_string())];
        h.extend(mcp::protocol_headers(ctx.revision, None));
        (h, None)
    };
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
