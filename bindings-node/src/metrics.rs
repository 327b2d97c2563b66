//! CloudWatch EMF lines, rendered by the core from what FlagClient counted.

use flagcore::metrics::Metrics;
use flagcore_js_glue::envelope::millis;
use napi_derive::napi;
use serde_json::Value;

/// CloudWatch EMF lines for an invocation's records:
/// `{"evaluations": {flag: {variation: count}}, "measurements": [{"name", "value", "unit"}]}`.
#[napi(catch_unwind)]
pub fn render_metrics(
    records: Value,
    namespace: String,
    function_name: Option<String>,
    timestamp_ms: f64,
) -> Vec<String> {
    Metrics::from_value(&records).render(&namespace, function_name.as_deref(), millis(timestamp_ms))
}
