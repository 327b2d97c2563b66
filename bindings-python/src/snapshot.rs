//! `Snapshot`: flag data parsed once, immutable, evaluated from any thread.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use flagcore::{
    host, AllFlagsOptions, ContextError, Detail, ErrorKind, Scope, Snapshot as Core, Value,
    ValueType,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::context::{wall_clock_ms, with_context};
use crate::convert;
use crate::detail::{EvaluationDetail, FlagsState};
use crate::error::{snapshot_error, token_error};
use crate::published;

/// Flag data parsed once, immutable; evaluate against it as often as you
/// like, from any thread.
#[pyclass(frozen, module = "flagcore", name = "Snapshot")]
pub struct Snapshot {
    core: Core,
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
    fn new(py: Python<'_>, core: Core) -> PyResult<Self> {
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
        now_ms: f64,
    ) -> Detail<'_> {
        static NULL: Value = Value::Null;
        let now_ms = if now_ms > 0.0 { now_ms as u64 } else { 0 };
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

    /// Reads a snapshot from flagcore's published layout: the head's JSON
    /// text and its chunks' plain (decompressed) bytes in order, or those
    /// before the first one not found. Raises `SnapshotError`
    /// (`PUBLISHED_CHUNK_MISSING`, `PUBLISHED_CHUNK_CORRUPT`,
    /// `PUBLISHED_HEAD_INVALID`); nothing is half-loaded.
    #[staticmethod]
    fn from_published(
        py: Python<'_>,
        head: &Bound<'_, PyAny>,
        chunks: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        published::assemble(py, head, chunks).and_then(|core| Snapshot::new(py, core))
    }

    /// A published snapshot's head, checked: `{"format", "id", "size",
    /// "hash", "publishedAt", "sequence", "source"?, "chunks": [{"name",
    /// "hash", "size"}]}`. Raises `SnapshotError` (`PUBLISHED_HEAD_INVALID`,
    /// or `PUBLISHED_FORMAT_UNKNOWN` for a head a newer flagcore wrote).
    #[staticmethod]
    fn published_head<'py>(
        py: Python<'py>,
        text: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        convert::to_python(py, &published::head(py, text)?.to_value())
    }

    /// Where the generation of snapshot `snapshot_id` keeps its own head
    /// (`snapshots/<id>/head.json`). Raises `SnapshotError`
    /// (`PUBLISHED_HEAD_INVALID`) for anything but a snapshot id.
    #[staticmethod]
    fn published_generation_head(py: Python<'_>, snapshot_id: &str) -> PyResult<String> {
        flagcore::published::generation_head_name(snapshot_id)
            .map_err(|error| crate::error::snapshot_error(py, &error))
    }

    /// What a request pinned to `pinned` (a decision token's snapshot, its
    /// head's sequence `pinned_sequence`) answers from in a function holding
    /// `held` (its latest head's sequence `held_sequence`): `pinned` itself
    /// when it is the newer, or else its flags under `held`'s kill switches
    /// (a flag `held` switched off, itself or through a prerequisite,
    /// answers as in `held`; one it lacks is not found), keeping `pinned`'s id.
    #[staticmethod]
    fn pinned(
        py: Python<'_>,
        pinned: Py<Snapshot>,
        pinned_sequence: i64,
        held: &Bound<'_, Snapshot>,
        held_sequence: i64,
    ) -> PyResult<Py<Snapshot>> {
        let composite = {
            let (upstream, held) = (&pinned.get().core, &held.get().core);
            py.detach(|| {
                flagcore::published::pinned(upstream, pinned_sequence, held, held_sequence)
            })
        };
        match composite {
            None => Ok(pinned),
            Some(core) => Py::new(py, Snapshot::new(py, core)?),
        }
    }

    /// This snapshot laid out for publishing at `now_ms` (default: now):
    /// `(head, chunks)`, the head's JSON text and the chunks' plain bytes.
    /// Store each chunk (gzip) under the name the head gives it, then the head.
    #[pyo3(signature = (now_ms=None))]
    fn publish<'py>(
        &self,
        py: Python<'py>,
        now_ms: Option<i64>,
    ) -> PyResult<(String, Bound<'py, PyList>)> {
        published::layout(
            py,
            &self.core,
            now_ms.unwrap_or_else(|| wall_clock_ms() as i64),
        )
    }

    /// What a publisher writes to replace the head it read (`previous`, its
    /// text, or None) with this snapshot at `now_ms`: the core's plan, the
    /// one rule of every publisher. `None` when the head already names this
    /// snapshot's id, and what its source says of it; else `{"head",
    /// "chunk_names", "chunks", "generation_head", "replaced"}`: write the
    /// chunks (gzip) under their names, then the head on the condition that
    /// it is still `previous`, then the generation's own head; then let
    /// `replaced` expire. Raises
    /// `SnapshotError`: `PUBLISH_REFUSED` for a snapshot with errors or a
    /// Relay table that lost its `$inited` marker (unless `force`),
    /// `PUBLISHED_FORMAT_UNKNOWN` when a newer flagcore wrote `previous`.
    #[pyo3(signature = (previous, now_ms=None, force=false))]
    fn publish_plan<'py>(
        &self,
        py: Python<'py>,
        previous: Option<&Bound<'_, PyAny>>,
        now_ms: Option<i64>,
        force: bool,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        published::plan(
            py,
            &self.core,
            previous,
            now_ms.unwrap_or_else(|| wall_clock_ms() as i64),
            force,
        )
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

    /// For FlagClient: `(value, variation index or None)`, with the value
    /// type numbered as every binding numbers it (`ValueType::from_code`:
    /// 1 bool, 2 float, 3 str, 4 int, else any), and no reason to build.
    fn _counted<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
        value_type: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value_type = ValueType::from_code(value_type);
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

    /// A bool flag's value; any other type answers `default` (`WRONG_TYPE`).
    fn bool_variation<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::Bool, Answer::Value)
    }

    fn bool_variation_detail<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::Bool, Answer::Detail)
    }

    /// A number flag's value, truncated toward zero.
    fn int_variation<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::Int, Answer::Value)
    }

    fn int_variation_detail<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::Int, Answer::Detail)
    }

    /// A number flag's value.
    fn float_variation<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::Double, Answer::Value)
    }

    fn float_variation_detail<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::Double, Answer::Detail)
    }

    /// A string flag's value.
    fn string_variation<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::String, Answer::Value)
    }

    fn string_variation_detail<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::String, Answer::Detail)
    }

    /// Any flag's value (JSON objects and arrays included).
    fn json_variation<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.answer(py, key, context, default, ValueType::Any, Answer::Value)
    }

    fn json_variation_detail<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        context: &Bound<'py, PyAny>,
        default: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
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
            host::all_flags_json(&self.core, parsed, options, now_ms)
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
        let now_ms = now_ms.unwrap_or_else(wall_clock_ms);
        let key = signing_key.unwrap_or_default().as_bytes();
        let answer = with_context(context, |parsed, _| {
            host::issue_token(&self.core, parsed, &flag_keys, key, now_ms, ttl_seconds)
        });
        match (
            answer.get("token").and_then(Value::as_str),
            answer.get("error"),
        ) {
            (Some(token), _) => Ok(token.to_owned()),
            (None, error) => {
                let field = |name: &str| {
                    error
                        .and_then(|e| e.get(name))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                Err(token_error(py, &field("code"), &field("message")))
            }
        }
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
