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

/// The line a history record gives `change` (JSON text) made to `snapshot`
/// (`flagcore::edit::summary`): `canary: rollout true 10%, false 90%`.
#[napi(catch_unwind)]
pub fn edit_summary(snapshot: &External<Snapshot>, change: String) -> Result<String> {
    let value = flagcore::parse_json(&change).map_err(|e| {
        edit_error(&flagcore::edit::EditError {
            code: "EDIT_INVALID",
            message: format!("the change is not JSON: {e}"),
        })
    })?;
    let change = change_from_json(snapshot, &value).map_err(|e| edit_error(&e))?;
    Ok(flagcore::edit::summary(&change, snapshot))
}

/// The history record of a published generation (`flagcore::edit::record`),
/// from `{"sequence", "id", "previous", "publishedAt", "author", "comment",
/// "changes", "decisions", "decisionsLeftOut"}` (JSON text): `[name, text]`, the text within its bound. A
/// comment or an author the edits refuse is an `EDIT_INVALID` refusal.
#[napi(catch_unwind)]
pub fn history_record(fields: String) -> Result<Vec<String>> {
    let refuse = |message: String| {
        edit_error(&flagcore::edit::EditError {
            code: "EDIT_INVALID",
            message,
        })
    };
    let value = flagcore::parse_json(&fields).map_err(|e| refuse(e.to_string()))?;
    let text = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
    let record = flagcore::edit::Record {
        sequence: value["sequence"]
            .as_i64()
            .ok_or_else(|| refuse("a record needs its sequence".into()))?,
        id: text("id"),
        previous: value["previous"].as_str().map(str::to_owned),
        published_at: value["publishedAt"].as_i64().unwrap_or(0),
        author: text("author"),
        comment: text("comment"),
        changes: value["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect(),
        decisions: value["decisions"]
            .as_array()
            .map(|d| d.iter().filter(|d| d.is_object()).cloned().collect())
            .unwrap_or_default(),
        decisions_left_out: value["decisionsLeftOut"].as_u64().unwrap_or(0),
    };
    flagcore::edit::record::check_comment(&record.comment, &record.author).map_err(refuse)?;
    Ok(vec![
        flagcore::edit::record::record_name(record.sequence),
        record.to_json(),
    ])
}
