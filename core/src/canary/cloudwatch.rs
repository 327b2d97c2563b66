//! A canary's window from CloudWatch, pure: the `GetMetricData` request a
//! host sends (the series flagcore's EMF lines make, core/src/metrics.rs),
//! and the window [`super::decide`] reads, from the answers. A host sends
//! the request, follows its `NextToken`, and hands every page back.
//!
//! - Users per variation: the sum of `Evaluations` by `FlagKey` and
//!   `Variation` (the variation's index).
//! - Each guard's metric by the flag's own dimension (named after the flag,
//!   valued with the variation's index): for a rate, its `SampleCount` and
//!   `Sum` over the window; for a mean, a `[count, sum]` batch a minute
//!   (CloudWatch keeps no sum of squares: see [`super::stats::batch_moments`]).
//! - With `FunctionName` when a function is named: Lambda writes each
//!   function's series apart.
//!
//! The window starts at the first whole minute after the step started and
//! settled (the plan's `settleSeconds`: until their time to live runs out,
//! functions answer from the flags before the step), so that no minute of
//! the step before counts; it ends at the last whole minute, and spans at
//! most the newest week of minutes (a longer step's window slides).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{GuardKind, Plan, PlanError, MAX_BATCHES};

/// A datapoint a minute.
pub const PERIOD_SECONDS: u64 = 60;
/// The most pages of `GetMetricData` answers a window is read from.
pub const MAX_PAGES: usize = 20;

/// Where the series are: the namespace (`flagcore` unless `metrics: {
/// namespace }` said otherwise) and the function, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The EMF namespace.
    pub namespace: String,
    /// The `FunctionName` dimension; `None`: series without one.
    pub function: Option<String>,
}

/// The `GetMetricData` request body for the window from `start_ms` to
/// `end_ms` of `plan`'s flag, whose canary and control are variations
/// `canary` and `control`; `None` while the step has no whole minute yet
/// (no data: the rule holds).
pub fn request(
    plan: &Plan,
    series: &Series,
    canary: usize,
    control: usize,
    start_ms: u64,
    end_ms: u64,
) -> Option<Value> {
    let settled = start_ms.saturating_add(plan.settle_ms);
    let start = settled.div_ceil(1000).div_ceil(PERIOD_SECONDS) * PERIOD_SECONDS;
    // Whole minutes only: the minute under way is read at the next run.
    let end = end_ms / 1000 / PERIOD_SECONDS * PERIOD_SECONDS;
    let start = start.max(end.saturating_sub(MAX_BATCHES as u64 * PERIOD_SECONDS));
    if end < start + PERIOD_SECONDS {
        return None;
    }
    let mut base = Vec::new();
    if let Some(function) = &series.function {
        base.push(json!({"Name": "FunctionName", "Value": function}));
    }
    let query = |id: String, metric: &str, dimensions: Vec<Value>, stat: &str| {
        json!({
            "Id": id,
            "MetricStat": {
                "Metric": {"Namespace": series.namespace, "MetricName": metric, "Dimensions": dimensions},
                "Period": PERIOD_SECONDS,
                "Stat": stat,
            },
            "ReturnData": true,
        })
    };
    let mut queries = Vec::new();
    for (side, index) in [("canary", canary), ("control", control)] {
        let mut users = base.clone();
        users.push(json!({"Name": "FlagKey", "Value": plan.flag}));
        users.push(json!({"Name": "Variation", "Value": index.to_string()}));
        queries.push(query(format!("users_{side}"), "Evaluations", users, "Sum"));
        for (g, guard) in plan.guards.iter().enumerate() {
            let mut dimensions = base.clone();
            dimensions.push(json!({"Name": plan.flag, "Value": index.to_string()}));
            for (stat, name) in [("SampleCount", "count"), ("Sum", "sum")] {
                queries.push(query(
                    format!("g{g}_{side}_{name}"),
                    &guard.metric,
                    dimensions.clone(),
                    stat,
                ));
            }
        }
    }
    Some(json!({
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }))
}

fn answer_error(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        code: "METRICS_INVALID",
        path: path.into(),
        message: message.into(),
    }
}

/// The window [`super::decide`] reads, from every page `GetMetricData`
/// answered to [`request`] (`None` when it was not sent: no whole minute).
pub fn window(plan: &Plan, pages: Option<&[Value]>) -> Result<Value, PlanError> {
    let Some(pages) = pages else {
        return Ok(
            json!({"users": {"canary": 0, "control": 0, "unit": "evaluations"}, "metrics": {}}),
        );
    };
    if pages.len() > MAX_PAGES {
        return Err(answer_error(
            "$",
            format!("more than {MAX_PAGES} pages of GetMetricData answers"),
        ));
    }
    // Each query's values by minute, over every page.
    let mut series: BTreeMap<String, BTreeMap<u64, f64>> = BTreeMap::new();
    for (p, page) in pages.iter().enumerate() {
        for (r, result) in page["MetricDataResults"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("$[{p}].MetricDataResults[{r}]");
            let id = result["Id"]
                .as_str()
                .ok_or_else(|| answer_error(format!("{at}.Id"), "a query's id"))?;
            let empty = Vec::new();
            let times = result["Timestamps"].as_array().unwrap_or(&empty);
            let values = result["Values"].as_array().unwrap_or(&empty);
            if times.len() != values.len() || times.len() > MAX_BATCHES {
                return Err(answer_error(
                    &at,
                    format!(
                        "{} timestamps and {} values: as many of each, at most {MAX_BATCHES}",
                        times.len(),
                        values.len()
                    ),
                ));
            }
            let entry = series.entry(id.to_owned()).or_default();
            for (time, value) in times.iter().zip(values) {
                match (time.as_f64(), value.as_f64()) {
                    (Some(time), Some(value)) if time >= 0.0 && value.is_finite() => {
                        *entry.entry(time as u64).or_insert(0.0) += value;
                    }
                    _ => return Err(answer_error(&at, "timestamps in seconds and finite values")),
                }
            }
        }
    }
    let points = |id: &str| series.get(id).cloned().unwrap_or_default();
    let total = |id: &str| points(id).values().sum::<f64>();
    let mut metrics = Map::new();
    for (g, guard) in plan.guards.iter().enumerate() {
        let mut sides = Map::new();
        for side in ["canary", "control"] {
            let counts = points(&format!("g{g}_{side}_count"));
            let sums = points(&format!("g{g}_{side}_sum"));
            let value = match guard.kind {
                GuardKind::Rate => json!({
                    "count": counts.values().sum::<f64>().round(),
                    "sum": sums.values().sum::<f64>(),
                }),
                GuardKind::Mean => {
                    // A minute needs both its count and its sum: one without
                    // the other is left out, not read as a sum of 0.
                    let batches: Vec<Value> = counts
                        .iter()
                        .filter_map(|(at, n)| sums.get(at).map(|sum| json!([n.round(), sum])))
                        .collect();
                    json!({ "batches": batches })
                }
            };
            sides.insert(side.into(), value);
        }
        metrics.insert(guard.metric.clone(), Value::Object(sides));
    }
    let (canary, control) = (points("users_canary"), points("users_control"));
    let minutes: std::collections::BTreeSet<u64> =
        canary.keys().chain(control.keys()).copied().collect();
    let batches: Vec<Value> = minutes
        .iter()
        .map(|at| {
            json!([
                canary.get(at).copied().unwrap_or(0.0).round(),
                control.get(at).copied().unwrap_or(0.0).round()
            ])
        })
        .collect();
    Ok(json!({
        "users": {
            "canary": total("users_canary").round() as u64,
            "control": total("users_control").round() as u64,
            "batches": batches,
            "unit": "evaluations",
        },
        "metrics": metrics,
    }))
}
