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
use super::step::{ActionCtx, Finding, StepError, StepResult, observe_with_json, text};
use crate::http::Request;
use crate::session::{Client, ClientKind};
use crate::suite::default_from;
use crate::suite::model::{ActionKind, ClientAuth, Level, StepDef};
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let (req, kind, client, resource, retry) = match build(ctx, step, scope).await {
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
    let mut exchanges = vec![ex];
    let mut notes = Vec::new();
    // HTTP Basic refused for want of `client_id` in the body: token.basic-supported grades that
    // once; every other request is sent again with it, so that what it is about still runs.
    let result = match (result, retry) {
        (Ok(resp), Some(again)) if crate::session::refuses_client(&resp) => {
            if grant {
                ctx.session.footprint.token_request();
            }
            let (ex, result) = ctx.http.send(&again).await;
            exchanges.push(ex);
            if result
                .as_ref()
                .is_ok_and(|r| !crate::session::refuses_client(r))
            {
                ctx.session.learned_basic_wants_client_id();
                notes.push(Finding {
                    level: Level::Info,
                    text: "HTTP Basic alone was refused as a failed client authentication and accepted with client_id in the body as well, so the run sends both (token.basic-supported grades Basic alone)".into(),
                });
            }
            result
        }
        (result, _) => result,
    };
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
                // Later steps (a refresh, a revocation) act as the same client, and a refresh
                // names the resource its grant was for.
                seen.meta = serde_json::json!({"client_kind": kind, "resource": resource});
                (seen, url, findings.into_iter().chain(notes).collect())
            })
        }
    };
    StepResult { exchanges, outcome }
}

/// One character in the middle changed, keeping the value's shape and length. Not the last
/// one: in base64 it often carries only spare bits, which a decoder ignores, so the "altered"
/// value could be the same token. The first alphanumeric character from the middle on, so that
/// separators (`.`, `:`, `/`) stay where they are.
fn flipped(v: &str) -> String {
    let mut chars: Vec<char> = v.chars().collect();
    let middle = chars.len() / 2;
    let at = (middle..chars.len())
        .chain(0..middle)
        .find(|&i| chars[i].is_ascii_alphanumeric())
        .unwrap_or(middle);
    if let Some(c) = chars.get_mut(at) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The request the step would send, unsent (the live fuzzer mutates it), with the client it
/// authenticates as.
pub(super) async fn request(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
) -> Result<(Request, std::sync::Arc<Client>), StepError> {
    build(ctx, step, scope).await.map(|b| (b.0, b.2))
}

async fn build(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> Result<Built, StepError> {
    let action = *step.action.get_ref();
    let endpoint_var = match action {
        ActionKind::Revoke => "as.revocation_endpoint",
        ActionKind::Introspect => "as.introspection_endpoint",
        _ => "as.token_endpoint",
    };
    let endpoint = match &step.url {
        Some(u) => scope.interpolate(u)?,
        None => text(scope.require(endpoint_var)?),
    };
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
    // A URL client (a document a check hosted) is the client of the authorization it follows.
    let url_client = (step.client.is_none())
        .then(|| scope.get(&format!("{from}.meta.url_client")))
        .flatten()
        .and_then(|v| v.as_str().and_then(|id| ctx.session.url_client(id)));
    let client = match url_client {
        Some(c) => c,
        None => ctx
            .session
            .client(ctx.http, kind)
            .await
            .map_err(StepError::Precondition)?,
    };
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
                "refresh_token" => {
                    if !given("refresh_token") {
                        params.push(("refresh_token".into(), require("json.refresh_token")?));
                    }
                    // MCP clients name the resource in every token request, refreshes included:
                    // the one the token being refreshed was asked for.
                    if let Some(r) = get("meta.resource").or_else(|| ctx.session.resource.clone()) {
                        params.push(("resource".into(), r));
                    }
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
    let resource = params
        .iter()
        .find(|(k, _)| k == "resource")
        .map(|(_, v)| v.clone());
    let method = step.method.as_deref().unwrap_or("POST");
    let mut req = Request::form(method, &endpoint, headers, query, params);
    for (name, values) in &step.headers {
        req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        for v in values.values() {
            req.headers.push((name.clone(), scope.interpolate(v)?));
        }
    }
    // As the client registered with HTTP Basic, and not a request about client_id or about the
    // header: the same request with client_id in the body as well, for a server that wants it
    // (sent at once where the run already learned that).
    let auth = step.auth.unwrap_or(ClientAuth::Registered);
    let retry = (auth == ClientAuth::Registered
        && client.basic_alone(auth)
        && !step.omit.iter().any(|o| o == "client_id")
        && !step
            .headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("authorization")))
    .then(|| client.with_body_client_id(&req))
    .flatten();
    let (req, retry) = match retry {
        Some(with_id) if ctx.session.basic_wants_client_id() => (with_id, None),
        retry => (req, retry),
    };
    Ok((req, kind, client, resource, retry))
}

/// A request ready to send: the client kind and client it acts as, the resource it names, and
/// the same request with `client_id` in the body, to send when HTTP Basic alone is refused.
type Built = (
    Request,
    ClientKind,
    std::sync::Arc<Client>,
    Option<String>,
    Option<Request>,
);

#[cfg(test)]
mod tests {
    use super::flipped;

    #[test]
    fn flips_a_character_in_the_middle() {
        assert_eq!(flipped("abcdefgh"), "abcdAfgh");
        assert_eq!(flipped("abcAefgh"), "abcAAfgh");
        assert_eq!(flipped("abcdAfgh"), "abcdBfgh");
        // Separators stay: the next alphanumeric character is changed.
        assert_eq!(flipped("ab:/.efg"), "ab:/.Afg");
        assert_eq!(flipped("ab.:"), "Ab.:");
        assert_eq!(flipped(""), "");
        // Nothing alphanumeric: the middle character all the same, so that the value changes.
        assert_eq!(flipped("::"), ":A");
    }
}
