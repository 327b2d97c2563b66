//! What the JavaScript hosts (the Node and WASM packages) share, so that they
//! cannot drift: the packed answer of an evaluation, and the cache of parsed
//! contexts. Their shared JS layer (`bindings-wasm/js/`) builds LaunchDarkly's detail objects from the
//! packed number and from values it fetched once per flag, so an evaluation
//! crosses the boundary once, with numbers only.
//!
//! The number is the core's packed answer (`crate::packed`, version
//! `crate::packed::VERSION`) as an `f64` (it fits in 47 bits). Decision
//! tokens carry the same packed answer, but through `crate::packed` alone:
//! the answer ABI of the hosts can change here without changing tokens.
//! A detail that does not fit is [`DOES_NOT_FIT`], and the host asks for
//! the detail as JSON instead.

use serde_json::{json, Value};

use crate::context::{Context, ContextError};
use crate::packed;
use crate::reason::Detail;
use crate::scope::Scope;
use crate::snapshot::Snapshot;
use crate::token::{self, TokenErrorCode};
use crate::variation::ValueType;

/// The packed answer for details that do not fit the number.
pub const DOES_NOT_FIT: f64 = -1.0;

/// The packed answer when a prepared context is no longer cached: the host
/// registers it again.
pub const NOT_PREPARED: f64 = -2.0;

/// How many parsed contexts a [`ContextCache`] keeps.
const ENTRIES: usize = 8;

/// The value type a host passes as a number: 1 bool, 2 double, 3 string,
/// 4 int, anything else any.
pub fn value_type(code: u32) -> ValueType {
    match code {
        1 => ValueType::Bool,
        2 => ValueType::Double,
        3 => ValueType::String,
        4 => ValueType::Int,
        _ => ValueType::Any,
    }
}

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
        value_type(value_type_code),
        millis(now_ms),
    );
    pack(snapshot, key, &detail)
}

/// Evaluates several flags for one context in one crossing: each of `codes`
/// is a flag number (a position in [`Snapshot::flag_keys`]) times 8 plus
/// its value type code, and its packed answer goes to `out` at the same
/// position. Answers how many it wrote.
pub fn evaluate_many(
    snapshot: &Snapshot,
    codes: &[u32],
    context: Result<&Scope, &ContextError>,
    now_ms: f64,
    out: &mut [f64],
) -> usize {
    let mut written = 0;
    for (code, slot) in codes.iter().zip(out.iter_mut()) {
        *slot = evaluate_packed(snapshot, code >> 3, context, code & 7, now_ms);
        written += 1;
    }
    written
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
            value_type(value_type_code),
            millis(now_ms),
        )
        .to_value()
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

/// What a host needs to build the details of flag number `flag`: its key,
/// variations, rule ids and prerequisite keys.
pub fn flag_info(snapshot: &Snapshot, flag: u32) -> Value {
    let Some(key) = snapshot.flag_keys().get(flag as usize) else {
        return Value::Null;
    };
    let variations = snapshot.variations(key).unwrap_or_default();
    let (rule_ids, prerequisite_keys) = snapshot.reason_keys(key).unwrap_or_default();
    json!({"key": key, "variations": variations, "ruleIds": rule_ids, "prerequisiteKeys": prerequisite_keys})
}

fn pack(snapshot: &Snapshot, key: &str, detail: &Detail<'_>) -> f64 {
    packed::pack(snapshot, key, detail.variation_index, &detail.reason)
        .map_or(DOES_NOT_FIT, |bits| bits as f64)
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

fn millis(now_ms: f64) -> u64 {
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
        return (parsed.map(Scope::new), json!({"applied": false}));
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

#[derive(PartialEq)]
enum Key {
    Text(String),
    Prepared(u64),
}

/// The parsed form of recent contexts, so that a handler evaluating several
/// flags for one user parses its context once.
///
/// Plain objects arrive as JSON text and are keyed by that whole text, so a
/// changed context is a new entry, never a stale answer. Prepared contexts
/// are registered once under a number the cache hands out, and then cross
/// as that number alone: every copy of a host's API that shares the cache
/// (two module registries in one process, say) gets numbers of its own.
#[derive(Default)]
pub struct ContextCache {
    entries: Vec<(Key, Result<Scope, ContextError>)>,
    next: usize,
    last_id: u64,
}

impl ContextCache {
    fn find(&self, key: &Key) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    fn insert(&mut self, key: Key, parsed: Result<Scope, ContextError>) -> Option<usize> {
        if self.entries.len() < ENTRIES {
            self.entries.push((key, parsed));
            return Some(self.entries.len() - 1);
        }
        let slot = self.next % ENTRIES;
        self.next = self.next.wrapping_add(1);
        *self.entries.get_mut(slot)? = (key, parsed);
        Some(slot)
    }

    /// Calls `f` with the parsed context for `json`, parsing it only on a miss.
    pub fn with_text<R>(
        &mut self,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> R {
        let key = Key::Text(json.to_owned());
        let position = match self.find(&key) {
            Some(position) => Some(position),
            None => self.insert(key, parse(json)),
        };
        match position.and_then(|p| self.entries.get(p)) {
            Some((_, parsed)) => f(parsed.as_ref()),
            None => f(parse(json).as_ref()),
        }
    }

    /// Calls `f` with prepared context `id`, or for `id` 0 with the context
    /// parsed from `json` (cached as [`ContextCache::with_text`] does);
    /// `None` when `id` has been let go and must be registered again.
    pub fn with_prepared_or_text<R>(
        &mut self,
        id: u64,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> Option<R> {
        if id == 0 {
            return Some(self.with_text(json, f));
        }
        self.with_prepared(id, f)
    }

    /// Registers a prepared context and answers its number: positive for a
    /// valid context, negated for an invalid one (see
    /// [`ContextCache::context_error`]). `id` 0 asks for a new number; a
    /// number this cache handed out registers the context again under it,
    /// after the cache let it go.
    pub fn prepare(&mut self, id: u64, json: &str) -> f64 {
        let parsed = parse(json);
        let valid = parsed.is_ok();
        let id = self.store(id, parsed);
        if valid {
            id as f64
        } else {
            -(id as f64)
        }
    }

    /// Registers a prepared context as [`ContextCache::prepare`] does, and
    /// calls `f` with it: a context's first evaluation registers it in the
    /// same crossing. Answers the number (negated for an invalid context)
    /// and what `f` answered.
    pub fn prepare_then<R>(
        &mut self,
        id: u64,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> (f64, R) {
        let number = self.prepare(id, json);
        let key = Key::Prepared(number.abs() as u64);
        match self.entries.iter().find(|(k, _)| *k == key) {
            Some((_, parsed)) => (number, f(parsed.as_ref())),
            // Registered just now, so it is there; were it not, parse again.
            None => (number, f(parse(json).as_ref())),
        }
    }

    /// Why prepared context `id` is invalid; `None` when it is valid or gone.
    pub fn context_error(&self, id: u64) -> Option<String> {
        let (_, parsed) = self.entries.get(self.find(&Key::Prepared(id))?)?;
        parsed.as_ref().err().map(ToString::to_string)
    }

    fn store(&mut self, id: u64, parsed: Result<Scope, ContextError>) -> u64 {
        let id = if id == 0 || id > self.last_id {
            self.last_id += 1;
            self.last_id
        } else {
            id
        };
        let key = Key::Prepared(id);
        match self.find(&key).and_then(|p| self.entries.get_mut(p)) {
            Some(entry) => entry.1 = parsed,
            None => {
                self.insert(key, parsed);
            }
        }
        id
    }

    /// Registers a prepared context with a decision token, as
    /// [`ContextCache::prepare`] does; answers `{"id", "context": why the
    /// context is invalid or null, "token": what became of the token}` (see
    /// [`context_with_token`]).
    pub fn prepare_with_token(
        &mut self,
        id: u64,
        json: &str,
        token: Option<&str>,
        signing_key: &[u8],
        now_ms: f64,
        max_ttl_seconds: f64,
    ) -> Value {
        let (parsed, status) =
            context_with_token(json, token, signing_key, now_ms, max_ttl_seconds);
        let error = parsed.as_ref().err().map(ToString::to_string);
        let id = self.store(id, parsed);
        json!({"id": id, "context": error, "token": status})
    }

    /// Calls `f` with prepared context `id`, or answers `None` when it has
    /// been let go and must be registered again.
    pub fn with_prepared<R>(
        &self,
        id: u64,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> Option<R> {
        let (_, parsed) = self.entries.get(self.find(&Key::Prepared(id))?)?;
        Some(f(parsed.as_ref()))
    }
}

/// The context in `json`, with no token.
pub fn parse(json: &str) -> Result<Scope, ContextError> {
    Context::from_json(json).map(Scope::new)
}

/// The canonical key of the context in `json` ([`Context::canonical_key`]),
/// or `None` when it is not a valid context.
pub fn canonical_key(json: &str) -> Option<String> {
    Context::from_json(json)
        .ok()
        .map(|context| context.canonical_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_caches_as_the_hosts_expect() {
        let snapshot = Snapshot::from_json(
            br#"{"flags": {"f": {"on": true, "variations": [1, 2], "prerequisites": [{"key": "g", "variation": 0}],
                "offVariation": 1, "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        let mut cache = ContextCache::default();
        let packed = cache.with_text(r#"{"key": "u"}"#, |c| {
            evaluate_packed(&snapshot, 0, c, 0, 0.0)
        });
        // Variation 1 (+1), PREREQUISITE_FAILED (4), position 0.
        assert_eq!(packed, (2 | (4 << 16)) as f64);
        let context = Scope::new(Context::new("user", "u").unwrap());
        assert_eq!(
            evaluate_packed(&snapshot, 7, Ok(&context), 0, 0.0),
            DOES_NOT_FIT
        );
        // Several at once answer as one at a time, each with its own type.
        let mut out = [0.0; 3];
        let codes = [0, 8 * 7, 1];
        assert_eq!(
            evaluate_many(&snapshot, &codes, Ok(&context), 0.0, &mut out),
            3
        );
        assert_eq!(out[0], evaluate_packed(&snapshot, 0, Ok(&context), 0, 0.0));
        assert_eq!(out[1], DOES_NOT_FIT);
        assert_eq!(out[2], evaluate_packed(&snapshot, 0, Ok(&context), 1, 0.0));
        assert_ne!(out[2], out[0], "a bool flag of numbers is the wrong type");
        let invalid = cache.prepare(0, r#"{"kind": "user"}"#);
        assert!(invalid < 0.0);
        assert!(cache.context_error(-invalid as u64).is_some());
        let ids: Vec<f64> = (0..20)
            .map(|_| cache.prepare(0, r#"{"key": "u"}"#))
            .collect();
        assert!(
            cache.with_prepared(-invalid as u64, |_| ()).is_none(),
            "evicted after eight newer entries"
        );
        assert!(cache.with_prepared(ids[19] as u64, |_| ()).is_some());
        // Registered and evaluated in one call, under a new number.
        let (number, packed) = cache.prepare_then(0, r#"{"key": "w"}"#, |c| {
            evaluate_packed(&snapshot, 0, c, 0, 0.0)
        });
        assert_eq!(number, ids[19] + 1.0);
        assert_eq!(packed, (2 | (4 << 16)) as f64);
        let (number, packed) = cache.prepare_then(0, "{}", |c| c.is_ok());
        assert!(number < 0.0 && !packed, "an invalid context is negated");
        // Registered again under its own number, not a new one.
        assert_eq!(cache.prepare(ids[0] as u64, r#"{"key": "u"}"#), ids[0]);
        // A number it never handed out gets a new one: no two registrations share one.
        assert_eq!(cache.prepare(1_000, r#"{"key": "v"}"#), ids[19] + 3.0);
    }
}
