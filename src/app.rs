//! The edge: commands wired to the library, errors to exit codes. `anyhow` lives here only.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{
    self, Cli, Command, CompareArgs, DemoArgs, ExplainArgs, InitProfileArgs, ListArgs, ListFormat,
    ReferenceArgs,
};
use crate::config::{self, ConfigError, Profile, RunConfig};
use crate::demo;
use crate::exit;
use crate::expectations;
use crate::http::Redactor;
use crate::report::progress::{Progress, Style};
use crate::report::{self, RunReport};
use crate::runner;

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
        Some(Command::Fuzz(args)) => fuzz(*args),
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

/// A run against a target: the run with its progress on the console, reports, exit code.
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
    // The selection (`FILTER`, `--skip`, `--exact`) as libtest applies it; libtest-mimic only
    // parses the arguments (its runner would print warn and info as `ok`).
    let checks: Vec<crate::suite::Check> = cfg
        .suite
        .checks
        .iter()
        .filter(|c| crate::dry_run::selected(&cfg, c))
        .cloned()
        .collect();
    let color = cfg.harness.color == Some(libtest_mimic::ColorSetting::Always);
    // colored asks the environment itself; the decision was made already (config::build).
    colored::control::set_override(color);
    let options = runner::RunOptions {
        concurrency: cfg.harness.test_threads.unwrap_or(config::DEFAULT_THREADS),
        discovery_only: cfg.dry_run,
        redactor: Arc::new(Redactor::new()),
    };
    let progress = Progress::new(
        Box::new(std::io::stdout()),
        Style::of(&cfg.harness),
        color,
        options.redactor.clone(),
        &checks,
        cfg.suite.checks.len() - checks.len(),
    );
    let record = rt.block_on(runner::run(
        &cfg.target,
        &cfg.settings,
        &checks,
        &options,
        Arc::new(progress),
    ))?;
    let found = &record.discovery;
    if cfg.dry_run {
        print!("{}", crate::dry_run::render(&cfg, found));
        return Ok((exit::OK, record.report(&cfg.target)));
    }
    let redactor = &record.redactor;
    let report = record.report(&cfg.target).redacted(redactor);
    let paths = write_reports(&cfg.report_dir, &report)?;
    print!(
        "{}",
        redactor.scrub(&report::console::render_styled(&report, &paths, color))
    );
    let code = exit_code(&cfg, &report, found.unreachable.is_some());
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
    // The live fuzzer's oracles have IDs of their own (fuzz.no-5xx); those shared with a check
    // (fuzz.no-reflection) are explained as the check.
    let text = match crate::catalogue::find(&suite.checks, &args.id) {
        Ok(check) => {
            let mut text = crate::catalogue::explain(check);
            if let Some(o) = crate::fuzz::oracle::oracle(&check.id) {
                text.push_str(&format!(
                    "\nThe live fuzzer (mcp-oauth-conform fuzz) judges this requirement too\n{}",
                    crate::catalogue::wrap(o.reading, "  ", 96)
                ));
            }
            text
        }
        Err(near) => match crate::fuzz::oracle::oracle(&args.id) {
            Some(o) => crate::catalogue::explain_oracle(o),
            None => {
                return Err(
                    ConfigError::Usage(crate::catalogue::unknown_id(&args.id, &near)).into(),
                );
            }
        },
    };
    print_all(&text)?;
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

/// A run's exit code: its verdicts', or with --expect the expectations' (printed), except that
/// an unreachable target still exits 3.
fn exit_code(cfg: &RunConfig, report: &RunReport, unreachable: bool) -> u8 {
    let code = exit::for_run(&report.outcomes, unreachable);
    let (Some(exp), false) = (&cfg.expect, unreachable) else {
        return code;
    };
    let ev = expectations::evaluate(exp, &report.outcomes, known_ids(cfg), cfg.settings.strict);
    print!("{}", expectations::render(exp, &ev));
    if ev.all_match() {
        exit::OK
    } else {
        exit::CONFORMANCE_FAILED
    }
}

/// The IDs an expectations file may name: the suite's checks and the fuzzer's oracles, so that
/// one file gates both a conformance run and a `fuzz` run of the same server.
fn known_ids(cfg: &RunConfig) -> impl Iterator<Item = &str> {
    cfg.suite
        .checks
        .iter()
        .map(|c| c.id.as_str())
        .chain(crate::fuzz::oracle::ORACLES.iter().map(|o| o.id))
}

/// `fuzz`: the live fuzzer against a deployment, or against the reference server (`--demo`).
fn fuzz(args: cli::FuzzArgs) -> anyhow::Result<u8> {
    use crate::fuzz::{Endpoint, Options};
    let mut endpoints: Vec<Endpoint> = if args.endpoints.is_empty() {
        Endpoint::ALL.to_vec()
    } else {
        args.endpoints
            .iter()
            .map(|e| e.trim().parse())
            .collect::<Result<_, String>>()
            .map_err(|e| ConfigError::Usage(format!("--endpoints: {e}")))?
    };
    // The same probes for the same seed, however the list was written.
    endpoints.sort();
    endpoints.dedup();
    let register_named = args.endpoints.iter().any(|e| e.trim() == "register");
    let rt = runtime()?;
    let reference = if args.demo {
        let options = mcp_oauth_reference::Options {
            flaws: parse_flaws(&args.flaws)?,
            ..Default::default()
        };
        let r = rt
            .block_on(mcp_oauth_reference::Reference::start(options))
            .context("cannot start the reference server")?;
        println!(
            "reference server: {} (MCP endpoint {})",
            r.base_url(),
            r.rs_url()
        );
        Some(r)
    } else {
        None
    };
    let (rs, as_url, profile) = match &reference {
        Some(r) => (Some(r.rs_url()), Some(r.issuer()), demo::profile()?),
        None => (
            args.rs.clone(),
            args.as_url.clone(),
            match &args.config {
                Some(p) => config::load_profile(p)?,
                None => Profile::default(),
            },
        ),
    };
    let run_args = cli::RunArgs {
        spec: args.spec.clone(),
        report_dir: args.report_dir.clone(),
        strict: args.strict,
        timeout: args.timeout,
        deadline: None,
        suite_dir: None,
        expect: args.expect.clone(),
        dry_run: false,
        call_tools: None,
        keep: args.keep,
        harness: libtest_mimic::Arguments::default(),
    };
    let cfg = config::build(rs, as_url, args.client, profile, run_args)?;
    let opts = Options {
        budget: args.budget,
        duration: args.duration.map(std::time::Duration::from_secs),
        seed: args.seed,
        endpoints,
        strict: cfg.settings.strict,
        max_findings: args.max_findings,
        register_without_delete: register_named,
    };
    println!(
        "fuzz: seed {}, budget {} requests{}",
        opts.seed,
        opts.budget,
        opts.duration
            .map(|d| format!(", at most {} s", d.as_secs()))
            .unwrap_or_default()
    );
    let color = report::console::color_wanted(None);
    colored::control::set_override(color);
    let options = runner::RunOptions::default();
    // Discovery and the revision as a conformance run prints them; the oracles are printed below.
    let progress = Progress::new(
        Box::new(std::io::stdout()),
        Style::Pretty,
        color,
        options.redactor.clone(),
        &[],
        0,
    );
    let result = rt.block_on(crate::fuzz::target::against(
        &cfg.target,
        &cfg.settings,
        &opts,
        &options,
        Arc::new(progress),
    ));
    if let Some(r) = reference {
        rt.block_on(r.shutdown());
    }
    let run = result?;
    let fuzzed_nothing = run.fuzzed.as_ref().is_some_and(|f| f.probes == 0);
    let run = run.record;
    let redactor = &run.redactor;
    let report = run.report(&cfg.target).redacted(redactor);
    let paths = write_reports(&cfg.report_dir, &report)?;
    let mut out = String::new();
    for o in &report.outcomes {
        out.push_str(&format!("{} ... {}\n", o.id, o.verdict));
        if matches!(
            o.verdict,
            runner::verdict::Verdict::Fail | runner::verdict::Verdict::Warn
        ) {
            for line in o.message.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    print!("{}", redactor.scrub(&out));
    print!(
        "{}",
        redactor.scrub(&report::console::render_styled(&report, &paths, color))
    );
    let unreachable = run.discovery.unreachable.is_some();
    if fuzzed_nothing && !unreachable {
        // A gate that fuzzed nothing must not pass: the notes above say what stood in the way.
        eprintln!("error: no request was fuzzed (see the run notes above for why)");
        return Ok(exit::UNREACHABLE);
    }
    Ok(exit_code(&cfg, &report, unreachable))
}
