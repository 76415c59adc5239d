//! `compare OLD.json NEW.json`: what changed between two runs, check by check. A verdict got
//! *worse* when it moved up pass/info/skip → warn → fail → error, *better* when it moved down;
//! moves among pass, info and skip are listed as changed (a feature that went away turns its
//! checks into skips, which is worth seeing but not a regression). *New* and *gone* are checks
//! in only one of the runs.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde::Deserialize;

use crate::report::json::SCHEMA;
use crate::runner::verdict::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a results.json of schema {SCHEMA}: {detail}")]
    Invalid { file: String, detail: String },
}

/// What `compare` reads of a results.json.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub file: String,
    pub spec: String,
    pub target_rs: String,
    /// In the file's order.
    pub verdicts: Vec<(String, Verdict)>,
}

#[derive(Deserialize)]
struct RunDef {
    schema: u32,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    target: TargetDef,
    checks: Vec<CheckDef>,
}

#[derive(Default, Deserialize)]
struct TargetDef {
    #[serde(default)]
    rs: String,
}

#[derive(Deserialize)]
struct CheckDef {
    id: String,
    verdict: Verdict,
}

pub fn load(path: &Path) -> Result<Run, CompareError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CompareError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

pub fn parse(file: &str, text: &str) -> Result<Run, CompareError> {
    let invalid = |detail: String| CompareError::Invalid {
        file: file.to_string(),
        detail,
    };
    // The schema first, so that a future schema is named as such rather than as a shape error.
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    match v.get("schema").and_then(|s| s.as_u64()) {
        Some(s) if s == u64::from(SCHEMA) => {}
        Some(s) => return Err(invalid(format!("it has schema {s}"))),
        None => return Err(invalid("no `schema` number".into())),
    }
    let def: RunDef = serde_json::from_value(v).map_err(|e| invalid(e.to_string()))?;
    debug_assert_eq!(def.schema, SCHEMA);
    // One verdict per check: with two, which one a comparison reads would be arbitrary (a run
    // compared with itself could get "worse": fuzz/regressions/compare_json/).
    let mut seen = std::collections::BTreeSet::new();
    for c in &def.checks {
        if !seen.insert(c.id.as_str()) {
            return Err(invalid(format!("check `{}` appears more than once", c.id)));
        }
    }
    Ok(Run {
        file: file.to_string(),
        spec: def.spec,
        target_rs: def.target.rs,
        verdicts: def.checks.into_iter().map(|c| (c.id, c.verdict)).collect(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Worse,
    Better,
    Changed,
    New,
    Gone,
}

impl Change {
    fn heading(self) -> &'static str {
        match self {
            Change::Worse => "worse",
            Change::Better => "better",
            Change::Changed => "changed (pass, info and skip rank alike)",
            Change::New => "new",
            Change::Gone => "gone",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: String,
    pub change: Change,
    pub old: Option<Verdict>,
    pub new: Option<Verdict>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub rows: Vec<Row>,
    pub unchanged: usize,
}

impl Comparison {
    pub fn got_worse(&self) -> bool {
        self.rows.iter().any(|r| r.change == Change::Worse)
    }
}

pub fn compare(old: &Run, new: &Run) -> Comparison {
    let before: BTreeMap<&str, Verdict> = old
        .verdicts
        .iter()
        .map(|(id, v)| (id.as_str(), *v))
        .collect();
    let after: BTreeMap<&str, Verdict> = new
        .verdicts
        .iter()
        .map(|(id, v)| (id.as_str(), *v))
        .collect();
    let mut rows = Vec::new();
    let mut unchanged = 0;
    for (id, n) in &new.verdicts {
        let change = match before.get(id.as_str()) {
            None => Change::New,
            Some(o) if o == n => {
                unchanged += 1;
                continue;
            }
            Some(o) if n.badness() > o.badness() => Change::Worse,
            Some(o) if n.badness() < o.badness() => Change::Better,
            Some(_) => Change::Changed,
        };
        rows.push(Row {
            id: id.clone(),
            change,
            old: before.get(id.as_str()).copied(),
            new: Some(*n),
        });
    }
    for (id, o) in &old.verdicts {
        if !after.contains_key(id.as_str()) {
            rows.push(Row {
                id: id.clone(),
                change: Change::Gone,
                old: Some(*o),
                new: None,
            });
        }
    }
    rows.sort_by_key(|r| r.change);
    Comparison { rows, unchanged }
}

pub fn render(old: &Run, new: &Run, c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare: {} ({} checks, spec {}) → {} ({} checks, spec {})",
        old.file,
        old.verdicts.len(),
        old.spec,
        new.file,
        new.verdicts.len(),
        new.spec
    );
    if old.spec != new.spec {
        let _ = writeln!(
            out,
            "note: the runs graded different revisions; levels and applicable checks differ"
        );
    }
    if old.target_rs != new.target_rs {
        let _ = writeln!(
            out,
            "note: different targets: {} → {}",
            old.target_rs, new.target_rs
        );
    }
    let width = c.rows.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let show = |v: Option<Verdict>| v.map_or("-".to_string(), |v| v.to_string());
    let mut counts: Vec<String> = Vec::new();
    for change in [
        Change::Worse,
        Change::Better,
        Change::Changed,
        Change::New,
        Change::Gone,
    ] {
        let rows: Vec<&Row> = c.rows.iter().filter(|r| r.change == change).collect();
        if rows.is_empty() {
            continue;
        }
        counts.push(format!(
            "{} {}",
            rows.len(),
            change.heading().split(' ').next().unwrap_or("")
        ));
        let _ = writeln!(out, "\n{}:", change.heading());
        for r in rows {
            let _ = writeln!(
                out,
                "    {:width$}  {} → {}",
                r.id,
                show(r.old),
                show(r.new)
            );
        }
    }
    counts.push(format!("{} unchanged", c.unchanged));
    let _ = writeln!(out, "\n{}", counts.join(", "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_listed_twice_is_refused() {
        let text =
            r#"{"schema":1,"checks":[{"id":"a","verdict":"fail"},{"id":"a","verdict":"pass"}]}"#;
        let e = parse("r.json", text).unwrap_err().to_string();
        assert!(e.contains("`a` appears more than once"), "{e}");
    }

    fn results(spec: &str, checks: &[(&str, &str)]) -> String {
        let checks: Vec<_> = checks
            .iter()
            .map(|(id, v)| serde_json::json!({"id": id, "verdict": v, "title": "t", "exchanges": []}))
            .collect();
        serde_json::json!({"schema": 1, "spec": spec, "target": {"rs": "http://127.0.0.1:9/mcp"}, "checks": checks}).to_string()
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let old = parse(
            "old.json",
            &results(
                "2025-06-18",
                &[
                    ("a.same", "pass"),
                    ("a.worse", "pass"),
                    ("a.better", "fail"),
                    ("a.sideways", "pass"),
                    ("a.gone", "warn"),
                    ("a.error", "fail"),
                ],
            ),
        )
        .unwrap();
        let new = parse(
            "new.json",
            &results(
                "2025-06-18",
                &[
                    ("a.same", "pass"),
                    ("a.worse", "warn"),
                    ("a.better", "pass"),
                    ("a.sideways", "skip"),
                    ("a.new", "fail"),
                    ("a.error", "error"),
                ],
            ),
        )
        .unwrap();
        let c = compare(&old, &new);
        let got: Vec<(&str, Change)> = c.rows.iter().map(|r| (r.id.as_str(), r.change)).collect();
        assert_eq!(
            got,
            [
                ("a.worse", Change::Worse),
                ("a.error", Change::Worse),
                ("a.better", Change::Better),
                ("a.sideways", Change::Changed),
                ("a.new", Change::New),
                ("a.gone", Change::Gone),
            ]
        );
        assert_eq!(c.unchanged, 1);
        assert!(c.got_worse());
        let text = render(&old, &new, &c);
        assert!(
            text.contains("worse:\n    a.worse     pass → warn\n"),
            "{text}"
        );
        assert!(text.contains("gone:\n    a.gone      warn → -\n"), "{text}");
        assert!(
            text.contains("2 worse, 1 better, 1 changed, 1 new, 1 gone, 1 unchanged"),
            "{text}"
        );
        // Nothing worse the other way round? The better one is worse then.
        assert!(compare(&new, &old).got_worse());
        assert!(!compare(&old, &old).got_worse());
    }

    #[test]
    fn refuses_what_is_not_results_json() {
        for (text, needle) in [
            ("{", "EOF"),
            ("[]", "no `schema`"),
            (r#"{"schema": 2, "checks": []}"#, "schema 2"),
            (r#"{"schema": 1}"#, "missing field `checks`"),
            (
                r#"{"schema": 1, "checks": [{"id": "a", "verdict": "meh"}]}"#,
                "meh",
            ),
        ] {
            let e = parse("x.json", text).unwrap_err().to_string();
            assert!(
                e.starts_with("x.json: not a results.json of schema 1"),
                "{e}"
            );
            assert!(e.contains(needle), "{needle} not in {e}");
        }
    }
}
