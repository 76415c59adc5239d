//! Reports are pure functions of a [`RunReport`]. The report is redacted once, in
//! [`RunReport::redacted`], before any reporter sees it: no reporter handles a whole secret.

pub mod console;
pub mod html;
pub mod json;
pub mod junit;
pub mod progress;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::redact::redact_header;
use crate::http::{Exchange, Redactor};
use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::Verdict;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub target_rs: String,
    pub target_as: Option<String>,
    pub spec: String,
    pub spec_reason: String,
    /// How the revision was chosen: what the MCP server speaks, what the AS's metadata suggests.
    #[serde(default)]
    pub negotiation: Option<Negotiation>,
    /// The user agent could not get past a page: where, and how to fix it.
    #[serde(default)]
    pub agent_blocked: Option<AgentBlocked>,
    /// What the run learned about the deployment before the checks (said once, not per check).
    #[serde(default)]
    pub run_notes: Vec<String>,
    pub duration_ms: u64,
    pub requests: u64,
    /// What the run did to the deployment: what it sent, created, and left behind.
    #[serde(default)]
    pub footprint: crate::footprint::FootprintReport,
    pub discovery_notes: Vec<String>,
    pub discovery_exchanges: Vec<Exchange>,
    pub outcomes: Vec<CheckOutcome>,
    /// JWTs in the exchanges, decoded before redaction (filled by [`RunReport::redacted`]).
    #[serde(default)]
    pub jwts: Vec<SeenJwt>,
}

/// Where the user agent stopped before any check, when it could not get past a login or consent
/// page (`results.json` → `agent`). Checks that need an authorization code then skip.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentBlocked {
    /// The page's URL, without its query.
    pub page: String,
    pub status: u16,
    /// The names of the page's form fields.
    pub fields: Vec<String>,
    /// How to get past it.
    pub fix: String,
}

/// The revision negotiation of a run (`results.json` → `negotiation`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiation {
    /// The revision the MCP server said it speaks (`None`: not asked, or no answer).
    pub server_speaks: Option<String>,
    /// What discovery's metadata suggests: "the AS's metadata suggests 2026-07-28 (…)".
    pub as_evidence: String,
    /// How the server was asked and what it answered, or why it was not (`--spec`).
    pub how: String,
}

/// A JWT found in an exchange. Header and payload are decoded before redaction so the report can
/// show them; `token` is the text as the exchange holds it, so after redaction it is the
/// shortened form of a secret token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeenJwt {
    /// The check whose exchange holds it; `None` for discovery.
    pub check: Option<String>,
    /// Index of the exchange in that check's (or discovery's) list.
    pub exchange: usize,
    /// Where in the exchange: `request URL`, `request header authorization`, `response body`...
    pub location: String,
    pub token: String,
    pub header: Value,
    pub payload: Value,
    pub signature_len: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub info: usize,
    pub skip: usize,
    pub error: usize,
}

impl Summary {
    pub fn of(outcomes: &[CheckOutcome]) -> Summary {
        let mut s = Summary::default();
        for o in outcomes {
            *match o.verdict {
                Verdict::Pass => &mut s.pass,
                Verdict::Fail => &mut s.fail,
                Verdict::Warn => &mut s.warn,
                Verdict::Info => &mut s.info,
                Verdict::Skip => &mut s.skip,
                Verdict::Error => &mut s.error,
            } += 1;
        }
        s
    }
}

impl RunReport {
    /// The same report with every learned secret shortened in every string it holds. This is
    /// the one place redaction happens: reporters only ever see its result. JWTs are decoded
    /// first (into [`RunReport::jwts`]), so a report can show a token's claims without the token.
    pub fn redacted(&self, redactor: &Redactor) -> RunReport {
        let mut raw = self.clone();
        raw.jwts = jwts::scan(self);
        // Secret headers by name: whatever their credentials look like, learned or not.
        let exchanges = raw
            .discovery_exchanges
            .iter_mut()
            .chain(raw.outcomes.iter_mut().flat_map(|o| o.exchanges.iter_mut()));
        for x in exchanges {
            let response = x.response.as_mut().map(|r| &mut r.headers);
            for headers in std::iter::once(&mut x.request.headers).chain(response) {
                for (k, v) in headers.iter_mut() {
                    *v = redact_header(k, v);
                }
            }
        }
        let mut v = match serde_json::to_value(&raw) {
            Ok(v) => v,
            // Nothing unredacted may leave: an empty report rather than the raw one.
            Err(_) => return self.emptied(redactor),
        };
        redactor.scrub_json(&mut v);
        scrub_json_bodies(&mut v, redactor);
        serde_json::from_value(v).unwrap_or_else(|_| self.emptied(redactor))
    }

    /// The fallback if the report cannot pass through JSON (it always can): nothing unredacted
    /// may leave, so the run's details are dropped rather than passed on raw.
    fn emptied(&self, redactor: &Redactor) -> RunReport {
        RunReport {
            target_rs: redactor.scrub(&self.target_rs),
            target_as: self.target_as.as_deref().map(|a| redactor.scrub(a)),
            spec: self.spec.clone(),
            spec_reason: redactor.scrub(&self.spec_reason),
            negotiation: None,
            agent_blocked: None,
            run_notes: Vec::new(),
            duration_ms: self.duration_ms,
            requests: self.requests,
            footprint: self.footprint.clone(),
            discovery_notes: vec![
                "internal error: the report could not be redacted, so its details were dropped"
                    .into(),
            ],
            discovery_exchanges: Vec::new(),
            outcomes: Vec::new(),
            jwts: Vec::new(),
        }
    }

    /// How many checks skipped because they needed an authorization code the user agent could
    /// not get (see [`AgentBlocked`]).
    pub fn skipped_for_login(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| {
                o.verdict == Verdict::Skip
                    && o.message.starts_with(crate::runner::outcome::NEEDS_LOGIN)
            })
            .count()
    }

    pub fn summary(&self) -> Summary {
        Summary::of(&self.outcomes)
    }
}

/// A JSON body can hold a secret behind escapes (`"tok\u0065n"`) that the plain-text scrub does
/// not see; a reporter that pretty-prints the body would then unescape it. Such bodies are
/// re-serialized from their scrubbed parse.
fn scrub_json_bodies(v: &mut Value, redactor: &Redactor) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                match item {
                    Value::String(body) if k == "body" => {
                        if let Ok(mut parsed) = serde_json::from_str::<Value>(body) {
                            let before = parsed.clone();
                            redactor.scrub_json(&mut parsed);
                            if parsed != before {
                                *body = parsed.to_string();
                            }
                        }
                    }
                    other => scrub_json_bodies(other, redactor),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| scrub_json_bodies(i, redactor)),
        _ => {}
    }
}

mod jwts {
    use std::sync::LazyLock;

    use regex::Regex;

    use super::{RunReport, SeenJwt};
    use crate::http::Exchange;
    use crate::oauth::jwt;

    /// At most this many per exchange: a hostile body full of tokens must not bloat the report.
    const PER_EXCHANGE: usize = 8;

    static JWT_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"ey[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]*={0,2}")
            .expect("a valid pattern")
    });

    pub(super) fn scan(r: &RunReport) -> Vec<SeenJwt> {
        let mut out = Vec::new();
        for (i, x) in r.discovery_exchanges.iter().enumerate() {
            in_exchange(None, i, x, &mut out);
        }
        for o in &r.outcomes {
            for (i, x) in o.exchanges.iter().enumerate() {
                in_exchange(Some(&o.id), i, x, &mut out);
            }
        }
        out
    }

    fn in_exchange(check: Option<&str>, index: usize, x: &Exchange, out: &mut Vec<SeenJwt>) {
        let mut places: Vec<(String, &str)> = vec![("request URL".into(), &x.request.url)];
        for (k, v) in &x.request.headers {
            places.push((format!("request header {}", k.to_ascii_lowercase()), v));
        }
        if let Some(b) = &x.request.body {
            places.push(("request body".into(), b));
        }
        if let Some(resp) = &x.response {
            for (k, v) in &resp.headers {
                places.push((format!("response header {}", k.to_ascii_lowercase()), v));
            }
            places.push(("response body".into(), &resp.body));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (location, text) in places {
            for m in JWT_SHAPE.find_iter(text) {
                if seen.len() >= PER_EXCHANGE {
                    return;
                }
                let token = m.as_str();
                if seen.contains(&token) {
                    continue;
                }
                if let Ok(j) = jwt::inspect(token) {
                    seen.push(token);
                    out.push(SeenJwt {
                        check: check.map(str::to_string),
                        exchange: index,
                        location: location.clone(),
                        token: token.to_string(),
                        header: j.header,
                        payload: j.payload,
                        signature_len: j.signature_len,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::http::exchange::{RequestRecord, ResponseRecord};
    use crate::runner::outcome::{ExpectationOutcome, StepOutcome, StepState};
    use crate::runner::verdict::Level;
    use crate::suite::Party;
    use base64::Engine;

    const CLAIMS: &str = r#"{"aud":"http://127.0.0.1:9/mcp","scope":"mcp"}"#;

    /// A token as a server would hand it out: `eyJ…` header, claims, signature.
    pub(crate) fn access_token() -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            b64.encode(br#"{"alg":"EdDSA","typ":"at+jwt"}"#),
            b64.encode(CLAIMS),
            b64.encode([9u8; 64])
        )
    }

    fn exchange(method: &str, url: &str, auth: Option<&str>, status: u16, body: &str) -> Exchange {
        Exchange {
            request: RequestRecord {
                method: method.into(),
                url: url.into(),
                headers: auth
                    .map(|a| vec![("authorization".to_string(), format!("Bearer {a}"))])
                    .unwrap_or_default(),
                body: None,
            },
            response: Some(ResponseRecord {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.into(),
                body_truncated: false,
            }),
            error: None,
            elapsed_ms: 3,
        }
    }

    fn outcome(id: &str, level: Level, verdict: Verdict, message: &str) -> CheckOutcome {
        CheckOutcome {
            id: id.into(),
            family: id.split('.').next().unwrap_or_default().into(),
            title: format!("title of {id}"),
            party: Party::Rs,
            level,
            verdict,
            message: message.into(),
            refs: vec![
                "RFC9728-3.3".into(),
                "MCP-2025-06-18/authorization#overview".into(),
            ],
            duration_ms: 5,
            source: "suites/x.toml:1".into(),
            exchanges: Vec::new(),
            why: None,
            fix: None,
            steps: Vec::new(),
        }
    }

    /// Six checks, one of each verdict, in three families; hostile text in places.
    pub(crate) fn sample() -> RunReport {
        let token = access_token();
        let mut fail = outcome(
            "prm.resource-matches",
            Level::Must,
            Verdict::Fail,
            "the resource is <http://evil> & not ours",
        );
        fail.exchanges.push(exchange(
            "GET",
            "http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp",
            None,
            200,
            r#"{"resource":"http://evil","authorization_servers":["http://127.0.0.1:9"]}"#,
        ));
        let expectation =
            |expected: &str, observed: &str, problem: Option<&str>| ExpectationOutcome {
                expected: expected.into(),
                passed: problem.is_none(),
                level: Level::Must,
                observed: Some(observed.into()),
                problems: problem.into_iter().map(str::to_string).collect(),
            };
        fail.steps.push(StepOutcome {
            index: 1,
            label: "the PRM document".into(),
            state: StepState::Ran,
            why: None,
            exchanges: vec![0],
            expectations: vec![
                expectation("status 200", "200", None),
                expectation(
                    r#"JSON /resource: equals "http://127.0.0.1:9/mcp""#,
                    r#""http://evil""#,
                    Some(r#"JSON /resource is "http://evil", expected "http://127.0.0.1:9/mcp""#),
                ),
            ],
        });
        let warn = outcome(
            "prm.scopes-supported",
            Level::Should,
            Verdict::Warn,
            "no scopes_supported",
        );
        let skip = outcome(
            "prm.jwks",
            Level::Should,
            Verdict::Skip,
            "no registration endpoint",
        );
        let mut pass = outcome(
            "prm.discoverable",
            Level::Must,
            Verdict::Pass,
            "as required",
        );
        pass.exchanges.push(exchange(
            "POST",
            "http://127.0.0.1:9/mcp",
            Some(&token),
            200,
            &format!(r#"{{"echo":"{token}"}}"#),
        ));
        let mut error = outcome(
            "rs.401-no-token",
            Level::Must,
            Verdict::Error,
            "timed out after 2 s",
        );
        error.exchanges.push(Exchange {
            response: None,
            error: Some("timed out after 2 s".into()),
            ..exchange("POST", "http://127.0.0.1:9/mcp", None, 0, "")
        });
        error.steps.push(StepOutcome {
            index: 1,
            label: "no token".into(),
            state: StepState::Error,
            why: Some("timed out after 2 s".into()),
            exchanges: vec![0],
            expectations: Vec::new(),
        });
        let mut info = outcome(
            "meta.issuer",
            Level::Info,
            Verdict::Info,
            "<script>alert(1)</script> observed",
        );
        info.title = "</script><img src=x onerror=alert(2)>".into();
        RunReport {
            target_rs: "http://127.0.0.1:9/mcp".into(),
            target_as: Some("http://127.0.0.1:9".into()),
            spec: "2025-06-18".into(),
            spec_reason: "inferred: protected resource metadata".into(),
            negotiation: None,
            agent_blocked: None,
            run_notes: Vec::new(),
            duration_ms: 120,
            requests: 4,
            footprint: Default::default(),
            discovery_notes: vec!["PRM at the path-inserted URL".into()],
            discovery_exchanges: vec![exchange("GET", "http://127.0.0.1:9/mcp", None, 401, "")],
            outcomes: vec![fail, warn, skip, pass, error, info],
            jwts: Vec::new(),
        }
    }

    #[test]
    fn redaction_shortens_secrets_everywhere_and_keeps_jwt_claims() {
        let r = sample();
        let token = access_token();
        let redactor = Redactor::new();
        redactor.learn(&token);
        let red = r.redacted(&redactor);
        let text = serde_json::to_string(&red).unwrap();
        assert!(!text.contains(&token), "{text}");
        assert_eq!(red.jwts.len(), 1, "{:?}", red.jwts);
        let j = &red.jwts[0];
        assert_eq!(j.check.as_deref(), Some("prm.discoverable"));
        assert_eq!(j.exchange, 0);
        assert_eq!(j.location, "request header authorization");
        assert_eq!(j.payload["aud"], "http://127.0.0.1:9/mcp");
        assert_eq!(j.signature_len, 64);
        assert_eq!(j.token, crate::http::redact::shorten(&token));
        // The same shortened form in the exchange, so a reporter can match them up.
        let header = &red.outcomes[3].exchanges[0].request.headers[0].1;
        assert_eq!(header, &format!("Bearer {}", j.token));
    }

    #[test]
    fn step_records_are_redacted_like_everything_else() {
        let mut r = sample();
        let token = access_token();
        let e = &mut r.outcomes[0].steps[0].expectations[1];
        e.observed = Some(format!("\"{token}\""));
        e.problems = vec![format!("JSON /resource is \"{token}\"")];
        r.outcomes[4].steps[0].why = Some(format!("sent {token}"));
        let redactor = Redactor::new();
        redactor.learn(&token);
        let red = r.redacted(&redactor);
        let text = serde_json::to_string(&red.outcomes).unwrap();
        assert!(!text.contains(&token), "{text}");
        let short = crate::http::redact::shorten(&token);
        let e = &red.outcomes[0].steps[0].expectations[1];
        assert_eq!(e.observed.as_deref(), Some(format!("\"{short}\"").as_str()));
        assert!(e.problems[0].contains(&short));
    }

    #[test]
    fn a_secret_behind_json_escapes_does_not_survive() {
        let mut r = sample();
        let secret = "s3cr3t/with/slashes-0123456789";
        r.outcomes[0].exchanges[0].response.as_mut().unwrap().body =
            r#"{"client_secret":"s3cr3t\/with\/slashes-0123456789"}"#.into();
        let redactor = Redactor::new();
        redactor.learn(secret);
        let red = r.redacted(&redactor);
        let body = &red.outcomes[0].exchanges[0].response.as_ref().unwrap().body;
        let parsed: Value = serde_json::from_str(body).unwrap();
        let shown = serde_json::to_string_pretty(&parsed).unwrap();
        assert!(!shown.contains(secret), "{shown}");
    }
}
