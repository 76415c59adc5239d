//! The checks as a catalogue, without a target: one check explained (`explain ID`), every check
//! for machines (`list --format json`, `--list --format json`) and for readers (`docs/checks.md`,
//! from `list --format markdown`). Pure functions of the loaded suite.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::report::html::ref_link;
use crate::revision::Revision;
use crate::suite::{Check, Party};

/// The command that writes `docs/checks.md`; the file and its staleness test name it.
pub const REGENERATE: &str = "cargo run -q -- list --format markdown > docs/checks.md";

/// How many near IDs an unknown one is answered with.
const SUGGESTIONS: usize = 5;

/// The checks whose ID contains `filter` (all of them without one).
pub fn select<'a>(checks: &'a [Check], filter: Option<&str>) -> Vec<&'a Check> {
    checks
        .iter()
        .filter(|c| filter.is_none_or(|f| c.id.contains(f)))
        .collect()
}

/// The check with this exact ID, or the IDs nearest to it (best first).
pub fn find<'a>(checks: &'a [Check], id: &str) -> Result<&'a Check, Vec<&'a str>> {
    match checks.iter().find(|c| c.id == id) {
        Some(c) => Ok(c),
        None => Err(closest(checks, id)),
    }
}

/// IDs that contain what was typed come first (shortest first), then those a few edits away.
fn closest<'a>(checks: &'a [Check], typed: &str) -> Vec<&'a str> {
    let typed = typed.trim().to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = checks
        .iter()
        .filter_map(|c| {
            let id = c.id.as_str();
            if !typed.is_empty() && id.contains(typed.as_str()) {
                return Some((id.len() - typed.len(), id));
            }
            // An ID typed without its family (`audience`) is compared with the name alone too.
            let name = id.split_once('.').map_or(id, |(_, n)| n);
            let d = edit_distance(&typed, id).min(edit_distance(&typed, name));
            let limit = (typed.chars().count() / 3).max(2);
            (d <= limit).then_some((1000 + d, id))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, id)| id)
        .collect()
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// What an unknown ID is answered with.
pub fn unknown_id(id: &str, near: &[&str]) -> String {
    let mut msg = format!("no check has the ID `{id}`");
    if !near.is_empty() {
        let _ = write!(msg, "; the closest: {}", near.join(", "));
    }
    msg.push_str(" (`mcp-oauth-conform list` prints every ID)");
    msg
}

fn party_name(p: Party) -> &'static str {
    match p {
        Party::As => "the authorization server",
        Party::Rs => "the MCP server (the resource server)",
        Party::Both => "the authorization server and the MCP server",
    }
}

/// `all`, `2025-06-18 and later`, or the revisions one by one.
fn revisions_text(c: &Check) -> String {
    let revs: Vec<Revision> = c.revisions.iter().collect();
    if revs.len() == Revision::ALL.len() {
        return "all".into();
    }
    if let Some(first) = revs.first() {
        let tail: Vec<Revision> = Revision::ALL.into_iter().filter(|r| r >= first).collect();
        if revs.len() > 1 && tail == revs {
            return format!("{first} and later");
        }
    }
    revs.iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The default level, and where a graded revision differs from it.
fn level_text(c: &Check) -> String {
    let differing: Vec<String> = c
        .revisions
        .iter()
        .filter(|r| c.level_for(*r) != c.level)
        .map(|r| format!("{r}: {}", c.level_for(r)))
        .collect();
    if differing.is_empty() {
        c.level.as_str().to_string()
    } else {
        format!("{} ({})", c.level, differing.join(", "))
    }
}

/// One check for machines. `levels` holds the level for every revision the check grades.
pub fn entry(c: &Check) -> Value {
    json!({
        "id": c.id,
        "family": c.family,
        "title": c.title,
        "party": c.party,
        "level": c.level,
        "levels": c.revisions.iter().map(|r| (r.to_string(), json!(c.level_for(r)))).collect::<serde_json::Map<_, _>>(),
        "revisions": c.revisions.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "refs": c.refs.iter().map(|r| json!({"ref": r, "url": ref_link(r)})).collect::<Vec<_>>(),
        "why": c.why,
        "fix": c.fix,
        "reading": c.reading,
        "source": c.source,
    })
}

/// The catalogue for machines: a JSON array, one object per check, in suite order.
pub fn json(checks: &[&Check]) -> String {
    let all: Vec<Value> = checks.iter().map(|c| entry(c)).collect();
    serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".into()) + "\n"
}

/// One line per check: ID, level (for `rev` when given), title. What `--list` prints.
pub fn text(checks: &[&Check], rev: Option<Revision>) -> String {
    let mut out = String::new();
    for c in checks {
        let level = rev.map_or(c.level, |r| c.level_for(r));
        let _ = writeln!(out, "{:40} {:6} {}", c.id, level.as_str(), c.title);
    }
    out
}

/// `text` broken into lines of at most `width` characters (a longer word stands alone), each
/// after `indent`.
pub fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

/// `explain ID`: everything the catalogue knows about one check, for a terminal.
pub fn explain(c: &Check) -> String {
    const WIDTH: usize = 96;
    let mut out = String::new();
    let _ = writeln!(out, "{}", c.id);
    out.push_str(&wrap(&c.title, "  ", WIDTH));
    out.push('\n');
    let facts = [
        ("family", c.family.clone()),
        (
            "party",
            format!("{}: {}", c.party.as_str(), party_name(c.party)),
        ),
        ("level", level_text(c)),
        ("revisions", revisions_text(c)),
        ("defined in", c.source.clone()),
    ];
    for (k, v) in facts {
        let _ = writeln!(out, "  {:11} {v}", format!("{k}:"));
    }
    let sections = [
        ("Why it matters", &c.why),
        ("How to fix a server that fails it", &c.fix),
        ("How it is graded", &c.reading),
    ];
    for (heading, body) in sections {
        if let Some(body) = body {
            let _ = writeln!(out, "\n{heading}");
            out.push_str(&wrap(body, "  ", WIDTH));
        }
    }
    if c.why.is_none() && c.fix.is_none() {
        out.push_str("\nWhy it matters, how to fix it: not written for this check yet\n");
    }
    let _ = writeln!(out, "\nReferences");
    if c.refs.is_empty() {
        out.push_str("  none\n");
    }
    let width = c.refs.iter().map(|r| r.len()).max().unwrap_or(0);
    for r in &c.refs {
        match ref_link(r) {
            Some(url) => {
                let _ = writeln!(out, "  {r:width$}  {url}");
            }
            None => {
                let _ = writeln!(out, "  {r}");
            }
        }
    }
    out
}

/// One oracle of the live fuzzer (`fuzz`), in the shape of a check's explanation.
pub fn explain_oracle(o: &crate::fuzz::oracle::Oracle) -> String {
    const WIDTH: usize = 96;
    let mut out = String::new();
    let _ = writeln!(out, "{}", o.id);
    out.push_str(&wrap(o.title, "  ", WIDTH));
    out.push('\n');
    let facts = [
        ("family", "fuzz".to_string()),
        ("level", o.level.as_str().to_string()),
        ("revisions", "all".to_string()),
        (
            "judged by",
            "the live fuzzer: mcp-oauth-conform fuzz --rs URL (src/fuzz/oracle.rs)".to_string(),
        ),
    ];
    for (k, v) in facts {
        let _ = writeln!(out, "  {:11} {v}", format!("{k}:"));
    }
    for (heading, body) in [
        ("Why it matters", o.why),
        ("How to fix a server that fails it", o.fix),
        ("How it is graded", o.reading),
    ] {
        let _ = writeln!(out, "\n{heading}");
        out.push_str(&wrap(body, "  ", WIDTH));
    }
    let _ = writeln!(out, "\nReferences");
    let width = o.refs.iter().map(|r| r.len()).max().unwrap_or(0);
    for r in o.refs {
        match ref_link(r) {
            Some(url) => {
                let _ = writeln!(out, "  {r:width$}  {url}");
            }
            None => {
                let _ = writeln!(out, "  {r}");
            }
        }
    }
    out
}

/// Prose from a suite file, safe in Markdown: `<` would open an HTML tag, `*` emphasis, `|` a
/// table cell. Code spans (between backticks) are left as written.
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut code = false;
    for ch in s.chars() {
        match ch {
            '`' => {
                code = !code;
                out.push(ch);
            }
            '<' | '*' | '|' | '\\' if !code => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

fn md_refs(c: &Check) -> String {
    c.refs
        .iter()
        .map(|r| match ref_link(r) {
            Some(url) => format!("[{r}]({url})"),
            None => format!("`{r}`"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The catalogue for readers (`docs/checks.md`): grouped by family, in suite order. The source
/// is named by file, not line, so that the page changes only when a check's text does.
pub fn markdown(checks: &[&Check]) -> String {
    let mut families: Vec<&str> = Vec::new();
    for c in checks {
        if !families.contains(&c.family.as_str()) {
            families.push(&c.family);
        }
    }
    let mut out = String::new();
    out.push_str("# The checks\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated by `{REGENERATE}`; edit the suites (`suites/*.toml`), not this file. -->\n"
    );
    let _ = writeln!(
        out,
        "Every check the tool runs: {} checks in {} families. For each, what it requires, its level \
         (MUST fails, SHOULD warns; MAY and INFO are observed), the MCP revisions it grades, why \
         the requirement matters, what a server's author changes to pass, and the reading it grades \
         by where servers legitimately differ. `mcp-oauth-conform explain ID` prints one check; \
         `mcp-oauth-conform list --format json` gives the catalogue to machines.\n",
        checks.len(),
        families.len()
    );
    for f in &families {
        let n = checks.iter().filter(|c| c.family == *f).count();
        let _ = writeln!(out, "- [{f}](#{f}) ({n})");
    }
    for f in &families {
        let _ = writeln!(out, "\n## {f}");
        for c in checks.iter().filter(|c| c.family == *f) {
            let _ = writeln!(out, "\n### {}\n", c.id);
            let _ = writeln!(out, "{}\n", md_text(&c.title));
            let _ = writeln!(out, "- **Level:** {}", level_text(c));
            let _ = writeln!(out, "- **Revisions:** {}", revisions_text(c));
            let _ = writeln!(out, "- **Party:** {}", party_name(c.party));
            if !c.refs.is_empty() {
                let _ = writeln!(out, "- **Spec:** {}", md_refs(c));
            }
            let file = c
                .source
                .rsplit_once(':')
                .map_or(c.source.as_str(), |(f, _)| f);
            let _ = writeln!(out, "- **Defined in:** [{file}](../{file})");
            for (label, body) in [("Why", &c.why), ("Fix", &c.fix), ("Reading", &c.reading)] {
                if let Some(body) = body {
                    let _ = writeln!(out, "\n**{label}.** {}", md_text(body));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::Suite;

    const SUITE: &str = r#"
[[check]]
id = "rs.audience"
title = "Tokens for another resource are refused"
party = "rs"
level = "must"
levels = { "2025-06-18" = "should" }
revisions = "2025-06-18+"
refs = ["RFC8707-2", "MCP-2025-06-18/authorization#token-handling", "somewhere"]
reading = "a 401 or a 403 refuses it"
why = "A token meant for <another> server | would *work* here: `a|b<c>`."
fix = "Check the `aud` claim."

[[check.step]]
action = "mcp"
token = "none"
expect.status = [401]

[[check]]
id = "rs.other"
title = "Another"
party = "as"
level = "should"
revisions = ["2025-03-26"]

[[check.step]]
action = "mcp"
token = "none"
expect.status = [401]
"#;

    fn checks() -> Vec<Check> {
        Suite::from_sources([("suites/rs.toml".to_string(), SUITE.to_string())])
            .unwrap()
            .checks
    }

    #[test]
    fn explain_names_everything_with_links() {
        let cs = checks();
        let text = explain(&cs[0]);
        for needle in [
            "rs.audience\n  Tokens for another resource are refused\n",
            "level:      must (2025-06-18: should)",
            "revisions:  2025-06-18 and later",
            "party:      rs: the MCP server (the resource server)",
            "defined in: suites/rs.toml:3",
            "Why it matters\n  A token meant for <another> server",
            "How to fix a server that fails it\n  Check the `aud` claim.",
            "How it is graded\n  a 401 or a 403 refuses it",
            "RFC8707-2  ",
            "https://www.rfc-editor.org/rfc/rfc8707.html#section-2",
            "https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization#token-handling",
            "\n  somewhere\n",
        ] {
            assert!(text.contains(needle), "no {needle:?} in:\n{text}");
        }
        let other = explain(&cs[1]);
        assert!(other.contains("revisions:  2025-03-26"), "{other}");
        assert!(other.contains("not written for this check yet"), "{other}");
        assert!(other.contains("References\n  none"), "{other}");
    }

    #[test]
    fn long_text_wraps_at_word_boundaries() {
        let w = wrap(&"word ".repeat(40), "  ", 30);
        assert!(w.lines().all(|l| l.len() <= 30 && l.starts_with("  word")));
        assert_eq!(w.split_whitespace().count(), 40);
        assert_eq!(wrap(&"x".repeat(50), "  ", 30).lines().count(), 1);
    }

    #[test]
    fn json_entries_carry_the_whole_catalogue_row() {
        let cs = checks();
        let v: Value = serde_json::from_str(&json(&select(&cs, None))).unwrap();
        let e = &v[0];
        assert_eq!(e["id"], "rs.audience");
        assert_eq!(e["family"], "rs");
        assert_eq!(e["party"], "rs");
        assert_eq!(e["level"], "must");
        assert_eq!(
            e["levels"],
            json!({"2025-06-18": "should", "2025-11-25": "must", "2026-07-28": "must"})
        );
        assert_eq!(
            e["revisions"],
            json!(["2025-06-18", "2025-11-25", "2026-07-28"])
        );
        assert_eq!(
            e["refs"][0],
            json!({"ref": "RFC8707-2", "url": "https://www.rfc-editor.org/rfc/rfc8707.html#section-2"})
        );
        assert_eq!(e["refs"][2], json!({"ref": "somewhere", "url": null}));
        assert_eq!(e["fix"], "Check the `aud` claim.");
        assert_eq!(e["reading"], "a 401 or a 403 refuses it");
        assert_eq!(e["source"], "suites/rs.toml:3");
        assert_eq!(v[1]["why"], Value::Null);
        assert_eq!(v.as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn markdown_groups_by_family_links_refs_and_escapes_prose() {
        let cs = checks();
        let md = markdown(&select(&cs, None));
        assert!(md.starts_with("# The checks\n"), "{md}");
        assert!(md.contains(REGENERATE));
        assert!(md.contains("2 checks in 1 families"), "{md}");
        assert!(md.contains("- [rs](#rs) (2)\n"), "{md}");
        assert!(md.contains("\n## rs\n\n### rs.audience\n\nTokens for another"));
        assert!(md.contains("- **Level:** must (2025-06-18: should)\n"));
        assert!(md.contains("- **Revisions:** 2025-06-18 and later\n"));
        assert!(
            md.contains("[RFC8707-2](https://www.rfc-editor.org/rfc/rfc8707.html#section-2), ")
        );
        assert!(md.contains(", `somewhere`\n"), "{md}");
        assert!(md.contains("- **Defined in:** [suites/rs.toml](../suites/rs.toml)\n"));
        assert!(
            md.contains(
                "**Why.** A token meant for \\<another> server \\| would \\*work\\* here: `a|b<c>`."
            ),
            "{md}"
        );
        assert!(md.contains("**Reading.** a 401 or a 403 refuses it"));
        // Line numbers would make the page stale on every edit above a check.
        assert!(!md.contains("rs.toml:"), "{md}");
    }

    #[test]
    fn filters_and_text_lines() {
        let cs = checks();
        assert_eq!(select(&cs, Some("aud")).len(), 1);
        let t = text(&select(&cs, None), Some(Revision::R2025_06_18));
        let first = t.lines().next().unwrap();
        assert!(
            first.starts_with("rs.audience ") && first.contains(" should "),
            "{t}"
        );
    }

    #[test]
    fn an_unknown_id_gets_the_nearest() {
        let cs = checks();
        assert_eq!(
            find(&cs, "rs.audience").map(|c| c.id.as_str()),
            Ok("rs.audience")
        );
        assert_eq!(find(&cs, "rs.audiance").err(), Some(vec!["rs.audience"]));
        assert_eq!(find(&cs, "audience").err(), Some(vec!["rs.audience"]));
        assert_eq!(
            find(&cs, "rs.").err(),
            Some(vec!["rs.other", "rs.audience"])
        );
        assert_eq!(find(&cs, "zzzzzzzzzz").err(), Some(vec![]));
        let msg = unknown_id("rs.audiance", &["rs.audience"]);
        assert!(
            msg.contains("`rs.audiance`") && msg.contains("closest: rs.audience"),
            "{msg}"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
