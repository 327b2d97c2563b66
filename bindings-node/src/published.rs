//! flagcore's published layout (`flagcore::published`): what the shared
//! `js/published.js` reads and the publishers write. The bytes
//! cross as they are; storing and gzip are the JS side's.

use flagcore::published::{self, Head};
use flagcore::Snapshot;
use napi::bindgen_prelude::{Buffer, Either, External};
use napi::Result;
use napi_derive::napi;

use crate::convert;
use crate::error::snapshot_error;
use crate::snapshot::external;

/// A head, checked (a `SnapshotError` when it is not one), as the core
/// reads it (a head written before sequences existed gets its
/// `publishedAt` as its `sequence`): answered as JSON text, for the JS side
/// to parse, as the WASM module does.
#[napi(catch_unwind)]
pub fn published_head(text: Either<String, Buffer>) -> Result<String> {
    let bytes = convert::bytes(&text);
    Head::from_json(bytes)
        .map(|head| head.to_json())
        .map_err(snapshot_error)
}

/// The snapshot a head names, from its chunks' plain bytes in order; fewer
/// chunks than the head names (the first missing one left out) is
/// `PUBLISHED_CHUNK_MISSING` at that chunk.
#[napi(catch_unwind)]
pub fn snapshot_from_published(
    head: Either<String, Buffer>,
    chunks: Vec<Buffer>,
) -> Result<External<Snapshot>> {
    let bytes = convert::bytes(&head);
    let head = Head::from_json(bytes).map_err(snapshot_error)?;
    head.assemble(&chunks)
        .map(|snapshot| external(snapshot, head.size))
        .map_err(snapshot_error)
}

/// A snapshot laid out for publishing at `now_ms`.
#[napi(object)]
pub struct Layout {
    /// The head's JSON text, written last.
    pub head: String,
    /// The chunks' plain bytes, in order, written first.
    pub chunks: Vec<Buffer>,
}

/// Lays a snapshot out for publishing at `now_ms` (see `flagcore::published::publish`).
#[napi(catch_unwind)]
pub fn snapshot_publish(snapshot: &External<Snapshot>, now_ms: f64) -> Result<Layout> {
    let laid_out = published::publish(snapshot, now_ms as i64).map_err(snapshot_error)?;
    Ok(Layout {
        head: laid_out.head.to_json(),
        chunks: laid_out.chunks.into_iter().map(Buffer::from).collect(),
    })
}

/// Where the generation of snapshot `id` keeps its own head
/// (`snapshots/<id>/head.json`); a `SnapshotError` for anything but a
/// snapshot id.
#[napi(catch_unwind)]
pub fn published_generation_head(id: String) -> Result<String> {
    published::generation_head_name(&id).map_err(snapshot_error)
}

/// What a request pinned to `pinned` (its head's sequence
/// `pinned_sequence`) answers from in a function holding `held` (its latest
/// head's sequence `held_sequence`): null when that is `pinned` as it is,
/// or the composite under `held`'s kill switches (see
/// `flagcore::published::pinned`). `size` is the pinned snapshot's
/// published size, for the garbage collector's size hint.
#[napi(catch_unwind)]
pub fn snapshot_pinned(
    pinned: &External<Snapshot>,
    pinned_sequence: f64,
    held: &External<Snapshot>,
    held_sequence: f64,
    size: f64,
) -> Option<External<Snapshot>> {
    published::pinned(pinned, pinned_sequence as i64, held, held_sequence as i64)
        .map(|composite| external(composite, size as usize))
}

/// What a publisher writes to replace the head it read (see
/// `flagcore::published::plan`).
#[napi(object)]
pub struct PublishPlan {
    /// The head already names the snapshot's id (and what its source says
    /// of it): nothing to write.
    pub unchanged: bool,
    /// The head's JSON text, written after the chunks (empty when unchanged).
    pub head: String,
    /// The chunks' names and plain bytes, in order, written first.
    pub chunk_names: Vec<String>,
    pub chunks: Vec<Buffer>,
    /// Where the generation's own head goes, once the head is written.
    pub generation_head: String,
    /// The replaced generation's items, to expire.
    pub replaced: Vec<String>,
}

/// The publish that replaces the head `previous` (its text, or null) with
/// `snapshot`, at `now_ms`: the one rule of every publisher. `force`
/// publishes a snapshot with errors, or a Relay table that lost its marker.
#[napi(catch_unwind)]
pub fn snapshot_publish_plan(
    snapshot: &External<Snapshot>,
    previous: Option<String>,
    now_ms: f64,
    force: bool,
) -> Result<PublishPlan> {
    let plan = published::plan(
        snapshot,
        previous.as_deref().map(str::as_bytes),
        now_ms as i64,
        force,
    )
    .map_err(snapshot_error)?;
    Ok(match plan {
        published::Plan::Unchanged => PublishPlan {
            unchanged: true,
            head: String::new(),
            chunk_names: Vec::new(),
            chunks: Vec::new(),
            generation_head: String::new(),
            replaced: Vec::new(),
        },
        published::Plan::Write(writes) => {
            let writes = *writes;
            PublishPlan {
                unchanged: false,
                head: writes.published.head.to_json(),
                chunk_names: writes
                    .published
                    .head
                    .chunks
                    .into_iter()
                    .map(|c| c.name)
                    .collect(),
                chunks: writes
                    .published
                    .chunks
                    .into_iter()
                    .map(Buffer::from)
                    .collect(),
                generation_head: writes.generation_head,
                replaced: writes.replaced,
            }
        }
    })
}

/// `[head bytes, stored chunk bytes, snapshot bytes]`: the most a reader
/// takes of a head's text, of one stored (gzip) chunk, and of a snapshot's
/// text from any source (`flagcore::published`'s bounds).
#[napi]
pub fn published_limits() -> Vec<f64> {
    vec![
        published::MAX_HEAD_BYTES as f64,
        published::MAX_STORED_CHUNK_BYTES as f64,
        published::MAX_SNAPSHOT_BYTES as f64,
    ]
}
