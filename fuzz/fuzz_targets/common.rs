//! What the fuzz targets share: contexts of every shape, and an evaluation of
//! every flag of a snapshot through each entry point a host calls.

use std::sync::OnceLock;

use flagcore::{AllFlagsOptions, Context, Scope, Snapshot, Value, ValueType};

/// The bundled example snapshot, read once (the snapshot target reads its
/// own input instead).
#[allow(dead_code)]
pub fn example() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        Snapshot::from_json(include_bytes!("../../examples/snapshot.json"))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

pub const TYPES: [ValueType; 5] = [
    ValueType::Any,
    ValueType::Bool,
    ValueType::Int,
    ValueType::Double,
    ValueType::String,
];

/// A user, an org, a multi-kind context and an old-style user.
pub fn contexts() -> Vec<Context> {
    [
        r#"{"kind": "user", "key": "user-1", "email": "ana@example.com", "country": "SE"}"#,
        r#"{"kind": "org", "key": "org-1", "name": "Acme"}"#,
        r#"{"kind": "multi", "user": {"key": "user-2", "anonymous": true}, "org": {"key": "org-1"}}"#,
        r#"{"key": "old-user", "custom": {"version": "2.0.0", "groups": ["beta"]}}"#,
    ]
    .iter()
    .filter_map(|text| Context::from_json(text).ok())
    .collect()
}

/// Evaluates every flag (the first 64) for `context` with every value type,
/// at `now_ms` for a token it may carry, and the all-flags state; the
/// answers must serialize.
pub fn evaluate_all(snapshot: &Snapshot, context: &Scope, now_ms: u64) {
    let null = Value::Null;
    for key in snapshot.flag_keys().iter().take(64) {
        for value_type in TYPES {
            let detail = snapshot.variation_detail_at(key, context, &null, value_type, now_ms);
            assert!(detail.to_value().is_object());
        }
    }
    let options = AllFlagsOptions {
        with_reasons: true,
        ..Default::default()
    };
    assert!(snapshot
        .all_flags_state_at(context, options, now_ms)
        .to_value()
        .is_object());
}
