//! The one record that flows from the runner to the reporters.

use serde::Serialize;

use super::verdict::{Level, Verdict};
use crate::http::Exchange;
use crate::suite::Party;

/// How a skip begins when the check needed an authorization code and the user agent could not
/// get past the login page the run met before any check (the console counts these).
pub const NEEDS_LOGIN: &str =
    "needs an authorization code: the user agent stopped at the login page";

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct CheckOutcome {
    pub id: String,
    pub family: String,
    pub title: String,
    pub party: Party,
    /// The level for the graded revision (a row's strength can differ by revision).
    pub level: Level,
    pub verdict: Verdict,
    pub message: String,
    pub refs: Vec<String>,
    pub duration_ms: u64,
    /// Where the check is defined (`suites/x.toml:12`).
    pub source: String,
    pub exchanges: Vec<Exchange>,
    /// From the check's definition, for a reader of a failing check: what goes wrong for whom
    /// when the requirement is broken, and what the server's author changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}
