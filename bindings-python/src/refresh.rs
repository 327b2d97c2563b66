//! The refresh rule of `flagcore::refresh`, for the Python FlagClient: it
//! asks after each load and failure, then compares times on every call.

use flagcore::refresh::{RefreshPolicy, RefreshState};
use pyo3::prelude::*;

/// `(call, token, pin)`: from when a call refreshes first, a call with a
/// token from a snapshot the client has not seen, and a pinned request may
/// read its snapshot from the source (times in seconds).
#[pyfunction]
pub fn refresh_deadlines(
    ttl: f64,
    retry: f64,
    has_snapshot: bool,
    checked_at: f64,
    failed_at: f64,
) -> (f64, f64, f64) {
    let state = RefreshState {
        has_snapshot,
        checked_at,
        failed_at,
    };
    let deadlines = RefreshPolicy::new(ttl, retry).deadlines(state);
    (deadlines.call, deadlines.token, deadlines.pin)
}
