//! Token endpoint answers: the successful response (RFC 6749 §5.1) and the error response
//! (§5.2), read from untrusted bytes. Both are JSON objects; anything else is an error, never a
//! panic. The typed views keep the whole object (`raw`) next to the fields the tool reads.

use serde_json::{Map, Value};

/// A successful token response.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// The whole object as received.
    pub raw: Map<String, Value>,
}

/// An OAuth error response (token, registration, revocation and introspection endpoints).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorResponse {
    pub error: String,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
    pub raw: Map<String, Value>,
}

fn string(map: &Map<String, Value>, name: &str, required: bool) -> Result<Option<String>, String> {
    match map.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(format!("`{name}` is missing")),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "`{name}` is a JSON {}, not a string",
            crate::suite::model::JsonType::of(other).as_str()
        )),
    }
}

/// Parses a successful token response: an object with string `access_token` and `token_type`,
/// `expires_in` a non-negative integer when present.
pub fn token_response(body: &[u8]) -> Result<TokenResponse, String> {
    let raw = super::metadata::parse_document(body)?;
    let access_token = string(&raw, "access_token", true)?.unwrap_or_default();
    if access_token.is_empty() {
        return Err("`access_token` is empty".into());
    }
    let token_type = string(&raw, "token_type", true)?.unwrap_or_default();
    let expires_in = match raw.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| format!("`expires_in` is {v}, not a non-negative integer"))?,
        ),
    };
    Ok(TokenResponse {
        access_token,
        token_type,
        expires_in,
        refresh_token: string(&raw, "refresh_token", false)?,
        scope: string(&raw, "scope", false)?,
        raw,
    })
}

/// Parses an error response: an object with a string `error`.
pub fn error_response(body: &[u8]) -> Result<ErrorResponse, String> {
    let raw = super::metadata::parse_document(body)?;
    Ok(ErrorResponse {
        error: string(&raw, "error", true)?.unwrap_or_default(),
        error_description: string(&raw, "error_description", false)?,
        error_uri: string(&raw, "error_uri", false)?,
        raw,
    })
}

impl ErrorResponse {
    /// RFC 6749 §5.2 problems: `error` and `error_description` are NQSCHAR (printable ASCII
    /// without `"` and `\`), `error_uri` a URI-reference. Empty when the response is well formed.
    pub fn problems(&self) -> Vec<String> {
        let nqschar = |c: char| matches!(c, '\x20' | '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
        let mut out = Vec::new();
        if self.error.is_empty() {
            out.push("`error` is empty".to_string());
        }
        if !self.error.chars().all(nqschar) {
            out.push(format!(
                "`error` has characters RFC 6749 does not allow: {:?}",
                self.error
            ));
        }
        if let Some(d) = &self.error_description {
            if !d.chars().all(nqschar) {
                out.push(format!(
                    "`error_description` has characters RFC 6749 does not allow: {d:?}"
                ));
            }
        }
        if let Some(u) = &self.error_uri {
            if !u
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
            {
                out.push(format!("`error_uri` is not a URI: {u:?}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_token_responses() {
        let t = token_response(
            br#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"scope":"mcp"}"#,
        )
        .unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.expires_in, t.scope.as_deref()),
            ("at", Some(3600), Some("mcp"))
        );
        assert!(
            token_response(br#"["at","Bearer"]"#)
                .unwrap_err()
                .contains("array")
        );
        assert!(token_response(br#"{"access_token":1,"token_type":"x"}"#).is_err());
        assert!(
            token_response(br#"{"access_token":"a","token_type":"x","expires_in":-1}"#).is_err()
        );
    }

    #[test]
    fn reads_error_responses() {
        let e = error_response(br#"{"error":"invalid_grant","error_description":"bad \"code\""}"#)
            .unwrap();
        assert_eq!(e.error, "invalid_grant");
        assert_eq!(e.problems().len(), 1);
        assert!(error_response(br#"{"error_description":"x"}"#).is_err());
        assert!(error_response(b"<html>").is_err());
    }
}
