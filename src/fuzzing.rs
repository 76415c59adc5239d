//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs` are one-liners calling these), and
//! of `tests/fuzz_replay.rs`, which replays the committed seeds and regressions with `cargo test`
//! on stable. Each function takes the raw input, must not panic, and asserts the invariants of
//! its parser: round trips hold, a typed view agrees with the untyped one, a parsed document is
//! an object. Structured targets decode their input with `arbitrary` here, so a replayed file
//! decodes to exactly the value the fuzzer saw.
//!
//! Compiled only with the `fuzzing` feature (fuzz/Cargo.toml, and the crate's dev-dependency on
//! itself for `cargo test`), so the product neither ships this nor links `arbitrary`.

use arbitrary::{Arbitrary, Unstructured};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use crate::oauth::{forge, jwt, metadata, response, www_authenticate};

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs`, `fuzz/seeds/<name>/` and
/// `fuzz/regressions/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("as_metadata", as_metadata),
    ("resource_metadata", resource_metadata),
    ("token_response", token_response),
    ("error_response", error_response),
    ("www_authenticate", www_authenticate),
    ("jwt", jwt),
    ("suite_toml", suite_toml),
    ("login_form", login_form),
    ("redirect_uri", redirect_uri),
    ("mcp_decode", mcp_decode),
    ("profile_toml", profile_toml),
    ("expectations_toml", expectations_toml),
    ("compare_json", compare_json),
    ("metadata_structured", metadata_structured),
    ("challenge_structured", challenge_structured),
];

/// Decodes a structured input exactly as libfuzzer-sys's `fuzz_target!(|x: T| …)` does: too
/// short for the type's minimum size is no input, otherwise `arbitrary_take_rest`.
pub fn decode<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    if data.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

/// JSON equality. Exact, numbers too: serde_json is built with `float_roundtrip`, so a float it
/// wrote reads back as the same float.
pub fn same_json(a: &Value, b: &Value) -> bool {
    a == b
}

/// A parsed document: rendering it and parsing again gives the same document, and the typed
/// view agrees with it member by member.
fn document_views<T: DeserializeOwned + Serialize>(doc: &Map<String, Value>) -> Option<T> {
    let whole = Value::Object(doc.clone());
    let text = serde_json::to_vec(&whole).expect("a JSON value renders");
    let again = metadata::parse_document(&text)
        .unwrap_or_else(|e| panic!("a rendered document does not parse: {e}"));
    assert!(
        same_json(&whole, &Value::Object(again)),
        "render → parse changed the document"
    );
    let t: T = metadata::typed(doc).ok()?;
    let view = serde_json::to_value(&t).expect("a typed view renders");
    for (k, v) in view.as_object().expect("a typed view is an object") {
        assert!(
            doc.get(k).is_some_and(|d| same_json(d, v)),
            "the typed view of `{k}` differs from the document: {v} vs {:?}",
            doc.get(k)
        );
    }
    Some(t)
}

/// The well-known URLs built from an http(s) identifier stay at its origin.
fn well_known_urls(id: &str) {
    let Ok(u) = url::Url::parse(id) else { return };
    if !matches!(u.scheme(), "http" | "https") {
        return;
    }
    let origin = metadata::origin(&u);
    for (_, candidate) in metadata::as_metadata_candidates(&u).into_iter().chain([
        (
            "prm",
            metadata::path_inserted(&u, "oauth-protected-resource"),
        ),
        ("oidc", metadata::appended(&u, "openid-configuration")),
    ]) {
        let c = url::Url::parse(&candidate)
            .unwrap_or_else(|e| panic!("{candidate:?} (from {id:?}) is not a URL: {e}"));
        assert_eq!(
            metadata::origin(&c),
            origin,
            "{candidate:?} left the origin of {id:?}"
        );
        assert!(c.path().contains("/.well-known/"), "{candidate:?}");
    }
}

pub fn as_metadata(data: &[u8]) {
    let Ok(doc) = metadata::parse_document(data) else {
        return;
    };
    let typed: Option<metadata::AsMetadata> = document_views(&doc);
    if let Some(issuer) = typed.and_then(|t| t.issuer) {
        well_known_urls(&issuer);
    }
}

pub fn resource_metadata(data: &[u8]) {
    let Ok(doc) = metadata::parse_document(data) else {
        return;
    };
    let typed: Option<metadata::ResourceMetadata> = document_views(&doc);
    if let Some(resource) = typed.and_then(|t| t.resource) {
        well_known_urls(&resource);
    }
}

pub fn token_response(data: &[u8]) {
    let parsed = response::token_response(data);
    if let Ok(t) = &parsed {
        assert!(metadata::parse_document(data).is_ok());
        assert!(!t.access_token.is_empty());
        assert_eq!(t.raw["access_token"], Value::String(t.access_token.clone()));
        assert_eq!(t.raw["token_type"], Value::String(t.token_type.clone()));
        if let Some(e) = t.expires_in {
            assert_eq!(t.raw["expires_in"].as_u64(), Some(e));
        }
        if let Some(r) = &t.refresh_token {
            assert_eq!(t.raw["refresh_token"].as_str(), Some(r.as_str()));
        }
    }
}

pub fn error_response(data: &[u8]) {
    if let Ok(e) = response::error_response(data) {
        assert_eq!(e.raw["error"].as_str(), Some(e.error.as_str()));
        let problems = e.problems();
        let printable = |s: &str| {
            s.chars()
                .all(|c| matches!(c, '\x20' | '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
        };
        if !e.error.is_empty()
            && printable(&e.error)
            && e.error_description.as_deref().is_none_or(printable)
            && e.error_uri.is_none()
        {
            assert!(problems.is_empty(), "{problems:?}");
        }
    }
}

/// Checks parsed challenges: Bearer problems never panic, duplicates are named, and rendering
/// then parsing gives the same challenges.
fn challenges_round_trip(cs: &[www_authenticate::Challenge]) {
    assert!(!cs.is_empty(), "Ok with no challenge");
    for c in cs {
        let problems = c.bearer_problems();
        let mut names: Vec<String> = c
            .params
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .collect();
        names.sort();
        let duplicated = names.windows(2).any(|w| w[0] == w[1]);
        assert_eq!(
            duplicated,
            problems.iter().any(|p| p.contains("more than once")),
            "{c:?}: {problems:?}"
        );
    }
    let rendered = www_authenticate::render(cs);
    let again = www_authenticate::parse(&rendered)
        .unwrap_or_else(|e| panic!("rendered {rendered:?} does not parse: {e}"));
    assert_eq!(again, cs, "parse → render → parse changed {rendered:?}");
}

pub fn www_authenticate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(cs) = www_authenticate::parse(&text) {
        challenges_round_trip(&cs);
    }
    let _ = www_authenticate::parse_all(text.lines().take(16));
}

pub fn jwt(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let inspected = jwt::inspect(&text);
    if let Ok(j) = &inspected {
        assert!(j.header.is_object() && j.payload.is_object());
    }
    let mut claims = Map::new();
    claims.insert("scope".into(), Value::String("fuzz".into()));
    let d = forge::Defaults {
        issuer: "https://as.example",
        audience: "https://rs.example/mcp",
        scope: Some("mcp"),
    };
    for kind in [
        forge::Forgery::Flip,
        forge::Forgery::TruncateSignature,
        forge::Forgery::Claims,
        forge::Forgery::AlgNone,
        forge::Forgery::OwnKey,
    ] {
        let forged = forge::forge(kind, &text, &claims, None, &d);
        match (kind, &inspected, forged) {
            (forge::Forgery::Claims, Ok(_), Ok(t)) => {
                let j = jwt::inspect(&t).unwrap_or_else(|e| panic!("re-claimed {t:?}: {e}"));
                assert_eq!(j.payload["scope"], "fuzz");
            }
            (forge::Forgery::AlgNone, _, Ok(t)) => {
                let j = jwt::inspect(&t).unwrap_or_else(|e| panic!("alg none {t:?}: {e}"));
                assert_eq!(j.header["alg"], "none");
                assert_eq!(j.signature_len, 0);
            }
            (forge::Forgery::Claims | forge::Forgery::TruncateSignature, Err(_), Ok(t)) => {
                panic!("{kind:?} made {t:?} from a token that is not a JWT")
            }
            _ => {}
        }
    }
}

/// A `file:line:column` must point into the text.
fn located(text: &str, line: usize, column: usize) {
    let lines = text.split('\n').count();
    assert!(
        (1..=lines).contains(&line) && column >= 1,
        "{line}:{column} is outside a {lines}-line text"
    );
}

pub fn suite_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::suite::Suite::from_sources([("fuzz.toml".to_string(), text.to_string())]) {
        Ok(s) => {
            for c in &s.checks {
                assert!(!c.id.is_empty());
            }
        }
        Err(crate::suite::LoadError::Suite(e)) => located(text, e.line, e.column),
        Err(_) => {}
    }
}

pub fn login_form(data: &[u8]) {
    let html = String::from_utf8_lossy(data);
    for f in crate::agent::form::forms(&html) {
        assert!(f.method == "GET" || f.method == "POST", "{}", f.method);
        let body = f.submission(&[("username".into(), "u".into())], None);
        for (k, _) in &f.fields {
            assert!(body.iter().any(|(n, _)| n == k));
        }
        assert!(body.iter().any(|(n, v)| n == "username" && v == "u"));
    }
}

pub fn redirect_uri(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    let same = crate::oauth::redirect::same_endpoint;
    assert_eq!(same(a, b), same(b, a), "not symmetric: {a:?} {b:?}");
    for u in [a, b] {
        assert_eq!(
            same(u, u),
            url::Url::parse(u).is_ok(),
            "not reflexive: {u:?}"
        );
    }
    // Query and fragment are the response's: they never make two endpoints differ.
    if let Ok(mut u) = url::Url::parse(a) {
        if !u.cannot_be_a_base() {
            u.set_query(Some("code=x&state=y"));
            u.set_fragment(None);
            assert!(same(a, u.as_str()), "{a:?} vs {u}");
        }
    }
}

pub fn mcp_decode(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let content_type = match first % 3 {
        0 => "text/event-stream",
        1 => "application/json",
        _ => "Text/Event-Stream; charset=utf-8",
    };
    let resp = crate::http::Response {
        url: "http://127.0.0.1/mcp".into(),
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        body: body.to_vec(),
    };
    let _ = crate::mcp::decode(&resp);
}

pub fn profile_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(crate::config::ConfigError::File { line, column, .. }) =
        crate::config::parse_profile("fuzz.toml", text)
    {
        located(text, line, column);
    }
}

pub fn expectations_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::expectations::parse("fuzz.toml", text) {
        Ok(e) => {
            for entry in &e.entries {
                assert!(!entry.id.trim().is_empty());
            }
        }
        Err(crate::expectations::ExpectError::Invalid { line, column, .. }) => {
            located(text, line, column)
        }
        Err(_) => {}
    }
}

pub fn compare_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(run) = crate::compare::parse("fuzz.json", text) {
        let c = crate::compare::compare(&run, &run);
        assert!(!c.got_worse(), "a run compared with itself got worse");
        let _ = crate::compare::render(&run, &run, &c);
    }
}

// Structured inputs.

/// Nesting of generated JSON values; serde_json refuses more than 128.
const MAX_DEPTH: usize = 6;

#[derive(Arbitrary, Debug)]
pub enum GenHost {
    Localhost,
    Loopback4,
    Loopback6,
    Example,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
pub struct GenUrl {
    pub https: bool,
    pub host: GenHost,
    pub port: Option<u16>,
    pub path: Vec<String>,
    pub trailing_slash: bool,
    pub query: Option<String>,
}

impl GenUrl {
    pub fn render(&self) -> String {
        let host = match &self.host {
            GenHost::Localhost => "localhost".to_string(),
            GenHost::Loopback4 => "127.0.0.1".to_string(),
            GenHost::Loopback6 => "[::1]".to_string(),
            GenHost::Example => "as.example.com".to_string(),
            GenHost::Raw(h) => h.clone(),
        };
        let mut s = format!("{}://{host}", if self.https { "https" } else { "http" });
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        for seg in self.path.iter().take(6) {
            s.push('/');
            s.push_str(seg);
        }
        if self.trailing_slash {
            s.push('/');
        }
        if let Some(q) = &self.query {
            s.push('?');
            s.push_str(q);
        }
        s
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Endpoint {
    Authorization,
    Token,
    Registration,
    Revocation,
    Introspection,
    Jwks,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum List {
    Scopes,
    ResponseTypes,
    GrantTypes,
    CodeChallengeMethods,
    TokenEndpointAuthMethods,
}

#[derive(Arbitrary, Debug)]
pub enum Word {
    Code,
    S256,
    Plain,
    AuthorizationCode,
    RefreshToken,
    None,
    ClientSecretBasic,
    Mcp,
    Raw(String),
}

impl Word {
    fn text(&self) -> String {
        match self {
            Word::Code => "code",
            Word::S256 => "S256",
            Word::Plain => "plain",
            Word::AuthorizationCode => "authorization_code",
            Word::RefreshToken => "refresh_token",
            Word::None => "none",
            Word::ClientSecretBasic => "client_secret_basic",
            Word::Mcp => "mcp",
            Word::Raw(s) => s,
        }
        .to_string()
    }
}

#[derive(Arbitrary, Debug)]
pub enum GenValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<GenValue>),
    Object(Vec<(String, GenValue)>),
}

impl GenValue {
    fn to_json(&self, depth: usize) -> Value {
        if depth >= MAX_DEPTH {
            return Value::Null;
        }
        match self {
            GenValue::Null => Value::Null,
            GenValue::Bool(b) => Value::Bool(*b),
            GenValue::Int(i) => Value::Number((*i).into()),
            GenValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            GenValue::Str(s) => Value::String(s.clone()),
            GenValue::Array(a) => Value::Array(a.iter().map(|v| v.to_json(depth + 1)).collect()),
            GenValue::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), v.to_json(depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// A generated authorization server metadata document: known members of the right types, plus
/// anything else.
#[derive(Arbitrary, Debug)]
pub struct GenMetadata {
    pub issuer: GenUrl,
    pub endpoints: Vec<(Endpoint, GenUrl)>,
    pub lists: Vec<(List, Vec<Word>)>,
    pub iss_parameter: Option<bool>,
    pub extra: Vec<(String, GenValue)>,
}

impl GenMetadata {
    /// The document and what its typed view must read.
    pub fn build(&self) -> (Map<String, Value>, metadata::AsMetadata) {
        let known = [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "registration_endpoint",
            "revocation_endpoint",
            "introspection_endpoint",
            "jwks_uri",
            "scopes_supported",
            "response_types_supported",
            "grant_types_supported",
            "code_challenge_methods_supported",
            "token_endpoint_auth_methods_supported",
            "authorization_response_iss_parameter_supported",
            "client_id_metadata_document_supported",
        ];
        let mut doc = Map::new();
        for (k, v) in self.extra.iter().take(16) {
            // Unknown members only: a known one of another type would (rightly) fail the typed view.
            if !known.contains(&k.as_str()) {
                doc.insert(k.clone(), v.to_json(0));
            }
        }
        let mut t = metadata::AsMetadata {
            issuer: Some(self.issuer.render()),
            ..Default::default()
        };
        for (e, u) in self.endpoints.iter().take(8) {
            let u = Some(u.render());
            match e {
                Endpoint::Authorization => t.authorization_endpoint = u,
                Endpoint::Token => t.token_endpoint = u,
                Endpoint::Registration => t.registration_endpoint = u,
                Endpoint::Revocation => t.revocation_endpoint = u,
                Endpoint::Introspection => t.introspection_endpoint = u,
                Endpoint::Jwks => t.jwks_uri = u,
            }
        }
        for (l, words) in self.lists.iter().take(8) {
            let w = Some(words.iter().take(8).map(Word::text).collect());
            match l {
                List::Scopes => t.scopes_supported = w,
                List::ResponseTypes => t.response_types_supported = w,
                List::GrantTypes => t.grant_types_supported = w,
                List::CodeChallengeMethods => t.code_challenge_methods_supported = w,
                List::TokenEndpointAuthMethods => t.token_endpoint_auth_methods_supported = w,
            }
        }
        t.authorization_response_iss_parameter_supported = self.iss_parameter;
        if let Value::Object(members) = serde_json::to_value(&t).expect("renders") {
            doc.extend(members);
        }
        (doc, t)
    }
}

pub fn metadata_structured(data: &[u8]) {
    let Some(g) = decode::<GenMetadata>(data) else {
        return;
    };
    let (doc, expected) = g.build();
    let bytes = serde_json::to_vec(&Value::Object(doc.clone())).expect("renders");
    let parsed = metadata::parse_document(&bytes)
        .unwrap_or_else(|e| panic!("a generated document does not parse: {e}"));
    assert!(same_json(
        &Value::Object(parsed.clone()),
        &Value::Object(doc)
    ));
    let typed: metadata::AsMetadata =
        document_views(&parsed).expect("a generated document has a typed view");
    assert_eq!(typed, expected);
    as_metadata(&bytes);
}

#[derive(Arbitrary, Debug)]
pub enum GenScheme {
    Bearer,
    BearerLower,
    Basic,
    DPoP,
    Negotiate,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
pub enum GenParamName {
    Realm,
    Scope,
    Error,
    ErrorDescription,
    ErrorUri,
    ResourceMetadata,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
pub enum GenBody {
    Empty,
    Token68(String, u8),
    Params(Vec<(GenParamName, String)>),
}

#[derive(Arbitrary, Debug)]
pub struct GenChallenge {
    pub scheme: GenScheme,
    pub body: GenBody,
}

fn tchars(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c))
        .collect();
    if t.is_empty() { "x".into() } else { t }
}

impl GenChallenge {
    pub fn build(&self) -> www_authenticate::Challenge {
        let scheme = match &self.scheme {
            GenScheme::Bearer => "Bearer".to_string(),
            GenScheme::BearerLower => "bearer".to_string(),
            GenScheme::Basic => "Basic".to_string(),
            GenScheme::DPoP => "DPoP".to_string(),
            GenScheme::Negotiate => "Negotiate".to_string(),
            GenScheme::Raw(s) => tchars(s),
        };
        let mut c = www_authenticate::Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        match &self.body {
            GenBody::Empty => {}
            GenBody::Token68(t, pad) => {
                let mut t: String = t
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(*c))
                    .collect();
                if t.is_empty() {
                    t.push('a');
                }
                t.push_str(&"=".repeat(usize::from(pad % 3)));
                c.token68 = Some(t);
            }
            GenBody::Params(ps) => {
                for (name, value) in ps.iter().take(12) {
                    let name = match name {
                        GenParamName::Realm => "realm".to_string(),
                        GenParamName::Scope => "scope".to_string(),
                        GenParamName::Error => "error".to_string(),
                        GenParamName::ErrorDescription => "error_description".to_string(),
                        GenParamName::ErrorUri => "error_uri".to_string(),
                        GenParamName::ResourceMetadata => "resource_metadata".to_string(),
                        GenParamName::Raw(s) => tchars(s),
                    };
                    // A quoted-string holds any character but the controls (tab allowed).
                    let value: String = value
                        .chars()
                        .filter(|&ch| ch == '\t' || (ch >= ' ' && ch != '\x7f'))
                        .collect();
                    c.params.push((name, value));
                }
            }
        }
        c
    }
}

pub fn challenge_structured(data: &[u8]) {
    let Some(gs) = decode::<Vec<GenChallenge>>(data) else {
        return;
    };
    let cs: Vec<_> = gs.iter().take(8).map(GenChallenge::build).collect();
    if cs.is_empty() {
        return;
    }
    let rendered = www_authenticate::render(&cs);
    let parsed = www_authenticate::parse(&rendered)
        .unwrap_or_else(|e| panic!("generated {rendered:?} does not parse: {e}"));
    assert_eq!(parsed, cs, "render → parse changed {rendered:?}");
    challenges_round_trip(&parsed);
    www_authenticate(rendered.as_bytes());
}
