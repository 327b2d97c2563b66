//! The one place core errors become JavaScript errors. The reason carries
//! the code, path and message as JSON; `js/snapshot.js` turns it into a
//! `SnapshotError` with `code` and `path` properties.

use flagcore::SnapshotError;
use napi::{Error, Status};

pub(crate) fn snapshot_error(error: SnapshotError) -> Error {
    Error::new(
        Status::InvalidArg,
        flagcore_js_glue::snapshot_error_message(&error),
    )
}

/// A refused edit: the reason is `flagcore-edit:` and `{"code", "message"}`,
/// which `js/snapshot.js` turns into an `EditError`.
pub(crate) fn edit_error(error: &flagcore::edit::EditError) -> Error {
    let detail = serde_json::json!({"code": error.code, "message": error.message});
    Error::new(Status::InvalidArg, format!("flagcore-edit:{detail}"))
}

/// A refused plan, state or window: the reason is `flagcore-canary:` and
/// `{"code", "path", "message"}`, which `canary.js` turns into a `CanaryError`.
pub(crate) fn canary_error(error: &flagcore::canary::PlanError) -> Error {
    let detail =
        serde_json::json!({"code": error.code, "path": error.path, "message": error.message});
    Error::new(Status::InvalidArg, format!("flagcore-canary:{detail}"))
}
