//! Suites: the checks, as data. Loads `suites/*.toml` (built in, or from a folder), validates
//! everything that can be validated before a run, and hands the runner a list of [`Check`]s.

pub mod expect;
pub mod model;
pub mod vars;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use model::{ActionKind, CheckDef, Matcher, StatusPattern, StepDef, SuiteFile};

use crate::revision::{Revision, RevisionSet};
use crate::runner::verdict::Level;

pub use model::Party;

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

/// Top-level variables that discovery provides. Anything else a suite names must be saved by an
/// earlier step of the same check.
pub const DISCOVERY_ROOTS: &[&str] = &[
    "target",
    "run",
    "rs",
    "probe",
    "challenge",
    "prm",
    "prm_discovery",
    "as",
    "as_discovery",
];

/// Variables an `authorize` or `token` step provides while it builds its request: the fresh PKCE
/// values (`pkce.verifier`, `pkce.challenge`, `pkce.verifier2`) and the client it uses
/// (`client.client_id`, `client.redirect_uri`, …), and the flow's defaults (`flow.scope`,
/// `flow.resource`).
pub const FLOW_ROOTS: &[&str] = &["pkce", "client", "flow"];

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

/// A suite file that cannot be used, located as `file:line:column`.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct SuiteError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
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
        let mut checks = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (file, text) in sources {
            for check in load_file(&file, &text)? {
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

fn load_file(file: &str, text: &str) -> Result<Vec<Check>, SuiteError> {
    let parsed: SuiteFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        SuiteError {
            file: file.to_string(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
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
            let def = spanned.into_inner();
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
            validate(&def, &stem, &at)?;
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
                steps: def.steps,
                source: format!("{file}:{line}"),
            })
        })
        .collect()
}

type At<'a> = dyn Fn(&str, String) -> SuiteError + 'a;

fn validate(def: &CheckDef, family: &str, at: &At) -> Result<(), SuiteError> {
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
        return Err(at(
            id,
            format!(
                "check `{id}` belongs in suites/{}.toml, not {family}.toml",
                id.split('.').next().unwrap_or("")
            ),
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
        validate_when(w, &known, at)?;
        if w.why.is_none() {
            return Err(at(
                "applies",
                "`applies` needs a `why`: the reason shown when the check does not apply".into(),
            ));
        }
    }
    for step in &def.steps {
        validate_step(step, &mut known, at)?;
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

fn validate_step(step: &StepDef, known: &mut HashSet<String>, at: &At) -> Result<(), SuiteError> {
    let action = *step.action.get_ref();
    let name = action.as_str();
    let misplaced = |field: &str| {
        at(
            &format!("{field} ="),
            format!("`{field}` does not apply to action `{name}`"),
        )
    };
    let flow_fields = step.client.is_some()
        || !step.set.is_empty()
        || !step.omit.is_empty()
        || !step.add.is_empty()
        || step.login.is_some()
        || step.unregistered.is_some()
        || step.from.is_some()
        || step.grant.is_some()
        || step.auth.is_some();
    let has_request_fields = step.method.is_some()
        || step.url.is_some()
        || !step.query.is_empty()
        || !step.headers.is_empty()
        || step.body.is_some()
        || step.json.is_some()
        || step.form.is_some()
        || step.follow.is_some();
    let token_fields = step.bearer.is_some()
        || step.forge.is_some()
        || !step.claims.is_empty()
        || step.jwk.is_some()
        || step.find_refused_tool.is_some();
    if token_fields && action != ActionKind::Mcp {
        return Err(at(
            "action",
            format!(
                "`bearer`, `forge`, `claims`, `jwk` and `find_refused_tool` belong to `mcp` steps, not `{name}`"
            ),
        ));
    }
    if step.forge.is_some() && step.bearer.is_none() {
        return Err(at(
            "forge",
            "`forge` alters the token given in `bearer`; give one (a saved step's token)".into(),
        ));
    }
    if step.bearer.is_some() && (step.token.is_some() || step.authorization.is_some()) {
        return Err(at(
            "bearer",
            "give one of `bearer`, `token`, `authorization`".into(),
        ));
    }
    for v in step.bearer.iter().chain(step.jwk.iter()) {
        check_refs(v, known, at)?;
    }
    for v in step.claims.values() {
        check_toml_refs(v, known, at)?;
    }
    let oauth_request = matches!(
        action,
        ActionKind::Authorize | ActionKind::Token | ActionKind::Revoke | ActionKind::Introspect
    );
    if !step.flip.is_empty() && action != ActionKind::Token {
        return Err(at("flip", "`flip` belongs to `token` steps".into()));
    }
    if step.token_type.is_some() && !matches!(action, ActionKind::Revoke | ActionKind::Introspect) {
        return Err(at(
            "token_type",
            "`token_type` belongs to `revoke` and `introspect` steps".into(),
        ));
    }
    if step.decode.is_some() && action != ActionKind::Inspect {
        return Err(at("decode", "`decode` belongs to `inspect` steps".into()));
    }
    if flow_fields && !oauth_request {
        return Err(at(
            "action",
            format!(
                "`client`, `set`, `omit`, `add`, `login`, `unregistered`, `from`, `grant` and `auth` belong to `authorize` and `token` steps, not `{name}`"
            ),
        ));
    }
    match action {
        ActionKind::Authorize | ActionKind::Token | ActionKind::Revoke | ActionKind::Introspect => {
            for (field, set) in [
                ("rpc", step.rpc.is_some()),
                ("params", step.params.is_some()),
                ("token", step.token.is_some()),
                ("authorization", step.authorization.is_some()),
                ("session", step.session.is_some()),
                ("value", step.value.is_some()),
                ("body", step.body.is_some()),
                ("json", step.json.is_some()),
                ("form", step.form.is_some()),
            ] {
                if set {
                    return Err(misplaced(field));
                }
            }
            if action == ActionKind::Authorize
                && (step.from.is_some() || step.grant.is_some() || step.auth.is_some())
            {
                return Err(at(
                    "action",
                    "`from`, `grant` and `auth` belong to `token` steps".into(),
                ));
            }
            if action != ActionKind::Authorize
                && (step.login.is_some() || step.unregistered.is_some())
            {
                return Err(at(
                    "action",
                    "`login` and `unregistered` belong to `authorize` steps".into(),
                ));
            }
            if action != ActionKind::Authorize {
                // The request's main parameter comes from `from` unless the step gives it itself.
                let main = match (
                    action,
                    step.grant.as_deref().unwrap_or("authorization_code"),
                ) {
                    (ActionKind::Revoke | ActionKind::Introspect, _) => Some("token"),
                    (_, "authorization_code") => Some("code"),
                    (_, "refresh_token") => Some("refresh_token"),
                    _ => None,
                };
                let given = main
                    .is_some_and(|m| step.set.contains_key(m) || step.omit.iter().any(|o| o == m));
                if step.from.is_some() || (main.is_some() && !given) {
                    check_path(
                        step.from.as_deref().unwrap_or(default_from(action)),
                        known,
                        at,
                    )?;
                }
            }
            let mut flow = known.clone();
            flow.extend(FLOW_ROOTS.iter().map(|s| s.to_string()));
            for v in step.set.values().chain(step.add.iter().map(|[_, v]| v)) {
                check_refs(v, &flow, at)?;
            }
        }
        ActionKind::Http => {
            if step.url.is_none() {
                return Err(at("action", "an `http` step needs `url`".to_string()));
            }
            for (field, set) in [
                ("rpc", step.rpc.is_some()),
                ("params", step.params.is_some()),
                ("token", step.token.is_some()),
                ("authorization", step.authorization.is_some()),
                ("session", step.session.is_some()),
                ("value", step.value.is_some()),
            ] {
                if set {
                    return Err(misplaced(field));
                }
            }
        }
        ActionKind::Mcp => {
            for (field, set) in [
                ("body", step.body.is_some()),
                ("json", step.json.is_some()),
                ("form", step.form.is_some()),
                ("value", step.value.is_some()),
            ] {
                if set {
                    return Err(misplaced(field));
                }
            }
            if step.token.is_some() && step.authorization.is_some() {
                return Err(at(
                    "authorization",
                    "give either `token` or `authorization`, not both".to_string(),
                ));
            }
        }
        ActionKind::Inspect => {
            if has_request_fields
                || step.rpc.is_some()
                || step.token.is_some()
                || step.authorization.is_some()
            {
                return Err(at("action", "an `inspect` step sends nothing: it takes only `value`, `expect`, `when`, `save`, `note`, `level`".to_string()));
            }
            match &step.value {
                Some(v) => check_refs(v, known, at)?,
                None => return Err(at("action", "an `inspect` step needs `value`".to_string())),
            }
        }
    }
    if [
        step.body.is_some(),
        step.json.is_some(),
        step.form.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count()
        > 1
    {
        return Err(at(
            "body",
            "give at most one of `body`, `json`, `form`".to_string(),
        ));
    }
    if let Some(m) = &step.method {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(at(
                m,
                format!("HTTP method `{m}` must be upper-case letters"),
            ));
        }
    }
    if let Some(w) = &step.when {
        validate_when(w, known, at)?;
    }
    for s in step
        .url
        .iter()
        .chain(step.body.iter())
        .chain(step.query.values())
        .chain(step.session.iter())
    {
        check_refs(s, known, at)?;
    }
    for v in step
        .headers
        .values()
        .flat_map(|v| v.values())
        .chain(step.authorization.iter().flat_map(|a| a.values()))
    {
        check_refs(v, known, at)?;
    }
    if let Some(f) = &step.form {
        f.values().try_for_each(|v| check_refs(v, known, at))?;
    }
    for v in step.json.iter().chain(step.params.iter()) {
        check_toml_refs(v, known, at)?;
    }
    // Expectations and notes may read the step's own observation as `${this.…}`.
    let mut with_this = known.clone();
    with_this.insert("this".into());
    validate_expect(&step.expect, &with_this, at)?;
    if let Some(note) = &step.note {
        known.insert("this".into());
        let r = check_refs(note, known, at);
        known.remove("this");
        r?;
    }
    if let Some(save) = &step.save {
        if DISCOVERY_ROOTS.contains(&save.as_str()) || save == "this" || save.contains('.') {
            return Err(at(
                save,
                format!("`save = \"{save}\"` would hide a discovery result; pick another name"),
            ));
        }
        known.insert(save.clone());
    }
    Ok(())
}

fn validate_when(w: &model::When, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    for p in w
        .present
        .iter()
        .chain(&w.absent)
        .chain(w.contains.keys())
        .chain(w.equals.keys())
        .chain(w.lacks.keys())
        .chain(w.matches.keys())
    {
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

fn validate_expect(e: &model::Expect, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    for p in e.status.iter().chain(e.status_not.iter()).flatten() {
        if let StatusPattern::Pattern(s) = p {
            if parse_status_pattern(s).is_none() {
                return Err(at(
                    s,
                    format!("status pattern `{s}` must be a code or like \"4xx\""),
                ));
            }
        }
        if let StatusPattern::Code(c) = p {
            if !(100..=599).contains(c) {
                return Err(at(
                    &c.to_string(),
                    format!("status {c} is not an HTTP status code"),
                ));
            }
        }
    }
    for (pointer, m) in &e.json {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err(at(
                pointer,
                format!("JSON pointer `{pointer}` must be empty or start with `/`"),
            ));
        }
        validate_matcher(m, known, at)?;
    }
    for m in e.header.values().chain(e.body.iter()) {
        validate_matcher(m, known, at)?;
    }
    if let Some(c) = &e.challenge {
        c.params
            .values()
            .try_for_each(|m| validate_matcher(m, known, at))?;
    }
    if let Some(u) = &e.no_redirect_to {
        check_refs(u, known, at)?;
    }
    for alt in &e.any_of {
        validate_expect(alt, known, at)?;
    }
    Ok(())
}

fn validate_matcher(m: &Matcher, known: &HashSet<String>, at: &At) -> Result<(), SuiteError> {
    for re in m.matches.iter().chain(m.not_matches.iter()) {
        regex::Regex::new(re).map_err(|e| at(re, format!("bad regular expression: {e}")))?;
    }
    for v in m
        .equals
        .iter()
        .chain(m.not_equals.iter())
        .chain(m.contains.iter())
        .chain(m.not_contains.iter())
        .chain(m.one_of.iter().flatten())
    {
        check_toml_refs(v, known, at)?;
    }
    if let Some(why) = &m.why {
        check_refs(why, known, at)?;
    }
    if m.present == Some(true) && m.absent == Some(true) {
        return Err(at(
            "absent",
            "a matcher cannot require both `present` and `absent`".to_string(),
        ));
    }
    if let Some(each) = &m.each {
        validate_matcher(each, known, at)?;
    }
    Ok(())
}

/// The step a `token` (`auth`), `revoke` or `introspect` (`tok`) step reads when `from` is not given.
pub fn default_from(action: ActionKind) -> &'static str {
    match action {
        ActionKind::Revoke | ActionKind::Introspect => "tok",
        _ => "auth",
    }
}

/// `"4xx"` → 400..=499.
pub fn parse_status_pattern(s: &str) -> Option<std::ops::RangeInclusive<u16>> {
    let b = s.as_bytes();
    if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx") {
        let base = u16::from(b[0] - b'0') * 100;
        return Some(base..=base + 99);
    }
    s.parse::<u16>().ok().map(|c| c..=c)
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
}
