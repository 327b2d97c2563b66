//! What the canary's controller keeps between runs, beside the flags: the
//! flag, where the canary is, since when, and its newest decisions, as
//! JSON text a host stores and reads back.

use serde_json::{json, Value};

use super::PlanError;

/// The most decisions a state keeps (the newest).
pub const MAX_DECISIONS: usize = 50;
/// The most bytes of a state's JSON text a host reads.
pub const MAX_STATE_BYTES: usize = 131_072;

/// Where a canary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stepping up while the guards hold.
    Running,
    /// A guard found harm: rolled back to 0%, for good.
    RolledBack,
    /// The sample ratio says bucketing or metrics are broken: it advances no
    /// more, and still rolls back on harm.
    Halted,
    /// The last step baked with no harm.
    Complete,
    /// A person changed the flag under the controller: it changes nothing since.
    Stopped,
}

impl Status {
    /// `running`, `rolledBack`, `halted`, `complete` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::RolledBack => "rolledBack",
            Status::Halted => "halted",
            Status::Complete => "complete",
            Status::Stopped => "stopped",
        }
    }

    fn parse(text: &str) -> Option<Status> {
        [
            Status::Running,
            Status::RolledBack,
            Status::Halted,
            Status::Complete,
            Status::Stopped,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What the controller keeps between runs, beside the flags.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The flag under test.
    pub flag: String,
    /// Running, or how it ended.
    pub status: Status,
    /// The plan's step (from 0) it is at.
    pub step: usize,
    /// When that step started: its window of metrics starts there.
    pub step_started_ms: u64,
    /// When the canary started.
    pub started_ms: u64,
    /// The newest decisions, oldest first: `{"atMs", "step", "share",
    /// "action", "reason"}`, the newest with its `figures`.
    pub decisions: Vec<Value>,
}

fn state_error(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        code: "STATE_INVALID",
        path: path.into(),
        message: message.into(),
    }
}

impl State {
    /// Reads a state that [`State::to_json`] wrote.
    pub fn from_json(text: &[u8]) -> Result<State, PlanError> {
        const FIX: &str = "the canary's state is not as flagcore writes it: remove it to start the canary over (`flagcore canary run --restart`)";
        if text.len() > MAX_STATE_BYTES {
            return Err(state_error(
                "$",
                format!("larger than {MAX_STATE_BYTES} bytes: {FIX}"),
            ));
        }
        let value = std::str::from_utf8(text)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::json::parse(t).map_err(|e| e.to_string()))
            .map_err(|e| state_error("$", format!("not JSON ({e}): {FIX}")))?;
        let number = |name: &str| {
            value[name]
                .as_u64()
                .ok_or_else(|| state_error(format!("$.{name}"), FIX))
        };
        let status = value["status"]
            .as_str()
            .and_then(Status::parse)
            .ok_or_else(|| state_error("$.status", FIX))?;
        let decisions = value["decisions"]
            .as_array()
            .filter(|d| d.len() <= MAX_DECISIONS && d.iter().all(Value::is_object))
            .ok_or_else(|| state_error("$.decisions", FIX))?
            .clone();
        Ok(State {
            flag: value["flag"]
                .as_str()
                .ok_or_else(|| state_error("$.flag", FIX))?
                .to_owned(),
            status,
            step: usize::try_from(number("step")?).map_err(|_| state_error("$.step", FIX))?,
            step_started_ms: number("stepStartedMs")?,
            started_ms: number("startedMs")?,
            decisions,
        })
    }

    /// The state as JSON text, within [`MAX_STATE_BYTES`].
    pub fn to_json(&self) -> String {
        let mut decisions = self.decisions.clone();
        loop {
            let text = json!({
                "flag": self.flag, "status": self.status.as_str(), "step": self.step,
                "stepStartedMs": self.step_started_ms, "startedMs": self.started_ms,
                "decisions": decisions,
            })
            .to_string();
            if text.len() <= MAX_STATE_BYTES || decisions.is_empty() {
                return text;
            }
            decisions.remove(0);
        }
    }
}
