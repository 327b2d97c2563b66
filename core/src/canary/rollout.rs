//! The flag as the canary's controller reads and sets it: the canary's
//! share of its default rule, and the rollout that gives the canary a
//! step's share, every other value keeping its own.

use serde_json::{json, Map, Value};

use super::{Plan, PlanError};
use crate::edit::{change_from_json, variation_of, TOTAL_WEIGHT};
use crate::published::canonical_json;
use crate::snapshot::Snapshot;

/// How flag `key` stands in `snapshot`: absent, off, or on with the
/// canary's share of its default rule in thousandths of a percent.
pub(super) enum Standing {
    Absent,
    Off,
    On(u32),
}

pub(super) fn standing(plan: &Plan, snapshot: &Snapshot) -> Result<Standing, PlanError> {
    let Some(weights) = default_rule(plan, snapshot)? else {
        return Ok(Standing::Absent);
    };
    let canary = variation(plan, snapshot, &plan.canary, "$.canary")?;
    Ok(match weights {
        None => Standing::Off,
        Some(weights) => Standing::On(weights.get(canary).copied().unwrap_or(0)),
    })
}

/// Flag `plan.flag`'s default rule: each variation's weight (a fixed
/// variation has all of them). `None`: no such flag; `Some(None)`: off.
fn default_rule(plan: &Plan, snapshot: &Snapshot) -> Result<Option<Option<Vec<u32>>>, PlanError> {
    let document: Value = serde_json::from_slice(&canonical_json(snapshot)).unwrap_or(Value::Null);
    let flag = &document["flags"][&plan.flag];
    if !flag.is_object() {
        return Ok(None);
    }
    if flag["on"] != Value::Bool(true) {
        return Ok(Some(None));
    }
    let count = snapshot.variations(&plan.flag).map_or(0, <[Value]>::len);
    let mut weights = vec![0u32; count];
    let fallthrough = &flag["fallthrough"];
    match fallthrough["variation"].as_u64() {
        Some(v) => {
            if let Some(w) = usize::try_from(v).ok().and_then(|v| weights.get_mut(v)) {
                *w = TOTAL_WEIGHT;
            }
        }
        None => {
            for entry in fallthrough["rollout"]["variations"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let at = entry["variation"]
                    .as_u64()
                    .and_then(|v| usize::try_from(v).ok());
                if let (Some(w), Some(weight)) = (
                    at.and_then(|v| weights.get_mut(v)),
                    entry["weight"].as_u64(),
                ) {
                    *w = w
                        .saturating_add(
                            u32::try_from(weight.min(u64::from(TOTAL_WEIGHT)))
                                .unwrap_or(TOTAL_WEIGHT),
                        )
                        .min(TOTAL_WEIGHT);
                }
            }
        }
    }
    Ok(Some(Some(weights)))
}

pub(super) fn variation(
    plan: &Plan,
    snapshot: &Snapshot,
    value: &Value,
    path: &str,
) -> Result<usize, PlanError> {
    variation_of(snapshot, &plan.flag, value).map_err(|e| PlanError {
        code: "PLAN_INVALID",
        path: path.to_owned(),
        message: e.message,
    })
}

/// A step's share in thousandths of a percent, as a rollout stores it.
pub(super) fn weight(percent: f64) -> u32 {
    (percent * 1000.0).round() as u32
}

pub(super) fn shown(weight: u32) -> String {
    format!("{}%", crate::edit::percent(weight))
}

/// The rollout that gives the canary `percent`, leaves each other
/// variation the share it has, and gives control the rest, as the edits
/// name a change (`flagcore::edit::change_from_json`), checked against the
/// flags it will be made to.
pub(super) fn rollout(plan: &Plan, snapshot: &Snapshot, percent: f64) -> Result<Value, PlanError> {
    let refuse = |message: String| PlanError {
        code: "PLAN_INVALID",
        path: "$.steps".into(),
        message,
    };
    let canary = variation(plan, snapshot, &plan.canary, "$.canary")?;
    let control = variation(plan, snapshot, &plan.control, "$.control")?;
    let values = snapshot.variations(&plan.flag).unwrap_or_default();
    let mut weights = default_rule(plan, snapshot)?
        .flatten()
        .unwrap_or_else(|| vec![0; values.len()]);
    weights[canary] = 0;
    weights[control] = 0;
    let others: u32 = weights.iter().sum();
    let share = weight(percent);
    if share + others > TOTAL_WEIGHT {
        return Err(refuse(format!(
            "flag {:?}'s other variations hold {} of its default rule, which leaves the canary less than {percent}%: give them none first (`flagcore flag rollout`)",
            plan.flag,
            shown(others)
        )));
    }
    weights[canary] = share;
    weights[control] = TOTAL_WEIGHT - share - others;
    // A value as a share's key names it: a string as itself, else its JSON.
    let key = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let shares: Map<String, Value> = values
        .iter()
        .zip(&weights)
        .map(|(value, &w)| (key(value), json!(shown(w))))
        .collect();
    if shares.len() != values.len() {
        return Err(refuse(format!(
            "flag {:?} has variations that read alike as text (like \"1\" and 1): the canary cannot name their shares",
            plan.flag
        )));
    }
    let edit = json!({"rollout": plan.flag, "shares": shares});
    change_from_json(snapshot, &edit).map_err(|e| refuse(e.message))?;
    Ok(edit)
}
