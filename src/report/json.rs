//! `results.json`, a contract that other tools read (README "results.json"): stable for machines. `schema` changes only when a
//! field that readers rely on changes.

use serde_json::{Value, json};

use super::RunReport;

pub const SCHEMA: u32 = 1;

pub fn render(r: &RunReport) -> Value {
    json!({
        "schema": SCHEMA,
        "tool": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")},
        "target": {"as": r.target_as, "rs": r.target_rs},
        "spec": r.spec,
        "spec_reason": r.spec_reason,
        "negotiation": r.negotiation,
        "agent": r.agent_blocked.as_ref().map(|b| json!({
            "stopped_at": b.page,
            "status": b.status,
            "fields": b.fields,
            "fix": b.fix,
            "checks_skipped": r.skipped_for_login(),
        })),
        "run_notes": r.run_notes,
        "duration_ms": r.duration_ms,
        "requests": r.requests,
        "footprint": r.footprint,
        "summary": r.summary(),
        "discovery": {"notes": r.discovery_notes, "exchanges": r.discovery_exchanges},
        "checks": r.outcomes.iter().map(|o| json!({
            "id": o.id,
            "title": o.title,
            "family": o.family,
            "party": o.party,
            "level": o.level,
            "verdict": o.verdict,
            "message": o.message,
            "refs": o.refs,
            "duration_ms": o.duration_ms,
            "source": o.source,
            "exchanges": o.exchanges,
            "steps": o.steps,
        })).collect::<Vec<_>>(),
    })
}
