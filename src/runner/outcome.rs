//! The one record that flows from the runner to the reporters.

use serde::{Deserialize, Serialize};

use super::verdict::{Level, Verdict};
use crate::http::Exchange;
use crate::suite::Party;

/// How a skip begins when the check needed an authorization code and the user agent could not
/// get past the login page the run met before any check (the console counts these).
pub const NEEDS_LOGIN: &str =
    "needs an authorization code: the user agent stopped at the login page";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub id: String,
    pub family: String,
    pub title: String,
    pub party: Party,
    /// The level for the graded revision (a row's strength can differ by revision).
    pub level: Level,
    pub verdict: Verdict,
    /// Every finding and note joined into one text (what consoles and older readers show).
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
    /// The steps the check got to, in order, with what each expected and saw: the same
    /// findings as `message`, kept apart so that a reader can say which step and which
    /// expectation decided the verdict.
    #[serde(default)]
    pub steps: Vec<StepOutcome>,
}

/// What one step of a check did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// Its position among the check's steps, from 1.
    pub index: usize,
    /// The step's `name`, or what it did (`POST /token`), or its action and position.
    pub label: String,
    pub state: StepState,
    /// Why it did not run, was not graded, or stopped the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Its exchanges: indices into the check's `exchanges`.
    #[serde(default)]
    pub exchanges: Vec<usize>,
    /// Each expectation evaluated, in the order the evaluator takes them.
    #[serde(default)]
    pub expectations: Vec<ExpectationOutcome>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Its expectations were evaluated and graded.
    Ran,
    /// Its `when` did not hold: it was left out.
    Skipped,
    /// The action had nothing to test here; the check went on without it.
    NotApplicable,
    /// Its `given` did not hold: another check grades what it saw.
    NotGraded,
    /// The check could not go on from this step (a set-up step that did not work, a
    /// precondition, the login page, a positive control): the check skips, unless earlier
    /// steps already showed a defect.
    Stopped,
    /// No usable answer (a transport error, a rate limit).
    Error,
}

/// One expectation of a step, evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectationOutcome {
    /// What was expected, short: `status 401`, `JSON /error: one of "invalid_token"`.
    pub expected: String,
    pub passed: bool,
    /// The level its failure carries (`info` when another check grades it).
    pub level: Level,
    /// What was observed, short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// What did not hold, as the message words it (without the step's label).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl ExpectationOutcome {
    /// A failure that counts towards a fail or warn verdict (not one only noted).
    pub fn graded_failure(&self) -> bool {
        !self.passed && self.level >= Level::Should
    }
}

impl CheckOutcome {
    /// The steps that decided a broken verdict, first one first: for fail and warn the steps
    /// whose graded expectations failed, with those expectations; for an error the step that got
    /// no usable answer. Empty for other verdicts, or when no step record says more than the
    /// message (a deadline that cut the check short).
    pub fn failing_steps(&self) -> Vec<(&StepOutcome, Vec<&ExpectationOutcome>)> {
        match self.verdict {
            Verdict::Fail | Verdict::Warn => self
                .steps
                .iter()
                .filter(|s| s.state == StepState::Ran)
                .filter_map(|s| {
                    let failed: Vec<_> = s
                        .expectations
                        .iter()
                        .filter(|e| e.graded_failure())
                        .collect();
                    (!failed.is_empty()).then_some((s, failed))
                })
                .collect(),
            Verdict::Error => self
                .steps
                .iter()
                .filter(|s| s.state == StepState::Error)
                .map(|s| (s, Vec::new()))
                .collect(),
            _ => Vec::new(),
        }
    }
}
