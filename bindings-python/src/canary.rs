//! The guarded canary's rule, its CloudWatch window and its controller's
//! step (`flagcore::canary`), for `flagcore.canary`: plans, windows and
//! answers as dicts, a refusal as `flagcore.CanaryError` with a code and a
//! JSON path.

use flagcore::canary::cloudwatch::{self, Series};
use flagcore::canary::{self as rule, Plan, PlanError, State};
use pyo3::prelude::*;
use serde_json::{json, Value};

use crate::convert;
use crate::error::canary_error;
use crate::snapshot::Snapshot;

fn read_plan(py: Python<'_>, plan: &Bound<'_, PyAny>) -> PyResult<Plan> {
    Plan::from_value(&convert::to_value(plan)?).map_err(|e| canary_error(py, &e))
}

/// The rule's decision at step `step` (from 0): `{"action", "reason", "figures"}`.
#[pyfunction]
pub fn canary_decide<'py>(
    py: Python<'py>,
    plan: &Bound<'py, PyAny>,
    step: usize,
    started_ms: f64,
    now_ms: f64,
    window: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let plan = read_plan(py, plan)?;
    let window = convert::to_value(window)?;
    let decision = rule::decide(
        &plan,
        step,
        convert::millis(started_ms),
        convert::millis(now_ms),
        &window,
    )
    .map_err(|e| canary_error(py, &e))?;
    convert::to_python(
        py,
        &json!({"action": decision.action.as_str(), "reason": decision.reason, "figures": decision.figures}),
    )
}

/// One run of the controller on `snapshot`: `state` is the text the last
/// run kept (or None), `window` the step's window, or `window_error` why it
/// could not be read (which holds). `{"action", "reason", "figures",
/// "edit", "comment", "decisions", "decisionsLeftOut", "state"}`,
/// `decisions` those the edit's history record holds.
#[pyfunction]
#[pyo3(signature = (snapshot, plan, now_ms, state=None, window=None, window_error=None))]
pub fn canary_step<'py>(
    py: Python<'py>,
    snapshot: &Snapshot,
    plan: &Bound<'py, PyAny>,
    now_ms: f64,
    state: Option<&str>,
    window: Option<&Bound<'py, PyAny>>,
    window_error: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let plan = read_plan(py, plan)?;
    let state = match state {
        Some(text) => Some(State::from_json(text.as_bytes()).map_err(|e| canary_error(py, &e))?),
        None => None,
    };
    let window = match window {
        Some(window) => convert::to_value(window)?,
        None => Value::Null,
    };
    let window = match window_error {
        Some(why) => Err(why),
        None => Ok(&window),
    };
    let outcome = rule::step(
        &plan,
        state.as_ref(),
        &snapshot.core,
        window,
        convert::millis(now_ms),
    )
    .map_err(|e| canary_error(py, &e))?;
    convert::to_python(
        py,
        &json!({
            "action": outcome.action, "reason": outcome.reason, "figures": outcome.figures,
            "edit": outcome.edit, "comment": outcome.comment,
            "decisions": outcome.decisions, "decisionsLeftOut": outcome.decisions_left_out,
            "state": outcome.state.map(|s| s.to_json()),
        }),
    )
}

/// The `GetMetricData` request body for the step's window, or None while
/// the step has no whole minute.
#[pyfunction]
#[pyo3(signature = (plan, canary, control, start_ms, end_ms, namespace="flagcore", function_name=None))]
// Python's keyword arguments, as the Node binding's positional ones.
#[allow(clippy::too_many_arguments)]
pub fn canary_cloudwatch_request<'py>(
    py: Python<'py>,
    plan: &Bound<'py, PyAny>,
    canary: usize,
    control: usize,
    start_ms: f64,
    end_ms: f64,
    namespace: &str,
    function_name: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let plan = read_plan(py, plan)?;
    let series = Series {
        namespace: namespace.to_owned(),
        function: function_name,
    };
    let request = cloudwatch::request(
        &plan,
        &series,
        canary,
        control,
        convert::millis(start_ms),
        convert::millis(end_ms),
    );
    convert::to_python(py, &request.unwrap_or(Value::Null))
}

/// The window the rule reads, from every page `GetMetricData` answered
/// (None: none was asked for).
#[pyfunction]
pub fn canary_cloudwatch_window<'py>(
    py: Python<'py>,
    plan: &Bound<'py, PyAny>,
    pages: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let plan = read_plan(py, plan)?;
    let pages = match pages {
        Some(pages) => Some(convert::to_value(pages)?),
        None => None,
    };
    let list = match &pages {
        None => None,
        Some(Value::Array(list)) => Some(list.as_slice()),
        Some(_) => {
            return Err(canary_error(
                py,
                &PlanError {
                    code: "METRICS_INVALID",
                    path: "$".into(),
                    message: "the pages: an array of GetMetricData's answers".into(),
                },
            ))
        }
    };
    let window = cloudwatch::window(&plan, list).map_err(|e| canary_error(py, &e))?;
    convert::to_python(py, &window)
}
