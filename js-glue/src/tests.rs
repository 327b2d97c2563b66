//! The packed answers and the context cache, as both bindings use them.

use flagcore::{Context, Scope, Snapshot};

use crate::*;

#[test]
fn packs_and_caches_as_the_hosts_expect() {
    let snapshot = Snapshot::from_json(
        br#"{"flags": {"f": {"on": true, "variations": [1, 2], "prerequisites": [{"key": "g", "variation": 0}],
            "offVariation": 1, "fallthrough": {"variation": 0}}}}"#,
    )
    .unwrap();
    let mut cache = ContextCache::default();
    let packed = cache.with_text(r#"{"key": "u"}"#, |c| {
        evaluate_packed(&snapshot, 0, c, 0, 0.0)
    });
    // Variation 1 (+1), PREREQUISITE_FAILED (4), position 0.
    assert_eq!(packed, (2 | (4 << 16)) as f64);
    let context = Scope::new(Context::new("user", "u").unwrap());
    assert_eq!(
        evaluate_packed(&snapshot, 7, Ok(&context), 0, 0.0),
        DOES_NOT_FIT
    );
    // Several at once answer as one at a time, each with its own type.
    let mut out = [0.0, 8.0 * 7.0, 1.0, -8.0];
    assert_eq!(evaluate_many(&snapshot, &mut out, Ok(&context), 0.0), 4);
    assert_eq!(out[0], evaluate_packed(&snapshot, 0, Ok(&context), 0, 0.0));
    assert_eq!(out[1], DOES_NOT_FIT);
    assert_eq!(out[2], evaluate_packed(&snapshot, 0, Ok(&context), 1, 0.0));
    assert_ne!(out[2], out[0], "a bool flag of numbers is the wrong type");
    assert_eq!(out[3], DOES_NOT_FIT, "no code is no flag");
    let invalid = cache.prepare(0, r#"{"kind": "user"}"#);
    assert!(invalid < 0.0);
    assert!(cache.context_error(-invalid as u64).is_some());
    let ids: Vec<f64> = (0..20)
        .map(|_| cache.prepare(0, r#"{"key": "u"}"#))
        .collect();
    assert!(
        cache.with_prepared(-invalid as u64, |_| ()).is_none(),
        "evicted after eight newer entries"
    );
    assert!(cache.with_prepared(ids[19] as u64, |_| ()).is_some());
    // Registered and evaluated in one call, under a new number.
    let (number, packed) = cache.prepare_then(0, r#"{"key": "w"}"#, |c| {
        evaluate_packed(&snapshot, 0, c, 0, 0.0)
    });
    assert_eq!(number, ids[19] + 1.0);
    assert_eq!(packed, (2 | (4 << 16)) as f64);
    let (number, packed) = cache.prepare_then(0, "{}", |c| c.is_ok());
    assert!(number < 0.0 && !packed, "an invalid context is negated");
    // Registered again under its own number, not a new one.
    assert_eq!(cache.prepare(ids[0] as u64, r#"{"key": "u"}"#), ids[0]);
    // A number it never handed out gets a new one: no two registrations share one.
    assert_eq!(cache.prepare(1_000, r#"{"key": "v"}"#), ids[19] + 3.0);
}
