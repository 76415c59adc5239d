//! HTTP plumbing shared by discovery and actions, and the redaction of what it records (also
//! how values read in messages: `redact::show`).

pub mod client;
pub mod exchange;
pub mod guard;
pub mod redact;
pub mod sse;

pub use client::{HttpClient, HttpError, HttpSettings, Request, Response};
pub use exchange::Exchange;
pub use guard::Egress;
pub use redact::Redactor;

/// A URL without its query and fragment: what names an endpoint, and what a message may show of
/// a URL that can carry codes and tokens.
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}
