//! The core's errors as Python exceptions, mapped in one place (a wrong
//! argument type raises `TypeError` where the argument is converted).

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

pyo3::create_exception!(
    flagcore,
    EditError,
    pyo3::exceptions::PyValueError,
    "An edit that could not be made: `code` is stable (FLAG_NOT_FOUND, VARIATION_NOT_FOUND, PERCENT_INVALID, ...)."
);

pyo3::create_exception!(
    flagcore,
    CanaryError,
    pyo3::exceptions::PyValueError,
    "A canary plan, state, window or answer refused: `code` (PLAN_INVALID, STATE_INVALID, WINDOW_INVALID, METRICS_INVALID) and `path` are stable."
);

/// Raises a refused plan, state or window as `flagcore.CanaryError`, with
/// `code`, `path` and `message`.
pub(crate) fn canary_error(py: Python<'_>, error: &flagcore::canary::PlanError) -> PyErr {
    let raised = CanaryError::new_err(error.to_string());
    let value = raised.value(py);
    for (name, text) in [
        ("code", error.code),
        ("path", error.path.as_str()),
        ("message", error.message.as_str()),
    ] {
        if let Err(failed) = value.setattr(name, text) {
            return failed;
        }
    }
    raised
}

/// Raises a refused edit as `flagcore.EditError`, with `code` and `message`.
pub(crate) fn edit_error(py: Python<'_>, error: &flagcore::edit::EditError) -> PyErr {
    let raised = EditError::new_err(error.to_string());
    for (name, text) in [("code", error.code), ("message", error.message.as_str())] {
        if let Err(failed) = raised.value(py).setattr(name, text) {
            return failed;
        }
    }
    raised
}

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

/// Raises a refused decision token as `flagcore.TokenError`, with `code`.
pub(crate) fn token_error(py: Python<'_>, code: &str, message: &str) -> PyErr {
    let raised = TokenError::new_err(format!("{code}: {message}"));
    if let Err(failed) = raised.value(py).setattr("code", code) {
        return failed;
    }
    raised
}
