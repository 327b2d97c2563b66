//! The `flagcore._native` extension module: the classes that the `flagcore`
//! Python package re-exports. Evaluation happens in the Rust core; this crate
//! converts Python objects and maps errors, nothing more.

mod context;
mod convert;
mod detail;
mod refresh;
mod snapshot;

use pyo3::prelude::*;

pyo3::create_exception!(
    flagcore,
    SnapshotError,
    pyo3::exceptions::PyValueError,
    "A snapshot that could not be read: `code` is stable, `path` points into the input."
);

pyo3::create_exception!(
    flagcore,
    TokenError,
    pyo3::exceptions::PyValueError,
    "A decision token that could not be issued: `code` is TOKEN_NO_KEY or TOKEN_INVALID_CONTEXT."
);

/// Raises a core error as `flagcore.SnapshotError`, with `code`, `path` and `message`.
pub(crate) fn snapshot_error(py: Python<'_>, error: &flagcore::SnapshotError) -> PyErr {
    let raised = SnapshotError::new_err(error.to_string());
    let value = raised.value(py);
    let attributes = [
        ("code", error.code().as_str()),
        ("path", error.path()),
        ("message", error.message()),
    ];
    for (name, text) in attributes {
        if let Err(failed) = value.setattr(name, text) {
            return failed;
        }
    }
    raised
}

/// CloudWatch EMF lines for an invocation's records:
/// `{"evaluations": {flag: {variation: count}}, "measurements": [{"name", "value", "unit"}]}`.
#[pyfunction]
#[pyo3(signature = (records, namespace, function_name=None, timestamp_ms=None))]
fn render_metrics(
    records: &Bound<'_, PyAny>,
    namespace: &str,
    function_name: Option<&str>,
    timestamp_ms: Option<f64>,
) -> PyResult<Vec<String>> {
    let records = convert::to_value(records)?;
    let now = timestamp_ms.unwrap_or_else(context::wall_clock_ms);
    Ok(flagcore::host::render_metrics(
        &records,
        namespace,
        function_name,
        now,
    ))
}

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let version = m.py().version_info();
    convert::borrow_utf8_from((version.major, version.minor));
    m.add_function(wrap_pyfunction!(render_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(refresh::refresh_deadlines, m)?)?;
    m.add_class::<snapshot::Snapshot>()?;
    m.add_class::<context::Context>()?;
    m.add_class::<detail::EvaluationDetail>()?;
    m.add_class::<detail::FlagsState>()?;
    m.add("SnapshotError", m.py().get_type::<SnapshotError>())?;
    m.add("TokenError", m.py().get_type::<TokenError>())?;
    Ok(())
}
