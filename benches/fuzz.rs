//! The live fuzzer's speed against the reference deployment: for each flaw only a fuzzer finds
//! and each of five seeds, the requests per second of a whole default-budget run and the
//! requests and time until the flaw's finding first appeared; and the clean reference's rate.
//! Printed as a table; nothing is asserted (machines are noisy).

use std::sync::Arc;
use std::time::Instant;

use mcp_oauth_conform::demo;
use mcp_oauth_conform::fuzz::{self, Options};
use mcp_oauth_conform::reference::{Options as RefOptions, Reference, fuzz_flaws};
use mcp_oauth_conform::runner::RunOptions;
use mcp_oauth_conform::runner::event::Silent;

fn run(rt: &tokio::runtime::Runtime, flaw: Option<&str>, seed: u64) -> fuzz::Fuzzed {
    rt.block_on(async {
        let reference = Reference::start(RefOptions {
            flaws: flaw.iter().map(|f| f.parse().unwrap()).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
        let target = demo::target(&reference).unwrap();
        let opts = Options {
            seed,
            ..Options::default()
        };
        let run = fuzz::target::against(
            &target,
            &demo::settings().unwrap(),
            &opts,
            &RunOptions::default(),
            Arc::new(Silent),
        )
        .await
        .unwrap();
        reference.shutdown().await;
        run.fuzzed.expect("the reference is reachable")
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{:32} {:>4} {:>9} {:>8} {:>14} {:>12}",
        "flaw", "seed", "requests", "req/s", "first after", "first at ms"
    );
    let started = Instant::now();
    let flaws: Vec<Option<&str>> = std::iter::once(None)
        .chain(fuzz_flaws().map(|f| Some(f.name)))
        .collect();
    for flaw in flaws {
        for seed in 1..=5 {
            let f = run(&rt, flaw, seed);
            let first = f.findings.iter().min_by_key(|x| x.after_requests);
            println!(
                "{:32} {:>4} {:>9} {:>8.0} {:>14} {:>12}",
                flaw.unwrap_or("(clean)"),
                seed,
                f.requests,
                f.requests_per_second(),
                first.map_or("-".into(), |x| format!("{} requests", x.after_requests)),
                first.map_or("-".into(), |x| x.after.as_millis().to_string()),
            );
        }
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}
