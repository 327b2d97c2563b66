//! JSON text into values through one copy of serde_json's parser: each
//! caller of a generic parse gets a copy of its own inlined, which the WASM
//! module's size budget cannot afford.

use serde_json::Value;

/// Parses JSON text into a value.
#[inline(never)]
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(text)
}
