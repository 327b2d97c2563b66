//! flagcore's published layout (`flagcore::published`), with the same
//! names and answers as the Node package's N-API module
//! (bindings-node/src/published.rs): what the shared `js/published.js` reads.

use flagcore::published::Head;
use wasm_bindgen::prelude::*;

use crate::convert::bytes;
use crate::error::{invalid_argument, snapshot_error};
use crate::snapshot::WasmSnapshot;

fn text(input: &JsValue) -> Result<Vec<u8>, JsError> {
    bytes(input).ok_or_else(|| invalid_argument("a head is a string or a Uint8Array"))
}

/// A head, checked, as the core reads it (a head written before sequences
/// existed gets its `publishedAt` as its `sequence`): answered as JSON text
/// for the JS side to parse (a value built here would cost the module's
/// size budget).
#[wasm_bindgen(js_name = publishedHead)]
pub fn published_head(input: JsValue) -> Result<String, JsError> {
    Head::from_json(&text(&input)?)
        .map(|head| head.to_json())
        .map_err(snapshot_error)
}

/// The snapshot a head names, from its chunks' plain bytes in order.
#[wasm_bindgen(js_name = snapshotFromPublished)]
pub fn snapshot_from_published(
    head: JsValue,
    chunks: Vec<js_sys::Uint8Array>,
) -> Result<WasmSnapshot, JsError> {
    let head = Head::from_json(&text(&head)?).map_err(snapshot_error)?;
    let chunks: Vec<Vec<u8>> = chunks.iter().map(js_sys::Uint8Array::to_vec).collect();
    head.assemble(&chunks)
        .map(|inner| WasmSnapshot { inner })
        .map_err(snapshot_error)
}

/// Where the generation of snapshot `id` keeps its own head.
#[wasm_bindgen(js_name = publishedGenerationHead)]
pub fn published_generation_head(id: String) -> Result<String, JsError> {
    flagcore::published::generation_head_name(&id).map_err(snapshot_error)
}

/// What a request pinned to `pinned` (its head's sequence) answers from in
/// a function holding `held` (its latest head's sequence): undefined when
/// that is `pinned` as it is, or the composite. The last argument (a size
/// hint in the Node module) is not needed here.
#[wasm_bindgen(js_name = snapshotPinned)]
pub fn snapshot_pinned(
    pinned: &WasmSnapshot,
    pinned_sequence: f64,
    held: &WasmSnapshot,
    held_sequence: f64,
) -> Option<WasmSnapshot> {
    flagcore::published::pinned(
        &pinned.inner,
        pinned_sequence as i64,
        &held.inner,
        held_sequence as i64,
    )
    .map(|inner| WasmSnapshot { inner })
}

/// `[head bytes, stored chunk bytes, snapshot bytes]`: the most a reader
/// takes of a head's text, of one stored (gzip) chunk, and of a snapshot's
/// text from any source.
#[wasm_bindgen(js_name = publishedLimits)]
pub fn published_limits() -> Vec<f64> {
    vec![
        flagcore::published::MAX_HEAD_BYTES as f64,
        flagcore::published::MAX_STORED_CHUNK_BYTES as f64,
        flagcore::published::MAX_SNAPSHOT_BYTES as f64,
    ]
}
