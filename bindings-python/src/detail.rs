//! What evaluations answer: `EvaluationDetail` and `FlagsState`, with the
//! names and JSON shapes of LaunchDarkly's Python SDK.

use flagcore::{Reason, ReasonField, Value};
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::IntoPyObjectExt;

use crate::convert;

/// One evaluation's answer: the value, the variation's index (None when the
/// default was used) and the reason, a dict in LaunchDarkly's JSON shape.
#[pyclass(frozen, module = "flagcore", name = "EvaluationDetail")]
pub struct EvaluationDetail {
    value: Py<PyAny>,
    variation_index: Option<usize>,
    reason: Py<PyDict>,
}

impl EvaluationDetail {
    pub fn build<'py>(
        py: Python<'py>,
        value: Bound<'py, PyAny>,
        variation_index: Option<usize>,
        reason: &Reason<'_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let detail = EvaluationDetail {
            value: value.unbind(),
            variation_index,
            reason: reason_dict(py, reason)?.unbind(),
        };
        Ok(Bound::new(py, detail)?.into_any())
    }
}

#[pymethods]
impl EvaluationDetail {
    #[new]
    #[pyo3(signature = (value, variation_index, reason))]
    fn new(value: Py<PyAny>, variation_index: Option<usize>, reason: Py<PyDict>) -> Self {
        EvaluationDetail {
            value,
            variation_index,
            reason,
        }
    }

    /// The flag's value, or the caller's default.
    #[getter]
    fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    /// The variation's index, or None when the default was used.
    #[getter]
    fn variation_index(&self) -> Option<usize> {
        self.variation_index
    }

    /// Why: `{"kind": "RULE_MATCH", "ruleIndex": 0, "ruleId": "..."}` and so on.
    #[getter]
    fn reason(&self, py: Python<'_>) -> Py<PyDict> {
        self.reason.clone_ref(py)
    }

    /// Whether the caller's default was answered.
    fn is_default_value(&self) -> bool {
        self.variation_index.is_none()
    }

    fn __richcmp__(
        &self,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
        py: Python<'_>,
    ) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<EvaluationDetail>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let equal = self.variation_index == other.variation_index
            && self.value.bind(py).eq(other.value.bind(py))?
            && self.reason.bind(py).eq(other.reason.bind(py))?;
        match op {
            CompareOp::Eq => equal.into_py_any(py),
            CompareOp::Ne => (!equal).into_py_any(py),
            _ => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let index = match self.variation_index {
            Some(i) => i.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "EvaluationDetail(value={}, variation_index={index}, reason={})",
            self.value.bind(py).repr()?,
            self.reason.bind(py).repr()?
        ))
    }
}

/// A reason as the dict LaunchDarkly's Python SDK gives: the core's JSON
/// form of it (`Reason::fields`), entry by entry.
pub fn reason_dict<'py>(py: Python<'py>, reason: &Reason<'_>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in reason.fields() {
        let name = PyString::intern(py, name);
        match value {
            ReasonField::Name(text) => dict.set_item(name, PyString::intern(py, text))?,
            ReasonField::Text(text) => dict.set_item(name, text)?,
            ReasonField::Index(index) => dict.set_item(name, index)?,
            ReasonField::True => dict.set_item(name, true)?,
        }
    }
    Ok(dict)
}

/// What `all_flags_state` answers, with the methods of LaunchDarkly's
/// `FeatureFlagsState`.
#[pyclass(frozen, module = "flagcore", name = "FlagsState")]
pub struct FlagsState {
    json: Value,
}

impl FlagsState {
    pub fn new(json: Value) -> Self {
        FlagsState { json }
    }

    fn flag_state(&self, key: &str) -> Option<&Value> {
        self.json.get("$flagsState")?.get(key)
    }
}

#[pymethods]
impl FlagsState {
    /// A state from its JSON shape (`to_json_dict()`'s output).
    #[new]
    fn from_json_dict(state: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(FlagsState::new(convert::to_value(state)?))
    }

    /// False when the context was invalid or no snapshot was loaded.
    #[getter]
    fn valid(&self) -> bool {
        self.json.get("$valid") == Some(&Value::Bool(true))
    }

    /// A flag's value, or None for a flag not in the state.
    fn get_flag_value<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.flag_state(key) {
            Some(_) => convert::to_python(py, self.json.get(key).unwrap_or(&Value::Null)),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// A flag's reason, when the state was made `with_reasons`.
    fn get_flag_reason<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let reason = self.flag_state(key).and_then(|state| state.get("reason"));
        convert::to_python(py, reason.unwrap_or(&Value::Null))
    }

    /// Every flag's value, by key.
    fn to_values_map<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let values = PyDict::new(py);
        if let Some(Value::Object(states)) = self.json.get("$flagsState") {
            for key in states.keys() {
                let value = self.json.get(key).unwrap_or(&Value::Null);
                values.set_item(key, convert::to_python(py, value)?)?;
            }
        }
        Ok(values)
    }

    /// The state in LaunchDarkly's JSON shape, as a dict.
    fn to_json_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_python(py, &self.json)
    }

    /// The state in LaunchDarkly's JSON shape, as text: what a client-side
    /// SDK takes to bootstrap.
    fn to_json_string(&self) -> String {
        self.json.to_string()
    }

    fn __repr__(&self) -> String {
        let flags = self
            .json
            .get("$flagsState")
            .and_then(Value::as_object)
            .map_or(0, |states| states.len());
        format!("FlagsState(valid={}, flags={flags})", self.valid())
    }
}
