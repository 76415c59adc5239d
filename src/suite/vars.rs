//! `${…}` variables in suite strings. Variables are dot paths into one JSON tree: discovery
//! results (`as.token_endpoint`, `prm.resource`, …) plus the steps a check saved (`reg.status`,
//! `reg.json.client_id`). Numeric segments index arrays.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// The variables one check can see.
#[derive(Clone, Debug)]
pub struct Scope {
    base: Arc<Value>,
    locals: BTreeMap<String, Value>,
}

/// A variable the check needed and the run does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub path: String,
    /// Why discovery could not provide it, when discovery recorded a reason.
    pub why: Option<String>,
}

impl std::error::Error for Missing {}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.why {
            Some(why) => write!(f, "needs `{}`: {why}", self.path),
            None => write!(
                f,
                "needs `{}`, which this target does not provide",
                self.path
            ),
        }
    }
}

impl Scope {
    pub fn new(base: Arc<Value>) -> Self {
        Scope {
            base,
            locals: BTreeMap::new(),
        }
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.locals.insert(name.to_string(), value);
    }

    pub fn unset(&mut self, name: &str) {
        self.locals.remove(name);
    }

    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut segments = path.split('.');
        let root = segments.next()?;
        let mut cur = match self.locals.get(root) {
            Some(v) => v,
            None => self.base.get(root)?,
        };
        for seg in segments {
            cur = match cur {
                Value::Object(map) => map.get(seg)?,
                Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        (!cur.is_null()).then_some(cur)
    }

    pub fn require(&self, path: &str) -> Result<&Value, Missing> {
        self.get(path).ok_or_else(|| self.missing(path))
    }

    fn missing(&self, path: &str) -> Missing {
        // Discovery records why a whole subtree is absent under `_why.<root>`.
        let root = path.split('.').next().unwrap_or(path);
        let why = self
            .base
            .get("_why")
            .and_then(|w| w.get(root))
            .and_then(Value::as_str)
            .map(str::to_string);
        Missing {
            path: path.to_string(),
            why,
        }
    }

    /// Replaces every `${path}` in `s`.
    pub fn interpolate(&self, s: &str) -> Result<String, Missing> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                // The loader rejects unterminated references; keep the text as written.
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let path = &after[..end];
            out.push_str(&display(self.require(path)?));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Converts a TOML value from a suite file to JSON, resolving variables. A string that is
    /// exactly one `${path}` becomes that variable's JSON value, so arrays and objects compare as
    /// such.
    pub fn resolve(&self, v: &toml::Value) -> Result<Value, Missing> {
        Ok(match v {
            toml::Value::String(s) => match sole_reference(s) {
                Some(path) => self.require(path)?.clone(),
                None => Value::String(self.interpolate(s)?),
            },
            toml::Value::Integer(i) => Value::from(*i),
            toml::Value::Float(f) => Value::from(*f),
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::Datetime(d) => Value::String(d.to_string()),
            toml::Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.resolve(i))
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(t) => Value::Object(
                t.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

/// How a JSON value reads inside a string: strings bare, everything else as JSON text.
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn sole_reference(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains("${") && !inner.contains('}')).then_some(inner)
}

/// The variable paths a string refers to, or the offending text of an unterminated reference.
pub fn references(s: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated variable reference in `{s}`"))?;
        let path = &after[..end];
        if path.is_empty()
            || !path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(format!("malformed variable reference `${{{path}}}`"));
        }
        out.push(path);
        rest = &after[end + 1..];
    }
    Ok(out)
}

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
pub const FLOW_ROOTS: &[&str] = &["pkce", "client", "flow", "document"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let mut s = Scope::new(Arc::new(json!({
            "as": {"token_endpoint": "https://a/token", "scopes": ["x", "y"]},
            "_why": {"prm": "no protected resource metadata was found"}
        })));
        s.set("reg", json!({"status": 201, "json": {"client_id": "c1"}}));
        s
    }

    #[test]
    fn interpolates_and_resolves() {
        let s = scope();
        assert_eq!(
            s.interpolate("POST ${as.token_endpoint} as ${reg.json.client_id}")
                .unwrap(),
            "POST https://a/token as c1"
        );
        assert_eq!(s.interpolate("${reg.status}").unwrap(), "201");
        assert_eq!(
            s.resolve(&toml::Value::String("${as.scopes}".into()))
                .unwrap(),
            json!(["x", "y"])
        );
        assert_eq!(s.get("as.scopes.1"), Some(&json!("y")));
    }

    #[test]
    fn missing_variables_carry_discovery_reasons() {
        let err = scope().interpolate("${prm.resource}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "needs `prm.resource`: no protected resource metadata was found"
        );
        assert!(scope().interpolate("${as.nope}").unwrap_err().why.is_none());
    }

    #[test]
    fn finds_references() {
        assert_eq!(references("a ${x.y} b ${z}").unwrap(), vec!["x.y", "z"]);
        assert!(references("${oops").is_err());
        assert!(references("${a b}").is_err());
    }
}
