//! Which of the MCP server's tools a run may call (a tool call runs the tool).

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `--call-tools` (`[target] call_tools`): which of the server's tools a run may call. A tool
/// call runs the tool: on a real server it may change data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallTools {
    /// No `tools/call` at all.
    None,
    /// Tools the server marks `readOnlyHint: true` (and not `destructiveHint: true`), and the
    /// tools the profile names.
    #[default]
    ReadOnly,
    /// Every tool (arguments from its input schema, or the profile's).
    All,
}

impl CallTools {
    pub fn as_str(self) -> &'static str {
        match self {
            CallTools::None => "none",
            CallTools::ReadOnly => "read-only",
            CallTools::All => "all",
        }
    }
}

impl std::str::FromStr for CallTools {
    type Err = String;
    fn from_str(s: &str) -> Result<CallTools, String> {
        match s {
            "none" => Ok(CallTools::None),
            "read-only" => Ok(CallTools::ReadOnly),
            "all" => Ok(CallTools::All),
            other => Err(format!(
                "unknown tool-call policy `{other}` (none, read-only, all)"
            )),
        }
    }
}

/// `[[target.tool]]`: a tool the user says is safe to call, with the arguments to call it with.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTool {
    pub name: String,
    #[serde(default)]
    pub arguments: serde_json::Map<String, Value>,
}

/// The run's tool-call policy, and the tools its scope probe chose to call (a later step of the
/// same check may call such a tool again, with a wider token).
#[derive(Debug, Default)]
pub struct ToolPolicy {
    pub call: CallTools,
    pub named: Vec<NamedTool>,
    cleared: Mutex<BTreeSet<String>>,
}

impl ToolPolicy {
    pub fn new(call: CallTools, named: Vec<NamedTool>) -> ToolPolicy {
        ToolPolicy {
            call,
            named,
            cleared: Mutex::new(BTreeSet::new()),
        }
    }
    /// The profile's entry for a tool.
    pub fn named(&self, name: &str) -> Option<&NamedTool> {
        self.named.iter().find(|t| t.name == name)
    }
    /// The probe chose to call this tool under the policy.
    pub fn clear(&self, name: &str) {
        if let Ok(mut c) = self.cleared.lock() {
            c.insert(name.to_string());
        }
    }
    pub fn is_cleared(&self, name: &str) -> bool {
        self.cleared.lock().is_ok_and(|c| c.contains(name))
    }
}
