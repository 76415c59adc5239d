//! The closing lines on the terminal, after libtest's per-check lines: what libtest cannot say
//! (warnings, informational findings, the verdict counts).

use std::fmt::Write;

use super::RunReport;
use crate::runner::verdict::Verdict;

pub fn render(r: &RunReport, report_paths: &[String]) -> String {
    let mut out = String::new();
    let s = r.summary();
    for (label, verdict) in [
        ("warnings (SHOULD not met)", Verdict::Warn),
        ("errors (no usable answer)", Verdict::Error),
    ] {
        let items: Vec<_> = r.outcomes.iter().filter(|o| o.verdict == verdict).collect();
        if !items.is_empty() {
            let _ = writeln!(out, "\n{label}:");
            for o in items {
                let _ = writeln!(out, "    {}  {}", o.id, o.message);
            }
        }
    }
    let _ = writeln!(
        out,
        "\nmcp-oauth-conform: {} checks, spec {} ({}), {} requests, {} ms",
        r.outcomes.len(),
        r.spec,
        r.spec_reason,
        r.requests,
        r.duration_ms
    );
    if let Some(n) = &r.negotiation {
        let _ = writeln!(
            out,
            "revision: the MCP server speaks {}; {}; {}",
            n.server_speaks.as_deref().unwrap_or("(unknown)"),
            n.as_evidence,
            n.how
        );
    }
    if let Some(b) = &r.agent_blocked {
        let n = r.skipped_for_login();
        let _ = writeln!(
            out,
            "user agent: {n} checks skipped because they need an authorization code and the user agent stopped at the login page {} (HTTP {}, fields: {}). Fix: {}",
            b.page,
            b.status,
            b.fields.join(", "),
            b.fix
        );
    }
    for n in &r.run_notes {
        let _ = writeln!(out, "run: {n}");
    }
    let _ = writeln!(out, "{}", r.footprint.line());
    let _ = writeln!(
        out,
        "verdicts: {} pass, {} fail, {} warn, {} info, {} skip, {} error",
        s.pass, s.fail, s.warn, s.info, s.skip, s.error
    );
    for p in report_paths {
        let _ = writeln!(out, "report: {p}");
    }
    out
}
