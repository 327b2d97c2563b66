//! The details the shared `js/snapshot.js` builds from packed answers: what each flag needs
//! once, and the whole detail where a packed number does not fit.

use flagcore::Snapshot;
use flagcore_js_glue::{self as glue, local};
use napi::bindgen_prelude::External;
use napi_derive::napi;
use serde_json::Value;

/// The whole detail as JSON, for keys that are not in the snapshot and for
/// details that do not fit the packed number; the context is prepared
/// context `id`, or JSON text for 0. `variationIndex` is null when the
/// caller's default applies; the answer is null when the context must be
/// prepared again.
#[napi(catch_unwind)]
pub fn detail_json(
    snapshot: &External<Snapshot>,
    flag_key: String,
    id: f64,
    context: String,
    value_type_code: u32,
    now_ms: f64,
) -> Option<Value> {
    local::with_prepared_or_text(id as u64, &context, |parsed| {
        glue::detail_json(snapshot, &flag_key, parsed, value_type_code, now_ms)
    })
}

/// What `js/snapshot.js` needs to build the details of flag number `flag`: its
/// variations, rule ids and prerequisite keys.
#[napi(catch_unwind)]
pub fn flag_info(snapshot: &External<Snapshot>, flag: u32) -> Value {
    glue::flag_info(snapshot, flag)
}
