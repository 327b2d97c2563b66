//! The refresh rule of `flagcore::refresh`, for the JS FlagClient: it asks
//! after each load and failure, then compares times on every call.

use flagcore::refresh::{RefreshPolicy, RefreshState};
use napi_derive::napi;

/// `[call, token, pin]`: from when a call refreshes first, a call with a
/// token from a snapshot the client has not seen, and a pinned request may
/// read its snapshot from the source (times in milliseconds).
#[napi(catch_unwind)]
pub fn refresh_deadlines(
    ttl_ms: f64,
    retry_ms: f64,
    has_snapshot: bool,
    checked_at_ms: f64,
    failed_at_ms: f64,
) -> Vec<f64> {
    let state = RefreshState {
        has_snapshot,
        checked_at: checked_at_ms,
        failed_at: failed_at_ms,
    };
    let deadlines = RefreshPolicy::new(ttl_ms, retry_ms).deadlines(state);
    vec![deadlines.call, deadlines.token, deadlines.pin]
}
