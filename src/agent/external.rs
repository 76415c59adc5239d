//! The `command` and `interactive` modes: someone else drives the browser.

use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use super::callback::CallbackListener;
use super::run::{AgentError, Landing, Run};

/// Runs the configured program with the authorization URL as its last argument; the first line
/// it prints is the URL the browser was redirected to.
pub async fn command(program: &[String], run: &Run<'_>) -> Result<Landing, AgentError> {
    let (exe, args) = program.split_first().ok_or_else(|| {
        AgentError::Config("agent mode `command` needs `command = [\"program\", …]`".into())
    })?;
    let mut child = tokio::process::Command::new(exe)
        .args(args)
        .arg(run.url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| AgentError::External(format!("cannot run {exe}: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| AgentError::External(format!("{exe}: no output")))?;
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .map_err(|e| AgentError::External(format!("reading {exe}'s output: {e}")))?;
    let _ = child.wait().await;
    let landed = line.trim().to_string();
    if url::Url::parse(&landed).is_err() {
        return Ok(Landing {
            stopped: Some(format!(
                "{exe} printed no URL (got {:?})",
                landed.chars().take(200).collect::<String>()
            )),
            ..Landing::default()
        });
    }
    Ok(Landing {
        landed: Some(landed),
        ..Landing::default()
    })
}

/// Prints the URL for a person and waits for the browser to come back to the loopback listener,
/// with a countdown on standard error.
pub async fn interactive(
    listener: Option<&CallbackListener>,
    run: &Run<'_>,
    deadline: Duration,
) -> Result<Landing, AgentError> {
    let listener = listener
        .ok_or_else(|| AgentError::Config("interactive mode needs the loopback listener".into()))?;
    eprintln!(
        "\nOpen this URL in a browser and complete the login:\n  {}\n",
        run.url
    );
    let wait = listener.wait_for(run.state);
    tokio::pin!(wait);
    let mut left = deadline.as_secs();
    loop {
        tokio::select! {
            url = &mut wait => {
                eprintln!("received the redirect back.");
                return Ok(Landing { landed: Some(url), ..Landing::default() });
            }
            _ = tokio::time::sleep(Duration::from_secs(10)) => {
                left = left.saturating_sub(10);
                eprintln!("  waiting for the browser… {left} s left");
            }
        }
    }
}
