//! Everything about a suite file that can be known before a run: fields that belong to the
//! step's action, variables that exist by the time they are read, regular expressions that
//! compile. Errors point at the offending text (`At` locates it in the file).

use std::collections::HashSet;

use super::model::{self, ActionKind, CheckDef, Matcher, StatusPattern, StepDef};
use super::model::{SuiteError, parse_status_pattern};
use super::vars::{self, DISCOVERY_ROOTS, FLOW_ROOTS};

/// Builds an error located at the first occurrence of a needle inside the current check.
pub type At<'a> = dyn Fn(&str, String) -> SuiteError + 'a;

use ActionKind::{Authorize, Http, Inspect, Introspect, Mcp, Register, Revoke, Token, Use, Wait};

/// Actions that send a request with parameters of their own choosing.
const REQUESTS: &[ActionKind] = &[Http, Mcp, Token, Revoke, Introspect];
/// Actions that act as an OAuth client.
const OAUTH: &[ActionKind] = &[Authorize, Token, Revoke, Introspect];
/// Actions that post to an authorization server endpoint with client authentication.
const ENDPOINTS: &[ActionKind] = &[Token, Revoke, Introspect];

/// The optional fields a step sets, each with the actions it belongs to. `action`, `name`,
/// `when`, `save`, `note`, `level`, `precondition`, `given`, `graded_by` and `expect` belong to
/// every action.
fn set_fields(s: &StepDef) -> Vec<(&'static str, &'static [ActionKind])> {
    let fields: [(&'static str, bool, &'static [ActionKind]); 38] = [
        ("shared", s.shared, &[Authorize, Token, Http]),
        ("method", s.method.is_some(), REQUESTS),
        ("url", s.url.is_some(), &[Http, Mcp, Introspect]),
        ("query", !s.query.is_empty(), &[Http, Mcp]),
        (
            "headers",
            !s.headers.is_empty(),
            &[Http, Mcp, Token, Revoke, Introspect, Register],
        ),
        ("body", s.body.is_some(), &[Http]),
        ("json", s.json.is_some(), &[Http, Register]),
        ("form", s.form.is_some(), &[Http]),
        ("follow", s.follow.is_some(), &[Http]),
        ("rpc", s.rpc.is_some(), &[Mcp]),
        ("params", s.params.is_some(), &[Mcp]),
        ("token", s.token.is_some(), &[Mcp]),
        ("authorization", s.authorization.is_some(), &[Mcp]),
        ("session", s.session.is_some(), &[Mcp]),
        ("bearer", s.bearer.is_some(), &[Mcp]),
        ("forge", s.forge.is_some(), &[Mcp]),
        ("claims", !s.claims.is_empty(), &[Mcp]),
        ("jwk", s.jwk.is_some(), &[Mcp]),
        ("find_refused_tool", s.find_refused_tool.is_some(), &[Mcp]),
        ("open_session", s.open_session.is_some(), &[Mcp]),
        ("value", s.value.is_some(), &[Inspect]),
        ("decode", s.decode.is_some(), &[Inspect]),
        (
            "client",
            s.client.is_some(),
            &[Authorize, Token, Revoke, Introspect, Register, Use],
        ),
        ("set", !s.set.is_empty(), OAUTH),
        (
            "omit",
            !s.omit.is_empty(),
            &[Authorize, Token, Revoke, Introspect, Register],
        ),
        ("add", !s.add.is_empty(), OAUTH),
        ("login", s.login.is_some(), &[Authorize]),
        ("document", s.document.is_some(), &[Authorize]),
        ("unregistered", s.unregistered.is_some(), &[Authorize]),
        ("from", s.from.is_some(), ENDPOINTS),
        ("auth", s.auth.is_some(), ENDPOINTS),
        ("grant", s.grant.is_some(), &[Token]),
        ("flip", !s.flip.is_empty(), &[Token]),
        ("token_type", s.token_type.is_some(), &[Revoke, Introspect]),
        ("control", s.control.is_some(), &[Authorize]),
        ("seconds", s.seconds.is_some(), &[Wait]),
        ("sequence", s.sequence.is_some(), &[Use]),
        ("with", !s.with.is_empty(), &[Use]),
    ];
    fields
        .into_iter()
        .filter(|(_, set, _)| *set)
        .map(|(name, _, owners)| (name, owners))
        .collect()
}

pub fn check(def: &CheckDef, family: &str, at: &At) -> Result<(), SuiteError> {
    let id = def.id.get_ref();
    let valid_id = id.split_once('.').is_some_and(|(f, rest)| {
        !f.is_empty()
            && !rest.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
    });
    if !valid_id {
        return Err(at(
            id,
            format!("check id `{id}` must look like `family.name` (lower-case, digits, `-`)"),
        ));
    }
    if id.split('.').next() != Some(family) {
        let wanted = id.split('.').next().unwrap_or("");
        return Err(at(
            id,
            format!("check `{id}` belongs in suites/{wanted}.toml, not {family}.toml"),
        ));
    }
    if def.steps.is_empty() {
        return Err(at(id, format!("check `{id}` has no [[check.step]]")));
    }
    let mut known: HashSet<String> = DISCOVERY_ROOTS.iter().map(|s| s.to_string()).collect();
    for need in &def.needs {
        check_path(need, &known, at)?;
    }
    if let Some(w) = &def.applies {
        when(w, &known, at)?;
        if w.why.is_none() {
            return Err(at(
                "applies",
                "`applies` needs a `why`: the reason shown when the check does not apply".into(),
            ));
        }
    }
    let mut shared = HashSet::new();
    for s in &def.steps {
        step(s, &mut known, &mut shared, at)?;
    }
    Ok(())
}

fn check_path(path: &str, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    let root = path.split('.').next().unwrap_or_default();
    if !known.contains(root) {
        let mut names: Vec<_> = known.iter().map(String::as_str).collect();
        names.sort();
        return Err(at(
            path,
            format!(
                "unknown variable `{path}`: `{root}` is neither a discovery result nor a step saved earlier (known: {})",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

fn check_refs(s: &str, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    for path in vars::references(s).map_err(|m| at(s, m))? {
        check_path(path, known, at)?;
    }
    Ok(())
}

fn check_toml_refs(v: &toml::Value, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    match v {
        toml::Value::String(s) => check_refs(s, known, at),
        toml::Value::Array(items) => items.iter().try_for_each(|i| check_toml_refs(i, known, at)),
        toml::Value::Table(t) => t.values().try_for_each(|i| check_toml_refs(i, known, at)),
        _ => Ok(()),
    }
}

/// `shared` is the names under which shared steps were saved.
fn step(
    s: &StepDef,
    known: &mut HashSet<String>,
    shared: &mut HashSet<String>,
    at: &At,
) -> Result<(), SuiteError> {
    let action = *s.action.get_ref();
    let name = action.as_str();
    for (field, owners) in set_fields(s) {
        if !owners.contains(&action) {
            let owners: Vec<&str> = owners.iter().map(|a| a.as_str()).collect();
            return Err(at(
                &format!("{field} ="),
                format!(
                    "`{field}` does not apply to action `{name}` (it belongs to {})",
                    owners.join(", ")
                ),
            ));
        }
    }
    let one_of = |fields: &[(&str, bool)]| fields.iter().filter(|(_, set)| *set).count() <= 1;
    if action == Http && s.url.is_none() {
        return Err(at("action", "an `http` step needs `url`".into()));
    }
    if action == Register && s.json.as_ref().is_some_and(|j| !j.is_table()) {
        return Err(at(
            "json",
            "a `register` step's `json` is a table: the metadata members it sets".into(),
        ));
    }
    if action == Inspect && s.value.is_none() {
        return Err(at("action", "an `inspect` step needs `value`".into()));
    }
    if !one_of(&[
        ("body", s.body.is_some()),
        ("json", s.json.is_some()),
        ("form", s.form.is_some()),
    ]) {
        return Err(at(
            "body",
            "give at most one of `body`, `json`, `form`".into(),
        ));
    }
    if !one_of(&[
        ("token", s.token.is_some()),
        ("authorization", s.authorization.is_some()),
        ("bearer", s.bearer.is_some()),
    ]) {
        return Err(at(
            "authorization",
            "give one of `token`, `authorization`, `bearer`".into(),
        ));
    }
    if s.forge.is_some() && s.bearer.is_none() {
        return Err(at(
            "forge",
            "`forge` alters the token given in `bearer`; give one (a saved step's token)".into(),
        ));
    }
    if let Some(m) = &s.method {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(at(
                m,
                format!("HTTP method `{m}` must be upper-case letters"),
            ));
        }
    }
    if ENDPOINTS.contains(&action) {
        // The request's main parameter comes from `from` unless the step gives it itself.
        let main = match (action, s.grant.as_deref().unwrap_or("authorization_code")) {
            (Revoke | Introspect, _) => Some("token"),
            (_, "authorization_code") => Some("code"),
            (_, "refresh_token") => Some("refresh_token"),
            _ => None,
        };
        let given = main.is_some_and(|m| s.set.contains_key(m) || s.omit.iter().any(|o| o == m));
        let from = s.from.as_deref().unwrap_or(default_from(action));
        if s.from.is_some() || (main.is_some() && !given) {
            check_path(from, known, at)?;
        }
        // Other checks read a shared code or token: redeeming or revoking it here would change
        // what they see, depending on which check ran first.
        let reads_shared = main.is_some() && !given && shared.contains(from);
        if reads_shared && (action == Revoke || (action == Token && !s.shared)) {
            return Err(at(
                &format!("action = \"{name}\""),
                format!(
                    "this step would redeem or revoke what the shared step `{from}` obtained, which other checks share; make `{from}` (and the steps it reads from) unshared"
                ),
            ));
        }
        if s.shared && action == Token {
            if !shared.contains(from) {
                return Err(at(
                    "shared",
                    format!(
                        "a shared token step redeems the code of a shared authorize step; `{from}` is not one"
                    ),
                ));
            }
            let changed = !s.set.is_empty()
                || !s.omit.is_empty()
                || !s.add.is_empty()
                || !s.flip.is_empty()
                || s.auth.is_some()
                || s.method.is_some()
                || s.client.is_some()
                || s.grant
                    .as_deref()
                    .is_some_and(|g| g != "authorization_code");
            if changed {
                return Err(at(
                    "shared",
                    "a shared token step redeems its shared code the ordinary way, or two checks could redeem one code: drop `shared` or the changes".into(),
                ));
            }
        }
    }
    // A shared step's request must mean the same in every check that makes it: it may read
    // discovery results (and a token step the shared step it redeems), never a check's own steps.
    let visible: HashSet<String> = if s.shared {
        let from = (action == Token).then(|| s.from.as_deref().unwrap_or(default_from(action)));
        DISCOVERY_ROOTS
            .iter()
            .copied()
            .chain(from.filter(|f| shared.contains(*f)))
            .map(str::to_string)
            .collect()
    } else {
        known.clone()
    };
    if let Some(w) = &s.when {
        when(w, known, at)?;
    }
    let texts = s
        .url
        .iter()
        .chain(s.body.iter())
        .chain(s.query.values())
        .chain(s.session.iter())
        .chain(s.bearer.iter())
        .chain(s.jwk.iter())
        .chain(s.value.iter())
        .chain(s.form.iter().flat_map(|f| f.values()))
        .map(String::as_str)
        .chain(s.headers.values().flat_map(|v| v.values()))
        .chain(s.authorization.iter().flat_map(|a| a.values()));
    for t in texts {
        check_refs(t, &visible, at)?;
    }
    for v in s
        .json
        .iter()
        .chain(s.params.iter())
        .chain(s.claims.values())
    {
        check_toml_refs(v, &visible, at)?;
    }
    // While an OAuth step builds its request it also knows its PKCE values and client.
    let mut flow = visible.clone();
    flow.extend(FLOW_ROOTS.iter().map(|r| r.to_string()));
    for v in s.set.values().chain(s.add.iter().map(|[_, v]| v)) {
        check_refs(v, &flow, at)?;
    }
    // Expectations and notes may read the step's own observation as `${this.…}`.
    let mut with_this = known.clone();
    with_this.insert("this".into());
    expect(&s.expect, &with_this, at)?;
    if let Some(g) = &s.given {
        expect(g, &with_this, at)?;
    }
    if s.given.is_some() != s.graded_by.is_some() {
        return Err(at(
            if s.given.is_some() { "given" } else { "graded_by" },
            "`given` and `graded_by` go together: what must hold for this step to be graded here, and the check that grades it otherwise".into(),
        ));
    }
    if let Some(note) = &s.note {
        check_refs(note, &with_this, at)?;
    }
    if let Some(save) = &s.save {
        if DISCOVERY_ROOTS.contains(&save.as_str()) || save == "this" || save.contains('.') {
            return Err(at(
                save,
                format!("`save = \"{save}\"` would hide a discovery result; pick another name"),
            ));
        }
        known.insert(save.clone());
        if s.shared {
            shared.insert(save.clone());
        } else {
            // A name saved again no longer holds the shared answer.
            shared.remove(save);
        }
    }
    Ok(())
}

fn when(w: &model::When, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    let paths = w
        .present
        .iter()
        .chain(&w.absent)
        .chain(w.contains.keys())
        .chain(w.equals.keys())
        .chain(w.lacks.keys())
        .chain(w.matches.keys());
    for p in paths {
        check_path(p, known, at)?;
    }
    for re in w.matches.values() {
        regex::Regex::new(re).map_err(|e| at(re, format!("bad regular expression: {e}")))?;
    }
    for v in w
        .contains
        .values()
        .chain(w.equals.values())
        .chain(w.lacks.values())
    {
        check_toml_refs(v, known, at)?;
    }
    Ok(())
}

fn expect(e: &model::Expect, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    for p in e
        .status
        .iter()
        .map(|s| s.patterns())
        .chain(e.status_not.iter().map(Vec::as_slice))
        .flatten()
    {
        match p {
            StatusPattern::Pattern(s) if parse_status_pattern(s).is_none() => {
                return Err(at(
                    s,
                    format!("status pattern `{s}` must be a code or like \"4xx\""),
                ));
            }
            StatusPattern::Code(c) if !(100..=599).contains(c) => {
                return Err(at(
                    &c.to_string(),
                    format!("status {c} is not an HTTP status code"),
                ));
            }
            _ => {}
        }
    }
    for (pointer, m) in &e.json {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err(at(
                pointer,
                format!("JSON pointer `{pointer}` must be empty or start with `/`"),
            ));
        }
        matcher(m, known, at)?;
    }
    for m in e.header.values().chain(e.body.iter()) {
        matcher(m, known, at)?;
    }
    if let Some(c) = &e.challenge {
        c.params.values().try_for_each(|m| matcher(m, known, at))?;
    }
    if let Some(u) = &e.no_redirect_to {
        check_refs(u, known, at)?;
    }
    for alt in &e.any_of {
        expect(alt, known, at)?;
    }
    Ok(())
}

fn matcher(m: &Matcher, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    for re in m.matches.iter().chain(m.not_matches.iter()) {
        regex::Regex::new(re).map_err(|e| at(re, format!("bad regular expression: {e}")))?;
    }
    let values = m
        .equals
        .iter()
        .chain(m.not_equals.iter())
        .chain(m.contains.iter())
        .chain(m.not_contains.iter())
        .chain(m.one_of.iter().flatten());
    for v in values {
        check_toml_refs(v, known, at)?;
    }
    if let Some(why) = &m.why {
        check_refs(why, known, at)?;
    }
    if m.present == Some(true) && m.absent == Some(true) {
        return Err(at(
            "absent",
            "a matcher cannot require both `present` and `absent`".into(),
        ));
    }
    if let Some(each) = &m.each {
        matcher(each, known, at)?;
    }
    Ok(())
}

/// The check IDs a check's `graded_by` fields name (validated across the whole suite).
pub fn graded_by_names(steps: &[StepDef]) -> Vec<&str> {
    fn from_expect<'a>(e: &'a model::Expect, out: &mut Vec<&'a str>) {
        let matchers = e
            .json
            .values()
            .chain(e.header.values())
            .chain(e.body.iter())
            .chain(e.challenge.iter().flat_map(|c| c.params.values()));
        for m in matchers {
            out.extend(m.graded_by.as_deref());
        }
        for alt in &e.any_of {
            from_expect(alt, out);
        }
    }
    let mut out = Vec::new();
    for s in steps {
        out.extend(s.graded_by.as_deref());
        out.extend(s.expect.status.as_ref().and_then(|st| st.graded_by()));
        from_expect(&s.expect, &mut out);
        if let Some(g) = &s.given {
            from_expect(g, &mut out);
        }
    }
    out
}

/// The step a `token` (`auth`), `revoke` or `introspect` (`tok`) step reads when `from` is not given.
pub fn default_from(action: ActionKind) -> &'static str {
    match action {
        Revoke | Introspect => "tok",
        _ => "auth",
    }
}
