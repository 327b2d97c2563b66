//! Prepared contexts: the functions the shared `js/context.js`
//! wraps into its `Context` class, over the per-thread context cache of
//! `flagcore-js-glue` (Node's worker threads share this module).

use flagcore_js_glue::{self as glue, local};
use napi_derive::napi;
use serde_json::Value;

use crate::convert::Text;

/// Registers a prepared context (JSON text): under `id` again after the
/// cache let it go, or under a new number for 0. Answers the number, negated
/// when the context is invalid (`contextError` says why).
#[napi(catch_unwind)]
pub fn prepare_context(id: f64, #[napi(ts_arg_type = "string")] context: Text) -> f64 {
    local::prepare(id as u64, &context.as_str())
}

/// Why prepared context `id` is invalid, or null.
#[napi(catch_unwind)]
pub fn context_error(id: f64) -> Option<String> {
    local::context_error(id as u64)
}

/// LaunchDarkly's canonical key of a context (JSON text), or null when it
/// is invalid.
#[napi(catch_unwind)]
pub fn canonical_key(context: String) -> Option<String> {
    glue::canonical_key(&context)
}

/// Registers a prepared context (JSON text) with a decision token, as
/// `prepareContext` does: `{"id", "context": why it is invalid or null,
/// "token": what became of the token}`. `max_ttl_seconds` is the longest
/// token lifetime accepted (0: the default).
#[napi(catch_unwind)]
pub fn prepare_context_with_token(
    id: f64,
    context: String,
    token: Option<String>,
    signing_key: Option<String>,
    now_ms: f64,
    max_ttl_seconds: f64,
) -> Value {
    let key = signing_key.unwrap_or_default();
    local::prepare_with_token(
        id as u64,
        &context,
        token.as_deref(),
        key.as_bytes(),
        now_ms,
        max_ttl_seconds,
    )
}
