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
use crate::session::{ClientConfig, ClientEntry, ClientKind, GivenTokens};
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
    /// `[[clients]]`: clients registered beforehand for the other roles (a server without
    /// dynamic client registration).
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// `[tokens]`: tokens obtained beforehand, instead of any authorization.
    #[serde(default)]
    pub tokens: Option<GivenTokens>,
    #[serde(default)]
    pub agent: AgentConfig,
    /// `[cimd]`: where the tool serves client metadata documents.
    #[serde(default)]
    pub cimd: ProfileCimd,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileCimd {
    /// The public URL the document server is exposed at (`--cimd-base-url`).
    pub base_url: Option<String>,
    /// Where it listens (`--cimd-listen`).
    pub listen: Option<String>,
    /// Serve https with a CA made for the run (`--cimd-https`).
    #[serde(default)]
    pub https: bool,
    /// Sign with the CA kept in this folder (`--cimd-ca-dir`).
    pub ca_dir: Option<PathBuf>,
    /// The shortest time the server keeps a fetched document whatever its headers say.
    pub cache_floor_secs: Option<u64>,
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
    mut profile: Profile,
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
    // `auto` decided once, here, for libtest's lines and the summary alike.
    harness.color = Some(if crate::report::console::color_wanted(harness.color) {
        libtest_mimic::ColorSetting::Always
    } else {
        libtest_mimic::ColorSetting::Never
    });
    let cimd = cimd_settings(&client.cimd, &profile.cimd, &run.report_dir)?;
    let mut client = client;
    if let Some(m) = client.client_mode.take() {
        profile.client.mode = Some(m);
    }
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
            client: client_config(client, profile.client, profile.clients, profile.tokens)?,
            agent: agent_config(mode, profile.agent)?,
            refresh_grace_secs: profile.target.refresh_grace_secs,
            call_tools,
            tools: profile.target.tools,
            keep: run.keep,
            cimd,
        },
        suite,
        harness,
        expect,
        dry_run: run.dry_run,
    })
}

/// The document server: flags over `[cimd]`.
fn cimd_settings(
    args: &crate::cli::CimdArgs,
    profile: &ProfileCimd,
    report_dir: &Path,
) -> Result<crate::cimd::Settings, ConfigError> {
    let base_url = match args.cimd_base_url.as_ref().or(profile.base_url.as_ref()) {
        Some(raw) => {
            let mut u = parse_url("--cimd-base-url", raw)?;
            if u.query().is_some() {
                return Err(ConfigError::Usage(format!(
                    "--cimd-base-url {raw:?} must not have a query: documents are served at paths below it"
                )));
            }
            if !u.path().ends_with('/') {
                let path = format!("{}/", u.path());
                u.set_path(&path);
            }
            Some(u)
        }
        None => None,
    };
    let listen = match args.cimd_listen.as_ref().or(profile.listen.as_ref()) {
        Some(raw) => Some(raw.parse().map_err(|_| {
            ConfigError::Usage(format!(
                "--cimd-listen {raw:?} is not an address and port such as 127.0.0.1:8443"
            ))
        })?),
        None => None,
    };
    let ca_dir = args.cimd_ca_dir.clone().or(profile.ca_dir.clone());
    let https = args.cimd_https || profile.https;
    if ca_dir.is_some() && !https {
        return Err(ConfigError::Usage(
            "--cimd-ca-dir signs the https document server's certificate: add --cimd-https".into(),
        ));
    }
    Ok(crate::cimd::Settings {
        listen,
        base_url,
        https,
        as_host: None,
        ca_dir,
        ca_out: Some(report_dir.join("cimd-ca.pem")),
        cache_floor_secs: profile.cache_floor_secs,
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

/// Command-line client options override the profile's `[client]`; `[[clients]]` and `[tokens]`
/// are checked and their `${env.NAME}` values read.
fn client_config(
    args: ClientArgs,
    mut c: ClientConfig,
    clients: Vec<ClientEntry>,
    tokens: Option<GivenTokens>,
) -> Result<ClientConfig, ConfigError> {
    // `--client-id` is the main role, whatever the profile says.
    let main_from_flag = args.client_id.is_some();
    let tokens = given_tokens(args.access_token, tokens)?;
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
        check_redirect_uri(r)?;
    }
    if (c.secret.is_some() || c.secret_env.is_some()) && c.id.is_none() {
        return Err(ConfigError::Usage(
            "a client secret needs a client id (--client-id)".into(),
        ));
    }
    if let Some(s) = &c.secret {
        c.secret = Some(expand_env(s, "[client] secret")?);
    }
    let mut roles = std::collections::BTreeSet::new();
    for mut e in clients {
        let role = e.role.as_str();
        if e.role == ClientKind::Main && c.id.is_some() {
            if main_from_flag {
                continue;
            }
            return Err(ConfigError::Usage(
                "the main client is given twice: `[client] id` and `[[clients]]` with `role = \"main\"`; keep one".into(),
            ));
        }
        if !roles.insert(e.role) {
            return Err(ConfigError::Usage(format!(
                "[[clients]]: role \"{role}\" is given twice"
            )));
        }
        check_client_entry(&e)?;
        if let Some(s) = &e.secret {
            e.secret = Some(expand_env(
                s,
                &format!("[[clients]] role \"{role}\": secret"),
            )?);
        }
        c.clients.push(e);
    }
    c.tokens = tokens;
    Ok(c)
}

/// Private-use schemes are allowed in a redirect URI: only absoluteness and the fragment are
/// checked.
fn check_redirect_uri(r: &str) -> Result<(), ConfigError> {
    let u = Url::parse(r).map_err(|e| {
        ConfigError::Usage(format!("redirect URI {r:?} is not an absolute URI: {e}"))
    })?;
    if u.fragment().is_some() {
        return Err(ConfigError::Usage(format!(
            "redirect URI {r:?} must not have a fragment"
        )));
    }
    Ok(())
}

/// The redirect checks that use the `web` client send variants of this URI (another port, case,
/// host tricks): the tool registers it by DCR, and a `web` client given beforehand must have it.
const WEB_REDIRECT_URI: &str = "https://client.example/cb";

/// A `[[clients]]` entry that can play its role.
fn check_client_entry(e: &ClientEntry) -> Result<(), ConfigError> {
    let role = e.role.as_str();
    let bad = |why: String| {
        Err(ConfigError::Usage(format!(
            "[[clients]] role \"{role}\": {why}"
        )))
    };
    if e.role == ClientKind::Revoker {
        return Err(ConfigError::Usage(
            "[[clients]]: `revoker` is not a role of its own: revocation uses the main client, or the confidential one when the revocation endpoint takes no public clients".into(),
        ));
    }
    if e.id.trim().is_empty() {
        return bad("`id` is empty".into());
    }
    for r in &e.redirect_uris {
        check_redirect_uri(r)?;
    }
    let method = e.auth_method.as_deref();
    if let Some(m) = method {
        if !matches!(m, "none" | "client_secret_basic" | "client_secret_post") {
            return bad(format!(
                "auth_method `{m}` is not one the tool uses (none, client_secret_basic, client_secret_post)"
            ));
        }
    }
    let needs = match e.role {
        ClientKind::Confidential => Some("client_secret_basic"),
        ClientKind::ConfidentialPost => Some("client_secret_post"),
        _ => None,
    };
    match needs {
        Some(want) => {
            if e.secret.is_none() {
                return bad(format!(
                    "a confidential client needs its `secret` (as `secret = \"${{env.NAME}}\"`), for {want}"
                ));
            }
            if method.is_some_and(|m| m != want) {
                return bad(format!(
                    "this role authenticates with {want} (the other confidential role is {})",
                    if e.role == ClientKind::Confidential {
                        "`confidential-post`, for client_secret_post"
                    } else {
                        "`confidential`, for client_secret_basic"
                    }
                ));
            }
        }
        None if e.secret.is_some() && e.role != ClientKind::Main => {
            return bad(
                "only `main`, `confidential` and `confidential-post` clients have a secret (the others are public clients)".into(),
            );
        }
        None => {}
    }
    let given = !e.redirect_uris.is_empty();
    match e.role {
        ClientKind::Web if given && !e.redirect_uris.iter().any(|u| u == WEB_REDIRECT_URI) => {
            bad(format!(
                "the redirect checks send variants of {WEB_REDIRECT_URI} (another port, case, host tricks): register it for this client (the tool never visits it) and list it in redirect_uris"
            ))
        }
        ClientKind::Multi if given && e.redirect_uris.len() < 2 => {
            bad("it stands for a client with two registered redirect URIs: list both".into())
        }
        ClientKind::Query if given && !e.redirect_uris.iter().any(|u| u.contains('?')) => bad(
            "it stands for a client whose redirect URI has a query (`http://127.0.0.1/callback?x=1`): list that one".into(),
        ),
        _ => Ok(()),
    }
}

/// `--access-token` over `[tokens] access`; `${env.NAME}` read. Tokens need the access token.
fn given_tokens(
    flag: Option<String>,
    profile: Option<GivenTokens>,
) -> Result<Option<GivenTokens>, ConfigError> {
    let mut tokens = match (flag, profile) {
        (None, None) => return Ok(None),
        (Some(a), p) => GivenTokens {
            access: Some(a),
            ..p.unwrap_or_default()
        },
        (None, Some(p)) => p,
    };
    for (key, slot) in [
        ("access", &mut tokens.access),
        ("refresh", &mut tokens.refresh),
        ("other_resource_access", &mut tokens.other_resource_access),
        ("narrow_scope_access", &mut tokens.narrow_scope_access),
    ] {
        if let Some(v) = slot.as_deref() {
            let v = expand_env(v, &format!("[tokens] {key}"))?;
            if v.trim().is_empty() {
                return Err(ConfigError::Usage(format!("[tokens] {key} is empty")));
            }
            *slot = Some(v.trim().to_string());
        }
    }
    if tokens.access.is_none() {
        return Err(ConfigError::Usage(
            "[tokens] needs `access` (or --access-token): the access token for the MCP server"
                .into(),
        ));
    }
    Ok(Some(tokens))
}

/// `${env.NAME}` in a profile value, read from the environment (secrets stay out of the file).
fn expand_env(value: &str, what: &str) -> Result<String, ConfigError> {
    crate::agent::resolve_env(value).map_err(|e| match e {
        crate::agent::EnvRef::Unterminated => {
            ConfigError::Usage(format!("{what}: unterminated ${{env.…}}"))
        }
        crate::agent::EnvRef::Unset(name) => ConfigError::Usage(format!(
            "{what} reads the environment variable {name}, which is not set"
        )),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        parse_profile("target.toml", text).unwrap()
    }

    fn clients(text: &str) -> Result<ClientConfig, ConfigError> {
        let p = profile(text);
        client_config(ClientArgs::default(), p.client, p.clients, p.tokens)
    }

    fn usage(r: Result<ClientConfig, ConfigError>) -> String {
        match r {
            Err(ConfigError::Usage(m)) => m,
            other => panic!("not a usage error: {:?}", other.map(|c| c.clients)),
        }
    }

    #[test]
    fn clients_by_role_read_their_secret_from_the_environment() {
        // A variable every test process has: the test changes no environment.
        let path = std::env::var("PATH").unwrap();
        let c = clients(
            r#"
[[clients]]
role = "second"
id = "two"

[[clients]]
role = "confidential"
id = "conf"
secret = "${env.PATH}"
"#,
        )
        .unwrap();
        assert_eq!(c.clients.len(), 2);
        assert_eq!(c.clients[0].role, ClientKind::Second);
        assert_eq!(c.clients[1].secret.as_deref(), Some(path.as_str()));
        let m = usage(clients(
            "[[clients]]\nrole = \"confidential\"\nid = \"c\"\nsecret = \"${env.MCP_CONFORM_CONFIG_TEST_UNSET}\"\n",
        ));
        assert!(m.contains("MCP_CONFORM_CONFIG_TEST_UNSET"), "{m}");
    }

    #[test]
    fn roles_that_cannot_play_their_part_are_refused() {
        for (text, says) in [
            ("role = \"revoker\"\nid = \"r\"", "not a role of its own"),
            ("role = \"confidential\"\nid = \"c\"", "needs its `secret`"),
            (
                "role = \"second\"\nid = \"s\"\nsecret = \"x\"",
                "public clients",
            ),
            (
                "role = \"web\"\nid = \"w\"\nredirect_uris = [\"https://app.example/cb\"]",
                "https://client.example/cb",
            ),
            (
                "role = \"multi\"\nid = \"m\"\nredirect_uris = [\"http://127.0.0.1/cb\"]",
                "two registered",
            ),
            (
                "role = \"query\"\nid = \"q\"\nredirect_uris = [\"http://127.0.0.1/cb\"]",
                "has a query",
            ),
            (
                "role = \"second\"\nid = \"s\"\nauth_method = \"private_key_jwt\"",
                "auth_method",
            ),
        ] {
            let m = usage(clients(&format!("[[clients]]\n{text}\n")));
            assert!(m.contains(says), "{text}: {m}");
        }
        let twice = "[[clients]]\nrole = \"second\"\nid = \"a\"\n[[clients]]\nrole = \"second\"\nid = \"b\"\n";
        assert!(usage(clients(twice)).contains("twice"));
        let main_twice = "[client]\nid = \"a\"\n[[clients]]\nrole = \"main\"\nid = \"b\"\n";
        assert!(usage(clients(main_twice)).contains("main client is given twice"));
        // An unknown role is the file's error, located.
        let e = parse_profile("t.toml", "[[clients]]\nrole = \"third\"\nid = \"x\"\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:2:"), "{e}");
    }

    #[test]
    fn the_flag_is_the_main_client_and_the_access_token() {
        let p = profile(
            "[[clients]]\nrole = \"main\"\nid = \"from-profile\"\n\n[tokens]\nrefresh = \"a-refresh-token\"\n",
        );
        let args = ClientArgs {
            client_id: Some("from-flag".into()),
            access_token: Some("  an-access-token  ".into()),
            ..Default::default()
        };
        let c = client_config(args, p.client, p.clients, p.tokens).unwrap();
        assert_eq!(c.id.as_deref(), Some("from-flag"));
        assert!(c.clients.is_empty());
        let t = c.tokens.unwrap();
        assert_eq!(t.access.as_deref(), Some("an-access-token"));
        assert_eq!(t.refresh.as_deref(), Some("a-refresh-token"));
        // Never printed.
        assert!(!format!("{t:?}").contains("an-access-token"));
        let m = usage(clients("[tokens]\nrefresh = \"r\"\n"));
        assert!(m.contains("needs `access`"), "{m}");
    }
}

#[cfg(test)]
mod build_tests {
    use super::*;

    /// `build` from a command line, as a run without --config gets it.
    fn from_args(args: &[&str]) -> Result<RunConfig, ConfigError> {
        let cli = crate::cli::parse_from(
            std::iter::once("mcp-oauth-conform").chain(args.iter().copied()),
        )
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        build(cli.rs, cli.as_url, cli.client, Profile::default(), cli.run)
    }

    fn refused(args: &[&str]) -> String {
        match from_args(args) {
            Err(ConfigError::Usage(m)) => m,
            Err(e) => panic!("{args:?}: not a usage error: {e}"),
            Ok(_) => panic!("{args:?} accepted"),
        }
    }

    const RS: &str = "http://127.0.0.1:9/mcp";

    #[test]
    fn urls_must_be_absolute_http_without_fragment() {
        let m = refused(&["--rs", "127.0.0.1:9/mcp"]);
        assert!(
            m.starts_with("--rs \"127.0.0.1:9/mcp\" is not an absolute URL"),
            "{m}"
        );
        let m = refused(&["--rs", "ftp://127.0.0.1/mcp"]);
        assert!(m.contains("must be an http or https URL"), "{m}");
        let m = refused(&["--rs", "https://rs.example/mcp#frag"]);
        assert!(m.contains("must not have a fragment"), "{m}");
        let m = refused(&["--rs", RS, "--as", "/realms/mcp"]);
        assert!(
            m.starts_with("--as \"/realms/mcp\" is not an absolute URL"),
            "{m}"
        );
    }

    #[test]
    fn the_mcp_endpoint_is_required() {
        // The flag's environment variable would supply it.
        if std::env::var_os("MCP_CONFORM_RS").is_some() {
            return;
        }
        let cli = crate::cli::parse_from(["mcp-oauth-conform"]).unwrap();
        match build(cli.rs, cli.as_url, cli.client, Profile::default(), cli.run) {
            Err(ConfigError::Usage(m)) => assert!(m.starts_with("missing --rs URL"), "{m}"),
            Err(e) => panic!("not a usage error: {e}"),
            Ok(_) => panic!("a run without --rs accepted"),
        }
    }

    #[test]
    fn durations_and_rates_must_be_positive() {
        let m = refused(&["--rs", RS, "--timeout", "0"]);
        assert_eq!(m, "--timeout must be at least 1 second");
        let m = refused(&["--rs", RS, "--deadline", "0"]);
        assert_eq!(m, "--deadline must be at least 1 second");
        let m = refused(&["--rs", RS, "--max-rps", "0"]);
        assert!(m.starts_with("--max-rps must be a number above 0"), "{m}");
    }

    #[test]
    fn cimd_options_are_checked() {
        let m = refused(&["--rs", RS, "--cimd-ca-dir", "ca"]);
        assert!(m.ends_with("add --cimd-https"), "{m}");
        let m = refused(&["--rs", RS, "--cimd-base-url", "https://t.example/d?x=1"]);
        assert!(m.contains("must not have a query"), "{m}");
        let m = refused(&["--rs", RS, "--cimd-listen", "localhost"]);
        assert!(m.contains("is not an address and port"), "{m}");
        let ok = from_args(&[
            "--rs",
            RS,
            "--cimd-https",
            "--cimd-ca-dir",
            "ca",
            "--cimd-base-url",
            "https://t.example/docs",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let cimd = &ok.settings.cimd;
        assert!(cimd.https);
        // Documents are served below the base URL: it gains its terminating slash.
        assert_eq!(
            cimd.base_url.as_ref().map(Url::as_str),
            Some("https://t.example/docs/")
        );
    }

    #[test]
    fn a_valid_run_gets_its_settings() {
        let cfg = from_args(&["--rs", RS, "--timeout", "7", "--spec", "2025-06-18"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.target.rs.as_str(), RS);
        assert_eq!(cfg.target.spec, Some(Revision::R2025_06_18));
        assert_eq!(cfg.settings.http.timeout, Duration::from_secs(7));
        assert_eq!(cfg.harness.test_threads, Some(DEFAULT_THREADS));
        // `--color` is decided here, for libtest and the summary alike.
        for (flag, want) in [
            ("always", libtest_mimic::ColorSetting::Always),
            ("never", libtest_mimic::ColorSetting::Never),
        ] {
            let cfg = from_args(&["--rs", RS, "--color", flag]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(cfg.harness.color, Some(want), "--color {flag}");
        }
    }
}
