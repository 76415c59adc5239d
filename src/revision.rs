//! MCP specification revisions. Checks declare which revisions they grade, and a run grades one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    R2025_03_26,
    R2025_06_18,
    R2025_11_25,
    R2026_07_28,
}

impl Revision {
    pub const ALL: [Revision; 4] = [
        Revision::R2025_03_26,
        Revision::R2025_06_18,
        Revision::R2025_11_25,
        Revision::R2026_07_28,
    ];
    pub const LATEST: Revision = Revision::R2026_07_28;

    pub fn as_str(self) -> &'static str {
        match self {
            Revision::R2025_03_26 => "2025-03-26",
            Revision::R2025_06_18 => "2025-06-18",
            Revision::R2025_11_25 => "2025-11-25",
            Revision::R2026_07_28 => "2026-07-28",
        }
    }

    /// The revisions before 2026-07-28 open a session with `initialize`; 2026-07-28 is stateless
    /// and discovers the server with `server/discover`.
    pub fn is_stateless(self) -> bool {
        self >= Revision::R2026_07_28
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Revision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Revision::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown MCP revision `{s}`, expected one of {}",
                    Revision::ALL.map(|r| r.as_str()).join(", ")
                )
            })
    }
}

impl Serialize for Revision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Revision {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of revisions as written in suite files: `"all"`, `"2025-06-18+"` (that revision and
/// later), `"2025-06-18..2025-11-25"` (inclusive range), or a list of revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionSet(Vec<Revision>);

impl RevisionSet {
    pub fn all() -> Self {
        RevisionSet(Revision::ALL.to_vec())
    }
    pub fn contains(&self, r: Revision) -> bool {
        self.0.contains(&r)
    }
    pub fn iter(&self) -> impl Iterator<Item = Revision> + '_ {
        self.0.iter().copied()
    }

    fn parse_one(s: &str) -> Result<Vec<Revision>, String> {
        let s = s.trim();
        if s == "all" {
            return Ok(Revision::ALL.to_vec());
        }
        if let Some(from) = s.strip_suffix('+') {
            let from: Revision = from.parse()?;
            return Ok(Revision::ALL.into_iter().filter(|r| *r >= from).collect());
        }
        if let Some((a, b)) = s.split_once("..") {
            let (a, b): (Revision, Revision) = (a.parse()?, b.parse()?);
            if a > b {
                return Err(format!("empty revision range `{s}`"));
            }
            return Ok(Revision::ALL
                .into_iter()
                .filter(|r| *r >= a && *r <= b)
                .collect());
        }
        Ok(vec![s.parse()?])
    }
}

impl fmt::Display for RevisionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.0.iter().map(|r| r.as_str()).collect();
        f.write_str(&names.join(", "))
    }
}

impl<'de> Deserialize<'de> for RevisionSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let items = match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        };
        let mut out = Vec::new();
        for item in &items {
            for r in RevisionSet::parse_one(item).map_err(serde::de::Error::custom)? {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out.sort();
        if out.is_empty() {
            return Err(serde::de::Error::custom(
                "revisions must name at least one revision",
            ));
        }
        Ok(RevisionSet(out))
    }
}

impl Serialize for RevisionSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> RevisionSet {
        toml::from_str::<std::collections::BTreeMap<String, RevisionSet>>(&format!("r = {s}"))
            .unwrap()
            .remove("r")
            .unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(set("\"all\"").0.len(), 4);
        assert_eq!(
            set("\"2025-11-25+\"").0,
            vec![Revision::R2025_11_25, Revision::R2026_07_28]
        );
        assert_eq!(
            set("\"2025-06-18..2025-11-25\"").0,
            vec![Revision::R2025_06_18, Revision::R2025_11_25]
        );
        assert_eq!(set("[\"2025-03-26\"]").0, vec![Revision::R2025_03_26]);
        assert!(
            toml::from_str::<std::collections::BTreeMap<String, RevisionSet>>("r = \"2024-11-05\"")
                .is_err()
        );
    }
}
