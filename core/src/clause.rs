//! Clause operators (§6 of the evaluation spec). Clause values are parsed
//! once per snapshot: key sets for `in`, instants, versions; regexes are
//! compiled on first use and kept for the snapshot's life.

use std::sync::OnceLock;

use regex_lite::Regex;
use serde_json::Value;

use crate::attr::AttrRef;
use crate::keyset::KeySet;
use crate::model::{Clause, Op, PreparedClause};
use crate::semver::SemVer;
use crate::time;

impl Op {
    pub(crate) fn parse(op: &str) -> Op {
        match op {
            "in" => Op::In,
            "startsWith" => Op::StartsWith,
            "endsWith" => Op::EndsWith,
            "contains" => Op::Contains,
            "matches" => Op::Matches,
            "lessThan" => Op::LessThan,
            "lessThanOrEqual" => Op::LessThanOrEqual,
            "greaterThan" => Op::GreaterThan,
            "greaterThanOrEqual" => Op::GreaterThanOrEqual,
            "before" => Op::Before,
            "after" => Op::After,
            "semVerEqual" => Op::SemVerEqual,
            "semVerLessThan" => Op::SemVerLessThan,
            "semVerGreaterThan" => Op::SemVerGreaterThan,
            "segmentMatch" => Op::SegmentMatch,
            // An unknown operator never matches; `negate` still applies.
            _ => Op::Unknown,
        }
    }
}

impl Clause {
    pub(crate) fn prepare(&mut self) {
        let op = Op::parse(&self.op);
        let has_kind = self.context_kind.as_deref().is_some_and(|k| !k.is_empty());
        let raw = self.attribute.as_deref().unwrap_or_default();
        let values = &self.values;
        self.prepared = PreparedClause {
            op,
            attr: AttrRef::parse_for(raw, has_kind),
            attr_is_kind: raw == "kind",
            strings: match op {
                Op::In => KeySet::build(
                    values
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| Some((i, v.as_str()?))),
                    values.len(),
                ),
                _ => KeySet::default(),
            },
            instants: match op {
                Op::Before | Op::After => values.iter().map(time::millis).collect(),
                _ => Vec::new(),
            },
            versions: match op {
                Op::SemVerEqual | Op::SemVerLessThan | Op::SemVerGreaterThan => values
                    .iter()
                    .map(|v| v.as_str().and_then(SemVer::parse))
                    .collect(),
                _ => Vec::new(),
            },
            regexes: match op {
                Op::Matches => values.iter().map(|_| OnceLock::new()).collect(),
                _ => Vec::new(),
            },
        };
    }

    /// Whether one context value (an array element, or the whole value)
    /// matches any clause value under the operator. Mismatched types are a
    /// non-match, never an error.
    pub(crate) fn matches_value(&self, value: &Value) -> bool {
        let values = &self.values;
        let prepared = &self.prepared;
        match prepared.op {
            Op::In => match value {
                Value::String(s) => prepared
                    .strings
                    .contains_with(s, values.len(), |i| values.get(i).and_then(Value::as_str)),
                _ => values.iter().any(|cv| json_eq(value, cv)),
            },
            Op::StartsWith => strings(value, values, |s, cv| s.starts_with(cv)),
            Op::EndsWith => strings(value, values, |s, cv| s.ends_with(cv)),
            Op::Contains => strings(value, values, |s, cv| s.contains(cv)),
            Op::Matches => match value.as_str() {
                Some(s) => values.iter().zip(&prepared.regexes).any(|(cv, cell)| {
                    cell.get_or_init(|| cv.as_str().and_then(|p| Regex::new(p).ok()))
                        .as_ref()
                        .is_some_and(|re| re.is_match(s))
                }),
                None => false,
            },
            Op::LessThan => numbers(value, values, |a, b| a < b),
            Op::LessThanOrEqual => numbers(value, values, |a, b| a <= b),
            Op::GreaterThan => numbers(value, values, |a, b| a > b),
            Op::GreaterThanOrEqual => numbers(value, values, |a, b| a >= b),
            Op::Before => instants(value, &prepared.instants, |a, b| a < b),
            Op::After => instants(value, &prepared.instants, |a, b| a > b),
            Op::SemVerEqual => versions(value, &prepared.versions, |a, b| a == b),
            Op::SemVerLessThan => versions(value, &prepared.versions, |a, b| a < b),
            Op::SemVerGreaterThan => versions(value, &prepared.versions, |a, b| a > b),
            Op::SegmentMatch | Op::Unknown => false,
        }
    }
}

fn strings(value: &Value, values: &[Value], test: impl Fn(&str, &str) -> bool) -> bool {
    match value.as_str() {
        Some(s) => values
            .iter()
            .filter_map(Value::as_str)
            .any(|cv| test(s, cv)),
        None => false,
    }
}

fn numbers(value: &Value, values: &[Value], test: impl Fn(f64, f64) -> bool) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_some_and(|a| {
            values
                .iter()
                .filter_map(|cv| match cv {
                    Value::Number(m) => m.as_f64(),
                    _ => None,
                })
                .any(|b| test(a, b))
        }),
        _ => false,
    }
}

fn instants(value: &Value, instants: &[Option<f64>], test: impl Fn(f64, f64) -> bool) -> bool {
    match time::millis(value) {
        Some(a) => instants.iter().flatten().any(|&b| test(a, b)),
        None => false,
    }
}

fn versions(
    value: &Value,
    versions: &[Option<SemVer>],
    test: impl Fn(&SemVer, &SemVer) -> bool,
) -> bool {
    match value.as_str().and_then(SemVer::parse) {
        Some(a) => versions.iter().flatten().any(|b| test(&a, b)),
        None => false,
    }
}

/// LaunchDarkly's equality: deep, numbers compared as doubles (`1 == 1.0`),
/// booleans never equal to numbers.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clause(op: &str, values: Value) -> Clause {
        let mut clause: Clause = serde_json::from_value(json!({
            "attribute": "a", "op": op, "values": values
        }))
        .unwrap();
        clause.prepare();
        clause
    }

    #[test]
    fn in_compares_numbers_as_doubles_but_not_booleans() {
        let c = clause("in", json!([1, [2], {"x": 3.0}]));
        assert!(c.matches_value(&json!(1.0)));
        assert!(c.matches_value(&json!([2.0])));
        assert!(c.matches_value(&json!({"x": 3})));
        assert!(!c.matches_value(&json!(true)));
    }

    #[test]
    fn in_with_many_strings_uses_the_key_set() {
        let keys: Vec<Value> = (0..100)
            .map(|i| json!(format!("k{i}")))
            .chain([json!(7)])
            .collect();
        let c = clause("in", Value::Array(keys));
        assert!(c.matches_value(&json!("k99")));
        assert!(c.matches_value(&json!(7.0)));
        assert!(!c.matches_value(&json!("k100")));
    }

    #[test]
    fn matches_is_unanchored_and_invalid_patterns_never_match() {
        assert!(clause("matches", json!(["b+c"])).matches_value(&json!("abbbcd")));
        assert!(!clause("matches", json!(["(", "x"])).matches_value(&json!("(")));
        assert!(!clause("matches", json!(["\\d"])).matches_value(&json!("\u{0663}")));
    }

    #[test]
    fn numeric_strings_are_not_numbers() {
        assert!(!clause("lessThan", json!([100])).matches_value(&json!("99")));
        assert!(clause("lessThan", json!([100])).matches_value(&json!(99)));
    }

    #[test]
    fn unknown_operators_never_match() {
        assert!(!clause("between", json!([1])).matches_value(&json!(1)));
    }
}
