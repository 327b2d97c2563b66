//! `NativeSnapshot` and `NativeContext`, the classes `index.js` wraps.

use flagcore::{AllFlagsOptions, Context, ContextError, Snapshot, ValueType};
use napi::bindgen_prelude::{Buffer, Either};
use napi::Result;
use napi_derive::napi;
use serde_json::{json, Value};

use crate::convert::{pack, DOES_NOT_FIT};
use crate::error::{invalid_argument, snapshot_error};

/// A parsed, immutable snapshot.
#[napi(js_name = "NativeSnapshot")]
pub struct JsSnapshot {
    inner: Snapshot,
}

/// A context parsed once, to be evaluated many times.
#[napi(js_name = "NativeContext")]
pub struct JsContext {
    inner: std::result::Result<Context, ContextError>,
}

#[napi]
impl JsContext {
    /// Parses a context from its JSON text. An invalid context is kept, and
    /// evaluating with it answers `USER_NOT_SPECIFIED`.
    #[napi(factory, catch_unwind)]
    pub fn from_json(text: String) -> JsContext {
        JsContext {
            inner: Context::from_json(&text),
        }
    }

    /// Why the context is invalid, or null.
    #[napi(getter)]
    pub fn error(&self) -> Option<String> {
        self.inner.as_ref().err().map(ToString::to_string)
    }
}

fn value_type(code: u32) -> ValueType {
    match code {
        1 => ValueType::Bool,
        2 => ValueType::Double,
        3 => ValueType::String,
        4 => ValueType::Int,
        _ => ValueType::Any,
    }
}

#[napi]
impl JsSnapshot {
    /// Reads a snapshot from JSON text or bytes, in any supported format.
    #[napi(factory, catch_unwind)]
    pub fn from_json(input: Either<String, Buffer>, prefix: Option<String>) -> Result<JsSnapshot> {
        let bytes: &[u8] = match &input {
            Either::A(text) => text.as_bytes(),
            Either::B(buffer) => buffer,
        };
        Snapshot::from_json_with_prefix(bytes, prefix.as_deref())
            .map(|inner| JsSnapshot { inner })
            .map_err(snapshot_error)
    }

    /// Reads DynamoDB items, typed or plain, under an optional prefix.
    #[napi(factory, catch_unwind)]
    pub fn from_dynamodb_items(items: Value, prefix: Option<String>) -> Result<JsSnapshot> {
        let Value::Array(items) = items else {
            return Err(invalid_argument("DynamoDB items must be an array"));
        };
        Snapshot::from_dynamodb_items(&items, prefix.as_deref())
            .map(|inner| JsSnapshot { inner })
            .map_err(snapshot_error)
    }

    /// The content id.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// Every flag key, sorted; evaluation methods take positions in this list.
    #[napi(getter)]
    pub fn flag_keys(&self) -> Vec<String> {
        self.inner.flag_keys().to_vec()
    }

    /// Evaluates flag number `flag` for a prepared context; answers the packed detail.
    #[napi(catch_unwind)]
    pub fn evaluate_prepared(&self, flag: u32, context: &JsContext, value_type_code: u32) -> f64 {
        self.evaluate(flag, context.inner.as_ref(), value_type_code)
    }

    /// Evaluates flag number `flag` for a context given as JSON text.
    #[napi(catch_unwind)]
    pub fn evaluate_json(&self, flag: u32, context: String, value_type_code: u32) -> f64 {
        self.evaluate(flag, Context::from_json(&context).as_ref(), value_type_code)
    }

    /// The whole detail as JSON, for keys that are not in the snapshot and for
    /// details that do not fit the packed number. The value is `null` when the
    /// caller's default applies.
    #[napi(catch_unwind)]
    pub fn detail_json(&self, flag_key: String, context: String, value_type_code: u32) -> Value {
        let context = Context::from_json(&context);
        let null = Value::Null;
        let detail = self.inner.variation_detail_checked(
            &flag_key,
            context.as_ref(),
            &null,
            value_type(value_type_code),
        );
        detail.to_value()
    }

    /// What `index.js` needs to build details of flag number `flag`:
    /// its variations, rule ids and prerequisite keys.
    #[napi(catch_unwind)]
    pub fn flag_info(&self, flag: u32) -> Value {
        let Some(key) = self.inner.flag_keys().get(flag as usize) else {
            return Value::Null;
        };
        let variations = self.inner.variations(key).unwrap_or_default();
        let (rule_ids, prerequisite_keys) = self.inner.reason_keys(key).unwrap_or_default();
        json!({"key": key, "variations": variations, "ruleIds": rule_ids, "prerequisiteKeys": prerequisite_keys})
    }

    /// LaunchDarkly's all-flags state for a context given as JSON text.
    #[napi(catch_unwind)]
    pub fn all_flags_state(
        &self,
        context: String,
        client_side_only: bool,
        with_reasons: bool,
        details_only_for_tracked_flags: bool,
    ) -> Value {
        let options = AllFlagsOptions {
            client_side_only,
            with_reasons,
            details_only_for_tracked_flags,
            now_millis: 0,
        };
        let context: Value = serde_json::from_str(&context).unwrap_or(Value::Null);
        self.inner
            .all_flags_state_json(&context, options)
            .to_value()
    }

    /// The problems `flagcore check` reports.
    #[napi(catch_unwind)]
    pub fn check(&self) -> Value {
        serde_json::to_value(self.inner.check()).unwrap_or(Value::Null)
    }
}

impl JsSnapshot {
    fn evaluate(
        &self,
        flag: u32,
        context: std::result::Result<&Context, &ContextError>,
        value_type_code: u32,
    ) -> f64 {
        let Some(key) = self.inner.flag_keys().get(flag as usize) else {
            return DOES_NOT_FIT;
        };
        let null = Value::Null;
        let detail =
            self.inner
                .variation_detail_checked(key, context, &null, value_type(value_type_code));
        pack(&detail, || {
            self.inner
                .reason_keys(key)
                .map(|(_, prerequisites)| prerequisites.into_iter().map(str::to_owned).collect())
                .unwrap_or_default()
        })
    }
}
