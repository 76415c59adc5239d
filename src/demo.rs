//! `demo`: the reference deployment as the target. Two things are demo-specific: a flaw that is
//! only a defect under one revision is graded under that revision, and the run is compared with
//! the clean reference's recorded verdicts, so that a flaw which only costs a SHOULD still shows
//! as a changed result (exit code 1: "a result that differs from the expectations").

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::revision::Revision;
use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::Verdict;

/// The target profile `demo` runs with: the reference server's login script.
pub const PROFILE: &str = include_str!("../fixtures/profiles/reference.toml");

pub fn profile() -> Result<crate::config::Profile, crate::config::ConfigError> {
    toml::from_str(PROFILE).map_err(|e| {
        crate::config::ConfigError::Usage(format!("fixtures/profiles/reference.toml: {e}"))
    })
}

/// The target `demo` points the suite at: the reference's MCP endpoint and issuer. No second
/// resource is named, as most users name none: the audience checks use the one discovery
/// synthesizes (the reference's AS issues tokens for any URL of its origin). The revision is
/// negotiated.
pub fn target(
    reference: &crate::reference::Reference,
) -> Result<crate::discovery::Target, url::ParseError> {
    let rs = reference.rs_url();
    Ok(crate::discovery::Target {
        rs: url::Url::parse(&rs)?,
        rs_raw: rs,
        as_raw: Some(reference.issuer()),
        spec: None,
        other_resource: None,
    })
}

/// The run settings of the demo profile: its login script, client and refresh grace window.
pub fn settings() -> Result<crate::runner::RunSettings, crate::config::ConfigError> {
    let profile = profile()?;
    Ok(crate::runner::RunSettings {
        agent: profile.agent,
        client: profile.client,
        refresh_grace_secs: profile.target.refresh_grace_secs,
        ..Default::default()
    })
}

/// Flaws graded under an earlier revision than the latest: a rule of that revision only, or a
/// rule of every revision shown where the MCP specification itself does not ask for it.
pub const FLAW_SPECS: &[(&str, Revision)] = &[
    ("no-resource-metadata", Revision::R2025_06_18),
    ("no-registration-endpoint", Revision::R2025_06_18),
    ("legacy-endpoints-moved", Revision::R2025_03_26),
    // A registered client lost: at 2026-07-28 the run's own clients are client metadata
    // documents, so the ordinary flow that shows it is the registered one of 2025-11-25.
    ("registered-client-lost", Revision::R2025_11_25),
    // Sessions exist only before the stateless 2026-07-28 protocol.
    ("session-substitutes-token", Revision::R2025_11_25),
    // RFC 9207 binds an AS that advertises iss, whatever the MCP revision; before 2026-07-28
    // MCP does not require iss of its own.
    ("iss-missing-in-errors", Revision::R2025_11_25),
];

/// The revision a set of flaws is graded under when `--spec` is not given.
pub fn default_spec(flaws: &[String]) -> Option<Revision> {
    flaws
        .iter()
        .find_map(|f| FLAW_SPECS.iter().find(|(n, _)| n == f).map(|(_, r)| *r))
}

/// A recorded scenario: `fixtures/expected/clean-<revision>.toml`, or one rebuilt from it and
/// what a flaw or variant changes (`flaws.toml`, `variants.toml`).
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub spec: Revision,
    #[serde(default)]
    pub flaws: Vec<String>,
    /// Legitimate variants of the reference server the scenario switches on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
    pub verdicts: BTreeMap<String, Verdict>,
}

const CLEAN: &[(Revision, &str)] = &[
    (
        Revision::R2025_03_26,
        include_str!("../fixtures/expected/clean-2025-03-26.toml"),
    ),
    (
        Revision::R2025_06_18,
        include_str!("../fixtures/expected/clean-2025-06-18.toml"),
    ),
    (
        Revision::R2025_11_25,
        include_str!("../fixtures/expected/clean-2025-11-25.toml"),
    ),
    (
        Revision::R2026_07_28,
        include_str!("../fixtures/expected/clean-2026-07-28.toml"),
    ),
];

/// The clean reference's verdicts for a revision, as recorded in fixtures/.
pub fn clean_verdicts(rev: Revision) -> BTreeMap<String, Verdict> {
    CLEAN
        .iter()
        .find(|(r, _)| *r == rev)
        .and_then(|(_, text)| toml::from_str::<Expected>(text).ok())
        .map(|e| e.verdicts)
        .unwrap_or_default()
}

/// Checks whose verdict is worse than the clean reference's.
pub fn worse_than_clean<'a>(
    outcomes: &'a [CheckOutcome],
    clean: &BTreeMap<String, Verdict>,
) -> Vec<(&'a CheckOutcome, Verdict)> {
    outcomes
        .iter()
        .filter_map(|o| {
            let was = *clean.get(&o.id)?;
            (o.verdict.badness() > was.badness()).then_some((o, was))
        })
        .collect()
}

/// Checks that fail, warn or error: under a legitimate variant there must be none.
pub fn variant_failures(outcomes: &[CheckOutcome]) -> Vec<&CheckOutcome> {
    outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error))
        .collect()
}
