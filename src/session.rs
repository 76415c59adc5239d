//! What checks share during a run and acquire lazily: OAuth clients (pre-registered, or
//! registered once each by DCR), the user agent, the loopback redirect URI. Real servers
//! rate-limit registration, so each kind of client is registered at most once per run, and only
//! when a check asks for it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::agent::{Agent, CallbackListener};
use crate::http::{Exchange, HttpClient, Request, Response};
use crate::suite::model::ClientAuth;

/// The clients a check can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// The client of every ordinary flow: pre-registered if given, else registered by DCR.
    Main,
    /// A second public client, for cross-client checks.
    Second,
    /// A confidential client authenticating with HTTP Basic.
    Confidential,
    /// A confidential client authenticating with credentials in the body.
    ConfidentialPost,
    /// A public client whose redirect URI is an https URL the tool does not serve (for redirect
    /// variants; its callback is never visited).
    Web,
    /// A public client with two redirect URIs.
    Multi,
    /// A public client whose redirect URI has a query component.
    Query,
    /// The client revocation checks use: the main one, or the confidential one when the
    /// authorization server's `revocation_endpoint_auth_methods_supported` leaves out `none`
    /// (public clients cannot revoke there, by its own word).
    Revoker,
}

/// What the tool registers. `web`, `multi` and `query` are views of one registration (an https
/// redirect URI and a loopback one with a query): registration is the most rate-limited request
/// of real servers (20 an hour for the TypeScript SDK's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Main,
    Second,
    Confidential,
    ConfidentialPost,
    Web,
}

impl ClientKind {
    fn shape(self) -> Shape {
        match self {
            ClientKind::Main => Shape::Main,
            ClientKind::Second => Shape::Second,
            ClientKind::Confidential => Shape::Confidential,
            ClientKind::ConfidentialPost => Shape::ConfidentialPost,
            ClientKind::Web | ClientKind::Multi | ClientKind::Query => Shape::Web,
            // Session::resolve turns it into Main or Confidential before it gets here.
            ClientKind::Revoker => Shape::Main,
        }
    }
}

/// A registration the session made: the client, and the answer for checks that inspect it.
pub struct Registration {
    pub client: Client,
    pub exchange: Exchange,
    pub response: Response,
    /// The client metadata sent.
    pub sent: Value,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Main => "main",
            ClientKind::Second => "second",
            ClientKind::Confidential => "confidential",
            ClientKind::ConfidentialPost => "confidential-post",
            ClientKind::Web => "web",
            ClientKind::Multi => "multi",
            ClientKind::Query => "query",
            ClientKind::Revoker => "revoker",
        }
    }
}

/// A client as the tool uses it.
#[derive(Clone, Debug, Serialize)]
pub struct Client {
    pub kind: ClientKind,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    pub redirect_uris: Vec<String>,
}

impl Client {
    pub fn redirect_uri(&self) -> &str {
        self.redirect_uris
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }
    pub fn to_value(&self) -> Value {
        json!({"client_id": self.client_id, "auth_method": self.auth_method, "redirect_uri": self.redirect_uri(), "redirect_uris": self.redirect_uris, "kind": self.kind.as_str()})
    }

    /// Client authentication of a request to the token, revocation or introspection endpoint
    /// (RFC 6749 §2.3): into the headers, the form parameters or the query, as `auth` says
    /// (`Registered`: as the client registered).
    pub fn authenticate(
        &self,
        auth: ClientAuth,
        headers: &mut Vec<(String, String)>,
        params: &mut Vec<(String, String)>,
        query: &mut Vec<(String, String)>,
    ) {
        let secret = self.client_secret.clone().unwrap_or_default();
        let auth = match auth {
            ClientAuth::Registered => match self.auth_method.as_str() {
                "client_secret_basic" => ClientAuth::Basic,
                "client_secret_post" => ClientAuth::Post,
                _ => ClientAuth::None,
            },
            other => other,
        };
        let id = self.client_id.clone();
        match auth {
            ClientAuth::Anonymous => {}
            ClientAuth::None | ClientAuth::Registered => params.push(("client_id".into(), id)),
            ClientAuth::Basic => headers.push(("Authorization".into(), basic(&id, &secret))),
            ClientAuth::BasicBogus => headers.push((
                "Authorization".into(),
                basic(&id, "mcp-oauth-conform-wrong-secret"),
            )),
            ClientAuth::Post => {
                params.push(("client_id".into(), id));
                params.push(("client_secret".into(), secret));
            }
            ClientAuth::Both => {
                headers.push(("Authorization".into(), basic(&id, &secret)));
                params.push(("client_id".into(), id));
                params.push(("client_secret".into(), secret));
            }
            ClientAuth::Query => {
                query.push(("client_id".into(), id));
                query.push(("client_secret".into(), secret));
            }
        }
    }
}

/// `application/x-www-form-urlencoded` Basic credentials (RFC 6749 §2.3.1).
fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// `[client]` of a target profile, or `--client-id` and friends.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub id: Option<String>,
    /// Prefer `secret_env` in files kept in version control.
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    /// Default: `client_secret_basic` with a secret, `none` without.
    pub auth_method: Option<String>,
    /// Default: the tool's loopback redirect URI (register `http://127.0.0.1/callback`; the port
    /// varies per run, which OAuth 2.1 allows for loopback redirect URIs).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Scopes to request; default: the challenge's `scope`, else the resource's `scopes_supported`.
    pub scope: Option<String>,
}

/// `--call-tools` (`[target] call_tools`): which of the server's tools a run may call. A tool
/// call runs the tool: on a real server it may change data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallTools {
    /// No `tools/call` at all.
    None,
    /// Tools the server marks `readOnlyHint: true` (and not `destructiveHint: true`), and the
    /// tools the profile names.
    #[default]
    ReadOnly,
    /// Every tool (arguments from its input schema, or the profile's).
    All,
}

impl CallTools {
    pub fn as_str(self) -> &'static str {
        match self {
            CallTools::None => "none",
            CallTools::ReadOnly => "read-only",
            CallTools::All => "all",
        }
    }
}

impl std::str::FromStr for CallTools {
    type Err = String;
    fn from_str(s: &str) -> Result<CallTools, String> {
        match s {
            "none" => Ok(CallTools::None),
            "read-only" => Ok(CallTools::ReadOnly),
            "all" => Ok(CallTools::All),
            other => Err(format!(
                "unknown tool-call policy `{other}` (none, read-only, all)"
            )),
        }
    }
}

/// `[[target.tool]]`: a tool the user says is safe to call, with the arguments to call it with.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTool {
    pub name: String,
    #[serde(default)]
    pub arguments: serde_json::Map<String, Value>,
}

/// The run's tool-call policy, and the tools its scope probe chose to call (a later step of the
/// same check may call such a tool again, with a wider token).
#[derive(Debug, Default)]
pub struct ToolPolicy {
    pub call: CallTools,
    pub named: Vec<NamedTool>,
    cleared: Mutex<BTreeSet<String>>,
}

impl ToolPolicy {
    pub fn new(call: CallTools, named: Vec<NamedTool>) -> ToolPolicy {
        ToolPolicy {
            call,
            named,
            cleared: Mutex::new(BTreeSet::new()),
        }
    }
    /// The profile's entry for a tool.
    pub fn named(&self, name: &str) -> Option<&NamedTool> {
        self.named.iter().find(|t| t.name == name)
    }
    /// The probe chose to call this tool under the policy.
    pub fn clear(&self, name: &str) {
        if let Ok(mut c) = self.cleared.lock() {
            c.insert(name.to_string());
        }
    }
    pub fn is_cleared(&self, name: &str) -> bool {
        self.cleared.lock().is_ok_and(|c| c.contains(name))
    }
}

pub struct Session {
    pub agent: Agent,
    /// Which tools the run may call (`--call-tools`, `[[target.tool]]`); set by `RunCtx::new`.
    pub tools: ToolPolicy,
    /// What the run created and sent, for the report and the clean-up (every action records here).
    pub footprint: crate::footprint::Footprint,
    pub callback: Arc<CallbackListener>,
    registration_endpoint: Option<String>,
    why_no_registration: String,
    preconfigured: Option<Client>,
    /// The scope ordinary flows request.
    pub scope: Option<String>,
    /// The `resource` flows send (2025-06-18 and later).
    pub resource: Option<String>,
    /// Whether the revocation endpoint takes public clients (`ClientKind::Revoker`).
    revocation_public: bool,
    registrations: BTreeMap<Shape, OnceCell<Result<Arc<Registration>, String>>>,
    /// The server's answer to a registration it refused, for the check that grades registration.
    refused: Mutex<BTreeMap<Shape, (Exchange, Response)>>,
    exchanges: Mutex<Vec<Exchange>>,
}

impl Session {
    pub fn new(
        agent: Agent,
        callback: Arc<CallbackListener>,
        config: &ClientConfig,
        vars: &Value,
        resource: Option<String>,
    ) -> Result<Session, String> {
        let registration_endpoint = vars
            .pointer("/as/registration_endpoint")
            .and_then(Value::as_str)
            .map(str::to_string);
        let why_no_registration = match vars.pointer("/_why/as").and_then(Value::as_str) {
            Some(why) => why.to_string(),
            None => "the authorization server advertises no registration_endpoint".to_string(),
        };
        let preconfigured = match &config.id {
            None => None,
            Some(id) => {
                let secret = match (&config.secret, &config.secret_env) {
                    (Some(s), _) => Some(s.clone()),
                    (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
                        format!("[client] secret_env names {var}, which is not set")
                    })?),
                    (None, None) => None,
                };
                let auth_method = config.auth_method.clone().unwrap_or_else(|| {
                    if secret.is_some() {
                        "client_secret_basic".into()
                    } else {
                        "none".into()
                    }
                });
                let redirect_uris = if config.redirect_uris.is_empty() {
                    vec![callback.uri("/callback")]
                } else {
                    config.redirect_uris.clone()
                };
                Some(Client {
                    kind: ClientKind::Main,
                    client_id: id.clone(),
                    client_secret: secret,
                    auth_method,
                    redirect_uris,
                })
            }
        };
        let scope = config.scope.clone().or_else(|| default_scope(vars));
        let revocation_public = match vars
            .pointer("/as/revocation_endpoint_auth_methods_supported")
            .and_then(Value::as_array)
        {
            Some(methods) => methods.iter().any(|m| m == "none"),
            None => true,
        };
        let registrations = [
            Shape::Main,
            Shape::Second,
            Shape::Confidential,
            Shape::ConfidentialPost,
            Shape::Web,
        ]
        .into_iter()
        .map(|k| (k, OnceCell::new()))
        .collect();
        Ok(Session {
            agent,
            tools: ToolPolicy::default(),
            footprint: crate::footprint::Footprint::default(),
            callback,
            registration_endpoint,
            why_no_registration,
            preconfigured,
            scope,
            resource,
            revocation_public,
            registrations,
            refused: Mutex::new(BTreeMap::new()),
            exchanges: Mutex::new(Vec::new()),
        })
    }

    /// The client of a kind: the pre-registered one where it fits, else registered on first use.
    pub async fn client(&self, http: &HttpClient, kind: ClientKind) -> Result<Arc<Client>, String> {
        let kind = self.resolve(kind);
        if let Some(c) = self.preconfigured_for(kind) {
            return Ok(Arc::new(c));
        }
        let reg = self.registration(http, kind).await?;
        let mut client = Client {
            kind,
            ..reg.client.clone()
        };
        if kind == ClientKind::Query {
            // Its default redirect URI is the one with a query.
            client.redirect_uris.sort_by_key(|u| !u.contains('?'));
        }
        Ok(Arc::new(client))
    }

    /// The kind a `revoker` stands for here; every other kind is itself.
    fn resolve(&self, kind: ClientKind) -> ClientKind {
        match kind {
            ClientKind::Revoker if self.revocation_public => ClientKind::Main,
            ClientKind::Revoker => ClientKind::Confidential,
            k => k,
        }
    }

    fn preconfigured_for(&self, kind: ClientKind) -> Option<Client> {
        let c = self.preconfigured.as_ref()?;
        let fits = match kind {
            ClientKind::Main => true,
            ClientKind::Confidential => {
                c.client_secret.is_some() && c.auth_method == "client_secret_basic"
            }
            ClientKind::ConfidentialPost => {
                c.client_secret.is_some() && c.auth_method == "client_secret_post"
            }
            _ => false,
        };
        fits.then(|| Client { kind, ..c.clone() })
    }

    /// The registration behind a kind of client, made on first use: the one its client came
    /// from, or (for a pre-registered client) one of the same shape, for checks on registration.
    pub async fn registration(
        &self,
        http: &HttpClient,
        kind: ClientKind,
    ) -> Result<Arc<Registration>, String> {
        let kind = self.resolve(kind);
        let shape = kind.shape();
        let cell = self
            .registrations
            .get(&shape)
            .ok_or_else(|| format!("unknown client kind {}", kind.as_str()))?;
        cell.get_or_init(|| self.register(http, kind, shape))
            .await
            .clone()
    }

    async fn register(
        &self,
        http: &HttpClient,
        kind: ClientKind,
        shape: Shape,
    ) -> Result<Arc<Registration>, String> {
        let Some(endpoint) = &self.registration_endpoint else {
            return Err(format!(
                "needs a {} client: {}; give a pre-registered client (--client-id, --client-secret, --redirect-uri)",
                kind.as_str(),
                self.why_no_registration
            ));
        };
        let cb = self.callback.uri("/callback");
        let (auth_method, redirect_uris) = match shape {
            Shape::Main | Shape::Second => ("none", vec![cb]),
            Shape::Confidential => ("client_secret_basic", vec![cb]),
            Shape::ConfidentialPost => ("client_secret_post", vec![cb]),
            Shape::Web => (
                "none",
                vec!["https://client.example/cb".to_string(), format!("{cb}?x=1")],
            ),
        };
        let name = match shape {
            Shape::Web => "web",
            _ => kind.as_str(),
        };
        let body = json!({
            "redirect_uris": redirect_uris,
            "token_endpoint_auth_method": auth_method,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": format!("mcp-oauth-conform ({name})"),
            // Native apps may use both loopback and claimed https redirect URIs (RFC 8252).
            "application_type": "native",
        });
        let req = Request {
            method: "POST".into(),
            url: endpoint.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(body.to_string().into_bytes()),
        };
        self.footprint.registration();
        let (ex, result) = http.send(&req).await;
        if let Ok(mut e) = self.exchanges.lock() {
            e.push(ex.clone());
        }
        let resp = result.map_err(|e| format!("registering a {name} client failed: {e}"))?;
        let doc: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        self.footprint.registered(resp.status, &doc);
        let client_id = doc
            .get("client_id")
            .and_then(Value::as_str)
            .filter(|_| (200..300).contains(&resp.status));
        let Some(client_id) = client_id else {
            if let Ok(mut refused) = self.refused.lock() {
                refused.insert(shape, (ex.clone(), resp.clone()));
            }
            return Err(format!(
                "registering a {name} client failed: {} answered {} {}",
                endpoint,
                resp.status,
                crate::suite::expect::show(&doc)
            ));
        };
        let client = Client {
            kind,
            client_id: client_id.to_string(),
            client_secret: doc
                .get("client_secret")
                .and_then(Value::as_str)
                .map(str::to_string),
            auth_method: doc
                .get("token_endpoint_auth_method")
                .and_then(Value::as_str)
                .unwrap_or(auth_method)
                .to_string(),
            redirect_uris: doc
                .get("redirect_uris")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .filter(|v: &Vec<String>| !v.is_empty())
                .unwrap_or(redirect_uris),
        };
        Ok(Arc::new(Registration {
            client,
            exchange: ex,
            response: resp,
            sent: body,
        }))
    }

    /// The answer to a registration of this kind that the server refused (a client was asked
    /// for, and none came back).
    pub fn refused_registration(&self, kind: ClientKind) -> Option<(Exchange, Response)> {
        let shape = self.resolve(kind).shape();
        self.refused.lock().ok()?.get(&shape).cloned()
    }

    /// Registration exchanges, for the report.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// MCP's scope selection: the challenge's `scope`, else everything the resource lists.
fn default_scope(vars: &Value) -> Option<String> {
    if let Some(s) = vars
        .pointer("/challenge/params/scope")
        .and_then(Value::as_str)
    {
        return Some(s.to_string());
    }
    let list: Vec<&str> = vars
        .pointer("/prm/scopes_supported")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    (!list.is_empty()).then(|| list.join(" "))
}
