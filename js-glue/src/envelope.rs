//! What the JS layer receives as JSON, and the times it passes as numbers:
//! the envelopes of decision tokens (`{"token"}` or `{"error"}`), of a
//! registered context and of a flag's details, the all-flags state, and
//! the conversion of JavaScript's doubles to the core's milliseconds.

use flagcore::refresh::{RefreshPolicy, RefreshState};
use flagcore::token::TokenStatus;
use flagcore::{AllFlagsOptions, Context, ContextError, Scope, Snapshot, Value};
use serde_json::json;

/// Milliseconds since the epoch from a JavaScript number: 0 for NaN, the
/// infinities and times before the epoch.
pub fn millis(now_ms: f64) -> u64 {
    if now_ms.is_finite() && now_ms > 0.0 {
        now_ms as u64
    } else {
        0
    }
}

/// The longest token lifetime a receiver accepts, from the seconds the JS
/// layer passes: `None` (the core's default) for NaN or not positive.
pub fn max_lifetime_ms(max_ttl_seconds: f64) -> Option<u64> {
    (max_ttl_seconds.is_finite() && max_ttl_seconds > 0.0)
        .then_some((max_ttl_seconds * 1000.0) as u64)
}

/// `[call, token, pin]`: from when the JS FlagClient's call refreshes first,
/// a call with a token from a snapshot the client has not seen, and a
/// pinned request may read its snapshot from the source: the core's rule
/// (`flagcore::refresh`), in milliseconds.
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

/// Issues a decision token (see [`Snapshot::decision_token`]): `{"token":
/// "fc1..."}`, or `{"error": {"code", "message"}}`.
pub fn issue_token(
    snapshot: &Snapshot,
    scope: Result<&Scope, &ContextError>,
    flag_keys: &[String],
    signing_key: &[u8],
    now_ms: f64,
    ttl_seconds: f64,
) -> Value {
    let keys: Vec<&str> = flag_keys.iter().map(String::as_str).collect();
    let issued = snapshot.decision_token(
        scope,
        &keys,
        signing_key,
        millis(now_ms),
        flagcore::token::ttl_ms_from_seconds(ttl_seconds),
    );
    match issued {
        Ok(token) => json!({ "token": token }),
        Err(error) => {
            json!({"error": {"code": error.code().as_str(), "message": error.message()}})
        }
    }
}

/// LaunchDarkly's all-flags state as JSON at `now_ms`; an invalid context
/// gives `{"$valid": false}`.
pub fn all_flags_json(
    snapshot: &Snapshot,
    scope: Result<&Scope, &ContextError>,
    options: AllFlagsOptions,
    now_ms: f64,
) -> Value {
    snapshot
        .all_flags_state_checked(scope, options, millis(now_ms))
        .to_value()
}

/// What the JS layer needs to build the details of flag number `flag`
/// itself: `{"key", "variations", "ruleIds", "prerequisiteKeys"}`; null for
/// a number out of range.
pub fn flag_info(snapshot: &Snapshot, flag: u32) -> Value {
    let Some(key) = snapshot.flag_keys().get(flag as usize) else {
        return Value::Null;
    };
    let variations = snapshot.variations(key).unwrap_or_default();
    let (rule_ids, prerequisite_keys) = snapshot.reason_keys(key).unwrap_or_default();
    json!({"key": key, "variations": variations, "ruleIds": rule_ids, "prerequisiteKeys": prerequisite_keys})
}

/// Parses context JSON and joins `token` to it (see [`Scope::attach`]).
pub fn context_with_token(
    json: &str,
    token: Option<&str>,
    signing_key: &[u8],
    now_ms: f64,
    max_ttl_seconds: f64,
) -> (Result<Scope, ContextError>, TokenStatus) {
    Scope::attach(
        Context::from_json(json),
        token,
        signing_key,
        millis(now_ms),
        max_lifetime_ms(max_ttl_seconds),
    )
}

/// What registering a context answers: `{"id", "context": why it is
/// invalid or null, "token": what became of its decision token}`.
pub fn registration(id: u64, error: Option<&str>, token: &TokenStatus) -> Value {
    json!({"id": id, "context": error, "token": token.to_value()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_lifetimes_from_doubles() {
        assert_eq!(millis(f64::NAN), 0);
        assert_eq!(millis(-5.0), 0);
        assert_eq!(millis(1_500.7), 1_500);
        assert_eq!(max_lifetime_ms(0.0), None);
        assert_eq!(max_lifetime_ms(f64::NAN), None);
        assert_eq!(max_lifetime_ms(2.5), Some(2_500));
        for refused in [
            -1.0,
            0.0,
            0.0004,
            f64::NAN,
            f64::INFINITY,
            3_600.000_5,
            3_600.5,
            1e30,
        ] {
            let snapshot = Snapshot::from_json(br#"{"flags": {}}"#).unwrap();
            let scope = Scope::new(Context::from_json(r#"{"key": "a"}"#).unwrap());
            let answer = issue_token(&snapshot, Ok(&scope), &[], &[7; 16], 0.0, refused);
            assert_eq!(answer["error"]["code"], "TOKEN_INVALID_TTL", "{refused}");
        }
        let ttl_ms = flagcore::token::ttl_ms_from_seconds;
        assert_eq!(ttl_ms(0.5), 500);
        assert_eq!(ttl_ms(3_600.0), flagcore::token::MAX_TTL_MS);
    }

    #[test]
    fn a_token_for_an_invalid_context_is_an_error_envelope() {
        let snapshot = Snapshot::from_json(br#"{"flags": {}}"#).unwrap();
        let invalid = Context::from_json("{}").map(Scope::new);
        let answer = issue_token(&snapshot, invalid.as_ref(), &[], b"k", 0.0, 60.0);
        assert_eq!(answer["error"]["code"], "TOKEN_INVALID_CONTEXT");
    }
}
