//! Secrets never leave the process whole. Two nets, applied to every text the tool writes or
//! prints, at the output boundary:
//!
//! - **By name.** Wherever a credential can travel, its carrier names it: URL query and fragment
//!   parameters and form fields (`code=…`, also percent-encoded inside another URL), JSON members
//!   at any depth (`"refresh_token": "…"`), `Authorization` / `Proxy-Authorization` credentials
//!   (`Bearer …`, `Basic …`), `Cookie` / `Set-Cookie` values and `Mcp-Session-Id`. The value under
//!   one of [`SECRET_FIELDS`] is shortened whatever its shape, even one the run never learned.
//! - **By value.** Every secret the run sees (tokens, codes, client secrets, passwords, cookies,
//!   session ids) is learned as it passes through the HTTP client, and found again in every
//!   encoding it can take: raw, percent-encoded (upper- and lower-case hex, every reserved
//!   character or only the query delimiters), form-encoded (`+` for space) and JSON-escaped
//!   (`\/` too). That catches a secret echoed where no name marks it (an `error_description`,
//!   an HTML page, a check's message). A Basic credential is learned whole (its base64) and as
//!   the secret it decodes to.
//!
//! Either way the value becomes its [`shorten`]ed form (`head…tail«n chars»`), so a report can
//! still tell two credentials apart. All learned encodings go into one Aho-Corasick automaton:
//! one pass per string.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use regex::{Captures, Regex};

use serde_json::Value;

/// JSON members, form fields and query/fragment parameters whose values are secrets (compared
/// case-insensitively in text, exactly in JSON): OAuth 2.1 tokens and codes, client credentials
/// (RFC 6749 §2.3.1, RFC 7523 assertions), the resource owner password, PKCE verifiers, the
/// RFC 7009/7662 `token` parameter, RFC 7591 registration tokens, RFC 8628 device codes, RFC 8693
/// token-exchange inputs, and OpenID Connect `id_token_hint`.
pub const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "code",
    "client_secret",
    "password",
    "code_verifier",
    "token",
    "assertion",
    "client_assertion",
    "device_code",
    "registration_access_token",
    "subject_token",
    "actor_token",
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

/// Already the output of [`shorten`] (a second pass over a redacted text leaves it alone).
fn is_shortened(value: &str) -> bool {
    value.ends_with("chars»") || value.starts_with('«') || value.contains('…')
}

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Every form `secret` takes in an HTTP exchange or a report: raw, percent-encoded (all
/// reserved characters, upper and lower hex; or only the query delimiters), form-encoded, and
/// JSON-escaped (with and without `\/`).
pub fn encodings(secret: &str) -> BTreeSet<String> {
    const UNRESERVED: &[u8] = b"-._~";
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    let pct = |keep: &dyn Fn(u8) -> bool, lower: bool| -> String {
        let mut out = String::with_capacity(secret.len() * 3);
        for b in secret.bytes() {
            if keep(b) {
                out.push(b as char);
            } else {
                let hex = if lower { LOWER } else { UPPER };
                out.push('%');
                out.push(hex[(b >> 4) as usize] as char);
                out.push(hex[(b & 15) as usize] as char);
            }
        }
        out
    };
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || UNRESERVED.contains(&b);
    // What a query value must escape (the url crate's query set plus `&`, `+`, `=`).
    let query_safe = |b: u8| b.is_ascii_graphic() && !b"\"#%&'+<=>".contains(&b) && b != b'`';
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let lower_hex = |s: &str| -> String {
        // Only the hex digits after a `%` change case.
        let mut out = String::with_capacity(s.len());
        let mut left = 0;
        for c in s.chars() {
            if c == '%' {
                left = 2;
                out.push(c);
            } else if left > 0 {
                left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    };
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(secret)
        .to_string();
    let mut out = BTreeSet::new();
    out.insert(secret.to_string());
    out.insert(pct(&unreserved, false));
    out.insert(pct(&unreserved, true));
    out.insert(pct(&query_safe, false));
    out.insert(pct(&query_safe, true));
    out.insert(lower_hex(&form));
    out.insert(form);
    out.insert(json.replace('/', "\\/"));
    out.insert(json);
    out
}

/// `name=value` in a URL, a form body or a text: the name after a delimiter (also a
/// percent-encoded `?`, `&` or `#` of a URL nested in another), `=` or `%3D`, and the value up to
/// the next delimiter (`%26` and `%23` included).
static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    let names = SECRET_FIELDS.join("|");
    Regex::new(&format!(
        r#"(?i)(?:^|[^A-Za-z0-9_.\-]|%3F|%26|%23)(?:{names})(?:=|%3D)((?:[^&#\s"'<>;,()\[\]{{}}\\%…«]|%[013-9A-Fa-f][0-9A-Fa-f]|%2[0-24-57-9A-Fa-f])+)"#
    ))
    .expect("a valid pattern")
});

/// `"name": "value"` in JSON text, and `\"name\": \"value\"` in JSON inside a JSON string.
static JSON_MEMBER: LazyLock<Regex> = LazyLock::new(|| {
    let names = SECRET_FIELDS.join("|");
    Regex::new(&format!(
        r#"(?i)"(?:{names})"\s*:\s*"((?:[^"\\]|\\.)*)"|\\"(?:{names})\\"\s*:\s*\\"((?:[^"\\]|\\[^"])*)\\""#
    ))
    .expect("a valid pattern")
});

/// `Bearer <token68>` / `Basic <token68>` / `DPoP <token68>` in a text: the credential must be
/// long, hold a digit, and not be an auth-param (`realm="…"`).
static AUTH_CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(?:Bearer|Basic|DPoP)\s+([A-Za-z0-9._~+/-]{16,}=*)(?:$|[^A-Za-z0-9._~+/="-])"#,
    )
    .expect("a valid pattern")
});

/// Shortens, in free text, every value a credential's name marks: query, fragment and form
/// parameters, JSON members, and the credentials of an auth scheme.
pub fn redact_names(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for re in [&*PAIR, &*JSON_MEMBER, &*AUTH_CREDENTIAL] {
        if let Cow::Owned(s) = replace_groups(re, &out) {
            out = Cow::Owned(s);
        }
    }
    out
}

/// Replaces the first participating group of each match with its shortened form.
fn replace_groups<'t>(re: &Regex, text: &'t str) -> Cow<'t, str> {
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(g) = caps_group(&caps) else {
            continue;
        };
        let value = g.as_str();
        // A value cut by an already shortened form (`code=abcd…xyz«20 chars»`) stays.
        if value.is_empty() || is_shortened(value) || text[g.end()..].starts_with(['…', '«']) {
            continue;
        }
        out.push_str(&text[last..g.start()]);
        out.push_str(&shorten(value));
        last = g.end();
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

fn caps_group<'h>(caps: &Captures<'h>) -> Option<regex::Match<'h>> {
    caps.iter().skip(1).flatten().next()
}

/// Shortens the secret part of a header value: the credentials after the auth scheme (all of
/// them, so a Basic credential's `id:secret` goes whole), each cookie value, a session id.
/// Other headers are returned as they are.
pub fn redact_header(name: &str, value: &str) -> String {
    let name = name.to_ascii_lowercase();
    let keep = |v: &str| v.trim().is_empty() || is_shortened(v.trim());
    match name.as_str() {
        "authorization" | "proxy-authorization" => match value.trim().split_once(' ') {
            Some((scheme, creds)) if !keep(creds) => format!("{scheme} {}", shorten(creds.trim())),
            _ => value.to_string(),
        },
        "cookie" => value
            .split(';')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if !keep(v) => format!("{k}={}", shorten(v.trim())),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";"),
        "set-cookie" => {
            let (first, rest) = value.split_at(value.find(';').unwrap_or(value.len()));
            match first.split_once('=') {
                Some((k, v)) if !keep(v) => format!("{k}={}{rest}", shorten(v.trim())),
                _ => value.to_string(),
            }
        }
        "mcp-session-id" if !keep(value) => shorten(value.trim()),
        _ => redact_names(value).into_owned(),
    }
}

/// Shortens the string value of every secret member of a JSON value, at any depth, and the
/// secrets named in every other string.
pub fn redact_json_names(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                match item {
                    Value::String(s) if is_secret_field(k) => {
                        if !s.is_empty() && !is_shortened(s) {
                            *s = shorten(s);
                        }
                    }
                    other => redact_json_names(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json_names),
        Value::String(s) => {
            if let Cow::Owned(r) = redact_names(s) {
                *s = r;
            }
        }
        _ => {}
    }
}

#[derive(Debug, Default)]
pub struct Redactor {
    /// Every encoding of every secret learned so far, with the shortened form of its secret.
    /// An encoding two secrets share (never in practice) keeps the first.
    forms: RwLock<BTreeMap<String, String>>,
    /// One automaton for every encoding learned so far (and how many it covers), rebuilt only
    /// when more were learned: a report has thousands of strings and hundreds of secrets.
    automaton: RwLock<Option<(usize, Arc<Replacer>)>>,
    /// The same encodings longest first, for a single message before the report.
    plain: RwLock<Option<(usize, Arc<Replacer>)>>,
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
        if secret.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let Ok(mut forms) = self.forms.write() else {
            return;
        };
        if forms.contains_key(secret) {
            return;
        }
        let short = shorten(secret);
        for e in encodings(secret) {
            forms.entry(e).or_insert_with(|| short.clone());
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
                if let Some((scheme, creds)) = value.trim().split_once(' ') {
                    self.learn(creds);
                    // Basic: base64 of `id:secret`, each form-encoded (RFC 6749 §2.3.1).
                    if scheme.eq_ignore_ascii_case("basic") {
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(creds.trim())
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok());
                        if let Some((_, secret)) =
                            decoded.as_deref().and_then(|d| d.split_once(':'))
                        {
                            self.learn(secret);
                            for (k, _) in url::form_urlencoded::parse(secret.as_bytes()) {
                                self.learn(&k);
                            }
                        }
                    }
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
                        Value::String(s) if is_secret_field(k) => self.learn(s),
                        other => self.learn_json(other),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.learn_json(i)),
            _ => {}
        }
    }

    /// Learns secret fields of a form body or a URL query.
    pub fn learn_pairs<'a>(&self, pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) {
        for (k, v) in pairs {
            if is_secret_field(&k) {
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

    /// Shortens every credential `text` names ([`redact_names`]) and every learned secret, in
    /// any of its [`encodings`]. One text (a message while checks still run): the current
    /// automaton if there is one, else a plain search per encoding, since more secrets will
    /// arrive before the report.
    pub fn scrub(&self, text: &str) -> String {
        let named = redact_names(text);
        match self.replacer(false) {
            Some(r) => r.replace(&named),
            None => named.into_owned(),
        }
    }

    /// Scrubs every string inside a JSON value (a whole report): worth one automaton. Secret
    /// members are shortened whole first.
    pub fn scrub_json(&self, v: &mut Value) {
        redact_json_names(v);
        if let Some(r) = self.replacer(true) {
            scrub_value(&r, v);
        }
    }

    /// The automaton for the secrets learned so far, in all their encodings; `None` when there
    /// are none. Leftmost-longest matching replaces a secret that contains another one whole.
    fn replacer(&self, build: bool) -> Option<Arc<Replacer>> {
        let forms = self.forms.read().ok()?;
        if forms.is_empty() {
            return None;
        }
        let slot = if build { &self.automaton } else { &self.plain };
        // A current automaton serves single messages too.
        for s in [&self.automaton, slot] {
            if let Ok(cached) = s.read() {
                if let Some((n, r)) = cached.as_ref() {
                    if *n == forms.len() {
                        return Some(r.clone());
                    }
                }
            }
        }
        let r = if build {
            // A contiguous NFA builds in a fraction of a DFA's time and searches fast enough.
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(forms.keys());
            match built {
                Ok(automaton) => Replacer::Automaton {
                    automaton,
                    shortened: forms.values().cloned().collect(),
                },
                // Only an absurd number of secrets gets here; nothing may leak, so fall back
                // to replacing them one by one, longest first.
                Err(_) => one_by_one(&forms),
            }
        } else {
            one_by_one(&forms)
        };
        let r = Arc::new(r);
        if let Ok(mut cached) = slot.write() {
            *cached = Some((forms.len(), r.clone()));
        }
        Some(r)
    }
}

/// Every encoding and its shortened form, longest first: a secret that contains another is
/// replaced whole.
fn one_by_one(forms: &BTreeMap<String, String>) -> Replacer {
    let mut pairs: Vec<(String, String)> =
        forms.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    Replacer::OneByOne(pairs)
}

fn scrub_value(r: &Replacer, v: &mut Value) {
    match v {
        Value::String(s) => *s = r.replace(s),
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(r, i)),
        Value::Object(map) => map.values_mut().for_each(|i| scrub_value(r, i)),
        _ => {}
    }
}

/// A value as it reads in a message: compact JSON, cut to a readable length. No credential is
/// quoted beyond its shortened form: secret members (at any depth) and the values named in
/// URLs and forms are shortened, and a long string without spaces (a token, whatever member
/// it came from) is shown shortened rather than cut, since a cut one escapes redaction.
pub fn show(v: &Value) -> String {
    let mut v = v.clone();
    redact_json_names(&mut v);
    let s = match &v {
        Value::String(t) if t.chars().count() > 64 && !t.contains(char::is_whitespace) => {
            let named = redact_names(t);
            if named.contains('«') || url::Url::parse(t).is_ok() {
                Value::String(named.into_owned()).to_string()
            } else {
                format!("\"{}\"", shorten(t))
            }
        }
        _ => v.to_string(),
    };
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
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

    const COLON: &str = "demo-user:code-7:Zm9vYmFyYmF6cXV4/ab+cd";

    /// Every encoding of a learned secret is shortened, in any text.
    #[test]
    fn every_encoding_of_a_learned_secret_is_shortened() {
        let r = Redactor::new();
        r.learn(COLON);
        let encoded = [
            COLON.to_string(),
            "demo-user%3Acode-7%3AZm9vYmFyYmF6cXV4%2Fab%2Bcd".to_string(),
            "demo-user%3acode-7%3aZm9vYmFyYmF6cXV4%2fab%2bcd".to_string(),
            "demo-user:code-7:Zm9vYmFyYmF6cXV4/ab%2Bcd".to_string(),
            url::form_urlencoded::byte_serialize(COLON.as_bytes()).collect(),
            "demo-user:code-7:Zm9vYmFyYmF6cXV4\\/ab+cd".to_string(),
        ];
        for e in &encoded {
            let text = format!("before {e} after");
            for out in [r.scrub(&text), {
                let mut v = Value::String(text.clone());
                r.scrub_json(&mut v);
                v.as_str().unwrap().to_string()
            }] {
                assert!(!out.contains(e.as_str()), "{e} survived: {out}");
                assert!(out.contains(&shorten(COLON)), "{out}");
            }
        }
        // Form encoding turns a space into `+`.
        r.learn("secret with spaces 0123");
        let out = r.scrub("error_description=bad+secret+secret+with+spaces+0123+given");
        assert!(!out.contains("secret+with+spaces+0123"), "{out}");
        // JSON escapes.
        r.learn("quote\"and\\backslash");
        let out = r.scrub(r#"{"x":"quote\"and\\backslash"}"#);
        assert!(!out.contains("backslash"), "{out}");
    }

    #[test]
    fn a_basic_credential_is_learned_whole_and_as_its_secret() {
        let r = Redactor::new();
        let b64 = base64::engine::general_purpose::STANDARD.encode("client-1:s3cr%3At-value");
        r.learn_header("Authorization", &format!("Basic {b64}"));
        let out = r.scrub(&format!("{b64} s3cr:t-value s3cr%3At-value"));
        assert!(!out.contains(&b64), "{out}");
        assert!(!out.contains("s3cr:t-value"), "{out}");
        assert!(!out.contains("s3cr%3At-value"), "{out}");
    }

    /// Values under a credential's name go whatever their shape, learned or not.
    #[test]
    fn named_values_are_shortened_in_every_carrier() {
        let r = Redactor::new();
        let cases = [
            // query, fragment, nested URL, form body
            (
                "http://c/cb?code=abc%3Adef%2Fghi&state=s",
                "abc%3Adef%2Fghi",
            ),
            (
                "http://c/cb#access_token=opaque-at-1&refresh_token=user%3Art&x=1",
                "opaque-at-1",
            ),
            (
                "http://c/cb#access_token=opaque-at-1&refresh_token=user%3Art-99&x=1",
                "user%3Art-99",
            ),
            (
                "next=http%3A%2F%2Fc%2Fcb%3Fcode%3Dnested-code-1%26state%3Ds",
                "nested-code-1",
            ),
            (
                "grant_type=refresh_token&refresh_token=rt%2Bplus&CLIENT_SECRET=cs-1",
                "rt%2Bplus",
            ),
            ("grant_type=x&client_secret=cs-1", "cs-1"),
            (
                "token=tok-to-revoke&token_type_hint=refresh_token",
                "tok-to-revoke",
            ),
            ("password=hunter2&username=alice", "hunter2"),
            ("subject_token=st-1&actor_token=at-2", "at-2"),
            // JSON at any depth, and JSON inside a JSON string
            (r#"{"a":{"b":[{"id_token":"ey.x.y"}]}}"#, "ey.x.y"),
            (r#"{"registration_access_token" : "rat-1"}"#, "rat-1"),
            (r#"{"text":"{\"access_token\":\"inner-1\"}"}"#, "inner-1"),
            // auth schemes in text
            (
                "Authorization: Bearer opaque0token0value01",
                "opaque0token0value01",
            ),
        ];
        for (text, secret) in cases {
            let out = r.scrub(text);
            assert!(!out.contains(secret), "{secret} survived: {out}");
            assert!(out.contains("chars»"), "{out}");
            // A second pass leaves the shortened forms as they are.
            assert_eq!(r.scrub(&out), out, "{text}");
        }
        // Not secrets: other names, auth-params, ordinary words.
        for text in [
            "code_challenge=abcdefg&state=xyz&response_type=code",
            r#"Bearer realm="mcp", resource_metadata="http://x/.well-known/y""#,
            r#"Bearer error="invalid_token""#,
            r#"{"token_type":"Bearer","expires_in":3600,"code":-32600}"#,
            "the code was refused",
        ] {
            assert_eq!(r.scrub(text), text);
        }
    }

    #[test]
    fn secret_members_are_shortened_in_json_values() {
        let r = Redactor::new();
        let mut v = serde_json::json!({
            "x": [{"refresh_token": "never-learned-refresh-token-1"}],
            "url": "http://c/cb?code=never-learned-code",
            "token_type": "Bearer",
        });
        r.scrub_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains("never-learned"), "{text}");
        assert_eq!(v["token_type"], "Bearer");
    }

    #[test]
    fn secret_headers_are_shortened_by_name() {
        assert_eq!(
            redact_header("Authorization", "Bearer opaque-token-0123456789"),
            format!("Bearer {}", shorten("opaque-token-0123456789"))
        );
        assert_eq!(
            redact_header("authorization", "Basic Y2xpZW50OnNlY3JldA=="),
            format!("Basic {}", shorten("Y2xpZW50OnNlY3JldA=="))
        );
        assert_eq!(
            redact_header("Cookie", "a=one-secret; b=two-secret"),
            format!("a={}; b={}", shorten("one-secret"), shorten("two-secret"))
        );
        assert_eq!(
            redact_header("set-cookie", "sid=abcdef123; Path=/; HttpOnly"),
            format!("sid={}; Path=/; HttpOnly", shorten("abcdef123"))
        );
        assert_eq!(
            redact_header("Mcp-Session-Id", "0123456789abcdef"),
            shorten("0123456789abcdef")
        );
        assert_eq!(
            redact_header("Location", "http://c/cb?code=a%3Ab&state=s"),
            format!("http://c/cb?code={}&state=s", shorten("a%3Ab"))
        );
        assert_eq!(redact_header("content-type", "text/html"), "text/html");
        assert_eq!(redact_header("Authorization", "Bearer"), "Bearer");
    }

    /// The demo's scale: hundreds of secrets, a megabyte of text, one automaton.
    #[test]
    #[ignore = "a timing, not a test: cargo test --release redaction_cost -- --ignored --nocapture"]
    fn redaction_cost() {
        let r = Redactor::new();
        for i in 0..400 {
            r.learn(&format!("user:grant-{i}:Zm9vYmFyYmF6cXV4Zm9vYmFy/{i:08}"));
        }
        let line = "GET http://127.0.0.1/cb?code=abc&state=xyz {\"access_token\":\"x\"} ";
        let mut doc = serde_json::json!(vec![line.repeat(20); 800]);
        let t = std::time::Instant::now();
        r.scrub_json(&mut doc);
        eprintln!(
            "scrub_json of {} KB: {:?}",
            line.len() * 20 * 800 / 1024,
            t.elapsed()
        );
    }
}
