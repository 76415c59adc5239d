//! What a run did to the deployment under test: what it created (clients, tokens), what it sent
//! (registrations, authorizations, token requests, tool calls), and what it could not clean up.
//! Users point the tool at staging and production; this is the account they get of it
//! (`results.json` → `footprint`, the console summary, report.html).
//!
//! Actions record into one [`Footprint`] per run (it lives in the run's context); the report
//! reads a [`FootprintReport`] snapshot.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The run's counters. Cheap to record into from any check, concurrently.
#[derive(Debug, Default)]
pub struct Footprint {
    inner: Mutex<FootprintReport>,
}

/// What `results.json` records under `footprint` (a contract: readers rely on these names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FootprintReport {
    pub registrations: u64,
    pub authorizations: u64,
    pub logins: u64,
    pub token_requests: u64,
    pub tokens_issued: TokensIssued,
    /// Tool name → how many times the run called it (`tools/call`).
    pub tool_calls: BTreeMap<String, u64>,
    pub requests: u64,
    pub left_behind: LeftBehind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensIssued {
    pub access: u64,
    pub refresh: u64,
}

/// What the run created and could not delete or revoke.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftBehind {
    pub clients: u64,
    pub tokens: u64,
}

impl Footprint {
    fn with(&self, f: impl FnOnce(&mut FootprintReport)) {
        if let Ok(mut r) = self.inner.lock() {
            f(&mut r);
        }
    }

    /// A `tools/call` of the named tool was sent.
    pub fn tool_call(&self, name: &str) {
        self.with(|r| *r.tool_calls.entry(name.to_string()).or_default() += 1);
    }

    /// A snapshot for the report.
    pub fn report(&self) -> FootprintReport {
        self.inner.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
