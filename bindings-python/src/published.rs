//! flagcore's published layout (`flagcore::published`): what the Python
//! package's published sources read (`_published.py`). Storing the bytes and
//! gzip are the Python side's; the layout and its checks are the core's.

use flagcore::published::{self, Head};
use flagcore::Snapshot as Core;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::context::wall_clock_ms;
use crate::convert;
use crate::error::snapshot_error;
use crate::snapshot::Snapshot;

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

/// The published layout's methods of `Snapshot`: reading it, pinning, and
/// laying a snapshot out for publishing.
#[pymethods]
impl Snapshot {
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
        assemble(py, head, chunks).and_then(|core| Snapshot::new(py, core))
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
        convert::to_python(py, &head(py, text)?.to_value())
    }

    /// Where the generation of snapshot `snapshot_id` keeps its own head
    /// (`snapshots/<id>/head.json`). Raises `SnapshotError`
    /// (`PUBLISHED_HEAD_INVALID`) for anything but a snapshot id.
    #[staticmethod]
    fn published_generation_head(py: Python<'_>, snapshot_id: &str) -> PyResult<String> {
        flagcore::published::generation_head_name(snapshot_id)
            .map_err(|error| snapshot_error(py, &error))
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
        layout(
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
        plan(
            py,
            &self.core,
            previous,
            now_ms.unwrap_or_else(|| wall_clock_ms() as i64),
            force,
        )
    }
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
