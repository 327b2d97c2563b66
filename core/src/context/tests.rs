use super::*;
use serde_json::json;

// Text is read straight into properties, a value through a map: both
// must give the same context, or the same refusal.
#[test]
fn text_reads_as_its_value_does() {
    let texts = [
        r#"{"kind": "user", "key": "u", "email": "e", "country": null}"#,
        r#"{"key": "u", "kind": "org", "b": 1, "a": [2], "b": 3}"#,
        r#"{"kind": "user", "key": "u", "a": 1, "a": null}"#,
        r#"{"kind": "user", "key": "first", "key": "second", "name": null}"#,
        r#"{"kind": "user", "k\u0065y": "escaped", "_meta": {"privateAttributes": ["a"]}}"#,
        r#"{"kind": "multi", "org": {"key": "o"}, "user": {"key": "u", "kind": "x"}}"#,
        r#"{"kind": "multi", "key": {"key": "k"}, "org": {"key": "o"}}"#,
        r#"{"kind": "multi", "name": "n", "org": {"key": "o"}}"#,
        r#"{"key": "old", "custom": {"plan": "gold", "email": "c"}, "email": "e"}"#,
        r#"{"kind": "user", "key": ""}"#,
        r#"{"kind": "user", "key": "u", "anonymous": "yes"}"#,
        r#"{"kind": 7, "key": "u"}"#,
        r#"[1, 2]"#,
        r#""text""#,
        r#"{"kind": "user", "key": "u"} trailing"#,
    ];
    for text in texts {
        let via_value = match serde_json::from_str::<Value>(text) {
            Ok(value) => Context::from_value(&value),
            Err(_) => Err(ContextError("not JSON".to_owned())),
        };
        match (Context::from_json(text), via_value) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
            (Err(a), Err(b)) if b.0 == "not JSON" => {
                assert!(a.0.starts_with("not JSON"), "{text}")
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
            (a, b) => panic!("{text}: {a:?} but {b:?}"),
        }
    }
}

#[test]
fn old_style_users_become_user_contexts() {
    let ctx = Context::from_value(&json!({"key": "", "email": "a@b", "custom": {"plan": "pro"}}))
        .unwrap();
    let user = ctx.individual("user").unwrap();
    assert_eq!(user.key(), "");
    assert_eq!(user.get(&AttrRef::key()), Some(&json!("")));
    assert_eq!(
        user.get(&AttrRef::literal("plan").unwrap()),
        Some(&json!("pro"))
    );
    assert_eq!(
        user.get(&AttrRef::literal("email").unwrap()),
        Some(&json!("a@b"))
    );
}

#[test]
fn multi_kind_contexts_of_one_kind_are_single() {
    let ctx = Context::from_value(&json!({"kind": "multi", "org": {"key": "o"}})).unwrap();
    assert!(!ctx.is_multi());
    assert_eq!(ctx.key("org"), Some("o"));
}

#[test]
fn invalid_contexts_are_refused() {
    for bad in [
        json!({"kind": "user"}),
        json!({"kind": "user", "key": ""}),
        json!({"kind": "multi"}),
        json!({"kind": "kind", "key": "k"}),
        json!({"kind": "a b", "key": "k"}),
        json!({"kind": null, "key": "k"}),
        json!({"kind": "user", "key": "k", "anonymous": "yes"}),
        json!({"custom": {}}),
        json!("user-key"),
    ] {
        assert!(
            Context::from_value(&bad).is_err(),
            "{bad} should be refused"
        );
    }
}

#[test]
fn paths_read_nested_objects_but_not_arrays() {
    let ctx = Context::from_value(&json!({"kind": "user", "key": "k", "a": {"b": [1], "2": "x"}}))
        .unwrap();
    let user = ctx.individual("user").unwrap();
    assert_eq!(
        user.get(&AttrRef::parse("/a/2").unwrap()),
        Some(&json!("x"))
    );
    assert_eq!(user.get(&AttrRef::parse("/a/b/0").unwrap()), None);
    assert_eq!(
        user.get(&AttrRef::literal("anonymous").unwrap()),
        Some(&json!(false))
    );
}
