//! What a fuzzing run is asked to do: its budget, time, seed and endpoints.

use std::time::Duration;

use super::seeds::Endpoint;

/// Requests a run may send when `--budget` is not given: enough for every single mutation of
/// every endpoint of a usual deployment, with a fresh code for each token request.
pub const DEFAULT_BUDGET: u64 = 2500;

#[derive(Clone, Debug)]
pub struct Options {
    /// Requests the run may send, seeds, controls and minimization included.
    pub budget: u64,
    pub duration: Option<Duration>,
    pub seed: u64,
    pub endpoints: Vec<Endpoint>,
    pub strict: bool,
    /// Stop once this many findings are made (`--max-findings`): a gate that only needs to know
    /// whether there is one.
    pub max_findings: Option<usize>,
    /// Registration requests are fuzzed even when the server offers no way to delete the
    /// clients accepted probes register (`--endpoints` names `register`).
    pub register_without_delete: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            budget: DEFAULT_BUDGET,
            duration: None,
            seed: 0,
            endpoints: Endpoint::ALL.to_vec(),
            strict: false,
            max_findings: None,
            register_without_delete: false,
        }
    }
}
