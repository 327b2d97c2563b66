//! The snapshot functions the shared `js/snapshot.js` wraps into its `Snapshot` class.
//!
//! A snapshot crosses as an N-API external, not a class: measured on this
//! machine, a method call on a napi-rs class with a class argument costs
//! about 420 ns before any work, a function taking externals about 130 ns.
//! Contexts cross as JSON text, and the parsed form of the last few is kept
//! (see `context.rs`): creating an external per context costs microseconds.

use flagcore::{AllFlagsOptions, Snapshot};
use flagcore_js_glue::envelope;
use flagcore_js_glue::{self as glue, local};
use napi::bindgen_prelude::{Buffer, Either, External, Float64ArraySlice};
use napi::Result;
use napi_derive::napi;
use serde_json::Value;

use crate::convert::{self, Text};
use crate::error::snapshot_error;

/// A parsed snapshot holds about five times its JSON's size (measured on the
/// 1 MB benchmark snapshot: 5.2 MB).
const PARSED_PER_INPUT_BYTE: usize = 5;

pub(crate) fn external(snapshot: Snapshot, input_len: usize) -> External<Snapshot> {
    // Tell the garbage collector how much memory it holds: a refreshed
    // snapshot should not wait for pressure it cannot see.
    External::new_with_size_hint(snapshot, input_len.saturating_mul(PARSED_PER_INPUT_BYTE))
}

/// Reads a snapshot from JSON text or bytes, in any supported format.
#[napi(catch_unwind)]
pub fn snapshot_from_json(
    input: Either<String, Buffer>,
    prefix: Option<String>,
) -> Result<External<Snapshot>> {
    let bytes = convert::bytes(&input);
    Snapshot::from_json_with_prefix(bytes, prefix.as_deref())
        .map(|snapshot| external(snapshot, bytes.len()))
        .map_err(snapshot_error)
}

/// The content id.
#[napi(catch_unwind)]
pub fn snapshot_id(snapshot: &External<Snapshot>) -> String {
    snapshot.id().to_owned()
}

/// Every flag key, sorted; evaluation functions take positions in this list.
#[napi(catch_unwind)]
pub fn snapshot_flag_keys(snapshot: &External<Snapshot>) -> Vec<String> {
    snapshot.flag_keys().to_vec()
}

/// A decision token for `flag_keys` and the context (prepared context `id`,
/// or JSON text for 0): `{"token"}` or `{"error": {"code", "message"}}`;
/// null when the context must be prepared again.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn issue_token(
    snapshot: &External<Snapshot>,
    id: f64,
    context: String,
    flag_keys: Vec<String>,
    signing_key: Option<String>,
    now_ms: f64,
    ttl_seconds: f64,
) -> Option<Value> {
    let key = signing_key.unwrap_or_default();
    local::with_prepared_or_text(id as u64, &context, |parsed| {
        envelope::issue_token(
            snapshot,
            parsed,
            &flag_keys,
            key.as_bytes(),
            now_ms,
            ttl_seconds,
        )
    })
}

/// Evaluates flag number `flag` for prepared context `id` at `now_ms` (the
/// wall clock, for a decision token it carries); answers the packed
/// detail, or -2 when the context must be prepared again.
#[napi(catch_unwind)]
pub fn evaluate_prepared(
    snapshot: &External<Snapshot>,
    flag: u32,
    id: f64,
    value_type_code: u32,
    now_ms: f64,
) -> f64 {
    glue::evaluate_prepared(snapshot, flag, id, value_type_code, now_ms)
}

/// Evaluates several flags for prepared context `id`, which carries no
/// decision token, in one call: each of the first `count` numbers of
/// `slots` is a flag number times 8 plus a value type code, and its packed
/// answer takes its place. Answers how many it evaluated, or -2 when the
/// context must be prepared again.
#[napi(catch_unwind)]
pub fn evaluate_many(
    snapshot: &External<Snapshot>,
    id: f64,
    count: u32,
    mut slots: Float64ArraySlice<'_>,
) -> f64 {
    // SAFETY: JavaScript runs on this thread, which is in this call: nothing
    // else touches the array's memory until it returns.
    let slots = glue::first(unsafe { slots.as_mut() }, count);
    glue::evaluate_many_prepared(snapshot, id, slots)
}

/// Registers a context (JSON text) as `prepareContext` does, and evaluates
/// the first `count` flags of `slots` for it as `evaluateMany` does, in one
/// call: a context's first evaluation. Answers its number, negated when it
/// is invalid.
#[napi(catch_unwind)]
pub fn prepare_and_evaluate(
    snapshot: &External<Snapshot>,
    id: f64,
    #[napi(ts_arg_type = "string")] context: Text,
    count: u32,
    mut slots: Float64ArraySlice<'_>,
) -> f64 {
    // SAFETY: as in `evaluate_many`.
    let slots = glue::first(unsafe { slots.as_mut() }, count);
    local::prepare_then(id as u64, &context.as_str(), |parsed| {
        glue::evaluate_many(snapshot, slots, parsed, 0.0)
    })
    .0
}

/// Evaluates flag number `flag` for a context given as JSON text; answers
/// the packed detail.
#[napi(catch_unwind)]
pub fn evaluate(
    snapshot: &External<Snapshot>,
    flag: u32,
    #[napi(ts_arg_type = "string")] context: Text,
    value_type_code: u32,
) -> f64 {
    local::with_text(&context.as_str(), |parsed| {
        glue::evaluate_packed(snapshot, flag, parsed, value_type_code, 0.0)
    })
}

/// LaunchDarkly's all-flags state for prepared context `id` or a context
/// given as JSON text (for 0), at `now_ms` for a decision token it carries;
/// null when the context must be prepared again.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn all_flags_state(
    snapshot: &External<Snapshot>,
    id: f64,
    context: String,
    client_side_only: bool,
    with_reasons: bool,
    details_only_for_tracked_flags: bool,
    now_ms: f64,
) -> Option<Value> {
    let options = AllFlagsOptions {
        client_side_only,
        with_reasons,
        details_only_for_tracked_flags,
        now_millis: 0,
    };
    local::with_prepared_or_text(id as u64, &context, |parsed| {
        envelope::all_flags_json(snapshot, parsed, options, now_ms)
    })
}

/// The problems of how the snapshot was stored (see `Snapshot::source_problems`).
#[napi(catch_unwind)]
pub fn source_problems(snapshot: &External<Snapshot>) -> Value {
    serde_json::to_value(snapshot.source_problems()).unwrap_or(Value::Null)
}

/// The problems `flagcore check` reports.
#[napi(catch_unwind)]
pub fn check(snapshot: &External<Snapshot>) -> Value {
    serde_json::to_value(snapshot.check()).unwrap_or(Value::Null)
}
