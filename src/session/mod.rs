//! What checks share during a run and acquire lazily: OAuth clients (pre-registered, or
//! registered once each by DCR), the user agent, the loopback redirect URI. Real servers
//! rate-limit registration, so each kind of client is registered at most once per run, and only
//! when a check asks for it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::agent::{Agent, CallbackListener};
use crate::http::{Exchange, HttpClient, Request, Response};
use crate::suite::model::ClientAuth;

pub(crate) mod client;
mod documents;
mod given;
mod tools;

use client::Shape;
pub use client::{Client, ClientKind, DocumentClient, DocumentError, Registration, refuses_client};
pub use given::{ClientConfig, ClientEntry, ClientMode, GivenTokens};
use given::{configured_clients, role_hint};
pub use tools::{CallTools, NamedTool, ToolPolicy};

/// What the run's checks share (see the module doc).
pub struct Session {
    pub agent: Agent,
    /// Which tools the run may call (`--call-tools`, `[[target.tool]]`); set by `RunCtx::new`.
    pub tools: ToolPolicy,
    /// What the run created and sent, for the report and the clean-up (every action records here).
    pub footprint: crate::footprint::Footprint,
    pub callback: Arc<CallbackListener>,
    registration_endpoint: Option<String>,
    why_no_registration: String,
    /// Clients registered beforehand, by role (`--client-id`, `[client]`, `[[clients]]`).
    configured: BTreeMap<ClientKind, Client>,
    /// Tokens given instead of an authorization (`[tokens]`, `--access-token`).
    tokens: Option<GivenTokens>,
    /// The authorization server refused HTTP Basic without `client_id` in the body, and took it
    /// with: later requests send it at once.
    basic_wants_client_id: std::sync::atomic::AtomicBool,
    /// The scope ordinary flows request.
    pub scope: Option<String>,
    /// The `resource` flows send (2025-06-18 and later).
    pub resource: Option<String>,
    /// Whether the revocation endpoint takes public clients (`ClientKind::Revoker`).
    revocation_public: bool,
    /// The revocation endpoint, and whether it offers `client_secret_post`.
    revocation_endpoint: Option<String>,
    revocation_post: bool,
    /// What a `revoker` is where public clients cannot revoke: chosen once ([`Session::revoker`]).
    revoker: OnceCell<ClientKind>,
    registrations: BTreeMap<Shape, OnceCell<Result<Arc<Registration>, String>>>,
    /// How clients the run was not given are obtained.
    pub mode: ClientMode,
    /// The tool's client metadata document server (URL clients).
    pub documents: Option<Arc<crate::cimd::DocumentServer>>,
    /// The URL clients of `mode = cimd`, one per shape, made on first use.
    url_clients: BTreeMap<Shape, OnceCell<Result<Arc<Client>, String>>>,
    /// The documents checks asked for, per check and case, and every URL client by client_id.
    case_documents: Mutex<BTreeMap<(String, crate::suite::model::DocumentCase), DocumentClient>>,
    by_client_id: Mutex<BTreeMap<String, Arc<Client>>>,
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
        revision: crate::revision::Revision,
        documents: Option<Arc<crate::cimd::DocumentServer>>,
    ) -> Result<Session, String> {
        let registration_endpoint = vars
            .pointer("/as/registration_endpoint")
            .and_then(Value::as_str)
            .map(str::to_string);
        let why_no_registration = match vars.pointer("/_why/as").and_then(Value::as_str) {
            Some(why) => why.to_string(),
            None => "the authorization server advertises no registration_endpoint".to_string(),
        };
        let configured = configured_clients(config, &callback)?;
        let scope = config.scope.clone().or_else(|| default_scope(vars));
        let revocation_methods = vars
            .pointer("/as/revocation_endpoint_auth_methods_supported")
            .and_then(Value::as_array);
        let revocation_public = match revocation_methods {
            Some(methods) => methods.iter().any(|m| m == "none"),
            None => true,
        };
        let revocation_post =
            revocation_methods.is_some_and(|m| m.iter().any(|m| m == "client_secret_post"));
        let revocation_endpoint = vars
            .pointer("/as/revocation_endpoint")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
            .map(str::to_string);
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
        let cimd_advertised = vars
            .pointer("/as/client_id_metadata_document_supported")
            .and_then(Value::as_bool)
            == Some(true);
        let mode = ClientMode::resolve(
            config.mode,
            revision,
            cimd_advertised,
            registration_endpoint.is_some(),
        );
        let url_clients = [Shape::Main, Shape::Second, Shape::Web]
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
            configured,
            tokens: config.tokens.clone(),
            basic_wants_client_id: Default::default(),
            scope,
            resource,
            revocation_public,
            revocation_endpoint,
            revocation_post,
            revoker: OnceCell::new(),
            registrations,
            mode,
            documents,
            url_clients,
            case_documents: Mutex::new(BTreeMap::new()),
            by_client_id: Mutex::new(BTreeMap::new()),
            refused: Mutex::new(BTreeMap::new()),
            exchanges: Mutex::new(Vec::new()),
        })
    }

    /// The client of a kind: the pre-registered one where it fits, else registered on first use.
    /// None when the run was given its tokens: it then uses no client at all.
    pub async fn client(&self, http: &HttpClient, kind: ClientKind) -> Result<Arc<Client>, String> {
        if self.tokens.is_some() {
            return Err(tokens_only(&format!(
                "a {} client",
                self.resolve(kind).as_str()
            )));
        }
        let kind = match kind {
            ClientKind::Revoker => self.revoker(http).await,
            k => k,
        };
        self.client_of(http, kind).await
    }

    async fn client_of(&self, http: &HttpClient, kind: ClientKind) -> Result<Arc<Client>, String> {
        let kind = self.resolve(kind);
        if let Some(c) = self.configured_for(kind) {
            return Ok(Arc::new(c));
        }
        match self.mode {
            // Documents describe public clients only: a confidential one is still registered
            // where registration is offered.
            ClientMode::Cimd if client::describes(kind) => {
                return self.url_client_of(kind).await;
            }
            ClientMode::Cimd => {}
            ClientMode::Static => {
                return Err(format!(
                    "needs a {} client: this run uses only the clients it was given (client mode `static`); {}",
                    kind.as_str(),
                    role_hint(kind)
                ));
            }
            ClientMode::Dcr => {}
        }
        let reg = self.registration(http, kind).await?;
        Ok(Arc::new(reg.client.as_kind(kind)))
    }

    /// The kind a `revoker` stands for here (once [`Session::revoker`] chose); every other kind
    /// is itself.
    fn resolve(&self, kind: ClientKind) -> ClientKind {
        match kind {
            ClientKind::Revoker if self.revocation_public => ClientKind::Main,
            ClientKind::Revoker => self
                .revoker
                .get()
                .copied()
                .unwrap_or(ClientKind::Confidential),
            k => k,
        }
    }

    /// The client revocation checks use: the main one where the revocation endpoint takes public
    /// clients; else the confidential one, authenticating with HTTP Basic as every server must
    /// support, unless the endpoint refuses Basic alone (one revocation of a made-up token tells,
    /// RFC 7009 answers 200 for it) and offers `client_secret_post`: then the client registered
    /// for that, so that revocation is still tested (`token.basic-supported` grades Basic).
    pub async fn revoker(&self, http: &HttpClient) -> ClientKind {
        if self.revocation_public {
            return ClientKind::Main;
        }
        *self.revoker.get_or_init(|| self.choose_revoker(http)).await
    }

    async fn choose_revoker(&self, http: &HttpClient) -> ClientKind {
        let basic = ClientKind::Confidential;
        let Some(endpoint) = self
            .revocation_endpoint
            .as_deref()
            .filter(|_| self.revocation_post)
        else {
            return basic;
        };
        let Ok(client) = self.client_of(http, basic).await else {
            return basic;
        };
        if !client.basic_alone(ClientAuth::Registered) {
            return basic;
        }
        let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
        let mut params = vec![
            (
                "token".to_string(),
                "mcp-oauth-conform-revocation-probe-0123456789".to_string(),
            ),
            ("token_type_hint".to_string(), "access_token".to_string()),
        ];
        client.authenticate(
            ClientAuth::Registered,
            &mut headers,
            &mut params,
            &mut Vec::new(),
        );
        let req = Request::form("POST", endpoint, headers, Vec::new(), params);
        let (ex, result) = http.send(&req).await;
        if let Ok(mut e) = self.exchanges.lock() {
            e.push(ex);
        }
        if result.is_ok_and(|r| refuses_client(&r)) {
            ClientKind::ConfidentialPost
        } else {
            basic
        }
    }

    /// The client registered beforehand that can act as `kind`: the one given for that role;
    /// for `multi` and `query` the `web` one when it has two redirect URIs or one with a query;
    /// for the confidential roles a main client with a secret for that method.
    fn configured_for(&self, kind: ClientKind) -> Option<Client> {
        let main = self.configured.get(&ClientKind::Main);
        let web = self.configured.get(&ClientKind::Web);
        let secret_for =
            |c: &&Client, method: &str| c.client_secret.is_some() && c.auth_method == method;
        let c = self.configured.get(&kind).or(match kind {
            ClientKind::Confidential => main.filter(|c| secret_for(c, "client_secret_basic")),
            ClientKind::ConfidentialPost => main.filter(|c| secret_for(c, "client_secret_post")),
            ClientKind::Multi => web.filter(|c| c.redirect_uris.len() >= 2),
            ClientKind::Query => web.filter(|c| c.redirect_uris.iter().any(|u| u.contains('?'))),
            _ => None,
        })?;
        Some(c.as_kind(kind))
    }

    /// The roles given clients registered beforehand (`main` among them for `--client-id`).
    pub fn configured_roles(&self) -> Vec<ClientKind> {
        self.configured.keys().copied().collect()
    }

    /// Whether the run created this client (a registration), as opposed to being given it.
    pub fn is_configured(&self, client_id: &str) -> bool {
        self.configured.values().any(|c| c.client_id == client_id)
    }

    /// Every credential the run was given (tokens, client secrets): the redactor learns them
    /// before any request, so no output holds one whole even where no name marks it.
    pub fn given_secrets(&self) -> Vec<&str> {
        let secrets = self
            .configured
            .values()
            .filter_map(|c| c.client_secret.as_deref());
        match &self.tokens {
            Some(t) => secrets.chain(t.values()).collect(),
            None => secrets.collect(),
        }
    }

    /// The tokens the run was given instead of an authorization, if any.
    pub fn given_tokens(&self) -> Option<&GivenTokens> {
        self.tokens.as_ref()
    }

    /// Whether HTTP Basic is known to need `client_id` in the body as well at this server.
    pub fn basic_wants_client_id(&self) -> bool {
        self.basic_wants_client_id
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The server took HTTP Basic once `client_id` was in the body too.
    pub fn learned_basic_wants_client_id(&self) {
        self.basic_wants_client_id
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The registration behind a kind of client, made on first use: the one its client came
    /// from, or (for a pre-registered client) one of the same shape, for checks on registration.
    pub async fn registration(
        &self,
        http: &HttpClient,
        kind: ClientKind,
    ) -> Result<Arc<Registration>, String> {
        let kind = self.resolve(kind);
        if self.tokens.is_some() {
            return Err(tokens_only(&format!(
                "a registration of a {} client",
                kind.as_str()
            )));
        }
        let shape = kind.shape();
        let cell = self
            .registrations
            .get(&shape)
            .ok_or_else(|| format!("unknown client kind {}", kind.as_str()))?;
        cell.get_or_init(|| self.register(http, kind, shape))
            .await
            .clone()
    }

    /// The client metadata the tool registers for a kind of client: complete, so that a server
    /// with a registration policy of its own (a name for its consent page, `native` for loopback
    /// redirect URIs) accepts it. Checks that send a registration of their own start from it and
    /// change one thing.
    pub fn metadata(&self, kind: ClientKind) -> Value {
        let kind = self.resolve(kind);
        let shape = kind.shape();
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
        json!({
            "redirect_uris": redirect_uris,
            "token_endpoint_auth_method": auth_method,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": format!("mcp-oauth-conform ({name})"),
            // Native apps may use both loopback and claimed https redirect URIs (RFC 8252).
            "application_type": "native",
        })
    }

    async fn register(
        &self,
        http: &HttpClient,
        kind: ClientKind,
        shape: Shape,
    ) -> Result<Arc<Registration>, String> {
        let Some(endpoint) = &self.registration_endpoint else {
            return Err(format!(
                "needs a {} client: {}; {}",
                kind.as_str(),
                self.why_no_registration,
                role_hint(kind)
            ));
        };
        let name = match shape {
            Shape::Web => "web",
            _ => kind.as_str(),
        };
        let body = self.metadata(kind);
        let auth_method = body["token_endpoint_auth_method"]
            .as_str()
            .unwrap_or("none")
            .to_string();
        let redirect_uris = strings(&body["redirect_uris"]);
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
                crate::http::redact::show(&doc)
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
                .unwrap_or(&auth_method)
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
/// The strings of a JSON array (none for anything else).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Why a check that needs the authorization server skips when the run was given its tokens.
fn tokens_only(what: &str) -> String {
    format!(
        "needs {what}: this run was given its tokens (--access-token, [tokens] in --config) and sends the authorization server no registration, authorization or token request; run without them, with a client and a login (--client-id, [[clients]], [agent]), to grade this"
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_tokens_are_never_printed() {
        let t = GivenTokens {
            access: Some("secret-access-token-0123".into()),
            ..Default::default()
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret-access"), "{shown}");
        assert_eq!(t.values().count(), 1);
    }

    #[test]
    fn basic_is_sent_again_with_client_id_in_the_body() {
        let c = Client {
            kind: ClientKind::Confidential,
            client_id: "c 1".into(),
            client_secret: Some("s".into()),
            auth_method: "client_secret_basic".into(),
            redirect_uris: Vec::new(),
        };
        assert!(c.basic_alone(ClientAuth::Registered));
        assert!(!c.basic_alone(ClientAuth::Post));
        let req = Request::form(
            "POST",
            "http://127.0.0.1:1/revoke",
            Vec::new(),
            Vec::new(),
            vec![("token".into(), "t".into())],
        );
        let again = c.with_body_client_id(&req).unwrap();
        assert_eq!(again.body.as_deref(), Some(&b"token=t&client_id=c+1"[..]));
        assert!(c.with_body_client_id(&again).is_none());
        let refused = |status: u16, body: &str| Response {
            url: String::new(),
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        };
        assert!(refuses_client(&refused(
            401,
            r#"{"error":"invalid_client"}"#
        )));
        assert!(refuses_client(&refused(
            401,
            r#"{"error":"unauthorized_client"}"#
        )));
        assert!(!refuses_client(&refused(
            400,
            r#"{"error":"invalid_grant"}"#
        )));
    }
}
