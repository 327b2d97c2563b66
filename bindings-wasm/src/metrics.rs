//! CloudWatch EMF lines, rendered by the core from what FlagClient counted.

use flagcore::metrics::Metrics;
use flagcore_js_glue::envelope::millis;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert::from_js;

/// CloudWatch EMF lines for an invocation's records.
#[wasm_bindgen(js_name = renderMetrics)]
pub fn render_metrics(
    records: JsValue,
    namespace: &str,
    function_name: Option<String>,
    timestamp_ms: f64,
) -> Vec<String> {
    let records = from_js(records).unwrap_or(Value::Null);
    Metrics::from_value(&records).render(namespace, function_name.as_deref(), millis(timestamp_ms))
}
