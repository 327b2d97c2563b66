//! CloudWatch EMF lines, rendered by the core from what FlagClient counted.

use pyo3::prelude::*;

use crate::{context, convert};

/// CloudWatch EMF lines for an invocation's records:
/// `{"evaluations": {flag: {variation: count}}, "measurements": [{"name", "value", "unit"}]}`.
#[pyfunction]
#[pyo3(signature = (records, namespace, function_name=None, timestamp_ms=None))]
pub fn render_metrics(
    records: &Bound<'_, PyAny>,
    namespace: &str,
    function_name: Option<&str>,
    timestamp_ms: Option<f64>,
) -> PyResult<Vec<String>> {
    let records = convert::to_value(records)?;
    let now = timestamp_ms.map_or_else(context::wall_clock_ms, convert::millis);
    Ok(flagcore::metrics::Metrics::from_value(&records).render(namespace, function_name, now))
}
