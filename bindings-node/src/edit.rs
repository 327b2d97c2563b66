//! Edits of a snapshot's flags (`flagcore::edit`), which `js/snapshot.js`
//! wraps as `snapshot.edit(change)`: a change named as the `flagcore flag`
//! commands name it.

use flagcore::edit::{apply, change_from_json};
use flagcore::Snapshot;
use napi::bindgen_prelude::External;
use napi::Result;
use napi_derive::napi;

use crate::error::edit_error;
use crate::snapshot::external;

/// `snapshot` with the change `change` (JSON text) made: a new snapshot.
#[napi(catch_unwind)]
pub fn edit_snapshot(snapshot: &External<Snapshot>, change: String) -> Result<External<Snapshot>> {
    let value = flagcore::parse_json(&change).map_err(|e| {
        edit_error(&flagcore::edit::EditError {
            code: "EDIT_INVALID",
            message: format!("the change is not JSON: {e}"),
        })
    })?;
    let made = change_from_json(snapshot, &value)
        .and_then(|change| apply(snapshot, &change))
        .map_err(|e| edit_error(&e))?;
    let size = flagcore::published::canonical_json(&made).len();
    Ok(external(made, size))
}
