//! Edits of a snapshot's flags (`flagcore::edit`): `Snapshot.edit(change)`,
//! a change named as the `flagcore flag` commands name it.

use flagcore::edit::{apply, change_from_json, EditError};
use pyo3::prelude::*;

use crate::convert;
use crate::error::edit_error;
use crate::snapshot::Snapshot;

#[pymethods]
impl Snapshot {
    /// A new snapshot: this one with `change` made, a dict naming one
    /// operation (`{"create": key, "variations"?: [...]}`, `{"on": key}`,
    /// `{"off": key}`, `{"archive": key}`, `{"rollout": key, "shares": "10%"
    /// or {value: percent}}`, `{"target": key, "value": v, "add"?: [...],
    /// "remove"?: [...], "kind"?: "user"}`, `{"offVariation": key, "value":
    /// v}`). The changed flag's version goes up by one. Raises `EditError`
    /// with a `code` (`FLAG_NOT_FOUND`, `VARIATION_NOT_FOUND`,
    /// `PERCENT_INVALID`, ...); this snapshot is never changed.
    fn edit(&self, py: Python<'_>, change: &Bound<'_, PyAny>) -> PyResult<Snapshot> {
        let value = convert::to_value(change)?;
        let core = &self.core;
        // Made through the snapshot's JSON, like a parse: without the GIL.
        let made = py
            .detach(|| change_from_json(core, &value).and_then(|change| apply(core, &change)))
            .map_err(|error: EditError| edit_error(py, &error))?;
        Snapshot::new(py, made)
    }
}
