//! Command-line arguments, as typed. Nothing here is validated beyond its syntax; `config` turns
//! these into a run.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

const AFTER_HELP: &str = "\
Examples:
  mcp-oauth-conform demo                                  run every check against the built-in reference server
  mcp-oauth-conform demo --flaw prm-resource-origin       ... against a reference server with one defect
  mcp-oauth-conform --rs https://mcp.example.com/mcp      discover the AS from the resource's metadata
  mcp-oauth-conform --rs URL --as URL prm.                only the protected-resource-metadata checks
  mcp-oauth-conform --rs URL --list                       list the checks (ID, level, title)
  mcp-oauth-conform explain rs.audience                   one check: why it matters, how to fix it, spec links
  mcp-oauth-conform list --format json                    every check, for machines (also: --list --format json)
  mcp-oauth-conform fuzz --rs URL --config target.toml    fuzz the deployment (2500 requests; --budget, --seed)

Verdicts: pass, fail (a MUST broken), warn (a SHOULD broken), info, skip (with the reason), error
(no usable answer). Exit codes: 0 no fail/error, 1 a check failed, 2 bad usage/suite/config,
3 the target could not be reached or a check got no usable answer.";

#[derive(Debug, Parser)]
#[command(
    name = "mcp-oauth-conform",
    version,
    about = "Conformance checks for MCP OAuth deployments: an authorization server and the MCP server (resource server) it protects.",
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The MCP endpoint to test (the resource server), e.g. https://mcp.example.com/mcp
    #[arg(long = "rs", value_name = "URL", env = "MCP_CONFORM_RS")]
    pub rs: Option<String>,

    /// The authorization server's issuer. Optional when the resource's metadata names it; when
    /// given, it is compared with what the resource names.
    #[arg(long = "as", value_name = "URL", env = "MCP_CONFORM_AS")]
    pub as_url: Option<String>,

    /// Target profile (TOML): [target], [http], [client], [[clients]], [tokens], [agent] with its
    /// login script
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten, next_help_heading = "Client and user agent")]
    pub client: ClientArgs,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Options shared by a run against a target and by `demo`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// MCP revision to grade (default: inferred from discovery and printed)
    #[arg(long, value_name = "REVISION", value_parser = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])]
    pub spec: Option<String>,

    /// Folder for results.json and the other reports
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report_dir: PathBuf,

    /// Treat warnings (SHOULD not met) as failures
    #[arg(long)]
    pub strict: bool,

    /// Seconds to wait for any one HTTP answer
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    /// Seconds the whole run may take: checks not finished by then end as `error`, and the
    /// reports are still written
    #[arg(long, value_name = "SECS")]
    pub deadline: Option<u64>,

    /// Load checks from this folder of suite files instead of the built-in suites
    #[arg(long, value_name = "DIR")]
    pub suite_dir: Option<PathBuf>,

    /// Expectations file (TOML) for CI gating: accepted results by check ID, each with a
    /// reason. Exit 0 when every result is as expected, 1 when any differs.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,

    /// Discover the deployment, print the checks that would run and the clients they would
    /// register, and send nothing else.
    #[arg(long)]
    pub dry_run: bool,

    /// Which of the server's tools the run may call (tools/call runs the tool, which may change
    /// data): none, read-only (default: the tools the server marks readOnlyHint, and those the
    /// profile names under [[target.tool]]), all
    #[arg(long, value_name = "POLICY", value_parser = ["none", "read-only", "all"])]
    pub call_tools: Option<String>,

    /// Leave the clients and tokens the run created on the server (default: at the end, revoke
    /// every token it was issued and delete every client it registered, where the server allows)
    #[arg(long)]
    pub keep: bool,

    #[command(flatten, next_help_heading = "Check selection (as in cargo test)")]
    pub harness: libtest_mimic::Arguments,
}

/// How the tool gets a client and gets past the login.
#[derive(Debug, Default, Args)]
pub struct ClientArgs {
    /// A pre-registered client (default: registered by dynamic client registration)
    #[arg(long, value_name = "ID", env = "MCP_CONFORM_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Its secret, for a confidential client (prefer the environment variable)
    #[arg(
        long,
        value_name = "SECRET",
        env = "MCP_CONFORM_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,

    /// Its registered redirect URI(s) (default: http://127.0.0.1:<port>/callback, any port)
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,

    /// An access token for the MCP server, obtained beforehand (for a server behind a single
    /// sign-on no script gets past): the resource-server checks use it, and the run sends the
    /// authorization server no registration, authorization or token request. More tokens:
    /// [tokens] in --config (prefer the environment variable)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "MCP_CONFORM_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub access_token: Option<String>,

    /// How the run gets the clients it was not given: cimd (URL clients whose client metadata
    /// documents the tool serves), dcr (dynamic registration), static (only the clients given).
    /// Default: cimd for 2026-07-28 where the server supports it, else dcr where it is offered,
    /// else cimd
    #[arg(long, value_name = "MODE", value_parser = parse_client_mode)]
    pub client_mode: Option<crate::session::ClientMode>,

    #[command(flatten, next_help_heading = "Client ID metadata documents")]
    pub cimd: CimdArgs,

    /// How to get past login and consent: follow, form (login script in --config), command, interactive
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub agent: Option<crate::agent::Mode>,

    #[command(flatten, next_help_heading = "Politeness and reach")]
    pub http: HttpArgs,
}

/// Where the tool serves client metadata documents for the authorization server to fetch.
#[derive(Debug, Default, Args)]
pub struct CimdArgs {
    /// The public URL at which the document server is exposed (a tunnel or reverse proxy to
    /// --cimd-listen), ending in `/`; default: its loopback address
    #[arg(long, value_name = "URL")]
    pub cimd_base_url: Option<String>,

    /// Where the document server listens (default 127.0.0.1 on a free port)
    #[arg(long, value_name = "ADDR:PORT")]
    pub cimd_listen: Option<String>,

    /// Serve the documents over https with a certificate from a CA made for the run (written
    /// to the report folder as cimd-ca.pem for the server under test to trust)
    #[arg(long)]
    pub cimd_https: bool,

    /// With --cimd-https: sign with the CA kept in DIR (ca.pem, ca-key.pem; made there on
    /// first use), so the server under test can trust it before the run
    #[arg(long, value_name = "DIR")]
    pub cimd_ca_dir: Option<std::path::PathBuf>,
}

fn parse_client_mode(s: &str) -> Result<crate::session::ClientMode, String> {
    match s {
        "cimd" => Ok(crate::session::ClientMode::Cimd),
        "dcr" => Ok(crate::session::ClientMode::Dcr),
        "static" => Ok(crate::session::ClientMode::Static),
        other => Err(format!(
            "unknown client mode {other:?}: cimd, dcr or static"
        )),
    }
}

/// How hard, and where, the tool may knock: rate limit, waiting out 429s, the hosts it may reach.
#[derive(Debug, Default, Args)]
pub struct HttpArgs {
    /// At most N requests per second across all checks (e.g. 2, or 0.5)
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,

    /// On a 429 whose Retry-After is at most SECS, wait it out once and send the request again
    #[arg(long, value_name = "SECS")]
    pub wait_retry_after: Option<u64>,

    /// Let requests reach HOST although it is (or resolves to) a loopback, private, link-local or
    /// other special-use address your own URLs do not use (repeatable)
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
}

fn parse_mode(s: &str) -> Result<crate::agent::Mode, String> {
    match s {
        "follow" => Ok(crate::agent::Mode::Follow),
        "form" => Ok(crate::agent::Mode::Form),
        "command" => Ok(crate::agent::Mode::Command),
        "interactive" => Ok(crate::agent::Mode::Interactive),
        other => Err(format!(
            "unknown agent mode `{other}` (follow, form, command, interactive)"
        )),
    }
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the built-in reference AS/RS on 127.0.0.1 and run every check against it
    Demo(DemoArgs),
    /// Run the reference AS/RS on 127.0.0.1 until interrupted, to point other clients at it
    ReferenceServer(ReferenceArgs),
    /// Compare two results.json files check by check (better, worse, new, gone); exit 1 when a
    /// verdict got worse
    Compare(CompareArgs),
    /// Write a starting target profile (TOML, to stdout) from where an ordinary authorization
    /// stops: the login page's form, with placeholders for the user name and password
    InitProfile(InitProfileArgs),
    /// Print one check: what it requires, its level and revisions, why it matters, how a server
    /// that fails it is fixed, how it is graded, and its spec references with their URLs
    Explain(ExplainArgs),
    /// Print the catalogue of checks, no target needed: text (ID, level, title), json (for
    /// machines) or markdown (docs/checks.md)
    List(ListArgs),
    /// Fuzz a deployment: mutations of valid authorization, token, registration, revocation,
    /// introspection and MCP requests, judged by protocol oracles (5xx, stack traces, reflected
    /// markup, injected headers, slow answers, tokens for malformed input); each finding
    /// minimized, with a curl command
    Fuzz(Box<FuzzArgs>),
}

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The MCP endpoint to fuzz (the resource server)
    #[arg(
        long = "rs",
        value_name = "URL",
        env = "MCP_CONFORM_RS",
        required_unless_present = "demo"
    )]
    pub rs: Option<String>,

    /// The authorization server's issuer (optional when the resource's metadata names it)
    #[arg(long = "as", value_name = "URL", env = "MCP_CONFORM_AS")]
    pub as_url: Option<String>,

    /// Target profile (TOML), as for a conformance run
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Fuzz the built-in reference server instead of --rs (with --flaw to give it a defect)
    #[arg(long, conflicts_with_all = ["rs", "as_url", "config"])]
    pub demo: bool,

    /// With --demo: switch on a flaw of the reference server (repeatable); the fuzz-* flaws are
    /// the ones only a fuzzer finds
    #[arg(long = "flaw", value_name = "NAME", requires = "demo")]
    pub flaws: Vec<String>,

    /// Requests the run may send in all (seeds, controls and minimization included)
    #[arg(long, value_name = "N", default_value_t = crate::fuzz::DEFAULT_BUDGET)]
    pub budget: u64,

    /// Seconds the fuzzing may take (the budget still applies)
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,

    /// Seed of the mutation order: the same seed against the same server sends the same probes
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Stop after this many findings (default: fuzz until the budget or --duration is spent)
    #[arg(long, value_name = "N")]
    pub max_findings: Option<usize>,

    /// Endpoints to fuzz, comma-separated: authorize, token, register, revoke, introspect, mcp
    /// (default: all the deployment has; registration only where the server lets the run delete
    /// the clients it registers (RFC 7592), unless `register` is named here)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub endpoints: Vec<String>,

    /// MCP revision the requests are made for (default: negotiated, as in a conformance run)
    #[arg(long, value_name = "REVISION", value_parser = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])]
    pub spec: Option<String>,

    /// Folder for results.json and the other reports
    #[arg(long, value_name = "DIR", default_value = "reports/fuzz")]
    pub report_dir: PathBuf,

    /// Treat warnings as failures
    #[arg(long)]
    pub strict: bool,

    /// Seconds to wait for any one HTTP answer (an answer that never comes is a finding)
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    /// Expectations file (TOML): accepted results by oracle ID, each with a reason
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,

    /// Leave the clients and tokens the run created on the server
    #[arg(long)]
    pub keep: bool,

    #[command(flatten, next_help_heading = "Client and user agent")]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The check's ID, e.g. rs.audience (an unknown one is answered with the closest IDs)
    #[arg(value_name = "ID")]
    pub id: String,

    /// Load checks from this folder of suite files instead of the built-in suites
    #[arg(long, value_name = "DIR")]
    pub suite_dir: Option<PathBuf>,
}

/// How `list` prints the catalogue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// One line per check: ID, level, title (as `--list`)
    #[default]
    Text,
    /// An array of objects: id, family, title, party, level, levels, revisions, refs (with
    /// URLs), why, fix, reading, source
    Json,
    /// The page docs/checks.md, grouped by family
    Markdown,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the checks whose ID contains FILTER
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,

    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,

    /// With --format text: the level for this MCP revision
    #[arg(long, value_name = "REVISION", value_parser = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])]
    pub spec: Option<String>,

    /// Load checks from this folder of suite files instead of the built-in suites
    #[arg(long, value_name = "DIR")]
    pub suite_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitProfileArgs {
    /// The MCP endpoint (the resource server), e.g. https://mcp.example.com/mcp
    #[arg(long = "rs", value_name = "URL", env = "MCP_CONFORM_RS")]
    pub rs: String,

    /// The authorization server's issuer (default: the one the resource's metadata names)
    #[arg(long = "as", value_name = "URL", env = "MCP_CONFORM_AS")]
    pub as_url: Option<String>,

    /// Seconds to wait for any one HTTP answer
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    #[command(flatten, next_help_heading = "Client")]
    pub client: ClientArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// results.json of the earlier run
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,

    /// results.json of the later run
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Switch on a flaw of the reference server (repeatable); see --list-flaws
    #[arg(long = "flaw", value_name = "NAME")]
    pub flaws: Vec<String>,

    /// Print the reference server's flaws, one per line: NAME  description
    #[arg(long)]
    pub list_flaws: bool,

    /// Switch on a legitimate variant of the reference server (repeatable); see --list-variants
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,

    /// Print the reference server's legitimate variants, one per line: NAME  description
    #[arg(long)]
    pub list_variants: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ReferenceArgs {
    /// Port to listen on (127.0.0.1); 0 picks a free one
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Switch on a flaw (repeatable)
    #[arg(long = "flaw", value_name = "NAME")]
    pub flaws: Vec<String>,

    /// Switch on a legitimate variant (repeatable)
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,

    /// Skip the login and consent pages (alice approves everything)
    #[arg(long)]
    pub auto_approve: bool,
}

/// libtest-mimic's flags that do nothing for us; hidden from `--help`.
const NOOP_FLAGS: &[&str] = &[
    "test",
    "bench",
    "nocapture",
    "show_output",
    "unstable_flags",
    "logfile",
    "ignored",
    "include_ignored",
];

/// The flattened libtest arguments bring their own help template and disable `--version`;
/// undo that on every command that embeds them.
fn fix_up(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd
        .help_template("{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}{after-help}")
        .after_help(AFTER_HELP);
    for id in NOOP_FLAGS {
        if cmd.get_arguments().any(|a| a.get_id() == *id) {
            cmd = cmd.mut_arg(*id, |a| a.hide(true));
        }
    }
    // libtest's own `--color` colours the summary too (report::console::color_wanted).
    if cmd.get_arguments().any(|a| a.get_id() == "color") {
        cmd = cmd.mut_arg("color", |a| {
            a.help("Colour the check lines and the summary: fail and error red, warn yellow, pass green")
                .long_help(COLOR_HELP)
                // libtest's descriptions of the values speak of its lines only.
                .hide_possible_values(true)
        });
    }
    cmd
}

const COLOR_HELP: &str = "\
Colour the check lines and the summary: fail and error red, warn yellow, pass green.
always, never, or auto (default): only on a terminal, never with NO_COLOR set (non-empty), \
always with CLICOLOR_FORCE set (not 0), never with CLICOLOR=0 or TERM=dumb";

pub fn command() -> clap::Command {
    fix_up(Cli::command())
        .disable_version_flag(false)
        .version(env!("CARGO_PKG_VERSION"))
        .mut_subcommand("demo", fix_up)
        // The authorization of `init-profile` only follows redirects.
        .mut_subcommand("init-profile", |c| {
            c.mut_arg("agent", |a| a.hide(true))
                .mut_arg("access_token", |a| a.hide(true))
        })
}

pub fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}
