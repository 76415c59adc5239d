//! The evidence record of one HTTP request and its answer. Checks keep these as they happen;
//! reporters show them (after redaction).

use serde::Serialize;

/// How much of a body the evidence keeps; the check itself sees the whole (capped) body.
const EVIDENCE_BODY_LIMIT: usize = 16 * 1024;

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Exchange {
    pub request: RequestRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRecord>,
    /// Set when no (complete) answer arrived: timeout, refused connection, oversized body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The evidence shows only the start of the body.
    // `default`: the report passes through JSON to be redacted; a missing `false` must read back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
}

/// How much of one header value the evidence keeps: HTTP/1 allows a response head of about
/// 400 KB, and a hostile server could send that on every answer of a run.
const EVIDENCE_HEADER_LIMIT: usize = 4 * 1024;

/// Headers for evidence: values longer than [`EVIDENCE_HEADER_LIMIT`] are cut, with their size.
pub fn evidence_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            if v.len() <= EVIDENCE_HEADER_LIMIT {
                return (k.clone(), v.clone());
            }
            let mut cut = EVIDENCE_HEADER_LIMIT;
            while !v.is_char_boundary(cut) {
                cut -= 1;
            }
            (k.clone(), format!("{}…«{} bytes»", &v[..cut], v.len()))
        })
        .collect()
}

/// Text for evidence: lossy UTF-8, cut at [`EVIDENCE_BODY_LIMIT`] on a character boundary.
pub fn evidence_text(bytes: &[u8]) -> (String, bool) {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= EVIDENCE_BODY_LIMIT {
        return (text.into_owned(), false);
    }
    let mut cut = EVIDENCE_BODY_LIMIT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (text[..cut].to_string(), true)
}
