//! HTTP plumbing shared by discovery and actions.

pub mod client;
pub mod exchange;
pub mod guard;
pub mod redact;

pub use client::{HttpClient, HttpError, HttpSettings, Request, Response};
pub use exchange::Exchange;
pub use guard::Egress;
pub use redact::Redactor;
