//! A fuzzing run against a deployment: the run pipeline of a conformance run (discovery,
//! clients, user agent, clean-up, record) with the fuzzer as its work instead of the checks.

use std::sync::{Arc, Mutex};

use super::findings::Fuzzed;
use super::options::Options;
use crate::discovery::Target;
use crate::runner::event::Observer;
use crate::runner::{RunOptions, RunRecord, RunSettings, SetupError};

/// The run's record (the fuzzer's outcomes, one per oracle, in it) and what the fuzzer found;
/// `fuzzed` is `None` when the target could not be reached.
pub struct FuzzRun {
    pub record: RunRecord,
    pub fuzzed: Option<Fuzzed>,
}

pub async fn against(
    target: &Target,
    settings: &RunSettings,
    opts: &Options,
    options: &RunOptions,
    observer: Arc<dyn Observer>,
) -> Result<FuzzRun, SetupError> {
    let slot: Arc<Mutex<Option<Fuzzed>>> = Arc::default();
    let filled = slot.clone();
    let mut record = crate::runner::run_with(target, settings, options, observer, |ctx, _| {
        Box::pin(async move {
            let fuzzed = super::run(&ctx, opts).await;
            let outcomes = fuzzed.outcomes.clone();
            if let Ok(mut s) = filled.lock() {
                *s = Some(fuzzed);
            }
            outcomes
        })
    })
    .await?;
    let fuzzed = slot.lock().ok().and_then(|mut s| s.take());
    if let Some(f) = &fuzzed {
        record.run_notes.extend(f.notes.iter().cloned());
        record.run_notes.push(f.summary());
    }
    Ok(FuzzRun { record, fuzzed })
}
