//! Prepared contexts: the functions the shared `bindings-wasm/js/context.js` wraps into its `Context` class,
//! and one context cache per thread (Node's worker threads share this
//! module). The cache itself is the core's (`flagcore::host::ContextCache`).

use std::cell::RefCell;

use flagcore::host::{self, ContextCache};
use flagcore::{ContextError, Scope};
use napi_derive::napi;
use serde_json::Value;

thread_local! {
    static CACHE: RefCell<ContextCache> = RefCell::new(ContextCache::default());
}

/// Calls `f` with the parsed context for `json`, parsing it only on a miss.
pub(crate) fn with_text<R>(json: &str, f: impl FnOnce(Result<&Scope, &ContextError>) -> R) -> R {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.with_text(json, f),
        // Only re-entrance could hold the borrow; parse without the cache.
        Err(_) => f(host::parse(json).as_ref()),
    })
}

/// Registers a prepared context (under `id` again, or a new number for 0);
/// answers its number, negated when it is invalid.
fn register(id: u64, json: &str) -> f64 {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.prepare(id, json),
        Err(_) => f64::NAN,
    })
}

/// Registers a prepared context, as `register` does, and calls `f` with it.
pub(crate) fn register_then<R>(
    id: u64,
    json: &str,
    f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
) -> (f64, R) {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.prepare_then(id, json, f),
        Err(_) => (f64::NAN, f(host::parse(json).as_ref())),
    })
}

/// Why prepared context `id` is invalid, or `None`.
fn error_of(id: u64) -> Option<String> {
    CACHE.with(|cache| cache.try_borrow().ok()?.context_error(id))
}

/// Registers a prepared context with a decision token; answers
/// `{"id", "context": error or null, "token": status}`.
fn register_with_token(
    id: u64,
    json: &str,
    token: Option<&str>,
    signing_key: &[u8],
    now_ms: f64,
    max_ttl_seconds: f64,
) -> Value {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => {
            cache.prepare_with_token(id, json, token, signing_key, now_ms, max_ttl_seconds)
        }
        Err(_) => {
            serde_json::json!({"id": 0, "context": "the context cache is busy", "token": {"applied": false}})
        }
    })
}

/// Calls `f` with prepared context `id`, or for `id` 0 with the context
/// parsed from `json`; `None` when `id` must be registered again.
pub(crate) fn with_prepared_or_text<R>(
    id: u64,
    json: &str,
    f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
) -> Option<R> {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.with_prepared_or_text(id, json, f),
        Err(_) => Some(f(host::parse(json).as_ref())),
    })
}

/// Calls `f` with prepared context `id`, or `None` when it must be registered again.
pub(crate) fn with_prepared<R>(
    id: u64,
    f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
) -> Option<R> {
    CACHE.with(|cache| cache.try_borrow().ok()?.with_prepared(id, f))
}

/// Registers a prepared context (JSON text): under `id` again after the
/// cache let it go, or under a new number for 0. Answers the number, negated
/// when the context is invalid (`contextError` says why).
#[napi(catch_unwind)]
pub fn prepare_context(id: f64, context: String) -> f64 {
    register(id as u64, &context)
}

/// Why prepared context `id` is invalid, or null.
#[napi(catch_unwind)]
pub fn context_error(id: f64) -> Option<String> {
    error_of(id as u64)
}

/// LaunchDarkly's canonical key of a context (JSON text), or null when it
/// is invalid.
#[napi(catch_unwind)]
pub fn canonical_key(context: String) -> Option<String> {
    host::canonical_key(&context)
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
    register_with_token(
        id as u64,
        &context,
        token.as_deref(),
        key.as_bytes(),
        now_ms,
        max_ttl_seconds,
    )
}
