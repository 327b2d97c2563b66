//! The functions `index.js` wraps into its `Snapshot` and `Context` classes.
//!
//! A snapshot crosses as an N-API external, not a class: measured on this
//! machine, a method call on a napi-rs class with a class argument costs
//! about 420 ns before any work, a function taking externals about 130 ns.
//! Contexts cross as JSON text, and the parsed form of the last few is kept
//! (see `contexts.rs`): creating an external per context costs microseconds.

use flagcore::host::{self, NOT_PREPARED};
use flagcore::{AllFlagsOptions, Snapshot};
use napi::bindgen_prelude::{Buffer, Either, External};
use napi::Result;
use napi_derive::napi;
use serde_json::Value;

use crate::contexts;
use crate::error::{invalid_argument, snapshot_error};

fn external(snapshot: Snapshot, input_len: usize) -> External<Snapshot> {
    // Tell the garbage collector roughly how much memory it holds: a
    // refreshed snapshot should not wait for pressure it cannot see.
    External::new_with_size_hint(snapshot, input_len.saturating_mul(2))
}

/// Reads a snapshot from JSON text or bytes, in any supported format.
#[napi(catch_unwind)]
pub fn snapshot_from_json(
    input: Either<String, Buffer>,
    prefix: Option<String>,
) -> Result<External<Snapshot>> {
    let bytes: &[u8] = match &input {
        Either::A(text) => text.as_bytes(),
        Either::B(buffer) => buffer,
    };
    Snapshot::from_json_with_prefix(bytes, prefix.as_deref())
        .map(|snapshot| external(snapshot, bytes.len()))
        .map_err(snapshot_error)
}

/// Reads DynamoDB items, typed or plain, under an optional prefix.
#[napi(catch_unwind)]
pub fn snapshot_from_dynamodb_items(
    items: Value,
    prefix: Option<String>,
) -> Result<External<Snapshot>> {
    let Value::Array(items) = items else {
        return Err(invalid_argument("DynamoDB items must be an array"));
    };
    let size: usize = items.len().saturating_mul(1024);
    Snapshot::from_dynamodb_items(&items, prefix.as_deref())
        .map(|snapshot| external(snapshot, size))
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

/// Registers a prepared context (JSON text) under `id`; answers why it is
/// invalid, or null when it is valid.
#[napi(catch_unwind)]
pub fn prepare_context(id: f64, context: String) -> Option<String> {
    contexts::prepare(id as u64, &context)
}

/// Registers a prepared context (JSON text) with a decision token under
/// `id`: `{"context": why it is invalid or null, "token": what became of
/// the token}`.
#[napi(catch_unwind)]
pub fn prepare_context_with_token(
    id: f64,
    context: String,
    token: Option<String>,
    signing_key: Option<String>,
    now_ms: f64,
) -> Value {
    let key = signing_key.unwrap_or_default();
    contexts::prepare_with_token(
        id as u64,
        &context,
        token.as_deref(),
        key.as_bytes(),
        now_ms,
    )
}

/// A decision token for `flag_keys` and the context (JSON text):
/// `{"token"}` or `{"error": {"code", "message"}}`.
#[napi(catch_unwind)]
pub fn issue_token(
    snapshot: &External<Snapshot>,
    context: String,
    flag_keys: Vec<String>,
    signing_key: Option<String>,
    now_ms: f64,
    ttl_seconds: u32,
) -> Value {
    let key = signing_key.unwrap_or_default();
    contexts::with_text(&context, |parsed| {
        host::issue_token(
            snapshot,
            parsed,
            &flag_keys,
            key.as_bytes(),
            now_ms,
            ttl_seconds,
        )
    })
}

/// Evaluates flag number `flag` for prepared context `id`; answers the packed
/// detail, or -2 when the context must be prepared again.
#[napi(catch_unwind)]
pub fn evaluate_prepared(
    snapshot: &External<Snapshot>,
    flag: u32,
    id: f64,
    value_type_code: u32,
) -> f64 {
    contexts::with_prepared(id as u64, |parsed| {
        host::evaluate_packed(snapshot, flag, parsed, value_type_code)
    })
    .unwrap_or(NOT_PREPARED)
}

/// Evaluates flag number `flag` for a context given as JSON text; answers
/// the packed detail.
#[napi(catch_unwind)]
pub fn evaluate(
    snapshot: &External<Snapshot>,
    flag: u32,
    context: String,
    value_type_code: u32,
) -> f64 {
    contexts::with_text(&context, |parsed| {
        host::evaluate_packed(snapshot, flag, parsed, value_type_code)
    })
}

/// The whole detail as JSON, for keys that are not in the snapshot and for
/// details that do not fit the packed number. `variationIndex` is null when
/// the caller's default applies.
#[napi(catch_unwind)]
pub fn detail_json(
    snapshot: &External<Snapshot>,
    flag_key: String,
    context: String,
    value_type_code: u32,
) -> Value {
    contexts::with_text(&context, |parsed| {
        host::detail_json(snapshot, &flag_key, parsed, value_type_code)
    })
}

/// What `index.js` needs to build the details of flag number `flag`: its
/// variations, rule ids and prerequisite keys.
#[napi(catch_unwind)]
pub fn flag_info(snapshot: &External<Snapshot>, flag: u32) -> Value {
    host::flag_info(snapshot, flag)
}

/// LaunchDarkly's all-flags state for a context given as JSON text.
#[napi(catch_unwind)]
pub fn all_flags_state(
    snapshot: &External<Snapshot>,
    context: String,
    client_side_only: bool,
    with_reasons: bool,
    details_only_for_tracked_flags: bool,
) -> Value {
    let options = AllFlagsOptions {
        client_side_only,
        with_reasons,
        details_only_for_tracked_flags,
        now_millis: 0,
    };
    let context: Value = serde_json::from_str(&context).unwrap_or(Value::Null);
    snapshot.all_flags_state_json(&context, options).to_value()
}

/// CloudWatch EMF lines for an invocation's records:
/// `{"evaluations": {flag: {variation: count}}, "measurements": [{"name", "value", "unit"}]}`.
#[napi(catch_unwind)]
pub fn render_metrics(
    records: Value,
    namespace: String,
    function_name: Option<String>,
    timestamp_ms: f64,
) -> Vec<String> {
    host::render_metrics(&records, &namespace, function_name.as_deref(), timestamp_ms)
}

/// The problems `flagcore check` reports.
#[napi(catch_unwind)]
pub fn check(snapshot: &External<Snapshot>) -> Value {
    serde_json::to_value(snapshot.check()).unwrap_or(Value::Null)
}
