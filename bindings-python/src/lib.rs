//! The `flagcore._native` extension module: the classes that the `flagcore`
//! Python package re-exports. Evaluation happens in the Rust core; this crate
//! converts Python objects and maps errors, nothing more. Registration only;
//! the jobs live under the same file names as in the Node and WASM bindings:
//! `snapshot.rs`, `context.rs`, `detail.rs`, `edit.rs`, `canary.rs`, `metrics.rs`, `published.rs`, `refresh.rs`,
//! `convert.rs`, and `error.rs` for every error raised.

mod canary;
mod context;
mod convert;
mod detail;
mod edit;
mod error;
mod metrics;
mod published;
mod refresh;
mod snapshot;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let version = m.py().version_info();
    convert::borrow_utf8_from((version.major, version.minor));
    m.add_function(wrap_pyfunction!(metrics::render_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(refresh::refresh_deadlines, m)?)?;
    m.add_function(wrap_pyfunction!(published::published_limits, m)?)?;
    m.add_function(wrap_pyfunction!(canary::canary_decide, m)?)?;
    m.add_function(wrap_pyfunction!(canary::canary_step, m)?)?;
    m.add_function(wrap_pyfunction!(canary::canary_cloudwatch_request, m)?)?;
    m.add_function(wrap_pyfunction!(canary::canary_cloudwatch_window, m)?)?;
    m.add_class::<snapshot::Snapshot>()?;
    m.add_class::<snapshot::Type>()?;
    m.add_class::<context::Context>()?;
    m.add_class::<detail::EvaluationDetail>()?;
    m.add_class::<detail::FlagsState>()?;
    m.add("SnapshotError", m.py().get_type::<error::SnapshotError>())?;
    m.add("TokenError", m.py().get_type::<error::TokenError>())?;
    m.add("EditError", m.py().get_type::<error::EditError>())?;
    m.add("CanaryError", m.py().get_type::<error::CanaryError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
