//! The run's events as an observer sees them: discovery, the revision graded, each check
//! started, its steps, its outcome, the end of the checks and the clean-up, in that order, and
//! the record the run returns agrees with them.

use std::sync::{Arc, Mutex};

use mcp_oauth_conform::demo;
use mcp_oauth_conform::reference::{Options, Reference};
use mcp_oauth_conform::runner::event::Event;
use mcp_oauth_conform::runner::outcome::StepState;
use mcp_oauth_conform::runner::verdict::Verdict;
use mcp_oauth_conform::runner::{self, RunOptions};
use mcp_oauth_conform::suite::Suite;

const IDS: [&str; 3] = [
    "rs.401-no-token",
    "rs.invalid-token-401",
    "prm.discoverable",
];

/// Each event as a line: its kind and the check it is about.
fn line(e: &Event<'_>) -> String {
    match e {
        Event::Discovered { .. } => "discovered".into(),
        Event::Graded { .. } => "graded".into(),
        Event::Running { count } => format!("running {count}"),
        Event::CheckStarted { id } => format!("started {id}"),
        Event::StepFinished { check, step } => format!("step {check} {}", step.index),
        Event::CheckFinished(o) => format!("finished {} {}", o.id, o.verdict),
        Event::ChecksFinished { outcomes, .. } => format!("checks finished {}", outcomes.len()),
        Event::CleanupDone(_) => "cleaned up".into(),
    }
}

#[test]
fn an_observer_sees_the_run_as_it_goes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = {
        let seen = seen.clone();
        rt.block_on(async move {
            let reference = Reference::start(Options {
                flaws: ["rs-open".parse().unwrap()].into(),
                ..Default::default()
            })
            .await
            .unwrap();
            let target = demo::target(&reference).unwrap();
            let checks: Vec<_> = Suite::builtin()
                .unwrap()
                .checks
                .into_iter()
                .filter(|c| IDS.contains(&c.id.as_str()))
                .collect();
            let observer = move |e: &Event<'_>| seen.lock().unwrap().push(line(e));
            let record = runner::run(
                &target,
                &demo::settings().unwrap(),
                &checks,
                &RunOptions::concurrent(2),
                Arc::new(observer),
            )
            .await
            .unwrap();
            reference.shutdown().await;
            record
        })
    };
    let seen = seen.lock().unwrap().clone();
    let at = |l: &str| {
        seen.iter()
            .position(|x| x == l)
            .unwrap_or_else(|| panic!("no {l:?} in {seen:#?}"))
    };
    assert_eq!(
        seen[..3],
        ["discovered", "graded", "running 3"],
        "{seen:#?}"
    );
    assert_eq!(
        seen[seen.len() - 2..],
        ["checks finished 3", "cleaned up"],
        "{seen:#?}"
    );
    // The outcomes come back in suite order, as the events said them.
    let ids: Vec<&str> = record.outcomes.iter().map(|o| o.id.as_str()).collect();
    let mut suite_order = IDS.to_vec();
    suite_order.sort_by_key(|id| {
        Suite::builtin()
            .unwrap()
            .checks
            .iter()
            .position(|c| c.id == *id)
    });
    assert_eq!(ids, suite_order);
    for o in &record.outcomes {
        let started = at(&format!("started {}", o.id));
        let finished = at(&format!("finished {} {}", o.id, o.verdict));
        // Every step the outcome records was announced between the two.
        for s in &o.steps {
            let step = at(&format!("step {} {}", o.id, s.index));
            assert!(started < step && step < finished, "{seen:#?}");
        }
        assert_eq!(
            seen.iter()
                .filter(|l| l.starts_with(&format!("step {} ", o.id)))
                .count(),
            o.steps.len()
        );
    }
    // The open MCP server fails the check, at its one step, on the status it expected.
    let o = record
        .outcomes
        .iter()
        .find(|o| o.id == "rs.401-no-token")
        .unwrap();
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.message);
    let failing = o.failing_steps();
    assert_eq!(failing.len(), 1, "{:#?}", o.steps);
    let (step, expectations) = &failing[0];
    assert_eq!(step.state, StepState::Ran);
    assert_eq!(step.exchanges, [0]);
    assert_eq!(expectations[0].expected, "status 401");
    assert_eq!(expectations[0].observed.as_deref(), Some("200"));
}
