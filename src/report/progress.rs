//! The run as it happens on the terminal: what discovery found, the revision graded, then one
//! line per check in libtest's style (`test [must] rs.audience ... ok`), except that warn and
//! info say so instead of passing for `ok`, and a skip says why (`ignored, <reason>`). Then the
//! failures with their messages and libtest's result line; [`super::console`] writes the
//! summary after it. An [`Observer`] of the run's events.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use colored::{Color, Colorize};
use serde_json::json;

use crate::discovery::{Discovery, Target};
use crate::http::Redactor;
use crate::runner::ctx::RunCtx;
use crate::runner::event::{Event, Observer};
use crate::runner::outcome::CheckOutcome;
use crate::runner::verdict::Verdict;
use crate::suite::Check;

/// How the check lines are written (libtest's `--format`, `-q`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// One line per check.
    #[default]
    Pretty,
    /// One character per check (`-q`).
    Terse,
    /// libtest's JSON lines, one per check event.
    Json,
}

impl Style {
    /// The style libtest's arguments ask for.
    pub fn of(args: &libtest_mimic::Arguments) -> Style {
        match args.format {
            _ if args.quiet => Style::Terse,
            Some(libtest_mimic::FormatSetting::Terse) => Style::Terse,
            Some(libtest_mimic::FormatSetting::Json) => Style::Json,
            _ => Style::Pretty,
        }
    }
}

/// Prints a run's events to a writer (stdout, or a buffer in tests).
pub struct Progress {
    state: Mutex<State>,
}

struct State {
    out: Box<dyn Write + Send>,
    style: Style,
    color: bool,
    redactor: Arc<Redactor>,
    /// The selected checks, for the widths of the columns.
    checks: Vec<Check>,
    /// How many checks the selection left out.
    filtered_out: usize,
    name_width: usize,
    kind_width: usize,
}

impl Progress {
    /// `checks` are the checks the run will run; `filtered_out` how many the selection left out.
    pub fn new(
        out: Box<dyn Write + Send>,
        style: Style,
        color: bool,
        redactor: Arc<Redactor>,
        checks: &[Check],
        filtered_out: usize,
    ) -> Progress {
        Progress {
            state: Mutex::new(State {
                out,
                style,
                color,
                redactor,
                name_width: checks
                    .iter()
                    .map(|c| c.id.chars().count())
                    .max()
                    .unwrap_or(0),
                kind_width: 0,
                checks: checks.to_vec(),
                filtered_out,
            }),
        }
    }
}

impl Observer for Progress {
    fn event(&self, event: &Event<'_>) {
        // A poisoned lock only means an earlier line was cut short; go on printing.
        let mut s = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        s.event(event);
    }
}

/// The word of a verdict on a check line, as libtest words its outcomes where they agree.
fn word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "ok",
        Verdict::Fail => "FAILED",
        Verdict::Warn => "warn",
        Verdict::Info => "info",
        Verdict::Skip => "ignored",
        Verdict::Error => "error",
    }
}

/// libtest's colours: ok green, failures red, ignored (and here warn) yellow.
fn color_of(v: Verdict) -> Option<Color> {
    match v {
        Verdict::Pass => Some(Color::Green),
        Verdict::Fail | Verdict::Error => Some(Color::Red),
        Verdict::Warn | Verdict::Skip => Some(Color::Yellow),
        Verdict::Info => None,
    }
}

impl State {
    fn paint(&self, text: &str, v: Verdict) -> String {
        match color_of(v).filter(|_| self.color) {
            Some(c) => text.color(c).to_string(),
            None => text.to_string(),
        }
    }

    fn scrub(&self, text: &str) -> String {
        self.redactor.scrub(text)
    }

    /// Writes and flushes; a reader that went away (`| head`) is not the run's problem.
    fn write(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Discovered { target, discovery } => self.discovered(target, discovery),
            Event::Graded { discovery, ctx } => self.graded(discovery, ctx),
            Event::Running { count } => self.running(*count),
            Event::CheckFinished(o) => self.check_line(o),
            Event::ChecksFinished { outcomes, elapsed } => self.finished(outcomes, *elapsed),
            Event::CheckStarted { .. } | Event::StepFinished { .. } | Event::CleanupDone(_) => {}
        }
    }

    fn discovered(&mut self, target: &Target, found: &Discovery) {
        let mut out = format!(
            "target: {}{}\n",
            target.rs_raw,
            target
                .as_raw
                .as_ref()
                .map(|a| format!(" (AS {a})"))
                .unwrap_or_default()
        );
        for n in &found.notes {
            out.push_str(&format!("discovery: {n}\n"));
        }
        if let Some(u) = &found.unreachable {
            out.push_str(&format!(
                "discovery: the MCP endpoint is unreachable: {u}\n"
            ));
        }
        let out = self.scrub(&out);
        self.write(&out);
    }

    /// The revision graded, once the preflight and the negotiation have run.
    fn graded(&mut self, found: &Discovery, ctx: &RunCtx) {
        let mut out = format!("spec: {} ({})\n", found.revision, found.revision_reason);
        if ctx.grading.record.server_speaks.is_some() {
            out.push_str(&format!("negotiation: {}\n", ctx.grading.record.how));
        }
        let p = &ctx.preflight;
        out.push_str(&match &p.why_no_token {
            None if p.outcome == crate::preflight::GIVEN => "preflight: none (the run was given its tokens: no registration, authorization or token request is sent)\n".to_string(),
            None => "preflight: an ordinary authorization reached a code and a token\n".to_string(),
            Some(why) => format!("preflight: {}; no token: {why}\n", p.outcome),
        });
        if let Some(b) = ctx.agent_blocked() {
            out.push_str(&format!(
                "user agent: stopped at the login page {} (HTTP {}, fields: {}); the checks that need an authorization code will skip. Fix: {}\n",
                b.page,
                b.status,
                b.fields.join(", "),
                b.fix
            ));
        }
        for n in ctx.run_notes() {
            out.push_str(&format!("run: {n}\n"));
        }
        // The kind column holds the level at the revision graded, as wide as its widest.
        self.kind_width = self
            .checks
            .iter()
            .map(|c| c.level_for(ctx.revision).as_str().chars().count() + 3)
            .max()
            .unwrap_or(0);
        let out = self.scrub(&out);
        self.write(&out);
    }

    fn running(&mut self, count: usize) {
        let text = match self.style {
            Style::Pretty | Style::Terse => {
                format!(
                    "\nrunning {count} test{}\n",
                    if count == 1 { "" } else { "s" }
                )
            }
            Style::Json => format!(
                "{}\n",
                json!({"type": "suite", "event": "started", "test_count": count})
            ),
        };
        self.write(&text);
    }

    fn check_line(&mut self, o: &CheckOutcome) {
        let text = match self.style {
            Style::Pretty => {
                let kind = format!("[{}] ", o.level);
                let mut verdict = self.paint(word(o.verdict), o.verdict);
                if o.verdict == Verdict::Skip {
                    verdict.push_str(&format!(", {}", self.scrub(&o.message)));
                }
                format!(
                    "test {kind:<kw$}{id:<nw$} ... {verdict}\n",
                    kw = self.kind_width,
                    id = o.id,
                    nw = self.name_width,
                )
            }
            Style::Terse => {
                let c = match o.verdict {
                    Verdict::Pass => ".",
                    Verdict::Fail => "F",
                    Verdict::Warn => "W",
                    Verdict::Info => "I",
                    Verdict::Skip => "i",
                    Verdict::Error => "E",
                };
                self.paint(c, o.verdict)
            }
            Style::Json => {
                // libtest's events (ok, failed, ignored), with the verdict that says more.
                let event = match o.verdict {
                    Verdict::Pass | Verdict::Warn | Verdict::Info => "ok",
                    Verdict::Fail | Verdict::Error => "failed",
                    Verdict::Skip => "ignored",
                };
                let mut line = json!({
                    "type": "test",
                    "name": o.id,
                    "event": event,
                    "verdict": o.verdict,
                    "level": o.level,
                });
                if matches!(o.verdict, Verdict::Fail | Verdict::Error | Verdict::Skip) {
                    line["message"] = self.scrub(&o.message).into();
                }
                format!("{line}\n")
            }
        };
        self.write(&text);
    }

    fn finished(&mut self, outcomes: &[CheckOutcome], elapsed: Duration) {
        let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
        let failed = count(Verdict::Fail) + count(Verdict::Error);
        if self.style == Style::Json {
            let line = json!({
                "type": "suite",
                "event": if failed > 0 { "failed" } else { "ok" },
                "passed": count(Verdict::Pass),
                "failed": count(Verdict::Fail),
                "warned": count(Verdict::Warn),
                "info": count(Verdict::Info),
                "ignored": count(Verdict::Skip),
                "errors": count(Verdict::Error),
                "filtered_out": self.filtered_out,
                "exec_time": elapsed.as_secs_f64(),
            });
            self.write(&format!("{line}\n"));
            return;
        }
        let mut out = String::new();
        if self.style == Style::Terse {
            out.push('\n');
        }
        let broken: Vec<&CheckOutcome> = outcomes
            .iter()
            .filter(|o| matches!(o.verdict, Verdict::Fail | Verdict::Error))
            .collect();
        if !broken.is_empty() {
            out.push_str("\nfailures:\n\n");
            for o in &broken {
                let prefix = if o.verdict == Verdict::Error {
                    "error: "
                } else {
                    ""
                };
                out.push_str(&format!(
                    "---- {} ----\n{prefix}{}\n\n",
                    o.id,
                    self.scrub(&o.message)
                ));
            }
            out.push_str("\nfailures:\n");
            for o in &broken {
                out.push_str(&format!("    {}\n", o.id));
            }
        }
        let result = if failed > 0 {
            self.paint("FAILED", Verdict::Fail)
        } else {
            self.paint("ok", Verdict::Pass)
        };
        out.push_str(&format!(
            "\ntest result: {result}. {} passed; {} failed; {} warn; {} info; {} ignored; {} error; {} filtered out; finished in {:.2}s\n\n",
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::Warn),
            count(Verdict::Info),
            count(Verdict::Skip),
            count(Verdict::Error),
            self.filtered_out,
            elapsed.as_secs_f64()
        ));
        self.write(&out);
    }
}
