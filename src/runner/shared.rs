//! Answers shared between checks (`shared = true` steps): one per distinct request, made by the
//! first check that needs it, read by the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::action::StepResult;
use crate::suite::model::{ActionKind, StepDef};

#[derive(Default)]
pub struct SharedSteps {
    cells: Mutex<HashMap<String, Arc<OnceCell<StepResult>>>>,
}

impl SharedSteps {
    /// The answer to the request `key` names: `run`'s, when this is the first asker. A check
    /// cancelled mid-request (the deadline) leaves the cell empty for the next one.
    pub async fn get_or_run(
        &self,
        key: String,
        run: impl std::future::Future<Output = StepResult>,
    ) -> StepResult {
        let cell = match self.cells.lock() {
            Ok(mut cells) => cells.entry(key).or_default().clone(),
            Err(_) => return run.await,
        };
        cell.get_or_init(|| run).await.clone()
    }
}

/// What makes two shared steps the same request: everything the step sends, as written, and the
/// key of the shared step it reads from. The loader lets a shared step read discovery results and
/// its own flow values only, so the written text means the same in every check of a run.
pub fn key(step: &StepDef, from_key: Option<&str>) -> String {
    let action = *step.action.get_ref();
    let client = match action {
        // A token step acts as the client of the step it reads from (in `from_key`).
        ActionKind::Authorize => Some(step.client.unwrap_or(crate::session::ClientKind::Main)),
        _ => step.client,
    };
    format!(
        "{:?}",
        (
            action,
            client,
            (&step.set, &step.omit, &step.add, step.login, &step.grant),
            from_key,
            (&step.method, &step.url, &step.query, &step.headers),
            (
                &step.body,
                step.json.as_ref().map(|j| j.to_string()),
                &step.form
            ),
        )
    )
}
