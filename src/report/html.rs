//! `report.html`: one self-contained page (inline CSS and JS, nothing fetched). A summary by
//! verdict, family and level; every check with its spec links, message and HTTP exchanges (JSON
//! pretty-printed, JWTs decoded); a verdict filter; light and dark schemes.
//!
//! The page is a minijinja template with autoescaping on (the template's name ends in `.html`,
//! before `.j2`); this module only builds the view model.

use std::sync::LazyLock;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Value as Jinja};
use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use super::{RunReport, SeenJwt};
use crate::http::Exchange;
use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::{Level, Verdict};

const TEMPLATE_NAME: &str = "report.html.j2";
const TEMPLATE: &str = include_str!("templates/report.html.j2");
const CSS: &str = include_str!("templates/report.css");
const JS: &str = include_str!("templates/report.js");

/// Display order: the worst first.
const ORDER: [Verdict; 6] = [
    Verdict::Fail,
    Verdict::Error,
    Verdict::Warn,
    Verdict::Info,
    Verdict::Skip,
    Verdict::Pass,
];

const LEVELS: [Level; 4] = [Level::Must, Level::Should, Level::May, Level::Info];

pub fn render(r: &RunReport) -> String {
    let mut env = Environment::new();
    // minijinja's HTML escaping also writes `/` as `&#x2f;`; URLs and JSON read better with
    // only the five characters HTML needs escaped. Everything else is the default formatter.
    env.set_formatter(|out, state, value| {
        if *state.auto_escape() == AutoEscape::Html && !value.is_safe() {
            if let Some(s) = value.as_str() {
                return Ok(out.write_str(&html_escape(s))?);
            }
        }
        minijinja::escape_formatter(out, state, value)
    });
    let page = match env.add_template(TEMPLATE_NAME, TEMPLATE) {
        Ok(()) => env.get_template(TEMPLATE_NAME).and_then(|t| {
            t.render(minijinja::value::merge_maps([
                Jinja::from(Serde(view(r))),
                minijinja::context! {
                    css => Jinja::from_safe_string(CSS.to_string()),
                    js => Jinja::from_safe_string(JS.to_string()),
                },
            ]))
        }),
        Err(e) => Err(e),
    };
    // The template is part of the binary and tested; a failure is a bug, shown as such.
    page.unwrap_or_else(|e| {
        format!(
            "<!doctype html><meta charset=utf-8><title>mcp-oauth-conform report</title><p>The report page could not be rendered: {}</p>",
            html_escape(&e.to_string())
        )
    })
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Serialize)]
struct Page {
    version: &'static str,
    target_rs: String,
    target_as: Option<String>,
    spec: String,
    spec_reason: String,
    negotiation: Option<super::Negotiation>,
    agent_blocked: Option<super::AgentBlocked>,
    /// How many checks skipped for want of an authorization code the user agent could get.
    needs_login: usize,
    run_notes: Vec<String>,
    duration_ms: u64,
    requests: u64,
    footprint: crate::footprint::FootprintReport,
    total: usize,
    verdicts: Vec<&'static str>,
    summary: Vec<Count>,
    by_family: Vec<Row>,
    by_level: Vec<Row>,
    families: Vec<Family>,
    discovery_notes: Vec<String>,
    discovery_exchanges: Vec<ExchangeView>,
}

#[derive(Serialize)]
struct Count {
    verdict: &'static str,
    n: usize,
}

#[derive(Serialize)]
struct Row {
    name: String,
    counts: Vec<usize>,
    total: usize,
}

#[derive(Serialize)]
struct Family {
    name: String,
    checks: Vec<CheckView>,
}

#[derive(Serialize)]
struct CheckView {
    id: String,
    title: String,
    level: &'static str,
    party: &'static str,
    verdict: &'static str,
    message: String,
    /// Shown only where the server broke the requirement (fail, warn).
    why: Option<String>,
    fix: Option<String>,
    refs: Vec<RefView>,
    source: String,
    duration_ms: u64,
    open: bool,
    /// For a fail, warn or error: the steps that decided it, shown first.
    failing: Vec<FailingStepView>,
    exchanges: Vec<ExchangeView>,
}

#[derive(Serialize)]
struct FailingStepView {
    index: usize,
    label: String,
    /// Why it got no answer (an error), when no expectation says more.
    why: Option<String>,
    /// The numbers of its exchanges, as the transcript below numbers them.
    exchanges: Vec<usize>,
    expectations: Vec<ExpectationView>,
}

#[derive(Serialize)]
struct ExpectationView {
    expected: String,
    observed: Option<String>,
    level: &'static str,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct RefView {
    text: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct ExchangeView {
    n: usize,
    elapsed_ms: u64,
    method: String,
    url: String,
    request_headers: Vec<(String, String)>,
    request_body: Option<String>,
    status: Option<u16>,
    status_class: &'static str,
    response_headers: Vec<(String, String)>,
    response_body: Option<String>,
    truncated: bool,
    error: Option<String>,
    jwts: Vec<JwtView>,
}

#[derive(Serialize)]
struct JwtView {
    location: String,
    token: String,
    header: String,
    payload: String,
    signature_len: usize,
}

fn view(r: &RunReport) -> Page {
    let count = |items: &[&CheckOutcome]| -> Vec<usize> {
        ORDER
            .iter()
            .map(|v| items.iter().filter(|o| o.verdict == *v).count())
            .collect()
    };
    let all: Vec<&CheckOutcome> = r.outcomes.iter().collect();
    let mut family_names: Vec<&str> = Vec::new();
    for o in &r.outcomes {
        if !family_names.contains(&o.family.as_str()) {
            family_names.push(&o.family);
        }
    }
    let by_family = family_names
        .iter()
        .map(|f| {
            let items: Vec<_> = all.iter().copied().filter(|o| o.family == *f).collect();
            Row {
                name: f.to_string(),
                counts: count(&items),
                total: items.len(),
            }
        })
        .collect();
    let by_level = LEVELS
        .iter()
        .filter_map(|l| {
            let items: Vec<_> = all.iter().copied().filter(|o| o.level == *l).collect();
            (!items.is_empty()).then(|| Row {
                name: l.as_str().to_string(),
                counts: count(&items),
                total: items.len(),
            })
        })
        .collect();
    let families = family_names
        .iter()
        .map(|f| Family {
            name: f.to_string(),
            checks: r
                .outcomes
                .iter()
                .filter(|o| o.family == *f)
                .map(|o| check_view(r, o))
                .collect(),
        })
        .collect();
    let totals = count(&all);
    Page {
        version: env!("CARGO_PKG_VERSION"),
        target_rs: r.target_rs.clone(),
        target_as: r.target_as.clone(),
        spec: r.spec.clone(),
        spec_reason: r.spec_reason.clone(),
        negotiation: r.negotiation.clone(),
        agent_blocked: r.agent_blocked.clone(),
        needs_login: r.skipped_for_login(),
        run_notes: r.run_notes.clone(),
        duration_ms: r.duration_ms,
        requests: r.requests,
        footprint: r.footprint.clone(),
        total: r.outcomes.len(),
        verdicts: ORDER.iter().map(|v| v.as_str()).collect(),
        summary: ORDER
            .iter()
            .zip(totals)
            .map(|(v, n)| Count {
                verdict: v.as_str(),
                n,
            })
            .collect(),
        by_family,
        by_level,
        families,
        discovery_notes: r.discovery_notes.clone(),
        discovery_exchanges: r
            .discovery_exchanges
            .iter()
            .enumerate()
            .map(|(i, x)| exchange_view(i, x, jwts_of(r, None, i)))
            .collect(),
    }
}

fn jwts_of<'a>(r: &'a RunReport, check: Option<&str>, exchange: usize) -> Vec<&'a SeenJwt> {
    r.jwts
        .iter()
        .filter(|j| j.check.as_deref() == check && j.exchange == exchange)
        .collect()
}

fn check_view(r: &RunReport, o: &CheckOutcome) -> CheckView {
    let broken = matches!(o.verdict, Verdict::Fail | Verdict::Warn);
    CheckView {
        id: o.id.clone(),
        title: o.title.clone(),
        level: o.level.as_str(),
        party: o.party.as_str(),
        verdict: o.verdict.as_str(),
        message: o.message.clone(),
        why: broken.then(|| o.why.clone()).flatten(),
        fix: broken.then(|| o.fix.clone()).flatten(),
        refs: o
            .refs
            .iter()
            .map(|t| RefView {
                text: t.clone(),
                href: ref_link(t),
            })
            .collect(),
        source: o.source.clone(),
        duration_ms: o.duration_ms,
        open: matches!(o.verdict, Verdict::Fail | Verdict::Error),
        failing: o
            .failing_steps()
            .into_iter()
            .map(|(step, failed)| FailingStepView {
                index: step.index,
                label: step.label.clone(),
                why: failed.is_empty().then(|| step.why.clone()).flatten(),
                exchanges: step.exchanges.iter().map(|i| i + 1).collect(),
                expectations: failed
                    .into_iter()
                    .map(|e| ExpectationView {
                        expected: e.expected.clone(),
                        observed: e.observed.clone(),
                        level: e.level.as_str(),
                        // The observed value says it; without one, what was found.
                        problems: if e.observed.is_some() {
                            Vec::new()
                        } else {
                            e.problems.clone()
                        },
                    })
                    .collect(),
            })
            .collect(),
        exchanges: o
            .exchanges
            .iter()
            .enumerate()
            .map(|(i, x)| exchange_view(i, x, jwts_of(r, Some(&o.id), i)))
            .collect(),
    }
}

fn exchange_view(i: usize, x: &Exchange, jwts: Vec<&SeenJwt>) -> ExchangeView {
    let status = x.response.as_ref().map(|r| r.status);
    ExchangeView {
        n: i + 1,
        elapsed_ms: x.elapsed_ms,
        method: x.request.method.clone(),
        url: x.request.url.clone(),
        request_headers: x.request.headers.clone(),
        request_body: x
            .request
            .body
            .as_deref()
            .filter(|b| !b.is_empty())
            .map(pretty),
        status,
        status_class: match status {
            Some(200..=299) => "ok",
            Some(300..=399) => "redirect",
            Some(_) => "bad",
            None => "none",
        },
        response_headers: x
            .response
            .as_ref()
            .map(|r| r.headers.clone())
            .unwrap_or_default(),
        response_body: x
            .response
            .as_ref()
            .map(|r| r.body.as_str())
            .filter(|b| !b.is_empty())
            .map(pretty),
        truncated: x.response.as_ref().is_some_and(|r| r.body_truncated),
        error: x.error.clone(),
        jwts: jwts
            .into_iter()
            .map(|j| JwtView {
                location: j.location.clone(),
                token: j.token.clone(),
                header: pretty_value(&j.header),
                payload: pretty_value(&j.payload),
                signature_len: j.signature_len,
            })
            .collect(),
    }
}

/// A JSON object or array body, pretty-printed; anything else as it came.
fn pretty(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => pretty_value(&v),
        _ => body.to_string(),
    }
}

fn pretty_value(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[0-9]+|[A-Z])(?:\.[0-9]+)*$").expect("a valid pattern"));

/// Where a spec reference points. The suites write `RFC9728-3.3`, `OAuth2.1-4.1.1`,
/// `MCP-2025-06-18/authorization#token-handling`, `OIDC-Discovery-4.2`, `CIMD-5`,
/// `MCP-security-best-practices#…`; anything else is shown as text.
pub fn ref_link(reference: &str) -> Option<String> {
    let section = |base: &str, s: &str| {
        if SECTION.is_match(s) {
            let kind = if s.starts_with(|c: char| c.is_ascii_uppercase()) {
                "appendix"
            } else {
                "section"
            };
            format!("{base}#{kind}-{s}")
        } else {
            base.to_string()
        }
    };
    if let Some(rest) = reference.strip_prefix("RFC") {
        let (num, sec) = rest.split_once('-').unwrap_or((rest, ""));
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(section(
            &format!("https://www.rfc-editor.org/rfc/rfc{num}.html"),
            sec,
        ));
    }
    if let Some(sec) = reference.strip_prefix("OAuth2.1-") {
        return Some(section(
            "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1",
            sec,
        ));
    }
    if let Some(sec) = reference.strip_prefix("CIMD-") {
        return Some(section(
            "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-client-id-metadata-document",
            sec,
        ));
    }
    if reference.starts_with("OIDC-Discovery") {
        return Some("https://openid.net/specs/openid-connect-discovery-1_0.html".into());
    }
    if reference.starts_with("OIDC-Registration") {
        return Some("https://openid.net/specs/openid-connect-registration-1_0.html".into());
    }
    if let Some(rest) = reference.strip_prefix("MCP-security-best-practices") {
        return Some(format!(
            "https://modelcontextprotocol.io/specification/2025-11-25/basic/security_best_practices{rest}"
        ));
    }
    if let Some(rest) = reference.strip_prefix("MCP-") {
        let (rev, page) = rest.split_once('/')?;
        let valid_rev = rev.len() == 10
            && rev.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !valid_rev || page.is_empty() {
            return None;
        }
        let page = if page.starts_with("basic/") {
            page.to_string()
        } else {
            format!("basic/{page}")
        };
        return Some(format!(
            "https://modelcontextprotocol.io/specification/{rev}/{page}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Redactor;
    use crate::report::tests::{access_token, sample};

    fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
        let i = s.find(start).unwrap_or_else(|| panic!("no {start}"));
        let rest = &s[i + start.len()..];
        &rest[..rest.find(end).unwrap_or_else(|| panic!("no {end}"))]
    }

    #[test]
    fn renders_the_template_not_the_fallback() {
        let html = render(&sample());
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(!html.contains("could not be rendered"), "{html}");
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn summary_counts_by_verdict_family_and_level() {
        let html = render(&sample());
        for (verdict, n) in [
            ("fail", 1),
            ("error", 1),
            ("warn", 1),
            ("info", 1),
            ("skip", 1),
            ("pass", 1),
        ] {
            let tile = format!(r#"<span class="n" id="count-{verdict}">{n}</span>"#);
            assert!(html.contains(&tile), "no {tile}");
        }
        assert!(html.contains(r#"<span class="n" id="count-total">6</span>"#));
        // By family: prm has fail, warn, skip, pass (columns in display order).
        let prm = between(&html, r#"<tr data-family="prm">"#, "</tr>");
        let cells: Vec<&str> = prm
            .split("<td")
            .skip(1)
            .map(|c| between(c, ">", "</td>"))
            .collect();
        assert_eq!(cells, ["prm", "1", "", "1", "", "1", "1", "4"], "{prm}");
        let must = between(&html, r#"<tr data-level="must">"#, "</tr>");
        assert!(must.contains(">3</td>"), "{must}");
    }

    #[test]
    fn every_check_with_links_message_and_exchanges() {
        let html = render(&sample());
        for id in [
            "prm.resource-matches",
            "prm.scopes-supported",
            "prm.jwks",
            "prm.discoverable",
            "rs.401-no-token",
            "meta.issuer",
        ] {
            assert!(html.contains(&format!(r#"id="check-{id}""#)), "{id}");
        }
        assert!(html.contains(
            r#"<a href="https://www.rfc-editor.org/rfc/rfc9728.html#section-3.3">RFC9728-3.3</a>"#
        ));
        assert!(html.contains(
            r#"href="https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization#overview""#
        ));
        // Request line, pretty-printed JSON response, the error of a failed exchange.
        assert!(html.contains("GET http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp"));
        assert!(
            html.contains("{\n  &quot;resource&quot;: &quot;http://evil&quot;,"),
            "{html}"
        );
        assert!(html.contains("timed out after 2 s"));
    }

    #[test]
    fn why_and_fix_only_where_the_requirement_was_broken() {
        let mut r = sample();
        for o in &mut r.outcomes {
            o.why = Some(format!("why {}", o.id));
            o.fix = Some(format!("<b>fix</b> {}", o.id));
        }
        let html = render(&r);
        for (verdict, shown) in [
            ("fail", true),
            ("warn", true),
            ("error", false),
            ("info", false),
            ("skip", false),
            ("pass", false),
        ] {
            let o = r
                .outcomes
                .iter()
                .find(|o| o.verdict.as_str() == verdict)
                .unwrap();
            let body = between(&html, &format!(r#"id="check-{}""#, o.id), "</details>");
            assert_eq!(
                body.contains(&format!(r#"<dd class="why">why {}</dd>"#, o.id)),
                shown,
                "{verdict}: {body}"
            );
            assert_eq!(
                body.contains(&format!(
                    r#"<dd class="fix">&lt;b&gt;fix&lt;/b&gt; {}</dd>"#,
                    o.id
                )),
                shown,
                "{verdict}: {body}"
            );
        }
        // Without the text, no empty box.
        assert!(!render(&sample()).contains(r#"<dl class="advice">"#));
    }

    #[test]
    fn a_broken_check_shows_the_step_that_broke_it_first() {
        let html = render(&sample());
        let body = between(&html, r#"id="check-prm.resource-matches""#, "</details>");
        let failing = body
            .find(r#"<div class="failing">"#)
            .expect("a failing step");
        assert!(
            failing < body.find(r#"<p class="message">"#).unwrap(),
            "{body}"
        );
        assert!(
            failing < body.find(r#"<div class="exchange">"#).unwrap(),
            "{body}"
        );
        let step = between(body, r#"<div class="failing">"#, "</div>");
        assert!(
            step.contains(r#"fail at step 1: <strong>the PRM document</strong>"#),
            "{step}"
        );
        assert!(
            step.contains(r#"<td>JSON /resource: equals &quot;http://127.0.0.1:9/mcp&quot;</td><td><code>&quot;http://evil&quot;</code></td><td class="l-must">must</td>"#),
            "{step}"
        );
        assert!(
            !step.contains("status 200"),
            "only the failing expectation: {step}"
        );
        let error = between(&html, r#"id="check-rs.401-no-token""#, "</details>");
        assert!(
            error.contains(r#"<p class="why-failed">timed out after 2 s</p>"#),
            "{error}"
        );
        // Passing and skipped checks have none.
        for id in ["prm.discoverable", "prm.jwks"] {
            let body = between(&html, &format!(r#"id="check-{id}""#), "</details>");
            assert!(!body.contains(r#"class="failing""#), "{id}: {body}");
        }
    }

    #[test]
    fn hostile_text_is_escaped() {
        let html = render(&sample());
        assert!(!html.contains("<script>alert(1)"), "message escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; observed"));
        assert!(!html.contains("<img src=x"), "title escaped");
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the page's own script"
        );
        assert!(html.contains("the resource is &lt;http://evil&gt; &amp; not ours"));
    }

    #[test]
    fn nothing_is_fetched() {
        let html = render(&sample());
        let fetching = Regex::new(r#"(?i)<(script|link|img|iframe|embed|object|source|video|audio)\b[^>]*\b(src|href|data)\s*=|url\(|@import|\bfetch\(|XMLHttpRequest"#).unwrap();
        let found: Vec<_> = fetching.find_iter(&html).map(|m| m.as_str()).collect();
        assert!(found.is_empty(), "{found:?}");
        assert!(html.contains("prefers-color-scheme: dark"));
        assert!(html.contains(r#"<meta name="color-scheme" content="light dark">"#));
    }

    #[test]
    fn jwts_are_decoded_from_the_redacted_report() {
        let token = access_token();
        let redactor = Redactor::new();
        redactor.learn(&token);
        let html = render(&sample().redacted(&redactor));
        assert!(!html.contains(&token));
        let section = between(&html, r#"<figure class="jwt">"#, "</figure>");
        assert!(
            section.contains("request header authorization"),
            "{section}"
        );
        assert!(
            section.contains("&quot;alg&quot;: &quot;EdDSA&quot;"),
            "{section}"
        );
        assert!(
            section.contains("&quot;scope&quot;: &quot;mcp&quot;"),
            "{section}"
        );
        assert!(section.contains("64 bytes"), "{section}");
    }

    #[test]
    fn reference_links() {
        for (r, want) in [
            (
                "RFC8414-3.1",
                Some("https://www.rfc-editor.org/rfc/rfc8414.html#section-3.1"),
            ),
            (
                "RFC6749-A.1",
                Some("https://www.rfc-editor.org/rfc/rfc6749.html#appendix-A.1"),
            ),
            (
                "OAuth2.1-7.12.2",
                Some("https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1#section-7.12.2"),
            ),
            (
                "MCP-2025-11-25/basic/transports#security-warning",
                Some(
                    "https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#security-warning",
                ),
            ),
            (
                "MCP-2026-07-28/authorization/client-registration#application-type",
                Some(
                    "https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration#application-type",
                ),
            ),
            (
                "CIMD-01-supporting-both",
                Some(
                    "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-client-id-metadata-document",
                ),
            ),
            ("RFCabc", None),
            ("MCP-latest/authorization", None),
            ("somewhere", None),
        ] {
            assert_eq!(ref_link(r).as_deref(), want, "{r}");
        }
    }
}
