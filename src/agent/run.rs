//! What one authorization is given (the configuration, the URL, the origins it may visit) and
//! what it gives back (where it landed, the pages on the way), shared by every agent mode.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::http::{Exchange, HttpClient, Response};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Follow,
    Form,
    Command,
    Interactive,
}

/// `[agent]` of a target profile.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(default)]
    pub mode: Mode,
    /// How long one authorization may take (a person needs longer than a script).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// `command` mode: program and arguments; the authorization URL is appended.
    #[serde(default)]
    pub command: Vec<String>,
    /// Origins besides the authorization endpoint's that the browser may visit (an upstream
    /// identity provider's login page, say).
    #[serde(default)]
    pub origins: Vec<String>,
    /// `form` mode: the login script, tried in order on every page.
    #[serde(default, rename = "login")]
    pub steps: Vec<LoginStep>,
}

/// One page of a login script: when the page matches, fill these fields and press this button.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginStep {
    /// Regular expression the page URL must match.
    #[serde(default)]
    pub url: Option<String>,
    /// Regular expression the page body must match.
    #[serde(default)]
    pub contains: Option<String>,
    /// The form's `id` or `name`; default: the first form that has every field named below.
    #[serde(default)]
    pub form: Option<String>,
    /// Field values; `${env.NAME}` reads an environment variable (keep passwords there).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The submit button to press, as `{ name = "value" }`; default: the first named one.
    #[serde(default)]
    pub submit: BTreeMap<String, String>,
    /// The page may not appear (a remembered login skips it).
    #[serde(default)]
    pub optional: bool,
}

impl AgentConfig {
    pub fn timeout(&self) -> Duration {
        let default = if self.mode == Mode::Interactive {
            300
        } else {
            30
        };
        Duration::from_secs(self.timeout_secs.unwrap_or(default))
    }
}

/// A page the agent saw on the way.
#[derive(Clone, Debug, Serialize)]
pub struct Visit {
    pub url: String,
    pub status: u16,
}

/// Where an authorization ended.
#[derive(Debug, Default)]
pub struct Landing {
    /// The URL the server redirected to outside the visitable origins: the redirect back.
    pub landed: Option<String>,
    /// The last response the agent received (a page, or the redirect itself).
    pub last: Option<Response>,
    pub visits: Vec<Visit>,
    /// Status of every redirect that answered a form POST (307 would re-post credentials).
    pub post_redirects: Vec<u16>,
    /// Why the agent stopped on a page instead of landing.
    pub stopped: Option<String>,
    /// The page it stopped on asks the user something: a password, or a form to post (consent).
    pub login_page: bool,
    pub exchanges: Vec<Exchange>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Http(#[from] crate::http::HttpError),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    External(String),
}

/// What a single authorization may do.
pub struct Run<'a> {
    pub http: &'a HttpClient,
    pub url: &'a str,
    /// Origins the browser may request (scheme://host[:port]).
    pub origins: Vec<String>,
    /// May the agent log in and consent? If not, it stops at the first page.
    pub allow_login: bool,
    /// The `state` sent, so that a listener can tell this authorization's callback apart.
    pub state: Option<&'a str>,
}

/// `scheme://host[:port]` of a URL, as the browser's same-origin rule sees it.
pub fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
}

/// Why a `${env.NAME}` value cannot be read.
#[derive(Debug)]
pub enum EnvRef {
    /// `${env.` without its `}`.
    Unterminated,
    /// The variable is not set.
    Unset(String),
}

/// Resolves every `${env.NAME}` in a value from the environment (profile secrets and login
/// scripts: secrets stay out of the file).
pub fn resolve_env(value: &str) -> Result<String, EnvRef> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${env.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let end = after.find('}').ok_or(EnvRef::Unterminated)?;
        let name = &after[..end];
        let v = std::env::var(name).map_err(|_| EnvRef::Unset(name.to_string()))?;
        out.push_str(&v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves `${env.NAME}` in a login-script value.
pub fn expand_env(value: &str) -> Result<String, AgentError> {
    resolve_env(value).map_err(|e| match e {
        EnvRef::Unterminated => AgentError::Config(format!("unterminated ${{env.…}} in `{value}`")),
        EnvRef::Unset(name) => AgentError::Config(format!(
            "the login script needs the environment variable {name}"
        )),
    })
}
