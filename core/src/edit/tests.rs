//! The edits, against evaluations: a rollout raised only adds users, the
//! kill switch wins, and every refusal has its code.

use super::*;
use crate::{Context, ValueType};

fn empty() -> Snapshot {
    Snapshot::from_json(br#"{"flags": {}, "segments": {}}"#).unwrap()
}

fn edit(snapshot: &Snapshot, change: Change) -> Snapshot {
    apply(snapshot, &change).unwrap()
}

fn on_for(snapshot: &Snapshot, key: &str, user: &str) -> bool {
    let context = Context::from_value(&json!({"kind": "user", "key": user})).unwrap();
    *snapshot
        .variation_detail(key, &context, &json!(null), ValueType::Bool)
        .value
        == json!(true)
}

/// A boolean flag `canary`, created and turned on: what every test starts from.
fn canary_on() -> Snapshot {
    let created = edit(
        &empty(),
        Change::Create {
            key: "canary".into(),
            variations: None,
        },
    );
    edit(
        &created,
        Change::On {
            key: "canary".into(),
        },
    )
}

fn canary(weight: u32) -> Change {
    Change::Rollout {
        key: "canary".into(),
        weights: vec![weight, TOTAL_WEIGHT - weight],
    }
}

#[test]
fn a_rollout_raised_only_adds_users() {
    let on = canary_on();
    let users: Vec<String> = (0..5_000).map(|n| format!("user-{n}")).collect();
    let one = edit(&on, canary(1_000));
    let ten = edit(&one, canary(10_000));
    let at_one: Vec<bool> = users.iter().map(|u| on_for(&one, "canary", u)).collect();
    let at_ten: Vec<bool> = users.iter().map(|u| on_for(&ten, "canary", u)).collect();
    assert!(
        at_one.iter().zip(&at_ten).all(|(a, b)| !a || *b),
        "no user leaves the canary"
    );
    let (n1, n10) = (
        at_one.iter().filter(|x| **x).count(),
        at_ten.iter().filter(|x| **x).count(),
    );
    assert!(
        (20..90).contains(&n1) && (400..600).contains(&n10),
        "{n1} {n10}"
    );
    let off = edit(
        &ten,
        Change::Off {
            key: "canary".into(),
        },
    );
    assert!(
        users.iter().all(|u| !on_for(&off, "canary", u)),
        "the kill switch wins"
    );
}

#[test]
fn percentages_are_exact() {
    assert_eq!(parse_percent("12.5%"), Ok(12_500));
    assert_eq!(parse_percent("0.001"), Ok(1));
    assert_eq!(parse_percent("100%"), Ok(TOTAL_WEIGHT));
    for bad in ["100.001%", "-1%", "1.2345%", "ten%", "", "1e2"] {
        assert_eq!(
            parse_percent(bad).unwrap_err().code,
            "PERCENT_INVALID",
            "{bad}"
        );
    }
    assert_eq!(rollout_weights(2, &[(0, 10_000)]), Ok(vec![10_000, 90_000]));
    assert_eq!(
        rollout_weights(3, &[(0, 50_000)]).unwrap_err().code,
        "PERCENT_INVALID"
    );
    assert_eq!(
        rollout_weights(2, &[(0, 60_000), (1, 60_000)])
            .unwrap_err()
            .code,
        "PERCENT_INVALID"
    );
    assert_eq!(
        rollout_weights(2, &[(2, 1)]).unwrap_err().code,
        "VARIATION_NOT_FOUND"
    );
    assert_eq!(percent(12_500), "12.5");
    assert_eq!(percent(100_000), "100");
}

#[test]
fn targets_and_their_refusals() {
    let on = canary_on();
    let target = |add: &[&str], remove: &[&str], variation| Change::Target {
        key: "canary".into(),
        variation,
        kind: "user".into(),
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    };
    let me = edit(&on, target(&["me"], &[], 0));
    assert!(on_for(&me, "canary", "me") && !on_for(&me, "canary", "you"));
    assert_eq!(
        apply(&me, &target(&["me"], &[], 1)).unwrap_err().code,
        "KEY_TARGETED_TWICE"
    );
    assert_eq!(
        apply(&me, &target(&[], &["you"], 0)).unwrap_err().code,
        "KEY_NOT_TARGETED"
    );
    assert_eq!(
        apply(&me, &target(&["x"], &[], 5)).unwrap_err().code,
        "VARIATION_NOT_FOUND"
    );
    let gone = edit(&me, target(&[], &["me"], 0));
    assert!(!on_for(&gone, "canary", "me"));
    assert_eq!(
        apply(&gone, &Change::On { key: "nope".into() })
            .unwrap_err()
            .code,
        "FLAG_NOT_FOUND"
    );
    assert_eq!(
        apply(
            &gone,
            &Change::Create {
                key: "canary".into(),
                variations: None
            }
        )
        .unwrap_err()
        .code,
        "FLAG_EXISTS"
    );
    assert_eq!(
        apply(
            &gone,
            &Change::Create {
                key: "two".into(),
                variations: Some(vec![json!(1), json!(1)])
            }
        )
        .unwrap_err()
        .code,
        "VARIATIONS_INVALID"
    );
    let archived = edit(
        &gone,
        Change::Archive {
            key: "canary".into(),
        },
    );
    assert!(archived.flag_keys().is_empty());
}

fn matches(snapshot: &Snapshot, context: Value) -> Value {
    let context = Context::from_value(&context).unwrap();
    snapshot
        .variation_detail("canary", &context, &json!(null), ValueType::Any)
        .value
        .into_owned()
}

#[test]
fn user_targets_stay_on_when_another_kind_is_targeted() {
    let on = canary_on();
    let target = |kind: &str, key: &str| Change::Target {
        key: "canary".into(),
        variation: 0,
        kind: kind.into(),
        add: vec![key.into()],
        remove: vec![],
    };
    let me = edit(&on, target("user", "me"));
    let both = edit(&me, target("org", "acme"));
    assert_eq!(
        matches(&both, json!({"kind": "user", "key": "me"})),
        json!(true),
        "the user target still holds"
    );
    assert_eq!(
        matches(&both, json!({"kind": "org", "key": "acme"})),
        json!(true)
    );
    assert_eq!(
        matches(&both, json!({"kind": "user", "key": "you"})),
        json!(false)
    );
    // A user target added once organizations are targeted holds too.
    let later = edit(&both, target("user", "you"));
    assert_eq!(
        matches(&later, json!({"kind": "user", "key": "you"})),
        json!(true)
    );
    let document: Value = serde_json::from_slice(&canonical_json(&later)).unwrap();
    let placeholders = document["flags"]["canary"]["contextTargets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["contextKind"] == "user")
        .count();
    assert_eq!(placeholders, 1, "{document}");
    // With the organization gone, the placeholders go too.
    let gone = edit(
        &later,
        Change::Target {
            key: "canary".into(),
            variation: 0,
            kind: "org".into(),
            add: vec![],
            remove: vec!["acme".into()],
        },
    );
    let document: Value = serde_json::from_slice(&canonical_json(&gone)).unwrap();
    assert_eq!(document["flags"]["canary"]["contextTargets"], json!([]));
    assert_eq!(
        matches(&gone, json!({"kind": "user", "key": "me"})),
        json!(true)
    );
}

#[test]
fn a_rollout_at_100_percent_keeps_its_seed_and_order() {
    let snapshot = Snapshot::from_json(
        br#"{"flags": {"canary": {"key": "canary", "on": true, "salt": "s", "variations": [true, false],
        "offVariation": 1, "fallthrough": {"rollout": {"seed": 7, "variations": [
        {"variation": 1, "weight": 90000}, {"variation": 0, "weight": 10000}]}}}}, "segments": {}}"#,
    )
    .unwrap();
    let all = edit(
        &snapshot,
        Change::Rollout {
            key: "canary".into(),
            weights: vec![TOTAL_WEIGHT, 0],
        },
    );
    let back = edit(
        &all,
        Change::Rollout {
            key: "canary".into(),
            weights: vec![10_000, 90_000],
        },
    );
    let users: Vec<String> = (0..2_000).map(|n| format!("user-{n}")).collect();
    assert!(
        users
            .iter()
            .all(|u| on_for(&back, "canary", u) == on_for(&snapshot, "canary", u)),
        "the same users, by the same seed and order"
    );
    let document: Value = serde_json::from_slice(&canonical_json(&all)).unwrap();
    let rollout = &document["flags"]["canary"]["fallthrough"]["rollout"];
    assert_eq!(rollout["seed"], json!(7));
    assert_eq!(
        rollout["variations"][0]["variation"],
        json!(1),
        "the rollout's own order stays"
    );
}
