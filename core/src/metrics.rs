//! Per-variation metrics in CloudWatch's Embedded Metric Format (EMF), which
//! Lambda turns into metrics from its log lines: no network, no agent.
//!
//! A host counts evaluations per flag and variation during an invocation,
//! collects the handler's own measurements, and at the end asks for the
//! lines to print. Every runtime renders through this module, so they write
//! the same bytes.
//!
//! - Evaluation counts: one line per flag, dimensions `FunctionName` (when
//!   known), `FlagKey` and `Variation` (the variation's index, or `default`
//!   when the caller's default was answered), metric `Evaluations` (Count).
//! - Measurements (latency, errors, business counters): one line holds up to
//!   100 of them, with one dimension set per evaluated flag, named after the
//!   flag and valued with its variation, so that a canary's latency can be
//!   graphed beside the old path's. A set has at most 30 dimensions; lines
//!   split beyond 100 metrics or 29 flags.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The most metrics one EMF document may hold.
pub const MAX_METRICS: usize = 100;
/// The most dimensions one dimension set may hold.
pub const MAX_DIMENSIONS: usize = 30;

/// The units CloudWatch accepts; anything else is reported as `None`.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One invocation's records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Evaluations per flag, then per variation label.
    evaluations: BTreeMap<String, BTreeMap<String, u64>>,
    /// The variation each flag answered last, for measurement dimensions.
    answered: BTreeMap<String, String>,
    /// Measurements by name: unit and values, in order.
    measurements: BTreeMap<String, (String, Vec<f64>)>,
}

/// The label of a variation: its index, or `default`.
pub fn variation_label(variation_index: Option<usize>) -> String {
    variation_index.map_or_else(|| "default".to_owned(), |i| i.to_string())
}

impl Metrics {
    /// Counts one evaluation of `flag_key` answered with `variation_index`
    /// (`None`: the caller's default).
    pub fn record(&mut self, flag_key: &str, variation_index: Option<usize>) {
        self.add(flag_key, &variation_label(variation_index), 1);
    }

    /// Counts `count` evaluations of `flag_key` answered with `variation`.
    pub fn add(&mut self, flag_key: &str, variation: &str, count: u64) {
        let per_flag = self.evaluations.entry(flag_key.to_owned()).or_default();
        *per_flag.entry(variation.to_owned()).or_default() += count;
        self.answered
            .insert(flag_key.to_owned(), variation.to_owned());
    }

    /// Records a measurement of the handler's own; `unit` is one of
    /// CloudWatch's (`Milliseconds`, `Count`...), or `None`. Non-finite
    /// values are dropped: EMF has no form for them.
    pub fn measure(&mut self, name: &str, value: f64, unit: &str) {
        if !value.is_finite() || name.is_empty() {
            return;
        }
        let unit = if UNITS.contains(&unit) { unit } else { "None" };
        let entry = self
            .measurements
            .entry(name.to_owned())
            .or_insert_with(|| (unit.to_owned(), Vec::new()));
        entry.1.push(value);
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.evaluations.is_empty() && self.measurements.is_empty()
    }

    /// Reads the records a host kept itself: `{"evaluations": {flag:
    /// {variation: count}}, "measurements": [{"name", "value", "unit"}]}`.
    pub fn from_value(value: &Value) -> Metrics {
        let mut metrics = Metrics::default();
        if let Some(flags) = value.get("evaluations").and_then(Value::as_object) {
            for (flag, variations) in flags {
                for (variation, count) in variations.as_object().into_iter().flatten() {
                    metrics.add(flag, variation, count.as_u64().unwrap_or(0));
                }
            }
        }
        for m in value
            .get("measurements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
            let unit = m.get("unit").and_then(Value::as_str).unwrap_or("None");
            if let Some(v) = m.get("value").and_then(Value::as_f64) {
                metrics.measure(name, v, unit);
            }
        }
        metrics
    }

    /// The EMF lines for everything recorded, without a trailing newline.
    pub fn render(
        &self,
        namespace: &str,
        function_name: Option<&str>,
        timestamp_ms: u64,
    ) -> Vec<String> {
        let function_name = function_name.filter(|f| !f.is_empty());
        let base: Vec<&str> = function_name.map(|_| "FunctionName").into_iter().collect();
        let document = |dimension_sets: Vec<Vec<String>>,
                        metrics: Vec<Value>,
                        mut root: Map<String, Value>| {
            if let Some(name) = function_name {
                root.insert("FunctionName".into(), json!(name));
            }
            root.insert(
                "_aws".into(),
                json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
                    "Namespace": namespace, "Dimensions": dimension_sets, "Metrics": metrics,
                }]}),
            );
            Value::Object(root).to_string()
        };
        let mut lines = Vec::new();
        for (flag, variations) in &self.evaluations {
            for (variation, count) in variations {
                let mut dimensions: Vec<String> = base.iter().map(|d| (*d).to_owned()).collect();
                dimensions.extend(["FlagKey".to_owned(), "Variation".to_owned()]);
                let mut root = Map::new();
                root.insert("FlagKey".into(), json!(flag));
                root.insert("Variation".into(), json!(variation));
                root.insert("Evaluations".into(), json!(count));
                lines.push(document(
                    vec![dimensions],
                    vec![json!({"Name": "Evaluations", "Unit": "Count"})],
                    root,
                ));
            }
        }
        // Measurement dimensions: the function alone, and each flag with its variation.
        let flags: Vec<(&String, &String)> = self
            .answered
            .iter()
            .filter(|(flag, _)| usable_dimension_name(flag))
            .collect();
        let per_line = MAX_DIMENSIONS - base.len();
        let flag_groups: Vec<&[(&String, &String)]> = if flags.is_empty() {
            vec![&[]]
        } else {
            flags.chunks(per_line.max(1)).collect()
        };
        // A metric holds at most 100 values per line: more go to further lines.
        let rounds = self
            .measurements
            .values()
            .map(|(_, v)| v.len().div_ceil(MAX_METRICS))
            .max()
            .unwrap_or(0);
        for round in 0..rounds {
            let measurements: Vec<(&String, &str, &[f64])> = self
                .measurements
                .iter()
                .filter_map(|(name, (unit, values))| {
                    let part = values.chunks(MAX_METRICS).nth(round)?;
                    Some((name, unit.as_str(), part))
                })
                .collect();
            for (g, group) in flag_groups.iter().enumerate() {
                for chunk in measurements.chunks(MAX_METRICS) {
                    let mut root = Map::new();
                    // The function-wide series only once, so no value counts twice there.
                    let mut sets: Vec<Vec<String>> = Vec::new();
                    if g == 0 {
                        sets.push(base.iter().map(|d| (*d).to_owned()).collect());
                    }
                    for (flag, variation) in group.iter() {
                        root.insert((*flag).clone(), json!(variation));
                        let mut set: Vec<String> = base.iter().map(|d| (*d).to_owned()).collect();
                        set.push((*flag).clone());
                        sets.push(set);
                    }
                    let mut metrics = Vec::new();
                    for (name, unit, values) in chunk {
                        metrics.push(json!({"Name": name, "Unit": unit}));
                        let value = match values {
                            [one] => json!(one),
                            many => json!(many),
                        };
                        root.insert((*name).clone(), value);
                    }
                    lines.push(document(sets, metrics, root));
                }
            }
        }
        lines
    }
}

/// CloudWatch dimension names: ASCII, not blank, not starting with a colon,
/// at most 255 characters, and not one of the names this module uses.
fn usable_dimension_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 250
        && name.is_ascii()
        && !name.starts_with(':')
        && !name.trim().is_empty()
        && !matches!(
            name,
            "FunctionName" | "FlagKey" | "Variation" | "Evaluations" | "_aws"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn counts_per_flag_and_variation() {
        let mut m = Metrics::default();
        for _ in 0..3 {
            m.record("canary", Some(1));
        }
        m.record("canary", Some(0));
        m.record("canary", None);
        let lines = m.render("flagcore", Some("hello"), 1_700_000_000_000);
        assert_eq!(lines.len(), 3);
        let first = parse(&lines[0]);
        assert_eq!(first["Evaluations"], 1);
        assert_eq!(first["Variation"], "0");
        assert_eq!(
            first["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "FlagKey", "Variation"]])
        );
        assert_eq!(parse(&lines[1])["Evaluations"], 3);
        assert_eq!(parse(&lines[2])["Variation"], "default");
    }

    #[test]
    fn measurements_carry_each_flag_as_a_dimension_and_split() {
        let mut m = Metrics::default();
        for f in 0..40 {
            m.record(&format!("flag-{f:02}"), Some(f % 2));
        }
        for i in 0..150 {
            m.measure(&format!("metric-{i:03}"), f64::from(i), "Milliseconds");
        }
        m.measure("nan", f64::NAN, "Count");
        m.measure("odd unit", 1.0, "Parsecs");
        for i in 0..250 {
            m.measure("latency", f64::from(i), "Milliseconds");
        }
        let lines = m.render("ns", None, 0);
        let docs: Vec<Value> = lines
            .iter()
            .map(|l| parse(l))
            .filter(|d| d.get("Evaluations").is_none())
            .collect();
        // 40 flags in groups of 30, 152 metrics in lines of 100, and the 250
        // latency values in three rounds of at most 100.
        assert_eq!(docs.len(), 2 * 2 + 2 * 2);
        let latencies: usize = docs
            .iter()
            .filter_map(|d| d.get("latency"))
            .map(|v| v.as_array().map_or(1, Vec::len))
            .sum();
        assert_eq!(latencies, 250 * 2, "every value, once per group of flags");
        let function_wide = docs
            .iter()
            .filter(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s.as_array().unwrap().is_empty())
            })
            .count();
        assert_eq!(
            function_wide, 4,
            "the function-wide series in the first group's lines only"
        );
        for doc in &docs {
            let cw = &doc["_aws"]["CloudWatchMetrics"][0];
            assert!(cw["Metrics"].as_array().unwrap().len() <= MAX_METRICS);
            for set in cw["Dimensions"].as_array().unwrap() {
                assert!(set.as_array().unwrap().len() <= MAX_DIMENSIONS);
            }
        }
        assert_eq!(docs[0]["flag-01"], "1");
        assert!(docs.iter().all(|d| d.get("nan").is_none()));
        assert_eq!(
            docs.iter().find(|d| d.get("odd unit").is_some()).unwrap()["_aws"]["CloudWatchMetrics"]
                [0]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["Name"] == "odd unit")
                .unwrap()["Unit"],
            "None"
        );
    }
}
