//! What the user gives the session instead of registering: clients by role (`--client-id`,
//! `[client]`, `[[clients]]`) and tokens obtained beforehand (`--access-token`, `[tokens]`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::client::{Client, ClientKind};
use crate::agent::CallbackListener;

/// `[client]` of a target profile, or `--client-id` and friends; with what `config` resolved of
/// `[[clients]]` and `[tokens]` (`--access-token`): everything the session is given.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// How the run gets its clients: `cimd` (URL clients whose metadata documents the tool
    /// serves), `dcr` (dynamic registration) or `static` (only the clients given). Default: CIMD
    /// for 2026-07-28 where the server supports it, else DCR where it is offered, else CIMD.
    pub mode: Option<ClientMode>,
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
    /// `[[clients]]`: clients registered beforehand for other roles (secrets already read from
    /// the environment). The session uses them instead of registering those kinds.
    #[serde(skip)]
    pub clients: Vec<ClientEntry>,
    /// `[tokens]` or `--access-token`: the run takes its ordinary tokens from here and sends the
    /// authorization server no authorization, token or registration request.
    #[serde(skip)]
    pub tokens: Option<GivenTokens>,
}

/// How the run obtains the clients it was not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientMode {
    Cimd,
    Dcr,
    Static,
}

impl ClientMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientMode::Cimd => "cimd",
            ClientMode::Dcr => "dcr",
            ClientMode::Static => "static",
        }
    }

    /// The mode a run uses: the one chosen, else CIMD for 2026-07-28 (which deprecates dynamic
    /// registration) where the server advertises it, else DCR where a registration endpoint is
    /// advertised, else CIMD (a server may support it without saying so).
    pub fn resolve(
        chosen: Option<ClientMode>,
        revision: crate::revision::Revision,
        cimd_advertised: bool,
        dcr_offered: bool,
    ) -> ClientMode {
        match chosen {
            Some(m) => m,
            None if cimd_advertised && revision >= crate::revision::Revision::R2026_07_28 => {
                ClientMode::Cimd
            }
            None if dcr_offered => ClientMode::Dcr,
            None => ClientMode::Cimd,
        }
    }
}

/// `[[clients]]` of a target profile: a client registered beforehand, for one role (the kinds
/// the suites name in `client = "…"`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub role: ClientKind,
    pub id: String,
    /// `${env.NAME}` reads it from the environment; required for the confidential roles.
    pub secret: Option<String>,
    /// Default: `client_secret_basic` for `confidential`, `client_secret_post` for
    /// `confidential-post`, `none` for the others.
    pub auth_method: Option<String>,
    /// Default: the tool's loopback redirect URI (for `web`: `https://client.example/cb` and the
    /// loopback one with `?x=1`). A loopback IP literal without a port gets the tool's port.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// `[tokens]` of a target profile, or `--access-token`: tokens the user obtained beforehand from
/// the authorization server (behind a single sign-on no script gets through), for the checks of
/// the MCP server. Never printed: `Debug` says which are set.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenTokens {
    /// The ordinary access token for the MCP server (`--access-token`).
    pub access: Option<String>,
    /// Its refresh token (only presented to the MCP server, never redeemed).
    pub refresh: Option<String>,
    /// An access token the same authorization server issued for `[target] other_resource`.
    pub other_resource_access: Option<String>,
    /// An access token with only the first of the resource's `scopes_supported`.
    pub narrow_scope_access: Option<String>,
}

impl GivenTokens {
    /// Every token given, for the redactor.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        [
            &self.access,
            &self.refresh,
            &self.other_resource_access,
            &self.narrow_scope_access,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
    }
}

impl std::fmt::Debug for GivenTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let given = |t: &Option<String>| t.as_ref().map(|_| "«given»");
        f.debug_struct("GivenTokens")
            .field("access", &given(&self.access))
            .field("refresh", &given(&self.refresh))
            .field("other_resource_access", &given(&self.other_resource_access))
            .field("narrow_scope_access", &given(&self.narrow_scope_access))
            .finish()
    }
}

/// How to give the tool a client for a role it could not register.
pub(super) fn role_hint(kind: ClientKind) -> String {
    let role = kind.as_str();
    match kind {
        ClientKind::Main | ClientKind::Revoker => "give a pre-registered client: --client-id (with --client-secret and --redirect-uri if it has them), or `[[clients]]` with `role = \"main\"` in --config".into(),
        ClientKind::Second => "give a second pre-registered public client in --config: `[[clients]]` with `role = \"second\"`, its `id` and `redirect_uris = [\"http://127.0.0.1/callback\"]`".into(),
        ClientKind::Web | ClientKind::Multi | ClientKind::Query => format!(
            "give a pre-registered public client in --config: `[[clients]]` with `role = \"web\"`, its `id` and `redirect_uris = [\"https://client.example/cb\", \"http://127.0.0.1/callback?x=1\"]` (the https one is never visited; `role = \"{role}\"` also works)"
        ),
        ClientKind::Confidential => "give a pre-registered confidential client in --config: `[[clients]]` with `role = \"confidential\"`, its `id`, `secret = \"${env.NAME}\"` (HTTP Basic) and `redirect_uris`".into(),
        ClientKind::ConfidentialPost => "give a pre-registered confidential client in --config: `[[clients]]` with `role = \"confidential-post\"`, its `id`, `secret = \"${env.NAME}\"` (client_secret_post) and `redirect_uris`".into(),
    }
}

/// A redirect URI as the tool sends it: a loopback IP literal written without a port gets the
/// port the tool listens on (OAuth 2.1 §8.4.2 lets it vary; register it without one).
pub(super) fn with_tool_port(uri: &str, port: Option<u16>) -> String {
    let (Ok(mut u), Some(port)) = (url::Url::parse(uri), port) else {
        return uri.to_string();
    };
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    // `port()` is also `None` for an explicit default port: only a port-less text qualifies.
    let host = u.host_str().unwrap_or_default().to_string();
    let written_without_port = u.port().is_none() && !uri.contains(&format!("{host}:"));
    if u.scheme() == "http" && loopback && written_without_port && u.set_port(Some(port)).is_ok() {
        return u.to_string();
    }
    uri.to_string()
}

/// The clients given by role: `--client-id` / `[client]` as `main`, then `[[clients]]`.
pub(super) fn configured_clients(
    config: &ClientConfig,
    callback: &CallbackListener,
) -> Result<BTreeMap<ClientKind, Client>, String> {
    let mut out = BTreeMap::new();
    let cb = callback.uri("/callback");
    let port = url::Url::parse(&cb).ok().and_then(|u| u.port());
    let uris = |given: &[String], default: Vec<String>| -> Vec<String> {
        if given.is_empty() {
            default
        } else {
            given.iter().map(|u| with_tool_port(u, port)).collect()
        }
    };
    if let Some(id) = &config.id {
        let secret = match (&config.secret, &config.secret_env) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(var)) => Some(
                std::env::var(var)
                    .map_err(|_| format!("[client] secret_env names {var}, which is not set"))?,
            ),
            (None, None) => None,
        };
        let auth_method = config.auth_method.clone().unwrap_or_else(|| {
            if secret.is_some() {
                "client_secret_basic".into()
            } else {
                "none".into()
            }
        });
        out.insert(
            ClientKind::Main,
            Client {
                kind: ClientKind::Main,
                client_id: id.clone(),
                client_secret: secret,
                auth_method,
                redirect_uris: uris(&config.redirect_uris, vec![cb.clone()]),
            },
        );
    }
    for e in &config.clients {
        let default_uris = match e.role {
            ClientKind::Web | ClientKind::Multi => {
                vec!["https://client.example/cb".to_string(), format!("{cb}?x=1")]
            }
            ClientKind::Query => vec![format!("{cb}?x=1")],
            _ => vec![cb.clone()],
        };
        let auth_method = e.auth_method.clone().unwrap_or_else(|| {
            match e.role {
                ClientKind::Confidential => "client_secret_basic",
                ClientKind::ConfidentialPost => "client_secret_post",
                _ if e.secret.is_some() => "client_secret_basic",
                _ => "none",
            }
            .to_string()
        });
        out.insert(
            e.role,
            Client {
                kind: e.role,
                client_id: e.id.clone(),
                client_secret: e.secret.clone(),
                auth_method,
                redirect_uris: uris(&e.redirect_uris, default_uris),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_redirect_uri_without_a_port_gets_the_tools() {
        let p = Some(4321);
        assert_eq!(
            with_tool_port("http://127.0.0.1/callback", p),
            "http://127.0.0.1:4321/callback"
        );
        assert_eq!(
            with_tool_port("http://127.0.0.1/callback?x=1", p),
            "http://127.0.0.1:4321/callback?x=1"
        );
        assert_eq!(
            with_tool_port("http://[::1]/callback", p),
            "http://[::1]:4321/callback"
        );
        for kept in [
            "http://127.0.0.1:80/callback",
            "http://127.0.0.1:9000/callback",
            "http://localhost/callback",
            "https://client.example/cb",
            "https://127.0.0.1/callback",
            "com.example.app:/callback",
        ] {
            assert_eq!(with_tool_port(kept, p), kept);
        }
    }

    #[test]
    fn client_mode_follows_revision_and_what_the_server_offers() {
        use crate::revision::Revision::{R2025_11_25, R2026_07_28};
        let r = ClientMode::resolve;
        assert_eq!(r(None, R2026_07_28, true, true), ClientMode::Cimd);
        assert_eq!(r(None, R2025_11_25, true, true), ClientMode::Dcr);
        assert_eq!(r(None, R2026_07_28, false, true), ClientMode::Dcr);
        assert_eq!(r(None, R2025_11_25, false, false), ClientMode::Cimd);
        assert_eq!(
            r(Some(ClientMode::Static), R2026_07_28, true, true),
            ClientMode::Static
        );
    }
}
