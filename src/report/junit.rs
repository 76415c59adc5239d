//! `junit.xml`: one testsuite per family, one testcase per check. `fail` is a
//! failure, `error` an error, `skip` skipped with its reason; `pass`, `warn` and `info` are
//! successes, each with a `verdict` property and (like every case) the message and the HTTP
//! transcript in system-out (for `fail` and `warn`, the check's fix too). A broken check's
//! system-out begins with the step that broke it and what it expected and saw. Level, spec
//! references and the graded revision are properties.

use std::fmt::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::RunReport;
use crate::http::Exchange;
use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::Verdict;

pub fn render(r: &RunReport) -> String {
    let mut report = Report::new(env!("CARGO_PKG_NAME"));
    report.set_time(Duration::from_millis(r.duration_ms));
    let mut families: Vec<&str> = Vec::new();
    for o in &r.outcomes {
        if !families.contains(&o.family.as_str()) {
            families.push(&o.family);
        }
    }
    for family in families {
        let mut suite = TestSuite::new(family);
        suite.add_property(Property::new("revision", &r.spec));
        suite.add_property(Property::new("target.rs", &r.target_rs));
        if let Some(a) = &r.target_as {
            suite.add_property(Property::new("target.as", a));
        }
        let outcomes: Vec<&CheckOutcome> =
            r.outcomes.iter().filter(|o| o.family == family).collect();
        suite.set_time(Duration::from_millis(
            outcomes.iter().map(|o| o.duration_ms).sum(),
        ));
        suite.add_test_cases(outcomes.into_iter().map(|o| case(r, o)));
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_else(|_| {
        // Writing to a String cannot fail; should it ever, the file still parses.
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mcp-oauth-conform\" tests=\"0\" failures=\"0\" errors=\"0\"/>\n".into()
    })
}

fn case(r: &RunReport, o: &CheckOutcome) -> TestCase {
    let status = match o.verdict {
        Verdict::Pass | Verdict::Warn | Verdict::Info => TestCaseStatus::success(),
        Verdict::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(&o.message)
                .set_type(o.level.as_str().to_ascii_uppercase())
                .set_description(&o.message);
            s
        }
        Verdict::Error => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(&o.message)
                .set_type("error")
                .set_description(&o.message);
            s
        }
        Verdict::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(&o.message);
            s
        }
    };
    let mut case = TestCase::new(&o.id, status);
    case.set_classname(&o.family)
        .set_time(Duration::from_millis(o.duration_ms));
    case.add_property(Property::new("verdict", o.verdict.as_str()))
        .add_property(Property::new("level", o.level.as_str()))
        .add_property(Property::new("revision", &r.spec))
        .add_property(Property::new("title", &o.title))
        .add_property(Property::new("source", &o.source));
    for reference in &o.refs {
        case.add_property(Property::new("ref", reference));
    }
    case.set_system_out(system_out(o));
    case
}

/// For a broken check the steps that broke it, then the message, for a broken requirement how
/// to fix it, then every exchange as an HTTP transcript (`>` request, `<` response).
fn system_out(o: &CheckOutcome) -> String {
    let mut out = failing_steps(o);
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{} [{}] {}: {}", o.id, o.level, o.verdict, o.message);
    if let (Verdict::Fail | Verdict::Warn, Some(fix)) = (o.verdict, &o.fix) {
        let _ = writeln!(out, "fix: {fix}");
    }
    for (i, x) in o.exchanges.iter().enumerate() {
        let _ = writeln!(out, "\n--- exchange {} ({} ms)", i + 1, x.elapsed_ms);
        out.push_str(&transcript(x));
    }
    out
}

/// The steps that decided a fail, warn or error verdict, each with its failing expectations
/// (expected, observed, the level the failure carries) or why it got no answer: what a reader
/// of a broken case wants before the transcript.
pub fn failing_steps(o: &CheckOutcome) -> String {
    let mut out = String::new();
    for (step, failed) in o.failing_steps() {
        let _ = writeln!(out, "{} at step {}: {}", o.verdict, step.index, step.label);
        if failed.is_empty() {
            if let Some(why) = &step.why {
                let _ = writeln!(out, "  {why}");
            }
        }
        for e in failed {
            let _ = writeln!(out, "  expected: {} ({})", e.expected, e.level);
            match &e.observed {
                Some(seen) => {
                    let _ = writeln!(out, "  observed: {seen}");
                }
                // Without a value to show (the action's own findings), what was found.
                None => {
                    for p in &e.problems {
                        let _ = writeln!(out, "  found: {p}");
                    }
                }
            }
        }
        if !step.exchanges.is_empty() {
            let shown: Vec<String> = step.exchanges.iter().map(|i| (i + 1).to_string()).collect();
            let _ = writeln!(out, "  exchanges: {}", shown.join(", "));
        }
    }
    out
}

/// One exchange as text: request line, headers, body; status, headers, body; or the error.
pub fn transcript(x: &Exchange) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "> {} {}", x.request.method, x.request.url);
    for (k, v) in &x.request.headers {
        let _ = writeln!(out, "> {k}: {v}");
    }
    if let Some(b) = x.request.body.as_deref().filter(|b| !b.is_empty()) {
        out.push_str(">\n");
        for line in b.lines() {
            let _ = writeln!(out, "> {line}");
        }
    }
    if let Some(resp) = &x.response {
        let _ = writeln!(out, "< {}", resp.status);
        for (k, v) in &resp.headers {
            let _ = writeln!(out, "< {k}: {v}");
        }
        if !resp.body.is_empty() {
            out.push_str("<\n");
            for line in resp.body.lines() {
                let _ = writeln!(out, "< {line}");
            }
        }
        if resp.body_truncated {
            out.push_str("< [body cut here]\n");
        }
    }
    if let Some(e) = &x.error {
        let _ = writeln!(out, "! {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn maps_verdicts_to_junit_elements() {
        let xml = render(&sample());
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(
            xml.contains(r#"<testsuites name="mcp-oauth-conform" tests="6" skipped="1" failures="1" errors="1""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testsuite name="prm" tests="4" skipped="1" errors="0" failures="1""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="the resource is &lt;http://evil&gt; &amp; not ours" type="MUST">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="timed out after 2 s" type="error">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped message="no registration endpoint"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="verdict" value="warn"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="ref" value="RFC9728-3.3"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="revision" value="2025-06-18"/>"#),
            "{xml}"
        );
        // The transcript, escaped, in system-out.
        assert!(
            xml.contains("&gt; GET http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp"),
            "{xml}"
        );
        assert!(xml.contains("&lt; 200"), "{xml}");
        assert!(!xml.contains("<script>"), "{xml}");
    }

    #[test]
    fn a_broken_requirement_says_how_to_fix_it() {
        let mut r = sample();
        for o in &mut r.outcomes {
            o.fix = Some(format!("fix {}", o.id));
        }
        for o in &r.outcomes {
            let out = system_out(o);
            let broken = matches!(o.verdict, Verdict::Fail | Verdict::Warn);
            assert_eq!(
                out.contains(&format!("\nfix: fix {}\n", o.id)),
                broken,
                "{out}"
            );
        }
    }

    #[test]
    fn a_broken_case_begins_with_the_step_that_broke_it() {
        let r = sample();
        let fail = system_out(&r.outcomes[0]);
        assert!(
            fail.starts_with(concat!(
                "fail at step 1: the PRM document\n",
                "  expected: JSON /resource: equals \"http://127.0.0.1:9/mcp\" (must)\n",
                "  observed: \"http://evil\"\n",
                "  exchanges: 1\n",
                "\nprm.resource-matches [must] fail: "
            )),
            "{fail}"
        );
        // The expectation that held is not among the failures.
        assert!(!fail.contains("status 200"), "{fail}");
        let error = system_out(&r.outcomes[4]);
        assert!(
            error.starts_with("error at step 1: no token\n  timed out after 2 s\n"),
            "{error}"
        );
        // Other verdicts (and a warning without step records) start with the message.
        for o in &r.outcomes[1..4] {
            let out = system_out(o);
            assert!(out.starts_with(&format!("{} [", o.id)), "{out}");
        }
    }

    #[test]
    fn transcript_shows_both_sides_and_errors() {
        let r = sample();
        let t = transcript(&r.outcomes[0].exchanges[0]);
        assert!(t.starts_with("> GET http://127.0.0.1:9/"), "{t}");
        assert!(t.contains("< content-type: application/json"), "{t}");
        assert!(t.contains("<\n< {\"resource\""), "{t}");
        let e = transcript(&r.outcomes[4].exchanges[0]);
        assert!(e.contains("! timed out after 2 s"), "{e}");
    }
}
