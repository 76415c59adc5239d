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

use serde_json::{Map, Value, json};

use super::step::{ActionCtx, Finding, Observed, StepError, StepResult};
use crate::agent::{Run, origin_of};
use crate::oauth::pkce::{random_token, s256};
use crate::oauth::redirect::{is_loopback_ip, same_endpoint};
use crate::session::{Client, ClientKind, DocumentClient, DocumentError};
use crate::suite::model::{Level, StepDef};
use crate::suite::vars::Scope;

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
    let endpoint = super::step::text(scope.require("as.authorization_endpoint")?);
    let kind = step.client.unwrap_or(ClientKind::Main);
    let document =
        match step.document {
            Some(case) => Some(ctx.session.document_client(ctx.check, case).map_err(
                |e| match e {
                    DocumentError::Unavailable(why) => StepError::Precondition(why),
                    DocumentError::NotHere(why) => StepError::NotApplicable(why),
                },
            )?),
            None => None,
        };
    let client = match &document {
        Some(d) => d.client.clone(),
        None => ctx
            .session
            .client(ctx.http, kind)
            .await
            .map_err(StepError::Precondition)?,
    };
    let verifier = random_token(32);
    let pkce =
        json!({"verifier": verifier, "challenge": s256(&verifier), "verifier2": random_token(32)});
    let mut scope = scope.clone();
    scope.set("pkce", pkce.clone());
    let variants = UriVariants::of(client.redirect_uri());
    variants.applies(step, kind, client.redirect_uri())?;
    let mut client_value = client.to_value();
    client_value["variant_uri"] = Value::Object(variants.uris);
    scope.set("client", client_value);
    if let Some(d) = &document {
        scope.set(
            "document",
            json!({
                "url": d.placement.client_id,
                "redirect_uri": client.redirect_uri(),
                "later_redirect_uri": d.later_redirect_uri,
            }),
        );
    }
    let fetched_before = document
        .as_ref()
        .map(|d| fetch_log(ctx, d).len())
        .unwrap_or(0);
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
        // Waiting on a document the server is still fetching (a slow drip) is the answer the
        // document's check grades, not a failure of the run.
        Err(crate::agent::AgentError::Http(e @ crate::http::HttpError::Timeout { .. }))
            if document.is_some() =>
        {
            ctx.session.footprint.authorizations(1);
            crate::agent::Landing {
                stopped: Some(e.to_string()),
                ..Default::default()
            }
        }
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
            // A step that names another client (one a check registered itself) is graded by its
            // own expectations: the action does not know that client's redirect URIs.
            let other_client = first("client_id").is_some_and(|id| id != client.client_id);
            if !other_client && !registered(&client, landed) {
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
        None if landing.last.is_none() && document.is_some() => "timeout",
        None => "page",
    };
    if let Some(d) = &document {
        let log = fetch_log(ctx, d);
        out.insert(
            "document".into(),
            observe_document(d, &log, fetched_before, &landing.exchanges),
        );
        exchanges.extend(log[fetched_before.min(log.len())..].iter().map(as_exchange));
        if let Some(server) = &ctx.session.documents {
            server.fix(&d.placement.id);
        }
    }
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
        meta: match &document {
            Some(d) => json!({"client_kind": kind, "url_client": d.placement.client_id}),
            None => json!({"client_kind": kind}),
        },
    };
    Ok((seen, last.map(|r| r.url), findings))
}

/// Every fetch of a document (and of its redirect target) so far.
fn fetch_log(ctx: &ActionCtx<'_>, d: &DocumentClient) -> Vec<crate::cimd::Fetch> {
    ctx.session
        .documents
        .as_ref()
        .map(|s| s.fetches_of(&d.placement.id))
        .unwrap_or_default()
}

/// What the document server saw during this step: `fetches` (requests for the client_id
/// URL), `target_fetches` (requests for the redirect target), `fetched_before` (earlier steps'),
/// the log itself, and whether the pages the user agent was shown name the client_id's host and
/// the redirect URI's host (`pages_shown`, `names_client_host`, `names_redirect_host`).
fn observe_document(
    d: &DocumentClient,
    log: &[crate::cimd::Fetch],
    before: usize,
    seen: &[crate::http::Exchange],
) -> Value {
    let now = &log[before.min(log.len())..];
    // host[:port]: the port is what tells the authorization server's own address apart.
    let host_of = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_string();
                Some(match u.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                })
            })
            .unwrap_or_default()
    };
    // The page the user decided on: the last one shown. The authorization server's own
    // address is taken out first, since on loopback it shares its host with the tool's listeners.
    let pages: Vec<&str> = seen
        .iter()
        .filter_map(|x| x.response.as_ref())
        .filter(|r| r.status == 200 && r.body.contains('<'))
        .map(|r| r.body.as_str())
        .collect();
    let own = seen
        .first()
        .map(|x| host_of(&x.request.url))
        .unwrap_or_default();
    let last = pages
        .last()
        .map(|p| {
            if own.is_empty() {
                p.to_string()
            } else {
                p.replace(&own, "")
            }
        })
        .unwrap_or_default();
    let client_host = host_of(&d.placement.client_id);
    let redirect_host = host_of(d.client.redirect_uri());
    let names = |authority: &str| {
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        !host.is_empty() && last.contains(host)
    };
    json!({
        "url": d.placement.client_id,
        "fetches": now.iter().filter(|f| !f.at_target).count(),
        "target_fetches": now.iter().filter(|f| f.at_target).count(),
        "fetched_before": before,
        "log": now,
        "pages_shown": pages.len(),
        "last_page_has_form": last.contains("<form"),
        "client_host": client_host,
        "redirect_host": redirect_host,
        "names_client_host": names(&client_host),
        "names_redirect_host": names(&redirect_host),
    })
}

/// A fetch the authorization server made, as evidence beside the step's own requests.
fn as_exchange(f: &crate::cimd::Fetch) -> crate::http::Exchange {
    use crate::http::exchange::{RequestRecord, ResponseRecord};
    crate::http::Exchange {
        request: RequestRecord {
            method: f.method.clone(),
            url: format!("(fetched by the authorization server) {}", f.url),
            headers: f.headers.clone(),
            body: None,
        },
        response: Some(ResponseRecord {
            status: f.status,
            headers: f.response_headers.clone(),
            body: f.body.clone(),
            body_truncated: f.body.len() < f.body_len,
        }),
        error: None,
        elapsed_ms: 0,
    }
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
///
/// The response is read from the query, unless the query carries neither a code nor an error
/// and the fragment carries an error: an error response in the fragment (where RFC 6749 §4.2.2.1
/// puts the errors of response types that include `token`) is an error all the same.
fn response_params(landed: &str) -> (Map<String, Value>, Map<String, Value>, Map<String, Value>) {
    let Ok(u) = url::Url::parse(landed) else {
        return Default::default();
    };
    let (first, counts) = read_params(u.query_pairs());
    let (fragment, fragment_counts) = match u.fragment() {
        Some(f) => read_params(url::form_urlencoded::parse(f.as_bytes())),
        None => Default::default(),
    };
    let answered = first.contains_key("code") || first.contains_key("error");
    if !answered && fragment.contains_key("error") {
        return (fragment.clone(), fragment_counts, fragment);
    }
    (first, counts, fragment)
}

/// First values and counts of `application/x-www-form-urlencoded` pairs.
fn read_params<'a>(
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut first = Map::new();
    let mut counts = Map::new();
    for (k, v) in pairs {
        let n = counts.get(k.as_ref()).and_then(Value::as_u64).unwrap_or(0) + 1;
        counts.insert(k.to_string(), json!(n));
        first.entry(k.to_string()).or_insert_with(|| json!(v));
    }
    (first, counts)
}

/// Redirect URIs made from a client's registered one by one change each, for the steps that
/// test how a requested URI is compared (`${client.variant_uri.NAME}`). Built as text, so that
/// no URL parser normalizes away the change under test. A name the registered URI has no
/// counterpart of is absent, with the reason.
struct UriVariants {
    uris: Map<String, Value>,
    absent: Vec<(&'static str, String)>,
}

/// `scheme://host[:port]path[?query]` of a URI, as written.
struct UriParts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> UriParts<'a> {
    fn split(uri: &'a str) -> Option<UriParts<'a>> {
        let (scheme, rest) = uri.split_once("://")?;
        let rest = rest.split('#').next().unwrap_or(rest);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, Some(p.parse().ok()?)),
            _ => (authority, None),
        };
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (tail, None),
        };
        Some(UriParts {
            scheme,
            host,
            port,
            path,
            query,
        })
    }

    fn default_port(&self) -> Option<u16> {
        match self.scheme.to_ascii_lowercase().as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        }
    }

    /// Another port than the one in effect.
    fn other_port(&self) -> u16 {
        match self.port.or(self.default_port()).unwrap_or(0) {
            u16::MAX => u16::MAX - 1,
            p => p + 1,
        }
    }

    fn is_loopback_ip(&self) -> bool {
        is_loopback_ip(self.host)
    }

    fn build(
        &self,
        scheme: &str,
        host: &str,
        port: Option<u16>,
        path: &str,
        query: Option<&str>,
    ) -> String {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        format!("{scheme}://{host}{port}{path}{query}")
    }

    fn with_path(&self, path: &str) -> String {
        self.build(self.scheme, self.host, self.port, path, self.query)
    }
}

impl UriVariants {
    /// What each name stands for, in messages.
    const NAMES: &'static [(&'static str, &'static str)] = &[
        ("trailing_slash", "a trailing slash"),
        ("extra_segment", "an extra path segment"),
        ("suffix", "a suffix on the last path segment"),
        ("query_appended", "a query parameter appended"),
        ("upper_path", "its path in upper case"),
        ("dot_segments", "dot segments in its path"),
        ("encoded_char", "a percent-encoded character in its path"),
        ("default_port", "an explicit default port"),
        ("other_port", "another port"),
        ("loopback_port", "another loopback port"),
        ("loopback_path", "another loopback port and path"),
        ("loopback_scheme", "another loopback port and scheme"),
        (
            "loopback_localhost",
            "localhost for its loopback IP literal",
        ),
    ];

    fn of(uri: &str) -> UriVariants {
        let mut uris = Map::new();
        let mut absent = Vec::new();
        let Some(p) = UriParts::split(uri) else {
            for (name, _) in Self::NAMES {
                absent.push((*name, "it is not a URI with a host".to_string()));
            }
            return UriVariants { uris, absent };
        };
        let mut put = |name: &'static str, v: Result<String, &str>| match v {
            Ok(u) => {
                uris.insert(name.to_string(), json!(u));
            }
            Err(why) => absent.push((name, why.to_string())),
        };
        let path = if p.path.is_empty() { "/" } else { p.path };
        let dir_end = path.rfind('/').map_or(0, |i| i + 1);
        put("trailing_slash", Ok(p.with_path(&format!("{path}/"))));
        put(
            "extra_segment",
            Ok(p.with_path(&format!("{}/extra", path.trim_end_matches('/')))),
        );
        put("suffix", Ok(p.with_path(&format!("{path}X"))));
        let query = match p.query {
            Some(q) if !q.is_empty() => format!("{q}&y=2"),
            _ => "y=2".to_string(),
        };
        put(
            "query_appended",
            Ok(p.build(p.scheme, p.host, p.port, path, Some(&query))),
        );
        let upper = path.to_ascii_uppercase();
        put(
            "upper_path",
            (upper != path)
                .then(|| p.with_path(&upper))
                .ok_or("its path has no lower-case letter"),
        );
        put(
            "dot_segments",
            Ok(p.with_path(&format!("{}x/../{}", &path[..dir_end], &path[dir_end..]))),
        );
        put(
            "encoded_char",
            path.char_indices()
                .find(|(_, c)| c.is_ascii_alphanumeric())
                .map(|(i, c)| {
                    p.with_path(&format!(
                        "{}%{:02X}{}",
                        &path[..i],
                        c as u32,
                        &path[i + 1..]
                    ))
                })
                .ok_or("its path has no letter or digit to encode"),
        );
        put(
            "default_port",
            match (p.port, p.default_port()) {
                (None, Some(d)) => Ok(p.build(p.scheme, p.host, Some(d), path, p.query)),
                (Some(_), _) => Err("its port is explicit"),
                (None, None) => Err("its scheme has no default port"),
            },
        );
        put(
            "other_port",
            Ok(p.build(p.scheme, p.host, Some(p.other_port()), path, p.query)),
        );
        let loopback = |v: String| {
            if p.is_loopback_ip() {
                Ok(v)
            } else {
                Err("it is not a loopback IP literal (127.0.0.1 or [::1])")
            }
        };
        let other = Some(p.other_port());
        put(
            "loopback_port",
            loopback(p.build(p.scheme, p.host, other, path, p.query)),
        );
        let elsewhere = if path == "/other" {
            "/another"
        } else {
            "/other"
        };
        put(
            "loopback_path",
            loopback(p.build(p.scheme, p.host, other, elsewhere, p.query)),
        );
        let scheme = if p.scheme.eq_ignore_ascii_case("https") {
            "http"
        } else {
            "https"
        };
        put(
            "loopback_scheme",
            loopback(p.build(scheme, p.host, other, path, p.query)),
        );
        put(
            "loopback_localhost",
            loopback(p.build(p.scheme, "localhost", other, path, p.query)),
        );
        UriVariants { uris, absent }
    }

    /// A step that asks for a variant the registered URI has none of tests nothing here.
    fn applies(&self, step: &StepDef, kind: ClientKind, uri: &str) -> Result<(), StepError> {
        let values = step.set.values().chain(step.add.iter().map(|[_, v]| v));
        for v in values {
            for path in crate::suite::vars::references(v).unwrap_or_default() {
                let Some(name) = path.strip_prefix("client.variant_uri.") else {
                    continue;
                };
                if let Some((_, why)) = self.absent.iter().find(|(n, _)| *n == name) {
                    let what = Self::NAMES
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or(name, |(_, d)| d);
                    return Err(StepError::NotApplicable(format!(
                        "the {} client's redirect URI {uri} has no variant with {what}: {why}",
                        kind.as_str()
                    )));
                }
            }
        }
        Ok(())
    }
}

fn registered(client: &Client, landed: &str) -> bool {
    client
        .redirect_uris
        .iter()
        .any(|r| same_endpoint(landed, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(uri: &str, name: &str) -> Option<String> {
        UriVariants::of(uri)
            .uris
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    #[test]
    fn variants_change_one_thing_of_the_registered_uri() {
        let uri = "http://127.0.0.1:50123/callback";
        let cases = [
            ("trailing_slash", "http://127.0.0.1:50123/callback/"),
            ("extra_segment", "http://127.0.0.1:50123/callback/extra"),
            ("suffix", "http://127.0.0.1:50123/callbackX"),
            ("query_appended", "http://127.0.0.1:50123/callback?y=2"),
            ("upper_path", "http://127.0.0.1:50123/CALLBACK"),
            ("dot_segments", "http://127.0.0.1:50123/x/../callback"),
            ("encoded_char", "http://127.0.0.1:50123/%63allback"),
            ("loopback_port", "http://127.0.0.1:50124/callback"),
            ("loopback_path", "http://127.0.0.1:50124/other"),
            ("loopback_scheme", "https://127.0.0.1:50124/callback"),
            ("loopback_localhost", "http://localhost:50124/callback"),
        ];
        for (name, want) in cases {
            assert_eq!(variant(uri, name).as_deref(), Some(want), "{name}");
        }
        assert_eq!(variant(uri, "default_port"), None);
        let web = "https://client.example/cb?x=1";
        assert_eq!(
            variant(web, "default_port").as_deref(),
            Some("https://client.example:443/cb?x=1")
        );
        assert_eq!(
            variant(web, "other_port").as_deref(),
            Some("https://client.example:444/cb?x=1")
        );
        assert_eq!(
            variant(web, "query_appended").as_deref(),
            Some("https://client.example/cb?x=1&y=2")
        );
        assert_eq!(
            variant("http://[::1]:8080/", "loopback_port").as_deref(),
            Some("http://[::1]:8081/")
        );
    }

    #[test]
    fn a_uri_without_a_counterpart_has_no_such_variant() {
        for uri in ["http://localhost:3000/cb", "https://app.example/cb"] {
            let v = UriVariants::of(uri);
            assert!(!v.uris.contains_key("loopback_port"), "{uri}");
            assert!(v.absent.iter().any(|(n, _)| *n == "loopback_port"));
        }
        let root = UriVariants::of("http://127.0.0.1:9/");
        assert!(!root.uris.contains_key("upper_path"));
        assert!(!root.uris.contains_key("encoded_char"));
        assert!(root.uris.contains_key("loopback_port"));
        assert!(UriVariants::of("myapp:/cb").uris.is_empty());
    }

    #[test]
    fn an_error_in_the_fragment_is_the_response() {
        let (params, counts, fragment) =
            response_params("http://127.0.0.1:9/cb#error=unsupported_response_type&state=s");
        assert_eq!(params["error"], "unsupported_response_type");
        assert_eq!(counts["state"], 1);
        assert_eq!(fragment["error"], "unsupported_response_type");
        // Errors in both: the query is the response.
        let (params, _, _) = response_params("http://127.0.0.1:9/cb?error=a#error=b");
        assert_eq!(params["error"], "a");
        // Tokens in the fragment are no error and no code of the query.
        let (params, _, fragment) = response_params("http://127.0.0.1:9/cb#access_token=t");
        assert!(params.is_empty());
        assert_eq!(fragment["access_token"], "t");
    }
}
