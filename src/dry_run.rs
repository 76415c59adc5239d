//! `--dry-run`: what a run would do to the deployment, from discovery alone. Nothing is sent
//! after discovery's unauthenticated GETs and its one probe of the MCP endpoint: no client is
//! registered, no authorization or token request is made, no tool is called.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::config::RunConfig;
use crate::discovery::Discovery;
use crate::session::ClientKind;
use crate::suite::Check;
use crate::suite::model::ActionKind;
use crate::suite::vars::Scope;

/// Whether the libtest-style filters (`FILTER`, `--skip`, `--exact`) select a check.
pub fn selected(cfg: &RunConfig, check: &Check) -> bool {
    let matches = |pattern: &str| {
        if cfg.harness.exact {
            check.id == pattern
        } else {
            check.id.contains(pattern)
        }
    };
    cfg.harness.filter.as_deref().is_none_or(matches)
        && !cfg.harness.skip.iter().any(|s| matches(s))
}

/// The clients a check would ask the session for.
fn clients_of(check: &Check) -> impl Iterator<Item = ClientKind> + '_ {
    check.steps.iter().filter_map(|s| match s.action.get_ref() {
        ActionKind::Authorize
        | ActionKind::Token
        | ActionKind::Revoke
        | ActionKind::Introspect
        | ActionKind::Register => Some(s.client.unwrap_or(ClientKind::Main)),
        _ => None,
    })
}

pub fn render(cfg: &RunConfig, found: &Discovery) -> String {
    let mut out = String::new();
    let scope = Scope::new(Arc::new(found.vars.clone()));
    let rev = found.revision;
    let mut runnable = Vec::new();
    let mut skipped = 0usize;
    for c in cfg.suite.checks.iter().filter(|c| selected(cfg, c)) {
        let applies = c.revisions.contains(rev) && c.needs.iter().all(|n| scope.require(n).is_ok());
        if applies {
            runnable.push(c);
        } else {
            skipped += 1;
        }
    }
    let _ = writeln!(
        out,
        "\ndry run: discovery only; nothing else was sent. A run would:"
    );
    if cfg.settings.client.tokens.is_some() {
        let _ = writeln!(
            out,
            "  - use the tokens it was given ([tokens], --access-token): no client, and no registration, authorization or token request; ask the MCP server which revision it speaks with the access token ({} by what discovery found: {})",
            rev, found.revision_reason
        );
    } else {
        let _ = writeln!(
            out,
            "  - make one ordinary authorization with its main client and redeem the code (the preflight), then ask the MCP server which revision it speaks ({} by what discovery found: {})",
            rev, found.revision_reason
        );
        let kinds: BTreeSet<&'static str> = runnable
            .iter()
            .flat_map(|c| clients_of(c))
            .map(|k| match k {
                // One registration serves these three.
                ClientKind::Web | ClientKind::Multi | ClientKind::Query => "web (also multi, query)",
                ClientKind::Revoker => "revoker (main, or confidential when the revocation endpoint takes no public clients)",
                k => k.as_str(),
            })
            .collect();
        let registration = found
            .vars
            .pointer("/as/registration_endpoint")
            .and_then(serde_json::Value::as_str);
        let given: Vec<&str> = cfg
            .settings
            .client
            .id
            .iter()
            .map(|_| "main")
            .chain(cfg.settings.client.clients.iter().map(|c| c.role.as_str()))
            .collect();
        if !given.is_empty() && !cfg.settings.client.clients.is_empty() {
            let _ = writeln!(
                out,
                "  - use the clients it was given for the roles {} ([[clients]]); no other client of those roles",
                given.join(", ")
            );
        }
        match (&cfg.settings.client.id, registration) {
            (Some(id), _) => {
                let _ = writeln!(
                    out,
                    "  - use the pre-registered client {id} where it fits; the other kinds it would register: {}",
                    kinds.iter().copied().collect::<Vec<_>>().join(", ")
                );
            }
            (None, Some(endpoint)) => {
                let _ = writeln!(
                    out,
                    "  - register clients at {endpoint}, each kind once, when a check first needs it: {}; checks on registration itself register about 10 more",
                    kinds.iter().copied().collect::<Vec<_>>().join(", ")
                );
            }
            (None, None) => {
                let _ = writeln!(
                    out,
                    "  - register no client (no registration endpoint is advertised): checks that need one skip; give --client-id, and `[[clients]]` in --config for the other roles"
                );
            }
        }
    }
    let named: Vec<&str> = cfg.settings.tools.iter().map(|t| t.name.as_str()).collect();
    let tools = match cfg.settings.call_tools {
        crate::session::CallTools::None => "call no tool (`--call-tools none`)".to_string(),
        crate::session::CallTools::ReadOnly => format!(
            "call only tools the server marks readOnlyHint (and not destructiveHint){}, to find one that needs more scope (`--call-tools read-only`)",
            if named.is_empty() {
                String::new()
            } else {
                format!(", and {}", named.join(", "))
            }
        ),
        crate::session::CallTools::All => {
            "call any tool the server lists, with the fewest arguments its schema accepts (`--call-tools all`)"
                .to_string()
        }
    };
    let _ = writeln!(out, "  - {tools}");
    let _ = writeln!(
        out,
        "  - run {} checks ({} more selected do not apply to {rev} or lack what they need):",
        runnable.len(),
        skipped
    );
    for c in runnable {
        let _ = writeln!(
            out,
            "      {:40} {:6} {}",
            c.id,
            c.level_for(rev).as_str(),
            c.title
        );
    }
    out
}
