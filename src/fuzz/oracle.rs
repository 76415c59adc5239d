//! The oracles: how the fuzzer judges one answer to a mutated request. Each is a check ID of
//! the `fuzz` family with the level the specifications give it; what an oracle finds is the
//! server's defect only when the answer itself shows it (a 5xx, a leaked stack trace, our
//! marker back in markup or in a header of its own, an answer that never came).

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use crate::http::{HttpError, Response};
use crate::suite::model::Level;

use super::mutate::{injected_header, reflected_element};

/// One oracle, as the catalogue and the reports show it.
#[derive(Clone, Copy, Debug)]
pub struct Oracle {
    pub id: &'static str,
    pub title: &'static str,
    pub level: Level,
    pub refs: &'static [&'static str],
    pub why: &'static str,
    pub fix: &'static str,
    /// How an answer is judged.
    pub reading: &'static str,
}

pub const NO_5XX: &str = "fuzz.no-5xx";
pub const NO_REFLECTION: &str = "fuzz.no-reflection";
pub const HEADER_INJECTION: &str = "fuzz.header-injection";
pub const OVERSIZE: &str = "fuzz.oversize";
pub const MALFORMED_ACCEPTED: &str = "fuzz.malformed-accepted";

pub const ORACLES: &[Oracle] = &[
    Oracle {
        id: NO_5XX,
        title: "Hostile input gets a 4xx answer, never a 5xx, a stack trace or no answer",
        // MCP: servers MUST return appropriate status codes for error conditions, and OAuth
        // answers invalid requests with 400; a dropped connection or no answer is a SHOULD.
        level: Level::Must,
        refs: &[
            "MCP-2025-06-18/authorization#error-handling",
            "OAuth2.1-3.2.4",
            "OAuth2.1-5.3",
        ],
        why: "A server that answers malformed input with 5xx (or drops the connection) turns every client bug into an outage report and hands attackers a cheap way to find parsing paths that crash; a stack trace in the answer tells them the code, libraries and paths behind it.",
        fix: "Validate each parameter, header and body before using it and answer what does not validate with 400 (invalid_request) or 401 (invalid_token); catch everything else at the edge and answer a generic error without exception text.",
        reading: "An answer of 500 or above is a fail (503 with Retry-After excepted: that asks for less traffic); so is a stack trace or exception text in any answer, JSON error members included. No answer within the timeout, or a connection closed without an answer to a request under 8 KiB, is a warn.",
    },
    Oracle {
        id: NO_REFLECTION,
        title: "Markup sent in a parameter never comes back unescaped in an HTML page",
        level: Level::Must,
        refs: &["OAuth2.1-7.11"],
        why: "An authorization server page that writes a request value into HTML unescaped runs an attacker's script in the server's own origin: a crafted link steals sessions or approves consent.",
        fix: "HTML-escape every request value written into a page (the template engine's autoescaping), or answer errors as JSON with X-Content-Type-Options: nosniff.",
        reading: "The probe's HTML marker (an element named after the probe, behind quote and angle-bracket breakers) found unescaped in an answer served as HTML or without a Content-Type is a fail; JSON that repeats it is data, not markup.",
    },
    Oracle {
        id: HEADER_INJECTION,
        title: "CR LF in a parameter never splits the answer's headers",
        level: Level::Must,
        refs: &["OAuth2.1-7.11"],
        why: "A server that copies CR LF from a parameter such as state into a header line lets an attacker set cookies or headers in the victim's browser (response splitting), fixate sessions, or poison caches.",
        fix: "Never write raw request values into header lines: percent-encode values placed in Location, encode cookie values, and refuse parameters that carry control characters.",
        reading: "A parameter carries CR LF and a header line named after the probe; that header in the answer is a fail.",
    },
    Oracle {
        id: OVERSIZE,
        title: "Large or deeply nested input is refused promptly",
        level: Level::Should,
        refs: &["MCP-2025-06-18/authorization#error-handling"],
        why: "A request that takes the server many times longer than the same request unaltered is a denial-of-service lever anyone without credentials can pull.",
        fix: "Limit the size of headers, bodies and parameters and the nesting depth of JSON before parsing, and refuse what exceeds the limits with 400, 413 or 431.",
        reading: "An answer that takes more than ten times the unaltered request's time, and at least two seconds more, is a warn.",
    },
    Oracle {
        id: MALFORMED_ACCEPTED,
        title: "No token is issued for a malformed parameter value",
        level: Level::Must,
        refs: &["OAuth2.1-3.2.4", "OAuth2.1-4.1.3"],
        why: "A token endpoint that trims, truncates or otherwise repairs a required parameter before using it (a grant_type with trailing whitespace, a code with a NUL byte after it) does not compare values exactly: the same leniency elsewhere lets altered codes, verifiers or redirect URIs through.",
        fix: "Compare parameter values exactly as sent; refuse a value that is not one of the defined ones with invalid_request or unsupported_grant_type instead of normalising it.",
        reading: "Judged on token requests whose unaltered form gets tokens: when a parameter's value changed to a malformed one (whitespace, NUL, CR LF or markup appended, replaced, emptied, full-width, not UTF-8, oversized) still gets an access token, and the same request without that parameter is refused (so the server needs it), it is a fail. Equivalent encodings, duplicates and case changes are not judged here, nor spaces, tabs or NUL appended to a URL-valued parameter (redirect_uri, resource): URL parsers remove them, so a server that compares URLs sees the same value.",
    },
];

pub fn oracle(id: &str) -> Option<&'static Oracle> {
    ORACLES.iter().find(|o| o.id == id)
}

/// What one answer showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub oracle: &'static str,
    pub level: Level,
    pub what: String,
}

/// Text a server leaks when an exception escapes: runtime panic and trace formats of the
/// common server stacks. Matched in the body of any answer.
static TRACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)Traceback \(most recent call last\)|panicked at |stack backtrace:|^\s+at [\w$.<>\[\] ]+ \(.*:\d+:\d+\)|^\s+at .*\.java:\d+\)|Exception in thread |File \x22[^\x22]+\x22, line \d+|System\.\w+Exception:|\.rb:\d+:in `",
    )
    // A constant pattern; `stack_traces_are_recognised` compiles it in every test run.
    .expect("the stack-trace pattern compiles")
});

/// Whether a body carries a stack trace, and the first line that shows it.
pub fn stack_trace(body: &[u8]) -> Option<String> {
    let mut text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).into_owned();
    // A trace inside a JSON error member has its line breaks escaped: read the strings too.
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) {
        strings(&doc, &mut text);
    }
    let m = TRACE.find(&text)?;
    let line = text[m.start()..].lines().next().unwrap_or("").trim();
    Some(line.chars().take(120).collect())
}

fn strings(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => {
            out.push('\n');
            out.push_str(s);
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The unaltered request's time and how much slower an answer may be before it counts.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub baseline: Duration,
}

impl Pace {
    /// Ten times the unaltered request, and at least two seconds more than it: a busy machine
    /// must not look like resource exhaustion.
    pub fn too_slow(&self, took: Duration) -> bool {
        took > (self.baseline * 10).max(self.baseline + Duration::from_secs(2))
    }
}

/// Requests larger than this (headers and body) may be cut off by a server without a finding.
pub const LARGE_REQUEST: usize = 8 * 1024;

/// Judges one answer to the probe named `marker`; `large`: the request was over
/// [`LARGE_REQUEST`].
pub fn judge(
    result: &Result<Response, HttpError>,
    took: Duration,
    pace: Pace,
    marker: &str,
    large: bool,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(what) = no_answer(e, large) {
                hits.push(Hit {
                    oracle: NO_5XX,
                    level: Level::Should,
                    what,
                });
            }
            return hits;
        }
    };
    let trace = stack_trace(&resp.body);
    if resp.status >= 500 && !overloaded(resp) {
        hits.push(Hit {
            oracle: NO_5XX,
            level: Level::Must,
            what: match &trace {
                Some(t) => format!("HTTP {} with a stack trace (\"{t}\")", resp.status),
                None => format!("HTTP {}", resp.status),
            },
        });
    } else if let Some(t) = trace {
        hits.push(Hit {
            oracle: NO_5XX,
            level: Level::Must,
            what: format!("HTTP {} with a stack trace (\"{t}\")", resp.status),
        });
    }
    let renders_html = resp
        .media_type()
        .is_none_or(|m| m.contains("html") || m.is_empty());
    let element = reflected_element(marker);
    if renders_html
        && String::from_utf8_lossy(&resp.body)
            .to_ascii_lowercase()
            .contains(&element.to_ascii_lowercase())
    {
        hits.push(Hit {
            oracle: NO_REFLECTION,
            level: Level::Must,
            what: format!(
                "HTTP {} {} carries {element} unescaped",
                resp.status,
                resp.media_type()
                    .unwrap_or_else(|| "without a Content-Type".into())
            ),
        });
    }
    let injected = injected_header(marker);
    if let Some((name, value)) = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&injected))
    {
        hits.push(Hit {
            oracle: HEADER_INJECTION,
            level: Level::Must,
            what: format!(
                "HTTP {} carries the header line the request smuggled in a parameter ({name}: {value})",
                resp.status
            ),
        });
    }
    if pace.too_slow(took) {
        hits.push(Hit {
            oracle: OVERSIZE,
            level: Level::Should,
            what: format!(
                "answered in {} ms, against {} ms for the unaltered request",
                took.as_millis(),
                pace.baseline.as_millis()
            ),
        });
    }
    hits
}

/// 503 with Retry-After is a server asking for less traffic, not failing on input.
fn overloaded(resp: &Response) -> bool {
    resp.status == 503 && resp.header("retry-after").is_some()
}

/// A request that went out and got no answer. A request the tool could not build or was not
/// allowed to send is the tool's matter, not the server's.
/// A server may close the connection on a request too large to read (having answered 413 or
/// 431 first, which the client may not get to see): a closed connection counts only for a
/// request of ordinary size.
fn no_answer(e: &HttpError, large: bool) -> Option<String> {
    match e {
        HttpError::Timeout { secs, .. } => Some(format!("no answer within {secs} s")),
        HttpError::Connect { detail, .. } | HttpError::Other { detail, .. } if !large => {
            Some(format!("no answer: {detail}"))
        }
        HttpError::Connect { .. } | HttpError::Other { .. } => None,
        HttpError::Build { .. }
        | HttpError::TooLarge { .. }
        | HttpError::Deadline { .. }
        | HttpError::Refused { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, ct: &str, body: &str) -> Result<Response, HttpError> {
        Ok(Response {
            url: "http://127.0.0.1:1/".into(),
            status,
            headers: vec![("content-type".into(), ct.into())],
            body: body.as_bytes().to_vec(),
        })
    }

    const PACE: Pace = Pace {
        baseline: Duration::from_millis(5),
    };

    #[test]
    fn a_plain_refusal_is_no_finding() {
        let r = resp(400, "application/json", r#"{"error":"invalid_request"}"#);
        assert!(judge(&r, Duration::from_millis(3), PACE, "mcpfz1", false).is_empty());
    }

    #[test]
    fn a_500_fails_and_names_a_stack_trace() {
        let r = resp(500, "text/plain", "internal error");
        let h = judge(&r, Duration::ZERO, PACE, "m", false);
        assert_eq!((h[0].oracle, h[0].level), (NO_5XX, Level::Must));
        assert!(h[0].what.ends_with("500"), "{}", h[0].what);
        let r = resp(
            500,
            "application/json",
            "{\"error\":\"TypeError: x\\n    at Server.handle (/srv/a.js:41:17)\"}",
        );
        assert_eq!(
            judge(&r, Duration::ZERO, PACE, "m", false)[0].level,
            Level::Must
        );
        let r2 = resp(
            500,
            "text/plain",
            "TypeError: x\n    at Server.handle (/srv/a.js:41:17)",
        );
        assert_eq!(
            judge(&r2, Duration::ZERO, PACE, "m", false)[0].level,
            Level::Must
        );
        let r3 = resp(
            500,
            "text/plain",
            "thread 'x' panicked at src/a.rs:1:1:\nboom",
        );
        assert_eq!(
            judge(&r3, Duration::ZERO, PACE, "m", false)[0].level,
            Level::Must
        );
    }

    #[test]
    fn stack_traces_are_recognised_whatever_the_status() {
        let traces = [
            "Traceback (most recent call last):\n  File \"/srv/app.py\", line 3, in f",
            "thread 'main' panicked at src/main.rs:2:5:",
            "TypeError: x\n    at Object.<anonymous> (/srv/a.js:1:7)",
            "Exception in thread \"main\" java.lang.NullPointerException",
            "System.InvalidOperationException: boom",
        ];
        for t in traces {
            let h = judge(
                &resp(400, "text/plain", t),
                Duration::ZERO,
                PACE,
                "m",
                false,
            );
            assert_eq!((h.len(), h[0].level), (1, Level::Must), "{t}");
            assert!(stack_trace(t.as_bytes()).is_some(), "{t}");
        }
        // Inside a JSON member, with its line breaks escaped.
        let json = r#"{"error":"boom\n    at handle (/srv/a.js:41:17)"}"#;
        assert!(stack_trace(json.as_bytes()).is_some());
        assert!(stack_trace(b"{\"error\":\"invalid_request\",\"error_description\":\"at least one redirect_uri\"}").is_none());
    }

    #[test]
    fn markup_counts_only_in_html() {
        let body = "<p>bad redirect_uri \"'><mcpfz9></p>";
        let h = judge(
            &resp(400, "text/html", body),
            Duration::ZERO,
            PACE,
            "mcpfz9",
            false,
        );
        assert_eq!(h[0].oracle, NO_REFLECTION);
        let h = judge(
            &resp(400, "application/json", body),
            Duration::ZERO,
            PACE,
            "mcpfz9",
            false,
        );
        assert!(h.is_empty());
        let escaped = "<p>&quot;&#39;&gt;&lt;mcpfz9&gt;</p>";
        assert!(
            judge(
                &resp(400, "text/html", escaped),
                Duration::ZERO,
                PACE,
                "mcpfz9",
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn an_injected_header_is_found() {
        let r = Ok(Response {
            url: String::new(),
            status: 302,
            headers: vec![("x-mcpfz3".into(), "1".into())],
            body: Vec::new(),
        });
        assert_eq!(
            judge(&r, Duration::ZERO, PACE, "mcpfz3", false)[0].oracle,
            HEADER_INJECTION
        );
    }

    #[test]
    fn a_closed_connection_counts_for_ordinary_requests_only() {
        let reset = Err(HttpError::Other {
            method: "POST".into(),
            url: "http://127.0.0.1:1/".into(),
            detail: "connection reset".into(),
        });
        assert_eq!(
            judge(&reset, Duration::ZERO, PACE, "m", false)[0].level,
            Level::Should
        );
        assert!(judge(&reset, Duration::ZERO, PACE, "m", true).is_empty());
    }

    #[test]
    fn slow_means_much_slower_than_the_unaltered_request() {
        assert!(!PACE.too_slow(Duration::from_millis(900)));
        assert!(PACE.too_slow(Duration::from_millis(2500)));
    }

    #[test]
    fn overload_is_not_failure() {
        let r = Ok(Response {
            url: String::new(),
            status: 503,
            headers: vec![("retry-after".into(), "1".into())],
            body: Vec::new(),
        });
        assert!(judge(&r, Duration::ZERO, PACE, "m", false).is_empty());
    }
}
