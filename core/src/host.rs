//! What every host (the Node, Python and WASM bindings) shares on top of
//! the core's API, so that they answer alike: the JSON envelopes of
//! decision tokens and of the all-flags state, token lifetimes given in
//! seconds, the metrics records a host kept, and times given as doubles.
//! What serves the JavaScript bindings alone (their packed answers, their
//! context cache) is in the `flagcore-js-glue` crate (js-glue/).

use serde_json::{json, Value};

use crate::context::{Context, ContextError};
use crate::scope::Scope;
use crate::snapshot::Snapshot;
use crate::token::{self, TokenErrorCode};

/// JSON text as a value, through the core's one copy of the parser (whose
/// depth limit, 128, bounds what a host's input can nest); `None` when it
/// is not JSON.
pub fn parse_json(text: &str) -> Option<Value> {
    crate::json::parse(text).ok()
}

/// LaunchDarkly's all-flags state as JSON, at `now_ms` for a decision token
/// the context carries; an invalid context gives `{"$valid": false}`.
pub fn all_flags_json(
    snapshot: &Snapshot,
    context: Result<&Scope, &ContextError>,
    options: crate::AllFlagsOptions,
    now_ms: f64,
) -> Value {
    snapshot
        .all_flags_state_checked(context, options, millis(now_ms))
        .to_value()
}

/// What a host needs to build the details of flag `key` itself: its key,
/// variations, rule ids and prerequisite keys (empty for a key that is not
/// in the snapshot).
pub fn flag_info(snapshot: &Snapshot, key: &str) -> Value {
    let variations = snapshot.variations(key).unwrap_or_default();
    let (rule_ids, prerequisite_keys) = snapshot.reason_keys(key).unwrap_or_default();
    json!({"key": key, "variations": variations, "ruleIds": rule_ids, "prerequisiteKeys": prerequisite_keys})
}

/// The status of a decision token that was not applied because there was none.
pub fn no_token() -> Value {
    json!({"applied": false})
}

/// What registering a context answers a host: `{"id", "context": why it
/// is invalid or null, "token": what became of its decision token}`.
pub fn registration(id: u64, error: Option<&str>, token: Value) -> Value {
    json!({"id": id, "context": error, "token": token})
}

/// Issues a decision token for `flag_keys` (see [`crate::token`]), valid
/// for `ttl_seconds` (in (0, 3600]): `{"token": "fc1..."}`, or `{"error":
/// {"code", "message"}}`.
pub fn issue_token(
    snapshot: &Snapshot,
    context: Result<&Scope, &ContextError>,
    flag_keys: &[String],
    signing_key: &[u8],
    now_ms: f64,
    ttl_seconds: f64,
) -> Value {
    let Ok(context) = context else {
        return token_error(
            TokenErrorCode::InvalidContext.as_str(),
            "the context is invalid",
        );
    };
    let keys: Vec<&str> = flag_keys.iter().map(String::as_str).collect();
    let issued = token::ttl_ms(ttl_seconds).and_then(|ttl| {
        token::issue(
            snapshot,
            context.context(),
            context.token(),
            &keys,
            signing_key,
            millis(now_ms),
            ttl,
        )
    });
    match issued {
        Ok(token) => json!({ "token": token }),
        Err(error) => token_error(error.code().as_str(), error.message()),
    }
}

/// The longest token lifetime a receiver accepts, from the seconds a host
/// passes: [`token::DEFAULT_MAX_LIFETIME_MS`] when it passes none (NaN or
/// not positive).
pub fn max_lifetime_ms(max_ttl_seconds: f64) -> u64 {
    if max_ttl_seconds.is_finite() && max_ttl_seconds > 0.0 {
        (max_ttl_seconds * 1000.0) as u64
    } else {
        token::DEFAULT_MAX_LIFETIME_MS
    }
}

fn token_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// Milliseconds since the epoch from the double a host passes: 0 for NaN,
/// the infinities and times before the epoch.
pub fn millis(now_ms: f64) -> u64 {
    if now_ms.is_finite() && now_ms > 0.0 {
        now_ms as u64
    } else {
        0
    }
}

/// Parses `json` and attaches `token` (see [`attach_token`]).
pub fn context_with_token(
    json: &str,
    token: Option<&str>,
    signing_key: &[u8],
    now_ms: f64,
    max_ttl_seconds: f64,
) -> (Result<Scope, ContextError>, Value) {
    attach_token(
        Context::from_json(json),
        token,
        signing_key,
        now_ms,
        max_ttl_seconds,
    )
}

/// Joins `token` (a token, or a `baggage` header holding one) to a
/// parsed context, in a [`Scope`], when it verifies at `now_ms` and lives no longer than
/// `max_ttl_seconds` (see [`max_lifetime_ms`]). Answers the scope and
/// what became of the token: `{"applied": true, "snapshotId", "flags",
/// "issuedMs", "expiresMs"}` or `{"applied": false, "code", "message"}`; no
/// token at all is `{"applied": false}`.
pub fn attach_token(
    parsed: Result<Context, ContextError>,
    token: Option<&str>,
    signing_key: &[u8],
    now_ms: f64,
    max_ttl_seconds: f64,
) -> (Result<Scope, ContextError>, Value) {
    let token = token.and_then(token::from_header);
    let (Ok(context), Some(text)) = (&parsed, token) else {
        return (parsed.map(Scope::new), no_token());
    };
    let verified = token::verify(
        text,
        signing_key,
        millis(now_ms),
        max_lifetime_ms(max_ttl_seconds),
    );
    let attached = verified.and_then(|verified| {
        let status = json!({"applied": true, "snapshotId": verified.snapshot_id(), "flags": verified.len(),
            "issuedMs": verified.issued_ms(), "expiresMs": verified.expires_ms()});
        Scope::with_token(context.clone(), verified).map(|scope| (scope, status))
    });
    match attached {
        Ok((scope, status)) => (Ok(scope), status),
        Err(error) => (
            parsed.map(Scope::new),
            json!({"applied": false, "code": error.code().as_str(), "message": error.message()}),
        ),
    }
}

/// EMF lines for the records a host kept during an invocation (see
/// [`crate::metrics::Metrics::from_value`] for their shape).
pub fn render_metrics(
    records: &Value,
    namespace: &str,
    function_name: Option<&str>,
    timestamp_ms: f64,
) -> Vec<String> {
    crate::metrics::Metrics::from_value(records).render(
        namespace,
        function_name,
        millis(timestamp_ms),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_lifetimes_from_doubles() {
        assert_eq!(millis(f64::NAN), 0);
        assert_eq!(millis(-5.0), 0);
        assert_eq!(millis(1_500.7), 1_500);
        assert_eq!(max_lifetime_ms(0.0), token::DEFAULT_MAX_LIFETIME_MS);
        assert_eq!(max_lifetime_ms(f64::NAN), token::DEFAULT_MAX_LIFETIME_MS);
        assert_eq!(max_lifetime_ms(2.5), 2_500);
    }

    #[test]
    fn a_token_for_an_invalid_context_is_an_error_envelope() {
        let snapshot = Snapshot::from_json(br#"{"flags": {}}"#).unwrap();
        let invalid = Context::from_json("{}").map(Scope::new);
        let answer = issue_token(&snapshot, invalid.as_ref(), &[], b"k", 0.0, 60.0);
        assert_eq!(answer["error"]["code"], "TOKEN_INVALID_CONTEXT");
    }
}
