//! The SDK-level entry points (§5.1): look the flag up, evaluate, apply the
//! caller's default and, for typed methods, check the value's type.

use std::borrow::Cow;

use serde_json::Value;

use crate::context::Context;
use crate::eval::{self, Evaluation};
use crate::reason::{Detail, ErrorKind};
use crate::snapshot::Snapshot;

/// Which typed variation method is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `boolVariation`: the value must be a boolean.
    Bool,
    /// `intVariation`: any number, truncated toward zero.
    Int,
    /// `doubleVariation`: any number.
    Double,
    /// `stringVariation`: the value must be a string.
    String,
    /// `jsonVariation`: anything; no check.
    Any,
}

impl ValueType {
    /// Reads `bool`, `int`, `double`, `string`, `any` (also `number` and `json`).
    pub fn parse(text: &str) -> Option<ValueType> {
        Some(match text {
            "bool" | "boolean" => ValueType::Bool,
            "int" => ValueType::Int,
            "double" | "number" => ValueType::Double,
            "string" => ValueType::String,
            "any" | "json" => ValueType::Any,
            _ => return None,
        })
    }

    /// The number the JavaScript bindings pass a value type as across their
    /// boundary: 1 bool, 2 double, 3 string, 4 int, anything else any.
    pub fn from_code(code: u32) -> ValueType {
        match code {
            1 => ValueType::Bool,
            2 => ValueType::Double,
            3 => ValueType::String,
            4 => ValueType::Int,
            _ => ValueType::Any,
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            ValueType::Bool => value.is_boolean(),
            ValueType::Int | ValueType::Double => value.is_number(),
            ValueType::String => value.is_string(),
            ValueType::Any => true,
        }
    }
}

impl Snapshot {
    /// Evaluates a flag without a default: the raw value, index and reason.
    /// An unknown flag gives `FLAG_NOT_FOUND`. Upstream's decisions apply
    /// through a [`crate::Scope`], at a time ([`Snapshot::evaluate_at`]).
    pub fn evaluate<'a>(&'a self, flag_key: &str, context: &Context) -> Evaluation<'a> {
        match self.flag(flag_key) {
            Some(flag) => eval::evaluate(self, flag, context),
            None => Evaluation::error(ErrorKind::FlagNotFound),
        }
    }

    /// LaunchDarkly's `variationDetail`: the flag's value for `context`, or
    /// `default` when it has none, with the reason. Never fails. Decision
    /// tokens apply through a [`crate::Scope`]: see [`Snapshot::variation_detail_at`].
    pub fn variation_detail<'a>(
        &'a self,
        flag_key: &str,
        context: &Context,
        default: &'a Value,
        value_type: ValueType,
    ) -> Detail<'a> {
        apply_default(self.evaluate(flag_key, context), default, value_type)
    }

    /// As [`Snapshot::variation_detail`], with the context as JSON: an
    /// invalid context gives the default and `USER_NOT_SPECIFIED`.
    pub fn variation_detail_json<'a>(
        &'a self,
        flag_key: &str,
        context: &Value,
        default: &'a Value,
        value_type: ValueType,
    ) -> Detail<'a> {
        match Context::from_value(context) {
            Ok(context) => self.variation_detail(flag_key, &context, default, value_type),
            Err(_) => Detail::error(default, ErrorKind::UserNotSpecified),
        }
    }

    /// LaunchDarkly's `variation`: just the value.
    pub fn variation<'a>(
        &'a self,
        flag_key: &str,
        context: &Context,
        default: &'a Value,
    ) -> Cow<'a, Value> {
        self.variation_detail(flag_key, context, default, ValueType::Any)
            .value
    }
}

/// The caller's default where the evaluation gave no value, and the typed
/// methods' check.
pub(crate) fn apply_default<'a>(
    evaluation: Evaluation<'a>,
    default: &'a Value,
    value_type: ValueType,
) -> Detail<'a> {
    let Some(value) = evaluation.value else {
        // No value: the default, with the reason left as it is (OFF stays OFF).
        return Detail {
            value: Cow::Borrowed(default),
            variation_index: None,
            reason: evaluation.reason,
        };
    };
    if !value_type.accepts(value) {
        return Detail::error(default, ErrorKind::WrongType);
    }
    Detail {
        value: match value_type {
            ValueType::Int => truncate(value),
            _ => Cow::Borrowed(value),
        },
        variation_index: evaluation.variation_index,
        reason: evaluation.reason,
    }
}

/// The int method's truncation toward zero.
fn truncate(value: &Value) -> Cow<'_, Value> {
    match value.as_f64() {
        Some(n) if n.fract() != 0.0 && n.is_finite() && n.abs() < 9.2e18 => {
            Cow::Owned(Value::from(n.trunc() as i64))
        }
        _ => Cow::Borrowed(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The int method is Go's and Rust's, not Node's or Python's, so this is
    // not among the cross-runtime vectors.
    #[test]
    fn the_int_method_truncates_toward_zero() {
        let snapshot = Snapshot::from_json(
            br#"{"flags": {"f": {"on": true, "variations": [-2.7, 2.7], "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        let context = Context::new("user", "k").unwrap();
        let default = json!(0);
        let detail = snapshot.variation_detail("f", &context, &default, ValueType::Int);
        assert_eq!(*detail.value, json!(-2));
        let detail = snapshot.variation_detail("f", &context, &default, ValueType::Double);
        assert_eq!(*detail.value, json!(-2.7));
    }
}
