//! The refresh rule of `flagcore::refresh`, for the JS FlagClient: it asks
//! after each load and failure, then compares times on every call (the
//! conversion is js-glue's `envelope::refresh_deadlines`).

use wasm_bindgen::prelude::*;

/// `[call, token, pin]`: from when a call refreshes first, a call with a
/// token from a snapshot the client has not seen, and a pinned request may
/// read its snapshot from the source (times in milliseconds).
#[wasm_bindgen(js_name = refreshDeadlines)]
pub fn refresh_deadlines(
    ttl_ms: f64,
    retry_ms: f64,
    has_snapshot: bool,
    checked_at_ms: f64,
    failed_at_ms: f64,
) -> Vec<f64> {
    flagcore_js_glue::envelope::refresh_deadlines(
        ttl_ms,
        retry_ms,
        has_snapshot,
        checked_at_ms,
        failed_at_ms,
    )
}
