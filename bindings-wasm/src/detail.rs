//! The details the shared `js/snapshot.js` builds from packed answers, as in the Node package
//! (bindings-node/src/detail.rs).

use flagcore_js_glue as glue;
use wasm_bindgen::prelude::*;

use crate::context::with_prepared_or_text;
use crate::convert::to_js;
use crate::snapshot::WasmSnapshot;

/// The whole detail as JSON, for unknown keys and details that do not fit
/// the packed number; the context is prepared context `id`, or JSON text
/// for 0. Null when the context must be prepared again.
#[wasm_bindgen(js_name = detailJson)]
pub fn detail_json(
    snapshot: &WasmSnapshot,
    flag_key: &str,
    id: f64,
    context: &str,
    value_type_code: u32,
    now_ms: f64,
) -> JsValue {
    with_prepared_or_text(id, context, |parsed| {
        glue::detail_json(&snapshot.inner, flag_key, parsed, value_type_code, now_ms)
    })
}

/// What the API needs to build the details of flag number `flag`.
#[wasm_bindgen(js_name = flagInfo)]
pub fn flag_info(snapshot: &WasmSnapshot, flag: u32) -> JsValue {
    to_js(&glue::flag_info(&snapshot.inner, flag))
}
