//! One context cache per thread: Node's worker threads share this module.
//! The cache itself is the core's (`flagcore::host::ContextCache`).

use std::cell::RefCell;

use flagcore::host::ContextCache;
use flagcore::{Context, ContextError};

thread_local! {
    static CACHE: RefCell<ContextCache> = RefCell::new(ContextCache::default());
}

/// Calls `f` with the parsed context for `json`, parsing it only on a miss.
pub(crate) fn with_text<R>(json: &str, f: impl FnOnce(Result<&Context, &ContextError>) -> R) -> R {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.with_text(json, f),
        // Only re-entrance could hold the borrow; parse without the cache.
        Err(_) => f(Context::from_json(json).as_ref()),
    })
}

/// Registers a prepared context (under `id` again, or a new number for 0);
/// answers its number, negated when it is invalid.
pub(crate) fn prepare(id: u64, json: &str) -> f64 {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.prepare(id, json),
        Err(_) => f64::NAN,
    })
}

/// Why prepared context `id` is invalid, or `None`.
pub(crate) fn context_error(id: u64) -> Option<String> {
    CACHE.with(|cache| cache.try_borrow().ok()?.context_error(id))
}

/// Registers a prepared context with a decision token; answers
/// `{"id", "context": error or null, "token": status}`.
pub(crate) fn prepare_with_token(
    id: u64,
    json: &str,
    token: Option<&str>,
    signing_key: &[u8],
    now_ms: f64,
    max_ttl_seconds: f64,
) -> serde_json::Value {
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
    f: impl FnOnce(Result<&Context, &ContextError>) -> R,
) -> Option<R> {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cache.with_prepared_or_text(id, json, f),
        Err(_) => Some(f(Context::from_json(json).as_ref())),
    })
}

/// Calls `f` with prepared context `id`, or `None` when it must be registered again.
pub(crate) fn with_prepared<R>(
    id: u64,
    f: impl FnOnce(Result<&Context, &ContextError>) -> R,
) -> Option<R> {
    CACHE.with(|cache| cache.try_borrow().ok()?.with_prepared(id, f))
}
