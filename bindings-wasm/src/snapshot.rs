//! The snapshot functions the shared `js/snapshot.js` calls, with the same names and
//! answers as the Node package's N-API module (bindings-node/src/snapshot.rs).

use flagcore::{AllFlagsOptions, Snapshot};
use flagcore_js_glue::envelope;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use flagcore_js_glue::{self as glue, local};

use crate::context::with_prepared_or_text;
use crate::convert::{bytes, to_js};
use crate::error::{invalid_argument, snapshot_error};

/// A parsed, immutable snapshot.
#[wasm_bindgen]
pub struct WasmSnapshot {
    pub(crate) inner: Snapshot,
}

/// Reads a snapshot from JSON text or bytes, in any supported format.
#[wasm_bindgen(js_name = snapshotFromJson)]
pub fn snapshot_from_json(input: JsValue, prefix: Option<String>) -> Result<WasmSnapshot, JsError> {
    let input =
        bytes(&input).ok_or_else(|| invalid_argument("a snapshot is a string or a Uint8Array"))?;
    Snapshot::from_json_with_prefix(&input, prefix.as_deref())
        .map(|inner| WasmSnapshot { inner })
        .map_err(snapshot_error)
}

/// The content id.
#[wasm_bindgen(js_name = snapshotId)]
pub fn snapshot_id(snapshot: &WasmSnapshot) -> String {
    snapshot.inner.id().to_owned()
}

/// Every flag key, sorted; evaluation functions take positions in this list.
#[wasm_bindgen(js_name = snapshotFlagKeys)]
pub fn snapshot_flag_keys(snapshot: &WasmSnapshot) -> Vec<String> {
    snapshot.inner.flag_keys().to_vec()
}

/// A decision token for `flag_keys` and the context (prepared context
/// `id`, or JSON text for 0): `{"token"}` or `{"error": {"code",
/// "message"}}`; null when the context must be prepared again.
#[wasm_bindgen(js_name = issueToken)]
pub fn issue_token(
    snapshot: &WasmSnapshot,
    id: f64,
    context: &str,
    flag_keys: Vec<String>,
    signing_key: Option<String>,
    now_ms: f64,
    ttl_seconds: f64,
) -> JsValue {
    let key = signing_key.unwrap_or_default();
    with_prepared_or_text(id, context, |parsed| {
        envelope::issue_token(
            &snapshot.inner,
            parsed,
            &flag_keys,
            key.as_bytes(),
            now_ms,
            ttl_seconds,
        )
    })
}

/// Evaluates flag number `flag` for a context given as JSON text; answers the packed detail.
#[wasm_bindgen]
pub fn evaluate(snapshot: &WasmSnapshot, flag: u32, context: &str, value_type_code: u32) -> f64 {
    local::with_text(context, |parsed| {
        glue::evaluate_packed(&snapshot.inner, flag, parsed, value_type_code, 0.0)
    })
}

/// Evaluates flag number `flag` for prepared context `id` at `now_ms` (for a
/// decision token it carries); -2 when it must be prepared again.
#[wasm_bindgen(js_name = evaluatePrepared)]
pub fn evaluate_prepared(
    snapshot: &WasmSnapshot,
    flag: u32,
    id: f64,
    value_type_code: u32,
    now_ms: f64,
) -> f64 {
    glue::evaluate_prepared(&snapshot.inner, flag, id, value_type_code, now_ms)
}

/// Evaluates the first `count` flags of `slots` for prepared context `id`,
/// which carries no decision token, in one call, in place (see the Node
/// module's `evaluateMany`); -2 when it must be prepared again.
#[wasm_bindgen(js_name = evaluateMany)]
pub fn evaluate_many(snapshot: &WasmSnapshot, id: f64, count: u32, slots: &mut [f64]) -> f64 {
    let slots = glue::first(slots, count);
    glue::evaluate_many_prepared(&snapshot.inner, id, slots)
}

/// Registers a context and evaluates the first `count` flags of `slots` for
/// it in one call (see the Node module's `prepareAndEvaluate`): answers its
/// number, negated when it is invalid.
#[wasm_bindgen(js_name = prepareAndEvaluate)]
pub fn prepare_and_evaluate(
    snapshot: &WasmSnapshot,
    id: f64,
    context: &str,
    count: u32,
    slots: &mut [f64],
) -> f64 {
    let slots = glue::first(slots, count);
    local::prepare_then(id as u64, context, |parsed| {
        glue::evaluate_many(&snapshot.inner, slots, parsed, 0.0)
    })
    .0
}

/// LaunchDarkly's all-flags state for prepared context `id` or a context
/// given as JSON text (for 0), at `now_ms` for a decision token it carries;
/// null when the context must be prepared again.
#[wasm_bindgen(js_name = allFlagsState)]
pub fn all_flags_state(
    snapshot: &WasmSnapshot,
    id: f64,
    context: &str,
    client_side_only: bool,
    with_reasons: bool,
    details_only_for_tracked_flags: bool,
    now_ms: f64,
) -> JsValue {
    let options = AllFlagsOptions {
        client_side_only,
        with_reasons,
        details_only_for_tracked_flags,
        now_millis: 0,
    };
    with_prepared_or_text(id, context, |parsed| {
        envelope::all_flags_json(&snapshot.inner, parsed, options, now_ms)
    })
}

/// The problems of how the snapshot was stored.
#[wasm_bindgen(js_name = sourceProblems)]
pub fn source_problems(snapshot: &WasmSnapshot) -> JsValue {
    to_js(&serde_json::to_value(snapshot.inner.source_problems()).unwrap_or(Value::Null))
}

/// The problems `flagcore check` reports.
#[wasm_bindgen]
pub fn check(snapshot: &WasmSnapshot) -> JsValue {
    to_js(&serde_json::to_value(snapshot.inner.check()).unwrap_or(Value::Null))
}
