//! The run's context: everything a check can read, built once by `runner::RunCtx::new` after
//! discovery and never written during the run.

use std::sync::Arc;

use super::expect::Judge;
use super::{schedule, shared};
use crate::http::HttpClient;
use crate::revision::Revision;

/// Everything a check can read. Built once, after discovery; never written during the run.
pub struct RunCtx {
    pub http: HttpClient,
    pub session: crate::session::Session,
    pub vars: Arc<serde_json::Value>,
    pub revision: Revision,
    pub strict: bool,
    pub judge: Judge,
    pub shared: shared::SharedSteps,
    /// The ordinary authorization made before any check.
    pub preflight: crate::preflight::Preflight,
    /// How the revision graded was chosen.
    pub grading: crate::preflight::Grading,
    /// Whether checks that authorize may overlap.
    pub schedule: schedule::Schedule,
}

impl RunCtx {
    /// The login or consent page the user agent could not get past before any check, with the
    /// fix: then every check that needs an authorization code skips, and the run says so once.
    pub fn agent_blocked(&self) -> Option<crate::report::AgentBlocked> {
        if self.preflight.outcome != "login" {
            return None;
        }
        let page = self.preflight.page.clone().unwrap_or_default();
        let rs = self
            .vars
            .pointer("/rs/url")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("URL");
        Some(crate::report::AgentBlocked {
            page: crate::http::without_query(&page.url).to_string(),
            status: page.status,
            fields: page.fields,
            fix: format!(
                "give the tool a login script: `mcp-oauth-conform init-profile --rs {rs} > target.toml` writes one from this page (fill in the user, keep the password in an environment variable), then run with `--config target.toml`; or log in yourself with `--agent interactive`, or drive a browser with `[agent] mode = \"command\"`"
            ),
        })
    }

    /// What the run learned before the checks, said once: how checks are scheduled, and an
    /// ordinary authorization answered with an error page (which `authz.get-supported` grades).
    pub fn run_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let p = &self.preflight;
        if p.outcome == "page" {
            let page = p.page.clone().unwrap_or_default();
            let mut note = format!(
                "the authorization server answered an ordinary authorization request with an error page (HTTP {} at {}: \"{}\")",
                page.status,
                crate::http::without_query(&page.url),
                page.excerpt
            );
            if let Some(secs) = p.since_registration_secs.filter(|_| p.client_registered) {
                note.push_str(&format!(
                    ", for a client it had registered {secs:.1} s earlier and confirmed with a client_id: it did not keep the client it registered (authz.get-supported grades this; the checks that need a code skip)"
                ));
            }
            notes.push(note);
        }
        notes.extend(self.schedule.note.clone());
        if self.session.mode == crate::session::ClientMode::Cimd {
            let base = self
                .session
                .documents
                .as_ref()
                .map(|d| d.base().to_string())
                .unwrap_or_default();
            notes.push(format!(
                "the run's clients are URL clients: client metadata documents the tool serves at {base} (client mode cimd; --client-mode dcr registers clients instead)"
            ));
        }
        notes
    }
}
