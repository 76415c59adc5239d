//! Secrets never leave the process whole. Every secret the run sees (tokens, codes, client
//! secrets, passwords, cookies, session ids) is learned here as it passes through the HTTP client,
//! and every text the tool writes or prints is scrubbed of them at the output boundary.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use serde_json::Value;

/// JSON members, form fields and query parameters whose values are secrets.
pub const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "client_secret",
    "password",
    "code_verifier",
    "token",
    "assertion",
    "client_assertion",
    "device_code",
    "registration_access_token",
];

/// Headers whose values are secrets (compared case-insensitively).
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "mcp-session-id",
];

/// Shorter values are not learned: scrubbing them would mangle ordinary text, and a secret that
/// short is no secret.
const MIN_SECRET_LEN: usize = 6;

/// The shortened form of a secret: enough to tell two apart, never enough to use one.
pub fn shorten(secret: &str) -> String {
    let n = secret.chars().count();
    if n < 16 {
        return format!("«redacted, {n} chars»");
    }
    let head: String = secret.chars().take(4).collect();
    let tail: String = secret.chars().skip(n - 3).collect();
    format!("{head}…{tail}«{n} chars»")
}

#[derive(Debug, Default)]
pub struct Redactor {
    secrets: RwLock<BTreeSet<String>>,
    /// One automaton for every secret learned so far (and how many it covers), rebuilt only when
    /// more were learned: a report has thousands of strings and hundreds of secrets.
    automaton: RwLock<Option<(usize, Arc<Replacer>)>>,
}

#[derive(Debug)]
enum Replacer {
    Automaton {
        automaton: AhoCorasick,
        shortened: Vec<String>,
    },
    OneByOne(Vec<(String, String)>),
}

impl Replacer {
    fn replace(&self, text: &str) -> String {
        match self {
            Replacer::Automaton {
                automaton,
                shortened,
            } => automaton.replace_all(text, shortened),
            Replacer::OneByOne(pairs) => {
                pairs.iter().fold(text.to_string(), |out, (secret, short)| {
                    if out.contains(secret.as_str()) {
                        out.replace(secret.as_str(), short)
                    } else {
                        out
                    }
                })
            }
        }
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn learn(&self, secret: &str) {
        let secret = secret.trim();
        if secret.chars().count() >= MIN_SECRET_LEN {
            if let Ok(mut s) = self.secrets.write() {
                s.insert(secret.to_string());
            }
        }
    }

    /// Learns the secret part of a header value: the credentials after the auth scheme, each
    /// cookie value.
    pub fn learn_header(&self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        // A redirect carries what the authorization server hands the client: the code (query),
        // or tokens (fragment). The client may never request that URL, so learn it here.
        if name == "location" || name == "content-location" {
            self.learn_url(value);
            return;
        }
        if !SECRET_HEADERS.contains(&name.as_str()) {
            return;
        }
        match name.as_str() {
            // The credentials follow the scheme; a bare scheme carries none.
            "authorization" | "proxy-authorization" => {
                if let Some((_, creds)) = value.trim().split_once(' ') {
                    self.learn(creds);
                }
            }
            "cookie" => {
                for pair in value.split(';') {
                    if let Some((_, v)) = pair.split_once('=') {
                        self.learn(v);
                    }
                }
            }
            // A Set-Cookie value is its first pair; the attributes after it are not secret.
            "set-cookie" => {
                if let Some((_, v)) = value.split(';').next().and_then(|p| p.split_once('=')) {
                    self.learn(v);
                }
            }
            _ => self.learn(value),
        }
    }

    /// Learns every value of a secret member, at any depth.
    pub fn learn_json(&self, v: &Value) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) if SECRET_FIELDS.contains(&k.as_str()) => self.learn(s),
                        other => self.learn_json(other),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.learn_json(i)),
            _ => {}
        }
    }

    /// Learns secret fields of a form body or a URL query.
    pub fn learn_pairs<'a>(
        &self,
        pairs: impl IntoIterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) {
        for (k, v) in pairs {
            if SECRET_FIELDS.contains(&k.as_ref()) {
                self.learn(&v);
            }
        }
    }

    /// Learns whatever a body holds: JSON members or form fields.
    pub fn learn_body(&self, body: &[u8]) {
        if let Ok(v) = serde_json::from_slice::<Value>(body) {
            self.learn_json(&v);
        } else if body.contains(&b'=') && !body.contains(&b'<') {
            self.learn_pairs(url::form_urlencoded::parse(body));
        }
    }

    /// Learns secret query and fragment parameters of a URL, absolute or relative.
    pub fn learn_url(&self, url: &str) {
        let parsed = url::Url::parse(url).or_else(|_| {
            url::Url::parse("http://relative.invalid/").and_then(|base| base.join(url))
        });
        if let Ok(u) = parsed {
            self.learn_pairs(u.query_pairs());
            if let Some(frag) = u.fragment() {
                self.learn_pairs(url::form_urlencoded::parse(frag.as_bytes()));
            }
        }
    }

    /// Replaces every learned secret in `text` with its shortened form.
    /// One text (a message while checks still run): the current automaton if there is one,
    /// else a plain search per secret, since more secrets will arrive before the report.
    pub fn scrub(&self, text: &str) -> String {
        match self.replacer(false) {
            Some(r) => r.replace(text),
            None => text.to_string(),
        }
    }

    /// Scrubs every string inside a JSON value (a whole report): worth one automaton.
    pub fn scrub_json(&self, v: &mut Value) {
        if let Some(r) = self.replacer(true) {
            scrub_value(&r, v);
        }
    }

    /// The automaton for the secrets learned so far; `None` when there are none. Leftmost-longest
    /// matching replaces a secret that contains another one whole.
    fn replacer(&self, build: bool) -> Option<Arc<Replacer>> {
        let secrets = self.secrets.read().ok()?;
        if secrets.is_empty() {
            return None;
        }
        if let Ok(cached) = self.automaton.read() {
            if let Some((n, r)) = cached.as_ref() {
                if *n == secrets.len() {
                    return Some(r.clone());
                }
            }
        }
        let shortened: Vec<String> = secrets.iter().map(|s| shorten(s)).collect();
        let one_by_one = |shortened: Vec<String>| {
            let mut pairs: Vec<(String, String)> = secrets.iter().cloned().zip(shortened).collect();
            pairs.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
            Replacer::OneByOne(pairs)
        };
        if !build {
            return Some(Arc::new(one_by_one(shortened)));
        }
        // A contiguous NFA builds in a fraction of a DFA's time and searches fast enough here.
        let built = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(secrets.iter());
        let r = match built {
            Ok(automaton) => Replacer::Automaton {
                automaton,
                shortened,
            },
            // Only an absurd number of secrets gets here; nothing may leak, so fall back to
            // replacing them one by one, longest first.
            Err(_) => one_by_one(shortened),
        };
        let r = Arc::new(r);
        if let Ok(mut cached) = self.automaton.write() {
            *cached = Some((secrets.len(), r.clone()));
        }
        Some(r)
    }
}

fn scrub_value(r: &Replacer, v: &mut Value) {
    match v {
        Value::String(s) => *s = r.replace(s),
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(r, i)),
        Value::Object(map) => map.values_mut().for_each(|i| scrub_value(r, i)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_and_scrubs_from_every_source() {
        let r = Redactor::new();
        r.learn_header(
            "Authorization",
            "Bearer eyJhbGciOiJFZERTQSJ9.payload.signature",
        );
        r.learn_header(
            "Set-Cookie",
            "ref_session=s3ss10nvalue123; Path=/; HttpOnly",
        );
        r.learn_json(&serde_json::json!({"refresh_token": "rt-0123456789abcdef", "nested": [{"code": "code-abcdef"}]}));
        r.learn_body(b"grant_type=authorization_code&code_verifier=verifier-0123456789");
        r.learn_url("http://127.0.0.1/cb?code=authcode-42&state=xyz");
        let text = "eyJhbGciOiJFZERTQSJ9.payload.signature s3ss10nvalue123 rt-0123456789abcdef code-abcdef verifier-0123456789 authcode-42 state=xyz";
        let out = r.scrub(text);
        for secret in [
            "payload.signature",
            "s3ss10nvalue123",
            "rt-0123456789abcdef",
            "code-abcdef",
            "verifier-0123456789",
            "authcode-42",
        ] {
            assert!(!out.contains(secret), "{secret} survived in {out}");
        }
        assert!(out.contains("state=xyz"), "non-secrets stay: {out}");
        assert!(out.contains("eyJh…ure«38 chars»"), "{out}");
    }

    #[test]
    fn learns_from_redirects() {
        let r = Redactor::new();
        r.learn_header(
            "Location",
            "http://127.0.0.1:1/callback?code=code-in-a-redirect-1&state=s",
        );
        r.learn_header("location", "/cb#access_token=token-in-a-fragment-2&x=1");
        let out = r.scrub("code-in-a-redirect-1 token-in-a-fragment-2");
        assert!(!out.contains("code-in-a-redirect-1"), "{out}");
        assert!(!out.contains("token-in-a-fragment-2"), "{out}");
    }

    #[test]
    fn both_paths_replace_a_secret_that_contains_another_whole() {
        let r = Redactor::new();
        r.learn("inner-secret-0123");
        r.learn("outer-inner-secret-0123-tail");
        let text = "a outer-inner-secret-0123-tail b inner-secret-0123 c";
        let want = format!(
            "a {} b {} c",
            shorten("outer-inner-secret-0123-tail"),
            shorten("inner-secret-0123")
        );
        // One message (no automaton yet), then a whole document (automaton), then a message again
        // (the automaton is current and reused).
        assert_eq!(r.scrub(text), want);
        let mut doc = serde_json::json!({"k": [text, {"x": text}]});
        r.scrub_json(&mut doc);
        assert_eq!(
            doc,
            serde_json::json!({"k": [want.clone(), {"x": want.clone()}]})
        );
        assert_eq!(r.scrub(text), want);
    }

    #[test]
    fn a_bare_scheme_is_not_a_secret() {
        let r = Redactor::new();
        r.learn_header("Authorization", "Bearer");
        assert_eq!(r.scrub("Bearer without a token"), "Bearer without a token");
    }

    #[test]
    fn short_values_are_not_learned() {
        let r = Redactor::new();
        r.learn("abc");
        assert_eq!(r.scrub("abc abc"), "abc abc");
    }
}
