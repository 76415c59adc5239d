//! What the document server sends for each case: the client_id URL a case uses, and its answer
//! to the n-th fetch. Each case breaks one thing of an otherwise valid document, so that a
//! refusal can only be about that one thing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::oauth::redirect::is_loopback_host;
use crate::suite::model::DocumentCase;

/// Where a document lives on the document server, and the client_id that names it.
#[derive(Clone, Debug)]
pub struct Placement {
    /// The client_id the authorization request sends.
    pub client_id: String,
    /// The path segment that identifies the document in fetches (a fresh random value).
    pub id: String,
    /// Fetches of the server's root belong to this document (a client_id without a path).
    pub at_root: bool,
}

/// One answer of the document server.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

pub enum Body {
    Bytes(Vec<u8>),
    /// The bytes, one at a time, spread over the duration (a server that waits for the whole
    /// body waits that long).
    Drip(Vec<u8>, Duration),
}

impl Body {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Bytes(b) | Body::Drip(b, _) => b,
        }
    }
}

/// What the document server knows when it answers.
pub struct Context<'a> {
    pub case: DocumentCase,
    pub placement: &'a Placement,
    /// The redirect URIs the document lists (`later`: what `no-store-changing` lists from its
    /// second fetch on).
    pub redirect_uris: &'a [String],
    pub later_redirect_uris: &'a [String],
    /// 1 for the first fetch of this document.
    pub fetch_no: usize,
    /// The step that saw the document broken has ended (`error-then-valid` is valid from then).
    pub fixed: bool,
    /// The fetch is of the redirect target (`redirect`), not of the client_id URL.
    pub at_target: bool,
    /// The URL of the redirect target, for `Location`.
    pub target_url: &'a str,
    /// How long a slow drip lasts.
    pub drip: Duration,
}

/// The valid document for a client_id and its redirect URIs.
pub fn document(client_id: &str, redirect_uris: &[String]) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "mcp-oauth-conform (client ID metadata document)",
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        // What MCP clients declare for loopback redirect URIs; servers apply the any-port rule
        // of loopback IP literals to native clients.
        "application_type": "native",
    })
}

/// The answer to one fetch.
pub fn answer(cx: &Context<'_>) -> Answer {
    use DocumentCase as C;
    let client_id = cx.placement.client_id.as_str();
    let mut doc = document(client_id, cx.redirect_uris);
    let json_answer = |status: u16, doc: &Value| Answer {
        status,
        headers: vec![
            ("content-type", "application/json".into()),
            ("cache-control", "no-store".into()),
        ],
        body: Body::Bytes(doc.to_string().into_bytes()),
    };
    let set = |doc: &mut Value, key: &str, v: Value| {
        if let Some(m) = doc.as_object_mut() {
            m.insert(key.into(), v);
        }
    };
    let remove = |doc: &mut Value, key: &str| {
        if let Some(m) = doc.as_object_mut() {
            m.remove(key);
        }
    };
    match cx.case {
        C::MismatchTrailingSlash => set(&mut doc, "client_id", json!(format!("{client_id}/"))),
        C::MismatchCase => set(&mut doc, "client_id", json!(upper_path(client_id))),
        C::MismatchPath => set(
            &mut doc,
            "client_id",
            json!(client_id.replace("/client.json", "/other-client.json")),
        ),
        C::NotJson => {
            return Answer {
                status: 200,
                headers: vec![("content-type", "application/json".into())],
                body: Body::Bytes(b"client_id: this is not JSON".to_vec()),
            };
        }
        C::JsonArray => return json_answer(200, &json!([doc])),
        C::MissingClientId => remove(&mut doc, "client_id"),
        C::MissingRedirectUris => remove(&mut doc, "redirect_uris"),
        C::MissingClientName => remove(&mut doc, "client_name"),
        C::SecretAuthMethod => set(
            &mut doc,
            "token_endpoint_auth_method",
            json!("client_secret_basic"),
        ),
        C::ClientSecret => set(
            &mut doc,
            "client_secret",
            json!("mcp-oauth-conform-document-secret"),
        ),
        C::Redirect if !cx.at_target => {
            return Answer {
                status: 302,
                headers: vec![("location", cx.target_url.to_string())],
                body: Body::Bytes(Vec::new()),
            };
        }
        C::Status404 => return json_answer(404, &json!({"error": "not found"})),
        C::Status500 => return json_answer(500, &json!({"error": "server error"})),
        C::Status201 => return json_answer(201, &doc),
        // Broken for the whole first authorization: a server may fetch more than once in it.
        C::ErrorThenValid if !cx.fixed => {
            // Cacheable by its headers: errors must not be cached even when they say they may.
            let mut a = json_answer(500, &json!({"error": "server error"}));
            a.headers[1].1 = "max-age=3600".into();
            return a;
        }
        C::NoStoreChanging if cx.fetch_no > 1 => {
            doc = document(client_id, cx.later_redirect_uris);
        }
        C::Size6kb => pad(&mut doc, 6 * 1024),
        C::Size1mb => pad(&mut doc, 1024 * 1024),
        C::SlowDrip => {
            return Answer {
                status: 200,
                headers: vec![("content-type", "application/json".into())],
                body: Body::Drip(doc.to_string().into_bytes(), cx.drip),
            };
        }
        C::TextPlain => {
            return Answer {
                status: 200,
                headers: vec![("content-type", "text/plain".into())],
                body: Body::Bytes(doc.to_string().into_bytes()),
            };
        }
        _ => {}
    }
    json_answer(200, &doc)
}

/// Adds a member of filler so that the document has about `size` bytes.
fn pad(doc: &mut Value, size: usize) {
    let have = doc.to_string().len();
    let filler = "x".repeat(size.saturating_sub(have + 64));
    if let Some(m) = doc.as_object_mut() {
        m.insert("x_mcp_oauth_conform_padding".into(), json!(filler));
    }
}

/// The URL with its path in upper case (scheme and authority kept).
fn upper_path(url: &str) -> String {
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[start..].find('/') {
        Some(i) => format!("{}{}", &url[..start + i], url[start + i..].to_uppercase()),
        None => url.to_string(),
    }
}

/// The client_id a case sends, given the document's ordinary URL (`{base}{id}/client.json`),
/// the base URL, and the URLs of the other loopback listeners. `Err` when the case cannot be
/// built here (why).
pub fn client_id_for(
    case: DocumentCase,
    base: &url::Url,
    id: &str,
    special: &SpecialBases,
) -> Result<(String, bool), String> {
    use DocumentCase as C;
    let plain = format!("{}{id}/client.json", base.as_str());
    let origin = base.origin().ascii_serialization();
    Ok(match case {
        C::UrlHttp => {
            let host = base.host_str().unwrap_or_default();
            if base.scheme() != "https" || is_loopback_host(host) {
                return Err(format!(
                    "the documents are served at {base}: plain http is refused only for hosts that are not loopback, so this needs an https document server on a public name (--cimd-base-url)"
                ));
            }
            (plain.replacen("https://", "http://", 1), false)
        }
        C::UrlNoPath => {
            if base.path() != "/" {
                return Err(format!(
                    "the documents are served under the path of {base}: an origin without a path would not reach the tool"
                ));
            }
            (origin, true)
        }
        C::UrlDotSegments => (format!("{}{id}/x/../client.json", base.as_str()), false),
        C::UrlFragment => (format!("{plain}#fragment"), false),
        C::UrlUserinfo => {
            let rest = plain.split_once("://").map(|(_, r)| r).unwrap_or_default();
            (
                format!("{}://mcp-oauth-conform@{rest}", base.scheme()),
                false,
            )
        }
        C::UrlQuery => (format!("{plain}?version=1"), false),
        C::SpecialIpv4Loopback => match &special.ipv4 {
            Some(b) => (format!("{b}{id}/client.json"), false),
            None => return Err(special.why_none.clone()),
        },
        C::SpecialIpv6Loopback => match &special.ipv6 {
            Some(b) => (format!("{b}{id}/client.json"), false),
            None => return Err(special.why_none.clone()),
        },
        _ => (plain, false),
    })
}

/// Base URLs of the document server on loopback addresses that are not the authorization
/// server's own (`http://127.0.0.2:PORT/`, `http://[::1]:PORT/`), when it is on this machine.
#[derive(Clone, Debug, Default)]
pub struct SpecialBases {
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    /// Why a case has no base here.
    pub why_none: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx<'a>(case: DocumentCase, p: &'a Placement, uris: &'a [String], n: usize) -> Context<'a> {
        Context {
            case,
            placement: p,
            redirect_uris: uris,
            later_redirect_uris: &uris[1..],
            fetch_no: n,
            fixed: n > 1,
            at_target: false,
            target_url: "http://127.0.0.1:1/id/target.json",
            drip: Duration::from_secs(1),
        }
    }

    fn body(a: &Answer) -> Value {
        match &a.body {
            Body::Bytes(b) | Body::Drip(b, _) => serde_json::from_slice(b).unwrap_or(Value::Null),
        }
    }

    #[test]
    fn each_case_breaks_one_thing() {
        let p = Placement {
            client_id: "http://127.0.0.1:1/id/client.json".into(),
            id: "id".into(),
            at_root: false,
        };
        let uris = vec![
            "http://127.0.0.1:2/a".to_string(),
            "http://127.0.0.1:2/b".into(),
        ];
        let valid = answer(&cx(DocumentCase::Valid, &p, &uris, 1));
        assert_eq!(valid.status, 200);
        assert_eq!(body(&valid)["client_id"], p.client_id);
        let slash = answer(&cx(DocumentCase::MismatchTrailingSlash, &p, &uris, 1));
        assert_eq!(
            body(&slash)["client_id"],
            "http://127.0.0.1:1/id/client.json/"
        );
        let case = answer(&cx(DocumentCase::MismatchCase, &p, &uris, 1));
        assert_eq!(
            body(&case)["client_id"],
            "http://127.0.0.1:1/ID/CLIENT.JSON"
        );
        let flaky = |n| answer(&cx(DocumentCase::ErrorThenValid, &p, &uris, n)).status;
        assert_eq!((flaky(1), flaky(2)), (500, 200));
        let changing = |n| body(&answer(&cx(DocumentCase::NoStoreChanging, &p, &uris, n)));
        assert_eq!(changing(1)["redirect_uris"], json!(uris));
        assert_eq!(
            changing(2)["redirect_uris"],
            json!(["http://127.0.0.1:2/b"])
        );
        let big = answer(&cx(DocumentCase::Size1mb, &p, &uris, 1));
        let len = big.body.bytes().len();
        assert!(len > 1000 * 1024 && len <= 1024 * 1024);
        assert_eq!(body(&big)["client_id"], p.client_id);
        let redirect = answer(&cx(DocumentCase::Redirect, &p, &uris, 1));
        assert_eq!(redirect.status, 302);
        assert!(body(&answer(&cx(DocumentCase::JsonArray, &p, &uris, 1))).is_array());
    }

    #[test]
    fn url_cases_change_only_the_url() {
        let base = url::Url::parse("http://127.0.0.1:8/").unwrap();
        let none = SpecialBases {
            why_none: "no".into(),
            ..Default::default()
        };
        let id = |c| client_id_for(c, &base, "abc", &none).map(|(u, _)| u);
        assert_eq!(
            id(DocumentCase::UrlDotSegments).unwrap(),
            "http://127.0.0.1:8/abc/x/../client.json"
        );
        assert_eq!(
            id(DocumentCase::UrlUserinfo).unwrap(),
            "http://mcp-oauth-conform@127.0.0.1:8/abc/client.json"
        );
        assert_eq!(id(DocumentCase::UrlNoPath).unwrap(), "http://127.0.0.1:8");
        assert!(
            id(DocumentCase::UrlHttp).is_err(),
            "loopback http is allowed"
        );
        assert!(id(DocumentCase::SpecialIpv4Loopback).is_err());
        let public = url::Url::parse("https://docs.example/tunnel/").unwrap();
        let http = client_id_for(DocumentCase::UrlHttp, &public, "abc", &none).unwrap();
        assert_eq!(http.0, "http://docs.example/tunnel/abc/client.json");
        assert!(client_id_for(DocumentCase::UrlNoPath, &public, "abc", &none).is_err());
    }
}
