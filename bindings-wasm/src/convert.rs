//! The only place values cross the boundary (besides strings and numbers,
//! which wasm-bindgen passes as they are).

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

/// A JSON value as a plain JavaScript value (objects, not Maps).
pub(crate) fn to_js(value: &Value) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// A JavaScript value as JSON; `None` when it is not representable.
///
/// It crosses as text: JavaScript's own `JSON.stringify` walks the value
/// (a value too deep for it, or a cycle, throws there, and is caught), and
/// the core's parser reads the text with serde_json's depth limit (128).
/// Nothing here recurses on the value: a walk that did would overflow the
/// module's stack on deep input, and a WebAssembly trap leaves the
/// instance broken for every later call.
pub(crate) fn from_js(value: JsValue) -> Option<Value> {
    let text = js_sys::JSON::stringify(&value).ok()?.as_string()?;
    flagcore::parse_json(&text).ok()
}

/// Snapshot input: a string or bytes.
pub(crate) fn bytes(input: &JsValue) -> Option<Vec<u8>> {
    if let Some(text) = input.as_string() {
        return Some(text.into_bytes());
    }
    if input.is_instance_of::<js_sys::Uint8Array>() {
        return Some(js_sys::Uint8Array::new(input).to_vec());
    }
    None
}
