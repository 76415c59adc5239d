//! What a run says as it goes. The runner emits events; an [`Observer`] shows them (the
//! console's progress lines) or collects them (tests), so that the one pipeline serves the
//! binary and the library alike. Events borrow from the run: an observer that keeps something
//! clones it.

use std::time::Duration;

use super::ctx::RunCtx;
use super::outcome::{CheckOutcome, StepOutcome};
use crate::cleanup::Cleanup;
use crate::discovery::{Discovery, Target};

pub enum Event<'a> {
    /// Discovery is done. A discovery-only run (`--dry-run`) ends here.
    Discovered {
        target: &'a Target,
        discovery: &'a Discovery,
    },
    /// The preflight and the revision negotiation are done: `discovery` holds the revision
    /// graded, `ctx` what every check reads.
    Graded {
        discovery: &'a Discovery,
        ctx: &'a RunCtx,
    },
    /// `count` checks are about to run.
    Running {
        count: usize,
    },
    CheckStarted {
        id: &'a str,
    },
    StepFinished {
        check: &'a str,
        step: &'a StepOutcome,
    },
    CheckFinished(&'a CheckOutcome),
    /// Every check has its outcome; `outcomes` are in suite order.
    ChecksFinished {
        outcomes: &'a [CheckOutcome],
        elapsed: Duration,
    },
    /// What the run created has been taken away (or left, with `--keep`).
    CleanupDone(&'a Cleanup),
}

/// Receives a run's events. Checks run concurrently, so events come from several tasks at once.
pub trait Observer: Send + Sync {
    fn event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync> Observer for F {
    fn event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// An observer that ignores everything (library callers that only want the record).
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: &Event<'_>) {}
}
