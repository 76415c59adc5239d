//! Protocol-aware mutation operators. A mutation changes one part of a valid request (a
//! parameter, a JSON member, a header, the body) in one way; a probe carries one or a few.
//! Operators are plain data so that a finding can name what it changed and be minimized by
//! taking operators away.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::template::{Body, Param, Template};

/// Which part of the request an operator changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// A query parameter (authorization requests) or form parameter (token, revocation,
    /// introspection requests): where the endpoint carries its parameters.
    Param(String),
    /// A top-level member of a JSON body (registration metadata, a JSON-RPC request).
    Member(String),
    /// The `Authorization` header of a bearer request.
    Authorization,
    /// The body as a whole.
    Body,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Param(n) => write!(f, "parameter {n}"),
            Part::Member(n) => write!(f, "member {n}"),
            Part::Authorization => f.write_str("Authorization header"),
            Part::Body => f.write_str("body"),
        }
    }
}

/// Text added to or put in place of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extra {
    Space,
    Tab,
    Nul,
    /// CR LF and a header line naming the probe: found again in the answer's headers, the
    /// server split its headers on input.
    HeaderLine,
    /// An HTML element naming the probe behind quote and angle-bracket breakers.
    Html,
    /// A right-to-left override and a combining mark: Unicode a parser may mishandle.
    Unicode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsonKind {
    Number,
    Bool,
    Null,
    Array,
    Object,
    String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwtOp {
    AlgNone,
    KidChanged,
    SignatureRemoved,
    SignatureAltered,
    Expired,
    OtherAudience,
    PayloadNotJson,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Drop,
    /// The same parameter twice with the same value.
    Duplicate,
    /// The same parameter twice, the second with another value.
    DuplicateOther,
    Empty,
    /// The value replaced by this many bytes.
    Oversize(usize),
    Append(Extra),
    Replace(Extra),
    /// Upper-cased.
    Upper,
    /// Every ASCII letter replaced by its full-width form (U+FF21...).
    FullWidth,
    /// Bytes that are not UTF-8 (percent-encoded %FF%FE).
    InvalidUtf8,
    /// Every byte percent-encoded: the same value to a correct decoder.
    Encoded,
    /// A JSON member of another type.
    Mistype(JsonKind),
    /// A JSON member's value wrapped in this many arrays.
    Nest(usize),
    /// The body cut in half.
    Truncate,
    /// The body replaced by arrays nested this deep.
    DeepNest(usize),
    /// `text/plain` instead of the body's media type.
    WrongContentType,
    /// A member with a string of this many bytes added.
    HugeMember(usize),
    /// Authorization header variants.
    Scheme(&'static str),
    SchemeAlone,
    TwoTokens,
    IllegalToken68,
    TwoHeaders,
    Basic,
    Jwt(JwtOp),
}

impl Op {
    /// An operator that makes a value malformed for a server that compares values exactly:
    /// success with it, where the request without the parameter is refused, means the server
    /// accepted malformed input. Equivalent encodings, duplicates and case changes are left out
    /// (servers legitimately differ there, and other checks grade them).
    pub fn malformed(self) -> bool {
        matches!(
            self,
            Op::Append(_)
                | Op::Replace(_)
                | Op::Empty
                | Op::Oversize(_)
                | Op::FullWidth
                | Op::InvalidUtf8
        )
    }

    /// How plain a change is, to prefer the plainest reproducer of a finding: leaving out and
    /// emptying first, size and nesting last.
    pub fn rank(self) -> u8 {
        match self {
            Op::Drop => 0,
            Op::Empty => 1,
            Op::Duplicate => 2,
            Op::DuplicateOther => 3,
            Op::Append(Extra::Space) => 4,
            Op::Append(Extra::Tab) => 5,
            Op::Upper => 6,
            Op::Encoded => 7,
            Op::Mistype(_) => 8,
            Op::Scheme(_) | Op::SchemeAlone | Op::TwoTokens | Op::TwoHeaders | Op::Basic => 9,
            Op::IllegalToken68 | Op::Jwt(_) => 10,
            Op::Append(_) | Op::Replace(_) => 11,
            Op::FullWidth | Op::InvalidUtf8 => 12,
            Op::WrongContentType | Op::Truncate => 13,
            Op::Oversize(_) | Op::Nest(_) | Op::DeepNest(_) | Op::HugeMember(_) => 14,
        }
    }

    /// A shorter description for finding titles.
    pub fn describe(self) -> String {
        let extra = |e: Extra| match e {
            Extra::Space => "a space",
            Extra::Tab => "a tab",
            Extra::Nul => "a NUL byte",
            Extra::HeaderLine => "CR LF and a header line",
            Extra::Html => "HTML markup",
            Extra::Unicode => "right-to-left override and combining mark",
        };
        match self {
            Op::Drop => "left out".into(),
            Op::Duplicate => "sent twice".into(),
            Op::DuplicateOther => "sent twice with different values".into(),
            Op::Empty => "empty".into(),
            Op::Oversize(n) => format!("{n} bytes long"),
            Op::Append(e) => format!("with {} appended", extra(e)),
            Op::Replace(e) => format!("replaced by {}", extra(e)),
            Op::Upper => "upper-cased".into(),
            Op::FullWidth => "in full-width letters".into(),
            Op::InvalidUtf8 => "bytes that are not UTF-8".into(),
            Op::Encoded => "every byte percent-encoded".into(),
            Op::Mistype(k) => format!("a JSON {k:?} instead").to_lowercase(),
            Op::Nest(n) => format!("wrapped in {n} arrays"),
            Op::Truncate => "cut in half".into(),
            Op::DeepNest(n) => format!("arrays nested {n} deep"),
            Op::WrongContentType => "sent as text/plain".into(),
            Op::HugeMember(n) => format!("with a {n}-byte string member added"),
            Op::Scheme(s) => format!("scheme written {s:?}"),
            Op::SchemeAlone => "scheme without a token".into(),
            Op::TwoTokens => "two tokens after the scheme".into(),
            Op::IllegalToken68 => "characters a token68 cannot hold".into(),
            Op::TwoHeaders => "sent twice".into(),
            Op::Basic => "Basic scheme with the token as credentials".into(),
            Op::Jwt(j) => match j {
                JwtOp::AlgNone => "JWT re-signed with alg none".into(),
                JwtOp::KidChanged => "JWT with another kid".into(),
                JwtOp::SignatureRemoved => "JWT without its signature".into(),
                JwtOp::SignatureAltered => "JWT with an altered signature".into(),
                JwtOp::Expired => "JWT with exp in the past (signature kept)".into(),
                JwtOp::OtherAudience => "JWT with another aud (signature kept)".into(),
                JwtOp::PayloadNotJson => "JWT whose payload is not JSON".into(),
            },
        }
    }
}

/// One change of one part.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mutation {
    pub part: Part,
    pub op: Op,
}

impl std::fmt::Display for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.part, self.op.describe())
    }
}

/// The second value of a duplicated parameter or header. Shorter than any value the run's
/// redaction learns as a secret, so that it is shown wherever it appears.
pub const OTHER: &str = "other";

/// The text an `Extra` stands for in the probe named `marker`.
pub fn extra_text(e: Extra, marker: &str) -> String {
    match e {
        Extra::Space => " ".into(),
        Extra::Tab => "\t".into(),
        Extra::Nul => "\0".into(),
        Extra::HeaderLine => format!("\r\nX-{marker}: 1"),
        Extra::Html => format!("\"'><{marker}>"),
        Extra::Unicode => "\u{202e}\u{0301}".into(),
    }
}

/// The header name an injected header line carries, lower-cased as HTTP/1 libraries give it.
pub fn injected_header(marker: &str) -> String {
    format!("x-{marker}").to_ascii_lowercase()
}

/// The element reflected HTML would carry.
pub fn reflected_element(marker: &str) -> String {
    format!("<{marker}>")
}

const VALUE_OPS: &[Op] = &[
    Op::Drop,
    Op::Duplicate,
    Op::DuplicateOther,
    Op::Empty,
    Op::Oversize(16 * 1024),
    Op::Append(Extra::Space),
    Op::Append(Extra::Tab),
    Op::Append(Extra::Nul),
    Op::Append(Extra::HeaderLine),
    Op::Append(Extra::Html),
    Op::Append(Extra::Unicode),
    Op::Replace(Extra::Html),
    Op::Replace(Extra::HeaderLine),
    Op::Upper,
    Op::FullWidth,
    Op::InvalidUtf8,
    Op::Encoded,
];

const MEMBER_OPS: &[Op] = &[
    Op::Drop,
    Op::Empty,
    Op::Oversize(64 * 1024),
    Op::Append(Extra::Nul),
    Op::Append(Extra::Html),
    Op::Append(Extra::Unicode),
    Op::Mistype(JsonKind::Number),
    Op::Mistype(JsonKind::Bool),
    Op::Mistype(JsonKind::Null),
    Op::Mistype(JsonKind::Array),
    Op::Mistype(JsonKind::Object),
    Op::Mistype(JsonKind::String),
    Op::Nest(64),
];

const BODY_OPS: &[Op] = &[
    Op::Truncate,
    Op::DeepNest(1000),
    Op::WrongContentType,
    Op::HugeMember(1024 * 1024),
];

const AUTHORIZATION_OPS: &[Op] = &[
    Op::Scheme("bearer"),
    Op::Scheme("BEARER"),
    Op::Scheme("Bearer  "),
    Op::Scheme("Bearer\t"),
    Op::SchemeAlone,
    Op::TwoTokens,
    Op::IllegalToken68,
    Op::TwoHeaders,
    Op::Basic,
    Op::Oversize(16 * 1024),
    Op::Jwt(JwtOp::AlgNone),
    Op::Jwt(JwtOp::KidChanged),
    Op::Jwt(JwtOp::SignatureRemoved),
    Op::Jwt(JwtOp::SignatureAltered),
    Op::Jwt(JwtOp::Expired),
    Op::Jwt(JwtOp::OtherAudience),
    Op::Jwt(JwtOp::PayloadNotJson),
];

/// Every single mutation of a valid request: each operator on each part it applies to.
/// `in_form`: where the request carries its parameters.
pub fn singles(t: &Template, in_form: bool) -> Vec<Mutation> {
    let mut out = Vec::new();
    let params: Vec<String> = match (in_form, &t.body) {
        (true, Body::Form(p)) => p.iter().map(|p| p.name.clone()).collect(),
        (true, _) => Vec::new(),
        (false, _) => t.query.iter().map(|p| p.name.clone()).collect(),
    };
    for name in dedup(params) {
        for op in VALUE_OPS {
            out.push(Mutation {
                part: Part::Param(name.clone()),
                op: *op,
            });
        }
    }
    if let Body::Json(Value::Object(m)) = &t.body {
        for name in m.keys() {
            for op in MEMBER_OPS {
                out.push(Mutation {
                    part: Part::Member(name.clone()),
                    op: *op,
                });
            }
        }
        for op in BODY_OPS {
            out.push(Mutation {
                part: Part::Body,
                op: *op,
            });
        }
    }
    if t.header("authorization").is_some_and(is_bearer) {
        let jwt = t
            .header("authorization")
            .and_then(|h| h.split_once(' '))
            .is_some_and(|(_, tok)| tok.split('.').count() == 3);
        for op in AUTHORIZATION_OPS {
            if matches!(op, Op::Jwt(_)) && !jwt {
                continue;
            }
            out.push(Mutation {
                part: Part::Authorization,
                op: *op,
            });
        }
    }
    out
}

fn is_bearer(h: &str) -> bool {
    h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer ")
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|n| seen.insert(n.clone()));
    v
}

/// The request with these mutations applied, or `None` when one of them has nothing to change
/// here. `marker` names the probe (in injected headers and markup).
pub fn apply(t: &Template, muts: &[Mutation], in_form: bool, marker: &str) -> Option<Template> {
    let mut t = t.clone();
    for m in muts {
        match &m.part {
            Part::Param(name) => param(&mut t, in_form, name, m.op, marker)?,
            Part::Member(name) => member(&mut t, name, m.op, marker)?,
            Part::Body => body(&mut t, m.op)?,
            Part::Authorization => authorization(&mut t, m.op)?,
        }
    }
    Some(t)
}

fn param(t: &mut Template, in_form: bool, name: &str, op: Op, marker: &str) -> Option<()> {
    let params = t.params_mut(in_form)?;
    let at = params.iter().position(|p| p.name == name)?;
    let value = params[at].value.clone();
    let set = |params: &mut Vec<Param>, v: String, raw: bool| {
        params[at].value = v;
        params[at].raw = raw;
    };
    match op {
        Op::Drop => {
            params.remove(at);
        }
        Op::Duplicate => params.insert(at + 1, Param::new(name, &value)),
        Op::DuplicateOther => params.insert(at + 1, Param::new(name, OTHER)),
        Op::Empty => set(params, String::new(), false),
        Op::Oversize(n) => set(params, "A".repeat(n), false),
        Op::Append(e) => set(params, value + &extra_text(e, marker), false),
        Op::Replace(e) => set(params, extra_text(e, marker), false),
        Op::Upper => set(params, value.to_uppercase(), false),
        Op::FullWidth => set(params, full_width(&value), false),
        Op::InvalidUtf8 => {
            let enc: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            set(params, format!("{enc}%FF%FE"), true)
        }
        Op::Encoded => set(
            params,
            value.bytes().map(|b| format!("%{b:02X}")).collect(),
            true,
        ),
        _ => return None,
    }
    Some(())
}

fn member(t: &mut Template, name: &str, op: Op, marker: &str) -> Option<()> {
    let Body::Json(Value::Object(m)) = &mut t.body else {
        return None;
    };
    let current = m.get(name)?.clone();
    let as_text = match &current {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let new = match op {
        Op::Drop => {
            m.remove(name);
            return Some(());
        }
        Op::Empty => match current {
            Value::Array(_) => json!([]),
            Value::Object(_) => json!({}),
            _ => json!(""),
        },
        Op::Oversize(n) => json!("A".repeat(n)),
        Op::Append(e) => json!(as_text + &extra_text(e, marker)),
        Op::Mistype(k) => match k {
            JsonKind::Number => json!(1e308),
            JsonKind::Bool => json!(true),
            JsonKind::Null => Value::Null,
            JsonKind::Array => json!([current]),
            JsonKind::Object => json!({ "value": current }),
            JsonKind::String => json!(as_text),
        },
        Op::Nest(n) => (0..n).fold(current, |v, _| json!([v])),
        _ => return None,
    };
    m.insert(name.to_string(), new);
    Some(())
}

fn body(t: &mut Template, op: Op) -> Option<()> {
    let Body::Json(v) = &t.body else {
        return None;
    };
    let bytes = serde_json::to_vec(v).ok()?;
    t.body = match op {
        Op::Truncate => Body::Raw {
            content_type: "application/json".into(),
            bytes: bytes[..bytes.len() / 2].to_vec(),
        },
        Op::DeepNest(n) => Body::Raw {
            content_type: "application/json".into(),
            bytes: format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes(),
        },
        Op::WrongContentType => Body::Raw {
            content_type: "text/plain".into(),
            bytes,
        },
        Op::HugeMember(n) => {
            let mut v = v.clone();
            v.as_object_mut()?
                .insert("mcp_oauth_conform_padding".into(), json!("A".repeat(n)));
            Body::Json(v)
        }
        _ => return None,
    };
    Some(())
}

fn authorization(t: &mut Template, op: Op) -> Option<()> {
    let at = t
        .headers
        .iter()
        .position(|(k, _)| k.eq_ignore_ascii_case("authorization"))?;
    let token = t.headers[at].1.split_once(' ')?.1.to_string();
    let value = match op {
        Op::Scheme(s) if s.ends_with([' ', '\t']) => format!("{s}{token}"),
        Op::Scheme(s) => format!("{s} {token}"),
        Op::SchemeAlone => "Bearer".into(),
        Op::TwoTokens => format!("Bearer {token} {token}"),
        Op::IllegalToken68 => format!("Bearer {token},;\"@"),
        Op::TwoHeaders => {
            t.headers
                .insert(at + 1, ("Authorization".into(), format!("Bearer {OTHER}")));
            return Some(());
        }
        Op::Basic => format!("Basic {token}"),
        Op::Oversize(n) => format!("Bearer {}", "A".repeat(n)),
        Op::Jwt(j) => format!("Bearer {}", jwt(&token, j)?),
        _ => return None,
    };
    t.headers[at].1 = value;
    Some(())
}

/// A real token changed in one way: the header or payload rewritten (the signature kept, so a
/// server that verifies must refuse it), or the signature taken away or altered.
fn jwt(token: &str, op: JwtOp) -> Option<String> {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    if parts.len() != 3 {
        return None;
    }
    let decode = |s: &str| -> Option<serde_json::Map<String, Value>> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
    };
    let encode = |m: &serde_json::Map<String, Value>| {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(m).unwrap_or_default())
    };
    match op {
        JwtOp::AlgNone => {
            let mut h = decode(&parts[0])?;
            h.insert("alg".into(), json!("none"));
            parts[0] = encode(&h);
            parts[2] = String::new();
        }
        JwtOp::KidChanged => {
            let mut h = decode(&parts[0])?;
            h.insert("kid".into(), json!("mcp-oauth-conform-unknown"));
            parts[0] = encode(&h);
        }
        JwtOp::SignatureRemoved => parts[2] = String::new(),
        JwtOp::SignatureAltered => {
            let mut sig = parts[2].clone().into_bytes();
            let mid = sig.len() / 2;
            if let Some(b) = sig.get_mut(mid) {
                *b = if *b == b'A' { b'B' } else { b'A' };
            }
            parts[2] = String::from_utf8(sig).ok()?;
        }
        JwtOp::Expired => {
            let mut p = decode(&parts[1])?;
            p.insert("exp".into(), json!(1_000_000_000));
            parts[1] = encode(&p);
        }
        JwtOp::OtherAudience => {
            let mut p = decode(&parts[1])?;
            p.insert("aud".into(), json!("https://other.example/mcp"));
            parts[1] = encode(&p);
        }
        JwtOp::PayloadNotJson => parts[1] = URL_SAFE_NO_PAD.encode(b"{\"sub\":"),
    }
    Some(parts.join("."))
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            }
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Request;

    fn token_request() -> Template {
        Template::from_request(&Request::form(
            "POST",
            "http://127.0.0.1:1/token",
            Vec::new(),
            Vec::new(),
            vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), "abc".into()),
            ],
        ))
    }

    #[test]
    fn each_parameter_gets_every_value_operator() {
        let t = token_request();
        let all = singles(&t, true);
        assert_eq!(all.len(), 2 * VALUE_OPS.len());
    }

    #[test]
    fn operators_change_only_their_part() {
        let t = token_request();
        let m = Mutation {
            part: Part::Param("grant_type".into()),
            op: Op::Append(Extra::Space),
        };
        let changed = apply(&t, &[m], true, "mcpfz1").unwrap();
        assert_eq!(
            changed.param(true, "grant_type"),
            Some("authorization_code ")
        );
        assert_eq!(changed.param(true, "code"), Some("abc"));
        let dropped = apply(
            &t,
            &[Mutation {
                part: Part::Param("code".into()),
                op: Op::Drop,
            }],
            true,
            "m",
        )
        .unwrap();
        assert_eq!(dropped.param(true, "code"), None);
    }

    #[test]
    fn a_header_line_names_the_probe() {
        assert_eq!(extra_text(Extra::HeaderLine, "mcpfz7"), "\r\nX-mcpfz7: 1");
        assert_eq!(injected_header("mcpfz7"), "x-mcpfz7");
    }

    #[test]
    fn jwt_mutations_keep_three_parts() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"aud":"x","exp":9999999999}"#);
        let token = format!("{h}.{p}.c2ln");
        for op in [JwtOp::AlgNone, JwtOp::Expired, JwtOp::SignatureAltered] {
            let t = jwt(&token, op).unwrap();
            assert_eq!(t.split('.').count(), 3);
            assert_ne!(t, token);
        }
    }

    #[test]
    fn json_bodies_nest_and_mistype() {
        let t = Template {
            method: "POST".into(),
            base: "http://127.0.0.1:1/register".into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Json(json!({"redirect_uris": ["http://127.0.0.1/cb"]})),
        };
        let nested = apply(
            &t,
            &[Mutation {
                part: Part::Body,
                op: Op::DeepNest(3),
            }],
            false,
            "m",
        )
        .unwrap();
        assert_eq!(nested.to_request().body.unwrap(), b"[[[]]]".to_vec());
        let typed = apply(
            &t,
            &[Mutation {
                part: Part::Member("redirect_uris".into()),
                op: Op::Mistype(JsonKind::Null),
            }],
            false,
            "m",
        )
        .unwrap();
        assert_eq!(typed.body, Body::Json(json!({"redirect_uris": null})));
    }
}
