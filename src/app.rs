//! The edge: commands wired to the library, errors to exit codes. `anyhow` lives here only.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;

use crate::cli::{
    self, Cli, Command, CompareArgs, DemoArgs, ExplainArgs, InitProfileArgs, ListArgs, ListFormat,
    ReferenceArgs,
};
use crate::config::{self, ConfigError, Profile, RunConfig};
use crate::demo;
use crate::discovery::{self, Discovery};
use crate::exit;
use crate::expectations;
use crate::http::{HttpClient, Redactor};
use crate::report::{self, RunReport};
use crate::runner::{self, RunCtx, outcome::CheckOutcome};

pub fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = match e.downcast_ref::<ConfigError>() {
                Some(_) => exit::USAGE,
                None => exit::UNREACHABLE,
            };
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Some(Command::Demo(args)) => demo(args),
        Some(Command::ReferenceServer(args)) => reference_server(args),
        Some(Command::Compare(args)) => compare(args),
        Some(Command::InitProfile(args)) => init_profile(args),
        Some(Command::Explain(args)) => explain(args),
        Some(Command::List(args)) => list_catalogue(args),
        None => {
            let profile = match &cli.config {
                Some(p) => config::load_profile(p)?,
                None => Profile::default(),
            };
            let cfg = config::build(cli.rs, cli.as_url, cli.client, profile, cli.run)?;
            let rt = runtime()?;
            run(&rt, cfg)
        }
    }
}

fn parse_flaws(
    names: &[String],
) -> Result<std::collections::BTreeSet<mcp_oauth_reference::Flaw>, ConfigError> {
    names
        .iter()
        .map(|n| {
            n.parse()
                .map_err(|e: String| ConfigError::Usage(format!("--flaw: {e}")))
        })
        .collect()
}

fn parse_variants(
    names: &[String],
) -> Result<std::collections::BTreeSet<mcp_oauth_reference::Variant>, ConfigError> {
    names
        .iter()
        .map(|n| {
            n.parse()
                .map_err(|e: String| ConfigError::Usage(format!("--variant: {e}")))
        })
        .collect()
}

fn demo(args: DemoArgs) -> anyhow::Result<u8> {
    if args.list_variants {
        let width = mcp_oauth_reference::VARIANTS
            .iter()
            .map(|v| v.name.len())
            .max()
            .unwrap_or(0);
        let mut out = std::io::stdout().lock();
        for v in mcp_oauth_reference::VARIANTS {
            writeln!(out, "{:width$}  {}", v.name, v.description)?;
        }
        return Ok(exit::OK);
    }
    if args.list_flaws {
        let width = mcp_oauth_reference::FLAWS
            .iter()
            .map(|f| f.name.len())
            .max()
            .unwrap_or(0);
        let mut out = std::io::stdout().lock();
        for f in mcp_oauth_reference::FLAWS {
            writeln!(out, "{:width$}  {}", f.name, f.description)?;
        }
        return Ok(exit::OK);
    }
    let flaws = parse_flaws(&args.flaws)?;
    let variants = parse_variants(&args.variants)?;
    let rt = runtime()?;
    let options = mcp_oauth_reference::Options {
        flaws,
        variants,
        ..Default::default()
    };
    let reference = rt
        .block_on(mcp_oauth_reference::Reference::start(options))
        .context("cannot start the reference server")?;
    println!(
        "reference server: {} (MCP endpoint {})",
        reference.base_url(),
        reference.rs_url()
    );
    let mut run_args = args.run;
    if run_args.spec.is_none() {
        run_args.spec = demo::default_spec(&args.flaws).map(|r| r.to_string());
    }
    let cfg = config::build(
        Some(reference.rs_url()),
        Some(reference.issuer()),
        crate::cli::ClientArgs::default(),
        demo::profile()?,
        run_args,
    )?;
    let listing = cfg.harness.list;
    // An expectations file states what this run should give; it replaces the comparison with
    // the clean reference.
    let gated = cfg.expect.is_some();
    let result = execute(&rt, cfg);
    rt.block_on(reference.shutdown());
    let (code, report) = result?;
    if listing || gated || code != exit::OK {
        return Ok(code);
    }
    if args.flaws.is_empty() && !args.variants.is_empty() {
        // A variant is correct behaviour: no check may fail, warn or error. It may turn a pass
        // into a skip, so it is not compared with the clean reference.
        let bad = demo::variant_failures(&report.outcomes);
        if bad.is_empty() {
            return Ok(code);
        }
        println!(
            "\n{} check(s) fail, warn or error under a legitimate variant:",
            bad.len()
        );
        for o in &bad {
            println!("    {}  {}", o.id, o.verdict);
        }
        return Ok(exit::CONFORMANCE_FAILED);
    }
    let spec = report
        .spec
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let worse = demo::worse_than_clean(&report.outcomes, &demo::clean_verdicts(spec));
    if worse.is_empty() {
        return Ok(code);
    }
    println!(
        "\n{} check(s) are worse than against the clean reference server:",
        worse.len()
    );
    for (o, was) in &worse {
        println!("    {}  {} (clean: {})", o.id, o.verdict, was);
    }
    Ok(exit::CONFORMANCE_FAILED)
}

fn reference_server(args: ReferenceArgs) -> anyhow::Result<u8> {
    let flaws = parse_flaws(&args.flaws)?;
    let variants = parse_variants(&args.variants)?;
    let rt = runtime()?;
    let options = mcp_oauth_reference::Options {
        flaws,
        variants,
        auto_approve: args.auto_approve,
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], args.port)),
        ..Default::default()
    };
    let reference = rt
        .block_on(mcp_oauth_reference::Reference::start(options))
        .context("cannot start the reference server")?;
    println!("authorization server (issuer): {}", reference.issuer());
    println!("MCP endpoint (resource):       {}", reference.rs_url());
    let (client, redirects) = reference.public_client();
    println!(
        "pre-registered public client:  {client} (redirect URIs: {})",
        redirects.join(", ")
    );
    for (user, password) in reference.users() {
        println!("user:                          {user} / {password}");
    }
    println!("press Ctrl-C to stop");
    rt.block_on(tokio::signal::ctrl_c())
        .context("waiting for Ctrl-C")?;
    rt.block_on(reference.shutdown());
    Ok(exit::OK)
}

/// A run against a target: discovery, the checks as libtest trials, reports, exit code.
pub fn run(rt: &tokio::runtime::Runtime, cfg: RunConfig) -> anyhow::Result<u8> {
    execute(rt, cfg).map(|(code, _)| code)
}

fn execute(rt: &tokio::runtime::Runtime, cfg: RunConfig) -> anyhow::Result<(u8, RunReport)> {
    if cfg.harness.list {
        list(&cfg);
        let empty = RunReport {
            target_rs: cfg.target.rs_raw.clone(),
            target_as: cfg.target.as_raw.clone(),
            spec: cfg
                .target
                .spec
                .unwrap_or(crate::revision::Revision::LATEST)
                .to_string(),
            spec_reason: String::new(),
            negotiation: None,
            agent_blocked: None,
            run_notes: Vec::new(),
            duration_ms: 0,
            requests: 0,
            footprint: Default::default(),
            discovery_notes: Vec::new(),
            discovery_exchanges: Vec::new(),
            outcomes: Vec::new(),
            jwts: Vec::new(),
        };
        return Ok((exit::OK, empty));
    }
    let started = Instant::now();
    let redactor = Arc::new(Redactor::new());
    let http = HttpClient::new(cfg.settings.http.clone(), redactor.clone())?;
    let mut found = rt.block_on(discovery::discover(&http, &cfg.target));
    print_discovery(&cfg, &found);
    if cfg.dry_run {
        print!("{}", crate::dry_run::render(&cfg, &found));
        return Ok((
            exit::OK,
            build_report(
                &cfg.target,
                &found,
                None,
                Vec::new(),
                started,
                http.requests_sent(),
            ),
        ));
    }
    // The preflight and the revision negotiation happen here; `found` then holds the revision.
    let ctx = Arc::new(rt.block_on(RunCtx::new(http, &mut found, &cfg.settings))?);
    print_grading(&found, &ctx);
    let sink = Arc::new(Mutex::new(Vec::new()));
    let trials = runner::trials(
        ctx.clone(),
        &cfg.suite.checks,
        rt.handle().clone(),
        sink.clone(),
    );
    let _ = libtest_mimic::run(&cfg.harness, trials);
    // Whatever the checks did (errors, the deadline), what the run created is taken away.
    let cleanup = rt.block_on(crate::cleanup::run(
        &ctx,
        &cfg.settings.http,
        cfg.settings.keep,
    ));
    let mut outcomes = std::mem::take(
        &mut *sink
            .lock()
            .map_err(|_| anyhow::anyhow!("a check panicked while recording"))?,
    );
    runner::sort(&mut outcomes, &cfg.suite.checks);
    let mut report = build_report(
        &cfg.target,
        &found,
        Some(&ctx.grading),
        outcomes,
        started,
        ctx.http.requests_sent() + cleanup.requests,
    );
    report.footprint = ctx.session.footprint.report();
    report.agent_blocked = ctx.agent_blocked();
    report.run_notes = ctx.run_notes();
    // Client registrations happen on first use, outside any one check's record; the preflight
    // and the negotiation before any check.
    report.discovery_exchanges.extend(ctx.session.exchanges());
    report
        .discovery_exchanges
        .extend(ctx.preflight.exchanges.iter().cloned());
    report
        .discovery_exchanges
        .extend(ctx.grading.exchanges.iter().cloned());
    report
        .discovery_exchanges
        .extend(ctx.schedule.exchanges.iter().cloned());
    report.discovery_exchanges.extend(cleanup.exchanges);
    let report = report.redacted(&redactor);
    let paths = write_reports(&cfg.report_dir, &report)?;
    let color = cfg.harness.color == Some(libtest_mimic::ColorSetting::Always);
    // colored asks the environment itself; the decision was made already (config::build).
    colored::control::set_override(color);
    print!(
        "{}",
        redactor.scrub(&report::console::render_styled(&report, &paths, color))
    );
    let mut code = exit::for_run(&report.outcomes, found.unreachable.is_some());
    // With --expect, the expectations decide (an unreachable target still exits 3).
    if let (Some(exp), None) = (&cfg.expect, &found.unreachable) {
        let ids = cfg.suite.checks.iter().map(|c| c.id.as_str());
        let ev = expectations::evaluate(exp, &report.outcomes, ids, cfg.settings.strict);
        print!("{}", expectations::render(exp, &ev));
        code = if ev.all_match() {
            exit::OK
        } else {
            exit::CONFORMANCE_FAILED
        };
    }
    Ok((code, report))
}

/// `compare OLD.json NEW.json`
fn compare(args: CompareArgs) -> anyhow::Result<u8> {
    let load = |p: &Path| crate::compare::load(p).map_err(|e| ConfigError::Usage(e.to_string()));
    let (old, new) = (load(&args.old)?, load(&args.new)?);
    let c = crate::compare::compare(&old, &new);
    print!("{}", crate::compare::render(&old, &new, &c));
    Ok(if c.got_worse() {
        exit::CONFORMANCE_FAILED
    } else {
        exit::OK
    })
}

/// `init-profile`: the profile to stdout, what to do next to stderr.
fn init_profile(args: InitProfileArgs) -> anyhow::Result<u8> {
    use crate::init_profile::{self, Stop};
    if args
        .client
        .agent
        .is_some_and(|m| m != crate::agent::Mode::Follow)
    {
        return Err(ConfigError::Usage(
            "init-profile authorizes in agent mode `follow` (it shows where that stops); --agent does not apply".into(),
        )
        .into());
    }
    let run = cli::RunArgs {
        spec: None,
        report_dir: std::path::PathBuf::new(),
        strict: false,
        timeout: args.timeout,
        deadline: None,
        suite_dir: None,
        expect: None,
        dry_run: false,
        call_tools: None,
        keep: false,
        harness: libtest_mimic::Arguments::default(),
    };
    let cfg = config::build(
        Some(args.rs),
        args.as_url,
        args.client,
        Profile::default(),
        run,
    )?;
    let rt = runtime()?;
    let generated = rt.block_on(init_profile::generate(
        &cfg.target,
        &cfg.settings,
        &init_profile::today_utc(),
    ))?;
    print!("{}", generated.text);
    std::io::stdout().flush()?;
    match generated.stop {
        None => {
            for n in &generated.notes {
                eprintln!("init-profile: {n}");
            }
            Ok(exit::OK)
        }
        Some(Stop::Refused(why)) => {
            eprintln!("error: {why}");
            Ok(exit::CONFORMANCE_FAILED)
        }
        Some(Stop::Unreachable(why)) => {
            eprintln!("error: {why}");
            Ok(exit::UNREACHABLE)
        }
    }
}

/// The run's record. `found` holds the revision graded once the run's context is built
/// (`RunCtx::new`); `grading` says how it was chosen.
pub fn build_report(
    target: &discovery::Target,
    found: &Discovery,
    grading: Option<&crate::preflight::Grading>,
    outcomes: Vec<CheckOutcome>,
    started: Instant,
    requests: u64,
) -> RunReport {
    RunReport {
        target_rs: target.rs_raw.clone(),
        target_as: target.as_raw.clone(),
        spec: found.revision.to_string(),
        spec_reason: found.revision_reason.clone(),
        negotiation: grading.map(|g| g.record.clone()),
        agent_blocked: None,
        run_notes: Vec::new(),
        duration_ms: started.elapsed().as_millis() as u64,
        requests,
        footprint: Default::default(),
        discovery_notes: found.notes.clone(),
        discovery_exchanges: found.exchanges.clone(),
        outcomes,
        jwts: Vec::new(),
    }
}

pub fn write_reports(dir: &Path, report: &RunReport) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create report folder {}", dir.display()))?;
    let files = [
        (
            "results.json",
            serde_json::to_string_pretty(&report::json::render(report))?,
        ),
        ("junit.xml", report::junit::render(report)),
        ("report.html", report::html::render(report)),
    ];
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        paths.push(path.display().to_string());
    }
    Ok(paths)
}

fn print_discovery(cfg: &RunConfig, found: &Discovery) {
    println!(
        "target: {}{}",
        cfg.target.rs_raw,
        cfg.target
            .as_raw
            .as_ref()
            .map(|a| format!(" (AS {a})"))
            .unwrap_or_default()
    );
    for n in &found.notes {
        println!("discovery: {n}");
    }
    if let Some(u) = &found.unreachable {
        println!("discovery: the MCP endpoint is unreachable: {u}");
    }
}

/// The revision graded, once the preflight and the negotiation have run.
fn print_grading(found: &Discovery, ctx: &RunCtx) {
    let scrub = |s: &str| ctx.http.redactor().scrub(s);
    println!(
        "spec: {} ({})",
        found.revision,
        scrub(&found.revision_reason)
    );
    if ctx.grading.record.server_speaks.is_some() {
        println!("negotiation: {}", scrub(&ctx.grading.record.how));
    }
    let p = &ctx.preflight;
    match &p.why_no_token {
        None if p.outcome == crate::preflight::GIVEN => println!(
            "preflight: none (the run was given its tokens: no registration, authorization or token request is sent)"
        ),
        None => println!("preflight: an ordinary authorization reached a code and a token"),
        Some(why) => println!("preflight: {}; no token: {}", p.outcome, scrub(why)),
    }
    if let Some(b) = ctx.agent_blocked() {
        println!(
            "user agent: stopped at the login page {} (HTTP {}, fields: {}); the checks that need an authorization code will skip. Fix: {}",
            scrub(&b.page),
            b.status,
            b.fields.join(", "),
            b.fix
        );
    }
    for n in ctx.run_notes() {
        println!("run: {}", scrub(&n));
    }
}

/// `--list`: the selected checks; with libtest's `--format json`, the catalogue for machines.
fn list(cfg: &RunConfig) {
    let checks: Vec<_> = cfg
        .suite
        .checks
        .iter()
        .filter(|c| crate::dry_run::selected(cfg, c))
        .collect();
    let text = match cfg.harness.format {
        Some(libtest_mimic::FormatSetting::Json) => crate::catalogue::json(&checks),
        _ => crate::catalogue::text(&checks, cfg.target.spec),
    };
    let _ = print_all(&text);
}

fn load_suite(dir: Option<&Path>) -> Result<crate::suite::Suite, ConfigError> {
    Ok(match dir {
        Some(d) => crate::suite::Suite::from_dir(d)?,
        None => crate::suite::Suite::builtin()?,
    })
}

/// `explain ID`: one check from the catalogue; an unknown ID is a usage error naming the closest.
fn explain(args: ExplainArgs) -> anyhow::Result<u8> {
    let suite = load_suite(args.suite_dir.as_deref())?;
    let check = crate::catalogue::find(&suite.checks, &args.id)
        .map_err(|near| ConfigError::Usage(crate::catalogue::unknown_id(&args.id, &near)))?;
    print_all(&crate::catalogue::explain(check))?;
    Ok(exit::OK)
}

/// `list`: the catalogue without a target.
fn list_catalogue(args: ListArgs) -> anyhow::Result<u8> {
    let suite = load_suite(args.suite_dir.as_deref())?;
    let spec = args
        .spec
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(ConfigError::Usage)?;
    let checks = crate::catalogue::select(&suite.checks, args.filter.as_deref());
    let text = match args.format {
        ListFormat::Text => crate::catalogue::text(&checks, spec),
        ListFormat::Json => crate::catalogue::json(&checks),
        ListFormat::Markdown => crate::catalogue::markdown(&checks),
    };
    print_all(&text)?;
    Ok(exit::OK)
}

/// Text to stdout; a reader that stopped early (`| head`) is not an error.
fn print_all(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
