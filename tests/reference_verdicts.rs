//! The suite's own oracle: the reference server, clean under every revision and
//! with each flaw switched on, must give exactly the verdicts recorded in fixtures/expected/.
//! Regenerate after an intended change with `MCP_CONFORM_BLESS=1 cargo test --test reference_verdicts`
//! and review the diff.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use mcp_oauth_conform::demo::{self, Expected};
use mcp_oauth_conform::discovery::Target;
use mcp_oauth_conform::reference::{FLAWS, Options, Reference, VARIANTS, Variant};
use mcp_oauth_conform::revision::Revision;
use mcp_oauth_conform::runner::{
    self,
    verdict::{Level, Verdict},
};
use mcp_oauth_conform::suite::Suite;

fn expected_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/expected")
}

struct Scenario {
    name: String,
    /// `None`: the run negotiates the revision with the MCP server; the file records the one
    /// it graded.
    spec: Option<Revision>,
    flaws: Vec<String>,
    variants: Vec<String>,
}

fn scenarios() -> Vec<Scenario> {
    let mut out: Vec<Scenario> = Revision::ALL
        .iter()
        .map(|r| Scenario {
            name: format!("clean-{r}"),
            spec: Some(*r),
            flaws: Vec::new(),
            variants: Vec::new(),
        })
        .collect();
    for f in FLAWS {
        let flaws = vec![f.name.to_string()];
        let spec = demo::default_spec(&flaws).unwrap_or(Revision::LATEST);
        out.push(Scenario {
            name: f.name.to_string(),
            spec: Some(spec),
            flaws,
            variants: Vec::new(),
        });
    }
    for v in VARIANTS {
        // A server that does not speak the latest revision is graded under the one the run
        // negotiates with it.
        let spec = (v.variant != Variant::Mcp20251125Only).then_some(Revision::LATEST);
        out.push(Scenario {
            name: format!("variant-{}", v.name),
            spec,
            flaws: Vec::new(),
            variants: vec![v.name.to_string()],
        });
    }
    out
}

fn load(name: &str) -> Option<Expected> {
    let text = std::fs::read_to_string(expected_dir().join(format!("{name}.toml"))).ok()?;
    Some(toml::from_str(&text).unwrap_or_else(|e| panic!("fixtures/expected/{name}.toml: {e}")))
}

fn run_scenario(s: &Scenario) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let suite = Suite::builtin().map_err(|e| e.to_string())?;
    let flaws = s
        .flaws
        .iter()
        .map(|f| f.parse())
        .collect::<Result<_, String>>()?;
    let variants = s
        .variants
        .iter()
        .map(|v| v.parse())
        .collect::<Result<_, String>>()?;
    let run = rt.block_on(async {
        let reference = Reference::start(Options {
            flaws,
            variants,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
        let target = Target {
            spec: s.spec,
            ..demo::target(&reference).map_err(|e| e.to_string())?
        };
        let settings = demo::settings().map_err(|e| e.to_string())?;
        let run = runner::run_target(&target, settings, &suite.checks, 16)
            .await
            .map_err(|e| e.to_string());
        reference.shutdown().await;
        run
    })?;
    let got: BTreeMap<String, Verdict> = run
        .outcomes
        .iter()
        .map(|o| (o.id.clone(), o.verdict))
        .collect();
    // The revision the run graded: the scenario's, or the one negotiated.
    let graded = s.spec.unwrap_or(run.discovery.revision);
    let path = expected_dir().join(format!("{}.toml", s.name));
    if std::env::var_os("MCP_CONFORM_BLESS").is_some() {
        let doc = Expected {
            spec: graded,
            flaws: s.flaws.clone(),
            variants: s.variants.clone(),
            verdicts: got,
        };
        let spec_arg = match s.spec {
            Some(r) => format!(" --spec {r}"),
            None => format!(" (negotiated: {graded})"),
        };
        let header = format!(
            "# Expected verdicts of every check: demo{}{}{spec_arg}\n# Regenerate: MCP_CONFORM_BLESS=1 cargo test --test reference_verdicts\n",
            s.flaws
                .iter()
                .map(|f| format!(" --flaw {f}"))
                .collect::<String>(),
            s.variants
                .iter()
                .map(|v| format!(" --variant {v}"))
                .collect::<String>(),
        );
        let text = format!(
            "{header}{}",
            toml::to_string(&doc).map_err(|e| e.to_string())?
        );
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let want = load(&s.name).ok_or_else(|| {
        format!(
            "{} is missing; run with MCP_CONFORM_BLESS=1 to record it",
            path.display()
        )
    })?;
    if want.spec != graded {
        return Err(format!(
            "{} records spec {}, the scenario graded {}",
            path.display(),
            want.spec,
            graded
        )
        .into());
    }
    let mut diffs = Vec::new();
    for id in got
        .keys()
        .chain(want.verdicts.keys())
        .collect::<BTreeSet<_>>()
    {
        let (g, w) = (got.get(id), want.verdicts.get(id));
        if g != w {
            let msg = run
                .outcomes
                .iter()
                .find(|o| &o.id == id)
                .map(|o| o.message.as_str())
                .unwrap_or("");
            diffs.push(format!(
                "  {id}: expected {}, got {} — {msg}",
                w.map_or("(no entry)".into(), |v| v.to_string()),
                g.map_or("(not run)".into(), |v| v.to_string())
            ));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} verdict(s) differ from {}:\n{}",
            diffs.len(),
            path.display(),
            diffs.join("\n")
        )
        .into())
    }
}

/// Cross-scenario properties, read from the recorded files (each scenario trial proves that the
/// files match reality).
fn coverage() -> Result<(), Failed> {
    let suite = Suite::builtin().map_err(|e| e.to_string())?;
    let scenarios = scenarios();
    let names: BTreeSet<String> = scenarios
        .iter()
        .map(|s| format!("{}.toml", s.name))
        .collect();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(expected_dir()).map_err(|e| e.to_string())? {
        let file = entry
            .map_err(|e| e.to_string())?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !names.contains(&file) {
            problems.push(format!(
                "fixtures/expected/{file} belongs to no scenario (a removed flaw?)"
            ));
        }
    }
    let mut killed: BTreeSet<String> = BTreeSet::new();
    for s in &scenarios {
        let Some(e) = load(&s.name) else {
            problems.push(format!("fixtures/expected/{}.toml is missing", s.name));
            continue;
        };
        if !s.variants.is_empty() {
            // A legitimate variant is correct behaviour: nothing may fail, warn or error. It
            // kills nothing, so it is left out of the flaw accounting below.
            let bad: Vec<&String> = e
                .verdicts
                .iter()
                .filter(|(_, v)| matches!(v, Verdict::Fail | Verdict::Warn | Verdict::Error))
                .map(|(k, _)| k)
                .collect();
            if !bad.is_empty() {
                problems.push(format!(
                    "variant scenario {} has fail/warn/error verdicts under {}: {bad:?}",
                    s.name, e.spec
                ));
            }
            continue;
        }
        let bad: Vec<&String> = e
            .verdicts
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Fail | Verdict::Error))
            .map(|(k, _)| k)
            .collect();
        if s.flaws.is_empty() {
            if !bad.is_empty() {
                problems.push(format!(
                    "the clean reference under {} has fail/error verdicts: {bad:?}",
                    e.spec
                ));
            }
            continue;
        }
        let clean = load(&format!("clean-{}", e.spec))
            .map(|c| c.verdicts)
            .unwrap_or_default();
        let hits: Vec<&String> = e
            .verdicts
            .iter()
            .filter(|(id, v)| {
                matches!(v, Verdict::Fail | Verdict::Warn) && clean.get(*id) != Some(*v)
            })
            .map(|(id, _)| id)
            .collect();
        if hits.is_empty() {
            problems.push(format!(
                "flaw {} makes no check fail or warn under {}",
                s.name, e.spec
            ));
        }
        killed.extend(hits.into_iter().cloned());
    }
    let graded = |c: &mcp_oauth_conform::suite::Check| {
        Revision::ALL
            .iter()
            .any(|r| c.revisions.contains(*r) && c.level_for(*r) >= Level::Should)
    };
    let unproven: Vec<&str> = suite
        .checks
        .iter()
        .filter(|c| graded(c) && !killed.contains(&c.id))
        .map(|c| c.id.as_str())
        .collect();
    if !unproven.is_empty() {
        problems.push(format!(
            "must/should checks that no flaw makes fail or warn (unproven): {}",
            unproven.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = scenarios()
        .into_iter()
        .map(|s| Trial::test(format!("scenario::{}", s.name), move || run_scenario(&s)))
        .collect();
    if std::env::var_os("MCP_CONFORM_BLESS").is_none() {
        trials.push(Trial::test(
            "coverage::every_flaw_kills_and_every_check_is_killed",
            coverage,
        ));
    }
    libtest_mimic::run(&args, trials).exit();
}
