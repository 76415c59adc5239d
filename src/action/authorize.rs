//! `authorize`: an authorization request built from the client's defaults (PKCE S256, state,
//! scope, resource), changed as the step says (`set`, `omit`, `add`), taken through the user agent,
//! and classified by where it ended:
//!
//! * `code`, `error`, `redirect` — back at the redirect URI the request named, with a code, an
//!   error, or neither;
//! * `elsewhere` — redirected out of the authorization server to some other URI;
//! * `login` — stopped at a page that asks the user something (a login or consent form): the
//!   step did not allow logging in, or the user agent could not get past it;
//! * `page` — stopped at any other page: an error page.
//!
//! A redirect to a URI the client never registered is a finding in every step, whatever the
//! check: no correct server ever sends the browser there.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{ActionCtx, StepError, StepResult};
use crate::agent::{Run, origin_of};
use crate::runner::verdict::Level;
use crate::session::{Client, ClientKind};
use crate::suite::expect::{Finding, Observed};
use crate::suite::model::StepDef;
use crate::suite::vars::Scope;

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Applies a step's `omit`, `set` and `add` to an ordered parameter list.
pub fn edit_params(
    params: &mut Vec<(String, String)>,
    step: &StepDef,
    scope: &Scope,
) -> Result<(), StepError> {
    params.retain(|(k, _)| !step.omit.contains(k));
    for (k, v) in &step.set {
        let v = scope.interpolate(v)?;
        match params.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => params.push((k.clone(), v)),
        }
    }
    for [k, v] in &step.add {
        params.push((k.clone(), scope.interpolate(v)?));
    }
    Ok(())
}

pub async fn run(ctx: &ActionCtx<'_>, step: &StepDef, scope: &Scope) -> StepResult {
    let mut exchanges = Vec::new();
    let outcome = attempt(ctx, step, scope, &mut exchanges).await;
    StepResult { exchanges, outcome }
}

async fn attempt(
    ctx: &ActionCtx<'_>,
    step: &StepDef,
    scope: &Scope,
    exchanges: &mut Vec<crate::http::Exchange>,
) -> Result<(Observed, Option<String>, Vec<Finding>), StepError> {
    let endpoint = super::text(scope.require("as.authorization_endpoint")?);
    let kind = step.client.unwrap_or(ClientKind::Main);
    let client = ctx
        .session
        .client(ctx.http, kind)
        .await
        .map_err(StepError::Precondition)?;
    let verifier = random_token(32);
    let pkce =
        json!({"verifier": verifier, "challenge": s256(&verifier), "verifier2": random_token(32)});
    let mut scope = scope.clone();
    scope.set("pkce", pkce.clone());
    scope.set("client", client.to_value());
    scope.set(
        "flow",
        json!({"scope": ctx.session.scope, "resource": ctx.session.resource}),
    );
    let state = random_token(12);
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client.client_id.clone()),
        ("redirect_uri".into(), client.redirect_uri().to_string()),
    ];
    if let Some(s) = &ctx.session.scope {
        params.push(("scope".into(), s.clone()));
    }
    params.push(("state".into(), state.clone()));
    params.push((
        "code_challenge".into(),
        pkce["challenge"].as_str().unwrap_or_default().to_string(),
    ));
    params.push(("code_challenge_method".into(), "S256".into()));
    if let Some(r) = &ctx.session.resource {
        params.push(("resource".into(), r.clone()));
    }
    edit_params(&mut params, step, &scope)?;
    let first = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let url = format!("{endpoint}{sep}{query}");
    let sent_state = first("state");
    let landing = ctx
        .session
        .agent
        .authorize(Run {
            http: ctx.http,
            url: &url,
            origins: origin_of(&endpoint).into_iter().collect(),
            allow_login: step.login.unwrap_or(true),
            state: sent_state.as_deref(),
        })
        .await;
    let footprint = &ctx.session.footprint;
    let landing = match landing {
        Ok(l) => l,
        Err(e) => {
            // The request went out (or a person's or program's browser was given it).
            footprint.authorizations(1);
            return Err(match e {
                crate::agent::AgentError::Http(e) => StepError::Http(e),
                e => StepError::Precondition(e.to_string()),
            });
        }
    };
    // The request itself (a person's or a program's browser sent it when the tool's did not),
    // and any return to the endpoint on the way; a login when the browser submitted forms (a
    // sign-in, a consent: one login however many pages it took).
    let at_endpoint = landing
        .exchanges
        .iter()
        .filter(|x| crate::footprint::is_endpoint(&x.request.url, Some(&endpoint)))
        .count() as u64;
    footprint.authorizations(at_endpoint.max(1));
    if form_submissions(&landing.exchanges) > 0 {
        footprint.logins(1);
    }
    exchanges.extend(landing.exchanges.iter().cloned());

    // Where the response should go: the redirect URI the request named, else the registered one.
    let requested = first("redirect_uri").unwrap_or_else(|| client.redirect_uri().to_string());
    let mut out = Map::new();
    let mut findings = Vec::new();
    let outcome = match &landing.landed {
        Some(landed) => {
            let (params, counts, fragment) = response_params(landed);
            // Tokens in the authorization response (an implicit grant the server should not
            // offer) were issued to the run all the same.
            ctx.session.footprint.token_response(
                200,
                &Value::Object(fragment.clone()),
                Some(&client),
            );
            out.insert("landed".into(), json!(landed));
            out.insert("param_counts".into(), Value::Object(counts));
            out.insert("fragment_params".into(), Value::Object(fragment));
            for (k, v) in &params {
                out.insert(k.clone(), v.clone());
            }
            out.insert("params".into(), Value::Object(params.clone()));
            if !registered(&client, landed) {
                out.insert("unregistered".into(), json!(landed));
                findings.push(Finding {
                    level: step.unregistered.unwrap_or(Level::Must),
                    text: format!("the authorization server sent the browser to {landed}, a redirect URI this client never registered"),
                });
            }
            if same_endpoint(landed, &requested) {
                if params.contains_key("code") {
                    "code"
                } else if params.contains_key("error") {
                    "error"
                } else {
                    "redirect"
                }
            } else {
                "elsewhere"
            }
        }
        None if landing.login_page => "login",
        None => "page",
    };
    out.insert("outcome".into(), json!(outcome));
    if let Some(why) = &landing.stopped {
        out.insert("stopped".into(), json!(why));
    }
    out.insert("visits".into(), json!(landing.visits));
    out.insert("post_redirects".into(), json!(landing.post_redirects));
    let mut request = json!({
        "url": url,
        "client_kind": kind,
        "client_id": client.client_id,
        "redirect_uri": first("redirect_uri"),
        "state": sent_state,
        "code_verifier": pkce["verifier"],
        "code_challenge": first("code_challenge"),
        "scope": first("scope"),
        "resource": first("resource"),
    });
    if let Value::Object(m) = &mut request {
        m.retain(|_, v| !v.is_null());
    }
    out.insert("request".into(), request);
    let last = landing.last;
    let seen = Observed {
        status: last.as_ref().map(|r| r.status),
        headers: last.as_ref().map(|r| r.headers.clone()).unwrap_or_default(),
        body: last
            .as_ref()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned()),
        json: Ok(Value::Object(out)),
        meta: json!({"client_kind": kind}),
    };
    Ok((seen, last.map(|r| r.url), findings))
}

/// Forms the browser submitted in one authorization: it submits one after every page (an
/// answer other than a redirect) that it does not stop at, so every request that follows a page
/// is a submission.
fn form_submissions(exchanges: &[crate::http::Exchange]) -> u64 {
    exchanges
        .windows(2)
        .filter(|w| {
            w[0].response
                .as_ref()
                .is_some_and(|r| !(300..400).contains(&r.status))
        })
        .count() as u64
}

/// The response parameters of a redirect back: first values, how often each name appeared, and
/// any parameters in the fragment (where a code flow must not put them).
fn response_params(landed: &str) -> (Map<String, Value>, Map<String, Value>, Map<String, Value>) {
    let mut first = Map::new();
    let mut counts = Map::new();
    let mut fragment = Map::new();
    if let Ok(u) = url::Url::parse(landed) {
        for (k, v) in u.query_pairs() {
            let n = counts.get(k.as_ref()).and_then(Value::as_u64).unwrap_or(0) + 1;
            counts.insert(k.to_string(), json!(n));
            first.entry(k.to_string()).or_insert_with(|| json!(v));
        }
        if let Some(f) = u.fragment() {
            for (k, v) in url::form_urlencoded::parse(f.as_bytes()) {
                fragment.entry(k.to_string()).or_insert_with(|| json!(v));
            }
        }
    }
    (first, counts, fragment)
}

fn is_loopback_ip(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Same scheme, host and path; the port must match too except for loopback IP literals, whose
/// port may vary (RFC 8252 §7.3). Query and fragment are response territory and not compared.
pub fn same_endpoint(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(a), url::Url::parse(b)) else {
        return false;
    };
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.path() == b.path()
        && (a.port_or_known_default() == b.port_or_known_default()
            || (is_loopback_ip(&a) && is_loopback_ip(&b)))
}

fn registered(client: &Client, landed: &str) -> bool {
    client
        .redirect_uris
        .iter()
        .any(|r| same_endpoint(landed, r))
}
