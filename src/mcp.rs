//! The MCP side of a request: the JSON-RPC body and headers a well-behaved client sends for a
//! revision, and decoding of the answer (plain JSON, or the response event of an SSE stream).

use serde_json::{Value, json};

// The event-stream reading is the HTTP client's too (it stops reading at the answer), so it lives
// in `http`.
use crate::http::Response;
use crate::http::sse::event_data;
pub use crate::http::sse::stream_answered;
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
/// introduces is the one under test.
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

/// The tool a `tools/call` names when a step names none: no server has it. Such a call (e.g.
/// rs.no-data-before-auth's, sent without a token) is refused by authentication on a conforming
/// server before any tool is looked up, and on a broken, open server it still runs nothing: it
/// can never change a server's data, whatever the tool-call policy.
pub const NO_SUCH_TOOL: &str = "mcp-oauth-conform-no-such-tool";

pub fn default_params(rev: Revision, method: &str) -> Value {
    let client_info = json!({"name": "mcp-oauth-conform", "version": env!("CARGO_PKG_VERSION")});
    match method {
        "initialize" => {
            json!({"protocolVersion": rev.as_str(), "capabilities": {}, "clientInfo": client_info})
        }
        "tools/call" => json!({"name": NO_SUCH_TOOL, "arguments": {}}),
        _ => json!({}),
    }
}

/// The JSON-RPC message in a response: the body itself, or the answer in a `text/event-stream`
/// body. Every request this tool sends has id 1.
pub fn decode(resp: &Response) -> Result<Value, String> {
    decode_response(resp, &json!(1))
}

/// The JSON-RPC message in a response to the request with `id`: the body itself, or for a
/// `text/event-stream` body the response event (one with `result` or `error`) carrying that id.
/// Priming events (an `id:` with empty data), comments, notifications and server requests before
/// it are skipped. When no event answers `id`, the first response event, else the first JSON
/// message, stands in.
pub fn decode_response(resp: &Response, id: &Value) -> Result<Value, String> {
    if resp.body.is_empty() {
        return Err("empty body".into());
    }
    if resp.media_type().as_deref() == Some("text/event-stream") {
        let text = String::from_utf8_lossy(&resp.body);
        let datas = event_data(&text);
        if datas.is_empty() {
            return Err("event stream carried no data event".into());
        }
        let mut messages = Vec::new();
        let mut first_error = None;
        for d in &datas {
            match serde_json::from_str::<Value>(d) {
                Ok(v) => messages.push(v),
                Err(e) => {
                    first_error.get_or_insert_with(|| format!("event data is not JSON: {e}"));
                }
            }
        }
        let is_response = |m: &Value| m.get("result").is_some() || m.get("error").is_some();
        let pick = messages
            .iter()
            .position(|m| is_response(m) && m.get("id") == Some(id))
            .or_else(|| messages.iter().position(is_response))
            .or(if messages.is_empty() { None } else { Some(0) });
        return match pick {
            Some(i) => Ok(messages.swap_remove(i)),
            None => Err(first_error.unwrap_or_else(|| "event stream carried no data event".into())),
        };
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

    fn stream(body: &str) -> Response {
        Response {
            url: String::new(),
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_priming_event_is_skipped() {
        let body = "id: s-0\ndata:\n\nevent: message\nid: s-1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}\n\n";
        let v = decode(&stream(body)).unwrap();
        assert_eq!(v["result"]["ok"], true);
        assert!(!stream_answered(b"id: s-0\ndata:\n\n"));
        assert!(stream_answered(body.as_bytes()));
        assert!(stream_answered(body.replace('\n', "\r\n").as_bytes()));
    }

    #[test]
    fn a_notification_before_the_response_is_skipped() {
        let body = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let v = decode(&stream(body)).unwrap();
        assert_eq!(v["id"], 1);
        assert!(v.get("method").is_none());
    }

    #[test]
    fn the_event_with_the_request_id_is_the_answer() {
        let body = "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"n\":7}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"n\":1}}\n\n";
        assert_eq!(decode(&stream(body)).unwrap()["result"]["n"], 1);
        assert_eq!(
            decode_response(&stream(body), &json!(7)).unwrap()["result"]["n"],
            7
        );
        // No event answers the id: the first response stands in.
        assert_eq!(
            decode_response(&stream(body), &json!(9)).unwrap()["result"]["n"],
            7
        );
    }

    #[test]
    fn only_priming_events_carry_no_data() {
        let e = decode(&stream("id: a\ndata:\n\n: keep-alive\n\n")).unwrap_err();
        assert_eq!(e, "event stream carried no data event");
        let e = decode(&stream("data: not json\n\n")).unwrap_err();
        assert!(e.starts_with("event data is not JSON"), "{e}");
        // Data split over lines joins with a newline.
        let v = decode(&stream("data: {\"id\":1,\ndata: \"result\":{}}\n\n")).unwrap();
        assert_eq!(v["id"], 1);
    }
}
