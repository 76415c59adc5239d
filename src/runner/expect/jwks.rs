//! The `jwks_public` predicate: a published JWK Set holds no private or symmetric key material,
//! and says which keys sign when it also lists encryption keys.

use serde_json::Value;

use super::Eval;
use crate::action::Observed;
use crate::http::redact::show;
use crate::suite::model::Level;

impl Eval<'_> {
    pub(super) fn jwks_public(&mut self, seen: &Observed, level: Level) {
        let keys = match &seen.json {
            Ok(doc) => match doc.get("keys").and_then(Value::as_array) {
                Some(k) => k,
                None => return self.push(level, "the JWK Set has no `keys` array".into()),
            },
            Err(why) => return self.push(level, format!("the JWK Set is not JSON: {why}")),
        };
        let mut uses = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let Some(obj) = key.as_object() else {
                self.push(level, format!("keys[{i}] is not an object"));
                continue;
            };
            let kid = obj.get("kid").map(show).unwrap_or_else(|| format!("#{i}"));
            let private: Vec<&str> = ["d", "p", "q", "dp", "dq", "qi", "oth"]
                .into_iter()
                .filter(|m| obj.contains_key(*m))
                .collect();
            if !private.is_empty() {
                self.push(
                    level,
                    format!(
                        "key {kid} publishes private member(s) {}",
                        private.join(", ")
                    ),
                );
            }
            if obj.contains_key("k") {
                self.push(
                    level,
                    format!("key {kid} is a symmetric key (member k) in a public JWK Set"),
                );
            }
            uses.push(obj.get("use").and_then(Value::as_str).map(str::to_string));
        }
        // Keys without `use` cannot be told apart from the encryption keys beside them.
        let has_enc = uses.iter().any(|u| u.as_deref() == Some("enc"));
        if has_enc && uses.iter().any(Option::is_none) {
            self.push(level, "signing and encryption keys are published together but not every key says its `use`".into());
        }
    }
}
