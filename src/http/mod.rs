//! HTTP plumbing shared by discovery and actions.

pub mod client;
pub mod exchange;
pub mod redact;

pub use client::{HttpClient, HttpError, HttpSettings, Request, Response};
pub use exchange::Exchange;
pub use redact::Redactor;
