//! Contexts: plain dicts in LaunchDarkly's shapes, or a `Context` converted
//! once and reused for several evaluations.

use flagcore::{Context as CoreContext, ContextError, Value};
use pyo3::prelude::*;

use crate::convert;

/// A context converted once. Pass it instead of a dict when a handler
/// evaluates several flags for the same user: it skips converting the dict on
/// every call. Changing the dict afterwards does not change the Context.
#[pyclass(frozen, module = "flagcore", name = "Context")]
pub struct Context {
    parsed: Result<CoreContext, ContextError>,
}

#[pymethods]
impl Context {
    /// Never raises: an invalid context evaluates to defaults with
    /// `USER_NOT_SPECIFIED`, and says why in `error`.
    #[new]
    fn new(context: &Bound<'_, PyAny>) -> Self {
        Context {
            parsed: parse(context),
        }
    }

    /// Whether the context can be evaluated.
    #[getter]
    fn valid(&self) -> bool {
        self.parsed.is_ok()
    }

    /// Why the context is invalid, or None.
    #[getter]
    fn error(&self) -> Option<String> {
        self.parsed.as_ref().err().map(ToString::to_string)
    }

    fn __repr__(&self) -> String {
        match &self.parsed {
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

/// A context object that is not JSON (a set, a custom class) is an invalid
/// context, like a malformed one: evaluation answers, it does not raise.
fn parse(object: &Bound<'_, PyAny>) -> Result<CoreContext, ContextError> {
    match convert::to_value(object) {
        Ok(value) => CoreContext::from_value(&value),
        Err(_) => CoreContext::from_value(&Value::Null),
    }
}

/// Runs `f` with the parsed context, converting a dict only when it is not a
/// prepared `Context`.
pub fn with_context<T>(
    object: &Bound<'_, PyAny>,
    f: impl FnOnce(Result<&CoreContext, &ContextError>) -> T,
) -> T {
    if let Ok(prepared) = object.cast::<Context>() {
        return f(prepared.get().parsed.as_ref());
    }
    let parsed = parse(object);
    f(parsed.as_ref())
}
