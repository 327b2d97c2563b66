//! The one place core errors become JavaScript errors: the message carries
//! the code, path and message as JSON, and the shared `js/snapshot.js` turns it
//! into a `SnapshotError` with `code` and `path`, as in the Node package.

use flagcore::SnapshotError;
use wasm_bindgen::JsError;

pub(crate) fn snapshot_error(error: SnapshotError) -> JsError {
    let detail = serde_json::json!({
        "code": error.code().as_str(),
        "path": error.path(),
        "message": error.message(),
    });
    JsError::new(&format!("flagcore:{detail}"))
}

pub(crate) fn invalid_argument(message: &str) -> JsError {
    JsError::new(message)
}
