//! What a run did to the deployment under test: what it created (clients, tokens), what it sent
//! (registrations, authorizations, token requests, tool calls), and what it could not clean up.
//! Users point the tool at staging and production; this is the account they get of it
//! (`results.json` → `footprint`, the console summary, report.html).
//!
//! Actions record into one [`Footprint`] per run (it lives in the run's context); the report
//! reads a [`FootprintReport`] snapshot.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::Exchange;
use crate::session::client::Client;

/// The run's counters, and what it created (for the clean-up). Cheap to record into from any
/// check, concurrently.
#[derive(Debug, Default)]
pub struct Footprint {
    inner: Mutex<FootprintReport>,
    created: Mutex<Created>,
}

#[derive(Debug, Default)]
struct Created {
    clients: Vec<CreatedClient>,
    tokens: Vec<IssuedToken>,
}

/// A client the run registered (the session's own, or a check's `http` registration that the
/// server accepted).
#[derive(Clone, Debug)]
pub struct CreatedClient {
    pub client_id: String,
    /// RFC 7592: the client configuration endpoint and its bearer token, when the registration
    /// response carried both (without them the client cannot be deleted).
    pub management: Option<Management>,
}

#[derive(Clone, Debug)]
pub struct Management {
    pub registration_client_uri: String,
    pub registration_access_token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// RFC 7009's `token_type_hint`.
    pub fn hint(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }
    }
}

/// A token the authorization server issued to the run.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub kind: TokenKind,
    pub value: String,
    /// The client that obtained it; `None` when a check's own `http` request did.
    pub client: Option<Client>,
}

/// The authorization server's endpoints whose requests the footprint counts.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub registration: Option<String>,
    pub authorization: Option<String>,
    pub token: Option<String>,
}

impl Endpoints {
    /// From the run's variables (`as.*_endpoint`).
    pub fn of(vars: &Value) -> Endpoints {
        let get = |name: &str| {
            vars.pointer(&format!("/as/{name}"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Endpoints {
            registration: get("registration_endpoint"),
            authorization: get("authorization_endpoint"),
            token: get("token_endpoint"),
        }
    }
}

/// Whether a request URL is the endpoint's (its query and fragment aside).
pub fn is_endpoint(url: &str, endpoint: Option<&str>) -> bool {
    use crate::http::without_query;
    endpoint.is_some_and(|e| !e.is_empty() && without_query(url) == without_query(e))
}

/// What `results.json` records under `footprint` (a contract: readers rely on these names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FootprintReport {
    pub registrations: u64,
    pub authorizations: u64,
    pub logins: u64,
    pub token_requests: u64,
    pub tokens_issued: TokensIssued,
    /// Tool name → how many times the run called it (`tools/call`).
    pub tool_calls: BTreeMap<String, u64>,
    pub requests: u64,
    pub left_behind: LeftBehind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensIssued {
    pub access: u64,
    pub refresh: u64,
}

/// What the run created and could not delete or revoke.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftBehind {
    pub clients: u64,
    pub tokens: u64,
}

impl FootprintReport {
    /// The console's one-line account of it.
    pub fn line(&self) -> String {
        let tools = if self.tool_calls.is_empty() {
            "no tool calls".to_string()
        } else {
            let calls: Vec<String> = self
                .tool_calls
                .iter()
                .map(|(name, n)| format!("{name} ×{n}"))
                .collect();
            format!("tool calls: {}", calls.join(", "))
        };
        let t = &self.tokens_issued;
        format!(
            "footprint: {} registrations, {} authorizations ({} logins), {} token requests, {} tokens issued ({} access, {} refresh), {tools}, {} requests; left behind: {} clients, {} tokens",
            self.registrations,
            self.authorizations,
            self.logins,
            self.token_requests,
            t.access + t.refresh,
            t.access,
            t.refresh,
            self.requests,
            self.left_behind.clients,
            self.left_behind.tokens
        )
    }
}

impl Footprint {
    fn with(&self, f: impl FnOnce(&mut FootprintReport)) {
        if let Ok(mut r) = self.inner.lock() {
            f(&mut r);
        }
    }

    /// A registration request was sent (`POST` to the registration endpoint).
    pub fn registration(&self) {
        self.with(|r| r.registrations += 1);
    }

    /// A registration the server answered: a 2xx with a `client_id` is a client the run
    /// created (kept for the clean-up, with its RFC 7592 management data if any).
    pub fn registered(&self, status: u16, doc: &Value) {
        let Some(client_id) = doc
            .get("client_id")
            .and_then(Value::as_str)
            .filter(|_| (200..300).contains(&status))
        else {
            return;
        };
        let text = |name: &str| {
            doc.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let management = match (
            text("registration_client_uri"),
            text("registration_access_token"),
        ) {
            (Some(uri), Some(token)) => Some(Management {
                registration_client_uri: uri,
                registration_access_token: token,
            }),
            _ => None,
        };
        if let Ok(mut c) = self.created.lock() {
            c.clients.push(CreatedClient {
                client_id: client_id.to_string(),
                management,
            });
        }
    }

    /// Requests sent to the authorization endpoint.
    pub fn authorizations(&self, n: u64) {
        self.with(|r| r.authorizations += n);
    }

    /// Authorizations in which the user agent submitted forms (signed in, consented).
    pub fn logins(&self, n: u64) {
        self.with(|r| r.logins += n);
    }

    /// A request was sent to the token endpoint.
    pub fn token_request(&self) {
        self.with(|r| r.token_requests += 1);
    }

    /// A token endpoint's answer: a 2xx carrying `access_token` / `refresh_token` issued them
    /// (kept, with the client that obtained them, for the clean-up).
    pub fn token_response(&self, status: u16, doc: &Value, client: Option<&Client>) {
        if !(200..300).contains(&status) {
            return;
        }
        let mut issued = Vec::new();
        for (name, kind) in [
            ("access_token", TokenKind::Access),
            ("refresh_token", TokenKind::Refresh),
        ] {
            if let Some(v) = doc
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            {
                issued.push(IssuedToken {
                    kind,
                    value: v.to_string(),
                    client: client.cloned(),
                });
            }
        }
        self.with(|r| {
            for t in &issued {
                match t.kind {
                    TokenKind::Access => r.tokens_issued.access += 1,
                    TokenKind::Refresh => r.tokens_issued.refresh += 1,
                }
            }
        });
        if let Ok(mut c) = self.created.lock() {
            c.tokens.extend(issued);
        }
    }

    /// Exchanges a step made by other means (an `http` step): registrations, authorization and
    /// token requests among them count like the actions' own, and what they created is kept.
    pub fn exchanges(&self, exchanges: &[Exchange], endpoints: &Endpoints) {
        for ex in exchanges {
            let url = &ex.request.url;
            // Only the answers of registration and token requests are read.
            let answer = || {
                ex.response.as_ref().map(|r| {
                    (
                        r.status,
                        serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
                    )
                })
            };
            if is_endpoint(url, endpoints.registration.as_deref())
                && ex.request.method.eq_ignore_ascii_case("POST")
            {
                self.registration();
                if let Some((status, doc)) = answer() {
                    self.registered(status, &doc);
                }
            } else if is_endpoint(url, endpoints.authorization.as_deref()) {
                self.authorizations(1);
            } else if is_endpoint(url, endpoints.token.as_deref()) {
                self.token_request();
                if let Some((status, doc)) = answer() {
                    self.token_response(status, &doc, None);
                }
            }
        }
    }

    /// Every request the run sent (the HTTP client's count, clean-up included).
    pub fn set_requests(&self, n: u64) {
        self.with(|r| r.requests = n);
    }

    /// What the clean-up could not delete or revoke.
    pub fn set_left_behind(&self, left: LeftBehind) {
        self.with(|r| r.left_behind = left);
    }

    /// The clients the run created, in order.
    pub fn created_clients(&self) -> Vec<CreatedClient> {
        self.created
            .lock()
            .map(|c| c.clients.clone())
            .unwrap_or_default()
    }

    /// The tokens the run was issued, in order.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.created
            .lock()
            .map(|c| c.tokens.clone())
            .unwrap_or_default()
    }

    /// A `tools/call` of the named tool was sent.
    pub fn tool_call(&self, name: &str) {
        self.with(|r| *r.tool_calls.entry(name.to_string()).or_default() += 1);
    }

    /// A snapshot for the report.
    pub fn report(&self) -> FootprintReport {
        self.inner.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
