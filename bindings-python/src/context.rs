//! Contexts: plain dicts in LaunchDarkly's shapes, or a `Context` converted
//! once and reused for several evaluations.

use flagcore::{Context as CoreContext, ContextError, Scope, TokenStatus, Value};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert;

/// A context converted once. Pass it instead of a dict when a handler
/// evaluates several flags for the same user: it skips converting the dict on
/// every call. Changing the dict afterwards does not change the Context.
#[pyclass(frozen, module = "flagcore", name = "Context")]
pub struct Context {
    /// The context, with the decision token verified for it.
    parsed: Result<Scope, ContextError>,
    token_status: TokenStatus,
    /// The clock a carried token's expiry is checked on at each evaluation
    /// (seconds since the epoch, as `time.time`); the wall clock without one.
    clock: Option<Py<PyAny>>,
    /// What `FlagClient.decide` pinned it to, once (the client's record of
    /// the snapshot, with its `id`).
    pin: std::sync::OnceLock<Py<PyAny>>,
}

#[pymethods]
impl Context {
    /// Never raises: an invalid context evaluates to defaults with
    /// `USER_NOT_SPECIFIED`, and says why in `error`. With `token` (a
    /// decision token from upstream, or a `baggage` header holding one) and
    /// the `signing_key` it was signed with, the flags it decides answer as
    /// upstream did; `token_status` says whether it was applied and, if not,
    /// why. Every evaluation checks the token's expiry again, on `clock`
    /// (a function answering seconds since the epoch, like `time.time`, the
    /// default); `now_ms` is the time to verify it at (default: the clock's
    /// time). `max_ttl_seconds` is the longest lifetime accepted (default 300).
    #[new]
    #[pyo3(signature = (context, token=None, signing_key=None, now_ms=None, max_ttl_seconds=None, clock=None))]
    fn new(
        context: &Bound<'_, PyAny>,
        token: Option<&Bound<'_, PyAny>>,
        signing_key: Option<&str>,
        now_ms: Option<f64>,
        max_ttl_seconds: Option<f64>,
        clock: Option<Bound<'_, PyAny>>,
    ) -> Self {
        let clock = clock.map(Bound::unbind);
        let token = token.map(token_text);
        let token = token.as_deref();
        let (parsed, token_status) = match (context.cast::<Context>(), token) {
            // A prepared Context again, without a new token: as it was.
            (Ok(prepared), None) => (prepared.get().parsed.clone(), TokenStatus::Absent),
            (prepared, _) => {
                let parsed = match prepared {
                    Ok(prepared) => prepared.get().parsed.clone().map(|s| s.context().clone()),
                    Err(_) => parse(context),
                };
                let now_ms = now_ms
                    .map_or_else(|| read_clock(context.py(), clock.as_ref()), convert::millis);
                let key = signing_key.unwrap_or_default().as_bytes();
                // No lifetime given, or none that is positive: the core's default.
                let max_lifetime_ms = max_ttl_seconds
                    .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
                    .map(|seconds| (seconds * 1000.0) as u64);
                Scope::attach(parsed, token, key, now_ms, max_lifetime_ms)
            }
        };
        Context {
            parsed,
            token_status,
            clock,
            pin: std::sync::OnceLock::new(),
        }
    }

    /// The id of the snapshot that `FlagClient.decide` pinned this
    /// context's evaluations to (its decision token's, read from the
    /// published layout), or `None`: the client then answers every flag for
    /// it from that snapshot, under the kill switches of its own.
    #[getter]
    fn pinned_snapshot_id(&self, py: Python<'_>) -> PyResult<Option<String>> {
        match self.pin.get() {
            Some(pin) => pin.bind(py).getattr("id")?.extract(),
            None => Ok(None),
        }
    }

    /// The client's record of the pinned snapshot, or `None` (private).
    #[getter]
    fn _pin(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.pin.get().map(|pin| pin.clone_ref(py))
    }

    /// Pins it, once (private: `FlagClient.decide` does).
    fn _set_pin(&self, pin: Py<PyAny>) {
        let _ = self.pin.set(pin);
    }

    /// What became of the token: `{"applied": True, "snapshotId", "flags"}`
    /// or `{"applied": False, "code", "message"}`.
    #[getter]
    fn token_status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        Ok(convert::to_python(py, &self.token_status.to_value())?.cast_into::<PyDict>()?)
    }

    /// LaunchDarkly's canonical key (`feature_flag.context.id` on a span), or
    /// `None` when the context is invalid.
    #[getter]
    fn canonical_key(&self) -> Option<String> {
        self.parsed
            .as_ref()
            .ok()
            .map(|scope| scope.context().canonical_key())
    }

    /// Whether the context can be evaluated.
    #[getter]
    fn valid(&self) -> bool {
        self.parsed.is_ok()
    }

    /// Each kind and its key, in kind order: `[("user", "user-1")]`; empty when invalid.
    #[getter]
    fn keys(&self) -> Vec<(String, String)> {
        match self.parsed.as_ref().map(Scope::context) {
            Ok(context) => context
                .kinds()
                .map(|kind| {
                    (
                        kind.to_owned(),
                        context.key(kind).unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Why the context is invalid, or None.
    #[getter]
    fn error(&self) -> Option<String> {
        self.parsed.as_ref().err().map(ToString::to_string)
    }

    fn __repr__(&self) -> String {
        match self.parsed.as_ref().map(Scope::context) {
            Ok(context) => {
                let kinds: Vec<String> = context
                    .kinds()
                    .map(|kind| format!("{kind}:{}", context.key(kind).unwrap_or_default()))
                    .collect();
                format!("Context({})", kinds.join(", "))
            }
            Err(error) => format!("Context(invalid: {error})"),
        }
    }
}

/// A token's text: a `str` (a lone surrogate, which no token holds, made
/// U+FFFD, so the token is refused as malformed), or `bytes` of UTF-8 (a
/// header as some frameworks give it); anything else is refused as
/// malformed.
fn token_text(token: &Bound<'_, PyAny>) -> String {
    if let Ok(text) = token.cast::<pyo3::types::PyString>() {
        return convert::lossy_text(text);
    }
    convert::bytes_of(token, "")
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.into_owned()).ok())
        .unwrap_or_else(|| NOT_A_TOKEN.to_owned())
}

/// What a token of another type reads as: a token that does not parse.
const NOT_A_TOKEN: &str = "fc1.?";

/// The time on `clock` (seconds) in milliseconds; the wall clock without
/// one, or when it fails or answers no number.
fn read_clock(py: Python<'_>, clock: Option<&Py<PyAny>>) -> u64 {
    clock
        .and_then(|clock| clock.call0(py).ok()?.extract::<f64>(py).ok())
        .filter(|seconds| seconds.is_finite())
        .map_or_else(wall_clock_ms, |seconds| convert::millis(seconds * 1000.0))
}

/// Milliseconds since the epoch on the wall clock.
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A context object that is not JSON (a set, a custom class) is an invalid
/// context, like a malformed one: evaluation answers, it does not raise.
fn parse(object: &Bound<'_, PyAny>) -> Result<CoreContext, ContextError> {
    CoreContext::from_owned(convert::to_value(object).unwrap_or(Value::Null))
}

/// Runs `f` with the parsed context and the time to evaluate a decision
/// token at (0 without one), converting a dict only when it is not a
/// prepared `Context`.
pub fn with_context<T>(
    object: &Bound<'_, PyAny>,
    f: impl FnOnce(Result<&Scope, &ContextError>, u64) -> T,
) -> T {
    if let Ok(prepared) = object.cast::<Context>() {
        let prepared = prepared.get();
        let carries_token = matches!(&prepared.parsed, Ok(s) if s.token().is_some());
        let now_ms = if carries_token {
            read_clock(object.py(), prepared.clock.as_ref())
        } else {
            0
        };
        return f(prepared.parsed.as_ref(), now_ms);
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let parsed = recent::converted(dict);
        return f(parsed.as_ref().as_ref(), 0);
    }
    let parsed = parse(object).map(Scope::new);
    f(parsed.as_ref(), 0)
}

/// The last few plain dicts converted, so that a handler passing one dict
/// to several evaluations converts it once. Each use first checks that the
/// dict still holds the very objects it held when it was converted, key by
/// key and value by value, so a dict changed since converts afresh and
/// never gets a stale answer. Only flat dicts are kept: string keys, and
/// values that cannot change (str, int, float, bool, None); others convert
/// at every use.
mod recent {
    use std::sync::{Arc, Mutex};

    use pyo3::types::{PyFloat, PyInt, PyString};

    use super::*;

    const KEPT: usize = 4;

    type Parsed = Arc<Result<Scope, ContextError>>;

    struct Converted {
        dict: Py<PyDict>,
        /// The keys and values, in order: immutable objects, so the same
        /// object means the same JSON.
        items: Vec<(Py<PyAny>, Py<PyAny>)>,
        parsed: Parsed,
    }

    static RECENT: Mutex<(Vec<Converted>, usize)> = Mutex::new((Vec::new(), 0));

    fn immutable(value: &Bound<'_, PyAny>) -> bool {
        value.is_none()
            || value.cast::<PyString>().is_ok()
            || value.cast::<PyInt>().is_ok()
            || value.cast::<PyFloat>().is_ok()
    }

    fn unchanged(dict: &Bound<'_, PyDict>, items: &[(Py<PyAny>, Py<PyAny>)]) -> bool {
        dict.len() == items.len()
            && dict
                .iter()
                .zip(items)
                .all(|((key, value), (kept_key, kept_value))| {
                    key.as_ptr() == kept_key.as_ptr() && value.as_ptr() == kept_value.as_ptr()
                })
    }

    fn record(dict: &Bound<'_, PyDict>) -> Option<Vec<(Py<PyAny>, Py<PyAny>)>> {
        dict.iter()
            .map(|(key, value)| {
                (key.cast::<PyString>().is_ok() && immutable(&value))
                    .then(|| (key.unbind(), value.unbind()))
            })
            .collect()
    }

    /// The context `dict` converts to.
    pub fn converted(dict: &Bound<'_, PyDict>) -> Parsed {
        // Busy only when this thread re-entered (a finalizer evaluating, say)
        // or another holds it for a moment: convert without the cache then.
        if let Ok(recent) = RECENT.try_lock() {
            let found = recent.0.iter().find(|c| c.dict.as_ptr() == dict.as_ptr());
            if let Some(kept) = found.filter(|c| unchanged(dict, &c.items)) {
                return Arc::clone(&kept.parsed);
            }
        }
        let parsed = Arc::new(parse(dict.as_any()).map(Scope::new));
        if let Some(items) = record(dict) {
            if let Ok(mut recent) = RECENT.try_lock() {
                let entry = Converted {
                    dict: dict.clone().unbind(),
                    items,
                    parsed: Arc::clone(&parsed),
                };
                let (kept, next) = &mut *recent;
                match kept.iter().position(|c| c.dict.as_ptr() == dict.as_ptr()) {
                    Some(slot) => kept[slot] = entry,
                    None if kept.len() < KEPT => kept.push(entry),
                    None => {
                        kept[*next % KEPT] = entry;
                        *next = next.wrapping_add(1);
                    }
                }
            }
        }
        parsed
    }
}
