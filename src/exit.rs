//! Exit codes: a contract that CI jobs and other tools rely on (README "Verdicts and exit codes").

use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::Verdict;

/// No fail and no error (warnings allowed unless `--strict`).
pub const OK: u8 = 0;
/// At least one check failed.
pub const CONFORMANCE_FAILED: u8 = 1;
/// Bad usage, bad suite file or bad config.
pub const USAGE: u8 = 2;
/// The target could not be reached, a check got no usable answer, or the tool broke.
pub const UNREACHABLE: u8 = 3;

pub fn for_run(outcomes: &[CheckOutcome], unreachable: bool) -> u8 {
    if unreachable {
        UNREACHABLE
    } else if outcomes.iter().any(|o| o.verdict == Verdict::Fail) {
        CONFORMANCE_FAILED
    } else if outcomes.iter().any(|o| o.verdict == Verdict::Error) {
        UNREACHABLE
    } else {
        OK
    }
}
