//! The controller's step, pure: from the plan, the controller's state (as
//! the last run left it), the flags as they are now, the step's window of
//! metrics (or why it could not be read) and the time, what to do now: the
//! edit to publish, if any, with the comment `flagcore history` shows, and
//! the state to keep. A host reads those, and writes these.
//!
//! The controller never overrules a person. Once running, a flag that was
//! turned off or removed, or a rollout lowered or set to a share that is no
//! step of the plan, stops it for good: it changes nothing from then on,
//! and never turns the flag back on. A rollout a person raised to a later
//! step of the plan is taken up there, baking from then.

use serde_json::{json, Map, Value};

use super::rollout::{rollout, shown, standing, variation, weight, Standing};
use super::state::{drop_oldest, State, Status, MAX_DECISIONS};
use super::{decide, Action, Plan, PlanError};
use crate::snapshot::Snapshot;

/// Who the controller's edits name as their author.
pub const AUTHOR: &str = "flagcore canary";

/// What a run does.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `start`, `advance`, `hold`, `rollback`, `halt`, `complete`, `stop`,
    /// or `ended` (the canary had ended before this run).
    pub action: &'static str,
    /// Why, in words and figures.
    pub reason: String,
    /// The figures the decision was made on (`null` when none were read).
    pub figures: Value,
    /// The edit to publish, if any, as the edits name a change (made with
    /// `flagcore::edit::change_from_json` and `apply`).
    pub edit: Option<Value>,
    /// The history's comment for that edit.
    pub comment: String,
    /// With an edit, the decisions its history record holds: those since
    /// the last that published, oldest first, each with its figures, this
    /// one last (`{"atMs", "step", "share", "action", "reason",
    /// "figures"}`).
    pub decisions: Vec<Value>,
    /// How many of those the state could not keep.
    pub decisions_left_out: u64,
    /// The state to keep; `None`: keep nothing (the canary did not start).
    pub state: Option<State>,
}

/// What the controller does now. `window` is the current step's metrics
/// since [`State::step_started_ms`] (see [`decide`]), or why the metrics
/// source could not be read, which holds. `state` is `None` before the
/// canary starts. An error means the plan does not fit the flags (or a
/// window cannot be real): nothing is done.
pub fn step(
    plan: &Plan,
    state: Option<&State>,
    snapshot: &Snapshot,
    window: Result<&Value, &str>,
    now_ms: u64,
) -> Result<Outcome, PlanError> {
    let standing = standing(plan, snapshot)?;
    let Some(state) = state.filter(|s| s.flag == plan.flag) else {
        return start(plan, snapshot, &standing, now_ms);
    };
    let mut next = state.clone();
    let share = plan.steps.get(state.step).map_or(0, |&p| weight(p));
    let record = |next: &mut State, action: &'static str, reason: String, figures: Value| {
        let mut decision = json!({
            "atMs": now_ms, "step": next.step, "share": plan.steps.get(next.step),
            "action": action, "reason": reason, "figures": figures,
        });
        if decision["figures"].is_null() {
            decision.as_object_mut().map(|d| d.remove("figures"));
        }
        keep(next, decision);
    };
    let outcome = |action, reason: String, figures, edit, comment, state| Outcome {
        action,
        reason,
        figures,
        edit,
        comment,
        state,
        decisions: Vec::new(),
        decisions_left_out: 0,
    };
    if !matches!(state.status, Status::Running | Status::Halted) {
        let reason = format!(
            "the canary of {:?} ended: {}; start it over with --restart",
            plan.flag,
            state.status.as_str()
        );
        return Ok(outcome(
            "ended",
            reason,
            Value::Null,
            None,
            String::new(),
            Some(next),
        ));
    }
    // A hold on no figures, which says why.
    let hold = |mut next: State, reason: String| {
        record(&mut next, "hold", reason.clone(), Value::Null);
        Ok(outcome(
            "hold",
            reason,
            Value::Null,
            None,
            String::new(),
            Some(next),
        ))
    };
    let stop = |mut next: State, reason: String| {
        next.status = Status::Stopped;
        record(&mut next, "stop", reason.clone(), Value::Null);
        Ok(outcome(
            "stop",
            reason,
            Value::Null,
            None,
            String::new(),
            Some(next),
        ))
    };
    let now_share = match standing {
        Standing::Absent => {
            return stop(
                next,
                format!(
                    "flag {:?} is gone (archived): the controller stops",
                    plan.flag
                ),
            )
        }
        Standing::Off => {
            return stop(
                next,
                format!(
                "someone turned flag {:?} off: the controller stops, and never turns it back on",
                plan.flag
            ),
            )
        }
        Standing::On(w) => w,
    };
    if now_share != share {
        let later =
            (state.step + 1..plan.steps.len()).find(|&k| weight(plan.steps[k]) == now_share);
        if let Some(k) = later {
            next.step = k;
            next.step_started_ms = now_ms;
            let reason = format!(
                "the rollout is at {}, step {} of the plan, not {}: someone raised it; the controller resumes there, baking from now",
                shown(now_share),
                k + 1,
                shown(share)
            );
            return hold(next, reason);
        }
        let what = if now_share < share {
            "lowered it (a rollback)"
        } else {
            "set a share that is no step of the plan"
        };
        return stop(next, format!(
            "the rollout of {:?} is {} where the controller left {}: someone {what}; the controller stops",
            plan.flag,
            shown(now_share),
            shown(share)
        ));
    }
    // A hold on no figures, which says why.
    let hold = |mut next: State, reason: String| {
        record(&mut next, "hold", reason.clone(), Value::Null);
        Ok(outcome(
            "hold",
            reason,
            Value::Null,
            None,
            String::new(),
            Some(next),
        ))
    };
    let window = match window {
        Ok(window) => window,
        Err(why) => {
            return hold(
                next,
                format!(
                    "holding at {}: the metrics could not be read: {why}",
                    shown(share)
                ),
            )
        }
    };
    let decision = match decide(plan, state.step, state.step_started_ms, now_ms, window) {
        Ok(decision) => decision,
        // Figures that cannot be real hold, and say why: no action on them.
        Err(e) if e.code == "WINDOW_INVALID" => {
            return hold(
                next,
                format!(
                    "holding at {}: the metrics do not add up: {e}",
                    shown(share)
                ),
            )
        }
        Err(e) => return Err(e),
    };
    let figures = decision.figures.clone();
    let at = format!(
        "step {} of {} ({})",
        state.step + 1,
        plan.steps.len(),
        shown(share)
    );
    let halted = state.status == Status::Halted;
    let (action, change, comment) = match decision.action {
        // Halted: never advanced, still rolled back on harm.
        Action::Hold | Action::Advance | Action::Halt | Action::Complete if halted => {
            let reason = format!(
                "halted at {}, and still guarded: it rolls back on harm, and advances no more; start it over with --restart once bucketing and metrics are fixed ({})",
                shown(share),
                decision.reason
            );
            record(&mut next, "hold", reason.clone(), figures.clone());
            return Ok(outcome(
                "hold",
                reason,
                figures,
                None,
                String::new(),
                Some(next),
            ));
        }
        Action::Hold => ("hold", None, String::new()),
        Action::Advance => {
            let to = plan.steps[state.step + 1];
            next.step += 1;
            next.step_started_ms = now_ms;
            // Another value a person gave a share since the start leaves
            // the next step no room: the controller stops, and says why.
            let change = match rollout(plan, snapshot, to) {
                Ok(change) => change,
                Err(e) => {
                    return stop(
                        state.clone(),
                        format!("the next step cannot be made: {}", e.message),
                    )
                }
            };
            (
                "advance",
                Some(change),
                format!("canary {}: {at} → {to}%: {}", plan.flag, decision.reason),
            )
        }
        Action::RollBack => {
            next.status = Status::RolledBack;
            let change = rollout(plan, snapshot, 0.0)?;
            (
                "rollback",
                Some(change),
                format!(
                    "canary {}: rolled back to 0% at {at}: {}",
                    plan.flag, decision.reason
                ),
            )
        }
        Action::Halt => {
            next.status = Status::Halted;
            ("halt", None, String::new())
        }
        Action::Complete => {
            next.status = Status::Complete;
            ("complete", None, String::new())
        }
    };
    record(&mut next, action, decision.reason.clone(), figures.clone());
    let (decisions, decisions_left_out) = if change.is_some() {
        published(&mut next)
    } else {
        (Vec::new(), 0)
    };
    Ok(Outcome {
        decisions,
        decisions_left_out,
        ..outcome(
            action,
            decision.reason,
            figures,
            change,
            fit(comment),
            Some(next),
        )
    })
}

/// Keeps `decision`, the newest, in the state, which drops its oldest past
/// [`MAX_DECISIONS`] (counting one no history record holds).
fn keep(state: &mut State, decision: Value) {
    state.decisions.push(decision);
    if state.decisions.len() > MAX_DECISIONS {
        state.left_out += u64::from(drop_oldest(&mut state.decisions));
    }
}

/// Marks the newest decision as the one that published, and answers the
/// decisions its history record holds (those since the last that
/// published), with how many the state dropped. The state keeps their
/// figures no more, but the newest's.
fn published(state: &mut State) -> (Vec<Value>, u64) {
    let from = state.unpublished().len();
    let count = state.decisions.len();
    let decisions = state.decisions[count - from..].to_vec();
    let left_out = std::mem::take(&mut state.left_out);
    for (n, decision) in state.decisions.iter_mut().enumerate() {
        if let Some(decision) = decision.as_object_mut() {
            if n + 1 == count {
                decision.insert("published".into(), json!(true));
            } else {
                decision.remove("figures");
            }
        }
    }
    (decisions, left_out)
}

/// The first run: the rollout set to the first step (or taken up at the
/// step it already is at).
fn start(
    plan: &Plan,
    snapshot: &Snapshot,
    standing: &Standing,
    now_ms: u64,
) -> Result<Outcome, PlanError> {
    let share = match standing {
        Standing::Absent => {
            return Err(PlanError {
                code: "PLAN_INVALID",
                path: "$.flag".into(),
                message: format!(
                    "there is no flag {:?}: create it first (`flagcore flag create {}`)",
                    plan.flag, plan.flag
                ),
            })
        }
        Standing::Off => {
            variation(plan, snapshot, &plan.control, "$.control")?;
            let reason = format!(
                "flag {:?} is off: the canary starts once it is on (`flagcore flag on {}`); nothing was done",
                plan.flag, plan.flag
            );
            return Ok(Outcome {
                action: "hold",
                reason,
                figures: Value::Null,
                edit: None,
                comment: String::new(),
                state: None,
                decisions: Vec::new(),
                decisions_left_out: 0,
            });
        }
        Standing::On(w) => *w,
    };
    variation(plan, snapshot, &plan.control, "$.control")?;
    // Every step must fit beside the shares other values hold.
    if let Some(&last) = plan.steps.last() {
        rollout(plan, snapshot, last)?;
    }
    let mut state = State {
        flag: plan.flag.clone(),
        status: Status::Running,
        step: 0,
        step_started_ms: now_ms,
        started_ms: now_ms,
        decisions: Vec::new(),
        left_out: 0,
    };
    let at = plan
        .steps
        .iter()
        .position(|&p| weight(p) == share && share > 0);
    let (reason, change) = match at {
        Some(k) => {
            state.step = k;
            (
                format!(
                    "the rollout is already at {}, step {} of the plan: the canary starts there",
                    shown(share),
                    k + 1
                ),
                None,
            )
        }
        None => (
            format!(
                "the canary starts: {} → {}% ({} steps: {})",
                shown(share),
                plan.steps[0],
                plan.steps.len(),
                plan.steps
                    .iter()
                    .map(|s| format!("{s}%"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(rollout(plan, snapshot, plan.steps[0])?),
        ),
    };
    let mut decision = Map::new();
    decision.insert("atMs".into(), json!(now_ms));
    decision.insert("step".into(), json!(state.step));
    decision.insert("share".into(), json!(plan.steps[state.step]));
    decision.insert("action".into(), json!("start"));
    decision.insert("reason".into(), json!(reason));
    state.decisions.push(Value::Object(decision));
    let (decisions, decisions_left_out) = if change.is_some() {
        published(&mut state)
    } else {
        (Vec::new(), 0)
    };
    let comment = fit(format!("canary {}: {reason}", plan.flag));
    Ok(Outcome {
        action: "start",
        reason,
        figures: Value::Null,
        edit: change,
        comment: if at.is_some() { String::new() } else { comment },
        state: Some(state),
        decisions,
        decisions_left_out,
    })
}

/// A comment within the history's bound.
fn fit(comment: String) -> String {
    const MOST: usize = crate::edit::record::MAX_COMMENT_CHARS;
    if comment.chars().count() <= MOST {
        return comment;
    }
    let mut cut: String = comment.chars().take(MOST - 1).collect();
    cut.push('…');
    cut
}

/// The alert a rollback, a halt or a stop raises, as a CloudWatch Embedded
/// Metric Format line: metric `CanaryRollback`, `CanaryHalt` or
/// `CanaryStop` (a count of 1) under `namespace`, by `FlagKey`, so that a
/// CloudWatch alarm can page on it. `None` for any other action.
pub fn alert_line(namespace: &str, flag: &str, action: &str, timestamp_ms: u64) -> Option<String> {
    let metric = match action {
        "rollback" => "CanaryRollback",
        "halt" => "CanaryHalt",
        "stop" => "CanaryStop",
        _ => return None,
    };
    Some(
        json!({
            "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
                "Namespace": namespace, "Dimensions": [["FlagKey"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }]},
            "FlagKey": flag,
            metric: 1,
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_an_emf_count_by_flag() {
        let line = alert_line("flagcore", "new-checkout", "rollback", 1_800_000_000_000).unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["CanaryRollback"], 1);
        assert_eq!(value["FlagKey"], "new-checkout");
        assert_eq!(
            value["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FlagKey"]])
        );
        assert_eq!(
            value["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "flagcore"
        );
        assert!(alert_line("flagcore", "new-checkout", "hold", 0).is_none());
        assert!(alert_line("flagcore", "new-checkout", "stop", 0)
            .unwrap()
            .contains("\"CanaryStop\":1"));
    }
}
