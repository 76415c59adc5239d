//! The valid requests the fuzzer starts from, built by the same actions the checks use: an
//! authorization request, a token request redeeming a fresh code, a registration, a revocation
//! and an introspection of a real token, and JSON-RPC calls with a real bearer token.

use std::sync::Arc;

use serde_json::Value;

use super::template::{Body, Template};
use crate::action::{self, ActionCtx};
use crate::runner::RunCtx;
use crate::session::{Client, ClientKind};
use crate::suite::model::StepDef;
use crate::suite::vars::Scope;

/// An endpoint the fuzzer can aim at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Authorize,
    Token,
    Register,
    Revoke,
    Introspect,
    Mcp,
}

impl Endpoint {
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Register,
        Endpoint::Revoke,
        Endpoint::Introspect,
        Endpoint::Mcp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::Register => "register",
            Endpoint::Revoke => "revoke",
            Endpoint::Introspect => "introspect",
            Endpoint::Mcp => "mcp",
        }
    }

    /// Whether the endpoint takes its parameters in a form body (else in the query or JSON).
    pub fn in_form(self) -> bool {
        matches!(
            self,
            Endpoint::Token | Endpoint::Revoke | Endpoint::Introspect
        )
    }

    /// Each mutated request needs a code of its own: a code is good for one redemption.
    pub fn needs_fresh_code(self) -> bool {
        self == Endpoint::Token
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Endpoint::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown endpoint {s:?}: expected one of {}",
                    Endpoint::ALL.map(|e| e.as_str()).join(", ")
                )
            })
    }
}

/// A valid request, and the client it acts as (for the footprint of what it creates).
pub struct Seed {
    pub template: Template,
    pub client: Option<Arc<Client>>,
}

/// Builds valid requests from the run's context.
pub struct Seeder<'a> {
    ctx: &'a RunCtx,
    /// The token step's result (`tok`) whose access token the revocation requests revoke.
    token: Option<Value>,
}

const AUTHORIZE: &str = "action = \"authorize\"";
const AUTHORIZE_NO_LOGIN: &str = "action = \"authorize\"\nlogin = false";
const TOKEN: &str = "action = \"token\"\nfrom = \"auth\"";
const REVOKE: &str = "action = \"revoke\"\nfrom = \"tok\"";
const INTROSPECT: &str = "action = \"introspect\"\nfrom = \"tok\"";

impl<'a> Seeder<'a> {
    pub fn new(ctx: &'a RunCtx) -> Seeder<'a> {
        Seeder { ctx, token: None }
    }

    fn actx(&self) -> ActionCtx<'a> {
        ActionCtx {
            http: &self.ctx.http,
            revision: self.ctx.revision,
            session: &self.ctx.session,
            check: "fuzz",
        }
    }

    /// Runs one step the way a check would: its result as later steps read it, and the
    /// requests it sent.
    async fn step(
        &self,
        toml_text: &str,
        scope: &Scope,
    ) -> Result<(Value, Vec<crate::http::Exchange>), String> {
        let step = parse(toml_text)?;
        let result = action::run(&self.actx(), &step, scope).await;
        let (seen, url, _) = result.outcome.map_err(|e| e.to_string())?;
        Ok((seen.to_value(url.as_deref()), result.exchanges))
    }

    /// An authorization that reached a code: the `auth` step a token request reads.
    async fn code(&self) -> Result<Scope, String> {
        let mut scope = Scope::new(self.ctx.vars.clone());
        let (auth, _) = self.step(AUTHORIZE, &scope).await?;
        let outcome = auth
            .pointer("/json/outcome")
            .and_then(Value::as_str)
            .unwrap_or("nothing");
        if outcome != "code" {
            return Err(format!(
                "an ordinary authorization ended with `{outcome}`, not a code{}",
                auth.pointer("/json/stopped")
                    .and_then(Value::as_str)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ));
        }
        scope.set("auth", auth);
        Ok(scope)
    }

    /// A valid request to `endpoint`. Token requests redeem a fresh code each time.
    pub async fn seed(&mut self, endpoint: Endpoint) -> Result<Seed, String> {
        match endpoint {
            Endpoint::Authorize => {
                let scope = Scope::new(self.ctx.vars.clone());
                let (_, seen) = self.step(AUTHORIZE_NO_LOGIN, &scope).await?;
                let first = seen
                    .first()
                    .ok_or("the authorization request was not sent")?;
                let req = crate::http::Request::get(first.request.url.clone());
                Ok(Seed {
                    template: Template::from_request(&req),
                    client: None,
                })
            }
            Endpoint::Token => {
                let scope = self.code().await?;
                self.oauth(TOKEN, &scope).await
            }
            Endpoint::Revoke => {
                if self.token.is_none() {
                    self.token = Some(self.new_token().await?);
                }
                let mut scope = Scope::new(self.ctx.vars.clone());
                scope.set("tok", self.token.clone().unwrap_or_default());
                self.oauth(REVOKE, &scope).await
            }
            Endpoint::Introspect => {
                // A token of its own: the revocation requests revoke theirs.
                let mut scope = Scope::new(self.ctx.vars.clone());
                scope.set("tok", self.new_token().await?);
                self.oauth(INTROSPECT, &scope).await
            }
            Endpoint::Register => {
                let endpoint = self
                    .ctx
                    .vars
                    .pointer("/as/registration_endpoint")
                    .and_then(Value::as_str)
                    .ok_or("the authorization server's metadata names no registration_endpoint")?;
                let mut metadata = self.ctx.session.metadata(ClientKind::Main);
                metadata["client_name"] = Value::String("mcp-oauth-conform (fuzz)".into());
                Ok(Seed {
                    template: Template {
                        method: "POST".into(),
                        base: endpoint.to_string(),
                        query: Vec::new(),
                        headers: vec![("Accept".into(), "application/json".into())],
                        body: Body::Json(metadata),
                    },
                    client: None,
                })
            }
            Endpoint::Mcp => Err("MCP requests are seeded by `mcp_seeds`".into()),
        }
    }

    /// The unsent request of a token, revocation or introspection step.
    async fn oauth(&self, toml_text: &str, scope: &Scope) -> Result<Seed, String> {
        let (req, client) = action::oauth_request(&self.actx(), &parse(toml_text)?, scope)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Seed {
            template: Template::from_request(&req),
            client: Some(client),
        })
    }

    /// A token step's result for an ordinary code.
    async fn new_token(&self) -> Result<Value, String> {
        let scope = self.code().await?;
        let (tok, _) = self.step(TOKEN, &scope).await?;
        if tok
            .pointer("/json/access_token")
            .and_then(Value::as_str)
            .is_none()
        {
            return Err(format!(
                "the token request for an ordinary code was answered HTTP {} without an access token",
                tok.pointer("/status").and_then(Value::as_u64).unwrap_or(0)
            ));
        }
        Ok(tok)
    }

    /// JSON-RPC requests a client may send without changing anything on the server: the
    /// revision's opening request, `tools/list` and `ping`, with a real bearer token. Never
    /// `tools/call`. For a revision with sessions, the session the opening request started.
    pub async fn mcp_seeds(&mut self) -> Result<Vec<Seed>, String> {
        // A token of its own: the revocation requests revoke theirs.
        let token = self.new_token().await?;
        let token = token
            .pointer("/json/access_token")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let rs = self
            .ctx
            .vars
            .pointer("/rs/url")
            .and_then(Value::as_str)
            .ok_or("no MCP endpoint URL")?
            .to_string();
        let rev = self.ctx.revision;
        let request = |method: &str, id: u64, session: Option<&str>| {
            let (mut headers, body) = crate::mcp::rpc_request(rev, method, None, id);
            headers.push(("Authorization".into(), format!("Bearer {token}")));
            if let Some(s) = session {
                headers.push(("Mcp-Session-Id".into(), s.to_string()));
            }
            crate::http::Request {
                method: "POST".into(),
                url: rs.clone(),
                headers,
                body: Some(body),
            }
        };
        let open = request(crate::mcp::probe_method(rev), 1, None);
        let (_, result) = self.ctx.http.send(&open).await;
        let resp = result.map_err(|e| e.to_string())?;
        let session = resp.header("mcp-session-id").map(str::to_string);
        if let Some(id) = &session {
            let (mut headers, body) = crate::mcp::notification(rev, "notifications/initialized");
            headers.push(("Authorization".into(), format!("Bearer {token}")));
            headers.push(("Mcp-Session-Id".into(), id.clone()));
            let note = crate::http::Request {
                method: "POST".into(),
                url: rs.clone(),
                headers,
                body: Some(body),
            };
            let _ = self.ctx.http.send(&note).await;
        }
        let mut seeds = vec![Seed {
            template: Template::from_request(&open),
            client: None,
        }];
        for (method, id) in [("tools/list", 2), ("ping", 3)] {
            seeds.push(Seed {
                template: Template::from_request(&request(method, id, session.as_deref())),
                client: None,
            });
        }
        Ok(seeds)
    }
}

fn parse(text: &str) -> Result<StepDef, String> {
    toml::from_str(text).map_err(|e| format!("the fuzzer's own step does not parse: {e}"))
}
