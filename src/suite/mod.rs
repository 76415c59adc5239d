//! Suites: the checks, as data. Loads `suites/*.toml` (built in, or from a folder), validates
//! everything that can be validated before a run, and hands the runner a list of [`Check`]s.
//!
//! The bottom layer of the crate: `suite` imports nothing from it but `revision`, so that what
//! runs checks (`runner`, `action`, `session`, `oauth`) can import the suite format without a
//! cycle. Evaluating expectations is the runner's (`runner::expect`).

pub mod model;
mod validate;
pub use validate::default_from;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use model::{ActionKind, Level, StepDef, SuiteFile};

use crate::revision::{Revision, RevisionSet};

// The loader's helpers live in the leaf files (`model`, `vars`) so that `validate` can use them
// without importing this file, which imports `validate`.
pub use model::{Party, SuiteError, parse_status_pattern};
pub use vars::{DISCOVERY_ROOTS, FLOW_ROOTS};

/// The suites compiled into the binary, so that it runs from any directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("suites/rs.toml", include_str!("../../suites/rs.toml")),
    ("suites/prm.toml", include_str!("../../suites/prm.toml")),
    ("suites/meta.toml", include_str!("../../suites/meta.toml")),
    (
        "suites/legacy.toml",
        include_str!("../../suites/legacy.toml"),
    ),
    ("suites/scope.toml", include_str!("../../suites/scope.toml")),
    ("suites/authz.toml", include_str!("../../suites/authz.toml")),
    ("suites/dcr.toml", include_str!("../../suites/dcr.toml")),
    ("suites/cimd.toml", include_str!("../../suites/cimd.toml")),
    ("suites/fuzz.toml", include_str!("../../suites/fuzz.toml")),
    ("suites/pkce.toml", include_str!("../../suites/pkce.toml")),
    (
        "suites/redirect.toml",
        include_str!("../../suites/redirect.toml"),
    ),
    ("suites/iss.toml", include_str!("../../suites/iss.toml")),
    ("suites/token.toml", include_str!("../../suites/token.toml")),
    (
        "suites/resource.toml",
        include_str!("../../suites/resource.toml"),
    ),
    (
        "suites/refresh.toml",
        include_str!("../../suites/refresh.toml"),
    ),
    (
        "suites/revocation.toml",
        include_str!("../../suites/revocation.toml"),
    ),
    (
        "suites/introspection.toml",
        include_str!("../../suites/introspection.toml"),
    ),
];

#[derive(Clone, Debug)]
pub struct Check {
    pub id: String,
    pub family: String,
    pub title: String,
    pub party: Party,
    pub level: Level,
    pub levels: BTreeMap<Revision, Level>,
    pub revisions: RevisionSet,
    pub refs: Vec<String>,
    pub needs: Vec<String>,
    pub applies: Option<model::When>,
    pub reading: Option<String>,
    /// Why the requirement exists (who is hurt when it is broken), and how to fix a server.
    pub why: Option<String>,
    pub fix: Option<String>,
    pub steps: Vec<StepDef>,
    /// `file:line` of the check, for messages.
    pub source: String,
}

impl Check {
    pub fn level_for(&self, rev: Revision) -> Level {
        self.levels.get(&rev).copied().unwrap_or(self.level)
    }
}

#[derive(Clone, Debug)]
pub struct Suite {
    pub checks: Vec<Check>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error("cannot read suite folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("suite folder {0} holds no *.toml file")]
    Empty(PathBuf),
}

impl Suite {
    pub fn builtin() -> Result<Suite, LoadError> {
        Suite::from_sources(BUILTIN.iter().map(|(f, s)| (f.to_string(), s.to_string())))
    }

    /// Loads every `*.toml` file of a folder, in name order.
    pub fn from_dir(dir: &Path) -> Result<Suite, LoadError> {
        let io = |source| LoadError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(LoadError::Empty(dir.to_path_buf()));
        }
        let mut sources = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| LoadError::Io {
                path: f.clone(),
                source,
            })?;
            sources.push((f.display().to_string(), text));
        }
        Suite::from_sources(sources)
    }

    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Suite, LoadError> {
        // Every file is parsed before any check is built: a check may use a sequence that
        // another file defines.
        let mut parsed = Vec::new();
        for (file, text) in sources {
            let suite = parse_file(&file, &text)?;
            parsed.push((file, text, suite));
        }
        let sequences = sequences(&parsed)?;
        let mut checks = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (file, text, suite) in parsed {
            for check in load_checks(&file, &text, suite, &sequences)? {
                if let Some(first) = seen.get(&check.id) {
                    let (line, column) = check_id_position(&text, &check.id);
                    return Err(SuiteError {
                        file,
                        line,
                        column,
                        message: format!(
                            "duplicate check id `{}` (first defined at {first})",
                            check.id
                        ),
                    }
                    .into());
                }
                seen.insert(check.id.clone(), check.source.clone());
                checks.push(check);
            }
        }
        // A defect "graded by" a check that is not in the suite would be graded nowhere.
        for c in &checks {
            for name in validate::graded_by_names(&c.steps) {
                if !seen.contains_key(name) {
                    let (file, line) = c.source.rsplit_once(':').unwrap_or((&c.source, "1"));
                    return Err(SuiteError {
                        file: file.to_string(),
                        line: line.parse().unwrap_or(1),
                        column: 1,
                        message: format!(
                            "check `{}` says `graded_by = \"{name}\"`, which is no check of this suite",
                            c.id
                        ),
                    }
                    .into());
                }
            }
        }
        Ok(Suite { checks })
    }
}

fn check_id_position(text: &str, id: &str) -> (usize, usize) {
    let needle = format!("\"{id}\"");
    let at = text.rfind(&needle).map(|i| i + 1).unwrap_or(0);
    line_col(text, at)
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn parse_file(file: &str, text: &str) -> Result<SuiteFile, SuiteError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        SuiteError {
            file: file.to_string(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

/// A named sequence's steps and where it is defined.
struct Sequence {
    steps: Vec<StepDef>,
    /// The steps as written, for a `use` step whose `with` renames the variables they read.
    raw: toml::Value,
    source: String,
}

fn sequences(
    parsed: &[(String, String, SuiteFile)],
) -> Result<BTreeMap<String, Sequence>, SuiteError> {
    let mut out: BTreeMap<String, Sequence> = BTreeMap::new();
    for (file, text, suite) in parsed {
        // The file parsed once already as a suite: as a plain table it parses too.
        let raw: Vec<toml::Value> = if suite.sequence.is_empty() {
            Vec::new()
        } else {
            text.parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("sequence"))
                .and_then(|v| match v {
                    toml::Value::Array(a) => Some(a),
                    _ => None,
                })
                .unwrap_or_default()
        };
        for (i, seq) in suite.sequence.iter().enumerate() {
            let name = seq.get_ref().name.get_ref();
            let (line, column) = line_col(text, seq.get_ref().name.span().start);
            let error = |message: String| SuiteError {
                file: file.clone(),
                line,
                column,
                message,
            };
            if let Some(first) = out.get(name) {
                return Err(error(format!(
                    "duplicate sequence `{name}` (first defined at {})",
                    first.source
                )));
            }
            let steps = &seq.get_ref().steps;
            if steps.is_empty() {
                return Err(error(format!("sequence `{name}` has no [[sequence.step]]")));
            }
            // One level only: a sequence that uses another would hide where a step comes from.
            if steps.iter().any(|s| *s.action.get_ref() == ActionKind::Use) {
                return Err(error(format!(
                    "sequence `{name}` has a `use` step: sequences cannot use sequences"
                )));
            }
            out.insert(
                name.clone(),
                Sequence {
                    steps: steps.clone(),
                    raw: raw
                        .get(i)
                        .and_then(|s| s.get("step"))
                        .cloned()
                        .unwrap_or(toml::Value::Array(Vec::new())),
                    source: format!("{file}:{line}"),
                },
            );
        }
    }
    Ok(out)
}

/// The check's steps with each `use` step replaced by its sequence's steps.
fn expand(
    steps: Vec<StepDef>,
    sequences: &BTreeMap<String, Sequence>,
    file: &str,
    text: &str,
) -> Result<Vec<StepDef>, SuiteError> {
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        if *step.action.get_ref() != ActionKind::Use {
            out.push(step);
            continue;
        }
        let error = |at: usize, message: String| {
            let (line, column) = line_col(text, at);
            SuiteError {
                file: file.to_string(),
                line,
                column,
                message,
            }
        };
        let Some(name) = &step.sequence else {
            return Err(error(
                step.action.span().start,
                "a `use` step needs `sequence`: the name of a [[sequence]]".into(),
            ));
        };
        let Some(seq) = sequences.get(name.get_ref()) else {
            let known: Vec<&str> = sequences.keys().map(String::as_str).collect();
            return Err(error(
                name.span().start,
                format!(
                    "no sequence `{}` in the suite (known: {})",
                    name.get_ref(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        let steps = if step.with.is_empty() {
            seq.steps.clone()
        } else {
            let mut raw = seq.raw.clone();
            for (from, to) in &step.with {
                rename(&mut raw, from, to);
            }
            // Through TOML text again: the step types keep spans, which only a parser gives.
            #[derive(serde::Deserialize)]
            struct Steps {
                step: Vec<StepDef>,
            }
            let mut table = toml::Table::new();
            table.insert("step".into(), raw);
            toml::to_string(&table)
                .ok()
                .and_then(|t| toml::from_str::<Steps>(&t).ok())
                .map(|s| s.step)
                .ok_or_else(|| {
                    error(
                        name.span().start,
                        format!(
                            "sequence `{}` cannot be read with {:?}",
                            name.get_ref(),
                            step.with
                        ),
                    )
                })?
        };
        // A field the sequence's steps would not carry would be dropped without a word.
        let dropped = [
            ("name", step.name.is_some()),
            ("save", step.save.is_some()),
            ("note", step.note.is_some()),
            ("level", step.level.is_some()),
            ("precondition", step.precondition.is_some()),
            ("given", step.given.is_some()),
            ("graded_by", step.graded_by.is_some()),
        ];
        if let Some((field, _)) = dropped.iter().find(|(_, set)| *set) {
            return Err(error(
                step.action.span().start,
                format!(
                    "`{field}` does not apply to a `use` step: put it on the steps of sequence `{}`",
                    name.get_ref()
                ),
            ));
        }
        // `client` on the `use` step: the sequence acts as that client (a check whose flow
        // belongs to another client than the main one). Its `when` holds for every step of the
        // sequence besides their own (each step evaluates it when it comes).
        let mut expanded = Vec::with_capacity(steps.len());
        for mut s in steps {
            let acts_as_client = matches!(
                s.action.get_ref(),
                ActionKind::Authorize | ActionKind::Token
            );
            if acts_as_client && s.client.is_none() {
                s.client = step.client;
            }
            if let Some(outer) = &step.when {
                s.when = Some(both_when(outer, s.when.take()).map_err(|m| {
                    error(
                        name.span().start,
                        format!("sequence `{}` with this `when`: {m}", name.get_ref()),
                    )
                })?);
            }
            expanded.push(s);
        }
        out.extend(expanded);
    }
    Ok(out)
}

/// A condition that holds when both `outer` and `inner` hold. Two conditions on one variable of
/// the same kind, or two revision sets, are refused rather than guessed at.
fn both_when(outer: &model::When, inner: Option<model::When>) -> Result<model::When, String> {
    let Some(mut w) = inner else {
        return Ok(outer.clone());
    };
    if outer.revisions.is_some() {
        if w.revisions.is_some() {
            return Err("both it and a step of the sequence set `revisions`".into());
        }
        w.revisions.clone_from(&outer.revisions);
    }
    w.present.extend(outer.present.iter().cloned());
    w.absent.extend(outer.absent.iter().cloned());
    fn join<V: Clone>(
        kind: &str,
        into: &mut BTreeMap<String, V>,
        from: &BTreeMap<String, V>,
    ) -> Result<(), String> {
        for (k, v) in from {
            if into.insert(k.clone(), v.clone()).is_some() {
                return Err(format!(
                    "both it and a step of the sequence set `{kind}` for `{k}`"
                ));
            }
        }
        Ok(())
    }
    join("contains", &mut w.contains, &outer.contains)?;
    join("equals", &mut w.equals, &outer.equals)?;
    join("lacks", &mut w.lacks, &outer.lacks)?;
    join("matches", &mut w.matches, &outer.matches)?;
    Ok(w)
}

/// Renames the variable `from` to `to` wherever the steps read it: in `${from.…}`, and in the
/// names of saved steps (`from = "tok"`, `when` paths such as `"tok.json.code"`).
fn rename(v: &mut toml::Value, from: &str, to: &str) {
    let renamed = |s: &str| -> String {
        let s = s
            .replace(&format!("${{{from}."), &format!("${{{to}."))
            .replace(&format!("${{{from}}}"), &format!("${{{to}}}"));
        match s.strip_prefix(from) {
            Some("") => to.to_string(),
            Some(rest) if rest.starts_with('.') => format!("{to}{rest}"),
            _ => s,
        }
    };
    match v {
        toml::Value::String(s) => *s = renamed(s),
        toml::Value::Array(items) => items.iter_mut().for_each(|i| rename(i, from, to)),
        toml::Value::Table(t) => {
            let old = std::mem::take(t);
            for (k, mut item) in old {
                rename(&mut item, from, to);
                t.insert(renamed(&k), item);
            }
        }
        _ => {}
    }
}

fn load_checks(
    file: &str,
    text: &str,
    parsed: SuiteFile,
    sequences: &BTreeMap<String, Sequence>,
) -> Result<Vec<Check>, SuiteError> {
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    parsed
        .check
        .into_iter()
        .map(|spanned| {
            let span = spanned.span();
            let mut def = spanned.into_inner();
            def.steps = expand(std::mem::take(&mut def.steps), sequences, file, text)?;
            let at = |needle: &str, message: String| {
                // Point at the offending text inside this check when it can be found. toml's span
                // of an array-of-tables element may cover only its header, so the region runs to
                // the next `[[check]]`.
                let end = text[span.start..]
                    .match_indices("\n[[check]]")
                    .map(|(i, _)| span.start + i)
                    .find(|e| *e >= span.end)
                    .unwrap_or(text.len());
                let region = &text[span.start..end];
                let offset = region.find(needle).map_or(span.start, |i| span.start + i);
                let (line, column) = line_col(text, offset);
                SuiteError {
                    file: file.to_string(),
                    line,
                    column,
                    message,
                }
            };
            validate::check(&def, &stem, &at)?;
            let (line, _) = line_col(text, def.id.span().start);
            let id = def.id.get_ref().clone();
            Ok(Check {
                family: id.split('.').next().unwrap_or_default().to_string(),
                id,
                title: def.title,
                party: def.party,
                level: def.level,
                levels: def.levels,
                revisions: def.revisions,
                refs: def.refs,
                needs: def.needs,
                applies: def.applies,
                reading: def.reading,
                why: def.why,
                fix: def.fix,
                steps: def.steps,
                source: format!("{file}:{line}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Suite, LoadError> {
        Suite::from_sources([("suites/x.toml".to_string(), text.to_string())])
    }

    const GOOD: &str = r#"
[[check]]
id = "x.one"
title = "t"
party = "rs"
level = "must"
revisions = "all"
[[check.step]]
action = "http"
url = "${rs.url}"
save = "first"
expect.status = [401, "4xx"]
[[check.step]]
action = "inspect"
value = "${first.json}"
expect.json."/error" = { equals = "invalid_token" }
"#;

    #[test]
    fn the_builtin_suites_load() {
        let suite = Suite::builtin().unwrap();
        assert!(!suite.checks.is_empty());
    }

    #[test]
    fn the_builtin_list_names_every_suite_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| format!("suites/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut builtin: Vec<String> = BUILTIN.iter().map(|(f, _)| f.to_string()).collect();
        builtin.sort();
        assert_eq!(
            on_disk, builtin,
            "suite/mod.rs BUILTIN must list every suites/*.toml"
        );
    }

    #[test]
    fn a_good_file_loads() {
        let s = load(GOOD).unwrap();
        assert_eq!(s.checks[0].id, "x.one");
        assert_eq!(s.checks[0].source, "suites/x.toml:3");
    }

    fn err(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    #[test]
    fn a_typo_is_located() {
        let e = err(&GOOD.replace("expect.status", "expect.staus"));
        assert!(e.starts_with("suites/x.toml:12:"), "{e}");
        assert!(e.contains("unknown field `staus`"), "{e}");
    }

    #[test]
    fn an_unknown_action_is_located() {
        let e = err(&GOOD.replace("action = \"http\"", "action = \"htp\""));
        assert!(e.starts_with("suites/x.toml:9:"), "{e}");
        assert!(e.contains("htp"), "{e}");
    }

    const SEQUENCE: &str = r#"
[[sequence]]
name = "twice"
[[sequence.step]]
action = "authorize"
save = "again"
expect.json."/outcome" = { equals = "code" }
[[sequence.step]]
action = "inspect"
value = "${first.json}"
"#;

    #[test]
    fn a_sequence_stands_in_for_its_steps() {
        let use_it = GOOD.replace(
            "[[check.step]]\naction = \"inspect\"",
            "[[check.step]]\naction = \"use\"\nsequence = \"twice\"\nclient = \"second\"\n[[check.step]]\naction = \"inspect\"",
        );
        // Defined in another file: names are global to the suite.
        let s = Suite::from_sources([
            ("suites/x.toml".to_string(), use_it),
            ("suites/y.toml".to_string(), SEQUENCE.to_string()),
        ])
        .unwrap();
        let steps = &s.checks[0].steps;
        let actions: Vec<&str> = steps.iter().map(|s| s.action.get_ref().as_str()).collect();
        assert_eq!(actions, ["http", "authorize", "inspect", "inspect"]);
        // The `use` step's client is the sequence's, where its steps act as a client.
        assert_eq!(steps[1].client, Some(model::ClientKind::Second));
        assert_eq!(steps[2].client, None);
    }

    #[test]
    fn with_renames_what_a_sequence_reads() {
        let use_it = GOOD.replace(
            "[[check.step]]\naction = \"inspect\"",
            "[[check.step]]\naction = \"use\"\nsequence = \"twice\"\nwith = { first = \"renamed\" }\n[[check.step]]\naction = \"inspect\"",
        );
        // `renamed` is no step of the check: the renamed sequence reads it, and says so.
        let e = err(&format!("{use_it}{SEQUENCE}"));
        assert!(e.contains("unknown variable `renamed.json`"), "{e}");
        let ok = use_it.replace("save = \"first\"", "save = \"renamed\"");
        let ok = ok.replace("${first.json}\"\nexpect", "${renamed.json}\"\nexpect");
        let s = load(&format!("{ok}{SEQUENCE}")).unwrap();
        assert_eq!(
            s.checks[0].steps[2].value.as_deref(),
            Some("${renamed.json}")
        );
    }

    #[test]
    fn a_use_steps_when_holds_for_every_step_of_its_sequence() {
        let use_when = |when: &str| {
            GOOD.replace(
                "[[check.step]]\naction = \"inspect\"",
                &format!("[[check.step]]\naction = \"use\"\nsequence = \"twice\"\nwhen = {when}\n[[check.step]]\naction = \"inspect\""),
            ) + SEQUENCE
        };
        let s = load(&use_when("{ present = [\"first.json.token\"] }")).unwrap();
        let steps = &s.checks[0].steps;
        for step in &steps[1..3] {
            let w = step.when.as_ref().expect("the use step's when");
            assert_eq!(w.present, ["first.json.token"]);
        }
        assert!(steps[0].when.is_none() && steps[3].when.is_none());
        // Joined with a step's own condition.
        let own = SEQUENCE.replace(
            "value = \"${first.json}\"",
            "value = \"${first.json}\"\nwhen = { present = [\"again\"], matches = { \"first.status\" = \"^4\" } }",
        );
        let joined = use_when("{ present = [\"first.json.token\"] }").replace(SEQUENCE, &own);
        let s = load(&joined).unwrap();
        let w = s.checks[0].steps[2].when.as_ref().unwrap();
        assert_eq!(w.present, ["again", "first.json.token"]);
        assert_eq!(
            w.matches.get("first.status").map(String::as_str),
            Some("^4")
        );
        // Two conditions on one variable are not guessed at.
        let clash = use_when("{ matches = { \"first.status\" = \"^5\" } }").replace(SEQUENCE, &own);
        assert!(
            err(&clash).contains("set `matches` for `first.status`"),
            "{}",
            err(&clash)
        );
        // The variables it reads are checked like the sequence's own.
        assert!(err(&use_when("{ present = [\"frist.json\"] }")).contains("unknown variable"));
    }

    #[test]
    fn a_use_step_refuses_what_it_would_drop() {
        let e = err(&(GOOD.replace(
            "[[check.step]]\naction = \"inspect\"",
            "[[check.step]]\naction = \"use\"\nsequence = \"twice\"\nsave = \"x\"\n[[check.step]]\naction = \"inspect\"",
        ) + SEQUENCE));
        assert!(e.contains("`save` does not apply to a `use` step"), "{e}");
    }

    #[test]
    fn sequences_are_checked() {
        let use_missing = GOOD.replace(
            "[[check.step]]\naction = \"inspect\"",
            "[[check.step]]\naction = \"use\"\nsequence = \"twise\"\n[[check.step]]\naction = \"inspect\"",
        );
        let e = err(&format!("{use_missing}{SEQUENCE}"));
        assert!(e.starts_with("suites/x.toml:15:12:"), "{e}");
        assert!(
            e.contains("no sequence `twise` in the suite (known: twice)"),
            "{e}"
        );
        let e = err(&format!("{SEQUENCE}{SEQUENCE}"));
        assert!(e.contains("duplicate sequence `twice`"), "{e}");
        let nested = SEQUENCE.replace(
            "action = \"inspect\"\nvalue = \"${first.json}\"",
            "action = \"use\"\nsequence = \"twice\"",
        );
        assert!(err(&nested).contains("sequences cannot use sequences"));
        // A step of a sequence is validated where it is used, like the check's own.
        let bad = SEQUENCE.replace("${first.json}", "${frist.json}");
        let use_it = GOOD.replace(
            "[[check.step]]\naction = \"inspect\"",
            "[[check.step]]\naction = \"use\"\nsequence = \"twice\"\n[[check.step]]\naction = \"inspect\"",
        );
        assert!(err(&format!("{use_it}{bad}")).contains("unknown variable `frist.json`"));
    }

    #[test]
    fn a_bad_variable_is_located() {
        let e = err(&GOOD.replace("${first.json}", "${frist.json}"));
        assert!(e.starts_with("suites/x.toml:15:12"), "{e}");
        assert!(e.contains("unknown variable `frist.json`"), "{e}");
    }

    #[test]
    fn duplicates_and_misfiled_checks_are_refused() {
        let twice = format!("{GOOD}{}", GOOD.replace("[[check]]\n", "\n[[check]]\n"));
        assert!(err(&twice).contains("duplicate check id `x.one`"));
        assert!(err(&GOOD.replace("x.one", "y.one")).contains("belongs in suites/y.toml"));
    }

    #[test]
    fn fields_of_other_actions_are_refused() {
        let e = err(&GOOD.replace("save = \"first\"", "save = \"first\"\ntoken = \"none\""));
        assert!(e.contains("`token` does not apply to action `http`"), "{e}");
        assert!(e.starts_with("suites/x.toml:12:1:"), "{e}");
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(err(&GOOD.replace("\"4xx\"", "\"4yy\"")).contains("status pattern"));
        assert!(
            err(&GOOD.replace("{ equals = \"invalid_token\" }", "{ matches = \"(\" }"))
                .contains("bad regular expression")
        );
        assert!(err(&GOOD.replace("\"/error\"", "\"error\"")).contains("JSON pointer"));
        assert!(
            err(&GOOD.replace("revisions = \"all\"", "revisions = \"2024-11-05\""))
                .contains("unknown MCP revision")
        );
    }

    const FLOW: &str = r#"
[[check]]
id = "x.flow"
title = "t"
party = "as"
level = "must"
revisions = "all"
[[check.step]]
action = "authorize"
shared = true
save = "auth"
[[check.step]]
action = "token"
shared = true
save = "tok"
[[check.step]]
action = "introspect"
"#;

    #[test]
    fn shared_steps_load_and_are_never_consumed() {
        load(FLOW).unwrap();
        // Redeeming the shared code, refreshing or revoking the shared token would change what
        // other checks read.
        let e = err(&FLOW.replace("action = \"token\"\nshared = true", "action = \"token\""));
        assert!(
            e.contains("would redeem or revoke what the shared step `auth`"),
            "{e}"
        );
        let e = err(&format!("{FLOW}[[check.step]]\naction = \"revoke\"\n"));
        assert!(e.contains("shared step `tok`"), "{e}");
        let e = err(&format!(
            "{FLOW}[[check.step]]\naction = \"token\"\ngrant = \"refresh_token\"\nfrom = \"tok\"\n"
        ));
        assert!(e.contains("shared step `tok`"), "{e}");
        // A shared token step may not vary the request: two checks could redeem one code.
        let e = err(&FLOW.replace("save = \"tok\"", "save = \"tok\"\nset = { x = \"1\" }"));
        assert!(e.contains("the ordinary way"), "{e}");
        // Nor read a check's own steps: the same text would mean different requests.
        let e = err(&FLOW.replace(
            "action = \"authorize\"\nshared = true",
            "action = \"authorize\"\nshared = true\nset = { scope = \"${auth.json.scope}\" }",
        ));
        assert!(e.contains("unknown variable `auth.json.scope`"), "{e}");
        assert!(
            err(&FLOW.replace(
                "action = \"introspect\"",
                "action = \"introspect\"\nshared = true"
            ))
            .contains("`shared` does not apply")
        );
    }
}
