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
    /// "action", "reason"}`, with `"published": true` on one that
    /// published a generation, and with their `figures` since the newest
    /// of those (the older ones' are in its history record).
    pub decisions: Vec<Value>,
    /// How many decisions since the newest that published were dropped
    /// from [`State::decisions`] to keep it within [`MAX_DECISIONS`].
    pub left_out: u64,
}

/// Drops the oldest of `decisions`: true if it was one no history record
/// holds (no decision after it published).
pub(crate) fn drop_oldest(decisions: &mut Vec<Value>) -> bool {
    let dropped = decisions.remove(0);
    dropped["published"] != json!(true) && decisions.iter().all(|d| d["published"] != json!(true))
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
        let mut decisions = value["decisions"]
            .as_array()
            .filter(|d| d.len() <= MAX_DECISIONS && d.iter().all(Value::is_object))
            .ok_or_else(|| state_error("$.decisions", FIX))?
            .clone();
        // A state from before decisions went into history records marks
        // none as published: its newest step is taken as the last that was.
        if value.get("decisionsLeftOut").is_none() {
            let stepped = ["start", "advance", "rollback"];
            if let Some(last) = decisions
                .iter_mut()
                .rev()
                .find(|d| stepped.iter().any(|a| d["action"] == *a))
            {
                last["published"] = json!(true);
            }
        }
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
            left_out: value["decisionsLeftOut"].as_u64().unwrap_or(0),
        })
    }

    /// The decisions since the newest that published a generation, which
    /// no history record holds yet (oldest first).
    pub fn unpublished(&self) -> &[Value] {
        let from = self
            .decisions
            .iter()
            .rposition(|d| d["published"] == json!(true))
            .map_or(0, |n| n + 1);
        &self.decisions[from..]
    }

    /// The state as JSON text, within [`MAX_STATE_BYTES`] and
    /// [`MAX_DECISIONS`]: the oldest decisions past them are dropped (and
    /// counted, those no history record holds).
    pub fn to_json(&self) -> String {
        let (mut decisions, mut left_out) = (self.decisions.clone(), self.left_out);
        loop {
            let text = json!({
                "flag": self.flag, "status": self.status.as_str(), "step": self.step,
                "stepStartedMs": self.step_started_ms, "startedMs": self.started_ms,
                "decisions": decisions, "decisionsLeftOut": left_out,
            })
            .to_string();
            let fits = text.len() <= MAX_STATE_BYTES && decisions.len() <= MAX_DECISIONS;
            if fits || decisions.is_empty() {
                return text;
            }
            left_out += u64::from(drop_oldest(&mut decisions));
        }
    }
}
