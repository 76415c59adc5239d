//! Which revision the MCP server speaks, asked the way a client finds out: `server/discover` in
//! the stateless 2026-07-28 protocol (a result: it speaks that; an "unsupported protocol version"
//! error lists what it speaks), else `initialize` offering 2025-11-25 (the answer's
//! `protocolVersion`). First without a token; on 401, with the preflight's access token. A
//! session `initialize` opened is closed again with DELETE.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::http::{Exchange, HttpClient, Request, Response};
use crate::mcp;
use crate::revision::Revision;

/// What the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The revision graded for it.
    pub revision: Revision,
    /// The version text the server gave (`2024-11-05` for an old server), or the newest of its
    /// list.
    pub said: String,
    /// How it was asked and what it answered.
    pub how: String,
    /// Set when `said` is not a revision graded here (mapped to the nearest one).
    pub note: Option<String>,
}

/// One round of asking, with one credential.
enum Round {
    Answer(Negotiated),
    Unauthorized,
    Failed(String),
}

static DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{4}-\d{2}-\d{2}\b").expect("a valid pattern"));

/// Asks the MCP endpoint `rs` which revision it speaks. `token` is the preflight's access token
/// (used only if the server answers 401 without one); `why_no_token` says why there is none.
pub async fn negotiate(
    http: &HttpClient,
    rs: &str,
    token: Option<&str>,
    why_no_token: Option<&str>,
) -> (Result<Negotiated, String>, Vec<Exchange>) {
    let mut exchanges = Vec::new();
    let result = match ask(http, rs, None, &mut exchanges).await {
        Round::Answer(n) => Ok(n),
        Round::Failed(why) => Err(why),
        Round::Unauthorized => match token {
            None => Err(format!(
                "it answers 401 without a token, and the preflight got none ({})",
                why_no_token.unwrap_or("no reason recorded")
            )),
            Some(t) => match ask(http, rs, Some(t), &mut exchanges).await {
                Round::Answer(mut n) => {
                    n.how = format!("with the preflight's access token, {}", n.how);
                    Ok(n)
                }
                Round::Unauthorized => {
                    Err("it answers 401 even with the preflight's access token".into())
                }
                Round::Failed(why) => Err(why),
            },
        },
    };
    (result, exchanges)
}

async fn send(
    http: &HttpClient,
    rs: &str,
    rev: Revision,
    method: &str,
    token: Option<&str>,
    exchanges: &mut Vec<Exchange>,
) -> Result<Response, String> {
    let (mut headers, body) = mcp::rpc_request(rev, method, None, 1);
    if let Some(t) = token {
        headers.push(("Authorization".into(), format!("Bearer {t}")));
    }
    let req = Request {
        method: "POST".into(),
        url: rs.to_string(),
        headers,
        body: Some(body),
    };
    let (ex, result) = http.send(&req).await;
    exchanges.push(ex);
    result.map_err(|e| format!("{method} got no answer: {}", e.brief()))
}

async fn ask(
    http: &HttpClient,
    rs: &str,
    token: Option<&str>,
    exchanges: &mut Vec<Exchange>,
) -> Round {
    // 1. The stateless protocol's discovery.
    let discover = match send(
        http,
        rs,
        Revision::R2026_07_28,
        "server/discover",
        token,
        exchanges,
    )
    .await
    {
        Ok(r) => r,
        Err(why) => return Round::Failed(why),
    };
    if discover.status == 401 {
        return Round::Unauthorized;
    }
    let json = mcp::decode(&discover).ok();
    let has_result = json.as_ref().is_some_and(|j| j.get("result").is_some());
    if (200..300).contains(&discover.status) && has_result {
        return Round::Answer(Negotiated {
            revision: Revision::R2026_07_28,
            said: Revision::R2026_07_28.to_string(),
            how: "server/discover as 2026-07-28 answered a result".into(),
            note: None,
        });
    }
    let body = String::from_utf8_lossy(&discover.body);
    if let Some(list) = supported_list(json.as_ref(), &body) {
        if let Some((revision, said, note)) = newest(&list) {
            return Round::Answer(Negotiated {
                revision,
                said,
                how: format!(
                    "server/discover as 2026-07-28 answered {} listing the versions it supports: {}",
                    discover.status,
                    list.join(", ")
                ),
                note,
            });
        }
    }
    let discover_said = answer_brief(&discover, json.as_ref());

    // 2. The lifecycle's version negotiation.
    let init = match send(
        http,
        rs,
        Revision::R2025_11_25,
        "initialize",
        token,
        exchanges,
    )
    .await
    {
        Ok(r) => r,
        Err(why) => return Round::Failed(why),
    };
    if init.status == 401 {
        return Round::Unauthorized;
    }
    let json = mcp::decode(&init).ok();
    let offered = json
        .as_ref()
        .and_then(|j| j.pointer("/result/protocolVersion"))
        .and_then(Value::as_str);
    let answer = match offered.and_then(|v| map_version(v).map(|m| (v, m))) {
        Some((v, (revision, note))) => Some(Negotiated {
            revision,
            said: v.to_string(),
            how: format!(
                "server/discover answered {discover_said}; initialize offering 2025-11-25 answered protocolVersion {v}"
            ),
            note,
        }),
        None => {
            let body = String::from_utf8_lossy(&init.body);
            supported_list(json.as_ref(), &body).and_then(|list| {
                newest(&list).map(|(revision, said, note)| Negotiated {
                    revision,
                    said,
                    how: format!(
                        "server/discover answered {discover_said}; initialize offering 2025-11-25 answered {} listing the versions it supports: {}",
                        init.status,
                        list.join(", ")
                    ),
                    note,
                })
            })
        }
    };
    if let Some(session) = init.header("mcp-session-id") {
        // Politely close the session initialize opened; whatever the answer.
        let rev = answer
            .as_ref()
            .map_or(Revision::R2025_11_25, |a| a.revision);
        let mut req = Request {
            method: "DELETE".into(),
            url: rs.to_string(),
            headers: vec![("Mcp-Session-Id".into(), session.to_string())],
            body: None,
        };
        req.headers.extend(mcp::protocol_headers(rev, None));
        if let Some(t) = token {
            req.headers
                .push(("Authorization".into(), format!("Bearer {t}")));
        }
        let (ex, _) = http.send(&req).await;
        exchanges.push(ex);
    }
    match answer {
        Some(a) => Round::Answer(a),
        None => Round::Failed(format!(
            "server/discover answered {discover_said}; initialize answered {} without a protocolVersion",
            answer_brief(&init, json.as_ref())
        )),
    }
}

/// `400 (-32601 Method not found)` for messages.
fn answer_brief(resp: &Response, json: Option<&Value>) -> String {
    let error = json.and_then(|j| j.get("error"));
    match error {
        Some(e) => format!(
            "{} ({} {})",
            resp.status,
            e.get("code").map(Value::to_string).unwrap_or_default(),
            e.get("message").and_then(Value::as_str).unwrap_or_default()
        ),
        None => resp.status.to_string(),
    }
}

/// The protocol versions an "unsupported protocol version" answer lists: in `error.data` (as
/// `supported`, `supportedVersions`, or any array of version strings), else in text such as
/// "Unsupported protocol version (supported versions: 2025-06-18, 2025-03-26)".
pub fn supported_list(json: Option<&Value>, body: &str) -> Option<Vec<String>> {
    let error = json.and_then(|j| j.get("error"));
    let data = error.and_then(|e| e.get("data"));
    let versions = |v: &Value| -> Option<Vec<String>> {
        let items = v.as_array()?;
        let list: Vec<String> = items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| is_version(s))
            .map(str::to_string)
            .collect();
        (!list.is_empty() && list.len() == items.len()).then_some(list)
    };
    if let Some(d) = data {
        for key in [
            "supported",
            "supportedVersions",
            "supported_versions",
            "supportedProtocolVersions",
        ] {
            if let Some(list) = d.get(key).and_then(versions) {
                return Some(list);
            }
        }
        if let Some(list) = versions(d) {
            return Some(list);
        }
        if let Some(list) = d.as_object().and_then(|m| m.values().find_map(versions)) {
            return Some(list);
        }
        if let Some(list) = d.as_str().and_then(versions_in_text) {
            return Some(list);
        }
    }
    if let Some(list) = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .and_then(versions_in_text)
    {
        return Some(list);
    }
    versions_in_text(body)
}

/// The version strings after the first "supported" that is not "unsupported".
fn versions_in_text(text: &str) -> Option<Vec<String>> {
    let lower = text.to_ascii_lowercase();
    let at = lower
        .match_indices("supported")
        .find(|(i, _)| !lower[..*i].ends_with("un"))
        .map(|(i, _)| i)?;
    let list: Vec<String> = DATE
        .find_iter(&text[at..])
        .map(|m| m.as_str().to_string())
        .collect();
    (!list.is_empty()).then_some(list)
}

fn is_version(s: &str) -> bool {
    s.len() == 10 && DATE.is_match(s)
}

/// The newest revision graded here among `list`: the newest known one, else the newest
/// version mapped to the nearest revision.
fn newest(list: &[String]) -> Option<(Revision, String, Option<String>)> {
    if let Some(r) = list.iter().filter_map(|s| s.parse::<Revision>().ok()).max() {
        return Some((r, r.to_string(), None));
    }
    let top = list.iter().filter(|s| is_version(s)).max()?;
    map_version(top).map(|(r, note)| (r, top.clone(), note))
}

/// A protocol version string as the revision to grade: a revision graded here is itself; an
/// older one (2024-11-05) grades as the oldest, 2025-03-26; a newer one as the latest; one in
/// between as the newest revision before it. `None` for text that is no version.
pub fn map_version(v: &str) -> Option<(Revision, Option<String>)> {
    if let Ok(r) = v.parse::<Revision>() {
        return Some((r, None));
    }
    if !is_version(v) {
        return None;
    }
    let oldest = Revision::ALL[0];
    if v < oldest.as_str() {
        return Some((
            oldest,
            Some(format!(
                "the server speaks {v}, older than any revision graded here: graded as {oldest}"
            )),
        ));
    }
    let r = Revision::ALL
        .into_iter()
        .rev()
        .find(|r| r.as_str() < v)
        .unwrap_or(Revision::LATEST);
    let note = if r == Revision::LATEST {
        format!("the server speaks {v}, newer than any revision graded here: graded as {r}")
    } else {
        format!(
            "the server speaks {v}, which is not a revision graded here: graded as {r}, the one before it"
        )
    };
    Some((r, Some(note)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_supported_versions_wherever_they_are() {
        let e = |data: Value| json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "Unsupported protocol version", "data": data}});
        let want = Some(vec!["2025-06-18".to_string(), "2025-11-25".to_string()]);
        let j = e(json!({"supported": ["2025-06-18", "2025-11-25"], "requested": "2026-07-28"}));
        assert_eq!(supported_list(Some(&j), ""), want);
        let j = e(json!({"supportedVersions": ["2025-06-18", "2025-11-25"]}));
        assert_eq!(supported_list(Some(&j), ""), want);
        let j = e(json!({"versions": ["2025-06-18", "2025-11-25"]}));
        assert_eq!(supported_list(Some(&j), ""), want);
        let j = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": "Bad Request: Unsupported protocol version: 2026-07-28 (supported versions: 2025-06-18, 2025-11-25)"}});
        assert_eq!(supported_list(Some(&j), ""), want);
        assert_eq!(
            supported_list(
                None,
                "Unsupported protocol version 2026-07-28. Supported: 2025-06-18, 2025-11-25"
            ),
            want
        );
        // The requested version alone is no list.
        assert_eq!(
            supported_list(None, "Unsupported protocol version 2026-07-28"),
            None
        );
        let j = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}});
        assert_eq!(supported_list(Some(&j), ""), None);
    }

    #[test]
    fn maps_versions_to_revisions() {
        assert_eq!(
            map_version("2025-11-25"),
            Some((Revision::R2025_11_25, None))
        );
        let (r, note) = map_version("2024-11-05").unwrap();
        assert_eq!(r, Revision::R2025_03_26);
        assert!(note.unwrap().contains("older"));
        let (r, note) = map_version("2027-01-01").unwrap();
        assert_eq!(r, Revision::LATEST);
        assert!(note.unwrap().contains("newer"));
        assert_eq!(map_version("2025-09-01").unwrap().0, Revision::R2025_06_18);
        assert_eq!(map_version("latest"), None);
        let list = [
            "2024-11-05".to_string(),
            "2025-06-18".to_string(),
            "2025-03-26".to_string(),
        ];
        assert_eq!(newest(&list).unwrap().0, Revision::R2025_06_18);
        assert_eq!(
            newest(&["2024-11-05".to_string()]).unwrap().0,
            Revision::R2025_03_26
        );
    }
}
