//! The MCP side of a request: the JSON-RPC body and headers a well-behaved client sends for a
//! revision, and decoding of the answer (plain JSON or the first event of an SSE stream).

use serde_json::{Value, json};

use crate::http::Response;
use crate::revision::Revision;

/// The request that opens a conversation: `initialize` up to 2025-11-25, `server/discover` in the
/// stateless 2026-07-28 protocol.
pub fn probe_method(rev: Revision) -> &'static str {
    if rev.is_stateless() {
        "server/discover"
    } else {
        "initialize"
    }
}

/// Headers and body of one JSON-RPC request, otherwise valid so that the only defect a check
/// introduces is the one under test (requirements.md §4.15).
pub fn rpc_request(
    rev: Revision,
    method: &str,
    params: Option<Value>,
    id: u64,
) -> (Vec<(String, String)>, Vec<u8>) {
    let mut params = params.unwrap_or_else(|| default_params(rev, method));
    if rev.is_stateless() {
        if let Value::Object(map) = &mut params {
            let meta = map.entry("_meta").or_insert_with(|| json!({}));
            if let Value::Object(meta) = meta {
                meta.entry("io.modelcontextprotocol/protocolVersion")
                    .or_insert_with(|| json!(rev.as_str()));
                meta.entry("io.modelcontextprotocol/clientCapabilities")
                    .or_insert_with(|| json!({}));
            }
        }
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    (post_headers(rev, method), body.to_string().into_bytes())
}

/// The headers of a JSON-RPC message POSTed to the MCP endpoint.
fn post_headers(rev: Revision, method: &str) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            "Accept".to_string(),
            "application/json, text/event-stream".to_string(),
        ),
    ];
    headers.extend(protocol_headers(rev, Some(method)));
    headers
}

/// `MCP-Protocol-Version` (2025-06-18 and later; 2025-03-26 had no such header) and, for the
/// stateless protocol, `Mcp-Method`.
pub fn protocol_headers(rev: Revision, method: Option<&str>) -> Vec<(String, String)> {
    let mut h = Vec::new();
    if rev >= Revision::R2025_06_18 {
        h.push(("MCP-Protocol-Version".to_string(), rev.as_str().to_string()));
    }
    if let (true, Some(m)) = (rev.is_stateless(), method) {
        h.push(("Mcp-Method".to_string(), m.to_string()));
    }
    h
}

/// A notification (no `id`, no answer expected): `notifications/initialized` after `initialize`.
pub fn notification(rev: Revision, method: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let body = json!({"jsonrpc": "2.0", "method": method});
    (post_headers(rev, method), body.to_string().into_bytes())
}

pub fn default_params(rev: Revision, method: &str) -> Value {
    let client_info = json!({"name": "mcp-oauth-conform", "version": env!("CARGO_PKG_VERSION")});
    match method {
        "initialize" => {
            json!({"protocolVersion": rev.as_str(), "capabilities": {}, "clientInfo": client_info})
        }
        "tools/call" => json!({"name": "whoami", "arguments": {}}),
        _ => json!({}),
    }
}

/// The JSON-RPC message in a response: the body itself, or the first `data:` event of a
/// `text/event-stream` body.
pub fn decode(resp: &Response) -> Result<Value, String> {
    if resp.body.is_empty() {
        return Err("empty body".into());
    }
    if resp.media_type().as_deref() == Some("text/event-stream") {
        let text = String::from_utf8_lossy(&resp.body);
        let mut data = String::new();
        for line in text.lines() {
            if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            } else if line.is_empty() && !data.is_empty() {
                break;
            }
        }
        if data.is_empty() {
            return Err("event stream carried no data event".into());
        }
        return serde_json::from_str(&data).map_err(|e| format!("event data is not JSON: {e}"));
    }
    serde_json::from_slice(&resp.body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stateless_requests_carry_meta_and_method_header() {
        let (h, body) = rpc_request(Revision::R2026_07_28, "server/discover", None, 1);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert!(h.contains(&("Mcp-Method".into(), "server/discover".into())));
        let (h, body) = rpc_request(Revision::R2025_03_26, "initialize", None, 1);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["params"]["protocolVersion"], "2025-03-26");
        assert!(!h.iter().any(|(k, _)| k == "MCP-Protocol-Version"));
    }

    #[test]
    fn decodes_event_streams() {
        let resp = Response {
            url: String::new(),
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: b": comment\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n".to_vec(),
        };
        assert_eq!(decode(&resp).unwrap()["id"], 1);
    }
}
