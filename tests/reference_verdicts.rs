//! The suite's own oracle: the reference server, clean under every revision and with each flaw
//! or legitimate variant switched on, must give exactly the verdicts recorded in
//! fixtures/expected/: `clean-<revision>.toml` holds every check's verdict against the clean
//! server, `flaws.toml` and `variants.toml` only what each scenario changes from the clean run of
//! the revision it grades (the intent of the flaw, readable at a glance). Every verdict is still
//! compared: a check whose verdict moves anywhere fails its scenario.
//! Regenerate after an intended change with `MCP_CONFORM_BLESS=1 cargo test --test reference_verdicts`
//! (a filter blesses only the scenarios it selects) and review the diff.

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

/// What one flaw or variant changes: the revision its scenario grades, and the verdicts that
/// differ from the clean run of that revision.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Delta {
    spec: Revision,
    #[serde(default)]
    changes: BTreeMap<String, Verdict>,
}

/// `flaws.toml` or `variants.toml`: scenario name (without its `variant-` prefix) → delta.
type Deltas = BTreeMap<String, Delta>;

const FLAWS_FILE: &str = "flaws.toml";
const VARIANTS_FILE: &str = "variants.toml";

fn deltas_file(s: &Scenario) -> &'static str {
    if s.variants.is_empty() {
        FLAWS_FILE
    } else {
        VARIANTS_FILE
    }
}

/// The key of a non-clean scenario in its deltas file.
fn delta_key(s: &Scenario) -> String {
    s.name
        .strip_prefix("variant-")
        .unwrap_or(&s.name)
        .to_string()
}

fn load_clean(spec: Revision) -> Option<Expected> {
    let name = format!("clean-{spec}.toml");
    let text = std::fs::read_to_string(expected_dir().join(&name)).ok()?;
    Some(toml::from_str(&text).unwrap_or_else(|e| panic!("fixtures/expected/{name}: {e}")))
}

fn load_deltas(file: &str) -> Deltas {
    match std::fs::read_to_string(expected_dir().join(file)) {
        Ok(text) => {
            toml::from_str(&text).unwrap_or_else(|e| panic!("fixtures/expected/{file}: {e}"))
        }
        Err(_) => Deltas::new(),
    }
}

/// The recorded verdicts of a scenario: the clean file, or the clean run of its revision with
/// its recorded changes.
fn load(s: &Scenario) -> Option<Expected> {
    if s.flaws.is_empty() && s.variants.is_empty() {
        return load_clean(s.spec?);
    }
    let delta = load_deltas(deltas_file(s)).remove(&delta_key(s))?;
    let mut verdicts = load_clean(delta.spec)?.verdicts;
    verdicts.extend(delta.changes);
    Some(Expected {
        spec: delta.spec,
        flaws: s.flaws.clone(),
        variants: s.variants.clone(),
        verdicts,
    })
}

/// Scenario results of a blessing run, written once every trial has finished (several scenarios
/// share one file).
static BLESSED: std::sync::Mutex<Vec<Blessed>> = std::sync::Mutex::new(Vec::new());

/// One scenario's name, the revision it graded and its verdicts.
type Blessed = (String, Revision, BTreeMap<String, Verdict>);

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
        let run = runner::run_silent(&target, &settings, &suite.checks, 16)
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
    if std::env::var_os("MCP_CONFORM_BLESS").is_some() {
        if let Ok(mut b) = BLESSED.lock() {
            b.push((s.name.clone(), graded, got));
        }
        return Ok(());
    }
    let path = expected_dir().join(if s.flaws.is_empty() && s.variants.is_empty() {
        format!("clean-{graded}.toml")
    } else {
        format!("{} [{}]", deltas_file(s), delta_key(s))
    });
    let want = load(s).ok_or_else(|| {
        format!(
            "{} has no record of scenario {}; run with MCP_CONFORM_BLESS=1 to record it",
            path.display(),
            s.name
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
        // The two maps as the record writes them, diffed (a few neighbours for context), then
        // why each check got what it got.
        let (recorded, actual) = (verdict_lines(&want.verdicts), verdict_lines(&got));
        Err(format!(
            "{} verdict(s) differ from {}:\n{}\n{}",
            diffs.len(),
            path.display(),
            similar_asserts::SimpleDiff::from_str(&recorded, &actual, "recorded", "this run"),
            diffs.join("\n")
        )
        .into())
    }
}

/// A verdict map one check a line, `"id" = "verdict"`, as the recorded files have it.
fn verdict_lines(verdicts: &BTreeMap<String, Verdict>) -> String {
    verdicts
        .iter()
        .map(|(id, v)| format!("{id:?} = \"{v}\"\n"))
        .collect()
}

/// Cross-scenario properties, read from the recorded files (each scenario trial proves that the
/// files match reality).
fn coverage() -> Result<(), Failed> {
    let suite = Suite::builtin().map_err(|e| e.to_string())?;
    let scenarios = scenarios();
    let mut files: BTreeSet<String> = Revision::ALL
        .iter()
        .map(|r| format!("clean-{r}.toml"))
        .collect();
    files.extend([FLAWS_FILE.to_string(), VARIANTS_FILE.to_string()]);
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(expected_dir()).map_err(|e| e.to_string())? {
        let file = entry
            .map_err(|e| e.to_string())?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !files.contains(&file) {
            problems.push(format!(
                "fixtures/expected/{file} is no file of this test (clean-<revision>.toml, {FLAWS_FILE}, {VARIANTS_FILE})"
            ));
        }
    }
    for file in [FLAWS_FILE, VARIANTS_FILE] {
        let keys: BTreeSet<String> = scenarios
            .iter()
            .filter(|s| !s.flaws.is_empty() || !s.variants.is_empty())
            .filter(|s| deltas_file(s) == file)
            .map(delta_key)
            .collect();
        for name in load_deltas(file).keys().filter(|k| !keys.contains(*k)) {
            problems.push(format!(
                "fixtures/expected/{file} records [{name}], which is no scenario (a removed flaw or variant?)"
            ));
        }
    }
    let mut killed: BTreeSet<String> = BTreeSet::new();
    for s in &scenarios {
        let Some(e) = load(s) else {
            problems.push(format!("no record of scenario {}", s.name));
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
        let clean = load_clean(e.spec).map(|c| c.verdicts).unwrap_or_default();
        let hits: Vec<&String> = e
            .verdicts
            .iter()
            .filter(|(id, v)| {
                matches!(v, Verdict::Fail | Verdict::Warn) && clean.get(*id) != Some(*v)
            })
            .map(|(id, _)| id)
            .collect();
        // A flaw only the live fuzzer finds (tests/fuzz.rs proves it does) must stay invisible
        // to the checks: that is what makes it the fuzzer's.
        let fuzz_only = s.flaws.iter().all(|f| f.starts_with("fuzz-"));
        if fuzz_only {
            if !hits.is_empty() {
                problems.push(format!(
                    "fuzzer-only flaw {} makes checks fail or warn under {}: {hits:?}",
                    s.name, e.spec
                ));
            }
            continue;
        }
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

/// Writes what a blessing run found: the clean files whole, and each other scenario as its
/// changes from the clean run of its revision. Scenarios a filter left out keep their record.
fn write_blessed() -> Result<(), String> {
    let results = std::mem::take(&mut *BLESSED.lock().map_err(|e| e.to_string())?);
    let by_name: BTreeMap<&str, (Revision, &BTreeMap<String, Verdict>)> = results
        .iter()
        .map(|(n, r, v)| (n.as_str(), (*r, v)))
        .collect();
    let header = "# Regenerate: MCP_CONFORM_BLESS=1 cargo test --test reference_verdicts\n";
    let mut clean: BTreeMap<Revision, BTreeMap<String, Verdict>> = BTreeMap::new();
    for r in Revision::ALL {
        if let Some((_, v)) = by_name.get(format!("clean-{r}").as_str()) {
            let doc = Expected {
                spec: r,
                flaws: Vec::new(),
                variants: Vec::new(),
                verdicts: (*v).clone(),
            };
            let text = format!(
                "# Expected verdicts of every check: demo --spec {r}\n{header}{}",
                toml::to_string(&doc).map_err(|e| e.to_string())?
            );
            std::fs::write(expected_dir().join(format!("clean-{r}.toml")), text)
                .map_err(|e| e.to_string())?;
        }
        if let Some(c) = load_clean(r) {
            clean.insert(r, c.verdicts);
        }
    }
    for (file, about) in [
        (
            FLAWS_FILE,
            "# What each flaw of the reference server changes: the revision its scenario grades\n# (`demo --flaw NAME --spec SPEC`) and every verdict that differs from clean-SPEC.toml.\n",
        ),
        (
            VARIANTS_FILE,
            "# What each legitimate variant of the reference server changes: the revision its scenario\n# grades and every verdict that differs from clean-SPEC.toml (never a fail, warn or error).\n",
        ),
    ] {
        let mut deltas = load_deltas(file);
        for s in scenarios()
            .iter()
            .filter(|s| !s.flaws.is_empty() || !s.variants.is_empty())
            .filter(|s| deltas_file(s) == file)
        {
            let Some((spec, got)) = by_name.get(s.name.as_str()) else {
                continue;
            };
            let base = clean
                .get(spec)
                .ok_or_else(|| format!("no clean-{spec}.toml to record {} against", s.name))?;
            let changes = got
                .iter()
                .filter(|(id, v)| base.get(*id) != Some(*v))
                .map(|(id, v)| (id.clone(), *v))
                .collect();
            deltas.insert(
                delta_key(s),
                Delta {
                    spec: *spec,
                    changes,
                },
            );
        }
        let text = format!(
            "{about}{header}{}",
            toml::to_string(&deltas).map_err(|e| e.to_string())?
        );
        std::fs::write(expected_dir().join(file), text).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let bless = std::env::var_os("MCP_CONFORM_BLESS").is_some();
    let mut trials: Vec<Trial> = scenarios()
        .into_iter()
        .map(|s| Trial::test(format!("scenario::{}", s.name), move || run_scenario(&s)))
        .collect();
    if !bless {
        trials.push(Trial::test(
            "coverage::every_flaw_kills_and_every_check_is_killed",
            coverage,
        ));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if bless && !conclusion.has_failed() {
        if let Err(e) = write_blessed() {
            eprintln!("blessing failed: {e}");
            std::process::exit(101);
        }
    }
    conclusion.exit();
}
