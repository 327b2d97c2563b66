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
