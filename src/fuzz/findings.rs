//! What a fuzzing run found: each defect minimized, and the run's outcomes and counts.

use std::time::Duration;

use super::mutate::Mutation;
use super::seeds::Endpoint;
use crate::http::Exchange;
use crate::runner::outcome::CheckOutcome;
use crate::suite::model::Level;

/// One defect, minimized.
#[derive(Clone, Debug)]
pub struct Finding {
    pub oracle: &'static str,
    pub level: Level,
    pub endpoint: Endpoint,
    pub mutations: Vec<Mutation>,
    pub what: String,
    /// The `curl` command, with its placeholders explained.
    pub curl: String,
    pub exchanges: Vec<Exchange>,
    /// How many probes showed it (before deduplication).
    pub seen: u64,
    /// Requests sent and time passed when it was first seen.
    pub after_requests: u64,
    pub after: Duration,
}

impl Finding {
    pub fn title(&self) -> String {
        let what: Vec<String> = self.mutations.iter().map(|m| m.to_string()).collect();
        format!("{} request, {}", self.endpoint.as_str(), what.join(" and "))
    }
}

/// What a fuzzing run did and found.
pub struct Fuzzed {
    pub findings: Vec<Finding>,
    pub outcomes: Vec<CheckOutcome>,
    pub notes: Vec<String>,
    pub requests: u64,
    pub probes: u64,
    pub elapsed: Duration,
}

impl Fuzzed {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    /// The line the console and the report carry.
    pub fn summary(&self) -> String {
        let first = self
            .findings
            .iter()
            .min_by_key(|f| f.after_requests)
            .map(|f| {
                format!(
                    "; first finding after {} requests ({:.1} s)",
                    f.after_requests,
                    f.after.as_secs_f64()
                )
            })
            .unwrap_or_default();
        format!(
            "fuzz: {} probes, {} requests in {:.1} s ({:.0} requests/s), {} finding(s){first}",
            self.probes,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.requests_per_second(),
            self.findings.len()
        )
    }
}
