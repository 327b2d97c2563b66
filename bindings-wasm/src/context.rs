//! Prepared contexts: the functions the shared `js/context.js`
//! wraps into its `Context` class, with the same names and answers as the
//! Node package's (bindings-node/src/context.rs), over the context cache of
//! `flagcore-js-glue` (one instance, one thread).

use flagcore::{ContextError, Scope};
use flagcore_js_glue::{self as glue, local};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert::to_js;

/// Calls `f` with prepared context `id`, or for `id` 0 with the context
/// parsed from `json`, and answers its JSON; null when `id` must be
/// registered again.
pub(crate) fn with_prepared_or_text(
    id: f64,
    json: &str,
    f: impl FnOnce(Result<&Scope, &ContextError>) -> Value,
) -> JsValue {
    local::with_prepared_or_text(id as u64, json, f)
        .as_ref()
        .map_or(JsValue::NULL, to_js)
}

/// Registers a prepared context: under `id` again, or a new number for 0.
/// Answers the number, negated when the context is invalid.
#[wasm_bindgen(js_name = prepareContext)]
pub fn prepare_context(id: f64, context: &str) -> f64 {
    local::prepare(id as u64, context)
}

/// Why prepared context `id` is invalid, or null.
#[wasm_bindgen(js_name = contextError)]
pub fn context_error(id: f64) -> Option<String> {
    local::context_error(id as u64)
}

/// LaunchDarkly's canonical key of a context (JSON text), or null when it
/// is invalid.
#[wasm_bindgen(js_name = canonicalKey)]
pub fn canonical_key(context: &str) -> Option<String> {
    glue::canonical_key(context)
}

/// Registers a prepared context with a decision token, as `prepareContext`
/// does: `{"id", "context": why it is invalid or null, "token": what became
/// of the token}`.
#[wasm_bindgen(js_name = prepareContextWithToken)]
pub fn prepare_context_with_token(
    id: f64,
    context: &str,
    token: Option<String>,
    signing_key: Option<String>,
    now_ms: f64,
    max_ttl_seconds: f64,
) -> JsValue {
    let key = signing_key.unwrap_or_default();
    let answer = local::prepare_with_token(
        id as u64,
        context,
        token.as_deref(),
        key.as_bytes(),
        now_ms,
        max_ttl_seconds,
    );
    to_js(&answer)
}
