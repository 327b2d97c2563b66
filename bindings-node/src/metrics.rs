//! CloudWatch EMF lines, rendered by the core from what FlagClient counted.

use flagcore::host;
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
    host::render_metrics(&records, &namespace, function_name.as_deref(), timestamp_ms)
}
