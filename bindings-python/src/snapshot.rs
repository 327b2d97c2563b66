//! `Snapshot`: flag data parsed once, immutable, evaluated from any thread.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use flagcore::{
    AllFlagsOptions, ContextError, Detail, ErrorKind, Scope, Snapshot as Core, Value, ValueType,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::context::{wall_clock_ms, with_context};
use crate::convert;
use crate::detail::{EvaluationDetail, FlagsState};
use crate::error::{snapshot_error, token_error};

/// Flag data parsed once, immutable; evaluate against it as often as you
/// like, from any thread.
#[pyclass(frozen, module = "flagcore", name = "Snapshot")]
pub struct Snapshot {
    pub(crate) core: Core,
    /// Flag key (str) to its position in `flag_keys`: a lookup in a Python
    /// dict reuses the key's cached hash and reads no text.
    index: Py<PyDict>,
    /// Per flag, in `flag_keys` order: its variations as Python objects,
    /// made on first use. Only immutable values are kept (see
    /// `convert::is_shareable`); lists and dicts are made per answer.
    values: Box<[OnceLock<Variations>]>,
    flag_keys: OnceLock<Py<PyTuple>>,
}

/// One flag's variations as Python objects; None where made per answer.
type Variations = Box<[Option<Py<PyAny>>]>;

/// Whether to answer the value alone or the whole detail.
#[derive(Clone, Copy)]
enum Answer {
    Value,
    Detail,
    /// `(value, variation index or None)`: what a FlagClient counts, without a reason.
    Counted,
}

impl Snapshot {
    pub(crate) fn new(py: Python<'_>, core: Core) -> PyResult<Self> {
        let index = PyDict::new(py);
        for (position, key) in core.flag_keys().iter().enumerate() {
            index.set_item(key, position)?;
        }
        let values = (0..core.flag_keys().len())
            .map(|_| OnceLock::new())
            .collect();
        Ok(Snapshot {
            core,
            index: index.unbind(),
            values,
            flag_keys: OnceLock::new(),
        })
    }

    /// The flag's position, or None for a key that is not in the snapshot.
    fn position(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> Option<usize> {
        let found = self.index.bind(py).get_item(key).ok()??;
        found.extract().ok()
    }

    /// The Python object for variation `index` of the flag at `position`.
    fn variation_object<'py>(
        &self,
        py: Python<'py>,
        position: usize,
        index: usize,
        value: &Value,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !convert::is_shareable(value) {
            return convert::to_python(py, value);
        }
        let Some(slot) = self.values.get(position) else {
            return convert::to_python(py, value);
        };
        let cached = match slot.get() {
            Some(cached) => cached,
            None => {
                let key = self
                    .core
                    .flag_keys()
                    .get(position)
                    .map_or("", String::as_str);
                let made = self
                    .core
                    .variations(key)
                    .unwrap_or_default()
                    .iter()
                    .map(|v| match convert::is_shareable(v) {
                        true => convert::to_python(py, v).map(|o| Some(o.unbind())),
                        false => Ok(None),
                    })
                    .collect::<PyResult<Box<[_]>>>()?;
                // Another thread may have filled it meanwhile: either is right.
                slot.get_or_init(|| made)
            }
        };
        match cached.get(index) {
            Some(Some(object)) => Ok(object.bind(py).clone()),
            _ => convert::to_python(py, value),
        }
    }

    fn answer<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
        value_type: ValueType,
        answer: Answer,
    ) -> PyResult<Bound<'py, PyAny>> {
        let position = self.position(py, key);
        let text = match position.and_then(|p| self.core.flag_keys().get(p)) {
            Some(known) => Cow::Borrowed(known.as_str()),
            // Not in the snapshot: the core answers FLAG_NOT_FOUND (or
            // USER_NOT_SPECIFIED first, for a bad context), as for any key.
            // A key that is not text (a lone surrogate, say) names no flag
            // either: it answers, it does not raise.
            None => Cow::Owned(match key.cast::<PyString>() {
                Ok(string) => convert::lossy_text(string),
                Err(_) => key
                    .str()
                    .map(|text| convert::lossy_text(&text))
                    .unwrap_or_default(),
            }),
        };
        with_context(context, |parsed, now_ms| {
            let detail = self.detail(&text, parsed, value_type, now_ms);
            let value = match (detail.variation_index, &detail.value, position) {
                (Some(index), Cow::Borrowed(value), Some(position)) => {
                    self.variation_object(py, position, index, value)?
                }
                (Some(_), value, _) => convert::to_python(py, value)?,
                (None, _, _) => default,
            };
            match answer {
                Answer::Value => Ok(value),
                Answer::Detail => {
                    EvaluationDetail::build(py, value, detail.variation_index, &detail.reason)
                }
                Answer::Counted => Ok((value, detail.variation_index)
                    .into_pyobject(py)?
                    .into_any()),
            }
        })
    }

    /// The core's detail with a null default (the caller's is applied on the
    /// Python side). The core does not panic; should it ever, the answer is
    /// the default with an `EXCEPTION` reason, not a crash.
    fn detail(
        &self,
        key: &str,
        context: Result<&Scope, &ContextError>,
        value_type: ValueType,
        now_ms: u64,
    ) -> Detail<'_> {
        static NULL: Value = Value::Null;
        catch_unwind(AssertUnwindSafe(|| {
            self.core
                .variation_detail_checked(key, context, &NULL, value_type, now_ms)
        }))
        .unwrap_or_else(|_| Detail::error(&NULL, ErrorKind::Exception))
    }
}

#[pymethods]
impl Snapshot {
    /// Reads a snapshot (polling payload, put event, file data, or DynamoDB
    /// items) from JSON text or bytes. Raises `SnapshotError`.
    #[staticmethod]
    #[pyo3(signature = (data, prefix=None))]
    fn from_json(py: Python<'_>, data: &Bound<'_, PyAny>, prefix: Option<&str>) -> PyResult<Self> {
        let bytes = convert::bytes_of(data, "Snapshot.from_json takes str, bytes or bytearray")?;
        // Parsing a large snapshot takes milliseconds: let other threads run.
        let parsed = py.detach(|| Core::from_json_with_prefix(&bytes, prefix));
        parsed
            .map_err(|error| snapshot_error(py, &error))
            .and_then(|core| Snapshot::new(py, core))
    }

    /// Reads DynamoDB items as boto3 returns them: typed
    /// (`{"key": {"S": ...}}`, the client API) or plain (the resource API,
    /// numbers as `Decimal`). Raises `SnapshotError`.
    #[staticmethod]
    #[pyo3(signature = (items, prefix=None))]
    fn from_dynamodb_items(
        py: Python<'_>,
        items: &Bound<'_, PyAny>,
        prefix: Option<&str>,
    ) -> PyResult<Self> {
        let Value::Array(items) = convert::to_value(items)? else {
            return Err(PyTypeError::new_err("DynamoDB items must be a list"));
        };
        let parsed = py.detach(|| Core::from_dynamodb_items(&items, prefix));
        parsed
            .map_err(|error| snapshot_error(py, &error))
            .and_then(|core| Snapshot::new(py, core))
    }

    /// The content id: the same flags give the same id from any source.
    #[getter]
    fn id(&self) -> &str {
        self.core.id()
    }

    /// Every flag key, sorted.
    #[getter]
    fn flag_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        if let Some(keys) = self.flag_keys.get() {
            return Ok(keys.bind(py).clone());
        }
        let keys = PyTuple::new(py, self.core.flag_keys())?;
        Ok(self
            .flag_keys
            .get_or_init(|| keys.unbind())
            .bind(py)
            .clone())
    }

    /// The flag's value for `context`, or `default`.
    #[pyo3(signature = (key, context, default=None))]
    fn variation<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = default.unwrap_or_else(|| py.None().into_bound(py));
        self.answer(py, key, context, default, ValueType::Any, Answer::Value)
    }

    /// For FlagClient: `(value, variation index or None)` for a flag whose
    /// value must be of `value_type`, with no reason to build.
    fn _counted<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
        value_type: &Bound<'py, Type>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value_type = (*value_type.get()).into();
        self.answer(py, key, context, default, value_type, Answer::Counted)
    }

    /// The value, the variation's index and the reason.
    #[pyo3(signature = (key, context, default=None))]
    fn variation_detail<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = default.unwrap_or_else(|| py.None().into_bound(py));
        self.answer(py, key, context, default, ValueType::Any, Answer::Detail)
    }

    /// Every flag's value for a context, for bootstrapping client-side SDKs.
    /// An invalid context gives an invalid, empty state.
    #[pyo3(signature = (context, *, client_side_only=false, with_reasons=false, details_only_for_tracked_flags=false))]
    fn all_flags_state(
        &self,
        context: &Bound<'_, PyAny>,
        client_side_only: bool,
        with_reasons: bool,
        details_only_for_tracked_flags: bool,
    ) -> FlagsState {
        let options = AllFlagsOptions {
            client_side_only,
            with_reasons,
            details_only_for_tracked_flags,
            now_millis: 0,
        };
        let json = with_context(context, |parsed, now_ms| {
            self.core
                .all_flags_state_checked(parsed, options, now_ms)
                .to_value()
        });
        FlagsState::new(json)
    }

    /// A decision token holding this snapshot's answers for `flag_keys` and
    /// `context`, signed with `signing_key` (at least 16 bytes), valid for
    /// `ttl_seconds` (more than 0, at most 3600): pass it downstream (a
    /// `baggage` member `flagcore=...`). Raises `TokenError` without a usable
    /// key, with an invalid context or time to live, or for more than 128
    /// flags.
    #[pyo3(signature = (context, flag_keys, signing_key, ttl_seconds=60.0, now_ms=None))]
    fn decision_token(
        &self,
        py: Python<'_>,
        context: &Bound<'_, PyAny>,
        flag_keys: Vec<String>,
        signing_key: Option<&str>,
        ttl_seconds: f64,
        now_ms: Option<f64>,
    ) -> PyResult<String> {
        let now_ms = now_ms.map_or_else(wall_clock_ms, convert::millis);
        let key = signing_key.unwrap_or_default().as_bytes();
        let keys: Vec<&str> = flag_keys.iter().map(String::as_str).collect();
        let ttl_ms = flagcore::token::ttl_ms_from_seconds(ttl_seconds);
        with_context(context, |parsed, _| {
            self.core.decision_token(parsed, &keys, key, now_ms, ttl_ms)
        })
        .map_err(|error| token_error(py, error.code().as_str(), error.message()))
    }

    /// The problems of how the snapshot was stored (items without data, a
    /// missing `$inited` marker, other namespaces), as `check` lists them.
    fn source_problems<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let problems = serde_json::to_value(self.core.source_problems()).unwrap_or(Value::Null);
        convert::to_python(py, &problems)
    }

    /// The problems `flagcore check` lists: `[{"severity", "code", "path", "message"}]`.
    fn check<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let problems = serde_json::to_value(self.core.check()).unwrap_or(Value::Null);
        convert::to_python(py, &problems)
    }

    fn __len__(&self) -> usize {
        self.core.flag_keys().len()
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> bool {
        self.position(py, key).is_some()
    }

    fn __repr__(&self) -> String {
        format!(
            "Snapshot(id={:?}, flags={})",
            self.core.id(),
            self.core.flag_keys().len()
        )
    }
}

/// The type a flag's value must have, as `FlagClient` names it when it asks
/// for a value alone (`Snapshot._counted`).
#[pyclass(eq, eq_int, frozen, module = "flagcore", name = "ValueType")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Type {
    #[pyo3(name = "ANY")]
    Any,
    #[pyo3(name = "BOOL")]
    Bool,
    #[pyo3(name = "INT")]
    Int,
    #[pyo3(name = "FLOAT")]
    Float,
    #[pyo3(name = "STR")]
    Str,
}

impl From<Type> for ValueType {
    fn from(value_type: Type) -> ValueType {
        match value_type {
            Type::Any => ValueType::Any,
            Type::Bool => ValueType::Bool,
            Type::Int => ValueType::Int,
            Type::Float => ValueType::Double,
            Type::Str => ValueType::String,
        }
    }
}

/// One evaluation method of `Snapshot`: `$name(key, context, default)`,
/// for a flag whose value must be of `$type`, answering as `$answer` says.
macro_rules! evaluation_method {
    ($name:ident, $type:expr, $answer:expr, $($doc:literal),+) => {
        #[pymethods]
        impl Snapshot {
            $(#[doc = $doc])+
            fn $name<'py>(
                &self,
                py: Python<'py>,
                key: &Bound<'py, PyAny>,
                context: &Bound<'py, PyAny>,
                default: Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                self.answer(py, key, context, default, $type, $answer)
            }
        }
    };
}

/// The typed variation methods, made from one table: per row, the value
/// method, the detail method, the type the flag's value must have (any
/// other answers the default with `WRONG_TYPE`), and what the value is.
macro_rules! typed_variations {
    ($($value:ident, $detail:ident, $type:expr, $doc:literal;)*) => {
        $(
            evaluation_method!($value, $type, Answer::Value, $doc);
            evaluation_method!($detail, $type, Answer::Detail, $doc, "With the variation's index and the reason.");
        )*
    };
}

typed_variations! {
    bool_variation, bool_variation_detail, ValueType::Bool, "A bool flag's value.";
    int_variation, int_variation_detail, ValueType::Int, "A number flag's value, truncated toward zero.";
    float_variation, float_variation_detail, ValueType::Double, "A number flag's value.";
    string_variation, string_variation_detail, ValueType::String, "A string flag's value.";
    json_variation, json_variation_detail, ValueType::Any, "Any flag's value (JSON objects and arrays included).";
}
