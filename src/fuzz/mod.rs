//! The live fuzzer (`mcp-oauth-conform fuzz`): mutations of the valid requests a run can make,
//! sent to the deployment under test and judged by protocol oracles. (The fuzzing of this
//! tool's own parsers is elsewhere: `fuzz/` and the `fuzzing` feature.)
//!
//! A run goes: seeds (one valid request per endpoint, via the checks' own actions) → the
//! unaltered request timed → every single mutation of every part, in an order the seed decides,
//! endpoints taking turns → random pairs of mutations while budget and time last. Each answer is
//! judged ([`oracle::judge`]); a finding is minimized (the fewest mutations, the smallest size
//! that still shows it), deduplicated by oracle, endpoint and part, and reported with a `curl`
//! command. The result is one check outcome per oracle, as in a normal run's reports.

pub mod curl;
mod engine;
mod findings;
pub mod mutate;
mod options;
pub mod oracle;
mod report;
pub mod seeds;
pub mod target;
pub mod template;

use crate::runner::RunCtx;
pub use findings::{Finding, Fuzzed};
pub use options::{DEFAULT_BUDGET, Options};
pub use seeds::Endpoint;

pub async fn run(ctx: &RunCtx, opts: &Options) -> Fuzzed {
    engine::Fuzzer::new(ctx, opts).run().await
}
