//! The packed answer of an evaluation: what crosses back to the JS layer
//! (js/snapshot.js), which builds LaunchDarkly's detail objects
//! from the number and from values it fetched once per flag.
//!
//! The number is the core's packed answer (`flagcore::packed`, version
//! `flagcore::packed::VERSION`) as an `f64` (it fits in 47 bits). Decision
//! tokens carry the same packed answer through `flagcore::packed` alone: the
//! answers of this ABI can change here without changing tokens. A detail
//! that does not fit is [`DOES_NOT_FIT`], and the JS layer asks for the
//! detail as JSON instead.

use crate::cache::local;
use crate::envelope::millis;
use flagcore::packed;
use flagcore::{ContextError, Detail, Scope, Snapshot, ValueType};
use serde_json::Value;

/// The packed answer for details that do not fit the number.
pub const DOES_NOT_FIT: f64 = -1.0;

/// The packed answer when a prepared context is no longer cached: the host
/// registers it again.
pub const NOT_PREPARED: f64 = -2.0;

/// Evaluates flag number `flag` (a position in [`Snapshot::flag_keys`]) and
/// packs the detail; the caller's default is the host's to apply.
/// `now_ms` is the wall clock, for a decision token the context carries.
pub fn evaluate_packed(
    snapshot: &Snapshot,
    flag: u32,
    context: Result<&Scope, &ContextError>,
    value_type_code: u32,
    now_ms: f64,
) -> f64 {
    let Some(key) = snapshot.flag_keys().get(flag as usize) else {
        return DOES_NOT_FIT;
    };
    let null = Value::Null;
    let detail = snapshot.variation_detail_checked(
        key,
        context,
        &null,
        ValueType::from_code(value_type_code),
        millis(now_ms),
    );
    pack(snapshot, key, &detail)
}

/// [`evaluate_packed`] for prepared context `id` of this thread's cache;
/// [`NOT_PREPARED`] when it must be registered again.
pub fn evaluate_prepared(
    snapshot: &Snapshot,
    flag: u32,
    id: f64,
    value_type_code: u32,
    now_ms: f64,
) -> f64 {
    local::with_prepared(id as u64, |parsed| {
        evaluate_packed(snapshot, flag, parsed, value_type_code, now_ms)
    })
    .unwrap_or(NOT_PREPARED)
}

/// [`evaluate_many`] for prepared context `id` of this thread's cache, which
/// carries no decision token; [`NOT_PREPARED`] when it must be registered
/// again.
pub fn evaluate_many_prepared(snapshot: &Snapshot, id: f64, slots: &mut [f64]) -> f64 {
    local::with_prepared(id as u64, |parsed| {
        evaluate_many(snapshot, slots, parsed, 0.0) as f64
    })
    .unwrap_or(NOT_PREPARED)
}

/// Evaluates several flags for one context in one crossing, in place: each
/// of `slots` holds a code, a flag number (a position in
/// [`Snapshot::flag_keys`]) times 8 plus its value type code, and gets its
/// packed answer in its stead. One buffer both ways is one typed array for
/// the host to hand over, not two. Answers how many it evaluated.
pub fn evaluate_many(
    snapshot: &Snapshot,
    slots: &mut [f64],
    context: Result<&Scope, &ContextError>,
    now_ms: f64,
) -> usize {
    for slot in slots.iter_mut() {
        // Codes are whole numbers below 2^32; anything else is no flag.
        let code = if *slot >= 0.0 && *slot < 4_294_967_296.0 {
            *slot as u32
        } else {
            u32::MAX
        };
        *slot = evaluate_packed(snapshot, code >> 3, context, code & 7, now_ms);
    }
    slots.len()
}

/// The whole detail as JSON, with `variationIndex` null where the caller's
/// default applies: for keys not in the snapshot and details that do not fit.
pub fn detail_json(
    snapshot: &Snapshot,
    flag_key: &str,
    context: Result<&Scope, &ContextError>,
    value_type_code: u32,
    now_ms: f64,
) -> Value {
    let null = Value::Null;
    snapshot
        .variation_detail_checked(
            flag_key,
            context,
            &null,
            ValueType::from_code(value_type_code),
            millis(now_ms),
        )
        .to_value()
}

fn pack(snapshot: &Snapshot, key: &str, detail: &Detail<'_>) -> f64 {
    packed::pack(snapshot, key, detail.variation_index, &detail.reason)
        .map_or(DOES_NOT_FIT, |bits| bits as f64)
}

/// The first `count` of a host's slots (all of them when it has fewer).
pub fn first(slots: &mut [f64], count: u32) -> &mut [f64] {
    let count = slots.len().min(count as usize);
    &mut slots[..count]
}
