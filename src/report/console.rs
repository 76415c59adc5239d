//! The closing lines on the terminal, after the per-check lines ([`super::progress`]): the
//! warnings and errors with their messages, the verdict counts, where the reports are.

use std::ffi::OsString;
use std::fmt::Write;
use std::io::IsTerminal;

use colored::{Color, Colorize};
use libtest_mimic::ColorSetting;

use super::RunReport;
use crate::runner::verdict::Verdict;

/// Whether the run's console output is coloured: `--color always|never`, or for `auto` (the
/// default) the environment and whether stdout is a terminal. The per-check lines
/// ([`super::progress`]) are given the decision too, so that the two parts never disagree.
pub fn color_wanted(setting: Option<ColorSetting>) -> bool {
    match setting.unwrap_or_default() {
        ColorSetting::Always => true,
        ColorSetting::Never => false,
        ColorSetting::Auto => auto_color(|k| std::env::var_os(k), std::io::stdout().is_terminal()),
    }
}

/// `auto`, in the order libtest-mimic's own terminal handling (anstream) reads the variables:
/// NO_COLOR (non-empty) wins, then CLICOLOR_FORCE (not `0`), then CLICOLOR=0; otherwise only a
/// terminal that is not `TERM=dumb` gets colour.
fn auto_color(var: impl Fn(&str) -> Option<OsString>, terminal: bool) -> bool {
    let is = |k: &str, v: &str| var(k).is_some_and(|x| x == v);
    if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if var("CLICOLOR_FORCE").is_some() && !is("CLICOLOR_FORCE", "0") {
        return true;
    }
    if is("CLICOLOR", "0") {
        return false;
    }
    let term = var("TERM").is_some_and(|t| !t.is_empty() && t != "dumb");
    terminal && (term || var("CLICOLOR").is_some())
}

/// The colour of a verdict on the console; `None` for the quiet ones.
fn color_of(v: Verdict) -> Option<Color> {
    match v {
        Verdict::Pass => Some(Color::Green),
        Verdict::Fail | Verdict::Error => Some(Color::Red),
        Verdict::Warn => Some(Color::Yellow),
        Verdict::Info | Verdict::Skip => None,
    }
}

/// `text` in the colour of `v` when colour is on (and the process allows it:
/// `colored::control::set_override`).
fn paint(text: &str, v: Verdict, on: bool) -> String {
    match color_of(v).filter(|_| on) {
        Some(c) => text.color(c).to_string(),
        None => text.to_string(),
    }
}

/// The summary without colour (what tests and files compare).
pub fn render(r: &RunReport, report_paths: &[String]) -> String {
    render_styled(r, report_paths, false)
}

/// The summary; with `color`, verdicts in their colours. Only labels, check IDs and counts are
/// coloured, never a message, so redaction sees every secret whole.
pub fn render_styled(r: &RunReport, report_paths: &[String], color: bool) -> String {
    let mut out = String::new();
    let s = r.summary();
    for (label, verdict) in [
        ("warnings (SHOULD not met)", Verdict::Warn),
        ("errors (no usable answer)", Verdict::Error),
    ] {
        let items: Vec<_> = r.outcomes.iter().filter(|o| o.verdict == verdict).collect();
        if !items.is_empty() {
            let _ = writeln!(out, "\n{}:", paint(label, verdict, color));
            for o in items {
                let _ = writeln!(out, "    {}  {}", paint(&o.id, verdict, color), o.message);
            }
        }
    }
    let _ = writeln!(
        out,
        "\nmcp-oauth-conform: {} checks, spec {} ({}), {} requests, {} ms",
        r.outcomes.len(),
        r.spec,
        r.spec_reason,
        r.requests,
        r.duration_ms
    );
    if let Some(n) = &r.negotiation {
        let _ = writeln!(
            out,
            "revision: the MCP server speaks {}; {}; {}",
            n.server_speaks.as_deref().unwrap_or("(unknown)"),
            n.as_evidence,
            n.how
        );
    }
    if let Some(b) = &r.agent_blocked {
        let n = r.skipped_for_login();
        let _ = writeln!(
            out,
            "user agent: {n} checks skipped because they need an authorization code and the user agent stopped at the login page {} (HTTP {}, fields: {}). Fix: {}",
            b.page,
            b.status,
            b.fields.join(", "),
            b.fix
        );
    }
    for n in &r.run_notes {
        let _ = writeln!(out, "run: {n}");
    }
    let _ = writeln!(out, "{}", r.footprint.line());
    // A count is coloured only when it is not zero: "0 fail" in red would read as an alarm.
    let count = |n: usize, word: &str, v: Verdict| {
        let text = format!("{n} {word}");
        if n == 0 { text } else { paint(&text, v, color) }
    };
    let _ = writeln!(
        out,
        "verdicts: {}, {}, {}, {}, {}, {}",
        count(s.pass, "pass", Verdict::Pass),
        count(s.fail, "fail", Verdict::Fail),
        count(s.warn, "warn", Verdict::Warn),
        count(s.info, "info", Verdict::Info),
        count(s.skip, "skip", Verdict::Skip),
        count(s.error, "error", Verdict::Error),
    );
    for p in report_paths {
        let _ = writeln!(out, "report: {p}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    /// The text without its SGR sequences.
    fn strip(s: &str) -> String {
        regex::Regex::new("\x1b\\[[0-9;]*m")
            .unwrap()
            .replace_all(s, "")
            .into_owned()
    }

    #[test]
    fn plain_summary_has_no_escapes() {
        let out = render(&sample(), &["reports/results.json".into()]);
        assert!(!out.contains('\x1b'), "{out:?}");
        assert!(
            out.contains("verdicts: 1 pass, 1 fail, 1 warn, 1 info, 1 skip, 1 error\n"),
            "{out}"
        );
        assert!(out.contains(
            "\nwarnings (SHOULD not met):\n    prm.scopes-supported  no scopes_supported\n"
        ));
    }

    #[test]
    fn colours_mark_verdicts_and_change_no_text() {
        colored::control::set_override(true);
        let r = sample();
        let paths = ["reports/results.json".to_string()];
        let out = render_styled(&r, &paths, true);
        for want in [
            "\x1b[32m1 pass\x1b[0m",
            "\x1b[31m1 fail\x1b[0m",
            "\x1b[33m1 warn\x1b[0m",
            "\x1b[31m1 error\x1b[0m",
            "\x1b[33mwarnings (SHOULD not met)\x1b[0m:",
            "\x1b[33mprm.scopes-supported\x1b[0m  no scopes_supported",
            "\x1b[31mrs.401-no-token\x1b[0m  timed out after 2 s",
        ] {
            assert!(out.contains(want), "no {want:?} in {out:?}");
        }
        // Quiet verdicts and messages keep their plain text.
        assert!(out.contains(", 1 info, 1 skip, "), "{out:?}");
        similar_asserts::assert_eq!(strip(&out), render(&r, &paths));
    }

    #[test]
    fn a_zero_count_is_not_coloured() {
        colored::control::set_override(true);
        let mut r = sample();
        r.outcomes
            .retain(|o| matches!(o.verdict, Verdict::Pass | Verdict::Skip));
        let out = render_styled(&r, &[], true);
        assert!(
            out.contains(
                "verdicts: \x1b[32m1 pass\x1b[0m, 0 fail, 0 warn, 0 info, 1 skip, 0 error\n"
            ),
            "{out:?}"
        );
    }

    #[test]
    fn auto_reads_the_environment_then_the_terminal() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let xterm: &[(&str, &str)] = &[("TERM", "xterm-256color")];
        assert!(auto_color(env(xterm), true));
        assert!(!auto_color(env(xterm), false), "not a terminal");
        assert!(!auto_color(env(&[]), true), "no TERM");
        assert!(!auto_color(env(&[("TERM", "dumb")]), true));
        assert!(!auto_color(
            env(&[("TERM", "xterm"), ("NO_COLOR", "1")]),
            true
        ));
        assert!(
            auto_color(env(&[("TERM", "xterm"), ("NO_COLOR", "")]), true),
            "an empty NO_COLOR is not set"
        );
        assert!(auto_color(env(&[("CLICOLOR_FORCE", "1")]), false));
        assert!(!auto_color(env(&[("CLICOLOR_FORCE", "0")]), false));
        assert!(
            !auto_color(env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]), false),
            "NO_COLOR wins, as in libtest's own lines"
        );
        assert!(!auto_color(
            env(&[("TERM", "xterm"), ("CLICOLOR", "0")]),
            true
        ));
        assert!(auto_color(env(&[("CLICOLOR", "1")]), true));
        assert!(color_wanted(Some(ColorSetting::Always)));
        assert!(!color_wanted(Some(ColorSetting::Never)));
    }
}
