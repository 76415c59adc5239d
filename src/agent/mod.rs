//! The user-authorization step: getting from an authorization URL to the redirect back to the
//! client, past whatever login and consent the authorization server puts in between. How is a
//! matter of configuration (the target profile's `[agent]`):
//!
//! * `follow` — the server redirects back without a page (auto-approving test servers);
//! * `form` — a cookie-keeping browser fills and submits HTML forms by a declarative login script;
//! * `command` — an external program gets the URL and prints the URL it was redirected to;
//! * `interactive` — a person opens the URL; the tool waits on its loopback redirect URI.
//!
//! Whatever the mode, the agent never requests a URL outside the origins it may visit (the
//! authorization endpoint's, plus configured ones): a redirect elsewhere is where it lands.

mod browser;
pub mod callback;
mod external;
pub mod form;

mod run;

pub use callback::CallbackListener;
// What an authorization is given and gives back lives in `run`, which the modes share, so that
// no mode imports this file (which imports every mode).
pub use run::{
    AgentConfig, AgentError, EnvRef, Landing, LoginStep, Mode, Run, Visit, expand_env, origin_of,
    resolve_env,
};

pub struct Agent {
    pub config: AgentConfig,
    pub callback: Option<std::sync::Arc<CallbackListener>>,
}

impl Agent {
    pub async fn authorize(&self, run: Run<'_>) -> Result<Landing, AgentError> {
        let deadline = self.config.timeout();
        let mut origins = run.origins.clone();
        origins.extend(
            self.config
                .origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_string()),
        );
        let run = Run { origins, ..run };
        // Negative checks that must not log in never need a person or a program.
        let mode = if run.allow_login {
            self.config.mode
        } else {
            Mode::Follow
        };
        let work = async {
            match mode {
                Mode::Follow => browser::browse(&run, &[]).await,
                Mode::Form => browser::browse(&run, &self.config.steps).await,
                Mode::Command => external::command(&self.config.command, &run).await,
                Mode::Interactive => {
                    external::interactive(self.callback.as_deref(), &run, deadline).await
                }
            }
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(r) => r,
            Err(_) => Ok(Landing {
                stopped: Some(format!(
                    "the authorization did not come back within {} s",
                    deadline.as_secs()
                )),
                ..Landing::default()
            }),
        }
    }
}
