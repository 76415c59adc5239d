//! The `challenge` predicate: what a `WWW-Authenticate` answer must hold (a Bearer challenge,
//! well formed, with the parameters a suite names). Apart from the generic matchers because it
//! parses the header itself and judges the parsed challenges.

use serde_json::Value;

use super::Eval;
use crate::action::Observed;
use crate::oauth::www_authenticate;
use crate::suite::model::{ChallengeExpect, Level};
use crate::suite::vars::Missing;

impl Eval<'_> {
    pub(super) fn challenge(
        &mut self,
        c: &ChallengeExpect,
        seen: &Observed,
        level: Level,
    ) -> Result<(), Missing> {
        let values: Vec<&str> = seen
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, v)| v.as_str())
            .collect();
        let wants_header = c.header == Some(true)
            || c.bearer == Some(true)
            || c.min_params.is_some()
            || c.well_formed == Some(true);
        if values.is_empty() && wants_header {
            self.push(level, "no WWW-Authenticate header".into());
            return Ok(());
        }
        let parsed = www_authenticate::parse_all(values.iter().copied());
        let challenges = match &parsed {
            Ok(cs) => cs.clone(),
            Err(e) => {
                if !values.is_empty()
                    && (c.bearer.is_some()
                        || c.well_formed == Some(true)
                        || c.min_params.is_some()
                        || !c.params.is_empty())
                {
                    self.push(
                        level,
                        format!(
                            "WWW-Authenticate {:?} does not parse: {e}",
                            values.join(", ")
                        ),
                    );
                }
                return Ok(());
            }
        };
        let bearer = challenges.iter().find(|ch| ch.is_bearer());
        match (c.bearer, bearer) {
            (Some(true), None) => {
                let schemes: Vec<&str> = challenges.iter().map(|ch| ch.scheme.as_str()).collect();
                self.push(
                    level,
                    format!("no Bearer challenge (schemes: {})", schemes.join(", ")),
                );
            }
            (Some(false), Some(b)) => self.push(level, format!("unexpected Bearer challenge: {b}")),
            _ => {}
        }
        if let (Some(min), Some(b)) = (c.min_params, bearer) {
            if b.params.len() < min {
                self.push(
                    level,
                    format!(
                        "the Bearer challenge has {} auth-param(s), expected at least {min}: {:?}",
                        b.params.len(),
                        values.join(", ")
                    ),
                );
            }
        }
        if c.well_formed == Some(true) {
            for b in challenges.iter().filter(|ch| ch.is_bearer()) {
                for p in b.bearer_problems() {
                    self.push(level, format!("Bearer challenge: {p}"));
                }
            }
        }
        for (name, m) in &c.params {
            let v = bearer
                .and_then(|b| b.param(name))
                .map(|s| Value::String(s.to_string()));
            self.matcher(
                &format!("challenge parameter {name}"),
                v.as_ref(),
                m,
                level,
                None,
            )?;
        }
        Ok(())
    }
}
