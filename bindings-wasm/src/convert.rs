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
pub(crate) fn from_js(value: JsValue) -> Option<Value> {
    serde_wasm_bindgen::from_value(value).ok()
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
