//! The one place core errors become JavaScript errors: the message carries
//! the code, path and message as JSON, and the shared `js/snapshot.js` turns it
//! into a `SnapshotError` with `code` and `path`, as in the Node package.

use flagcore::SnapshotError;
use wasm_bindgen::JsError;

pub(crate) fn snapshot_error(error: SnapshotError) -> JsError {
    JsError::new(&flagcore_js_glue::snapshot_error_message(&error))
}

pub(crate) fn invalid_argument(message: &str) -> JsError {
    JsError::new(message)
}
