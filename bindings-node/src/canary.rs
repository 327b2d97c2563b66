//! The guarded canary's rule and controller step (`flagcore::canary`),
//! native only (the WASM module has no room), for the `flagcore/canary`
//! handler: JSON text in and out, and a refusal as `flagcore-canary:` with
//! `{"code", "path", "message"}`, which `canary.js` turns into a `CanaryError`.

use flagcore::canary::cloudwatch::{self, Series};
use flagcore::canary::{decide, step, Plan, PlanError, State};
use flagcore::Snapshot;
use napi::bindgen_prelude::External;
use napi::Result;
use napi_derive::napi;
use serde_json::{json, Value};

use crate::error::canary_error;

fn parse(text: &str, what: &str) -> Result<Value> {
    flagcore::parse_json(text).map_err(|e| {
        canary_error(&PlanError {
            code: "PLAN_INVALID",
            path: "$".into(),
            message: format!("the {what} is not JSON: {e}"),
        })
    })
}

fn plan(text: &str) -> Result<Plan> {
    Plan::from_value(&parse(text, "plan")?).map_err(|e| canary_error(&e))
}

/// Milliseconds from a JavaScript number: 0 for NaN and anything not positive.
fn millis(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

/// One run of the controller (`flagcore::canary::step`): `state` is the
/// text the last run kept (or null), `window` the step's window (JSON
/// text), or `windowError` why it could not be read. Answers `{"action",
/// "reason", "figures", "edit", "comment", "decisions", "decisionsLeftOut",
/// "state"}`, `state` the text to keep (null: keep nothing), `decisions`
/// those the edit's history record holds.
#[napi(catch_unwind)]
pub fn canary_step(
    snapshot: &External<Snapshot>,
    plan_json: String,
    state: Option<String>,
    window: Option<String>,
    window_error: Option<String>,
    now_ms: f64,
) -> Result<String> {
    let plan = plan(&plan_json)?;
    let state = match state {
        Some(text) => Some(State::from_json(text.as_bytes()).map_err(|e| canary_error(&e))?),
        None => None,
    };
    let window = match (&window, &window_error) {
        (_, Some(why)) => Err(why.as_str()),
        (Some(text), None) => Ok(parse(text, "window")?),
        (None, None) => Ok(Value::Null),
    };
    let outcome = step(
        &plan,
        state.as_ref(),
        snapshot,
        window.as_ref().map_err(|e| *e),
        millis(now_ms),
    )
    .map_err(|e| canary_error(&e))?;
    Ok(json!({
        "action": outcome.action, "reason": outcome.reason, "figures": outcome.figures,
        "edit": outcome.edit, "comment": outcome.comment,
        "decisions": outcome.decisions, "decisionsLeftOut": outcome.decisions_left_out,
        "state": outcome.state.map(|s| s.to_json()),
    })
    .to_string())
}

/// The decision rule alone (`flagcore::canary::decide`): `{"action",
/// "reason", "figures"}`.
#[napi(catch_unwind)]
pub fn canary_decide(
    plan_json: String,
    step: u32,
    started_ms: f64,
    now_ms: f64,
    window: String,
) -> Result<String> {
    let plan = plan(&plan_json)?;
    let decision = decide(
        &plan,
        step as usize,
        millis(started_ms),
        millis(now_ms),
        &parse(&window, "window")?,
    )
    .map_err(|e| canary_error(&e))?;
    Ok(json!({"action": decision.action.as_str(), "reason": decision.reason, "figures": decision.figures}).to_string())
}

/// The `GetMetricData` request for the step's window (JSON text), or null
/// while the step has no whole minute.
#[napi(catch_unwind)]
pub fn canary_cloudwatch_request(
    plan_json: String,
    namespace: String,
    function_name: Option<String>,
    canary: u32,
    control: u32,
    start_ms: f64,
    end_ms: f64,
) -> Result<Option<String>> {
    let plan = plan(&plan_json)?;
    let series = Series {
        namespace,
        function: function_name,
    };
    Ok(cloudwatch::request(
        &plan,
        &series,
        canary as usize,
        control as usize,
        millis(start_ms),
        millis(end_ms),
    )
    .map(|request| request.to_string()))
}

/// The window (JSON text) from the pages `GetMetricData` answered (a JSON
/// array; null when nothing was asked).
#[napi(catch_unwind)]
pub fn canary_cloudwatch_window(plan_json: String, pages: Option<String>) -> Result<String> {
    let plan = plan(&plan_json)?;
    let pages = match pages {
        Some(text) => Some(parse(&text, "answer")?),
        None => None,
    };
    let list = match &pages {
        None => None,
        Some(Value::Array(list)) => Some(list.as_slice()),
        Some(_) => {
            return Err(canary_error(&PlanError {
                code: "METRICS_INVALID",
                path: "$".into(),
                message: "the pages: an array of GetMetricData's answers".into(),
            }))
        }
    };
    cloudwatch::window(&plan, list)
        .map(|window| window.to_string())
        .map_err(|e| canary_error(&e))
}

/// The alert a rollback, a halt or a stop raises, as an EMF line
/// (`flagcore::canary::alert_line`); null for any other action.
#[napi(catch_unwind)]
pub fn canary_alert_line(
    namespace: String,
    flag: String,
    action: String,
    now_ms: f64,
) -> Option<String> {
    flagcore::canary::alert_line(&namespace, &flag, &action, millis(now_ms))
}
