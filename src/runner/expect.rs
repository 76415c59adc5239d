//! Evaluates a step's expectations against what the step observed. Each broken expectation
//! becomes a [`Finding`] carrying the level it was written at; the runner turns the worst finding
//! into the check's verdict. Beside the findings, each expectation evaluated is recorded whole
//! (what it expected, what was seen, whether it held) for reports that show which one broke;
//! the findings alone decide the verdict.
//!
//! The generic matchers are here; the predicates that parse a whole answer themselves
//! (`challenge`, `jwks_public`) are in the child files, which only add methods to `Eval`.

mod challenge;
mod jwks;

use serde_json::Value;

use super::outcome::ExpectationOutcome;
use crate::action::{Finding, Observed};
use crate::http::redact::show;
use crate::oauth::redirect::is_loopback_host;
use crate::suite::model::{Expect, JsonType, Level, Matcher, NoEmptyValues, StatusPattern};
use crate::suite::vars::{Missing, Scope, display};

/// Settings that change how values are judged, not what is expected.
#[derive(Clone, Copy, Debug)]
pub struct Judge {
    /// The run targets loopback: `http://` URLs on loopback hosts count as secure (dev mode).
    pub allow_loopback_http: bool,
}

/// The findings of one step's expectations, and each expectation as evaluated.
#[derive(Debug, Default)]
pub struct Evaluated {
    pub findings: Vec<Finding>,
    pub expectations: Vec<ExpectationOutcome>,
}

pub fn evaluate(
    e: &Expect,
    seen: &Observed,
    scope: &Scope,
    level: Level,
    judge: Judge,
) -> Result<Vec<Finding>, Missing> {
    evaluate_each(e, seen, scope, level, judge).map(|ev| ev.findings)
}

/// [`evaluate`], keeping each expectation's record as well.
pub fn evaluate_each(
    e: &Expect,
    seen: &Observed,
    scope: &Scope,
    level: Level,
    judge: Judge,
) -> Result<Evaluated, Missing> {
    let mut ev = Eval {
        scope,
        judge,
        findings: Vec::new(),
        expectations: Vec::new(),
    };
    let status_seen = seen.status.map(|s| s.to_string());
    // A status that must not be answered here is this check's own finding; a `graded_by` note
    // on the same status would only repeat it.
    let mut status_forbidden = false;
    if let Some(set) = &e.status_not {
        let before = ev.findings.len();
        if let Some(s) = seen.status.filter(|s| status_in(*s, set)) {
            status_forbidden = true;
            ev.push(
                level,
                format!("status {s}, which must not be answered here"),
            );
        }
        ev.record(
            format!("status not {}", show_statuses(set)),
            status_seen.clone(),
            level,
            before,
        );
    }
    // When the status is another check's to grade and is off, the error code of the body is not
    // a refusal's error code either: it is not graded here.
    let mut error_code_elsewhere = false;
    if let Some(status) = &e.status {
        let set = status.patterns();
        let before = ev.findings.len();
        let text = match seen.status {
            Some(s) if status_in(s, set) => None,
            Some(s) => Some(format!("status {s}, expected {}", show_statuses(set))),
            None => Some("no HTTP status to compare".into()),
        };
        let held = text.is_none();
        if let Some(mut text) = text {
            if let Some(why) = status.why() {
                text = format!("{text} ({why})");
            }
            match status.graded_by() {
                Some(_) if status_forbidden => {}
                Some(other) => {
                    error_code_elsewhere = true;
                    ev.push(Level::Info, format!("{text} ({other} grades that)"))
                }
                None => ev.push(status.level().unwrap_or(level), text),
            }
        }
        let carries = match status.graded_by() {
            Some(_) => Level::Info,
            None => status.level().unwrap_or(level),
        };
        ev.record(
            format!("status {}", show_statuses(set)),
            status_seen.clone(),
            carries,
            before,
        );
        // A status forbidden above and graded elsewhere here is said once, by `status_not`;
        // it still did not hold.
        if let Some(last) = ev.expectations.last_mut() {
            last.passed = held;
        }
    }
    for (name, m) in &e.header {
        let v = seen.header_joined(name).map(Value::String);
        let before = ev.findings.len();
        ev.matcher(&format!("header {name}"), v.as_ref(), m, level, None)?;
        let expected = format!("header {name}: {}", matcher_text(m, scope));
        ev.record(
            expected,
            v.as_ref().map(show),
            matcher_level(m, level),
            before,
        );
    }
    let json_note = seen
        .json
        .as_ref()
        .err()
        .map(|why| format!("the body is not JSON: {why}"));
    for (pointer, m) in &e.json {
        if error_code_elsewhere && pointer == "/error" {
            continue;
        }
        let label = json_label(pointer, seen);
        let before = ev.findings.len();
        let carries = matcher_level(m, error_code_level(pointer, level));
        let expected = format!("{label}: {}", matcher_text(m, scope));
        if let (true, Err(why)) = (pointer.is_empty(), &seen.json) {
            ev.push(
                m.level.unwrap_or(level),
                format!("the body is not JSON: {why}"),
            );
            ev.record(expected, json_note.clone(), carries, before);
            continue;
        }
        let v = seen.json.as_ref().ok().and_then(|doc| doc.pointer(pointer));
        ev.matcher(
            &label,
            v,
            m,
            error_code_level(pointer, level),
            json_note.as_deref(),
        )?;
        let observed = v.map(show).or_else(|| json_note.clone());
        ev.record(expected, observed, carries, before);
    }
    if let Some(m) = &e.body {
        let v = seen.body.clone().map(Value::String);
        let before = ev.findings.len();
        ev.matcher("the body", v.as_ref(), m, level, None)?;
        let expected = format!("the body: {}", matcher_text(m, scope));
        ev.record(
            expected,
            v.as_ref().map(show),
            matcher_level(m, level),
            before,
        );
    }
    if let Some(c) = &e.challenge {
        let before = ev.findings.len();
        ev.challenge(c, seen, level)?;
        let observed = seen
            .header_joined("www-authenticate")
            .map(|h| show(&Value::String(h)));
        ev.record(challenge_text(c, scope), observed, level, before);
    }
    if let Some(n) = &e.no_empty_values {
        let before = ev.findings.len();
        ev.no_empty(n, seen, level);
        ev.record("no member with an empty value".into(), None, level, before);
    }
    if e.jwks_public == Some(true) {
        let before = ev.findings.len();
        ev.jwks_public(seen, level);
        ev.record("a JWK Set of public keys only".into(), None, level, before);
    }
    if !e.any_of.is_empty() {
        let before = ev.findings.len();
        let mut alternatives = Vec::new();
        // What each alternative expected, as far as they were evaluated (the first that holds
        // ends the evaluation).
        let mut described = Vec::new();
        for alt in &e.any_of {
            let each = evaluate_each(alt, seen, scope, level, judge)?;
            described.push(
                each.expectations
                    .iter()
                    .map(|x| x.expected.as_str())
                    .collect::<Vec<_>>()
                    .join(" and "),
            );
            let f = each.findings;
            if f.is_empty() {
                alternatives.clear();
                break;
            }
            alternatives.push(f);
        }
        if described.len() < e.any_of.len() {
            described.push("…".into());
        }
        let expected = format!("any of: {}", described.join(" | "));
        if !alternatives.is_empty() {
            let worst = alternatives
                .iter()
                .flatten()
                .map(|f| f.level)
                .max()
                .unwrap_or(level);
            let each: Vec<String> = alternatives
                .iter()
                .map(|f| {
                    f.iter()
                        .map(|x| x.text.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect();
            ev.push(
                worst,
                format!("none of the alternatives holds: {}", each.join(" | ")),
            );
        }
        ev.record(expected, status_seen.clone(), level, before);
    }
    if let Some(uri) = &e.no_redirect_to {
        let uri = scope.interpolate(uri)?;
        let before = ev.findings.len();
        let location = seen.header_joined("location");
        if let (Some(s), Some(loc)) = (seen.status, &location) {
            if (300..400).contains(&s) && loc.starts_with(&uri) {
                ev.push(
                    level,
                    format!("redirected ({s}) to {loc}, where the browser must never be sent"),
                );
            }
        }
        ev.record(
            format!("no redirect to {uri}"),
            location.map(|l| show(&Value::String(l))),
            level,
            before,
        );
    }
    Ok(Evaluated {
        findings: ev.findings,
        expectations: ev.expectations,
    })
}

/// How a JSON pointer's value is named in findings.
fn json_label(pointer: &str, seen: &Observed) -> String {
    if pointer.is_empty() && seen.status.is_none() {
        // An inspected value, not an answer.
        "the value".to_string()
    } else if pointer.is_empty() {
        "the JSON body".to_string()
    } else {
        format!("JSON {pointer}")
    }
}

/// The level a matcher's failure carries when it is written at `level`.
fn matcher_level(m: &Matcher, level: Level) -> Level {
    if m.graded_by.is_some() {
        Level::Info
    } else {
        m.level.unwrap_or(level)
    }
}

/// A value of a matcher as a reader expects it: resolved when it names a variable.
fn expected_value(v: &toml::Value, scope: &Scope) -> String {
    match scope.resolve(v) {
        Ok(v) => show(&v),
        Err(_) => v.to_string(),
    }
}

/// What a matcher expects, short: `one of "a", "b"`, `present, an https URL`.
fn matcher_text(m: &Matcher, scope: &Scope) -> String {
    let mut parts: Vec<String> = Vec::new();
    let value = |v: &toml::Value| expected_value(v, scope);
    if m.present == Some(true) {
        parts.push("present".into());
    }
    if m.absent == Some(true) || m.present == Some(false) {
        parts.push("absent".into());
    }
    if let Some(t) = m.kind {
        parts.push(format!("a {}", t.as_str()));
    }
    if let Some(v) = &m.equals {
        parts.push(format!("equals {}", value(v)));
    }
    if let Some(v) = &m.not_equals {
        parts.push(format!("not {}", value(v)));
    }
    if let Some(options) = &m.one_of {
        let shown: Vec<String> = options.iter().map(value).collect();
        parts.push(format!("one of {}", shown.join(", ")));
    }
    if let Some(v) = &m.contains {
        parts.push(format!("contains {}", value(v)));
    }
    if let Some(v) = &m.not_contains {
        parts.push(format!("does not contain {}", value(v)));
    }
    if let Some(re) = &m.matches {
        parts.push(format!("matches /{re}/"));
    }
    if let Some(re) = &m.not_matches {
        parts.push(format!("does not match /{re}/"));
    }
    if m.non_empty == Some(true) {
        parts.push("not empty".into());
    }
    if let Some(n) = m.at_least {
        parts.push(format!("at least {n}"));
    }
    if let Some(n) = m.at_most {
        parts.push(format!("at most {n}"));
    }
    if let Some(n) = m.min_length {
        parts.push(format!("at least {n} characters"));
    }
    if m.secure_url == Some(true) {
        parts.push("an https URL".into());
    }
    if m.absolute_url == Some(true) {
        parts.push("an absolute URL".into());
    }
    if m.no_fragment == Some(true) {
        parts.push("no fragment".into());
    }
    if m.no_query == Some(true) {
        parts.push("no query".into());
    }
    if m.public_or_target == Some(true) {
        parts.push("no special-use host the target does not use".into());
    }
    if let Some(each) = &m.each {
        parts.push(format!("each item: {}", matcher_text(each, scope)));
    }
    let mut text = if parts.is_empty() {
        "anything".to_string()
    } else {
        parts.join(", ")
    };
    if m.optional {
        text = format!("if present, {text}");
    }
    if let Some(other) = &m.graded_by {
        text.push_str(&format!(" ({other} grades it)"));
    }
    text
}

/// What a `challenge` expectation expects, short.
fn challenge_text(c: &crate::suite::model::ChallengeExpect, scope: &Scope) -> String {
    let mut parts: Vec<String> = Vec::new();
    if c.bearer == Some(true) {
        parts.push("a Bearer challenge".into());
    } else if c.header == Some(true) {
        parts.push("present".into());
    }
    if c.well_formed == Some(true) {
        parts.push("well formed".into());
    }
    if let Some(n) = c.min_params {
        parts.push(format!("at least {n} parameters"));
    }
    for (name, m) in &c.params {
        parts.push(format!("{name}: {}", matcher_text(m, scope)));
    }
    format!("WWW-Authenticate: {}", parts.join(", "))
}

/// Grading rule: the error code of a refusal is a SHOULD. A server that refuses correctly with
/// another code than the RFC names (or one of its own: the lists are not exhaustive) is still
/// refusing; the refusal itself is graded by the status and the absence of tokens. A matcher
/// with its own `level` keeps it.
pub fn error_code_level(pointer: &str, level: Level) -> Level {
    if pointer == "/error" {
        level.min(Level::Should)
    } else {
        level
    }
}

fn status_in(s: u16, set: &[StatusPattern]) -> bool {
    set.iter().any(|p| match p {
        StatusPattern::Code(c) => *c == s,
        StatusPattern::Pattern(p) => {
            crate::suite::model::parse_status_pattern(p).is_some_and(|r| r.contains(&s))
        }
    })
}

fn show_statuses(set: &[StatusPattern]) -> String {
    let items: Vec<String> = set
        .iter()
        .map(|p| match p {
            StatusPattern::Code(c) => c.to_string(),
            StatusPattern::Pattern(p) => p.clone(),
        })
        .collect();
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("one of {}", items.join(", "))
    }
}

struct Eval<'a> {
    scope: &'a Scope,
    judge: Judge,
    findings: Vec<Finding>,
    expectations: Vec<ExpectationOutcome>,
}

impl Eval<'_> {
    fn push(&mut self, level: Level, text: String) {
        self.findings.push(Finding { level, text });
    }

    /// Records one expectation whose findings are those pushed since `before`; `carries` is
    /// the level its failure would carry when it held.
    fn record(
        &mut self,
        expected: String,
        observed: Option<String>,
        carries: Level,
        before: usize,
    ) {
        let found = &self.findings[before..];
        self.expectations.push(ExpectationOutcome {
            expected,
            passed: found.is_empty(),
            level: found.iter().map(|f| f.level).max().unwrap_or(carries),
            observed,
            problems: found.iter().map(|f| f.text.clone()).collect(),
        });
    }

    fn matcher(
        &mut self,
        label: &str,
        v: Option<&Value>,
        m: &Matcher,
        level: Level,
        absent_note: Option<&str>,
    ) -> Result<(), Missing> {
        let level = m.level.unwrap_or(level);
        let before = self.findings.len();
        self.matcher_inner(label, v, m, level, absent_note)?;
        if let Some(why) = &m.why {
            let why = self.scope.interpolate(why).unwrap_or_else(|_| why.clone());
            for f in &mut self.findings[before..] {
                f.text = format!("{} ({why})", f.text);
            }
        }
        // One defect, one failure: what another check grades is only mentioned here.
        if let Some(other) = &m.graded_by {
            for f in &mut self.findings[before..] {
                f.level = Level::Info;
                f.text = format!("{} ({other} grades that)", f.text);
            }
        }
        Ok(())
    }

    fn matcher_inner(
        &mut self,
        label: &str,
        v: Option<&Value>,
        m: &Matcher,
        level: Level,
        absent_note: Option<&str>,
    ) -> Result<(), Missing> {
        let Some(v) = v else {
            let needs_value = m.present == Some(true)
                || (!m.optional && m.absent != Some(true) && m.needs_value());
            if needs_value {
                let note = absent_note.map(|n| format!("; {n}")).unwrap_or_default();
                self.push(level, format!("{label} is missing{note}"));
            }
            return Ok(());
        };
        if m.absent == Some(true) {
            self.push(
                level,
                format!("{label} is present ({}) but must be absent", show(v)),
            );
        }
        if m.present == Some(false) {
            self.push(level, format!("{label} is present ({})", show(v)));
        }
        if let Some(t) = m.kind {
            if JsonType::of(v) != t {
                self.push(
                    level,
                    format!(
                        "{label} is a {}, expected a {}",
                        JsonType::of(v).as_str(),
                        t.as_str()
                    ),
                );
                return Ok(());
            }
        }
        if let Some(e) = &m.equals {
            let e = self.scope.resolve(e)?;
            if *v != e {
                self.push(
                    level,
                    format!("{label} is {}, expected {}", show(v), show(&e)),
                );
            }
        }
        if let Some(e) = &m.not_equals {
            let e = self.scope.resolve(e)?;
            if *v == e {
                self.push(
                    level,
                    format!("{label} is {}, which is not allowed", show(v)),
                );
            }
        }
        if let Some(options) = &m.one_of {
            let options: Vec<Value> = options
                .iter()
                .map(|o| self.scope.resolve(o))
                .collect::<Result<_, _>>()?;
            if !options.contains(v) {
                let shown: Vec<String> = options.iter().map(show).collect();
                self.push(
                    level,
                    format!(
                        "{label} is {}, expected one of {}",
                        show(v),
                        shown.join(", ")
                    ),
                );
            }
        }
        if let Some(c) = &m.contains {
            let c = self.scope.resolve(c)?;
            if !contains(v, &c) {
                self.push(
                    level,
                    format!("{label} ({}) does not contain {}", show(v), show(&c)),
                );
            }
        }
        if let Some(c) = &m.not_contains {
            let c = self.scope.resolve(c)?;
            if contains(v, &c) {
                self.push(
                    level,
                    format!("{label} ({}) contains {}", show(v), show(&c)),
                );
            }
        }
        if let Some(re) = &m.matches {
            // The loader compiled every pattern already.
            if let Ok(re) = regex::Regex::new(re) {
                if !re.is_match(&display(v)) {
                    self.push(
                        level,
                        format!("{label} ({}) does not match /{re}/", show(v)),
                    );
                }
            }
        }
        if let Some(re) = &m.not_matches {
            if let Ok(re) = regex::Regex::new(re) {
                if re.is_match(&display(v)) {
                    self.push(
                        level,
                        format!("{label} ({}) matches /{re}/, which it must not", show(v)),
                    );
                }
            }
        }
        if m.non_empty == Some(true) {
            let empty = match v {
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::Null => true,
                _ => false,
            };
            if empty {
                self.push(level, format!("{label} is empty"));
            }
        }
        if m.at_least.is_some() || m.at_most.is_some() {
            match v.as_f64() {
                Some(n) if m.at_least.is_some_and(|min| n < min) => self.push(
                    level,
                    format!(
                        "{label} is {n}, expected at least {}",
                        m.at_least.unwrap_or_default()
                    ),
                ),
                Some(n) if m.at_most.is_some_and(|max| n > max) => self.push(
                    level,
                    format!(
                        "{label} is {n}, expected at most {}",
                        m.at_most.unwrap_or_default()
                    ),
                ),
                Some(_) => {}
                None => self.push(level, format!("{label} is {}, expected a number", show(v))),
            }
        }
        if let Some(min) = m.min_length {
            let n = display(v).chars().count();
            if n < min {
                self.push(
                    level,
                    format!("{label} is {n} characters long, expected at least {min}"),
                );
            }
        }
        self.url_rules(label, v, m, level);
        if let Some(each) = &m.each {
            match v {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.matcher(&format!("{label}[{i}]"), Some(item), each, level, None)?;
                    }
                }
                other => self.push(
                    level,
                    format!(
                        "{label} is a {}, expected an array",
                        JsonType::of(other).as_str()
                    ),
                ),
            }
        }
        Ok(())
    }

    fn url_rules(&mut self, label: &str, v: &Value, m: &Matcher, level: Level) {
        let wants = m.secure_url == Some(true)
            || m.absolute_url == Some(true)
            || m.no_fragment == Some(true)
            || m.no_query == Some(true)
            || m.public_or_target == Some(true);
        if !wants {
            return;
        }
        let Some(s) = v.as_str() else {
            self.push(
                level,
                format!("{label} is {}, expected a URL string", show(v)),
            );
            return;
        };
        let url = match url::Url::parse(s) {
            Ok(u) => u,
            Err(e) => {
                self.push(
                    level,
                    format!("{label} ({s:?}) is not an absolute URL: {e}"),
                );
                return;
            }
        };
        if m.secure_url == Some(true) {
            let loopback = url.host_str().is_some_and(is_loopback_host);
            let ok = url.scheme() == "https"
                || (url.scheme() == "http" && loopback && self.judge.allow_loopback_http);
            if !ok {
                let why = if url.scheme() == "http" && loopback {
                    " (loopback http is accepted only when the target itself is on loopback)"
                } else {
                    ""
                };
                self.push(level, format!("{label} ({s}) is not an https URL{why}"));
            }
        }
        // The parser drops an empty fragment or query, so test the text as well.
        if m.no_fragment == Some(true) && (url.fragment().is_some() || s.contains('#')) {
            self.push(level, format!("{label} ({s}) has a fragment"));
        }
        if m.no_query == Some(true) && (url.query().is_some() || s.contains('?')) {
            self.push(level, format!("{label} ({s}) has a query component"));
        }
        if m.public_or_target == Some(true) {
            if let Some(why) = self.internal_host(&url) {
                self.push(level, format!("{label} ({s}) {why}"));
            }
        }
    }

    /// Why `url` points into a network the target is not on: its host is a special-use IP
    /// literal or `localhost` that none of the target's own URLs (`${target}`) use. A pure
    /// function of the values: names are left to the request guard.
    fn internal_host(&self, url: &url::Url) -> Option<String> {
        use crate::http::guard::{literal_addrs, special_use_host};
        let host = url.host()?;
        let kind = special_use_host(&host)?;
        let own: Vec<std::net::IpAddr> = self
            .scope
            .get("target")
            .map(strings_in)
            .unwrap_or_default()
            .iter()
            .filter_map(|t| url::Url::parse(t).ok())
            .filter_map(|t| t.host().as_ref().and_then(literal_addrs))
            .flatten()
            .map(|ip| ip.to_canonical())
            .collect();
        let addrs = literal_addrs(&host)?;
        if addrs.iter().any(|ip| own.contains(&ip.to_canonical())) {
            return None;
        }
        Some(format!(
            "points at {kind} the target does not use: a client would send requests into the network it runs in"
        ))
    }

    fn no_empty(&mut self, n: &NoEmptyValues, seen: &Observed, level: Level) {
        let Ok(Value::Object(map)) = &seen.json else {
            return; // The shape checks report a non-object document.
        };
        for (k, v) in map {
            let empty = match v {
                Value::Array(a) => a.is_empty(),
                Value::String(s) => s.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            let pointer = format!("/{}", k.replace('~', "~0").replace('/', "~1"));
            if empty && !n.except.contains(&pointer) {
                self.push(
                    level,
                    format!(
                        "member `{k}` has an empty value ({v}); zero-valued members must be omitted"
                    ),
                );
            }
        }
    }
}

impl Matcher {
    /// Whether a missing value breaks this matcher (an `absent`-only or empty matcher does not).
    fn needs_value(&self) -> bool {
        self.equals.is_some()
            || self.one_of.is_some()
            || self.contains.is_some()
            || self.matches.is_some()
            || self.kind.is_some()
            || self.non_empty.is_some()
            || self.at_least.is_some()
            || self.at_most.is_some()
            || self.min_length.is_some()
            || self.secure_url.is_some()
            || self.absolute_url.is_some()
            || self.public_or_target.is_some()
            || self.each.is_some()
    }
}

/// Every string in a JSON value, depth first.
fn strings_in(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings_in).collect(),
        Value::Object(o) => o.values().flat_map(strings_in).collect(),
        _ => Vec::new(),
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match haystack {
        Value::Array(items) => items.contains(needle),
        Value::String(s) => s.contains(&display(needle)),
        Value::Object(o) => o.contains_key(&display(needle)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn run(expect_toml: &str, seen: &Observed) -> Vec<Finding> {
        let e: Expect = toml::from_str(expect_toml).unwrap();
        let scope = Scope::new(Arc::new(
            serde_json::json!({"as": {"issuer": "https://as.example"}}),
        ));
        evaluate(
            &e,
            seen,
            &scope,
            Level::Must,
            Judge {
                allow_loopback_http: false,
            },
        )
        .unwrap()
    }

    fn json(v: Value) -> Observed {
        Observed {
            status: Some(200),
            json: Ok(v),
            ..Default::default()
        }
    }

    #[test]
    fn status_and_pointer_rules() {
        let seen = json(
            serde_json::json!({"issuer": "https://as.example/", "list": ["a", "b"], "u": "http://x.example/cb#f"}),
        );
        let f = run(
            r#"status = [401, "4xx"]
               json."/issuer" = { equals = "${as.issuer}" }
               json."/list" = { contains = "c", level = "should" }
               json."/u" = { secure_url = true, no_fragment = true }
               json."/missing" = { equals = 1, optional = true }
               json."/also_missing" = { absent = true }"#,
            &seen,
        );
        let texts: Vec<&str> = f.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(f.len(), 5, "{texts:#?}");
        assert!(texts[0].contains("status 200, expected one of 401, 4xx"));
        assert!(
            texts[1].contains(
                "JSON /issuer is \"https://as.example/\", expected \"https://as.example\""
            )
        );
        assert_eq!(f[2].level, Level::Should);
        assert!(texts[3].contains("not an https URL"));
        assert!(texts[4].contains("has a fragment"));
    }

    #[test]
    fn each_expectation_is_recorded_with_what_it_saw() {
        let e: Expect = toml::from_str(
            r#"status = { in = [401], graded_by = "rs.other" }
               header.www-authenticate = { present = true }
               json."/issuer" = { equals = "${as.issuer}" }
               json."/error" = { one_of = ["invalid_token"], optional = true }
               json."/list" = { contains = "c", level = "should" }"#,
        )
        .unwrap();
        let scope = Scope::new(Arc::new(
            serde_json::json!({"as": {"issuer": "https://as.example"}}),
        ));
        let seen = json(serde_json::json!({"issuer": "https://as.example/", "list": ["a"]}));
        let judge = Judge {
            allow_loopback_http: false,
        };
        let ev = evaluate_each(&e, &seen, &scope, Level::Must, judge).unwrap();
        // The findings are what `evaluate` gives; the records add the expectations that held.
        assert_eq!(
            ev.findings,
            evaluate(&e, &seen, &scope, Level::Must, judge).unwrap()
        );
        let shown: Vec<(&str, bool, Level, Option<&str>)> = ev
            .expectations
            .iter()
            .map(|x| {
                (
                    x.expected.as_str(),
                    x.passed,
                    x.level,
                    x.observed.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("status 401", false, Level::Info, Some("200")),
                ("header www-authenticate: present", false, Level::Must, None),
                (
                    r#"JSON /issuer: equals "https://as.example""#,
                    false,
                    Level::Must,
                    Some(r#""https://as.example/""#)
                ),
                (
                    r#"JSON /list: contains "c""#,
                    false,
                    Level::Should,
                    Some(r#"["a"]"#)
                ),
            ],
            "{:#?}",
            ev.expectations
        );
        assert_eq!(
            ev.expectations[0].problems,
            ["status 200, expected 401 (rs.other grades that)"]
        );
    }

    #[test]
    fn non_json_bodies_explain_themselves() {
        let seen = Observed {
            status: Some(200),
            json: Err("expected value at line 1 column 1".into()),
            ..Default::default()
        };
        let f = run(
            r#"json."/x" = { equals = 1 }
                       json."/result" = { absent = true }"#,
            &seen,
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].text.contains("the body is not JSON"), "{}", f[0].text);
    }

    #[test]
    fn challenge_rules() {
        let seen = Observed {
            status: Some(401),
            headers: vec![(
                "WWW-Authenticate".into(),
                r#"Bearer scope="a", scope="b""#.into(),
            )],
            json: Err("empty".into()),
            ..Default::default()
        };
        let f = run(
            r#"challenge = { bearer = true, well_formed = true, params.resource_metadata = { present = true } }"#,
            &seen,
        );
        assert_eq!(f.len(), 2, "{f:#?}");
        let none = Observed {
            status: Some(401),
            json: Err("empty".into()),
            ..Default::default()
        };
        assert_eq!(
            run("challenge = { header = true }", &none)[0].text,
            "no WWW-Authenticate header"
        );
    }

    #[test]
    fn document_rules() {
        let seen = json(
            serde_json::json!({"a": [], "bearer_methods_supported": [], "keys": [{"kid": "k1", "d": "x", "kty": "OKP"}]}),
        );
        let f = run(
            r#"no_empty_values = { except = ["/bearer_methods_supported"] }
                       jwks_public = true"#,
            &seen,
        );
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(f[0].text.contains("member `a`"));
        assert!(f[1].text.contains("private member(s) d"));
    }

    #[test]
    fn loopback_http_is_secure_only_in_dev_mode() {
        let e: Expect = toml::from_str(r#"json."/u" = { secure_url = true }"#).unwrap();
        let scope = Scope::new(Arc::new(Value::Null));
        let seen = json(serde_json::json!({"u": "http://127.0.0.1:8080/token"}));
        assert!(
            evaluate(
                &e,
                &seen,
                &scope,
                Level::Must,
                Judge {
                    allow_loopback_http: true
                }
            )
            .unwrap()
            .is_empty()
        );
        assert_eq!(
            evaluate(
                &e,
                &seen,
                &scope,
                Level::Must,
                Judge {
                    allow_loopback_http: false
                }
            )
            .unwrap()
            .len(),
            1
        );
    }

    #[test]
    fn internal_endpoints_are_found_by_their_literal_hosts() {
        let e: Expect = toml::from_str(
            r#"json."/jwks_uri" = { optional = true, public_or_target = true }
               json."/servers" = { optional = true, each = { public_or_target = true } }"#,
        )
        .unwrap();
        let judge = Judge {
            allow_loopback_http: true,
        };
        let check = |target: Value, doc: Value| {
            let scope = Scope::new(Arc::new(serde_json::json!({ "target": target })));
            evaluate(&e, &json(doc), &scope, Level::Should, judge).unwrap()
        };
        let local = serde_json::json!({"rs": "http://127.0.0.1:4000/mcp", "as": null});
        // The target's own address, and localhost standing for it, are fine.
        assert!(check(local.clone(), serde_json::json!({"jwks_uri": "http://127.0.0.1:4000/jwks", "servers": ["http://localhost:4000"]})).is_empty());
        // Names are not resolved here, public literals are public.
        assert!(check(local.clone(), serde_json::json!({"jwks_uri": "https://internal.example/jwks", "servers": ["https://8.8.8.8/"]})).is_empty());
        let f = check(
            local,
            serde_json::json!({"jwks_uri": "http://127.0.0.2:4000/jwks", "servers": ["https://as.example", "http://169.254.169.254/"]}),
        );
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(
            f[0].text.contains(
                "JSON /jwks_uri (http://127.0.0.2:4000/jwks) points at a loopback address"
            ),
            "{}",
            f[0].text
        );
        assert!(
            f[1].text.contains("/servers[1]") && f[1].text.contains("cloud metadata"),
            "{}",
            f[1].text
        );
        assert_eq!(f[0].level, Level::Should);
        let public = serde_json::json!({"rs": "https://mcp.example.com/mcp"});
        for internal in [
            "http://localhost/x",
            "http://10.0.0.5/x",
            "http://[fd00::1]/x",
            "http://0x7f.1/x",
            "http://[::ffff:192.168.0.1]/",
        ] {
            let f = check(public.clone(), serde_json::json!({"jwks_uri": internal}));
            assert_eq!(f.len(), 1, "{internal}: {f:#?}");
        }
    }
}
