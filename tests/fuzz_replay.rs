//! Replays the fuzz corpora on stable as part of `cargo test`: every committed seed
//! (`fuzz/seeds/<target>/`) and every crasher found so far (`fuzz/regressions/<target>/`) goes
//! through the same function the fuzz target calls (`mcp_oauth_conform::fuzzing`, present in
//! tests through the `fuzzing` feature the crate's dev-dependency on itself turns on). A panic is
//! reported with the file that caused it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use mcp_oauth_conform::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, run) in TARGETS {
        for file in inputs(kind, name) {
            let data = std::fs::read(&file).unwrap();
            count += 1;
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
                let why = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: {}: {why}", file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} input(s) make a fuzz target panic:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}

#[test]
fn every_target_has_a_fuzz_target_and_seeds() {
    for (name, _) in TARGETS {
        let target = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(target.is_file(), "no {}", target.display());
        assert!(
            !inputs("seeds", name).is_empty(),
            "no seeds in fuzz/seeds/{name}/"
        );
        assert!(
            fuzz_dir().join("regressions").join(name).is_dir(),
            "no fuzz/regressions/{name}/"
        );
    }
}

#[test]
fn seeds_replay() {
    assert!(replay("seeds") >= TARGETS.len());
}

#[test]
fn regressions_replay() {
    replay("regressions");
}
