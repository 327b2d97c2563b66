//! flagcore's published layout (`flagcore::published`): what the Python
//! package's published sources read (`_sources.py`). Storing the bytes and
//! gzip are the Python side's; the layout and its checks are the core's.

use flagcore::published::{self, Head};
use flagcore::Snapshot as Core;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

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

/// The core's publish plan (see `Snapshot.publish_plan`), as a dict, or
/// `None` when nothing is to be written.
pub(crate) fn plan<'py>(
    py: Python<'py>,
    snapshot: &Core,
    previous: Option<&Bound<'_, PyAny>>,
    now_ms: i64,
    force: bool,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let previous = previous
        .map(|text| convert::bytes_of(text, "a head is str, bytes or bytearray"))
        .transpose()?;
    let planned = py
        .detach(|| published::plan(snapshot, previous.as_deref(), now_ms, force))
        .map_err(|error| snapshot_error(py, &error))?;
    let published::Plan::Write(writes) = planned else {
        return Ok(None);
    };
    let answer = PyDict::new(py);
    let head = &writes.published.head;
    answer.set_item("head", head.to_json())?;
    let names: Vec<&str> = head.chunks.iter().map(|c| c.name.as_str()).collect();
    answer.set_item("chunk_names", names)?;
    let chunks = PyList::empty(py);
    for chunk in &writes.published.chunks {
        chunks.append(PyBytes::new(py, chunk))?;
    }
    answer.set_item("chunks", chunks)?;
    answer.set_item("generation_head", &writes.generation_head)?;
    answer.set_item("replaced", &writes.replaced)?;
    Ok(Some(answer))
}

/// `(head bytes, stored chunk bytes, snapshot bytes)`: the most a reader
/// takes of a head's text, of one stored (gzip) chunk, and of a snapshot's
/// text from any source (`flagcore::published`'s bounds).
#[pyfunction]
pub fn published_limits() -> (usize, usize, usize) {
    (
        published::MAX_HEAD_BYTES,
        published::MAX_STORED_CHUNK_BYTES,
        published::MAX_SNAPSHOT_BYTES,
    )
}
