//! flagcore's published layout (`flagcore::published`): what the Python
//! package's published sources read (`_sources.py`). Storing the bytes and
//! gzip are the Python side's; the layout and its checks are the core's.

use flagcore::published::{self, Head};
use flagcore::Snapshot as Core;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::convert;
use crate::error::snapshot_error;

/// A head, checked (raises `SnapshotError`).
pub(crate) fn head(py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Head> {
    Head::from_json(&convert::bytes_of(
        text,
        "a head is str, bytes or bytearray",
    )?)
    .map_err(|error| snapshot_error(py, &error))
}

/// The snapshot a head names, from its chunks' plain bytes in order.
pub(crate) fn assemble(
    py: Python<'_>,
    head_text: &Bound<'_, PyAny>,
    chunks: &Bound<'_, PyAny>,
) -> PyResult<Core> {
    let head = head(py, head_text)?;
    let chunks: Vec<Vec<u8>> = chunks
        .try_iter()?
        .map(|chunk| {
            Ok(convert::bytes_of(&chunk?, "a chunk is str, bytes or bytearray")?.into_owned())
        })
        .collect::<PyResult<_>>()?;
    py.detach(|| head.assemble(&chunks))
        .map_err(|error| snapshot_error(py, &error))
}

/// `(head JSON text, [chunk bytes])`: `snapshot` laid out for publishing at `now_ms`.
pub(crate) fn layout<'py>(
    py: Python<'py>,
    snapshot: &Core,
    now_ms: i64,
) -> PyResult<(String, Bound<'py, PyList>)> {
    let laid_out = py
        .detach(|| published::publish(snapshot, now_ms))
        .map_err(|error| snapshot_error(py, &error))?;
    let chunks = PyList::empty(py);
    for chunk in &laid_out.chunks {
        chunks.append(PyBytes::new(py, chunk))?;
    }
    Ok((laid_out.head.to_json(), chunks))
}
