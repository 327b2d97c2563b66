//! The benchmark snapshot: the example's two canary flags among 500 others,
//! and the example's segment grown to 1,000 included keys, about 1 MB of
//! JSON. Generated, not stored, and the same on every run.

use std::collections::HashMap;

use launchdarkly_server_sdk_evaluation as ld;
use serde::Deserialize;
use serde_json::{json, Value};

/// A snapshot as LaunchDarkly's Rust evaluator reads it, through its `Store`
/// trait, which hands out owned flags and segments as the Rust server SDK's
/// store does.
#[derive(Deserialize)]
pub struct LdStore {
    /// Flags by key.
    pub flags: HashMap<String, ld::Flag>,
    /// Segments by key.
    pub segments: HashMap<String, ld::Segment>,
}

impl ld::Store for LdStore {
    fn flag(&self, flag_key: &str) -> Option<ld::Flag> {
        self.flags.get(flag_key).cloned()
    }

    fn segment(&self, segment_key: &str) -> Option<ld::Segment> {
        self.segments.get(segment_key).cloned()
    }
}

/// The boolean flag with a 10%/90% rollout (benchmark a).
pub const ROLLOUT_FLAG: &str = "new-checkout";
/// The string flag with three rules, then a rollout (benchmark b).
pub const RULES_FLAG: &str = "checkout-theme";
/// Flags besides the two measured ones.
pub const OTHER_FLAGS: usize = 500;

const EXAMPLE: &str = include_str!("../../examples/snapshot.json");

/// A small deterministic generator, so the snapshot never changes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

/// One ordinary flag of a busy environment: targets, two rules, a rollout.
fn other_flag(i: usize, rng: &mut Lcg) -> Value {
    let key = format!("team-{}-feature-{i:03}", i % 17);
    let targets: Vec<String> = (0..60)
        .map(|_| format!("user-{:06}", rng.next() % 1_000_000))
        .collect();
    let countries: Vec<&str> = (0..10)
        .map(|_| rng.pick(&["US", "DE", "FR", "BR", "IN", "JP", "SE", "CA", "MX"]))
        .collect();
    let split = 5_000 + (rng.next() % 90_000) as i64;
    json!({
        "key": key,
        "version": 1 + rng.next() % 40,
        "on": !rng.next().is_multiple_of(5),
        "salt": format!("{:08x}", rng.next()),
        "variations": [true, false],
        "offVariation": 1,
        "clientSide": rng.next().is_multiple_of(3),
        "trackEvents": false,
        "targets": [{"variation": 0, "values": targets}],
        "rules": [
            {
                "id": format!("{key}-rule-country"),
                "clauses": [{"attribute": "country", "op": "in", "values": countries, "negate": false}],
                "variation": 0,
                "trackEvents": false
            },
            {
                "id": format!("{key}-rule-staff"),
                "clauses": [
                    {"attribute": "email", "op": "matches", "values": [format!("^[a-z]+\\.{}@corp\\.example$", rng.pick(&["ops", "dev", "qa"]))], "negate": false},
                    {"attribute": "plan", "op": "in", "values": ["enterprise", "business", format!("trial-{}", rng.next() % 100)], "negate": true}
                ],
                "variation": 0,
                "trackEvents": false
            },
            {
                "id": format!("{key}-rule-version"),
                "clauses": [
                    {"attribute": "appVersion", "op": "semVerGreaterThan", "values": [format!("2.{}.0", rng.next() % 20)], "negate": false},
                    {"attribute": "email", "op": "endsWith", "values": [format!("@{}.example", rng.pick(&["acme", "globex", "initech", "umbrella"]))], "negate": false}
                ],
                "rollout": {"variations": [{"variation": 0, "weight": split}, {"variation": 1, "weight": 100_000 - split}]},
                "trackEvents": false
            }
        ],
        "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": split}, {"variation": 1, "weight": 100_000 - split}]}},
        "prerequisites": [],
        "contextTargets": [],
        "trackEventsFallthrough": false,
        "debugEventsUntilDate": null,
        "deleted": false
    })
}

/// Sets each missing property to its default: LaunchDarkly's servers send
/// every property, and its Rust evaluator insists on them.
fn fill(object: &mut Value, defaults: Value) {
    if let (Value::Object(object), Value::Object(defaults)) = (object, defaults) {
        for (name, value) in defaults {
            object.entry(name).or_insert(value);
        }
    }
}

fn fill_clauses(rule: &mut Value) {
    for clause in rule["clauses"].as_array_mut().into_iter().flatten() {
        fill(clause, json!({"negate": false}));
    }
}

/// The example snapshot, with every property LaunchDarkly's servers send.
fn example() -> Value {
    let mut data: Value = serde_json::from_str(EXAMPLE).unwrap_or(Value::Null);
    for flag in data["flags"]
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        fill(
            flag,
            json!({
                "version": 1, "on": false, "prerequisites": [], "targets": [], "contextTargets": [],
                "rules": [], "salt": "", "trackEvents": false, "trackEventsFallthrough": false,
                "debugEventsUntilDate": null, "clientSide": false, "deleted": false
            }),
        );
        for rule in flag["rules"].as_array_mut().into_iter().flatten() {
            fill(rule, json!({"trackEvents": false}));
            fill_clauses(rule);
        }
    }
    for segment in data["segments"]
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        fill(
            segment,
            json!({"version": 1, "included": [], "excluded": [], "rules": [], "salt": "", "deleted": false}),
        );
        for rule in segment["rules"].as_array_mut().into_iter().flatten() {
            fill_clauses(rule);
        }
    }
    data
}

/// The benchmark snapshot, as polling-payload JSON.
pub fn snapshot_json() -> String {
    let mut data = example();
    let mut rng = Lcg(0x5eed);
    let included: Vec<String> = (0..1_000)
        .map(|i| format!("user-{:06}", 500_000 + i * 37))
        .collect();
    data["segments"]["beta-testers"]["included"] = json!(included);
    for i in 0..OTHER_FLAGS {
        let flag = other_flag(i, &mut rng);
        let key = flag["key"].as_str().unwrap_or_default().to_owned();
        data["flags"][key] = flag;
    }
    data.to_string()
}

/// The context evaluated: it misses every rule of the string flag, so (b)
/// walks all three (the segment's 1,000 keys included) before its rollout.
pub fn context_json() -> Value {
    json!({"kind": "user", "key": "user-000042", "email": "dana@customer.example", "country": "US"})
}
