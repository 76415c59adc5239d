//! Discovery runs once per run, before any check, the way an MCP client finds its way: the
//! unauthenticated probe of the MCP endpoint → its 401 challenge → protected resource metadata
//! (challenge URL, then path-inserted, then root well-known) → the authorization server
//! identifier → AS metadata (RFC 8414 and OpenID variants, in MCP 2025-11-25 order).
//!
//! The result is data: one JSON tree that suites read as variables. What discovery cannot find is
//! absent from the tree, with the reason under `_why.<root>`, so that checks depending on it skip
//! with that reason and the checks about it fail with it.

use serde_json::{Map, Value, json};
use url::Url;

use crate::action::Observed;
use crate::http::{Exchange, HttpClient, Request, Response};
use crate::mcp;
use crate::oauth::{metadata, www_authenticate};
use crate::revision::Revision;

/// Redirects discovery follows for a metadata GET (a loop ends there).
const MAX_REDIRECTS: u8 = 5;

/// The path of the other resource the audience checks ask a token for when none is configured.
pub const SYNTHESIZED_OTHER_PATH: &str = "/mcp-oauth-conform-other";

#[derive(Clone, Debug)]
pub struct Target {
    /// The MCP endpoint as the user wrote it (identity comparisons use this text) and parsed.
    pub rs_raw: String,
    pub rs: Url,
    /// The authorization server issuer as the user wrote it, if given.
    pub as_raw: Option<String>,
    /// The revision to grade, when the user chose one.
    pub spec: Option<Revision>,
    /// A second resource of the same authorization server, for audience checks. `${rs.origin}`
    /// in it is replaced. Without one, discovery synthesizes `${rs.origin}/mcp-oauth-conform-other`.
    pub other_resource: Option<String>,
}

/// What discovery's documents suggest about the revision, on positive evidence only. It can
/// confirm the revision the MCP server speaks, never raise it (see `crate::preflight`).
#[derive(Clone, Debug)]
pub struct Evidence {
    pub revision: Revision,
    /// Whose documents suggest it ("the AS's metadata"); `None` when nothing does (then
    /// `revision` is the latest, by default).
    pub source: Option<&'static str>,
    /// What in them: "it advertises authorization_response_iss_parameter_supported".
    pub why: String,
    /// The whole reason, as printed when the evidence alone decides: "inferred: …".
    pub reason: String,
}

impl Evidence {
    /// "the AS's metadata suggests 2026-07-28 (it advertises …)", or that nothing does.
    pub fn summary(&self) -> String {
        match self.source {
            Some(src) => format!("{src} suggests {} ({})", self.revision, self.why),
            None => format!("discovery suggests no revision ({})", self.why),
        }
    }
}

#[derive(Debug)]
pub struct Discovery {
    /// The variable tree checks read.
    pub vars: Value,
    /// The revision graded. Discovery sets the chosen one (`--spec`) or, provisionally, the
    /// evidence's; the run's preparation (`RunCtx::new`) sets the final one with [`Discovery::grade`].
    pub revision: Revision,
    /// How the revision was chosen, for the console and the report.
    pub revision_reason: String,
    /// The revision the user chose with `--spec`.
    pub chosen: Option<Revision>,
    /// What the AS's (and the resource's) metadata suggest.
    pub evidence: Evidence,
    pub exchanges: Vec<Exchange>,
    /// Set when the MCP endpoint could not be reached at all.
    pub unreachable: Option<String>,
    /// Human-readable notes (what was found where).
    pub notes: Vec<String>,
}

struct Fetched {
    url: String,
    outcome: Result<(Response, Map<String, Value>), String>,
}

pub async fn discover(http: &HttpClient, target: &Target) -> Discovery {
    let mut d = Builder::default();
    let probe_rev = target.spec.unwrap_or(Revision::R2025_11_25);

    // 1. The unauthenticated probe.
    let (headers, body) = mcp::rpc_request(probe_rev, mcp::probe_method(probe_rev), None, 1);
    let probe = Request {
        method: "POST".into(),
        url: target.rs_raw.clone(),
        headers,
        body: Some(body),
    };
    let (ex, result) = http.send(&probe).await;
    d.exchanges.push(ex);
    let mut unreachable = None;
    let mut challenge_url = None;
    match result {
        Err(e) => {
            let why = format!("the MCP endpoint did not answer: {e}");
            d.why("probe", &why);
            d.why("challenge", &why);
            unreachable = Some(e.to_string());
        }
        Ok(resp) => {
            let seen = Observed {
                status: Some(resp.status),
                headers: resp.headers.clone(),
                body: Some(String::from_utf8_lossy(&resp.body).into_owned()),
                json: mcp::decode(&resp),
                meta: Value::Null,
            };
            d.vars
                .insert("probe".into(), seen.to_value(Some(&resp.url)));
            let values: Vec<&str> = resp.header_values("www-authenticate").collect();
            match www_authenticate::parse_all(values.iter().copied()) {
                _ if values.is_empty() => d.why(
                    "challenge",
                    &format!(
                        "the unauthenticated probe got {} with no WWW-Authenticate header",
                        resp.status
                    ),
                ),
                Err(e) => d.why(
                    "challenge",
                    &format!("the WWW-Authenticate header does not parse: {e}"),
                ),
                Ok(cs) => {
                    match cs.iter().find(|c| c.is_bearer()) {
                        None => d.why(
                            "challenge",
                            "the WWW-Authenticate header has no Bearer challenge",
                        ),
                        Some(b) => {
                            let mut params = Map::new();
                            for (k, v) in &b.params {
                                params
                                    .entry(k.to_ascii_lowercase())
                                    .or_insert_with(|| Value::String(v.clone()));
                            }
                            challenge_url = b.param("resource_metadata").map(str::to_string);
                            d.vars.insert("challenge".into(), json!({"scheme": b.scheme, "params": params, "raw": values.join(", ")}));
                        }
                    }
                }
            }
        }
    }

    // 2. Protected resource metadata.
    let rs_origin = metadata::origin(&target.rs);
    let prm_root = format!("{rs_origin}/.well-known/oauth-protected-resource");
    let prm_path = metadata::has_path(&target.rs)
        .then(|| metadata::path_inserted(&target.rs, "oauth-protected-resource"));
    let mut candidates: Vec<(&str, String)> = Vec::new();
    if let Some(u) = &challenge_url {
        candidates.push(("header", u.clone()));
    }
    if let Some(u) = &prm_path {
        candidates.push(("path", u.clone()));
    }
    candidates.push(("root", prm_root.clone()));
    let mut tried = Vec::new();
    let mut documents = Map::new();
    let mut adopted: Option<(String, String, Map<String, Value>)> = None;
    for (source, url) in &candidates {
        // The header URL is the server's word; fetch it only if it is an absolute http(s) URL.
        if Url::parse(url)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            tried.push(
                json!({"source": source, "url": url, "error": "not an absolute http(s) URL"}),
            );
            continue;
        }
        let f = d.fetch(http, url).await;
        match &f.outcome {
            Ok((resp, doc)) => {
                tried.push(json!({"source": source, "url": f.url, "status": resp.status}));
                documents.insert((*source).into(), Value::Object(doc.clone()));
                if adopted.is_none() {
                    adopted = Some((source.to_string(), f.url.clone(), doc.clone()));
                }
            }
            Err(why) => tried.push(json!({"source": source, "url": f.url, "error": why})),
        }
    }
    let mut prm_discovery = json!({
        "found": adopted.is_some(),
        // Where a client looks first: the challenge's URL, else the path-inserted well-known URL.
        "expected_url": candidates.first().map(|(_, u)| u.clone()),
        "header_url": challenge_url,
        "tried": tried,
        "documents": documents,
    });
    prm_discovery["summary"] = json!(summarize(&tried));
    if let Some((source, url, doc)) = &adopted {
        prm_discovery["source"] = json!(source);
        prm_discovery["url"] = json!(url);
        d.vars.insert("prm".into(), Value::Object(doc.clone()));
        d.notes
            .push(format!("protected resource metadata: {url} (via {source})"));
    } else {
        d.why(
            "prm",
            &format!(
                "no protected resource metadata was found ({})",
                summarize(&tried)
            ),
        );
    }
    d.vars.insert("prm_discovery".into(), prm_discovery);

    // 3. The authorization server identifier.
    let listed: Vec<String> = adopted
        .as_ref()
        .and_then(|(_, _, doc)| doc.get("authorization_servers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let flag = target.as_raw.clone();
    // What a client would use: the resource's word first, then the operator's, then (2025-03-26)
    // the MCP server's origin.
    let (identifier, id_source) = match (listed.first(), &flag) {
        (Some(first), _) => (first.clone(), "prm"),
        (None, Some(f)) => (f.clone(), "--as"),
        (None, None) => (rs_origin.clone(), "rs-origin"),
    };
    if let (Some(f), false) = (&flag, listed.is_empty()) {
        let matches = listed
            .iter()
            .any(|l| l == f || l.trim_end_matches('/') == f.trim_end_matches('/'));
        if !matches {
            d.notes.push(format!(
                "--as {f} is not among the authorization servers the resource names ({}); using {}",
                listed.join(", "),
                listed[0]
            ));
        }
    }

    // 4. AS metadata.
    let mut as_discovery = Map::new();
    as_discovery.insert("identifier_source".into(), json!(id_source));
    as_discovery.insert("listed".into(), json!(listed));
    if let Ok(id_url) = Url::parse(&identifier) {
        let id_text = identifier.clone();
        as_discovery.insert("identifier".into(), json!(id_text));
        as_discovery.insert("has_path".into(), json!(metadata::has_path(&id_url)));
        as_discovery.insert(
            "appended_url".into(),
            json!(metadata::appended(&id_url, "oauth-authorization-server")),
        );
        let mut tried = Vec::new();
        let mut adopted_meta: Option<(String, String, Map<String, Value>)> = None;
        for (variant, url) in metadata::as_metadata_candidates(&id_url) {
            let f = d.fetch(http, &url).await;
            match f.outcome {
                Ok((resp, doc)) => {
                    tried.push(json!({"variant": variant, "url": f.url, "status": resp.status}));
                    as_discovery
                        .entry(format!("{variant}_url"))
                        .or_insert(json!(f.url));
                    as_discovery
                        .entry(variant.to_string())
                        .or_insert(Value::Object(doc.clone()));
                    if adopted_meta.is_none() {
                        adopted_meta = Some((variant.to_string(), f.url.clone(), doc));
                    }
                }
                Err(why) => tried.push(json!({"variant": variant, "url": f.url, "error": why})),
            }
        }
        as_discovery.insert("summary".into(), json!(summarize(&tried)));
        as_discovery.insert("tried".into(), json!(tried));
        match adopted_meta {
            Some((variant, url, doc)) => {
                as_discovery.insert("found".into(), json!(true));
                as_discovery.insert("variant".into(), json!(variant));
                as_discovery.insert("metadata_url".into(), json!(url));
                d.notes
                    .push(format!("authorization server metadata: {url} ({variant})"));
                d.vars.insert("as".into(), Value::Object(doc));
            }
            None => {
                as_discovery.insert("found".into(), json!(false));
                d.why(
                    "as",
                    &format!(
                        "no authorization server metadata was found for {id_text} ({})",
                        summarize(&tried)
                    ),
                );
            }
        }
    } else {
        as_discovery.insert("found".into(), json!(false));
        as_discovery.insert("identifier".into(), json!(identifier));
        d.why(
            "as",
            &format!("the authorization server identifier {identifier:?} is not a URL"),
        );
    }
    // Every other authorization server the resource lists must resolve too: a client may use
    // any of them (RFC 9728 §2). `unresolved` says which do not, and why.
    let mut others = Vec::new();
    let mut unresolved = Vec::new();
    for other in listed.iter().skip(1).take(MAX_OTHER_ISSUERS) {
        let (found, why) = other_issuer(&mut d, http, other).await;
        if let Some(why) = why {
            unresolved.push(json!(format!("{other}: {why}")));
        }
        others.push(found);
    }
    if !others.is_empty() {
        as_discovery.insert("others".into(), Value::Array(others));
        as_discovery.insert("unresolved".into(), Value::Array(unresolved));
    }
    d.vars
        .insert("as_discovery".into(), Value::Object(as_discovery));

    // 5. The evidence about the revision. The revision graded is the chosen one, else the one
    // the MCP server speaks (negotiated later, see `crate::preflight`); until then, the evidence's.
    let evidence = infer_revision(&d.vars);
    let (revision, revision_reason) = match target.spec {
        Some(r) => (r, "chosen with --spec".to_string()),
        None => (evidence.revision, evidence.reason.clone()),
    };

    let loopback = target
        .rs
        .host_str()
        .is_some_and(crate::oauth::redirect::is_loopback_host);
    // The audience checks need a resource other than this one. Without a configured one (another
    // MCP server of the same AS, which can also be asked whether it refuses a token), a URL on
    // the same origin that no server is expected to serve: the AS may issue tokens for it, and
    // the MCP server must refuse them.
    let (other, other_source) = match &target.other_resource {
        Some(o) => (o.replace("${rs.origin}", &rs_origin), "configured"),
        None => (
            format!("{rs_origin}{SYNTHESIZED_OTHER_PATH}"),
            "synthesized",
        ),
    };
    // Where a token's audience can be read when the token is opaque: the advertised
    // introspection endpoint, else the usual place below the issuer (used only as evidence: an
    // RFC 7662 answer about the run's own token).
    let advertised = d
        .vars
        .get("as")
        .and_then(|a| a.get("introspection_endpoint"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let conventional = d
        .vars
        .get("as")
        .and_then(|a| a.get("issuer"))
        .and_then(Value::as_str)
        .filter(|i| Url::parse(i).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
        .map(|i| format!("{}/introspect", i.trim_end_matches('/')));
    // Not under `target`: URLs there are the target's own, and an advertised endpoint is only
    // the server's word.
    if let Some(Value::Object(found)) = d.vars.get_mut("as_discovery") {
        found.insert(
            "introspection_advertised".into(),
            json!(advertised.is_some()),
        );
        found.insert(
            "introspection_endpoint".into(),
            json!(advertised.or(conventional)),
        );
    }
    d.vars.insert(
        "target".into(),
        json!({
            "rs": target.rs_raw,
            "as": flag,
            "other_resource": other,
            "other_resource_source": other_source,
        }),
    );
    d.vars.insert("run".into(), json!({"spec": revision.as_str(), "loopback": loopback, "probe_method": mcp::probe_method(revision)}));
    d.vars.insert(
        "rs".into(),
        json!({
            "url": target.rs_raw,
            "origin": rs_origin,
            "path": target.rs.path(),
            "has_path": metadata::has_path(&target.rs),
            // The same URI with scheme and host upper-cased (MCP: servers SHOULD accept it).
            "url_upper": upper_origin(&target.rs_raw),
            "prm_path_url": prm_path,
            "prm_root_url": prm_root,
            "legacy_metadata_url": format!("{rs_origin}/.well-known/oauth-authorization-server"),
        }),
    );
    let why = std::mem::take(&mut d.whys);
    d.vars.insert("_why".into(), Value::Object(why));
    Discovery {
        vars: Value::Object(d.vars),
        revision,
        revision_reason,
        chosen: target.spec,
        evidence,
        exchanges: d.exchanges,
        unreachable,
        notes: d.notes,
    }
}

/// Authorization servers after the first that discovery resolves (a list is the server's word:
/// its length is not).
const MAX_OTHER_ISSUERS: usize = 4;

/// Resolves one more listed issuer as the first is resolved: `{identifier, found, issuer,
/// metadata_url}`, and why it does not resolve (no metadata, or metadata of another issuer).
async fn other_issuer(
    d: &mut Builder,
    http: &HttpClient,
    identifier: &str,
) -> (Value, Option<String>) {
    let Ok(id_url) = Url::parse(identifier) else {
        return (
            json!({"identifier": identifier, "found": false}),
            Some("not a URL".into()),
        );
    };
    let mut tried = Vec::new();
    for (variant, url) in metadata::as_metadata_candidates(&id_url) {
        let f = d.fetch(http, &url).await;
        match f.outcome {
            Ok((resp, doc)) => {
                let issuer = doc.get("issuer").cloned().unwrap_or(Value::Null);
                let why = (issuer.as_str() != Some(identifier))
                    .then(|| format!("its metadata at {} names issuer {issuer}", f.url));
                let found = json!({"identifier": identifier, "found": true, "variant": variant, "metadata_url": f.url, "issuer": issuer, "status": resp.status});
                return (found, why);
            }
            Err(why) => tried.push(json!({"variant": variant, "url": f.url, "error": why})),
        }
    }
    let summary = summarize(&tried);
    (
        json!({"identifier": identifier, "found": false, "summary": summary}),
        Some(format!("no metadata (tried {summary})")),
    )
}

/// `HTTP://HOST:PORT/path`: scheme and host upper-cased, the rest as written.
fn upper_origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let split = rest.find('/').unwrap_or(rest.len());
    format!(
        "{}://{}{}",
        scheme.to_ascii_uppercase(),
        rest[..split].to_ascii_uppercase(),
        &rest[split..]
    )
}

/// `url → outcome; …` for messages.
fn summarize(tried: &[Value]) -> String {
    let items: Vec<String> = tried
        .iter()
        .map(|t| {
            let outcome = match (t.get("status"), t.get("error").and_then(Value::as_str)) {
                (_, Some(e)) => e.to_string(),
                (Some(s), None) => format!("HTTP {s}"),
                (None, None) => "?".into(),
            };
            format!("{} → {outcome}", t["url"].as_str().unwrap_or(""))
        })
        .collect();
    items.join("; ")
}

/// What each revision introduced, read on positive evidence only: `iss` support ⇒ 2026-07-28; CIMD or
/// OpenID-only discovery ⇒ 2025-11-25; PRM ⇒ 2025-06-18; AS metadata at the MCP server's origin
/// without PRM (the 2025-03-26 shape) ⇒ 2025-03-26. With no evidence at all the latest revision
/// grades: absence of metadata is a finding, not a sign of an old server.
fn infer_revision(vars: &Map<String, Value>) -> Evidence {
    let meta = vars.get("as");
    let flag = |name: &str| meta.and_then(|m| m.get(name)).and_then(Value::as_bool) == Some(true);
    let discovery = |key: &str| {
        vars.get("as_discovery")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (revision, source, why, reason) = if flag("authorization_response_iss_parameter_supported")
    {
        (
            Revision::R2026_07_28,
            Some("the AS's metadata"),
            "it advertises authorization_response_iss_parameter_supported",
            "inferred: the AS advertises authorization_response_iss_parameter_supported",
        )
    } else if flag("client_id_metadata_document_supported")
        || discovery("variant").as_deref() == Some("oidc")
    {
        (
            Revision::R2025_11_25,
            Some("the AS's metadata"),
            "client ID metadata documents or only OpenID discovery",
            "inferred: the AS supports client ID metadata documents or only OpenID discovery",
        )
    } else if vars.contains_key("prm") {
        (
            Revision::R2025_06_18,
            Some("the resource's metadata"),
            "it publishes protected resource metadata",
            "inferred: the resource publishes protected resource metadata",
        )
    } else if meta.is_some() && discovery("identifier_source").as_deref() == Some("rs-origin") {
        (
            Revision::R2025_03_26,
            Some("discovery"),
            "AS metadata at the MCP server's origin and no protected resource metadata",
            "inferred: AS metadata at the MCP server's origin and no protected resource metadata",
        )
    } else {
        (
            Revision::LATEST,
            None,
            "no metadata to infer from",
            "nothing to infer from: grading by the latest revision",
        )
    };
    Evidence {
        revision,
        source,
        why: why.to_string(),
        reason: reason.to_string(),
    }
}

impl Discovery {
    /// Sets the revision graded, and what checks read of it (`run.spec`, `run.probe_method`).
    pub fn grade(&mut self, revision: Revision, reason: String) {
        self.revision = revision;
        self.revision_reason = reason;
        if let Some(run) = self.vars.get_mut("run").and_then(Value::as_object_mut) {
            run.insert("spec".into(), json!(revision.as_str()));
            run.insert("probe_method".into(), json!(mcp::probe_method(revision)));
        }
    }
}

#[derive(Default)]
struct Builder {
    vars: Map<String, Value>,
    whys: Map<String, Value>,
    exchanges: Vec<Exchange>,
    notes: Vec<String>,
}

impl Builder {
    fn why(&mut self, root: &str, why: &str) {
        self.whys
            .entry(root.to_string())
            .or_insert_with(|| Value::String(why.to_string()));
    }

    /// GETs a metadata document; success is a 200 JSON object.
    async fn fetch(&mut self, http: &HttpClient, url: &str) -> Fetched {
        let req = Request::get(url).header("Accept", "application/json");
        let (exchanges, result) = http.send_following(&req, MAX_REDIRECTS).await;
        self.exchanges.extend(exchanges);
        let outcome = match result {
            Err(e) => Err(e.brief()),
            Ok(resp) if (300..400).contains(&resp.status) => {
                Err(format!("still redirecting after {MAX_REDIRECTS} redirects"))
            }
            Ok(resp) if resp.status != 200 => Err(format!("HTTP {}", resp.status)),
            Ok(resp) => match metadata::parse_document(&resp.body) {
                Ok(doc) => Ok((resp, doc)),
                Err(e) => Err(e),
            },
        };
        Fetched {
            url: url.to_string(),
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variable tree as discovery leaves it, from its JSON.
    fn vars(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn inferred(v: Value) -> Evidence {
        infer_revision(&vars(v))
    }

    #[test]
    fn iss_support_means_the_latest_revision_whatever_else_is_there() {
        let e = inferred(json!({
            "prm": {"resource": "http://127.0.0.1:9/mcp"},
            "as": {
                "authorization_response_iss_parameter_supported": true,
                "client_id_metadata_document_supported": true,
            },
            "as_discovery": {"identifier_source": "prm", "variant": "oidc"},
        }));
        assert_eq!(e.revision, Revision::R2026_07_28);
        assert_eq!(e.source, Some("the AS's metadata"));
        assert_eq!(
            e.summary(),
            "the AS's metadata suggests 2026-07-28 (it advertises authorization_response_iss_parameter_supported)"
        );
    }

    #[test]
    fn cimd_or_openid_only_discovery_means_2025_11_25() {
        let cimd = inferred(json!({
            "prm": {},
            "as": {"client_id_metadata_document_supported": true},
            "as_discovery": {"identifier_source": "prm", "variant": "oauth"},
        }));
        assert_eq!(cimd.revision, Revision::R2025_11_25);
        let oidc = inferred(json!({
            "prm": {},
            "as": {},
            "as_discovery": {"identifier_source": "prm", "variant": "oidc"},
        }));
        assert_eq!(oidc.revision, Revision::R2025_11_25);
        assert_eq!(oidc.source, Some("the AS's metadata"));
    }

    #[test]
    fn protected_resource_metadata_means_2025_06_18() {
        let e = inferred(json!({
            "prm": {"resource": "http://127.0.0.1:9/mcp"},
            "as": {"issuer": "http://127.0.0.1:9"},
            "as_discovery": {"identifier_source": "prm", "variant": "oauth"},
        }));
        assert_eq!(e.revision, Revision::R2025_06_18);
        assert_eq!(e.source, Some("the resource's metadata"));
        assert!(e.reason.starts_with("inferred: "), "{}", e.reason);
    }

    #[test]
    fn as_metadata_at_the_mcp_origin_without_prm_means_2025_03_26() {
        let e = inferred(json!({
            "as": {"issuer": "http://127.0.0.1:9"},
            "as_discovery": {"identifier_source": "rs-origin", "variant": "oauth"},
        }));
        assert_eq!(e.revision, Revision::R2025_03_26);
        assert_eq!(e.source, Some("discovery"));
        // The same metadata found through --as is no sign of the old shape.
        let given = inferred(json!({
            "as": {"issuer": "http://127.0.0.1:9"},
            "as_discovery": {"identifier_source": "--as", "variant": "oauth"},
        }));
        assert_eq!(given.revision, Revision::LATEST);
        assert_eq!(given.source, None);
    }

    #[test]
    fn no_evidence_grades_the_latest_revision() {
        for v in [
            json!({}),
            // Discovery found where the AS should be, but no metadata there.
            json!({"as_discovery": {"identifier_source": "rs-origin"}}),
            // A flag must be the JSON `true`, not a string or a number.
            json!({
                "as": {
                    "authorization_response_iss_parameter_supported": "true",
                    "client_id_metadata_document_supported": 1,
                },
                "as_discovery": {"identifier_source": "prm", "variant": "oauth"},
            }),
        ] {
            let e = inferred(v.clone());
            assert_eq!(e.revision, Revision::LATEST, "{v}");
            assert_eq!(e.source, None, "{v}");
            assert_eq!(
                e.summary(),
                "discovery suggests no revision (no metadata to infer from)"
            );
        }
    }

    #[test]
    fn upper_origin_changes_only_scheme_and_host() {
        assert_eq!(
            upper_origin("http://mcp.example:8080/Path/x?q=a"),
            "HTTP://MCP.EXAMPLE:8080/Path/x?q=a"
        );
        assert_eq!(upper_origin("https://h.example"), "HTTPS://H.EXAMPLE");
        assert_eq!(upper_origin("not a url"), "not a url");
    }

    #[test]
    fn summarize_names_each_url_with_its_outcome() {
        let tried = [
            json!({"url": "http://h/.well-known/a", "status": 404}),
            json!({"url": "http://h/.well-known/b", "error": "timed out"}),
            json!({"url": "http://h/.well-known/c"}),
        ];
        assert_eq!(
            summarize(&tried),
            "http://h/.well-known/a → HTTP 404; http://h/.well-known/b → timed out; http://h/.well-known/c → ?"
        );
    }
}
