//! Property tests: arbitrary bytes, arbitrary JSON and schema-shaped random
//! snapshots go through parsing; whatever parses is evaluated against
//! arbitrary contexts. Nothing may panic or hang, and the answers must keep
//! their invariants.
//!
//! `FLAGCORE_PROPERTY_CASES` sets the number of cases (default 1,500) and
//! `FLAGCORE_PROPERTY_SEED` the seed; `make fuzz` runs a long release build.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use flagcore::{AllFlagsOptions, Snapshot, ValueType};
use serde_json::{json, Map, Value};

#[path = "../../tests/support/rng.rs"]
mod rng;
use rng::Rng;

const STRINGS: &[&str] = &[
    "",
    "a",
    "user-1",
    "user-2",
    "org-1",
    "ü",
    "用户",
    "🚀",
    "/",
    "//",
    "~",
    "~2",
    "/a~1b",
    "(",
    "[a-z]+",
    "^\\d+$",
    "2017-12-06T07:00:00Z",
    "2017-12-06T00:00:00.000-07:00",
    "1970-01-01T0:00:00.5Z",
    "1.2.3",
    "2-rc.1",
    "v1",
    "02.0.0",
    "@example.com",
    "a@example.com",
    "kind",
    "key",
    "multi",
    "user",
    "org",
    "$deleted",
    "features",
    "segments",
    "$inited",
];
const ATTRIBUTES: &[&str] = &[
    "key",
    "kind",
    "name",
    "anonymous",
    "email",
    "/a/b",
    "",
    "/",
    "/a~",
    "plan",
    "tags",
    "n",
    "/o/2",
];
const KINDS: &[&str] = &["user", "org", "", "device", "bad kind", "multi"];
const OPS: &[&str] = &[
    "in",
    "startsWith",
    "endsWith",
    "contains",
    "matches",
    "lessThan",
    "lessThanOrEqual",
    "greaterThan",
    "greaterThanOrEqual",
    "before",
    "after",
    "semVerEqual",
    "semVerLessThan",
    "semVerGreaterThan",
    "segmentMatch",
    "between",
];
const FLAG_KEYS: &[&str] = &["f0", "f1", "f2", "f3", "f4"];
const SEGMENT_KEYS: &[&str] = &["s0", "s1", "s2"];

fn number(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(rng.below(5) as i64 - 1),
        1 => json!(33333.0),
        2 => json!(1.5),
        3 => json!(-0.0),
        4 => json!(1.0e300),
        5 => json!(u64::MAX),
        6 => json!(i64::MIN),
        _ => json!(rng.below(200_000) as i64 - 50_000),
    }
}

fn any(rng: &mut Rng, depth: usize) -> Value {
    let limit = if depth > 3 { 5 } else { 7 };
    match rng.below(limit) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => number(rng),
        3 | 4 => json!(rng.pick(STRINGS)),
        5 => Value::Array((0..rng.below(4)).map(|_| any(rng, depth + 1)).collect()),
        _ => {
            let mut object = Map::new();
            for _ in 0..rng.below(4) {
                object.insert(
                    rng.pick(ATTRIBUTES).trim_start_matches('/').to_owned(),
                    any(rng, depth + 1),
                );
            }
            Value::Object(object)
        }
    }
}

/// Mostly the right type, sometimes anything.
fn or_any(rng: &mut Rng, value: Value) -> Value {
    if rng.chance(2) {
        any(rng, 2)
    } else {
        value
    }
}

fn index(rng: &mut Rng) -> Value {
    json!(rng.below(5) as i64 - 1)
}

fn clause(rng: &mut Rng) -> Value {
    let op = rng.pick(OPS);
    let values: Vec<Value> = (0..rng.below(4))
        .map(|_| {
            if op == "segmentMatch" {
                json!(rng.pick(SEGMENT_KEYS))
            } else {
                any(rng, 2)
            }
        })
        .collect();
    let mut clause = json!({"attribute": rng.pick(ATTRIBUTES), "op": op, "values": values, "negate": rng.chance(30)});
    if rng.chance(60) {
        clause["contextKind"] = json!(rng.pick(KINDS));
    }
    or_any(rng, clause)
}

fn rollout(rng: &mut Rng) -> Value {
    let variations: Vec<Value> = (0..rng.below(4))
        .map(|_| json!({"variation": index(rng), "weight": rng.below(120_000) as i64 - 10_000, "untracked": rng.chance(20)}))
        .collect();
    let mut rollout = json!({"variations": variations});
    if rng.chance(40) {
        rollout["kind"] = json!(rng.pick(&["rollout", "experiment", "other"]));
    }
    if rng.chance(40) {
        rollout["contextKind"] = json!(rng.pick(KINDS));
    }
    if rng.chance(40) {
        rollout["bucketBy"] = json!(rng.pick(ATTRIBUTES));
    }
    if rng.chance(40) {
        rollout["seed"] = json!(rng.below(3) as i64 - 1);
    }
    or_any(rng, rollout)
}

fn variation_or_rollout(rng: &mut Rng, into: &mut Value) {
    if rng.chance(50) {
        into["variation"] = index(rng);
    }
    if rng.chance(60) {
        into["rollout"] = rollout(rng);
    }
}

fn keys(rng: &mut Rng, pool: &[&str]) -> Value {
    json!((0..rng.below(12))
        .map(|_| rng.pick(pool))
        .collect::<Vec<_>>())
}

fn flag(rng: &mut Rng, key: &str) -> Value {
    let users = ["user-1", "user-2", "org-1", ""];
    let mut flag = json!({"key": key, "version": rng.below(9), "on": rng.chance(80), "salt": rng.pick(STRINGS)});
    flag["variations"] = json!((0..rng.below(4)).map(|_| any(rng, 1)).collect::<Vec<_>>());
    if rng.chance(70) {
        flag["offVariation"] = index(rng);
    }
    if rng.chance(50) {
        flag["prerequisites"] = json!((0..rng.below(3))
            .map(|_| json!({"key": rng.pick(FLAG_KEYS), "variation": index(rng)}))
            .collect::<Vec<_>>());
    }
    if rng.chance(50) {
        flag["targets"] = json!([{"variation": index(rng), "values": keys(rng, &users)}]);
    }
    if rng.chance(40) {
        flag["contextTargets"] = json!([{"contextKind": rng.pick(KINDS), "variation": index(rng), "values": keys(rng, &users)}]);
    }
    let rules: Vec<Value> = (0..rng.below(4))
        .map(|i| {
            let mut rule = json!({"id": format!("r{i}"), "clauses": (0..rng.below(3)).map(|_| clause(rng)).collect::<Vec<_>>()});
            variation_or_rollout(rng, &mut rule);
            rule
        })
        .collect();
    flag["rules"] = json!(rules);
    let mut fallthrough = json!({});
    variation_or_rollout(rng, &mut fallthrough);
    flag["fallthrough"] = fallthrough;
    if rng.chance(5) {
        flag["deleted"] = json!(true);
    }
    let mut object = flag.as_object().cloned().unwrap_or_default();
    // Now and then a property of the wrong type, which must be refused cleanly.
    if rng.chance(3) {
        let names: Vec<String> = object.keys().cloned().collect();
        if !names.is_empty() {
            let name = rng.pick(&names);
            object.insert(name, any(rng, 1));
        }
    }
    Value::Object(object)
}

fn segment(rng: &mut Rng, key: &str) -> Value {
    let users = ["user-1", "user-2", "org-1"];
    let rules: Vec<Value> = (0..rng.below(3))
        .map(|_| {
            let mut rule =
                json!({"clauses": (0..rng.below(3)).map(|_| clause(rng)).collect::<Vec<_>>()});
            if rng.chance(50) {
                rule["weight"] = json!(rng.below(120_000) as i64 - 10_000);
            }
            if rng.chance(30) {
                rule["rolloutContextKind"] = json!(rng.pick(KINDS));
            }
            if rng.chance(30) {
                rule["bucketBy"] = json!(rng.pick(ATTRIBUTES));
            }
            rule
        })
        .collect();
    let mut segment = json!({
        "key": key, "version": 1, "salt": rng.pick(STRINGS),
        "included": keys(rng, &users), "excluded": keys(rng, &users), "rules": rules,
        "includedContexts": [{"contextKind": rng.pick(KINDS), "values": keys(rng, &users)}],
    });
    if rng.chance(15) {
        segment["unbounded"] = json!(true);
        segment["generation"] = if rng.chance(50) {
            json!(1)
        } else {
            Value::Null
        };
    }
    or_any(rng, segment)
}

fn context(rng: &mut Rng) -> Value {
    let single = |rng: &mut Rng| {
        let mut c = Map::new();
        c.insert(
            "key".into(),
            if rng.chance(90) {
                json!(rng.pick(&["user-1", "user-2", "org-1", "用户"]))
            } else {
                any(rng, 2)
            },
        );
        for _ in 0..rng.below(4) {
            c.insert(
                rng.pick(ATTRIBUTES).trim_start_matches('/').to_owned(),
                any(rng, 1),
            );
        }
        c
    };
    match rng.below(5) {
        0 => {
            let mut c = single(rng);
            c.insert("kind".into(), json!(rng.pick(KINDS)));
            Value::Object(c)
        }
        1 => {
            let mut multi = Map::new();
            multi.insert("kind".into(), json!("multi"));
            for _ in 0..rng.below(3) {
                multi.insert(rng.pick(KINDS).to_owned(), Value::Object(single(rng)));
            }
            Value::Object(multi)
        }
        2 => {
            let mut user = single(rng);
            user.insert("custom".into(), any(rng, 1));
            Value::Object(user)
        }
        3 => any(rng, 0),
        _ => {
            let mut c = single(rng);
            c.insert("kind".into(), json!("user"));
            Value::Object(c)
        }
    }
}

fn snapshot_document(rng: &mut Rng) -> Value {
    let mut flags = Map::new();
    for key in FLAG_KEYS.iter().take(1 + rng.below(FLAG_KEYS.len())) {
        flags.insert((*key).to_owned(), flag(rng, key));
    }
    let mut segments = Map::new();
    for key in SEGMENT_KEYS.iter().take(rng.below(SEGMENT_KEYS.len() + 1)) {
        segments.insert((*key).to_owned(), segment(rng, key));
    }
    let data = json!({"flags": flags, "segments": segments});
    match rng.below(4) {
        0 => json!({"path": "/", "data": data}),
        1 => {
            let mut items: Vec<Value> = Vec::new();
            for (namespace, collection) in [
                ("features", &data["flags"]),
                ("segments", &data["segments"]),
            ] {
                for (key, item) in collection.as_object().into_iter().flatten() {
                    items.push(json!({"namespace": {"S": namespace}, "key": {"S": key}, "version": {"N": "1"}, "item": {"S": item.to_string()}}));
                }
            }
            Value::Array(items)
        }
        _ => data,
    }
}

/// Flips, drops and inserts bytes of a valid document.
fn mangle(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(6) {
        if bytes.is_empty() {
            return;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(
                at,
                rng.pick(&[b'{', b'}', b'[', b']', b'"', b',', b':', b'0', b'\\', 0xff]),
            ),
            _ => bytes.truncate(at),
        }
    }
}

/// Evaluates everything a host can ask for, and checks the invariants.
fn exercise(rng: &mut Rng, snapshot: &Snapshot) -> Result<(), String> {
    let mut flag_keys: Vec<String> = snapshot.flag_keys().to_vec();
    flag_keys.push("missing".to_owned());
    let _ = snapshot.check();
    let id = snapshot.id().to_owned();
    for _ in 0..4 {
        let context = context(rng);
        let default = any(rng, 2);
        for key in &flag_keys {
            for value_type in [
                ValueType::Bool,
                ValueType::Int,
                ValueType::Double,
                ValueType::String,
                ValueType::Any,
            ] {
                let detail = snapshot.variation_detail_json(key, &context, &default, value_type);
                let again = snapshot.variation_detail_json(key, &context, &default, value_type);
                if detail != again {
                    return Err(format!("{key}: two evaluations differ"));
                }
                if detail.variation_index.is_none() && *detail.value != default {
                    return Err(format!("{key}: no variation index but not the default"));
                }
                if detail.reason.error_kind().is_some() && detail.variation_index.is_some() {
                    return Err(format!("{key}: an error with a variation index"));
                }
                if let (Some(i), ValueType::Any) = (detail.variation_index, value_type) {
                    let expected = snapshot.variations(key).and_then(|v| v.get(i));
                    if expected != Some(&*detail.value) {
                        return Err(format!("{key}: value is not variation {i}"));
                    }
                }
            }
        }
        let options = AllFlagsOptions {
            with_reasons: rng.chance(50),
            client_side_only: rng.chance(30),
            ..Default::default()
        };
        let _ = snapshot.all_flags_state_json(&context, options).to_value();
    }
    if snapshot.id() != id {
        return Err("the id changed".to_owned());
    }
    Ok(())
}

#[test]
fn arbitrary_input_never_panics_or_hangs() {
    let cases: u64 = std::env::var("FLAGCORE_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500);
    let seed: u64 = std::env::var("FLAGCORE_PROPERTY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f1a9);
    let example = include_bytes!("../../examples/snapshot.json");
    let started = Instant::now();
    let (mut parsed, mut refused, mut slowest) = (0u64, 0u64, Duration::ZERO);
    for case in 0..cases {
        let case_seed = seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut rng = Rng(case_seed);
        let start = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| -> Result<bool, String> {
            let mut bytes = match rng.below(10) {
                0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
                1 => any(&mut rng, 0).to_string().into_bytes(),
                2 | 3 => example.to_vec(),
                _ => snapshot_document(&mut rng).to_string().into_bytes(),
            };
            if rng.chance(40) {
                mangle(&mut rng, &mut bytes);
            }
            match Snapshot::from_json(&bytes) {
                Ok(snapshot) => {
                    let reparsed = Snapshot::from_json(&bytes)
                        .map_err(|e| format!("second parse failed: {e}"))?;
                    if reparsed.id() != snapshot.id() {
                        return Err("the same bytes gave two ids".to_owned());
                    }
                    exercise(&mut rng, &snapshot)?;
                    Ok(true)
                }
                Err(error) => {
                    if error.path().is_empty()
                        || !error.path().starts_with('$')
                        || error.message().is_empty()
                    {
                        return Err(format!("an error without a path or message: {error:?}"));
                    }
                    Ok(false)
                }
            }
        }));
        let took = start.elapsed();
        slowest = slowest.max(took);
        match outcome {
            Ok(Ok(true)) => parsed += 1,
            Ok(Ok(false)) => refused += 1,
            Ok(Err(why)) => panic!("case {case} (seed {case_seed}): {why}"),
            Err(_) => panic!("case {case} (seed {case_seed}) panicked"),
        }
        assert!(
            took < Duration::from_secs(5),
            "case {case} (seed {case_seed}) took {took:?}"
        );
    }
    eprintln!(
        "{cases} cases in {:?}: {parsed} parsed and evaluated, {refused} refused; slowest case {slowest:?}",
        started.elapsed()
    );
    assert!(
        parsed > cases / 10,
        "too few inputs parsed ({parsed}) for the test to mean much"
    );
}
