//! What a step is given and what it gives back: the context an action runs in, what it observed,
//! the findings it makes itself, and the helpers every action uses to turn an answer into an
//! observation. Kept apart from `action/mod.rs` so that the actions share these without
//! importing the dispatcher that imports them.

use serde_json::Value;

use crate::http::{Exchange, HttpClient, HttpError, Response};
use crate::revision::Revision;
use crate::suite::model::{Level, StatusPattern, StepDef};
use crate::suite::vars::Missing;

/// What one step saw: a response, or for `inspect` a value.
#[derive(Clone, Debug)]
pub struct Observed {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The parsed JSON document, or why there is none.
    pub json: Result<Value, String>,
    /// What the action knows besides the answer (the client it used, say): `${name.meta.…}`.
    pub meta: Value,
}

impl Default for Observed {
    fn default() -> Self {
        Observed {
            status: None,
            headers: Vec::new(),
            body: None,
            json: Err("nothing observed".into()),
            meta: Value::Null,
        }
    }
}

impl Observed {
    pub fn header_joined(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// The JSON shape under which later steps read this one: `${name.status}`,
    /// `${name.headers.location}`, `${name.json.client_id}`, `${name.body}`.
    pub fn to_value(&self, url: Option<&str>) -> Value {
        let mut headers = serde_json::Map::new();
        for (k, _) in &self.headers {
            let k = k.to_ascii_lowercase();
            if !headers.contains_key(&k) {
                let joined = self.header_joined(&k).unwrap_or_default();
                headers.insert(k, Value::String(joined));
            }
        }
        serde_json::json!({
            "url": url,
            "status": self.status,
            "headers": headers,
            "json": self.json.as_ref().ok(),
            "body": self.body,
            "meta": self.meta,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub text: String,
}

/// What an action needs from the run.
pub struct ActionCtx<'a> {
    pub http: &'a HttpClient,
    pub revision: Revision,
    pub session: &'a crate::session::Session,
    /// The check the step belongs to (documents a check hosts are its own).
    pub check: &'a str,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum StepError {
    /// The check cannot run here: a variable it needs is missing.
    #[error(transparent)]
    Missing(#[from] Missing),
    /// No usable answer: the check's verdict is `error`.
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{0}")]
    RateLimited(String),
    /// Something the check needs cannot be had here (no client, no agent): `skip`.
    #[error("{0}")]
    Precondition(String),
    /// This step has nothing to test here (a redirect-URI variant the client's URI has no
    /// counterpart of): the check goes on without it, and says so.
    #[error("{0}")]
    NotApplicable(String),
}

#[derive(Clone)]
pub struct StepResult {
    pub exchanges: Vec<Exchange>,
    /// What the step observed, the URL it observed it at, and findings the action itself makes
    /// whatever the step expects (a redirect to an unregistered URI, say).
    pub outcome: Result<(Observed, Option<String>, Vec<Finding>), StepError>,
}

/// Turns a response into what expectations see, refusing a 429 the step did not ask for: a
/// rate-limited answer says nothing about conformance.
pub(super) fn observe(
    step: &StepDef,
    resp: Response,
    json: Result<serde_json::Value, String>,
) -> Result<(Observed, Option<String>, Vec<Finding>), StepError> {
    let wants_429 = step
        .expect
        .status
        .iter()
        .flat_map(|s| s.patterns())
        .any(|p| matches!(p, StatusPattern::Code(429)));
    if resp.status == 429 && !wants_429 {
        let retry = resp
            .header("retry-after")
            .map(|r| format!(", Retry-After: {r}"))
            .unwrap_or_default();
        let policy = resp
            .header("ratelimit-policy")
            .map(|p| format!(", RateLimit-Policy: {p}"))
            .unwrap_or_default();
        return Err(StepError::RateLimited(format!(
            "{} answered 429 Too Many Requests{retry}{policy}: the server's rate limit for this endpoint is spent, so the check could not run; run again once its window has passed, or fewer checks at a time (--skip)",
            resp.url
        )));
    }
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    let url = Some(resp.url.clone());
    Ok((
        Observed {
            status: Some(resp.status),
            headers: resp.headers,
            body: Some(body),
            json,
            meta: serde_json::Value::Null,
        },
        url,
        Vec::new(),
    ))
}

/// `observe` for an answer whose body should be JSON.
pub(super) fn observe_with_json(
    step: &StepDef,
    resp: Response,
) -> Result<(Observed, Option<String>, Vec<Finding>), StepError> {
    let json = if resp.body.is_empty() {
        Err("the body is empty".to_string())
    } else {
        serde_json::from_slice(&resp.body).map_err(|e| e.to_string())
    };
    observe(step, resp, json)
}

/// A variable's value as request text.
pub(super) fn text(v: &serde_json::Value) -> String {
    crate::suite::vars::display(v)
}
