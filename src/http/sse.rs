//! Server-sent event streams as MCP servers answer with them: the data of each event, and
//! whether a body read so far already holds the answer. Here rather than in `mcp` because the HTTP
//! client needs it to stop reading a stream that stays open.

use serde_json::Value;

/// The data of every event of an event stream that has some (events with empty data, such as
/// priming events, and comments are left out). Lines of one event's data join with `\n`.
pub fn event_data(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut data: Option<String> = None;
    let mut flush = |data: &mut Option<String>| {
        if let Some(d) = data.take() {
            if !d.trim().is_empty() {
                out.push(d);
            }
        }
    };
    for line in text.lines() {
        if line.is_empty() {
            flush(&mut data);
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_string()),
            }
        }
    }
    flush(&mut data);
    out
}

/// Whether an event-stream body read so far holds a complete event that answers a request (a
/// JSON-RPC response): a reader can stop there. Priming events and notifications do not.
pub fn stream_answered(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    // Only complete events count: cut after the last blank line.
    let complete = match text.rfind("\n\n") {
        Some(i) => &text[..i + 2],
        None => return false,
    };
    event_data(complete).iter().any(|d| {
        serde_json::from_str::<Value>(d)
            .is_ok_and(|m| m.get("result").is_some() || m.get("error").is_some())
    })
}
