//! `mcp`: a JSON-RPC request to the MCP endpoint (default `${rs.url}`), valid for the revision
//! under test, carrying the credential variant the step names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::http::{apply_headers, with_query};
use super::step::{ActionCtx, StepError, StepResult, observe};
use crate::http::Request;
use crate::mcp;
use crate::oauth::forge::{Defaults, forge};
use crate::session::{CallTools, ToolPolicy};
use crate::suite::model::{StepDef, TokenKind};
use crate::suite::vars::Scope;

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    if step.find_refused_tool == Some(true) {
        return find_refused_tool(ctx, step, scope).await;
    }
    let mut req = match build(ctx, step, scope, None) {
        Ok(r) => r,
        Err(e) => {
            return StepResult {
                exchanges: Vec::new(),
                outcome: Err(e),
            };
        }
    };
    // A `tools/call` step: the tool it names must be one the run may call.
    if let Some(name) = called_tool(&req) {
        if let Err(why) = step_may_call(&ctx.session.tools, &name) {
            return StepResult {
                exchanges: Vec::new(),
                outcome: Err(StepError::Precondition(why)),
            };
        }
        ctx.session.footprint.tool_call(&name);
    }
    // As the scope probe does: a server before the stateless protocol may answer only inside a
    // session.
    let mut exchanges = Vec::new();
    if step.open_session == Some(true) && !ctx.revision.is_stateless() {
        match open_session(ctx, step, scope, &mut exchanges).await {
            Ok(Some(id)) => req.headers.push(("Mcp-Session-Id".into(), id)),
            Ok(None) => {}
            Err(e) => {
                return StepResult {
                    exchanges,
                    outcome: Err(e),
                };
            }
        }
    }
    let (ex, result) = ctx.http.send(&req).await;
    exchanges.push(ex);
    let outcome = match result {
        Err(e) => Err(StepError::Http(e)),
        Ok(resp) => {
            let json = mcp::decode(&resp);
            observe(step, resp, json)
        }
    };
    StepResult { exchanges, outcome }
}

/// How many tools the probe calls at most: a server with hundreds of tools is sampled, not
/// exhausted.
const MAX_TOOLS: usize = 25;

/// The tool a `tools/call` request names (`None` for any other request).
fn called_tool(req: &Request) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(req.body.as_deref()?).ok()?;
    (body.get("method")? == "tools/call").then(|| {
        body.pointer("/params/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    })
}

/// Whether a step that names its tool may call it: the tool that cannot exist always (it runs
/// nothing anywhere); otherwise as the policy says, and a tool the scope probe chose to call may
/// be called again.
fn step_may_call(policy: &ToolPolicy, name: &str) -> Result<(), String> {
    if name == mcp::NO_SUCH_TOOL {
        return Ok(());
    }
    match policy.call {
        CallTools::None => Err(format!(
            "tools are not called in this run (`--call-tools none`); this step would call `{name}`"
        )),
        _ if policy.is_cleared(name) || policy.named(name).is_some() => Ok(()),
        CallTools::All => Ok(()),
        CallTools::ReadOnly => Err(format!(
            "`{name}` may not be called: under `--call-tools read-only` only the tools the server marks readOnlyHint, and the ones the profile names (`[[target.tool]] name = \"…\", arguments = {{…}}`), are called"
        )),
    }
}

/// One of a tool's `annotations` hints, when the server gives it.
fn hint(tool: &serde_json::Value, name: &str) -> Option<bool> {
    tool.pointer(&format!("/annotations/{name}"))
        .and_then(serde_json::Value::as_bool)
}

/// Whether the server marks a tool as only reading: `readOnlyHint: true`, and not
/// `destructiveHint: true`.
fn marked_read_only(tool: &serde_json::Value) -> bool {
    hint(tool, "readOnlyHint") == Some(true) && hint(tool, "destructiveHint") != Some(true)
}

/// The arguments the run would call a listed tool with, or `None` when the policy does not let it
/// call the tool. The profile's arguments for a tool it names, else the least ones its
/// `inputSchema` accepts.
fn planned_call(policy: &ToolPolicy, tool: &serde_json::Value) -> Option<serde_json::Value> {
    let name = tool.get("name")?.as_str()?;
    if policy.call == CallTools::None {
        return None;
    }
    if let Some(named) = policy.named(name) {
        return Some(serde_json::Value::Object(named.arguments.clone()));
    }
    let allowed = policy.call == CallTools::All || marked_read_only(tool);
    allowed.then(|| minimal_arguments(tool.get("inputSchema").unwrap_or(&serde_json::Value::Null)))
}

/// "a, b, c" (at most ten names).
fn shown(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(", …");
    }
    text
}

/// "3 listed: a, b, c".
fn listing(names: &[String]) -> String {
    format!("{} listed: {}", names.len(), shown(names))
}

const NAME_ONE: &str = "name one in the profile (`[[target.tool]] name = \"…\", arguments = {…}`) or pass `--call-tools all` if the server's tools are safe to call";

/// Why the probe called nothing: what the server listed, and how to let the run call a tool.
fn nothing_callable(policy: &ToolPolicy, tools: &[serde_json::Value], names: &[String]) -> String {
    if names.is_empty() {
        return "the server lists no tools, so no operation needing more scope could be found"
            .to_string();
    }
    match policy.call {
        CallTools::None => format!(
            "no tool may be called in this run (`--call-tools none`; {}); to find the operation that needs more scope, pass `--call-tools read-only` and {NAME_ONE}",
            listing(names)
        ),
        _ => {
            let marked = tools.iter().any(|t| hint(t, "readOnlyHint") == Some(true));
            let which = if marked {
                "readOnlyHint without destructiveHint"
            } else {
                "readOnlyHint"
            };
            format!(
                "no tool may be called: none is marked {which} (of {}); {NAME_ONE}",
                listing(names)
            )
        }
    }
}

/// Lists the tools with the step's credential and calls the ones the tool-call policy allows
/// (`--call-tools`), each with the least arguments its input schema accepts (or the profile's),
/// until one is refused with 401 or 403: the operation that needs more than the token grants.
/// Every call is recorded in the run's footprint.
async fn find_refused_tool(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let policy = &ctx.session.tools;
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
    let tools: Vec<serde_json::Value> = match result {
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
            .unwrap_or_default(),
    };
    let names: Vec<String> = tools
        .iter()
        .filter_map(|t| t.get("name").and_then(serde_json::Value::as_str))
        .map(str::to_string)
        .collect();
    // The listed tools the policy allows, in the server's order, then the ones the profile names
    // that the server did not list (some servers list only what the token may call).
    let mut calls: Vec<(String, serde_json::Value)> = Vec::new();
    let mut passed_over: Vec<String> = Vec::new();
    for tool in &tools {
        let Some(name) = tool.get("name").and_then(serde_json::Value::as_str) else {
            continue;
        };
        match planned_call(policy, tool) {
            Some(arguments) => calls.push((name.to_string(), arguments)),
            None => passed_over.push(name.to_string()),
        }
    }
    if policy.call != CallTools::None {
        for named in &policy.named {
            if !names.contains(&named.name) {
                calls.push((
                    named.name.clone(),
                    serde_json::Value::Object(named.arguments.clone()),
                ));
            }
        }
    }
    calls.truncate(MAX_TOOLS);
    if calls.is_empty() {
        return StepResult {
            exchanges,
            outcome: Err(StepError::Precondition(nothing_callable(
                policy, &tools, &names,
            ))),
        };
    }
    for (name, arguments) in &calls {
        let params = serde_json::json!({"name": name, "arguments": arguments});
        let req = match build(ctx, step, scope, Some(("tools/call", params))) {
            Ok(r) => in_session(r),
            Err(e) => {
                return StepResult {
                    exchanges,
                    outcome: Err(e),
                };
            }
        };
        policy.clear(name);
        ctx.session.footprint.tool_call(name);
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
                // `arguments`, for calling the same tool again: `${name.json.arguments}`.
                let json = Ok(
                    serde_json::json!({"tool": name, "arguments": arguments, "status": resp.status, "challenge": challenge, "response": response}),
                );
                return StepResult {
                    exchanges,
                    outcome: observe(step, resp, json),
                };
            }
            Ok(_) => {}
        }
    }
    let called: Vec<String> = calls.into_iter().map(|(n, _)| n).collect();
    let mut why = format!(
        "every tool called ({}) answered the narrow token; no operation needs more scope",
        shown(&called)
    );
    if !passed_over.is_empty() {
        why.push_str(&format!(
            "; not called under `--call-tools {}`: {} ({NAME_ONE})",
            policy.call.as_str(),
            shown(&passed_over)
        ));
    }
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

/// Invented credentials: none of them can have been issued by the server under test.
fn token(kind: TokenKind) -> Option<String> {
    match kind {
        TokenKind::None => None,
        TokenKind::Random => Some(crate::oauth::pkce::random_token(32)),
        TokenKind::JwtGarbage => {
            let header = URL_SAFE_NO_PAD
                .encode(br#"{"alg":"RS256","typ":"at+jwt","kid":"mcp-oauth-conform"}"#);
            Some(format!(
                "{header}.{}.{}",
                crate::oauth::pkce::random_token(48),
                crate::oauth::pkce::random_token(64)
            ))
        }
        TokenKind::OneChar => Some("x".into()),
        TokenKind::Oversize => Some(crate::oauth::pkce::random_token(12 * 1024)),
    }
}

/// The deepest a schema is followed (`$ref` cycles, deeply nested objects).
const MAX_SCHEMA_DEPTH: usize = 8;

/// The arguments to call a tool with when nothing else is known: from its `inputSchema`, only
/// the required properties, each with the least value its schema allows (a string `"x"`, the
/// `const`, `default` or first `enum` value, a number's minimum or 0, `false`, `[]`, an object
/// with its own required properties). Always an object.
pub(crate) fn minimal_arguments(input_schema: &serde_json::Value) -> serde_json::Value {
    let mut schema = input_schema.clone();
    // A tool's arguments are an object, whatever else the schema says.
    if let Some(s) = schema.as_object_mut() {
        s.insert("type".into(), "object".into());
    }
    match minimal_value(&schema, input_schema, 0) {
        v @ serde_json::Value::Object(_) => v,
        _ => serde_json::json!({}),
    }
}

fn minimal_value(
    schema: &serde_json::Value,
    root: &serde_json::Value,
    depth: usize,
) -> serde_json::Value {
    use serde_json::{Value, json};
    let Some(s) = schema.as_object() else {
        // `true` or a malformed schema: anything goes.
        return json!("x");
    };
    if depth > MAX_SCHEMA_DEPTH {
        return Value::Null;
    }
    if let Some(target) = s
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| root.pointer(p))
    {
        return minimal_value(target, root, depth + 1);
    }
    for key in ["const", "default"] {
        if let Some(v) = s.get(key) {
            return v.clone();
        }
    }
    if let Some(first) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let is_null = |a: &&Value| a.get("type") == Some(&json!("null"));
            if let Some(alt) = alts.iter().find(|a| !is_null(a)).or(alts.first()) {
                return minimal_value(alt, root, depth + 1);
            }
        }
    }
    if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
        // One schema with every part's properties and requirements.
        let mut merged = s.clone();
        merged.remove("allOf");
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => r
                    .strip_prefix('#')
                    .and_then(|p| root.pointer(p))
                    .unwrap_or(part),
                None => part,
            };
            let Some(part) = part.as_object() else {
                continue;
            };
            for (k, v) in part {
                match (k.as_str(), merged.get_mut(k)) {
                    ("properties", Some(Value::Object(props))) => {
                        if let Value::Object(more) = v {
                            props.extend(more.clone());
                        }
                    }
                    ("required", Some(Value::Array(req))) => {
                        if let Value::Array(more) = v {
                            req.extend(more.iter().cloned());
                        }
                    }
                    (_, Some(_)) => {}
                    (_, None) => {
                        merged.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        return minimal_value(&Value::Object(merged), root, depth + 1);
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        // ["string", "null"]: the first type that is not null.
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or_else(|| ts.first().and_then(Value::as_str))
            .unwrap_or("string"),
        _ if s.contains_key("properties") || s.contains_key("required") => "object",
        _ if s.contains_key("items") => "array",
        _ if s.contains_key("minimum") || s.contains_key("maximum") => "number",
        _ => "string",
    };
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    match ty {
        "null" => Value::Null,
        "boolean" => json!(false),
        "integer" | "number" => {
            let integer = ty == "integer";
            let step = if integer { 1.0 } else { 0.5 };
            // Draft 4 writes an exclusive minimum as `exclusiveMinimum: true` beside `minimum`.
            let exclusive_flag = s.get("exclusiveMinimum") == Some(&json!(true));
            let low = match (num("minimum"), num("exclusiveMinimum")) {
                (Some(m), _) if exclusive_flag => {
                    Some(if integer { m.floor() + 1.0 } else { m + step })
                }
                (Some(m), Some(e)) => Some(m.max(if integer { e.floor() + 1.0 } else { e + step })),
                (Some(m), None) => Some(if integer { m.ceil() } else { m }),
                (None, Some(e)) => Some(if integer { e.floor() + 1.0 } else { e + step }),
                (None, None) => None,
            };
            let high = num("maximum").or(num("exclusiveMaximum").map(|e| e - step));
            let v = match (low, high) {
                (Some(l), _) => l,
                (None, Some(h)) if h < 0.0 => {
                    if integer {
                        h.floor()
                    } else {
                        h
                    }
                }
                _ => 0.0,
            };
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                json!(v as i64)
            } else {
                json!(v)
            }
        }
        "array" => {
            let n = s
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .min(16) as usize;
            let item = s.get("items").cloned().unwrap_or(json!({}));
            Value::Array(
                (0..n)
                    .map(|_| minimal_value(&item, root, depth + 1))
                    .collect(),
            )
        }
        "object" => {
            let props = s.get("properties").and_then(Value::as_object);
            let mut out = serde_json::Map::new();
            for name in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let prop = props
                    .and_then(|p| p.get(name))
                    .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
                    .cloned()
                    .unwrap_or(json!({}));
                out.insert(name.to_string(), minimal_value(&prop, root, depth + 1));
            }
            Value::Object(out)
        }
        _ => {
            let text = match s.get("format").and_then(Value::as_str) {
                Some("date-time") => "1970-01-01T00:00:00Z".to_string(),
                Some("date") => "1970-01-01".to_string(),
                Some("time") => "00:00:00Z".to_string(),
                Some("email") => "x@example.com".to_string(),
                Some("uri" | "url" | "iri" | "uri-reference") => "https://example.com/".to_string(),
                Some("uuid") => "00000000-0000-0000-0000-000000000000".to_string(),
                _ => {
                    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(1);
                    let max = s
                        .get("maxLength")
                        .and_then(Value::as_u64)
                        .unwrap_or(u64::MAX);
                    "x".repeat(min.max(1).min(max).min(256) as usize)
                }
            };
            json!(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_required_properties_get_values() {
        let schema = json!({
            "type": "object",
            "properties": {
                "q": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                "offset": {"type": "integer"},
                "verbose": {"type": "boolean"},
            },
            "required": ["q", "limit"],
        });
        assert_eq!(minimal_arguments(&schema), json!({"q": "x", "limit": 1}));
    }

    #[test]
    fn each_type_gets_its_least_value() {
        let schema = json!({
            "type": "object",
            "properties": {
                "s": {"type": "string", "minLength": 3},
                "e": {"type": "string", "enum": ["asc", "desc"]},
                "d": {"type": "string", "default": "main"},
                "c": {"const": 7},
                "n": {"type": "number"},
                "pos": {"type": "number", "exclusiveMinimum": 0},
                "i": {"type": "integer", "exclusiveMinimum": 0},
                "neg": {"type": "integer", "maximum": -5},
                "b": {"type": "boolean"},
                "a": {"type": "array", "items": {"type": "string"}},
                "a2": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
                "o": {"type": "object", "properties": {"inner": {"type": "string"}, "x": {}}, "required": ["inner"]},
                "nullable": {"type": ["null", "integer"]},
                "when": {"type": "string", "format": "date-time"},
                "any": {},
            },
            "required": ["s", "e", "d", "c", "n", "pos", "i", "neg", "b", "a", "a2", "o", "nullable", "when", "any"],
        });
        assert_eq!(
            minimal_arguments(&schema),
            json!({
                "s": "xxx", "e": "asc", "d": "main", "c": 7, "n": 0, "pos": 0.5, "i": 1,
                "neg": -5, "b": false, "a": [], "a2": [0, 0], "o": {"inner": "x"},
                "nullable": 0, "when": "1970-01-01T00:00:00Z", "any": "x",
            })
        );
    }

    #[test]
    fn references_and_combinators_are_followed() {
        // The shape pydantic (the Python SDK) gives a model argument.
        let schema = json!({
            "$defs": {
                "Filter": {"type": "object", "properties": {"field": {"type": "string"}, "op": {"enum": ["eq", "ne"]}}, "required": ["field", "op"]},
            },
            "properties": {
                "filter": {"$ref": "#/$defs/Filter"},
                "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]},
                "both": {"allOf": [{"$ref": "#/$defs/Filter"}, {"properties": {"extra": {"type": "boolean"}}, "required": ["extra"]}]},
            },
            "required": ["filter", "maybe", "both"],
        });
        assert_eq!(
            minimal_arguments(&schema),
            json!({
                "filter": {"field": "x", "op": "eq"},
                "maybe": 3,
                "both": {"field": "x", "op": "eq", "extra": false},
            })
        );
    }

    #[test]
    fn odd_schemas_still_give_an_object() {
        assert_eq!(minimal_arguments(&json!(null)), json!({}));
        assert_eq!(minimal_arguments(&json!({})), json!({}));
        assert_eq!(minimal_arguments(&json!({"type": "object"})), json!({}));
        // A self-referencing schema ends.
        let cyclic =
            json!({"type": "object", "properties": {"me": {"$ref": "#"}}, "required": ["me"]});
        let v = minimal_arguments(&cyclic);
        assert!(v.is_object(), "{v}");
    }

    fn tool(name: &str, annotations: serde_json::Value) -> serde_json::Value {
        json!({"name": name, "annotations": annotations, "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}})
    }

    #[test]
    fn the_policy_decides_which_tools_are_called() {
        let read = tool("read", json!({"readOnlyHint": true}));
        let odd = tool(
            "odd",
            json!({"readOnlyHint": true, "destructiveHint": true}),
        );
        let delete = tool("delete", json!({"destructiveHint": true}));
        let plain = json!({"name": "plain"});
        let named = crate::session::NamedTool {
            name: "plain".into(),
            arguments: json!({"q": "y"}).as_object().unwrap().clone(),
        };
        let ro = ToolPolicy::new(CallTools::ReadOnly, vec![named.clone()]);
        assert_eq!(planned_call(&ro, &read), Some(json!({"id": "x"})));
        assert_eq!(planned_call(&ro, &odd), None);
        assert_eq!(planned_call(&ro, &delete), None);
        assert_eq!(planned_call(&ro, &plain), Some(json!({"q": "y"})));
        let all = ToolPolicy::new(CallTools::All, vec![]);
        assert_eq!(planned_call(&all, &delete), Some(json!({"id": "x"})));
        assert_eq!(planned_call(&all, &plain), Some(json!({})));
        let none = ToolPolicy::new(CallTools::None, vec![named]);
        for t in [&read, &delete, &plain] {
            assert_eq!(planned_call(&none, t), None);
        }
        // Steps that name their tool.
        assert!(step_may_call(&none, mcp::NO_SUCH_TOOL).is_ok());
        assert!(step_may_call(&none, "plain").is_err());
        assert!(step_may_call(&ro, "plain").is_ok());
        assert!(step_may_call(&ro, "delete").is_err());
        ro.clear("read");
        assert!(step_may_call(&ro, "read").is_ok());
        assert!(step_may_call(&all, "delete").is_ok());
    }
}
