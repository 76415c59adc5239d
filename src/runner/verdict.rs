//! Verdicts (a contract: reports and exit codes depend on these names) and requirement levels.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The outcome of one check. Ordered from best to worst so that the worst finding wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Info,
    Skip,
    Warn,
    Fail,
    Error,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Warn,
        Verdict::Info,
        Verdict::Skip,
        Verdict::Error,
    ];

    /// How bad a verdict is when two runs are compared: a skip counts as a pass, since a defect
    /// that hides a feature turns that feature's checks into skips.
    pub fn badness(self) -> u8 {
        match self {
            Verdict::Pass | Verdict::Info | Verdict::Skip => 0,
            Verdict::Warn => 1,
            Verdict::Fail => 2,
            Verdict::Error => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Warn => "warn",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
            Verdict::Error => "error",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown verdict `{s}` (pass, fail, warn, info, skip, error)"))
    }
}

// Level is part of the suite format (suites name it); it lives with the suite model so that the
// model depends on nothing that runs checks. Grading it into a verdict is the runner's business.
pub use crate::suite::model::Level;

impl Level {
    /// The verdict a broken expectation of this level produces.
    pub fn broken(self, strict: bool) -> Verdict {
        match self {
            Level::Must => Verdict::Fail,
            Level::Should if strict => Verdict::Fail,
            Level::Should => Verdict::Warn,
            Level::May | Level::Info => Verdict::Info,
        }
    }
}
