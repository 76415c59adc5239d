//! The live fuzzer against the reference deployment: every flaw only a fuzzer finds is found
//! within the default budget for each of five seeds, minimized and with a curl command; the
//! clean reference gives no finding with a larger budget.

use std::sync::Arc;

use mcp_oauth_conform::demo;
use mcp_oauth_conform::fuzz::{self, Endpoint, Options, target::FuzzRun};
use mcp_oauth_conform::reference::{Options as RefOptions, Reference};
use mcp_oauth_conform::runner::RunOptions;
use mcp_oauth_conform::runner::event::Silent;
use mcp_oauth_conform::runner::verdict::Verdict;

fn fuzz_reference(flaws: &[&str], opts: &Options) -> FuzzRun {
    fuzz_reference_with(flaws, &[], opts)
}

fn fuzz_reference_with(flaws: &[&str], variants: &[&str], opts: &Options) -> FuzzRun {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reference = Reference::start(RefOptions {
            flaws: flaws.iter().map(|f| f.parse().unwrap()).collect(),
            variants: variants.iter().map(|v| v.parse().unwrap()).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
        let target = demo::target(&reference).unwrap();
        let run = fuzz::target::against(
            &target,
            &demo::settings().unwrap(),
            opts,
            &RunOptions::default(),
            Arc::new(Silent),
        )
        .await
        .unwrap();
        reference.shutdown().await;
        run
    })
}

/// Each fuzzer-only flaw, the oracle that finds it, where, and what the minimized reproducer
/// changes.
const FLAWS: &[(&str, &str, Endpoint, &str)] = &[
    ("fuzz-token-nul-500", "fuzz.no-5xx", Endpoint::Token, "NUL"),
    (
        "fuzz-state-header-injection",
        "fuzz.header-injection",
        Endpoint::Authorize,
        "parameter state",
    ),
    (
        "fuzz-redirect-uri-reflected",
        "fuzz.no-reflection",
        Endpoint::Authorize,
        "parameter redirect_uri",
    ),
    (
        "fuzz-grant-type-trimmed",
        "fuzz.malformed-accepted",
        Endpoint::Token,
        "parameter grant_type",
    ),
    (
        "fuzz-deep-json-500",
        "fuzz.no-5xx",
        Endpoint::Register,
        "arrays",
    ),
    (
        "fuzz-slow-large-body",
        "fuzz.oversize",
        Endpoint::Register,
        "byte",
    ),
    (
        "fuzz-jsonrpc-params-500",
        "fuzz.no-5xx",
        Endpoint::Mcp,
        "member params",
    ),
];

#[test]
fn every_fuzzer_only_flaw_is_found_for_five_seeds() {
    let names: Vec<&str> = FLAWS.iter().map(|f| f.0).collect();
    for f in mcp_oauth_conform::reference::fuzz_flaws() {
        assert!(names.contains(&f.name), "no fuzzer case for {}", f.name);
    }
    let mut problems = Vec::new();
    for (flaw, oracle, endpoint, shows) in FLAWS {
        for seed in 1..=5u64 {
            let opts = Options {
                seed,
                max_findings: Some(1),
                ..Options::default()
            };
            let run = fuzz_reference(&[flaw], &opts);
            let fuzzed = run.fuzzed.expect("the reference is reachable");
            eprintln!("{flaw} seed {seed}: {}", fuzzed.summary());
            let Some(found) = fuzzed
                .findings
                .iter()
                .find(|f| f.oracle == *oracle && f.endpoint == *endpoint)
            else {
                problems.push(format!(
                    "{flaw}, seed {seed}: no {oracle} finding at {}; found {:?}; notes {:?}",
                    endpoint.as_str(),
                    fuzzed
                        .findings
                        .iter()
                        .map(|f| (f.oracle, f.title()))
                        .collect::<Vec<_>>(),
                    fuzzed.notes
                ));
                continue;
            };
            assert!(
                fuzzed.requests <= fuzz::DEFAULT_BUDGET + 50,
                "{}",
                fuzzed.summary()
            );
            let title = found.title();
            if found.mutations.len() != 1 || !(title.contains(shows) || found.what.contains(shows))
            {
                problems.push(format!(
                    "{flaw}, seed {seed}: not minimized to one mutation showing {shows:?}: {title} ({})",
                    found.what
                ));
            }
            if !found.curl.starts_with("curl -i") {
                problems.push(format!(
                    "{flaw}, seed {seed}: no curl command: {}",
                    found.curl
                ));
            }
            let outcome = fuzzed.outcomes.iter().find(|o| o.id == *oracle).unwrap();
            if outcome.verdict != fuzz::oracle::oracle(oracle).unwrap().level.broken(false)
                || !outcome.message.contains("reproduce: curl")
            {
                problems.push(format!(
                    "{flaw}, seed {seed}: {oracle} is {} ({})",
                    outcome.verdict, outcome.message
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_clean_reference_gives_no_finding() {
    let opts = Options {
        budget: 3000,
        seed: 7,
        ..Options::default()
    };
    let run = fuzz_reference(&[], &opts);
    let fuzzed = run.fuzzed.expect("the reference is reachable");
    eprintln!("{}", fuzzed.summary());
    assert!(fuzzed.notes.is_empty(), "{:?}", fuzzed.notes);
    let found: Vec<String> = fuzzed
        .findings
        .iter()
        .map(|f| format!("{} {}: {}\n  {}", f.oracle, f.title(), f.what, f.curl))
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
    for o in &fuzzed.outcomes {
        assert_eq!(o.verdict, Verdict::Pass, "{}: {}", o.id, o.message);
    }
    assert!(fuzzed.requests >= 2900, "{}", fuzzed.summary());
}

/// Correct but unusual behaviour (every legitimate variant of the reference) is no finding.
#[test]
fn no_variant_gives_a_finding() {
    let variants: Vec<&str> = mcp_oauth_conform::reference::VARIANTS
        .iter()
        .map(|v| v.name)
        .collect();
    // Two at a time: each run waits on its server as much as it computes.
    let problems: Vec<String> = std::thread::scope(|s| {
        let halves: Vec<_> = variants
            .chunks(variants.len().div_ceil(2))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .flat_map(|v| variant_problems(v))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("a variant run panicked"))
            .collect()
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn variant_problems(variant: &str) -> Vec<String> {
    let opts = Options {
        seed: 1,
        ..Options::default()
    };
    let run = fuzz_reference_with(&[], &[variant], &opts);
    let fuzzed = run.fuzzed.expect("the reference is reachable");
    let mut problems = Vec::new();
    if fuzzed.requests < fuzz::DEFAULT_BUDGET * 9 / 10 {
        problems.push(format!("variant {variant}: {}", fuzzed.summary()));
    }
    for f in &fuzzed.findings {
        problems.push(format!(
            "variant {variant}: {} {}: {}\n  {}",
            f.oracle,
            f.title(),
            f.what,
            f.curl
        ));
    }
    problems
}
