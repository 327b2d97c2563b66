//! The cross-runtime corpus (`tests/vectors/corpus/generated.jsonl`): random
//! but valid snapshots, seeded, each with cases whose answers every runtime
//! must give byte for byte. Included by path from `tests/corpus.rs`, which
//! checks that the committed file is exactly what this generator makes.
//!
//! It reaches every operator, rollouts with and without seeds (0 included),
//! experiments, segments with targets and weighted rules, prerequisites,
//! targets and context targets, multi-kind and old-style contexts, unicode
//! keys and values, and integer and float `bucketBy` attributes.

use flagcore::{Context, Scope, Snapshot, Value, ValueType};
use serde_json::{json, Map};

use crate::canonical::canonical;
use crate::rng::Rng;

pub const SEED: u64 = 20_261_127;
pub const GROUPS: usize = 100;
pub const CASES_PER_GROUP: usize = 50;

const EMAILS: [&str; 6] = [
    "ana@example.com",
    "li@example.com",
    "sam@shop.test",
    "kim@corp.example",
    "zoë@exämple.org",
    "李@例子.中国",
];
const COUNTRIES: [&str; 5] = ["SE", "US", "DE", "BR", "JP"];
const NAMES: [&str; 5] = ["Ana", "Zoë", "李雷", "Ødegaard", "Sam"];
const VERSIONS: [&str; 8] = [
    "1.0.0",
    "1.2",
    "2.0.0-rc.1",
    "2.0.0",
    "2.10.1",
    "3",
    "v1.0.0",
    "1.0.0+build.5",
];
const DATES: [&str; 5] = [
    "2017-12-06T07:00:00Z",
    "2021-01-01T00:00:00.000+02:00",
    "2030-06-30T12:00:00Z",
    "2024-02-29T23:59:59.999Z",
    "not a date",
];
const PATTERNS: [&str; 6] = [
    "^ana",
    "example\\.com$",
    "^[a-z]+@",
    "shop|corp",
    "ë",
    "[0-9]{2}",
];
const TAGS: [&str; 4] = ["beta", "staff", "ünïcode", "vip"];

fn user_key(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => format!("ユーザー-{}", rng.below(20)),
        1 => format!("usér-{}", rng.below(20)),
        _ => {
            let range = if rng.chance(50) { 30 } else { 100_000 };
            format!("user-{}", rng.below(range))
        }
    }
}

fn weights(rng: &mut Rng, count: usize) -> Vec<u64> {
    let mut cuts: Vec<u64> = (0..count - 1).map(|_| rng.below(100_001) as u64).collect();
    cuts.sort_unstable();
    cuts.push(100_000);
    let mut last = 0;
    cuts.into_iter()
        .map(|cut| {
            let weight = cut - last;
            last = cut;
            weight
        })
        .collect()
}

fn rollout(rng: &mut Rng, variations: usize) -> Value {
    let count = 2 + rng.below(2);
    let parts: Vec<Value> = weights(rng, count)
        .into_iter()
        .map(|weight| json!({"variation": rng.below(variations), "weight": weight, "untracked": rng.chance(15)}))
        .collect();
    let mut out = Map::new();
    out.insert("variations".into(), Value::Array(parts));
    if rng.chance(35) {
        out.insert("kind".into(), json!("experiment"));
    }
    match rng.below(4) {
        0 => {
            out.insert("seed".into(), json!(0));
        }
        1 => {
            out.insert("seed".into(), json!(rng.below(100_000) as i64 - 50_000));
        }
        _ => {}
    }
    match rng.below(10) {
        0 | 1 => {
            out.insert("bucketBy".into(), json!("age"));
        }
        2 | 3 => {
            out.insert("bucketBy".into(), json!("score"));
        }
        4 => {
            out.insert("bucketBy".into(), json!("email"));
        }
        _ => {}
    }
    if rng.chance(20) {
        out.insert("contextKind".into(), json!("org"));
    }
    Value::Object(out)
}

fn clause(rng: &mut Rng, segments: &[String]) -> Value {
    let mut c = match rng.below(16) {
        0 => {
            json!({"attribute": "email", "op": "in", "values": [rng.pick(&EMAILS), rng.pick(&EMAILS)]})
        }
        1 => {
            json!({"attribute": rng.pick(&["email", "name"]), "op": rng.pick(&["startsWith", "endsWith", "contains"]), "values": [rng.pick(&["ana", "@example.com", "shop", "ë", "李"])]})
        }
        2 => {
            json!({"attribute": rng.pick(&["email", "name", "key"]), "op": "matches", "values": [rng.pick(&PATTERNS)]})
        }
        3 => {
            json!({"attribute": "country", "op": "in", "values": [rng.pick(&COUNTRIES), rng.pick(&COUNTRIES)]})
        }
        4 => {
            json!({"attribute": "age", "op": rng.pick(&["lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"]), "values": [rng.below(80)]})
        }
        5 => {
            json!({"attribute": "score", "op": rng.pick(&["lessThan", "greaterThanOrEqual"]), "values": [rng.below(1000) as f64 / 10.0]})
        }
        6 => {
            let value = if rng.chance(50) {
                json!(rng.pick(&DATES))
            } else {
                json!(1_600_000_000_000u64 + rng.below(1_000_000) as u64 * 1_000_000)
            };
            json!({"attribute": "signup", "op": rng.pick(&["before", "after"]), "values": [value]})
        }
        7 => {
            json!({"attribute": "version", "op": rng.pick(&["semVerEqual", "semVerLessThan", "semVerGreaterThan"]), "values": [rng.pick(&VERSIONS)]})
        }
        8 | 9 if !segments.is_empty() => {
            json!({"attribute": "", "op": "segmentMatch", "values": [rng.pick(segments)]})
        }
        10 => {
            json!({"contextKind": "user", "attribute": "/nested/plan", "op": "in", "values": [rng.pick(&["free", "pro"])]})
        }
        11 => json!({"attribute": "tags", "op": "in", "values": [rng.pick(&TAGS)]}),
        12 => {
            json!({"contextKind": "org", "attribute": "key", "op": "in", "values": [format!("org-{}", rng.below(6)), format!("org-{}", rng.below(6))]})
        }
        13 => json!({"attribute": "kind", "op": "in", "values": [rng.pick(&["user", "org"])]}),
        _ => {
            json!({"attribute": "key", "op": "in", "values": [user_key(rng), user_key(rng), format!("user-{}", rng.below(30))]})
        }
    };
    if rng.chance(15) {
        c["negate"] = json!(true);
    }
    c
}

fn variations(rng: &mut Rng) -> (Vec<Value>, &'static str) {
    match rng.below(6) {
        0 | 1 => (vec![json!(true), json!(false)], "bool"),
        2 => (
            vec![json!("classic"), json!("mïdnight"), json!("日の出")],
            "string",
        ),
        3 => (vec![json!(10), json!(25), json!(-3)], "int"),
        4 => (
            vec![json!(0.5), json!(2.75), json!(1e-7), json!(100.0)],
            "double",
        ),
        _ => (
            vec![
                json!({"layout": "grid", "columns": 3}),
                json!(["a", "ü", 1]),
                json!(null),
            ],
            "any",
        ),
    }
}

fn segment(rng: &mut Rng, key: &str, earlier: &[String]) -> Value {
    let keys =
        |rng: &mut Rng| -> Vec<String> { (0..rng.below(5)).map(|_| user_key(rng)).collect() };
    let rules: Vec<Value> = (0..rng.below(3))
        .map(|i| {
            let mut rule = json!({"id": format!("sr-{i}"), "clauses": [clause(rng, earlier)]});
            if rng.chance(40) {
                rule["weight"] = json!(rng.below(100_001));
                if rng.chance(40) {
                    rule["bucketBy"] = json!(rng.pick(&["age", "score", "email"]));
                }
            }
            rule
        })
        .collect();
    json!({
        "key": key, "version": 1 + rng.below(5), "salt": format!("sälz-{key}"),
        "included": keys(rng), "excluded": keys(rng),
        "includedContexts": if rng.chance(30) { json!([{"contextKind": "org", "values": [format!("org-{}", rng.below(6))]}]) } else { json!([]) },
        "excludedContexts": [],
        "rules": rules,
    })
}

fn snapshot(rng: &mut Rng) -> (Value, Vec<(String, &'static str)>) {
    let mut segments = Map::new();
    let mut segment_keys: Vec<String> = Vec::new();
    for s in 0..rng.below(4) {
        let key = if s == 1 {
            "sëgment-β".to_owned()
        } else {
            format!("segment-{s}")
        };
        // Segment rules may refer to earlier segments only: no cycles.
        let value = segment(rng, &key, &segment_keys);
        segments.insert(key.clone(), value);
        segment_keys.push(key);
    }
    let mut flags = Map::new();
    let mut kinds: Vec<(String, &'static str)> = Vec::new();
    for f in 0..4 + rng.below(7) {
        let key = match f % 5 {
            1 => format!("flag-ñ-{f}"),
            3 => format!("フラグ-{f}"),
            _ => format!("flag-{f}"),
        };
        let (values, kind) = variations(rng);
        let n = values.len();
        let choose = |rng: &mut Rng, into: &mut Value| {
            if rng.chance(45) {
                into["variation"] = json!(rng.below(n));
            } else {
                into["rollout"] = rollout(rng, n);
            }
        };
        let rules: Vec<Value> = (0..rng.below(4))
            .map(|i| {
                let clauses: Vec<Value> = (0..1 + rng.below(2)).map(|_| clause(rng, &segment_keys)).collect();
                let mut rule = json!({"id": format!("rule-{i}-{}", rng.below(1000)), "clauses": clauses, "trackEvents": rng.chance(20)});
                choose(rng, &mut rule);
                rule
            })
            .collect();
        let mut fallthrough = json!({});
        choose(rng, &mut fallthrough);
        let prerequisites: Vec<Value> = if !kinds.is_empty() && rng.chance(30) {
            let (prereq, _) = rng.pick(&kinds);
            vec![json!({"key": prereq, "variation": rng.below(2)})]
        } else {
            Vec::new()
        };
        let targets = if rng.chance(40) {
            json!([{"variation": rng.below(n), "values": [user_key(rng), user_key(rng)]}])
        } else {
            json!([])
        };
        let context_targets = if rng.chance(25) {
            json!([{"contextKind": "org", "variation": rng.below(n), "values": [format!("org-{}", rng.below(6))]}, {"contextKind": "user", "variation": rng.below(n), "values": []}])
        } else {
            json!([])
        };
        let flag = json!({
            "key": key, "version": 1 + rng.below(9), "on": rng.chance(88), "salt": format!("salt-{key}"),
            "variations": values, "offVariation": if rng.chance(70) { json!(rng.below(n)) } else { Value::Null },
            "prerequisites": prerequisites, "targets": targets, "contextTargets": context_targets,
            "rules": rules, "fallthrough": fallthrough,
            "trackEvents": false, "trackEventsFallthrough": rng.chance(10), "clientSide": rng.chance(50), "deleted": false,
        });
        flags.insert(key.clone(), flag);
        kinds.push((key, kind));
    }
    (json!({"flags": flags, "segments": segments}), kinds)
}

fn individual(rng: &mut Rng) -> Map<String, Value> {
    let mut user = Map::new();
    user.insert("key".into(), json!(user_key(rng)));
    let mut optional = |rng: &mut Rng, percent: u64, name: &str, value: Value| {
        if rng.chance(percent) {
            user.insert(name.into(), value);
        }
    };
    let email = rng.pick(&EMAILS);
    optional(rng, 80, "email", json!(email));
    let name = rng.pick(&NAMES);
    optional(rng, 40, "name", json!(name));
    let country = rng.pick(&COUNTRIES);
    optional(rng, 70, "country", json!(country));
    let age = rng.below(90);
    optional(rng, 60, "age", json!(age));
    let score = if rng.chance(30) {
        json!(rng.below(100) as f64)
    } else {
        json!(rng.below(10_000) as f64 / 100.0)
    };
    optional(rng, 50, "score", score);
    let version = rng.pick(&VERSIONS);
    optional(rng, 50, "version", json!(version));
    let signup = if rng.chance(50) {
        json!(rng.pick(&DATES))
    } else {
        json!(1_600_000_000_000u64 + rng.below(1_000_000) as u64 * 1_000_000)
    };
    optional(rng, 50, "signup", signup);
    let tags = json!([rng.pick(&TAGS), rng.pick(&TAGS)]);
    optional(rng, 30, "tags", tags);
    let plan = json!({"plan": rng.pick(&["free", "pro"])});
    optional(rng, 40, "nested", plan);
    user
}

fn context(rng: &mut Rng) -> Value {
    let mut user = individual(rng);
    match rng.below(20) {
        // An old-style user: no kind.
        0 | 1 => Value::Object(user),
        2 => {
            json!({"kind": "org", "key": format!("org-{}", rng.below(6)), "name": rng.pick(&NAMES), "score": rng.below(50)})
        }
        3..=5 => {
            json!({"kind": "multi", "user": Value::Object(user), "org": {"key": format!("org-{}", rng.below(6)), "email": rng.pick(&EMAILS)}})
        }
        // Invalid: USER_NOT_SPECIFIED.
        6 => json!({"kind": "user", "key": ""}),
        _ => {
            user.insert("kind".into(), json!("user"));
            Value::Object(user)
        }
    }
}

fn default_for(rng: &mut Rng, value_type: &str) -> Value {
    match value_type {
        "bool" => json!(rng.chance(50)),
        "int" => json!(7),
        "double" => json!(-1.5),
        "string" => json!("défaut"),
        _ => json!({"fallback": true}),
    }
}

/// Group `index` of the corpus: its snapshot and cases, with the answers
/// (canonical JSON) that flagcore's core gives.
pub fn group(seed: u64, index: usize, cases: usize) -> Value {
    let mut rng = Rng(seed
        .wrapping_add(index as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        | 1);
    let (data, kinds) = snapshot(&mut rng);
    let parsed = Snapshot::from_json(data.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("group {index}: {e}"));
    let mut out = Vec::new();
    for c in 0..cases {
        let (flag_key, flag_type) = if rng.chance(3) {
            ("no-such-flag".to_owned(), "any")
        } else {
            rng.pick(&kinds)
        };
        let value_type = if rng.chance(80) {
            flag_type
        } else {
            rng.pick(&["bool", "int", "double", "string", "any"])
        };
        let default = default_for(&mut rng, value_type);
        let context = context(&mut rng);
        let parsed_context = Context::from_value(&context).map(Scope::new);
        let value_type_code = ValueType::parse(value_type).unwrap_or(ValueType::Any);
        let detail = parsed.variation_detail_checked(
            &flag_key,
            parsed_context.as_ref(),
            &default,
            value_type_code,
            0,
        );
        out.push(json!({
            "id": format!("gen-{index:03}-{c:02}"),
            "flagKey": flag_key, "valueType": value_type, "default": default, "context": context,
            "expect": canonical(&detail.to_value()),
        }));
    }
    json!({"id": format!("gen-{index:03}"), "data": data, "cases": out})
}
