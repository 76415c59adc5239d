//! Validated run settings: arguments and the optional target profile file, checked and resolved
//! into what a run needs. Every problem here is a usage error (exit code 2).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::agent::{AgentConfig, Mode};
use crate::cli::{ClientArgs, RunArgs};
use crate::discovery::Target;
use crate::http::HttpSettings;
use crate::revision::Revision;
use crate::runner::RunSettings;
use crate::session::ClientConfig;
use crate::suite::{LoadError, Suite, line_col};

/// Concurrency when `--test-threads` is not given: checks wait on the network, not the CPU.
pub const DEFAULT_THREADS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Usage(String),
    #[error("{file}:{line}:{column}: {message}")]
    File {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(transparent)]
    Suite(#[from] LoadError),
    #[error(transparent)]
    Expect(#[from] crate::expectations::ExpectError),
}

pub struct RunConfig {
    pub target: Target,
    pub report_dir: PathBuf,
    pub settings: RunSettings,
    pub suite: Suite,
    pub harness: libtest_mimic::Arguments,
    /// `--expect`: when given, it decides the exit code.
    pub expect: Option<crate::expectations::Expectations>,
    /// `--dry-run`: discovery only, then what the run would do.
    pub dry_run: bool,
}

/// The target profile file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub target: ProfileTarget,
    #[serde(default)]
    pub http: ProfileHttp,
    #[serde(default)]
    pub client: ClientConfig,
    #[serde(default)]
    pub agent: AgentConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileTarget {
    pub rs: Option<String>,
    #[serde(rename = "as")]
    pub as_url: Option<String>,
    pub spec: Option<Revision>,
    /// Another MCP server of the same authorization server (`${rs.origin}` allowed), for the
    /// audience checks.
    pub other_resource: Option<String>,
    /// How long a rotated-out refresh token may keep working (the server's grace window); the
    /// refresh checks wait this long, plus a margin, before they replay it again. Default 60.
    pub refresh_grace_secs: Option<u64>,
    /// Which of the server's tools the run may call: `none`, `read-only` (default), `all`.
    pub call_tools: Option<crate::session::CallTools>,
    /// `[[target.tool]]`: tools safe to call, with their arguments (called under `read-only`).
    #[serde(default, rename = "tool")]
    pub tools: Vec<crate::session::NamedTool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileHttp {
    pub timeout_secs: Option<u64>,
    pub max_body_bytes: Option<usize>,
    /// `--max-rps`: requests per second across the run.
    pub max_rps: Option<f64>,
    /// `--wait-retry-after`: the longest `Retry-After` of a 429 that is waited out (once).
    pub wait_retry_after_secs: Option<u64>,
    /// `--allow-host`: special-use hosts the tool may reach besides the target's own.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
}

pub fn load_profile(path: &Path) -> Result<Profile, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Usage(format!("cannot read config {file}: {e}")))?;
    parse_profile(&file, &text)
}

/// A target profile from its text; errors are located as `file:line:column`.
pub fn parse_profile(file: &str, text: &str) -> Result<Profile, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        ConfigError::File {
            file: file.to_string(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

fn parse_url(flag: &str, raw: &str) -> Result<Url, ConfigError> {
    let u = Url::parse(raw)
        .map_err(|e| ConfigError::Usage(format!("{flag} {raw:?} is not an absolute URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(ConfigError::Usage(format!(
            "{flag} {raw:?} must be an http or https URL"
        )));
    }
    if u.fragment().is_some() {
        return Err(ConfigError::Usage(format!(
            "{flag} {raw:?} must not have a fragment"
        )));
    }
    Ok(u)
}

pub fn build(
    rs: Option<String>,
    as_url: Option<String>,
    client: ClientArgs,
    profile: Profile,
    run: RunArgs,
) -> Result<RunConfig, ConfigError> {
    let rs_raw = rs.or(profile.target.rs).ok_or_else(|| {
        ConfigError::Usage("missing --rs URL (the MCP endpoint to test), or `rs` under [target] in --config; try `mcp-oauth-conform demo` for a first run".into())
    })?;
    let rs = parse_url("--rs", &rs_raw)?;
    let as_raw = as_url.or(profile.target.as_url);
    if let Some(a) = &as_raw {
        parse_url("--as", a)?;
    }
    let spec = match &run.spec {
        Some(s) => Some(s.parse::<Revision>().map_err(ConfigError::Usage)?),
        None => profile.target.spec,
    };
    let mut http = HttpSettings::default();
    if let Some(t) = run.timeout.or(profile.http.timeout_secs) {
        if t == 0 {
            return Err(ConfigError::Usage(
                "--timeout must be at least 1 second".into(),
            ));
        }
        http.timeout = Duration::from_secs(t);
    }
    if let Some(m) = profile.http.max_body_bytes {
        http.max_body = m;
    }
    http_reach(&mut http, &client.http, &profile.http)?;
    http.egress.trust(
        [
            Some(&rs_raw),
            as_raw.as_ref(),
            profile.target.other_resource.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter(|u| !u.contains("${"))
        .chain(&profile.agent.origins),
    );
    if let Some(d) = run.deadline {
        if d == 0 {
            return Err(ConfigError::Usage(
                "--deadline must be at least 1 second".into(),
            ));
        }
        http.deadline = Some(std::time::Instant::now() + Duration::from_secs(d));
    }
    let suite = match &run.suite_dir {
        Some(dir) => Suite::from_dir(dir)?,
        None => Suite::builtin()?,
    };
    let expect = run
        .expect
        .as_deref()
        .map(crate::expectations::load)
        .transpose()?;
    let call_tools = match &run.call_tools {
        Some(p) => p.parse().map_err(ConfigError::Usage)?,
        None => profile.target.call_tools.unwrap_or_default(),
    };
    if let Some(t) = profile.target.tools.iter().find(|t| t.name.is_empty()) {
        return Err(ConfigError::Usage(format!(
            "[[target.tool]] needs a name (arguments {})",
            serde_json::Value::Object(t.arguments.clone())
        )));
    }
    let mut harness = run.harness;
    harness.test_threads.get_or_insert(DEFAULT_THREADS);
    let mode = client.agent;
    Ok(RunConfig {
        target: Target {
            rs_raw,
            rs,
            as_raw,
            spec,
            other_resource: profile.target.other_resource,
        },
        report_dir: run.report_dir,
        settings: RunSettings {
            http,
            strict: run.strict,
            client: client_config(client, profile.client)?,
            agent: agent_config(mode, profile.agent)?,
            refresh_grace_secs: profile.target.refresh_grace_secs,
            call_tools,
            tools: profile.target.tools,
            keep: run.keep,
        },
        suite,
        harness,
        expect,
        dry_run: run.dry_run,
    })
}

/// Rate limit, 429 waits and the hosts the guard lets through: flags over `[http]`.
fn http_reach(
    http: &mut HttpSettings,
    args: &crate::cli::HttpArgs,
    profile: &ProfileHttp,
) -> Result<(), ConfigError> {
    if let Some(r) = args.max_rps.or(profile.max_rps) {
        if !(r.is_finite() && r > 0.0) {
            return Err(ConfigError::Usage(format!(
                "--max-rps must be a number above 0 (got {r})"
            )));
        }
        http.max_rps = Some(r);
    }
    http.wait_retry_after = args
        .wait_retry_after
        .or(profile.wait_retry_after_secs)
        .map(Duration::from_secs);
    for h in args.allow_hosts.iter().chain(&profile.allow_hosts) {
        let host = crate::http::guard::normalize_host(h)
            .map_err(|e| ConfigError::Usage(format!("--allow-host: {e}")))?;
        if !http.egress.allow_hosts.contains(&host) {
            http.egress.allow_hosts.push(host);
        }
    }
    Ok(())
}

/// Command-line client options override the profile's `[client]`.
fn client_config(args: ClientArgs, mut c: ClientConfig) -> Result<ClientConfig, ConfigError> {
    if args.client_id.is_some() {
        c.id = args.client_id;
    }
    if args.client_secret.is_some() {
        c.secret = args.client_secret;
    }
    if !args.redirect_uris.is_empty() {
        c.redirect_uris = args.redirect_uris;
    }
    for r in &c.redirect_uris {
        // Private-use schemes are allowed here: only absoluteness and the fragment are checked.
        let u = Url::parse(r).map_err(|e| {
            ConfigError::Usage(format!("redirect URI {r:?} is not an absolute URI: {e}"))
        })?;
        if u.fragment().is_some() {
            return Err(ConfigError::Usage(format!(
                "redirect URI {r:?} must not have a fragment"
            )));
        }
    }
    if (c.secret.is_some() || c.secret_env.is_some()) && c.id.is_none() {
        return Err(ConfigError::Usage(
            "a client secret needs a client id (--client-id)".into(),
        ));
    }
    Ok(c)
}

fn agent_config(mode: Option<Mode>, mut agent: AgentConfig) -> Result<AgentConfig, ConfigError> {
    if let Some(m) = mode {
        agent.mode = m;
    }
    for (i, step) in agent.steps.iter().enumerate() {
        for re in step.url.iter().chain(step.contains.iter()) {
            regex::Regex::new(re).map_err(|e| {
                ConfigError::Usage(format!(
                    "[[agent.login]] #{}: bad regular expression: {e}",
                    i + 1
                ))
            })?;
        }
    }
    if agent.mode == Mode::Command && agent.command.is_empty() {
        return Err(ConfigError::Usage(
            "agent mode `command` needs `command = [\"program\", …]` under [agent] in --config"
                .into(),
        ));
    }
    Ok(agent)
}
