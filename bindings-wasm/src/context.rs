//! Prepared contexts: the functions the shared `bindings-wasm/js/context.js` wraps into its `Context` class,
//! with the same names and answers as the Node package's
//! (bindings-node/src/context.rs), and the instance's context cache, which
//! is the core's (`flagcore::host::ContextCache`).

use std::cell::RefCell;

use flagcore::host::{self, ContextCache};
use flagcore::Scope;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert::to_js;

thread_local! {
    // One instance, one thread: the cache of parsed contexts.
    static CONTEXTS: RefCell<ContextCache> = RefCell::new(ContextCache::default());
}

pub(crate) fn with_text<R>(
    json: &str,
    f: impl FnOnce(Result<&Scope, &flagcore::ContextError>) -> R,
) -> R {
    CONTEXTS.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.with_text(json, f),
        Err(_) => f(host::parse(json).as_ref()),
    })
}

/// Calls `f` with prepared context `id`, or for `id` 0 with the context
/// parsed from `json`, and answers its JSON; null when `id` must be
/// registered again.
pub(crate) fn with_prepared_or_text(
    id: f64,
    json: &str,
    f: impl FnOnce(Result<&Scope, &flagcore::ContextError>) -> Value,
) -> JsValue {
    let answer = CONTEXTS.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.with_prepared_or_text(id as u64, json, f),
        Err(_) => Some(f(host::parse(json).as_ref())),
    });
    answer.as_ref().map_or(JsValue::NULL, to_js)
}

/// Calls `f` with prepared context `id`, or `None` when it must be registered again.
pub(crate) fn with_prepared<R>(
    id: f64,
    f: impl FnOnce(Result<&Scope, &flagcore::ContextError>) -> R,
) -> Option<R> {
    CONTEXTS.with(|cache| cache.try_borrow().ok()?.with_prepared(id as u64, f))
}

/// Registers a prepared context, as `prepareContext` does, and calls `f` with it.
pub(crate) fn register_then<R>(
    id: f64,
    json: &str,
    f: impl FnOnce(Result<&Scope, &flagcore::ContextError>) -> R,
) -> (f64, R) {
    CONTEXTS.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.prepare_then(id as u64, json, f),
        Err(_) => (f64::NAN, f(host::parse(json).as_ref())),
    })
}

/// Registers a prepared context: under `id` again, or a new number for 0.
/// Answers the number, negated when the context is invalid.
#[wasm_bindgen(js_name = prepareContext)]
pub fn prepare_context(id: f64, context: &str) -> f64 {
    CONTEXTS.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.prepare(id as u64, context),
        Err(_) => f64::NAN,
    })
}

/// Why prepared context `id` is invalid, or null.
#[wasm_bindgen(js_name = contextError)]
pub fn context_error(id: f64) -> Option<String> {
    CONTEXTS.with(|cache| cache.try_borrow().ok()?.context_error(id as u64))
}

/// LaunchDarkly's canonical key of a context (JSON text), or null when it
/// is invalid.
#[wasm_bindgen(js_name = canonicalKey)]
pub fn canonical_key(context: &str) -> Option<String> {
    host::canonical_key(context)
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
    let answer = CONTEXTS.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.prepare_with_token(
            id as u64,
            context,
            token.as_deref(),
            key.as_bytes(),
            now_ms,
            max_ttl_seconds,
        ),
        Err(_) => {
            serde_json::json!({"id": 0, "context": "the context cache is busy", "token": {"applied": false}})
        }
    });
    to_js(&answer)
}
