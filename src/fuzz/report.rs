//! The fuzzer's findings as check outcomes, one per oracle: the findings in the message (each
//! with its `curl` command), as steps (so that the reports show them first), and their
//! exchanges.

use std::collections::BTreeSet;

use super::findings::Finding;
use super::oracle::{self, Oracle};
use super::seeds::Endpoint;
use crate::runner::outcome::{CheckOutcome, ExpectationOutcome, StepOutcome, StepState};
use crate::runner::verdict::Verdict;
use crate::suite::Party;

pub(super) fn outcome(
    o: &Oracle,
    findings: &[Finding],
    exercised: &BTreeSet<&'static str>,
    strict: bool,
) -> CheckOutcome {
    let mine: Vec<&Finding> = findings.iter().filter(|f| f.oracle == o.id).collect();
    let verdict = mine
        .iter()
        .map(|f| f.level.broken(strict))
        .max_by_key(|v| v.badness())
        .unwrap_or(if exercised.contains(o.id) {
            Verdict::Pass
        } else {
            Verdict::Skip
        });
    let message = if mine.is_empty() && verdict == Verdict::Skip {
        match o.id {
            oracle::MALFORMED_ACCEPTED => "not judged: no token request was fuzzed whose unaltered form gets tokens (the token endpoint needs an authorization code: see the run notes)".to_string(),
            _ => "not judged: no probe this oracle applies to was sent (see the run notes for endpoints that were not fuzzed)".to_string(),
        }
    } else if mine.is_empty() {
        "no finding".to_string()
    } else {
        grouped(&mine)
    };
    let party = if !mine.is_empty() && mine.iter().all(|f| f.endpoint == Endpoint::Mcp) {
        Party::Rs
    } else if o.id == oracle::NO_5XX || o.id == oracle::OVERSIZE {
        Party::Both
    } else {
        Party::As
    };
    CheckOutcome {
        id: o.id.to_string(),
        family: "fuzz".into(),
        title: o.title.to_string(),
        party,
        level: o.level,
        verdict,
        message,
        refs: o.refs.iter().map(|r| r.to_string()).collect(),
        // The oracles judge the same requests: the run's time is the report's, not each one's.
        duration_ms: 0,
        source: "src/fuzz/oracle.rs".into(),
        steps: steps(o, &mine),
        exchanges: mine.iter().flat_map(|f| f.exchanges.clone()).collect(),
        why: Some(o.why.to_string()),
        fix: Some(o.fix.to_string()),
    }
}

/// The findings of one oracle, those with the same answer at the same endpoint as one entry: a
/// parser that fails on any member nested too deep shows it once, naming the other members.
fn grouped(mine: &[&Finding]) -> String {
    let mut groups: Vec<(&Finding, Vec<String>, u64)> = Vec::new();
    for f in mine {
        match groups
            .iter_mut()
            .find(|(g, _, _)| g.endpoint == f.endpoint && g.what == f.what)
        {
            Some((_, also, seen)) => {
                also.push(
                    f.mutations
                        .iter()
                        .map(|m| m.part.to_string())
                        .collect::<Vec<_>>()
                        .join(" and "),
                );
                *seen += f.seen;
            }
            None => groups.push((f, Vec::new(), f.seen)),
        }
    }
    groups
        .iter()
        .map(|(f, also, seen)| {
            let also = if also.is_empty() {
                String::new()
            } else {
                format!("; the same with {}", also.join(", "))
            };
            format!(
                "{}: {} (seen {seen}x{also})\n  reproduce: {}",
                f.title(),
                f.what,
                f.curl
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each finding as a step of the oracle's check with its one expectation failed, so that the
/// reports show the minimized request and what came back first, as for any failing check.
fn steps(o: &Oracle, mine: &[&Finding]) -> Vec<StepOutcome> {
    let mut at = 0;
    mine.iter()
        .enumerate()
        .map(|(i, f)| {
            let exchanges = (at..at + f.exchanges.len()).collect();
            at += f.exchanges.len();
            StepOutcome {
                index: i + 1,
                label: f.title(),
                state: StepState::Ran,
                why: None,
                exchanges,
                expectations: vec![ExpectationOutcome {
                    expected: o.title.to_string(),
                    passed: false,
                    level: f.level,
                    // As problems, not an observed value: the reports show both lines then.
                    observed: None,
                    problems: vec![f.what.clone(), format!("reproduce: {}", f.curl)],
                }],
            }
        })
        .collect()
}
