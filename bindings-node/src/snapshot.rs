//! The functions `api.js` wraps into its `Snapshot` and `Context` classes.
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

/// A parsed snapshot holds about five times its JSON's size (measured on the
/// 1 MB benchmark snapshot: 5.2 MB).
const PARSED_PER_INPUT_BYTE: usize = 5;

fn external(snapshot: Snapshot, input_len: usize) -> External<Snapshot> {
    // Tell the garbage collector how much memory it holds: a refreshed
    // snapshot should not wait for pressure it cannot see.
    External::new_with_size_hint(snapshot, input_len.saturating_mul(PARSED_PER_INPUT_BYTE))
}

/// The bytes of text in a JSON value, for the size hint of what it parses into.
fn text_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(text_size).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + text_size(v)).sum(),
        _ => 8,
    }
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
    let size: usize = items.iter().map(text_size).sum();
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

/// Registers a prepared context (JSON text): under `id` again after the
/// cache let it go, or under a new number for 0. Answers the number, negated
/// when the context is invalid (`contextError` says why).
#[napi(catch_unwind)]
pub fn prepare_context(id: f64, context: String) -> f64 {
    contexts::prepare(id as u64, &context)
}

/// Why prepared context `id` is invalid, or null.
#[napi(catch_unwind)]
pub fn context_error(id: f64) -> Option<String> {
    contexts::context_error(id as u64)
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
    contexts::prepare_with_token(
        id as u64,
        &context,
        token.as_deref(),
        key.as_bytes(),
        now_ms,
        max_ttl_seconds,
    )
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
    contexts::with_prepared_or_text(id as u64, &context, |parsed| {
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
    contexts::with_prepared(id as u64, |parsed| {
        host::evaluate_packed(snapshot, flag, parsed, value_type_code, now_ms)
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
        host::evaluate_packed(snapshot, flag, parsed, value_type_code, 0.0)
    })
}

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
    contexts::with_prepared_or_text(id as u64, &context, |parsed| {
        host::detail_json(snapshot, &flag_key, parsed, value_type_code, now_ms)
    })
}

/// What `api.js` needs to build the details of flag number `flag`: its
/// variations, rule ids and prerequisite keys.
#[napi(catch_unwind)]
pub fn flag_info(snapshot: &External<Snapshot>, flag: u32) -> Value {
    host::flag_info(snapshot, flag)
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
    contexts::with_prepared_or_text(id as u64, &context, |parsed| {
        host::all_flags_json(snapshot, parsed, options, now_ms)
    })
}

/// The problems of how the snapshot was stored (see `Snapshot::source_problems`).
#[napi(catch_unwind)]
pub fn source_problems(snapshot: &External<Snapshot>) -> Value {
    serde_json::to_value(snapshot.source_problems()).unwrap_or(Value::Null)
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
