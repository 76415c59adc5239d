//! `--expect FILE`: the results a CI job has accepted, so that a known failure does not fail
//! every build while anything new (or any known failure that went away) still does.
//!
//! ```toml
//! [[expect]]
//! id = "prm.resource-matches"
//! verdict = "fail"
//! reason = "the resource URL still has the old host; fixed by INFRA-123"
//! ```
//!
//! A check without an entry is expected to give `pass`, `info` or `skip` (`warn` too, unless
//! `--strict`). The run matches when every result is expected, every entry's check gives exactly
//! the entry's verdict, and every entry names a check of the suite.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::Verdict;
use crate::suite::line_col;

#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    #[error("cannot read expectations file {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A loaded expectations file.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectations {
    pub file: String,
    pub entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: String,
    pub verdict: Verdict,
    pub reason: String,
    /// Where the entry's `id` is written.
    pub line: usize,
    pub column: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    expect: Vec<EntryDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDef {
    id: Spanned<String>,
    verdict: Verdict,
    reason: Spanned<String>,
}

pub fn load(path: &Path) -> Result<Expectations, ExpectError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ExpectError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

pub fn parse(file: &str, text: &str) -> Result<Expectations, ExpectError> {
    let at = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        ExpectError::Invalid {
            file: file.to_string(),
            line,
            column,
            message,
        }
    };
    let def: FileDef = toml::from_str(text).map_err(|e| {
        at(
            e.span().map_or(0, |s| s.start),
            e.message().trim().to_string(),
        )
    })?;
    let mut entries: Vec<Entry> = Vec::new();
    for e in def.expect {
        let id_at = e.id.span().start;
        let id = e.id.into_inner();
        if id.trim().is_empty() {
            return Err(at(
                id_at,
                "`id` is empty: name the check (see --list)".into(),
            ));
        }
        if e.reason.get_ref().trim().is_empty() {
            return Err(at(
                e.reason.span().start,
                format!("the entry for `{id}` needs a `reason`: why is this result accepted?"),
            ));
        }
        if let Some(prev) = entries.iter().find(|p| p.id == id) {
            return Err(at(
                id_at,
                format!("`{id}` has an entry already, at line {}", prev.line),
            ));
        }
        let (line, column) = line_col(text, id_at);
        entries.push(Entry {
            id,
            verdict: e.verdict,
            reason: e.reason.into_inner(),
            line,
            column,
        });
    }
    Ok(Expectations {
        file: file.to_string(),
        entries,
    })
}

/// A result that differs from the expectations.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// A fail or error (or a warn under `--strict`) that no entry expects.
    Unexpected {
        id: String,
        verdict: Verdict,
        message: String,
    },
    /// The entry's check gave another verdict. `stale` when it got better: the expected problem
    /// no longer happens.
    Changed {
        entry: Entry,
        actual: Verdict,
        message: String,
        stale: bool,
    },
    /// The entry names no check of the suite.
    UnknownCheck {
        entry: Entry,
        suggestion: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Entries whose check ran and gave the expected verdict.
    pub matched: usize,
    /// Entries whose check exists but was not selected in this run.
    pub not_run: usize,
}

impl Evaluation {
    pub fn all_match(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Without an entry, these verdicts are expected.
fn acceptable(v: Verdict, strict: bool) -> bool {
    match v {
        Verdict::Pass | Verdict::Info | Verdict::Skip => true,
        Verdict::Warn => !strict,
        Verdict::Fail | Verdict::Error => false,
    }
}

/// Compares a run's outcomes with the expectations. `suite_ids` are all checks of the suite,
/// whether selected or not: an entry for a check that was filtered out is not a finding.
pub fn evaluate<'a>(
    exp: &Expectations,
    outcomes: &[CheckOutcome],
    suite_ids: impl IntoIterator<Item = &'a str>,
    strict: bool,
) -> Evaluation {
    let known: BTreeSet<&str> = suite_ids.into_iter().collect();
    let mut ev = Evaluation {
        findings: Vec::new(),
        matched: 0,
        not_run: 0,
    };
    for o in outcomes {
        match exp.entries.iter().find(|e| e.id == o.id) {
            Some(e) if e.verdict == o.verdict => ev.matched += 1,
            Some(e) => ev.findings.push(Finding::Changed {
                entry: e.clone(),
                actual: o.verdict,
                message: o.message.clone(),
                stale: o.verdict.badness() < e.verdict.badness(),
            }),
            None if acceptable(o.verdict, strict) => {}
            None => ev.findings.push(Finding::Unexpected {
                id: o.id.clone(),
                verdict: o.verdict,
                message: o.message.clone(),
            }),
        }
    }
    for e in &exp.entries {
        if outcomes.iter().any(|o| o.id == e.id) {
            continue;
        }
        if known.contains(e.id.as_str()) {
            ev.not_run += 1;
        } else {
            ev.findings.push(Finding::UnknownCheck {
                entry: e.clone(),
                suggestion: closest(&e.id, &known),
            });
        }
    }
    ev
}

/// The check ID most like a misspelt one, if any is close.
fn closest(id: &str, known: &BTreeSet<&str>) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(id, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 5))
        .min()
        .map(|(_, k)| k.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An entry to paste into the expectations file.
pub fn entry_text(id: &str, verdict: Verdict) -> String {
    format!(
        "[[expect]]\nid = {}\nverdict = \"{verdict}\"\nreason = \"TODO: why this result is accepted\"\n",
        toml_string(id)
    )
}

/// What the terminal shows after a run with `--expect`.
pub fn render(exp: &Expectations, ev: &Evaluation) -> String {
    let mut out = String::new();
    let n = exp.entries.len();
    if ev.all_match() {
        let _ = writeln!(
            out,
            "\nexpectations ({}): every result is as expected ({n} entries, {} matched{})",
            exp.file,
            ev.matched,
            if ev.not_run > 0 {
                format!(", {} not run", ev.not_run)
            } else {
                String::new()
            }
        );
        return out;
    }
    let _ = writeln!(
        out,
        "\nexpectations ({}): {} result(s) differ from the {n} entries",
        exp.file,
        ev.findings.len()
    );
    let at = |e: &Entry| format!("{}:{}:{}", exp.file, e.line, e.column);
    let mut paste: Vec<String> = Vec::new();
    let section = |out: &mut String, title: &str, lines: &[String]| {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for l in lines {
                let _ = writeln!(out, "    {l}");
            }
        }
    };
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    let mut unknown = Vec::new();
    for f in &ev.findings {
        match f {
            Finding::Unexpected {
                id,
                verdict,
                message,
            } => {
                unexpected.push(format!("{id}  {verdict}: {message}"));
                paste.push(entry_text(id, *verdict));
            }
            Finding::Changed {
                entry,
                actual,
                message,
                stale: true,
            } => {
                let advice = if acceptable(*actual, false) {
                    "remove the entry".to_string()
                } else {
                    paste.push(entry_text(&entry.id, *actual));
                    format!("change it to \"{actual}\"")
                };
                stale.push(format!(
                    "{}  {}  expected {}, got {actual}: {advice} ({message})",
                    at(entry),
                    entry.id,
                    entry.verdict
                ));
            }
            Finding::Changed {
                entry,
                actual,
                message,
                stale: false,
            } => {
                unexpected.push(format!(
                    "{}  {actual} (expected {} at {}): {message}",
                    entry.id,
                    entry.verdict,
                    at(entry)
                ));
                paste.push(entry_text(&entry.id, *actual));
            }
            Finding::UnknownCheck { entry, suggestion } => unknown.push(format!(
                "{}  `{}` is not a check{}",
                at(entry),
                entry.id,
                suggestion
                    .as_ref()
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default()
            )),
        }
    }
    section(&mut out, "unexpected results", &unexpected);
    section(
        &mut out,
        "stale entries (the expected result no longer happens)",
        &stale,
    );
    section(&mut out, "entries that name no check", &unknown);
    if !paste.is_empty() {
        let _ = writeln!(
            out,
            "\nto accept the new results, add (or replace) these entries in {} and give each a reason:\n",
            exp.file
        );
        out.push_str(&paste.join("\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::verdict::Level;
    use crate::suite::Party;

    fn outcome(id: &str, verdict: Verdict) -> CheckOutcome {
        CheckOutcome {
            id: id.into(),
            family: "x".into(),
            title: String::new(),
            party: Party::Rs,
            level: Level::Must,
            verdict,
            message: format!("{id} said {verdict}"),
            refs: Vec::new(),
            duration_ms: 0,
            source: String::new(),
            exchanges: Vec::new(),
            why: None,
            fix: None,
            steps: Vec::new(),
        }
    }

    fn err(text: &str) -> (usize, usize, String) {
        match parse("e.toml", text) {
            Err(ExpectError::Invalid {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("{other:?}"),
        }
    }

    const GOOD: &str = r#"
# accepted findings
[[expect]]
id = "prm.resource-matches"
verdict = "fail"
reason = "INFRA-1"

[[expect]]
id = "rs.origin-validation"
verdict = "warn"
reason = "INFRA-2"
"#;

    #[test]
    fn loads_entries_with_their_place() {
        let e = parse("e.toml", GOOD).unwrap();
        assert_eq!(e.entries.len(), 2);
        assert_eq!(e.entries[0].id, "prm.resource-matches");
        assert_eq!(e.entries[0].verdict, Verdict::Fail);
        assert_eq!((e.entries[0].line, e.entries[0].column), (4, 6));
        assert_eq!(e.entries[1].reason, "INFRA-2");
        assert_eq!(parse("e.toml", "").unwrap().entries, vec![]);
    }

    #[test]
    fn mistakes_are_located() {
        let (l, c, m) = err("[[expect]]\nid = \"a.b\"\nverdict = \"fail\"\nreson = \"x\"\n");
        assert_eq!((l, c), (4, 1), "{m}");
        assert!(m.contains("unknown field `reson`"), "{m}");

        let (l, _, m) = err("[[expect]]\nid = \"a.b\"\nverdict = \"fail\"\n");
        assert!(m.contains("missing field `reason`"), "{m}");
        assert!(l >= 1);

        let (l, c, m) = err("[[expect]]\nid = \"a.b\"\nverdict = \"fail\"\nreason = \"  \"\n");
        assert_eq!((l, c), (4, 10), "{m}");
        assert!(m.contains("needs a `reason`"), "{m}");

        let (l, c, m) = err("[[expect]]\nid = \"a.b\"\nverdict = \"fial\"\nreason = \"x\"\n");
        assert_eq!((l, c), (3, 11), "{m}");
        assert!(m.contains("fial"), "{m}");

        let twice = "[[expect]]\nid = \"a.b\"\nverdict = \"fail\"\nreason = \"x\"\n[[expect]]\nid = \"a.b\"\nverdict = \"warn\"\nreason = \"y\"\n";
        let (l, _, m) = err(twice);
        assert_eq!(l, 6, "{m}");
        assert!(m.contains("at line 2"), "{m}");

        let (l, _, m) = err("[expect]\nid = 1\n");
        assert_eq!(l, 1, "{m}");

        let (_, _, m) = err("[[expects]]\nid = \"a\"\n");
        assert!(m.contains("unknown field `expects`"), "{m}");
    }

    #[test]
    fn expected_failures_match() {
        let exp = parse("e.toml", GOOD).unwrap();
        let outcomes = [
            outcome("prm.resource-matches", Verdict::Fail),
            outcome("rs.origin-validation", Verdict::Warn),
            outcome("rs.401-no-token", Verdict::Pass),
            outcome("meta.x", Verdict::Skip),
            outcome("meta.y", Verdict::Info),
            outcome("meta.z", Verdict::Warn),
        ];
        let ids = outcomes.iter().map(|o| o.id.as_str());
        let ev = evaluate(&exp, &outcomes, ids, false);
        assert!(ev.all_match(), "{ev:?}");
        assert_eq!(ev.matched, 2);
        assert!(render(&exp, &ev).contains("every result is as expected"));
        // Under --strict a warn without an entry is unexpected.
        let ev = evaluate(
            &exp,
            &outcomes,
            outcomes.iter().map(|o| o.id.as_str()),
            true,
        );
        assert_eq!(
            ev.findings,
            vec![Finding::Unexpected {
                id: "meta.z".into(),
                verdict: Verdict::Warn,
                message: "meta.z said warn".into()
            }]
        );
    }

    #[test]
    fn differences_are_found_and_explained() {
        let exp = parse(
            "ci/expect.toml",
            &format!("{GOOD}\n[[expect]]\nid = \"prm.resorce-matches\"\nverdict = \"fail\"\nreason = \"typo\"\n\n[[expect]]\nid = \"dcr.filtered\"\nverdict = \"fail\"\nreason = \"not selected\"\n"),
        )
        .unwrap();
        let outcomes = [
            outcome("prm.resource-matches", Verdict::Pass), // stale
            outcome("rs.origin-validation", Verdict::Fail), // worse than expected
            outcome("rs.401-no-token", Verdict::Error),     // unexpected
            outcome("meta.ok", Verdict::Pass),
        ];
        let mut ids: Vec<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
        ids.push("dcr.filtered");
        let ev = evaluate(&exp, &outcomes, ids, false);
        assert_eq!(ev.findings.len(), 4, "{ev:?}");
        assert_eq!(ev.not_run, 1);
        assert!(matches!(
            &ev.findings[0],
            Finding::Changed {
                stale: true,
                actual: Verdict::Pass,
                ..
            }
        ));
        assert!(matches!(
            &ev.findings[1],
            Finding::Changed {
                stale: false,
                actual: Verdict::Fail,
                ..
            }
        ));
        assert!(matches!(
            &ev.findings[2],
            Finding::Unexpected {
                verdict: Verdict::Error,
                ..
            }
        ));
        assert!(
            matches!(&ev.findings[3], Finding::UnknownCheck { suggestion: Some(s), .. } if s == "prm.resource-matches")
        );
        let text = render(&exp, &ev);
        assert!(text.contains("4 result(s) differ"), "{text}");
        assert!(
            text.contains("ci/expect.toml:4:6  prm.resource-matches  expected fail, got pass: remove the entry"),
            "{text}"
        );
        assert!(
            text.contains("rs.401-no-token  error: rs.401-no-token said error"),
            "{text}"
        );
        assert!(
            text.contains(
                "`prm.resorce-matches` is not a check (did you mean `prm.resource-matches`?)"
            ),
            "{text}"
        );
        // The ready-to-paste entries load, and with them the same run matches (but for the typo
        // and the stale entry, which need a human).
        let paste = text.split("give each a reason:\n\n").nth(1).unwrap();
        assert!(
            paste.contains(
                "[[expect]]\nid = \"rs.401-no-token\"\nverdict = \"error\"\nreason = \"TODO"
            ),
            "{paste}"
        );
        let fixed = parse("fixed.toml", paste).unwrap();
        assert_eq!(fixed.entries.len(), 2);
        let outcomes = &outcomes[1..];
        let ev = evaluate(
            &fixed,
            outcomes,
            outcomes.iter().map(|o| o.id.as_str()),
            false,
        );
        assert!(ev.all_match(), "{ev:?}");
    }

    #[test]
    fn toml_strings_are_quoted() {
        assert_eq!(toml_string("a\"b\\c\u{1}"), r#""a\"b\\c\u0001""#);
        let e = parse("e.toml", &entry_text("we\"ird", Verdict::Fail)).unwrap();
        assert_eq!(e.entries[0].id, "we\"ird");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
