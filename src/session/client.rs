//! The run's OAuth clients: the kinds a check can ask for, how each authenticates, and the
//! client metadata documents that stand for URL clients.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cimd::cases::Placement;
use crate::http::{Exchange, Request, Response};
use crate::suite::model::ClientAuth;

// Suites name clients, so the kinds are part of the suite format.
pub use crate::suite::model::ClientKind;

/// What the tool registers. `web`, `multi` and `query` are views of one registration (an https
/// redirect URI and a loopback one with a query): registration is the most rate-limited request
/// of real servers (20 an hour for the TypeScript SDK's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Shape {
    Main,
    Second,
    Confidential,
    ConfidentialPost,
    Web,
}

impl ClientKind {
    pub(super) fn shape(self) -> Shape {
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

/// A document a check asked for, and the client it describes.
#[derive(Clone)]
pub struct DocumentClient {
    pub client: Arc<Client>,
    pub placement: Placement,
    /// What `no-store-changing` lists from its second fetch on.
    pub later_redirect_uri: Option<String>,
}

/// Why a document cannot be had: nothing to serve it with (skip), or a case this run cannot
/// build (the step does not run).
pub enum DocumentError {
    Unavailable(String),
    NotHere(String),
}

/// Whether a client metadata document can stand for this kind of client (a public one).
pub(super) fn describes(kind: ClientKind) -> bool {
    !matches!(
        kind,
        ClientKind::Confidential | ClientKind::ConfidentialPost | ClientKind::Revoker
    )
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
    /// This client standing in for `kind` (`web`, `multi` and `query` are views of one
    /// registration): a `query` client's default redirect URI is the one with a query.
    pub fn as_kind(&self, kind: ClientKind) -> Client {
        let mut c = Client {
            kind,
            ..self.clone()
        };
        if kind == ClientKind::Query {
            c.redirect_uris.sort_by_key(|u| !u.contains('?'));
        }
        c
    }

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

impl Client {
    /// Whether `auth` makes this client authenticate with HTTP Basic alone.
    pub fn basic_alone(&self, auth: ClientAuth) -> bool {
        self.client_secret.is_some()
            && (auth == ClientAuth::Basic
                || (auth == ClientAuth::Registered && self.auth_method == "client_secret_basic"))
    }

    /// A form request again with `client_id` in the body as well. Some authorization servers
    /// (the Python MCP SDK's) refuse HTTP Basic without it, while the client still authenticates
    /// by Basic: no secret goes into the body. `None` for a request that has one, or no body.
    pub fn with_body_client_id(&self, req: &Request) -> Option<Request> {
        let body = req.body.as_ref().filter(|_| req.method == "POST")?;
        if url::form_urlencoded::parse(body).any(|(k, _)| k == "client_id") {
            return None;
        }
        let mut body = body.clone();
        if !body.is_empty() {
            body.push(b'&');
        }
        body.extend(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &self.client_id)
                .finish()
                .into_bytes(),
        );
        Some(Request {
            body: Some(body),
            ..req.clone()
        })
    }
}

/// An answer refusing the client's authentication: 400 or 401 with `invalid_client` (RFC 6749
/// §5.2; RFC 7009 and RFC 7662 use the same errors), or `unauthorized_client`, which some
/// revocation endpoints answer instead.
pub fn refuses_client(resp: &Response) -> bool {
    matches!(resp.status, 400 | 401)
        && serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|d| d.get("error").and_then(Value::as_str).map(str::to_string))
            .is_some_and(|e| e == "invalid_client" || e == "unauthorized_client")
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
