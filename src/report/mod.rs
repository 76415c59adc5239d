//! Reports are pure functions of a [`RunReport`]. The report is redacted once, in
//! [`RunReport::redacted`], before any reporter sees it: no reporter handles a whole secret.

pub mod console;
pub mod json;

use serde::{Deserialize, Serialize};

use crate::http::{Exchange, Redactor};
use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::Verdict;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub target_rs: String,
    pub target_as: Option<String>,
    pub spec: String,
    pub spec_reason: String,
    pub duration_ms: u64,
    pub requests: u64,
    pub discovery_notes: Vec<String>,
    pub discovery_exchanges: Vec<Exchange>,
    pub outcomes: Vec<CheckOutcome>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub info: usize,
    pub skip: usize,
    pub error: usize,
}

impl Summary {
    pub fn of(outcomes: &[CheckOutcome]) -> Summary {
        let mut s = Summary::default();
        for o in outcomes {
            *match o.verdict {
                Verdict::Pass => &mut s.pass,
                Verdict::Fail => &mut s.fail,
                Verdict::Warn => &mut s.warn,
                Verdict::Info => &mut s.info,
                Verdict::Skip => &mut s.skip,
                Verdict::Error => &mut s.error,
            } += 1;
        }
        s
    }
}

impl RunReport {
    /// The same report with every learned secret shortened in every string it holds.
    pub fn redacted(&self, redactor: &Redactor) -> RunReport {
        let mut v = match serde_json::to_value(self) {
            Ok(v) => v,
            Err(_) => return self.clone(),
        };
        redactor.scrub_json(&mut v);
        serde_json::from_value(v).unwrap_or_else(|_| self.clone())
    }

    pub fn summary(&self) -> Summary {
        Summary::of(&self.outcomes)
    }
}
