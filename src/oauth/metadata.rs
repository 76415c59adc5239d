//! Metadata documents (RFC 8414 AS metadata, RFC 9728 protected resource metadata, OpenID
//! configuration) and the well-known URLs they live at.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

/// Parses a metadata document. serde would accept a JSON array for a struct, so the object shape
/// is checked first: a document that is not an object is an error, not an odd document.
pub fn parse_document(body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.is_empty() {
        return Err("the body is empty".into());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a JSON object, got a JSON {}",
            crate::suite::model::JsonType::of(&other).as_str()
        )),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// The typed reading of authorization server metadata (RFC 8414 §2, the members the checks
/// rely on). Members of the wrong JSON type make the typed reading fail; unknown members are
/// ignored. The untyped [`Map`] stays the source of truth: the typed view must agree with it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_document_supported: Option<bool>,
}

/// The typed reading of protected resource metadata (RFC 9728 §2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_metadata: Option<String>,
}

/// A parsed document read through one of the typed views.
pub fn typed<T: DeserializeOwned>(doc: &Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(doc.clone())).map_err(|e| e.to_string())
}

/// The well-known URL of `suffix` for `id`, inserted between the origin and the path
/// (RFC 8414 §3.1, RFC 9728 §3.1). A terminating `/` of the path is removed first.
pub fn path_inserted(id: &Url, suffix: &str) -> String {
    let path = id.path().trim_end_matches('/');
    format!("{}/.well-known/{suffix}{path}", origin(id))
}

/// The well-known URL appended to the identifier (OpenID Connect Discovery §4).
pub fn appended(id: &Url, suffix: &str) -> String {
    let mut s = id
        .as_str()
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    s.push_str("/.well-known/");
    s.push_str(suffix);
    s
}

/// `scheme://host[:port]` without a trailing slash.
pub fn origin(u: &Url) -> String {
    u.origin().ascii_serialization()
}

/// Whether the identifier has a path beyond `/`.
pub fn has_path(u: &Url) -> bool {
    !u.path().trim_end_matches('/').is_empty()
}

/// AS metadata locations in the order MCP 2025-11-25 clients try them.
pub fn as_metadata_candidates(issuer: &Url) -> Vec<(&'static str, String)> {
    if has_path(issuer) {
        vec![
            ("oauth", path_inserted(issuer, "oauth-authorization-server")),
            ("oidc", path_inserted(issuer, "openid-configuration")),
            ("oidc", appended(issuer, "openid-configuration")),
        ]
    } else {
        vec![
            ("oauth", path_inserted(issuer, "oauth-authorization-server")),
            ("oidc", path_inserted(issuer, "openid-configuration")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_well_known_urls() {
        let i = Url::parse("https://h.example/tenant/").unwrap();
        assert_eq!(
            path_inserted(&i, "oauth-authorization-server"),
            "https://h.example/.well-known/oauth-authorization-server/tenant"
        );
        assert_eq!(
            appended(&i, "openid-configuration"),
            "https://h.example/tenant/.well-known/openid-configuration"
        );
        let root = Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(as_metadata_candidates(&root).len(), 2);
        assert_eq!(
            path_inserted(
                &Url::parse("https://h/mcp").unwrap(),
                "oauth-protected-resource"
            ),
            "https://h/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn documents_must_be_objects() {
        assert!(parse_document(br#"{"issuer":"x"}"#).is_ok());
        assert!(parse_document(b"[1,2]").unwrap_err().contains("array"));
        assert!(
            parse_document(b"<html>")
                .unwrap_err()
                .starts_with("not JSON")
        );
        assert!(parse_document(b"").is_err());
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn an_issuer_without_path_has_two_candidates_at_the_root() {
        for issuer in ["https://as.example", "https://as.example/"] {
            assert!(!has_path(&url(issuer)), "{issuer}");
            assert_eq!(
                as_metadata_candidates(&url(issuer)),
                [
                    (
                        "oauth",
                        "https://as.example/.well-known/oauth-authorization-server".to_string()
                    ),
                    (
                        "oidc",
                        "https://as.example/.well-known/openid-configuration".to_string()
                    ),
                ],
                "{issuer}"
            );
        }
    }

    #[test]
    fn an_issuer_with_a_path_has_three_candidates_in_mcp_order() {
        // With or without the terminating slash, the same URLs (RFC 8414 §3.1 removes it).
        for issuer in [
            "http://127.0.0.1:8080/realms/mcp",
            "http://127.0.0.1:8080/realms/mcp/",
        ] {
            let i = url(issuer);
            assert!(has_path(&i), "{issuer}");
            assert_eq!(
                as_metadata_candidates(&i),
                [
                    (
                        "oauth",
                        "http://127.0.0.1:8080/.well-known/oauth-authorization-server/realms/mcp"
                            .to_string()
                    ),
                    (
                        "oidc",
                        "http://127.0.0.1:8080/.well-known/openid-configuration/realms/mcp"
                            .to_string()
                    ),
                    (
                        "oidc",
                        "http://127.0.0.1:8080/realms/mcp/.well-known/openid-configuration"
                            .to_string()
                    ),
                ],
                "{issuer}"
            );
        }
    }

    #[test]
    fn well_known_urls_drop_query_and_fragment_and_keep_the_port() {
        let i = url("https://as.example:8443/t1?x=1#f");
        assert_eq!(
            path_inserted(&i, "oauth-authorization-server"),
            "https://as.example:8443/.well-known/oauth-authorization-server/t1"
        );
        assert_eq!(
            appended(&i, "openid-configuration"),
            "https://as.example:8443/t1/.well-known/openid-configuration"
        );
        // The default port is not written; the host is as the URL parser normalised it.
        assert_eq!(
            origin(&url("HTTPS://AS.Example:443/x")),
            "https://as.example"
        );
        assert_eq!(
            path_inserted(
                &url("https://rs.example/a/b/mcp"),
                "oauth-protected-resource"
            ),
            "https://rs.example/.well-known/oauth-protected-resource/a/b/mcp"
        );
        assert_eq!(
            path_inserted(&url("https://rs.example/"), "oauth-protected-resource"),
            "https://rs.example/.well-known/oauth-protected-resource"
        );
    }
}
