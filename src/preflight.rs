//! Once per run, before any check: one ordinary authorization with the main client, through the
//! user agent, and its code redeemed (the real `authorize` and `token` actions); then, unless
//! `--spec` chose the revision, the revision negotiated with the MCP server
//! ([`crate::negotiate`]), with that token if the server wants one.
//!
//! The MCP server's answer decides the revision graded. What discovery found in the AS's (and the
//! resource's) metadata can confirm it, never raise it: a deployment whose AS advertises
//! 2026-07-28 features in front of an MCP server that speaks 2025-11-25 is graded 2025-11-25.
//! Only when the server cannot be asked does the evidence decide, and the reason says so.
//!
//! The preflight's access token stays here: it is handed to the negotiation and dropped. A run
//! given its tokens (`[tokens]`, `--access-token`) makes no authorization here: the given access
//! token is the one the negotiation uses.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::action::{self, ActionCtx, StepError};
use crate::discovery::{Discovery, Evidence};
use crate::http::{Exchange, HttpClient};
use crate::report::Negotiation;
use crate::revision::Revision;
use crate::session::{ClientKind, Session};
use crate::suite::model::StepDef;
use crate::suite::vars::Scope;

/// A page the ordinary authorization stopped at.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PageSeen {
    pub url: String,
    pub status: u16,
    /// The user agent's reason for stopping there.
    pub why: Option<String>,
    /// Names of the page's controls (hidden and password inputs included; no values).
    pub fields: Vec<String>,
    /// The page has a password input.
    pub asks_password: bool,
    /// The page's text, tags stripped, at most 200 characters.
    pub excerpt: String,
}

/// What the ordinary authorization of the preflight came to. Every string is redacted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Preflight {
    /// Where the authorization ended: `code`, `login` (a page asking for a password), `page`
    /// (another page: an error page), `error` (an error redirect), `redirect` (back without code
    /// or error), `elsewhere` (redirected out of the AS to another URI), `not-run`, or
    /// `given-tokens` (none was made: the run was given its tokens, [`GIVEN`]).
    pub outcome: String,
    /// Why it was not run (`not-run`): no client, no authorization endpoint, no answer.
    pub why_not_run: Option<String>,
    /// The page it stopped at (`login`, `page`).
    pub page: Option<PageSeen>,
    /// An error redirect's `error` and `error_description`.
    pub error: Option<String>,
    /// Where it landed (`elsewhere`, `redirect`, `error`).
    pub landed: Option<String>,
    /// Findings the authorize action made anyway (a redirect to an unregistered URI).
    pub findings: Vec<String>,
    /// The main client was registered by this run (DCR), just before this authorization.
    pub client_registered: bool,
    /// Seconds between the main client's registration answer and this authorization's answer,
    /// when this run registered it: an AS that forgets a client it confirmed with 201 shows
    /// here as an `invalid client` page seconds after the registration.
    pub since_registration_secs: Option<f64>,
    /// Whether the code was redeemed for an access token.
    pub got_token: bool,
    /// Why no token could be had (no client, no code, the token endpoint refused …).
    pub why_no_token: Option<String>,
    /// The token endpoint's status, when it was asked.
    pub token_status: Option<u16>,
    /// Every request the preflight made (registration excepted: the session records it).
    #[serde(skip)]
    pub exchanges: Vec<Exchange>,
}

/// The revision graded, and how it was chosen.
#[derive(Clone, Debug)]
pub struct Grading {
    pub revision: Revision,
    /// One line for the console and the report.
    pub reason: String,
    /// What `results.json` records.
    pub record: Negotiation,
    /// The negotiation's requests.
    pub exchanges: Vec<Exchange>,
}

/// An access token, never printed.
struct Secret(String);

/// The preflight's `outcome` when the run was given its tokens (`[tokens]`, `--access-token`): no
/// authorization was made, and the given access token is the one the MCP server is asked with.
pub const GIVEN: &str = "given-tokens";

/// Runs the preflight and chooses the revision: see the module comment. `found` is left
/// untouched; the caller applies `Grading` with [`Discovery::grade`].
pub async fn prepare(
    http: &HttpClient,
    session: &Session,
    found: &Discovery,
) -> (Preflight, Grading) {
    for secret in session.given_secrets() {
        http.redactor().learn(secret);
    }
    let (preflight, token) = match (&found.unreachable, session.given_tokens()) {
        (Some(u), _) => (
            not_run(format!("the MCP endpoint is unreachable: {u}")),
            None,
        ),
        // Tokens obtained beforehand stand for the ordinary authorization: nothing is sent.
        (None, Some(given)) => (
            Preflight {
                outcome: GIVEN.into(),
                got_token: given.access.is_some(),
                ..Preflight::default()
            },
            given.access.clone().map(Secret),
        ),
        (None, None) => authorize(http, session, found).await,
    };
    let evidence = found.evidence.summary();
    let grading = match found.chosen {
        Some(r) => Grading {
            revision: r,
            reason: "chosen with --spec".into(),
            record: Negotiation {
                server_speaks: None,
                as_evidence: evidence,
                how: "not negotiated: chosen with --spec".into(),
            },
            exchanges: Vec::new(),
        },
        None => {
            let rs = found.vars.pointer("/rs/url").and_then(Value::as_str);
            let (result, exchanges) = match (&found.unreachable, rs) {
                (Some(u), _) => (
                    Err(format!("the MCP endpoint is unreachable: {u}")),
                    Vec::new(),
                ),
                (None, None) => (Err("no MCP endpoint URL".to_string()), Vec::new()),
                (None, Some(rs)) => {
                    crate::negotiate::negotiate(
                        http,
                        rs,
                        token.as_ref().map(|t| t.0.as_str()),
                        preflight.why_no_token.as_deref(),
                    )
                    .await
                }
            };
            drop(token);
            let mut g = grade(result, &found.evidence);
            g.exchanges = exchanges;
            g
        }
    };
    let scrub = |s: &str| http.redactor().scrub(s);
    let grading = Grading {
        reason: scrub(&grading.reason),
        record: Negotiation {
            server_speaks: grading.record.server_speaks,
            as_evidence: scrub(&grading.record.as_evidence),
            how: scrub(&grading.record.how),
        },
        ..grading
    };
    (preflight.scrubbed(http), grading)
}

/// The revision graded from the negotiation's result and discovery's evidence: the server's word
/// when there is one, else the evidence's.
pub fn grade(result: Result<crate::negotiate::Negotiated, String>, evidence: &Evidence) -> Grading {
    let as_evidence = evidence.summary();
    match result {
        Ok(n) => {
            let speaks = n.revision;
            let mut reason = match evidence.source {
                Some(src) if evidence.revision == speaks => {
                    format!(
                        "MCP server speaks {speaks}; {src} agrees ({})",
                        evidence.why
                    )
                }
                Some(_) => format!("MCP server speaks {speaks}; {as_evidence}: graded {speaks}"),
                None => format!("MCP server speaks {speaks}"),
            };
            if let Some(note) = &n.note {
                reason.push_str(&format!(" ({note})"));
            }
            Grading {
                revision: speaks,
                reason,
                record: Negotiation {
                    server_speaks: Some(n.said),
                    as_evidence,
                    how: n.how,
                },
                exchanges: Vec::new(),
            }
        }
        Err(why) => Grading {
            revision: evidence.revision,
            reason: format!(
                "could not negotiate with the MCP server: {why}; {}",
                evidence.reason
            ),
            record: Negotiation {
                server_speaks: None,
                as_evidence,
                how: format!("could not negotiate: {why}"),
            },
            exchanges: Vec::new(),
        },
    }
}

fn not_run(why: String) -> Preflight {
    Preflight {
        outcome: "not-run".into(),
        why_no_token: Some(format!("the preflight authorization did not run: {why}")),
        why_not_run: Some(why),
        ..Preflight::default()
    }
}

/// The ordinary authorization and the code's redemption.
async fn authorize(
    http: &HttpClient,
    session: &Session,
    found: &Discovery,
) -> (Preflight, Option<Secret>) {
    let before = session.exchanges().len();
    if let Err(why) = session.client(http, ClientKind::Main).await {
        return (not_run(format!("no client: {why}")), None);
    }
    let client_registered = session.exchanges().len() > before;
    let registered_at = Instant::now();
    let (auth_step, token_step) = match (
        StepDef::internal("action = \"authorize\""),
        StepDef::internal("action = \"token\""),
    ) {
        (Ok(a), Ok(t)) => (a, t),
        (Err(e), _) | (_, Err(e)) => return (not_run(e), None),
    };
    let ctx = ActionCtx {
        http,
        revision: found.revision,
        session,
        check: "preflight",
    };
    let mut scope = Scope::new(Arc::new(found.vars.clone()));
    let result = action::run(&ctx, &auth_step, &scope).await;
    let mut p = Preflight {
        client_registered,
        since_registration_secs: client_registered.then(|| registered_at.elapsed().as_secs_f64()),
        exchanges: result.exchanges,
        ..Preflight::default()
    };
    let (seen, url, findings) = match result.outcome {
        Ok(o) => o,
        Err(e) => {
            let why = step_error("the authorization request", &e);
            let exchanges = std::mem::take(&mut p.exchanges);
            return (
                Preflight {
                    exchanges,
                    client_registered,
                    since_registration_secs: p.since_registration_secs,
                    ..not_run(why)
                },
                None,
            );
        }
    };
    p.findings = findings.into_iter().map(|f| f.text).collect();
    let json = seen.json.clone().unwrap_or(Value::Null);
    let text = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_string);
    let outcome = text("outcome").unwrap_or_else(|| "page".into());
    p.landed = text("landed");
    match outcome.as_str() {
        "code" => {}
        "error" => {
            p.error = Some(match (text("error"), text("error_description")) {
                (Some(e), Some(d)) => format!("{e}: {d}"),
                (Some(e), None) => e,
                _ => String::new(),
            });
        }
        "page" | "login" => {
            let body = seen.body.as_deref().unwrap_or_default();
            let asks_password = crate::agent::form::forms(body)
                .iter()
                .any(|f| f.has_password);
            p.page = Some(PageSeen {
                url: url.clone().unwrap_or_default(),
                status: seen.status.unwrap_or_default(),
                why: text("stopped"),
                fields: crate::agent::form::control_names(body),
                asks_password,
                excerpt: crate::agent::form::text_excerpt(body, 200),
            });
        }
        _ => {}
    }
    p.outcome = match outcome.as_str() {
        "page" if p.page.as_ref().is_some_and(|pg| pg.asks_password) => "login".into(),
        _ => outcome.clone(),
    };
    if p.outcome != "code" {
        p.why_no_token = Some(match p.outcome.as_str() {
            "login" | "page" => {
                let pg = p.page.clone().unwrap_or_default();
                format!(
                    "the ordinary authorization stopped at {} ({}, HTTP {})",
                    if p.outcome == "login" {
                        "a login page"
                    } else {
                        "a page"
                    },
                    crate::http::without_query(&pg.url),
                    pg.status
                )
            }
            "error" => format!(
                "the ordinary authorization was refused: {}",
                p.error.clone().unwrap_or_default()
            ),
            other => format!(
                "the ordinary authorization ended `{other}` at {}",
                crate::http::without_query(p.landed.as_deref().unwrap_or_default())
            ),
        });
        return (p, None);
    }

    // The code, redeemed.
    scope.set("auth", seen.to_value(url.as_deref()));
    let result = action::run(&ctx, &token_step, &scope).await;
    p.exchanges.extend(result.exchanges);
    match result.outcome {
        Err(e) => {
            p.why_no_token = Some(step_error("the token request", &e));
            (p, None)
        }
        Ok((seen, _, _)) => {
            p.token_status = seen.status;
            let json = seen.json.unwrap_or(Value::Null);
            let token = json
                .get("access_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty());
            match (seen.status, token) {
                (Some(s), Some(t)) if (200..300).contains(&s) => {
                    p.got_token = true;
                    (p, Some(Secret(t.to_string())))
                }
                (status, _) => {
                    let error = [json.get("error"), json.get("error_description")]
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(": ");
                    p.why_no_token = Some(format!(
                        "the token endpoint answered {} {}",
                        status.map(|s| s.to_string()).unwrap_or_default(),
                        if error.is_empty() {
                            "without an access token".to_string()
                        } else {
                            error
                        }
                    ));
                    (p, None)
                }
            }
        }
    }
}

fn step_error(what: &str, e: &StepError) -> String {
    match e {
        StepError::Missing(m) => format!("{what} cannot be made: {m}"),
        StepError::Http(h) => format!("{what} got no answer: {}", h.brief()),
        StepError::RateLimited(m) | StepError::Precondition(m) | StepError::NotApplicable(m) => {
            format!("{what}: {m}")
        }
    }
}

impl Preflight {
    /// Every learned secret shortened in every string.
    fn scrubbed(self, http: &HttpClient) -> Preflight {
        let r = http.redactor();
        let s = |v: String| r.scrub(&v);
        let o = |v: Option<String>| v.map(|v| r.scrub(&v));
        Preflight {
            outcome: self.outcome,
            why_not_run: o(self.why_not_run),
            page: self.page.map(|p| PageSeen {
                url: s(p.url),
                why: o(p.why),
                excerpt: s(p.excerpt),
                ..p
            }),
            error: o(self.error),
            landed: o(self.landed),
            findings: self.findings.into_iter().map(s).collect(),
            why_no_token: o(self.why_no_token),
            ..self
        }
    }
}
